/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http-server.h"
#include "cf-mcp-server.h"
#include "cf-streamable-http.h"

G_BEGIN_DECLS

#define CF_TYPE_LEGACY_SSE (cf_legacy_sse_get_type ())
G_DECLARE_FINAL_TYPE (CfLegacySse, cf_legacy_sse, CF, LEGACY_SSE, GObject)

CfLegacySse *cf_legacy_sse_new           (CfMcpServer      *server);
void         cf_legacy_sse_mount         (CfLegacySse      *self,
                                          CfHttpServer     *http,
                                          const char       *sse_path,
                                          const char       *message_path);
void         cf_legacy_sse_mount_scoped  (CfLegacySse      *self,
                                          CfStreamableHttp *streamable);
void         cf_legacy_sse_set_keepalive (CfLegacySse      *self,
                                          guint             seconds);
guint        cf_legacy_sse_get_n_streams (CfLegacySse      *self);
void         cf_legacy_sse_close_streams (CfLegacySse      *self);

G_END_DECLS
