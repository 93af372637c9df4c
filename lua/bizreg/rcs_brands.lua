-- RCS Biz Center brand reads: get_brand, list_brands, find_brands (ops, merged by rcs.lua);
-- the list's pages and walks (each_brand) are rcs_walk.lua's, wait_for_approval is in
-- rcs_wait.lua, brand_categories and register_brand's check_categories in rcs_categories.lua.
-- Shapes from ../shared/reference/rcs-openapi-1.1.12.yaml (BrandDetail).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local fields = require "bizreg.fields"
local errors = require "bizreg.errors"
local R = require "bizreg.rcs_common"  -- messages, validation errors, envelopes
local W = require "bizreg.rcs_walk"  -- the list's pages and bounded walks: list_brands, find_brands

local M = {}

--- RCS brands
-- @module bizreg

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

-- ---- response rows: field -> Lua type (BrandDetail: BrandInfo and the rest) ---------

local DETAIL_FIELDS = {
  description = "string", tel = "string", menus = "table", categoryId = "string", categoryName = "string",
  subCategoryId = "string", subCategoryName = "string", categoryOpt = "string", zipCode = "string",
  roadAddress = "string", detailAddress = "string", email = "string", webSiteUrl = "string",
  approvalReason = "string", brandFeedUrl = "string", initTab = "string", initFeedItem = "string",
  initFeedItems = "table", templateColor = "string", bizInfoYn = "string", bizInfoTitle = "string",
  bizInfoContent = "string",
}
for k, v in pairs(W.INFO_FIELDS) do DETAIL_FIELDS[k] = v end

local raise = R.raise

-- The one brand of GET /corp/{personId}/brand/{brandId}: an empty result is no answer.
-- brand_id: the brand asked for; an answer about another one is not taken for it.
function M.map_detail(res, brand_id, c)
  local result, out, err = R.result_list(res, c)
  if not result then return nil, err end
  local why
  local odd = {}
  out.brand, why = fields.pick(result[1], DETAIL_FIELDS, "brandId", "result[1]", odd)
  if not out.brand then return nil, errors.decode(res.status, "result[1]: " .. why, res.body) end
  if brand_id and out.brand.brandId ~= brand_id then
    return nil, errors.decode(res.status, "answer is about brand " .. out.brand.brandId .. ", not " .. brand_id, res.body)
  end
  R.envelope_reader.report(c, odd)
  return out
end

-- ---- calls -----------------------------------------------------------------------

-- One brand: mapped result, err, and the raw answer (its Retry-After, for waits).
function M.fetch_brand(self, ctx, brand_id)
  local bad = R.brand_id_error(brand_id)
  if bad then return nil, bad end
  local res, err = self:call(ctx, { method = "GET", path = R.person_path(self) .. "/brand/" .. brand_id,
    route = "GET /corp/{personId}/brand/{brandId}" })
  if not res then return nil, err end
  local out, merr = M.map_detail(res, brand_id, self)
  return out, merr, res
end


-- ---- ops ---------------------------------------------------------------------------

local function check_brand_id(brand_id)
  if type(brand_id) ~= "string" then raise("brandId must be a string") end
end

local NO_OPTS = {}  -- (no X-RCS-Brandkey here: the spec defines it on /brand/{brandId}/... only)

local ops = {}

--- RCS (`bizreg.rcs`): a brand's details and review status (`GET /corp/{personId}/brand/{brandId}`;
-- personId is the `person_id` option, by default `client_id`). No `X-RCS-Brandkey`: the spec
-- defines none for this call.
-- @function rcs:get_brand
-- @string brandId the brand (≤ 13 characters of letters, digits, `.`, `-`, `_`, not `.` or `..`; else a validation
--   error 64316, nothing sent)
-- @tparam[opt] table opts none yet (`{}`)
-- @treturn table `{ code = "20000000", status = 200, brand = BrandDetail }`: `brand` holds the
--   fields of the spec's `BrandDetail` that the answer has (`brandId`, `name`, `brandKey`, `status`
--   — 저장, 승인대기, 검수시작, 승인, 반려, 검수완료 or a `(수정)` variant —, `approvalReason`,
--   `registerDate`, `approvalDate`, `updateDate`, `description`, `tel`, `menus`, `categoryId`,
--   `categoryName`, `subCategoryId`, `subCategoryName`, … `mediaUrl`)
-- @return or nil and an error: 400 `64316` "Invalid brandId" (unknown), 403 `63001` "No Brand
--   Permission" (another account's brand), `decode` when a field has the wrong type
-- @raise on a wrong argument type or call option, without `person_id` (static token), on a closed client
-- @usage local res, err = rcs:get_brand("BR.0a81DDlZjz")
-- if res then print(res.brand.status, res.brand.approvalReason) end
ops.get_brand = {
  needs = R.needs_person,
  check = function(brand_id, o) check_brand_id(brand_id) R.check_call_opts(o, NO_OPTS) end,
  run = function(self, ctx, brand_id)
    local res, err = M.fetch_brand(self, ctx, brand_id)
    return res, err
  end,
}

--- RCS (`bizreg.rcs`): one page of the account's brands (`GET /corp/{personId}/brand?offset=&limit=`).
-- @function rcs:list_brands
-- @tparam[opt] table query `{ offset = 0, limit = 100 }`: offset an integer ≥ 0, limit 100–1000;
--   a value out of range is a validation error (`64202` "Invalid query parameter value (limit:99)"),
--   a non-number raises
-- @treturn table `{ code, status, brands = { BrandInfo, … }, pagination = { total, offset, limit },`
--   `links = { prev, next } }`; each `BrandInfo` has `brandId`, `name`, `brandKey`, `status`,
--   `registerDate`, `approvalDate`, `updateDate`, … (204 "No Content": `brands = {}`)
-- @return or nil and an error
-- @raise on a wrong query type or field, without `person_id`, on a closed client
-- @usage local page = assert(rcs:list_brands { offset = 0, limit = 1000 })
-- print(#page.brands, page.pagination.total)
ops.list_brands = {
  needs = R.needs_person,
  check = function(q) W.check_query(q) end,
  run = function(self, ctx, q)
    local offset, limit = W.query_values(q)
    if not offset then return nil, limit end
    return W.fetch_page(self, ctx, offset, limit)
  end,
}

--- RCS (`bizreg.rcs`): every brand of the account whose `name` is exactly `name`, all pages
-- walked (each brand once). The check to make after `register_brand` failed with `err.sent`
-- (the brand may exist): docs/reliability.md.
-- @function rcs:find_brands
-- @tparam table query `{ name = "…", offset = 0, limit = 100, max_pages =, max_brands =, timeout = }`
--   (name 1–20 characters: else a validation error; offset / limit as `list_brands`; the walk's
--   bounds as `WALK_DEFAULTS`: wrong ones raise)
-- @treturn table `{ brands = { BrandInfo, … }, pages = n }` (`brands` empty: none has that name)
-- @return or nil and an error (of any page; `decode` when a page lists only brands already seen;
--   `kind = "transport"`, `sent = false`, `code = "WALK_LIMIT"` when the list goes on past
--   `max_pages` or `max_brands`, `"WALK_TIMEOUT"` (retryable) past `timeout`, with `pages` and
--   `brands` counted so far: the brand was not found **within the bounds**, which is no answer)
-- @raise when query is not a table or name not a string, without `person_id`, on a closed client
-- @usage local found = assert(rcs:find_brands { name = "바른치과" })
-- if #found.brands == 0 then --[[ not there: register again ]] end
local FIND_KEYS = { name = true }
for k in pairs(W.WALK_KEYS) do FIND_KEYS[k] = true end
ops.find_brands = {
  needs = R.needs_person,
  check = function(q)
    if type(q) ~= "table" then raise("find_brands needs a table: { name = \"...\" }") end
    W.check_query(q, FIND_KEYS)
    W.check_walk(q)
    if type(q.name) ~= "string" then raise("find_brands: name must be a string") end
  end,
  run = function(self, ctx, q)
    -- by the brand form's own row (src/api_rcs.c): its limit, character count and codes
    local bad = core.check_field("rcs_brand", "regBrand.name", q.name)
    if bad then return nil, R.validation_error(bad) end
    local offset, limit = W.query_values(q)
    if not offset then return nil, limit end
    local found = {}
    local pages, err = W.walk(self, ctx, offset, limit, function(b)
      if b.name == q.name then found[#found + 1] = b end
    end, W.new_walk(q))
    if not pages then return nil, err end
    return { brands = found, pages = pages }
  end,
}

M.ops = ops

-- The client's share of the options (rcs.new checked their types).
function M.configure(c, opts)
  local ttl = opts.categories_ttl
  if ttl ~= nil and not (ttl >= 0 and ttl < math.huge) then
    raise("option 'categories_ttl' must be a number of seconds >= 0 (0: no cache)")
  end
  local pid = opts.person_id
  if pid ~= nil and (pid == "" or #pid > 20 or pid:find("[%c]") or pid:find("^%.%.?$")) then
    raise("option 'person_id' must be the RBC account ID: 1 to 20 characters, no control characters, not '.' or '..'")
  end
  c.categories_ttl = ttl or require("bizreg.options").DEFAULTS.categories_ttl
  c.person_id = pid or opts.client_id
  c.brand_key = opts.brand_key
  c.check_categories = opts.check_categories or false
end

return M
