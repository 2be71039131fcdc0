/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-catalog.h"
#include "cf-gateway.h"
#include "cf-mcp-request.h"
#include "cf-mcp-server.h"
#include "cf-teams.h"
#include "cf-tool-limits.h"
#include "cf-upstream-pool.h"

G_BEGIN_DECLS

struct _CfGateway
{
  GObject      parent_instance;

  CfCatalog   *catalog;
  CfMcpServer *server;
  SoupSession *http;
  CfUpstreamPool *pool;
  gulong       changed_id;
  CfToolLimits *tool_limits;
  GHashTable  *rest_sessions;
  guint        tool_timeout_ms;
  guint        page_size;
  /* tool id → its compiled x-mcp-header annotations */
  GHashTable  *param_headers;
  CfTeams     *teams;
  /* tools/list's MCP form of the tools of one snapshot, built at their
   * first listing: tool entity → its MCP Tool object (never changed) */
  CfCatalogSnapshot *mcp_tools_snapshot;
  GHashTable  *mcp_tools;
};

void      _cf_gateway_forget_mcp_tools (CfGateway *self);

gboolean  _cf_gateway_visible     (CfGateway         *self,
                                   CfCatalogSnapshot *snapshot,
                                   CfMcpRequest      *request,
                                   CfEntityKind       kind,
                                   JsonObject        *entity);
gboolean  _cf_gateway_page        (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   guint              total,
                                   guint             *start,
                                   guint             *end);
GPtrArray *_cf_gateway_list_page  (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   CfCatalogSnapshot *snapshot,
                                   CfEntityKind       kind,
                                   gboolean         (*keep) (JsonObject *entity),
                                   guint             *start,
                                   guint             *end);
void      _cf_gateway_set_cursor  (JsonObject        *result,
                                   guint              end,
                                   guint              total);
void      _cf_gateway_copy_member (JsonObject        *to,
                                   JsonObject        *from,
                                   const char        *to_member,
                                   const char        *from_member);

void      _cf_gateway_install_param_headers (CfGateway *self);
gboolean  _cf_gateway_identity_sees (CfGateway         *self,
                                     CfCatalogSnapshot *snapshot,
                                     CfIdentity        *identity,
                                     const char        *scope,
                                     CfEntityKind       kind,
                                     JsonObject        *entity);

JsonObject *_cf_gateway_tool_error (const char        *text);
void      _cf_gateway_relay       (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   const char        *gateway_id,
                                   const char        *method,
                                   JsonObject        *params,
                                   gboolean           idempotent);

void      _cf_gateway_add_method  (CfGateway         *self,
                                   const char        *method,
                                   const char        *permission,
                                   CfMcpMethodFunc    func);

void      _cf_gateway_install_tools     (CfGateway *self);
void      _cf_gateway_install_resources (CfGateway *self);
void      _cf_gateway_install_prompts   (CfGateway *self);

G_END_DECLS
