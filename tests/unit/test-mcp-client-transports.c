/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-mcp-client-transports"

#include "config.h"

#include <string.h>

#include "../integration/cf-daemon-harness.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client.h"
#include "cf-test-mcp-client.h"
#include "cf-test-util.h"

/* The gateway's client over the legacy HTTP+SSE transport and over a
 * WebSocket: against the SDK's own SSEServerTransport run by Node, and
 * against scripted libsoup servers for what a well-behaved server never
 * does. */

#define N_SDK_TOOLS 5
#define SMALL_MAX_MESSAGE (64 * 1024)
#define SHORT_TIMEOUT_MS 500

/* What a client saw besides its calls' answers. */
typedef struct {
  GPtrArray *notifications;
  guint      n_closed;
} Watch;

static void
on_notification (CfMcpClient *client,
                 JsonNode    *message,
                 Watch       *watch)
{
  g_ptr_array_add (watch->notifications, json_node_ref (message));
}

static void
on_closed (CfMcpClient *client,
           Watch       *watch)
{
  watch->n_closed++;
}

static void
watch_client (Watch       *watch,
              CfMcpClient *client)
{
  watch->notifications = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  g_signal_connect (client, "notification", G_CALLBACK (on_notification), watch);
  g_signal_connect (client, "closed", G_CALLBACK (on_closed), watch);
}

static gboolean
is_closed (gpointer user_data)
{
  return ((Watch *) user_data)->n_closed > 0;
}

static char *
npm_path (const char *relative)
{
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  char *path;

  g_assert_nonnull (npm_dir);
  path = g_build_filename (npm_dir, "node_modules", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/npm` (the README's test command does)",
             path);
  return path;
}

/* The SDK's server over HTTP+SSE */

typedef struct {
  GSubprocess *server;
  char        *url;
  CfMcpClient *client;
  Watch        watch;
} Sdk;

static void
sdk_spawn (Sdk *sdk)
{
  g_autofree char *node = npm_path (".bin/node");
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "unit", "sdk-sse-server.mjs",
                                                   NULL);
  const char *argv[] = { node, script, NULL };

  sdk->server = cf_harness_spawn (argv, &sdk->url);
}

static void
sdk_setup (Sdk           *sdk,
           gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  gsize max_message = GPOINTER_TO_SIZE (data);

  sdk_spawn (sdk);
  sdk->client = cf_mcp_client_new_sse (sdk->url, NULL, NULL);
  if (max_message != 0)
    cf_mcp_client_set_max_message_size (sdk->client, max_message);
  watch_client (&sdk->watch, sdk->client);
  cf_test_connect_client (sdk->client, &error);
  g_assert_no_error (error);
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  *(gboolean *) user_data = TRUE;
}

static void
kill_and_wait (GSubprocess *process)
{
  gboolean exited = FALSE;

  g_subprocess_force_exit (process);
  g_subprocess_wait_async (process, NULL, on_exited, &exited);
  g_assert_true (cf_test_wait_flag (&exited, CF_TEST_TIMEOUT_MS));
}

static void
sdk_teardown (Sdk           *sdk,
              gconstpointer  data)
{
  cf_mcp_client_close (sdk->client);
  g_assert_finalize_object (g_steal_pointer (&sdk->client));
  kill_and_wait (sdk->server);
  /* Let drains in flight finish. */
  cf_test_spin (50);
  g_clear_object (&sdk->server);
  g_clear_pointer (&sdk->url, g_free);
  g_clear_pointer (&sdk->watch.notifications, g_ptr_array_unref);
}

static void
test_sse_sdk_connect (Sdk           *sdk,
                      gconstpointer  data)
{
  JsonObject *info = cf_mcp_client_get_server_info (sdk->client);

  g_assert_true (cf_mcp_client_is_connected (sdk->client));
  g_assert_cmpint (cf_mcp_client_get_era (sdk->client), ==, CF_MCP_ERA_LEGACY);
  /* The SDK agrees to the newest legacy version the gateway offers. */
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (sdk->client), ==, "2025-11-25");
  g_assert_nonnull (info);
  g_assert_cmpstr (cf_json_object_get_string (info, "name"), ==, "sdk-sse-server");
  g_assert_true (json_object_has_member (cf_mcp_client_get_server_capabilities (sdk->client),
                                         "tools"));
  g_assert_null (cf_mcp_client_get_session_id (sdk->client));
  g_assert_cmpint (cf_mcp_client_get_pid (sdk->client), ==, 0);
}

static void
test_sse_sdk_list_and_call (Sdk           *sdk,
                            gconstpointer  data)
{
  CfTestOp op;

  /* Three pages of two. */
  cf_test_op_init (&op);
  cf_test_op_list_all (&op, sdk->client, "tools/list");
  g_assert_no_error (op.error);
  g_assert_cmpuint (json_array_get_length (op.items), ==, N_SDK_TOOLS);
  g_assert_cmpstr (cf_json_object_get_string (json_array_get_object_element (op.items, 0),
                                              "name"), ==, "echo");
  g_assert_cmpstr (cf_json_object_get_string (json_array_get_object_element (op.items, 4),
                                              "name"), ==, "big");
  cf_test_op_clear (&op);

  cf_test_op_call_tool (&op, sdk->client, "echo");
  g_assert_no_error (op.error);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==,
                   "echo from the SDK");
  cf_test_op_clear (&op);

  /* A JSON-RPC error comes back as a response, not as a GError. */
  cf_test_op_init (&op);
  cf_test_op_request (&op, sdk->client, "no/such/method", NULL);
  g_assert_no_error (op.error);
  cf_test_assert_error (op.response, CF_JSONRPC_METHOD_NOT_FOUND);
  cf_test_op_clear (&op);
}

static void
test_sse_sdk_progress (Sdk           *sdk,
                       gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_request (&op, sdk->client, "tools/call",
                      "{\"name\":\"progress\",\"arguments\":{},"
                      "\"_meta\":{\"progressToken\":\"caller-token\"}}");
  g_assert_no_error (op.error);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==, "progressed");
  /* All before the response, in order, on the one stream. */
  g_assert_cmpuint (op.n_messages_at_callback, ==, 3);
  for (guint i = 0; i < 2; i++)
    {
      JsonNode *message = g_ptr_array_index (op.messages, i);
      JsonObject *params = cf_json_object_get_object (json_node_get_object (message), "params");

      g_assert_cmpstr (cf_test_message_method (message), ==, "notifications/progress");
      g_assert_cmpstr (cf_json_object_get_string (params, "progressToken"), ==, "caller-token");
    }
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, 2)), ==,
                   "notifications/message");
  cf_test_op_clear (&op);
}

static void
test_sse_sdk_sampling (Sdk           *sdk,
                       gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  op.answer_sampling = TRUE;
  cf_test_op_request (&op, sdk->client, "tools/call", "{\"name\":\"sample\",\"arguments\":{}}");
  g_assert_no_error (op.error);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 1);
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, 0)), ==,
                   "sampling/createMessage");
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==,
                   "sampled: a sampled answer");
  cf_test_op_clear (&op);
}

static gboolean
has_messages (gpointer user_data)
{
  return ((CfTestOp *) user_data)->messages->len > 0;
}

/* The server dies with a call in flight: the call fails at once with the
 * reason, the client says it is closed, and later calls fail cleanly. */
static void
test_sse_sdk_stream_drop (Sdk           *sdk,
                          gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_start (&op, sdk->client, "tools/call", "{\"name\":\"hang\",\"arguments\":{}}", NULL);
  g_assert_true (cf_test_wait_until (has_messages, &op, CF_TEST_TIMEOUT_MS));
  g_assert_false (op.done);

  kill_and_wait (sdk->server);
  cf_test_op_wait (&op);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  g_assert_nonnull (strstr (op.error->message, "event stream"));
  g_assert_true (cf_test_wait_until (is_closed, &sdk->watch, CF_TEST_TIMEOUT_MS));
  g_assert_cmpuint (sdk->watch.n_closed, ==, 1);
  g_assert_false (cf_mcp_client_is_connected (sdk->client));
  cf_test_op_clear (&op);

  cf_test_op_init (&op);
  cf_test_op_request (&op, sdk->client, "tools/list", NULL);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  cf_test_op_clear (&op);
}

/* Reconnecting after a drop is a fresh session on a fresh stream. */
static void
test_sse_sdk_reconnect (Sdk           *sdk,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CfTestOp op;

  cf_mcp_client_close (sdk->client);
  g_assert_false (cf_mcp_client_is_connected (sdk->client));
  cf_test_connect_client (sdk->client, &error);
  g_assert_no_error (error);

  cf_test_op_call_tool (&op, sdk->client, "echo");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  cf_test_op_clear (&op);
}

/* An event over the limit cannot be skipped on a shared stream: the
 * upstream is lost, with the reason. */
static void
test_sse_sdk_oversized (Sdk           *sdk,
                        gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_call_tool (&op, sdk->client, "big");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (op.error->message, "exceeds"));
  g_assert_true (cf_test_wait_until (is_closed, &sdk->watch, CF_TEST_TIMEOUT_MS));
  g_assert_false (cf_mcp_client_is_connected (sdk->client));
  cf_test_op_clear (&op);
}

/* Scripted HTTP+SSE servers */

typedef enum {
  SSE_GOOD,
  SSE_MESSAGE_FIRST,
  SSE_FOREIGN_ENDPOINT,
  SSE_BAD_ENDPOINT,
  SSE_NO_ENDPOINT,
  SSE_NOT_FOUND,
  SSE_HTML,
  SSE_POST_REFUSED,
} SseScript;

typedef struct {
  SoupServer        *server;
  SseScript          script;
  char              *url;
  SoupServerMessage *stream;
  guint              n_posts;
  CfMcpClient       *client;
} Scripted;

static void
stream_write (SoupServerMessage *msg,
              const char        *text)
{
  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                            text, strlen (text));
  soup_server_message_unpause (msg);
}

static void
on_stream_finished (SoupServerMessage *msg,
                    Scripted          *scripted)
{
  if (scripted->stream == msg)
    scripted->stream = NULL;
}

static const char *
first_event (SseScript script)
{
  switch (script)
    {
    case SSE_MESSAGE_FIRST:
      return "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/x\"}\n\n";
    case SSE_FOREIGN_ENDPOINT:
      /* Loopback still, but another port: another origin. */
      return "event: endpoint\ndata: http://127.0.0.1:1/post\n\n";
    case SSE_BAD_ENDPOINT:
      return "event: endpoint\ndata: http://[::1\n\n";
    case SSE_NO_ENDPOINT:
      return ": nothing to say\n\n";
    default:
      /* A relative endpoint after a comment; then a keepalive event of
       * ContextForge's kind, which is no message. */
      return ": hello\n\nevent: endpoint\ndata: post?session=1\n\n"
             "event: keepalive\ndata: {}\n\n";
    }
}

static void
open_stream (Scripted          *scripted,
             SoupServerMessage *msg)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (scripted->script == SSE_NOT_FOUND)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  if (scripted->script == SSE_HTML)
    {
      soup_server_message_set_response (msg, "text/html", SOUP_MEMORY_STATIC, "<html/>", 7);
      return;
    }
  soup_message_headers_set_encoding (headers, SOUP_ENCODING_CHUNKED);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  scripted->stream = msg;
  g_signal_connect (msg, "finished", G_CALLBACK (on_stream_finished), scripted);
  stream_write (msg, first_event (scripted->script));
}

/* Answers initialize as a 2024-11-05 server, on the stream. */
static void
answer_post (Scripted          *scripted,
             SoupServerMessage *msg)
{
  g_autoptr(GBytes) body = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonNode) node = cf_json_parse (g_bytes_get_data (body, NULL),
                                            g_bytes_get_size (body), NULL);
  JsonObject *object = node ? json_node_get_object (node) : NULL;
  gint64 id = 0;

  scripted->n_posts++;
  if (scripted->script == SSE_POST_REFUSED)
    {
      soup_server_message_set_status (msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, NULL);
      return;
    }
  soup_server_message_set_status (msg, SOUP_STATUS_ACCEPTED, NULL);
  if (g_strcmp0 (cf_json_object_get_string (object, "method"), "initialize") == 0 &&
      cf_json_object_get_int (object, "id", &id) && scripted->stream != NULL)
    {
      g_autofree char *event = g_strdup_printf (
        "data: {\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"result\":{\"protocolVersion\":"
        "\"2024-11-05\",\"capabilities\":{},\"serverInfo\":{\"name\":\"scripted\","
        "\"version\":\"0\"}}}\n\n", id);

      stream_write (scripted->stream, event);
    }
}

static void
on_scripted_request (SoupServer        *server,
                     SoupServerMessage *msg,
                     const char        *path,
                     GHashTable        *query,
                     gpointer           user_data)
{
  Scripted *scripted = user_data;

  if (g_str_equal (path, "/sse") && soup_server_message_get_method (msg) == SOUP_METHOD_GET)
    open_stream (scripted, msg);
  else if (g_str_equal (path, "/post") &&
           soup_server_message_get_method (msg) == SOUP_METHOD_POST)
    answer_post (scripted, msg);
  else
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
}

static void
listen_loopback (SoupServer *server)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);

  /* Not soup_server_listen_local (), which leaks an address in 3.2. */
  soup_server_listen (server, address, 0, &error);
  g_assert_no_error (error);
}

static void
scripted_setup (Scripted      *scripted,
                gconstpointer  data)
{
  scripted->script = GPOINTER_TO_INT (data);
  scripted->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (scripted->server, NULL, on_scripted_request, scripted, NULL);
  listen_loopback (scripted->server);
  scripted->url = g_strdup_printf ("http://127.0.0.1:%u/sse",
                                   cf_test_server_get_port (scripted->server));
  scripted->client = cf_mcp_client_new_sse (scripted->url, NULL, NULL);
  cf_mcp_client_set_timeout (scripted->client, SHORT_TIMEOUT_MS);
}

static void
scripted_teardown (Scripted      *scripted,
                   gconstpointer  data)
{
  cf_mcp_client_close (scripted->client);
  g_assert_finalize_object (g_steal_pointer (&scripted->client));
  cf_test_spin (50);
  soup_server_disconnect (scripted->server);
  g_clear_object (&scripted->server);
  g_clear_pointer (&scripted->url, g_free);
}

static void
test_sse_scripted_good (Scripted      *scripted,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  cf_test_connect_client (scripted->client, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (scripted->client), ==, "2024-11-05");
  /* No server/discover: initialize and notifications/initialized only. */
  g_assert_cmpuint (scripted->n_posts, ==, 2);
}

/* A handshake that must fail with @code and say @reason. */
static void
test_sse_scripted_refused (Scripted      *scripted,
                           gconstpointer  data)
{
  static const struct { SseScript script; int code; const char *reason; } cases[] = {
    { SSE_MESSAGE_FIRST, CF_MCP_CLIENT_ERROR_PROTOCOL, "did not open with an endpoint" },
    { SSE_FOREIGN_ENDPOINT, CF_MCP_CLIENT_ERROR_PROTOCOL, "another origin" },
    { SSE_BAD_ENDPOINT, CF_MCP_CLIENT_ERROR_PROTOCOL, "no valid URL" },
    { SSE_NO_ENDPOINT, CF_MCP_CLIENT_ERROR_TIMED_OUT, "did not open the connection" },
    { SSE_NOT_FOUND, CF_MCP_CLIENT_ERROR_CONNECT, "HTTP 404" },
    { SSE_HTML, CF_MCP_CLIENT_ERROR_CONNECT, "not an event stream" },
    { SSE_POST_REFUSED, CF_MCP_CLIENT_ERROR_PROTOCOL, "HTTP 500" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;

      g_test_message ("script %d", cases[i].script);
      scripted->script = cases[i].script;
      scripted->n_posts = 0;
      g_assert_false (cf_test_connect_client (scripted->client, &error));
      g_assert_error (error, CF_MCP_CLIENT_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].reason));
      g_assert_false (cf_mcp_client_is_connected (scripted->client));
      if (cases[i].script != SSE_POST_REFUSED)
        g_assert_cmpuint (scripted->n_posts, ==, 0);
    }
}

static void
test_sse_bad_url (void)
{
  static const char * const urls[] = { "ws://127.0.0.1:1/sse", "not a url", "" };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(CfMcpClient) client = cf_mcp_client_new_sse (urls[i], NULL, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_false (cf_test_connect_client (client, &error));
      g_assert_error (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT);
    }
}

/* A connect that is cancelled while the stream waits for its endpoint
 * ends at once, not at the timeout. */
static void
test_sse_scripted_cancel (Scripted      *scripted,
                          gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  CfTestOp op;

  cf_mcp_client_set_timeout (scripted->client, 0);
  cf_test_op_init (&op);
  cf_test_op_connect (&op, scripted->client, cancellable);
  cf_test_spin (100);
  g_assert_false (op.done);
  g_cancellable_cancel (cancellable);
  cf_test_op_wait (&op);
  g_assert_error (op.error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  g_assert_false (cf_mcp_client_is_connected (scripted->client));
  cf_test_op_clear (&op);

  /* Closing the client while it waits does the same. */
  cf_test_op_init (&op);
  cf_test_op_connect (&op, scripted->client, NULL);
  cf_test_spin (100);
  cf_mcp_client_close (scripted->client);
  cf_test_op_wait (&op);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  cf_test_op_clear (&op);
}

/* A scripted WebSocket server: a legacy MCP server of a few tools */

typedef struct {
  SoupServer              *server;
  char                    *url;
  GPtrArray               *connections;
  GPtrArray               *received;
  CfMcpClient             *client;
  Watch                    watch;
} Ws;

static void
ws_send (SoupWebsocketConnection *connection,
         const char              *format,
         ...) G_GNUC_PRINTF (2, 3);

static void
ws_send (SoupWebsocketConnection *connection,
         const char              *format,
         ...)
{
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  soup_websocket_connection_send_text (connection, text);
}

static void
ws_result (SoupWebsocketConnection *connection,
           gint64                   id,
           const char              *text)
{
  ws_send (connection, "{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"result\":{\"content\":"
           "[{\"type\":\"text\",\"text\":\"%s\"}]}}", id, text);
}

static void
ws_tool (SoupWebsocketConnection *connection,
         const char              *name,
         gint64                   id)
{
  if (g_strcmp0 (name, "binary") == 0)
    soup_websocket_connection_send_binary (connection, "\x01\x02", 2);
  else if (g_strcmp0 (name, "garbage") == 0)
    soup_websocket_connection_send_text (connection, "this is not JSON");
  else if (g_strcmp0 (name, "big") == 0)
    {
      g_autofree char *pad = g_strnfill (SMALL_MAX_MESSAGE * 2, 'x');

      ws_result (connection, id, pad);
      return;
    }
  else if (g_strcmp0 (name, "close") == 0)
    {
      soup_websocket_connection_close (connection, 4000, "going away");
      return;
    }
  else if (g_strcmp0 (name, "log") == 0)
    ws_send (connection, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/message\","
             "\"params\":{\"level\":\"info\",\"data\":\"hello\"}}");
  ws_result (connection, id, name);
}

static void
on_ws_server_message (SoupWebsocketConnection *connection,
                      int                      type,
                      GBytes                  *message,
                      gpointer                 user_data)
{
  Ws *ws = user_data;
  g_autoptr(JsonNode) node = cf_json_parse (g_bytes_get_data (message, NULL),
                                            g_bytes_get_size (message), NULL);
  JsonObject *object = node ? json_node_get_object (node) : NULL;
  const char *method = cf_json_object_get_string (object, "method");
  gint64 id = 0;

  g_assert_cmpint (type, ==, SOUP_WEBSOCKET_DATA_TEXT);
  g_assert_nonnull (node);
  g_ptr_array_add (ws->received, g_strdup (method ? method : "(response)"));
  if (!cf_json_object_get_int (object, "id", &id) || method == NULL)
    return;

  if (g_str_equal (method, "server/discover"))
    ws_send (connection, "{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"error\":{\"code\":"
             "-32601,\"message\":\"Method not found\"}}", id);
  else if (g_str_equal (method, "initialize"))
    ws_send (connection, "{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"result\":{"
             "\"protocolVersion\":\"2025-03-26\",\"capabilities\":{\"tools\":{}},"
             "\"serverInfo\":{\"name\":\"scripted-ws\",\"version\":\"0\"}}}", id);
  else if (g_str_equal (method, "tools/call"))
    ws_tool (connection, cf_json_object_get_string (cf_json_object_get_object (object, "params"),
                                                    "name"), id);
}

static void
on_ws_connected (SoupServer              *server,
                 SoupServerMessage       *msg,
                 const char              *path,
                 SoupWebsocketConnection *connection,
                 gpointer                 user_data)
{
  Ws *ws = user_data;

  g_ptr_array_add (ws->connections, g_object_ref (connection));
  g_signal_connect (connection, "message", G_CALLBACK (on_ws_server_message), ws);
}

static void
ws_setup (Ws            *ws,
          gconstpointer  data)
{
  static char *mcp[] = { (char *) "mcp", NULL };
  static char *other[] = { (char *) "other", NULL };

  ws->connections = g_ptr_array_new_with_free_func (g_object_unref);
  ws->received = g_ptr_array_new_with_free_func (g_free);
  ws->server = soup_server_new (NULL, NULL);
  soup_server_add_websocket_handler (ws->server, "/ws", NULL, mcp, on_ws_connected, ws, NULL);
  soup_server_add_websocket_handler (ws->server, "/any", NULL, NULL, on_ws_connected, ws, NULL);
  soup_server_add_websocket_handler (ws->server, "/other", NULL, other, on_ws_connected, ws,
                                     NULL);
  listen_loopback (ws->server);
  ws->url = g_strdup_printf ("ws://127.0.0.1:%u/ws", cf_test_server_get_port (ws->server));
  ws->client = cf_mcp_client_new_websocket (ws->url, NULL, NULL);
  cf_mcp_client_set_max_message_size (ws->client, SMALL_MAX_MESSAGE);
  watch_client (&ws->watch, ws->client);
}

static void
ws_teardown (Ws            *ws,
             gconstpointer  data)
{
  cf_mcp_client_close (ws->client);
  g_assert_finalize_object (g_steal_pointer (&ws->client));
  cf_test_spin (50);
  for (guint i = 0; i < ws->connections->len; i++)
    g_signal_handlers_disconnect_by_data (g_ptr_array_index (ws->connections, i), ws);
  g_clear_pointer (&ws->connections, g_ptr_array_unref);
  soup_server_disconnect (ws->server);
  g_clear_object (&ws->server);
  g_clear_pointer (&ws->url, g_free);
  g_clear_pointer (&ws->received, g_ptr_array_unref);
  g_clear_pointer (&ws->watch.notifications, g_ptr_array_unref);
}

static void
ws_connect (Ws *ws)
{
  g_autoptr(GError) error = NULL;

  cf_test_connect_client (ws->client, &error);
  g_assert_no_error (error);
}

static void
test_ws_connect_and_call (Ws            *ws,
                          gconstpointer  data)
{
  CfTestOp op;

  ws_connect (ws);
  g_assert_cmpint (cf_mcp_client_get_era (ws->client), ==, CF_MCP_ERA_LEGACY);
  g_assert_cmpstr (cf_mcp_client_get_protocol_version (ws->client), ==, "2025-03-26");
  g_assert_cmpstr (cf_json_object_get_string (cf_mcp_client_get_server_info (ws->client),
                                              "name"), ==, "scripted-ws");
  /* The probe, then the legacy handshake: one frame each. */
  g_assert_cmpuint (ws->received->len, ==, 3);
  g_assert_cmpstr (g_ptr_array_index (ws->received, 0), ==, "server/discover");
  g_assert_cmpstr (g_ptr_array_index (ws->received, 1), ==, "initialize");
  g_assert_cmpstr (g_ptr_array_index (ws->received, 2), ==, "notifications/initialized");

  cf_test_op_call_tool (&op, ws->client, "log");
  g_assert_no_error (op.error);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==, "log");
  g_assert_cmpuint (op.n_messages_at_callback, ==, 1);
  g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op.messages, 0)), ==,
                   "notifications/message");
  cf_test_op_clear (&op);
}

/* Frames that are no JSON-RPC text are dropped; the connection and the
 * call go on. */
static void
test_ws_bad_frames (Ws            *ws,
                    gconstpointer  data)
{
  static const char * const names[] = { "binary", "garbage" };

  ws_connect (ws);
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      CfTestOp op;

      cf_test_op_call_tool (&op, ws->client, names[i]);
      g_assert_no_error (op.error);
      g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==, names[i]);
      g_assert_cmpuint (op.messages->len, ==, 0);
      cf_test_op_clear (&op);
    }
  g_assert_true (cf_mcp_client_is_connected (ws->client));
  g_assert_cmpuint (ws->watch.notifications->len, ==, 0);
}

static void
test_ws_oversized (Ws            *ws,
                   gconstpointer  data)
{
  CfTestOp op;

  ws_connect (ws);
  cf_test_op_call_tool (&op, ws->client, "big");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL);
  g_assert_nonnull (strstr (op.error->message, "over 65536 bytes"));
  g_assert_true (cf_test_wait_until (is_closed, &ws->watch, CF_TEST_TIMEOUT_MS));
  g_assert_false (cf_mcp_client_is_connected (ws->client));
  cf_test_op_clear (&op);
}

static void
test_ws_server_closes (Ws            *ws,
                       gconstpointer  data)
{
  CfTestOp op;

  ws_connect (ws);
  cf_test_op_call_tool (&op, ws->client, "close");
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  g_assert_nonnull (strstr (op.error->message, "code 4000"));
  g_assert_true (cf_test_wait_until (is_closed, &ws->watch, CF_TEST_TIMEOUT_MS));
  cf_test_op_clear (&op);

  cf_test_op_init (&op);
  cf_test_op_request (&op, ws->client, "tools/list", NULL);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED);
  cf_test_op_clear (&op);

  /* And it comes back on a new connection. */
  ws_connect (ws);
  cf_test_op_call_tool (&op, ws->client, "echo");
  g_assert_no_error (op.error);
  cf_test_op_clear (&op);
  g_assert_cmpuint (ws->connections->len, ==, 2);
}

/* Servers that do not speak MCP over WebSocket are refused at connect. */
static void
test_ws_refused (Ws            *ws,
                 gconstpointer  data)
{
  static const struct { const char *path; int code; const char *reason; } cases[] = {
    { "/any", CF_MCP_CLIENT_ERROR_PROTOCOL, "did not accept the mcp WebSocket subprotocol" },
    { "/other", CF_MCP_CLIENT_ERROR_CONNECT, "refused the WebSocket with HTTP 400" },
    { "/nowhere", CF_MCP_CLIENT_ERROR_CONNECT, "refused the WebSocket with HTTP 404" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *url = g_strdup_printf ("ws://127.0.0.1:%u%s",
                                              cf_test_server_get_port (ws->server),
                                              cases[i].path);
      g_autoptr(CfMcpClient) client = cf_mcp_client_new_websocket (url, NULL, NULL);
      g_autoptr(GError) error = NULL;

      g_test_message ("%s", url);
      g_assert_false (cf_test_connect_client (client, &error));
      g_assert_error (error, CF_MCP_CLIENT_ERROR, cases[i].code);
      g_assert_nonnull (strstr (error->message, cases[i].reason));
    }
  /* Nothing was ever sent on a connection the client refused. */
  g_assert_cmpuint (ws->received->len, ==, 0);
}

static void
test_ws_bad_url (void)
{
  static const char * const urls[] = { "http://127.0.0.1:1/ws", "ws//nowhere", "" };

  for (guint i = 0; i < G_N_ELEMENTS (urls); i++)
    {
      g_autoptr(CfMcpClient) client = cf_mcp_client_new_websocket (urls[i], NULL, NULL);
      g_autoptr(GError) error = NULL;

      g_assert_false (cf_test_connect_client (client, &error));
      g_assert_error (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT);
      g_assert_nonnull (strstr (error->message, "Invalid upstream URL"));
    }
}

/* The C fixture's /sse and /ws */

#define LEGACY_VERSIONS "2025-11-25,2025-06-18,2025-03-26,2024-11-05"
#define N_FIXTURE_TOOLS 14

typedef struct {
  gboolean    websocket;
  const char *versions;
  CfMcpEra    era;
} FixtureVariant;

static const FixtureVariant sse_legacy = { FALSE, LEGACY_VERSIONS, CF_MCP_ERA_LEGACY };
/* A server that speaks both eras still speaks 2024-11-05 over /sse. */
static const FixtureVariant sse_dual = { FALSE, NULL, CF_MCP_ERA_LEGACY };
static const FixtureVariant ws_legacy = { TRUE, LEGACY_VERSIONS, CF_MCP_ERA_LEGACY };
static const FixtureVariant ws_dual = { TRUE, NULL, CF_MCP_ERA_MODERN };

typedef struct {
  GSubprocess *server;
  CfMcpClient *client;
  Watch        watch;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  const FixtureVariant *variant = data;
  g_autofree char *fixture = cf_test_fixture_server_path ();
  g_autofree char *versions = variant->versions ? g_strdup_printf ("--versions=%s",
                                                                   variant->versions) : NULL;
  const char *argv[] = { fixture, "--port=0", versions, NULL };
  g_autofree char *mcp_url = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GError) error = NULL;

  f->server = cf_harness_spawn (argv, &mcp_url);
  g_assert_true (g_str_has_suffix (mcp_url, "/mcp"));
  mcp_url[strlen (mcp_url) - strlen ("/mcp")] = '\0';
  if (variant->websocket)
    {
      url = g_strdup_printf ("ws://%s/ws", mcp_url + strlen ("http://"));
      f->client = cf_mcp_client_new_websocket (url, NULL, NULL);
    }
  else
    {
      url = g_strdup_printf ("%s/sse", mcp_url);
      f->client = cf_mcp_client_new_sse (url, NULL, NULL);
    }
  watch_client (&f->watch, f->client);
  cf_test_connect_client (f->client, &error);
  g_assert_no_error (error);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  cf_mcp_client_close (f->client);
  g_assert_finalize_object (g_steal_pointer (&f->client));
  kill_and_wait (f->server);
  cf_test_spin (50);
  g_clear_object (&f->server);
  g_clear_pointer (&f->watch.notifications, g_ptr_array_unref);
}

static void
assert_all_methods (CfTestOp   *op,
                    const char *method)
{
  for (guint i = 0; i < op->messages->len; i++)
    g_assert_cmpstr (cf_test_message_method (g_ptr_array_index (op->messages, i)), ==, method);
}

static void
test_fixture_tools (Fixture       *f,
                    gconstpointer  data)
{
  const FixtureVariant *variant = data;
  CfTestOp op;

  g_assert_cmpint (cf_mcp_client_get_era (f->client), ==, variant->era);
  g_assert_cmpstr (cf_json_object_get_string (cf_mcp_client_get_server_info (f->client),
                                              "name"), ==, "cf-conformance-fixture");

  cf_test_op_init (&op);
  cf_test_op_list_all (&op, f->client, "tools/list");
  g_assert_no_error (op.error);
  g_assert_cmpuint (json_array_get_length (op.items), ==, N_FIXTURE_TOOLS);
  cf_test_op_clear (&op);

  cf_test_op_call_tool (&op, f->client, "test_simple_text");
  g_assert_no_error (op.error);
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==,
                   "This is a simple text response for testing.");
  cf_test_op_clear (&op);

  cf_test_op_init (&op);
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_tool_with_progress\",\"arguments\":{},"
                      "\"_meta\":{\"progressToken\":\"p-1\"}}");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 3);
  assert_all_methods (&op, "notifications/progress");
  cf_test_op_clear (&op);

  /* A 2026-07-28 request gets log messages only if it asks for them. */
  if (variant->era == CF_MCP_ERA_MODERN)
    return;
  cf_test_op_call_tool (&op, f->client, "test_tool_with_logging");
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 3);
  assert_all_methods (&op, "notifications/message");
  cf_test_op_clear (&op);
}

/* A server-to-client request on the shared channel, answered by POST
 * (SSE) or by a frame (WebSocket). */
static void
test_fixture_sampling (Fixture       *f,
                       gconstpointer  data)
{
  CfTestOp op;

  cf_test_op_init (&op);
  op.answer_sampling = TRUE;
  cf_test_op_request (&op, f->client, "tools/call",
                      "{\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"Say hi\"}}");
  g_assert_no_error (op.error);
  g_assert_cmpuint (op.n_messages_at_callback, ==, 1);
  assert_all_methods (&op, "sampling/createMessage");
  g_assert_nonnull (strstr (cf_test_first_text (cf_test_assert_result (op.response)),
                            "a sampled answer"));
  cf_test_op_clear (&op);
}

/* Several calls in flight on the one channel each get their own answer. */
static void
test_fixture_concurrent (Fixture       *f,
                         gconstpointer  data)
{
  CfTestOp ops[6];

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      cf_test_op_init (&ops[i]);
      cf_test_op_start (&ops[i], f->client, "tools/call",
                        i % 2 ? "{\"name\":\"test_simple_text\",\"arguments\":{}}"
                              : "{\"name\":\"test_image_content\",\"arguments\":{}}", NULL);
    }
  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      JsonObject *result;
      JsonObject *block;

      cf_test_op_wait (&ops[i]);
      g_assert_no_error (ops[i].error);
      result = cf_test_assert_result (ops[i].response);
      block = json_array_get_object_element (cf_json_object_get_array (result, "content"), 0);
      g_assert_cmpstr (cf_json_object_get_string (block, "type"), ==, i % 2 ? "text" : "image");
      cf_test_op_clear (&ops[i]);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD_SDK(path, max, func) \
  g_test_add ("/mcp-client-transports/sse/sdk/" path, Sdk, GSIZE_TO_POINTER (max), sdk_setup, \
              func, sdk_teardown)
  ADD_SDK ("connect", 0, test_sse_sdk_connect);
  ADD_SDK ("list-and-call", 0, test_sse_sdk_list_and_call);
  ADD_SDK ("progress", 0, test_sse_sdk_progress);
  ADD_SDK ("sampling", 0, test_sse_sdk_sampling);
  ADD_SDK ("stream-drop", 0, test_sse_sdk_stream_drop);
  ADD_SDK ("reconnect", 0, test_sse_sdk_reconnect);
  ADD_SDK ("oversized", SMALL_MAX_MESSAGE, test_sse_sdk_oversized);
#undef ADD_SDK

#define ADD_SCRIPTED(path, script, func) \
  g_test_add ("/mcp-client-transports/sse/scripted/" path, Scripted, GINT_TO_POINTER (script), \
              scripted_setup, func, scripted_teardown)
  ADD_SCRIPTED ("good", SSE_GOOD, test_sse_scripted_good);
  ADD_SCRIPTED ("refused", SSE_GOOD, test_sse_scripted_refused);
  ADD_SCRIPTED ("cancel", SSE_NO_ENDPOINT, test_sse_scripted_cancel);
#undef ADD_SCRIPTED
  g_test_add_func ("/mcp-client-transports/sse/bad-url", test_sse_bad_url);

#define ADD_WS(path, func) \
  g_test_add ("/mcp-client-transports/ws/scripted/" path, Ws, NULL, ws_setup, func, ws_teardown)
  ADD_WS ("connect-and-call", test_ws_connect_and_call);
  ADD_WS ("bad-frames", test_ws_bad_frames);
  ADD_WS ("oversized", test_ws_oversized);
  ADD_WS ("server-closes", test_ws_server_closes);
  ADD_WS ("refused", test_ws_refused);
#undef ADD_WS
  g_test_add_func ("/mcp-client-transports/ws/bad-url", test_ws_bad_url);

#define ADD_FIXTURE(path, variant, func) \
  g_test_add ("/mcp-client-transports/fixture/" path, Fixture, &variant, fixture_setup, func, \
              fixture_teardown)
  ADD_FIXTURE ("sse/legacy/tools", sse_legacy, test_fixture_tools);
  ADD_FIXTURE ("sse/dual/tools", sse_dual, test_fixture_tools);
  ADD_FIXTURE ("ws/legacy/tools", ws_legacy, test_fixture_tools);
  ADD_FIXTURE ("ws/dual/tools", ws_dual, test_fixture_tools);
  ADD_FIXTURE ("sse/legacy/sampling", sse_legacy, test_fixture_sampling);
  ADD_FIXTURE ("ws/legacy/sampling", ws_legacy, test_fixture_sampling);
  ADD_FIXTURE ("sse/legacy/concurrent", sse_legacy, test_fixture_concurrent);
  ADD_FIXTURE ("ws/dual/concurrent", ws_dual, test_fixture_concurrent);
#undef ADD_FIXTURE

  return g_test_run ();
}
