/* One request's set-up on an idle handle: the request table read and checked,
 * header list, method and body options, per-transfer state (see bz_http_prepare). */
#include <math.h>
#include <stdio.h>
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

/* 1 if the headers table (at idx) has a Content-Type entry. */
static int has_content_type(lua_State *L, int idx) {
  int found = 0;
  lua_pushnil(L);
  while (lua_next(L, idx)) {
    size_t n;
    const char *k = lua_tolstring(L, -2, &n);  /* keys were checked to be strings */
    if (n == 12) {
      size_t i;
      const char *ct = "content-type";
      for (i = 0; i < n && lower(k[i]) == ct[i]; i++) {}
      if (i == n) found = 1;
    }
    lua_pop(L, 1);
  }
  return found;
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
  size_t blen;
  const bz_body *body;
  int i_hdr, has_fn, is_head;
  long timeout_ms;
} bz_req;

/* Pushes req.method, url, headers, body, on_progress at base+1..base+5 (they stay
 * there, anchoring the strings and the body) and checks their types. */
static void read_fields(lua_State *L, bz_http *h, int req, int base, bz_req *r) {
  size_t mlen = 3, ulen, k;
  static const char *const names[] = { "method", "url", "headers", "body", "on_progress" };
  for (k = 0; k < 5; k++) lua_getfield(L, req, names[k]);
  memset(r, 0, sizeof *r);
  r->i_hdr = base + 3;
  r->method = "GET";
  if (!lua_isnil(L, base + 1)) {
    if (lua_type(L, base + 1) != LUA_TSTRING) luaL_argerror(L, req, "req.method must be a string");
    r->method = lua_tolstring(L, base + 1, &mlen);
    for (k = 0; k < mlen; k++) if (!is_tchar((unsigned char)r->method[k])) break;
    if (mlen == 0 || mlen > 32 || k < mlen) luaL_argerror(L, req, "req.method must be an HTTP method token");
  }
  if (lua_type(L, base + 2) != LUA_TSTRING) luaL_argerror(L, req, "req.url must be a string");
  r->url = lua_tolstring(L, base + 2, &ulen);
  if (strlen(r->url) != ulen) luaL_argerror(L, req, "req.url must not contain NUL");
  if (!lua_isnil(L, r->i_hdr) && lua_type(L, r->i_hdr) != LUA_TTABLE) luaL_argerror(L, req, "req.headers must be a table");
  if (lua_type(L, base + 4) == LUA_TSTRING) {
    r->body_str = lua_tolstring(L, base + 4, &r->blen);
  } else if (!lua_isnil(L, base + 4)) {
    r->body = (const bz_body *)bz_testudata(L, base + 4, BZ_BODY_MT);
    if (r->body == NULL) luaL_argerror(L, req, "req.body must be nil, a string or a body");
  }
  r->has_fn = !lua_isnil(L, base + 5);
  if (r->has_fn && lua_type(L, base + 5) != LUA_TFUNCTION) luaL_argerror(L, req, "req.on_progress must be a function");
  r->is_head = strcmp(r->method, "HEAD") == 0;
  if (r->is_head && (r->body_str != NULL || r->body != NULL)) luaL_argerror(L, req, "a HEAD request cannot have a body");
  r->timeout_ms = req_timeout(L, h, req);
}

/* Every header name and value checked before anything is built or sent: 0, or 2
 * with nil, err (BAD_HEADER) pushed. The value never reaches the message. */
static int check_headers(lua_State *L, int req, int i_hdr, int base) {
  if (lua_isnil(L, i_hdr)) return 0;
  lua_pushnil(L);
  while (lua_next(L, i_hdr)) {
    size_t nl, vl, k;
    const char *name, *value;
    int bad = 0;
    if (lua_type(L, -2) != LUA_TSTRING || lua_type(L, -1) != LUA_TSTRING)
      luaL_argerror(L, req, "req.headers: names and values must be strings");
    name = lua_tolstring(L, -2, &nl);
    value = lua_tolstring(L, -1, &vl);
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
    lua_pop(L, 1);
  }
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
  if (body != NULL && body->content_type[0] != '\0') {
    size_t k, n = strnlen(body->content_type, sizeof body->content_type);
    int ok = n < sizeof body->content_type;
    for (k = 0; k < n && ok; k++) ok = (unsigned char)body->content_type[k] >= 0x20 && body->content_type[k] != 0x7f;
    if (ok) {
      line->len = 0;
      if (bz_buf_append(line, "Content-Type: ", 14) != 0 || bz_buf_append(line, body->content_type, n + 1) != 0) return -1;
      return slist_add(h, line->p);
    }
  }
  return slist_add(h, "Content-Type:");
}

/* h->slist: "Expect:" (no 100-continue), the caller's headers, the Content-Type. -1: out of memory. */
static int build_headers(lua_State *L, bz_http *h, int i_hdr, const bz_body *body) {
  bz_buf line = { NULL, 0, 0 };
  int rc = 0;
  curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, (struct curl_slist *)NULL);
  curl_slist_free_all(h->slist);
  h->slist = NULL;
  if (slist_add(h, "Expect:") != 0) return -1;
  if (!lua_isnil(L, i_hdr)) {
    lua_pushnil(L);
    while (rc == 0 && lua_next(L, i_hdr)) {
      size_t nl, vl;
      const char *name = lua_tolstring(L, -2, &nl), *value = lua_tolstring(L, -1, &vl);
      line.len = 0;
      /* "Name;" sends an empty header ("Name:" would remove it). */
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
  if (rc == 0 && (lua_isnil(L, i_hdr) || !has_content_type(L, i_hdr))) rc = add_content_type(h, body, &line);
  bz_buf_free(&line);
  return rc;
}

/* Method and body. POST/PUT/PATCH and any request with a body send Content-Length (0
 * when empty), never chunked. The body always comes from read_cb (see callbacks.c):
 * with CURLOPT_POSTFIELDS libcurl could replay it by itself. */
static CURLcode set_method_body(bz_http *h, const bz_req *r) {
  CURL *e = h->easy;
  CURLcode rc;
  int post_mode = r->body_str != NULL || r->body != NULL || strcmp(r->method, "POST") == 0 ||
                  strcmp(r->method, "PUT") == 0 || strcmp(r->method, "PATCH") == 0;
  h->send_kind = BZ_SEND_NONE;
  h->body = NULL;
  h->str = NULL;
  h->up_total = 0;
  rc = curl_easy_setopt(e, CURLOPT_NOBODY, 0L);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDS, (void *)NULL);
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
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POST, 1L);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)h->up_total);
    if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, strcmp(r->method, "POST") ? r->method : (char *)NULL);
    return rc;
  }
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)-1);
  if (rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
  if (r->is_head && rc == CURLE_OK) rc = curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
  if (rc == CURLE_OK)
    rc = curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (r->is_head || !strcmp(r->method, "GET")) ? (char *)NULL : r->method);
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
  if ((n = check_headers(L, req, r.i_hdr, base)) != 0) return n;
  if (build_headers(L, h, r.i_hdr, r.body) != 0) {
    curl_slist_free_all(h->slist);
    h->slist = NULL;
    lua_settop(L, base);
    return bz_push_refused(L, "OUT_OF_MEMORY", "out of memory while building the request headers");
  }
  rc = set_method_body(h, &r);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_URL, r.url);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_TIMEOUT_MS, r.timeout_ms);
  if (rc == CURLE_OK) rc = curl_easy_setopt(h->easy, CURLOPT_HTTPHEADER, h->slist);
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
