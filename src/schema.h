/* Declarative field tables: one row per field. The validating walk (validate.c)
 * reads these rows; adding a field is a one-line change in api_*.c. */
#ifndef BZ_SCHEMA_H
#define BZ_SCHEMA_H

#include <stdint.h>

typedef enum { BZ_T_STRING, BZ_T_INT, BZ_T_BOOL, BZ_T_OBJECT, BZ_T_ARRAY } bz_type;

/* Format rules a string must satisfy beyond type, length and enum. */
typedef enum {
  BZ_R_NONE,
  BZ_R_DATETIME,  /* RFC 3339; a number is Unix seconds; sent normalised to ...T..:..:..mmmZ */
  BZ_R_EMAIL,
  BZ_R_DIGITS5,   /* postal code */
  BZ_R_HEXCOLOR,  /* #RGB or #RRGGBB */
  BZ_R_HTTP_URL,  /* starts with http:// or https:// */
  BZ_R_LANDLINE,  /* Korean phone number: digits only, and not an 010 mobile number */
  BZ_R_DIGITS_NZ, /* digits, the first not 0: a phone country code, a number without its trunk 0 */
  BZ_R_DATE       /* a calendar date; sent normalised to YYYY-MM-DD 00:00:00.000Z (rules.h) */
} bz_rule;

/* Row flags */
#define BZ_REQUIRED  1u  /* must be present and (strings/arrays) non-empty */
#define BZ_INDEXED   2u  /* array: item violations carry index=i and keys relative to the item */
#define BZ_INT_ENUM  4u  /* int: [imin, imax] is an enumeration (reason InvalidEnum), not a type range */
#define BZ_CLEARABLE 8u  /* file part: `false` sends the part empty (no file), which removes the stored one */

struct bz_walk;
struct bz_schema;
struct bz_field;

/* Cross-field rule run after an object's (or array's) own rows; value at stack index idx. */
typedef void (*bz_check_fn)(struct bz_walk *w, const struct bz_field *f, int idx);

/* Row name with its length and its JSON key (`,"name":`, written without the comma
 * for the first member) known at compile time: BZ_ROW("name"). */
#define BZ_ROW(n) .name = n, .nlen = sizeof(n) - 1, .jkey = ",\"" n "\":"

typedef struct bz_field {
  const char *name;
  size_t nlen;
  const char *jkey;
  bz_type type;
  unsigned flags;
  size_t max;                       /* string: max code points; array: max items; 0 = none */
  size_t min;                       /* array: min items */
  const char *const *enums;         /* string: allowed values, NULL-terminated; plain ASCII
                                       (no '"', '\\' or control characters): sent as is */
  const char *const *deny;          /* string: documented values the server now refuses (NotAllowed) */
  long long imin, imax;             /* int: range (or enumeration with BZ_INT_ENUM) */
  bz_rule rule;
  const struct bz_schema *child;    /* object: its rows */
  const struct bz_field *item;      /* array: the row describing each item */
  const char *dflt;                 /* string sent when absent (documented default) */
  const char *req_unless_key;       /* required unless sibling req_unless_key == req_unless_val */
  const char *req_unless_val;
  const char *code_req;             /* API code for Required, overriding the family default */
  const char *code_bad;             /* API code for any other violation of this field */
  bz_check_fn check;                /* extra rule on this value (arrays: after items) */
} bz_field;

typedef struct bz_schema {
  const char *name;
  const bz_field *rows;             /* terminated by a row with name == NULL */
  bz_check_fn check;                /* cross-field rule for the whole object */
} bz_schema;

/* Reason -> code defaults for one API family; NULL for APIs without codes. */
typedef struct bz_codes {
  const char *required, *invalid_type, *too_long, *invalid_value, *not_allowed, *unknown_field;
} bz_codes;

/* File parts of a form: judged by content. */
#define BZ_MT(t) (1u << (t))
typedef struct bz_filerule {
  const char *name;
  unsigned flags;                   /* BZ_REQUIRED */
  unsigned types;                   /* mask of BZ_MT(bz_media_type) */
  int64_t max_bytes;
  uint32_t min_side, max_side;      /* 0 = no dimension rule */
  int square;
  const char *required_with;        /* required when this other payload key is present */
  const char *code_missing, *code_type, *code_size, *code_ratio, *code_dims;
} bz_filerule;

#endif
