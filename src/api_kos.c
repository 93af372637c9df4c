/* KOS clinic CRM, everything the C core knows of it: the rows of POST
 * /image/open/v1/commands/register-visitor-images, following the seed's JSON Schema
 * in its key order (the order we emit), and of POST /visitor/open/v1/queries/search-visitors
 * (at the end). KOS has no error codes. */
#include <stddef.h>
#include "api.h"
#include "compat.h"
#include "rules.h"

static const char *const source_enum[] = {
  "VISITOR_IMAGE_SOURCE_UNSPECIFIED", "HOSPITAL", "VISITOR", "AGREEMENT", "PEN_CHART", NULL };
static const char *const code_category_enum[] = {
  "CODE_CATEGORY_UNSPECIFIED", "FUNNEL", "EXPOSURE_CHANNEL", "ETCETRA_PRODUCT_CATEGORY",
  "IMAGE_EQUIPMENT", "CALL_CONSULTATION_RESULT", "IMAGE_CATEGORY", "FUNNEL_CATEGORY",
  "VISITOR_CATEGORY", "ACCOUNT_STATUS", NULL };
static const char *const color_enum[] = {
  "CodeColor_UNSPECIFIED", "RED", "LAVA", "ORANGE", "GREEN", "CYAN", "BLUE", "PURPLE",
  "MAGENTA", "GRAY", NULL };

#define INT32_MIN_ (-2147483647LL - 1)
#define INT32_MAX_ 2147483647LL

/* protos.tenant.Code: shared by `equipment` and `category`. */
static const bz_field code_rows[] = {
  { BZ_ROW("id"), .type = BZ_T_STRING },
  { BZ_ROW("category"), .type = BZ_T_STRING, .enums = code_category_enum },
  { BZ_ROW("name"), .type = BZ_T_STRING },
  { BZ_ROW("order"), .type = BZ_T_INT, .imin = INT32_MIN_, .imax = INT32_MAX_ },
  { BZ_ROW("closed"), .type = BZ_T_BOOL },
  { BZ_ROW("color"), .type = BZ_T_STRING, .enums = color_enum },
  { BZ_ROW("default"), .type = BZ_T_BOOL },
  { .name = NULL } };
static const bz_schema code_schema = { "protos.tenant.Code", code_rows, NULL };

static const bz_field image_rows[] = {
  { BZ_ROW("fileName"), .type = BZ_T_STRING, .flags = BZ_REQUIRED },
  { BZ_ROW("visitorId"), .type = BZ_T_STRING, .flags = BZ_REQUIRED },
  { BZ_ROW("source"), .type = BZ_T_STRING, .enums = source_enum },
  { BZ_ROW("equipment"), .type = BZ_T_OBJECT, .child = &code_schema },
  { BZ_ROW("scheduleId"), .type = BZ_T_STRING },
  { BZ_ROW("shootingDateTimeUtc"), .type = BZ_T_STRING, .rule = BZ_R_DATETIME },
  { BZ_ROW("memo"), .type = BZ_T_STRING, .max = 150 },
  { BZ_ROW("category"), .type = BZ_T_OBJECT, .child = &code_schema },
  { .name = NULL } };
static const bz_schema image_schema = { "protos.image.RegisterVisitorImageConfiguration", image_rows, NULL };
static const bz_field image_item = { BZ_ROW("images"), .type = BZ_T_OBJECT, .child = &image_schema };

static const bz_field root_rows[] = {
  { BZ_ROW("images"), .type = BZ_T_ARRAY, .flags = BZ_REQUIRED | BZ_INDEXED, .min = 1, .item = &image_item },
  { .name = NULL } };
const bz_schema bz_kos_visitor_images = { "protos.open.RegisterVisitorImages", root_rows, NULL };

/* KOS answers a reason without a message: bizreg's words for each (kos.message), beside the
 * rows. %s: the field's own name; %d: its row's limit (dropped, with its parentheses, for a
 * field without one). */
const bz_message bz_kos_messages[] = {
  { BZ_REQUIRED_R, "required value" },
  { BZ_INVALID_TYPE, "wrong type" },
  { BZ_INVALID_ENUM, "not one of the documented values" },
  { BZ_INVALID_FORMAT, "wrong format" },
  { BZ_INVALID_UTF8, "not valid UTF-8" },
  { BZ_TOO_LONG, "too long (%s: at most %d characters)" },
  { BZ_TOO_MANY, "too many items" },
  { BZ_TOO_FEW, "too few items" },
  { BZ_UNKNOWN_FIELD, "unknown field (a typo?)" },
  { BZ_NOT_AVAILABLE, "not an RFC 3339 date-time" },
  { "InvalidJSON", "invalid JSON" },
  { "NotFound", "not found on the server" },
  { NULL, NULL } };

/* ---- POST /visitor/open/v1/queries/search-visitors (protos.open.SearchVisitors) ----
 * The schema gives types only. The limits below are bizreg's [G] guards, documented in the
 * README: E.164 (a country code of 1-3 digits, at most 15 digits in all, no trunk 0 as in
 * the docs' example 10123456789), RFC 5321's 254-character address, and generous bounds on
 * the free-text fields. A negative offset or a limit below 1 is refused (NotAvailable):
 * neither can mean anything for a page. */

/* phone: countryCode + phoneNumber at most 15 digits (E.164), checked when both are
 * well-formed on their own (a malformed one was reported already). */
static void check_phone(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  size_t cc, pn;
  int saved;
  (void)f;
  lua_pushliteral(L, "countryCode");  /* raw, like the walk: no metamethod runs */
  lua_rawget(L, idx);
  lua_pushliteral(L, "phoneNumber");
  lua_rawget(L, idx);
  if (lua_type(L, -2) == LUA_TSTRING && lua_type(L, -1) == LUA_TSTRING) {
    const char *c = lua_tolstring(L, -2, &cc), *p = lua_tolstring(L, -1, &pn);
    if (cc <= 3 && pn <= 14 && cc + pn > 15 && bz_rule_ok(BZ_R_DIGITS_NZ, c, cc) && bz_rule_ok(BZ_R_DIGITS_NZ, p, pn)) {
      saved = bz_path_push(w, "phoneNumber", 11);
      bz_violation(w, NULL, BZ_TOO_LONG, NULL, NULL);
      bz_path_pop(w, saved);
    }
  }
  lua_pop(L, 2);
}

/* A page bound below min; out-of-int32 values were reported as InvalidType already. */
static void check_min(bz_walk *w, const bz_field *f, int idx, long long min) {
  long long v;
  if (bz_tointeger(w->L, idx, &v) && v >= INT32_MIN_ && v <= INT32_MAX_ && v < min)
    bz_violation(w, f, BZ_NOT_AVAILABLE, NULL, NULL);
}
static void check_offset(bz_walk *w, const bz_field *f, int idx) { check_min(w, f, idx, 0); }
static void check_limit(bz_walk *w, const bz_field *f, int idx) { check_min(w, f, idx, 1); }

static const bz_field phone_rows[] = {
  { BZ_ROW("countryCode"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 3, .rule = BZ_R_DIGITS_NZ },
  { BZ_ROW("phoneNumber"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 14, .rule = BZ_R_DIGITS_NZ },
  { .name = NULL } };
static const bz_schema phone_schema = { "protos.Phone", phone_rows, check_phone };

static const bz_field search_rows[] = {
  { BZ_ROW("offset"), .type = BZ_T_INT, .imin = INT32_MIN_, .imax = INT32_MAX_, .check = check_offset },
  { BZ_ROW("limit"), .type = BZ_T_INT, .imin = INT32_MIN_, .imax = INT32_MAX_, .check = check_limit },
  { BZ_ROW("partOfVisitorName"), .type = BZ_T_STRING, .max = 100 },
  { BZ_ROW("dateOfBirth"), .type = BZ_T_STRING, .rule = BZ_R_DATE },
  { BZ_ROW("chartNumber"), .type = BZ_T_STRING, .max = 50 },
  { BZ_ROW("email"), .type = BZ_T_STRING, .max = 254 },
  { BZ_ROW("phone"), .type = BZ_T_OBJECT, .child = &phone_schema },
  { .name = NULL } };
const bz_schema bz_kos_search_visitors = { "protos.open.SearchVisitors", search_rows, NULL };
