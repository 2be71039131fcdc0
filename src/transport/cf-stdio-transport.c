/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-stdio-transport"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-mcp-session.h"
#include "cf-mcp-stream.h"
#include "cf-stdio-transport.h"

/**
 * CfStdioTransport:
 *
 * MCP's stdio transport on the server side: one JSON-RPC message per line
 * in, one per line out. The connection is one implicit legacy session (or
 * serves 2026-07-28 requests statelessly). Writes are queued and written
 * asynchronously, so a peer that stops reading cannot block the loop.
 *
 * Each incoming message gets a small #CfMcpStream of its own that writes
 * to the shared connection; the connection's standalone stream carries
 * server-initiated messages.
 */
struct _CfStdioTransport
{
  GObject           parent_instance;

  CfMcpServer      *server;
  CfMcpSession     *session;
  GDataInputStream *input;
  GOutputStream    *output;
  GCancellable     *cancellable;
  GQueue            pending;
  guint             writing : 1;
  guint             closed : 1;
};

enum {
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CfStdioTransport, cf_stdio_transport, G_TYPE_OBJECT)

/* The per-message stream */

#define CF_TYPE_STDIO_STREAM (cf_stdio_stream_get_type ())
G_DECLARE_FINAL_TYPE (CfStdioStream, cf_stdio_stream, CF, STDIO_STREAM, GObject)

struct _CfStdioStream
{
  GObject           parent_instance;
  CfStdioTransport *transport;
  gboolean          standalone;
  gboolean          done;
};

static void cf_stdio_stream_iface_init (CfMcpStreamInterface *iface);
static void write_message (CfStdioTransport *self,
                           JsonNode         *message);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfStdioStream, cf_stdio_stream, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_MCP_STREAM,
                                                      cf_stdio_stream_iface_init))

static gboolean
stdio_stream_send (CfMcpStream *stream,
                   JsonNode    *message)
{
  CfStdioStream *self = (CfStdioStream *) stream;

  if (self->done || self->transport->closed)
    return FALSE;
  write_message (self->transport, message);
  return TRUE;
}

static void
stdio_stream_finish (CfMcpStream *stream,
                     JsonNode    *message,
                     guint        status)
{
  CfStdioStream *self = (CfStdioStream *) stream;

  if (self->done)
    return;
  self->done = !self->standalone;
  if (message != NULL && !self->transport->closed)
    write_message (self->transport, message);
}

static void
cf_stdio_stream_iface_init (CfMcpStreamInterface *iface)
{
  iface->send = stdio_stream_send;
  iface->finish = stdio_stream_finish;
}

static void
cf_stdio_stream_finalize (GObject *object)
{
  g_clear_object (&((CfStdioStream *) object)->transport);
  G_OBJECT_CLASS (cf_stdio_stream_parent_class)->finalize (object);
}

static void
cf_stdio_stream_class_init (CfStdioStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_stdio_stream_finalize;
}

static void
cf_stdio_stream_init (CfStdioStream *self)
{
}

static CfStdioStream *
cf_stdio_stream_new (CfStdioTransport *transport,
                     gboolean          standalone)
{
  CfStdioStream *self = g_object_new (CF_TYPE_STDIO_STREAM, NULL);

  self->transport = g_object_ref (transport);
  self->standalone = standalone;
  return self;
}

/* Writing */

static void write_next (CfStdioTransport *self);

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfStdioTransport) self = user_data;
  g_autoptr(GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        g_debug ("stdio write failed: %s", error->message);
      g_queue_clear_full (&self->pending, (GDestroyNotify) g_bytes_unref);
      return;
    }
  write_next (self);
}

static void
write_next (CfStdioTransport *self)
{
  GBytes *bytes;

  if (self->writing || (bytes = g_queue_pop_head (&self->pending)) == NULL)
    return;

  self->writing = TRUE;
  g_object_set_data_full (G_OBJECT (self), "cf-writing", bytes, (GDestroyNotify) g_bytes_unref);
  g_output_stream_write_all_async (self->output,
                                   g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                                   G_PRIORITY_DEFAULT, self->cancellable,
                                   on_written, g_object_ref (self));
}

static void
write_message (CfStdioTransport *self,
               JsonNode         *message)
{
  gsize length = 0;
  char *json = cf_json_to_string (message, &length);
  char *line = g_realloc (json, length + 1);

  line[length] = '\n';
  g_queue_push_tail (&self->pending, g_bytes_new_take (line, length + 1));
  write_next (self);
}

/* Reading */

static void read_next (CfStdioTransport *self);

static void
handle_line (CfStdioTransport *self,
             const char       *line,
             gsize             length)
{
  g_autoptr(CfStdioStream) stream = cf_stdio_stream_new (self, FALSE);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  CfMcpTransportContext context = { 0 };

  node = cf_json_parse (line, length, &error);
  if (node == NULL)
    {
      cf_mcp_server_dispatch_error (self->server, error, CF_MCP_STREAM (stream));
      return;
    }

  context.session = g_object_ref (self->session);
  cf_mcp_server_dispatch (self->server, &context, node, CF_MCP_STREAM (stream));
  g_clear_object (&context.session);
}

static void
close_transport (CfStdioTransport *self)
{
  g_autoptr(CfStdioTransport) hold = g_object_ref (self);

  if (self->closed)
    return;
  self->closed = TRUE;
  cf_mcp_server_remove_connection (self->server, self->session);
  cf_mcp_session_cancel_all (self->session);
  cf_mcp_session_set_stream (self->session, NULL);
  g_signal_emit (self, signals[CLOSED], 0);
}

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(CfStdioTransport) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *line = NULL;
  gsize length = 0;

  line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                    &length, &error);
  /* The line was consumed; answer it and read on. */
  if (error != NULL && (error->domain == G_CONVERT_ERROR ||
                        g_error_matches (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA)))
    {
      g_autoptr(CfStdioStream) stream = cf_stdio_stream_new (self, FALSE);
      g_autoptr(GError) encoding = g_error_new_literal (CF_JSON_ERROR, CF_JSON_ERROR_ENCODING,
                                                        "Invalid UTF-8 in message");

      cf_mcp_server_dispatch_error (self->server, encoding, CF_MCP_STREAM (stream));
      read_next (self);
      return;
    }
  if (line == NULL)
    {
      close_transport (self);
      return;
    }

  g_strchomp (line);
  if (*line != '\0')
    handle_line (self, line, strlen (line));
  read_next (self);
}

static void
read_next (CfStdioTransport *self)
{
  if (self->closed)
    return;
  g_data_input_stream_read_line_async (self->input, G_PRIORITY_DEFAULT, self->cancellable,
                                       on_line, g_object_ref (self));
}

static void
cf_stdio_transport_dispose (GObject *object)
{
  CfStdioTransport *self = (CfStdioTransport *) object;

  g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (cf_stdio_transport_parent_class)->dispose (object);
}

static void
cf_stdio_transport_finalize (GObject *object)
{
  CfStdioTransport *self = (CfStdioTransport *) object;

  g_clear_object (&self->server);
  g_clear_object (&self->session);
  g_clear_object (&self->input);
  g_clear_object (&self->output);
  g_clear_object (&self->cancellable);
  g_queue_clear_full (&self->pending, (GDestroyNotify) g_bytes_unref);

  G_OBJECT_CLASS (cf_stdio_transport_parent_class)->finalize (object);
}

static void
cf_stdio_transport_class_init (CfStdioTransportClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_stdio_transport_dispose;
  object_class->finalize = cf_stdio_transport_finalize;

  /**
   * CfStdioTransport::closed:
   *
   * The peer closed its end.
   */
  signals[CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cf_stdio_transport_init (CfStdioTransport *self)
{
  self->cancellable = g_cancellable_new ();
  self->session = cf_mcp_session_new (NULL);
  g_queue_init (&self->pending);
}

CfStdioTransport *
cf_stdio_transport_new (CfMcpServer   *server,
                        GInputStream  *input,
                        GOutputStream *output)
{
  CfStdioTransport *self;
  g_autoptr(CfStdioStream) standalone = NULL;

  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);
  g_return_val_if_fail (G_IS_INPUT_STREAM (input), NULL);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), NULL);

  self = g_object_new (CF_TYPE_STDIO_TRANSPORT, NULL);
  self->server = g_object_ref (server);
  self->input = g_data_input_stream_new (input);
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  self->output = g_object_ref (output);

  /* The standalone stream refers back to us; it is dropped with the
   * session in close_transport's cancel and in finalize. */
  standalone = cf_stdio_stream_new (self, TRUE);
  cf_mcp_session_set_stream (self->session, CF_MCP_STREAM (standalone));
  cf_mcp_server_add_connection (server, self->session);
  return self;
}

void
cf_stdio_transport_start (CfStdioTransport *self)
{
  g_return_if_fail (CF_IS_STDIO_TRANSPORT (self));
  read_next (self);
}
