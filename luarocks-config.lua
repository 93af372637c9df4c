-- LuaRocks config for Debian without a LuaRocks server:
--   LUAROCKS_CONFIG=$PWD/luarocks-config.lua luarocks --lua-version=5.4 make --tree ./tree bizreg-scm-1.rockspec
-- libcurl's header sits in the multiarch include dir, and lua-cjson comes from Debian (not a rock).
external_deps_subdirs = {
  bin = "bin",
  include = { "include", "include/x86_64-linux-gnu" },
  lib = { "lib", "lib/x86_64-linux-gnu", "lib64" },
}
rocks_provided = { ["lua-cjson"] = "2.1.0-1" }
