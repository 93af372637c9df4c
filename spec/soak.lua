-- Soak: many calls (both APIs, blocking and concurrent jobs mixed) against random
-- sandbox faults, then the at-most-once invariants:
--   successes <= registrations <= successes + failures that may have arrived
--     (transport sent = true, or any answer: kind http/decode)
--   no register body received twice (the sandbox's duplicate count), no call past
--   its deadline + 1 s, no secret in anything a call returned.
-- Prints a tally; exits 1 on any violation.
--
--   make build && lua5.4 spec/soak.lua [--count 1000] [--seed N]     (BIZREG_CPATH: another core build)
--
-- Left out on purpose: fail_next 429 and 401 answers (a client resends those by
-- design: the server said it did not process them, yet the body arrives twice).
package.path = "./?.lua;./lua/?.lua;./lua/?/init.lua;" .. package.path
-- BIZREG_CPATH picks another build of the core (e.g. "./build/asan/?.so")
package.cpath = (os.getenv("BIZREG_CPATH") or "./build/lua5.4/?.so") .. ";" .. package.cpath

local bizreg = require "bizreg"
local socket = require "socket"
local sandbox = require "spec.helpers.sandbox"
local calls = require "spec.helpers.calls"

local TIMEOUT, CONNECT_TIMEOUT, RETRIES = 2, 1, 2
local BOUND = TIMEOUT * (RETRIES + 1) + 1 -- the documented default deadline + 1 s
local MAX_RESPONSE = 65536

local function parse_args(argv)
  local o = { count = 1000, seed = os.time() }
  for i = 1, #argv, 2 do
    local k, v = argv[i], tonumber(argv[i + 1])
    if (k ~= "--count" and k ~= "--seed") or not v then
      io.stderr:write("usage: lua5.4 spec/soak.lua [--count N] [--seed N]\n")
      os.exit(2)
    end
    o[k:sub(3)] = math.floor(v)
  end
  return o
end

-- Weighted fault menu for the register endpoints (slow ones rare: each costs TIMEOUT).
local MENU = {
  { 8, { mode = "reset_before_read" } }, { 8, { mode = "fin_before_read" } },
  { 8, { mode = "reset_after_headers" } }, { 8, { mode = "fin_after_headers" } },
  { 8, { mode = "reset_after_body" } }, { 8, { mode = "fin_after_body" } },
  { 6, { mode = "reset_after_body", commit = true } }, { 6, { mode = "fin_after_body", commit = true } },
  { 6, { mode = "reset_idle" } }, { 6, { mode = "fin_idle" } },
  { 4, { mode = "truncate", commit = true } }, { 4, { mode = "truncate" } },
  { 4, { mode = "not_json", commit = true } }, { 3, { mode = "html_500" } }, { 3, { mode = "empty_502" } },
  { 3, { mode = "redirect_302", port = 9 } }, { 3, { mode = "redirect_307", port = 9 } },
  { 3, { mode = "big_body", bytes = MAX_RESPONSE + 1000 } }, { 2, { mode = "big_body", bytes = MAX_RESPONSE + 1000, chunked = true } },
  { 3, { mode = "echo", status = 400 } }, { 3, { mode = "echo", status = 200, commit = true } },
  { 3, { mode = "echo", status = 400, escape = "unicode" } },
  { 2, { mode = "huge_header", commit = true } }, { 1, { mode = "many_headers" } },
  { 0.4, { mode = "hang", commit = true } }, { 0.3, { mode = "overlong" } }, { 0.3, { mode = "trickle", commit = true } },
}
-- Token endpoints: fast faults only (a slow one would hold every job waiting for that token).
local TOKEN_MENU = {
  { 1, { mode = "reset_after_body" } }, { 1, { mode = "fin_before_read" } }, { 1, { mode = "html_500" } },
  { 1, { mode = "not_json" } }, { 1, { mode = "echo", status = 400 } },
}

local function pick(menu)
  local total = 0
  for _, e in ipairs(menu) do total = total + e[1] end
  local r = math.random() * total
  for _, e in ipairs(menu) do
    r = r - e[1]
    if r <= 0 then return e[2] end
  end
  return menu[#menu][2]
end

local function copy(t, extra)
  local o = {}
  for k, v in pairs(t) do o[k] = v end
  for k, v in pairs(extra or {}) do o[k] = v end
  return o
end

---------------------------------------------------------------- the run

local opts = parse_args(arg)
math.randomseed(opts.seed)
local sb = sandbox.start {}
local refused = sandbox.refused_port()
local tally = { calls = 0, blocking = 0, jobs = 0, ok = 0, failed = 0, may_have_arrived = 0, by_code = {},
  faults = 0, hangs = 0, leaks = {}, slowest = 0 }

local COPTS = { timeout = TIMEOUT, connect_timeout = CONNECT_TIMEOUT, retries = RETRIES, max_response_bytes = MAX_RESPONSE }
local KINDS = { { "kos", "static" }, { "kos", "fetch" }, { "rcs", "static" }, { "rcs", "fetch" } }
local clients = {}
local function new_client(i)
  if clients[i] then clients[i].c:close() end
  clients[i] = { api = KINDS[i][1], c = calls.client(sb, KINDS[i][1], copy(COPTS, { auth = KINDS[i][2] })) }
end
for i = 1, #KINDS do new_client(i) end

local function record(res, err, secs)
  tally.calls = tally.calls + 1
  tally.slowest = math.max(tally.slowest, secs)
  if err == "hung" or secs > BOUND then tally.hangs = tally.hangs + 1 end
  if type(err) == "string" and err:find("^raised") then tally.raised = (tally.raised or 0) + 1 end
  local where = calls.find_secret(res, calls.SECRETS, "res") or calls.find_secret(err, calls.SECRETS, "err")
    or calls.find_secret(type(err) == "table" and tostring(err) or nil, calls.SECRETS, "tostring(err)")
  if where then tally.leaks[#tally.leaks + 1] = where end
  if res then tally.ok = tally.ok + 1 return end
  tally.failed = tally.failed + 1
  local key = type(err) == "table" and (tostring(err.kind) .. ":" .. tostring(err.code or err.status)) or tostring(err)
  tally.by_code[key] = (tally.by_code[key] or 0) + 1
  -- the server may have the request: bytes left (sent ~= false) or it answered at all
  if type(err) == "table" and (err.kind == "http" or err.kind == "decode" or (err.kind == "transport" and err.sent ~= false)) then
    tally.may_have_arrived = tally.may_have_arrived + 1
  end
end

-- Arms a fault for the next call of this client (half of the calls), sometimes one on its token call.
local function maybe_fault(slot)
  local api, auth = KINDS[slot][1], KINDS[slot][2]
  if math.random() < 0.5 then
    sb:fault(copy(pick(MENU), { endpoint = calls.ENDPOINT[api] }))
    tally.faults = tally.faults + 1
  end
  if auth == "fetch" and math.random() < 0.05 then
    sb:fault(copy(pick(TOKEN_MENU), { endpoint = calls.TOKEN_ENDPOINT[api] }))
    tally.faults = tally.faults + 1
  end
end

local function one_blocking()
  local slot = math.random(#KINDS)
  local entry = clients[slot]
  if math.random() < 0.02 then -- nothing listens: refused, sent = false, retried
    local c = calls.client(sb, entry.api, copy(COPTS, { url = "http://127.0.0.1:" .. refused }))
    record(calls.call(c, entry.api, "blocking", calls.payload(entry.api), BOUND + 5))
    c:close()
  else
    maybe_fault(slot)
    record(calls.call(entry.c, entry.api, "blocking", calls.payload(entry.api), BOUND + 5))
  end
  tally.blocking = tally.blocking + 1
end

-- 1..4 concurrent jobs, driven together by bizreg.poll.
local function job_batch(n)
  local running = {}
  for _ = 1, n do
    local slot = math.random(#KINDS)
    local entry = clients[slot]
    maybe_fault(slot)
    running[#running + 1] = { job = entry.c:start(calls.OP[entry.api], calls.payload(entry.api)), t0 = socket.gettime() }
  end
  local left = #running
  while left > 0 do
    bizreg.poll(0.02)
    left = 0
    for _, r in ipairs(running) do
      local secs = socket.gettime() - r.t0
      if not r.done and (r.job.done or secs > BOUND + 5) then
        r.done = true
        if not r.job.done then
          record(nil, "hung", secs)
        else
          local ok, res, err = pcall(r.job.result, r.job)
          if ok then record(res, err, secs) else record(nil, "raised: " .. tostring(res), secs) end
        end
      elseif not r.done then
        left = left + 1
      end
    end
  end
  tally.jobs = tally.jobs + n
end

local t0 = socket.gettime()
while tally.calls < opts.count do
  if tally.calls > 0 and tally.calls % 100 < 4 then new_client(math.random(#KINDS)) end -- fresh connections too
  if math.random() < 0.7 then one_blocking() else job_batch(math.min(math.random(4), opts.count - tally.calls)) end
end
for _, e in ipairs(clients) do e.c:close() end
sb:clear_faults()
local st = sb:stats()
sb:stop()
local elapsed = socket.gettime() - t0

---------------------------------------------------------------- verdict

local registrations = st.registered.images + st.registered.brands
local duplicates = st.duplicates[calls.ENDPOINT.kos] + st.duplicates[calls.ENDPOINT.rcs]
local codes = {}
for k, v in pairs(tally.by_code) do codes[#codes + 1] = k .. "=" .. v end
table.sort(codes)
print(string.format("soak: seed %d, %d calls (%d blocking, %d in jobs), %d faults armed, %.1f s",
  opts.seed, tally.calls, tally.blocking, tally.jobs, tally.faults, elapsed))
print(string.format("soak: %d succeeded, %d failed (%d may have arrived: sent = true or answered)",
  tally.ok, tally.failed, tally.may_have_arrived))
print("soak: failures by kind:code: " .. table.concat(codes, " "))
print(string.format("soak: sandbox: %d registrations, %d register bodies received, %d duplicates; slowest call %.2f s",
  registrations, st.received[calls.ENDPOINT.kos] + st.received[calls.ENDPOINT.rcs], duplicates, tally.slowest))

local violations = {}
if registrations < tally.ok then
  violations[#violations + 1] = string.format("%d registrations < %d successes (a success was lost)", registrations, tally.ok)
end
if registrations > tally.ok + tally.may_have_arrived then
  violations[#violations + 1] = string.format("%d registrations > %d successes + %d failures that may have arrived",
    registrations, tally.ok, tally.may_have_arrived)
end
if duplicates > 0 then violations[#violations + 1] = duplicates .. " register bodies arrived twice" end
if tally.hangs > 0 then violations[#violations + 1] = tally.hangs .. " calls ran past their deadline + 1 s" end
if tally.raised then violations[#violations + 1] = tally.raised .. " jobs raised" end
if #tally.leaks > 0 then
  violations[#violations + 1] = #tally.leaks .. " results/errors carried a secret (first at " .. tally.leaks[1] .. ")"
end
if #violations > 0 then
  for _, v in ipairs(violations) do print("soak: VIOLATION: " .. v) end
  print(string.format("soak: FAIL (seed %d)", opts.seed))
  os.exit(1)
end
print(string.format("soak: PASS (seed %d)", opts.seed))
