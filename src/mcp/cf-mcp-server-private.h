/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-mcp-server.h"

G_BEGIN_DECLS

char *_cf_mcp_server_register_client_call   (CfMcpServer  *self,
                                             GTask        *task,
                                             CfMcpSession *session);
void  _cf_mcp_server_unregister_client_call (CfMcpServer  *self,
                                             const char   *key);
void  _cf_mcp_server_request_done           (CfMcpServer  *self,
                                             CfMcpRequest *request);

G_END_DECLS
