/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-resources"

#include "config.h"

#include "cf-api-private.h"
#include "cf-json.h"

/* ContextForge's `GET /resources/{id}` returns the content; here GET on an
 * id returns the entity for every kind alike, and the content has a path
 * of its own. */

static void
handle_info (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *resource = cf_api_lookup (request, snapshot);

  if (resource != NULL)
    cf_api_respond_object (request, SOUP_STATUS_OK,
                           cf_entity_schema_public_view (CF_ENTITY_RESOURCE, resource));
}

static JsonObject *
content_of (JsonObject *resource)
{
  JsonObject *content = json_object_new ();
  const char *blob = cf_json_object_get_string (resource, "blob");
  const char *mime_type = cf_json_object_get_string (resource, "mimeType");

  json_object_set_string_member (content, "uri", cf_json_object_get_string (resource, "uri"));
  if (mime_type == NULL)
    mime_type = blob ? "application/octet-stream" : "text/plain";
  json_object_set_string_member (content, "mimeType", mime_type);
  if (blob != NULL)
    json_object_set_string_member (content, "blob", blob);
  else
    json_object_set_string_member (content, "text",
                                   cf_json_object_get_string (resource, "text") ?: "");
  return content;
}

/* Reading content is using the resource, which a disabled one refuses. */
static void
handle_content (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *resource = cf_api_lookup (request, snapshot);

  if (resource == NULL)
    return;
  if (!cf_json_object_get_bool (resource, "enabled", TRUE))
    {
      g_autofree char *detail = g_strdup_printf ("Resource %s exists but is inactive", request->id);
      cf_api_respond_error (request, SOUP_STATUS_NOT_FOUND, detail);
      return;
    }
  cf_api_respond_object (request, SOUP_STATUS_OK, content_of (resource));
}

static const CfApiRoute resource_routes[] = {
  { "GET", "{id}/info", handle_info },
  { "GET", "{id}/content", handle_content },
  { NULL, NULL, NULL },
};

const CfApiKind cf_api_resources = {
  .kind = CF_ENTITY_RESOURCE,
  .path = "/v1/resources",
  .embed = "resource",
  .label = "Resource",
  .routes = resource_routes,
};
