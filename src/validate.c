#include <stdio.h>
#include <string.h>
#include "json.h"
#include "rules.h"
#include "utf8.h"
#include "validate.h"

void bz_walk_init(bz_walk *w, lua_State *L, bz_buf *out, const bz_codes *codes) {
  memset(w, 0, sizeof *w);
  w->L = L;
  w->out = out;
  w->codes = codes;
  lua_newtable(L);
  w->errs = lua_gettop(L);
}

int bz_is_absent(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  /* cjson.null is a NULL lightuserdata: treat it as "not given" */
  return t == LUA_TNIL || (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL);
}

/* ---- paths ------------------------------------------------------------ */

static size_t path_add(bz_walk *w, const char *s, size_t n) {
  size_t saved = w->plen;
  if (w->plen + n < sizeof w->path) {
    memcpy(w->path + w->plen, s, n);
    w->plen += n;
  }
  w->path[w->plen] = '\0';
  return saved;
}

size_t bz_path_push(bz_walk *w, const char *name) {
  size_t saved = w->plen;
  if (w->plen > 0) path_add(w, ".", 1);
  path_add(w, name, strlen(name));
  return saved;
}

size_t bz_path_push_index(bz_walk *w, long long i) {
  char tmp[32];
  int k = snprintf(tmp, sizeof tmp, "[%lld]", i);
  return path_add(w, tmp, (size_t)k);
}

void bz_path_pop(bz_walk *w, size_t saved) {
  w->plen = saved;
  w->path[saved] = '\0';
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
  lua_createtable(L, 0, 5);
  if (w->plen == 0 && w->index_name) lua_pushstring(L, w->index_name);
  else lua_pushlstring(L, w->path, w->plen);
  lua_setfield(L, -2, "key");
  lua_pushstring(L, reason);
  lua_setfield(L, -2, "reason");
  if (w->index > 0) {
    lua_pushinteger(L, (lua_Integer)w->index);
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
  lua_rawseti(L, w->errs, ++w->nerr);
}

/* ---- values ----------------------------------------------------------- */

static int in_list(const char *const *list, const char *s, size_t n) {
  for (; *list; list++)
    if (strlen(*list) == n && memcmp(*list, s, n) == 0) return 1;
  return 0;
}

static void walk_string(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  char dt[BZ_DATETIME_LEN + 1];
  size_t n, cps;
  const char *s;
  if (f->rule == BZ_R_DATETIME && lua_type(L, idx) == LUA_TNUMBER) {
    if (!bz_datetime_from_unix((double)lua_tonumber(L, idx), dt)) bz_violation(w, f, BZ_NOT_AVAILABLE, NULL, NULL);
    else bz_json_string(L, w->out, dt, BZ_DATETIME_LEN);
    return;
  }
  if (lua_type(L, idx) != LUA_TSTRING) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  s = lua_tolstring(L, idx, &n);
  if (!bz_utf8_check((const unsigned char *)s, n, &cps)) {
    bz_violation(w, f, BZ_INVALID_UTF8, NULL, NULL);
    return;
  }
  if (n == 0 && (f->flags & BZ_REQUIRED)) {
    bz_violation(w, f, BZ_REQUIRED_R, NULL, NULL);
    return;
  }
  if (f->max && cps > f->max) bz_violation(w, f, BZ_TOO_LONG, NULL, NULL);
  else if (f->enums && !in_list(f->enums, s, n)) bz_violation(w, f, BZ_INVALID_ENUM, NULL, NULL);
  else if (f->deny && in_list(f->deny, s, n)) bz_violation(w, f, BZ_NOT_ALLOWED, NULL, NULL);
  else if (f->rule == BZ_R_DATETIME) {
    if (!bz_datetime_parse(s, n, dt)) bz_violation(w, f, BZ_NOT_AVAILABLE, NULL, NULL);
    else bz_json_string(L, w->out, dt, BZ_DATETIME_LEN);
    return;
  } else if (f->rule != BZ_R_NONE && !bz_rule_ok(f->rule, s, n))
    bz_violation(w, f, BZ_INVALID_FORMAT, NULL, NULL);
  bz_json_string(L, w->out, s, n);
}

static void walk_int(bz_walk *w, const bz_field *f, int idx) {
  long long v;
  if (!bz_tointeger(w->L, idx, &v)) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  if ((f->imin || f->imax) && (v < f->imin || v > f->imax)) {
    bz_violation(w, f, (f->flags & BZ_INT_ENUM) ? BZ_INVALID_ENUM : BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  bz_json_int(w->L, w->out, v);
}

/* A proper sequence: every key an integer in 1..n, n = raw length. */
static int is_sequence(lua_State *L, int idx, size_t n) {
  size_t count = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    long long k;
    lua_pop(L, 1);
    if (lua_type(L, -1) != LUA_TNUMBER || !bz_tointeger(L, -1, &k) || k < 1 || (size_t)k > n) {
      lua_pop(L, 1);
      return 0;
    }
    count++;
  }
  return count == n;
}

/* Item of a BZ_INDEXED array: keys restart relative to the item, index = i. */
static void walk_indexed_item(bz_walk *w, const bz_field *f, long long i) {
  char saved_path[sizeof w->path];
  size_t saved_len = w->plen;
  long long saved_index = w->index;
  const char *saved_name = w->index_name;
  memcpy(saved_path, w->path, saved_len + 1);
  w->plen = 0;
  w->path[0] = '\0';
  w->index = i;
  w->index_name = f->name;
  bz_walk_value(w, f->item, lua_gettop(w->L));
  memcpy(w->path, saved_path, saved_len + 1);
  w->plen = saved_len;
  w->index = saved_index;
  w->index_name = saved_name;
}

static void walk_array(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  size_t n, i;
  if (lua_type(L, idx) != LUA_TTABLE) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  n = bz_rawlen(L, idx);
  if (!is_sequence(L, idx, n)) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  if (n == 0 && (f->flags & BZ_REQUIRED)) bz_violation(w, f, BZ_REQUIRED_R, NULL, NULL);
  else if (n < f->min) bz_violation(w, f, BZ_TOO_FEW, NULL, NULL);
  else if (f->max && n > f->max) bz_violation(w, f, BZ_TOO_MANY, NULL, NULL);
  bz_buf_addc(L, w->out, '[');
  for (i = 1; i <= n; i++) {
    if (i > 1) bz_buf_addc(L, w->out, ',');
    lua_rawgeti(L, idx, (int)i);
    if (f->flags & BZ_INDEXED) walk_indexed_item(w, f, (long long)i);
    else {
      size_t saved = bz_path_push_index(w, (long long)i);
      bz_walk_value(w, f->item, lua_gettop(L));
      bz_path_pop(w, saved);
    }
    lua_pop(L, 1);
  }
  bz_buf_addc(L, w->out, ']');
  if (f->check) f->check(w, f, idx);
}

void bz_walk_value(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  switch (f->type) {
    case BZ_T_STRING: walk_string(w, f, idx); break;
    case BZ_T_INT: walk_int(w, f, idx); break;
    case BZ_T_BOOL:
      if (lua_type(L, idx) != LUA_TBOOLEAN) bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
      else bz_buf_adds(L, w->out, lua_toboolean(L, idx) ? "true" : "false");
      break;
    case BZ_T_ARRAY: walk_array(w, f, idx); break;
    case BZ_T_OBJECT:
      if (lua_type(L, idx) != LUA_TTABLE) bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
      else bz_walk_object(w, f->child, idx);
      break;
  }
  if (f->check && f->type != BZ_T_ARRAY) f->check(w, f, idx);
}

/* ---- objects ---------------------------------------------------------- */

static int sibling_is(lua_State *L, int obj, const char *key, const char *val) {
  int r;
  lua_pushstring(L, key);
  lua_rawget(L, obj);
  r = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), val) == 0;
  lua_pop(L, 1);
  return r;
}

static const bz_field *find_row(const bz_schema *s, const char *name);

/* Required rows; a conditional one only when the sibling it depends on holds a
 * valid value (an invalid buttonType is reported once, not again as a missing weblink). */
static int row_required(lua_State *L, const bz_schema *s, const bz_field *f, int obj) {
  const bz_field *dep;
  size_t n;
  const char *v;
  int r;
  if (f->flags & BZ_REQUIRED) return 1;
  if (f->req_unless_key == NULL) return 0;
  dep = find_row(s, f->req_unless_key);
  lua_pushstring(L, f->req_unless_key);
  lua_rawget(L, obj);
  v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : NULL;
  r = v != NULL && strcmp(v, f->req_unless_val) != 0 && (dep == NULL || dep->enums == NULL || in_list(dep->enums, v, n));
  lua_pop(L, 1);
  return r;
}

static const bz_field *find_row(const bz_schema *s, const char *name) {
  const bz_field *f;
  for (f = s->rows; f->name; f++)
    if (strcmp(f->name, name) == 0) return f;
  return NULL;
}

static void report_unknown_keys(bz_walk *w, const bz_schema *s, int idx) {
  lua_State *L = w->L;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t saved;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      if (find_row(s, lua_tostring(L, -1))) continue;
      saved = bz_path_push(w, lua_tostring(L, -1));
    } else {
      char tmp[64];
      if (lua_type(L, -1) == LUA_TNUMBER) snprintf(tmp, sizeof tmp, "[%.14g]", (double)lua_tonumber(L, -1));
      else snprintf(tmp, sizeof tmp, "[%s]", luaL_typename(L, -1));
      saved = path_add(w, tmp, strlen(tmp));
    }
    bz_violation(w, NULL, BZ_UNKNOWN_FIELD, NULL, NULL);
    bz_path_pop(w, saved);
  }
}

void bz_walk_object(bz_walk *w, const bz_schema *s, int idx) {
  lua_State *L = w->L;
  const bz_field *f;
  int first = 1, saved_parent = w->parent;
  size_t present = 0, total = 0;
  idx = idx < 0 ? lua_gettop(L) + idx + 1 : idx;
  w->parent = idx;
  bz_buf_addc(L, w->out, '{');
  for (f = s->rows; f->name; f++) {
    size_t saved;
    lua_pushstring(L, f->name);
    lua_rawget(L, idx);
    if (!lua_isnil(L, -1)) present++;
    if (bz_is_absent(L, -1)) {
      lua_pop(L, 1);
      if (f->dflt) {
        if (!first) bz_buf_addc(L, w->out, ',');
        first = 0;
        bz_json_key(L, w->out, f->name);
        bz_json_string(L, w->out, f->dflt, strlen(f->dflt));
      } else if (row_required(L, s, f, idx)) {
        saved = bz_path_push(w, f->name);
        bz_violation(w, f, BZ_REQUIRED_R, NULL, NULL);
        bz_path_pop(w, saved);
      }
      continue;
    }
    if (!first) bz_buf_addc(L, w->out, ',');
    first = 0;
    bz_json_key(L, w->out, f->name);
    saved = bz_path_push(w, f->name);
    bz_walk_value(w, f, lua_gettop(L));
    bz_path_pop(w, saved);
    lua_pop(L, 1);
  }
  /* Counting is cheap; names are compared only when a key is unaccounted for. */
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    lua_pop(L, 1);
    total++;
  }
  if (total != present) report_unknown_keys(w, s, idx);
  if (s->check) s->check(w, NULL, idx);
  bz_buf_addc(L, w->out, '}');
  w->parent = saved_parent;
}

/* ---- cross-field rules (RCS) ------------------------------------------ */

/* initFeedItems: every item but portalsearch must be a buttonType in menus. */
void bz_check_feed_items_in_menus(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  int menus;
  size_t i, n = bz_rawlen(L, idx);
  lua_pushstring(L, "menus");
  lua_rawget(L, w->parent);
  menus = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    int found = 0;
    lua_rawgeti(L, idx, (int)i);
    size_t len;
    const char *v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    /* invalid values were already reported by the item row */
    if (v && strcmp(v, "portalsearch") != 0 && in_list(f->item->enums, v, len)) {
      if (lua_type(L, menus) == LUA_TTABLE) {
        size_t j, m = bz_rawlen(L, menus);
        for (j = 1; j <= m && !found; j++) {
          lua_rawgeti(L, menus, (int)j);
          if (lua_type(L, -1) == LUA_TTABLE) found = sibling_is(L, lua_gettop(L), "buttonType", lua_tostring(L, -2));
          lua_pop(L, 1);
        }
      }
      if (!found) {
        size_t saved = bz_path_push_index(w, (long long)i);
        bz_violation(w, f->item, BZ_NOT_IN_MENUS, NULL, NULL);
        bz_path_pop(w, saved);
      }
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* chatbots[i].subNum, when given, must equal mdn (the server overwrites it anyway). */
void bz_check_equals_mdn(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  if (lua_type(L, idx) != LUA_TSTRING) return;
  lua_pushstring(L, "mdn");
  lua_rawget(L, w->parent);
  if (lua_type(L, -1) == LUA_TSTRING && !lua_rawequal(L, -1, idx)) bz_violation(w, f, BZ_MISMATCH, NULL, NULL);
  lua_pop(L, 1);
}

/* chatbots: one mdn once. Quadratic only in the count of chatbots (<= 1000). */
void bz_check_unique_mdn(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  size_t i, n = bz_rawlen(L, idx);
  int seen;
  lua_newtable(L);
  seen = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, (int)i);
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushstring(L, "mdn");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        lua_rawget(L, seen);
        if (!lua_isnil(L, -1)) {
          size_t saved = bz_path_push_index(w, (long long)i);
          bz_path_push(w, "mdn");
          bz_violation(w, NULL, BZ_DUPLICATE, "64341", lua_tostring(L, -2));
          bz_path_pop(w, saved);
        }
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, seen);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}
