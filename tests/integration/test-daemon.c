/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

/* The contextforge-gateway binary as a user runs it: registry content made
 * through the REST API, served over MCP to clients of both protocol eras,
 * REST tools called on a real HTTP upstream, persistence across restarts,
 * and clear failures for bad settings. */

/* A REST upstream on loopback, in its own thread: the daemon calls it
 * while the test thread waits on the daemon synchronously. */
typedef struct {
  GThread      *thread;
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  guint         port;
  GMutex        lock;
  GCond         ready;
} Upstream;

static void
on_echo (SoupServer        *server,
         SoupServerMessage *msg,
         const char        *path,
         GHashTable        *query,
         gpointer           user_data)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autofree char *text = NULL;

  if (g_str_equal (path, "/fail"))
    {
      soup_server_message_set_status (msg, 503, NULL);
      soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "down", 4);
      return;
    }
  if (g_str_equal (path, "/slow"))
    {
      /* Only this upstream thread waits; the daemon is being stopped. */
      g_usleep (800 * 1000);
      text = g_strdup ("{\"slow\":true}");
    }
  else if (g_str_equal (path, "/add"))
    {
      const char *a = query ? g_hash_table_lookup (query, "a") : NULL;
      const char *b = query ? g_hash_table_lookup (query, "b") : NULL;

      text = g_strdup_printf ("{\"sum\":%" G_GINT64_FORMAT "}",
                              g_ascii_strtoll (a ? a : "0", NULL, 10) +
                              g_ascii_strtoll (b ? b : "0", NULL, 10));
    }
  else
    text = g_strdup_printf ("{\"method\":\"%s\",\"body\":%.*s}",
                            soup_server_message_get_method (msg),
                            (int) body->length, body->length ? body->data : "null");
  soup_server_message_set_status (msg, 200, NULL);
  {
    gsize length = strlen (text);

    soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_TAKE,
                                      g_steal_pointer (&text), length);
  }
}

static gpointer
upstream_thread (gpointer data)
{
  Upstream *up = data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (up->context);
  up->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (up->server, NULL, on_echo, NULL, NULL);
  soup_server_listen_local (up->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (up->server);
  g_mutex_lock (&up->lock);
  up->port = g_uri_get_port (uris->data);
  g_cond_signal (&up->ready);
  g_mutex_unlock (&up->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);

  g_main_loop_run (up->loop);
  soup_server_disconnect (up->server);
  g_clear_object (&up->server);
  g_main_context_pop_thread_default (up->context);
  return NULL;
}

static Upstream *
upstream_start (void)
{
  Upstream *up = g_new0 (Upstream, 1);

  g_mutex_init (&up->lock);
  g_cond_init (&up->ready);
  up->context = g_main_context_new ();
  up->loop = g_main_loop_new (up->context, FALSE);
  g_mutex_lock (&up->lock);
  up->thread = g_thread_new ("upstream", upstream_thread, up);
  while (up->port == 0)
    g_cond_wait (&up->ready, &up->lock);
  g_mutex_unlock (&up->lock);
  return up;
}

static void
upstream_stop (Upstream *up)
{
  g_main_loop_quit (up->loop);
  g_main_context_wakeup (up->context);
  g_thread_join (up->thread);
  g_main_loop_unref (up->loop);
  g_main_context_unref (up->context);
  g_mutex_clear (&up->lock);
  g_cond_clear (&up->ready);
  g_free (up);
}

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-daemon-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, "gateway.db", NULL);
}

static void
populate (CfDaemonHarness *d,
          guint            port)
{
  g_autofree char *echo = g_strdup_printf (
      "{\"tool\":{\"name\":\"Echo Body\",\"description\":\"Echoes its arguments\","
      "\"url\":\"http://127.0.0.1:%u/echo\",\"integration_type\":\"REST\","
      "\"request_type\":\"POST\",\"input_schema\":{\"type\":\"object\","
      "\"properties\":{\"msg\":{\"type\":\"string\"}},\"required\":[\"msg\"]}}}", port);
  g_autofree char *add = g_strdup_printf (
      "{\"name\":\"add\",\"description\":\"Adds two numbers\",\"url\":\"http://127.0.0.1:%u/add\","
      "\"requestType\":\"GET\"}", port);
  g_autofree char *fail = g_strdup_printf (
      "{\"name\":\"broken\",\"description\":\"An upstream that is down\","
      "\"url\":\"http://127.0.0.1:%u/fail\"}", port);
  g_autoptr(JsonObject) t1 = cf_harness_create (d, "tools", echo);
  g_autoptr(JsonObject) t2 = cf_harness_create (d, "tools", add);
  g_autoptr(JsonObject) t3 = cf_harness_create (d, "tools", fail);
  g_autoptr(JsonObject) r1 = cf_harness_create (d, "resources",
      "{\"resource\":{\"uri\":\"docs://readme\",\"name\":\"readme\",\"content\":\"Hello\","
      "\"mimeType\":\"text/plain\"}}");
  g_autoptr(JsonObject) p1 = cf_harness_create (d, "prompts",
      "{\"prompt\":{\"name\":\"greet\",\"description\":\"Greets\",\"template\":"
      "\"Hello {{ who | default('world') | upper }}{% if excited %}!{% endif %}\","
      "\"arguments\":[{\"name\":\"who\",\"required\":false},"
      "{\"name\":\"excited\",\"required\":false}]}}");

  g_assert_cmpstr (json_object_get_string_member (t1, "name"), ==, "echo-body");
  g_assert_cmpstr (json_object_get_string_member (t1, "originalName"), ==, "Echo Body");
}

static const char *legacy_init =
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{\"protocolVersion\":"
  "\"2025-03-26\",\"capabilities\":{},\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}}";

static void
test_two_eras (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  Upstream *up = upstream_start ();
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autoptr(JsonNode) init = NULL;
  g_autoptr(JsonNode) discover = NULL;
  g_autoptr(JsonNode) modern = NULL;
  g_autoptr(JsonNode) legacy = NULL;
  g_autoptr(JsonNode) failing = NULL;
  g_autoptr(JsonNode) prompt = NULL;
  const char *session;
  guint status;
  const char *modern_headers[] = {
    "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "tools/call", "Mcp-Name", "add", NULL
  };
  const char *discover_headers[] = {
    "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", "server/discover", NULL
  };

  populate (d, up->port);

  /* A 2025-03-26 client opens a session... */
  init = cf_harness_request (d, "POST", "/mcp", legacy_init, NULL, &status, &headers);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (cf_harness_rpc_result (init), "protocolVersion"), ==,
                   "2025-03-26");
  session = soup_message_headers_get_one (headers, "Mcp-Session-Id");
  g_assert_nonnull (session);

  /* ...while a 2026-07-28 client talks statelessly to the same endpoint. */
  discover = cf_harness_request (d, "POST", "/mcp",
      "{\"jsonrpc\":\"2.0\",\"id\":\"d\",\"method\":\"server/discover\",\"params\":{\"_meta\":{"
      "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
      "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
      discover_headers, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (json_object_has_member (cf_harness_rpc_result (discover), "supportedVersions"));

  modern = cf_harness_request (d, "POST", "/mcp",
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"add\","
      "\"arguments\":{\"a\":2,\"b\":40},\"_meta\":{"
      "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
      "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
      modern_headers, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (modern)), ==, "{\"sum\":42}");
  g_assert_cmpstr (json_object_get_string_member (cf_harness_rpc_result (modern), "resultType"), ==,
                   "complete");

  {
    const char *h[] = { "Mcp-Session-Id", session, "MCP-Protocol-Version", "2025-03-26", NULL };

    legacy = cf_harness_request (d, "POST", "/mcp",
        "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"echo-body\","
        "\"arguments\":{\"msg\":\"hi\"}}}", h, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (legacy)), ==,
                     "{\"method\":\"POST\",\"body\":{\"msg\":\"hi\"}}");
    g_assert_false (json_object_has_member (cf_harness_rpc_result (legacy), "resultType"));

    /* An upstream failure is a tool error the model can read. */
    failing = cf_harness_request (d, "POST", "/mcp",
        "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":\"tools/call\",\"params\":{\"name\":\"broken\"}}",
        h, &status, NULL);
    g_assert_true (json_object_get_boolean_member (cf_harness_rpc_result (failing), "isError"));
    g_assert_nonnull (strstr (cf_harness_first_text (cf_harness_rpc_result (failing)), "HTTP 503"));

    prompt = cf_harness_request (d, "POST", "/mcp",
        "{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"prompts/get\",\"params\":{\"name\":\"greet\","
        "\"arguments\":{\"who\":\"ada\",\"excited\":\"yes\"}}}", h, &status, NULL);
    {
      JsonArray *messages = json_object_get_array_member (cf_harness_rpc_result (prompt), "messages");
      JsonObject *content = json_object_get_object_member (
          json_array_get_object_element (messages, 0), "content");

      g_assert_cmpstr (json_object_get_string_member (content, "text"), ==, "Hello ADA!");
    }
  }

  /* ContextForge's plain JSON-RPC endpoint, no session, JSON only. */
  {
    const char *sse_only[] = { "Accept", "text/event-stream", NULL };
    g_autoptr(JsonNode) rpc = cf_harness_request (d, "POST", "/rpc",
        "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"tools/call\",\"params\":{\"name\":\"add\","
        "\"arguments\":{\"a\":1,\"b\":2}}}", sse_only, &status, NULL);
    g_autoptr(JsonNode) rpc_get = cf_harness_request (d, "GET", "/rpc", NULL, NULL, &status, NULL);

    g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (rpc)), ==, "{\"sum\":3}");
    g_assert_cmpuint (status, ==, 405);
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  upstream_stop (up);
}

static void
test_persistence (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autoptr(JsonNode) tools = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonObject) server = NULL;
  guint status;
  char *path;

  populate (d, 9);
  {
    g_autoptr(JsonNode) all = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, NULL);
    JsonArray *array = json_node_get_array (all);
    g_autofree char *body = g_strdup_printf (
        "{\"server\":{\"name\":\"math\",\"associated_tools\":[\"%s\"]}}",
        json_object_get_string_member (json_array_get_object_element (array, 0), "id"));

    server = cf_harness_create (d, "servers", body);
  }
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);

  /* A new process on the same file sees everything, including the
   * virtual server's association. */
  d = cf_daemon_harness_start (db, NULL);
  tools = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (tools)), ==, 3);

  path = g_strdup_printf ("/servers/%s/mcp", json_object_get_string_member (server, "id"));
  list = cf_harness_request (d, "POST", path,
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/list\"}", NULL, &status, NULL);
  g_free (path);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (cf_harness_rpc_result (list),
                                                                         "tools")), ==, 1);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
run_expecting_failure (const char * const *argv,
                       const char * const *env,
                       int                 expected_status,
                       const char         *expected_message)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  for (guint i = 0; env != NULL && env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);
  process = g_subprocess_launcher_spawnv (launcher, argv, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, expected_status);
  if (expected_message != NULL && strstr (err, expected_message) == NULL &&
      strstr (out, expected_message) == NULL)
    g_error ("expected \"%s\" in the output, got: %s%s", expected_message, out, err);
}

static void
test_bad_settings (void)
{
  const char *binary = g_getenv ("CF_TEST_GATEWAY");
  g_autofree char *db = temp_db ();
  const char *daemon[] = { binary, "--daemon", "--no-dbus", "--port", "0", "--db", db, NULL };
  const char *bad_port[] = { "PORT", "http", NULL };
  const char *bad_url[] = { "DATABASE_URL", "postgresql://db/x", NULL };
  const char *bad_sep[] = { "GATEWAY_TOOL_NAME_SEPARATOR", "+", NULL };
  const char *bad_level[] = { "LOG_LEVEL", "LOUD", NULL };
  const char *version[] = { binary, "--version", NULL };
  const char *nothing[] = { binary, NULL };
  const char *not_a_db[] = { binary, "--daemon", "--no-dbus", "--port", "0", "--db", "/proc/version",
                             NULL };
  const char *daemon_env_url[] = { binary, "--daemon", "--no-dbus", "--port", "0", NULL };

  run_expecting_failure (daemon, bad_port, 1, "PORT=http");
  run_expecting_failure (daemon_env_url, bad_url, 1, "only sqlite:/// URLs");
  run_expecting_failure (daemon, bad_sep, 1, "GATEWAY_TOOL_NAME_SEPARATOR");
  run_expecting_failure (daemon, bad_level, 1, "LOG_LEVEL=LOUD");
  run_expecting_failure (version, NULL, 0, PACKAGE_VERSION);
  run_expecting_failure (nothing, NULL, 2, "--daemon");
  run_expecting_failure (not_a_db, NULL, 1, NULL);
}

typedef struct {
  CfDaemonHarness *daemon;
  JsonNode        *reply;
  guint            status;
} SlowCall;

static gpointer
slow_call_thread (gpointer data)
{
  SlowCall *call = data;

  call->reply = cf_harness_request (call->daemon, "POST", "/mcp",
      "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":{\"name\":\"slow\"}}",
      NULL, &call->status, NULL);
  return NULL;
}

/* SIGTERM stops accepting but lets a call in flight finish. */
static void
test_graceful_stop (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  Upstream *up = upstream_start ();
  g_autofree char *body = g_strdup_printf ("{\"name\":\"slow\",\"url\":\"http://127.0.0.1:%u/slow\"}",
                                           up->port);
  g_autoptr(JsonObject) tool = cf_harness_create (d, "tools", body);
  SlowCall call = { d, NULL, 0 };
  GThread *thread = g_thread_new ("slow-call", slow_call_thread, &call);

  g_usleep (300 * 1000);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  g_thread_join (thread);

  g_assert_cmpuint (call.status, ==, 200);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (call.reply)), ==, "{\"slow\":true}");
  json_node_unref (call.reply);
  cf_daemon_harness_free (d);
  upstream_stop (up);
}

static char *
sqlite_single (const char *db,
               const char *sql)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  char *value = NULL;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  value = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return value;
}

/* Hostile input against a running daemon: each gets a clear error, the
 * daemon keeps serving, and the database file stays intact. */
static void
test_hostile_input (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autoptr(GString) deep = g_string_new (NULL);
  g_autoptr(GString) huge = g_string_new ("{\"name\":\"");
  g_autoptr(GString) batch = g_string_new ("[");
  g_autoptr(JsonObject) tool = NULL;
  g_autofree char *integrity = NULL;
  g_autofree char *count = NULL;
  static const struct { const char *method, *path, *body; guint status; } rows[] = {
    { "POST", "/v1/tools", "{\"name\": ", 400 },
    { "POST", "/v1/tools", "[1,2,3]", 422 },
    { "POST", "/v1/tools", "{\"name\": 42, \"url\": true}", 422 },
    { "POST", "/v1/tools", "{\"name\": \"\xff\xfe\"}", 400 },
    { "PUT", "/v1/tools/00000000000000000000000000000000", "{\"name\":\"x\"}", 404 },
    { "DELETE", "/v1/nothing-here", NULL, 404 },
    { "POST", "/mcp", "{\"jsonrpc\":\"2.0\",\"id\":1,", 400 },
  };
  guint status;

  tool = cf_harness_create (d, "tools",
                            "{\"name\":\"keep\",\"url\":\"http://127.0.0.1:9/\"}");

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(JsonNode) reply = cf_harness_request (d, rows[i].method, rows[i].path,
                                                      rows[i].body, NULL, &status, NULL);
      g_assert_cmpuint (status, ==, rows[i].status);
      g_assert_nonnull (reply);
    }

  for (guint i = 0; i < 100000; i++)
    g_string_append_c (deep, '[');
  {
    g_autoptr(JsonNode) reply = cf_harness_request (d, "POST", "/v1/tools", deep->str, NULL,
                                                    &status, NULL);
    g_assert_cmpuint (status, ==, 400);
  }

  while (huge->len < 10 * 1024 * 1024)
    g_string_append (huge, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa");
  g_string_append (huge, "\"}");
  {
    g_autoptr(JsonNode) reply = cf_harness_request (d, "POST", "/v1/tools", huge->str, NULL,
                                                    &status, NULL);
    g_assert_cmpuint (status, ==, 413);
  }

  for (guint i = 0; i < 10000; i++)
    g_string_append_printf (batch, "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\"}",
                            i ? "," : "", i);
  g_string_append_c (batch, ']');
  {
    g_autoptr(JsonNode) reply = cf_harness_request (d, "POST", "/mcp", batch->str, NULL,
                                                    &status, NULL);
    g_assert_cmpuint (status, ==, 413);
    g_assert_true (json_object_has_member (json_node_get_object (reply), "error"));
  }

  {
    g_autoptr(JsonNode) health = cf_harness_request (d, "GET", "/health", NULL, NULL, &status,
                                                     NULL);
    g_assert_cmpuint (status, ==, 200);
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);

  integrity = sqlite_single (db, "PRAGMA integrity_check");
  g_assert_cmpstr (integrity, ==, "ok");
  count = sqlite_single (db, "SELECT count(*) FROM tools");
  g_assert_cmpstr (count, ==, "1");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/daemon/two-eras", test_two_eras);
  g_test_add_func ("/daemon/persistence", test_persistence);
  g_test_add_func ("/daemon/bad-settings", test_bad_settings);
  g_test_add_func ("/daemon/hostile-input", test_hostile_input);
  g_test_add_func ("/daemon/graceful-stop", test_graceful_stop);

  return g_test_run ();
}
