#!/bin/sh
# make test-distros: the README's two commands inside minimal Debian roots (debootstrap), as a
# newcomer runs them on the oldest and newest releases we promise:
#   bullseye (Debian 11): libcurl 7.74; its lua-cjson has no 5.4 build, so the library runs on lua5.1
#   trixie   (Debian 13): libcurl 8.14, lua5.4 5.4.7
# (Debian 12 is the machine itself: the main suite.) A root starts with what the README presumes
# (make, git, ca-certificates); bin/deps, called by the commands, installs the rest. In each root:
#   1. `make demo` (PORT=0: any free port), which must exit 0;
#   2. the test command, `make test`, narrowed to fit CI's budget: the busted suite under the Lua
#      the release serves (bin/deps lua), no extra checks (so bin/deps installs only the "specs"
#      set), the #wire checks of the sandbox itself left out (its target is this machine's
#      lua-http). BIZREG_DISTRO_EXTRA adds parts (and then the whole "test" set is installed).
# Roots are kept between runs under $BIZREG_ROOTS (default /var/tmp/bizreg-roots, about 1.7 GB,
# outside the checkout; `make clean-roots` removes them). Needs root.
#   sh spec/checks/distros.sh [--clean]
# Prints one "<suite> (...): N passed, N failed" line per distro with each command's wall time,
# then "distros: N passed, N failed"; exit 1 on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD
ROOTS=${BIZREG_ROOTS:-/var/tmp/bizreg-roots}
DISTROS=${BIZREG_DISTROS:-"bullseye trixie"}
PKGS="make git ca-certificates"

[ "$(id -u)" = 0 ] || { echo "distros: needs root (debootstrap, chroot)"; exit 1; }

# --clean (make clean-roots): unmounts what a killed run may have left mounted in the roots, then
# removes them (never crossing into another file system).
if [ "${1:-}" = --clean ]; then
  [ -d "$ROOTS" ] || { echo "distros: no roots at $ROOTS"; exit 0; }
  awk -v r="$ROOTS/" 'index($2, r) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount "$m"; done
  size=$(du -sh "$ROOTS" 2>/dev/null | cut -f1)
  rm -rf --one-file-system "$ROOTS" && echo "distros: removed $ROOTS ($size)"
  exit
fi
command -v debootstrap >/dev/null 2>&1 || {
  apt-get -o DPkg::Lock::Timeout=600 update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 install -y -qq debootstrap >/dev/null
} || { echo "distros: cannot install debootstrap"; exit 1; }

# The machine's own Debian mirror (deb822 or one-line sources).
mirror=$(sed -n 's/^URIs: *\([^ ]*debian\)$/\1/p' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -n 1)
[ -n "$mirror" ] || mirror=$(awk '$1 == "deb" && $2 !~ /security/ { print $2; exit }' /etc/apt/sources.list 2>/dev/null)
[ -n "$mirror" ] || mirror=http://deb.debian.org/debian

in_root() {  # in_root ROOT CMD: runs CMD in the root with /proc mounted for its duration
  mount -t proc proc "$1/proc" 2>/dev/null
  chroot "$1" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root DEBIAN_FRONTEND=noninteractive sh -c "$2"
  rc=$?
  umount "$1/proc" 2>/dev/null
  return $rc
}

prepare_root() {  # prepare_root SUITE ROOT
  if [ ! -x "$2/usr/bin/apt-get" ]; then
    rm -rf "$2" && mkdir -p "$2"
    debootstrap --variant=minbase "$1" "$2" "$mirror" >"$2.debootstrap.log" 2>&1 ||
      { tail -n 20 "$2.debootstrap.log"; return 1; }
  fi
  # What a minbase root lacks: name resolution for localhost, the machine's extra CAs, npm's cafile.
  cp /etc/hosts /etc/resolv.conf "$2/etc/" 2>/dev/null
  if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    mkdir -p "$2/usr/local/share/ca-certificates" && cp /usr/local/share/ca-certificates/*.crt "$2/usr/local/share/ca-certificates/"
  fi
  want=$PKGS
  missing=$(in_root "$2" "for p in $(echo $want); do dpkg-query -W -f='\${Status}' \$p 2>/dev/null | grep -q 'ok installed' || echo \$p; done")
  [ -z "$missing" ] && { in_root "$2" "update-ca-certificates >/dev/null 2>&1"; return 0; }
  in_root "$2" "apt-get -o DPkg::Lock::Timeout=600 update -qq && apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends $(echo $missing) >/dev/null 2>&1 &&
    update-ca-certificates >/dev/null 2>&1; true"
  missing=$(in_root "$2" "for p in $(echo $want); do dpkg-query -W -f='\${Status}' \$p 2>/dev/null | grep -q 'ok installed' || echo \$p; done")
  [ -z "$missing" ] || { echo "$1: could not install:" $missing; return 1; }
}

PASS=0
FAIL=0
for suite in $DISTROS; do
  root=$ROOTS/$suite
  mkdir -p "$ROOTS"
  if ! prepare_root "$suite" "$root"; then
    FAIL=$((FAIL + 1)); echo "$suite: 0 passed, 1 failed (root not ready)"; continue
  fi
  # A fresh copy of the tree as a clone has it, .git included (the LuaRocks check clones it;
  # no build products, no node modules: make test
  # installs them with npm, as on a fresh machine). The root's earlier npm install is kept when
  # spec/node's package files did not change (a second run tests the tree, not npm again).
  keep=$root/node_modules.kept
  rm -rf "$keep"
  if [ -d "$root/src/spec/node/node_modules" ] &&
    cmp -s "$root/src/spec/node/package.json" "$SRC/spec/node/package.json" &&
    cmp -s "$root/src/spec/node/package-lock.json" "$SRC/spec/node/package-lock.json"; then
    mv "$root/src/spec/node/node_modules" "$keep"
  fi
  rm -rf "$root/src" && mkdir -p "$root/src"
  tar -C "$SRC" --exclude=./build --exclude=./doc --exclude=./tree --exclude=./spec/node/node_modules -cf - . |
    tar -C "$root/src" -xf -
  if [ -d "$keep" ]; then mv "$keep" "$root/src/spec/node/node_modules" && touch "$root/src/spec/node/node_modules"; fi
  log=$SRC/build/logs/distro-$suite
  mkdir -p "$SRC/build/logs"
  t0=$(date +%s)
  if ! in_root "$root" "cd /src && make demo PORT=0" >"$log.demo" 2>&1; then
    tail -n 30 "$log.demo"; FAIL=$((FAIL + 1)); echo "$suite: 0 passed, 1 failed (make demo)"; continue
  fi
  t1=$(date +%s)
  lua=$(in_root "$root" "cd /src && sh bin/deps lua")
  curl_v=$(in_root "$root" "pkg-config --modversion libcurl")
  extra=${BIZREG_DISTRO_EXTRA:-}
  deps=$([ -n "$extra" ] && echo test || echo specs)
  in_root "$root" "cd /src && BIZREG_TMP=/tmp/bizreg BIZREG_LUAS=$lua BIZREG_EXTRA='$extra' \
    BIZREG_BUSTED_ARGS=--exclude-tags=wire make test DEPS=$deps" >"$log.test" 2>&1
  rc=$?
  t2=$(date +%s)
  for t in "$root/src/build/logs/$lua".tap "$root/src/build/logs/$lua"-once.tap; do  # run.sh's two busted parts
    [ -f "$t" ] && cp "$t" "$log${t##*/"$lua"}"
  done
  line=$(grep -E '^[0-9]+ passed, [0-9]+ failed' "$log.test" | tail -n 1)
  p=$(echo "$line" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
  f=$(echo "$line" | sed -n 's/^[0-9]* passed, \([0-9]*\) failed.*/\1/p')
  [ -n "$p" ] || { p=0; f=1; }
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  [ "$f" -gt 0 ] && tail -n 60 "$log.test"
  grep -E ': skipped: ' "$log.test"
  echo "$suite ($lua, libcurl $curl_v): make demo rc 0 in $((t1 - t0)) s; make test: $p passed, $f failed in $((t2 - t1)) s"
  PASS=$((PASS + p + 1))
  FAIL=$((FAIL + f))
done
echo "distros: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
