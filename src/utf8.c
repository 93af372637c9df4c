#include "utf8.h"

int bz_utf8_check(const unsigned char *s, size_t n, size_t *cps) {
  size_t i = 0, count = 0;
  while (i < n) {
    unsigned c = s[i];
    size_t need;
    unsigned cp, min;
    if (c < 0x80) { i++; count++; continue; }
    if (c >= 0xC2 && c <= 0xDF) { need = 1; cp = c & 0x1F; min = 0x80; }
    else if (c >= 0xE0 && c <= 0xEF) { need = 2; cp = c & 0x0F; min = 0x800; }
    else if (c >= 0xF0 && c <= 0xF4) { need = 3; cp = c & 0x07; min = 0x10000; }
    else return 0;
    if (n - i <= need) return 0;
    for (size_t k = 1; k <= need; k++) {
      unsigned cc = s[i + k];
      if ((cc & 0xC0) != 0x80) return 0;
      cp = (cp << 6) | (cc & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    i += need + 1;
    count++;
  }
  *cps = count;
  return 1;
}
