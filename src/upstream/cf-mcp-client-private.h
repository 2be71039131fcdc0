/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-mcp-client.h"
#include "cf-upstream-transport.h"

G_BEGIN_DECLS

#define META_VERSION      "io.modelcontextprotocol/protocolVersion"
#define META_CLIENT_INFO  "io.modelcontextprotocol/clientInfo"
#define META_CAPABILITIES "io.modelcontextprotocol/clientCapabilities"
#define META_SERVER_INFO  "io.modelcontextprotocol/serverInfo"

/* How long a stdio upstream may take to answer the era probe before it
 * counts as a legacy server that ignores unknown methods. */
#define CF_MCP_CLIENT_PROBE_TIMEOUT_MS 3000

typedef enum {
  CF_UPSTREAM_KIND_HTTP,
  CF_UPSTREAM_KIND_STDIO,
  CF_UPSTREAM_KIND_SSE,
  CF_UPSTREAM_KIND_WEBSOCKET,
} CfUpstreamKind;

struct _CfMcpClient
{
  GObject              parent_instance;

  CfUpstreamKind       kind;
  /* HTTP, SSE, WebSocket */
  char                *url;
  SoupSession         *session;
  GHashTable          *headers;
  /* Tool name → CfMcpParamHeaders, from the last complete tools/list;
   * possibly shared with the other clients of one upstream. */
  GHashTable          *param_headers;
  /* stdio */
  GStrv                argv;
  GStrv                env;
  char                *cwd;

  CfUpstreamTransport *transport;
  gulong               message_id;
  gulong               closed_id;
  guint                timeout_ms;
  gsize                max_message;
  gint64               next_id;
  /* Calls out with a deadline, earliest first, and the one timer that
   * wakes for the first (cf-upstream-call.c) */
  GQueue               timed_calls;
  GSource             *call_timer;

  CfMcpEra             era;
  char                *protocol_version;
  JsonObject          *server_capabilities;
  JsonObject          *server_info;
  char                *instructions;
  guint                connected : 1;
};

void            _cf_mcp_client_start_call       (CfMcpClient            *self,
                                                 CfUpstreamTransport    *transport,
                                                 const char             *method,
                                                 JsonObject             *params,
                                                 JsonObject             *meta,
                                                 GBytes                 *arguments,
                                                 const char             *modern_version,
                                                 gboolean                internal,
                                                 guint                   timeout_ms,
                                                 CfMcpClientMessageFunc  on_message,
                                                 gpointer                on_message_data,
                                                 GCancellable           *cancellable,
                                                 GAsyncReadyCallback     callback,
                                                 gpointer                user_data);
GBytes         *_cf_upstream_call_build_text    (CfUpstreamCall         *call,
                                                 const char             *modern_version);
JsonObject     *_cf_mcp_client_capabilities     (void);
JsonObject     *_cf_mcp_client_info             (void);
CfUpstreamTransport *_cf_mcp_client_new_transport (CfMcpClient          *self);
void            _cf_mcp_client_set_transport    (CfMcpClient            *self,
                                                 CfUpstreamTransport    *transport);
void            _cf_mcp_client_drop_transport   (CfMcpClient            *self);
void            _cf_mcp_client_reset            (CfMcpClient            *self);

G_END_DECLS
