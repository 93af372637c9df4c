#!/bin/sh
# make bench: every row of BENCHMARKS.md, measured on this machine (see BENCHMARKS.md "Method").
#  1. builds the measuring shim (bench/shim.c) and a symbol-carrying lua5.4 host (bench/host.c)
#  2. starts nginx on 127.0.0.1 (answers {} with keep-alive; /p??/ after 100 ms; fake RCS token + brand)
#  3. callgrind run of bench/cpu.lua (instruction counts), then the wall-clock and CPU scripts
#     (bench/cli.lua: the CLI as a process, /usr/bin/time and strace)
#  4. bench/report.lua: prints the table and writes BENCHMARKS.md
# usage: sh bench/run.sh [--quick]   (--quick: fewer memory rounds, for trying the runner itself)
set -eu
cd "$(dirname "$0")/.."
root=$PWD
dir=$root/build/bench
rounds_rss=3
[ "${1:-}" = "--quick" ] && rounds_rss=1
start=$(date +%s)
mkdir -p "$dir/logs" "$dir/tmp" "$dir/cg"
rm -f "$dir/results.lua" "$dir/cg/"* "$dir/logs/access.log"
cat /proc/loadavg >"$dir/loadavg.start"

lua_inc=$(pkg-config --cflags lua5.4)
curl_flags=$(pkg-config --cflags --libs libcurl)
# shellcheck disable=SC2086
cc -O2 -g -Wall -Wextra -fPIC -shared $lua_inc bench/shim.c -o "$dir/benchshim.so" $curl_flags
# shellcheck disable=SC2086
cc -O2 -g -Wall $lua_inc bench/host.c -o "$dir/lua5.4-sym" -Wl,-E \
  -Wl,--whole-archive "$(pkg-config --variable=libdir lua5.4)/liblua5.4.a" -Wl,--no-whole-archive -lm -ldl

write_conf() {
  cat >"$dir/nginx.conf" <<CONF
load_module /usr/lib/nginx/modules/ndk_http_module.so;
load_module /usr/lib/nginx/modules/ngx_http_lua_module.so;
worker_rlimit_nofile 8192; worker_processes 1; daemon on; pid $dir/nginx.pid; error_log $dir/logs/error.log;
events { worker_connections 4096; }
http {
  log_format bench '\$connection \$uri \$status \$content_length \$request_length';
  access_log $dir/logs/access.log bench;
  client_max_body_size 64m; client_body_temp_path $dir/tmp; proxy_temp_path $dir/tmp;
  fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 1000000; keepalive_timeout 300s; default_type application/json;
  server {
    listen 127.0.0.1:$1;
    location / { return 200 "{}"; }
    location ~ ^/p[a-z][a-z]/ { content_by_lua_block { ngx.sleep(0.1) ngx.print("{}") } }
    location ~ /token\$ { return 200 '{"accessToken":"bench-token","expiresIn":"4102444800"}'; }
    location ~ /corp/brand\$ { client_body_buffer_size 32m; content_by_lua_block {
      ngx.req.read_body()  -- the whole upload arrives before the answer, as with the real server
      ngx.print('{"code":"20000000","status":200,"result":[{"brandId":"BR.bench"}],"desc":null}') } }
  }
}
CONF
}
stop() {
  if [ -f "$dir/nginx.pid" ]; then nginx -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true; fi
  rm -f "$dir/nginx.pid"
}
trap stop EXIT
tries=0
while :; do
  port=$((20000 + $(od -An -N2 -tu2 /dev/urandom) % 30000))
  write_conf "$port"
  nginx -p "$dir" -c "$dir/nginx.conf" 2>"$dir/logs/start.err" && break
  tries=$((tries + 1))
  [ $tries -ge 20 ] && { cat "$dir/logs/start.err" >&2; exit 1; }
done
url="http://127.0.0.1:$port"
export LUA_PATH="$root/lua/?.lua;$root/lua/?/init.lua;$root/bench/?.lua;$root/?.lua;;"
export LUA_CPATH="$root/build/lua5.4/?.so;$dir/?.so;;"
res=$dir/results.lua
: >"$res"

echo "bench: callgrind (instruction counts) ..." >&2
valgrind --tool=callgrind --collect-atstart=no --toggle-collect=bench_measured \
  --callgrind-out-file="$dir/cg/cg.out" "$dir/lua5.4-sym" bench/cpu.lua instr "$url" "$res" 2>"$dir/logs/valgrind.log" ||
  { tail -20 "$dir/logs/valgrind.log" >&2; exit 1; }
echo "bench: wall clock: encode, request ..." >&2
lua5.4 bench/cpu.lua wall "$url" "$res"
echo "bench: wall clock: full calls, start/poll ..." >&2
lua5.4 bench/calls.lua "$url" "$res"
cert=$dir/cert-20mib.pdf
[ -f "$cert" ] || lua5.4 -e "local i = require 'spec.helpers.images'; i.write('$cert', i.pdf(20 * 1024 * 1024))"
echo "bench: client CPU: register_brand, 20 MiB certificate by path vs as data; SHA-256 ..." >&2
lua5.4 bench/bypath.lua "$url" "$cert" "$res" 7
echo "bench: client CPU: bizreg register images (10,000 images, --batch 100) vs a loop; fsyncs ..." >&2
lua5.4 bench/cli.lua "$url" "$res" "$dir/tmp" 5
echo "bench: memory (1,000 concurrent jobs) ..." >&2
r=1
while [ $r -le $rounds_rss ]; do
  kib=$(lua5.4 bench/jobs_rss.lua "$url" 1000 | tail -1)
  echo "R{row=\"jobrss\", round=$r, kib=$kib, jobs=1000}" >>"$res"
  r=$((r + 1))
done
echo "bench: memory (10 x register_brand, 20 MiB certificate) ..." >&2
r=1
while [ $r -le $rounds_rss ]; do
  for mode in memory path; do
    tag=$( [ $mode = memory ] && echo mdt || echo mpt)
    kib=$(lua5.4 bench/upload_rss.lua "$url/$tag/api/1.1" "$cert" $mode 10 | tail -1)
    echo "R{row=\"rss\", side=\"$mode\", round=$r, kib=$kib, calls=10}" >>"$res"
  done
  r=$((r + 1))
done
stop
trap - EXIT
lua5.4 bench/report.lua "$dir" "$((  $(date +%s) - start ))"
