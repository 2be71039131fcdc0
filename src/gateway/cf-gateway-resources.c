/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway-resources"

#include "config.h"

#include "cf-gateway-private.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-server.h"

/* resources/list, resources/templates/list and resources/read. */

static gboolean
is_template (JsonObject *resource)
{
  return cf_json_object_get_string (resource, "uriTemplate") != NULL;
}

static gboolean
entry_is_template (CfCatalogEntry *resource)
{
  return cf_catalog_entry_get_uri_template (resource) != NULL;
}

static gboolean
entry_is_concrete (CfCatalogEntry *resource)
{
  return !entry_is_template (resource);
}

/* A resource is either a template or concrete, so one form serves both
 * lists. */
static JsonObject *
resource_for_mcp (JsonObject *entity)
{
  JsonObject *item = json_object_new ();
  gboolean template = is_template (entity);

  if (template)
    _cf_gateway_copy_member (item, entity, "uriTemplate", "uriTemplate");
  else
    _cf_gateway_copy_member (item, entity, "uri", "uri");
  _cf_gateway_copy_member (item, entity, "name", "name");
  _cf_gateway_copy_member (item, entity, "title", "title");
  _cf_gateway_copy_member (item, entity, "description", "description");
  _cf_gateway_copy_member (item, entity, "mimeType", "mimeType");
  if (!template)
    _cf_gateway_copy_member (item, entity, "size", "size");
  return item;
}

static void
list_resources (CfGateway    *self,
                CfMcpRequest *request,
                gboolean      templates)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  g_autoptr(GPtrArray) visible = NULL;
  guint start, end;

  visible = _cf_gateway_list_page (self, request, snapshot, CF_ENTITY_RESOURCE,
                                   templates ? entry_is_template : entry_is_concrete, &start, &end);
  if (visible != NULL)
    _cf_gateway_return_page (self, request, snapshot, visible, start, end,
                             templates ? "resourceTemplates" : "resources",
                             resource_for_mcp);
}

static void
resources_list (CfMcpRequest *request,
                gpointer      user_data)
{
  list_resources (user_data, request, FALSE);
}

static void
resources_templates_list (CfMcpRequest *request,
                          gpointer      user_data)
{
  list_resources (user_data, request, TRUE);
}

/* A templated resource's text names its variables as {name}. */
static char *
fill_template (const char *text,
               GHashTable *variables)
{
  GString *out = g_string_new (text);
  GHashTableIter iter;
  const char *name, *value;

  if (variables == NULL)
    return g_string_free (out, FALSE);
  g_hash_table_iter_init (&iter, variables);
  while (g_hash_table_iter_next (&iter, (gpointer *) &name, (gpointer *) &value))
    {
      g_autofree char *placeholder = g_strdup_printf ("{%s}", name);
      g_string_replace (out, placeholder, value, 0);
    }
  return g_string_free (out, FALSE);
}

static void
not_found (CfMcpRequest *request,
           const char   *uri)
{
  g_autofree char *text = g_strdup_printf ("Resource not found: %s", uri);
  JsonObject *data = json_object_new ();
  /* 2026-07-28 moved "not found" to Invalid Params; earlier revisions used
   * -32002, which their clients still expect. */
  int code = cf_mcp_request_get_era (request) == CF_MCP_ERA_MODERN
             ? CF_JSONRPC_INVALID_PARAMS : CF_JSONRPC_RESOURCE_NOT_FOUND_LEGACY;

  json_object_set_string_member (data, "uri", uri);
  cf_mcp_request_return_error (request, code, text, cf_json_node_new_object (data));
}

static void
resources_read (CfMcpRequest *request,
                gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  const char *uri = cf_mcp_request_get_param_string (request, "uri");
  g_autoptr(GHashTable) variables = NULL;
  JsonObject *resource, *content, *result;
  JsonArray *contents;
  const char *blob;

  if (uri == NULL)
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"uri\" must be a string", NULL);
      return;
    }

  resource = cf_catalog_snapshot_find_resource (snapshot, uri, &variables);
  if (!_cf_gateway_visible (self, snapshot, request, CF_ENTITY_RESOURCE, resource))
    {
      not_found (request, uri);
      return;
    }

  if (cf_json_object_get_string (resource, "gatewayId") != NULL)
    {
      JsonObject *upstream = json_object_new ();

      json_object_set_string_member (upstream, "uri", uri);
      _cf_gateway_relay (self, request, cf_json_object_get_string (resource, "gatewayId"),
                         "resources/read", upstream, TRUE);
      return;
    }

  content = json_object_new ();
  json_object_set_string_member (content, "uri", uri);
  blob = cf_json_object_get_string (resource, "blob");
  if (blob != NULL)
    {
      json_object_set_string_member (content, "mimeType",
                                     cf_json_object_get_string (resource, "mimeType")
                                     ?: "application/octet-stream");
      json_object_set_string_member (content, "blob", blob);
    }
  else
    {
      g_autofree char *text = fill_template (cf_json_object_get_string (resource, "text") ?: "",
                                             variables);

      json_object_set_string_member (content, "mimeType",
                                     cf_json_object_get_string (resource, "mimeType")
                                     ?: "text/plain");
      json_object_set_string_member (content, "text", text);
    }

  contents = json_array_new ();
  json_array_add_object_element (contents, content);
  result = json_object_new ();
  json_object_set_array_member (result, "contents", contents);
  cf_mcp_request_return (request, result);
}

void
_cf_gateway_install_resources (CfGateway *self)
{
  _cf_gateway_add_method (self, "resources/list", "resources.read", resources_list);
  _cf_gateway_add_method (self, "resources/templates/list", "resources.read",
                          resources_templates_list);
  _cf_gateway_add_method (self, "resources/read", "resources.read", resources_read);
}
