/* One request's set-up on an idle handle: the request table read and checked,
 * header list, method and body options, per-transfer state (see bz_http_prepare). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "http.h"

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

/* The slist line of a header: "Name: value", or "Name;" for an empty value ("Name:" would
 * remove the header). 1 if line (NUL-terminated) is exactly that. */
static int line_is(const char *line, const char *name, size_t nl, const char *value, size_t vl) {
  if (strlen(line) != (vl == 0 ? nl + 1 : nl + 2 + vl) || memcmp(line, name, nl) != 0) return 0;
  line += nl;
  if (vl == 0) return line[0] == ';';
  return line[0] == ':' && line[1] == ' ' && memcmp(line + 2, value, vl) == 0;
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

/* 1 if line is the Content-Type line added when the caller gave none (see add_content_type). */
static int ct_line_is(const char *line, const bz_body *body) {
  size_t n;
  const char *ct = body_content_type(body, &n);
  if (ct == NULL) return strcmp(line, "Content-Type:") == 0;
  return memcmp(line, "Content-Type: ", 14) == 0 && memcmp(line + 14, ct, n) == 0 && line[14 + n] == '\0';
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
  for (k = 0; k < vl && !bad; k++) bad = value[k] == '\r' || value[k] == '\n' || value[k] == '\0';
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

/* One pass over req.headers before anything is built or sent: every name and value
 * checked, whether a Content-Type is among them (*has_ct), and whether h->slist, which
 * libcurl already holds, is exactly the list these headers make (*same: nothing to build
 * or set). A header equal to its line in that list is not checked again: the line was
 * built from checked bytes, and a name without ':' splits it the same way (so name and
 * value are the checked ones). Returns 0, or 2 with nil, err pushed. */
static int scan_headers(lua_State *L, bz_http *h, const bz_req *r, int base, int *has_ct, int *same) {
  const struct curl_slist *node = h->slist_set && h->slist ? h->slist->next : NULL;  /* after "Expect:" */
  int match = h->slist_set && h->slist != NULL;
  *has_ct = 0;
  if (!lua_isnil(L, r->i_hdr)) {
    lua_pushnil(L);
    while (lua_next(L, r->i_hdr)) {
      size_t nl, vl;
      const char *name, *value;
      int n, hit;
      if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
        luaL_argerror(L, r->req, "req.headers: names and values must be strings");
      name = lua_tolstring(L, -2, &nl);
      value = lua_tolstring(L, -1, &vl);
      /* a hit: the line was built from a checked name equal to this one (no ':' in it) */
      hit = match && node != NULL && line_is(node->data, name, nl, value, vl) && memchr(name, ':', nl) == NULL;
      if (!hit && (n = check_header(L, base, name, nl, value, vl)) != 0) return n;
      match = hit;
      if (node) node = node->next;
      if (!*has_ct) *has_ct = is_content_type(name, nl);
      lua_pop(L, 1);
    }
  }
  if (match && !*has_ct) match = node != NULL && node->next == NULL && ct_line_is(node->data, r->body);
  else if (match) match = node == NULL;
  *same = match;
  return 0;
}

static int slist_add(bz_http *h, const char *line) {
  struct curl_slist *ns = curl_slist_append(h->slist, line);
  if (ns == NULL) return -1;
  h->slist = ns;
  return 0;
}

/* The Content-Type line when the caller gave none: the body's own (multipart), else
 * an empty "Content-Type:" (libcurl would invent x-www-form-urlencoded for a POST). */
static int add_content_type(bz_http *h, const bz_body *body, bz_buf *line) {
  size_t n;
  const char *ct = body_content_type(body, &n);
  if (ct == NULL) return slist_add(h, "Content-Type:");
  line->len = 0;
  if (bz_buf_append(line, "Content-Type: ", 14) != 0 || bz_buf_append(line, ct, n) != 0 ||
      bz_buf_append(line, "", 1) != 0)
    return -1;
  return slist_add(h, line->p);
}

/* h->slist: "Expect:" (no 100-continue), the caller's headers in lua_next order (the order
 * scan_headers compares in), the Content-Type unless given; then handed to libcurl.
 * -1: out of memory. */
static int build_headers(lua_State *L, bz_http *h, int i_hdr, const bz_body *body, int has_ct) {
  bz_buf line = { NULL, 0, 0 };
  int rc = 0;
  curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  h->slist_set = 0;
  curl_slist_free_all(h->slist);
  h->slist = NULL;
  if (slist_add(h, "Expect:") != 0) return -1;
  if (!lua_isnil(L, i_hdr)) {
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, i_hdr)) {
      size_t nl, vl;
      const char *name = lua_tolstring(L, -2, &nl), *value = lua_tolstring(L, -1, &vl);
      line.len = 0;
      if (bz_buf_append(&line, name, nl) != 0 ||
          (vl == 0 ? bz_buf_append(&line, ";", 1) : (bz_buf_append(&line, ": ", 2) || bz_buf_append(&line, value, vl))) != 0 ||
          bz_buf_append(&line, "", 1) != 0 || slist_add(h, line.p) != 0) {
        lua_pop(L, 2);
        rc = -1;
        break;
      }
      lua_pop(L, 1);
    }
  }
  if (rc == 0 && !has_ct) rc = add_content_type(h, body, &line);
  bz_buf_free(&line);
  if (rc == 0 && curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->slist) != CURLE_OK) rc = -1;
  if (rc == 0) h->slist_set = 1;
  return rc;
}

/* ---- options, set only when they change ------------------------------------- */

void bz_http_forget_options(bz_http *h) {
  h->set_timeout_ms = -2;
  h->set_noprogress = -2;
  h->set_mode = BZ_MODE_UNKNOWN;
  h->set_size = -2;
  h->set_custom[0] = '\1';  /* matches no method: CUSTOMREQUEST is set again */
  free(h->set_url);
  h->set_url = NULL;
  h->set_url_len = 0;
}

static CURLcode set_long(CURL *e, CURLoption opt, long v, long *cur) {
  CURLcode rc;
  if (*cur == v) return CURLE_OK;
  rc = curl_easy_setopt(e, opt, v);
  if (rc == CURLE_OK) *cur = v;
  return rc;
}

/* The URL, kept as a copy to compare with (a new Lua string of the same text is common). */
static CURLcode set_url(bz_http *h, const char *url, size_t n) {
  CURLcode rc;
  if (h->set_url != NULL && h->set_url_len == n && memcmp(h->set_url, url, n) == 0) return CURLE_OK;
  free(h->set_url);
  h->set_url = NULL;
  rc = curl_easy_setopt(h->easy, CURLOPT_URL, url);
  if (rc == CURLE_OK && (h->set_url = (char *)malloc(n + 1)) != NULL) {  /* no copy: set every time */
    memcpy(h->set_url, url, n + 1);
    h->set_url_len = n;
  }
  return rc;
}

/* Method: POST (any request with a body, and POST/PUT/PATCH), GET or HEAD mode, with
 * CUSTOMREQUEST naming any other method. */
static CURLcode set_mode(bz_http *h, int mode, const char *custom) {
  CURL *e = h->easy;
  CURLcode rc = CURLE_OK;
  if (h->set_mode != mode) {
    h->set_mode = BZ_MODE_UNKNOWN;
    rc = curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
    if (rc == CURLE_OK) rc = mode == BZ_MODE_POST ? curl_easy_setopt(e, CURLOPT_POST, 1L) : curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    if (rc == CURLE_OK && mode == BZ_MODE_HEAD) rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    if (rc != CURLE_OK) return rc;
    h->set_mode = mode;
  }
  if (strcmp(h->set_custom, custom) != 0) {
    h->set_custom[0] = '\1';  /* matches no method until set */
    rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, custom[0] ? custom : (char *)NULL);
    if (rc == CURLE_OK) memcpy(h->set_custom, custom, strlen(custom) + 1);  /* <= 32 bytes (read_fields) */
  }
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
    rc = set_mode(h, BZ_MODE_POST, r->post_verb == 2 ? "" : r->method);
  } else {
    rc = set_mode(h, r->is_head ? BZ_MODE_HEAD : BZ_MODE_GET, (r->is_head || r->is_get) ? "" : r->method);
  }
  if (rc == CURLE_OK && h->set_size != size) {
    h->set_size = -2;
    rc = curl_easy_setopt(h->easy, CURLOPT_POSTFIELDSIZE_LARGE, size);
    if (rc == CURLE_OK) h->set_size = size;
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
  int base, n, has_ct, same;
  CURLcode rc;
  req = req < 0 ? lua_gettop(L) + req + 1 : req;
  luaL_checktype(L, req, LUA_TTABLE);
  base = lua_gettop(L);
  read_fields(L, h, req, base, &r);
  if ((n = scan_headers(L, h, &r, base, &has_ct, &same)) != 0) return n;
  if (!same && build_headers(L, h, r.i_hdr, r.body, has_ct) != 0) {
    curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
    h->slist_set = 0;
    curl_slist_free_all(h->slist);
    h->slist = NULL;
    lua_settop(L, base);
    return bz_push_refused(L, "OUT_OF_MEMORY", "out of memory while building the request headers");
  }
  rc = set_method_body(h, &r);
  if (rc == CURLE_OK) rc = set_url(h, r.url, r.ulen);
  if (rc == CURLE_OK) rc = set_long(h->easy, CURLOPT_TIMEOUT_MS, r.timeout_ms, &h->set_timeout_ms);
  if (rc == CURLE_OK) rc = set_long(h->easy, CURLOPT_NOPROGRESS, r.has_fn ? 0L : 1L, &h->set_noprogress);
  if (rc != CURLE_OK) {
    char tmp[32], msg[160];
    snprintf(msg, sizeof msg, "cannot set up the request: %s", curl_easy_strerror(rc));
    h->send_kind = BZ_SEND_NONE;
    h->body = NULL;
    h->str = NULL;
    bz_http_forget_options(h);
    lua_settop(L, base);
    return bz_push_refused(L, bz_curle_name(rc, tmp, sizeof tmp), msg);
  }
  reset_transfer(h, r.has_fn);
  return 0;
}
