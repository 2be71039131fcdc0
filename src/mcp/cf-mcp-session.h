/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-types.h"

G_BEGIN_DECLS

#define CF_TYPE_MCP_SESSION (cf_mcp_session_get_type ())
G_DECLARE_FINAL_TYPE (CfMcpSession, cf_mcp_session, CF, MCP_SESSION, GObject)

CfMcpSession  *cf_mcp_session_new                    (const char    *id);
const char    *cf_mcp_session_get_id                 (CfMcpSession  *self);
const char    *cf_mcp_session_get_protocol_version   (CfMcpSession  *self);
void           cf_mcp_session_set_protocol_version   (CfMcpSession  *self,
                                                      const char    *version);
JsonObject    *cf_mcp_session_get_client_capabilities (CfMcpSession *self);
JsonObject    *cf_mcp_session_get_client_info        (CfMcpSession  *self);
void           cf_mcp_session_set_client             (CfMcpSession  *self,
                                                      JsonObject    *capabilities,
                                                      JsonObject    *info);
gboolean       cf_mcp_session_get_initialized        (CfMcpSession  *self);
void           cf_mcp_session_set_initialized        (CfMcpSession  *self,
                                                      gboolean       initialized);
CfMcpLogLevel  cf_mcp_session_get_log_level          (CfMcpSession  *self);
void           cf_mcp_session_set_log_level          (CfMcpSession  *self,
                                                      CfMcpLogLevel  level);
gboolean       cf_mcp_session_subscribe              (CfMcpSession  *self,
                                                      const char    *uri);
gboolean       cf_mcp_session_unsubscribe            (CfMcpSession  *self,
                                                      const char    *uri);
gboolean       cf_mcp_session_is_subscribed          (CfMcpSession  *self,
                                                      const char    *uri);
void           cf_mcp_session_set_stream             (CfMcpSession  *self,
                                                      CfMcpStream   *stream);
CfMcpStream   *cf_mcp_session_get_stream             (CfMcpSession  *self);
gboolean       cf_mcp_session_send                   (CfMcpSession  *self,
                                                      JsonNode      *message);
void           cf_mcp_session_track_request          (CfMcpSession  *self,
                                                      const char    *key,
                                                      CfMcpRequest  *request);
void           cf_mcp_session_untrack_request        (CfMcpSession  *self,
                                                      const char    *key);
CfMcpRequest  *cf_mcp_session_lookup_request         (CfMcpSession  *self,
                                                      const char    *key);
void           cf_mcp_session_cancel_all             (CfMcpSession  *self);
void           cf_mcp_session_touch                  (CfMcpSession  *self);
gint64         cf_mcp_session_get_last_activity      (CfMcpSession  *self);

G_END_DECLS
