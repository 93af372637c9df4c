-- Shell commands for specs. Under `make asan` / `make valgrind` the busted process
-- carries LD_PRELOAD (the sanitizer runtime); child processes (sandbox, node, openssl,
-- mkdir) must not inherit it, or they report their own leaks or hang.
local M = {}

local PREFIX = "env -u LD_PRELOAD "

-- true when the command exited 0 (os.execute differs between 5.1 and 5.2+)
function M.execute(cmd)
  local r = os.execute(PREFIX .. "sh -c '" .. cmd:gsub("'", "'\\''") .. "'")
  return r == true or r == 0
end

function M.popen(cmd, mode)
  return io.popen(PREFIX .. "sh -c '" .. cmd:gsub("'", "'\\''") .. "'", mode)
end

-- Opens a FIFO read-write after `after` seconds, releasing a reader blocked in open()
-- (the old behaviour) so that a failing run ends instead of hanging the suite: its pid.
function M.unblocker(fifo, after)
  local pidfile = os.tmpname()
  M.execute(string.format("(sleep %d; [ -p '%s' ] && exec 3<>'%s' && sleep 1) >/dev/null 2>&1 & echo $! >'%s'",
    after, fifo, fifo, pidfile))
  local f = io.open(pidfile)
  local pid = f and tonumber(f:read("*a"):match("%d+"))
  if f then f:close() end
  os.remove(pidfile)
  return pid
end

return M
