#!/bin/sh
# LuaRocks: lint, install from a clean clone into a local tree (offline), and load
# bizreg from that tree alone.
set -eu
root=$(pwd)
work=$root/build/rock
rm -rf "$work"
mkdir -p "$work"
luarocks --lua-version=5.4 lint bizreg-scm-1.rockspec
git clone -q "$root" "$work/clone"
cd "$work/clone"
BIZREG_MULTIARCH=$(gcc -print-multiarch 2>/dev/null || true) LUAROCKS_CONFIG=$PWD/luarocks-config.lua luarocks --lua-version=5.4 make --tree "$work/tree" bizreg-scm-1.rockspec >"$work/make.log" 2>&1 \
  || { cat "$work/make.log"; exit 1; }
cd "$work"
cjson_dir=$(dirname "$(lua5.4 -e 'print(package.searchpath("cjson", package.cpath))')")
LUA_PATH="$work/tree/share/lua/5.4/?.lua;$work/tree/share/lua/5.4/?/init.lua" \
LUA_CPATH="$work/tree/lib/lua/5.4/?.so;$cjson_dir/?.so" \
lua5.4 -e '
  local bizreg = require "bizreg"
  local core_path = package.searchpath("bizreg.core", package.cpath)
  assert(core_path:find("/build/rock/tree/", 1, true), core_path)
  assert(package.searchpath("bizreg", package.path):find("/build/rock/tree/", 1, true))
  local req = assert(bizreg.prepare_visitor_images { images = { { fileName = "a.jpg", visitorId = "v" } } })
  assert(req.body == "{\"images\":[{\"fileName\":\"a.jpg\",\"visitorId\":\"v\"}]}")
  local _, err = bizreg.prepare_visitor_images { images = { { fileName = "a.jpg" } } }
  assert(err.errorProperties[1].reason == "Required")
  print("luarocks: bizreg " .. bizreg.VERSION .. " installed from a clean clone and loaded from " .. core_path:gsub("^.*/build/", "build/"))
'
test -x "$work/tree/bin/bizreg-sandbox"
