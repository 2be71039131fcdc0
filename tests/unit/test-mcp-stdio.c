/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-mcp-stdio"

#include "config.h"

#include <string.h>

#include "cf-jsonrpc.h"
#include "cf-test-util.h"

/* The stdio transport end to end: the fixture server as a child process,
 * one JSON-RPC message per line on its stdin and stdout. */

#define MODERN_META \
  "{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
  "\"io.modelcontextprotocol/clientCapabilities\":{\"sampling\":{}}}"

typedef struct {
  GSubprocess      *process;
  GOutputStream    *input;
  GDataInputStream *output;
} Fixture;

typedef struct {
  char     *line;
  GError   *error;
  gboolean  done;
} LineOp;

static void
spawn (Fixture            *f,
       const char * const *extra_args)
{
  g_autofree char *path = cf_test_fixture_server_path ();
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  g_test_message ("fixture server: %s", path);
  g_assert_true (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE));

  g_ptr_array_add (argv, path);
  g_ptr_array_add (argv, (gpointer) "--stdio");
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (gpointer) extra_args[i]);
  g_ptr_array_add (argv, NULL);

  f->process = g_subprocess_newv ((const char * const *) argv->pdata,
                                  G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                  G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);
  f->input = g_object_ref (g_subprocess_get_stdin_pipe (f->process));
  f->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (f->process));
  g_data_input_stream_set_newline_type (f->output, G_DATA_STREAM_NEWLINE_TYPE_LF);
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  spawn (f, data);
}

static void
on_waited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  gboolean *done = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *done = TRUE;
}

/* Returns whether the child exited in time. */
static gboolean
wait_for_exit (Fixture *f,
               guint    timeout_ms)
{
  gboolean done = FALSE;

  g_subprocess_wait_async (f->process, NULL, on_waited, &done);
  if (cf_test_wait_flag (&done, timeout_ms))
    return TRUE;

  g_subprocess_force_exit (f->process);
  g_assert_true (cf_test_wait_flag (&done, CF_TEST_TIMEOUT_MS));
  return FALSE;
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  if (!g_output_stream_is_closed (f->input))
    g_output_stream_close (f->input, NULL, NULL);
  wait_for_exit (f, CF_TEST_TIMEOUT_MS);
  g_clear_object (&f->input);
  g_clear_object (&f->output);
  g_clear_object (&f->process);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  LineOp *op = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &op->error);
  op->done = TRUE;
}

static void
send_bytes (Fixture    *f,
            const char *data,
            gsize       length)
{
  LineOp op = { 0 };

  g_output_stream_write_all_async (f->input, data, length, G_PRIORITY_DEFAULT, NULL,
                                   on_written, &op);
  g_assert_true (cf_test_wait_flag (&op.done, CF_TEST_TIMEOUT_MS));
  g_assert_no_error (op.error);
}

static void
send_line (Fixture    *f,
           const char *json)
{
  g_autofree char *line = g_strconcat (json, "\n", NULL);

  send_bytes (f, line, strlen (line));
}

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LineOp *op = user_data;

  op->line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result,
                                                   NULL, &op->error);
  op->done = TRUE;
}

/* Returns the next line, or %NULL at the end of the output. */
static char *
read_line (Fixture *f,
           guint    timeout_ms)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  LineOp op = { 0 };

  g_data_input_stream_read_line_async (f->output, G_PRIORITY_DEFAULT, cancellable,
                                       on_line, &op);
  if (!cf_test_wait_flag (&op.done, timeout_ms))
    {
      g_cancellable_cancel (cancellable);
      g_assert_true (cf_test_wait_flag (&op.done, CF_TEST_TIMEOUT_MS));
      g_clear_error (&op.error);
      g_clear_pointer (&op.line, g_free);
      g_test_fail_printf ("The fixture wrote no line within %u ms", timeout_ms);
      return NULL;
    }
  g_assert_no_error (op.error);
  return op.line;
}

static JsonNode *
read_message (Fixture *f)
{
  g_autofree char *line = read_line (f, CF_TEST_TIMEOUT_MS);

  g_assert_nonnull (line);
  g_test_message ("< %s", line);
  g_assert_null (strchr (line, '\r'));
  return cf_test_parse (line);
}

static void
assert_id (JsonNode *message,
           gint64    expected)
{
  JsonNode *id = json_object_get_member (json_node_get_object (message), "id");

  g_assert_nonnull (id);
  g_assert_true (JSON_NODE_HOLDS_VALUE (id));
  g_assert_cmpint (json_node_get_int (id), ==, expected);
}

static void
assert_id_null (JsonNode *message)
{
  JsonNode *id = json_object_get_member (json_node_get_object (message), "id");

  g_assert_nonnull (id);
  g_assert_true (JSON_NODE_HOLDS_NULL (id));
}

static void
assert_exits_cleanly (Fixture *f)
{
  g_autofree char *rest = NULL;

  g_assert_true (g_output_stream_close (f->input, NULL, NULL));
  rest = read_line (f, CF_TEST_TIMEOUT_MS);
  g_assert_cmpstr (rest, ==, NULL);
  g_assert_true (wait_for_exit (f, CF_TEST_TIMEOUT_MS));
  g_assert_true (g_subprocess_get_if_exited (f->process));
  g_assert_cmpint (g_subprocess_get_exit_status (f->process), ==, 0);
}

static void
test_conversation (Fixture       *f,
                   gconstpointer  data)
{
  g_autoptr(JsonNode) init = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) simple = NULL;
  g_autoptr(JsonNode) malformed = NULL;
  g_autoptr(JsonNode) ping = NULL;
  g_autoptr(JsonNode) discover = NULL;
  g_autoptr(JsonNode) sampling = NULL;
  g_autoptr(JsonNode) sampled = NULL;
  g_autofree char *answer = NULL;
  g_autofree char *sampling_id = NULL;
  JsonObject *result, *request;

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{\"sampling\":{}},"
                "\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}}");
  init = read_message (f);
  result = cf_test_assert_result (init);
  assert_id (init, 1);
  g_assert_cmpstr (json_object_get_string_member (result, "protocolVersion"), ==, "2025-11-25");
  g_assert_cmpstr (json_object_get_string_member (
      json_object_get_object_member (result, "serverInfo"), "name"), ==,
      "cf-conformance-fixture");

  /* A notification is answered with nothing: the next line is tools/list's. */
  send_line (f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}");
  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}");
  list = read_message (f);
  assert_id (list, 2);
  result = cf_test_assert_result (list);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "tools")),
                    ==, 14);
  g_assert_false (json_object_has_member (result, "resultType"));

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":3,\"method\":\"tools/call\",\"params\":"
                "{\"name\":\"test_simple_text\",\"arguments\":{}}}");
  simple = read_message (f);
  assert_id (simple, 3);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (simple)), ==,
                   "This is a simple text response for testing.");

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":4,\"method\":");
  malformed = read_message (f);
  cf_test_assert_error (malformed, CF_JSONRPC_PARSE_ERROR);
  assert_id_null (malformed);

  /* That did not break the connection. */
  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}");
  ping = read_message (f);
  assert_id (ping, 7);
  cf_test_assert_result (ping);

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":8,\"method\":\"server/discover\",\"params\":"
                "{\"_meta\":" MODERN_META "}}");
  discover = read_message (f);
  assert_id (discover, 8);
  result = cf_test_assert_result (discover);
  g_assert_cmpstr (json_object_get_string_member (result, "resultType"), ==, "complete");
  g_assert_cmpstr (json_array_get_string_element (
      json_object_get_array_member (result, "supportedVersions"), 0), ==, "2026-07-28");

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\",\"params\":"
                "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"hello\"}}}");
  sampling = read_message (f);
  request = json_node_get_object (sampling);
  g_assert_cmpstr (json_object_get_string_member (request, "method"), ==,
                   "sampling/createMessage");
  g_assert_true (json_object_has_member (request, "id"));
  sampling_id = json_to_string (json_object_get_member (request, "id"), FALSE);

  answer = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":"
                            "\"assistant\",\"content\":{\"type\":\"text\",\"text\":\"hi\"},"
                            "\"model\":\"m\"}}", sampling_id);
  send_line (f, answer);
  sampled = read_message (f);
  assert_id (sampled, 9);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (sampled)), ==,
                   "LLM response: hi");

  assert_exits_cleanly (f);
}

/* The 2026-07-28 flow on stdio: no handshake, input asked for in results. */
static void
test_modern (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(JsonNode) first = NULL;
  g_autoptr(JsonNode) second = NULL;
  g_autoptr(GList) keys = NULL;
  g_autofree char *retry = NULL;
  JsonObject *result, *requests;

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
                "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"hello\"},"
                "\"_meta\":" MODERN_META "}}");
  first = read_message (f);
  assert_id (first, 1);
  result = cf_test_assert_result (first);
  g_assert_cmpstr (json_object_get_string_member (result, "resultType"), ==, "input_required");
  requests = json_object_get_object_member (result, "inputRequests");
  g_assert_cmpuint (json_object_get_size (requests), ==, 1);
  keys = json_object_get_members (requests);

  retry = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":"
                           "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"hello\"},"
                           "\"inputResponses\":{\"%s\":{\"role\":\"assistant\",\"content\":"
                           "{\"type\":\"text\",\"text\":\"hi\"},\"model\":\"m\"}},"
                           "\"_meta\":" MODERN_META "}}", (const char *) keys->data);
  send_line (f, retry);
  second = read_message (f);
  assert_id (second, 2);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (second)), ==, "LLM response: hi");

  assert_exits_cleanly (f);
}

static void
test_modern_only (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(JsonNode) init = NULL;
  g_autoptr(JsonNode) discover = NULL;
  JsonObject *error, *details;
  JsonArray *supported;

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{"
                "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                "\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}}");
  init = read_message (f);
  assert_id (init, 1);
  error = cf_test_assert_error (init, CF_JSONRPC_UNSUPPORTED_VERSION);
  details = json_object_get_object_member (error, "data");
  g_assert_cmpstr (json_object_get_string_member (details, "requested"), ==, "2025-11-25");

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"server/discover\",\"params\":"
                "{\"_meta\":" MODERN_META "}}");
  discover = read_message (f);
  supported = json_object_get_array_member (cf_test_assert_result (discover),
                                            "supportedVersions");
  g_assert_cmpuint (json_array_get_length (supported), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (supported, 0), ==, "2026-07-28");

  assert_exits_cleanly (f);
}

static void
test_eof (Fixture       *f,
          gconstpointer  data)
{
  assert_exits_cleanly (f);
}

/* A line that is not UTF-8 is a parse error like any other, and the
 * connection goes on. */
static void
test_invalid_utf8 (Fixture       *f,
                   gconstpointer  data)
{
  static const char invalid_utf8[] =
    "{\"jsonrpc\":\"2.0\",\"id\":6,\"method\":\"ping\",\"params\":{\"x\":\"\xff\xfe\"}}\n";
  g_autoptr(JsonNode) bad = NULL;
  g_autoptr(JsonNode) ping = NULL;

  send_bytes (f, invalid_utf8, sizeof invalid_utf8 - 1);
  bad = read_message (f);
  cf_test_assert_error (bad, CF_JSONRPC_PARSE_ERROR);
  assert_id_null (bad);

  send_line (f, "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\"}");
  ping = read_message (f);
  assert_id (ping, 7);
  cf_test_assert_result (ping);

  assert_exits_cleanly (f);
}

int
main (int   argc,
      char *argv[])
{
  static const char * const modern_only[] = { "--versions", "2026-07-28", NULL };

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/mcp-stdio/conversation", Fixture, NULL,
              fixture_setup, test_conversation, fixture_teardown);
  g_test_add ("/mcp-stdio/modern", Fixture, NULL,
              fixture_setup, test_modern, fixture_teardown);
  g_test_add ("/mcp-stdio/modern-only", Fixture, modern_only,
              fixture_setup, test_modern_only, fixture_teardown);
  g_test_add ("/mcp-stdio/eof", Fixture, NULL,
              fixture_setup, test_eof, fixture_teardown);
  g_test_add ("/mcp-stdio/invalid-utf8", Fixture, NULL,
              fixture_setup, test_invalid_utf8, fixture_teardown);

  return g_test_run ();
}
