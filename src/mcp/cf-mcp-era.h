/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-jsonrpc.h"
#include "cf-mcp-param-headers.h"
#include "cf-types.h"

G_BEGIN_DECLS

/**
 * CfMcpTransportContext:
 * @session: (nullable): the legacy session the message belongs to; for
 *   `initialize` over HTTP the dispatcher stores the new session here
 * @protocol_version_header: (nullable): MCP-Protocol-Version
 * @method_header: (nullable): Mcp-Method
 * @name_header: (nullable): Mcp-Name
 * @scope: (nullable): the virtual server the endpoint serves, if any
 * @identity: (nullable): who the message runs as, as the HTTP auth step
 *   found it (borrowed: each request takes its own reference)
 * @header_lookup: (nullable): finds any received header, for the
 *   Mcp-Param-* ones
 * @header_lookup_data: data for @header_lookup
 * @validate_headers: whether the transport mirrors fields into headers
 *   (Streamable HTTP), so that they must be checked against the body
 *
 * What a transport knows about one incoming message besides its body.
 */
typedef struct {
  CfMcpSession *session;
  const char   *protocol_version_header;
  const char   *method_header;
  const char   *name_header;
  const char   *scope;
  CfIdentity   *identity;
  CfMcpHeaderLookupFunc header_lookup;
  gpointer      header_lookup_data;
  guint         validate_headers : 1;
} CfMcpTransportContext;

/**
 * CfMcpRequestInfo:
 *
 * The era-neutral facts about one request, as the era adapter read them
 * from the handshake, the headers or the request's `_meta`. The client's
 * capabilities are the session's (legacy); a 2026-07-28 request's are in
 * its `_meta`, where the request reads them when they are asked for.
 */
typedef struct {
  const char    *version;
  CfMcpEra       era;
  JsonObject    *client_capabilities;
  CfMcpLogLevel  log_level;
} CfMcpRequestInfo;

gboolean    cf_mcp_era_resolve          (CfMcpServer            *server,
                                         CfMcpTransportContext  *context,
                                         CfJsonrpcMessage       *message,
                                         CfMcpRequestInfo       *info,
                                         guint                  *http_status,
                                         GError                **error);
gboolean    cf_mcp_era_method_allowed   (CfMcpEra                era,
                                         const char             *method);
JsonObject *cf_mcp_era_shape_result     (CfMcpEra                era,
                                         const char             *method,
                                         JsonObject             *result,
                                         gint64                  ttl_ms,
                                         gboolean                private_scope,
                                         JsonObject             *server_info);
const char * const *cf_mcp_era_get_shaped_members (void);
void        cf_mcp_era_append_shaped_members (CfMcpEra      era,
                                              const char   *method,
                                              gint64        ttl_ms,
                                              gboolean      private_scope,
                                              const char   *server_info,
                                              GString      *out,
                                              gboolean      separate);
guint       cf_mcp_era_error_status     (CfMcpEra                era,
                                         int                     code);
JsonNode   *cf_mcp_era_unsupported_data (CfMcpServer            *server,
                                         const char             *requested);
char       *cf_mcp_decode_header_value  (const char             *value);

G_END_DECLS
