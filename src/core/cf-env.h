/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* Reading settings from an environment block the way ContextForge's
 * pydantic settings read them. A value that does not parse is a
 * CF_CONFIG_ERROR_INVALID error naming the variable. */

gboolean  cf_env_get_bool (const char * const *env,
                           const char         *name,
                           gboolean            default_value,
                           gboolean           *out_value,
                           GError            **error);
gboolean  cf_env_get_uint (const char * const *env,
                           const char         *name,
                           guint               default_value,
                           guint               max_value,
                           guint              *out_value,
                           GError            **error);
GStrv     cf_env_get_list (const char * const *env,
                           const char         *name,
                           const char * const *default_value);

G_END_DECLS
