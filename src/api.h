/* The two APIs' tables, each defined in its own file (api_kos.c, api_rcs.c);
 * the generic machinery (validate.c, form.c, ...) knows no API. */
#ifndef BZ_API_H
#define BZ_API_H

#include "form.h"
#include "schema.h"
#include "validate.h"

extern const bz_schema bz_kos_visitor_images;  /* KOS: {images=[...]} */
extern const bz_schema bz_kos_search_visitors; /* KOS: {chartNumber=, phone={...}, ...} */
extern const bz_form bz_rcs_brand_form;        /* RCS: the brand form (register/resubmit) */
extern const bz_form bz_rcs_brand_edit_form;   /* RCS: the edit of a running brand (update_brand) */
extern const bz_form bz_rcs_chatbot_form;      /* RCS: chatbots added to a brand */
extern const bz_form bz_rcs_chatbot_edit_form; /* RCS: one chatbot edited */

/* An API's messages, beside the rows whose codes (RCS) or reasons (KOS) they name: the one
 * home of each message (core.RCS_MESSAGES, core.KOS_MESSAGES). Ended by a NULL key. */
typedef struct bz_message {
  const char *key;   /* RCS: the code; KOS (no codes): the reason */
  const char *text;  /* %s: the field's own name; KOS %d: the row's limit (core.check_field) */
} bz_message;
extern const bz_message bz_rcs_messages[];
extern const bz_message bz_kos_messages[];

#endif
