/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-http-exchange.h"
#include "cf-mcp-era.h"
#include "cf-mcp-stream.h"

G_BEGIN_DECLS

#define CF_TYPE_HTTP_STREAM (cf_http_stream_get_type ())
G_DECLARE_FINAL_TYPE (CfHttpStream, cf_http_stream, CF, HTTP_STREAM, GObject)

CfHttpStream          *cf_http_stream_new          (CfHttpExchange    *exchange,
                                                    gboolean           accept_json,
                                                    gboolean           accept_sse);
CfMcpTransportContext *cf_http_stream_get_context  (CfHttpStream      *self);
void                   cf_http_stream_start_sse    (CfHttpStream      *self);
void                   cf_http_stream_keepalive    (CfHttpStream      *self);
gboolean               cf_http_stream_is_open      (CfHttpStream      *self);

G_END_DECLS
