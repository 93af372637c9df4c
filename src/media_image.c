/* PNG and JPEG, judged like a decoder would need them: PNG dimensions from IHDR and
 * the chunk walk (IHDR first, PLTE before IDAT for indexed colour, one IDAT run, IEND,
 * every CRC valid); JPEG markers up to the first SOFn (dimensions), a complete scan and
 * EOI. Both read forward through a media_src (media_src.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include "media_src.h"

/* Upper bound on JPEG marker segments visited. Real files have a few dozen;
 * this only caps the work on crafted input. */
#define JPEG_MAX_SEGMENTS 100000

static uint32_t be16(const unsigned char *p) { return ((uint32_t)p[0] << 8) | (uint32_t)p[1]; }

static uint32_t be32(const unsigned char *p) {
  return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | (uint32_t)p[3];
}

/* ---- PNG ------------------------------------------------------------------- */


/* h holds the first n bytes. The first chunk must be a complete IHDR: length 13,
 * type "IHDR", 13 data bytes present; width/height 1..2^31-1 (PNG spec). */
static void png_dims(const unsigned char *h, size_t n, bz_media_info *out) {
  uint32_t w, ht;
  if (n < 8 + 4 + 4 + 13) return;
  if (be32(h + 8) != 13 || memcmp(h + 12, "IHDR", 4) != 0) return;
  w = be32(h + 16);
  ht = be32(h + 20);
  if (w == 0 || ht == 0 || w > 0x7FFFFFFFu || ht > 0x7FFFFFFFu) return;
  out->has_dims = 1;
  out->width = w;
  out->height = ht;
}

/* CRC-32 (ISO-HDLC, as PNG), slice-by-8: built per probe (a few µs), no global state. */
typedef struct crc_tab { uint32_t t[8][256]; } crc_tab;

static void crc_init(crc_tab *c) {
  uint32_t i, k, v;
  for (i = 0; i < 256; i++) {
    for (v = i, k = 0; k < 8; k++) v = (v >> 1) ^ (0xEDB88320u & (0u - (v & 1u)));
    c->t[0][i] = v;
  }
  for (i = 0; i < 256; i++)
    for (k = 1; k < 8; k++) c->t[k][i] = (c->t[k - 1][i] >> 8) ^ c->t[0][c->t[k - 1][i] & 255];
}

/* reg: running register (start 0xFFFFFFFF, final value inverted). */
static uint32_t crc_run(const crc_tab *c, uint32_t reg, const unsigned char *p, size_t n) {
  while (n >= 8) {
    uint32_t a = reg ^ ((uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24);
    reg = c->t[7][a & 255] ^ c->t[6][(a >> 8) & 255] ^ c->t[5][(a >> 16) & 255] ^ c->t[4][a >> 24] ^
          c->t[3][p[4]] ^ c->t[2][p[5]] ^ c->t[1][p[6]] ^ c->t[0][p[7]];
    p += 8;
    n -= 8;
  }
  while (n--) reg = c->t[0][(reg ^ *p++) & 255] ^ (reg >> 8);
  return reg;
}

static int png_type_ok(const unsigned char *t) {
  int i;
  for (i = 0; i < 4; i++)
    if (!((t[i] >= 'A' && t[i] <= 'Z') || (t[i] >= 'a' && t[i] <= 'z'))) return 0;
  return 1;
}

/* IHDR data: size 1..2^31-1, bit depth allowed for the colour type, methods 0, interlace 0/1. */
static int png_ihdr_ok(const unsigned char *d) {
  unsigned depth = d[8], color = d[9];
  int d8 = depth == 8 || depth == 16;
  if (be32(d) - 1u >= 0x7FFFFFFFu || be32(d + 4) - 1u >= 0x7FFFFFFFu) return 0;
  if (d[10] != 0 || d[11] != 0 || d[12] > 1) return 0;
  switch (color) {
    case 0: return depth == 1 || depth == 2 || depth == 4 || d8;
    case 3: return depth == 1 || depth == 2 || depth == 4 || depth == 8;
    case 2: case 4: case 6: return d8;
    default: return 0;
  }
}

#define IS(t, name) (memcmp((t), (name), 4) == 0)

/* Walks every chunk after the signature; see media.h for the rules. */
static int png_complete(media_src *s, const crc_tab *c) {
  int64_t pos = 8;
  unsigned char ihdr[13] = {0};
  int first = 1, color = -1, plte = 0, idat = 0; /* idat: 0 none yet, 1 in the run, 2 run over */
  for (;;) {
    unsigned char hd[8];
    const unsigned char *p;
    size_t got;
    uint32_t len, left, reg;
    p = bz_src_at(s, pos, 8, &got);
    if (got < 8) return 0;
    memcpy(hd, p, 8);
    len = be32(hd);
    if (len > 0x7FFFFFFFu || !png_type_ok(hd + 4)) return 0;
    if (first != IS(hd + 4, "IHDR") || (first && len != 13)) return 0;
    reg = crc_run(c, 0xFFFFFFFFu, hd + 4, 4);
    pos += 8;
    for (left = len; left > 0; left -= (uint32_t)got, pos += (int64_t)got) {
      p = bz_src_at(s, pos, left < STEP ? left : STEP, &got);
      if (got == 0 || (first && got < 13)) return 0;
      if (first) memcpy(ihdr, p, 13); /* len 13 < STEP: one piece */
      reg = crc_run(c, reg, p, got);
    }
    p = bz_src_at(s, pos, 4, &got);
    if (got < 4 || be32(p) != (reg ^ 0xFFFFFFFFu)) return 0;
    pos += 4;
    if (first) {
      if (!png_ihdr_ok(ihdr)) return 0;
      color = ihdr[9];
      first = 0;
    } else if (IS(hd + 4, "PLTE")) {
      if (idat || plte || len == 0 || len % 3 != 0 || len > 768) return 0;
      plte = 1;
    } else if (IS(hd + 4, "IDAT")) {
      if (idat == 2 || (color == 3 && !plte)) return 0;
      idat = 1;
    } else {
      if (idat == 1) idat = 2;
      if (IS(hd + 4, "IEND")) return idat != 0 && len == 0;
    }
  }
}

/* ---- JPEG ------------------------------------------------------------------ */

static int jpeg_is_sof(unsigned m) {
  return m >= 0xC0 && m <= 0xCF && m != 0xC4 && m != 0xC8 && m != 0xCC;
}

/* *pos is just past a scan header: finds the marker that ends the entropy-coded data
 * (0xFF not followed by a stuffed 0x00, an RSTn or a fill 0xFF). 0 at the end of data. */
static int jpeg_skip_scan(media_src *s, int64_t *pos) {
  int64_t p = *pos;
  for (;;) {
    size_t got, k;
    const unsigned char *w = bz_src_at(s, p, STEP, &got), *ff;
    unsigned next;
    if (got < 2) return 0;
    ff = (const unsigned char *)memchr(w, 0xFF, got - 1); /* the byte after it is in w */
    if (ff == NULL) {
      p += (int64_t)got - 1;
      continue;
    }
    k = (size_t)(ff - w);
    next = w[k + 1];
    if (next == 0x00 || (next >= 0xD0 && next <= 0xD7)) {
      p += (int64_t)k + 2;
    } else if (next == 0xFF) {
      p += (int64_t)k + 1;
    } else {
      *pos = p + (int64_t)k;
      return 1;
    }
  }
}

/* Walks the marker segments after SOI (offset 2): dimensions from the first SOFn
 * (as before: set once the SOF is read, whatever follows) and completeness.
 * Segments are skipped by their length field; scans by jpeg_skip_scan. */
static void jpeg_walk(media_src *s, bz_media_info *out) {
  int64_t pos = 2;
  int seg, sof = 0, scans = 0;
  for (seg = 0; seg < JPEG_MAX_SEGMENTS; seg++) {
    const unsigned char *w;
    size_t got, i;
    unsigned m;
    uint32_t len;

    w = bz_src_at(s, pos, 16, &got);
    if (got < 2 || w[0] != 0xFF) return; /* end of data, or not at a marker */
    for (i = 1; i < got && w[i] == 0xFF; i++) {
    } /* fill bytes */
    if (i == got) { /* window is all 0xFF: slide, keeping one 0xFF at pos */
      pos += (int64_t)(got - 1);
      continue;
    }
    m = w[i];
    pos += (int64_t)i + 1; /* just past the marker byte */
    if (m == 0xD9) { /* EOI */
      out->complete = sof && scans;
      return;
    }
    if (m == 0x01 || (m >= 0xD0 && m <= 0xD7)) continue; /* TEM, RSTn: no length */
    if (m == 0x00 || m == 0xD8) return;                   /* stuffed zero, second SOI: corrupt */

    w = bz_src_at(s, pos, 7, &got);
    if (got < 2) return;
    len = be16(w); /* includes its own two bytes */
    if (len < 2) return;
    if (jpeg_is_sof(m)) {
      uint32_t height, width;
      /* Lf(2) P(1) Y(2) X(2) Nf(1): a valid SOF is at least 8 bytes long */
      if (sof || len < 8 || got < 7) return;
      height = be16(w + 3);
      width = be16(w + 5);
      if (width == 0 || height == 0) return; /* height 0: defined later by DNL */
      out->has_dims = 1;
      out->width = width;
      out->height = height;
      sof = 1;
    } else if (m == 0xDA) {
      if (!sof) return; /* a scan needs its frame header first */
      pos += (int64_t)len;
      if (!jpeg_skip_scan(s, &pos)) return;
      scans++;
      continue;
    }
    pos += (int64_t)len;
  }
}

void bz_png_probe(media_src *s, const unsigned char *h, size_t n, bz_media_info *out) {
  crc_tab *c = (crc_tab *)malloc(sizeof *c);
  out->type = BZ_MEDIA_PNG;
  png_dims(h, n, out);
  if (c == NULL) {
    s->err = ENOMEM;
    return;
  }
  crc_init(c);
  out->complete = png_complete(s, c);
  free(c);
}

void bz_jpeg_probe(media_src *s, bz_media_info *out) {
  out->type = BZ_MEDIA_JPEG;
  jpeg_walk(s, out);
}
