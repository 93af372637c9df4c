/* libFuzzer harness for the date-time rules of src/rules.c: bz_datetime_parse and
 * bz_datetime_from_unix, checked against a reference written here from the contract
 * (rules.h: RFC 3339 "YYYY-MM-DDTHH:MM:SS[.frac](Z|+HH:MM|-HH:MM)", 't'/'z' allowed,
 * seconds 00-59 (no leap second: stricter than RFC 3339, documented in rules.h's
 * caller), fraction truncated to milliseconds, converted to UTC, result years
 * 0001-9999 only, written as "YYYY-MM-DDTHH:MM:SS.mmmZ").
 *
 * The reference counts days with a plain per-year/per-month loop (no civil-date
 * formula), so an arithmetic slip in rules.c shows up as a difference. Also checked:
 * nothing is read past s[n-1] (inputs sit in an exact-size heap block), nothing is
 * written past out[24], and the result parses to itself.
 *
 * Input: first byte selects the mode. 0..199: the rest is the string. 200..255: the
 * next 8 bytes are a double for bz_datetime_from_unix.
 *   make fuzz-datetime FUZZ_SECONDS=60 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "rules.h"

/* A failed check names its line (the comment there says what was expected), then aborts. */
#define FAIL() (fprintf(stderr, "check failed at %s:%d\n", __FILE__, __LINE__), abort())

#define OUT_GUARD 16

static int is_leap(long y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }
static int mdays(long y, int m) {
  static const int d[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
  return d[m - 1] + (m == 2 && is_leap(y));
}
static int dig(char c) { return c >= '0' && c <= '9'; }
static int nnum(const char *s, int k) {
  int v = 0, i;
  for (i = 0; i < k; i++) {
    if (!dig(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

/* Days from 0001-01-01 to y-m-d, by walking years and months (y in 1..9999). */
static long long ref_days(long y, int m, int d) {
  long long days = 0;
  long yy;
  int mm;
  for (yy = 1; yy < y; yy++) days += is_leap(yy) ? 366 : 365;
  for (mm = 1; mm < m; mm++) days += mdays(y, mm);
  return days + d - 1;
}

/* Milliseconds since 0001-01-01T00:00:00Z -> text; 0 when outside 0001..9999. */
static int ref_format(long long ms, char *out) {
  long long days, rem;
  long y = 1;
  int m = 1;
  if (ms < 0) return 0;
  days = ms / 86400000;
  rem = ms % 86400000;
  while (days >= (is_leap(y) ? 366 : 365)) {
    days -= is_leap(y) ? 366 : 365;
    y++;
    if (y > 9999) return 0;
  }
  while (days >= mdays(y, m)) { days -= mdays(y, m); m++; }
  snprintf(out, 25, "%04ld-%02d-%02lldT%02lld:%02lld:%02lld.%03lldZ", y, m, days + 1, rem / 3600000,
           rem / 60000 % 60, rem / 1000 % 60, rem % 1000);
  return 1;
}

static int ref_parse(const char *s, size_t n, char *out) {
  long y;
  int mo, d, h, mi, se, ms = 0, off = 0;
  size_t i = 19;
  if (n < 20) return 0;
  if (s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') || s[13] != ':' || s[16] != ':') return 0;
  y = nnum(s, 4); mo = nnum(s + 5, 2); d = nnum(s + 8, 2);
  h = nnum(s + 11, 2); mi = nnum(s + 14, 2); se = nnum(s + 17, 2);
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59) return 0;
  if (d > mdays(y, mo)) return 0;
  if (s[i] == '.') {
    size_t start = ++i;
    while (i < n && dig(s[i])) {
      if (i - start < 3) ms = ms * 10 + (s[i] - '0');
      i++;
    }
    if (i == start) return 0;
    if (i - start == 1) ms *= 100;
    else if (i - start == 2) ms *= 10;
  }
  if (i + 1 == n && (s[i] == 'Z' || s[i] == 'z')) {
    off = 0;
  } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = nnum(s + i + 1, 2), om = nnum(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return 0;
    off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
  } else {
    return 0;
  }
  return ref_format(((ref_days(y, mo, d) * 86400 + h * 3600 + mi * 60 + se) - off * 60LL) * 1000 + ms, out);
}

/* Unix seconds -> ms since 0001-01-01, rounded half up to a millisecond. */
static int ref_unix(double secs, char *out) {
  double ms;
  if (!isfinite(secs)) return 0;
  ms = floor(secs * 1000.0 + 0.5);
  if (ms < -62135596800000.0 || ms > 253402300799999.0) return 0;
  return ref_format((long long)ms + 62135596800000LL, out);
}

static void check_out(const char *out, int ok) {
  size_t k;
  for (k = 25; k < 25 + OUT_GUARD; k++) if ((unsigned char)out[k] != 0xA5) FAIL();  /* wrote past out[24] */
  if (ok && (strlen(out) != BZ_DATETIME_LEN || out[10] != 'T' || out[23] != 'Z')) FAIL();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  char out[25 + OUT_GUARD], ref[32], again[25 + OUT_GUARD];
  int ok, rok;
  if (size == 0) return 0;
  memset(out, 0xA5, sizeof out);
  memset(again, 0xA5, sizeof again);
  if (data[0] >= 200) {
    double secs;
    uint8_t b[8] = { 0 };
    memcpy(b, data + 1, size - 1 < 8 ? size - 1 : 8);
    memcpy(&secs, b, sizeof secs);
    ok = bz_datetime_from_unix(secs, out);
    rok = ref_unix(secs, ref);
  } else {
    size_t n = size - 1;
    char *s = (char *)malloc(n ? n : 1);  /* exact size: ASan sees any read past s[n-1] */
    if (s == NULL) return 0;
    memcpy(s, data + 1, n);
    ok = bz_datetime_parse(s, n, out);
    rok = ref_parse(s, n, ref);
    free(s);
  }
  check_out(out, ok);
  if (ok != rok) FAIL();                                  /* differ on validity */
  if (ok && memcmp(out, ref, BZ_DATETIME_LEN) != 0) FAIL(); /* differ on the value */
  if (ok) {  /* the normalised form is canonical: it parses to itself */
    if (!bz_datetime_parse(out, BZ_DATETIME_LEN, again) || memcmp(again, out, BZ_DATETIME_LEN) != 0) FAIL();
    check_out(again, 1);
  }
  return 0;
}
