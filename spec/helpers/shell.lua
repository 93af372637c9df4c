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

return M
