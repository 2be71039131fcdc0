/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-stdio-transport"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-session-channel.h"
#include "cf-stdio-transport.h"

/**
 * CfStdioTransport:
 *
 * MCP's stdio transport on the server side: one JSON-RPC message per line
 * in, one per line out. The connection is a #CfSessionChannel: one
 * implicit legacy session (or 2026-07-28 requests served statelessly).
 * Writes are queued and written asynchronously, so a peer that stops
 * reading cannot block the loop.
 */
struct _CfStdioTransport
{
  GObject           parent_instance;

  CfMcpServer      *server;
  CfSessionChannel *channel;
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
               GBytes           *message)
{
  gsize length = 0;
  const char *json = g_bytes_get_data (message, &length);
  char *line = g_malloc (length + 1);

  memcpy (line, json, length);
  line[length] = '\n';
  g_queue_push_tail (&self->pending, g_bytes_new_take (line, length + 1));
  write_next (self);
}

static gboolean
write_line (GBytes   *message,
            gpointer  user_data)
{
  CfStdioTransport *self = user_data;

  if (self->closed)
    return FALSE;
  write_message (self, message);
  return TRUE;
}

/* Reading */

static void read_next (CfStdioTransport *self);

static void
close_transport (CfStdioTransport *self)
{
  g_autoptr(CfStdioTransport) hold = g_object_ref (self);

  if (self->closed)
    return;
  self->closed = TRUE;
  cf_session_channel_close (self->channel);
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

  /* Not the _utf8 variant: the channel answers invalid UTF-8 itself. */
  line = g_data_input_stream_read_line_finish (G_DATA_INPUT_STREAM (source), result, &length,
                                               &error);
  if (line == NULL)
    {
      close_transport (self);
      return;
    }

  while (length > 0 && g_ascii_isspace (line[length - 1]))
    line[--length] = '\0';
  if (length > 0)
    cf_session_channel_receive (self->channel, line, length);
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

  /* Never closed: the channel still holds the session's cycle. */
  cf_session_channel_close (self->channel);
  g_clear_object (&self->channel);
  g_clear_object (&self->server);
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
  g_queue_init (&self->pending);
}

CfStdioTransport *
cf_stdio_transport_new (CfMcpServer   *server,
                        GInputStream  *input,
                        GOutputStream *output)
{
  CfStdioTransport *self;
  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);
  g_return_val_if_fail (G_IS_INPUT_STREAM (input), NULL);
  g_return_val_if_fail (G_IS_OUTPUT_STREAM (output), NULL);

  self = g_object_new (CF_TYPE_STDIO_TRANSPORT, NULL);
  self->server = g_object_ref (server);
  self->input = g_data_input_stream_new (input);
  g_data_input_stream_set_newline_type (self->input, G_DATA_STREAM_NEWLINE_TYPE_ANY);
  self->output = g_object_ref (output);
  /* The channel writes through us until close_transport() or finalize. */
  self->channel = cf_session_channel_new (server, NULL, write_line, self);
  return self;
}

void
cf_stdio_transport_start (CfStdioTransport *self)
{
  g_return_if_fail (CF_IS_STDIO_TRANSPORT (self));
  read_next (self);
}
