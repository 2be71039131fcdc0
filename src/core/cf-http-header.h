/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

gboolean     cf_http_media_type_is (const char         *content_type,
                                    const char         *media_type);
const char  *cf_http_fields_get    (const char * const *fields,
                                    guint               n_fields,
                                    const char         *name);
SoupMessageHeaders *cf_http_fields_to_headers (const char * const     *fields,
                                               guint                   n_fields,
                                               SoupMessageHeadersType  type);

G_END_DECLS
