/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

/* Upstreams on the legacy HTTP+SSE transport and on WebSocket, registered
 * through the REST API as a user does: the SDK's own SSE server run by
 * Node, and the C fixture's /ws. Their catalogs are synced and their
 * tools called through the gateway's /mcp. */

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-federation-transports-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, "gateway.db", NULL);
}

/* Calls a tool through the gateway; returns its result. */
static JsonNode *
call_tool (CfDaemonHarness *d,
           const char      *name,
           const char      *extra)
{
  g_autofree char *body = g_strdup_printf (
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\","
      "\"arguments\":{}%s}}", name, extra ? extra : "");
  guint status = 0;
  JsonNode *reply = cf_harness_request (d, "POST", "/mcp", body, NULL, &status, NULL);

  g_assert_cmpuint (status, ==, 200);
  return reply;
}

static void
assert_reachable (CfDaemonHarness *d,
                  const char      *id,
                  gint64           n_tools)
{
  g_autofree char *path = g_strdup_printf ("/v1/gateways/%s", id);
  g_autoptr(JsonNode) gateway = cf_harness_request (d, "GET", path, NULL, NULL, NULL, NULL);
  JsonObject *object = json_node_get_object (gateway);

  g_assert_true (json_object_get_boolean_member (object, "reachable"));
  g_assert_cmpint (json_object_get_int_member (object, "toolCount"), ==, n_tools);
}

static void
test_sse_upstream (void)
{
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  g_autofree char *node = g_build_filename (npm_dir, "node_modules", ".bin", "node", NULL);
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "unit", "sdk-sse-server.mjs",
                                                   NULL);
  const char *argv[] = { node, script, NULL };
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *url = NULL;
  g_autofree char *db = temp_db ();
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonNode) echo = NULL;
  g_autoptr(JsonNode) progress = NULL;
  CfDaemonHarness *d;

  g_assert_nonnull (npm_dir);
  upstream = cf_harness_spawn (argv, &url);
  g_assert_true (g_str_has_suffix (url, "/sse"));

  d = cf_daemon_harness_start (db, NULL);
  body = g_strdup_printf ("{\"name\":\"sdk\",\"url\":\"%s\",\"transport\":\"SSE\","
                          "\"prefix_mode\":\"never\"}", url);
  gateway = cf_harness_create (d, "gateways", body);
  /* Every page of the SDK server's paginated listing. */
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 5);
  assert_reachable (d, json_object_get_string_member (gateway, "id"), 5);

  echo = call_tool (d, "echo", NULL);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (echo)), ==,
                   "echo from the SDK");
  progress = call_tool (d, "progress", ",\"_meta\":{\"progressToken\":\"p-1\"}");
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (progress)), ==, "progressed");

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (upstream);
}

static void
test_websocket_upstream (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *argv[] = { fixture, "--port", "0", NULL };
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *mcp_url = NULL;
  g_autofree char *db = temp_db ();
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonNode) simple = NULL;
  g_autoptr(JsonNode) failing = NULL;
  CfDaemonHarness *d;

  upstream = cf_harness_spawn (argv, &mcp_url);
  g_assert_true (g_str_has_prefix (mcp_url, "http://") && g_str_has_suffix (mcp_url, "/mcp"));
  mcp_url[strlen (mcp_url) - strlen ("/mcp")] = '\0';

  d = cf_daemon_harness_start (db, NULL);
  body = g_strdup_printf ("{\"name\":\"ws\",\"url\":\"ws://%s/ws\",\"transport\":\"WEBSOCKET\","
                          "\"prefix_mode\":\"never\"}", mcp_url + strlen ("http://"));
  gateway = cf_harness_create (d, "gateways", body);
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 14);
  assert_reachable (d, json_object_get_string_member (gateway, "id"), 14);

  simple = call_tool (d, "test_simple_text", NULL);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (simple)), ==,
                   "This is a simple text response for testing.");
  failing = call_tool (d, "test_error_handling", NULL);
  g_assert_true (json_object_get_boolean_member (cf_harness_rpc_result (failing), "isError"));

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (upstream);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/federation-transports/sse", test_sse_upstream);
  g_test_add_func ("/federation-transports/websocket", test_websocket_upstream);

  return g_test_run ();
}
