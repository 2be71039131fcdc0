/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_SLUG_DEFAULT_SEPARATOR "-"

char     *cf_slugify                 (const char *text,
                                      const char *separator);
gboolean  cf_slug_separator_is_valid (const char *separator);

G_END_DECLS
