/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-probe"

#include "config.h"

#include <stdio.h>

#include "cf-json.h"
#include "cf-mcp-client.h"
#include "cf-mcp-version.h"
#include "cf-probe.h"

/* `contextforge-gateway probe URL` or `probe --stdio COMMAND [ARGS...]`:
 * connects to an MCP server with the client the gateway uses upstream,
 * and prints what it offers and how long each step took. */

typedef struct {
  GMainLoop    *loop;
  GAsyncResult *result;
} Wait;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_object_ref (result);
  g_main_loop_quit (wait->loop);
}

static GAsyncResult *
run (Wait *wait)
{
  g_clear_object (&wait->result);
  g_main_loop_run (wait->loop);
  return wait->result;
}

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
list (CfMcpClient *client,
      Wait        *wait,
      const char  *method,
      const char  *label,
      const char  *key)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonArray) items = NULL;
  gint64 start = g_get_monotonic_time ();

  cf_mcp_client_list_all_async (client, method, NULL, on_done, wait);
  items = cf_mcp_client_list_all_finish (client, run (wait), &error);
  if (items == NULL)
    {
      g_printerr ("%s failed: %s\n", method, error->message);
      return FALSE;
    }
  print_items (label, items, key);
  g_print ("%-13s %.1f ms\n", "", elapsed_ms (start));
  return TRUE;
}

int
cf_probe_main (int    argc,
               char **argv)
{
  g_autoptr(GOptionContext) context = g_option_context_new ("URL | --stdio COMMAND [ARGS...]");
  g_autoptr(GError) error = NULL;
  g_autoptr(CfMcpClient) client = NULL;
  g_autoptr(GMainLoop) loop = g_main_loop_new (NULL, FALSE);
  JsonObject *caps;
  gboolean stdio = FALSE;
  int timeout_s = 30;
  gint64 start;
  Wait wait = { loop, NULL };
  GOptionEntry entries[] = {
    { "stdio", 0, 0, G_OPTION_ARG_NONE, &stdio, "Run COMMAND and speak MCP on its stdio", NULL },
    { "timeout", 't', 0, G_OPTION_ARG_INT, &timeout_s, "Seconds per request (30)", "S" },
    { NULL }
  };

  g_option_context_set_summary (context, "Connect to an MCP server as a client and show what "
                                         "it offers.");
  g_option_context_add_main_entries (context, entries, NULL);
  /* The command's own options belong to it. */
  g_option_context_set_strict_posix (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    {
      g_printerr ("probe: %s\n", error->message);
      return 2;
    }
  if (argc < 2 || timeout_s <= 0)
    {
      g_printerr ("probe: give a URL, or --stdio and a command (see probe --help)\n");
      return 2;
    }

  if (stdio)
    client = cf_mcp_client_new_stdio ((const char * const *) argv + 1, NULL, NULL);
  else
    client = cf_mcp_client_new_http (argv[1], NULL, NULL);
  cf_mcp_client_set_timeout (client, timeout_s * 1000);

  start = g_get_monotonic_time ();
  cf_mcp_client_connect_async (client, NULL, on_done, &wait);
  if (!cf_mcp_client_connect_finish (client, run (&wait), &error))
    {
      g_printerr ("probe: cannot connect: %s\n", error->message);
      g_clear_object (&wait.result);
      return 1;
    }
  g_print ("%-13s %s (%s era), connected in %.1f ms\n", "protocol",
           cf_mcp_client_get_protocol_version (client),
           cf_mcp_client_get_era (client) == CF_MCP_ERA_MODERN ? "stateless" : "session",
           elapsed_ms (start));
  print_json ("server", cf_mcp_client_get_server_info (client));
  caps = cf_mcp_client_get_server_capabilities (client);
  print_json ("capabilities", caps);

  if ((json_object_has_member (caps, "tools") &&
       !list (client, &wait, "tools/list", "tools", "name")) ||
      (json_object_has_member (caps, "resources") &&
       !list (client, &wait, "resources/list", "resources", "uri")) ||
      (json_object_has_member (caps, "prompts") &&
       !list (client, &wait, "prompts/list", "prompts", "name")))
    {
      g_clear_object (&wait.result);
      cf_mcp_client_close (client);
      return 1;
    }

  g_clear_object (&wait.result);
  cf_mcp_client_close (client);
  return 0;
}
