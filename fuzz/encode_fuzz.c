/* libFuzzer harness for the validating walk: input bytes drive a generator of
 * nested Lua payloads (known and unknown keys, every Lua type, invalid UTF-8,
 * holes, deep nesting) fed to encode_visitor_images and encode_brand.
 * Build and run: make fuzz-encode   (clang, liblua5.4 linked into the harness) */
#include <stdint.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

int luaopen_bizreg_core(lua_State *L);

static const char *const keys[] = {
  "images", "fileName", "visitorId", "source", "equipment", "scheduleId", "shootingDateTimeUtc", "memo",
  "category", "id", "name", "order", "closed", "color", "default", "regBrand", "description", "tel", "menus",
  "categoryId", "subCategoryId", "categoryOpt", "zipCode", "email", "templateColor", "initTab", "initFeedItems",
  "buttonType", "weblink", "applink", "packageName", "action", "uri", "chatbots", "mdn", "subNum", "subTitle",
  "rcsReply", "display", "inputField", "subDescr", "saftyStatusYn", "mainMdn", "brandProfile", "brandBackground",
  "subNumCertificate", "data", "filename", "x" };
static const char *const values[] = {
  "HOSPITAL", "IMAGE_EQUIPMENT", "RED", "2026-11-22T07:00:00.000Z", "2024-02-29T23:59:59+09:00", "call", "web",
  "app", "portalsearch", "https://a.kr", "0212345678", "01012345678", "01", "1", "Y", "FEED", "#fff", "a@b.kr",
  "03924", "\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\x01\x90\0\0\x01\x90\x08\0\0\0\0", "\xff\xd8\xff\xc0\0\x11\x08\x01\x90\x01\x90",
  "%PDF-1.4", "", "\xed\xa0\x80", "가" };

typedef struct { const uint8_t *p, *end; } src;

static unsigned next(src *s) { return s->p < s->end ? *s->p++ : 0; }

static void gen(lua_State *L, src *s, int depth) {
  unsigned c = next(s), n, i;
  lua_checkstack(L, 8);
  switch (c % 9) {
    case 0: lua_pushnil(L); break;
    case 1: {
      n = next(s) % 64;
      if (n > (unsigned)(s->end - s->p)) n = (unsigned)(s->end - s->p);
      lua_pushlstring(L, (const char *)s->p, n);
      s->p += n;
      break;
    }
    case 2: lua_pushinteger(L, (lua_Integer)((int32_t)(next(s) << 24 | next(s) << 16 | next(s) << 8 | next(s)))); break;
    case 3: lua_pushnumber(L, (lua_Number)(int8_t)next(s) / 4.0); break;
    case 4: lua_pushboolean(L, (int)(next(s) & 1)); break;
    case 5: case 6:
      if (depth >= 6) { lua_pushnil(L); break; }
      n = next(s) % 12;
      lua_createtable(L, 0, (int)n);
      for (i = 0; i < n; i++) {
        unsigned k = next(s);
        if (k & 0x80) lua_pushinteger(L, (lua_Integer)(k % 6));  /* array slots and holes */
        else lua_pushstring(L, keys[k % (sizeof keys / sizeof *keys)]);
        gen(L, s, depth + 1);
        if (lua_isnil(L, -2)) lua_pop(L, 2);
        else lua_rawset(L, -3);
      }
      break;
    case 7: lua_pushstring(L, values[next(s) % (sizeof values / sizeof *values)]); break;
    default: {
      /* a long repeated string: length limits and big counts */
      char buf[400];
      n = next(s) * 3 % sizeof buf;
      memset(buf, (int)(next(s) | 0x20), n);
      lua_pushlstring(L, buf, n);
    }
  }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  src s = { data, data + size };
  lua_State *L = luaL_newstate();
  luaL_openlibs(L);
  luaL_requiref(L, "bizreg.core", luaopen_bizreg_core, 0);  /* core table at 1 */
  lua_newtable(L);                                           /* payload at 2 */
  while (s.p < s.end) {
    lua_pushstring(L, keys[next(&s) % (sizeof keys / sizeof *keys)]);
    gen(L, &s, 0);
    if (lua_isnil(L, -1)) lua_pop(L, 2);
    else lua_rawset(L, 2);
  }
  lua_getfield(L, 1, "encode_visitor_images");
  lua_pushvalue(L, 2);
  lua_pcall(L, 1, 2, 0);  /* raises only for a non-table payload: never here */
  lua_settop(L, 2);
  lua_getfield(L, 1, "encode_brand");
  lua_pushvalue(L, 2);
  lua_newtable(L);
  lua_pushstring(L, "fuzz-boundary");
  lua_setfield(L, -2, "boundary");
  lua_pcall(L, 2, 2, 0);
  lua_close(L);
  return 0;
}
