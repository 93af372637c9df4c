/* One walk over a Lua value against a schema: validates every row and writes
 * the JSON at the same time. Violations are collected (never raised) into a
 * Lua array of { key, reason, index?, code?, value? }. */
#ifndef BZ_VALIDATE_H
#define BZ_VALIDATE_H

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

/* A path is kept as frames and rendered only when a violation is recorded:
 * the common (valid) case never formats a path. */
typedef struct bz_frame {
  const char *name;   /* field name, or NULL for an index frame */
  size_t len;
  long long index;    /* index frame: 1-based position */
  int reset;          /* item of a BZ_INDEXED array: keys restart here */
} bz_frame;

#define BZ_MAX_DEPTH 32
#define BZ_KEY_CACHE 64

/* Key string address -> row, for one walk: Lua interns short strings, so the same key
 * in every item is one address. Only compared, never read through; a hit is confirmed
 * against the row name (the address may have been reused by another string). */
typedef struct bz_keyhit {
  const char *key;
  const bz_schema *schema;
  int row;
} bz_keyhit;

typedef struct bz_walk {
  lua_State *L;
  bz_buf *out;            /* JSON being written (userdata-owned) */
  int errs;               /* absolute stack index of the violations array */
  int nerr;
  const bz_codes *codes;  /* NULL: the API has no error codes */
  int parent;             /* stack index of the object whose rows are being walked */
  int depth;
  bz_frame frames[BZ_MAX_DEPTH];
  bz_keyhit keys[BZ_KEY_CACHE];
} bz_walk;

/* Starts a walk: pushes the violations table (keep it on the stack). */
void bz_walk_init(bz_walk *w, lua_State *L, bz_buf *out, const bz_codes *codes);
/* Walk the object at stack index idx against schema s, writing JSON. */
void bz_walk_object(bz_walk *w, const bz_schema *s, int idx);
/* Walk any value at idx against row f (writes its JSON value, no key). */
void bz_walk_value(bz_walk *w, const bz_field *f, int idx);

/* Path helpers: push returns the previous depth for bz_path_pop. name must stay
 * alive until popped (schema names, or a key string anchored on the Lua stack). */
int bz_path_push(bz_walk *w, const char *name, size_t len);
int bz_path_push_index(bz_walk *w, long long i);
void bz_path_pop(bz_walk *w, int saved);

/* Record a violation at the current path. code NULL: derived from f and the family. */
void bz_violation(bz_walk *w, const bz_field *f, const char *reason, const char *code, const char *value);

/* Unknown keys of the table at idx (those known() refuses), reported as UnknownField. */
typedef int (*bz_known_fn)(const void *ctx, const char *k, size_t len);
void bz_report_unknown_keys(bz_walk *w, int idx, bz_known_fn known, const void *ctx);

/* 1 when s[0..n) is one of the NULL-terminated list (compared with lengths). */
int bz_in_list(const char *const *list, const char *s, size_t n);

/* True when the value at idx counts as absent (nil or cjson.null). */
int bz_is_absent(lua_State *L, int idx);

#endif
