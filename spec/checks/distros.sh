#!/bin/sh
# make test-distros: builds the core and runs the busted suite inside minimal Debian roots
# (debootstrap), to prove the oldest and newest libcurl/Lua our users have:
#   bullseye (Debian 11): libcurl 7.74, lua5.1 (its lua-cjson has no 5.4 build)
#   trixie   (Debian 13): libcurl 8.14, lua5.4 5.4.7
# (Debian 12 is the machine itself: the main suite.) Roots are kept between runs under
# $BIZREG_ROOTS (default /var/tmp/bizreg-roots), outside the checkout. Needs root.
# Prints one "<suite>: N passed, N failed" line per distro; exit 1 on any failure.
set -u
cd "$(dirname "$0")/../.." || exit 1
SRC=$PWD
ROOTS=${BIZREG_ROOTS:-/var/tmp/bizreg-roots}
DISTROS=${BIZREG_DISTROS:-"bullseye:lua5.1 trixie:lua5.4"}
PKGS="gcc libc6-dev make pkg-config libcurl4-openssl-dev libssl-dev lua-cjson lua-busted ca-certificates
      lua5.1 lua-http lua-cqueues lua-socket nodejs curl procps"

[ "$(id -u)" = 0 ] || { echo "distros: needs root (debootstrap, chroot)"; exit 1; }
command -v debootstrap >/dev/null 2>&1 || {
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
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

prepare_root() {  # prepare_root SUITE ROOT LUA
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
  lua=$3
  dev=$(case $lua in lua5.1) echo liblua5.1-0-dev ;; *) echo "lib${lua}-dev" ;; esac)
  want="$PKGS $lua $dev"
  missing=$(in_root "$2" "for p in $(echo $want); do dpkg-query -W -f='\${Status}' \$p 2>/dev/null | grep -q 'ok installed' || echo \$p; done")
  [ -z "$missing" ] && return 0
  in_root "$2" "apt-get update -qq && apt-get install -y -qq --no-install-recommends $(echo $missing) >/dev/null 2>&1 &&
    update-ca-certificates >/dev/null 2>&1; true"
  missing=$(in_root "$2" "for p in $(echo $want); do dpkg-query -W -f='\${Status}' \$p 2>/dev/null | grep -q 'ok installed' || echo \$p; done")
  [ -z "$missing" ] || { echo "$1: could not install:" $missing; return 1; }
}

PASS=0
FAIL=0
for d in $DISTROS; do
  suite=${d%%:*}
  lua=${d#*:}
  root=$ROOTS/$suite
  mkdir -p "$ROOTS"
  if ! prepare_root "$suite" "$root" "$lua"; then
    FAIL=$((FAIL + 1)); echo "$suite: 0 passed, 1 failed (root not ready)"; continue
  fi
  # A fresh copy of the tree (no build products), node modules included for the ajv/busboy checks.
  rm -rf "$root/src" && mkdir -p "$root/src"
  tar -C "$SRC" --exclude=./build --exclude=./.git --exclude=./tree -cf - . | tar -C "$root/src" -xf -
  log=$SRC/build/logs/distro-$suite
  mkdir -p "$SRC/build/logs"
  curl_v=$(in_root "$root" "pkg-config --modversion libcurl")
  if ! in_root "$root" "cd /src && make -s LUA=$lua build" >"$log.build" 2>&1; then
    cat "$log.build"; FAIL=$((FAIL + 1)); echo "$suite: 0 passed, 1 failed (build, libcurl $curl_v)"; continue
  fi
  in_root "$root" "cd /src && BIZREG_TMP=/tmp/bizreg $lua /usr/bin/busted -o TAP --exclude-tags=wire --cpath='./build/$lua/?.so' spec" >"$log.tap" 2>"$log.err"
  rc=$?
  p=$(grep -c '^ok ' "$log.tap")
  f=$(grep -c '^not ok ' "$log.tap")
  [ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
  [ "$f" -gt 0 ] && { grep -A 8 '^not ok ' "$log.tap" | head -n 60; tail -n 10 "$log.err"; }
  echo "$suite ($lua, libcurl $curl_v): $p passed, $f failed"
  PASS=$((PASS + p))
  FAIL=$((FAIL + f))
done
echo "distros: $PASS passed, $FAIL failed"
[ "$FAIL" -eq 0 ]
