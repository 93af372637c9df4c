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
extern const bz_form bz_rcs_chatbot_form;      /* RCS: chatbots added to a brand */

#endif
