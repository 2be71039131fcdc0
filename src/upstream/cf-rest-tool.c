/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-rest-tool"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-rest-tool.h"

/* Calls a REST tool (ContextForge's integration_type REST): the arguments
 * go to the query string (GET, DELETE) or a JSON body, the response body
 * becomes the tool result. Every failure of the upstream becomes a result
 * with isError, so that the model reads what went wrong; only a call that
 * was cancelled fails. */

#define MAX_RESPONSE (8 * 1024 * 1024)
#define EXCERPT 512

typedef struct {
  SoupMessage  *msg;
  GCancellable *timeout_cancellable;
  guint         timeout_id;
  gboolean      timed_out;
  guint         timeout_ms;
  char         *url;
  gboolean      has_output_schema;
} CallData;

static void
call_data_free (CallData *data)
{
  g_clear_handle_id (&data->timeout_id, g_source_remove);
  g_clear_object (&data->msg);
  g_clear_object (&data->timeout_cancellable);
  g_clear_pointer (&data->url, g_free);
  g_free (data);
}

static JsonObject *
text_result (const char *text,
             gboolean    is_error)
{
  JsonObject *result = json_object_new ();
  JsonArray *content = json_array_new ();
  JsonObject *block = json_object_new ();

  json_object_set_string_member (block, "type", "text");
  json_object_set_string_member (block, "text", text);
  json_array_add_object_element (content, block);
  json_object_set_array_member (result, "content", content);
  if (is_error)
    json_object_set_boolean_member (result, "isError", TRUE);
  return result;
}

static char *
argument_string (JsonNode *node)
{
  if (cf_json_node_is_string (node))
    return g_strdup (json_node_get_string (node));
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  if (JSON_NODE_HOLDS_NULL (node))
    return g_strdup ("");
  return cf_json_to_string (node, NULL);
}

static char *
build_query_url (const char *url,
                 JsonObject *arguments)
{
  g_autoptr(GList) members = arguments ? json_object_get_members (arguments) : NULL;
  GString *out = g_string_new (url);
  gboolean first = strchr (url, '?') == NULL;

  for (GList *l = members; l != NULL; l = l->next)
    {
      g_autofree char *value = argument_string (json_object_get_member (arguments, l->data));
      g_autofree char *k = g_uri_escape_string (l->data, NULL, FALSE);
      g_autofree char *v = g_uri_escape_string (value, NULL, FALSE);

      g_string_append_printf (out, "%c%s=%s", first ? '?' : '&', k, v);
      first = FALSE;
    }
  return g_string_free (out, FALSE);
}

static void
apply_headers (SoupMessage *msg,
               JsonObject  *headers)
{
  g_autoptr(GList) members = headers ? json_object_get_members (headers) : NULL;
  SoupMessageHeaders *request = soup_message_get_request_headers (msg);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const char *value = cf_json_object_get_string (headers, l->data);

      if (value != NULL && strpbrk (value, "\r\n") == NULL)
        soup_message_headers_replace (request, l->data, value);
    }
}

static gboolean
on_timeout (gpointer user_data)
{
  CallData *data = user_data;

  data->timeout_id = 0;
  data->timed_out = TRUE;
  g_cancellable_cancel (data->timeout_cancellable);
  return G_SOURCE_REMOVE;
}

static JsonObject *
response_result (CallData *data,
                 GBytes   *body)
{
  guint status = soup_message_get_status (data->msg);
  gsize size = 0;
  const char *bytes = g_bytes_get_data (body, &size);
  g_autofree char *text = g_utf8_make_valid (bytes ? bytes : "", size);
  JsonObject *result;

  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    {
      g_autofree char *msg = g_strdup_printf ("HTTP %u %s from %s: %.*s", status,
                                              soup_message_get_reason_phrase (data->msg) ?: "",
                                              data->url, EXCERPT, text);
      return text_result (msg, TRUE);
    }

  result = text_result (text, FALSE);
  /* A JSON object answer of a tool that declares an output schema is its
   * structured content as well. */
  if (data->has_output_schema)
    {
      g_autoptr(JsonNode) parsed = cf_json_parse (text, -1, NULL);

      if (parsed != NULL && JSON_NODE_HOLDS_OBJECT (parsed))
        json_object_set_member (result, "structuredContent", json_node_ref (parsed));
    }
  return result;
}

static void
on_response (GObject      *source,
             GAsyncResult *res,
             gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CallData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autofree char *msg = NULL;

  g_clear_handle_id (&data->timeout_id, g_source_remove);
  body = soup_session_send_and_read_finish (SOUP_SESSION (source), res, &error);

  if (body != NULL && g_bytes_get_size (body) > MAX_RESPONSE)
    msg = g_strdup_printf ("The response of %s exceeds %d bytes", data->url, MAX_RESPONSE);
  else if (body != NULL)
    {
      g_task_return_pointer (task, response_result (data, body), (GDestroyNotify) json_object_unref);
      return;
    }
  else if (data->timed_out)
    msg = g_strdup_printf ("The request to %s timed out after %u ms", data->url, data->timeout_ms);
  else if (g_task_return_error_if_cancelled (task))
    return;
  else
    msg = g_strdup_printf ("The request to %s failed: %s", data->url, error->message);

  g_task_return_pointer (task, text_result (msg, TRUE), (GDestroyNotify) json_object_unref);
}

/**
 * cf_rest_tool_call_async:
 * @session: the HTTP client session (connections are pooled there)
 * @tool: a REST tool entity
 * @arguments: (nullable): the call's arguments
 * @default_timeout_ms: the timeout when the tool sets none
 * @cancellable: (nullable): cancels the call
 * @callback: called with the result
 * @user_data: closure data
 */
void
cf_rest_tool_call_async (SoupSession         *session,
                         JsonObject          *tool,
                         JsonObject          *arguments,
                         guint                default_timeout_ms,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  const char *method = cf_json_object_get_string (tool, "requestType") ?: "POST";
  const char *url = cf_json_object_get_string (tool, "url");
  gboolean in_query = g_str_equal (method, "GET") || g_str_equal (method, "DELETE");
  g_autofree char *target = NULL;
  GTask *task;
  CallData *data;
  gint64 timeout = default_timeout_ms;

  task = g_task_new (NULL, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_rest_tool_call_async);
  data = g_new0 (CallData, 1);
  g_task_set_task_data (task, data, (GDestroyNotify) call_data_free);

  if (!g_str_equal (method, "GET") && !g_str_equal (method, "POST") &&
      !g_str_equal (method, "PUT") && !g_str_equal (method, "PATCH") && !in_query)
    method = "POST";

  target = in_query ? build_query_url (url, arguments) : g_strdup (url);
  data->url = g_strdup (url);
  data->msg = soup_message_new (method, target);
  if (data->msg == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("The tool's URL is not valid: %s", url ?: "");
      g_task_return_pointer (task, text_result (msg, TRUE), (GDestroyNotify) json_object_unref);
      g_object_unref (task);
      return;
    }

  apply_headers (data->msg, cf_json_object_get_object (tool, "headers"));
  if (!in_query)
    {
      g_autofree char *body = arguments ? cf_json_object_to_string (arguments) : g_strdup ("{}");
      gsize length = strlen (body);
      g_autoptr(GBytes) bytes = g_bytes_new_take (g_steal_pointer (&body), length);

      soup_message_set_request_body_from_bytes (data->msg, "application/json", bytes);
    }

  if (cf_json_object_get_int (tool, "timeoutMs", &timeout) && timeout <= 0)
    timeout = default_timeout_ms;
  data->timeout_ms = timeout;
  data->has_output_schema = cf_json_object_get_object (tool, "outputSchema") != NULL;
  data->timeout_cancellable = g_cancellable_new ();
  if (cancellable != NULL)
    g_signal_connect_object (cancellable, "cancelled", G_CALLBACK (g_cancellable_cancel),
                             data->timeout_cancellable, G_CONNECT_SWAPPED);
  data->timeout_id = g_timeout_add (data->timeout_ms, on_timeout, data);

  soup_session_send_and_read_async (session, data->msg, G_PRIORITY_DEFAULT,
                                    data->timeout_cancellable, on_response, task);
}

/**
 * cf_rest_tool_call_finish:
 *
 * Returns: (transfer full): a CallToolResult, or %NULL only if cancelled
 */
JsonObject *
cf_rest_tool_call_finish (GAsyncResult  *result,
                          GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}
