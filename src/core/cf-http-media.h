/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean  cf_http_media_type_is (const char *content_type,
                                 const char *media_type);

G_END_DECLS
