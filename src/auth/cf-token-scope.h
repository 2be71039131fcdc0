/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

gboolean cf_token_scope_check_cidr      (const char          *text,
                                         GError             **error);
gboolean cf_token_scope_ip_allowed      (const char * const  *restrictions,
                                         GInetAddress        *address);
gboolean cf_token_scope_check_time      (JsonObject          *restrictions,
                                         GError             **error);
gboolean cf_token_scope_time_allowed    (JsonObject          *restrictions,
                                         GDateTime           *now);

G_END_DECLS
