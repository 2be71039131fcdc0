/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog.h"
#include "cf-mcp-server.h"
#include "cf-teams.h"
#include "cf-tool-limits.h"
#include "cf-upstream-pool.h"

G_BEGIN_DECLS

#define CF_TYPE_GATEWAY (cf_gateway_get_type ())
G_DECLARE_FINAL_TYPE (CfGateway, cf_gateway, CF, GATEWAY, GObject)

CfGateway   *cf_gateway_new               (CfCatalog   *catalog,
                                           CfMcpServer *server);
CfMcpServer *cf_gateway_get_server        (CfGateway   *self);
CfCatalog   *cf_gateway_get_catalog       (CfGateway   *self);
void         cf_gateway_set_tool_timeout  (CfGateway   *self,
                                           guint        msec);
void         cf_gateway_set_page_size     (CfGateway   *self,
                                           guint        page_size);
void         cf_gateway_set_upstream_pool (CfGateway     *self,
                                           CfUpstreamPool *pool);
void         cf_gateway_set_tool_limits   (CfGateway     *self,
                                           CfToolLimits  *limits);
void         cf_gateway_set_teams         (CfGateway     *self,
                                           CfTeams       *teams);
CfMcpServer *cf_gateway_lookup_scope      (const char  *server_id,
                                           gpointer     gateway);

G_END_DECLS
