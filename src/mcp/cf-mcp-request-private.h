/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-jsonrpc.h"
#include "cf-mcp-era.h"
#include "cf-mcp-request.h"

G_BEGIN_DECLS

CfMcpRequest *_cf_mcp_request_new            (CfMcpServer            *server,
                                              CfMcpSession           *session,
                                              CfMcpStream            *stream,
                                              CfJsonrpcMessage       *message,
                                              const CfMcpRequestInfo *info,
                                              const char             *scope);
const char   *_cf_mcp_request_get_key        (CfMcpRequest           *self);
void          _cf_mcp_request_cancel         (CfMcpRequest           *self);
CfMcpStream  *_cf_mcp_request_get_stream     (CfMcpRequest           *self);
void          _cf_mcp_request_set_keep_open  (CfMcpRequest           *self,
                                              gboolean                keep_open);
void          _cf_mcp_request_set_identity   (CfMcpRequest           *self,
                                              CfIdentity             *identity);

G_END_DECLS
