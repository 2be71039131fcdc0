/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-mcp-client"

#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>

#include "../integration/cf-daemon-harness.h"
#include "cf-http-server.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-line-splitter.h"
#include "cf-mcp-client.h"
#include "cf-mcp-client-private.h"
#include "cf-mcp-request.h"
#include "cf-mcp-server.h"
#include "cf-sse-parser.h"
#include "cf-streamable-http.h"
#include "cf-test-mcp-client.h"
#include "cf-test-util.h"
#include "cf-upstream-http.h"

/* The gateway's client for upstream MCP servers: against the fixture
 * server as a child (stdio) and as a separate HTTP process, against an
 * in-process CfMcpServer for what the fixture cannot do (pagination,
 * silence), and against scripted hostile upstreams. */

#define LEGACY_VERSIONS "2025-11-25,2025-06-18,2025-03-26,2024-11-05"
#define MODERN_VERSION "2026-07-28"
#define N_FIXTURE_TOOLS 14
#define SIMPLE_TEXT "This is a simple text response for testing."

/* Parsers */

typedef struct {
  GPtrArray *events;
} SseCollect;

static gboolean
collect_event (const char *data,
               gsize       length,
               gpointer    user_data)
{
  SseCollect *collect = user_data;

  g_assert_cmpuint (strlen (data), ==, length);
  g_ptr_array_add (collect->events, g_strdup (data));
  return TRUE;
}

static GPtrArray *
parse_sse (const char *body,
           gsize       chunk,
           gsize       max_event,
           GError    **error)
{
  SseCollect collect = { g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(CfSseParser) parser = cf_sse_parser_new (max_event, collect_event, &collect);
  gsize length = strlen (body);

  for (gsize offset = 0; offset < length; offset += chunk)
    if (!cf_sse_parser_feed (parser, body + offset, MIN (chunk, length - offset), error))
      break;
  return collect.events;
}

static void
test_sse_parse (void)
{
  static const char body[] =
    "\xEF\xBB\xBF: stream open\r\n\r\n"
    "data: {\"a\":1}\n\n"
    "event: ping\ndata: ignored\n\n"
    "event: message\r\ndata:{\"b\":\r\ndata:  2}\r\n\r\n"
    "id: 7\nretry: 1500\ndata\n\n"
    "data: tail\rdata: cr\r\r"
    "unknown: field\n\n"
    "data: cut short";
  static const gsize chunks[] = { 1, 2, 3, 7, 1000 };

  for (guint i = 0; i < G_N_ELEMENTS (chunks); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(GPtrArray) events = parse_sse (body, chunks[i], 1024, &error);

      g_assert_no_error (error);
      g_assert_cmpuint (events->len, ==, 4);
      g_assert_cmpstr (g_ptr_array_index (events, 0), ==, "{\"a\":1}");
      g_assert_cmpstr (g_ptr_array_index (events, 1), ==, "{\"b\":\n 2}");
      g_assert_cmpstr (g_ptr_array_index (events, 2), ==, "");
      g_assert_cmpstr (g_ptr_array_index (events, 3), ==, "tail\ncr");
    }
}

typedef struct {
  CfSseParser *parser;
  GPtrArray   *ids;
} IdCollect;

static gboolean
collect_id (const char *data,
            gsize       length,
            gpointer    user_data)
{
  IdCollect *collect = user_data;

  g_ptr_array_add (collect->ids, g_strdup (cf_sse_parser_get_last_event_id (collect->parser)));
  return TRUE;
}

/* The id in force is the last complete event's, as a reconnection needs. */
static void
test_sse_ids (void)
{
  IdCollect collect = { NULL, g_ptr_array_new_with_free_func (g_free) };
  g_autoptr(GError) error = NULL;
  static const char body[] = "id: 1\ndata: a\n\ndata: b\n\nid: 2\n\nretry: x\nid: 3\nretry: 70\n"
                             "data: c\n\nid\ndata: d\n\nid: 4\nretry: 1e3\ndata: cut";

  collect.parser = cf_sse_parser_new (1024, collect_id, &collect);
  g_assert_null (cf_sse_parser_get_last_event_id (collect.parser));
  g_assert_cmpint (cf_sse_parser_get_retry (collect.parser), ==, -1);
  g_assert_true (cf_sse_parser_feed (collect.parser, body, strlen (body), &error));
  g_assert_no_error (error);

  g_assert_cmpuint (collect.ids->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (collect.ids, 0), ==, "1");
  g_assert_cmpstr (g_ptr_array_index (collect.ids, 1), ==, "1");
  g_assert_cmpstr (g_ptr_array_index (collect.ids, 2), ==, "3");
  g_assert_cmpstr (g_ptr_array_index (collect.ids, 3), ==, "");
  /* "id: 4" belongs to an event the stream never finished. */
  g_assert_cmpstr (cf_sse_parser_get_last_event_id (collect.parser), ==, "");
  g_assert_cmpint (cf_sse_parser_get_retry (collect.parser), ==, 70);
  cf_sse_parser_free (collect.parser);
  g_ptr_array_unref (collect.ids);
}

static void
test_sse_limits (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) body = g_string_new ("data: ok\n\ndata: ");
  g_autoptr(GPtrArray) events = NULL;
  g_autoptr(GPtrArray) lines = NULL;

  /* One line over the limit, never terminated. */
  for (guint i = 0; i < 200; i++)
    g_string_append_c (body, 'x');
  events = parse_sse (body->str, 13, 64, &error);
  g_assert_error (error, CF_SSE_ERROR, CF_SSE_ERROR_TOO_LARGE);
  g_assert_cmpuint (events->len, ==, 1);
  g_clear_error (&error);

  /* Many short data lines adding up to too much. */
  g_string_assign (body, "");
  for (guint i = 0; i < 40; i++)
    g_string_append (body, "data: abcd\n");
  lines = parse_sse (body->str, 5, 64, &error);
  g_assert_error (error, CF_SSE_ERROR, CF_SSE_ERROR_TOO_LARGE);
  g_assert_cmpuint (lines->len, ==, 0);
}

typedef struct {
  GPtrArray *lines;
  guint      n_overflows;
} LineCollect;

static gboolean
collect_line (const char *line,
              gsize       length,
              gboolean    overflow,
              gpointer    user_data)
{
  LineCollect *collect = user_data;

  if (overflow)
    collect->n_overflows++;
  else
    g_ptr_array_add (collect->lines, g_strndup (line, length));
  return TRUE;
}

/* Builds a call's wire text from @params_json and parses it back. */
static JsonObject *
call_text_meta (const char  *params_json,
                const char  *meta_json,
                const char  *arguments_text,
                const char  *modern_version,
                JsonNode   **out_token,
                char       **out_text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) params = params_json ? cf_json_parse (params_json, -1, &error) : NULL;
  g_autoptr(JsonNode) meta = meta_json ? cf_json_parse (meta_json, -1, NULL) : NULL;
  CfUpstreamCall call = { 0 };
  g_autoptr(GBytes) text = NULL;
  JsonNode *parsed;
  gsize length;
  const char *data;

  g_assert_no_error (error);
  call.id = 41;
  call.method = (char *) "tools/call";
  call.params = params ? json_node_get_object (params) : NULL;
  call.meta = meta ? json_node_get_object (meta) : NULL;
  if (params != NULL)
    json_node_seal (params);
  if (arguments_text != NULL)
    call.arguments = g_bytes_new_static (arguments_text, strlen (arguments_text));
  text = _cf_upstream_call_build_text (&call, modern_version);
  g_clear_pointer (&call.arguments, g_bytes_unref);
  data = g_bytes_get_data (text, &length);
  /* NUL-terminated past its size, for the WebSocket transport. */
  g_assert_cmpint (data[length], ==, '\0');
  *out_text = g_strndup (data, length);
  parsed = cf_json_parse (data, length, &error);
  g_assert_no_error (error);
  *out_token = call.progress_token;
  {
    JsonObject *object = json_object_ref (json_node_get_object (parsed));

    json_node_unref (parsed);
    return object;
  }
}

static JsonObject *
call_text (const char  *params_json,
           const char  *arguments_text,
           const char  *modern_version,
           JsonNode   **out_token,
           char       **out_text)
{
  return call_text_meta (params_json, NULL, arguments_text, modern_version, out_token, out_text);
}

static void
test_call_text (void)
{
  g_autoptr(JsonObject) plain = NULL, relayed = NULL, modern = NULL, passed = NULL, bare = NULL;
  g_autoptr(JsonNode) token = NULL;
  g_autofree char *text = NULL;
  JsonObject *params, *meta;

  /* No params: none on the wire either. */
  plain = call_text (NULL, NULL, NULL, &token, &text);
  g_assert_cmpstr (text, ==, "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\"}");
  g_assert_null (token);
  g_clear_pointer (&text, g_free);

  /* Arguments go out as they came, escapes and all; the progress token
   * is the call's id on the wire and the caller's in the call. */
  relayed = call_text ("{\"name\":\"echo\\\"\",\"arguments\":{\"text\":\"a\\nb\\u00e9\\ud83d\\ude00\","
                       "\"n\":[1,2.5,true,null]},\"_meta\":{\"progressToken\":\"caller\","
                       "\"custom/x\":1}}", NULL, NULL, &token, &text);
  g_assert_cmpstr (text, ==,
                   "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"echo\\\"\",\"arguments\":{\"text\":\"a\\nb\xc3\xa9\xf0\x9f\x98\x80\","
                   "\"n\":[1,2.5,true,null]},\"_meta\":{\"progressToken\":41,\"custom/x\":1}}}");
  g_assert_nonnull (token);
  g_assert_cmpstr (json_node_get_string (token), ==, "caller");
  g_clear_pointer (&token, json_node_unref);
  g_clear_pointer (&text, g_free);

  /* A 2026-07-28 request's _meta is the call's: a version the caller
   * put there is replaced, not repeated. */
  modern = call_text ("{\"name\":\"echo\",\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":"
                      "\"1999-01-01\",\"custom/y\":\"z\"}}", NULL, "2026-07-28", &token, &text);
  g_assert_null (token);
  params = cf_json_object_get_object (modern, "params");
  meta = cf_json_object_get_object (params, "_meta");
  g_assert_cmpuint (json_object_get_size (meta), ==, 4);
  g_assert_cmpstr (cf_json_object_get_string (meta, "custom/y"), ==, "z");
  g_assert_cmpstr (cf_json_object_get_string (meta, "io.modelcontextprotocol/protocolVersion"),
                   ==, "2026-07-28");
  g_assert_cmpstr (cf_json_object_get_string (cf_json_object_get_object (
                     meta, "io.modelcontextprotocol/clientInfo"), "name"),
                   ==, "ContextForge Gateway");
  g_assert_true (json_object_has_member (cf_json_object_get_object (
                   meta, "io.modelcontextprotocol/clientCapabilities"), "sampling"));
  g_assert_null (strstr (text, "1999-01-01"));
  {
    gint64 id = 0;

    g_assert_true (cf_json_object_get_int (modern, "id", &id));
    g_assert_cmpint (id, ==, 41);
  }
  g_clear_pointer (&token, json_node_unref);
  g_clear_pointer (&text, g_free);

  /* Arguments passed as text (cf_mcp_client_call_tool_async()) go out
   * byte for byte, spaces and escapes as the client wrote them, beside
   * the params and before the _meta. */
  passed = call_text ("{\"name\":\"echo\",\"_meta\":{\"progressToken\":7}}",
                      "{ \"text\" : \"a\\u00e9\" }", NULL, &token, &text);
  g_assert_cmpstr (text, ==,
                   "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\",\"params\":"
                   "{\"name\":\"echo\",\"arguments\":{ \"text\" : \"a\\u00e9\" },"
                   "\"_meta\":{\"progressToken\":41}}}");
  g_assert_cmpint (json_node_get_int (token), ==, 7);
  g_clear_pointer (&token, json_node_unref);
  g_clear_pointer (&text, g_free);

  /* A _meta kept apart from shared params goes out as if it were in
   * them, in either era. */
  {
    static const char *versions[] = { NULL, "2026-07-28" };

    for (guint i = 0; i < G_N_ELEMENTS (versions); i++)
      {
        g_autofree char *inside_text = NULL;
        g_autoptr(JsonNode) inside_token = NULL;
        g_autoptr(JsonObject) inside = call_text (
            "{\"name\":\"echo\",\"_meta\":{\"progressToken\":7,"
            "\"io.modelcontextprotocol/logLevel\":\"debug\"}}", "{\"a\":1}", versions[i],
            &inside_token, &inside_text);
        g_autoptr(JsonObject) apart = call_text_meta (
            "{\"name\":\"echo\"}",
            "{\"progressToken\":7,\"io.modelcontextprotocol/logLevel\":\"debug\"}",
            "{\"a\":1}", versions[i], &token, &text);

        g_assert_cmpstr (text, ==, inside_text);
        g_assert_cmpint (json_node_get_int (token), ==, 7);
        g_clear_pointer (&token, json_node_unref);
        g_clear_pointer (&text, g_free);
      }
  }

  /* Arguments alone, in a 2026-07-28 call: the first member, no comma */
  bare = call_text (NULL, "{}", "2026-07-28", &token, &text);
  g_assert_true (g_str_has_prefix (text, "{\"jsonrpc\":\"2.0\",\"id\":41,\"method\":\"tools/call\","
                                         "\"params\":{\"arguments\":{},\"_meta\":{"));
  g_assert_nonnull (cf_json_object_get_object (cf_json_object_get_object (bare, "params"),
                                               "arguments"));
}

static void
test_line_splitter (void)
{
  g_autoptr(CfLineSplitter) splitter = cf_line_splitter_new (8, FALSE);
  LineCollect collect = { g_ptr_array_new_with_free_func (g_free), 0 };
  static const char input[] = "one\r\ntwo\n\nway too long a line\nthree\npartial";

  for (gsize i = 0; i < strlen (input); i++)
    g_assert_true (cf_line_splitter_feed (splitter, input + i, 1, collect_line, &collect));

  g_assert_cmpuint (collect.n_overflows, ==, 1);
  g_assert_cmpuint (collect.lines->len, ==, 4);
  g_assert_cmpstr (g_ptr_array_index (collect.lines, 0), ==, "one");
  g_assert_cmpstr (g_ptr_array_index (collect.lines, 1), ==, "two");
  g_assert_cmpstr (g_ptr_array_index (collect.lines, 2), ==, "");
  g_assert_cmpstr (g_ptr_array_index (collect.lines, 3), ==, "three");
  g_assert_cmpuint (cf_line_splitter_get_pending (splitter), ==, 7);
  g_ptr_array_unref (collect.lines);
}

/* Driving the client */

static gboolean
has_messages (gpointer user_data)
{
  return ((CfTestOp *) user_data)->messages->len > 0;
}

/* The fixture server */

typedef struct {
  gboolean    stdio;
  const char *versions;
} Variant;

static const Variant legacy_stdio = { TRUE, LEGACY_VERSIONS };
static const Variant legacy_http = { FALSE, LEGACY_VERSIONS };
static const Variant modern_stdio = { TRUE, MODERN_VERSION };
static const Variant modern_http = { FALSE, MODERN_VERSION };
static const Variant dual_stdio = { TRUE, NULL };
static const Variant dual_http = { FALSE, NULL };

typedef struct {
  GSubprocess *server;
  char        *url;
  CfMcpClient *client;
  GPtrArray   *notifications;
  guint        n_closed;
} Fixture;

static void
on_notification (CfMcpClient *client,
                 JsonNode    *message,
                 Fixture     *f)
{
  g_ptr_array_add (f->notifications, json_node_ref (message));
}

static void
on_closed (CfMcpClient *client,
           Fixture     *f)
{
  f->n_closed++;
}

static void
watch_client (Fixture *f)
{
  g_signal_connect (f->client, "notification", G_CALLBACK (on_notification), f);
  g_signal_connect (f->client, "closed", G_CALLBACK (on_closed), f);
}

static GPtrArray *
fixture_argv (const Variant *variant)
{
  GPtrArray *argv = g_ptr_array_new_with_free_func (g_free);

  g_ptr_array_add (argv, cf_test_fixture_server_path ());
  g_ptr_array_add (argv, g_strdup (variant->stdio ? "--stdio" : "--port=0"));
  if (variant->versions != NULL)
    g_ptr_array_add (argv, g_strdup_printf ("--versions=%s", variant->versions));
  g_ptr_array_add (argv, NULL);
  return argv;
}

/* Starts the fixture on a free port; its first line of output is where. */
static void
spawn_http_fixture (Fixture       *f,
                    const Variant *variant)
{
  g_autoptr(GPtrArray) argv = fixture_argv (variant);

  f->server = cf_harness_spawn ((const char * const *) argv->pdata, &f->url);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const Variant *variant = data;
  g_autoptr(GError) error = NULL;

  f->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  if (variant->stdio)
    {
      g_autoptr(GPtrArray) argv = fixture_argv (variant);

      f->client = cf_mcp_client_new_stdio ((const char * const *) argv->pdata, NULL, NULL);
    }
  else
    {
      spawn_http_fixture (f, variant);
      f->client = cf_mcp_client_new_http (f->url, NULL, NULL);
    }
  watch_client (f);
  cf_test_connect_client (f->client, &error);
  g_assert_no_error (error);
}

static void
on_server_exited (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static gboolean
pid_is_gone (gpointer user_data)
{
  return kill (GPOINTER_TO_INT (user_data), 0) != 0 && errno == ESRCH;
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  GPid pid = f->client ? cf_mcp_client_get_pid (f->client) : 0;
  gboolean exited = FALSE;

  if (f->client != NULL)
    cf_mcp_client_close (f->client);
  g_clear_object (&f->client);
  if (pid != 0)
    g_assert_true (cf_test_wait_until (pid_is_gone, GINT_TO_POINTER (pid), CF_TEST_TIMEOUT_MS));

  if (f->server != NULL)
    {
      g_subprocess_send_signal (f->server, SIGTERM);
      g_subprocess_wait_async (f->server, NULL, on_server_exited, &exited);
      if (!cf_test_wait_flag (&exited, CF_TEST_TIMEOUT_MS))
        {
          g_subprocess_force_exit (f->server);
          g_assert_true (cf_test_wait_flag (&exited, CF_TEST_TIMEOUT_MS));
        }
    }
  /* Let drains and deletes in flight finish. */
  cf_test_spin (50);
  g_clear_object (&f->server);
  g_clear_pointer (&f->url, g_free);
  g_clear_pointer (&f->notifications, g_ptr_array_unref);
}

/* Against the fixture */

static void
test_connect_legacy (Fixture       *f,
                     gconstpointer  data)
{
  const Variant *variant = data;
  JsonObject *info = cf_mcp_client_get_server_info (f->client);

  g_assert_cmpint (cf_mcp_client_get_era (f->client), ==, CF_MCP_ERA_LEGACY);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (f->client), ==, "2025-11-25");
  g_assert_true (cf_mcp_client_is_connected (f->client));
  g_assert_nonnull (info);
  g_assert_cmpstr (cf_json_object_get_string (info, "name"), ==, "cf-conformance-fixture");
  g_assert_true (json_object_has_member (cf_mcp_client_get_server_capabilities (f->client),
                                         "tools"));
  if (variant->stdio)
    g_assert_cmpint (cf_mcp_client_get_pid (f->client), >, 0);
  else
    g_assert_nonnull (cf_mcp_client_get_session_id (f->client));
}

static void
test_connect_modern (Fixture       *f,
                     gconstpointer  data)
{
  JsonObject *info = cf_mcp_client_get_server_info (f->client);

  g_assert_cmpint (cf_mcp_client_get_era (f->client), ==, CF_MCP_ERA_MODERN);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (f->client), ==, MODERN_VERSION);
  g_assert_null (cf_mcp_client_get_session_id (f->client));
  g_assert_nonnull (info);
  g_assert_cmpstr (cf_json_object_get_string (info, "name"), ==, "cf-conformance-fixture");
  g_assert_true (json_object_has_member (cf_mcp_client_get_server_capabilities (f->client),
                                         "tools"));
}

static void
test_list_tools (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GHashTable) names = g_hash_table_new (g_str_hash, g_str_equal);
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_list_all (&op, f->client, "tools/list");
  g_assert_no_error (op.error);
  g_assert_cmpuint (json_array_get_length (op.items), ==, N_FIXTURE_TOOLS);
  for (guint i = 0; i < json_array_get_length (op.items); i++)
    g_hash_table_add (names, (gpointer) cf_json_object_get_string (
                        json_array_get_object_element (op.items, i), "name"));
  g_assert_cmpuint (g_hash_table_size (names), ==, N_FIXTURE_TOOLS);
  g_assert_true (g_hash_table_contains (names, "test_simple_text"));
  g_assert_true (g_hash_table_contains (names, "test_reconnection"));
  cf_test_op_clear (&op);
}

static void
test_simple_text (Fixture       *f,
                  gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_simple_text\",\"arguments\":{}}");
  g_assert_no_error (op.error);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==, SIMPLE_TEXT);
  g_assert_cmpuint (op.messages->len, ==, 0);
  cf_test_op_clear (&op);
}

static void
test_progress (Fixture       *f,
               gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_tool_with_progress\",\"arguments\":{},"
                      "\"_meta\":{\"progressToken\":\"caller-token\"}}");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 3);
  for (guint i = 0; i < op.messages->len; i++)
    {
      JsonNode *message = g_ptr_array_index (op.messages, i);
      JsonObject *params = cf_json_object_get_object (json_node_get_object (message), "params");

      g_assert_cmpstr (cf_test_message_method (message), ==, "notifications/progress");
      /* The caller's own token, not the one on the wire. */
      g_assert_cmpstr (cf_json_object_get_string (params, "progressToken"), ==, "caller-token");
    }
  cf_test_op_clear (&op);
}

static void
test_logging (Fixture       *f,
              gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_tool_with_logging\",\"arguments\":{}}");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 3);
  for (guint i = 0; i < op.messages->len; i++)
    g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, i)), ==,
                     "notifications/message");
  cf_test_op_clear (&op);
}

static void
test_sampling_legacy (Fixture       *f,
                      gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  op.answer_sampling = TRUE;
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"Say hi\"}}");
  g_assert_no_error (op.error);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 1);
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, 0)), ==,
                   "sampling/createMessage");
  g_assert_true (g_str_has_prefix (cf_test_first_text (cf_test_assert_result (op.response)),
                                   "LLM response:"));
  g_assert_nonnull (strstr (cf_test_first_text (cf_test_assert_result (op.response)),
                            "a sampled answer"));
  cf_test_op_clear (&op);
}

static void
test_sampling_modern (Fixture       *f,
                      gconstpointer  data)
{
  CfTestOp op;
  JsonObject *result;

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"Say hi\"}}");
  g_assert_no_error (op.error);
  result = cf_test_assert_result (op.response);
  /* 2026-07-28 asks for the input in the result (MRTR); the caller retries. */
  g_assert_cmpstr (cf_json_object_get_string (result, "resultType"), ==, "input_required");
  g_assert_cmpuint (op.messages->len, ==, 0);
  cf_test_op_clear (&op);
}

static void
test_error_handling (Fixture       *f,
                     gconstpointer  data)
{
  CfTestOp op;
  JsonObject *result;

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_error_handling\",\"arguments\":{}}");
  g_assert_no_error (op.error);
  result = cf_test_assert_result (op.response);
  g_assert_true (cf_json_object_get_bool (result, "isError", FALSE));
  cf_test_op_clear (&op);
}

static void
test_unknown_tool (Fixture       *f,
                   gconstpointer  data)
{
  CfTestOp op;
  JsonNode *id;

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call", "{\"name\":\"no_such_tool\",\"arguments\":{}}");
  g_assert_no_error (op.error);
  cf_test_assert_error (op.response, CF_JSONRPC_INVALID_PARAMS);
  id = json_object_get_member (json_node_get_object (op.response), "id");
  g_assert_true (cf_json_node_is_integer (id));
  cf_test_op_clear (&op);

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "no/such/method", NULL);
  g_assert_no_error (op.error);
  cf_test_assert_error (op.response, CF_JSONRPC_METHOD_NOT_FOUND);
  cf_test_op_clear (&op);
}

/* Several calls at once on one connection, each getting its own. */
static void
test_concurrent (Fixture       *f,
                 gconstpointer  data)
{
  CfTestOp ops[4];

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      cf_test_op_init (&ops[i]);
      cf_test_op_start (&ops[i], f->client, "tools/call",
                        i % 2 ? "{\"name\":\"test_simple_text\",\"arguments\":{}}"
                              : "{\"name\":\"test_tool_with_progress\",\"arguments\":{},"
                                "\"_meta\":{\"progressToken\":7}}", NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      cf_test_op_wait (&ops[i]);
      g_assert_no_error (ops[i].error);
      cf_test_assert_result (ops[i].response);
      g_assert_cmpuint (ops[i].n_messages_at_callback, ==, i % 2 ? 0 : 3);
      cf_test_op_clear (&ops[i]);
    }
}

static void
test_reconnect (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CfTestOp op;

  cf_test_connect_client (f->client, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (f->n_closed, ==, 0);

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_simple_text\",\"arguments\":{}}");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  cf_test_op_clear (&op);
}

static void
test_close (Fixture       *f,
            gconstpointer  data)
{
  GPid pid = cf_mcp_client_get_pid (f->client);
  CfTestOp op;

  cf_mcp_client_close (f->client);
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_assert_false (cf_mcp_client_is_connected (f->client));
  if (pid != 0)
    g_assert_true (cf_test_wait_until (pid_is_gone, GINT_TO_POINTER (pid), CF_TEST_TIMEOUT_MS));

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/list", NULL);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  cf_test_op_clear (&op);
}

static gboolean
closed_fired (gpointer user_data)
{
  return ((Fixture *) user_data)->n_closed > 0;
}

/* The child dies in the middle of a call (the fixture waits for the
 * sampling answer, which never comes). */
static void
test_child_killed (Fixture       *f,
                   gconstpointer  data)
{
  GPid pid = cf_mcp_client_get_pid (f->client);
  struct sigaction pipe_action;
  CfTestOp op;

  cf_mcp_client_set_timeout (f->client, CF_TEST_TIMEOUT_MS);
  cf_test_op_init (&op);
  cf_test_op_start (&op, f->client, "tools/call",
                    "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"Say hi\"}}", NULL);
  g_assert_true (cf_test_wait_until (has_messages, &op, CF_TEST_TIMEOUT_MS));
  g_assert_cmpuint (op.messages->len, ==, 1);

  g_assert_cmpint (kill (pid, SIGKILL), ==, 0);
  /* Writing to the dead child fails with EPIPE rather than raising a
   * SIGPIPE that would end the gateway. */
  g_assert_cmpint (sigaction (SIGPIPE, NULL, &pipe_action), ==, 0);
  g_assert_true (pipe_action.sa_handler == SIG_IGN);
  cf_mcp_client_notify (f->client, "notifications/roots/list_changed", NULL);
  cf_test_op_wait (&op);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  g_assert_true (cf_test_wait_until (closed_fired, f, CF_TEST_TIMEOUT_MS));
  g_assert_cmpuint (f->n_closed, ==, 1);
  g_assert_false (cf_mcp_client_is_connected (f->client));
  cf_test_op_clear (&op);
}

/* An in-process upstream, for what the fixture cannot do */

#define PAGE_SIZE 5
#define N_PAGES 3

typedef struct {
  CfMcpServer      *server;
  CfHttpServer     *http;
  CfStreamableHttp *transport;
  char             *url;
  CfMcpClient      *client;
  GPtrArray        *held;
  GPtrArray        *notifications;
  guint             n_cancelled;
  guint             n_closed;
} Local;

static void
on_tools_list (CfMcpRequest *request,
               gpointer      user_data)
{
  const char *cursor = cf_json_object_get_string (cf_mcp_request_get_params (request), "cursor");
  guint page = cursor ? (guint) g_ascii_strtoull (cursor + strlen ("page-"), NULL, 10) : 0;
  JsonObject *result = json_object_new ();
  JsonArray *tools = json_array_new ();

  for (guint i = 0; i < PAGE_SIZE; i++)
    {
      JsonObject *tool = json_object_new ();
      g_autofree char *name = g_strdup_printf ("tool-%02u", page * PAGE_SIZE + i);

      json_object_set_string_member (tool, "name", name);
      json_object_set_object_member (tool, "inputSchema",
                                     cf_test_parse_object ("{\"type\":\"object\"}"));
      json_array_add_object_element (tools, tool);
    }
  json_object_set_array_member (result, "tools", tools);
  if (page + 1 < N_PAGES)
    {
      g_autofree char *next = g_strdup_printf ("page-%u", page + 1);

      json_object_set_string_member (result, "nextCursor", next);
    }
  cf_mcp_request_return (request, result);
}

/* A cursor that leads back to itself. */
static void
on_prompts_list (CfMcpRequest *request,
                 gpointer      user_data)
{
  cf_mcp_request_return (request, cf_test_parse_object ("{\"prompts\":[{\"name\":\"p\"}],"
                                                        "\"nextCursor\":\"again\"}"));
}

static void
on_resources_list (CfMcpRequest *request,
                   gpointer      user_data)
{
  cf_mcp_request_return_error (request, CF_JSONRPC_INTERNAL_ERROR, "No resources today", NULL);
}

static void
on_never_cancelled (GCancellable *cancellable,
                    Local        *local)
{
  local->n_cancelled++;
}

/* A tool that never answers; the test sees it cancelled. */
static void
on_tools_call (CfMcpRequest *request,
               gpointer      user_data)
{
  Local *local = user_data;

  g_ptr_array_add (local->held, g_object_ref (request));
  g_signal_connect (cf_mcp_request_get_cancellable (request), "cancelled",
                    G_CALLBACK (on_never_cancelled), local);
}

static void
local_setup (Local         *local,
             gconstpointer  data)
{
  const char *versions = data;
  g_auto(GStrv) list = g_strsplit (versions, ",", -1);
  g_autoptr(GError) error = NULL;
  guint port;

  local->held = g_ptr_array_new_with_free_func (g_object_unref);
  local->server = cf_mcp_server_new ("cf-local-upstream", "1.0");
  cf_mcp_server_set_versions (local->server, (const char * const *) list);
  cf_mcp_server_set_capability (local->server, "tools", json_object_new ());
  cf_mcp_server_set_capability (local->server, "prompts", json_object_new ());
  cf_mcp_server_set_capability (local->server, "resources", json_object_new ());
  cf_mcp_server_add_method (local->server, "tools/list", on_tools_list, local, NULL);
  cf_mcp_server_add_method (local->server, "prompts/list", on_prompts_list, local, NULL);
  cf_mcp_server_add_method (local->server, "resources/list", on_resources_list, local, NULL);
  cf_mcp_server_add_method (local->server, "tools/call", on_tools_call, local, NULL);

  local->http = cf_http_server_new ();
  local->transport = cf_streamable_http_new (local->server);
  cf_streamable_http_mount (local->transport, local->http, "/mcp");
  cf_http_server_listen (local->http, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  port = cf_http_server_get_port (local->http);
  local->url = g_strdup_printf ("http://127.0.0.1:%u/mcp", port);

  local->client = cf_mcp_client_new_http (local->url, NULL, NULL);
  cf_test_connect_client (local->client, &error);
  g_assert_no_error (error);
}

static void
local_teardown (Local         *local,
                gconstpointer  data)
{
  for (guint i = 0; i < local->held->len; i++)
    {
      CfMcpRequest *request = g_ptr_array_index (local->held, i);

      g_signal_handlers_disconnect_by_data (cf_mcp_request_get_cancellable (request), local);
      if (!cf_mcp_request_is_done (request))
        cf_mcp_request_return_error (request, CF_JSONRPC_INTERNAL_ERROR, "Test over", NULL);
    }
  g_clear_pointer (&local->held, g_ptr_array_unref);

  cf_mcp_client_close (local->client);
  g_clear_object (&local->client);
  cf_mcp_server_shutdown (local->server);
  cf_streamable_http_close_streams (local->transport);
  cf_test_wait_until (cf_test_http_is_idle, local->http, 2000);
  cf_test_spin (50);
  g_clear_object (&local->transport);
  g_clear_object (&local->http);
  g_assert_finalize_object (local->server);
  g_clear_pointer (&local->url, g_free);
}

static gboolean
record_peer_port (CfHttpServer   *http,
                  CfHttpExchange *exchange,
                  gpointer        user_data)
{
  GSocketAddress *peer = cf_http_exchange_get_remote_address (exchange);

  if (G_IS_INET_SOCKET_ADDRESS (peer))
    g_hash_table_add (user_data, GUINT_TO_POINTER (
        g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (peer))));
  return TRUE;
}

/* Sequential calls share one kept-alive connection: libsoup reuses an
 * idle connection for a POST only when the client marks it idempotent. */
static void
test_connection_reuse (Local         *local,
                       gconstpointer  data)
{
  g_autoptr(GHashTable) ports = g_hash_table_new (NULL, NULL);

  cf_http_server_add_middleware (local->http, "record-peer-port", record_peer_port, ports);
  for (guint i = 0; i < 20; i++)
    {
      CfTestOp op;

      cf_test_op_init (&op);
      cf_test_op_list_all (&op, local->client, "tools/list");
      g_assert_no_error (op.error);
      cf_test_op_clear (&op);
    }
  /* 60 requests (3 pages each); a new connection per request would be 60. */
  g_assert_cmpuint (g_hash_table_size (ports), <=, 2);
}

static void
test_pagination (Local         *local,
                 gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_list_all (&op, local->client, "tools/list");
  g_assert_no_error (op.error);
  g_assert_cmpuint (json_array_get_length (op.items), ==, PAGE_SIZE * N_PAGES);
  for (guint i = 0; i < json_array_get_length (op.items); i++)
    {
      g_autofree char *name = g_strdup_printf ("tool-%02u", i);
      JsonObject *tool = json_array_get_object_element (op.items, i);

      g_assert_cmpstr (cf_json_object_get_string (tool, "name"), ==, name);
      /* The items are the caller's to change. */
      json_object_set_boolean_member (tool, "seen", TRUE);
    }
  cf_test_op_clear (&op);
}

static void
test_repeated_cursor (Local         *local,
                      gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_list_all (&op, local->client, "prompts/list");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (op.error->message, "again"));
  cf_test_op_clear (&op);

  cf_test_op_init (&op);
  cf_test_op_list_all (&op, local->client, "resources/list");
  g_assert_error (op.error, CF_JSONRPC_ERROR, CF_JSONRPC_INTERNAL_ERROR);
  cf_test_op_clear (&op);
}

static gboolean
is_legacy (gconstpointer versions)
{
  return g_str_equal (versions, LEGACY_VERSIONS);
}

static gboolean
upstream_saw_cancel (gpointer user_data)
{
  return ((Local *) user_data)->n_cancelled > 0;
}

static gboolean
upstream_holds_call (gpointer user_data)
{
  return ((Local *) user_data)->held->len > 0;
}

static gboolean
upstream_holds_two (gpointer user_data)
{
  return ((Local *) user_data)->held->len >= 2;
}

/* cf_mcp_client_cancel() cancels the calls of one caller only, as their
 * cancellable would: the call fails as cancelled, the upstream hears of
 * it (legacy), the other caller's call goes on. */
static void
test_cancel_by_data (Local         *local,
                     gconstpointer  data)
{
  CfTestOp first, second;

  cf_test_op_init (&first);
  cf_test_op_init (&second);
  cf_test_op_start (&first, local->client, "tools/call",
                    "{\"name\":\"never\",\"arguments\":{}}", NULL);
  cf_test_op_start (&second, local->client, "tools/call",
                    "{\"name\":\"never\",\"arguments\":{}}", NULL);
  g_assert_true (cf_test_wait_until (upstream_holds_two, local, CF_TEST_TIMEOUT_MS));

  cf_mcp_client_cancel (local->client, &first);
  /* Never from within the call */
  g_assert_false (first.done);
  cf_test_op_wait (&first);
  g_assert_error (first.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (is_legacy (data))
    g_assert_true (cf_test_wait_until (upstream_saw_cancel, local, CF_TEST_TIMEOUT_MS));
  cf_test_spin (100);
  g_assert_false (second.done);

  /* Data no call has: nothing happens. */
  cf_mcp_client_cancel (local->client, local);
  cf_test_spin (100);
  g_assert_false (second.done);
  cf_mcp_client_cancel (local->client, &second);
  cf_test_op_wait (&second);
  g_assert_error (second.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (cf_mcp_client_is_connected (local->client));
  cf_test_op_clear (&first);
  cf_test_op_clear (&second);
}

/* Calls with different timeouts end at their own deadlines, in deadline
 * order whatever order they were sent in; an answered call in between
 * leaves them be. */
static void
test_deadlines (Local         *local,
                gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();
  CfTestOp late, early, answered;

  cf_test_op_init (&late);
  cf_test_op_init (&early);
  cf_test_op_init (&answered);
  cf_mcp_client_set_timeout (local->client, 900);
  cf_test_op_start (&late, local->client, "tools/call", "{\"name\":\"never\",\"arguments\":{}}",
                    NULL);
  cf_mcp_client_set_timeout (local->client, 250);
  cf_test_op_start (&early, local->client, "tools/call",
                    "{\"name\":\"never\",\"arguments\":{}}", NULL);
  cf_mcp_client_set_timeout (local->client, 900);
  cf_test_op_start (&answered, local->client, "tools/list", "{}", NULL);

  cf_test_op_wait (&answered);
  g_assert_no_error (answered.error);
  g_assert_false (early.done);
  g_assert_false (late.done);

  cf_test_op_wait (&early);
  g_assert_error (early.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 250 * 1000);
  g_assert_false (late.done);

  cf_test_op_wait (&late);
  g_assert_error (late.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 900 * 1000);
  g_assert_true (cf_mcp_client_is_connected (local->client));
  cf_test_op_clear (&answered);
  cf_test_op_clear (&early);
  cf_test_op_clear (&late);
}

static void
test_timeout (Local         *local,
              gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();
  CfTestOp op;

  cf_mcp_client_set_timeout (local->client, 300);
  cf_test_op_init (&op);
  cf_test_op_request (&op, local->client, "tools/call", "{\"name\":\"never\",\"arguments\":{}}");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 300 * 1000);
  /* Legacy: notifications/cancelled. (2026-07-28 closes the connection,
   * which a paused libsoup server does not notice: see abort-closes.) */
  if (is_legacy (data))
    g_assert_true (cf_test_wait_until (upstream_saw_cancel, local, CF_TEST_TIMEOUT_MS));
  g_assert_true (cf_mcp_client_is_connected (local->client));
  cf_test_op_clear (&op);
}

static void
test_cancel (Local         *local,
             gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_start (&op, local->client, "tools/call", "{\"name\":\"never\",\"arguments\":{}}",
                    cancellable);
  g_assert_true (cf_test_wait_until (upstream_holds_call, local, CF_TEST_TIMEOUT_MS));
  g_cancellable_cancel (cancellable);
  cf_test_op_wait (&op);
  g_assert_error (op.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  if (is_legacy (data))
    g_assert_true (cf_test_wait_until (upstream_saw_cancel, local, CF_TEST_TIMEOUT_MS));
  cf_test_op_clear (&op);

  /* Already cancelled: nothing is sent. */
  cf_test_op_init (&op);
  cf_test_op_start (&op, local->client, "tools/call", "{\"name\":\"never\",\"arguments\":{}}",
                    cancellable);
  cf_test_op_wait (&op);
  g_assert_error (op.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  cf_test_spin (50);
  g_assert_cmpuint (local->held->len, ==, 1);
  cf_test_op_clear (&op);
}

static void
count_closed (CfMcpClient *client,
              guint       *n_closed)
{
  (*n_closed)++;
}

static void
test_session_lost (Local         *local,
                   gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  const char *session_id = cf_mcp_client_get_session_id (local->client);
  CfTestOp op;

  g_assert_nonnull (session_id);
  g_signal_connect (local->client, "closed", G_CALLBACK (count_closed), &local->n_closed);
  g_assert_true (cf_mcp_server_close_session (local->server, session_id));

  cf_test_op_init (&op);
  cf_test_op_request (&op, local->client, "tools/list", NULL);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_SESSION_LOST);
  g_assert_cmpuint (local->n_closed, ==, 1);
  g_assert_false (cf_mcp_client_is_connected (local->client));
  cf_test_op_clear (&op);

  cf_test_connect_client (local->client, &error);
  g_assert_no_error (error);
  cf_test_op_init (&op);
  cf_test_op_request (&op, local->client, "tools/list", NULL);
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  cf_test_op_clear (&op);
}

static gboolean
has_notification (gpointer user_data)
{
  Local *local = user_data;

  /* Until the GET stream is up, the change goes nowhere: say it again. */
  cf_mcp_server_notify_list_changed (local->server, "tools");
  return local->notifications->len > 0;
}

static void
on_local_notification (CfMcpClient *client,
                       JsonNode    *message,
                       Local       *local)
{
  g_ptr_array_add (local->notifications, json_node_ref (message));
}

/* Legacy sessions hear of changes on the GET stream. */
static void
test_get_stream (Local         *local,
                 gconstpointer  data)
{
  local->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_signal_connect (local->client, "notification", G_CALLBACK (on_local_notification), local);
  g_assert_true (cf_test_wait_until (has_notification, local, CF_TEST_TIMEOUT_MS));
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (local->notifications, 0)), ==,
                   "notifications/tools/list_changed");
  g_clear_pointer (&local->notifications, g_ptr_array_unref);
}

static void
test_unreachable (void)
{
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(CfMcpClient) client = NULL;
  g_autofree char *url = NULL;

  /* A port that was free a moment ago, and is closed now. */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, any, FALSE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  url = g_strdup_printf ("http://127.0.0.1:%u/mcp",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  g_socket_close (socket, NULL);

  client = cf_mcp_client_new_http (url, NULL, NULL);
  g_assert_false (cf_test_connect_client (client, &error));
  g_assert_error (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT);
  g_assert_false (cf_mcp_client_is_connected (client));
  g_clear_error (&error);

  g_clear_object (&client);
  client = cf_mcp_client_new_http ("not a url", NULL, NULL);
  g_assert_false (cf_test_connect_client (client, &error));
  g_assert_error (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT);
}

static void
test_no_such_program (void)
{
  const char *argv[] = { "/nonexistent/mcp-server", NULL };
  g_autoptr(CfMcpClient) client = cf_mcp_client_new_stdio (argv, NULL, NULL);
  g_autoptr(GError) error = NULL;

  g_assert_false (cf_test_connect_client (client, &error));
  g_assert_error (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT);
  g_assert_cmpint (cf_mcp_client_get_pid (client), ==, 0);
}

/* Hostile upstreams */

/* A legacy server in sh: the client's ids are 1 (the probe), 2
 * (initialize), then 3, 4... for the test's requests. */
#define SH_HANDSHAKE \
  "read line; " \
  "echo '{\"jsonrpc\":\"2.0\",\"id\":1,\"error\":{\"code\":-32601,\"message\":\"Unknown\"}}'; " \
  "read line; " \
  "echo '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"protocolVersion\":\"2025-06-18\"," \
  "\"capabilities\":{},\"serverInfo\":{\"name\":\"sh\",\"version\":\"0\"}}}'; " \
  "read line; "

static CfMcpClient *
sh_client (Fixture    *f,
           const char *script)
{
  const char *argv[] = { "/bin/sh", "-c", script, NULL };
  const char *env[] = { "CF_TEST_MARK=1", NULL };
  g_autoptr(GError) error = NULL;

  f->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  f->client = cf_mcp_client_new_stdio (argv, env, g_get_tmp_dir ());
  watch_client (f);
  cf_mcp_client_set_max_message_size (f->client, 1024);
  cf_test_connect_client (f->client, &error);
  g_assert_no_error (error);
  return f->client;
}

static void
test_stdio_hostile (Fixture       *f,
                    gconstpointer  data)
{
  CfMcpClient *client = sh_client (f,
    SH_HANDSHAKE
    "echo 'hello from stderr' >&2; "
    "read line; "
    "printf 'not json at all\\n[1,2\\n\\n{\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}\\n'; "
    "echo '{\"jsonrpc\":\"2.0\",\"method\":\"notifications/tools/list_changed\"}'; "
    "echo '{\"jsonrpc\":\"2.0\",\"id\":\"x\",\"method\":\"ping\"}'; "
    "printf '{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":{\"pad\":\"'; "
    "head -c 5000 /dev/zero | tr '\\0' a; echo '\"}}'; "
    "read pong; read line; "
    "echo \"{\\\"jsonrpc\\\":\\\"2.0\\\",\\\"id\\\":4,\\\"result\\\":{"
    "\\\"env\\\":\\\"$CF_TEST_MARK\\\",\\\"pong\\\":$pong}}\"; "
    "cat > /dev/null");
  JsonObject *result;
  CfTestOp op;

  g_assert_cmpint (cf_mcp_client_get_era (client), ==, CF_MCP_ERA_LEGACY);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (client), ==, "2025-06-18");

  cf_test_op_init (&op);
  cf_test_op_request (&op, client, "tools/list", NULL);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_cmpuint (f->notifications->len, ==, 1);
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (f->notifications, 0)), ==,
                   "notifications/tools/list_changed");
  cf_test_op_clear (&op);

  /* The line after the oversized one is read as usual; the ping was
   * answered on the way. */
  cf_test_op_init (&op);
  cf_test_op_request (&op, client, "tools/list", NULL);
  g_assert_no_error (op.error);
  result = cf_test_assert_result (op.response);
  g_assert_cmpstr (cf_json_object_get_string (result, "env"), ==, "1");
  g_assert_cmpstr (cf_json_object_get_string (cf_json_object_get_object (result, "pong"), "id"),
                   ==, "x");
  cf_test_op_clear (&op);
}

static void
test_stdio_early_eof (Fixture       *f,
                      gconstpointer  data)
{
  CfMcpClient *client = sh_client (f, SH_HANDSHAKE "read line; exit 3");
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_request (&op, client, "tools/list", NULL);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  g_assert_true (cf_test_wait_until (closed_fired, f, CF_TEST_TIMEOUT_MS));
  g_assert_cmpuint (f->n_closed, ==, 1);
  cf_test_op_clear (&op);
}

/* Silence to the probe is a legacy server too; it just takes longer. */
static void
test_stdio_silent_probe (Fixture       *f,
                         gconstpointer  data)
{
  CfMcpClient *client = sh_client (f,
    "read line; read line; "
    "echo '{\"jsonrpc\":\"2.0\",\"id\":2,\"result\":{\"protocolVersion\":\"2025-11-25\","
    "\"capabilities\":{\"tools\":{}},\"serverInfo\":{\"name\":\"sh\",\"version\":\"0\"}}}'; "
    "cat > /dev/null");

  g_assert_cmpint (cf_mcp_client_get_era (client), ==, CF_MCP_ERA_LEGACY);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (client), ==, "2025-11-25");
}

/* Closing during the handshake ends it at once, and the child with it. */
static void
test_close_while_connecting (Fixture       *f,
                             gconstpointer  data)
{
  const char *argv[] = { "/bin/sh", "-c", "cat > /dev/null", NULL };
  GPid pid;
  CfTestOp op;

  f->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  f->client = cf_mcp_client_new_stdio (argv, NULL, NULL);
  watch_client (f);
  cf_test_op_init (&op);
  cf_test_op_connect (&op, f->client, NULL);
  pid = cf_mcp_client_get_pid (f->client);
  cf_mcp_client_close (f->client);
  cf_test_op_wait (&op);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  g_assert_false (cf_mcp_client_is_connected (f->client));
  if (pid != 0)
    g_assert_true (cf_test_wait_until (pid_is_gone, GINT_TO_POINTER (pid), CF_TEST_TIMEOUT_MS));
  cf_test_op_clear (&op);
}

/* A raw HTTP upstream with scripted answers. */

typedef struct {
  SoupServer  *server;
  char        *url;
  guint        n_deletes;
  /* Resumption: the Last-Event-ID of each GET, and when a stream that
   * needs it was cut. */
  GPtrArray   *last_event_ids;
  char        *get_session;
  gint64       pending_id;
  gint64       cut_at;
  gint64       first_resume_at;
  gboolean     poll_get;
} Raw;

static void
reply (SoupServerMessage *msg,
       guint              status,
       const char        *type,
       const char        *body)
{
  soup_server_message_set_status (msg, status, NULL);
  if (body != NULL)
    soup_server_message_set_response (msg, type, SOUP_MEMORY_COPY, body, strlen (body));
}

static void
reply_tool (SoupServerMessage *msg,
            const char        *name,
            gint64             id)
{
  g_autofree char *response = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ","
                                               "\"result\":{\"content\":[]}}", id);
  g_autoptr(GString) big = g_string_new (NULL);

  if (g_str_equal (name, "sse"))
    {
      g_autofree char *body = g_strdup_printf (
        ": comment\r\n\r\n"
        "event: other\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}\n\n"
        "data: not json\n\n"
        "data: {\"jsonrpc\":\"2.0\",\n"
        "data: \"method\":\"notifications/message\",\"params\":{\"level\":\"info\"}}\n\n"
        "id: 1\nretry: 100\n"
        "data: {\"jsonrpc\":\"2.0\",\"id\":999,\"result\":{}}\n\n"
        "data: %s\n\n", response);

      reply (msg, 200, "text/event-stream", body);
    }
  else if (g_str_equal (name, "big-sse") || g_str_equal (name, "big-json"))
    {
      g_string_append_printf (big, "%s{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT
                              ",\"result\":{\"pad\":\"", name[4] == 's' ? "data: " : "", id);
      for (guint i = 0; i < 4096; i++)
        g_string_append_c (big, 'a');
      g_string_append (big, "\"}}\n\n");
      reply (msg, 200, name[4] == 's' ? "text/event-stream" : "application/json", big->str);
    }
  else if (g_str_equal (name, "resume"))
    reply (msg, 200, "text/event-stream", ": primed\n\nid: r1\nretry: 150\ndata: \n\n");
  else if (g_str_equal (name, "resume-twice"))
    reply (msg, 200, "text/event-stream", "id: t1\nretry: 10\ndata:\n\n");
  else if (g_str_equal (name, "resume-refused"))
    reply (msg, 200, "text/event-stream", "id: g1\nretry: 10\ndata:\n\n");
  else if (g_str_equal (name, "prime-only"))
    reply (msg, 200, "text/event-stream", "retry: 10\nid: p1\n\n");
  else if (g_str_equal (name, "cut-mid-event"))
    reply (msg, 200, "text/event-stream", "retry: 10\nid: c1\ndata:\n\nid: c2\ndata: {\"js");
  else if (g_str_equal (name, "reset-id"))
    reply (msg, 200, "text/event-stream", "retry: 10\nid: z1\ndata:\n\nid\ndata:\n\n");
  else if (g_str_equal (name, "accepted"))
    reply (msg, 202, NULL, NULL);
  else if (g_str_equal (name, "eof"))
    reply (msg, 200, "text/event-stream",
           "data: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\",\"params\":{}}\n\n");
  else if (g_str_equal (name, "teapot"))
    reply (msg, 418, "text/plain", "I'm a teapot");
  else
    reply (msg, 404, "text/plain", "gone");
}

/* A GET: resuming a cut stream (with Last-Event-ID), or the session's
 * own stream, which the upstream may make poll. */
static void
on_raw_get (Raw               *raw,
            SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *id = soup_message_headers_get_one (headers, "Last-Event-ID");
  g_autofree char *response = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT
                                               ",\"result\":{\"content\":[]}}", raw->pending_id);
  g_autofree char *body = NULL;

  if (id == NULL && !raw->poll_get)
    {
      reply (msg, 405, NULL, NULL);
      return;
    }
  if (id == NULL)
    {
      reply (msg, 200, "text/event-stream", "id: s1\nretry: 20\ndata: \n\n");
      return;
    }

  g_ptr_array_add (raw->last_event_ids, g_strdup (id));
  g_free (raw->get_session);
  raw->get_session = g_strdup (soup_message_headers_get_one (headers, "Mcp-Session-Id"));
  if (raw->first_resume_at == 0)
    raw->first_resume_at = g_get_monotonic_time ();

  if (g_str_equal (id, "s1"))
    reply (msg, 200, "text/event-stream", "id: s2\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
           "\"notifications/tools/list_changed\"}\n\n");
  else if (g_str_equal (id, "r1"))
    {
      body = g_strdup_printf ("id: r2\ndata: {\"jsonrpc\":\"2.0\",\"method\":"
                              "\"notifications/message\",\"params\":{\"level\":\"info\","
                              "\"data\":\"resumed\"}}\n\nid: r3\ndata: %s\n\n", response);
      reply (msg, 200, "text/event-stream", body);
    }
  else if (g_str_equal (id, "t1"))
    reply (msg, 200, "text/event-stream", "id: t2\ndata: \n\n");
  else if (g_str_equal (id, "p1"))
    reply (msg, 200, "text/event-stream", "id: p1\nretry: 10\ndata: \n\n");
  else if (g_str_equal (id, "t2") || g_str_equal (id, "c1"))
    {
      body = g_strdup_printf ("data: %s\n\n", response);
      reply (msg, 200, "text/event-stream", body);
    }
  else
    reply (msg, 405, NULL, NULL);
}

static void
on_raw_request (SoupServer        *server,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  Raw *raw = user_data;
  const char *method = soup_server_message_get_method (msg);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object;
  gint64 id = 0;

  if (method == SOUP_METHOD_DELETE)
    {
      raw->n_deletes++;
      reply (msg, 204, NULL, NULL);
      return;
    }
  if (method == SOUP_METHOD_GET)
    {
      on_raw_get (raw, msg);
      return;
    }
  if (method != SOUP_METHOD_POST)
    {
      reply (msg, 405, NULL, NULL);
      return;
    }

  body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  node = cf_json_parse (g_bytes_get_data (body, NULL), g_bytes_get_size (body), NULL);
  g_assert_nonnull (node);
  object = json_node_get_object (node);
  cf_json_object_get_int (object, "id", &id);
  method = cf_json_object_get_string (object, "method");

  if (g_strcmp0 (method, "server/discover") == 0)
    reply (msg, 404, "text/plain", "Not Found");
  else if (g_strcmp0 (method, "initialize") == 0)
    {
      g_autofree char *answer = g_strdup_printf (
        "{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"result\":{\"protocolVersion\":"
        "\"2025-03-26\",\"capabilities\":{},\"serverInfo\":{\"name\":\"raw\",\"version\":\"0\"}}}",
        id);

      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Mcp-Session-Id", "raw-session");
      reply (msg, 200, "application/json", answer);
    }
  else if (method == NULL || g_str_has_prefix (method, "notifications/"))
    reply (msg, 202, NULL, NULL);
  else
    {
      raw->pending_id = id;
      raw->cut_at = g_get_monotonic_time ();
      reply_tool (msg, cf_json_object_get_string (cf_json_object_get_object (object, "params"),
                                                  "name") ?: "", id);
    }
}

static void
raw_setup (Raw           *raw,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);

  raw->last_event_ids = g_ptr_array_new_with_free_func (g_free);
  raw->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (raw->server, "/mcp", on_raw_request, raw, NULL);
  /* Not soup_server_listen_local (), which leaks an address in 3.2. */
  soup_server_listen (raw->server, address, 0, &error);
  g_assert_no_error (error);
  raw->url = g_strdup_printf ("http://127.0.0.1:%u/mcp", cf_test_server_get_port (raw->server));
}

static void
raw_teardown (Raw           *raw,
              gconstpointer  data)
{
  cf_test_spin (50);
  soup_server_disconnect (raw->server);
  g_clear_object (&raw->server);
  g_clear_pointer (&raw->url, g_free);
  g_clear_pointer (&raw->last_event_ids, g_ptr_array_unref);
  g_clear_pointer (&raw->get_session, g_free);
}

static void
test_http_hostile (Raw           *raw,
                   gconstpointer  data)
{
  g_autoptr(CfMcpClient) client = cf_mcp_client_new_http (raw->url, NULL, NULL);
  g_autoptr(GError) error = NULL;
  CfTestOp op;

  cf_mcp_client_set_max_message_size (client, 1024);
  cf_test_connect_client (client, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cf_mcp_client_get_era (client), ==, CF_MCP_ERA_LEGACY);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (client), ==, "2025-03-26");
  g_assert_cmpstr (cf_mcp_client_get_session_id (client), ==, "raw-session");

  cf_test_op_call_tool (&op, client, "sse");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 1);
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, 0)), ==,
                   "notifications/message");
  cf_test_op_clear (&op);

  cf_test_op_call_tool (&op, client, "big-sse");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  cf_test_op_clear (&op);
  cf_test_op_call_tool (&op, client, "big-json");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  cf_test_op_clear (&op);
  cf_test_op_call_tool (&op, client, "accepted");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  cf_test_op_clear (&op);
  cf_test_op_call_tool (&op, client, "eof");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_cmpuint (op.messages->len, ==, 1);
  cf_test_op_clear (&op);
  cf_test_op_call_tool (&op, client, "teapot");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  cf_test_op_clear (&op);

  /* 404 on a request with a session: the session is gone. */
  cf_test_op_call_tool (&op, client, "gone");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_SESSION_LOST);
  g_assert_false (cf_mcp_client_is_connected (client));
  cf_test_op_clear (&op);

  /* Connecting again starts a new session; closing deletes it. */
  cf_test_connect_client (client, &error);
  g_assert_no_error (error);
  cf_mcp_client_close (client);
  for (guint i = 0; i < 100 && raw->n_deletes == 0; i++)
    cf_test_spin (10);
  g_assert_cmpuint (raw->n_deletes, ==, 1);
}

static void
assert_resumed_from (Raw        *raw,
                     const char *first,
                     const char *second)
{
  g_assert_cmpuint (raw->last_event_ids->len, ==, second ? 2 : 1);
  g_assert_cmpstr (g_ptr_array_index (raw->last_event_ids, 0), ==, first);
  if (second != NULL)
    g_assert_cmpstr (g_ptr_array_index (raw->last_event_ids, 1), ==, second);
  g_ptr_array_set_size (raw->last_event_ids, 0);
  raw->first_resume_at = 0;
}

/* A legacy stream cut before its response is resumed with a GET and
 * Last-Event-ID after the stream's retry delay (2025-11-25 transports,
 * "Resumability and Redelivery"); one that cannot be resumed fails. */
static void
test_http_resume (Raw           *raw,
                  gconstpointer  data)
{
  g_autoptr(CfMcpClient) client = cf_mcp_client_new_http (raw->url, NULL, NULL);
  g_autoptr(GError) error = NULL;
  CfTestOp op;

  cf_test_connect_client (client, &error);
  g_assert_no_error (error);

  /* Resumed once: what the new stream brings belongs to the request, and
   * the GET waited for the 150 ms the stream asked for. */
  cf_test_op_call_tool (&op, client, "resume");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 1);
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, 0)), ==,
                   "notifications/message");
  g_assert_cmpstr (raw->get_session, ==, "raw-session");
  g_assert_cmpint (raw->first_resume_at - raw->cut_at, >=, 150 * 1000);
  assert_resumed_from (raw, "r1", NULL);
  cf_test_op_clear (&op);

  /* A resumed stream cut again is resumed from its own last id. */
  cf_test_op_call_tool (&op, client, "resume-twice");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  assert_resumed_from (raw, "t1", "t2");
  cf_test_op_clear (&op);

  /* An id counts once its event is complete. */
  cf_test_op_call_tool (&op, client, "cut-mid-event");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  assert_resumed_from (raw, "c1", NULL);
  cf_test_op_clear (&op);

  /* An upstream that cannot resume (405) fails the request. */
  cf_test_op_call_tool (&op, client, "resume-refused");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (op.error->message, "HTTP 405"));
  assert_resumed_from (raw, "g1", NULL);
  cf_test_op_clear (&op);

  /* One that only primes and hangs up is given up on, not polled. */
  cf_test_op_call_tool (&op, client, "prime-only");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (op.error->message, "4 times in a row"));
  g_assert_cmpuint (raw->last_event_ids->len, ==, 3);
  for (guint i = 0; i < raw->last_event_ids->len; i++)
    g_assert_cmpstr (g_ptr_array_index (raw->last_event_ids, i), ==, "p1");
  g_ptr_array_set_size (raw->last_event_ids, 0);
  cf_test_op_clear (&op);

  /* An empty id resets it: nothing to resume from. So is a stream that
   * never gave one. */
  cf_test_op_call_tool (&op, client, "reset-id");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  cf_test_op_clear (&op);
  cf_test_op_call_tool (&op, client, "eof");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  cf_test_op_clear (&op);
  g_assert_cmpuint (raw->last_event_ids->len, ==, 0);

  /* A request that times out while its stream waits to be resumed. */
  cf_mcp_client_set_timeout (client, 50);
  cf_test_op_call_tool (&op, client, "resume");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT);
  cf_test_op_clear (&op);
  cf_test_spin (200);
  g_assert_cmpuint (raw->last_event_ids->len, ==, 0);

  cf_mcp_client_close (client);
}

static void
on_poll_notification (CfMcpClient *client,
                      JsonNode    *message,
                      gpointer     user_data)
{
  g_ptr_array_add (user_data, g_strdup (cf_test_message_method (message)));
}

static gboolean
has_two_resumes (gpointer user_data)
{
  return ((Raw *) user_data)->last_event_ids->len >= 2;
}

/* A session's GET stream that the upstream closes after an event id is
 * opened again, after its retry delay, from that id. */
static void
test_http_get_poll (Raw           *raw,
                    gconstpointer  data)
{
  g_autoptr(CfMcpClient) client = cf_mcp_client_new_http (raw->url, NULL, NULL);
  g_autoptr(GPtrArray) methods = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GError) error = NULL;

  raw->poll_get = TRUE;
  g_signal_connect (client, "notification", G_CALLBACK (on_poll_notification), methods);
  cf_test_connect_client (client, &error);
  g_assert_no_error (error);

  /* s1 brings a notification and ends; s2 is refused (405), which ends
   * the polling. */
  g_assert_true (cf_test_wait_until (has_two_resumes, raw, CF_TEST_TIMEOUT_MS));
  assert_resumed_from (raw, "s1", "s2");
  g_assert_cmpuint (methods->len, ==, 1);
  g_assert_cmpstr (g_ptr_array_index (methods, 0), ==, "notifications/tools/list_changed");
  cf_test_spin (100);
  g_assert_cmpuint (raw->last_event_ids->len, ==, 0);
  g_assert_true (cf_mcp_client_is_connected (client));
  cf_mcp_client_close (client);
}

/* A 2026-07-28 upstream at the socket level: it answers the probe and
 * nothing else. What the test watches is the client closing the
 * connection, which is how that era cancels a request over HTTP. */

typedef struct {
  guint n_requests;
  guint n_aborted;
  guint n_open;
} Silent;

typedef struct {
  Silent            *silent;
  GSocketConnection *connection;
  GString           *buffer;
  gboolean           waiting;
  char               chunk[4096];
} SilentConn;

static void silent_read (SilentConn *conn);

static void
silent_answer_probe (SilentConn *conn,
                     const char *body,
                     gsize       length)
{
  g_autoptr(JsonNode) node = cf_json_parse (body, length, NULL);
  g_autofree char *json = NULL;
  g_autofree char *reply_text = NULL;
  gint64 id = 0;

  g_assert_nonnull (node);
  cf_json_object_get_int (json_node_get_object (node), "id", &id);
  json = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"result\":"
                          "{\"supportedVersions\":[\"" MODERN_VERSION "\"],"
                          "\"capabilities\":{\"tools\":{}}}}", id);
  reply_text = g_strdup_printf ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                                "Content-Length: %zu\r\n\r\n%s", strlen (json), json);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (conn->connection)),
                             reply_text, strlen (reply_text), NULL, NULL, NULL);
}

/* Returns whether a whole request was taken from the buffer. */
static gboolean
silent_take_request (SilentConn *conn)
{
  char *end = strstr (conn->buffer->str, "\r\n\r\n");
  g_autofree char *head = NULL;
  const char *length_header;
  gsize head_len, length;

  if (end == NULL)
    return FALSE;
  head_len = end + 4 - conn->buffer->str;
  head = g_ascii_strdown (conn->buffer->str, head_len);
  length_header = strstr (head, "content-length:");
  length = length_header ? g_ascii_strtoull (length_header + 15, NULL, 10) : 0;
  if (conn->buffer->len < head_len + length)
    return FALSE;

  if (strstr (head, "mcp-method: server/discover") != NULL)
    silent_answer_probe (conn, conn->buffer->str + head_len, length);
  else
    {
      conn->silent->n_requests++;
      conn->waiting = TRUE;
    }
  g_string_erase (conn->buffer, 0, head_len + length);
  return TRUE;
}

static void
on_silent_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  SilentConn *conn = user_data;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, NULL);

  if (n <= 0)
    {
      if (conn->waiting)
        conn->silent->n_aborted++;
      conn->silent->n_open--;
      g_io_stream_close (G_IO_STREAM (conn->connection), NULL, NULL);
      g_object_unref (conn->connection);
      g_string_free (conn->buffer, TRUE);
      g_free (conn);
      return;
    }
  g_string_append_len (conn->buffer, conn->chunk, n);
  for (guint i = 0; i < 16 && silent_take_request (conn); i++)
    ;
  silent_read (conn);
}

static void
silent_read (SilentConn *conn)
{
  g_input_stream_read_async (g_io_stream_get_input_stream (G_IO_STREAM (conn->connection)),
                             conn->chunk, sizeof conn->chunk, G_PRIORITY_DEFAULT, NULL,
                             on_silent_read, conn);
}

static gboolean
on_silent_incoming (GSocketService    *service,
                    GSocketConnection *connection,
                    GObject           *source,
                    gpointer           user_data)
{
  SilentConn *conn = g_new0 (SilentConn, 1);

  conn->silent = user_data;
  conn->silent->n_open++;
  conn->connection = g_object_ref (connection);
  conn->buffer = g_string_new (NULL);
  silent_read (conn);
  return TRUE;
}

static gboolean
silent_aborted (gpointer user_data)
{
  Silent *silent = user_data;

  return silent->n_aborted == silent->n_requests;
}

static gboolean
silent_all_closed (gpointer user_data)
{
  return ((Silent *) user_data)->n_open == 0;
}

static gboolean
silent_has_request (gpointer user_data)
{
  return ((Silent *) user_data)->n_requests > 0;
}

static void
test_abort_closes (void)
{
  g_autoptr(GSocketService) service = g_socket_service_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) any = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *url = NULL;
  CfMcpClient *client;
  Silent silent = { 0 };
  CfTestOp op;

  g_socket_listener_add_address (G_SOCKET_LISTENER (service), any, G_SOCKET_TYPE_STREAM,
                                 G_SOCKET_PROTOCOL_TCP, NULL, &bound, &error);
  g_assert_no_error (error);
  g_signal_connect (service, "incoming", G_CALLBACK (on_silent_incoming), &silent);
  g_socket_service_start (service);
  url = g_strdup_printf ("http://127.0.0.1:%u/mcp",
                         g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));

  client = cf_mcp_client_new_http (url, NULL, NULL);
  cf_test_connect_client (client, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cf_mcp_client_get_era (client), ==, CF_MCP_ERA_MODERN);

  cf_test_op_init (&op);
  cf_test_op_start (&op, client, "tools/call", "{\"name\":\"never\"}", cancellable);
  g_assert_true (cf_test_wait_until (silent_has_request, &silent, CF_TEST_TIMEOUT_MS));
  g_cancellable_cancel (cancellable);
  cf_test_op_wait (&op);
  g_assert_error (op.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_true (cf_test_wait_until (silent_aborted, &silent, CF_TEST_TIMEOUT_MS));
  cf_test_op_clear (&op);

  cf_mcp_client_set_timeout (client, 200);
  cf_test_op_init (&op);
  cf_test_op_request (&op, client, "tools/call", "{\"name\":\"never\"}");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT);
  g_assert_cmpuint (silent.n_requests, ==, 2);
  g_assert_true (cf_test_wait_until (silent_aborted, &silent, CF_TEST_TIMEOUT_MS));
  cf_test_op_clear (&op);

  cf_mcp_client_close (client);
  g_assert_finalize_object (client);
  g_assert_true (cf_test_wait_until (silent_all_closed, &silent, CF_TEST_TIMEOUT_MS));
  g_socket_service_stop (service);
  g_socket_listener_close (G_SOCKET_LISTENER (service));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/mcp-client/sse/parse", test_sse_parse);
  g_test_add_func ("/mcp-client/sse/limits", test_sse_limits);
  g_test_add_func ("/mcp-client/sse/ids", test_sse_ids);
  g_test_add_func ("/mcp-client/line-splitter", test_line_splitter);
  g_test_add_func ("/mcp-client/call-text", test_call_text);

#define ADD(path, variant, func) \
  g_test_add ("/mcp-client/" path, Fixture, &variant, fixture_setup, func, fixture_teardown)
  ADD ("stdio/legacy/connect", legacy_stdio, test_connect_legacy);
  ADD ("http/legacy/connect", legacy_http, test_connect_legacy);
  ADD ("stdio/modern/connect", modern_stdio, test_connect_modern);
  ADD ("http/modern/connect", modern_http, test_connect_modern);
  ADD ("stdio/dual/connect", dual_stdio, test_connect_modern);
  ADD ("http/dual/connect", dual_http, test_connect_modern);
  ADD ("stdio/legacy/list-tools", legacy_stdio, test_list_tools);
  ADD ("http/legacy/list-tools", legacy_http, test_list_tools);
  ADD ("stdio/modern/list-tools", modern_stdio, test_list_tools);
  ADD ("http/modern/list-tools", modern_http, test_list_tools);
  ADD ("stdio/legacy/simple-text", legacy_stdio, test_simple_text);
  ADD ("http/legacy/simple-text", legacy_http, test_simple_text);
  ADD ("stdio/modern/simple-text", modern_stdio, test_simple_text);
  ADD ("http/modern/simple-text", modern_http, test_simple_text);
  ADD ("stdio/legacy/progress", legacy_stdio, test_progress);
  ADD ("http/legacy/progress", legacy_http, test_progress);
  ADD ("stdio/modern/progress", modern_stdio, test_progress);
  ADD ("http/modern/progress", modern_http, test_progress);
  ADD ("stdio/legacy/logging", legacy_stdio, test_logging);
  ADD ("http/legacy/logging", legacy_http, test_logging);
  ADD ("stdio/legacy/sampling", legacy_stdio, test_sampling_legacy);
  ADD ("http/legacy/sampling", legacy_http, test_sampling_legacy);
  ADD ("stdio/modern/sampling", modern_stdio, test_sampling_modern);
  ADD ("http/modern/sampling", modern_http, test_sampling_modern);
  ADD ("stdio/legacy/error-handling", legacy_stdio, test_error_handling);
  ADD ("http/modern/error-handling", modern_http, test_error_handling);
  ADD ("stdio/legacy/unknown-tool", legacy_stdio, test_unknown_tool);
  ADD ("http/legacy/unknown-tool", legacy_http, test_unknown_tool);
  ADD ("stdio/modern/unknown-tool", modern_stdio, test_unknown_tool);
  ADD ("http/modern/unknown-tool", modern_http, test_unknown_tool);
  ADD ("stdio/legacy/concurrent", legacy_stdio, test_concurrent);
  ADD ("http/legacy/concurrent", legacy_http, test_concurrent);
  ADD ("stdio/modern/concurrent", modern_stdio, test_concurrent);
  ADD ("http/modern/concurrent", modern_http, test_concurrent);
  ADD ("stdio/legacy/reconnect", legacy_stdio, test_reconnect);
  ADD ("http/legacy/reconnect", legacy_http, test_reconnect);
  ADD ("stdio/legacy/close", legacy_stdio, test_close);
  ADD ("http/legacy/close", legacy_http, test_close);
  ADD ("stdio/legacy/child-killed", legacy_stdio, test_child_killed);
#undef ADD

#define ADD_LOCAL(path, versions, func) \
  g_test_add ("/mcp-client/local/" path, Local, versions, local_setup, func, local_teardown)
  ADD_LOCAL ("legacy/pagination", LEGACY_VERSIONS, test_pagination);
  ADD_LOCAL ("modern/connection-reuse", MODERN_VERSION, test_connection_reuse);
  ADD_LOCAL ("modern/pagination", MODERN_VERSION, test_pagination);
  ADD_LOCAL ("legacy/repeated-cursor", LEGACY_VERSIONS, test_repeated_cursor);
  ADD_LOCAL ("legacy/timeout", LEGACY_VERSIONS, test_timeout);
  ADD_LOCAL ("modern/timeout", MODERN_VERSION, test_timeout);
  ADD_LOCAL ("legacy/deadlines", LEGACY_VERSIONS, test_deadlines);
  ADD_LOCAL ("legacy/cancel-by-data", LEGACY_VERSIONS, test_cancel_by_data);
  ADD_LOCAL ("modern/cancel-by-data", MODERN_VERSION, test_cancel_by_data);
  ADD_LOCAL ("modern/deadlines", MODERN_VERSION, test_deadlines);
  ADD_LOCAL ("legacy/cancel", LEGACY_VERSIONS, test_cancel);
  ADD_LOCAL ("modern/cancel", MODERN_VERSION, test_cancel);
  ADD_LOCAL ("legacy/session-lost", LEGACY_VERSIONS, test_session_lost);
  ADD_LOCAL ("legacy/get-stream", LEGACY_VERSIONS, test_get_stream);
#undef ADD_LOCAL

  g_test_add_func ("/mcp-client/http/unreachable", test_unreachable);
  g_test_add_func ("/mcp-client/http/modern/abort-closes", test_abort_closes);
  g_test_add_func ("/mcp-client/stdio/no-such-program", test_no_such_program);
  g_test_add ("/mcp-client/stdio/hostile", Fixture, NULL, NULL, test_stdio_hostile,
              fixture_teardown);
  g_test_add ("/mcp-client/stdio/early-eof", Fixture, NULL, NULL, test_stdio_early_eof,
              fixture_teardown);
  g_test_add ("/mcp-client/stdio/silent-probe", Fixture, NULL, NULL, test_stdio_silent_probe,
              fixture_teardown);
  g_test_add ("/mcp-client/stdio/close-while-connecting", Fixture, NULL, NULL,
              test_close_while_connecting, fixture_teardown);
  g_test_add ("/mcp-client/http/hostile", Raw, NULL, raw_setup, test_http_hostile,
              raw_teardown);
  g_test_add ("/mcp-client/http/legacy/resume", Raw, NULL, raw_setup, test_http_resume,
              raw_teardown);
  g_test_add ("/mcp-client/http/legacy/get-poll", Raw, NULL, raw_setup, test_http_get_poll,
              raw_teardown);

  return g_test_run ();
}
