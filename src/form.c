/* Multipart forms from a declarative layout (form.h): JSON parts walked against
 * their rows, plain text parts, and file parts judged by content; every key of the
 * payload must be one of them. Knows no API: each API gives its bz_form. */
#include <string.h>
#include "form.h"
#include "json.h"
#include "media.h"
#include "multipart.h"

/* Payload tables are read raw (lua_rawget / lua_next, like the JSON walk): no __index,
 * __pairs or __len runs mid-encode, and what was read is what is in the table.
 * Every string whose pointer is kept stays on the Lua stack until the body is built. */
static void raw_field(lua_State *L, int t, const char *name, size_t len) {
  lua_pushlstring(L, name, len);
  lua_rawget(L, t);
}

typedef struct file_arg {
  const bz_filerule *rule;
  int present;
  int cleared;           /* BZ_CLEARABLE and given as false: an empty part, no file */
  const char *path;      /* by path (streamed) ... */
  size_t path_len;
  const char *data;      /* ... or in memory: a string the body will anchor */
  size_t len;
  int data_idx;          /* its stack index */
  const char *filename;
  bz_media_info info;
  unsigned char key[BZ_FILEMAC_KEY_LEN];  /* path only: drawn for this file, and ... */
  unsigned char tag[BZ_FILEMAC_LEN];      /* ... the fingerprint of the bytes the probe judged */
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
  bz_filemac mac;
  if (lua_type(L, idx) == LUA_TSTRING) {
    fa->path = lua_tolstring(L, idx, &fa->path_len);
  } else if (lua_type(L, idx) == LUA_TTABLE) {
    fa->path = anchored_string(L, idx, "path", &fa->path_len);
    fa->data = anchored_string(L, idx, "data", &fa->len);
    fa->data_idx = lua_gettop(L);
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
    if (bz_filemac_key(fa->key) != 0) luaL_error(L, "bizreg: the random generator failed");
    if (bz_filemac_init(&mac, fa->key) != 0) luaL_error(L, "bizreg: out of memory");
    if (bz_media_probe_file_ex(fa->path, fa->rule->max_bytes, bz_filemac_feed, &mac, &fa->info, err, sizeof err) != 0) {
      bz_filemac_free(&mac);
      bz_violation(w, NULL, BZ_UNREADABLE, file_code(fa->rule), err);
      return;
    }
    if (bz_filemac_final(&mac, fa->tag) != 0) luaL_error(L, "bizreg: out of memory");
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

/* Appends one JSON part {"<name>": <value>} of row f to out. */
static void json_part(bz_walk *w, const bz_field *f, int idx) {
  int saved;
  bz_buf_addc(w->L, w->out, '{');
  bz_json_key(w->L, w->out, f->name, f->nlen);
  saved = bz_path_push(w, f->name, f->nlen);
  if (f->type != BZ_T_OBJECT) bz_walk_value(w, f, idx);
  else if (lua_type(w->L, idx) == LUA_TTABLE) bz_walk_object(w, f->child, idx);
  else bz_violation(w, NULL, BZ_INVALID_TYPE, NULL, NULL);
  bz_path_pop(w, saved);
  bz_buf_addc(w->L, w->out, '}');
}

static int same(const char *k, size_t len, const char *name) { return strlen(name) == len && memcmp(k, name, len) == 0; }

/* A top-level key the form knows: a JSON part, a text part or a file part. Keys are
 * compared with their length: "part\0x" is not "part". */
static int is_known_key(const void *ctx, const char *k, size_t len) {
  const bz_form *form = (const bz_form *)ctx;
  const bz_filerule *r;
  const bz_field *f;
  for (f = form->json_parts; f->name; f++) if (same(k, len, f->name)) return 1;
  for (f = form->text_parts; f->name; f++) if (same(k, len, f->name)) return 1;
  for (r = form->files; r->name; r++) if (same(k, len, r->name)) return 1;
  return 0;
}

/* A payload key is present (not nil / cjson.null). */
static int has_key(lua_State *L, const char *name) {
  int present;
  raw_field(L, 1, name, strlen(name));
  present = !bz_is_absent(L, -1);
  lua_pop(L, 1);
  return present;
}

/* Validates the file parts; each file's value and strings stay on the stack. */
static int read_files(bz_walk *w, const bz_form *form, file_arg *files) {
  lua_State *L = w->L;
  const bz_filerule *r;
  int nfiles = 0;
  for (r = form->files; r->name && nfiles < BZ_FORM_MAX_FILES; r++) {
    file_arg *fa = &files[nfiles++];
    int saved = bz_path_push(w, r->name, strlen(r->name));
    memset(fa, 0, sizeof *fa);
    fa->rule = r;
    luaL_checkstack(L, 8, "bizreg: too many file parts");
    raw_field(L, 1, r->name, strlen(r->name));
    if (bz_is_absent(L, -1)) {
      if ((r->flags & BZ_REQUIRED) || (r->required_with && has_key(L, r->required_with)))
        bz_violation(w, NULL, BZ_REQUIRED_R, r->code_missing, NULL);
    } else if ((r->flags & BZ_CLEARABLE) && lua_type(L, -1) == LUA_TBOOLEAN && !lua_toboolean(L, -1)) {
      fa->cleared = 1;  /* false, not true: `true` stays a wrong type */
    } else {
      read_file_arg(w, fa, lua_gettop(L));
      if (fa->present) check_file(w, fa);
    }
    bz_path_pop(w, saved);
  }
  return nfiles;
}

/* Some file part will be written (a file, or an empty part that clears one). */
static int any_file(const file_arg *files, int nfiles) {
  int i;
  for (i = 0; i < nfiles; i++) if (files[i].present || files[i].cleared) return 1;
  return 0;
}

/* A JSON or text part, validated, waiting to be written once the body is sized. */
typedef struct field_part {
  const char *name, *ctype;  /* ctype: the JSON parts' Content-Type line, or NULL */
  const char *data;          /* a text part's string (on the stack); NULL: JSON at off in out */
  size_t off, len;
} field_part;

#define FORM_MAX_FIELDS 16

static void add_field(lua_State *L, field_part *parts, int *n, const char *name, const char *ctype,
                      const char *data, size_t off, size_t len) {
  field_part *p;
  if (*n >= FORM_MAX_FIELDS) luaL_error(L, "bizreg: form layout has more than %d fields", FORM_MAX_FIELDS);
  p = &parts[(*n)++];
  p->name = name;
  p->ctype = ctype;
  p->data = data;
  p->off = off;
  p->len = len;
}

/* Validates the JSON parts (encoded one after the other into out), then the plain text
 * parts (their strings stay on the stack), in the form's order. */
static int read_fields(bz_walk *w, const bz_form *form, const char *jct, field_part *parts) {
  lua_State *L = w->L;
  const bz_field *f;
  int n = 0;
  w->out->len = 0;
  for (f = form->json_parts; f->name; f++) {
    raw_field(L, 1, f->name, f->nlen);
    if (!bz_is_absent(L, -1)) {
      size_t off = w->out->len;
      json_part(w, f, lua_gettop(L));
      add_field(L, parts, &n, f->name, jct, NULL, off, w->out->len - off);
    } else if (f->flags & BZ_REQUIRED) {
      int saved = bz_path_push(w, f->name, f->nlen);
      bz_violation(w, NULL, BZ_REQUIRED_R, NULL, NULL);
      bz_path_pop(w, saved);
    }
    lua_pop(L, 1);
  }
  for (f = form->text_parts; f->name; f++) {
    luaL_checkstack(L, 4, "bizreg: too many text parts");
    raw_field(L, 1, f->name, strlen(f->name));
    if (!bz_is_absent(L, -1)) {
      int saved = bz_path_push(w, f->name, strlen(f->name));
      size_t keep = w->out->len, len;
      bz_walk_value(w, f, lua_gettop(L));  /* validates; its JSON form is not kept */
      w->out->len = keep;
      bz_path_pop(w, saved);
      if (lua_type(L, -1) == LUA_TSTRING) {
        const char *s = lua_tolstring(L, -1, &len);
        add_field(L, parts, &n, f->name, NULL, s, 0, len);
        continue;  /* the string stays on the stack */
      }
    }
    lua_pop(L, 1);
  }
  return n;
}

/* The body's own bytes (heads, JSON and text parts, the closing delimiter; not the
 * files, which it references), counted exactly so that they are allocated once. */
static size_t mem_size(const char *bnd, const field_part *parts, int nparts, const file_arg *files, int nfiles) {
  size_t need = bz_mp_finish_len(bnd);
  int i;
  for (i = 0; i < nparts; i++) need += bz_mp_head_len(bnd, parts[i].name, 0, 0, parts[i].ctype) + parts[i].len + 2;
  for (i = 0; i < nfiles; i++) {
    const file_arg *fa = &files[i];
    size_t fn = bz_mp_filename(NULL, 0, fa->filename, fa->rule->name, bz_media_ext(fa->info.type));
    if (fa->present) need += bz_mp_head_len(bnd, fa->rule->name, 1, fn, bz_media_mime(fa->info.type)) + 2;
    else if (fa->cleared) need += bz_mp_head_len(bnd, fa->rule->name, 0, 0, NULL) + 2;
  }
  return need;
}

static void write_fields(lua_State *L, bz_body *body, const char *bnd, const bz_buf *out,
                         const field_part *parts, int nparts) {
  int i;
  for (i = 0; i < nparts; i++) {
    const field_part *p = &parts[i];
    mp_check(L, bz_mp_field(body, bnd, p->name, p->ctype, p->data ? p->data : out->p + p->off, p->len));
  }
}

/* File parts: data is referenced (anchored by the body, never copied), paths streamed. */
static void write_files(lua_State *L, bz_body *body, const char *bnd, file_arg *files, int nfiles) {
  int i;
  for (i = 0; i < nfiles; i++) {
    file_arg *fa = &files[i];
    const char *ct = bz_media_mime(fa->info.type), *ext = bz_media_ext(fa->info.type);
    size_t n = bz_mp_filename(NULL, 0, fa->filename, fa->rule->name, ext);
    char *fn;
    if (fa->cleared) {  /* the form key alone, as a plain field with no value (the yaml's removal) */
      mp_check(L, bz_mp_field(body, bnd, fa->rule->name, NULL, "", 0));
      continue;
    }
    if (!fa->present) continue;
    fn = (char *)lua_newuserdata(L, n + 1);  /* the part header copies it; popped below */
    bz_mp_filename(fn, n + 1, fa->filename, fa->rule->name, ext);
    if (fa->data) {
      int anchor = bz_body_anchor(L, 5, fa->data_idx);
      mp_check(L, bz_mp_file_ref(body, bnd, fa->rule->name, fn, ct, fa->data, fa->len, anchor));
    } else {
      mp_check(L, bz_mp_file_path_checked(body, bnd, fa->rule->name, fn, ct, fa->path, fa->info.size, fa->key, fa->tag));
    }
    lua_pop(L, 1);
  }
}

/* Reads opts (index 2): boundary, json_content_type, unknown_fields ("refuse", the default, or
 * "send": keys of the JSON parts that no row names are sent as given); leaves 3, 4 as anchors. */
static const char *read_opts(lua_State *L, char *boundary, const char **jct, int *send_unknown) {
  const char *bnd = boundary;
  *jct = NULL;
  *send_unknown = 0;
  if (!lua_isnoneornil(L, 2)) {
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_getfield(L, 2, "unknown_fields");
    if (!lua_isnil(L, -1)) {
      const char *uf = luaL_checkstring(L, -1);
      if (strcmp(uf, "send") == 0) *send_unknown = 1;
      else if (strcmp(uf, "refuse") != 0) luaL_argerror(L, 2, "unknown_fields must be \"refuse\" or \"send\"");
    }
    lua_pop(L, 1);
    lua_getfield(L, 2, "boundary");
    if (!lua_isnil(L, -1)) {
      bnd = luaL_checkstring(L, -1);
      if (!bz_mp_boundary_ok(bnd)) luaL_argerror(L, 2, "invalid multipart boundary");
    }
    lua_getfield(L, 2, "json_content_type");
    if (!lua_isnil(L, -1)) *jct = luaL_checkstring(L, -1);
  }
  lua_settop(L, 4);
  if (bnd == boundary && bz_mp_boundary(boundary) != 0) luaL_error(L, "bizreg: no random source for the boundary");
  return bnd;
}

/* Validate everything first, then size the body's memory once and write it. */
int bz_form_encode(lua_State *L, const bz_form *form) {
  bz_walk w;
  bz_buf *out;
  bz_body *body;
  char boundary[BZ_BOUNDARY_LEN + 1];
  const char *bnd, *jct;
  file_arg files[BZ_FORM_MAX_FILES];
  field_part parts[FORM_MAX_FIELDS];
  int nfiles, nparts, send_unknown;
  luaL_checktype(L, 1, LUA_TTABLE);
  bnd = read_opts(L, boundary, &jct, &send_unknown);  /* 3, 4: anchors for the option strings */
  body = bz_body_push(L);  /* 5 */
  out = bz_buf_push(L);    /* 6 */
  bz_walk_init(&w, L, out, form->codes);  /* 7 = violations */
  w.send_unknown = send_unknown;
  nparts = read_fields(&w, form, jct, parts);  /* leaves the text parts' strings on the stack */
  nfiles = read_files(&w, form, files);  /* leaves its anchors on the stack */
  bz_report_unknown_keys(&w, 1, is_known_key, form);
  if (form->code_empty && w.nerr == 0 && nparts == 0 && !any_file(files, nfiles)) {
    int saved = bz_path_push(&w, "payload", 7);  /* the whole payload: no one part is missing */
    bz_violation(&w, NULL, BZ_NO_CHANGES, form->code_empty, NULL);
    bz_path_pop(&w, saved);
  }
  if (w.nerr > 0) {
    bz_buf_free(out);
    lua_pushnil(L);
    lua_pushvalue(L, w.errs);
    return 2;
  }
  if (bz_body_reserve_mem(body, mem_size(bnd, parts, nparts, files, nfiles)) != 0) mp_check(L, -1);
  write_fields(L, body, bnd, out, parts, nparts);
  write_files(L, body, bnd, files, nfiles);
  mp_check(L, bz_mp_finish(body, bnd));
  bz_buf_free(out);  /* now, not at the next collection */
  lua_pushvalue(L, 5);
  return 1;
}
