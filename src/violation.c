/* Violations: one table per broken rule ({ key, reason, index?, code?, value? }), its key
 * rendered from the walk's path frames, its code from the API's code table (bz_codes), and
 * the one reporter of unknown keys. Calls no other file of src/: the walks (validate.c,
 * form.c) and the API rules (api_*.c) call it. */
#include <stdio.h>
#include <string.h>
#include "validate.h"

/* Renders the key ("a.b[2].c") and the index of a BZ_INDEXED item. */
static void push_key(bz_walk *w, long long *index) {
  lua_State *L = w->L;
  luaL_Buffer b;
  int i, start = 0, depth = w->depth < BZ_MAX_DEPTH ? w->depth : BZ_MAX_DEPTH, first = 1;
  const char *array_name = NULL;
  *index = 0;
  for (i = 0; i < depth; i++)
    if (w->frames[i].reset) {
      start = i + 1;
      *index = w->frames[i].index;
      array_name = i > 0 ? w->frames[i - 1].name : NULL;
    }
  luaL_buffinit(L, &b);
  if (start == depth && array_name) luaL_addstring(&b, array_name);  /* the item itself */
  for (i = start; i < depth; i++) {
    const bz_frame *f = &w->frames[i];
    if (f->name) {
      if (!first) luaL_addchar(&b, '.');
      luaL_addlstring(&b, f->name, f->len);
    } else {
      char tmp[32];
      snprintf(tmp, sizeof tmp, "[%lld]", f->index);
      luaL_addstring(&b, tmp);
    }
    first = 0;
  }
  luaL_pushresult(&b);
}

/* ---- violations ------------------------------------------------------- */

static int is(const char *a, const char *b) { return strcmp(a, b) == 0; }

static const char *code_for(const bz_walk *w, const bz_field *f, const char *reason) {
  const bz_codes *c = w->codes;
  if (c == NULL) return NULL;
  if (is(reason, BZ_REQUIRED_R)) return f && f->code_req ? f->code_req : c->required;
  if (f && f->code_bad) return f->code_bad;
  if (is(reason, BZ_INVALID_TYPE)) return c->invalid_type;
  if (is(reason, BZ_TOO_LONG) || is(reason, BZ_TOO_MANY) || is(reason, BZ_TOO_FEW)) return c->too_long;
  if (is(reason, BZ_NOT_ALLOWED)) return c->not_allowed;
  if (is(reason, BZ_UNKNOWN_FIELD)) return c->unknown_field;
  return c->invalid_value;
}

void bz_violation(bz_walk *w, const bz_field *f, const char *reason, const char *code, const char *value) {
  lua_State *L = w->L;
  long long index;
  lua_createtable(L, 0, 5);
  push_key(w, &index);
  lua_setfield(L, -2, "key");
  lua_pushstring(L, reason);
  lua_setfield(L, -2, "reason");
  if (index > 0) {
    lua_pushinteger(L, (lua_Integer)index);
    lua_setfield(L, -2, "index");
  }
  if (code == NULL) code = code_for(w, f, reason);
  if (code) {
    lua_pushstring(L, code);
    lua_setfield(L, -2, "code");
  }
  if (value) {
    lua_pushstring(L, value);
    lua_setfield(L, -2, "value");
  }
  if (w->nerr == 0) {
    lua_newtable(L);
    lua_replace(L, w->errs);
  }
  lua_rawseti(L, w->errs, ++w->nerr);
}

/* The one place unknown keys are reported: every key of the table at idx that
 * known() refuses is an UnknownField, a non-string key rendered as [key]. */
void bz_report_unknown_keys(bz_walk *w, int idx, bz_known_fn known, const void *ctx) {
  lua_State *L = w->L;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    int saved;
    char tmp[64];  /* a rendered non-string key: lives until the violation is recorded */
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      size_t len;
      const char *k = lua_tolstring(L, -1, &len);
      if (known(ctx, k, len)) continue;
      saved = bz_path_push(w, k, len);  /* the key stays on the stack while rendered */
    } else {
      if (lua_type(L, -1) == LUA_TNUMBER) snprintf(tmp, sizeof tmp, "[%.14g]", (double)lua_tonumber(L, -1));
      else snprintf(tmp, sizeof tmp, "[%s]", luaL_typename(L, -1));
      saved = bz_path_push(w, tmp, strlen(tmp));
    }
    bz_violation(w, NULL, BZ_UNKNOWN_FIELD, NULL, NULL);
    bz_path_pop(w, saved);
  }
}
