#include <math.h>
#include <string.h>
#include "rules.h"

static int is_digit(char c) { return c >= '0' && c <= '9'; }
static int is_hex(char c) { return is_digit(c) || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F'); }

static int all_digits(const char *s, size_t n) {
  size_t i;
  for (i = 0; i < n; i++) if (!is_digit(s[i])) return 0;
  return n > 0;
}

static int is_alnum(char c) { return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }

/* RFC 5322 atext: what an unquoted local part may hold besides dots. */
static int is_atext(char c) { return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+/=?^_`{|}~-", c) != NULL); }

/* format: email as RFC 5321 has it, without quoted strings or address literals:
 * Dot-string "@" Domain. The local part (<= 64) is atext atoms joined by single dots;
 * the domain (<= 255) is two or more labels of letters, digits and hyphens (LDH), each
 * 1..63 long and starting and ending with a letter or digit. */
static int email_ok(const char *s, size_t n) {
  const char *at = memchr(s, '@', n);
  size_t i, local, start, labels = 0;
  if (at == NULL) return 0;
  local = (size_t)(at - s);
  if (local == 0 || local > 64 || n - local - 1 > 255) return 0;
  for (i = 0; i < local; i++) {
    if (s[i] != '.') {
      if (!is_atext(s[i])) return 0;
    } else if (i == 0 || i == local - 1 || s[i - 1] == '.') {
      return 0;
    }
  }
  for (start = local + 1;; start = i + 1) {
    for (i = start; i < n && s[i] != '.'; i++)
      if (!is_alnum(s[i]) && s[i] != '-') return 0;
    if (i == start || i - start > 63 || s[start] == '-' || s[i - 1] == '-') return 0;
    labels++;
    if (i == n) return labels >= 2;
  }
}

/* s starts with p, ASCII case-insensitively (URL schemes are, RFC 3986 3.1), and has more. */
static int iprefix(const char *s, size_t n, const char *p) {
  size_t i, k = strlen(p);
  if (n <= k) return 0;
  for (i = 0; i < k; i++) {
    char c = s[i];
    if (c >= 'A' && c <= 'Z') c = (char)(c - 'A' + 'a');
    if (c != p[i]) return 0;
  }
  return 1;
}

int bz_rule_ok(bz_rule r, const char *s, size_t n) {
  size_t i;
  switch (r) {
    case BZ_R_EMAIL: return email_ok(s, n);
    case BZ_R_DIGITS5: return n == 5 && all_digits(s, n);
    case BZ_R_HEXCOLOR:
      if ((n != 4 && n != 7) || s[0] != '#') return 0;
      for (i = 1; i < n; i++) if (!is_hex(s[i])) return 0;
      return 1;
    case BZ_R_HTTP_URL: return iprefix(s, n, "http://") || iprefix(s, n, "https://");
    case BZ_R_LANDLINE: return all_digits(s, n) && !(n >= 3 && memcmp(s, "010", 3) == 0);
    case BZ_R_DIGITS_NZ: return all_digits(s, n) && s[0] != '0';
    default: return 1;
  }
}

/* Days since 1970-01-01 of a proleptic Gregorian date (era-based, exact for all years). */
static long long days_from_civil(long long y, unsigned m, unsigned d) {
  long long era;
  unsigned yoe, doy, doe;
  y -= m <= 2;
  era = (y >= 0 ? y : y - 399) / 400;
  yoe = (unsigned)(y - era * 400);
  doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
  doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + (long long)doe - 719468;
}

static void civil_from_days(long long z, long long *y, unsigned *m, unsigned *d) {
  long long era;
  unsigned doe, yoe, doy, mp;
  z += 719468;
  era = (z >= 0 ? z : z - 146096) / 146097;
  doe = (unsigned)(z - era * 146097);
  yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  mp = (5 * doy + 2) / 153;
  *d = doy - (153 * mp + 2) / 5 + 1;
  *m = mp < 10 ? mp + 3 : mp - 9;
  *y = (long long)yoe + era * 400 + (*m <= 2);
}

static void digits(char *p, unsigned v, int k) {
  while (k-- > 0) { p[k] = (char)('0' + v % 10); v /= 10; }
}

static int format_ms(long long ms, char *out) {
  long long secs = ms >= 0 ? ms / 1000 : -((-ms + 999) / 1000);
  long long days = secs >= 0 ? secs / 86400 : -((-secs + 86399) / 86400);
  long long rem = secs - days * 86400, y;
  unsigned m, d;
  civil_from_days(days, &y, &m, &d);
  if (y < 1 || y > 9999) return 0;
  /* YYYY-MM-DDTHH:MM:SS.mmmZ, written by hand: this runs for every image */
  memcpy(out, "0000-00-00T00:00:00.000Z", BZ_DATETIME_LEN + 1);
  digits(out, (unsigned)y, 4);
  digits(out + 5, m, 2);
  digits(out + 8, d, 2);
  digits(out + 11, (unsigned)(rem / 3600), 2);
  digits(out + 14, (unsigned)(rem / 60 % 60), 2);
  digits(out + 17, (unsigned)(rem % 60), 2);
  digits(out + 20, (unsigned)(ms - secs * 1000), 3);
  return 1;
}

/* validate.c writes dates into its date-time buffer */
typedef char bz_date_fits_datetime_buffer[BZ_DATE_LEN <= BZ_DATETIME_LEN ? 1 : -1];

static const unsigned days_in_month[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };

static int num(const char *s, int k) {
  int v = 0, i;
  for (i = 0; i < k; i++) {
    if (!is_digit(s[i])) return -1;
    v = v * 10 + (s[i] - '0');
  }
  return v;
}

static inline int date_ok(int y, int mo, int d, int h, int mi, int se) {
  if (y < 1 || mo < 1 || mo > 12 || d < 1 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 59)
    return 0;
  return d <= (int)days_in_month[mo - 1] + (mo == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0));
}

/* Digit pairs of the canonical form "YYYY-MM-DDTHH:MM:SS.mmmZ" (what is sent, and what
 * callers usually pass), read without a loop: v is the value, or -1 if not two digits. */
static inline int two(const char *s) {
  unsigned a = (unsigned char)s[0] - '0', b = (unsigned char)s[1] - '0';
  return a < 10 && b < 10 ? (int)(a * 10 + b) : -1;
}

/* 1 when s (24 bytes) is a valid date-time in the canonical form. */
static int canonical(const char *s) {
  int c1, c2, ms;
  if (s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' || s[19] != '.' || s[23] != 'Z')
    return 0;
  c1 = two(s);
  c2 = two(s + 2);
  ms = two(s + 20);
  if (c1 < 0 || c2 < 0 || ms < 0 || (unsigned)((unsigned char)s[22] - '0') > 9u) return 0;
  return date_ok(c1 * 100 + c2, two(s + 5), two(s + 8), two(s + 11), two(s + 14), two(s + 17));
}

int bz_datetime_parse(const char *s, size_t n, char *out) {
  int y, mo, d, h, mi, se, ms = 0, off = 0;
  size_t i = 19;
  if (n == BZ_DATETIME_LEN && canonical(s)) {  /* already canonical: nothing to convert */
    memcpy(out, s, BZ_DATETIME_LEN);
    out[BZ_DATETIME_LEN] = '\0';
    return 1;
  }
  if (n < 20 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't') ||
      s[13] != ':' || s[16] != ':')
    return 0;
  y = num(s, 4); mo = num(s + 5, 2); d = num(s + 8, 2);
  h = num(s + 11, 2); mi = num(s + 14, 2); se = num(s + 17, 2);
  if (!date_ok(y, mo, d, h, mi, se)) return 0;
  if (s[i] == '.') {
    int digits = 0;
    for (i++; i < n && is_digit(s[i]); i++, digits++)
      if (digits < 3) ms = ms * 10 + (s[i] - '0');
    if (digits == 0) return 0;
    for (; digits < 3; digits++) ms *= 10;
  }
  if (i == n - 1 && (s[i] == 'Z' || s[i] == 'z')) {
    off = 0;
  } else if (i + 6 == n && (s[i] == '+' || s[i] == '-') && s[i + 3] == ':') {
    int oh = num(s + i + 1, 2), om = num(s + i + 4, 2);
    if (oh < 0 || oh > 23 || om < 0 || om > 59) return 0;
    off = (oh * 60 + om) * (s[i] == '-' ? -1 : 1);
  } else {
    return 0;
  }
  return format_ms(((days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400LL + h * 3600 + mi * 60 + se)
                    - off * 60LL) * 1000 + ms, out);
}

/* A date only: a time other than midnight UTC (or an offset, which would move the day)
 * is refused rather than converted, so the day sent is the day the caller wrote. */
int bz_date_parse(const char *s, size_t n, char *out) {
  static const char midnight[] = "00:00:00.000Z";
  int y, mo, d;
  if ((n != 10 && n != BZ_DATE_LEN) || s[4] != '-' || s[7] != '-') return 0;
  if (n == BZ_DATE_LEN && ((s[10] != ' ' && s[10] != 'T') || memcmp(s + 11, midnight, sizeof midnight - 1) != 0))
    return 0;
  y = num(s, 4); mo = num(s + 5, 2); d = num(s + 8, 2);
  if (!date_ok(y, mo, d, 0, 0, 0)) return 0;
  memcpy(out, s, 10);
  out[10] = ' ';
  memcpy(out + 11, midnight, sizeof midnight);  /* with its NUL */
  return 1;
}

int bz_datetime_from_unix(double secs, char *out) {
  double ms;
  if (!isfinite(secs)) return 0;
  ms = floor(secs * 1000.0 + 0.5);
  if (ms < -62135596800000.0 || ms > 253402300799999.0) return 0;
  return format_ms((long long)ms, out);
}
