-- LuaRocks config for Debian without a LuaRocks server:
--   LUAROCKS_CONFIG=$PWD/luarocks-config.lua luarocks --lua-version=5.4 make --tree ./tree bizreg-scm-1.rockspec
-- libcurl's header sits in the multiarch include dir (x86_64-linux-gnu, aarch64-linux-gnu, …),
-- and lua-cjson comes from Debian (not a rock). BIZREG_MULTIARCH overrides the detection.
local function multiarch()
  local v = os.getenv("BIZREG_MULTIARCH")
  if v and v ~= "" then return v end
  for _, cmd in ipairs { "gcc -print-multiarch", "dpkg-architecture -qDEB_HOST_MULTIARCH" } do
    local ok, p = pcall(io.popen, cmd .. " 2>/dev/null")
    if ok and p then
      local out = p:read("*l")
      p:close()
      if out and out:match("^[%w_]+%-[%w_%-]+$") then return out end
    end
  end
end
local arch = multiarch()
external_deps_subdirs = {
  bin = "bin",
  include = { "include", arch and ("include/" .. arch) or nil },
  lib = { "lib", arch and ("lib/" .. arch) or "lib64", "lib64" },
}
rocks_provided = { ["lua-cjson"] = "2.1.0-1" }
