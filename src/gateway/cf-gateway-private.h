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
  /* What the lists build from one snapshot, kept until the next: */
  CfCatalogSnapshot *cached_snapshot;
  /* entry → its MCP form (a Tool, Resource, ResourceTemplate or
   * Prompt), serialized at its first listing */
  GHashTable  *mcp_forms;
  /* tool entry → the params of a tools/call of it upstream, sealed */
  GHashTable  *tool_params;
  /* per kind, the enabled entities, for callers who see everything on
   * the unscoped endpoint (NULL until asked for) */
  GPtrArray   *offered[CF_N_ENTITY_KINDS];
};

void      _cf_gateway_use_snapshot (CfGateway         *self,
                                    CfCatalogSnapshot *snapshot);
void      _cf_gateway_forget_snapshot (CfGateway *self);
JsonObject *_cf_gateway_tool_params (CfGateway         *self,
                                     CfCatalogSnapshot *snapshot,
                                     CfCatalogEntry    *tool,
                                     const char        *upstream_name);

gboolean  _cf_gateway_visible     (CfGateway         *self,
                                   CfCatalogSnapshot *snapshot,
                                   CfMcpRequest      *request,
                                   CfEntityKind       kind,
                                   JsonObject        *entity);
gboolean  _cf_gateway_entry_visible (CfGateway         *self,
                                     CfCatalogSnapshot *snapshot,
                                     CfMcpRequest      *request,
                                     CfEntityKind       kind,
                                     CfCatalogEntry    *entry);
gboolean  _cf_gateway_page        (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   guint              total,
                                   guint             *start,
                                   guint             *end);
GPtrArray *_cf_gateway_list_page  (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   CfCatalogSnapshot *snapshot,
                                   CfEntityKind       kind,
                                   gboolean         (*keep) (CfCatalogEntry *entry),
                                   guint             *start,
                                   guint             *end);
/**
 * CfGatewayFormFunc:
 * @entity: a catalog entity
 *
 * Returns: (transfer full): what a list of MCP shows of @entity
 */
typedef JsonObject *(*CfGatewayFormFunc) (JsonObject *entity);

JsonObject *_cf_gateway_named_form (JsonObject       *entity);
void      _cf_gateway_return_page (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   CfCatalogSnapshot *snapshot,
                                   GPtrArray         *visible,
                                   guint              start,
                                   guint              end,
                                   const char        *member,
                                   CfGatewayFormFunc  form);
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
                                     CfCatalogEntry    *entry);

JsonObject *_cf_gateway_tool_error (const char        *text);
void      _cf_gateway_relay       (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   const char        *gateway_id,
                                   const char        *method,
                                   JsonObject        *params,
                                   gboolean           idempotent);
void      _cf_gateway_relay_tool  (CfGateway         *self,
                                   CfMcpRequest      *request,
                                   const char        *gateway_id,
                                   JsonObject        *params,
                                   GBytes            *arguments,
                                   gboolean           idempotent);

void      _cf_gateway_add_method  (CfGateway         *self,
                                   const char        *method,
                                   const char        *permission,
                                   CfMcpMethodFunc    func);

void      _cf_gateway_install_tools     (CfGateway *self);
void      _cf_gateway_install_resources (CfGateway *self);
void      _cf_gateway_install_prompts   (CfGateway *self);

G_END_DECLS
