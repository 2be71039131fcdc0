/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-mcp-stream.h"

G_BEGIN_DECLS

#define CF_TYPE_MCP_BATCH_STREAM (cf_mcp_batch_stream_get_type ())
G_DECLARE_FINAL_TYPE (CfMcpBatchStream, cf_mcp_batch_stream, CF, MCP_BATCH_STREAM, GObject)

CfMcpBatchStream *cf_mcp_batch_stream_new (CfMcpStream *parent,
                                           guint        n_messages);

G_END_DECLS
