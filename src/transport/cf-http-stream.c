/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http-stream"

#include "config.h"

#include "cf-http-server.h"
#include "cf-http-stream.h"
#include "cf-json.h"
#include "cf-mcp-session.h"

/**
 * CfHttpStream:
 *
 * The answer to one HTTP request, as an MCP stream. It starts undecided:
 * a request answered with nothing before its result goes out as plain JSON
 * (the fast path), and the first notification or server-to-client request
 * turns the response into an SSE stream, on which the result comes last.
 * It also owns the transport context of its request, so that a session
 * minted by `initialize` ends up in the Mcp-Session-Id header.
 */
typedef enum {
  STATE_IDLE,
  STATE_SSE,
  STATE_DONE,
} State;

struct _CfHttpStream
{
  GObject                parent_instance;

  CfHttpExchange        *exchange;
  CfMcpTransportContext  context;
  CfMcpStreamClosedFunc  closed_func;
  gpointer               closed_data;
  State                  state;
  guint                  accept_json : 1;
  guint                  accept_sse : 1;
};

static void stream_iface_init (CfMcpStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfHttpStream, cf_http_stream, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_MCP_STREAM, stream_iface_init))

static void
set_session_header (CfHttpStream *self)
{
  if (self->context.session != NULL)
    soup_message_headers_replace (cf_http_exchange_get_response_headers (self->exchange),
                                  "Mcp-Session-Id",
                                  cf_mcp_session_get_id (self->context.session));
}

static void
write_raw (CfHttpStream *self,
           const char   *data,
           gsize         length)
{
  cf_http_exchange_write (self->exchange, data, length);
}

static void
write_event_bytes (CfHttpStream *self,
                   GBytes       *message)
{
  gsize length = 0;
  const char *json = g_bytes_get_data (message, &length);
  g_autoptr(GString) event = g_string_sized_new (length + 16);

  /* One event per message, no event name: the default "message" event is
   * what every SSE client of MCP reads. */
  g_string_append_len (event, "data: ", 6);
  g_string_append_len (event, json, length);
  g_string_append_len (event, "\n\n", 2);
  write_raw (self, event->str, event->len);
}

/**
 * cf_http_stream_start_sse:
 *
 * Sends the headers of an SSE response; later messages become events.
 */
void
cf_http_stream_start_sse (CfHttpStream *self)
{
  SoupMessageHeaders *headers;

  g_return_if_fail (CF_IS_HTTP_STREAM (self));
  g_return_if_fail (self->state == STATE_IDLE);

  headers = cf_http_exchange_get_response_headers (self->exchange);
  soup_message_headers_set_content_type (headers, "text/event-stream", NULL);
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_message_headers_replace (headers, "X-Accel-Buffering", "no");
  set_session_header (self);
  self->state = STATE_SSE;
  cf_http_exchange_begin_stream (self->exchange);

  /* Flush the headers now: a client waiting on a quiet stream must see
   * that it is open. */
  write_raw (self, ": stream open\n\n", 15);
}

void
cf_http_stream_keepalive (CfHttpStream *self)
{
  g_return_if_fail (CF_IS_HTTP_STREAM (self));

  if (self->state == STATE_SSE)
    write_raw (self, ":\n\n", 3);
}

gboolean
cf_http_stream_is_open (CfHttpStream *self)
{
  g_return_val_if_fail (CF_IS_HTTP_STREAM (self), FALSE);
  return self->state != STATE_DONE;
}

static gboolean
http_send_bytes (CfMcpStream *stream,
                 GBytes      *message)
{
  CfHttpStream *self = (CfHttpStream *) stream;

  if (self->state == STATE_DONE || !self->accept_sse)
    return FALSE;
  if (self->state == STATE_IDLE)
    cf_http_stream_start_sse (self);
  write_event_bytes (self, message);
  return TRUE;
}

static void
http_finish_bytes (CfMcpStream *stream,
                   GBytes      *message,
                   guint        status)
{
  CfHttpStream *self = (CfHttpStream *) stream;
  State state = self->state;

  if (state == STATE_DONE)
    return;
  self->state = STATE_DONE;

  if (state == STATE_SSE)
    {
      if (message != NULL)
        write_event_bytes (self, message);
      cf_http_exchange_end_stream (self->exchange);
      return;
    }

  set_session_header (self);
  if (message != NULL && !self->accept_json && self->accept_sse)
    {
      /* A client that accepts only SSE gets the single answer as an event. */
      self->state = STATE_IDLE;
      cf_http_stream_start_sse (self);
      self->state = STATE_DONE;
      write_event_bytes (self, message);
      cf_http_exchange_end_stream (self->exchange);
      return;
    }
  if (message == NULL)
    cf_http_exchange_set_status (self->exchange, status ? status : SOUP_STATUS_ACCEPTED);
  else
    cf_http_exchange_respond_json_bytes (self->exchange, status ? status : SOUP_STATUS_OK, message);
  cf_http_exchange_unpause (self->exchange);
}

/* The request this stream answers watches it without a signal. */
static gboolean
http_watch_closed (CfMcpStream           *stream,
                   CfMcpStreamClosedFunc  func,
                   gpointer               user_data)
{
  CfHttpStream *self = CF_HTTP_STREAM (stream);

  if (func != NULL && self->closed_func != NULL)
    return FALSE;
  self->closed_func = func;
  self->closed_data = user_data;
  return TRUE;
}

static void
stream_iface_init (CfMcpStreamInterface *iface)
{
  iface->send_bytes = http_send_bytes;
  iface->finish_bytes = http_finish_bytes;
  iface->watch_closed = http_watch_closed;
}

static void
on_finished (CfHttpExchange *exchange,
             gpointer        user_data)
{
  CfHttpStream *self = user_data;
  g_autoptr(CfHttpStream) hold = g_object_ref (self);

  if (self->state != STATE_DONE)
    {
      CfMcpStreamClosedFunc func = g_steal_pointer (&self->closed_func);

      self->state = STATE_DONE;
      if (func != NULL)
        func (CF_MCP_STREAM (self), g_steal_pointer (&self->closed_data));
      cf_mcp_stream_emit_closed (CF_MCP_STREAM (self));
    }
  g_clear_object (&self->exchange);
}

static void
cf_http_stream_dispose (GObject *object)
{
  CfHttpStream *self = (CfHttpStream *) object;

  if (self->exchange != NULL)
    cf_http_exchange_set_finished_func (self->exchange, NULL, NULL);
  g_clear_object (&self->exchange);
  g_clear_object (&self->context.session);

  G_OBJECT_CLASS (cf_http_stream_parent_class)->dispose (object);
}

static void
cf_http_stream_class_init (CfHttpStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cf_http_stream_dispose;
}

static void
cf_http_stream_init (CfHttpStream *self)
{
}

/**
 * cf_http_stream_new:
 * @exchange: the request to answer; it is paused until the stream finishes
 * @accept_json: whether the client accepts application/json
 * @accept_sse: whether the client accepts text/event-stream
 *
 * Returns: (transfer full): a new stream
 */
CfHttpStream *
cf_http_stream_new (CfHttpExchange *exchange,
                    gboolean        accept_json,
                    gboolean        accept_sse)
{
  CfHttpStream *self = g_object_new (CF_TYPE_HTTP_STREAM, NULL);

  self->exchange = g_object_ref (exchange);
  self->accept_json = !!accept_json;
  self->accept_sse = !!accept_sse;
  self->context.validate_headers = TRUE;
  cf_http_exchange_set_finished_func (exchange, on_finished, self);
  cf_http_exchange_pause (exchange);
  return self;
}

/**
 * cf_http_stream_get_context:
 *
 * Returns: (transfer none): the transport context, owned by the stream
 */
CfMcpTransportContext *
cf_http_stream_get_context (CfHttpStream *self)
{
  g_return_val_if_fail (CF_IS_HTTP_STREAM (self), NULL);
  return &self->context;
}
