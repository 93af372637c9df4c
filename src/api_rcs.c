/* RCS Biz Center, everything the C core knows of it: the brand form of POST/PUT
 * /corp/brand (its JSON parts' rows, text part, file parts), the chatbot form of POST
 * /brand/{brandId}/chatbot (the same chatbots rows and certificate rule), the edit form of
 * PUT /brand/{brandId}/chatbot/{chatbotId} (the same chatbot rows), the cross-field rules,
 * and the error codes. Limits and codes from shared/api-notes.md (spec
 * 1.1.12/1.1.15). Row order = the order we emit = the documented order. */
#include <stddef.h>
#include <string.h>
#include "api.h"
#include "media.h"

/* ---- cross-field rules --------------------------------------------------- */

#define NOT_IN_MENUS "NotInMenus"  /* reason: an initFeedItems entry with no menu button */

/* Raw reads (no metamethod runs mid-walk); values compared with their length. */
static int menu_has(lua_State *L, int menus, const char *button, size_t blen) {
  size_t j, m = bz_rawlen(L, menus), n;
  int found = 0;
  for (j = 1; j <= m && !found; j++) {
    lua_rawgeti(L, menus, (int)j);
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushliteral(L, "buttonType");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        const char *v = lua_tolstring(L, -1, &n);
        found = n == blen && memcmp(v, button, n) == 0;
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  return found;
}

/* initFeedItems: every valid item but portalsearch must be a buttonType in menus. */
static void check_feed_items_in_menus(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  size_t i, n = bz_rawlen(L, idx);
  int menus;
  lua_pushstring(L, "menus");
  lua_rawget(L, w->parent);
  menus = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    size_t len;
    const char *v;
    lua_rawgeti(L, idx, (int)i);
    v = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &len) : NULL;
    /* invalid values were already reported by the item row */
    if (v && len && !(len == 12 && memcmp(v, "portalsearch", 12) == 0) && bz_in_list(f->item->enums, v, len) &&
        !(lua_type(L, menus) == LUA_TTABLE && menu_has(L, menus, v, len))) {
      int saved = bz_path_push_index(w, (long long)i);
      bz_violation(w, f->item, NOT_IN_MENUS, NULL, NULL);
      bz_path_pop(w, saved);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* chatbots[i].subNum, when given, must equal mdn (the server overwrites it anyway). */
static void check_equals_mdn(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  if (lua_type(L, idx) != LUA_TSTRING) return;
  lua_pushstring(L, "mdn");
  lua_rawget(L, w->parent);
  if (lua_type(L, -1) == LUA_TSTRING && !lua_rawequal(L, -1, idx)) bz_violation(w, f, BZ_MISMATCH, NULL, NULL);
  lua_pop(L, 1);
}

/* chatbots: each mdn once (a Lua table as the set). */
#define DUPLICATE_MDN "64341"  /* its message: bz_rcs_messages */
static void check_unique_mdn(bz_walk *w, const bz_field *f, int idx) {
  lua_State *L = w->L;
  size_t i, n = bz_rawlen(L, idx);
  int seen;
  (void)f;
  lua_createtable(L, 0, (int)(n < 1024 ? n : 1024));  /* presized: no rehash while filling */
  seen = lua_gettop(L);
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, idx, (int)i);
    if (lua_type(L, -1) == LUA_TTABLE) {
      lua_pushstring(L, "mdn");
      lua_rawget(L, -2);
      if (lua_type(L, -1) == LUA_TSTRING) {
        lua_pushvalue(L, -1);
        lua_rawget(L, seen);
        if (!lua_isnil(L, -1)) {
          int saved = bz_path_push_index(w, (long long)i);
          bz_path_push(w, "mdn", 3);
          bz_violation(w, NULL, BZ_DUPLICATE, DUPLICATE_MDN, lua_tostring(L, -2));
          bz_path_pop(w, saved);
        }
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushboolean(L, 1);
        lua_rawset(L, seen);
      }
      lua_pop(L, 1);
    }
    lua_pop(L, 1);
  }
  lua_pop(L, 1);
}

/* ---- rows ------------------------------------------------------------------- */

static const char *const button_enum[] = {
  "call", "web", "app", "store", "order", "buy", "tickets", "moreinfo", NULL };
/* Documented, but refused since 2020-12-03 by carrier policy. */
static const char *const button_deny[] = { "app", NULL };
static const char *const feed_items_enum[] = {
  "call", "web", "store", "order", "buy", "tickets", "moreinfo", "portalsearch", NULL };
static const char *const init_tab_enum[] = { "FEED", "INFO", NULL };
static const char *const init_feed_item_enum[] = { "TEL", "HOME", "SEARCH", NULL };
static const char *const yn_enum[] = { "Y", "N", NULL };
static const char *const rcs_reply_enum[] = { "0", "1", NULL };
static const char *const display_enum[] = { "11", "10", "01", "00", NULL };

static const bz_field applink_rows[] = {
  { BZ_ROW("packageName"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 40 },
  { BZ_ROW("action"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 40 },
  { BZ_ROW("uri"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 40 },
  { .name = NULL } };
static const bz_schema applink_schema = { "applink", applink_rows, NULL };

static const bz_field menu_rows[] = {
  { BZ_ROW("buttonType"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 20,
    .enums = button_enum, .deny = button_deny },
  { BZ_ROW("applink"), .type = BZ_T_OBJECT, .child = &applink_schema },
  { BZ_ROW("weblink"), .type = BZ_T_STRING, .max = 128, .rule = BZ_R_HTTP_URL,
    .req_unless_key = "buttonType", .req_unless_val = "call" },
  { .name = NULL } };
static const bz_schema menu_schema = { "MenuItemInfo", menu_rows, NULL };
static const bz_field menu_item = { BZ_ROW("menus"), .type = BZ_T_OBJECT, .child = &menu_schema };
static const bz_field feed_item = { BZ_ROW("initFeedItems"), .type = BZ_T_STRING, .enums = feed_items_enum };

static const bz_field brand_rows[] = {
  { BZ_ROW("name"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 20 },
  { BZ_ROW("description"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 150 },
  { BZ_ROW("tel"), .type = BZ_T_STRING, .max = 12 },
  { BZ_ROW("menus"), .type = BZ_T_ARRAY, .max = 3, .item = &menu_item },
  { BZ_ROW("categoryId"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 64 },
  { BZ_ROW("subCategoryId"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 64 },
  { BZ_ROW("categoryOpt"), .type = BZ_T_STRING, .max = 20 },
  { BZ_ROW("zipCode"), .type = BZ_T_STRING, .max = 5, .rule = BZ_R_DIGITS5 },
  { BZ_ROW("roadAddress"), .type = BZ_T_STRING, .max = 200 },
  { BZ_ROW("detailAddress"), .type = BZ_T_STRING, .max = 200 },
  { BZ_ROW("email"), .type = BZ_T_STRING, .max = 30, .rule = BZ_R_EMAIL },
  { BZ_ROW("webSiteUrl"), .type = BZ_T_STRING, .max = 128 },
  { BZ_ROW("initTab"), .type = BZ_T_STRING, .max = 5, .enums = init_tab_enum },
  { BZ_ROW("initFeedItem"), .type = BZ_T_STRING, .max = 6, .enums = init_feed_item_enum },
  { BZ_ROW("initFeedItems"), .type = BZ_T_ARRAY, .max = 4, .item = &feed_item,
    .check = check_feed_items_in_menus },
  { BZ_ROW("templateColor"), .type = BZ_T_STRING, .max = 10, .rule = BZ_R_HEXCOLOR },
  { BZ_ROW("bizInfoYn"), .type = BZ_T_STRING, .enums = yn_enum },
  { BZ_ROW("bizInfoTitle"), .type = BZ_T_STRING, .max = 20 },
  { BZ_ROW("bizInfoContent"), .type = BZ_T_STRING, .max = 200 },
  { .name = NULL } };
static const bz_schema reg_brand = { "regBrand", brand_rows, NULL };

static const bz_field chatbot_rows[] = {
  { BZ_ROW("mdn"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 40, .rule = BZ_R_LANDLINE,
    .code_req = "64307", .code_bad = "64308" },
  { BZ_ROW("subNum"), .type = BZ_T_STRING, .max = 40, .code_bad = "64381",
    .check = check_equals_mdn },
  { BZ_ROW("subTitle"), .type = BZ_T_STRING, .flags = BZ_REQUIRED, .max = 20,
    .code_req = "64309", .code_bad = "64374" },
  { BZ_ROW("rcsReply"), .type = BZ_T_STRING, .enums = rcs_reply_enum, .dflt = "1", .code_bad = "64311" },
  { BZ_ROW("display"), .type = BZ_T_STRING, .enums = display_enum, .code_bad = "64310" },
  { BZ_ROW("inputField"), .type = BZ_T_INT, .flags = BZ_INT_ENUM, .imin = 0, .imax = 1, .code_bad = "64364" },
  { BZ_ROW("subDescr"), .type = BZ_T_STRING, .max = 50 },
  { BZ_ROW("saftyStatusYn"), .type = BZ_T_STRING, .enums = yn_enum },
  { .name = NULL } };
static const bz_schema chatbot_schema = { "RegChatbotInfo", chatbot_rows, NULL };
static const bz_field chatbot_item = { BZ_ROW("chatbots"), .type = BZ_T_OBJECT, .child = &chatbot_schema };

static const bz_codes codes = {
  .required = "64336", .invalid_type = "64303", .too_long = "64304",
  .invalid_value = "64337", .not_allowed = "64338", .unknown_field = "64397" };

/* Every code's message, as the server words it (shared/api-notes.md); %s is the attribute's
 * own name ("required value: [name]", "[weblink]" for regBrand.menus[2].weblink): rcs.lua
 * fills it in. 64105, 64202, 64302 and 64316 are the Lua side's (a chatbotId, a query value, a JSON
 * part that is no JSON, a brandId). */
const bz_message bz_rcs_messages[] = {
  { "64105", "Invalid chatbotId on path parameter" },
  { "64202", "Invalid query parameter value (%s)" },
  { "64302", "Invalid JSON format" },
  { "64303", "Invalid type of Attribute (%s)" },
  { "64304", "Over specified size (%s)" },
  { "64305", "Missing Certification document" },
  { "64307", "Missing MDN" },
  { "64308", "Invalid MDN format" },
  { "64309", "Missing chatbot name" },
  { "64310", "Invalid display format" },
  { "64311", "Invalid rcsReply format" },
  { "64316", "Invalid brandId" },
  { "64329", "Missing profile image" },
  { "64331", "brand Image File Capacity Overflow" },
  { "64332", "brand profile file is only png" },
  { "64333", "Not Allowed Brand Image File Extension" },
  { "64335", "Brand Image File Image Size Error" },
  { "64336", "required value: [%s]" },
  { "64337", "Brand Creation Property Value Error (%s)" },
  { "64338", "Brand Creation Property Value Error With Reason (%s): carriers no longer accept buttonType app" },
  { DUPLICATE_MDN, "Duplicate MDN %s in chatbots" },
  { "64323", "No changes" },
  { "64343", "Brand Creation Chatbots Array Error" },
  { "64354", "Attached File Capacity Overflow" },
  { "64355", "Not allowed file extension" },
  { "64364", "Invalid inputField format" },
  { "64374", "Invalid subTitle format" },
  { "64381", "Invalid subNum format" },
  { "64394", "brand image must be 1:1 ratio" },
  { "64397", "invalid body %s" },
  { NULL, NULL } };

#define MiB (1024 * 1024)
/* The certificate of the sender numbers: one rule for both forms. Required with
 * chatbots (the brand form's are optional, the chatbot form's are not). */
#define SUBNUM_CERTIFICATE(fl)                                                            \
  { .name = "subNumCertificate", .flags = (fl), .required_with = "chatbots",                \
    .types = BZ_MT(BZ_MEDIA_JPEG) | BZ_MT(BZ_MEDIA_PNG) | BZ_MT(BZ_MEDIA_PDF) |             \
             BZ_MT(BZ_MEDIA_TIFF) | BZ_MT(BZ_MEDIA_ZIP),                                     \
    .max_bytes = 20 * MiB, .code_missing = "64305", .code_type = "64355", .code_size = "64354" }
/* The brand images: one rule each for the registration and the edit, which differ only
 * in whether the part is required (brandProfile) or may be sent empty (brandBackground). */
#define BRAND_PROFILE(fl)                                                                  \
  { .name = "brandProfile", .flags = (fl), .types = BZ_MT(BZ_MEDIA_PNG),                    \
    .max_bytes = 1 * MiB, .min_side = 388, .max_side = 1080, .square = 1,                   \
    .code_missing = "64329", .code_type = "64332", .code_size = "64331",                    \
    .code_ratio = "64394", .code_dims = "64335" }
#define BRAND_BACKGROUND(fl)                                                               \
  { .name = "brandBackground", .flags = (fl), .types = BZ_MT(BZ_MEDIA_PNG) | BZ_MT(BZ_MEDIA_JPEG), \
    .max_bytes = 1 * MiB, .min_side = 388, .max_side = 1080, .square = 1,                   \
    .code_type = "64333", .code_size = "64331", .code_ratio = "64394", .code_dims = "64335" }
static const bz_filerule files[] = {
  BRAND_PROFILE(BZ_REQUIRED),
  BRAND_BACKGROUND(0),
  SUBNUM_CERTIFICATE(0),
  { .name = NULL } };

/* Deprecated but still accepted plain form field. */
static const bz_field text_parts[] = {
  { .name = "mainMdn", .type = BZ_T_STRING, .max = 40 },
  { .name = NULL } };

/* ---- the brand form ------------------------------------------------------------ */

/* The chatbots JSON part (1..1000 items, each mdn once): one row for both forms. */
#define CHATBOTS_PART(fl, req_code)                                                       \
  { BZ_ROW("chatbots"), .type = BZ_T_ARRAY, .flags = (fl), .min = 1, .max = 1000,          \
    .item = &chatbot_item, .code_req = (req_code), .code_bad = "64343", .check = check_unique_mdn }

static const bz_field json_parts[] = {
  { BZ_ROW("regBrand"), .type = BZ_T_OBJECT, .flags = BZ_REQUIRED, .child = &reg_brand },
  CHATBOTS_PART(0, NULL),
  { .name = NULL } };

const bz_form bz_rcs_brand_form = { json_parts, text_parts, files, &codes, NULL };

/* ---- the chatbot form: sender numbers added to an existing brand ----------------- */

/* {"chatbots": [...]}: required here; an empty list answers 64343 as in the brand form. */
static const bz_field chatbot_json_parts[] = {
  CHATBOTS_PART(BZ_REQUIRED, "64343"),
  { .name = NULL } };
static const bz_field no_text_parts[] = { { .name = NULL } };
static const bz_filerule chatbot_files[] = {
  SUBNUM_CERTIFICATE(BZ_REQUIRED),
  { .name = NULL } };

const bz_form bz_rcs_chatbot_form = { chatbot_json_parts, no_text_parts, chatbot_files, &codes, NULL };

/* ---- the brand edit form: PUT /corp/{personId}/brand/{brandId} ------------------- */

/* The yaml's edit (requestBody of that PUT) differs from the POST: no part is required
 * (regBrand, when sent, is the same RegBrandInfo with its own required fields: the brand's
 * rows above), brandBackground sent empty removes the stored background, and there are no
 * chatbots / subNumCertificate parts. A payload with no part at all changes nothing: the
 * server's 64323 "No changes", answered here before anything is sent. */
static const bz_field edit_json_parts[] = {
  { BZ_ROW("regBrand"), .type = BZ_T_OBJECT, .child = &reg_brand },
  { .name = NULL } };
static const bz_filerule edit_files[] = {
  BRAND_PROFILE(0),
  BRAND_BACKGROUND(BZ_CLEARABLE),
  { .name = NULL } };

const bz_form bz_rcs_brand_edit_form = { edit_json_parts, text_parts, edit_files, &codes, "64323" };

/* ---- the edit form: one sender number changed ----------------------------------- */

/* PUT /brand/{brandId}/chatbot/{chatbotId} differs from the POST where the yaml says so:
 * one `chatbot` part holding one RegChatbotInfo (the same rows; written {"chatbot": {...}}
 * as regBrand is, whose yaml entry is the same plain $ref), not the `chatbots` list; and the
 * request body is not marked required, so the certificate is optional here [G: the server
 * may ask for one when the number's document matters]. */
static const bz_field chatbot_edit_json_parts[] = {
  { BZ_ROW("chatbot"), .type = BZ_T_OBJECT, .flags = BZ_REQUIRED, .child = &chatbot_schema },
  { .name = NULL } };
static const bz_filerule chatbot_edit_files[] = {
  SUBNUM_CERTIFICATE(0),
  { .name = NULL } };

const bz_form bz_rcs_chatbot_edit_form = { chatbot_edit_json_parts, no_text_parts, chatbot_edit_files, &codes, NULL };
