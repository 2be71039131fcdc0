/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-client-list"

#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client-private.h"
#include "cf-mcp-param-headers.h"
#include "cf-upstream-http.h"

/* Paginated lists, followed to their end. An upstream decides how many
 * pages there are, so the walk is bounded: in pages, and by refusing a
 * cursor it has already seen, which would loop for ever. */

#define MAX_PAGES 10000

typedef struct {
  char       *method;
  const char *member;
  JsonArray  *items;
  GHashTable *cursors;
} ListAll;

static void
list_all_free (ListAll *data)
{
  g_free (data->method);
  json_array_unref (data->items);
  g_hash_table_unref (data->cursors);
  g_free (data);
}

static const char *
items_member (const char *method)
{
  static const struct { const char *method; const char *member; } lists[] = {
    { "tools/list", "tools" },
    { "resources/list", "resources" },
    { "resources/templates/list", "resourceTemplates" },
    { "prompts/list", "prompts" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    if (g_str_equal (method, lists[i].method))
      return lists[i].member;
  return NULL;
}

static void request_page (GTask      *task,
                          const char *cursor);

/* 2026-07-28: a tool whose x-mcp-header annotations break the rules is
 * left out of the list, as the spec asks of clients; the others' mirrored
 * arguments replace what the client knew, for the HTTP transport to send
 * with each call. Done for every transport: the gateway serves what it
 * lists over HTTP, where the same rules hold. */
static JsonArray *
take_tools (CfMcpClient *self,
            JsonArray   *items)
{
  g_autoptr(GHashTable) found = cf_mcp_param_headers_table_new ();
  JsonArray *kept = json_array_new ();
  GHashTableIter iter;
  gpointer name, headers;

  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      JsonObject *tool = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *tool_name = cf_json_object_get_string (tool, "name");
      g_autoptr(GError) error = NULL;
      CfMcpParamHeaders *compiled;

      compiled = cf_mcp_param_headers_compile (cf_json_object_get_object (tool, "inputSchema"),
                                               &error);
      if (error != NULL)
        {
          g_warning ("Leaving out the upstream's tool '%s': %s",
                     tool_name ? tool_name : "(unnamed)", error->message);
          continue;
        }
      if (compiled != NULL && tool_name != NULL)
        g_hash_table_replace (found, g_strdup (tool_name), compiled);
      else if (compiled != NULL)
        cf_mcp_param_headers_unref (compiled);
      json_array_add_element (kept, json_node_ref (node));
    }

  g_hash_table_remove_all (self->param_headers);
  g_hash_table_iter_init (&iter, found);
  while (g_hash_table_iter_next (&iter, &name, &headers))
    {
      g_hash_table_iter_steal (&iter);
      g_hash_table_insert (self->param_headers, name, headers);
    }
  return kept;
}

/* Returns the next cursor, or %NULL at the end or on error (then
 * returned on @task). */
static const char *
take_page (GTask      *task,
           JsonObject *response)
{
  ListAll *data = g_task_get_task_data (task);
  JsonObject *error = cf_json_object_get_object (response, "error");
  JsonObject *result = cf_json_object_get_object (response, "result");
  JsonArray *items = cf_json_object_get_array (result, data->member);
  const char *cursor;
  gint64 code = CF_JSONRPC_INTERNAL_ERROR;

  if (error != NULL)
    {
      cf_json_object_get_int (error, "code", &code);
      g_task_return_new_error (task, CF_JSONRPC_ERROR, (int) code, "%s",
                               cf_json_object_get_string (error, "message") ?: "Error");
      return NULL;
    }
  if (items == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                               "The upstream's %s result has no \"%s\" array",
                               data->method, data->member);
      return NULL;
    }

  /* The page is dropped next: its items are kept, not copied. */
  for (guint i = 0; i < json_array_get_length (items); i++)
    json_array_add_element (data->items, json_node_copy (json_array_get_element (items, i)));

  cursor = cf_json_object_get_string (result, "nextCursor");
  if (cursor == NULL || *cursor == '\0')
    {
      JsonArray *all = g_str_equal (data->method, "tools/list")
                       ? take_tools (g_task_get_source_object (task), data->items)
                       : json_array_ref (data->items);

      g_task_return_pointer (task, all, (GDestroyNotify) json_array_unref);
      return NULL;
    }
  if (g_hash_table_contains (data->cursors, cursor))
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                               "The upstream repeated the cursor \"%s\" of %s",
                               cursor, data->method);
      return NULL;
    }
  if (g_hash_table_size (data->cursors) + 1 >= MAX_PAGES)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                               "The upstream's %s has more than %d pages",
                               data->method, MAX_PAGES);
      return NULL;
    }
  g_hash_table_add (data->cursors, g_strdup (cursor));
  return cursor;
}

static void
on_page (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (CF_MCP_CLIENT (source), result,
                                                                &error);
  const char *cursor;

  if (response == NULL)
    {
      g_task_return_error (task, error);
      return;
    }
  cursor = take_page (task, json_node_get_object (response));
  if (cursor != NULL)
    request_page (task, cursor);
}

static void
request_page (GTask      *task,
              const char *cursor)
{
  ListAll *data = g_task_get_task_data (task);
  JsonObject *params = NULL;

  if (cursor != NULL)
    {
      params = json_object_new ();
      json_object_set_string_member (params, "cursor", cursor);
    }
  cf_mcp_client_request_async (g_task_get_source_object (task), data->method, params, NULL, NULL,
                               g_task_get_cancellable (task), on_page, g_object_ref (task));
}

/**
 * cf_mcp_client_list_all_async:
 * @self: a connected client
 * @method: `tools/list`, `resources/list`, `resources/templates/list` or
 *   `prompts/list`
 * @cancellable: (nullable): cancels the walk
 * @callback: called with every item
 * @user_data: closure data
 *
 * Lists everything the upstream has, page after page.
 */
void
cf_mcp_client_list_all_async (CfMcpClient         *self,
                              const char          *method,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  ListAll *data;

  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (method != NULL && items_member (method) != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_mcp_client_list_all_async);
  data = g_new0 (ListAll, 1);
  data->method = g_strdup (method);
  data->member = items_member (method);
  data->items = json_array_new ();
  data->cursors = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_task_set_task_data (task, data, (GDestroyNotify) list_all_free);
  request_page (task, NULL);
}

/**
 * cf_mcp_client_list_all_finish:
 * @self: the client
 * @result: the result
 * @error: return location for a %CF_MCP_CLIENT_ERROR, or a
 *   %CF_JSONRPC_ERROR with the code of the upstream's error response
 *
 * Returns: (transfer full): the items of every page, in order; copies the
 *   caller may modify
 */
JsonArray *
cf_mcp_client_list_all_finish (CfMcpClient   *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_mcp_client_list_all_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cf_mcp_client_share_param_headers:
 * @self: a client
 * @table: the table of another client of the same upstream, from
 *   cf_mcp_client_get_param_headers()
 *
 * Makes @self mirror tool arguments into Mcp-Param-* headers as the
 * client owning @table last listed them, for clients that send calls but
 * do not list tools themselves (a pool's extra connections).
 */
void
cf_mcp_client_share_param_headers (CfMcpClient *self,
                                   GHashTable  *table)
{
  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (table != NULL);

  g_hash_table_ref (table);
  g_clear_pointer (&self->param_headers, g_hash_table_unref);
  self->param_headers = table;
  if (self->transport != NULL && CF_IS_UPSTREAM_HTTP (self->transport))
    cf_upstream_http_set_param_headers (CF_UPSTREAM_HTTP (self->transport), table);
}

/**
 * cf_mcp_client_get_param_headers:
 * @self: a client
 *
 * Returns: (transfer none): tool name → #CfMcpParamHeaders, as the last
 *   complete tools/list found them
 */
GHashTable *
cf_mcp_client_get_param_headers (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), NULL);

  return self->param_headers;
}
