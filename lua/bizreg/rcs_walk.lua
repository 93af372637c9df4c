-- RCS paged lists: one page of GET /corp/{personId}/brand (list_brands' request and answer)
-- or of GET /brand/{brandId}/chatbot (list_chatbots, rcs_chatbot_ops.lua), and the walks over
-- pages: find_brands' walk, each_brand and each_chatbot, bounded in pages, entries and
-- time (issue 16: a server that keeps answering full pages of new entries must not keep a
-- walk going for ever). Shapes: BrandInfo, Chatbot, Pagination, Links (rcs-openapi-1.1.12.yaml);
-- offset >= 0, limit 100..1000 (api-notes.md; the chatbot list documents the same offset/limit).
-- Which list a page or walk reads is a kind: M.BRANDS here, the chatbot list's in its own file.
-- The `---` comments below are part of the `bizreg` module's reference (config.ld, merge).
local core = require "bizreg.core"
local errors = require "bizreg.errors"
local fields = require "bizreg.fields"
local C = require "bizreg.rcs_common"

local M = {}

--- RCS brands
-- @module bizreg

local function raise(msg) errors.raise("bizreg: " .. msg) end

-- ---- one page: response rows: field -> Lua type (BrandInfo; BrandDetail adds the rest) ---------

local INFO_FIELDS = {
  brandId = "string", name = "string", brandKey = "string", registerDate = "string", approvalDate = "string",
  updateDate = "string", status = "string", mediaUrl = "table", chatbotDate = "string", messagebaseDate = "string",
}
M.INFO_FIELDS = INFO_FIELDS  -- (rcs_brands.lua: BrandDetail adds the rest)
local PAGINATION_FIELDS = { total = "number", offset = "number", limit = "number" }
local LINKS_FIELDS = { prev = "string", next = "string" }

local envelope, pick_list = C.result_list, C.pick_list

-- A paged list: its entries' rows and required id, the name of the answer's list field, the
-- walk's cap on entries (a query field) and the page's path. The brand list is this file's;
-- a list's kind is given to map_page, fetch_page and new_walk (default: the brand list).
M.BRANDS = {
  what = "brand", items = "brands", id = "brandId", rows = INFO_FIELDS, max_key = "max_brands",
  path = function(self) return C.person_path(self) .. "/brand" end, route = "GET /corp/{personId}/brand",
}

-- An object field of the body (pagination, links) picked; {} when absent or not an object.
local function sub_object(body, key, rows, odd)
  local v = body[key]
  if v ~= nil and type(v) ~= "table" then odd[#odd + 1] = key end
  return fields.pick(type(v) == "table" and v or {}, rows, nil, key, odd)
end

-- A page of the list (kind, default M.BRANDS). 204 (no body) or the 60004 "No Content" envelope
-- (in any 2xx) is an empty page (api-notes: error table); the envelope reader says which.
function M.map_page(res, offset, limit, c, kind)
  kind = kind or M.BRANDS
  local result, out, body = envelope(res, c)
  if not result then return nil, body end
  local err
  local odd = {}
  out[kind.items], err = pick_list(res, result, kind.rows, kind.id, odd)
  if not out[kind.items] then return nil, err end
  out.pagination = sub_object(body, "pagination", PAGINATION_FIELDS, odd)
  out.links = sub_object(body, "links", LINKS_FIELDS, odd)
  -- Paging reads finite numbers only (fields.pick drops NaN and 1e999 and names odd types in
  -- the answer event): a total of another type is not used; an offset or limit the answer does
  -- not give as a number (absent, a string, 204/60004 with none) is the one asked for.
  local pg = out.pagination
  if type(pg.total) ~= "number" then pg.total = nil end
  if type(pg.offset) ~= "number" then pg.offset = offset end
  if type(pg.limit) ~= "number" then pg.limit = limit end
  C.envelope_reader.report(c, odd)
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

-- Raises on anything but a table of known numeric fields.
local function check_query(q, extra)
  if q == nil then return end
  if type(q) ~= "table" then raise("the query must be a table, e.g. { offset = 0, limit = 100 }") end
  for k, v in pairs(q) do
    if not LIST_KEYS[k] and not (extra and extra[k]) then raise("unknown query field '" .. tostring(k) .. "'") end
    if LIST_KEYS[k] and type(v) ~= "number" then raise("query field '" .. k .. "' must be a number") end
  end
end
M.check_query = check_query  -- (rcs_brands.lua: list_brands, find_brands)

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
  if #props > 0 then return nil, C.validation_error(props) end
  return math.floor(vals.offset), math.floor(vals.limit)
end
M.query_values = query_values

-- kind.path(self, arg): arg is what the list is of (the chatbot list's brandId).
local function fetch_page(self, ctx, offset, limit, kind, arg)
  kind = kind or M.BRANDS
  local res, err = self:call(ctx, { method = "GET", route = kind.route, headers = kind.headers and kind.headers(self, arg),
    path = string.format("%s?offset=%d&limit=%d", kind.path(self, arg), offset, limit) })
  if not res then return nil, err end
  return M.map_page(res, offset, limit, self, kind)
end
M.fetch_page = fetch_page

-- Where the next page starts, or nil after the last one: no entries, or fewer than asked
-- and the total (if given) reached. A full page always leads to the next, whatever the
-- total says: a total too small must not hide a brand from find_brands (its caller would
-- register that brand again); it costs one more GET when the count is a multiple of limit.
-- A page of n entries moves on by n; step() ends a walk that does not advance.
local function next_offset(page, offset, limit, kind)
  local n = #page[kind.items]
  local total = page.pagination.total
  if n == 0 or (n < limit and not (total and offset + n < total)) then return nil end
  return offset + n
end

-- ---- walks ------------------------------------------------------------------

--- The bounds of every walk over the brand list (`each_brand`, `find_brands`, and with them
-- `bizreg brand list`), each a query field of those calls: a server that keeps answering
-- full pages of new brands (or answers slowly) cannot keep a walk going forever.
-- @table WALK_DEFAULTS
-- @field max_pages pages fetched at most (1000); more said to follow: `WALK_LIMIT`
-- @field max_brands distinct brands visited at most (100000); a page passing it: `WALK_LIMIT`
-- @field timeout seconds for the whole walk, from its first page, pages and your loop body
--   alike (300); each page gets `min(deadline, time left)`; past it: `WALK_TIMEOUT`
M.WALK_DEFAULTS = require("bizreg.options").DEFAULTS.walk  -- (one home: options.lua)
local WALK_KEYS = { max_pages = true, max_brands = true, timeout = true }
M.WALK_KEYS = WALK_KEYS

-- The query fields bounding a walk over a list (kind): max_pages, timeout and its cap.
function M.walk_keys(kind)
  return { max_pages = true, timeout = true, [kind.max_key] = true }
end

function M.check_walk(q, kind)
  if q == nil then return end
  for _, k in ipairs { "max_pages", (kind or M.BRANDS).max_key } do
    local v = q[k]
    if v ~= nil and not (type(v) == "number" and v >= 1 and v <= 2 ^ 53 and v == math.floor(v)) then
      raise("query field '" .. k .. "' must be an integer >= 1")
    end
  end
  local t = q.timeout
  if t ~= nil and not (type(t) == "number" and t > 0 and t < math.huge) then
    raise("query field 'timeout' must be a number of seconds > 0")
  end
end

-- A walk's state over a list (kind, default M.BRANDS): its bounds (query fields over
-- WALK_DEFAULTS; the cap on entries is kind.max_key, by default max_brands' number), entries
-- seen, pages and entries counted (w.n), and when it ends.
function M.new_walk(q, kind)
  kind = kind or M.BRANDS
  local w = { seen = {}, pages = 0, n = 0, kind = kind }
  for k, d in pairs(M.WALK_DEFAULTS) do
    local v = q and q[k == "max_brands" and kind.max_key or k]
    if v == nil then v = d end
    w[k == "max_brands" and "max_items" or k] = v
  end
  w.t_end = core.now() + w.timeout
  return w
end

-- kind transport, like WAIT_TIMEOUT: no complete answer to the walk; sent = false: only
-- reads went out, nothing can have been registered. The entries counted are in the field
-- named as the list (err.brands, err.chatbots).
local function walk_error(w, code, message)
  return errors.new { kind = "transport", code = code, sent = false, retryable = code == "WALK_TIMEOUT",
    pages = w.pages, [w.kind.items] = w.n, message = message }
end

local function walk_timeout(w)
  local k = w.kind
  return walk_error(w, "WALK_TIMEOUT", string.format(
    "the %s list walk passed its timeout (%g s) after %d page(s), %d %s(s)", k.what, w.timeout, w.pages, w.n, k.what))
end

-- The deadline of the walk's next page (more are said to follow), or nil and WALK_LIMIT
-- (max_pages fetched already) or WALK_TIMEOUT (no time left).
local function page_deadline(self, w)
  if w.pages >= w.max_pages then
    return nil, walk_error(w, "WALK_LIMIT", string.format(
      "the %s list goes on after max_pages = %d pages (%d %s)", w.kind.what, w.max_pages, w.n, w.kind.items))
  end
  local now = core.now()
  local left = w.t_end - now
  if left <= 0 then return nil, walk_timeout(w) end
  return now + math.min(self.deadline, left)
end

-- A page's error; a deadline that was the walk's own is WALK_TIMEOUT.
local function page_error(w, err)
  if err and err.code == "DEADLINE_EXCEEDED" and core.now() >= w.t_end then return walk_timeout(w) end
  return err
end

-- One step of a walk over pages: the page's brands not seen before (marked seen), and the
-- next offset (nil: that was the last page). A page that lists no new brand while more are
-- said to follow is an error: a server that ignores offset (or a wrong total) would
-- otherwise be walked up to offset 2^31. So is a page past the walk's caps (new_walk).
local function step(page, offset, limit, w)
  local k = w.kind
  w.pages = w.pages + 1
  local fresh, seen, id = {}, w.seen, k.id
  for _, b in ipairs(page[k.items]) do
    if not seen[b[id]] then seen[b[id]] = true fresh[#fresh + 1] = b end
  end
  local nxt = next_offset(page, offset, limit, k)
  if nxt and #fresh == 0 then
    return nil, errors.decode(page.status, string.format(
      "the %s list does not advance: the page at offset %d lists only %s already seen", k.what, offset, k.items))
  end
  if w.n + #fresh > w.max_items then
    return nil, walk_error(w, "WALK_LIMIT", string.format("the %s list has more than %s = %d %s (page %d at offset %d)",
      k.what, k.max_key, w.max_items, k.items, w.pages, offset))
  end
  w.n = w.n + #fresh
  return fresh, nxt
end

-- Every page from offset: calls visit(brand) once per brandId (a brand that moves across
-- pages while the walk runs is not seen twice). Each page gets the client's deadline, cut
-- to what is left of the walk's timeout.
function M.walk(self, ctx, offset, limit, visit, w)
  while offset do
    local deadline, err = page_deadline(self, w)
    if not deadline then return nil, err end
    ctx.deadline = deadline
    local page
    page, err = fetch_page(self, ctx, offset, limit, w.kind)
    if not page then return nil, page_error(w, err) end
    local fresh
    fresh, offset = step(page, offset, limit, w)
    if not fresh then return nil, offset end
    for _, b in ipairs(fresh) do visit(b) end
  end
  return w.pages
end

-- One page of each_brand / each_chatbot: list_brands' checks, the page's deadline cut to the walk's.
local PAGE = {
  run = function(self, ctx, q, deadline, kind, arg)
    ctx.deadline = math.min(ctx.deadline, deadline)
    local offset, limit = query_values(q)
    if not offset then return nil, limit end
    return fetch_page(self, ctx, offset, limit, kind, arg)
  end,
}

-- The iterator of a walk over a list (kind; arg: what the list is of, for kind.path) from
-- offset: each entry once, then nil; an error once as false, err, then nil.
function M.iterate(self, q, kind, arg)
  local offset, limit = q and q.offset or 0, q and q.limit or require("bizreg.options").DEFAULTS.list_limit
  local fresh, i, w = {}, 0, M.new_walk(q, kind)
  return function()
    while i >= #fresh do
      if not offset then return nil end
      local deadline, err = page_deadline(self, w)
      local page, nxt
      if deadline then
        page, err = self:invoke(PAGE, { offset = offset, limit = limit }, deadline, kind, arg)
        err = page_error(w, err)
      end
      if page then fresh, nxt = step(page, offset, limit, w) end
      if not page or not fresh then offset, fresh, i = nil, {}, 0 return false, err or nxt end
      i, offset = 0, nxt
    end
    i = i + 1
    return fresh[i]
  end
end

-- ---- each_brand (a method: an iterator over pages of blocking calls) ---------------------

--- RCS client methods (see `rcs_client`).
-- @type rcs_client

--- RCS (`bizreg.rcs`): every brand of the account, page after page, for a generic `for`.
-- Each step yields one `BrandInfo` (as `list_brands` gives them); each brandId once. An
-- error (of any page, a bad `offset`/`limit`, `decode` when a page lists only brands
-- already seen: the list does not advance, or `WALK_LIMIT` / `WALK_TIMEOUT` past the walk's
-- bounds, as `find_brands`) is yielded once as `false, err`, then the loop ends: check
-- `brand` in the loop body. The walk's `timeout` counts from the call, the loop body included.
-- @function rcs:each_brand
-- @tparam[opt] table query `{ offset = 0, limit = 100, max_pages =, max_brands =, timeout = }`
--   (limit 100–1000: the page size; the bounds as `WALK_DEFAULTS`)
-- @treturn function an iterator yielding `brand`, or `false, err` once
-- @raise on a wrong query type, without `person_id` (static token), or on a closed client
-- @usage for brand, err in rcs:each_brand { limit = 1000 } do
--   if not brand then print(err) break end
--   print(brand.brandId, brand.status, brand.name)
-- end
function M.each_brand(self, q)
  self:check_open()
  C.needs_person(self)
  check_query(q, WALK_KEYS)
  M.check_walk(q)
  return M.iterate(self, q, M.BRANDS)
end

return M
