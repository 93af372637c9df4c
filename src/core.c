/* bizreg.core: Lua bindings only (argument checks, pushing results).
 * Validation + encoding: validate.c over the tables in schema_*.c;
 * files: media.c + multipart.c; transport: easy.c, request.c, callbacks.c, response.c, curlerr.c, multi.c (see http.h). */
#include <string.h>
#include <errno.h>
#include <time.h>
#include "body.h"
#include "http.h"
#include "json.h"
#include "media.h"
#include "multipart.h"
#include "validate.h"

/* payload -> json | nil, violations.  Raises only when payload is not a table. */
static int l_encode_visitor_images(lua_State *L) {
  bz_walk w;
  bz_buf *out;
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  out = bz_buf_push(L);  /* index 2: owns the JSON while we walk */
  bz_walk_init(&w, L, out, NULL);
  bz_walk_object(&w, &bz_kos_visitor_images, 1);
  if (w.nerr > 0) {
    lua_pushnil(L);
    lua_pushvalue(L, w.errs);
    return 2;
  }
  lua_pushlstring(L, out->p, out->len);
  return 1;
}

/* ---- RCS brand: JSON parts + files -> multipart body ------------------ */

/* Payload tables are read raw (lua_rawget / lua_next, like KOS's walk): no __index,
 * __pairs or __len runs mid-encode, and what was read is what is in the table.
 * Every string whose pointer is kept stays on the Lua stack until the body is built. */
static void raw_field(lua_State *L, int t, const char *name, size_t len) {
  lua_pushlstring(L, name, len);
  lua_rawget(L, t);
}

typedef struct file_arg {
  const bz_filerule *rule;
  int present;
  const char *path;      /* by path (streamed) ... */
  size_t path_len;
  const char *data;      /* ... or in memory */
  size_t len;
  const char *filename;
  bz_media_info info;
  unsigned char sha256[BZ_SHA256_LEN];  /* of the bytes the probe judged (path only) */
} file_arg;

static const char *base_name(const char *p) {
  const char *s = strrchr(p, '/');
  return s ? s + 1 : p;
}

static const char *file_code(const bz_filerule *r) { return r->code_missing ? r->code_missing : r->code_type; }

/* Pushes t[name] if it is a string (else pops it and returns NULL): stays as an anchor. */
static const char *anchored_string(lua_State *L, int t, const char *name, size_t *len) {
  raw_field(L, t, name, strlen(name));
  if (lua_type(L, -1) == LUA_TSTRING) return lua_tolstring(L, -1, len);
  lua_pop(L, 1);
  return NULL;
}

/* Reads one file spec at stack index idx: "path" | {path=} | {data=, filename=}.
 * The strings read are left on the stack (anchors until the body is finished). */
static void read_file_arg(bz_walk *w, file_arg *fa, int idx) {
  lua_State *L = w->L;
  char err[128];
  size_t flen = 0;
  bz_sha256 sha;
  if (lua_type(L, idx) == LUA_TSTRING) {
    fa->path = lua_tolstring(L, idx, &fa->path_len);
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    fa->path = anchored_string(L, idx, "path", &fa->path_len);
    fa->data = anchored_string(L, idx, "data", &fa->len);
    fa->filename = anchored_string(L, idx, "filename", &flen);
  }
  fa->present = 0;
  if ((fa->path == NULL) == (fa->data == NULL)) {
    bz_violation(w, NULL, BZ_INVALID_TYPE, fa->rule->code_type, NULL);
    return;
  }
  if (fa->filename && memchr(fa->filename, '\0', flen)) {  /* would be cut in the header */
    int saved = bz_path_push(w, "filename", 8);
    bz_violation(w, NULL, BZ_INVALID_FORMAT, NULL, NULL);
    bz_path_pop(w, saved);
    return;
  }
  if (fa->data) {
    bz_media_probe_mem((const unsigned char *)fa->data, fa->len, &fa->info);
  } else if (memchr(fa->path, '\0', fa->path_len)) {  /* open() would see a shorter path */
    bz_violation(w, NULL, BZ_UNREADABLE, file_code(fa->rule), "path contains a NUL byte");
    return;
  } else {
    bz_sha256_init(&sha);
    if (bz_media_probe_file_ex(fa->path, fa->rule->max_bytes, bz_sha256_feed, &sha, &fa->info, err, sizeof err) != 0) {
      bz_violation(w, NULL, BZ_UNREADABLE, file_code(fa->rule), err);
      return;
    }
    bz_sha256_final(&sha, fa->sha256);
  }
  fa->present = 1;
  if (fa->filename == NULL && fa->path) fa->filename = base_name(fa->path);
}

/* Type, then size; a file within the size limit must also be complete (a PNG/JPEG a
 * decoder can read); then the dimension rules. */
static void check_file(bz_walk *w, const file_arg *fa) {
  const bz_filerule *r = fa->rule;
  const bz_media_info *m = &fa->info;
  if (!(r->types & BZ_MT(m->type))) {
    bz_violation(w, NULL, BZ_INVALID_FILE, r->code_type, NULL);
    return;
  }
  if (m->size > r->max_bytes) {
    bz_violation(w, NULL, BZ_TOO_LARGE, r->code_size, NULL);
  } else if (!m->complete) {
    bz_violation(w, NULL, BZ_INVALID_FILE, r->code_type, NULL);
    return;
  }
  if (r->min_side == 0) return;
  if (!m->has_dims) {
    bz_violation(w, NULL, BZ_BAD_DIMENSIONS, r->code_dims, NULL);
  } else {
    if (r->square && m->width != m->height) bz_violation(w, NULL, BZ_NOT_SQUARE, r->code_ratio, NULL);
    if (m->width < r->min_side || m->height < r->min_side || m->width > r->max_side || m->height > r->max_side)
      bz_violation(w, NULL, BZ_BAD_DIMENSIONS, r->code_dims, NULL);
  }
}

static int mp_check(lua_State *L, int rc) {
  if (rc == -1) return luaL_error(L, "bizreg: out of memory");
  if (rc != 0) return luaL_error(L, "bizreg: invalid multipart argument");
  return 0;
}

/* Encodes one JSON part {"<name>": <value>} into out (cleared first). */
static void json_part(bz_walk *w, const char *name, int idx, const bz_schema *s, const bz_field *f) {
  int saved;
  w->out->len = 0;
  bz_buf_addc(w->L, w->out, '{');
  bz_json_key(w->L, w->out, name, strlen(name));
  saved = bz_path_push(w, name, strlen(name));
  if (s) {
    if (lua_type(w->L, idx) == LUA_TTABLE) bz_walk_object(w, s, idx);
    else bz_violation(w, NULL, BZ_INVALID_TYPE, NULL, NULL);
  } else {
    bz_walk_value(w, f, idx);
  }
  bz_path_pop(w, saved);
  bz_buf_addc(w->L, w->out, '}');
}

static int same(const char *k, size_t len, const char *name) { return strlen(name) == len && memcmp(k, name, len) == 0; }

/* Keys are compared with their length: "regBrand\0x" is not "regBrand". */
static int is_known_brand_key(const char *k, size_t len) {
  const bz_filerule *r;
  const bz_field *f;
  if (same(k, len, "regBrand") || same(k, len, "chatbots")) return 1;
  for (r = bz_rcs_files; r->name; r++) if (same(k, len, r->name)) return 1;
  for (f = bz_rcs_form_rows; f->name; f++) if (same(k, len, f->name)) return 1;
  return 0;
}

static void report_unknown_brand_keys(bz_walk *w) {
  lua_State *L = w->L;
  lua_pushnil(L);
  while (lua_next(L, 1)) {
    size_t len = 1;
    const char *k = "?";
    int saved;
    lua_pop(L, 1);
    if (lua_type(L, -1) == LUA_TSTRING) {
      k = lua_tolstring(L, -1, &len);  /* the key stays on the stack while rendered */
      if (is_known_brand_key(k, len)) continue;
    }
    saved = bz_path_push(w, k, len);
    bz_violation(w, NULL, BZ_UNKNOWN_FIELD, NULL, NULL);
    bz_path_pop(w, saved);
  }
}

/* Validates the file parts; each file's value and strings stay on the stack. */
static int read_files(bz_walk *w, file_arg *files, int has_chatbots) {
  lua_State *L = w->L;
  const bz_filerule *r;
  int nfiles = 0;
  for (r = bz_rcs_files; r->name && nfiles < 8; r++) {
    file_arg *fa = &files[nfiles++];
    int saved = bz_path_push(w, r->name, strlen(r->name));
    memset(fa, 0, sizeof *fa);
    fa->rule = r;
    luaL_checkstack(L, 8, "bizreg: too many file parts");
    raw_field(L, 1, r->name, strlen(r->name));
    if (bz_is_absent(L, -1)) {
      if ((r->flags & BZ_REQUIRED) || (r->required_with && has_chatbots && strcmp(r->required_with, "chatbots") == 0))
        bz_violation(w, NULL, BZ_REQUIRED_R, r->code_missing, NULL);
    } else {
      read_file_arg(w, fa, lua_gettop(L));
      if (fa->present) check_file(w, fa);
    }
    bz_path_pop(w, saved);
  }
  return nfiles;
}

static void write_files(lua_State *L, bz_body *body, const char *bnd, file_arg *files, int nfiles) {
  int i;
  for (i = 0; i < nfiles; i++) {
    file_arg *fa = &files[i];
    const char *ct = bz_media_mime(fa->info.type), *ext = bz_media_ext(fa->info.type);
    size_t n = bz_mp_filename(NULL, 0, fa->filename, fa->rule->name, ext);
    char *fn;
    if (!fa->present) continue;
    fn = (char *)lua_newuserdata(L, n + 1);  /* the part header copies it; popped below */
    bz_mp_filename(fn, n + 1, fa->filename, fa->rule->name, ext);
    if (fa->data) mp_check(L, bz_mp_file_mem(body, bnd, fa->rule->name, fn, ct, fa->data, fa->len));
    else mp_check(L, bz_mp_file_path_checked(body, bnd, fa->rule->name, fn, ct, fa->path, fa->info.size, fa->sha256));
    lua_pop(L, 1);
  }
}

/* encode_brand(payload [, opts]) -> body | nil, violations
 * opts.boundary: fixed boundary (tests, reproducible bodies); opts.json_content_type:
 * Content-Type line of the JSON parts (undocumented by RCS: none by default). */
static int l_encode_brand(lua_State *L) {
  bz_walk w;
  bz_buf *out;
  bz_body *body;
  char boundary[BZ_BOUNDARY_LEN + 1];
  const char *bnd = boundary, *jct = NULL;
  file_arg files[8];
  const bz_field *f;
  int nfiles, has_chatbots;
  luaL_checktype(L, 1, LUA_TTABLE);
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "boundary");
    if (!lua_isnil(L, -1)) {
      bnd = luaL_checkstring(L, -1);
      if (!bz_mp_boundary_ok(bnd)) return luaL_argerror(L, 2, "invalid multipart boundary");
    }
    lua_getfield(L, 2, "json_content_type");
    if (!lua_isnil(L, -1)) jct = luaL_checkstring(L, -1);
  }
  lua_settop(L, 4);  /* 3, 4: anchors for the option strings */
  if (bnd == boundary && bz_mp_boundary(boundary) != 0) return luaL_error(L, "bizreg: no random source for the boundary");
  body = bz_body_push(L);  /* 5 */
  out = bz_buf_push(L);    /* 6 */
  bz_walk_init(&w, L, out, &bz_rcs_codes);  /* 7 = violations */

  raw_field(L, 1, "regBrand", 8);  /* 8 */
  if (bz_is_absent(L, 8)) {
    int saved = bz_path_push(&w, "regBrand", 8);
    bz_violation(&w, NULL, BZ_REQUIRED_R, NULL, NULL);
    bz_path_pop(&w, saved);
  } else {
    json_part(&w, "regBrand", 8, &bz_rcs_reg_brand, NULL);
    mp_check(L, bz_mp_field(body, bnd, "regBrand", jct, out->p, out->len));
  }
  raw_field(L, 1, "chatbots", 8);  /* 9 */
  has_chatbots = !bz_is_absent(L, 9);
  if (has_chatbots) {
    w.out->len = 0;
    json_part(&w, "chatbots", 9, NULL, &bz_rcs_chatbots);
    mp_check(L, bz_mp_field(body, bnd, "chatbots", jct, out->p, out->len));
  }
  for (f = bz_rcs_form_rows; f->name; f++) {
    raw_field(L, 1, f->name, strlen(f->name));
    if (!bz_is_absent(L, -1)) {
      int saved = bz_path_push(&w, f->name, strlen(f->name));
      w.out->len = 0;
      bz_walk_value(&w, f, lua_gettop(L));  /* validates; plain text part below */
      bz_path_pop(&w, saved);
      if (lua_type(L, -1) == LUA_TSTRING) {
        size_t len;
        const char *s = lua_tolstring(L, -1, &len);
        mp_check(L, bz_mp_field(body, bnd, f->name, NULL, s, len));
      }
    }
    lua_pop(L, 1);
  }
  nfiles = read_files(&w, files, has_chatbots);  /* leaves its anchors on the stack */
  report_unknown_brand_keys(&w);
  if (w.nerr > 0) {
    lua_pushnil(L);
    lua_pushvalue(L, w.errs);
    return 2;
  }
  write_files(L, body, bnd, files, nfiles);
  mp_check(L, bz_mp_finish(body, bnd));
  lua_pushvalue(L, 5);
  return 1;
}

/* sniff(data) / sniff_file(path) -> type, width, height, size  (tests, diagnostics) */
static int push_media(lua_State *L, const bz_media_info *m) {
  static const char *const names[] = { "unknown", "png", "jpeg", "pdf", "tiff", "zip" };
  lua_pushstring(L, names[m->type]);
  if (m->has_dims) {
    lua_pushinteger(L, (lua_Integer)m->width);
    lua_pushinteger(L, (lua_Integer)m->height);
  } else {
    lua_pushnil(L);
    lua_pushnil(L);
  }
  lua_pushnumber(L, (lua_Number)m->size);
  return 4;
}

static int l_sniff(lua_State *L) {
  size_t n;
  const char *p = luaL_checklstring(L, 1, &n);
  bz_media_info m;
  bz_media_probe_mem((const unsigned char *)p, n, &m);
  return push_media(L, &m);
}

static int l_sniff_file(lua_State *L) {
  bz_media_info m;
  char err[128];
  if (bz_media_probe_file(luaL_checkstring(L, 1), &m, err, sizeof err) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, err);
    return 2;
  }
  return push_media(L, &m);
}

/* now() -> monotonic seconds; sleep(s): for retry back-off and the job scheduler */
static int l_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int l_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  struct timespec ts;
  if (s <= 0) return 0;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (lua_Number)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {}
  return 0;
}

int bz_cli_open(lua_State *L);  /* cli.c: OS helpers for bin/bizreg */
static const luaL_Reg funcs[] = {
  { "encode_visitor_images", l_encode_visitor_images },
  { "encode_brand", l_encode_brand },
  { "sniff", l_sniff },
  { "now", l_now },
  { "sleep", l_sleep },
  { "sniff_file", l_sniff_file },
  { "http", bz_http_new },
  { "multi", bz_multi_new },
  { "curl_version", bz_curl_version },
  { "cli", bz_cli_open },
  { NULL, NULL } };

LUALIB_API int luaopen_bizreg_core(lua_State *L);  /* the module's one exported symbol */
LUALIB_API int luaopen_bizreg_core(lua_State *L) {
  bz_check_lua_version(L);  /* before any other API call */
  bz_body_open(L);
  bz_http_open(L);
  lua_newtable(L);
  bz_setfuncs(L, funcs, 0);
  return 1;
}
