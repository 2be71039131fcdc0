/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

/* Upstream MCP servers registered through the REST API, as a user does:
 * the C fixture server over stdio (spawned by the gateway) and over
 * Streamable HTTP, its catalog synced, its tools called through the
 * gateway with their notifications relayed. */

#define SYNC_TIMEOUT_US (15 * G_USEC_PER_SEC)

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-federation-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, "gateway.db", NULL);
}

static guint
count_tools (CfDaemonHarness *d,
             const char      *gateway_id)
{
  g_autofree char *path = g_strdup_printf ("/v1/tools?gateway_id=%s", gateway_id);
  g_autoptr(JsonNode) list = NULL;
  guint status = 0;

  list = cf_harness_request (d, "GET", path, NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  return json_array_get_length (json_node_get_array (list));
}

static JsonNode *
call_tool (CfDaemonHarness *d,
           const char      *name,
           const char      *extra)
{
  g_autofree char *body = g_strdup_printf (
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"tools/call\",\"params\":{\"name\":\"%s\"%s}}",
      name, extra ? extra : "");
  guint status = 0;
  JsonNode *reply = cf_harness_request (d, "POST", "/mcp", body, NULL, &status, NULL);

  g_assert_cmpuint (status, ==, 200);
  return reply;
}

static void
test_stdio_upstream (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *body = g_strdup_printf (
      "{\"name\":\"fixture\",\"transport\":\"STDIO\",\"command\":\"%s\",\"args\":[\"--stdio\"],"
      "\"prefix_mode\":\"never\"}", fixture);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  const char *id = json_object_get_string_member (gateway, "id");
  g_autoptr(JsonNode) simple = NULL;
  g_autoptr(JsonNode) failing = NULL;
  g_autoptr(JsonNode) status_node = NULL;
  g_autofree char *path = g_strdup_printf ("/v1/gateways/%s", id);
  guint status;

  cf_harness_wait_for_tools (d, id, 14);

  simple = call_tool (d, "test_simple_text", NULL);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (simple)), ==,
                   "This is a simple text response for testing.");
  failing = call_tool (d, "test_error_handling", ",\"arguments\":{}");
  g_assert_true (json_object_get_boolean_member (cf_harness_rpc_result (failing), "isError"));

  status_node = cf_harness_request (d, "GET", path, NULL, NULL, &status, NULL);
  g_assert_true (json_object_get_boolean_member (json_node_get_object (status_node), "reachable"));
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (status_node), "toolCount"),
                   ==, 14);

  /* Deleting the gateway removes what it contributed. */
  {
    g_autoptr(JsonNode) deleted = cf_harness_request (d, "DELETE", path, NULL, NULL, &status,
                                                      NULL);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpuint (count_tools (d, id), ==, 0);
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* A gateway federating the conformance fixture over Streamable HTTP as
 * "Far Fixture" (its tools prefixed far-fixture-), its 14 tools synced.
 * Stop @upstream after the gateway. */
static CfDaemonHarness *
start_far_fixture (const char   *db,
                   GSubprocess **upstream)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *argv[] = { fixture, "--port", "0", NULL };
  g_autofree char *url = NULL;
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  CfDaemonHarness *d;

  *upstream = cf_harness_spawn (argv, &url);
  d = cf_daemon_harness_start (db, NULL);
  body = g_strdup_printf ("{\"name\":\"Far Fixture\",\"url\":\"%s\",\"transport\":\"streamablehttp\"}",
                          url);
  gateway = cf_harness_create (d, "gateways", body);
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 14);
  return d;
}

static void
test_http_upstream (void)
{
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *db = temp_db ();
  g_autoptr(JsonNode) progress = NULL;
  CfDaemonHarness *d = start_far_fixture (db, &upstream);

  /* Prefixed as ContextForge does: slug of the gateway, separator, slug. */
  progress = call_tool (d, "far-fixture-test-tool-with-progress",
                        ",\"arguments\":{},\"_meta\":{\"progressToken\":\"p-1\"}");
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (progress)), ==,
                   "Tool with progress executed successfully");

  /* A 2026-07-28 client is told the gateway answered, not the upstream. */
  {
    const char *headers[] = { "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call",
                              "Mcp-Name", "far-fixture-test-simple-text", NULL };
    const char *request = "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"far-fixture-test-simple-text\",\"arguments\":{},\"_meta\":{"
                       "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                       "\"io.modelcontextprotocol/clientCapabilities\":{}}}}";
    g_autoptr(JsonNode) modern = NULL;
    JsonObject *meta;
    guint status = 0;

    modern = cf_harness_request (d, "POST", "/mcp", request, headers, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    meta = json_object_get_object_member (cf_harness_rpc_result (modern), "_meta");
    g_assert_cmpstr (json_object_get_string_member (
                         json_object_get_object_member (meta, "io.modelcontextprotocol/serverInfo"),
                         "name"), ==, "ContextForge");
  }

  /* Turning a federated tool off and on keeps its prefixed name; a custom
   * name keeps the prefix. */
  {
    g_autoptr(JsonNode) tools = NULL;
    g_autoptr(JsonNode) changed = NULL;
    g_autofree char *tool_path = NULL;
    g_autofree char *off = NULL;
    g_autofree char *on = NULL;
    const char *tool_id = NULL;
    guint status = 0;

    tools = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, NULL);
    for (guint i = 0; i < json_array_get_length (json_node_get_array (tools)); i++)
      {
        JsonObject *tool = json_array_get_object_element (json_node_get_array (tools), i);

        if (g_strcmp0 (cf_json_object_get_string (tool, "name"),
                       "far-fixture-test-simple-text") == 0)
          tool_id = cf_json_object_get_string (tool, "id");
      }
    g_assert_nonnull (tool_id);
    tool_path = g_strdup_printf ("/v1/tools/%s", tool_id);
    off = g_strdup_printf ("%s/state?activate=false", tool_path);
    on = g_strdup_printf ("%s/state?activate=true", tool_path);
    g_clear_pointer (&changed, json_node_unref);
    changed = cf_harness_request (d, "POST", off, NULL, NULL, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    g_clear_pointer (&changed, json_node_unref);
    changed = cf_harness_request (d, "POST", on, NULL, NULL, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    g_clear_pointer (&changed, json_node_unref);
    changed = cf_harness_request (d, "GET", tool_path, NULL, NULL, &status, NULL);
    g_assert_cmpstr (cf_json_object_get_string (json_node_get_object (changed), "name"), ==,
                     "far-fixture-test-simple-text");
    g_clear_pointer (&changed, json_node_unref);
    changed = cf_harness_request (d, "PUT", tool_path, "{\"tool\":{\"custom_name\":\"Plain Text\"}}",
                                  NULL, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpstr (cf_json_object_get_string (json_node_get_object (changed), "name"), ==,
                     "far-fixture-plain-text");
  }
  /* Under its new name, called after the catalog changed: the upstream
   * still hears its own name. */
  {
    g_autoptr(JsonNode) renamed = call_tool (d, "far-fixture-plain-text", ",\"arguments\":{}");

    g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (renamed)), ==,
                     "This is a simple text response for testing.");
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (upstream);
}

/* A POST of @request to /mcp, as the client reads it: in the era of
 * @version (its headers naming @method and @name), or (no @version) a
 * stateless legacy one. */
static char *
post_text (CfDaemonHarness *d,
           const char      *request,
           const char      *version,
           const char      *method,
           const char      *name)
{
  g_autofree char *uri = g_strconcat (d->url, "/mcp", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GBytes) response = NULL;
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);

  if (version != NULL)
    {
      soup_message_headers_replace (headers, "MCP-Protocol-Version", version);
      soup_message_headers_replace (headers, "Mcp-Method", method);
      soup_message_headers_replace (headers, "Mcp-Name", name);
    }
  soup_message_headers_replace (headers, "Accept", "application/json, text/event-stream");
  body = g_bytes_new_static (request, strlen (request));
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  response = soup_session_send_and_read (d->http, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
  return g_strndup (g_bytes_get_data (response, NULL), g_bytes_get_size (response));
}

/* A tools/call of echo through the gateway, as the client reads it: in
 * the 2026-07-28 era, or (no @version) a stateless legacy one. */
static char *
echo_text (CfDaemonHarness *d,
           const char      *version)
{
  if (version != NULL)
    return post_text (d, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                         "\"name\":\"echo\",\"arguments\":{\"text\":\"hello\"},\"_meta\":{"
                         "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
                         "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
                      version, "tools/call", "echo");
  return post_text (d, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{"
                       "\"name\":\"echo\",\"arguments\":{\"text\":\"hello\"}}}",
                    NULL, NULL, NULL);
}

static guint
count (const char *text,
       const char *needle)
{
  guint n = 0;

  for (const char *p = strstr (text, needle); p != NULL; p = strstr (p + 1, needle))
    n++;
  return n;
}

/* The log level a client asks for reaches a 2026-07-28 upstream (which
 * logs only when asked) in the call's _meta: a legacy client that set
 * none gets everything, a 2026-07-28 client what it asked for, or
 * nothing. */
static void
test_log_level (void)
{
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = start_far_fixture (db, &upstream);
#define MODERN_LOGGING(extra) \
    "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{" \
    "\"name\":\"far-fixture-test-tool-with-logging\",\"arguments\":{},\"_meta\":{" \
    "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
    "\"io.modelcontextprotocol/clientCapabilities\":{}" extra "}}}"

  {
    g_autofree char *legacy = post_text (
        d, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{"
           "\"name\":\"far-fixture-test-tool-with-logging\",\"arguments\":{}}}",
        NULL, NULL, NULL);
    g_autofree char *modern = post_text (
        d, MODERN_LOGGING (",\"io.modelcontextprotocol/logLevel\":\"info\""), "2026-07-28",
        "tools/call", "far-fixture-test-tool-with-logging");
    g_autofree char *quiet = post_text (d, MODERN_LOGGING (""), "2026-07-28", "tools/call",
                                        "far-fixture-test-tool-with-logging");

    g_assert_cmpuint (count (legacy, "notifications/message"), ==, 3);
    g_assert_nonnull (strstr (legacy, "Tool with logging executed successfully"));
    g_assert_cmpuint (count (modern, "notifications/message"), ==, 3);
    g_assert_nonnull (strstr (modern, "Tool with logging executed successfully"));
    g_assert_cmpuint (count (quiet, "notifications/message"), ==, 0);
    g_assert_nonnull (strstr (quiet, "Tool with logging executed successfully"));
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (upstream);
#undef MODERN_LOGGING
}

/* SIGKILL of the gateway leaves no stdio child behind. */
/* A tools/call's arguments pass upstream as the client wrote them
 * (escapes, spaces, order); what the gateway checks of them (an object or
 * null, the required names) it reads from that text, with the tree as the
 * fallback for escaped names and long argument lists. The bench fixture's
 * echo requires "text", add requires "a" and "b". */
static void
test_arguments (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *argv[] = { fixture, "--bench", "--port", "0", NULL };
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *url = NULL;
  g_autofree char *db = temp_db ();
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(GString) many = g_string_new (",\"arguments\":{");
  CfDaemonHarness *d;
  static const struct {
    const char *name;
    const char *extra;
    const char *text;
    gboolean is_error;
  } results[] = {
    { "echo", ",\"arguments\":{\"text\":\"a\\u00e9\\\"b\\ud83d\\ude00\"}", "a\xc3\xa9\"b\xf0\x9f\x98\x80", FALSE },
    { "echo", ",\"arguments\" : { \"n\" : [1, {\"y\": null}] ,\"text\":\"spaced\" } ", "spaced", FALSE },
    { "echo", ",\"arguments\":{\"t\\u0065xt\":\"escaped name\"}", "escaped name", FALSE },
    { "add", ",\"arguments\":{\"b\":2,\"a\":1.5}", "3.5", FALSE },
    { "echo", ",\"arguments\":null", "Missing required argument(s) for echo: text", TRUE },
    { "echo", "", "Missing required argument(s) for echo: text", TRUE },
    { "echo", ",\"arguments\":{\"txt\":\"x\"}", "Missing required argument(s) for echo: text",
      TRUE },
    { "add", ",\"arguments\":{\"a\":1}", "Missing required argument(s) for add: b", TRUE },
  };
  static const char *invalid[] = {
    ",\"arguments\":\"text\"", ",\"arguments\":[1]", ",\"arguments\":7", ",\"arguments\":true",
  };

  upstream = cf_harness_spawn (argv, &url);
  d = cf_daemon_harness_start (db, NULL);
  body = g_strdup_printf ("{\"name\":\"bench\",\"url\":\"%s\",\"transport\":\"streamablehttp\","
                          "\"prefix_mode\":\"never\"}", url);
  gateway = cf_harness_create (d, "gateways", body);
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 2);

  for (guint i = 0; i < G_N_ELEMENTS (results); i++)
    {
      g_autoptr(JsonNode) reply = call_tool (d, results[i].name, results[i].extra);
      JsonObject *result = cf_harness_rpc_result (reply);

      g_test_message ("%s%s", results[i].name, results[i].extra);
      g_assert_cmpstr (cf_harness_first_text (result), ==, results[i].text);
      g_assert_true (cf_json_object_get_bool (result, "isError", FALSE) == results[i].is_error);
    }

  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(JsonNode) reply = call_tool (d, "echo", invalid[i]);
      JsonObject *error = cf_json_object_get_object (json_node_get_object (reply), "error");
      gint64 code = 0;

      g_test_message ("echo%s", invalid[i]);
      g_assert_true (cf_json_object_get_int (error, "code", &code));
      g_assert_cmpint (code, ==, -32602);
      g_assert_cmpstr (cf_json_object_get_string (error, "message"), ==,
                       "Invalid params: \"arguments\" must be an object");
    }

  /* More arguments than are looked up in the text: the tree answers. */
  for (guint i = 0; i < 40; i++)
    g_string_append_printf (many, "\"k%u\":%u,", i, i);
  g_string_append (many, "\"text\":\"forty-one\"}");
  {
    g_autoptr(JsonNode) reply = call_tool (d, "echo", many->str);

    g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==, "forty-one");
  }
  /* The upstream's result passes through as text, its resultType and
   * serverInfo left out; the era adapter writes the gateway's, once, for
   * the client's era only. */
  {
    g_autofree char *legacy = echo_text (d, NULL);
    g_autofree char *modern = echo_text (d, "2026-07-28");
    g_autoptr(JsonNode) parsed = cf_json_parse (modern, -1, NULL);
    JsonObject *result = cf_harness_rpc_result (parsed);
    JsonObject *meta = cf_json_object_get_object (result, "_meta");

    g_assert_cmpstr (legacy, ==, "{\"jsonrpc\":\"2.0\",\"id\":9,\"result\":{\"content\":["
                                 "{\"type\":\"text\",\"text\":\"hello\"}]}}");
    g_assert_cmpuint (count (modern, "\"resultType\""), ==, 1);
    g_assert_cmpuint (count (modern, "\"_meta\""), ==, 1);
    g_assert_null (strstr (modern, "cf-conformance-fixture"));
    g_assert_cmpstr (cf_harness_first_text (result), ==, "hello");
    g_assert_cmpstr (cf_json_object_get_string (result, "resultType"), ==, "complete");
    g_assert_cmpstr (cf_json_object_get_string (
                         cf_json_object_get_object (meta, "io.modelcontextprotocol/serverInfo"),
                         "name"), ==, "ContextForge");
  }

  g_string_truncate (many, many->len - strlen ("\"text\":\"forty-one\"}"));
  g_string_append (many, "\"k\":0}");
  {
    g_autoptr(JsonNode) reply = call_tool (d, "echo", many->str);

    g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                     "Missing required argument(s) for echo: text");
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_no_orphans (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *body = g_strdup_printf (
      "{\"name\":\"fixture\",\"transport\":\"STDIO\",\"command\":\"%s\",\"args\":[\"--stdio\"]}",
      fixture);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  GPid daemon_pid = atoi (g_subprocess_get_identifier (d->process));
  g_autoptr(GArray) children = NULL;
  gint64 deadline;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 14);
  children = cf_harness_children_of (daemon_pid);
  g_assert_cmpuint (children->len, ==, 1);
  g_subprocess_send_signal (d->process, SIGKILL);
  g_subprocess_wait (d->process, NULL, NULL);

  deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;
  while (cf_harness_process_exists (g_array_index (children, GPid, 0)) && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_assert_false (cf_harness_process_exists (g_array_index (children, GPid, 0)));
  cf_daemon_harness_free (d);
}

static void
run_probe (const char * const *args,
           int                 expected_status,
           const char         *expected)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("CF_TEST_GATEWAY"));
  g_ptr_array_add (argv, "probe");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = g_subprocess_newv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, expected_status);
  if (strstr (out, expected) == NULL && strstr (err, expected) == NULL)
    g_error ("expected \"%s\" from probe, got: %s%s", expected, out, err);
}

/* `probe` connects with the client the gateway uses upstream. */
static void
test_probe (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *stdio[] = { "--stdio", fixture, "--stdio", NULL };
  const char *closed[] = { "http://127.0.0.1:1/mcp", NULL };
  const char *nothing[] = { NULL };

  run_probe (stdio, 0, "tools         14");
  run_probe (closed, 1, "cannot connect");
  run_probe (nothing, 2, "give a URL");
}

/* A 2026-07-28 tools/call POSTed to @url with the standard headers and
 * @extra (name, value pairs); returns the reply, its HTTP status set. */
static JsonNode *
post_modern_call (const char         *url,
                  const char         *tool,
                  const char         *arguments,
                  const char * const *extra,
                  guint              *status)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  char *body = g_strdup_printf (
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"_meta\":{"
      "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
      "\"io.modelcontextprotocol/clientInfo\":{\"name\":\"test\",\"version\":\"1\"},"
      "\"io.modelcontextprotocol/clientCapabilities\":{}},"
      "\"name\":\"%s\",\"arguments\":%s}}", tool, arguments);
  g_autoptr(GBytes) request = g_bytes_new_take (body, strlen (body));
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;

  soup_message_headers_replace (headers, "Accept", "application/json, text/event-stream");
  soup_message_headers_replace (headers, "MCP-Protocol-Version", "2026-07-28");
  soup_message_headers_replace (headers, "Mcp-Method", "tools/call");
  soup_message_headers_replace (headers, "Mcp-Name", tool);
  for (guint i = 0; extra != NULL && extra[i] != NULL; i += 2)
    soup_message_headers_replace (headers, extra[i], extra[i + 1]);
  soup_message_set_request_body_from_bytes (msg, "application/json", request);
  reply = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  *status = soup_message_get_status (msg);
  return cf_json_parse (g_bytes_get_data (reply, NULL), g_bytes_get_size (reply), NULL);
}

static gint64
error_code (JsonNode *reply)
{
  JsonObject *error = cf_json_object_get_object (json_node_get_object (reply), "error");
  gint64 code = 0;

  g_assert_nonnull (error);
  g_assert_true (cf_json_object_get_int (error, "code", &code));
  return code;
}

/* x-mcp-header (2026-07-28): the fixture's `route` mirrors `region` and
 * `target.shard` into Mcp-Param-* headers and refuses calls without
 * them. Through the gateway: the tool with an invalid annotation is left
 * out, the gateway sends the mirrors upstream (the fixture would refuse
 * the call otherwise), and checks them on calls it receives. */
static void
test_param_headers (void)
{
  const char *argv[] = { g_getenv ("CF_TEST_FIXTURE"), "--param-headers", "--port", "0", NULL };
  const char *args = "{\"region\":\"eu-west1\",\"target\":{\"shard\":7},\"query\":\"q\"}";
  const char *good[] = { "Mcp-Param-Region", "eu-west1", "Mcp-Param-Shard", "7", NULL };
  const char *wrong[] = { "Mcp-Param-Region", "us-east1", "Mcp-Param-Shard", "7", NULL };
  const char *shard_only[] = { "Mcp-Param-Shard", "7.0", NULL };
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *url = NULL;
  g_autofree char *db = temp_db ();
  g_autofree char *body = NULL;
  g_autofree char *mcp = NULL;
  g_autofree char *gateway_path = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonNode) tools = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) state = NULL;
  CfDaemonHarness *d;
  gboolean saw_route = FALSE;
  guint status = 0;

  upstream = cf_harness_spawn (argv, &url);

  /* The fixture itself is strict, so a call through the gateway that
   * works proves the gateway sent the mirrors. */
  reply = post_modern_call (url, "route", args, NULL, &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpint (error_code (reply), ==, -32020);
  g_clear_pointer (&reply, json_node_unref);
  reply = post_modern_call (url, "route", args, good, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "region=eu-west1 shard=7");
  g_clear_pointer (&reply, json_node_unref);

  d = cf_daemon_harness_start (db, NULL);
  body = g_strdup_printf ("{\"name\":\"headers\",\"url\":\"%s\",\"transport\":\"STREAMABLEHTTP\","
                          "\"prefix_mode\":\"never\"}", url);
  gateway = cf_harness_create (d, "gateways", body);
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 2);
  gateway_path = g_strdup_printf ("/v1/gateways/%s", json_object_get_string_member (gateway, "id"));
  state = cf_harness_request (d, "GET", gateway_path, NULL, NULL, &status, NULL);
  g_assert_nonnull (strstr (cf_json_object_get_string (json_node_get_object (state),
                                                       "statusMessage"), "MCP 2026-07-28"));

  /* bad_header is left out; route keeps its annotations for clients. */
  tools = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  for (guint i = 0; i < json_array_get_length (json_node_get_array (tools)); i++)
    {
      JsonObject *tool = json_array_get_object_element (json_node_get_array (tools), i);
      const char *name = cf_json_object_get_string (tool, "name");
      JsonObject *schema = cf_json_object_get_object (tool, "inputSchema");
      JsonObject *properties = cf_json_object_get_object (schema, "properties");

      g_assert_cmpstr (name, !=, "bad_header");
      if (g_strcmp0 (name, "route") == 0)
        {
          saw_route = TRUE;
          g_assert_cmpstr (cf_json_object_get_string (cf_json_object_get_object (properties,
                                                                                 "region"),
                                                      "x-mcp-header"), ==, "Region");
        }
    }
  g_assert_true (saw_route);

  /* A legacy client's call: the gateway mirrors the arguments upstream,
   * base64 where the value is not plain ASCII. */
  reply = call_tool (d, "route", ",\"arguments\":{\"region\":\"eu-west1\",\"target\":{\"shard\":7}}");
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "region=eu-west1 shard=7");
  g_clear_pointer (&reply, json_node_unref);
  reply = call_tool (d, "route", ",\"arguments\":{\"region\":\" Zürich \"}");
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "region= Zürich  shard=-1");
  g_clear_pointer (&reply, json_node_unref);

  /* A 2026-07-28 client's call to the gateway: checked like the fixture
   * checks it. */
  mcp = g_strconcat (d->url, "/mcp", NULL);
  reply = post_modern_call (mcp, "route", args, NULL, &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpint (error_code (reply), ==, -32020);
  g_clear_pointer (&reply, json_node_unref);
  reply = post_modern_call (mcp, "route", args, wrong, &status);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpint (error_code (reply), ==, -32020);
  g_clear_pointer (&reply, json_node_unref);
  reply = post_modern_call (mcp, "route", "{\"target\":{\"shard\":7}}", shard_only, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "region=(none) shard=7");
  g_clear_pointer (&reply, json_node_unref);
  reply = post_modern_call (mcp, "route", args, good, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "region=eu-west1 shard=7");
  g_clear_pointer (&reply, json_node_unref);
  /* plain has no mirrored argument: nothing is asked for. */
  reply = post_modern_call (mcp, "plain", "{}", NULL, &status);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&reply, json_node_unref);

  /* Outside a virtual server's scope, route is unknown there: its call
   * fails as an unknown tool's does, not on its headers. */
  {
    g_autoptr(JsonNode) plain_tool = NULL;
    g_autoptr(JsonObject) server = NULL;
    g_autofree char *server_body = NULL;
    g_autofree char *scoped = NULL;
    g_autoptr(JsonNode) unknown = NULL;
    const char *plain_id = NULL;

    for (guint i = 0; i < json_array_get_length (json_node_get_array (tools)); i++)
      {
        JsonObject *tool = json_array_get_object_element (json_node_get_array (tools), i);

        if (g_strcmp0 (cf_json_object_get_string (tool, "name"), "plain") == 0)
          plain_id = cf_json_object_get_string (tool, "id");
      }
    g_assert_nonnull (plain_id);
    server_body = g_strdup_printf ("{\"server\":{\"name\":\"only-plain\","
                                   "\"associated_tools\":[\"%s\"]}}", plain_id);
    server = cf_harness_create (d, "servers", server_body);
    scoped = g_strdup_printf ("%s/servers/%s/mcp", d->url,
                              cf_json_object_get_string (server, "id"));
    unknown = post_modern_call (scoped, "nowhere", args, NULL, &status);
    g_clear_pointer (&reply, json_node_unref);
    reply = post_modern_call (scoped, "route", args, NULL, &status);
    g_assert_cmpint (error_code (reply), !=, -32020);
    g_assert_cmpint (error_code (reply), ==, error_code (unknown));
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  cf_harness_stop_process (upstream);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/federation/stdio", test_stdio_upstream);
  g_test_add_func ("/federation/http", test_http_upstream);
  g_test_add_func ("/federation/arguments", test_arguments);
  g_test_add_func ("/federation/log-level", test_log_level);
  g_test_add_func ("/federation/no-orphans", test_no_orphans);
  g_test_add_func ("/federation/probe", test_probe);
  g_test_add_func ("/federation/param-headers", test_param_headers);

  return g_test_run ();
}
