/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-gateways"

#include "config.h"

#include "cf-api-private.h"

/* Re-lists the upstream's tools, resources and prompts (every page) in the
 * background, or reconnects it when it is down. The gateway's status
 * fields say when it is done. */
static void
handle_refresh (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *gateway = cf_api_lookup (request, snapshot);
  JsonObject *body;

  if (gateway == NULL)
    return;
  if (request->api->pool == NULL)
    {
      cf_api_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE,
                            "Upstream connections are not running");
      return;
    }
  if (!cf_upstream_pool_refresh (request->api->pool, request->id))
    {
      cf_api_respond_error (request, SOUP_STATUS_CONFLICT,
                            "The gateway is disabled: enable it to connect");
      return;
    }
  body = json_object_new ();
  json_object_set_string_member (body, "status", "refreshing");
  json_object_set_string_member (body, "gatewayId", request->id);
  cf_api_respond_object (request, SOUP_STATUS_ACCEPTED, body);
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
