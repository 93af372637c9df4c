/* The end of one transfer: the response table, or the error table naming
 * what failed and whether any byte of the request may have left. */
#include <stdio.h>
#include <string.h>
#include "http.h"

/* libcurl refuses a header line over CURL_MAX_HTTP_HEADER (100 KiB) before our
 * header_cb sees it: 7.88 fails with CURLE_OUT_OF_MEMORY (its line buffer is capped),
 * 8.6+ with CURLE_TOO_LARGE, some with RECV_ERROR and a message ("Rejected 102401 bytes
 * header", "Too large response headers"). */
static int header_overflow(const bz_http *h, CURLcode rc) {
  if (rc == CURLE_OUT_OF_MEMORY && h->in_headers) return 1;
#if BZ_CURL_AT_LEAST(8, 6)
  if (rc == CURLE_TOO_LARGE) return 1;
#endif
  return (rc == CURLE_RECV_ERROR || rc == CURLE_WEIRD_SERVER_REPLY) && strstr(h->errbuf, "header") != NULL &&
         (strstr(h->errbuf, "Rejected") != NULL || strstr(h->errbuf, "oo large") != NULL);
}

/* Whether any byte of the request may have reached the server (headers go first). */
static int was_sent(bz_http *h) { return bz_sent_bytes(h) > 0; }

static void shrink(bz_buf *b) {
  if (b->cap > BZ_SHRINK_ABOVE) bz_buf_free(b);
  else b->len = 0;
}

/* Joins the values collected in the list at index list with ", " (one buffer pass). */
static void join_list(lua_State *L, int list) {
  luaL_Buffer sb;
  size_t i, n = bz_rawlen(L, list);
  luaL_buffinit(L, &sb);
  for (i = 1; i <= n; i++) {
    if (i > 1) luaL_addlstring(&sb, ", ", 2);
    lua_rawgeti(L, list, (int)i);
    luaL_addvalue(&sb);
  }
  luaL_pushresult(&sb);
}

/* headers{name = value}; a repeated header's values joined with ", ". Linear: repeats
 * are collected in a list per name and joined once (a server sending thousands of
 * copies of one header must not cost a copy of the growing value each). */
static void push_headers(lua_State *L, const bz_buf *b) {
  size_t o = 0;
  int t, lists;
  lua_newtable(L);
  t = lua_gettop(L);
  lua_newtable(L);  /* name -> list of its values, for repeated names only */
  lists = t + 1;
  while (o < b->len) {
    const char *name = b->p + o, *value;
    size_t nl = strlen(name), vl;
    value = name + nl + 1;
    vl = strlen(value);
    o += nl + vl + 2;
    lua_pushlstring(L, name, nl);
    lua_pushvalue(L, -1);
    lua_rawget(L, lists);  /* key, list|nil */
    if (!lua_isnil(L, -1)) {
      lua_pushlstring(L, value, vl);
      lua_rawseti(L, -2, (int)bz_rawlen(L, -2) + 1);
      lua_pop(L, 2);
      continue;
    }
    lua_pop(L, 1);
    lua_pushvalue(L, -1);
    lua_rawget(L, t);  /* key, first|nil */
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushlstring(L, value, vl);
      lua_rawset(L, t);
      continue;
    }
    lua_createtable(L, 4, 0);  /* key, first, list */
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, value, vl);
    lua_rawseti(L, -2, 2);
    lua_rawset(L, lists);
  }
  lua_pushnil(L);
  while (lua_next(L, lists)) {  /* key, list */
    join_list(L, lua_gettop(L));
    lua_replace(L, -2);         /* key, joined */
    lua_pushvalue(L, -2);
    lua_insert(L, -2);          /* key, key, joined */
    lua_rawset(L, t);           /* assigning an existing key of t during next over lists: fine */
  }
  lua_pop(L, 1);  /* lists */
}

void bz_http_push_outcome(lua_State *L, bz_http *h, CURLcode rc) {
  char tmp[32], msg[CURL_ERROR_SIZE + 320];
  const char *code;
  luaL_checkstack(L, 8, "bizreg.http");
  if (rc == CURLE_OK && h->fail == BZ_FAIL_NONE) {
    long status = 0;
    curl_off_t us = 0;
    curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME_T, &us);
    lua_createtable(L, 0, 5);
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
    push_headers(L, &h->hdrs);
    lua_setfield(L, -2, "headers");
    lua_pushlstring(L, h->resp.p ? h->resp.p : "", h->resp.len);
    lua_setfield(L, -2, "body");
    lua_pushnumber(L, (lua_Number)us / 1e6);
    lua_setfield(L, -2, "total_time");
    lua_pushinteger(L, (lua_Integer)bz_sent_bytes(h));
    lua_setfield(L, -2, "request_size");
    lua_pushnil(L);
    shrink(&h->resp);
    shrink(&h->hdrs);
    return;
  }
  if (h->fail == BZ_FAIL_TOO_LARGE || rc == CURLE_FILESIZE_EXCEEDED || header_overflow(h, rc)) {
    code = "RESPONSE_TOO_LARGE";
    if (h->msg[0]) snprintf(msg, sizeof msg, "%s", h->msg);
    else if (h->fail == BZ_FAIL_NONE && rc != CURLE_FILESIZE_EXCEEDED)
      snprintf(msg, sizeof msg, "response headers exceed libcurl's limits (%d bytes a line; a total and a count)",
               CURL_MAX_HTTP_HEADER);
    else snprintf(msg, sizeof msg, "response body exceeds max_response_bytes (%lu)", (unsigned long)h->max_body);
  } else if (h->fail == BZ_FAIL_BODY) {
    code = "BODY_READ_ERROR";
    snprintf(msg, sizeof msg, "%s", h->msg);
  } else if (h->fail == BZ_FAIL_NO_RESEND) {
    code = "CONNECTION_DIED";
    snprintf(msg, sizeof msg, "the connection closed after the request was sent, before any answer; "
             "not sent again (the server may have received it)");
  } else if (h->fail == BZ_FAIL_CALLBACK) {
    code = "CALLBACK_ERROR";
    snprintf(msg, sizeof msg, "%s", h->msg);
  } else if (h->fail == BZ_FAIL_OOM) {
    code = "OUT_OF_MEMORY";
    snprintf(msg, sizeof msg, "out of memory while receiving the response");
  } else {
    code = bz_curle_name(rc, tmp, sizeof tmp);
    if (h->errbuf[0] && strcmp(h->errbuf, curl_easy_strerror(rc)) != 0)
      snprintf(msg, sizeof msg, "%s: %s", curl_easy_strerror(rc), h->errbuf);
    else
      snprintf(msg, sizeof msg, "%s", curl_easy_strerror(rc));
  }
  lua_pushnil(L);
  bz_push_err(L, code, (int)rc, msg, h->fail == BZ_FAIL_NO_RESEND || was_sent(h));
  shrink(&h->resp);
  shrink(&h->hdrs);
}
