/* bizreg.core: Lua bindings only (argument checks, pushing results).
 * Validation + encoding: validate.c (JSON) and form.c (multipart forms) over each
 * API's tables (api_kos.c, api_rcs.c); files: media.c + multipart.c + body.c (+ body_lua.c); transport: easy.c, request.c, callbacks.c, response.c, curlerr.c, multi.c (see http.h). */
#include <string.h>
#include <errno.h>
#include <time.h>
#include "body.h"
#include "http.h"
#include "json.h"
#include "media.h"
#include "multipart.h"
#include "validate.h"
#include "form.h"
#include "api.h"

/* payload -> json | nil, violations for one JSON API schema.  Raises only when payload is not a table.
 * Upvalues, made once per Lua state (set_encode_json): 1 the key index of the schema's
 * rows, 2 the table anchoring its strings, 3 the reusable output buffer (or false), 4 the schema. */
static int l_encode_json(lua_State *L) {
  const bz_schema *schema = (const bz_schema *)lua_touserdata(L, lua_upvalueindex(4));
  bz_walk w;
  bz_buf *out;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  out = bz_buf_take(L, lua_upvalueindex(3));  /* index 2: owns the JSON while we walk */
  bz_walk_init_indexed(&w, L, out, NULL, (const bz_keyindex *)lua_touserdata(L, lua_upvalueindex(1)));
  bz_walk_object(&w, schema, 1);
  if (w.nerr > 0) {
    lua_pushnil(L);
    lua_pushvalue(L, w.errs);
  } else {
    lua_pushlstring(L, out->p, out->len);
  }
  bz_buf_keep(L, 2, lua_upvalueindex(3));
  return w.nerr > 0 ? 2 : 1;
}

/* Sets t[name] (t on top) to the encoder of one JSON schema, with its own key index and buffer. */
static void set_encode_json(lua_State *L, const char *name, const bz_schema *schema) {
  bz_keyindex *x = (bz_keyindex *)bz_newuserdata(L, sizeof *x);
  lua_newtable(L);
  bz_keyindex_build(L, x, schema, lua_gettop(L));
  lua_pushboolean(L, 0);
  lua_pushlightuserdata(L, (void *)schema);
  lua_pushcclosure(L, l_encode_json, 4);
  lua_setfield(L, -2, name);
}

/* encode_brand(payload [, opts]) -> body | nil, violations (see form.h) */
static int l_encode_brand(lua_State *L) { return bz_form_encode(L, &bz_rcs_brand_form); }

/* encode_brand_edit(payload [, opts]) -> body | nil, violations: the edit of a running brand */
static int l_encode_brand_edit(lua_State *L) { return bz_form_encode(L, &bz_rcs_brand_edit_form); }

/* encode_chatbots(payload [, opts]) -> body | nil, violations: {chatbots=, subNumCertificate=} */
static int l_encode_chatbots(lua_State *L) { return bz_form_encode(L, &bz_rcs_chatbot_form); }
/* encode_chatbot_edit(payload [, opts]) -> body | nil, violations: {chatbot=, subNumCertificate=} */
static int l_encode_chatbot_edit(lua_State *L) { return bz_form_encode(L, &bz_rcs_chatbot_edit_form); }

/* check_field(form, path [, value]) -> nil | violations, max: the rules of one field, from its
 * row (api_*.c), for a caller outside the form: find_brands checks a brand name by the brand
 * form's row, a KOS message states the row's limit. form: "rcs_brand" or "kos_images"; path:
 * the dotted row names from the form's top ("regBrand.name", "images.memo"). value (a scalar
 * row's; absent: nothing checked) is walked as in the form, an empty one is Required when the
 * row is; a violation's key is the row's own name. max: the row's limit (characters of a
 * string, items of an array), or nil. Raises for an unknown form or path, and for a value
 * given to a row with cross-field rules (they need the rest of the form). */
static int l_check_field(lua_State *L) {
  static const char *const forms[] = { "rcs_brand", "kos_images", NULL };
  int form = luaL_checkoption(L, 1, NULL, forms);
  size_t plen, n;
  const char *seg = luaL_checklstring(L, 2, &plen), *end = seg + plen, *dot;
  const bz_field *rows = form == 0 ? bz_rcs_brand_form.json_parts : bz_kos_visitor_images.rows, *f;
  bz_walk w;
  for (;;) {
    const bz_field *o;
    dot = memchr(seg, '.', (size_t)(end - seg));
    n = dot ? (size_t)(dot - seg) : (size_t)(end - seg);
    for (f = rows; f->name && !(f->nlen == n && memcmp(f->name, seg, n) == 0); f++) {}
    if (f->name == NULL) return luaL_argerror(L, 2, "no such row");
    if (dot == NULL) break;
    o = f->item ? f->item : f;  /* an array's items */
    if (o->child == NULL) return luaL_argerror(L, 2, "no such row");
    rows = o->child->rows;
    seg = dot + 1;
  }
  if (lua_isnone(L, 3)) {
    lua_pushnil(L);
  } else {
    if (f->check || f->req_unless_key || f->type == BZ_T_OBJECT || f->type == BZ_T_ARRAY)
      return luaL_argerror(L, 2, "a row checked with the rest of its form");
    lua_settop(L, 3);
    bz_walk_init(&w, L, bz_buf_push(L), form == 0 ? bz_rcs_brand_form.codes : NULL);
    bz_path_push(&w, f->name, f->nlen);
    if ((f->flags & BZ_REQUIRED) && (bz_is_absent(L, 3) || (lua_type(L, 3) == LUA_TSTRING && bz_rawlen(L, 3) == 0)))
      bz_violation(&w, f, BZ_REQUIRED_R, NULL, NULL);
    else if (!bz_is_absent(L, 3))
      bz_walk_value(&w, f, 3);
    lua_pushvalue(L, w.errs);  /* nil, or the violations */
  }
  if (f->max) lua_pushinteger(L, (lua_Integer)f->max);
  else lua_pushnil(L);
  return 2;
}

/* code (RCS) or reason (KOS) -> message: the API's messages (api_*.c) as one Lua table. */
static void push_messages(lua_State *L, const bz_message *m) {
  lua_newtable(L);
  for (; m->key; m++) {
    lua_pushstring(L, m->text);
    lua_setfield(L, -2, m->key);
  }
}

/* sniff(data) / sniff_file(path) -> type, width, height, size  (tests, diagnostics) */
static int push_media(lua_State *L, const bz_media_info *m) {
  static const char *const names[] = { "unknown", "png", "jpeg", "pdf", "tiff", "zip" };
  lua_pushstring(L, names[m->type]);
  if (m->has_dims) {
    lua_pushinteger(L, (lua_Integer)m->width);
    lua_pushinteger(L, (lua_Integer)m->height);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  lua_pushnumber(L, (lua_Number)m->size);
  return 4;
}

static int l_sniff(lua_State *L) {
  size_t n;
  const char *p = luaL_checklstring(L, 1, &n);
  bz_media_info m;
  bz_media_probe_mem((const unsigned char *)p, n, &m);
  return push_media(L, &m);
}

static int l_sniff_file(lua_State *L) {
  bz_media_info m;
  char err[128];
  if (bz_media_probe_file(luaL_checkstring(L, 1), &m, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return push_media(L, &m);
}

/* now() -> monotonic seconds; sleep(s): for retry back-off and the job scheduler */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec ts;
  if (s <= 0) return 0;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  return 0;
}

/* sha256(s) -> the 32-byte digest (body.c's, libcrypto): token_store keys hash credentials */
static int l_sha256(lua_State *L) {
  size_t n;
  const char *p = luaL_checklstring(L, 1, &n);
  unsigned char d[BZ_SHA256_LEN];
  if (bz_sha256_digest(p, n, d) != 0) return luaL_error(L, "bizreg: out of memory");
  lua_pushlstring(L, (const char *)d, sizeof d);
  return 1;
}

int bz_cli_open(lua_State *L);  /* cli.c: OS helpers for bin/bizreg */
static const luaL_Reg funcs[] = {
  { "encode_brand", l_encode_brand },
  { "encode_brand_edit", l_encode_brand_edit },
  { "encode_chatbots", l_encode_chatbots },
  { "encode_chatbot_edit", l_encode_chatbot_edit },
  { "sniff", l_sniff },
  { "now", l_now },
  { "sleep", l_sleep },
  { "sha256", l_sha256 },
  { "sniff_file", l_sniff_file },
  { "check_field", l_check_field },
  { "http", bz_http_new },
  { "multi", bz_multi_new },
  { "curl_version", bz_curl_version },
  { "cli", bz_cli_open },
  { NULL, NULL } };

/* core.DEFAULTS: the transport's defaults (http.h), the one place every layer reads. */
static void push_defaults(lua_State *L) {
  lua_createtable(L, 0, 4);
  lua_pushnumber(L, BZ_DEFAULT_TIMEOUT);
  lua_setfield(L, -2, "timeout");
  lua_pushnumber(L, BZ_DEFAULT_CONNECT_TIMEOUT);
  lua_setfield(L, -2, "connect_timeout");
  lua_pushinteger(L, (lua_Integer)BZ_DEFAULT_MAX_BODY);
  lua_setfield(L, -2, "max_response_bytes");
  lua_pushnumber(L, BZ_DEFAULT_MAX_IDLE);
  lua_setfield(L, -2, "max_idle");
}

LUALIB_API int luaopen_bizreg_core(lua_State *L);  /* the module's one exported symbol */
LUALIB_API int luaopen_bizreg_core(lua_State *L) {
  bz_check_lua_version(L);  /* before any other API call */
  bz_body_open(L);
  bz_http_open(L);
  lua_newtable(L);
  bz_setfuncs(L, funcs, 0);
  set_encode_json(L, "encode_visitor_images", &bz_kos_visitor_images);
  set_encode_json(L, "encode_search_visitors", &bz_kos_search_visitors);
  push_defaults(L);
  lua_setfield(L, -2, "DEFAULTS");
  lua_pushinteger(L, (lua_Integer)BZ_MAX_SECONDS);  /* the longest timeout option (options.lua) */
  lua_setfield(L, -2, "MAX_SECONDS");
  push_messages(L, bz_rcs_messages);
  lua_setfield(L, -2, "RCS_MESSAGES");
  push_messages(L, bz_kos_messages);
  lua_setfield(L, -2, "KOS_MESSAGES");
  return 1;
}
