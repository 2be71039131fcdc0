/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway-tools"

#include "config.h"

#include "cf-gateway-private.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-server.h"
#include "cf-rest-tool.h"

/* tools/list and tools/call of the gateway. */

static JsonObject *
tool_for_mcp (JsonObject *entity)
{
  JsonObject *tool = json_object_new ();

  _cf_gateway_copy_member (tool, entity, "name", "name");
  if (json_object_has_member (entity, "title"))
    _cf_gateway_copy_member (tool, entity, "title", "title");
  else
    _cf_gateway_copy_member (tool, entity, "title", "displayName");
  _cf_gateway_copy_member (tool, entity, "description", "description");
  _cf_gateway_copy_member (tool, entity, "inputSchema", "inputSchema");
  _cf_gateway_copy_member (tool, entity, "outputSchema", "outputSchema");
  _cf_gateway_copy_member (tool, entity, "annotations", "annotations");
  return tool;
}

static void
tools_list (CfMcpRequest *request,
            gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  g_autoptr(GPtrArray) visible = NULL;
  JsonObject *result;
  JsonArray *tools;
  guint start, end;

  visible = _cf_gateway_list_page (self, request, snapshot, CF_ENTITY_TOOL, NULL, &start, &end);
  if (visible == NULL)
    return;

  tools = json_array_new ();
  for (guint i = start; i < end; i++)
    json_array_add_object_element (tools, tool_for_mcp (visible->pdata[i]));
  result = json_object_new ();
  json_object_set_array_member (result, "tools", tools);
  _cf_gateway_set_cursor (result, end, visible->len);
  cf_mcp_request_return (request, result);
}

/* Per MCP, a call with bad arguments is a tool error the model can read
 * and correct, not a protocol error. */
static char *
missing_arguments (JsonObject *tool,
                   JsonObject *arguments)
{
  JsonObject *schema = cf_json_object_get_object (tool, "inputSchema");
  JsonArray *required = cf_json_object_get_array (schema, "required");
  g_autoptr(GString) missing = g_string_new (NULL);

  for (guint i = 0; required != NULL && i < json_array_get_length (required); i++)
    {
      const char *name = json_array_get_string_element (required, i);

      if (name != NULL && (arguments == NULL || !json_object_has_member (arguments, name)))
        g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", name);
    }
  return missing->len > 0 ? g_strdup (missing->str) : NULL;
}

static void
on_rest_called (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CfMcpRequest) request = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *answer = cf_rest_tool_call_finish (result, &error);

  if (answer == NULL)
    cf_mcp_request_return_error (request, CF_JSONRPC_INTERNAL_ERROR,
                                 "The tool call was cancelled", NULL);
  else
    cf_mcp_request_return (request, answer);
}

/* Whether a call may be sent twice: the upstream said so through the
 * tool's annotations (a read-only tool changes nothing either). */
static gboolean
tool_is_idempotent (JsonObject *tool)
{
  JsonObject *annotations = cf_json_object_get_object (tool, "annotations");

  return cf_json_object_get_bool (annotations, "idempotentHint", FALSE) ||
         cf_json_object_get_bool (annotations, "readOnlyHint", FALSE);
}

static void
tools_call (CfMcpRequest *request,
            gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  JsonObject *params = cf_mcp_request_get_params (request);
  const char *name = cf_json_object_get_string (params, "name");
  JsonNode *args_node = json_object_get_member (params, "arguments");
  JsonObject *arguments = NULL;
  JsonObject *tool;
  g_autofree char *missing = NULL;
  g_autofree char *text = NULL;

  if (name == NULL)
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"name\" must be a string", NULL);
      return;
    }
  if (args_node != NULL && !JSON_NODE_HOLDS_NULL (args_node))
    {
      if (!JSON_NODE_HOLDS_OBJECT (args_node))
        {
          cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                       "Invalid params: \"arguments\" must be an object", NULL);
          return;
        }
      arguments = json_node_get_object (args_node);
    }

  tool = cf_catalog_snapshot_find_by_name (snapshot, CF_ENTITY_TOOL, name);
  if (!_cf_gateway_visible (snapshot, request, CF_ENTITY_TOOL, tool))
    {
      text = g_strdup_printf ("Unknown tool: %s", name);
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS, text, NULL);
      return;
    }

  missing = missing_arguments (tool, arguments);
  if (missing != NULL)
    {
      text = g_strdup_printf ("Missing required argument(s) for %s: %s", name, missing);
      cf_mcp_request_return (request, _cf_gateway_tool_error (text));
      return;
    }

  if (g_strcmp0 (cf_json_object_get_string (tool, "integrationType"), "REST") == 0)
    {
      cf_rest_tool_call_async (self->http, tool, arguments, self->tool_timeout_ms,
                               cf_mcp_request_get_cancellable (request), on_rest_called,
                               g_object_ref (request));
      return;
    }

  {
    JsonObject *upstream = json_object_new ();

    /* Upstream, the tool goes by its original name. */
    json_object_set_string_member (upstream, "name",
                                   cf_json_object_get_string (tool, "originalName") ?: name);
    if (arguments != NULL)
      json_object_set_object_member (upstream, "arguments", cf_json_object_deep_copy (arguments));
    _cf_gateway_relay (self, request, cf_json_object_get_string (tool, "gatewayId"),
                       "tools/call", upstream, tool_is_idempotent (tool));
  }
}

void
_cf_gateway_install_tools (CfGateway *self)
{
  cf_mcp_server_add_method (self->server, "tools/list", tools_list, self, NULL);
  cf_mcp_server_add_method (self->server, "tools/call", tools_call, self, NULL);
}
