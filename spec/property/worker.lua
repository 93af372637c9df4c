-- One worker process of the hostile-payload property test: generates payloads
-- from..to (each from its own seed pair, so any one can be replayed alone), runs each
-- through a bizreg client against the sandbox, and appends one result line per payload.
-- Before a payload starts it writes "S <i> <tags>" to the progress file, so the parent
-- can name the payload that crashed or hung the process.
local bizreg = require "bizreg"
local cjson = require "cjson.safe"
local http = require "socket.http"
local G = require "spec.property.gen"
local F = require "spec.property.oddfiles"
local M = require "spec.property.mutate"
require "spec.property.mutate_more"
local R = G.R

local W = {}

local TOKENS = { kos = "sandbox-kos-token", rcs = "sandbox-rcs-token" }
local CHECK_EVERY = 50  -- payloads between two comparisons with the sandbox's counters

---------------------------------------------------------------- payloads

local path_cache = {}
local files = { path_for = function(bytes, ext)
  local key = ext .. #bytes
  if not path_cache[key] then
    local p = string.format("%s/f-%s-%d.%s", F.dir, ext, #bytes, ext)
    local f = assert(io.open(p, "wb"))
    f:write(bytes)
    f:close()
    path_cache[key] = p
  end
  return path_cache[key]
end }

local function pick_mutation()
  local total = 0
  for _, m in ipairs(M.list) do total = total + m.weight end
  local x = math.random() * total
  for _, m in ipairs(M.list) do
    x = x - m.weight
    if x <= 0 then return m end
  end
  return M.list[#M.list]
end

local function combine(a, b)
  if b == "inherit" or a == b then return a end
  if a == "valid" then return b end
  if b == "valid" then return a end
  if a == "any_raise" or b == "any_raise" then return "any_raise" end
  if a == "any" or b == "any" then return "any" end
  if a == "invalid" or b == "invalid" then return "invalid" end  -- validation runs before any send
  return b
end

-- Builds payload i: { api, payload, expect, descr, tags, mode, midflight }.
function W.build(seed, i)
  math.randomseed(seed, i)
  local ctx = { i = i, tags = {}, descr = {} }
  ctx.api = R.chance(0.5) and "kos" or "rcs"
  ctx.payload = ctx.api == "kos" and G.kos() or G.rcs(files)
  ctx.expect = "valid"
  if R.chance(0.003) then  -- not a table at all: a programmer error, raised
    ctx.payload = R.pick { "payload", 42, false }
    ctx.expect, ctx.descr[1], ctx.tags[1] = "raise", "payload is a " .. type(ctx.payload), "toplevel"
    return ctx
  end
  local n = R.pick { 0, 1, 1, 1, 1, 1, 1, 2, 2, 3 }
  local chosen = {}
  for _ = 1, n do chosen[#chosen + 1] = pick_mutation() end
  for _, m in ipairs(chosen) do if m.alone then chosen = { m } break end end
  ctx.plain = true  -- no metatable, no file changing: prepare_* must judge it as the client does
  for _, m in ipairs(chosen) do if m.late then ctx.plain = false end end
  table.sort(chosen, function(a, b) return not a.late and b.late end)
  -- expectations by the path a mutation replaced: a later mutation of the same value (or of
  -- a container holding it) supersedes the earlier one
  local by_path = {}
  for _, m in ipairs(chosen) do
    ctx.slots = G.slots(ctx.payload, ctx.api)
    ctx.objects = G.objects(ctx.slots, ctx.payload, ctx.api)
    ctx.subtag = nil
    local expect, what, path = m.fn(ctx)
    if expect then
      if path then
        for k = #by_path, 1, -1 do
          local q = by_path[k].path
          if q and (q == path or q:sub(1, #path + 1) == path .. "." or q:sub(1, #path + 1) == path .. "[") then
            table.remove(by_path, k)
          end
        end
      end
      by_path[#by_path + 1] = { path = path, expect = expect, name = ctx.subtag or m.name }
      ctx.descr[#ctx.descr + 1] = m.name .. ": " .. what
      ctx.tags[#ctx.tags + 1] = m.name
    end
  end
  -- culprits: the mutations that made the payload anything but valid (for grouping findings)
  local culprits = {}
  for _, e in ipairs(by_path) do
    ctx.expect = combine(ctx.expect, e.expect)
    if e.expect ~= "valid" and e.expect ~= "inherit" then culprits[#culprits + 1] = e.name end
  end
  if #culprits == 0 then for _, e in ipairs(by_path) do culprits[#culprits + 1] = e.name end end
  table.sort(culprits)
  ctx.culprits = table.concat(culprits, ",")
  ctx.mode = (ctx.midflight or R.chance(0.25)) and "job" or "blocking"
  ctx.slots, ctx.objects = nil, nil
  return ctx
end

---------------------------------------------------------------- running one

local function one_line(s) return (tostring(s):gsub("[%c]", function(c) return string.format("\\%d", c:byte()) end)) end

-- Contract of a validation error (errors.lua): fields, one-line __tostring.
local function check_validation_error(err)
  local ok, s = pcall(tostring, err)
  if not ok then return "tostring(err) raised: " .. one_line(s) end
  if s:find("[\r\n]") then return "tostring(err) spans lines" end
  if err.status ~= 400 or type(err.message) ~= "string" then return "validation error without status 400/message" end
  if type(err.errorProperties) ~= "table" or #err.errorProperties == 0 then return "validation error without errorProperties" end
  for _, p in ipairs(err.errorProperties) do
    if type(p.key) ~= "string" or type(p.reason) ~= "string" then return "errorProperty without key/reason" end
  end
  if err.sent then return "validation error says sent" end
end

local function sandbox_only(api, err)
  if api == "rcs" and err.code == "64337" and type(err.message) == "string"
    and (err.message:find("(categoryId)", 1, true) or err.message:find("(subCategoryId)", 1, true)) then
    return "category catalogue"
  end
  if api == "kos" and err.className == "NotFoundException" then return "unknown visitor" end
end

-- Runs the call; returns outcome, code, detail, answered: true (the server answered it),
-- "maybe" (a transport error after bytes left, sent = true: the body may have arrived; on a
-- busy machine a timeout can strike after the server read it all) or false.
function W.call(ctx, clients, bound)
  local c = clients[ctx.api]
  local method = ctx.api == "kos" and "register_visitor_images" or "register_brand"
  local ok, res, err, prepared
  if ctx.plain and ctx.i % 3 == 0 then
    local prep = ctx.api == "kos" and bizreg.prepare_visitor_images or bizreg.prepare_brand
    local okp, req, perr = pcall(prep, ctx.payload)
    prepared = okp and (req and "valid" or (type(perr) == "table" and perr.kind == "validation" and "invalid" or "other")) or "raised"
  end
  if ctx.mode == "job" then
    local okj, job = pcall(c.start, c, method, ctx.payload)
    if not okj then
      ok, res = false, job
    else
      if ctx.midflight then ctx.midflight.apply() end
      -- the job's own timeouts end it; this wait only catches one that never ends (4 x the
      -- bound: a loaded machine stretches every call, see hostile.lua)
      ok, res, err = pcall(job.wait, job, 4 * bound)
      if ok and res == nil and err == "timeout" then return "hang", nil, "job not done after " .. 4 * bound .. " s", false end
    end
  else
    ok, res, err = pcall(c[method], c, ctx.payload)
  end
  if not ok then return "raised", nil, one_line(res), false end
  local judged = (res == nil and type(err) == "table" and err.kind == "validation") and "invalid" or "valid"
  if prepared and prepared ~= judged then
    return "prepare_mismatch", nil, "prepare_* says " .. prepared .. ", the client " .. judged, res ~= nil or (type(err) == "table" and err.kind == "http")
  end
  if res then return "accepted", nil, nil, true end
  if type(err) ~= "table" then return "weird", nil, "err is a " .. type(err), false end
  if err.kind == "validation" then
    local bad = check_validation_error(err)
    local first = err.errorProperties and err.errorProperties[1]
    local code = first and (tostring(first.key) .. ":" .. tostring(first.reason)) or nil
    return bad and "bad_error" or "invalid", code, bad, false
  end
  if err.kind == "http" then
    local only = sandbox_only(ctx.api, err)
    local code = tostring(err.code or err.className) .. " " .. one_line(err.message)
    return only and "sandbox_only" or "sandbox_rejected", code, only, true
  end
  return err.kind or "weird", err.code, one_line(err.message), err.sent == true and "maybe" or false
end

local VERDICT = {
  valid = { accepted = true },
  invalid = { invalid = true },
  any = { accepted = true, invalid = true },
  any_raise = { accepted = true, invalid = true, raised = true },
  raise = { raised = true },
  body_error = { transport = "BODY_READ_ERROR", invalid = false },
  body_error_or_valid = { transport = "BODY_READ_ERROR", accepted = true },
}

-- nil when the outcome is allowed; else the violation's class.
function W.judge(ctx, outcome, code, maybe)
  if outcome == "sandbox_only" then return nil end
  if outcome == "sandbox_rejected" then
    if ctx.expect == "invalid" or ctx.expect:match("^body_error") then return "accepted-" .. ctx.expect end
    return "sandbox-rejected-accepted"
  end
  -- a valid body sent whole whose answer did not come in time: the machine's load, not a
  -- violation (the tally counts it as "may have arrived")
  if outcome == "transport" and code == "OPERATION_TIMEDOUT" and maybe and VERDICT[ctx.expect].accepted then
    return nil
  end
  -- a file changed after validation may still end the call, whatever else the payload holds
  if ctx.midflight and outcome == "transport" and code == "BODY_READ_ERROR" and ctx.expect:match("^any") then return nil end
  local allowed = VERDICT[ctx.expect][outcome]
  if allowed == true or (type(allowed) == "string" and allowed == code) then return nil end
  if outcome == "accepted" then return "accepted-" .. ctx.expect end
  if outcome == "invalid" then return "rejected-" .. ctx.expect end
  return outcome .. "-when-" .. ctx.expect
end

---------------------------------------------------------------- the loop

http.TIMEOUT = 2

-- The sandbox's stats, or nil when it does not answer. A sandbox busy with a large body on a
-- loaded machine answers late: it is taken as gone only after 8 looks in a row (2 s each).
local function stats(url)
  for _ = 1, 8 do
    local body, code = http.request(url .. "/_sandbox/stats")
    local s = code == 200 and cjson.decode(body)
    if type(s) == "table" then return s end
  end
end

-- A sandbox that no longer answers (issue: a body aborted mid-way wedges it) cannot judge
-- later payloads: the worker stops with status 3 and the parent starts a fresh sandbox.
local function alive(url) return stats(url) ~= nil end

local function api_requests(url)
  local s = stats(url)
  if not s then error("sandbox stats failed: no answer") end
  -- complete bodies (a head whose body was aborted, BODY_READ_ERROR, is not one)
  local by = s.received or {}
  return (by["kos.register_visitor_images"] or 0) + (by["rcs.register_brand"] or 0)
end

local function field(s) return (tostring(s == nil and "-" or s):gsub("[\t\r\n]", " ")) end

-- Positions from..to are payloads (seed, position), or with opts.pairs (a file of
-- "seed index" lines, # comments) the payloads those lines name.
local function payloads(opts)
  if not opts.pairs then return function(pos) return opts.seed, pos end end
  local list = {}
  for line in assert(io.open(opts.pairs)):lines() do
    local seed, index, culprits = line:match("^%s*(%d+)%s+(%d+)%s+(%S+)")
    if seed then list[#list + 1] = { tonumber(seed), tonumber(index), culprits } end
  end
  return function(pos) return list[pos][1], list[pos][2], list[pos][3] end
end

-- opts: seed | pairs, from, to, url, rcs_url, dir, bound, progress, results, skip (list of tag sets)
function W.run(opts)
  F.init(opts.dir, G)
  local at = payloads(opts)
  local common = { timeout = 5, connect_timeout = 5, retries = 0 }
  local function client(new, url, token)
    local o = { base_url = url, token = token }
    for k, v in pairs(common) do o[k] = v end
    return new(o)
  end
  local clients = { kos = client(bizreg.kos, opts.url, TOKENS.kos), rcs = client(bizreg.rcs, opts.rcs_url, TOKENS.rcs) }
  local progress = assert(io.open(opts.progress, "a"))
  local results = assert(io.open(opts.results, "a"))
  local base, answered, maybe, chunk_from = api_requests(opts.url), 0, 0, opts.from
  -- the sandbox's count since base must lie in answered .. answered + maybe
  local function settle(to)
    local now = api_requests(opts.url)
    if now - base < answered or now - base > answered + maybe then
      results:write(table.concat({ "M", chunk_from, to, answered, now - base, maybe }, "\t"), "\n")
    end
    base, answered, maybe = now, 0, 0
  end
  for i = opts.from, opts.to do
    progress:write("S ", i, " build\n")  -- a crash while generating is still named
    progress:flush()
    local seed, index, want = at(i)
    local ctx = W.build(seed, index)
    local tags = table.concat(ctx.tags, ",")
    progress:write("S ", i, " ", tags == "" and "-" or tags, "\n")
    progress:flush()
    local skipped = W.skipped(ctx.tags, opts.skip)
    if ctx.midflight and not skipped then  -- settle the counts before a payload that may wedge the sandbox
      settle(i - 1)
      chunk_from = i
    end
    local outcome, code, detail, ans = "skipped", nil, "quarantined after a hang", false
    if want and want ~= ctx.culprits then  -- the generator changed: the listed payload is another one now
      skipped, outcome, detail = true, "stale_regression", "now " .. ctx.culprits .. ", listed as " .. want
    elseif not skipped then
      outcome, code, detail, ans = W.call(ctx, clients, opts.bound)
    end
    if ctx.midflight then ctx.midflight.cleanup() end
    if ans == "maybe" then maybe = maybe + 1 elseif ans then answered = answered + 1 end
    local verdict = outcome == "stale_regression" and outcome or (not skipped and W.judge(ctx, outcome, code, ans == "maybe") or nil)
    local imgs = type(ctx.payload) == "table" and rawget(ctx.payload, "images")
    local units = ctx.api == "rcs" and 1 or (type(imgs) == "table" and rawlen(imgs) or 0)
    results:write(table.concat({ "R", i, ctx.api, ctx.mode or "-", ctx.expect, outcome, field(code),
      ans == "maybe" and "?" or (ans and 1 or 0), units,
      field(verdict), field(detail), field(table.concat(ctx.descr, " | ")), field(ctx.culprits ~= "" and ctx.culprits or nil),
      seed .. ":" .. index }, "\t"), "\n")
    ctx = nil  -- luacheck: ignore 311 (drops the payload before the next one is built)
    results:flush()
    if (outcome == "transport" or outcome == "hang") and not alive(opts.url) then
      results:write("W\t", i, "\n")
      results:close()
      os.exit(3)
    end
    if i % CHECK_EVERY == 0 or i == opts.to then
      collectgarbage("collect")  -- runs the payloads' __gc (some raise) while we watch
      settle(i)
      chunk_from = i + 1
    end
    results:flush()
  end
  clients.kos:close()
  clients.rcs:close()
  progress:write("DONE\n")
  progress:close()
  results:close()
end

-- A payload is skipped when its tags include every tag of a quarantined (hung) payload.
function W.skipped(tags, skip)
  local have = {}
  for _, t in ipairs(tags) do have[t] = true end
  for _, set in ipairs(skip or {}) do
    local all = #set > 0
    for _, t in ipairs(set) do if not have[t] then all = false end end
    if all then return true end
  end
  return false
end

return W
