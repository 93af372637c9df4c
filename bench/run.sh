#!/bin/sh
# Starts a minimal nginx (static answers: measures client overhead, not a server) and the sandbox,
# then runs bench/run.lua.
set -eu
cd "$(dirname "$0")/.."
dir=$PWD/build/bench
mkdir -p "$dir/logs" "$dir/tmp"
port=$((20000 + $$ % 10000))
cat >"$dir/nginx.conf" <<CONF
worker_processes 1; daemon on; pid $dir/nginx.pid; error_log $dir/logs/error.log;
events { worker_connections 64; }
http { access_log off; client_max_body_size 64m; client_body_temp_path $dir/tmp;
  proxy_temp_path $dir/tmp; fastcgi_temp_path $dir/tmp; uwsgi_temp_path $dir/tmp; scgi_temp_path $dir/tmp;
  keepalive_requests 1000000;
  server { listen 127.0.0.1:$port;
    location / { default_type application/json; return 200 "{}"; } } }
CONF
cc -O2 bench/raw_curl.c -o "$dir/raw_curl" $(pkg-config --cflags --libs libcurl)
nginx -p "$dir" -c "$dir/nginx.conf"
bin/bizreg-sandbox --port 0 >"$dir/sandbox.log" 2>&1 &
sb=$!
trap 'kill $sb 2>/dev/null; cc -O2 bench/raw_curl.c -o "$dir/raw_curl" $(pkg-config --cflags --libs libcurl)
nginx -p "$dir" -c "$dir/nginx.conf" -s quit 2>/dev/null || true' EXIT
i=0; until grep -q listening "$dir/sandbox.log"; do i=$((i+1)); [ $i -gt 200 ] && exit 1; sleep 0.05; done
sburl=$(sed -n 's/.*listening on \(http[^ ]*\).*/\1/p' "$dir/sandbox.log")
LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./build/lua5.4/?.so;;" lua5.4 bench/run.lua "http://127.0.0.1:$port" "$sburl"
