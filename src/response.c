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

/* Their addresses are keys: of a result's raw block (in the result), of the results'
 * metatable (in the registry; cheaper to fetch than by name). */
static const char raw_key = 0, mt_key = 0;

/* Pairs in a "name\0value\0..." block. */
static int count_pairs(const char *p, size_t len) {
  int n = 0;
  const char *z, *end;
  if (len == 0) return 0;  /* p may be NULL (an empty buffer) */
  end = p + len;
  for (z = p; z < end && (z = (const char *)memchr(z, '\0', (size_t)(end - z))) != NULL; z++) n++;
  return n / 2;
}

/* headers{name = value} from a block; a repeated header's values
 * joined with ", ". Linear: repeats are collected in a list per name and joined once (a
 * server sending thousands of copies of one header must not cost a copy of the growing
 * value each); the side table of lists exists only once a name repeats. */
static void push_headers(lua_State *L, const bz_buf *b) {
  size_t o = 0;
  int t, lists = 0;
  lua_createtable(L, 0, count_pairs(b->p, b->len));
  t = lua_gettop(L);
  while (o < b->len) {
    const char *name = b->p + o, *value;
    size_t nl = strlen(name), vl;
    value = name + nl + 1;
    vl = strlen(value);
    o += nl + vl + 2;
    lua_pushlstring(L, name, nl);
    if (lists) {
      lua_pushvalue(L, -1);
      lua_rawget(L, lists);  /* key, list|nil */
      if (!lua_isnil(L, -1)) {
        lua_pushlstring(L, value, vl);
        lua_rawseti(L, -2, (int)bz_rawlen(L, -2) + 1);
        lua_pop(L, 2);
        continue;
      }
      lua_pop(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_rawget(L, t);  /* key, first|nil */
    if (lua_isnil(L, -1)) {
      lua_pop(L, 1);
      lua_pushlstring(L, value, vl);
      lua_rawset(L, t);
      continue;
    }
    if (!lists) {
      lua_newtable(L);  /* name -> list of its values, for repeated names only */
      lua_insert(L, t + 1);
      lists = t + 1;
    }
    lua_createtable(L, 4, 0);  /* key, first, list */
    lua_insert(L, -2);
    lua_rawseti(L, -2, 1);
    lua_pushlstring(L, value, vl);
    lua_rawseti(L, -2, 2);
    lua_rawset(L, lists);
  }
  if (!lists) return;
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

/* What a result keeps for __index after its header block: read on demand only. */
typedef struct bz_res_info {
  double total_time;
  int64_t request_size;
} bz_res_info;

/* __index of a result: headers, total_time and request_size from the block the result
 * keeps (header pairs, then a bz_res_info). res.headers is built on first access and
 * then stored in res, so it is built once. */
static int response_index(lua_State *L) {
  size_t len = 0;
  const char *p, *key;
  bz_res_info info;
  if (lua_type(L, 2) != LUA_TSTRING) return 0;
  key = lua_tostring(L, 2);
  lua_settop(L, 2);
  lua_pushlightuserdata(L, (void *)&raw_key);
  lua_rawget(L, 1);  /* 3: the block */
  if (lua_type(L, 3) != LUA_TSTRING || (p = lua_tolstring(L, 3, &len), len < sizeof info)) return 0;
  memcpy(&info, p + len - sizeof info, sizeof info);
  if (strcmp(key, "headers") == 0) {
    bz_buf b;
    b.p = (char *)p;  /* read only */
    b.len = b.cap = len - sizeof info;
    push_headers(L, &b);  /* 4 */
    lua_pushvalue(L, 2);
    lua_pushvalue(L, 4);
    lua_rawset(L, 1);
  } else if (strcmp(key, "total_time") == 0) {
    lua_pushnumber(L, (lua_Number)info.total_time);
  } else if (strcmp(key, "request_size") == 0) {
    lua_pushinteger(L, (lua_Integer)info.request_size);
  } else {
    return 0;
  }
  return 1;
}

/* The result table: status and body now; the rest (see response_index) from one string
 * holding the header block and a bz_res_info. Out of memory for that: everything now. */
static void push_result(lua_State *L, bz_http *h) {
  long status = 0;
  curl_off_t us = 0;
  bz_res_info info;
  curl_easy_getinfo(h->easy, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_getinfo(h->easy, CURLINFO_TOTAL_TIME_T, &us);
  info.total_time = (double)us / 1e6;
  info.request_size = bz_sent_bytes(h);
  lua_createtable(L, 0, 3);
  lua_pushinteger(L, (lua_Integer)status);
  lua_setfield(L, -2, "status");
  lua_pushlstring(L, h->resp.p ? h->resp.p : "", h->resp.len);
  lua_setfield(L, -2, "body");
  if (bz_buf_append(&h->hdrs, &info, sizeof info) == 0) {
    lua_pushlightuserdata(L, (void *)&raw_key);
    lua_pushlstring(L, h->hdrs.p, h->hdrs.len);
    lua_rawset(L, -3);
    h->hdrs.len -= sizeof info;
    lua_pushlightuserdata(L, (void *)&mt_key);
    lua_rawget(L, LUA_REGISTRYINDEX);
    lua_setmetatable(L, -2);
    return;
  }
  push_headers(L, &h->hdrs);
  lua_setfield(L, -2, "headers");
  lua_pushnumber(L, (lua_Number)info.total_time);
  lua_setfield(L, -2, "total_time");
  lua_pushinteger(L, (lua_Integer)info.request_size);
  lua_setfield(L, -2, "request_size");
}

void bz_response_open(lua_State *L) {
  lua_pushlightuserdata(L, (void *)&mt_key);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, response_index);
  lua_setfield(L, -2, "__index");
  lua_rawset(L, LUA_REGISTRYINDEX);
}

void bz_http_push_outcome(lua_State *L, bz_http *h, CURLcode rc) {
  char tmp[32], msg[CURL_ERROR_SIZE + 320];
  const char *code;
  luaL_checkstack(L, 8, "bizreg.http");
  if (rc == CURLE_OK && h->fail == BZ_FAIL_NONE) {
    push_result(L, h);
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
    /* libcurl's error buffer says more than curl_easy_strerror; since 7.80 or so it often ends
     * with that same text ("Failed to connect ...: Couldn't connect to server"): said once */
    if (h->errbuf[0] && strstr(h->errbuf, curl_easy_strerror(rc)) != NULL)
      snprintf(msg, sizeof msg, "%s", h->errbuf);
    else if (h->errbuf[0])
      snprintf(msg, sizeof msg, "%s: %s", curl_easy_strerror(rc), h->errbuf);
    else
      snprintf(msg, sizeof msg, "%s", curl_easy_strerror(rc));
  }
  lua_pushnil(L);
  bz_push_err(L, code, (int)rc, msg, h->fail == BZ_FAIL_NO_RESEND || was_sent(h));
  shrink(&h->resp);
  shrink(&h->hdrs);
}
