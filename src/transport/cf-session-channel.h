/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-mcp-server.h"
#include "cf-mcp-session.h"

G_BEGIN_DECLS

#define CF_TYPE_SESSION_CHANNEL (cf_session_channel_get_type ())
G_DECLARE_FINAL_TYPE (CfSessionChannel, cf_session_channel, CF, SESSION_CHANNEL, GObject)

/**
 * CfSessionChannelWriteFunc:
 * @message: a serialized JSON-RPC message (or batch response) for the peer
 * @user_data: closure data
 *
 * Writes one message on the connection the channel serves. Messages come
 * serialized: every connection a channel serves writes text, and an answer
 * assembled from serialized parts passes through as it is.
 *
 * Returns: %TRUE if the message was written or queued for writing
 */
typedef gboolean (*CfSessionChannelWriteFunc) (GBytes   *message,
                                               gpointer  user_data);

CfSessionChannel *cf_session_channel_new            (CfMcpServer               *server,
                                                     const char                *scope,
                                                     CfSessionChannelWriteFunc  write,
                                                     gpointer                   user_data);
const char       *cf_session_channel_get_id         (CfSessionChannel          *self);
CfMcpServer      *cf_session_channel_get_server     (CfSessionChannel          *self);
const char       *cf_session_channel_get_scope      (CfSessionChannel          *self);
CfMcpSession     *cf_session_channel_get_session    (CfSessionChannel          *self);
void              cf_session_channel_set_identity   (CfSessionChannel          *self,
                                                     CfIdentity                *identity);
gboolean          cf_session_channel_is_closed      (CfSessionChannel          *self);
void              cf_session_channel_dispatch       (CfSessionChannel          *self,
                                                     JsonNode                  *node);
void              cf_session_channel_receive        (CfSessionChannel          *self,
                                                     const char                *data,
                                                     gsize                      length);
void              cf_session_channel_close          (CfSessionChannel          *self);

G_END_DECLS
