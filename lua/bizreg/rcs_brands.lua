-- RCS Biz Center brand reads: get_brand, list_brands / each_brand, find_brands. Installed
-- into rcs.lua's ops (install); wait_for_approval lives in rcs_wait.lua, brand_categories
-- and register_brand's check_categories in rcs_categories.lua.
-- Shapes from ../shared/reference/rcs-openapi-1.1.12.yaml (BrandInfo, BrandDetail,
-- Pagination, Links) and api-notes.md (offset >= 0, limit 100..1000).
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local fields = require "bizreg.fields"
local errors = require "bizreg.errors"
local W = require "bizreg.rcs_walk"  -- bounded walks over the pages: find_brands, each_brand

local M = {}
local R  -- bizreg.rcs (install): messages, validation errors, brand headers

--- RCS brands
-- @module bizreg

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

-- ---- response rows: field -> Lua type (BrandInfo; BrandDetail adds the rest) ---------

local INFO_FIELDS = {
  brandId = "string", name = "string", brandKey = "string", registerDate = "string", approvalDate = "string",
  updateDate = "string", status = "string", mediaUrl = "table", chatbotDate = "string", messagebaseDate = "string",
}
local DETAIL_FIELDS = {
  description = "string", tel = "string", menus = "table", categoryId = "string", categoryName = "string",
  subCategoryId = "string", subCategoryName = "string", categoryOpt = "string", zipCode = "string",
  roadAddress = "string", detailAddress = "string", email = "string", webSiteUrl = "string",
  approvalReason = "string", brandFeedUrl = "string", initTab = "string", initFeedItem = "string",
  initFeedItems = "table", templateColor = "string", bizInfoYn = "string", bizInfoTitle = "string",
  bizInfoContent = "string",
}
for k, v in pairs(INFO_FIELDS) do DETAIL_FIELDS[k] = v end
local PAGINATION_FIELDS = { total = "number", offset = "number", limit = "number" }
local LINKS_FIELDS = { prev = "string", next = "string" }

-- rcs.lua's success envelope: its result list, the envelope's fields (code, status, desc)
-- and the decoded body (pagination, links), or nil, nil, err.
local function envelope(res, c)
  local out, body = R.envelope(res, c)
  if not out then return nil, nil, body end
  local list = out.result
  out.result = nil
  return list, out, body
end

-- Fields of an unexpected type (kept raw) go to the client's answer event.
local function pick_list(res, list, rows, required, odd)
  return fields.pick_list(res, list, rows, required, "result", 1, odd)
end

M.envelope, M.pick_list = envelope, pick_list  -- (rcs_categories.lua)

-- The one brand of GET /corp/{personId}/brand/{brandId}: an empty result is no answer.
-- brand_id: the brand asked for; an answer about another one is not taken for it.
function M.map_detail(res, brand_id, c)
  local result, out, err = envelope(res, c)
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

-- An object field of the body (pagination, links) picked; {} when absent or not an object.
local function sub_object(body, key, rows, odd)
  local v = body[key]
  if v ~= nil and type(v) ~= "table" then odd[#odd + 1] = key end
  return fields.pick(type(v) == "table" and v or {}, rows, nil, key, odd)
end

-- A page of GET /corp/{personId}/brand. 204 (no body) or the 60004 "No Content" envelope
-- (in any 2xx) is an empty page (api-notes: error table); the envelope reader says which.
function M.map_page(res, offset, limit, c)
  local result, out, body = envelope(res, c)
  if not result then return nil, body end
  local err
  local odd = {}
  out.brands, err = pick_list(res, result, INFO_FIELDS, "brandId", odd)
  if not out.brands then return nil, err end
  out.pagination = sub_object(body, "pagination", PAGINATION_FIELDS, odd)
  out.links = sub_object(body, "links", LINKS_FIELDS, odd)
  -- Paging reads finite numbers only (fields.pick drops NaN and 1e999 and names odd types in
  -- the answer event): a total of another type is not used; an offset or limit the answer does
  -- not give as a number (absent, a string, 204/60004 with none) is the one asked for.
  local pg = out.pagination
  if type(pg.total) ~= "number" then pg.total = nil end
  if type(pg.offset) ~= "number" then pg.offset = offset end
  if type(pg.limit) ~= "number" then pg.limit = limit end
  R.envelope_reader.report(c, odd)
  return out
end

-- ---- request rows ------------------------------------------------------------------

-- Query rows of GET /corp/{personId}/brand, one per field: wrong types raise (programmer
-- errors); values out of range are validation errors (64202, as the server would say).
M.LIST_ROWS = {
  { key = "offset", min = 0, max = 2 ^ 31 - 1, default = 0 },
  { key = "limit", min = 100, max = 1000, default = require("bizreg.options").DEFAULTS.list_limit },
}
local LIST_KEYS = { offset = true, limit = true }

local function raise(msg) errors.raise("bizreg: " .. msg) end

-- Raises on anything but a table of known numeric fields.
local function check_query(q, extra)
  if q == nil then return end
  if type(q) ~= "table" then raise("the query must be a table, e.g. { offset = 0, limit = 100 }") end
  for k, v in pairs(q) do
    if not LIST_KEYS[k] and not (extra and extra[k]) then raise("unknown query field '" .. tostring(k) .. "'") end
    if LIST_KEYS[k] and type(v) ~= "number" then raise("query field '" .. k .. "' must be a number") end
  end
end
M.check_query = check_query

-- offset, limit | nil, validation error.
local function query_values(q)
  local vals, props = {}, {}
  for _, row in ipairs(M.LIST_ROWS) do
    local v = q and q[row.key]
    if v == nil then v = row.default end
    if v ~= v or v ~= math.floor(v) or v < row.min or v > row.max then
      props[#props + 1] = { key = row.key, reason = "InvalidType", code = "64202",
        value = row.key .. ":" .. tostring(v) }
    end
    vals[row.key] = v
  end
  if #props > 0 then return nil, R.validation_error(props) end
  return math.floor(vals.offset), math.floor(vals.limit)
end

-- RFC 3986 unreserved characters stay; everything else in a path segment is %XX, and so
-- are the dots of a dot segment ("." / ".." would be resolved to another path).
local function segment(s)
  if s:find("^%.%.?$") then return (s:gsub("%.", "%%2E")) end
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", c:byte()) end))
end

local function person_path(self) return "/corp/" .. segment(self.person_id) end

-- ---- calls -----------------------------------------------------------------------

-- One brand: mapped result, err, and the raw answer (its Retry-After, for waits).
function M.fetch_brand(self, ctx, brand_id)
  local bad = R.brand_id_error(brand_id)
  if bad then return nil, bad end
  local res, err = self:call(ctx, { method = "GET", path = person_path(self) .. "/brand/" .. brand_id })
  if not res then return nil, err end
  local out, merr = M.map_detail(res, brand_id, self)
  return out, merr, res
end

local function fetch_page(self, ctx, offset, limit)
  local res, err = self:call(ctx, { method = "GET",
    path = string.format("%s/brand?offset=%d&limit=%d", person_path(self), offset, limit) })
  if not res then return nil, err end
  return M.map_page(res, offset, limit, self)
end

-- Where the next page starts, or nil after the last one: no entries, or fewer than asked
-- and the total (if given) reached. A full page always leads to the next, whatever the
-- total says: a total too small must not hide a brand from find_brands (its caller would
-- register that brand again); it costs one more GET when the count is a multiple of limit.
-- A page of n entries moves on by n; step() ends a walk that does not advance.
local function next_offset(page, offset, limit)
  local n = #page.brands
  local total = page.pagination.total
  if n == 0 or (n < limit and not (total and offset + n < total)) then return nil end
  return offset + n
end
M.next_offset = next_offset
M.fetch_page, M.query_values = fetch_page, query_values  -- (rcs_walk.lua)

-- ---- ops ---------------------------------------------------------------------------

function M.needs_person(self)
  if not self.person_id then
    raise("this call needs the RBC account ID: give the option person_id (a static token does not name its account)")
  end
end

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
  needs = M.needs_person,
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
  needs = M.needs_person,
  check = function(q) check_query(q) end,
  run = function(self, ctx, q)
    local offset, limit = query_values(q)
    if not offset then return nil, limit end
    return fetch_page(self, ctx, offset, limit)
  end,
}

--- RCS (`bizreg.rcs`): every brand of the account whose `name` is exactly `name`, all pages
-- walked (each brand once). The check to make after `register_brand` failed with `err.sent`
-- (the brand may exist): README "Reliability: at most once".
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
  needs = M.needs_person,
  check = function(q)
    if type(q) ~= "table" then raise("find_brands needs a table: { name = \"...\" }") end
    check_query(q, FIND_KEYS)
    W.check_walk(q)
    if type(q.name) ~= "string" then raise("find_brands: name must be a string") end
  end,
  run = function(self, ctx, q)
    -- by the brand form's own row (src/api_rcs.c): its limit, character count and codes
    local bad = core.check_field("rcs_brand", "regBrand.name", q.name)
    if bad then return nil, R.validation_error(bad) end
    local offset, limit = query_values(q)
    if not offset then return nil, limit end
    local found = {}
    local pages, err = W.walk(self, ctx, offset, limit, function(b)
      if b.name == q.name then found[#found + 1] = b end
    end, W.new_walk(q))
    if not pages then return nil, err end
    return { brands = found, pages = pages }
  end,
}


M.each_brand = W.each_brand  -- (rcs.lua makes it a client method)

function M.install(rcs)
  R = rcs
  W.install(M)
  for name, op in pairs(ops) do rcs.ops[name] = op end
  require("bizreg.rcs_wait").install(rcs, M)
  require("bizreg.rcs_categories").install(rcs, M)
end

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
