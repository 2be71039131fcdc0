/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http-server.h"
#include "cf-mcp-server.h"
#include "cf-streamable-http.h"

G_BEGIN_DECLS

#define CF_TYPE_WEBSOCKET (cf_websocket_get_type ())
G_DECLARE_FINAL_TYPE (CfWebsocket, cf_websocket, CF, WEBSOCKET, GObject)

CfWebsocket *cf_websocket_new              (CfMcpServer      *server);
void         cf_websocket_mount            (CfWebsocket      *self,
                                            CfHttpServer     *http,
                                            const char       *path);
void         cf_websocket_mount_scoped     (CfWebsocket      *self,
                                            CfStreamableHttp *streamable);
void         cf_websocket_set_keepalive    (CfWebsocket      *self,
                                            guint             seconds);
guint        cf_websocket_get_n_connections (CfWebsocket     *self);
void         cf_websocket_close_all        (CfWebsocket      *self);

G_END_DECLS
