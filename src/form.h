/* A multipart/form-data request described by data (one API's layout in its
 * api_*.c); form.c validates a payload against it and writes the body. */
#ifndef BZ_FORM_H
#define BZ_FORM_H

#include "body.h"
#include "schema.h"
#include "validate.h"

#define BZ_FORM_MAX_FILES 8

typedef struct bz_form {
  const bz_field *json_parts;   /* one JSON part per row ({"name": value}), in order; name NULL ends */
  const bz_field *text_parts;   /* plain text parts (strings), after the JSON parts */
  const bz_filerule *files;     /* file parts, judged by content, last */
  const bz_codes *codes;        /* the API's reason -> code defaults */
  const char *code_empty;       /* non-NULL: a payload without any part is refused with this code
                                   (an edit that changes nothing); NULL: the required rows decide */
} bz_form;

/* encode(payload [, opts]) -> body | nil, violations. opts.boundary: a fixed boundary
 * (tests, reproducible bodies); opts.json_content_type: Content-Type line of the JSON
 * parts (none by default). Payload tables are read raw; every string whose pointer is
 * kept stays on the Lua stack until the body is built, and a file given as data is then
 * anchored by the body itself (referenced, not copied). Everything is validated first;
 * the body's own memory is then allocated once, at its exact size. A file rule flagged
 * BZ_CLEARABLE takes `false` for "send this part empty". Raises only for
 * wrong argument types. */
int bz_form_encode(lua_State *L, const bz_form *form);

#endif
