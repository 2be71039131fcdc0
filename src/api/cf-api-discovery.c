/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-discovery"

#include "config.h"

#include "cf-api-private.h"
#include "cf-entity-schema.h"
#include "cf-json.h"

/* `/v1/discovery`: the gateways found on the LAN over mDNS, and
 * registering one of them as an upstream (an explicit act: the
 * operator's consent). */

static CfDiscovery *
require_discovery (CfApiRequest *request)
{
  if (request->api->discovery == NULL)
    cf_api_respond_error (request, SOUP_STATUS_SERVICE_UNAVAILABLE,
                          "LAN discovery is not running in this gateway");
  return request->api->discovery;
}

static JsonArray *
peers_array (CfDiscovery *discovery)
{
  g_autoptr(GPtrArray) peers = cf_discovery_list_peers (discovery);
  JsonArray *array = json_array_sized_new (peers->len);

  for (guint i = 0; i < peers->len; i++)
    json_array_add_object_element (array, json_object_ref (peers->pdata[i]));
  return array;
}

/* GET /v1/discovery: the state of discovery, and the peers */
static void
handle_status (CfApiRequest *request)
{
  CfDiscovery *discovery = require_discovery (request);
  JsonObject *body;

  if (discovery == NULL)
    return;
  body = cf_discovery_describe (discovery);
  json_object_set_array_member (body, "peers", peers_array (discovery));
  cf_api_respond_object (request, SOUP_STATUS_OK, body);
}

/* PUT /v1/discovery {"enabled": bool}: turns it on or off, now */
static void
handle_set (CfApiRequest *request)
{
  CfDiscovery *discovery = require_discovery (request);
  g_autoptr(JsonObject) body = NULL;
  JsonNode *enabled;

  if (discovery == NULL || (body = cf_api_read_body (request, TRUE)) == NULL)
    return;
  enabled = json_object_get_member (body, "enabled");
  if (enabled == NULL || !JSON_NODE_HOLDS_VALUE (enabled) ||
      json_node_get_value_type (enabled) != G_TYPE_BOOLEAN)
    {
      cf_api_respond_problem (request, "body", "enabled", "bool_type",
                              "enabled: true or false is required");
      return;
    }
  cf_discovery_set_enabled (discovery, json_node_get_boolean (enabled));
  cf_api_respond_object (request, SOUP_STATUS_OK, cf_discovery_describe (discovery));
}

/* GET /v1/discovery/{id} */
static void
handle_get (CfApiRequest *request)
{
  CfDiscovery *discovery = require_discovery (request);
  JsonObject *peer;

  if (discovery == NULL)
    return;
  peer = cf_discovery_lookup_peer (discovery, request->id);
  if (peer == NULL)
    {
      cf_api_respond_error (request, SOUP_STATUS_NOT_FOUND, "No gateway with that id is nearby");
      return;
    }
  cf_api_respond_object (request, SOUP_STATUS_OK, peer);
}

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(CfApiRequest) request = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(JsonObject) gateway = cf_discovery_register_finish (CF_DISCOVERY (source), result,
                                                                &problems, &error);

  if (gateway != NULL)
    cf_api_respond_object (request, SOUP_STATUS_CREATED,
                           cf_entity_schema_public_view (CF_ENTITY_GATEWAY, gateway));
  else if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    cf_api_respond_error (request, SOUP_STATUS_NOT_FOUND, error->message);
  else if (error->domain == G_IO_ERROR)
    cf_api_respond_error (request, SOUP_STATUS_CONFLICT, error->message);
  else
    cf_api_respond_catalog_error (request, error, problems);
}

/* POST /v1/discovery/{id}/register: an optional GatewayCreate body
 * (name, credentials, team, visibility); discovery sets the URL */
static void
handle_register (CfApiRequest *request)
{
  CfDiscovery *discovery = require_discovery (request);
  g_autoptr(JsonObject) body = NULL;

  if (discovery == NULL || (body = cf_api_read_body (request, FALSE)) == NULL)
    return;
  if (!cf_api_set_ownership (request, body))
    return;
  cf_discovery_register_async (discovery, request->id, body, NULL, on_registered,
                               cf_api_request_hold (request));
}

static const CfApiRoute discovery_routes[] = {
  { "GET", "", handle_status },
  { "PUT", "", handle_set },
  { "GET", "{id}", handle_get },
  { "POST", "{id}/register", handle_register },
  { NULL, NULL, NULL },
};

const CfApiMount cf_api_discovery_mounts[] = {
  { "/v1/discovery", NULL, discovery_routes },
  { NULL, NULL, NULL },
};
