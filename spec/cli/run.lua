-- Runs bin/bizreg as a separate process, the way an operator would, and captures
-- stdout, stderr and the exit code. The child runs under the same Lua as busted, on the
-- plain (unsanitized) core of that Lua, with no LD_PRELOAD and no BIZREG_* variables
-- from the caller's environment: each test passes exactly the environment it means.
local shell = require "spec.helpers.shell"

local M = {}

M.lua = rawget(_G, "jit") and "luajit" or (_VERSION:gsub("^Lua ", "lua"))
M.dir = "build/tmp/cli-" .. tostring(os.time()) .. "-" .. tostring(math.random(1e6))

local CLEAR = { "BIZREG_KOS_BASE_URL", "BIZREG_KOS_API_KEY", "BIZREG_KOS_TOKEN", "BIZREG_RCS_BASE_URL",
  "BIZREG_RCS_CLIENT_ID", "BIZREG_RCS_CLIENT_SECRET", "BIZREG_RCS_TOKEN", "BIZREG_LUA", "BIZREG_PROBE",
  "BIZREG_SANDBOX", "LUA_INIT", "LUA_INIT_5_2", "LUA_INIT_5_3", "LUA_INIT_5_4" }

function M.q(s) return "'" .. tostring(s):gsub("'", "'\\''") .. "'" end

function M.read(path)
  local f = io.open(path, "rb")
  if not f then return nil end
  local s = f:read("*a")
  f:close()
  return s
end

function M.write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
  return path
end

-- Makes sure the plain core for this Lua exists (under `make asan` only the sanitized
-- one may have been built), and the scratch directory.
function M.setup()
  if not M.read("build/" .. M.lua .. "/bizreg/core.so") then
    assert(shell.execute("make -s LUA=" .. M.lua .. " build >/dev/null"), "cannot build the core for " .. M.lua)
  end
  assert(shell.execute("mkdir -p " .. M.dir))
end

-- The sandbox's RCS client secret (its documented client "sandbox"): the specs look for it in
-- every output, where it must never be.
M.RCS_SECRET = "SK.sandboxsecret1"

-- The environment that points bin/bizreg's RCS commands at base_url with the sandbox's client.
function M.rcs_env(base_url)
  return { BIZREG_RCS_BASE_URL = base_url, BIZREG_RCS_CLIENT_ID = "sandbox", BIZREG_RCS_CLIENT_SECRET = M.RCS_SECRET }
end

-- The setup of a spec of RCS commands: M.setup(), a sandbox; returns it and the environment
-- that points at it (M.rcs_env).
function M.rcs_sandbox()
  M.setup()
  local sb = require("spec.helpers.sandbox").start {}
  return sb, M.rcs_env(sb.rcs_url)
end

-- The command line (without redirections) for argv (a list) and env (name -> value).
-- how: "direct" (the shell part picks the interpreter), or { script = path } to run another
-- copy of bin/bizreg (one outside the checkout), else bin/bizreg under this Lua.
function M.command(argv, env, how)
  local script = type(how) == "table" and how.script or "bin/bizreg"
  local parts = { "env" }
  for _, k in ipairs(CLEAR) do parts[#parts + 1] = "-u " .. k end
  parts[#parts + 1] = "LUA_PATH=" .. M.q("./lua/?.lua;./lua/?/init.lua;;")
  parts[#parts + 1] = "LUA_CPATH=" .. M.q("./build/" .. M.lua .. "/?.so;;")
  for k, v in pairs(env or {}) do parts[#parts + 1] = k .. "=" .. M.q(v) end
  if how == "direct" then
    parts[#parts + 1] = script             -- the shell part picks the interpreter
  else
    parts[#parts + 1] = M.lua .. " " .. M.q(script)
  end
  for _, a in ipairs(argv) do parts[#parts + 1] = M.q(a) end
  return table.concat(parts, " ")
end

local seq = 0
-- Runs to completion: returns { out, err, code }.
function M.run(argv, env, how)
  seq = seq + 1
  local base = M.dir .. "/run" .. seq
  shell.execute(M.command(argv, env, how) .. " >" .. base .. ".out 2>" .. base .. ".err </dev/null; echo $? >" .. base .. ".rc")
  return { out = M.read(base .. ".out") or "", err = M.read(base .. ".err") or "",
    code = tonumber((M.read(base .. ".rc") or ""):match("%d+")) }
end

local rc_files = {}  -- pid -> where its exit code will be written

-- Starts in the background: returns pid and the stdout/stderr paths. The pid is the
-- interpreter's own (env execs it), so a signal reaches the command itself; a shell that
-- waits for it writes its exit code (M.exit_code).
function M.spawn(argv, env)
  seq = seq + 1
  local base = M.dir .. "/bg" .. seq
  local p = shell.popen("{ " .. M.command(argv, env) .. " >" .. base .. ".out 2>" .. base .. ".err </dev/null & echo $! >"
    .. base .. ".pid; wait $!; echo $? >" .. base .. ".rc.tmp; mv " .. base .. ".rc.tmp " .. base .. ".rc; } >/dev/null 2>&1 &")
  p:read("*a")
  p:close()
  local pid
  for _ = 1, 5000 do  -- the shell writes it at once; polled, since it runs on its own
    pid = tonumber((M.read(base .. ".pid") or ""):match("%d+\n"))
    if pid then break end
    shell.execute("sleep 0.01")
  end
  assert(pid, "the background command did not start")
  rc_files[pid] = base .. ".rc"
  return pid, base .. ".out", base .. ".err"
end

-- The exit code of a spawned command once it ended (128 + N when signal N ended it), else nil.
function M.exit_code(pid)
  return tonumber((M.read(rc_files[pid]) or ""):match("%d+"))
end

function M.alive(pid)
  return shell.execute("kill -0 " .. pid .. " 2>/dev/null") and
    not shell.execute("ps -o stat= -p " .. pid .. " | grep -q '^ *Z'")
end

function M.kill(pid, sig)
  shell.execute("kill -" .. (sig or "TERM") .. " " .. pid .. " 2>/dev/null")
end

function M.has(s, needle) return s:find(needle, 1, true) ~= nil end

-- Asserts that each case { argv, message } exits 2 (a usage error) with "bizreg: message" on stderr.
function M.assert_usage(cases, env)
  local luassert = require "luassert"
  for _, c in ipairs(cases) do
    local r = M.run(c[1], env)
    luassert.equal(2, r.code, c[2])
    luassert.is_true(M.has(r.err, "bizreg: " .. c[2]), r.err)
  end
end

-- How often needle occurs in s (plain text).
function M.count(s, needle)
  local n, pos = 0, 1
  while true do
    local a, b = s:find(needle, pos, true)
    if not a then return n end
    n, pos = n + 1, b + 1
  end
end

-- A JSON Lines file (in the scratch directory) of n valid, distinct images named
-- 2026/11/01/<tag>-0001.jpg …; bad = { [i] = fields to merge }.
function M.images_file(name, n, bad, tag)
  local json = require("spec.helpers.sandbox").json
  local out = {}
  for i = 1, n do
    local fields = { fileName = string.format("2026/11/01/%s-%04d.jpg", tag or "img", i),
      visitorId = "65a1b2c3d4e5f6a7b8c9d0e1", source = "HOSPITAL", shootingDateTimeUtc = "2026-11-01T09:00:00.000Z",
      memo = "사진 " .. i }
    for k, v in pairs(bad and bad[i] or {}) do fields[k] = v end
    out[i] = json.encode(fields)
  end
  return M.write(M.dir .. "/" .. name, table.concat(out, "\n") .. "\n")
end

-- Lines of s (without the newlines).
function M.lines(s)
  local t = {}
  for l in s:gmatch("([^\n]*)\n") do t[#t + 1] = l end
  return t
end

return M
