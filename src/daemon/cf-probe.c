/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-probe"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cf-daemon-wait.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client.h"
#include "cf-mcp-version.h"
#include "cf-probe.h"

/* `contextforge-gateway probe [--transport http|sse|ws] [--call TOOL
 * [--args JSON]] URL` or `probe ... --stdio COMMAND [ARGS...]`: connects
 * to an MCP server with the client the gateway uses upstream (Streamable
 * HTTP, the 2024-11-05 HTTP+SSE transport, WebSocket or stdio), prints what it offers and how
 * long each step took, and calls a tool if asked. The exit status says
 * how it went: 0 if everything worked, 1 if the connection, a list or
 * the call failed (a tool result with `isError` included), 2 for a
 * usage error. The conformance suite's client mode runs it as the
 * client under test (tests/conformance/conformance-client.sh).
 *
 * It answers what a server asks of it without a user: no roots, a
 * declined elicitation, a refused sampling request. */

/* The longest --timeout, in seconds: a day. */
#define MAX_TIMEOUT_S 86400

/* JSON-RPC code of a request the user refused (the MCP sampling page's
 * example for a rejected sampling request). */
#define USER_REJECTED (-1)

static double
elapsed_ms (gint64 since)
{
  return (g_get_monotonic_time () - since) / 1000.0;
}

static void
print_json (const char *label,
            JsonObject *object)
{
  g_autofree char *text = object ? cf_json_object_to_string (object) : g_strdup ("{}");

  g_print ("%-13s %s\n", label, text);
}

static void
print_items (const char *label,
             JsonArray  *items,
             const char *key)
{
  g_print ("%-13s %u\n", label, json_array_get_length (items));
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      JsonObject *item = json_array_get_object_element (items, i);
      const char *description = cf_json_object_get_string (item, "description");

      g_print ("  %s%s%s\n", cf_json_object_get_string (item, key) ?: "(unnamed)",
               description ? "  " : "", description ? description : "");
    }
}

static gboolean
list (CfMcpClient  *client,
      CfDaemonWait *wait,
      const char   *method,
      const char   *label,
      const char   *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) items = NULL;
  gint64 start = g_get_monotonic_time ();

  cf_mcp_client_list_all_async (client, method, NULL, cf_daemon_wait_done, wait);
  items = cf_mcp_client_list_all_finish (client, cf_daemon_wait_run (wait), &error);
  if (items == NULL)
    {
      g_printerr ("%s failed: %s\n", method, error->message);
      return FALSE;
    }
  print_items (label, items, key);
  g_print ("%-13s %.1f ms\n", "", elapsed_ms (start));
  return TRUE;
}

/* What the server sends: printed, and its requests answered. */

static JsonObject *
error_object (int         code,
              const char *message)
{
  JsonObject *error = json_object_new ();

  json_object_set_int_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  return error;
}

static void
answer (CfMcpClient *client,
        JsonNode    *id,
        const char  *method)
{
  JsonObject *result = NULL;
  JsonObject *error = NULL;

  if (g_str_equal (method, "roots/list"))
    {
      result = json_object_new ();
      json_object_set_array_member (result, "roots", json_array_new ());
    }
  else if (g_str_equal (method, "elicitation/create"))
    {
      result = json_object_new ();
      json_object_set_string_member (result, "action", "decline");
    }
  else if (g_str_equal (method, "sampling/createMessage"))
    error = error_object (USER_REJECTED, "The probe does not sample");
  else
    error = error_object (CF_JSONRPC_METHOD_NOT_FOUND, "The probe does not handle this method");
  g_print ("%-13s %s (%s)\n", "  request", method, result ? "declined" : "refused");
  cf_mcp_client_respond (client, id, result, error);
}

static void
on_server_message (CfMcpClient *client,
                   JsonNode    *message,
                   gpointer     user_data)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");
  JsonObject *params = cf_json_object_get_object (object, "params");

  if (method == NULL)
    return;
  if (json_object_has_member (object, "id"))
    answer (client, json_object_get_member (object, "id"), method);
  else
    {
      g_autofree char *text = params ? cf_json_object_to_string (params) : g_strdup ("");

      g_print ("%-13s %s %s\n", "  message", method, text);
    }
}

/* Calling a tool */

static void
print_content (JsonArray *content)
{
  for (guint i = 0; content != NULL && i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);
      JsonObject *item = cf_json_node_is_object (node) ? json_node_get_object (node) : NULL;
      const char *type = cf_json_object_get_string (item, "type");
      JsonObject *resource = cf_json_object_get_object (item, "resource");

      if (g_strcmp0 (type, "text") == 0 && cf_json_object_get_string (item, "text") != NULL)
        g_print ("  %s\n", cf_json_object_get_string (item, "text"));
      else if (g_strcmp0 (type, "image") == 0 || g_strcmp0 (type, "audio") == 0)
        g_print ("  [%s %s, %zu bytes of base64]\n", type,
                 cf_json_object_get_string (item, "mimeType") ?: "?",
                 strlen (cf_json_object_get_string (item, "data") ?: ""));
      else if (g_strcmp0 (type, "resource") == 0)
        g_print ("  [resource %s]\n", cf_json_object_get_string (resource, "uri") ?: "?");
      else if (g_strcmp0 (type, "resource_link") == 0)
        g_print ("  [link %s]\n", cf_json_object_get_string (item, "uri") ?: "?");
      else
        {
          g_autofree char *text = cf_json_to_string (node, NULL);

          g_print ("  %s\n", text);
        }
    }
}

/* A 2026-07-28 server asks for input in the result (MRTR) instead of
 * sending requests; the client may leave it unanswered, and the probe
 * does. */
static void
report_input_required (const char *name,
                       JsonObject *result)
{
  JsonObject *requests = cf_json_object_get_object (result, "inputRequests");
  g_autoptr(GString) methods = g_string_new (NULL);
  g_autoptr(GList) members = requests ? json_object_get_members (requests) : NULL;

  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (requests, l->data);
      const char *method = cf_json_node_is_object (node)
                           ? cf_json_object_get_string (json_node_get_object (node), "method")
                           : NULL;

      g_string_append_printf (methods, "%s%s", methods->len ? ", " : "", method ?: "?");
    }
  g_printerr ("probe: %s asks for input the probe does not give (%s)\n", name,
              methods->len ? methods->str : "request state only");
}

static gboolean
call_tool (CfMcpClient  *client,
           CfDaemonWait *wait,
           const char   *name,
           JsonObject   *arguments)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) response = NULL;
  JsonObject *params = json_object_new ();
  JsonObject *failure, *result;
  gint64 start = g_get_monotonic_time ();

  json_object_set_string_member (params, "name", name);
  json_object_set_object_member (params, "arguments", json_object_ref (arguments));
  cf_mcp_client_request_async (client, "tools/call", params, on_server_message, NULL, NULL,
                               cf_daemon_wait_done, wait);
  response = cf_mcp_client_request_finish (client, cf_daemon_wait_run (wait), &error);
  if (response == NULL)
    {
      g_printerr ("probe: calling %s failed: %s\n", name, error->message);
      return FALSE;
    }

  failure = cf_json_object_get_object (json_node_get_object (response), "error");
  result = cf_json_object_get_object (json_node_get_object (response), "result");
  if (failure != NULL || result == NULL)
    {
      gint64 code = 0;

      cf_json_object_get_int (failure, "code", &code);
      g_printerr ("probe: calling %s failed: error %" G_GINT64_FORMAT ": %s\n", name, code,
                  cf_json_object_get_string (failure, "message") ?: "no result");
      return FALSE;
    }

  g_print ("%-13s %s, %.1f ms\n", "call", name, elapsed_ms (start));
  if (g_strcmp0 (cf_json_object_get_string (result, "resultType"), "input_required") == 0)
    {
      report_input_required (name, result);
      return FALSE;
    }
  print_content (cf_json_object_get_array (result, "content"));
  if (cf_json_object_get_object (result, "structuredContent") != NULL)
    print_json ("  structured", cf_json_object_get_object (result, "structuredContent"));
  if (cf_json_object_get_bool (result, "isError", FALSE))
    {
      g_printerr ("probe: %s returned an error result\n", name);
      return FALSE;
    }
  return TRUE;
}

static JsonObject *
parse_arguments (const char  *text,
                 GError     **error)
{
  g_autoptr(JsonNode) node = cf_json_parse (text, -1, error);

  if (node == NULL)
    return NULL;
  if (!cf_json_node_is_object (node))
    {
      g_set_error (error, CF_JSON_ERROR, CF_JSON_ERROR_SYNTAX, "--args must be a JSON object, "
                   "not %s", cf_json_node_type_name (node));
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static int
probe (CfMcpClient *client,
       const char  *tool,
       JsonObject  *arguments)
{
  g_autoptr(GError) error = NULL;
  CfDaemonWait wait;
  JsonObject *caps;
  gint64 start = g_get_monotonic_time ();
  gboolean ok;

  cf_daemon_wait_init (&wait);
  g_signal_connect (client, "notification", G_CALLBACK (on_server_message), NULL);
  cf_mcp_client_connect_async (client, NULL, cf_daemon_wait_done, &wait);
  if (!cf_mcp_client_connect_finish (client, cf_daemon_wait_run (&wait), &error))
    {
      g_printerr ("probe: cannot connect: %s\n", error->message);
      cf_daemon_wait_clear (&wait);
      return 1;
    }
  g_print ("%-13s %s (%s era), connected in %.1f ms\n", "protocol",
           cf_mcp_client_get_protocol_version (client),
           cf_mcp_client_get_era (client) == CF_MCP_ERA_MODERN ? "stateless" : "session",
           elapsed_ms (start));
  print_json ("server", cf_mcp_client_get_server_info (client));
  caps = cf_mcp_client_get_server_capabilities (client);
  print_json ("capabilities", caps);

  ok = (!json_object_has_member (caps, "tools") ||
        list (client, &wait, "tools/list", "tools", "name")) &&
       (!json_object_has_member (caps, "resources") ||
        list (client, &wait, "resources/list", "resources", "uri")) &&
       (!json_object_has_member (caps, "prompts") ||
        list (client, &wait, "prompts/list", "prompts", "name")) &&
       (tool == NULL || call_tool (client, &wait, tool, arguments));

  cf_daemon_wait_clear (&wait);
  cf_mcp_client_close (client);
  return ok ? 0 : 1;
}

int
cf_probe_main (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("URL | --stdio COMMAND [ARGS...]");
  g_autoptr(GError) error = NULL;
  g_autoptr(CfMcpClient) client = NULL;
  g_autoptr(JsonObject) arguments = NULL;
  g_autofree char *tool = NULL;
  g_autofree char *args = NULL;
  g_autofree char *transport = NULL;
  gboolean stdio = FALSE;
  int timeout_s = 30;
  GOptionEntry entries[] = {
    { "stdio", 0, 0, G_OPTION_ARG_NONE, &stdio, "Run COMMAND and speak MCP on its stdio", NULL },
    { "transport", 'T', 0, G_OPTION_ARG_STRING, &transport, "How to reach URL: http "
      "(Streamable HTTP, the default), sse (2024-11-05 HTTP+SSE) or ws (WebSocket)",
      "KIND" },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s, "Seconds per request (30)", "S" },
    { "call", 'c', 0, G_OPTION_ARG_STRING, &tool, "Call TOOL after listing", "TOOL" },
    { "args", 'a', 0, G_OPTION_ARG_STRING, &args, "The call's arguments, a JSON object ({})",
      "JSON" },
    { NULL }
  };

  g_option_context_set_summary (context, "Connect to an MCP server as a client and show what "
                                         "it offers.");
  g_option_context_set_description (context, "Exit status: 0 if all went well, 1 if the "
                                    "connection, a list or the call failed (including a tool "
                                    "result marked isError), 2 for a usage error.");
  g_option_context_add_main_entries (context, entries, NULL);
  /* The command's own options belong to it. */
  g_option_context_set_strict_posix (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("probe: %s\n", error->message);
      return 2;
    }
  if (argc < 2)
    {
      g_printerr ("probe: give a URL, or --stdio and a command (see probe --help)\n");
      return 2;
    }
  if (timeout_s <= 0 || timeout_s > MAX_TIMEOUT_S)
    {
      g_printerr ("probe: --timeout must be 1 to %d seconds\n", MAX_TIMEOUT_S);
      return 2;
    }
  if (transport != NULL && (stdio || (g_strcmp0 (transport, "http") != 0 &&
                                       g_strcmp0 (transport, "sse") != 0 &&
                                       g_strcmp0 (transport, "ws") != 0)))
    {
      g_printerr ("probe: %s\n", stdio ? "--transport does not go with --stdio"
                                       : "--transport must be http, sse or ws");
      return 2;
    }
  if (args != NULL && tool == NULL)
    {
      g_printerr ("probe: --args goes with --call\n");
      return 2;
    }
  if (tool != NULL && *tool == '\0')
    {
      g_printerr ("probe: --call needs a tool name\n");
      return 2;
    }
  arguments = args ? parse_arguments (args, &error) : json_object_new ();
  if (arguments == NULL)
    {
      g_printerr ("probe: invalid --args: %s\n", error->message);
      return 2;
    }

  if (stdio)
    client = cf_mcp_client_new_stdio ((const char * const *) argv + 1, NULL, NULL);
  else if (g_strcmp0 (transport, "sse") == 0)
    client = cf_mcp_client_new_sse (argv[1], NULL, NULL);
  else if (g_strcmp0 (transport, "ws") == 0)
    client = cf_mcp_client_new_websocket (argv[1], NULL, NULL);
  else
    client = cf_mcp_client_new_http (argv[1], NULL, NULL);
  cf_mcp_client_set_timeout (client, (guint) timeout_s * 1000);

  return probe (client, tool, arguments);
}
