-- Lua-level fuzzers for the parsers that have no libFuzzer harness (issue 16): JSONL/JSON
-- loading (cli/load.lua), command-line parsing (cli/args.lua), the dry-run multipart
-- summariser (cli/dryrun.lua, cli/multipart.lua), the brand and visitor answer mapping
-- (rcs_walk.lua, rcs_brands.lua, kos_search.lua, fields.lua), Retry-After (client.retry_after) and the
-- token store's values (token_store.lua). The journal reader has its own fuzzer.
--
--   lua5.4 spec/property/fuzz_lua.lua [--seed S] [--count N] [--only TARGET] [--case I]
--   make fuzz-lua FUZZ_LUA_COUNT=N           (every target, N cases each)
--
-- Each case is generated from (seed, target, case index) by a portable generator, so
-- `--seed S --only TARGET --case I` replays one case on any interpreter. A case passes when
-- the code under test does not raise, ends within an instruction budget (no hang), and
-- returns a well-formed result or nil plus a well-formed error; some targets also check an
-- oracle (a valid input must give the obvious answer). spec/slow/fuzz_lua_spec.lua runs every
-- target with a small count as part of the suite.
local F = {}
local unpack_ = table.unpack or unpack

F.BUDGET = 5e7  -- VM instructions one case may take (a "hang" when exceeded)

---------------------------------------------------------------- generator

-- Park-Miller minimal standard generator: exact in doubles, the same on every interpreter.
local Rng = {}
Rng.__index = Rng
local MOD = 2147483647

function F.rng(seed, name, case)
  local s = (seed % MOD + case * 7919) % MOD
  for i = 1, #name do s = (s * 31 + name:byte(i)) % MOD end
  if s == 0 then s = 1 end
  local r = setmetatable({ s = s }, Rng)
  r:int(1, 2) r:int(1, 2)  -- mix the first draws
  return r
end
function Rng:next() self.s = (self.s * 48271) % MOD return self.s end
function Rng:int(a, b) return a + self:next() % (b - a + 1) end
function Rng:chance(p) return self:next() / MOD < p end
function Rng:pick(list) return list[self:int(1, #list)] end

-- bytes of any value, weighted to what parsers trip on
local ODD = { "\0", "\r", "\n", "\r\n", "\t", " ", "\"", "\\", "{", "}", "[", "]", ",", ":", "-", "=", ".", "e",
  "\255", "\192\128", "\237\160\128", "\239\187\191", "\226\128\168", "\27[2J", "0", "9", "a", "Z", "%", "/" }
function Rng:bytes(max)
  local n, out = self:int(0, max), {}
  for i = 1, n do
    out[i] = self:chance(0.5) and self:pick(ODD) or string.char(self:int(0, 255))
  end
  return table.concat(out)
end

-- numbers as text, the awkward spellings included
local NUMS = { "0", "1", "-1", "3", "007", "1.5", "-0", "1e3", "1e999", "-1e999", "1e-999", "0x10", "0x1p4",
  "99999999999999999999", "9007199254740993", "2147483647", "2147483648", "65535", "65536", "NaN", "nan",
  "inf", "Infinity", "-Infinity", " 5", "5 ", "+5", "5.", ".5", "1_000", "١", "", string.rep("9", 400) }
function Rng:numtext() return self:pick(NUMS) end

-- Mutates text: a few splices of odd bytes, cuts, repeats.
function Rng:mutate(s, n)
  for _ = 1, n or self:int(1, 4) do
    local at = self:int(0, #s)
    local k = self:int(1, 5)
    if k == 1 then s = s:sub(1, at) .. self:bytes(4) .. s:sub(at + 1)
    elseif k == 2 then s = s:sub(1, at) .. s:sub(at + self:int(1, 8))
    elseif k == 3 then s = s:sub(1, at)
    elseif k == 4 then local a = self:int(1, math.max(1, #s)) s = s:sub(1, at) .. s:sub(a, a + self:int(0, 16)) .. s:sub(at + 1)
    else s = s:sub(1, at) .. self:pick(NUMS) .. s:sub(at + 1) end
  end
  return s
end

-- A JSON text for a random value (depth-limited), keys from `keys` when given.
function Rng:json(depth, keys)
  local k = self:int(1, depth > 0 and 9 or 6)
  if k == 1 then return "null"
  elseif k == 2 then return self:chance(0.5) and "true" or "false"
  elseif k == 3 then local t = self:numtext() return t ~= "" and t or "0"
  elseif k <= 6 then
    local s = self:bytes(12):gsub("[%z\1-\31\"\\]", function(c) return string.format("\\u%04x", c:byte()) end)
    return '"' .. s .. '"'
  elseif k <= 7 then
    local out = {}
    for i = 1, self:int(0, 4) do out[i] = self:json(depth - 1, keys) end
    return "[" .. table.concat(out, ",") .. "]"
  end
  local out = {}
  for i = 1, self:int(0, 5) do
    local key = keys and self:chance(0.8) and self:pick(keys) or self:bytes(6):gsub("[%z\1-\31\"\\]", "_")
    out[i] = '"' .. key .. '":' .. self:json(depth - 1, keys)
  end
  return "{" .. table.concat(out, ",") .. "}"
end

---------------------------------------------------------------- checks

local function fail(fmt, ...) error({ finding = string.format(fmt, ...) }, 0) end
local function check(cond, fmt, ...) if not cond then fail(fmt, ...) end end
local function finite(v) return type(v) == "number" and v == v and v > -math.huge and v < math.huge end
local function whole(v) return finite(v) and v == math.floor(v) end
local function show(s) return (string.format("%q", tostring(s)):gsub("\\\n", "\\n"):sub(1, 200)) end

-- nil, err from the library: a table error with kind/message and a one-line __tostring.
local function check_err(err, what)
  check(type(err) == "table", "%s: err is a %s, not an error table", what, type(err))
  check(type(err.kind) == "string" and type(err.message) == "string", "%s: err without kind/message", what)
  local ok, s = pcall(tostring, err)
  check(ok and type(s) == "string" and not s:find("[\r\n]"), "%s: tostring(err) is not one line", what)
end

---------------------------------------------------------------- targets

local T, ORDER = {}, {}
local function target(name, fn) T[name] = fn ORDER[#ORDER + 1] = name end
F.targets, F.order = T, ORDER

local tmpdir
local function tmpfile(ext, text)
  if not tmpdir then
    tmpdir = os.tmpname()
    os.remove(tmpdir)
    assert(os.execute("mkdir -p '" .. tmpdir .. "'"))
  end
  local p = tmpdir .. "/input" .. ext
  local f = assert(io.open(p, "wb"))
  f:write(text)
  f:close()
  return p
end
function F.cleanup() if tmpdir then os.execute("rm -rf '" .. tmpdir .. "'") tmpdir = nil end end

-- cli/load.lua: visitor images as JSON / JSON Lines, and a brand package as JSON.
local IMAGE_KEYS = { "fileName", "visitorId", "images", "memo", "takenAt", "x" }
target("jsonl", function(r)
  local load = require "bizreg.cli.load"
  local lines, valid = {}, true
  for i = 1, r:int(0, 8) do
    local l = r:chance(0.6) and string.format('{"fileName":"f%d.jpg","visitorId":"%024d"}', i, i) or r:json(3, IMAGE_KEYS)
    if r:chance(0.3) then l = r:mutate(l) end
    if r:chance(0.1) then l = l .. "\r" end
    lines[i] = l
  end
  local text = table.concat(lines, "\n")
  if r:chance(0.2) then text = r:mutate(text, 2) end
  if r:chance(0.1) then text = string.rep("[", r:int(100, 3000)) .. text end
  local ext = r:pick { ".jsonl", ".ndjson", ".json", ".txt" }
  local path = tmpfile(ext, text)
  r.input = ext .. " " .. text
  local res, err = load.images(path)
  if not res then
    check(type(err) == "string" and err ~= "", "images(%s): nil without a message", ext)
    return
  end
  check(type(res.items) == "table" and type(res.problems) == "table", "images: no items/problems table")
  for _, p in ipairs(res.problems) do
    check(type(p.key) == "string" and type(p.reason) == "string", "images: a problem without key/reason")
    check(p.message == nil or type(p.message) == "string", "images: a problem's message is a %s", type(p.message))
  end
  if res.lines then
    local n = select(2, text:gsub("\n", "")) + 1
    for i, item in ipairs(res.items) do
      check(type(item) == "table", "images: item %d is a %s", i, type(item))
      check(whole(res.lines[i]) and res.lines[i] >= 1 and res.lines[i] <= n, "images: item %d has line %s of %d", i,
        tostring(res.lines[i]), n)
    end
  end
  -- oracle: JSON Lines of plain objects only give every object and no problem
  for _, l in ipairs(lines) do valid = valid and l:match("^{\"fileName\":\"f%d+%.jpg\",\"visitorId\":\"%d+\"}$") ~= nil end
  if valid and #lines > 0 and ext ~= ".json" and ext ~= ".txt" and text == table.concat(lines, "\n") then
    check(#res.items == #lines and #res.problems == 0, "images: %d plain JSON lines gave %d items, %d problems",
      #lines, #res.items, #res.problems)
  end
  -- the brand package reader on the same bytes (its JSON branch)
  local bpath = tmpfile(".json", r:chance(0.5) and text or r:json(3, { "regBrand", "brandProfile", "brandBackground",
    "subNumCertificate", "path", "chatbots" }))
  local payload, paths = load.brand(bpath)
  if payload then
    check(type(payload) == "table" and type(paths) == "table", "brand: payload/paths not tables")
    for k, v in pairs(paths) do check(type(k) == "string" and type(v) == "string", "brand: a path is not a string") end
  else
    check(type(paths) == "string", "brand: nil without a message")
  end
end)

-- cli/args.lua: argv of known and odd words against one table of every option kind.
local ALLOWED = { help = "flag", verbose = "flag", batch = "count", timeout = "seconds", port = "port",
  skip = "list", journal = "string", progress = "choice:progress" }
local OPTS = { "--help", "-h", "-v", "--verbose", "--batch", "--timeout", "--port", "--skip", "--journal",
  "--progress", "--nope", "-x", "--", "-", "--=", "---batch", "--batch=", "--timeout=", "--skip=" }
target("args", function(r)
  local args = require "bizreg.cli.args"
  local argv = {}
  for i = 1, r:int(0, 8) do
    local k = r:int(1, 6)
    if k <= 2 then argv[i] = r:pick(OPTS)
    elseif k == 3 then argv[i] = r:pick(OPTS) .. r:numtext()
    elseif k == 4 then argv[i] = r:numtext()
    elseif k == 5 then  -- a batch list
      local parts = {}
      for j = 1, r:int(1, 4) do parts[j] = r:chance(0.5) and r:numtext() or (r:numtext() .. "-" .. r:numtext()) end
      argv[i] = table.concat(parts, r:chance(0.9) and "," or " , ")
    else argv[i] = r:bytes(10) end
  end
  r.input = table.concat(argv, " ")
  local res, err = args.parse(argv, ALLOWED)
  if not res then
    check(type(err) == "string" and err ~= "", "parse: nil without a message")
    return
  end
  check(type(res.words) == "table" and type(res.opts) == "table", "parse: no words/opts")
  for _, w in ipairs(res.words) do check(type(w) == "string", "parse: a word is a %s", type(w)) end
  for name, v in pairs(res.opts) do
    local kind = ALLOWED[name]
    check(kind, "parse: an option not allowed: %s", tostring(name))
    if kind == "flag" then check(v == true, "--%s: flag is %s", name, tostring(v))
    elseif kind == "count" then check(whole(v) and v >= 1, "--%s: count %s from %s", name, tostring(v), show(table.concat(argv, " ")))
    elseif kind == "seconds" then check(finite(v) and v > 0, "--%s: seconds %s from %s", name, tostring(v), show(table.concat(argv, " ")))
    elseif kind == "port" then check(whole(v) and v >= 0 and v <= 65535, "--%s: port %s", name, tostring(v))
    elseif kind == "list" then
      check(type(v) == "table" and next(v) ~= nil, "--%s: empty list", name)
      for n, t in pairs(v) do check(whole(n) and n >= 1 and t == true, "--%s: list entry %s", name, tostring(n)) end
    elseif kind == "string" then check(type(v) == "string" and v ~= "", "--%s: string %s", name, tostring(v))
    else check(v == "auto" or v == "bar" or v == "lines" or v == "off", "--%s: choice %s", name, tostring(v)) end
  end
end)

-- cli/dryrun.lua + cli/multipart.lua: the summary of a register_brand body, intact or damaged.
local brand_req
target("dryrun", function(r)
  local bizreg = require "bizreg"
  local dryrun = require "bizreg.cli.dryrun"
  local json = require "bizreg.cli.json"
  if not brand_req then
    local images = require "spec.helpers.images"
    brand_req = assert(bizreg.prepare_brand({ regBrand = { name = "n", description = "d", categoryId = "EDU",
      subCategoryId = "EDU007" }, brandProfile = { data = images.png(400, 400), filename = "p.png" } },
      { boundary = "fuzz-0001" }))
  end
  local req = { method = brand_req.method, path = brand_req.path, headers = {}, body = brand_req.body }
  for k, v in pairs(brand_req.headers) do req.headers[k] = v end
  local ct_key
  for k in pairs(req.headers) do if k:lower() == "content-type" then ct_key = k end end
  local intact = r:chance(0.2)
  if not intact then
    if r:chance(0.8) then req.body = r:mutate(req.body, r:int(1, 6)) end
    if r:chance(0.3) then
      req.headers[ct_key] = r:pick { "multipart/form-data; boundary=", "multipart/form-data; boundary=\"fuzz-0001\"",
        "multipart/form-data; boundary=\"\"", "multipart/x; boundary=--", "multipart/form-data; boundary=fuzz-0001; x=1",
        "multipart/form-data", "text/plain" } .. (r:chance(0.3) and r:bytes(4) or "")
    end
    if r:chance(0.2) then  -- parts whose heads lack a name or a filename, or hold odd quoting
      req.body = req.body:gsub('name="[^"]*"', r:pick { "", 'name=""', 'name="\0"', 'NAME="x"' }, 1)
    end
  end
  r.input = req.headers[ct_key] .. " " .. req.body
  local rq = dryrun.request("http://127.0.0.1:9/", req, nil, nil)
  local lines = {}
  dryrun.print({ out = function(_, l) lines[#lines + 1] = l end }, rq, { "a note" })
  for i, l in ipairs(lines) do check(type(l) == "string", "print: line %d is a %s", i, type(l)) end
  local doc = json.encode(dryrun.json(rq))
  local back = json.decode(doc)
  check(type(back) == "table" and back.method == req.method, "json: the summary does not decode back")
  local ct = req.headers[ct_key]
  local parts = require("bizreg.cli.multipart").parts(req.body, ct)
  for i, p in ipairs(parts) do
    check(p.size == #p.data, "parts: part %d size %s for %d bytes", i, tostring(p.size), #p.data)
    check(p.name == nil or type(p.name) == "string", "parts: part %d name is a %s", i, type(p.name))
  end
  if intact then  -- oracle: the form's parts, the image recognised
    check(#parts == 2 and parts[1].name == "regBrand" and parts[2].name == "brandProfile"
      and parts[2].detected == "png" and parts[2].width == 400, "parts: the intact body gave %d parts", #parts)
  end
end)

-- rcs_walk.map_page, rcs_brands.map_detail, kos search-visitors: the answers, from plausible to hostile.
local BRAND_KEYS = { "brandId", "name", "status", "mediaUrl", "registerDate", "description", "tel", "menus" }
local ENVELOPE_KEYS = { "code", "status", "desc", "result", "pagination", "links", "total", "offset", "limit",
  "prev", "next" }
local VISITOR_KEYS = { "id", "name", "chartNumber", "phoneNumber", "countryCode", "gender", "dateOfBirth", "data" }

local function answer_body(r, keys, list_key, entry_keys)
  if r:chance(0.2) then return r:json(4, keys) end
  local entries = {}
  for i = 1, r:int(0, 4) do
    entries[i] = r:chance(0.4) and string.format('{"%s":"B%d","name":"n"}', entry_keys[1], i) or r:json(2, entry_keys)
  end
  local fields = { string.format('"%s":[%s]', list_key, table.concat(entries, ",")) }
  for i = 1, r:int(0, 3) do
    local k = r:pick(keys)
    fields[#fields + 1] = '"' .. k .. '":' .. (r:chance(0.5) and r:numtext() ~= "" and ('{"total":' .. r:pick { "3", "NaN",
      "1e999", "-1e999", "1.5", "null", "\"3\"" } .. ',"offset":' .. r:pick { "0", "NaN", "1e999", "-5" } .. '}') or r:json(2, keys))
    if i > 5 then break end
  end
  local body = "{" .. table.concat(fields, ",") .. "}"
  return r:chance(0.2) and r:mutate(body, 2) or body
end

target("answers", function(r)
  local walk = require "bizreg.rcs_walk"  -- list pages
  local brands = require "bizreg.rcs_brands"  -- one brand's detail
  local kos = require "bizreg.kos"
  local status = r:pick { 200, 200, 200, 201, 204, 299, 400, 500 }
  local body = answer_body(r, ENVELOPE_KEYS, "result", BRAND_KEYS)
  local res = { status = status, headers = {}, body = body }
  r.input = status .. " " .. body
  local page, err = walk.map_page(res, 0, 100)
  if not page then check_err(err, "map_page") else
    check(type(page.brands) == "table", "map_page: no brands")
    for i, b in ipairs(page.brands) do
      check(type(b.brandId) == "string" and b.brandId ~= "", "map_page: brand %d without brandId", i)
    end
    -- the fields paging reads are finite numbers (offset, limit always: the asked-for ones when
    -- the answer has none); other pagination fields are kept as sent (tolerant reading)
    for _, k in ipairs { "total", "offset", "limit" } do
      local v = page.pagination[k]
      check((k == "total" and v == nil) or finite(v), "map_page: pagination.%s is %s (body %s)", k, tostring(v), show(body))
    end
    check(page.status == nil or finite(page.status), "map_page: status %s", tostring(page.status))
  end
  local detail, derr = brands.map_detail(res, r:chance(0.5) and "B1" or nil)
  if not detail then check_err(derr, "map_detail") else
    check(type(detail.brand) == "table" and type(detail.brand.brandId) == "string", "map_detail: no brand")
    for k, v in pairs(detail.brand) do
      if type(v) == "number" then check(finite(v), "map_detail: brand.%s is %s", k, tostring(v)) end
    end
  end
  local kres = { status = status, headers = {}, body = answer_body(r, VISITOR_KEYS, "data", VISITOR_KEYS) }
  local found, kerr = kos.map_search(kres)
  if not found then check_err(kerr, "map_search") else
    check(type(found.visitors) == "table", "map_search: no visitors")
    for i, v in ipairs(found.visitors) do
      check(type(v.id) == "string" and v.id ~= "", "map_search: visitor %d without id", i)
      -- (a phoneNumber of another type is kept raw and named in the answer event: tolerant reading)
    end
  end
end)

-- client.retry_after: the Retry-After value of an answer, in seconds, or nil.
target("retry_after", function(r)
  local client = require "bizreg.client"
  local v
  local k = r:int(1, 6)
  if k <= 3 then v = r:numtext()
  elseif k == 4 then v = r:pick { "Wed, 21 Oct 2015 07:28:00 GMT", "120, 5", "5s", "", " ", "1 2" }
  elseif k == 5 then v = r:mutate(r:numtext() ~= "" and "120" or "7")
  else v = r:pick { 5, -1, { "1", "2" }, true } end  -- a transport handing over a non-string
  local res = r:chance(0.05) and r:pick { {}, { headers = {} } } or { status = 429, headers = { ["retry-after"] = v } }
  local w = client.retry_after(res)
  check(w == nil or (finite(w) and w >= 0), "retry_after(%s) gave %s", show(v), tostring(w))
  if res.headers and res.headers["retry-after"] == v and type(v) == "string" and v:match("^%s*%d%d?%d?%d?%d?%d?%s*$") then
    check(w == tonumber(v), "retry_after(%s) gave %s", show(v), tostring(w))
  end
end)

-- token_store.lua: what another client left in the store, read back (token and lock values).
target("token_store", function(r)
  local ts = require "bizreg.token_store"
  local function value()
    local k = r:int(1, 6)
    if k == 1 then return nil end
    if k == 2 then return r:pick { 5, true, {}, "" } end
    local n = r:chance(0.5) and tostring(os.time() + r:int(-100, 100000)) or r:numtext()
    local tok = r:chance(0.7) and "tok-" .. r:int(1, 99999) .. "-abcdefgh" or r:bytes(8)
    local s = n .. r:pick { " ", "  ", "", "\t" } .. tok
    return r:chance(0.3) and r:mutate(s, 1) or s
  end
  local stored = { t = value(), l = value() }
  local store = {
    get = function(_, key) return key:find("token", 1, true) and stored.t or stored.l end,
    set = function(_, _, v) stored.t = v return true end,
    add = function(_, _, v)
      if stored.l ~= nil and r:chance(0.7) then return false, "exists" end
      stored.l = v
      return true
    end,
    delete = function(_, key) if key:find("token", 1, true) then stored.t = nil else stored.l = nil end end,
  }
  local shared = ts.new(store, { "rcs", "http://127.0.0.1:9", "cid", "secret-12345" })
  local before = stored.t
  local tok, renew_at = shared:read(r:chance(0.2) and "tok-1-abcdefgh" or nil)
  if tok then
    check(type(tok) == "string" and tok ~= "" and not tok:find("[\r\n%z]"), "read(%s): token %s", show(before), show(tok))
    check(renew_at == nil or (finite(renew_at) and renew_at > 0), "read(%s): renew_at %s", show(before), tostring(renew_at))
  end
  local held = stored.l
  local mine, why = shared:lock(5)
  if mine then
    check(type(mine) == "string", "lock: value is a %s", type(mine))
    shared:unlock(mine)
  else
    check(why ~= nil, "lock: nil without a reason")
    -- a lock value with an expiry that can never pass would hold every waiter to its deadline
    local digits = type(held) == "string" and held:match("^(%d+) ")
    local at = digits and tonumber(digits)
    check(not at or finite(at), "lock(%s): an expiry that never passes is honoured", show(held))
  end
  shared:drop_if("tok-1-abcdefgh", 1)
end)

---------------------------------------------------------------- driver

-- pcall(fn, ...) within F.BUDGET VM instructions: true, results | false, error (a table
-- { finding = ... } when the budget ran out, even if fn caught the hook's error).
local HANG = { finding = "over the instruction budget (a hang)" }
function F.bounded(fn, ...)
  local blown = false
  debug.sethook(function() blown = true error(HANG, 0) end, "", F.BUDGET)
  local res = { pcall(fn, ...) }
  debug.sethook()
  if blown then return false, HANG end
  return unpack_(res, 1, table.maxn and table.maxn(res) or #res)
end

-- Runs case i of target name; returns nil or the finding (a string naming seed and case).
function F.case(name, seed, i)
  local r = F.rng(seed, name, i)
  local ok, e = F.bounded(T[name], r)
  if ok then return nil end
  local what = type(e) == "table" and e.finding or ("raised: " .. tostring(e))
  if r.input then what = what .. "\n  input: " .. show(r.input) end
  return string.format("%s case %d (seed %d): %s\n  replay: lua5.4 spec/property/fuzz_lua.lua --seed %d --only %s --case %d",
    name, i, seed, what, seed, name, i)
end

-- Runs count cases of each target in names; returns the list of findings (at most 5 per target).
function F.run(names, seed, count, first)
  local findings = {}
  for _, name in ipairs(names) do
    local n = 0
    for i = first or 1, (first or 1) + count - 1 do
      local f = F.case(name, seed, i)
      if f then
        findings[#findings + 1] = f
        n = n + 1
        if n >= 5 then break end
      end
    end
  end
  F.cleanup()
  return findings
end

function F.random_seed()
  local f = io.open("/dev/urandom", "rb")
  local b = f and f:read(3) or tostring(os.time())
  if f then f:close() end
  local s = 0
  for i = 1, #b do s = s * 256 + b:byte(i) end
  return s % MOD
end

-- command line
if arg and arg[0] and arg[0]:match("fuzz_lua%.lua$") and not package.loaded["spec.property.fuzz_lua"] then
  package.path = "./lua/?.lua;./lua/?/init.lua;./?.lua;" .. package.path
  local function opt(n) for i = 1, #arg do if arg[i] == n then return arg[i + 1] end end end
  local function num(n) local v = opt(n) return v and tonumber(v) end
  local cpath = opt("--cpath") or os.getenv("BIZREG_CPATH")
  if cpath then package.cpath = cpath .. ";" .. package.cpath end
  local seed = num("--seed") or F.random_seed()
  local count = num("--count") or 2000
  local names = opt("--only") and { opt("--only") } or ORDER
  for _, n in ipairs(names) do if not T[n] then io.stderr:write("unknown target ", n, "\n") os.exit(2) end end
  local first = num("--case")
  if first then count = 1 end
  print(string.format("fuzz-lua: seed %d, %d cases per target (%s)", seed, count, table.concat(names, ", ")))
  local total = 0
  for _, n in ipairs(names) do
    local found = F.run({ n }, seed, count, first)
    total = total + #found
    print(string.format("  %-12s %d cases, %d findings", n, count, #found))
    for _, f in ipairs(found) do print("FINDING " .. f) end
  end
  print(total == 0 and "fuzz-lua: PASS" or "fuzz-lua: FAIL")
  os.exit(total == 0 and 0 or 1)
end

return F
