-- Full-call rows (wall clock; each pair interleaved in this one script):
--   call  kos:register_visitor_images(10 images) vs luasocket socket.http + cjson.encode/decode
--   curl  the same bizreg call vs a shell loop spawning `curl` per request with the same body
--   poll  50 calls, server answering after 100 ms: client:start + bizreg.poll vs one after another
-- Every client has its own URL tag (/fkc/, /fls/, ...), so nginx's access log tells how many
-- connections each one opened.
-- usage: calls.lua <nginx base url> <results file>
local shim = require "benchshim"
local bizreg = require "bizreg"
local C = require "common"

local base, out = arg[1], arg[2]
local put = C.results(out)
local payload = C.kos_payload(10)

-- load: the 1-minute load average as the region ends (the machine is shared; the start/poll
-- row reports it, as wall ratios of concurrent work depend on it).
local function loadavg()
  local f = io.open("/proc/loadavg", "r")
  local v = f and tonumber(f:read("*l"):match("^(%S+)"))
  if f then f:close() end
  return v or -1
end

local function region(row, side, round, n, ops, fn)
  collectgarbage("collect")
  local label = string.format("w:%s:%s:%d", row, side, round)
  local secs = shim.region(label, n, fn)
  put { label = label, mode = "wall", row = row, side = side, round = round, n = n, ops = ops, secs = secs,
        load = loadavg() }
end

local function rounds(r_count, a, b)
  for r = 1, r_count do
    if r % 2 == 1 then a(r) b(r) else b(r) a(r) end
  end
end

-- bizreg: validate, encode, send on the client's keep-alive connection, decode the answer.
local function kos_client(tag) return bizreg.kos { base_url = base .. "/" .. tag, token = "bench-token" } end
local kos = kos_client("fkc")
local bz_call = C.bizreg_call(kos, payload)
local ls_call = C.luasocket_call(base .. "/fls" .. C.KOS_PATH, payload)

for _ = 1, 20 do bz_call() ls_call() end
-- Many short rounds: a burst of load from other processes spoils few of them.
local N = 200
rounds(25,
  function(r) region("call", "bz", r, N, N, bz_call) end,
  function(r) region("call", "ls", r, N, N, ls_call) end)

-- Shell automation: one `curl` process per request, the exact body bizreg sends, from a file.
local body_file = os.tmpname()
local f = assert(io.open(body_file, "wb"))
f:write(assert(bizreg.prepare_visitor_images(payload)).body)
f:close()
local NC = 10
local curl_loop = string.format(
  "i=0; while [ $i -lt %d ]; do curl -sS -f -o /dev/null -X POST -H 'Content-Type: application/json' " ..
  "-H 'Authorization: Bearer bench-token' -H 'Accept: application/json' --data-binary @%s %s || exit 1; " ..
  "i=$((i+1)); done", NC, body_file, base .. "/fcu" .. C.KOS_PATH)
local function curl_run()
  local a, _, c = os.execute(curl_loop)
  if not (a == true or a == 0) or (c and c ~= 0) then error("curl loop failed") end
end
rounds(15,
  function(r) region("curl", "bz", r, N, N, bz_call) end,
  function(r) region("curl", "cu", r, 1, NC, curl_run) end)
os.remove(body_file)
kos:close()

-- 50 calls against /p??/ (nginx answers after 100 ms).
local seq, par = kos_client("psq"), kos_client("pjb")
local CALLS = 50
local function sequential()
  for _ = 1, CALLS do
    local res, err = seq:register_visitor_images(payload)
    if not res then error(tostring(err)) end
  end
end
local function started()
  local jobs = {}
  for i = 1, CALLS do jobs[i] = par:start("register_visitor_images", payload) end
  while bizreg.poll(0.05) > 0 do end
  for _, j in ipairs(jobs) do
    local res, err = j:result()
    if not res then error(tostring(err)) end
  end
end
seq:register_visitor_images(payload)
started()
rounds(5,
  function(r) region("poll", "jobs", r, 1, CALLS, started) end,
  function(r) region("poll", "seq", r, 1, CALLS, sequential) end)
seq:close()
par:close()
