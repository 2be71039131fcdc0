/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-servers"

#include "config.h"

#include "cf-api-private.h"
#include "cf-json.h"

/* The associated entities of a virtual server, in the order the server
 * lists them; ids the snapshot no longer knows, and items the caller may
 * not see, are skipped. */
static void
respond_members (CfApiRequest *request,
                 CfEntityKind  kind,
                 const char   *member)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *server = cf_api_lookup (request, snapshot);
  g_autoptr(GPtrArray) entities = g_ptr_array_new ();
  JsonArray *ids;
  gboolean include_inactive;

  if (server == NULL ||
      !cf_api_query_get_bool (request, "include_inactive", FALSE, &include_inactive))
    return;
  ids = cf_json_object_get_array (server, member);
  for (guint i = 0; ids != NULL && i < json_array_get_length (ids); i++)
    {
      JsonObject *entity = cf_catalog_snapshot_lookup (snapshot, kind,
                                                       json_array_get_string_element (ids, i));
      if (entity != NULL && cf_api_request_sees (request, entity))
        g_ptr_array_add (entities, entity);
    }
  cf_api_respond_array (request, SOUP_STATUS_OK,
                        cf_api_public_views (snapshot, kind, entities, include_inactive));
}

static void
handle_tools (CfApiRequest *request)
{
  respond_members (request, CF_ENTITY_TOOL, "associatedTools");
}

static void
handle_resources (CfApiRequest *request)
{
  respond_members (request, CF_ENTITY_RESOURCE, "associatedResources");
}

static void
handle_prompts (CfApiRequest *request)
{
  respond_members (request, CF_ENTITY_PROMPT, "associatedPrompts");
}

static const CfApiRoute server_routes[] = {
  { "GET", "{id}/tools", handle_tools },
  { "GET", "{id}/resources", handle_resources },
  { "GET", "{id}/prompts", handle_prompts },
  { NULL, NULL, NULL },
};

const CfApiKind cf_api_servers = {
  .kind = CF_ENTITY_SERVER,
  .path = "/v1/servers",
  .embed = "server",
  .label = "Server",
  .routes = server_routes,
};
