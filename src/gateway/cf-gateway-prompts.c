/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway-prompts"

#include "config.h"

#include "cf-gateway-private.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-server.h"
#include "cf-prompt-render.h"
#include "cf-prompt-template.h"

/* prompts/list, prompts/get and completion/complete. */

static JsonObject *
prompt_for_mcp (JsonObject *entity)
{
  JsonObject *prompt = _cf_gateway_named_form (entity);

  _cf_gateway_copy_member (prompt, entity, "arguments", "arguments");
  return prompt;
}

static void
prompts_list (CfMcpRequest *request,
              gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  g_autoptr(GPtrArray) visible = NULL;
  guint start, end;

  visible = _cf_gateway_list_page (self, request, snapshot, CF_ENTITY_PROMPT, NULL, &start, &end);
  if (visible != NULL)
    _cf_gateway_return_page (self, request, snapshot, visible, start, end, "prompts",
                             prompt_for_mcp);
}

static gboolean
arguments_are_strings (JsonObject *arguments)
{
  g_autoptr(GList) members = arguments ? json_object_get_members (arguments) : NULL;

  for (GList *l = members; l != NULL; l = l->next)
    if (!cf_json_node_is_string (json_object_get_member (arguments, l->data)))
      return FALSE;
  return TRUE;
}

/* A missing argument, or a template failing on the arguments given, is the
 * caller's to fix; running out of the sandbox's limits is not. */
static int
render_error_code (const GError *error)
{
  if (g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_INVALID) ||
      (error->domain == CF_TEMPLATE_ERROR && error->code != CF_TEMPLATE_ERROR_LIMIT))
    return CF_JSONRPC_INVALID_PARAMS;
  return CF_JSONRPC_INTERNAL_ERROR;
}

static void
prompts_get (CfMcpRequest *request,
             gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  JsonObject *params = cf_mcp_request_get_params (request);
  const char *name = cf_json_object_get_string (params, "name");
  JsonNode *args_node = json_object_get_member (params, "arguments");
  JsonObject *arguments = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  JsonObject *prompt, *result;

  if (args_node != NULL && !JSON_NODE_HOLDS_NULL (args_node))
    arguments = JSON_NODE_HOLDS_OBJECT (args_node) ? json_node_get_object (args_node) : NULL;
  if (name == NULL || (args_node != NULL && !JSON_NODE_HOLDS_NULL (args_node) && arguments == NULL)
      || !arguments_are_strings (arguments))
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"name\" must be a string and "
                                   "\"arguments\" an object of strings", NULL);
      return;
    }

  prompt = cf_catalog_snapshot_find_by_name (snapshot, CF_ENTITY_PROMPT, name);
  if (!_cf_gateway_visible (self, snapshot, request, CF_ENTITY_PROMPT, prompt))
    {
      text = g_strdup_printf ("Invalid params: unknown prompt '%s'", name);
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS, text, NULL);
      return;
    }

  if (cf_json_object_get_string (prompt, "gatewayId") != NULL)
    {
      JsonObject *upstream = json_object_new ();

      json_object_set_string_member (upstream, "name",
                                     cf_json_object_get_string (prompt, "originalName") ?: name);
      if (arguments != NULL)
        json_object_set_object_member (upstream, "arguments", cf_json_object_deep_copy (arguments));
      _cf_gateway_relay (self, request, cf_json_object_get_string (prompt, "gatewayId"),
                         "prompts/get", upstream, TRUE);
      return;
    }

  result = cf_prompt_render (snapshot, prompt, arguments, NULL, &error);
  if (result == NULL)
    {
      int code = render_error_code (error);
      g_autofree char *message = g_strdup_printf ("%s%s", code == CF_JSONRPC_INVALID_PARAMS
                                                  ? "Invalid params: " : "", error->message);

      cf_mcp_request_return_error (request, code, message, NULL);
      return;
    }

  cf_mcp_request_return (request, result);
}

/* What a ref/resource names: a template by its own text (as the SDK
 * servers match it), else a resource by URI, or the template serving it. */
static JsonObject *
find_resource_ref (CfGateway         *self,
                   CfCatalogSnapshot *snapshot,
                   CfMcpRequest      *request,
                   const char        *uri)
{
  GPtrArray *resources = cf_catalog_snapshot_entries (snapshot, CF_ENTITY_RESOURCE);
  JsonObject *resource;

  if (uri == NULL)
    return NULL;
  for (guint i = 0; i < resources->len; i++)
    if (g_strcmp0 (cf_catalog_entry_get_uri_template (resources->pdata[i]), uri) == 0)
      {
        resource = cf_catalog_snapshot_get_entity (snapshot, resources->pdata[i]);
        if (_cf_gateway_visible (self, snapshot, request, CF_ENTITY_RESOURCE, resource))
          return resource;
      }
  resource = cf_catalog_snapshot_find_resource (snapshot, uri, NULL);
  return _cf_gateway_visible (self, snapshot, request, CF_ENTITY_RESOURCE, resource) ? resource
                                                                                    : NULL;
}

static void
completion_complete (CfMcpRequest *request,
                     gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  JsonObject *params = cf_mcp_request_get_params (request);
  JsonObject *ref = cf_json_object_get_object (params, "ref");
  JsonObject *argument = cf_json_object_get_object (params, "argument");
  const char *type = cf_json_object_get_string (ref, "type");
  JsonObject *result, *completion, *prompt, *resource;

  if (argument == NULL || cf_json_object_get_string (argument, "name") == NULL ||
      cf_json_object_get_string (argument, "value") == NULL ||
      (g_strcmp0 (type, "ref/prompt") != 0 && g_strcmp0 (type, "ref/resource") != 0))
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: need ref (ref/prompt or ref/resource) and "
                                   "argument {name, value}", NULL);
      return;
    }
  prompt = g_str_equal (type, "ref/prompt")
           ? cf_catalog_snapshot_find_by_name (snapshot, CF_ENTITY_PROMPT,
                                               cf_json_object_get_string (ref, "name"))
           : NULL;
  if (g_str_equal (type, "ref/prompt") &&
      !_cf_gateway_visible (self, snapshot, request, CF_ENTITY_PROMPT, prompt))
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: unknown prompt", NULL);
      return;
    }
  if (prompt != NULL && cf_json_object_get_string (prompt, "gatewayId") != NULL)
    {
      JsonObject *upstream = cf_json_object_deep_copy (params);

      json_object_remove_member (upstream, "_meta");
      json_object_set_string_member (cf_json_object_get_object (upstream, "ref"), "name",
                                     cf_json_object_get_string (prompt, "originalName"));
      _cf_gateway_relay (self, request, cf_json_object_get_string (prompt, "gatewayId"),
                         "completion/complete", upstream, TRUE);
      return;
    }
  /* Federated URIs are the upstream's own, so the ref goes as it is. */
  resource = g_str_equal (type, "ref/resource")
             ? find_resource_ref (self, snapshot, request, cf_json_object_get_string (ref, "uri"))
             : NULL;
  if (resource != NULL && cf_json_object_get_string (resource, "gatewayId") != NULL)
    {
      JsonObject *upstream = cf_json_object_deep_copy (params);

      json_object_remove_member (upstream, "_meta");
      _cf_gateway_relay (self, request, cf_json_object_get_string (resource, "gatewayId"),
                         "completion/complete", upstream, TRUE);
      return;
    }

  /* Registry prompts and resources declare no value sets, so there is
   * nothing to suggest; federated servers answer for their own. */
  completion = json_object_new ();
  json_object_set_array_member (completion, "values", json_array_new ());
  json_object_set_int_member (completion, "total", 0);
  json_object_set_boolean_member (completion, "hasMore", FALSE);
  result = json_object_new ();
  json_object_set_object_member (result, "completion", completion);
  cf_mcp_request_return (request, result);
}

void
_cf_gateway_install_prompts (CfGateway *self)
{
  _cf_gateway_add_method (self, "prompts/list", "prompts.read", prompts_list);
  _cf_gateway_add_method (self, "prompts/get", "prompts.execute", prompts_get);
  _cf_gateway_add_method (self, "completion/complete", "prompts.read", completion_complete);
}
