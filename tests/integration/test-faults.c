/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

/* Upstreams that fail, as they do in production: a stdio child killed in
 * the middle of a call, an HTTP server restarted, an upstream that never
 * answers, one that forgets the session, one that goes away for good;
 * and the sharing policies and limits that keep children and load in
 * check. The upstream is the C fixture in its fault mode (`--faults`):
 * pid, sleep, hang, stats and forget_session tools. */

#define WAIT_US (20 * G_USEC_PER_SEC)

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-faults-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, "gateway.db", NULL);
}

static char *
stdio_gateway (const char *extra)
{
  return g_strdup_printf ("{\"name\":\"faults\",\"transport\":\"STDIO\",\"command\":\"%s\","
                          "\"args\":[\"--stdio\",\"--faults\"],\"prefix_mode\":\"never\"%s}",
                          g_getenv ("CF_TEST_FIXTURE"), extra ? extra : "");
}

static char *
call_body (const char *tool,
           const char *arguments)
{
  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
                          tool, arguments ? arguments : "{}");
}

/* A tools/call through the gateway's plain JSON-RPC endpoint, /rpc:
 * no session, so the primary connection serves it. */
static JsonObject *
call (CfDaemonHarness *d,
      const char      *tool,
      const char      *arguments)
{
  g_autofree char *body = call_body (tool, arguments);
  g_autoptr(JsonNode) reply = NULL;
  JsonObject *result;
  guint status = 0;

  reply = cf_harness_request (d, "POST", "/rpc", body, NULL, &status, NULL);
  g_assert_nonnull (reply);
  if (status != 200)
    g_error ("tools/call %s: HTTP %u: %s", tool, status, cf_json_to_string (reply, NULL));
  result = cf_harness_rpc_result (reply);
  if (result == NULL)
    g_error ("tools/call %s: %s", tool, cf_json_to_string (reply, NULL));
  return json_object_ref (result);
}

static gboolean
is_error (JsonObject *result)
{
  return json_object_has_member (result, "isError") &&
         json_object_get_boolean_member (result, "isError");
}

static GPid
call_pid (CfDaemonHarness *d)
{
  g_autoptr(JsonObject) result = call (d, "pid", NULL);

  if (is_error (result))
    g_error ("pid failed: %s", cf_harness_first_text (result));
  return atoi (cf_harness_first_text (result));
}

/* A tools/call from another thread, so that the test can act while it
 * is in flight. */
static CfHarnessPost *
background_call (CfDaemonHarness *d,
                 const char      *tool,
                 const char      *arguments)
{
  g_autofree char *url = g_strconcat (d->url, "/rpc", NULL);
  g_autofree char *body = call_body (tool, arguments);

  return cf_harness_post_start (url, body, NULL);
}

/* Joins the call; returns its result object. */
static JsonObject *
background_finish (CfHarnessPost *bg)
{
  g_autoptr(JsonNode) node = NULL;
  JsonObject *result;

  cf_harness_post_join (bg);
  g_assert_cmpuint (bg->status, ==, 200);
  node = cf_json_parse (bg->text, -1, NULL);
  g_assert_nonnull (node);
  result = cf_harness_rpc_result (node);
  if (result == NULL)
    g_error ("background call: %s", bg->text);
  result = json_object_ref (result);
  cf_harness_post_free (bg);
  return result;
}

static JsonObject *
get_gateway (CfDaemonHarness *d,
             const char      *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/gateways/%s", id);
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;

  node = cf_harness_request (d, "GET", path, NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  return json_object_ref (json_node_get_object (node));
}

/* Waits (bounded) until the gateway's reachable flag is @reachable. */
static void
wait_reachable (CfDaemonHarness *d,
                const char      *id,
                gboolean         reachable)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) gateway = get_gateway (d, id);

      if (json_object_get_boolean_member (gateway, "reachable") == reachable)
        return;
      g_usleep (100 * 1000);
    }
  g_error ("gateway %s never became %s", id, reachable ? "reachable" : "unreachable");
}

/* Waits (bounded) until the gateway process has @expected children. */
static void
wait_children (CfDaemonHarness *d,
               guint            expected)
{
  GPid daemon_pid = atoi (g_subprocess_get_identifier (d->process));
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  guint n = 0;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(GArray) children = cf_harness_children_of (daemon_pid);

      n = 0;
      for (guint i = 0; i < children->len; i++)
        n += cf_harness_process_exists (g_array_index (children, GPid, i));
      if (n == expected)
        return;
      g_usleep (50 * 1000);
    }
  g_error ("the gateway has %u children, expected %u", n, expected);
}

/* SIGKILL of the stdio child in the middle of a call: the call fails
 * with a clear error well before its timeout, the child is restarted,
 * and the next call works. */
static void
test_stdio_killed_mid_call (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "TOOL_TIMEOUT", "30", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *body = stdio_gateway (NULL);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autoptr(JsonObject) failed = NULL;
  CfHarnessPost *slow;
  GPid child, restarted;
  gint64 started;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  child = call_pid (d);
  g_assert_cmpint (child, >, 0);

  slow = background_call (d, "sleep", "{\"ms\":20000}");
  /* Let the call reach the child: the fixture counts it. */
  g_usleep (300 * 1000);
  started = g_get_monotonic_time ();
  g_assert_cmpint (kill (child, SIGKILL), ==, 0);
  failed = background_finish (slow);
  g_assert_true (is_error (failed));
  g_assert_nonnull (strstr (cf_harness_first_text (failed), "upstream"));
  /* Not the call's own 30 s timeout, nor the 20 s sleep. */
  g_assert_cmpint (g_get_monotonic_time () - started, <, 15 * G_USEC_PER_SEC);

  restarted = call_pid (d);
  g_assert_cmpint (restarted, >, 0);
  g_assert_cmpint (restarted, !=, child);
  wait_children (d, 1);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static GSubprocess *
spawn_http_faults (const char *port,
                   char      **out_url)
{
  const char *argv[] = { g_getenv ("CF_TEST_FIXTURE"), "--faults", "--port", port,
                         "--versions", "2025-11-25,2025-06-18", NULL };

  return cf_harness_spawn (argv, out_url);
}

static char *
port_of (const char *url)
{
  g_autoptr(GUri) uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);

  g_assert_nonnull (uri);
  return g_strdup_printf ("%d", g_uri_get_port (uri));
}

/* A legacy HTTP upstream forgets the gateway's session, then is restarted
 * outright: either way the gateway re-initialises and the client's next
 * calls just work. */
static void
test_http_session_recovery (void)
{
  g_autofree char *db = temp_db ();
  g_autofree char *url = NULL;
  g_autofree char *again = NULL;
  g_autofree char *port = NULL;
  g_autoptr(GSubprocess) upstream = spawn_http_faults ("0", &url);
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonObject) forgot = NULL;
  GPid first, second;

  body = g_strdup_printf ("{\"name\":\"faults\",\"url\":\"%s\",\"transport\":\"STREAMABLEHTTP\","
                          "\"prefix_mode\":\"never\"}", url);
  gateway = cf_harness_create (d, "gateways", body);
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  first = call_pid (d);

  /* The upstream drops the session: the next call is answered anyway. */
  forgot = call (d, "forget_session", NULL);
  g_assert_cmpstr (cf_harness_first_text (forgot), ==, "forgotten");
  g_assert_cmpint (call_pid (d), ==, first);

  /* Restarted on the same port, with no memory of any session. */
  port = port_of (url);
  g_assert_cmpint (cf_harness_stop_process (upstream), ==, 0);
  g_clear_object (&upstream);
  upstream = spawn_http_faults (port, &again);
  g_assert_cmpstr (again, ==, url);
  second = call_pid (d);
  g_assert_cmpint (second, !=, first);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  cf_harness_stop_process (upstream);
}

/* An upstream that never answers: the call times out with a clear
 * error, and meanwhile the gateway answers everything else. */
static void
test_never_answers (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "TOOL_TIMEOUT", "2", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *body = stdio_gateway (NULL);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autoptr(JsonObject) hung = NULL;
  g_autoptr(JsonNode) health = NULL;
  CfHarnessPost *hanging;
  guint status = 0;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  hanging = background_call (d, "hang", NULL);
  g_usleep (200 * 1000);

  /* Responsive while the call hangs: health, the API, other calls. */
  health = cf_harness_request (d, "GET", "/health", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (call_pid (d), >, 0);

  hung = background_finish (hanging);
  g_assert_true (is_error (hung));
  g_assert_nonnull (strstr (cf_harness_first_text (hung), "did not answer tools/call in time"));
  g_assert_cmpint (call_pid (d), >, 0);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* The REST view of a gateway's tools says what the gateway's does. */
static void
assert_tools_reachable (CfDaemonHarness *d,
                        const char      *gateway_id,
                        gboolean         reachable)
{
  g_autofree char *path = g_strdup_printf ("/v1/tools?gateway_id=%s", gateway_id);
  g_autoptr(JsonNode) list = NULL;
  JsonArray *tools;
  guint status = 0;

  list = cf_harness_request (d, "GET", path, NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  tools = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (tools), >, 0);
  for (guint i = 0; i < json_array_get_length (tools); i++)
    g_assert_cmpint (json_object_get_boolean_member (json_array_get_object_element (tools, i),
                                                     "reachable"), ==, reachable);
}

/* An upstream that is gone for good is marked unreachable after
 * UNHEALTHY_THRESHOLD failures; its tools fail at once with a clear
 * error; it is found again when it comes back. */
static void
test_unreachable_and_back (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "HEALTH_CHECK_INTERVAL", "1", "UNHEALTHY_THRESHOLD", "2",
                        "TOOL_TIMEOUT", "30", NULL };
  g_autofree char *url = NULL;
  g_autofree char *again = NULL;
  g_autofree char *port = NULL;
  g_autoptr(GSubprocess) upstream = spawn_http_faults ("0", &url);
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonObject) refused = NULL;
  const char *id;
  gint64 started;

  body = g_strdup_printf ("{\"name\":\"faults\",\"url\":\"%s\",\"transport\":\"STREAMABLEHTTP\","
                          "\"prefix_mode\":\"never\"}", url);
  gateway = cf_harness_create (d, "gateways", body);
  id = json_object_get_string_member (gateway, "id");
  cf_harness_wait_for_tools (d, id, 7);
  g_assert_cmpint (call_pid (d), >, 0);

  port = port_of (url);
  g_assert_cmpint (cf_harness_stop_process (upstream), ==, 0);
  g_clear_object (&upstream);
  wait_reachable (d, id, FALSE);
  assert_tools_reachable (d, id, FALSE);

  /* Fails fast: not after the 30 s call timeout. */
  started = g_get_monotonic_time ();
  refused = call (d, "pid", NULL);
  g_assert_true (is_error (refused));
  g_assert_nonnull (strstr (cf_harness_first_text (refused), "unreachable"));
  g_assert_cmpint (g_get_monotonic_time () - started, <, 10 * G_USEC_PER_SEC);
  /* The catalog is kept: the tools are still listed. */
  cf_harness_wait_for_tools (d, id, 7);

  upstream = spawn_http_faults (port, &again);
  wait_reachable (d, id, TRUE);
  assert_tools_reachable (d, id, TRUE);
  g_assert_cmpint (call_pid (d), >, 0);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  cf_harness_stop_process (upstream);
}

/* One upstream of each kind, all serving the fault tools: stdio
 * (2026-07-28, names unprefixed), Streamable HTTP speaking 2026-07-28
 * ("modern-"), and a legacy HTTP session ("legacy-"). */
typedef struct {
  CfDaemonHarness *gateway;
  GSubprocess     *modern;
  GSubprocess     *legacy;
  char            *ids[3];
} Trio;

static void
trio_start (Trio        *trio,
            const char **env)
{
  g_autofree char *db = temp_db ();
  const char *argv[] = { g_getenv ("CF_TEST_FIXTURE"), "--faults", "--port", "0", NULL };
  g_autofree char *url = NULL;
  g_autofree char *legacy_url = NULL;
  char *bodies[3];

  trio->modern = cf_harness_spawn (argv, &url);
  trio->legacy = spawn_http_faults ("0", &legacy_url);
  trio->gateway = cf_daemon_harness_start (db, env);
  bodies[0] = stdio_gateway (NULL);
  bodies[1] = g_strdup_printf ("{\"name\":\"modern\",\"url\":\"%s\","
                               "\"transport\":\"STREAMABLEHTTP\"}", url);
  bodies[2] = g_strdup_printf ("{\"name\":\"legacy\",\"url\":\"%s\","
                               "\"transport\":\"STREAMABLEHTTP\"}", legacy_url);
  for (guint i = 0; i < G_N_ELEMENTS (trio->ids); i++)
    {
      g_autoptr(JsonObject) gateway = cf_harness_create (trio->gateway, "gateways", bodies[i]);

      trio->ids[i] = g_strdup (json_object_get_string_member (gateway, "id"));
      g_free (bodies[i]);
    }
  for (guint i = 0; i < G_N_ELEMENTS (trio->ids); i++)
    cf_harness_wait_for_tools (trio->gateway, trio->ids[i], 7);
}

static void
trio_stop (Trio *trio)
{
  g_assert_cmpint (cf_daemon_harness_stop (trio->gateway), ==, 0);
  cf_daemon_harness_free (trio->gateway);
  cf_harness_stop_process (trio->modern);
  cf_harness_stop_process (trio->legacy);
  g_clear_object (&trio->modern);
  g_clear_object (&trio->legacy);
  for (guint i = 0; i < G_N_ELEMENTS (trio->ids); i++)
    g_clear_pointer (&trio->ids[i], g_free);
}

/* Health checks of healthy upstreams pass, whatever their era: ping for
 * legacy ones, server/discover for 2026-07-28 ones (which have no ping). */
static void
test_healthy_stays_reachable (void)
{
  const char *env[] = { "HEALTH_CHECK_INTERVAL", "1", "UNHEALTHY_THRESHOLD", "1", NULL };
  Trio trio = { 0 };

  trio_start (&trio, env);
  /* Several check rounds; one failure would be enough to mark one. */
  g_usleep (3500 * 1000);
  for (guint i = 0; i < G_N_ELEMENTS (trio.ids); i++)
    {
      g_autoptr(JsonObject) gateway = get_gateway (trio.gateway, trio.ids[i]);

      if (!json_object_get_boolean_member (gateway, "reachable"))
        g_error ("%s marked unreachable: %s", json_object_get_string_member (gateway, "name"),
                 json_object_get_string_member (gateway, "statusMessage"));
    }
  g_assert_cmpint (call_pid (trio.gateway), >, 0);
  trio_stop (&trio);
}

/* An upstream's list changes reach the catalog: over a legacy session's
 * GET stream, and for 2026-07-28 upstreams (stdio and HTTP) over the
 * subscriptions/listen stream the gateway keeps open. */
/* How many tools the gateway's MCP tools/list shows, every page. */
static guint
count_listed_tools (CfDaemonHarness *d)
{
  g_autofree char *cursor = NULL;
  guint count = 0;

  for (guint page = 0; page < 100; page++)
    {
      g_autofree char *body = NULL;
      g_autoptr(JsonNode) reply = NULL;
      JsonObject *result;
      guint status = 0;

      body = cursor == NULL
             ? g_strdup ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}")
             : g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\","
                                "\"params\":{\"cursor\":\"%s\"}}", cursor);
      reply = cf_harness_request (d, "POST", "/rpc", body, NULL, &status, NULL);
      g_assert_cmpuint (status, ==, 200);
      result = cf_harness_rpc_result (reply);
      g_assert_nonnull (result);
      count += json_array_get_length (json_object_get_array_member (result, "tools"));
      g_clear_pointer (&cursor, g_free);
      if (!json_object_has_member (result, "nextCursor"))
        return count;
      cursor = g_strdup (json_object_get_string_member (result, "nextCursor"));
    }
  g_error ("tools/list had more than 100 pages");
}

static void
test_list_changed_resyncs (void)
{
  const char *grow[] = { "grow", "modern-grow", "legacy-grow" };
  Trio trio = { 0 };
  guint listed;

  trio_start (&trio, NULL);
  /* Listed once before, so that the gateway's listing shows the tools
   * added since and not what it built for the first. */
  listed = count_listed_tools (trio.gateway);
  g_assert_cmpuint (listed, >, 0);
  for (guint i = 0; i < G_N_ELEMENTS (trio.ids); i++)
    {
      g_autoptr(JsonObject) grown = call (trio.gateway, grow[i], NULL);

      g_assert_false (is_error (grown));
      cf_harness_wait_for_tools (trio.gateway, trio.ids[i], 8);
      g_assert_cmpuint (count_listed_tools (trio.gateway), ==, listed + i + 1);
    }
  trio_stop (&trio);
}

/* A stdio server that speaks only 2026-07-28 and starts slower than the
 * era probe waits: it refuses the legacy initialize the gateway falls
 * back to, and is then probed again and federated. */
static void
test_slow_modern_stdio (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *script = g_strdup_printf ("sleep 4; exec '%s' --stdio --faults "
                                             "--versions 2026-07-28", g_getenv ("CF_TEST_FIXTURE"));
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonObject) status = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "slow");
  json_builder_set_member_name (builder, "transport");
  json_builder_add_string_value (builder, "STDIO");
  json_builder_set_member_name (builder, "command");
  json_builder_add_string_value (builder, "/bin/sh");
  json_builder_set_member_name (builder, "args");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, "-c");
  json_builder_add_string_value (builder, script);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "prefix_mode");
  json_builder_add_string_value (builder, "never");
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  body = cf_json_to_string (root, NULL);

  gateway = cf_harness_create (d, "gateways", body);
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  status = get_gateway (d, json_object_get_string_member (gateway, "id"));
  g_assert_nonnull (strstr (json_object_get_string_member (status, "statusMessage"),
                            "2026-07-28"));
  g_assert_cmpint (call_pid (d), >, 0);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* Legacy (2025-11-25) sessions of the gateway, each its own client. */
static char *
open_session (CfDaemonHarness *d)
{
  const char *init = "{\"jsonrpc\":\"2.0\",\"id\":0,\"method\":\"initialize\",\"params\":{"
                     "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                     "\"clientInfo\":{\"name\":\"churn\",\"version\":\"1\"}}}";
  const char *initialized = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autoptr(JsonNode) ack = NULL;
  char *id;
  guint status = 0;

  reply = cf_harness_request (d, "POST", "/mcp", init, NULL, &status, &headers);
  g_assert_cmpuint (status, ==, 200);
  id = g_strdup (soup_message_headers_get_one (headers, "Mcp-Session-Id"));
  g_assert_nonnull (id);
  {
    const char *with[] = { "Mcp-Session-Id", id, "MCP-Protocol-Version", "2025-11-25", NULL };

    ack = cf_harness_request (d, "POST", "/mcp", initialized, with, &status, NULL);
    g_assert_cmpuint (status, ==, 202);
  }
  return id;
}

static GPid
session_pid (CfDaemonHarness *d,
             const char      *session)
{
  const char *with[] = { "Mcp-Session-Id", session, "MCP-Protocol-Version", "2025-11-25", NULL };
  g_autofree char *body = call_body ("pid", NULL);
  g_autoptr(JsonNode) reply = NULL;
  JsonObject *result;
  guint status = 0;

  reply = cf_harness_request (d, "POST", "/mcp", body, with, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  result = cf_harness_rpc_result (reply);
  g_assert_nonnull (result);
  g_assert_false (is_error (result));
  return atoi (cf_harness_first_text (result));
}

static void
close_session (CfDaemonHarness *d,
               const char      *session)
{
  const char *with[] = { "Mcp-Session-Id", session, "MCP-Protocol-Version", "2025-11-25", NULL };
  g_autoptr(JsonNode) reply = NULL;
  guint status = 0;

  reply = cf_harness_request (d, "DELETE", "/mcp", NULL, with, &status, NULL);
  g_assert_cmpuint (status, <, 300);
}

/* Waits, a few seconds at most, until the stdio fixture has counted one
 * cancelled call, and checks that it has. */
static void
assert_upstream_cancelled (CfDaemonHarness *d)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;
  g_autoptr(JsonObject) result = NULL;

  while (g_get_monotonic_time () < deadline)
    {
      g_clear_pointer (&result, json_object_unref);
      result = call (d, "cancelled", NULL);
      if (g_str_equal (cf_harness_first_text (result), "1"))
        break;
      g_usleep (50 * 1000);
    }
  g_assert_cmpstr (cf_harness_first_text (result), ==, "1");
}

/* A tools/call in a session, from another thread, with the given id. */
static CfHarnessPost *
background_session_call (CfDaemonHarness *d,
                         const char      *session,
                         const char      *tool,
                         const char      *arguments,
                         int              id)
{
  g_autofree char *url = g_strconcat (d->url, "/mcp", NULL);
  g_autofree char *body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%d,"
                                           "\"method\":\"tools/call\",\"params\":{"
                                           "\"name\":\"%s\",\"arguments\":%s}}",
                                           id, tool, arguments);

  return cf_harness_post_start (url, body, session);
}

/* notifications/cancelled from the client reaches the upstream: the
 * fixture stops the call and counts it; the client gets no answer. */
static void
test_cancel_reaches_upstream (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *body = stdio_gateway (NULL);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autofree char *session = NULL;
  const char *cancel = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                       "\"params\":{\"requestId\":42,\"reason\":\"test\"}}";
  g_autoptr(JsonNode) ack = NULL;
  CfHarnessPost *slow;
  guint status = 0;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  session = open_session (d);
  slow = background_session_call (d, session, "sleep", "{\"ms\":20000}", 42);
  g_usleep (300 * 1000);
  {
    const char *with[] = { "Mcp-Session-Id", session, "MCP-Protocol-Version", "2025-11-25",
                           NULL };

    ack = cf_harness_request (d, "POST", "/mcp", cancel, with, &status, NULL);
    g_assert_cmpuint (status, ==, 202);
  }

  assert_upstream_cancelled (d);
  /* No answer: MCP's rule for a cancelled request. */
  cf_harness_post_join (slow);
  g_assert_cmpuint (slow->status, <, 300);
  g_assert_null (strstr (slow->text, "\"result\""));
  cf_harness_post_free (slow);

  close_session (d, session);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* A client that hangs up on a relayed call cancels it upstream too: the
 * gateway's HTTP server sees the connection end, the request is cancelled
 * and the relay tells the stdio upstream, which counts it. */
static void
test_hangup_reaches_upstream (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *body = stdio_gateway (NULL);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autoptr(GSocketClient) socket_client = g_socket_client_new ();
  g_autoptr(GSocketConnection) connection = NULL;
  g_autoptr(GError) error = NULL;
  const char *host = d->url + strlen ("http://");
  const char *call_text = "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"sleep\",\"arguments\":{\"ms\":20000}}}";
  g_autofree char *request = NULL;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  {
    g_autoptr(JsonObject) before = call (d, "cancelled", NULL);

    g_assert_cmpstr (cf_harness_first_text (before), ==, "0");
  }
  request = g_strdup_printf ("POST /mcp HTTP/1.1\r\nHost: %s\r\n"
                             "Content-Type: application/json\r\n"
                             "Accept: application/json, text/event-stream\r\n"
                             "Content-Length: %zu\r\n\r\n%s",
                             host, strlen (call_text), call_text);
  connection = g_socket_client_connect_to_host (socket_client, host, 0, NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)), request,
                             strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  g_usleep (300 * 1000);
  g_io_stream_close (G_IO_STREAM (connection), NULL, &error);
  g_assert_no_error (error);

  assert_upstream_cancelled (d);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

#define CHURN 200

/* per-session: each downstream session has its own child, kept for the
 * session's life; 200 sessions opened and closed leave only the primary
 * child behind. */
static void
test_per_session_churn (void)
{
  g_autofree char *db = temp_db ();
  /* 200 calls of one tool in a few seconds: above TOOL_RATE_LIMIT's 100
   * per minute, which is not what this test is about. */
  const char *env[] = { "TOOL_RATE_LIMIT", "100000", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *body = stdio_gateway (",\"stdioSharing\":\"per-session\"");
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autoptr(GHashTable) pids = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree char *a = NULL;
  g_autofree char *b = NULL;
  GPid primary;

  g_assert_cmpstr (json_object_get_string_member (gateway, "stdioSharing"), ==, "per-session");
  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  /* Stateless requests have no session: the primary child serves them. */
  primary = call_pid (d);

  a = open_session (d);
  b = open_session (d);
  g_assert_cmpint (session_pid (d, a), ==, session_pid (d, a));
  g_assert_cmpint (session_pid (d, a), !=, session_pid (d, b));
  g_assert_cmpint (session_pid (d, a), !=, primary);
  wait_children (d, 3);
  close_session (d, a);
  close_session (d, b);
  wait_children (d, 1);

  for (guint i = 0; i < CHURN; i++)
    {
      g_autofree char *session = open_session (d);
      GPid pid = session_pid (d, session);

      g_assert_cmpint (pid, !=, primary);
      g_hash_table_add (pids, GINT_TO_POINTER (pid));
      close_session (d, session);
    }
  /* Each session had a child of its own (pids may be reused, rarely). */
  g_assert_cmpuint (g_hash_table_size (pids), >, CHURN / 2);
  wait_children (d, 1);
  g_assert_cmpint (call_pid (d), ==, primary);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static guint
max_in_flight (CfDaemonHarness *d)
{
  g_autoptr(JsonObject) result = call (d, "stats", NULL);

  return atoi (cf_harness_first_text (result));
}

/* pool(N) spreads concurrent calls over up to N children, and reaps the
 * extra ones once idle; maxConcurrency queues calls beyond the limit. */
static void
test_pool_and_limit (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "UPSTREAM_IDLE_TIMEOUT", "1", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *pooled = stdio_gateway (",\"stdioSharing\":\"pool\",\"stdioPoolSize\":3");
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", pooled);
  g_autoptr(GHashTable) pids = g_hash_table_new (g_direct_hash, g_direct_equal);
  g_autofree char *path = NULL;
  CfHarnessPost *calls[3];
  g_autoptr(JsonNode) updated = NULL;
  const char *id = json_object_get_string_member (gateway, "id");
  guint status = 0;

  cf_harness_wait_for_tools (d, id, 7);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    calls[i] = background_call (d, "sleep", "{\"ms\":1500}");
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_autoptr(JsonObject) result = background_finish (calls[i]);

      g_assert_false (is_error (result));
      g_hash_table_add (pids, GINT_TO_POINTER (atoi (cf_harness_first_text (result))));
    }
  /* Three calls at once, each on a child of its own. */
  g_assert_cmpuint (g_hash_table_size (pids), ==, 3);
  /* Idle extras are closed; the primary stays. */
  wait_children (d, 1);

  /* One shared child with maxConcurrency 1: the child never runs two
   * calls at once, yet every call is answered. */
  path = g_strdup_printf ("/v1/gateways/%s", id);
  updated = cf_harness_request (d, "PUT", path,
                                "{\"stdioSharing\":\"shared\",\"maxConcurrency\":1}", NULL,
                                &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  cf_harness_wait_for_tools (d, id, 7);
  wait_children (d, 1);
  (void) max_in_flight (d);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    calls[i] = background_call (d, "sleep", "{\"ms\":300}");
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_autoptr(JsonObject) result = background_finish (calls[i]);

      g_assert_false (is_error (result));
    }
  g_assert_cmpuint (max_in_flight (d), ==, 1);

  /* Without the limit the same child runs them together. */
  g_clear_pointer (&updated, json_node_unref);
  updated = cf_harness_request (d, "PUT", path, "{\"maxConcurrency\":0}", NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  cf_harness_wait_for_tools (d, id, 7);
  (void) max_in_flight (d);
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    calls[i] = background_call (d, "sleep", "{\"ms\":1000}");
  for (guint i = 0; i < G_N_ELEMENTS (calls); i++)
    {
      g_autoptr(JsonObject) result = background_finish (calls[i]);

      g_assert_false (is_error (result));
    }
  g_assert_cmpuint (max_in_flight (d), >, 1);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* Bad settings are refused with the field named. */
static void
test_bad_settings (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  const char *bodies[] = {
    ",\"stdioSharing\":\"sometimes\"",
    ",\"stdioPoolSize\":0",
    ",\"stdioPoolSize\":65",
    ",\"maxConcurrency\":-1",
    ",\"maxConcurrency\":\"many\"",
  };
  const char *fields[] = { "stdioSharing", "stdioPoolSize", "stdioPoolSize", "maxConcurrency",
                           "maxConcurrency" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autofree char *body = stdio_gateway (bodies[i]);
      g_autoptr(JsonNode) reply = NULL;
      g_autofree char *text = NULL;
      guint status = 0;

      reply = cf_harness_request (d, "POST", "/v1/gateways", body, NULL, &status, NULL);
      text = cf_json_to_string (reply, NULL);
      g_assert_cmpuint (status, ==, 422);
      if (strstr (text, fields[i]) == NULL && strstr (text, "stdio_") == NULL &&
          strstr (text, "max_concurrency") == NULL)
        g_error ("422 without the field %s: %s", fields[i], text);
    }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/faults/stdio-killed-mid-call", test_stdio_killed_mid_call);
  g_test_add_func ("/faults/http-session-recovery", test_http_session_recovery);
  g_test_add_func ("/faults/never-answers", test_never_answers);
  g_test_add_func ("/faults/unreachable-and-back", test_unreachable_and_back);
  g_test_add_func ("/faults/healthy-stays-reachable", test_healthy_stays_reachable);
  g_test_add_func ("/faults/list-changed-resyncs", test_list_changed_resyncs);
  g_test_add_func ("/faults/slow-modern-stdio", test_slow_modern_stdio);
  g_test_add_func ("/faults/per-session-churn", test_per_session_churn);
  g_test_add_func ("/faults/pool-and-limit", test_pool_and_limit);
  g_test_add_func ("/faults/cancel-reaches-upstream", test_cancel_reaches_upstream);
  g_test_add_func ("/faults/hangup-reaches-upstream", test_hangup_reaches_upstream);
  g_test_add_func ("/faults/bad-settings", test_bad_settings);

  return g_test_run ();
}
