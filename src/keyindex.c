/* Matching payload keys and values to a schema's names and lists: the per-state key index
 * (by address), the by-name path with its per-walk cache (walks without an index, and keys
 * the index does not know), enumerations by content. Calls no other file of src/: the walk
 * (validate.c) and the forms (form.c) ask it, violation.c reports what it does not match. */
#include <stdint.h>
#include <string.h>
#include "validate.h"

int bz_find_row(const bz_schema *s, const char *name, size_t len) {
  const bz_field *r;
  for (r = s->rows; r->name; r++)
    if (r->nlen == len && r->name[0] == name[0] && memcmp(r->name, name, len) == 0) return (int)(r - s->rows);
  return -1;
}

/* A hit is confirmed against the row's name (cheap: short names), so a key string
 * freed and another allocated at its address (a finalizer emptying the payload
 * mid-walk) can never be taken for the row cached before. Misses are not cached. */
static int lookup_key(bz_walk *w, const bz_schema *s, const char *k, size_t len) {
  bz_keyhit *hit = &w->keys[((uintptr_t)k >> 4) % BZ_KEY_CACHE];
  const bz_field *f;
  int r;
  if (hit->key == k && hit->schema == s) {
    f = &s->rows[hit->row];
    if (f->nlen == len && memcmp(f->name, k, len) == 0) return hit->row;
  }
  r = len ? bz_find_row(s, k, len) : -1;
  if (r >= 0) {
    hit->key = k;
    hit->schema = s;
    hit->row = r;
  }
  return r;
}

/* ---- the key index ------------------------------------------------------ */

static void index_schema(lua_State *L, bz_keyindex *x, const bz_schema *s, int anchors);

static void index_field(lua_State *L, bz_keyindex *x, const bz_field *f, int anchors) {
  for (; f; f = f->type == BZ_T_ARRAY ? f->item : NULL)
    if (f->type == BZ_T_OBJECT && f->child) index_schema(L, x, f->child, anchors);
}

/* Interns s into the anchors table; returns its address (kept alive by the table). */
static const char *intern(lua_State *L, const char *s, size_t n, int anchors) {
  const char *p;
  lua_pushlstring(L, s, n);
  p = lua_tostring(L, -1);
  lua_rawseti(L, anchors, (int)bz_rawlen(L, anchors) + 1);
  return p;
}

static const char *const *intern_enums(lua_State *L, bz_keyindex *x, const char *const *list, int anchors) {
  int n = 0, start = x->npool;
  if (list == NULL) return NULL;
  while (list[n]) n++;
  if (n + 1 > BZ_INDEX_ENUMS - x->npool) return NULL;  /* compared by content instead */
  for (n = 0; list[n]; n++) x->pool[x->npool++] = intern(L, list[n], strlen(list[n]), anchors);
  x->pool[x->npool++] = NULL;
  return &x->pool[start];
}

static void index_schema(lua_State *L, bz_keyindex *x, const bz_schema *s, int anchors) {
  bz_keyset *ks;
  const bz_field *f;
  int i;
  for (i = 0; i < x->n; i++)
    if (x->set[i].s == s) return;
  for (i = 0; s->rows[i].name; i++) {}
  if (x->n == BZ_INDEX_SCHEMAS || i > BZ_INDEX_ROWS) return;  /* walked by name instead */
  ks = &x->set[x->n++];
  memset(ks, 0, sizeof *ks);
  ks->s = s;
  ks->nrows = i;
  for (i = 0, f = s->rows; f->name; i++, f++) {
    const char *k = intern(L, f->name, f->nlen, anchors);
    unsigned h = bz_keyslot_of(k);
    while (ks->slot[h].key) h = (h + 1) % BZ_INDEX_SLOTS;
    ks->slot[h].key = k;
    ks->slot[h].row = i;
    ks->enums[i] = intern_enums(L, x, f->enums, anchors);
  }
  for (f = s->rows; f->name; f++) index_field(L, x, f, anchors);
}

void bz_keyindex_build(lua_State *L, bz_keyindex *x, const bz_schema *root, int anchors) {
  int i, r;
  x->n = 0;
  x->npool = 0;
  index_schema(L, x, root, anchors);
  for (i = 0; i < x->n; i++)  /* every schema is in: link each row to its object's entry */
    for (r = 0; r < x->set[i].nrows; r++) x->set[i].child[r] = bz_keyset_below(x, &x->set[i].s->rows[r]);
}

const bz_keyset *bz_keyset_below(const bz_keyindex *x, const bz_field *f) {
  while (f && f->type == BZ_T_ARRAY) f = f->item;
  return f && f->type == BZ_T_OBJECT && f->child ? bz_keyset_of(x, f->child) : NULL;
}

const bz_keyset *bz_keyset_of(const bz_keyindex *x, const bz_schema *s) {
  int i;
  if (x)
    for (i = 0; i < x->n; i++)
      if (x->set[i].s == s) return &x->set[i];
  return NULL;
}

/* By name: a key the index did not match is unknown unless the Lua at hand did not
 * intern it (long names, other builds); the name check says which, so a miss costs
 * a scan only for keys that are then reported. */
int bz_row_by_name(bz_walk *w, const bz_schema *s, const char *k, size_t len) {
  if (w->index) return len ? bz_find_row(s, k, len) : -1;
  return lookup_key(w, s, k, len);
}

/* Compared in place (no strlen per entry): an entry is read only up to its terminator. */
int bz_in_list(const char *const *list, const char *s, size_t n) {
  for (; *list; list++) {
    const char *e = *list;
    size_t j = 0;
    while (j < n && e[j] != '\0' && e[j] == s[j]) j++;
    if (j == n && e[j] == '\0') return 1;
  }
  return 0;
}

int bz_is_row(const void *schema, const char *k, size_t len) {
  return bz_find_row((const bz_schema *)schema, k, len) >= 0;
}

