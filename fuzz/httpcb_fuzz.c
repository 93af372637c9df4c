/* libFuzzer harness for libcurl's callbacks in src/callbacks.c (and push_headers in src/response.c): header_cb (response header
 * lines into the "name\0value\0" block), write_cb (response body under max_body) and
 * read_cb (the request body streamed out of a bz_body).
 *
 * Why "#include ../src/callbacks.c" and "../src/response.c": the callbacks are static (only
 * libcurl calls them, through function pointers), and driving them through a real transfer
 * would test libcurl's framing instead of ours. Including the files reaches them without
 * changing them; the rest of the transport is linked (Makefile TRANSPORT_REST). The harness
 * relies only on the three callback signatures, the bz_http fields hdrs/resp/max_body/fail/
 * send_kind/up_total, and the public http.h functions (bz_http_new/prepare/begin/end) used to
 * set up read_cb: req = {method=, url=, body=} with body a bz_body (BZ_SEND_STREAM) or the same
 * bytes as a Lua string (BZ_SEND_STRING, h->str).
 *
 * Input: first byte = mode. 0: header lines; 1: body chunks into write_cb; 2: a request
 * body (memory and file segments) read through read_cb in fuzzed sizes.
 *   make fuzz-httpcb FUZZ_SECONDS=60 */
#include "../src/callbacks.c"
#include "../src/response.c"
#include <stdlib.h>  /* getenv: undeclared, its pointer was cut to an int (SEGV in strcmp) */
#include <unistd.h>
#include <lualib.h>

/* A failed check names its line (the comment there says what was expected), then aborts. */
#define FAIL() (fprintf(stderr, "check failed at %s:%d\n", __FILE__, __LINE__), abort())

typedef struct { const uint8_t *p, *end; } src;
static unsigned next(src *s) { return s->p < s->end ? *s->p++ : 0; }

static lua_State *L;  /* harness-only: one state for the whole run */

/* An HTTP token character (RFC 9110), as request.c checks methods. */
static int tchar(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

static int hws(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

/* The block invariants: NUL-terminated name/value pairs filling exactly hdrs.len bytes,
 * names non-empty, lower-case, without ':' and without surrounding blanks, values without
 * surrounding white space. Returns the number of pairs. */
/* Two known quirks of header_cb give a name or value an outer space: a NUL byte becomes a
 * space after the blanks were trimmed ("Retry-After:\0 3" -> " 3"), and a folded line
 * continuing an empty value starts it with the joining space ("X:" + " a" -> " a").
 * Tolerated unless BZ_FUZZ_STRICT=1 (fuzz/regress/httpcb/ holds one input for each). */
static int strict;

static size_t check_block(const bz_buf *b) {
  size_t o = 0, pairs = 0;
  if (b->len > b->cap) FAIL();
  while (o < b->len) {
    const char *name = b->p + o, *value, *nul;
    size_t nl, vl, k;
    nul = memchr(name, '\0', b->len - o);
    if (nul == NULL) FAIL();
    nl = (size_t)(nul - name);
    if (nl == 0 || name[0] == '\t' || name[nl - 1] == '\t') FAIL();
    if ((name[0] == ' ' || name[nl - 1] == ' ') && strict) FAIL();
    for (k = 0; k < nl; k++) if ((name[k] >= 'A' && name[k] <= 'Z') || name[k] == ':') FAIL();
    o += nl + 1;
    if (o >= b->len) FAIL();  /* a name without its value */
    value = b->p + o;
    nul = memchr(value, '\0', b->len - o);
    if (nul == NULL) FAIL();
    vl = (size_t)(nul - value);
    if (vl > 0 && ((hws(value[0]) && (strict || value[0] != ' ')) ||
                   (hws(value[vl - 1]) && (strict || value[vl - 1] != ' '))))
      FAIL();
    o += vl + 1;
    pairs++;
  }
  return pairs;
}

/* A line "Name: value" whose name is a token and whose value has no surrounding blanks
 * must end up as the last pair, name lower-cased. */
static int plain_header(const char *p, size_t n, size_t *colon) {
  size_t k, c = 0, end = n;
  while (end > 0 && (p[end - 1] == '\r' || p[end - 1] == '\n')) end--;
  for (k = 0; k < end && p[k] != ':'; k++) if (!tchar((unsigned char)p[k])) return 0;
  if (k == 0 || k == end || k + 2 >= end || p[k + 1] != ' ' || hws(p[k + 2]) || hws(p[end - 1])) return 0;
  if (end >= 5 && memcmp(p, "HTTP/", 5) == 0) return 0;
  for (c = k + 2; c < end; c++) if (p[c] == '\0' || p[c] == '\r' || p[c] == '\n') return 0;
  *colon = k;
  return 1;
}

static void fuzz_headers(src *s) {
  bz_http h;
  char line[512];
  memset(&h, 0, sizeof h);
  while (s->p < s->end) {
    size_t n = next(s) % sizeof line, k, colon, reps = 1, before;
    size_t rc;
    if (n > (size_t)(s->end - s->p)) n = (size_t)(s->end - s->p);
    memcpy(line, s->p, n);
    s->p += n;
    if (n > 0 && line[0] == '~') reps = 1 + (next(s) << 8 | next(s)) % 8192;  /* repeat: reach the block limit */
    for (k = 0; k < reps; k++) {
      before = h.hdrs.len;
      rc = header_cb(line, 1, n, &h);
      if (rc != n) {
        if (rc != 0 || h.fail == BZ_FAIL_NONE) FAIL();  /* a refusal always says why */
        if (h.hdrs.len != before) FAIL();                /* and leaves the block as it was */
        check_block(&h.hdrs);
        goto done;
      }
    }
    check_block(&h.hdrs);
#ifdef BZ_MAX_HEADER_BYTES
    if (h.hdrs.len > BZ_MAX_HEADER_BYTES) FAIL();
#endif
    if (n >= 5 && memcmp(line, "HTTP/", 5) == 0 && h.hdrs.len != 0) FAIL();  /* a new response starts afresh */
    if (plain_header(line, n, &colon)) {
      const char *last, *val;
      size_t o = 0, pl = 0, i;
      while (o < h.hdrs.len) {  /* find the last pair */
        pl = o;
        o += strlen(h.hdrs.p + o) + 1;
        o += strlen(h.hdrs.p + o) + 1;
      }
      last = h.hdrs.p + pl;
      val = last + strlen(last) + 1;
      if (strlen(last) != colon) FAIL();
      for (i = 0; i < colon; i++) if (last[i] != lower(line[i])) FAIL();
      {
        size_t end = n;
        while (end > 0 && (line[end - 1] == '\r' || line[end - 1] == '\n')) end--;
        if (strlen(val) != end - colon - 2 || memcmp(val, line + colon + 2, end - colon - 2) != 0) FAIL();
      }
    }
  }
  /* The block as Lua sees it: every name present, repeated ones joined. Big blocks only in
   * strict runs: push_headers joins repeated names with lua_concat, quadratic in the repeats
   * (200,000 "a: b" lines take 7.5 s; reported; fuzz/regress/httpcb/repeated-header runs into
   * run.sh's 10 s bound), which would only slow the fuzzing down. */
  if (strict || check_block(&h.hdrs) <= 1000) {
    int top = lua_gettop(L);
    size_t o = 0;
    push_headers(L, &h.hdrs);
    while (o < h.hdrs.len) {
      const char *name = h.hdrs.p + o;
      o += strlen(name) + 1;
      o += strlen(h.hdrs.p + o) + 1;
      lua_getfield(L, top + 1, name);
      if (lua_type(L, -1) != LUA_TSTRING) FAIL();
      lua_pop(L, 1);
    }
    lua_settop(L, top);
  }
done:
  bz_buf_free(&h.hdrs);
}

static void fuzz_body(src *s) {
  bz_http h;
  char *ref = NULL, chunk[1024];
  size_t reflen = 0;
  memset(&h, 0, sizeof h);
  h.max_body = (next(s) << 8 | next(s)) * 4;
  while (s->p < s->end) {
    size_t n = next(s) * 7 % sizeof chunk, rc;
    if (n > (size_t)(s->end - s->p)) n = (size_t)(s->end - s->p);
    memcpy(chunk, s->p, n);
    s->p += n;
    rc = write_cb(chunk, 1, n, &h);
    if (rc != n) {
      if (rc != 0 || h.fail == BZ_FAIL_NONE || reflen + n <= h.max_body) FAIL();
      break;
    }
    ref = (char *)realloc(ref, reflen + n + 1);
    memcpy(ref + reflen, chunk, n);
    reflen += n;
    if (h.resp.len != reflen || h.resp.len > h.max_body || (reflen && memcmp(h.resp.p, ref, reflen) != 0)) FAIL();
  }
  free(ref);
  bz_buf_free(&h.resp);
}

/* read_cb: a body of memory and file segments (files may change before the transfer);
 * the bytes handed to libcurl are the body's, never more than its size. */
static void fuzz_upload(src *s) {
  int top = lua_gettop(L), nfiles = 0, i, changed = 0;
  char paths[4][64], buf[4096];
  bz_body *b = bz_body_push(L), ref_body;
  bz_body_reader rr;
  bz_http *h;
  char *ref;
  size_t reflen = 0, pos = 0, guard;
  unsigned first = next(s), nsegs = first % 6;
  int as_string = (first & 0x80) != 0;  /* send the reference bytes as a Lua string body */
  memset(&ref_body, 0, sizeof ref_body);
  for (i = 0; i < (int)nsegs; i++) {
    size_t n = next(s) * 9, avail;
    int as_file = (next(s) & 1) && nfiles < 4;
    avail = (size_t)(s->end - s->p);
    if (n > avail) n = avail;
    if (as_file) {
      int fd;
      snprintf(paths[nfiles], sizeof paths[nfiles], "/tmp/bz_cb_fuzz.XXXXXX");
      fd = mkstemp(paths[nfiles]);
      if (fd < 0) FAIL();
      if (n && write(fd, s->p, n) != (ssize_t)n) FAIL();
      close(fd);
      if (bz_body_add_file_checked(b, paths[nfiles], (int64_t)n, NULL, NULL) != 0) FAIL();
      nfiles++;
    } else if (bz_body_add_mem(b, s->p, n) != 0) {
      FAIL();
    }
    s->p += n;
  }
  /* The reference: the same body read in one go before anything changes. */
  ref = (char *)malloc((size_t)b->total + 1);
  bz_reader_init(&rr, b);
  while ((size_t)b->total > reflen) {
    size_t got = bz_reader_read(&rr, ref + reflen, (size_t)b->total - reflen);
    if (got == (size_t)-1 || got == 0) FAIL();
    reflen += got;
  }
  bz_reader_close(&rr);
  if (nfiles && (next(s) & 3) == 0) {  /* a file grows between validation and sending */
    FILE *fp = fopen(paths[next(s) % (unsigned)nfiles], "ab");
    if (fp) { fputc('x', fp); fclose(fp); changed = 1; }
  }
  lua_getfield(L, LUA_REGISTRYINDEX, "fuzz.http");
  h = (bz_http *)lua_touserdata(L, -1);
  lua_createtable(L, 0, 3);
  lua_pushliteral(L, "POST");
  lua_setfield(L, -2, "method");
  lua_pushliteral(L, "http://127.0.0.1:9/");
  lua_setfield(L, -2, "url");
  if (as_string) {
    lua_pushlstring(L, ref, reflen);
    changed = 0;  /* a string body does not see the file change */
  } else {
    lua_pushvalue(L, top + 1);
  }
  lua_setfield(L, -2, "body");
  if (bz_http_prepare(L, h, lua_gettop(L)) != 0) FAIL();
  if (h->up_total != (int64_t)reflen) FAIL();  /* Content-Length is the body's size */
  if (h->send_kind != (reflen == 0 ? BZ_SEND_NONE : as_string ? BZ_SEND_STRING : BZ_SEND_STREAM)) FAIL();
  bz_http_begin(h);
  for (guard = 0; guard < 100000; guard++) {
    unsigned op = next(s);
    size_t size = 1 + op % 3, nmemb = 1 + (op * 37) % (sizeof buf / size), got;
    got = read_cb(buf, size, nmemb, h);
    if (got == CURL_READFUNC_ABORT) {
      if (!changed || h->fail == BZ_FAIL_NONE) FAIL();  /* aborted an unchanged body, or without a reason */
      break;
    }
    if (got > size * nmemb || pos + got > reflen) FAIL();
    if (got && memcmp(buf, ref + pos, got) != 0) FAIL();
    pos += got;
    if (got == 0) {
      if (pos != reflen) FAIL();  /* stopped early */
      if (read_cb(buf, 1, 1, h) != 0) FAIL();  /* and stays at the end */
      break;
    }
  }
  bz_http_end(h);
  for (i = 0; i < nfiles; i++) unlink(paths[i]);
  free(ref);
  lua_settop(L, top);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  src s = { data, data + size };
  if (L == NULL) {
    const char *e = getenv("BZ_FUZZ_STRICT");
    strict = e != NULL && strcmp(e, "1") == 0;
    L = luaL_newstate();
    luaL_openlibs(L);
    bz_body_open(L);
    bz_http_open(L);
    lua_pushcfunction(L, bz_http_new);
    lua_call(L, 0, 1);
    lua_setfield(L, LUA_REGISTRYINDEX, "fuzz.http");
  }
  switch (next(&s) % 3) {
    case 0: fuzz_headers(&s); break;
    case 1: fuzz_body(&s); break;
    default: fuzz_upload(&s);
  }
  if (size > 0 && (data[0] & 0x80) != 0) lua_gc(L, LUA_GCCOLLECT, 0);
  return 0;
}
