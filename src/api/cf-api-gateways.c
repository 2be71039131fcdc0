/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-gateways"

#include "config.h"

#include "cf-api-private.h"

/* Refreshing asks the upstream for its tools, which needs the federation
 * layer's connections; until then the route exists and says so. */
static void
handle_refresh (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);

  if (cf_api_lookup (request, snapshot) != NULL)
    cf_api_respond_error (request, SOUP_STATUS_NOT_IMPLEMENTED,
                          "Upstream connections arrive with federation");
}

static const CfApiRoute gateway_routes[] = {
  { "POST", "{id}/tools/refresh", handle_refresh },
  { NULL, NULL, NULL },
};

/* GatewayCreate is a top-level body in ContextForge: nothing embedded. */
const CfApiKind cf_api_gateways = {
  .kind = CF_ENTITY_GATEWAY,
  .path = "/v1/gateways",
  .embed = NULL,
  .label = "Gateway",
  .routes = gateway_routes,
};
