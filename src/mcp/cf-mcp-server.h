/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-mcp-era.h"
#include "cf-mcp-param-headers.h"
#include "cf-types.h"

G_BEGIN_DECLS

#define CF_TYPE_MCP_SERVER (cf_mcp_server_get_type ())
G_DECLARE_FINAL_TYPE (CfMcpServer, cf_mcp_server, CF, MCP_SERVER, GObject)

/**
 * CfMcpMethodFunc:
 * @request: the request to answer, exactly once, now or later
 * @user_data: closure data
 *
 * Handles one MCP method. The handler owns nothing: it answers with
 * cf_mcp_request_return() or an error, and may keep a reference to
 * @request to answer asynchronously.
 */
typedef void (*CfMcpMethodFunc) (CfMcpRequest *request,
                                 gpointer      user_data);

/**
 * CfMcpParamHeadersFunc:
 * @server: the server
 * @tool: a tool's name, as a tools/call names it
 * @scope: (nullable): the virtual server the endpoint serves
 * @identity: (nullable): who calls, as the transport's auth step found it
 * @user_data: closure data
 *
 * Finds which arguments of @tool clients mirror into Mcp-Param-* headers.
 * A tool the caller may not see has none, so that the call fails as for
 * an unknown tool rather than on its headers.
 *
 * Returns: (transfer none) (nullable): the tool's compiled annotations,
 *   valid until the main loop runs again, or %NULL for none (or no such
 *   tool)
 */
typedef CfMcpParamHeaders *(*CfMcpParamHeadersFunc) (CfMcpServer *server,
                                                     const char  *tool,
                                                     const char  *scope,
                                                     CfIdentity  *identity,
                                                     gpointer     user_data);

CfMcpServer        *cf_mcp_server_new                  (const char            *name,
                                                        const char            *version);
JsonObject         *cf_mcp_server_get_info             (CfMcpServer           *self);
void                cf_mcp_server_set_param_headers_func (CfMcpServer         *self,
                                                          CfMcpParamHeadersFunc func,
                                                          gpointer             user_data,
                                                          GDestroyNotify       destroy);
CfMcpParamHeaders  *cf_mcp_server_lookup_param_headers (CfMcpServer           *self,
                                                        const char            *tool,
                                                        const char            *scope,
                                                        CfIdentity            *identity);
void                cf_mcp_server_set_instructions     (CfMcpServer           *self,
                                                        const char            *instructions);
void                cf_mcp_server_set_versions         (CfMcpServer           *self,
                                                        const char * const    *versions);
const char * const *cf_mcp_server_get_versions         (CfMcpServer           *self);
gboolean            cf_mcp_server_supports_version     (CfMcpServer           *self,
                                                        const char            *version);
const char         *cf_mcp_server_get_default_legacy_version (CfMcpServer     *self);
void                cf_mcp_server_set_capability       (CfMcpServer           *self,
                                                        const char            *name,
                                                        JsonObject            *value);
JsonObject         *cf_mcp_server_build_capabilities   (CfMcpServer           *self,
                                                        CfMcpEra               era);
void                cf_mcp_server_add_method           (CfMcpServer           *self,
                                                        const char            *method,
                                                        CfMcpMethodFunc        func,
                                                        gpointer               user_data,
                                                        GDestroyNotify         destroy);
gboolean            cf_mcp_server_has_method           (CfMcpServer           *self,
                                                        const char            *method);
void                cf_mcp_server_set_client_timeout   (CfMcpServer           *self,
                                                        guint                  msec);
guint               cf_mcp_server_get_client_timeout   (CfMcpServer           *self);

void                cf_mcp_server_dispatch             (CfMcpServer           *self,
                                                        CfMcpTransportContext *context,
                                                        JsonNode              *node,
                                                        CfMcpStream           *stream);
void                cf_mcp_server_dispatch_message     (CfMcpServer           *self,
                                                        CfMcpTransportContext *context,
                                                        CfJsonrpcMessage      *message,
                                                        CfMcpStream           *stream);
void                cf_mcp_server_dispatch_error       (CfMcpServer           *self,
                                                        const GError          *error,
                                                        CfMcpStream           *stream);

CfMcpSession       *cf_mcp_server_lookup_session       (CfMcpServer           *self,
                                                        const char            *id);
gboolean            cf_mcp_server_close_session        (CfMcpServer           *self,
                                                        const char            *id);
guint               cf_mcp_server_get_n_sessions       (CfMcpServer           *self);
void                cf_mcp_server_add_connection       (CfMcpServer           *self,
                                                        CfMcpSession          *session);
void                cf_mcp_server_remove_connection    (CfMcpServer           *self,
                                                        CfMcpSession          *session);
guint               cf_mcp_server_expire_sessions      (CfMcpServer           *self,
                                                        gint64                 idle_usec);
void                cf_mcp_server_set_max_sessions     (CfMcpServer           *self,
                                                        guint                  max_sessions);

void                cf_mcp_server_notify_list_changed  (CfMcpServer           *self,
                                                        const char            *kind);
void                cf_mcp_server_notify_resource_updated (CfMcpServer        *self,
                                                        const char            *uri);
void                cf_mcp_server_shutdown             (CfMcpServer           *self);

G_END_DECLS
