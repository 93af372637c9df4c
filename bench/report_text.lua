-- The prose and layout of BENCHMARKS.md (bench/report.lua supplies the figures).
local M = {}

function M.thousands(v)
  local s = string.format("%.0f", v)
  local out = s:reverse():gsub("(%d%d%d)", "%1,"):reverse()
  return (out:gsub("^(%-?),", "%1"))  -- no comma after the sign: -435,768, not -,435,768
end

-- Encode regions: self instructions by kind of work (bench/profile.lua by_kind; patterns
-- match "object:function", first match wins). cjson is stripped: its own code is one kind.
M.ENCODE_KINDS = {
  { "table traversal (`lua_next`)", { ":lua_next$", ":luaH_next$", ":getgeneric", ":mainposition", ":luaH_realasize$" } },
  { "string check and escape (bizreg: `bz_json_string_utf8`)", { "^core%.so:bz_json_string" } },
  { "validating walk and JSON structure (bizreg)", { "^core%.so:" } },
  { "number formatting (libc printf)", { "printf", ":__mpn_", "hack_digit", ":_IO_", "fpconv", "strchrnul" } },
  { "cjson's own code", { "^cjson:" } },
  { "other Lua API calls", { ":lua_", ":luaL_", ":index2value" } },
  { "copies (memcpy)", { ":__mem" } },
  { "allocation and GC", { "alloc", "free", ":luaC_", ":luaM_", ":luaS_", ":luaH_new", ":luaH_resize", "mark",
                           "sweep", ":luaF_", ":_int_", "unlink_chunk", ":GCTM", ":singlestep", "ephemeron", ":atomic" } },
  { "interpreter and base library (the Lua side of the call)", { "^lua:" } },
}

-- Callgrind parts profiled in "Where the time goes" (region label, baseline region label).
M.PROFILES = {
  { label = "i:enc1:bz:1", vs = "i:enc1:cj:1", kinds = true, title = "Encode, 1 image: `bizreg.prepare_visitor_images` (baseline `cjson.encode`)" },
  { label = "i:enc10:bz:1", vs = "i:enc10:cj:1", kinds = true, title = "Encode, 10 images: `bizreg.prepare_visitor_images` (baseline `cjson.encode`)" },
  { label = "i:enc1000:bz:1", vs = "i:enc1000:cj:1", kinds = true, title = "Encode, 1,000 images: `bizreg.prepare_visitor_images` (baseline `cjson.encode`)" },
  { label = "i:req:bz:1", vs = "i:req:cc:1", title = "One request: `bizreg.core` handle `h:request{...}` (baseline: plain C libcurl loop)" },
  { label = "i:req:cc:1", title = "One request: the plain C libcurl loop (the floor: libcurl's own cost)", n = 8 },
  { label = "i:call:bz:1", vs = "i:call:ls:1", title = "Full call: `kos:register_visitor_images` (10 images) on a keep-alive connection (baseline: cjson + luasocket `socket.http`)" },
}

local function sh(cmd)
  local p = io.popen(cmd .. " 2>/dev/null")
  local s = p and p:read("*a") or ""
  if p then p:close() end
  return (s:gsub("%s+$", ""))
end

local function machine()
  local model = sh("sed -n 's/^model name[^:]*: //p' /proc/cpuinfo | head -1")
  local cores = sh("nproc")
  local load = sh("cut -d' ' -f1-3 build/bench/loadavg.start")
  local vers = sh("dpkg-query -W -f '${Package} ${Version}, ' lua5.4 libcurl4 lua-cjson lua-socket nginx valgrind curl")
  return string.format("%s, %s cores; load average when the run started: %s (the machine is shared).\n" ..
    "Packages: %s.", model, cores, load ~= "" and load or "?", (vers:gsub(",%s*$", "")))
end

M.METHOD = [[
## Method

* **Interleaved, several rounds.** Every ratio compares two sides measured in the same process
  (or, for `curl`, the same script), round after round, alternating which side goes first. Each
  round gives one ratio; the table shows the median ratio and the range over the rounds, and the
  median per-operation figure of each side. The machine is shared (other test suites run at the
  same time), so wall figures drift between runs; the ratio of interleaved rounds drifts much less.
* **Instruction counts (callgrind) for the CPU-bound rows.** `bench/cpu.lua` runs once under
  `valgrind --tool=callgrind --collect-atstart=no --toggle-collect=bench_measured`. Each measured
  region is a call of `benchshim.region(label, n, fn)` (`bench/shim.c`): it zeroes the counters,
  calls `bench_measured`, which runs `fn()` `n` times (collection is on only inside that
  function), then dumps the counters as a part of its own named `label`
  (`CALLGRIND_ZERO_STATS` / `CALLGRIND_DUMP_STATS_AT`). Nothing outside the region is counted:
  not the set-up, not the payload construction, not the other side. The cost of the loop itself
  (one Lua call per iteration) is measured by an empty region and subtracted. Instruction counts
  of one region repeat closely across rounds (the range column shows how closely). The
  server runs outside valgrind; only the client's instructions are counted (kernel time is not).
* **The interpreter under callgrind** is Debian's Lua 5.4 (`liblua5.4.a`, the same code as
  `/usr/bin/lua5.4`), linked into `bench/host.c` with its symbol table so profiles name Lua's own
  functions (`luaH_next`, `luaV_execute`, ...). Wall rows run on `/usr/bin/lua5.4`.
* **Both sides get the same work.** Encode: the same payload table of 1, 10 or 1,000 clinic
  images (every field set, a 66-character Hangul memo each), `bizreg.prepare_visitor_images(t)`
  (validate + encode + the request table) against `cjson.encode(t)` (serialise only). Per request: the 10-image body that
  `prepare_visitor_images` produces, the same four headers, the same nginx, each side on its own
  keep-alive connection; the plain loop (in `bench/shim.c`) is what a C program would write:
  one easy handle, `CURLOPT_POSTFIELDS`, a write callback collecting the answer, the status
  checked after each `curl_easy_perform`. It runs inside the same process as bizreg, so both
  use the same libcurl and are measured by the same callgrind run. nginx's log shows the same
  request size for both (see *Connections*). Full call: the same payload table;
  `kos:register_visitor_images` against `cjson.encode` + `socket.http.request` + `cjson.decode`,
  and against a shell loop running `curl --data-binary @file` once per request with bizreg's
  exact body. The luasocket row of record counts instructions like the other Ir rows (both sides
  in `bench/cpu.lua` under callgrind, 5 interleaved rounds of 100 calls, against the same nginx);
  its wall row (`bench/calls.lua`, 25 rounds of 200) is information: it also counts the kernel's
  work, which for luasocket includes a new TCP connection per call.
* **Files by path, client CPU** (`bench/bypath.lua`): `register_brand` with a 20 MiB PDF
  certificate, given by path against the same bytes as `{ data = … }` (read once before the
  rounds), each side on its own keep-alive connection to the brand location (which reads the
  whole upload), 3 calls per side per round, 7 interleaved rounds; the figure is the process's
  CPU time (`os.clock`: user + system, so the kernel's copies into the socket count too; nginx
  runs apart and is not counted). The SHA-256 row times `core.sha256` of the same 20 MiB.
  Not callgrind: valgrind hides the CPU's SHA instructions (libcrypto then takes a path ~20×
  slower), so instruction counts would misstate the hash.
* **Jobs' memory** (`bench/jobs_rss.lua`, a fresh process per run): a warm-up of 20 jobs, the
  peak-RSS mark reset, then 1,000 `kos:start("register_visitor_images", …)` jobs (10 images each)
  in flight at once against the location that answers after 100 ms, each waited for; the figure
  is the peak RSS growth divided by 1,000 (a job's Lua state, its body string, its libcurl easy
  handle and connection, its answer).
* **Each region starts from a collected heap** (`collectgarbage("collect")` before it), so each
  side pays for the garbage it makes itself, inside its own region.
* **Memory**: `bench/upload_rss.lua` in a fresh process per run: a warm-up call, then the
  certificate is read (data mode), the heap collected and the kernel's peak-RSS mark reset
  (`/proc/self/clear_refs`); then 10 `register_brand` calls with no `collectgarbage()` between;
  the figure is the peak RSS (`VmHWM`) minus the RSS before the calls.
* **A file by path is read twice, and both passes stay; neither hashes with SHA-256.**
  Validation reads the file once (judging its type, size and, for PNG/JPEG, its structure, every
  PNG chunk's CRC included) and fingerprints those bytes; sending reads it again, straight into
  libcurl's upload buffer, fingerprints what it read, and withholds the file's last bytes unless
  the two fingerprints match: so the bytes that leave are the bytes that were judged, and a file
  changed between the two (same size, other bytes) never reaches the server whole
  (`spec/e2e/file_send_spec.lua`, unchanged). The first pass's fingerprint is needed: it is the only
  record of what was judged, short of keeping the file (20 MiB) in memory. What the check needs
  is not a collision-resistant public hash but that a rewritten file cannot match: the
  fingerprint is Poly1305 (OpenSSL's libcrypto) under a key of 32 random bytes drawn for that
  file at validation, which never leaves the process. Whoever rewrites the file does not know the
  key, so whatever they write, two different contents of n bytes get the same tag with
  probability at most 8⌈n/16⌉/2¹⁰⁶ (under 2⁻⁸³ for 20 MiB: an unconditional bound, where
  SHA-256's is computational). Poly1305 costs ~0.2 ms per MiB here against SHA-256's ~0.75 (the
  SHA-256 row, still the core's hash for `core.sha256`; measured beside this run in one C loop:
  SHA-256 0.73, AES-GCM's GHASH 0.30, Poly1305 0.20 ms/MiB). Each pass now costs one read of the
  file from the page cache (a copy, ~0.1 ms per MiB) and one Poly1305: about 6 ms per pass for the
  20 MiB certificate, against ~17 ms with SHA-256.
* **Caches kept only where a row pays for them (issue 18).** `src/request.c` used to set an
  option only when it differed from the last request's and to keep the header list while the
  headers stayed the same. Measured with callgrind on the per-request and full-call regions
  (2026-12-07): without those caches, and with the header lines written into buffers the handle
  reuses (no allocation per request) and header values scanned with `memchr`, a request costs
  ~1,300 instructions more, 0.5 % of a full `register_visitor_images` call (~245,000), below the
  5 % a cache must save: both went. Every option and the header list are now set per request.
* **keyindex's interned-address key matching: kept, it saves ~8 % of a full call.** The JSON
  encoders match a payload's keys (and enumeration values) to rows by the address of the Lua
  string, through an index of the row names interned once per Lua state (`src/keyindex.c`).
  Without it every walk matches keys by name through its own per-walk address cache. Measured with
  callgrind (2026-12-07, `core.encode_visitor_images` of the bench payload, 1,000 encodes, the
  interned index switched off in `src/core.c` for the comparison): 10 images 113,607 instructions
  with the index, 133,481 without, so it saves 19,874, 8.1 % of a full `register_visitor_images`
  call (~246,600, the full-call profile below); 1 image 13,460 against 16,215. Above the 5 % a
  cache must save, so it stays.
* **No timing assertions** anywhere in the test suite: these figures are printed, not checked.
]]

M.SERVER = [[
## Server

nginx (Debian's package, started by `bench/run.sh` on a free 127.0.0.1 port, one worker,
config in `build/bench/nginx.conf`): every location answers `200 {}` with keep-alive
(`keepalive_requests 1000000`); `/p??/` answers after `ngx.sleep(0.1)` (lua-nginx-module);
`…/token` and `…/corp/brand` answer like RCS (the brand location reads the whole upload before
answering). The access log records `$connection $uri $status $content_length $request_length`;
each client uses its own three-letter URL prefix, which gives the table below.
]]

local CLIENTS = {
  { "ihd", "`bizreg.core` handle, callgrind run" }, { "icc", "plain C libcurl loop, callgrind run" },
  { "whd", "`bizreg.core` handle, wall run" }, { "wcc", "plain C libcurl loop, wall run" },
  { "ikc", "`bizreg.kos` client, full calls, callgrind run" }, { "ils", "luasocket `socket.http` + cjson, callgrind run" },
  { "fkc", "`bizreg.kos` client, full calls" }, { "fls", "luasocket `socket.http` + cjson" },
  { "fcu", "`curl` CLI, one process per request" }, { "psq", "`bizreg.kos`, 50 sequential calls × rounds" },
  { "pjb", "`bizreg.kos`, `start`/`poll` jobs" }, { "mdt", "`bizreg.rcs`, certificate as data (all runs)" },
  { "mpt", "`bizreg.rcs`, certificate by path (all runs)" },
  { "bpp", "`bizreg.rcs`, CPU row, certificate by path" }, { "bpd", "`bizreg.rcs`, CPU row, certificate as data" },
  { "pjr", "`bizreg.kos`, 1,000 concurrent jobs (all runs)" },
}

local function keys(t)
  local out = {}
  for k in pairs(t) do out[#out + 1] = k end
  table.sort(out, function(a, b) return (tonumber(a) or 0) < (tonumber(b) or 0) end)
  if #out > 3 then return out[1] .. " … " .. out[#out] .. " (" .. #out .. " sizes)" end
  return table.concat(out, ", ")
end

local function connections(ctx)
  local rows = {}
  for _, c in ipairs(CLIENTS) do
    local s = ctx.clients[c[1]]
    if s then
      rows[#rows + 1] = { "`/" .. c[1] .. "/` " .. c[2], tostring(s.n), tostring(s.nconn),
        string.format("%.1f", s.n / s.nconn), keys(s.clen), keys(s.rlen), tostring(s.bad) }
    end
  end
  return "## Connections per client (counted by nginx)\n\n" .. ctx.md_table(
    { "client", "requests", "connections opened", "requests per connection", "Content-Length", "`$request_length`", "status ≠ 200" }, rows) ..
    "\n\nRequests include each side's warm-up. luasocket's `socket.http` and the `curl` CLI open a new\n" ..
    "connection per request; bizreg keeps one per client (one per concurrent job for `start`/`poll`).\n" ..
    "The handle and the plain loop send requests of the same size (same body, same headers).\n" ..
    "`$request_length` counts the body only where nginx reads it (the brand location); elsewhere\n" ..
    "nginx discards the body and it counts the request line and headers.\n"
end

local function wall_encode(ctx)
  local rows = {}
  for _, k in ipairs { "enc1", "enc10", "enc1000" } do
    local s = ctx.paired("wall", k, "bz", "cj", ctx.cost)
    if s then
      rows[#rows + 1] = { k:gsub("enc", "") .. " image(s)", string.format("%.2f µs", s.a * 1e6), string.format("%.2f µs", s.b * 1e6),
        string.format("%.2f× (%.2f–%.2f)", s.ratio, s.lo, s.hi) }
    end
  end
  return "## Wall-clock cross-check of the encode rows\n\n" ..
    "The same regions as the instruction rows, run natively on `/usr/bin/lua5.4` (informational;\n" ..
    "instruction counts are the figure of record for these rows).\n\n" ..
    ctx.md_table({ "payload", "bizreg", "cjson.encode", "ratio" }, rows) .. "\n"
end

-- Encode regions: where the instructions go by kind of work, per operation, both sides.
local function kinds_table(ctx, item, ops)
  local mine, theirs = ctx.P.by_kind(item.p, M.ENCODE_KINDS), item.base and ctx.P.by_kind(item.base, M.ENCODE_KINDS)
  local rows, at = {}, {}
  for _, r in ipairs(mine) do
    rows[#rows + 1] = { r.name, M.thousands(r.ir / ops), "–" }
    at[r.name] = rows[#rows]
  end
  for _, r in ipairs(theirs or {}) do
    if not at[r.name] then
      rows[#rows + 1] = { r.name, "–", "–" }
      at[r.name] = rows[#rows]
    end
    at[r.name][3] = M.thousands(r.ir / ops)
  end
  return "\nSelf instructions per operation, by kind of work:\n\n" ..
    ctx.md_table({ "kind", "bizreg", "baseline" }, rows) .. "\n"
end

local function profile_section(ctx, item)
  local P, p, s = ctx.P, item.p, item.spec
  local ops
  for _, r in ipairs(ctx.results) do if r.label == s.label then ops = r.ops end end
  local out = { "### " .. s.title, "" }
  out[#out + 1] = string.format("Region `%s`: %s instructions for %d operations (%s per operation, loop overhead included).",
    s.label, M.thousands(p.total), ops or 0, M.thousands(p.total / (ops or 1)))
  local mine = P.by_object(p)
  local theirs = item.base and P.by_object(item.base)
  local names = {}
  for o in pairs(mine) do names[o] = true end
  for o in pairs(theirs or {}) do names[o] = true end
  local orows = {}
  for o in pairs(names) do
    local a, b = (mine[o] or 0) / (ops or 1), theirs and (theirs[o] or 0) / (ops or 1)
    local floor = 0.002 * p.total / (ops or 1)  -- leave out the harness's few instructions
    if (a >= floor or (b and b >= floor)) and o ~= "benchshim.so" and o ~= "???" then
      orows[#orows + 1] = { o, M.thousands(a), b and M.thousands(b) or nil, b and M.thousands(a - b) or nil }
    end
  end
  table.sort(orows, function(x, y) return tonumber((x[2]:gsub(",", ""))) > tonumber((y[2]:gsub(",", ""))) end)
  out[#out + 1] = ""
  out[#out + 1] = "Self instructions per operation, by object:"
  out[#out + 1] = ""
  out[#out + 1] = ctx.md_table(theirs and { "object", "bizreg", "baseline", "difference" } or { "object", "instructions" }, orows)
  if s.kinds then out[#out + 1] = kinds_table(ctx, item, ops or 1) end
  out[#out + 1] = ""
  out[#out + 1] = "Top functions (inclusive: everything while the function runs, nested activations counted once; self: its own instructions):"
  out[#out + 1] = ""
  local frows = {}
  for _, r in ipairs(P.top(p, s.n or 12)) do
    if r.self >= 0.005 or (r.incl or 0) >= 0.005 then
      frows[#frows + 1] = { "`" .. r.name .. "`", r.obj,
        r.on_stack and "– (also above the region)" or r.incl and string.format("%.1f %%", r.incl * 100) or "–",
        string.format("%.1f %%", r.self * 100) }
    end
  end
  out[#out + 1] = ctx.md_table({ "function", "object", "inclusive", "self" }, frows)
  return table.concat(out, "\n") .. "\n"
end

function M.document(ctx)
  local parts = {
    "# Benchmarks\n",
    "Generated by `make bench` (`bench/run.sh`, " .. ctx.took .. " s) on " .. os.date("!%Y-%m-%d %H:%M UTC") .. ". " ..
      "Do not edit by hand: run `make bench` again.\n" .. machine() .. "\n",
    ctx.table .. "\n",
    "Ratios are bizreg ÷ baseline for costs (instructions, µs per call: lower is better) and\n" ..
    "bizreg ÷ baseline throughput, or sequential ÷ concurrent time, for the rows with a ≥ target.\n" ..
    "Ir: instructions executed (callgrind). Instruction figures are per operation; wall figures are per call (the `start`/`poll` row: the\n" ..
    "whole batch of 50). `met?` compares the median ratio (or figure) with the target of issue 9 or 20.\n",
    ctx.misses, M.METHOD, M.SERVER, connections(ctx), wall_encode(ctx),
    "## Where the time goes (callgrind, round 1 of each region)\n\n" ..
    "Every region's part stays in `build/bench/cg/` after a run (`grep -l 'Request: i:req:bz:1' build/bench/cg/*`\n" ..
    "finds one); `callgrind_annotate --tree=caller <part>` shows who calls what. libcurl, libc and cjson\n" ..
    "are Debian's stripped builds: their internal functions are summed as `(unnamed functions)`.\n",
  }
  for _, item in ipairs(ctx.profiles) do parts[#parts + 1] = profile_section(ctx, item) end
  return table.concat(parts, "\n")
end

return M
