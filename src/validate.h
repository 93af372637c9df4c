/* One walk over a Lua value against a schema: validates every row and writes
 * the JSON at the same time. Violations are collected (never raised) into a
 * Lua array of { key, reason, index?, code?, value? }. */
#ifndef BZ_VALIDATE_H
#define BZ_VALIDATE_H

#include <stdint.h>
#include "buf.h"
#include "schema.h"

/* Reasons (stable strings, part of the public error contract). */
#define BZ_REQUIRED_R     "Required"
#define BZ_INVALID_TYPE   "InvalidType"
#define BZ_INVALID_ENUM   "InvalidEnum"
#define BZ_INVALID_FORMAT "InvalidFormat"
#define BZ_INVALID_UTF8   "InvalidUtf8"
#define BZ_TOO_LONG       "TooLong"
#define BZ_TOO_MANY       "TooMany"
#define BZ_TOO_FEW        "TooFew"
#define BZ_UNKNOWN_FIELD  "UnknownField"
#define BZ_NOT_AVAILABLE  "NotAvailable"
#define BZ_NOT_ALLOWED    "NotAllowed"
#define BZ_MISMATCH       "Mismatch"
#define BZ_DUPLICATE      "Duplicate"
#define BZ_INVALID_FILE   "InvalidFileType"
#define BZ_TOO_LARGE      "TooLarge"
#define BZ_NOT_SQUARE     "NotSquare"
#define BZ_BAD_DIMENSIONS "InvalidDimensions"
#define BZ_UNREADABLE     "Unreadable"
#define BZ_NO_CHANGES     "NoChanges"  /* a form with no part at all (an edit that changes nothing) */

/* A path is kept as frames and rendered only when a violation is recorded:
 * the common (valid) case never formats a path. */
typedef struct bz_frame {
  const char *name;   /* field name, or NULL for an index frame */
  size_t len;
  long long index;    /* index frame: 1-based position */
  int reset;          /* item of a BZ_INDEXED array: keys restart here */
} bz_frame;

#define BZ_MAX_DEPTH 32
#define BZ_MAX_ROWS 32   /* rows of one schema (the walk keeps one stack index per row) */
#define BZ_KEY_CACHE 64

/* Key string address -> row, for one walk: Lua interns short strings, so the same key
 * in every item is one address. Only compared, never read through; a hit is confirmed
 * against the row name (the address may have been reused by another string). */
typedef struct bz_keyhit {
  const char *key;
  const bz_schema *schema;
  int row;
} bz_keyhit;

/* Row names (and enumeration values) of every schema below a root, interned once per Lua
 * state (bz_keyindex_build): Lua interns short strings (these all are), so a payload key is
 * a row name exactly when its address is that row's, and likewise a value of an enumeration.
 * The strings stay anchored in a table the caller keeps alive (an upvalue of the encode
 * function); the addresses are only compared, never read. Key -> row: open addressing. */
#define BZ_INDEX_SCHEMAS 8
#define BZ_INDEX_ROWS 32
#define BZ_INDEX_SLOTS 64   /* > 2 x BZ_INDEX_ROWS: a free slot ends every probe */
#define BZ_INDEX_ENUMS 256
typedef struct bz_keyslot {
  const char *key;
  int row;
} bz_keyslot;
typedef struct bz_keyset {
  const bz_schema *s;
  int nrows;
  bz_keyslot slot[BZ_INDEX_SLOTS];
  const char *const *enums[BZ_INDEX_ROWS];  /* interned values (NULL-terminated), or NULL */
  const struct bz_keyset *child[BZ_INDEX_ROWS];  /* entry of the row's object (or array
                                                    items' object), or NULL */
} bz_keyset;
typedef struct bz_keyindex {
  int n, npool;
  bz_keyset set[BZ_INDEX_SCHEMAS];
  const char *pool[BZ_INDEX_ENUMS];
} bz_keyindex;

/* Fills x for root and every schema below it (at most BZ_INDEX_SCHEMAS; schemas with more
 * rows, or beyond that many, are walked by name; enumerations beyond the pool are compared
 * by content), interning the strings into the table at stack index anchors. */
void bz_keyindex_build(lua_State *L, bz_keyindex *x, const bz_schema *root, int anchors);

static inline unsigned bz_keyslot_of(const char *k) {
  return (unsigned)(((uint64_t)(uintptr_t)k * 0x9E3779B97F4A7C15ULL) >> 58);  /* 6 bits */
}

typedef struct bz_walk {
  lua_State *L;
  bz_buf *out;            /* JSON being written (userdata-owned) */
  int errs;               /* absolute stack index of the violations array */
  int nerr;
  const bz_codes *codes;  /* NULL: the API has no error codes */
  int parent;             /* stack index of the object whose rows are being walked */
  int depth;
  const bz_keyindex *index;  /* NULL: keys are matched by name through the cache below */
  int send_unknown;       /* unknown_fields = "send": keys no row names are written, not refused */
  bz_frame frames[BZ_MAX_DEPTH];
  bz_keyhit keys[BZ_KEY_CACHE];
} bz_walk;

/* Starts a walk: pushes the stack slot of the violations table (keep it on the stack;
 * it holds the table once a violation is recorded, i.e. when nerr > 0). */
void bz_walk_init(bz_walk *w, lua_State *L, bz_buf *out, const bz_codes *codes);
/* Same, matching keys through index (its anchors alive for the whole walk). */
void bz_walk_init_indexed(bz_walk *w, lua_State *L, bz_buf *out, const bz_codes *codes, const bz_keyindex *index);
/* Walk the object at stack index idx against schema s, writing JSON. */
void bz_walk_object(bz_walk *w, const bz_schema *s, int idx);
/* Walk any value at idx against row f (writes its JSON value, no key). */
void bz_walk_value(bz_walk *w, const bz_field *f, int idx);

/* Path helpers: push returns the previous depth for bz_path_pop. name must stay
 * alive until popped (schema names, or a key string anchored on the Lua stack).
 * Inline: the walk pushes a frame for every field it visits, and the frames are the
 * walk's own data (violation.c renders them), not a layer of their own. */
static inline int bz_path_frame(bz_walk *w, const char *name, size_t len, long long index, int reset) {
  int saved = w->depth;
  if (w->depth < BZ_MAX_DEPTH) {
    bz_frame *f = &w->frames[w->depth];
    f->name = name;
    f->len = len;
    f->index = index;
    f->reset = reset;
  }
  w->depth++;
  return saved;
}
static inline int bz_path_push(bz_walk *w, const char *name, size_t len) { return bz_path_frame(w, name, len, 0, 0); }
static inline int bz_path_push_index(bz_walk *w, long long i) { return bz_path_frame(w, NULL, 0, i, 0); }
static inline void bz_path_pop(bz_walk *w, int saved) { w->depth = saved; }

/* keyindex.c: the row of key k in schema s (-1: not a row). bz_keyset_of: the index entry
 * of s (NULL: none; a walk reaches its children's through bz_keyset.child); bz_keyset_row: by address only; bz_row_by_name: by name (exact). */
int bz_find_row(const bz_schema *s, const char *name, size_t len);
const bz_keyset *bz_keyset_of(const bz_keyindex *x, const bz_schema *s);
/* The entry of the object row f holds (through arrays' items), NULL when none. */
const bz_keyset *bz_keyset_below(const bz_keyindex *x, const bz_field *f);
int bz_row_by_name(bz_walk *w, const bz_schema *s, const char *k, size_t len);
static inline int bz_keyset_row(const bz_keyset *ks, const char *k) {
  unsigned h = bz_keyslot_of(k);
  for (;; h = (h + 1) % BZ_INDEX_SLOTS) {
    if (ks->slot[h].key == k) return ks->slot[h].row;
    if (ks->slot[h].key == NULL) return -1;
  }
}

/* Record a violation at the current path. code NULL: derived from f and the family. */
void bz_violation(bz_walk *w, const bz_field *f, const char *reason, const char *code, const char *value);

/* violation.c: unknown keys of the table at idx (those known() refuses), reported as UnknownField. */
typedef int (*bz_known_fn)(const void *ctx, const char *k, size_t len);
void bz_report_unknown_keys(bz_walk *w, int idx, bz_known_fn known, const void *ctx);
/* bz_known_fn for a schema: ctx is the bz_schema. */
int bz_is_row(const void *schema, const char *k, size_t len);

/* 1 when s[0..n) is one of the NULL-terminated list (compared with lengths). */
int bz_in_list(const char *const *list, const char *s, size_t n);

/* True when the value at idx counts as absent (nil or cjson.null). */
int bz_is_absent(lua_State *L, int idx);

#endif
