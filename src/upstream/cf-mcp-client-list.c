/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-client-list"

#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client-private.h"

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

  for (guint i = 0; i < json_array_get_length (items); i++)
    json_array_add_element (data->items, cf_json_node_deep_copy (json_array_get_element (items,
                                                                                       i)));

  cursor = cf_json_object_get_string (result, "nextCursor");
  if (cursor == NULL || *cursor == '\0')
    {
      g_task_return_pointer (task, json_array_ref (data->items),
                             (GDestroyNotify) json_array_unref);
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
