/* One transfer on a handle, below both ways of running it (easy.c blocks, multi.c
 * does not): the handle check, the request's set-up on an idle handle (the request
 * table read and checked, header list, method and body options, per-transfer state:
 * bz_http_prepare), and the start and end of the transfer (bz_http_begin/end). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"

/* ---- a transfer on a handle (shared by easy.c and multi.c) ------------------- */

bz_http *bz_http_check(lua_State *L, int idx) {
  bz_http *h = (bz_http *)luaL_checkudata(L, idx, BZ_HTTP_MT);
  if (h->easy == NULL) luaL_error(L, "bizreg.http: the handle is closed");
  return h;
}

long bz_seconds_to_ms(double s) {
  long ms = (long)(s * 1000.0);
  if ((double)ms < s * 1000.0) ms++;  /* round up; never 0 for a positive time */
  return ms;
}

void bz_http_begin(bz_http *h) {
  if (h->send_kind == BZ_SEND_STREAM) {
    bz_reader_init(&h->rd, h->body);
    h->rd_open = 1;
  }
}

void bz_http_end(bz_http *h) {
  if (h->rd_open) {
    bz_reader_close(&h->rd);
    h->rd_open = 0;
  }
  h->progress = 0;
  h->L = NULL;
  h->fn_idx = 0;
  h->anchors_idx = 0;
  h->body = NULL;
  h->str = NULL;
}

/* ---- the request table ------------------------------------------------------- */

static char lower(char c) { return (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c; }

static int is_tchar(unsigned char c) {
  if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) return 1;
  return c != 0 && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

/* Escapes a header name for an error message: printable ASCII kept, the rest as \r \n \0 \xHH. */
static void escape_name(char *dst, size_t dn, const char *s, size_t n) {
  size_t o = 0, i;
  for (i = 0; i < n && o + 5 < dn; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '\r') { dst[o++] = '\\'; dst[o++] = 'r'; }
    else if (c == '\n') { dst[o++] = '\\'; dst[o++] = 'n'; }
    else if (c == 0) { dst[o++] = '\\'; dst[o++] = '0'; }
    else if (c < 0x20 || c >= 0x7f || c == '\\') o += (size_t)snprintf(dst + o, dn - o, "\\x%02X", c);
    else dst[o++] = (char)c;
  }
  if (i < n && o + 4 <= dn) { memcpy(dst + o, "...", 3); o += 3; }
  dst[o] = '\0';
}

/* req.timeout: seconds (> 0, finite; capped like the handle's) for this request only;
 * absent: the handle's own timeout, so an earlier override never sticks. */
static long req_timeout(lua_State *L, bz_http *h, int req) {
  double v;
  lua_getfield(L, req, "timeout");
  if (lua_isnil(L, -1)) {
    lua_pop(L, 1);
    return h->timeout_ms;
  }
  if (lua_type(L, -1) != LUA_TNUMBER) luaL_argerror(L, req, "req.timeout must be a number of seconds");
  v = (double)lua_tonumber(L, -1);
  lua_pop(L, 1);
  if (!(v > 0 && v < HUGE_VAL)) luaL_argerror(L, req, "req.timeout must be > 0 and finite");
  return bz_seconds_to_ms(v < BZ_MAX_SECONDS ? v : BZ_MAX_SECONDS);
}

/* The request table's fields, read and type-checked (programmer errors raise). */
typedef struct bz_req {
  const char *method, *url, *body_str;
  size_t blen, ulen;
  const bz_body *body;
  int req, i_hdr, has_fn, is_head, post_verb, is_get;
  long timeout_ms;
} bz_req;

/* Pushes req.method, url, headers, body, on_progress at base+1..base+5 (they stay
 * there, anchoring the strings and the body) and checks their types. */
static void read_fields(lua_State *L, bz_http *h, int req, int base, bz_req *r) {
  size_t mlen = 3, k;
  static const char *const names[] = { "method", "url", "headers", "body", "on_progress" };
  for (k = 0; k < 5; k++) lua_getfield(L, req, names[k]);
  memset(r, 0, sizeof *r);
  r->req = req;
  r->i_hdr = base + 3;
  r->method = "GET";
  if (!lua_isnil(L, base + 1)) {
    if (lua_type(L, base + 1) != LUA_TSTRING) luaL_argerror(L, req, "req.method must be a string");
    r->method = lua_tolstring(L, base + 1, &mlen);
    for (k = 0; k < mlen; k++) if (!is_tchar((unsigned char)r->method[k])) break;
    if (mlen == 0 || mlen > 32 || k < mlen) luaL_argerror(L, req, "req.method must be an HTTP method token");
  }
  if (lua_type(L, base + 2) != LUA_TSTRING) luaL_argerror(L, req, "req.url must be a string");
  r->url = lua_tolstring(L, base + 2, &r->ulen);
  if (strlen(r->url) != r->ulen) luaL_argerror(L, req, "req.url must not contain NUL");
  if (!lua_isnil(L, r->i_hdr) && lua_type(L, r->i_hdr) != LUA_TTABLE) luaL_argerror(L, req, "req.headers must be a table");
  if (lua_type(L, base + 4) == LUA_TSTRING) {
    r->body_str = lua_tolstring(L, base + 4, &r->blen);
  } else if (!lua_isnil(L, base + 4)) {
    r->body = (const bz_body *)bz_testudata(L, base + 4, BZ_BODY_MT);
    if (r->body == NULL) luaL_argerror(L, req, "req.body must be nil, a string or a body");
  }
  r->has_fn = !lua_isnil(L, base + 5);
  if (r->has_fn && lua_type(L, base + 5) != LUA_TFUNCTION) luaL_argerror(L, req, "req.on_progress must be a function");
  r->is_head = mlen == 4 && memcmp(r->method, "HEAD", 4) == 0;
  r->is_get = mlen == 3 && memcmp(r->method, "GET", 3) == 0;
  /* POST, PUT, PATCH: 1 (2 for POST itself) */
  r->post_verb = (mlen == 4 && memcmp(r->method, "POST", 4) == 0) ? 2 :
                 ((mlen == 3 && memcmp(r->method, "PUT", 3) == 0) || (mlen == 5 && memcmp(r->method, "PATCH", 5) == 0));
  if (r->is_head && (r->body_str != NULL || r->body != NULL)) luaL_argerror(L, req, "a HEAD request cannot have a body");
  r->timeout_ms = req_timeout(L, h, req);
}

/* 1 if name (n bytes) is "Content-Type" in any case. */
static int is_content_type(const char *k, size_t n) {
  size_t i;
  const char *ct = "content-type";
  if (n != 12) return 0;
  for (i = 0; i < n && lower(k[i]) == ct[i]; i++) {}
  return i == n;
}

/* The body's own Content-Type (multipart), if it is printable and terminated; else NULL. */
static const char *body_content_type(const bz_body *body, size_t *n) {
  size_t k;
  if (body == NULL || body->content_type[0] == '\0') return NULL;
  *n = strnlen(body->content_type, sizeof body->content_type);
  if (*n >= sizeof body->content_type) return NULL;
  for (k = 0; k < *n; k++)
    if ((unsigned char)body->content_type[k] < 0x20 || body->content_type[k] == 0x7f) return NULL;
  return body->content_type;
}

/* One header checked: 0, or 2 with nil, err (BAD_HEADER) pushed. The value never reaches
 * the message. */
static int check_header(lua_State *L, int base, const char *name, size_t nl, const char *value, size_t vl) {
  size_t k;
  int bad = 0;
  for (k = 0; k < nl && !bad; k++) {
    unsigned char c = (unsigned char)name[k];
    bad = c <= 0x20 || c == 0x7f || c == ':';
  }
  /* memchr is vectorised: three scans of a short value cost less than one byte loop */
  bad = bad || memchr(value, '\r', vl) != NULL || memchr(value, '\n', vl) != NULL || memchr(value, '\0', vl) != NULL;
  if (nl == 0 || bad) {
    char esc[96], msg[160];
    escape_name(esc, sizeof esc, name, nl);
    if (nl == 0) snprintf(msg, sizeof msg, "header name must not be empty");
    else snprintf(msg, sizeof msg, "header %s contains a forbidden character", esc);
    lua_settop(L, base);
    return bz_push_refused(L, "BAD_HEADER", msg);
  }
  return 0;
}

/* Appends "Name: value\0", or "Name;\0" for an empty value ("Name:" would remove the
 * header). -1: out of memory. */
static int add_line(bz_buf *b, const char *name, size_t nl, const char *value, size_t vl) {
  char *p;
  if (nl > (size_t)-1 / 2 || vl > (size_t)-1 / 2 || bz_buf_reserve(b, nl + vl + 3) != 0) return -1;
  p = b->p + b->len;
  memcpy(p, name, nl);
  p += nl;
  if (vl == 0) {
    *p++ = ';';
  } else {
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, vl);
    p += vl;
  }
  *p++ = '\0';
  b->len = (size_t)(p - b->p);
  return 0;
}

/* The request's header list, built for every request in one pass over req.headers (a
 * cache of the last list saved ~3 % of a full call: not worth its comparisons, see
 * BENCHMARKS.md): "Expect:" (no 100-continue), each of the caller's headers checked, then
 * the Content-Type unless given (the body's own for multipart, else an empty one: libcurl
 * would invent x-www-form-urlencoded for a POST). The lines go into h->hlines and the list
 * nodes into h->hnodes, both kept and reused by the next request (no allocation once they
 * are large enough); libcurl only reads the list, during the transfer. Returns 0, or 2
 * with nil, err pushed (BAD_HEADER, OUT_OF_MEMORY). */
static int build_headers(lua_State *L, bz_http *h, const bz_req *r, int base) {
  bz_buf *b = &h->hlines;
  size_t count = 1, i, off = 0, ctn;
  int has_ct = 0, oom;
  const char *ct;
  b->len = 0;
  oom = bz_buf_append(b, "Expect:", 8) != 0;
  if (!lua_isnil(L, r->i_hdr)) {
    lua_pushnil(L);
    while (lua_next(L, r->i_hdr)) {
      size_t nl, vl;
      const char *name, *value;
      int n;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, r->req, "req.headers: names and values must be strings");
      name = lua_tolstring(L, -2, &nl);
      value = lua_tolstring(L, -1, &vl);
      if ((n = check_header(L, base, name, nl, value, vl)) != 0) return n;
      if (!has_ct) has_ct = is_content_type(name, nl);
      if (!oom) oom = add_line(b, name, nl, value, vl) != 0;
      count++;
      lua_pop(L, 1);
    }
  }
  if (!has_ct) {
    ct = body_content_type(r->body, &ctn);
    if (!oom) oom = ct ? add_line(b, "Content-Type", 12, ct, ctn) != 0 : bz_buf_append(b, "Content-Type:", 14) != 0;
    count++;
  }
  if (!oom && count > h->hnodes_cap) {
    struct curl_slist *nodes = (struct curl_slist *)realloc(h->hnodes, count * 2 * sizeof *nodes);
    if (nodes == NULL) oom = 1;
    else {
      h->hnodes = nodes;
      h->hnodes_cap = count * 2;
    }
  }
  if (oom) {
    lua_settop(L, base);
    return bz_push_refused(L, "OUT_OF_MEMORY", "out of memory while building the request headers");
  }
  for (i = 0; i < count; i++) {  /* lines are NUL-free: check_header refused NUL bytes */
    h->hnodes[i].data = b->p + off;
    h->hnodes[i].next = i + 1 < count ? &h->hnodes[i + 1] : NULL;
    off += strlen(b->p + off) + 1;
  }
  return 0;
}

/* ---- options, all set for every request ------------------------------------- */

/* Method: POST (any request with a body, and POST/PUT/PATCH), GET or HEAD mode, with
 * CUSTOMREQUEST naming any other method ("" none). */
static CURLcode set_mode(CURL *e, int mode, const char *custom) {
  CURLcode rc = curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  if (rc == CURLE_OK) rc = mode == BZ_MODE_POST ? curl_easy_setopt(e, CURLOPT_POST, 1L) : curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  if (rc == CURLE_OK && mode == BZ_MODE_HEAD) rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, custom[0] ? custom : (char *)NULL);
  return rc;
}

/* Method and body. POST/PUT/PATCH and any request with a body send Content-Length (0
 * when empty), never chunked. The body always comes from read_cb (see callbacks.c):
 * with CURLOPT_POSTFIELDS libcurl could replay it by itself (it is never set). */
static CURLcode set_method_body(bz_http *h, const bz_req *r) {
  CURLcode rc;
  curl_off_t size = -1;
  int post_mode = r->body_str != NULL || r->body != NULL || r->post_verb;
  h->send_kind = BZ_SEND_NONE;
  h->body = NULL;
  h->str = NULL;
  h->up_total = 0;
  if (post_mode) {
    if (r->body != NULL && r->body->total > 0) {
      h->send_kind = BZ_SEND_STREAM;
      h->body = r->body;
      h->up_total = r->body->total;
    } else if (r->body_str != NULL && r->blen > 0) {
      h->send_kind = BZ_SEND_STRING;
      h->str = r->body_str;
      h->up_total = (int64_t)r->blen;
    }
    size = (curl_off_t)h->up_total;
    rc = set_mode(h->easy, BZ_MODE_POST, r->post_verb == 2 ? "" : r->method);
  } else {
    rc = set_mode(h->easy, r->is_head ? BZ_MODE_HEAD : BZ_MODE_GET, (r->is_head || r->is_get) ? "" : r->method);
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
  /* libcurl sends a request again by itself when a REUSED connection dies before any answer
   * (seen with 7.74: a DELETE reset after the server processed it arrived twice). A body is
   * safe (read_cb's stream cannot be rewound: CURLE_SEND_FAIL_REWIND); a request without body
   * bytes that may change something (DELETE, an empty PUT: cancels, deletes) gets a fresh
   * connection instead, which libcurl never retries that way. GET and HEAD may reuse. */
  if (rc == CURLE_OK) {
    long fresh = !r->is_get && !r->is_head && h->up_total == 0;
    rc = curl_easy_setopt(h->easy, CURLOPT_FRESH_CONNECT, fresh);
  }
  return rc;
}

static void reset_transfer(bz_http *h, int has_fn) {
  h->progress = has_fn;
  h->last_ul = 0;
  h->up_read = 0;
  h->fail = BZ_FAIL_NONE;
  h->in_headers = 0;
  h->attempts = 0;
  h->msg[0] = '\0';
  h->errbuf[0] = '\0';
  h->resp.len = 0;
  h->hdrs.len = 0;
  h->L = NULL;
  h->fn_idx = 0;
  h->anchors_idx = 0;
}

int bz_http_prepare(lua_State *L, bz_http *h, int req) {
  bz_req r;
  int base, n;
  CURLcode rc;
  req = req < 0 ? lua_gettop(L) + req + 1 : req;
  luaL_checktype(L, req, LUA_TTABLE);
  base = lua_gettop(L);
  read_fields(L, h, req, base, &r);
  if ((n = build_headers(L, h, &r, base)) != 0) return n;
  rc = curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->hnodes);
  if (rc == CURLE_OK) rc = set_method_body(h, &r);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_URL, r.url);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, r.timeout_ms);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_NOPROGRESS, r.has_fn ? 0L : 1L);
  if (rc != CURLE_OK) {
    char tmp[32], msg[160];
    snprintf(msg, sizeof msg, "cannot set up the request: %s", curl_easy_strerror(rc));
    h->send_kind = BZ_SEND_NONE;
    h->body = NULL;
    h->str = NULL;
    lua_settop(L, base);
    return bz_push_refused(L, bz_curle_name(rc, tmp, sizeof tmp), msg);
  }
  reset_transfer(h, r.has_fn);
  return 0;
}
