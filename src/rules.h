/* Format rules for strings (schema.h bz_rule) and date-time normalisation. */
#ifndef BZ_RULES_H
#define BZ_RULES_H
#include <stddef.h>
#include "schema.h"

#define BZ_DATETIME_LEN 24  /* YYYY-MM-DDTHH:MM:SS.mmmZ */

/* 1 if s satisfies rule r (BZ_R_DATETIME excluded: see below). */
int bz_rule_ok(bz_rule r, const char *s, size_t n);
/* RFC 3339 date-time -> UTC "YYYY-MM-DDTHH:MM:SS.mmmZ" (out: BZ_DATETIME_LEN + 1). 1 ok, 0 invalid. */
int bz_datetime_parse(const char *s, size_t n, char *out);
/* A calendar date: YYYY-MM-DD, or that day's midnight UTC written YYYY-MM-DD 00:00:00.000Z
 * or YYYY-MM-DDT00:00:00.000Z -> "YYYY-MM-DD 00:00:00.000Z" (out: BZ_DATE_LEN + 1). 1 ok, 0 invalid. */
#define BZ_DATE_LEN 24
int bz_date_parse(const char *s, size_t n, char *out);
/* Unix seconds (fraction kept to milliseconds) -> same form. 1 ok, 0 out of range. */
int bz_datetime_from_unix(double secs, char *out);

#endif
