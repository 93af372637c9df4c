#!/bin/sh
# LuaRocks: lint both rockspecs, install both rocks from a clean clone into one local tree
# (offline: luarocks-config.lua marks Debian's packages as provided), then
#  - bizreg (Lua 5.4): loaded from that tree alone; it carries no sandbox module or launcher,
#    and its `bizreg sandbox` says how to install the sandbox rock while that is missing;
#  - bizreg-sandbox (Lua 5.1): its installed launcher is started, the installed library
#    makes one real call against it (counted by the sandbox), and it is stopped.
set -eu
root=$(pwd)
work=$root/build/rock
tree=$work/tree
rm -rf "$work"
mkdir -p "$work"
luarocks --lua-version=5.4 lint bizreg-scm-1.rockspec
luarocks --lua-version=5.1 lint bizreg-sandbox-scm-1.rockspec
git clone -q "$root" "$work/clone"
cd "$work/clone"
export LUAROCKS_CONFIG="$PWD/luarocks-config.lua"
BIZREG_MULTIARCH=$(gcc -print-multiarch 2>/dev/null || true) luarocks --lua-version=5.4 make --tree "$tree" \
  bizreg-scm-1.rockspec >"$work/make.log" 2>&1 || { cat "$work/make.log"; exit 1; }
cd "$work"
unset LUA_PATH LUA_CPATH LUA_INIT LUA_PATH_5_4 LUA_CPATH_5_4 BIZREG_SANDBOX

fail() { echo "luarocks: $*" >&2; exit 1; }

# the build happens out of the source tree: nothing new in the checkout, ignored files included
# (builtin builds left src/*.o and bizreg/core.so there)
left=$(git -C "$work/clone" status --porcelain --ignored --untracked-files=all | grep -v ' build/' || true)
[ -z "$left" ] || fail "luarocks make left files in the checkout: $(echo $left)"

# ---- the library rock alone ---------------------------------------------------
left=$(cd "$tree" && find . -path '*sandbox*' ! -name 'sandbox.lua' | sort)
[ -z "$left" ] || fail "the bizreg rock installed sandbox files: $left"
[ "$(ls "$tree/bin")" = "bizreg" ] || fail "the bizreg rock installed more than bin/bizreg: $(ls "$tree/bin")"
grep -q "bizreg_sandbox\|bizreg-sandbox" "$tree/lib/luarocks/rocks-5.4/bizreg/scm-1/rock_manifest" &&
  fail "the bizreg rock's manifest names the sandbox"

cjson_dir=$(dirname "$(lua5.4 -e 'print(package.searchpath("cjson", package.cpath))')")
lib_env() {
  env LUA_PATH="$tree/share/lua/5.4/?.lua;$tree/share/lua/5.4/?/init.lua" \
    LUA_CPATH="$tree/lib/lua/5.4/?.so;$cjson_dir/?.so" "$@"
}
lib_env lua5.4 -e '
  local bizreg = require "bizreg"
  local core_path = package.searchpath("bizreg.core", package.cpath)
  assert(core_path:find("/build/rock/tree/", 1, true), core_path)
  assert(package.searchpath("bizreg", package.path):find("/build/rock/tree/", 1, true))
  assert(not package.searchpath("bizreg_sandbox.server", package.path), "a sandbox module is reachable")
  assert(not pcall(require, "bizreg.sandbox.server"), "bizreg.sandbox.server loads")
  local req = assert(bizreg.prepare_visitor_images { images = { { fileName = "a.jpg", visitorId = "v" } } })
  assert(req.body == "{\"images\":[{\"fileName\":\"a.jpg\",\"visitorId\":\"v\"}]}")
  local _, err = bizreg.prepare_visitor_images { images = { { fileName = "a.jpg" } } }
  assert(err.errorProperties[1].reason == "Required")
  print("luarocks: bizreg " .. bizreg.VERSION .. " installed from a clean clone and loaded from " .. core_path:gsub("^.*/build/", "build/"))
'
# `bizreg sandbox` without the sandbox rock: a clear message, exit code 2
set +e
msg=$(PATH="$tree/bin:/usr/bin:/bin" "$tree/bin/bizreg" sandbox 2>&1 >/dev/null)
rc=$?
set -e
[ "$rc" = 2 ] || fail "bizreg sandbox without the sandbox rock exited $rc: $msg"
case $msg in
  *"luarocks --lua-version=5.1 install bizreg-sandbox"*) ;;
  *) fail "bizreg sandbox without the sandbox rock said: $msg" ;;
esac

# ---- the sandbox rock ---------------------------------------------------------
cd "$work/clone"
luarocks --lua-version=5.1 make --tree "$tree" bizreg-sandbox-scm-1.rockspec >"$work/make-sandbox.log" 2>&1 ||
  { cat "$work/make-sandbox.log"; exit 1; }
cd "$work"
[ -x "$tree/bin/bizreg-sandbox" ] || fail "no bin/bizreg-sandbox after installing the sandbox rock"
[ -f "$tree/share/lua/5.1/bizreg_sandbox/server.lua" ] || fail "bizreg_sandbox.server not installed for 5.1"

pid=
log=$work/sandbox.log
stop() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; pid=; fi
}
trap 'st=$?; stop; exit $st' EXIT
trap 'exit 1' HUP INT PIPE TERM
# started as a user would (from its tree's bin, through `bizreg sandbox`): the pid is the
# server's own, since every launcher on the way execs
: >"$log"
PATH="$tree/bin:/usr/bin:/bin" "$tree/bin/bizreg" sandbox --port 0 >"$log" 2>&1 &
pid=$!
url=
for _ in $(seq 1 100); do
  url=$(sed -n 's/^bizreg sandbox listening on \(http:[^ ]*\)$/\1/p' "$log")
  [ -n "$url" ] && break
  kill -0 "$pid" 2>/dev/null || { cat "$log"; pid=; fail "the installed sandbox exited during startup"; }
  sleep 0.1
done
[ -n "$url" ] || { cat "$log"; fail "the installed sandbox did not start within 10 s"; }
cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline")
case $cmdline in
  *lua5.1*"$tree/lib/luarocks/rocks-5.1/bizreg-sandbox/scm-1/bin/bizreg-sandbox --port 0"*) ;;
  *) fail "bizreg sandbox did not run the installed launcher: $cmdline" ;;
esac
SANDBOX_URL=$url lib_env lua5.4 -e '
  local bizreg = require "bizreg"
  local url = os.getenv("SANDBOX_URL")
  local res, err = bizreg.register_visitor_images({ base_url = url, api_key = "11111111-2222-4333-8444-555555555555" },
    { images = { { fileName = "rock.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } })
  assert(res, tostring(err))
  local _, bad = bizreg.register_visitor_images({ base_url = url, token = "not-a-token" },
    { images = { { fileName = "rock.jpg", visitorId = "65a1b2c3d4e5f6a7b8c9d0e1" } } })
  assert(bad and bad.status == 401, tostring(bad))
'
stats=$(curl -fsS "$url/_sandbox/stats") || fail "GET /_sandbox/stats"
case $stats in
  *'"registered":{"images":1,'*) ;;
  *) fail "the installed sandbox did not register the image: $stats" ;;
esac
stop
echo "luarocks: bizreg-sandbox installed for Lua 5.1 ($tree/bin/bizreg-sandbox) answered the installed library: 1 image registered, 401 for a bad token"
