/* KOS clinic CRM, everything the C core knows of it: the rows of POST
 * /image/open/v1/commands/register-visitor-images, following the seed's JSON Schema
 * in its key order (the order we emit). KOS has no error codes. */
#include <stddef.h>
#include "api.h"

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
