/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

void        cf_rest_tool_call_async  (SoupSession         *session,
                                      JsonObject          *tool,
                                      JsonObject          *arguments,
                                      guint                default_timeout_ms,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data);
JsonObject *cf_rest_tool_call_finish (GAsyncResult        *result,
                                      GError             **error);

G_END_DECLS
