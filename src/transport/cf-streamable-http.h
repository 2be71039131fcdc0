/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http-server.h"
#include "cf-mcp-server.h"

G_BEGIN_DECLS

#define CF_TYPE_STREAMABLE_HTTP (cf_streamable_http_get_type ())
G_DECLARE_FINAL_TYPE (CfStreamableHttp, cf_streamable_http, CF, STREAMABLE_HTTP, GObject)

/**
 * CfScopeLookupFunc:
 * @scope: the id in `/servers/{id}/mcp`
 * @user_data: closure data
 *
 * Returns: the #CfMcpServer serving that scope, or %NULL if unknown
 */
typedef CfMcpServer *(*CfScopeLookupFunc) (const char *scope,
                                           gpointer    user_data);

/**
 * CfScopedHandler:
 * @http: the #CfHttpServer
 * @msg: the request, past the middleware chain
 * @server: the #CfMcpServer serving the scope
 * @scope: the id in `/servers/{id}/…`
 * @query: (nullable): the decoded query
 * @user_data: closure data
 *
 * Serves another transport's endpoint under the scoped prefix.
 */
typedef void (*CfScopedHandler) (CfHttpServer      *http,
                                 SoupServerMessage *msg,
                                 CfMcpServer       *server,
                                 const char        *scope,
                                 GHashTable        *query,
                                 gpointer           user_data);

CfStreamableHttp *cf_streamable_http_new          (CfMcpServer       *server);
void              cf_streamable_http_mount        (CfStreamableHttp  *self,
                                                   CfHttpServer      *http,
                                                   const char        *path);
void              cf_streamable_http_mount_rpc    (CfStreamableHttp  *self,
                                                   CfHttpServer      *http,
                                                   const char        *path);
void              cf_streamable_http_mount_scoped (CfStreamableHttp  *self,
                                                   CfHttpServer      *http,
                                                   const char        *prefix,
                                                   CfScopeLookupFunc  lookup,
                                                   gpointer           user_data);
void              cf_streamable_http_add_scoped_endpoint (CfStreamableHttp *self,
                                                         const char       *name,
                                                         CfScopedHandler   handler,
                                                         gpointer          user_data);
void              cf_streamable_http_set_keepalive (CfStreamableHttp *self,
                                                   guint              seconds);
void              cf_streamable_http_close_streams (CfStreamableHttp *self);

G_END_DECLS
