-- RCS brand categories: brand_categories() (GET /corp/brand/categories, cached per client
-- for categories_ttl seconds) and register_brand's check_categories rule, which checks
-- categoryId / subCategoryId against that list before anything of the brand is sent.
-- Shapes: the spec's Category schema (rcs-openapi-1.1.12.yaml).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local fields = require "bizreg.fields"
local R = require "bizreg.rcs_common"

local M = {}

--- RCS categories
-- @module bizreg

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

local CATEGORY_FIELDS = { categoryId = "string", categoryName = "string", subCategories = "table", updateDate = "string" }
local SUB_FIELDS = { subCategoryId = "string", subCategoryName = "string" }

function M.map_categories(res, client)
  local result, out, err = R.result_list(res, client)
  if not result then return nil, err end
  local odd = {}
  out.categories, err = R.pick_list(res, result, CATEGORY_FIELDS, "categoryId", odd)
  if not out.categories then return nil, err end
  for _, c in ipairs(out.categories) do
    if type(c.subCategories) == "table" then  -- else kept raw (and named in odd)
      local subs = fields.pick_list(res, c.subCategories, SUB_FIELDS, "subCategoryId",
        "category " .. c.categoryId .. ": subCategories", 0, odd)
      if not subs then return nil, errors.decode(res.status, "category " .. c.categoryId .. ": bad subCategories", res.body) end
      c.subCategories = subs
    end
  end
  R.envelope_reader.report(client, odd)
  return out
end

local function copy(v)
  if type(v) ~= "table" then return v end
  local t = {}
  for k, x in pairs(v) do t[k] = copy(x) end
  return t
end

-- The cached answer while it is younger than categories_ttl, else a fresh one.
local function categories(self, ctx)
  local c = self.categories_cache
  if c and core.now() - c.at < self.categories_ttl then return c.res end
  local res, err = self:call(ctx, { method = "GET", path = "/corp/brand/categories", route = "GET /corp/brand/categories" })
  if not res then return nil, err end
  local out, merr = M.map_categories(res, self)
  if not out then return nil, merr end
  if self.categories_ttl > 0 then self.categories_cache = { at = core.now(), res = out } end
  return out
end

-- register_brand's check_categories: categoryId / subCategoryId must be in the list
-- (64337 InvalidEnum). A failed fetch fails the call with nothing of the brand sent.
function M.check_categories(self, ctx, payload)
  local list, err = categories(self, ctx)
  if not list then
    err.sent, err.retryable = false, err.retryable or false
    err.message = "brand categories could not be fetched, so the brand was not sent: " .. tostring(err.message)
    return nil, err
  end
  local rb = payload.regBrand
  local cat, sub = rb.categoryId, rb.subCategoryId
  for _, c in ipairs(list.categories) do
    if c.categoryId == cat then
      for _, s in ipairs(type(c.subCategories) == "table" and c.subCategories or {}) do
        if s.subCategoryId == sub then return true end
      end
      return nil, R.validation_error { { key = "regBrand.subCategoryId", reason = "InvalidEnum", code = "64337" } }
    end
  end
  return nil, R.validation_error { { key = "regBrand.categoryId", reason = "InvalidEnum", code = "64337" } }
end

local ops = {}

--- RCS (`bizreg.rcs`): the brand categories (`GET /corp/brand/categories`), cached per client
-- for `categories_ttl` seconds (default 3600; 0: no cache). `register_brand` with
-- `check_categories` checks `categoryId` / `subCategoryId` against this list.
-- @function rcs:brand_categories
-- @treturn table `{ code, status, categories = { { categoryId, categoryName, updateDate,`
--   `subCategories = { { subCategoryId, subCategoryName }, … } }, … } }` (a copy: yours to change)
-- @return or nil and an error
-- @usage for _, c in ipairs(assert(rcs:brand_categories()).categories) do print(c.categoryId, c.categoryName) end
ops.brand_categories = {
  check = function() end,
  run = function(self, ctx)
    local res, err = categories(self, ctx)
    if not res then return nil, err end
    return copy(res)  -- the caller may change it; the cache stays as fetched
  end,
}

M.ops = ops  -- (register_brand's check: M.check_categories, rcs.lua)

return M
