#include <stdint.h>
#include <string.h>
#include "json.h"
#include "json_any.h"
#include "rules.h"
#include "validate.h"

/* The violations table is created by the first violation: a valid payload (the common
 * case) allocates nothing for it. The frames need no clearing (written before read). */
void bz_walk_init_indexed(bz_walk *w, lua_State *L, bz_buf *out, const bz_codes *codes, const bz_keyindex *index) {
  w->L = L;
  w->out = out;
  w->codes = codes;
  w->nerr = 0;
  w->parent = 0;
  w->depth = 0;
  w->index = index;
  w->send_unknown = 0;
  lua_pushnil(L);
  w->errs = lua_gettop(L);
}

void bz_walk_init(bz_walk *w, lua_State *L, bz_buf *out, const bz_codes *codes) {
  bz_walk_init_indexed(w, L, out, codes, NULL);
  memset(w->keys, 0, sizeof w->keys);
}

int bz_is_absent(lua_State *L, int idx) {
  int t = lua_type(L, idx);
  /* cjson.null is a NULL lightuserdata: treat it as "not given" */
  return t == LUA_TNIL || (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, idx) == NULL);
}

/* ---- values ----------------------------------------------------------- */

/* The rules a well-formed, non-empty string within its length is checked against. */
static void string_rules(bz_walk *w, const bz_field *f, const char *s, size_t n) {
  if (f->deny && bz_in_list(f->deny, s, n)) bz_violation(w, f, BZ_NOT_ALLOWED, NULL, NULL);
  else if (f->rule != BZ_R_NONE && !bz_rule_ok(f->rule, s, n)) bz_violation(w, f, BZ_INVALID_FORMAT, NULL, NULL);
}

/* The value walk is inlined into the object walk: it runs for every field, and a call
 * (saving and restoring registers) costs as much as a short value. */
#if defined(__GNUC__)
#define BZ_HOT_INLINE static inline __attribute__((always_inline))
#else
#define BZ_HOT_INLINE static inline
#endif

/* Date-time rows: checked before writing, what is sent is the normalised form. */
static void walk_datetime(bz_walk *w, const bz_field *f, int idx, int type) {
  lua_State *L = w->L;
  char dt[BZ_DATETIME_LEN + 1];
  size_t n;
  const char *s;
  int ok;
  if (type == LUA_TNUMBER) ok = bz_datetime_from_unix((double)lua_tonumber(L, idx), dt);
  else if (type != LUA_TSTRING) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  } else {
    s = lua_tolstring(L, idx, &n);
    ok = bz_datetime_parse(s, n, dt);
  }
  if (!ok) bz_violation(w, f, BZ_NOT_AVAILABLE, NULL, NULL);
  else bz_json_plain(L, w->out, dt, BZ_DATETIME_LEN);
}

/* 1 when s is one of the enumeration: by address among the interned values (ie, when the
 * index has them), else (a miss there included: a string Lua did not intern) by content. */
static int in_enums(const bz_field *f, const char *const *ie, const char *s, size_t n) {
  if (ie)
    for (; *ie; ie++)
      if (*ie == s) return 1;
  return bz_in_list(f->enums, s, n);
}

/* like DATETIME: what is sent is the normalised form */
static void walk_date(bz_walk *w, const bz_field *f, const char *s, size_t n) {
  char d[BZ_DATE_LEN + 1];
  if (!bz_date_parse(s, n, d)) bz_violation(w, f, BZ_NOT_AVAILABLE, NULL, NULL);
  else bz_json_plain(w->L, w->out, d, BZ_DATE_LEN);
}

BZ_HOT_INLINE void walk_string(bz_walk *w, const bz_field *f, int idx, int type, const char *const *ie) {
  lua_State *L = w->L;
  size_t n, cps;
  const char *s;
  if (f->rule == BZ_R_DATETIME) {
    walk_datetime(w, f, idx, type);
    return;
  }
  if (type != LUA_TSTRING) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  s = lua_tolstring(L, idx, &n);
  if (f->rule == BZ_R_DATE) {
    walk_date(w, f, s, n);
    return;
  }
  /* One of the enumeration: well-formed, non-empty and plain (schema.h), so written as is;
   * the checks below would all pass but deny and the format rule. */
  if (f->enums && n > 0 && (f->max == 0 || n <= f->max) && in_enums(f, ie, s, n)) {
    bz_json_plain(L, w->out, s, n);
    if (f->deny || f->rule != BZ_R_NONE) string_rules(w, f, s, n);
    return;
  }
  /* written while validating; the output is discarded if anything was violated */
  if (!bz_json_string_utf8(L, w->out, s, n, &cps)) {
    bz_violation(w, f, BZ_INVALID_UTF8, NULL, NULL);
    return;
  }
  if (n == 0) {
    if (f->flags & BZ_REQUIRED) bz_violation(w, f, BZ_REQUIRED_R, NULL, NULL);
    else if (f->enums || f->rule != BZ_R_NONE) bz_violation(w, f, f->enums ? BZ_INVALID_ENUM : BZ_INVALID_FORMAT, NULL, NULL);
    return;
  }
  if (f->max && cps > f->max) bz_violation(w, f, BZ_TOO_LONG, NULL, NULL);
  else if (f->enums && !bz_in_list(f->enums, s, n)) bz_violation(w, f, BZ_INVALID_ENUM, NULL, NULL);
  else if (f->deny || f->rule != BZ_R_NONE) string_rules(w, f, s, n);
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

static void walk_item(bz_walk *w, const bz_field *f, int idx, int type, const bz_keyset *cks);
static void walk_object(bz_walk *w, const bz_schema *s, const bz_keyset *ks, int idx);

static void walk_array(bz_walk *w, const bz_field *f, int idx, const bz_keyset *cks) {
  lua_State *L = w->L;
  size_t n, i;
  int top;
  if (lua_type(L, idx) != LUA_TTABLE) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  n = bz_rawlen(L, idx);
  if (!bz_is_sequence(L, idx, n)) {
    bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
    return;
  }
  if (n == 0 && (f->flags & BZ_REQUIRED)) bz_violation(w, f, BZ_REQUIRED_R, NULL, NULL);
  else if (n < f->min) bz_violation(w, f, BZ_TOO_FEW, NULL, NULL);
  else if (f->max && n > f->max) bz_violation(w, f, BZ_TOO_MANY, NULL, NULL);
  bz_buf_addc(L, w->out, '[');
  top = lua_gettop(L) + 1;
  for (i = 1; i <= n; i++) {
    int saved = bz_path_frame(w, NULL, 0, (long long)i, (f->flags & BZ_INDEXED) != 0);
    if (i > 1) bz_buf_addc(L, w->out, ',');
#if LUA_VERSION_NUM >= 503
    walk_item(w, f->item, top, lua_rawgeti(L, idx, (lua_Integer)i), cks);
#else
    lua_rawgeti(L, idx, (int)i);
    walk_item(w, f->item, top, lua_type(L, top), cks);
#endif
    lua_settop(L, top - 1);
    w->depth = saved;
  }
  bz_buf_addc(L, w->out, ']');
  if (f->check) f->check(w, f, idx);
}

/* type: lua_type of the value (the caller usually knows it already) */
/* ie: the row's interned enumeration values (NULL: compare by content). */
BZ_HOT_INLINE void walk_typed(bz_walk *w, const bz_field *f, int idx, int type, const char *const *ie,
                              const bz_keyset *cks) {
  lua_State *L = w->L;
  switch (f->type) {
    case BZ_T_STRING: walk_string(w, f, idx, type, ie); break;
    case BZ_T_INT: walk_int(w, f, idx); break;
    case BZ_T_BOOL:
      if (type != LUA_TBOOLEAN) bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
      else if (lua_toboolean(L, idx)) bz_buf_add(L, w->out, "true", 4);
      else bz_buf_add(L, w->out, "false", 5);
      break;
    case BZ_T_ARRAY: walk_array(w, f, idx, cks); break;
    case BZ_T_OBJECT:
      if (type != LUA_TTABLE) bz_violation(w, f, BZ_INVALID_TYPE, NULL, NULL);
      else walk_object(w, f->child, cks, idx);
      break;
  }
  if (f->check && f->type != BZ_T_ARRAY) f->check(w, f, idx);
}

static void walk_item(bz_walk *w, const bz_field *f, int idx, int type, const bz_keyset *cks) {
  walk_typed(w, f, idx, type, NULL, cks);
}
void bz_walk_value(bz_walk *w, const bz_field *f, int idx) {
  walk_typed(w, f, idx, lua_type(w->L, idx), NULL, bz_keyset_below(w->index, f));
}

/* ---- objects ---------------------------------------------------------- */

/* Required rows; a conditional one only when the sibling it depends on holds a
 * valid value (an invalid one is reported once, not again as a missing dependant). */
static int row_required(lua_State *L, const bz_schema *s, const bz_field *f, const int *at) {
  int dep;
  size_t n;
  const char *v;
  if (f->flags & BZ_REQUIRED) return 1;
  if (f->req_unless_key == NULL) return 0;
  dep = bz_find_row(s, f->req_unless_key, strlen(f->req_unless_key));
  if (dep < 0 || at[dep] == 0 || lua_type(L, at[dep]) != LUA_TSTRING) return 0;
  v = lua_tolstring(L, at[dep], &n);  /* compared with its length: "call\0x" is not "call" */
  return !(strlen(f->req_unless_val) == n && memcmp(v, f->req_unless_val, n) == 0) &&
         (s->rows[dep].enums == NULL || bz_in_list(s->rows[dep].enums, v, n));
}

/* One lua_next pass over the table at idx: the value of each row's key stays on the stack
 * where lua_next left it (at[row] = its index; the key is copied above it to go on), a value
 * of an unknown key is dropped and only noted. Then rows are emitted in schema order. */
static int collect_rows(bz_walk *w, const bz_schema *s, const bz_keyset *ks, int idx, int nrows, int *at) {
  lua_State *L = w->L;
  int top = lua_gettop(L) + 1, room = 0, unknown = 0;
  memset(at, 0, (size_t)nrows * sizeof *at);
  lua_pushnil(L);
  while (lua_next(L, idx)) {  /* key at top, value at top + 1 */
    int r = -1;
    if (lua_type(L, -2) == LUA_TSTRING) {
      size_t len;
      r = ks ? bz_keyset_row(ks, lua_tolstring(L, -2, NULL)) : -1;
      if (r < 0) {
        const char *k = lua_tolstring(L, -2, &len);
        r = bz_row_by_name(w, s, k, len);
      }
    }
    if (r < 0) {
      lua_pop(L, 1);
      unknown = 1;
      continue;
    }
    if (room-- == 0) {  /* the next 8 rows' 2 slots, with room to spare for what runs above */
      luaL_checkstack(L, 2 * 8 + 10, "bizreg: payload nested too deeply");
      room = 7;
    }
    at[r] = top + 1;
    lua_pushvalue(L, -2);
    top += 2;
  }
  return unknown;
}

/* ---- unknown_fields = "send" ------------------------------------------------ */

/* Every key of the object at idx that no row of s names, written after the rows as
 * ,"key":value (first: nothing written in the object yet). A key that is not a string, or
 * whose value is not plain JSON, is still an UnknownField (and nothing of it is written). */
static void send_unknown_keys(bz_walk *w, const bz_schema *s, int idx, int first) {
  lua_State *L = w->L;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t len, mark = w->out->len;
    const char *k;
    int ok = 0;
    if (lua_type(L, -2) == LUA_TSTRING) {
      k = lua_tolstring(L, -2, &len);
      if (bz_is_row(s, k, len)) {
        lua_pop(L, 1);
        continue;
      }
      if (!first) bz_buf_addc(L, w->out, ',');
      ok = bz_json_string_utf8(L, w->out, k, len, &len);
      if (ok) {
        bz_buf_addc(L, w->out, ':');
        ok = bz_json_any(L, w->out, lua_gettop(L), w->depth);
      }
      if (ok) first = 0;
      else w->out->len = mark;  /* cut off what was written of it */
    }
    lua_pop(L, 1);
    if (!ok) {
      lua_pushvalue(L, -1);
      lua_newtable(L);  /* a one-key table: the walk's one reporter names the key */
      lua_insert(L, -2);
      lua_pushboolean(L, 1);
      lua_rawset(L, -3);
      bz_report_unknown_keys(w, lua_gettop(L), bz_is_row, s);
      lua_pop(L, 1);
    }
  }
}

/* ks: the index entry of s (NULL: keys matched by name) */
static void walk_object(bz_walk *w, const bz_schema *s, const bz_keyset *ks, int idx) {
  lua_State *L = w->L;
  const bz_field *f;
  int at[BZ_MAX_ROWS];
  int nrows = 0, base = lua_gettop(L), i, first = 1, unknown, saved_parent = w->parent;
  idx = idx < 0 ? base + idx + 1 : idx;
  if (ks) nrows = ks->nrows;
  else while (s->rows[nrows].name) nrows++;
  if (nrows > BZ_MAX_ROWS) luaL_error(L, "bizreg: schema %s has more than %d rows", s->name, BZ_MAX_ROWS);
  unknown = collect_rows(w, s, ks, idx, nrows, at);
  w->parent = idx;
  bz_buf_addc(L, w->out, '{');
  for (i = 0, f = s->rows; i < nrows; i++, f++) {
    int slot = at[i], saved, t = slot ? lua_type(L, slot) : LUA_TNIL;
    if (t == LUA_TNIL || (t == LUA_TLIGHTUSERDATA && lua_touserdata(L, slot) == NULL)) {
      if (f->dflt) {
        bz_buf_addv(L, w->out, f->jkey + first, f->nlen + 4 - (size_t)first);
        first = 0;
        bz_json_string(L, w->out, f->dflt, strlen(f->dflt));
      } else if (row_required(L, s, f, at)) {
        saved = bz_path_frame(w, f->name, f->nlen, 0, 0);
        bz_violation(w, f, BZ_REQUIRED_R, NULL, NULL);
        bz_path_pop(w, saved);
      }
      continue;
    }
    bz_buf_addv(L, w->out, f->jkey + first, f->nlen + 4 - (size_t)first);
    first = 0;
    saved = bz_path_frame(w, f->name, f->nlen, 0, 0);
    if (ks) walk_typed(w, f, slot, t, ks->enums[i], ks->child[i]);
    else walk_typed(w, f, slot, t, NULL, NULL);
    w->depth = saved;
  }
  if (unknown && w->send_unknown) send_unknown_keys(w, s, idx, first);
  else if (unknown) bz_report_unknown_keys(w, idx, bz_is_row, s);
  if (s->check) s->check(w, NULL, idx);
  bz_buf_addc(L, w->out, '}');
  lua_settop(L, base);
  w->parent = saved_parent;
}

void bz_walk_object(bz_walk *w, const bz_schema *s, int idx) { walk_object(w, s, bz_keyset_of(w->index, s), idx); }
