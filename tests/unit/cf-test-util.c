/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-test-util"

#include "config.h"

#include <glib/gstdio.h>

#include <string.h>

#include "cf-http-server.h"
#include "cf-test-util.h"

/* Every wait below is bounded twice: by a deadline and by a count of main
 * loop iterations, so that a busy loop cannot spin forever either. */
#define MAX_ITERATIONS 1000000
#define TICK_MS 20
#define CANCEL_GRACE_MS 2000

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/**
 * cf_test_wait_until:
 * @predicate: what to wait for
 * @user_data: its argument
 * @timeout_ms: how long to wait at most
 *
 * Runs the default main context until @predicate holds.
 *
 * Returns: whether @predicate held in time
 */
gboolean
cf_test_wait_until (CfTestPredicate predicate,
                    gpointer        user_data,
                    guint           timeout_ms)
{
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  guint tick = g_timeout_add (TICK_MS, on_tick, NULL);
  gboolean met = predicate (user_data);

  /* The tick wakes the blocking iteration, so the deadline is seen. */
  for (guint i = 0; i < MAX_ITERATIONS && !met && g_get_monotonic_time () < deadline; i++)
    {
      g_main_context_iteration (NULL, TRUE);
      met = predicate (user_data);
    }

  g_source_remove (tick);
  return met;
}

static gboolean
flag_is_set (gpointer user_data)
{
  return *(const gboolean *) user_data;
}

gboolean
cf_test_wait_flag (const gboolean *flag,
                   guint           timeout_ms)
{
  return cf_test_wait_until (flag_is_set, (gpointer) flag, timeout_ms);
}

static gboolean
never (gpointer user_data)
{
  return FALSE;
}

/**
 * cf_test_spin:
 * @msec: how long
 *
 * Runs the default main context for @msec, to let pending work settle.
 */
void
cf_test_spin (guint msec)
{
  cf_test_wait_until (never, NULL, msec);
}

/**
 * cf_test_fixture_server_path:
 *
 * Returns: (transfer full): where the fixture server was built
 */
char *
cf_test_fixture_server_path (void)
{
  const char *configured = g_getenv ("CF_TEST_FIXTURE");
  g_autofree char *path = NULL;

  if (configured != NULL && *configured != '\0')
    return g_strdup (configured);

  /* meson test points G_TEST_BUILDDIR at tests/; run by hand, GLib falls
   * back to this program's own directory, tests/unit. */
  path = g_test_build_filename (G_TEST_BUILT, "fixture", "cf-fixture-server", NULL);
  if (g_file_test (path, G_FILE_TEST_IS_EXECUTABLE))
    return g_steal_pointer (&path);

  g_clear_pointer (&path, g_free);
  return g_test_build_filename (G_TEST_BUILT, "..", "fixture", "cf-fixture-server", NULL);
}

/**
 * cf_test_http_is_idle:
 * @http: a #CfHttpServer
 *
 * A #CfTestPredicate: whether @http has no request in flight.
 */
gboolean
cf_test_http_is_idle (gpointer http)
{
  return cf_http_server_get_n_active (http) == 0;
}

/**
 * cf_test_remove_tree:
 * @path: a directory
 *
 * Removes @path and everything below it, asserting that it can.
 */
void
cf_test_remove_tree (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);

      if (g_file_test (child, G_FILE_TEST_IS_DIR) && !g_file_test (child, G_FILE_TEST_IS_SYMLINK))
        cf_test_remove_tree (child);
      else
        g_assert_cmpint (g_unlink (child), ==, 0);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

/**
 * cf_test_server_get_port:
 * @server: a listening server
 *
 * Returns: the port of its first listener
 */
guint
cf_test_server_get_port (SoupServer *server)
{
  g_autoptr(GSList) listeners = soup_server_get_listeners (server);
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (listeners);
  address = g_socket_get_local_address (listeners->data, &error);
  g_assert_no_error (error);
  return g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address));
}

/* JSON */

JsonNode *
cf_test_parse (const char *json)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_nonnull (node);
  return node;
}

/**
 * cf_test_assert_result:
 * @message: a JSON-RPC response
 *
 * Returns: (transfer none): its result object
 */
JsonObject *
cf_test_assert_result (JsonNode *message)
{
  JsonObject *object;
  JsonNode *error;

  g_assert_nonnull (message);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (message));
  object = json_node_get_object (message);
  error = json_object_get_member (object, "error");
  if (error != NULL)
    {
      g_autofree char *text = json_to_string (error, FALSE);
      g_assert_cmpstr (text, ==, NULL);
    }
  g_assert_cmpstr (json_object_get_string_member (object, "jsonrpc"), ==, "2.0");
  g_assert_true (json_object_has_member (object, "result"));
  g_assert_true (JSON_NODE_HOLDS_OBJECT (json_object_get_member (object, "result")));
  return json_object_get_object_member (object, "result");
}

/**
 * cf_test_assert_error:
 * @message: a JSON-RPC response
 * @code: the error code it must carry
 *
 * Returns: (transfer none): its error object
 */
JsonObject *
cf_test_assert_error (JsonNode *message,
                      int       code)
{
  JsonObject *object;
  JsonObject *error;

  g_assert_nonnull (message);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (message));
  object = json_node_get_object (message);
  g_assert_cmpstr (json_object_get_string_member (object, "jsonrpc"), ==, "2.0");
  g_assert_true (json_object_has_member (object, "id"));
  g_assert_false (json_object_has_member (object, "result"));
  g_assert_true (json_object_has_member (object, "error"));
  error = json_object_get_object_member (object, "error");
  g_assert_nonnull (error);
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, code);
  g_assert_nonnull (json_object_get_string_member (error, "message"));
  return error;
}

/**
 * cf_test_first_text:
 * @result: a tools/call result
 *
 * Returns: (transfer none): the text of its first content block
 */
const char *
cf_test_first_text (JsonObject *result)
{
  JsonArray *content;
  JsonObject *block;

  g_assert_true (json_object_has_member (result, "content"));
  content = json_object_get_array_member (result, "content");
  g_assert_cmpuint (json_array_get_length (content), >=, 1);
  block = json_array_get_object_element (content, 0);
  g_assert_cmpstr (json_object_get_string_member (block, "type"), ==, "text");
  return json_object_get_string_member (block, "text");
}

/* SSE */

/* Moves the complete events at the head of @buffer into @events. */
static void
parse_sse (GString   *buffer,
           GPtrArray *events)
{
  char *end;

  for (guint n = 0; n < 100000 && (end = strstr (buffer->str, "\n\n")) != NULL; n++)
    {
      g_autofree char *block = g_strndup (buffer->str, end - buffer->str);
      g_auto(GStrv) lines = g_strsplit (block, "\n", -1);
      g_autoptr(GString) data = g_string_new (NULL);

      g_string_erase (buffer, 0, end - buffer->str + 2);
      for (guint i = 0; lines[i] != NULL; i++)
        {
          const char *value;

          if (!g_str_has_prefix (lines[i], "data:"))
            continue;
          value = lines[i] + 5;
          if (*value == ' ')
            value++;
          if (data->len > 0)
            g_string_append_c (data, '\n');
          g_string_append (data, value);
        }
      if (data->len > 0)
        g_ptr_array_add (events, cf_test_parse (data->str));
    }
}

/* Replies */

void
cf_test_reply_free (CfTestReply *reply)
{
  g_clear_pointer (&reply->content_type, g_free);
  g_clear_pointer (&reply->session_id, g_free);
  g_clear_pointer (&reply->body, g_bytes_unref);
  g_clear_pointer (&reply->json, json_node_unref);
  g_clear_pointer (&reply->events, g_ptr_array_unref);
  g_free (reply);
}

static CfTestReply *
reply_new (SoupMessage *msg,
           GBytes      *body)
{
  CfTestReply *reply = g_new0 (CfTestReply, 1);
  SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  g_autofree char *text = NULL;
  gsize size = 0;
  const char *data;

  reply->status = soup_message_get_status (msg);
  reply->content_type = g_strdup (content_type);
  reply->session_id = g_strdup (soup_message_headers_get_one (headers, "Mcp-Session-Id"));
  reply->body = body != NULL ? g_bytes_ref (body) : g_bytes_new (NULL, 0);
  reply->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);

  data = g_bytes_get_data (reply->body, &size);
  text = g_strndup (data, size);
  if (g_strcmp0 (content_type, "application/json") == 0 && size > 0)
    reply->json = cf_test_parse (text);
  else if (g_strcmp0 (content_type, "text/event-stream") == 0)
    {
      g_autoptr(GString) buffer = g_string_new (text);

      parse_sse (buffer, reply->events);
      if (reply->events->len > 0)
        reply->json = json_node_ref (g_ptr_array_index (reply->events, reply->events->len - 1));
    }
  return reply;
}

/* The client */

struct _CfTestClient
{
  SoupSession *session;
  guint        port;
};

CfTestClient *
cf_test_client_new (guint port)
{
  CfTestClient *client = g_new0 (CfTestClient, 1);

  client->session = soup_session_new ();
  client->port = port;
  return client;
}

void
cf_test_client_free (CfTestClient *client)
{
  soup_session_abort (client->session);
  g_clear_object (&client->session);
  g_free (client);
}

static SoupMessage *
build_message (CfTestClient     *client,
               const CfTestCall *call)
{
  g_autofree char *url = g_strdup_printf ("http://127.0.0.1:%u%s", client->port,
                                          call->path ? call->path : "/mcp");
  SoupMessage *msg = soup_message_new (call->method ? call->method : "POST", url);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  const char *accept = call->accept ? call->accept : "application/json, text/event-stream";

  g_assert_nonnull (msg);
  if (call->body != NULL)
    {
      gsize length = call->length ? call->length : strlen (call->body);
      g_autoptr(GBytes) bytes = g_bytes_new (call->body, length);
      const char *content_type = call->content_type ? call->content_type : "application/json";

      soup_message_set_request_body_from_bytes (msg, *content_type ? content_type : NULL, bytes);
      if (*content_type == '\0')
        soup_message_headers_remove (headers, "Content-Type");
    }
  if (*accept != '\0')
    soup_message_headers_replace (headers, "Accept", accept);
  if (call->session_id != NULL)
    soup_message_headers_replace (headers, "Mcp-Session-Id", call->session_id);
  for (guint i = 0; call->headers != NULL && call->headers[i] != NULL; i += 2)
    soup_message_headers_replace (headers, call->headers[i], call->headers[i + 1]);
  if (call->expect_continue)
    soup_message_headers_set_expectations (headers, SOUP_EXPECTATION_CONTINUE);
  return msg;
}

struct _CfTestPending
{
  SoupMessage  *msg;
  GCancellable *cancellable;
  GBytes       *body;
  GError       *error;
  gboolean      done;
};

static void
on_sent_and_read (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CfTestPending *pending = user_data;

  pending->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                     &pending->error);
  pending->done = TRUE;
}

CfTestPending *
cf_test_client_start (CfTestClient     *client,
                      const CfTestCall *call)
{
  CfTestPending *pending = g_new0 (CfTestPending, 1);

  pending->msg = build_message (client, call);
  pending->cancellable = g_cancellable_new ();
  soup_session_send_and_read_async (client->session, pending->msg, G_PRIORITY_DEFAULT,
                                    pending->cancellable, on_sent_and_read, pending);
  return pending;
}

/**
 * cf_test_pending_finish:
 * @pending: (transfer full): an exchange in flight
 *
 * Waits for the answer, bounded by %CF_TEST_TIMEOUT_MS.
 *
 * Returns: (transfer full): the reply; its status is 0 if none came
 */
CfTestReply *
cf_test_pending_finish (CfTestPending *pending)
{
  CfTestReply *reply;

  if (!cf_test_wait_flag (&pending->done, CF_TEST_TIMEOUT_MS))
    {
      g_test_message ("No answer in %d ms, cancelling", CF_TEST_TIMEOUT_MS);
      g_cancellable_cancel (pending->cancellable);
      if (!cf_test_wait_flag (&pending->done, CANCEL_GRACE_MS))
        {
          /* The callback still holds @pending: leak it rather than crash. */
          g_test_fail ();
          return g_new0 (CfTestReply, 1);
        }
    }

  if (pending->error != NULL)
    {
      g_test_message ("Exchange failed: %s", pending->error->message);
      reply = g_new0 (CfTestReply, 1);
      reply->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
      reply->body = g_bytes_new (NULL, 0);
    }
  else
    reply = reply_new (pending->msg, pending->body);

  g_clear_object (&pending->msg);
  g_clear_object (&pending->cancellable);
  g_clear_pointer (&pending->body, g_bytes_unref);
  g_clear_error (&pending->error);
  g_free (pending);
  return reply;
}

CfTestReply *
cf_test_client_call (CfTestClient     *client,
                     const CfTestCall *call)
{
  return cf_test_pending_finish (cf_test_client_start (client, call));
}

/* Streaming responses */

struct _CfTestSse
{
  SoupMessage  *msg;
  GInputStream *stream;
  GCancellable *cancellable;
  GString      *buffer;
  GPtrArray    *events;
  char          chunk[4096];
  gboolean      busy;
  gboolean      sent;
  gboolean      closed;
};

static void read_chunk (CfTestSse *sse);

static void
on_chunk (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  CfTestSse *sse = user_data;
  g_autoptr(GError) error = NULL;
  gssize n = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &error);

  sse->busy = FALSE;
  if (n <= 0)
    {
      sse->closed = TRUE;
      return;
    }
  g_string_append_len (sse->buffer, sse->chunk, n);
  parse_sse (sse->buffer, sse->events);
  read_chunk (sse);
}

static void
read_chunk (CfTestSse *sse)
{
  sse->busy = TRUE;
  g_input_stream_read_async (sse->stream, sse->chunk, sizeof sse->chunk, G_PRIORITY_DEFAULT,
                             sse->cancellable, on_chunk, sse);
}

static void
on_sse_sent (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CfTestSse *sse = user_data;
  g_autoptr(GError) error = NULL;

  sse->busy = FALSE;
  sse->stream = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (sse->stream == NULL)
    {
      g_test_message ("Stream request failed: %s", error->message);
      sse->closed = TRUE;
      return;
    }
  sse->sent = TRUE;
  read_chunk (sse);
}

static gboolean
sse_has_headers (gpointer user_data)
{
  CfTestSse *sse = user_data;

  return sse->sent || sse->closed;
}

/**
 * cf_test_client_open_sse:
 * @client: a #CfTestClient
 * @call: the request
 *
 * Sends @call and returns once the response headers are in; the body is
 * then read as it arrives.
 *
 * Returns: (transfer full): the open response
 */
CfTestSse *
cf_test_client_open_sse (CfTestClient     *client,
                         const CfTestCall *call)
{
  CfTestSse *sse = g_new0 (CfTestSse, 1);

  sse->msg = build_message (client, call);
  sse->cancellable = g_cancellable_new ();
  sse->buffer = g_string_new (NULL);
  sse->events = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
  sse->busy = TRUE;
  soup_session_send_async (client->session, sse->msg, G_PRIORITY_DEFAULT, sse->cancellable,
                           on_sse_sent, sse);
  cf_test_wait_until (sse_has_headers, sse, CF_TEST_TIMEOUT_MS);
  return sse;
}

guint
cf_test_sse_get_status (CfTestSse *sse)
{
  return sse->sent ? soup_message_get_status (sse->msg) : 0;
}

const char *
cf_test_sse_get_content_type (CfTestSse *sse)
{
  return soup_message_headers_get_content_type (soup_message_get_response_headers (sse->msg),
                                                NULL);
}

typedef struct {
  CfTestSse *sse;
  guint      n_events;
} SseWait;

static gboolean
sse_has_events (gpointer user_data)
{
  SseWait *wait = user_data;

  return wait->sse->events->len >= wait->n_events || wait->sse->closed;
}

/**
 * cf_test_sse_wait:
 * @sse: an open response
 * @n_events: how many messages to wait for in all
 * @timeout_ms: how long at most
 *
 * Returns: whether @n_events messages arrived
 */
gboolean
cf_test_sse_wait (CfTestSse *sse,
                  guint      n_events,
                  guint      timeout_ms)
{
  SseWait wait = { sse, n_events };

  cf_test_wait_until (sse_has_events, &wait, timeout_ms);
  return sse->events->len >= n_events;
}

guint
cf_test_sse_get_n_events (CfTestSse *sse)
{
  return sse->events->len;
}

JsonNode *
cf_test_sse_get_event (CfTestSse *sse,
                       guint      index)
{
  g_assert_cmpuint (index, <, sse->events->len);
  return g_ptr_array_index (sse->events, index);
}

gboolean
cf_test_sse_is_closed (CfTestSse *sse)
{
  return sse->closed;
}

static gboolean
sse_is_idle (gpointer user_data)
{
  CfTestSse *sse = user_data;

  return !sse->busy;
}

void
cf_test_sse_free (CfTestSse *sse)
{
  g_cancellable_cancel (sse->cancellable);
  if (!cf_test_wait_until (sse_is_idle, sse, CANCEL_GRACE_MS))
    {
      /* A callback still holds @sse: leak it rather than crash. */
      g_test_fail ();
      return;
    }
  g_clear_object (&sse->stream);
  g_clear_object (&sse->msg);
  g_clear_object (&sse->cancellable);
  g_string_free (sse->buffer, TRUE);
  g_ptr_array_unref (sse->events);
  g_free (sse);
}

/* Raw sockets, for what an HTTP library will not send */

typedef struct {
  GObject  *object;
  GError   *error;
  gssize    size;
  gboolean  done;
} RawOp;

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  RawOp *op = user_data;

  op->object = (GObject *) g_socket_client_connect_finish (G_SOCKET_CLIENT (source), result,
                                                           &op->error);
  op->done = TRUE;
}

GSocketConnection *
cf_test_connect (guint port)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, port);
  RawOp op = { 0 };

  g_socket_client_connect_async (client, G_SOCKET_CONNECTABLE (address), NULL,
                                 on_connected, &op);
  g_assert_true (cf_test_wait_flag (&op.done, CF_TEST_TIMEOUT_MS));
  g_assert_no_error (op.error);
  return G_SOCKET_CONNECTION (op.object);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  RawOp *op = user_data;

  g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &op->error);
  op->done = TRUE;
}

void
cf_test_send_raw (GSocketConnection *connection,
                  const char        *data,
                  gsize              length)
{
  GOutputStream *output = g_io_stream_get_output_stream (G_IO_STREAM (connection));
  RawOp op = { 0 };

  g_output_stream_write_all_async (output, data, length, G_PRIORITY_DEFAULT, NULL,
                                   on_written, &op);
  g_assert_true (cf_test_wait_flag (&op.done, CF_TEST_TIMEOUT_MS));
  g_assert_no_error (op.error);
}

static void
on_raw_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  RawOp *op = user_data;

  op->size = g_input_stream_read_finish (G_INPUT_STREAM (source), result, &op->error);
  op->done = TRUE;
}

/**
 * cf_test_read_raw:
 * @connection: a connection
 * @timeout_ms: how long to read at most
 * @out_closed: (out): whether the peer closed the connection in that time
 *
 * Returns: (transfer full): what was read
 */
GString *
cf_test_read_raw (GSocketConnection *connection,
                  guint              timeout_ms,
                  gboolean          *out_closed)
{
  GInputStream *input = g_io_stream_get_input_stream (G_IO_STREAM (connection));
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  GString *data = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  char chunk[4096];

  *out_closed = FALSE;
  for (guint i = 0; i < 100000 && !*out_closed; i++)
    {
      gint64 left = (deadline - g_get_monotonic_time ()) / 1000;
      RawOp op = { 0 };

      if (left <= 0)
        break;
      g_input_stream_read_async (input, chunk, sizeof chunk, G_PRIORITY_DEFAULT, cancellable,
                                 on_raw_read, &op);
      if (!cf_test_wait_flag (&op.done, left))
        {
          g_cancellable_cancel (cancellable);
          g_assert_true (cf_test_wait_flag (&op.done, CANCEL_GRACE_MS));
          g_clear_error (&op.error);
          break;
        }
      if (op.size > 0)
        g_string_append_len (data, chunk, op.size);
      else
        *out_closed = TRUE;
      g_clear_error (&op.error);
    }
  return data;
}
