/* libFuzzer harness for the Lua side of a response: response/error mapping, the token
 * flows (KOS exchange-token, RCS /token; kos.lua/rcs.lua), errors.lua scrub and __tostring, driven
 * through an embedded Lua 5.4 state that loads the real modules (run from the
 * repository root: package.path ./lua/?.lua).
 *
 * Each input is up to three fuzzed responses {status, headers, body} served by a custom
 * transport to a client built with a planted secret (static token, KOS api_key or RCS
 * client_secret), which then registers a valid payload. Checked: no Lua error escapes,
 * and the secret appears in no returned string, key or tostring(err): neither as is, nor
 * JSON-escaped (\uXXXX, \/), nor cut in half at the end of a clipped body. One secret is
 * exactly client.MIN_SECRET (8) bytes long; a 3-byte one must be refused when the client is built. Body bytes
 * 0xFE <v> plant the secret (v: 0 raw, 1 "\/"-escaped, 2 all \u-escaped, 3 first half,
 * 4 second half); 0xFD <k> pads the body so the next byte lands k bytes before 4 KiB.
 * The flows go through the public API only (bizreg.kos/bizreg.rcs with a custom transport);
 * a run whose valid payload never reaches the transport fails (a stale harness checks nothing).
 * kos/rcs map_response/map_error/error_code, when the modules export them, are also called
 * directly on every response (they must not raise).
 * Leak classes listed in the file named by BZ_FUZZ_KNOWN (fuzz/regress/luaresp/KNOWN) were
 * reported already and do not stop the fuzzing; BZ_FUZZ_STRICT=1 makes them fatal again.
 *   make fuzz-luaresp FUZZ_SECONDS=60 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int luaopen_bizreg_core(lua_State *L);

static const char DRIVER[] =
  "package.path = './lua/?.lua;./lua/?/init.lua;./?.lua;' .. package.path\n"
  "local bizreg, kos, rcs = require 'bizreg', require 'bizreg.kos', require 'bizreg.rcs'\n"
  "local images = require 'spec.helpers.images'\n"
  /* the second secret is as short as a credential may be (client.MIN_SECRET bytes): the one most
   * likely to slip through the scrub; anything shorter is refused when the client is built */
  "SECRETS = { 'eyJhbGciOi.SECRET/tok+en_9Zq', 'Q#9/k+Z8', 'SK.atIs4g04r6PJepf' }\n"
  "local MIN = require('bizreg.client').MIN_SECRET\n"
  "assert(#SECRETS[2] == MIN, 'the short secret is not the shortest credential accepted any more')\n"
  "for _, t in ipairs { { bizreg.kos, { token = 'Q#9' } }, { bizreg.kos, { api_key = 'Q#9' } },\n"
  "                     { bizreg.rcs, { client_id = 'cid', client_secret = 'Q#9' } } } do\n"
  "  t[2].base_url = 'http://127.0.0.1:9'\n"  /* refused, not built */
  "  local ok, e = pcall(t[1], t[2])\n"
  "  assert(not ok and tostring(e):find('too short', 1, true), 'a 3-byte credential was accepted')\n"
  "end\n"
  "local payloads = { kos = { images = { { fileName = 'a.jpg', visitorId = '65a1b2c3d4e5f6a7b8c9d0e1' } } },\n"
  "  rcs = { regBrand = { name = 'n', description = 'd', categoryId = 'EDU', subCategoryId = 'EDU007' },\n"
  "          brandProfile = { data = images.png(400, 400) } } }\n"
  "local queue, calls\n"
  "local function transport(req) calls = calls + 1\n"
  "  assert(type(req) == 'table' and type(req.url) == 'string' and type(req.method) == 'string', 'transport got no request')\n"
  "  local r = table.remove(queue, 1)\n"
  "  if not r then return nil, { code = 'COULDNT_CONNECT', message = 'no more responses', sent = false } end\n"
  "  return r end\n"
  "local function unescape(s)\n"
  "  return (s:gsub('\\\\u(%x%x%x%x)', function(h) local n = tonumber(h, 16) if n < 128 then return string.char(n) end end)\n"
  "    :gsub('\\\\/', '/'))\n"
  "end\n"
  "local function leak(v, secret, seen, path)\n"
  "  if type(v) == 'string' then\n"
  "    if v:find(secret, 1, true) then return path .. ' holds the secret', path .. ' raw' end\n"
  "    if unescape(v):find(secret, 1, true) then return path .. ' holds the secret JSON-escaped', path .. ' escaped' end\n"
  
  "  elseif type(v) == 'table' and not seen[v] then\n"
  "    seen[v] = true\n"
  "    for k, x in next, v do\n"
  "      local r, c = leak(k, secret, seen, path .. '[key]')\n"
  "      if not r then r, c = leak(x, secret, seen, path .. '.' .. (math.type(k) == 'integer' and '*' or tostring(k))) end\n"
  "      if r then return r, c end\n"
  "    end\n"
  "  end\n"
  "end\n"
  /* a secret that straddled the 4 KiB cut of err.body: its first bytes are left at the end */
  "local function cut(err, responses, secret)\n"
  "  if type(err) ~= 'table' or type(err.body) ~= 'string' or #err.body ~= 4096 then return end\n"
  "  for _, r in ipairs(responses) do\n"
  "    local p = r.body:sub(1, 4096) == err.body and r.body:find(secret, math.max(1, 4098 - #secret), true)\n"
  "    if p and p <= 4096 then return 'err.body ends with ' .. (4097 - p) .. ' bytes of a secret cut at 4 KiB', 'err.body cut' end\n"
  "  end\n"
  "end\n"
  "function RUN(responses, flow, secret)\n"
  "  local all = { table.unpack(responses) }\n"
  "  for _, r in ipairs(responses) do\n"  /* the mappers alone must never raise */
  "    for _, m in ipairs { kos, rcs } do for _, f in ipairs { 'map_response', 'map_error', 'error_code' } do\n"
  "      if type(m[f]) == 'function' then m[f](r) end end end\n"
  "  end\n"
  "  queue, calls = responses, 0\n"
  "  local o = { base_url = 'http://127.0.0.1:9', transport = transport, retries = 0 }\n"
  "  local c\n"
  "  if flow == 0 then o.token = secret; c = bizreg.kos(o)\n"
  "  elseif flow == 1 then o.api_key = secret; c = bizreg.kos(o)\n"
  "  elseif flow == 2 then o.token = secret; c = bizreg.rcs(o)\n"
  "  else o.client_id = 'cid'; o.client_secret = secret; c = bizreg.rcs(o) end\n"
  "  local res, err\n"
  "  if flow <= 1 then res, err = c:register_visitor_images(payloads.kos) else res, err = c:register_brand(payloads.rcs) end\n"
  /* a harness gone stale (payload or options refused) would check nothing: make it loud */
  "  if calls == 0 then error('the valid payload never reached the transport: ' .. tostring(err)) end\n"
  "  local where, class = leak(res, secret, {}, 'result')\n"
  "  if where then class = class:gsub('^result%.[^ ]*', 'result') end\n"  /* any field of a success */
  "  if not where then where, class = cut(err, all, secret) end\n"
  "  if not where then where, class = leak(err, secret, {}, 'err') end\n"
  "  if not where and err then where, class = leak(tostring(err), secret, {}, 'tostring(err)') end\n"
  "  if where and #secret <= MIN then class = 'short secret' end\n"
  "  return where, class\n"
  "end\n"
  /* classes already reported (one per line in the file BZ_FUZZ_KNOWN names): not fatal */
  "KNOWN = {}\n"
  "local f = os.getenv('BZ_FUZZ_KNOWN') and io.open(os.getenv('BZ_FUZZ_KNOWN'))\n"
  "if f then for l in f:lines() do if l ~= '' and l:sub(1, 1) ~= '#' then KNOWN[l] = true end end f:close() end\n";

static lua_State *L;  /* harness-only: one state for the whole run */
static int strict;    /* BZ_FUZZ_STRICT=1: known leak classes are fatal too (regression runs) */

typedef struct { const uint8_t *p, *end; } src;
static unsigned next(src *s) { return s->p < s->end ? *s->p++ : 0; }

/* Reads up to max bytes into b, expanding the secret markers. */
static void take(src *s, luaL_Buffer *b, size_t max, const char *secret, size_t *len) {
  size_t n = max, i = 0, sl = strlen(secret);
  while (i < n && s->p < s->end) {
    unsigned c = next(s);
    if (c == 0xFE) {
      unsigned v = next(s) % 5;
      size_t k;
      if (v == 0) { luaL_addstring(b, secret); *len += sl; }
      else if (v == 1) { for (k = 0; k < sl; k++) { if (secret[k] == '/') { luaL_addchar(b, '\\'); (*len)++; } luaL_addchar(b, secret[k]); (*len)++; } }
      else if (v == 2) { for (k = 0; k < sl; k++) { char u[8]; snprintf(u, sizeof u, "\\u%04x", (unsigned char)secret[k]); luaL_addstring(b, u); *len += 6; } }
      else if (v == 3) { luaL_addlstring(b, secret, sl / 2); *len += sl / 2; }
      else { luaL_addstring(b, secret + sl / 2); *len += sl - sl / 2; }
    } else if (c == 0xFD) {
      size_t k = next(s) % 16;
      while (*len + k < 4096) { luaL_addchar(b, 'x'); (*len)++; }
    } else {
      luaL_addchar(b, (char)c);
      (*len)++;
    }
    i++;
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  src s = { data, data + size };
  unsigned flow, nresp, i;
  const char *secret, *where;
  int top;
  if (L == NULL) {
    const char *e = getenv("BZ_FUZZ_STRICT");
    strict = e != NULL && strcmp(e, "1") == 0;
    L = luaL_newstate();
    luaL_openlibs(L);
    luaL_requiref(L, "bizreg.core", luaopen_bizreg_core, 0);
    lua_pop(L, 1);
    if (luaL_dostring(L, DRIVER) != 0) {
      fprintf(stderr, "driver: %s\n", lua_tostring(L, -1));
      abort();
    }
  }
  top = lua_gettop(L);
  flow = next(&s);
  lua_getglobal(L, "SECRETS");
  lua_rawgeti(L, -1, (lua_Integer)((flow >> 2) % 3 + 1));
  secret = lua_tostring(L, -1);  /* anchored in SECRETS */
  lua_settop(L, top);
  lua_getglobal(L, "RUN");
  nresp = 1 + next(&s) % 3;
  lua_createtable(L, (int)nresp, 0);
  for (i = 1; i <= nresp; i++) {
    luaL_Buffer b;
    size_t len = 0;
    unsigned nh = next(&s) % 4, k;
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, 100 + (lua_Integer)((next(&s) << 8 | next(&s)) % 500));
    lua_setfield(L, -2, "status");
    lua_createtable(L, 0, (int)nh);
    for (k = 0; k < nh; k++) {
      static const char *const names[] = { "content-type", "retry-after", "www-authenticate", "x-echo" };
      luaL_buffinit(L, &b);
      len = 0;
      take(&s, &b, next(&s) % 64, secret, &len);
      luaL_pushresult(&b);
      lua_setfield(L, -2, names[next(&s) % 4]);
    }
    lua_setfield(L, -2, "headers");
    luaL_buffinit(L, &b);
    len = 0;
    take(&s, &b, (next(&s) << 8 | next(&s)) % 6000, secret, &len);
    luaL_pushresult(&b);
    lua_setfield(L, -2, "body");
    lua_rawseti(L, -2, (lua_Integer)i);
  }
  lua_pushinteger(L, (lua_Integer)(flow % 4));
  lua_getglobal(L, "SECRETS");
  lua_rawgeti(L, -1, (lua_Integer)((flow >> 2) % 3 + 1));
  lua_remove(L, -2);
  if (lua_pcall(L, 3, 2, 0) != 0) {
    fprintf(stderr, "bizreg raised: %s\n", lua_tostring(L, -1));
    abort();
  }
  where = lua_tostring(L, -2);
  if (where != NULL) {
    int known;
    lua_getglobal(L, "KNOWN");
    lua_pushvalue(L, -2);
    lua_rawget(L, -2);
    known = lua_toboolean(L, -1);
    if (strict || !known) {
      fprintf(stderr, "secret leaked (flow %u, secret #%u): %s [class: %s]\n", flow % 4, (flow >> 2) % 3 + 1, where,
              lua_tostring(L, -3));
      abort();
    }
  }
  lua_settop(L, top);
  if (size > 0 && (data[0] & 0x80)) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
