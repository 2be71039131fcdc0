/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-sse"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-sse-parser.h"
#include "cf-upstream-endpoint.h"
#include "cf-upstream-http-private.h"
#include "cf-upstream-sse.h"

/**
 * CfUpstreamSse:
 *
 * The client side of the HTTP+SSE transport of protocol version
 * 2024-11-05. A GET opens an event stream whose first event, `endpoint`,
 * names the URL every message is POSTed to; whatever the upstream sends,
 * responses included, comes back as `message` events on that one
 * stream. Like stdio it is a channel all requests share, routed by the
 * base class's rule.
 *
 * The session lives as long as the stream: the stream ending is the
 * upstream being lost, and shutting down is closing it. The endpoint
 * must be on the stream's own origin, so that an upstream cannot send
 * the gateway's requests, and the headers they carry, elsewhere.
 */

struct _CfUpstreamSse
{
  CfUpstreamTransport  parent_instance;

  CfUpstreamEndpoint   net;
  GUri                *endpoint;
  GCancellable        *cancellable;
  SoupMessage         *stream_msg;
  GInputStream        *stream;
  CfSseParser         *sse;
  GTask               *start_task;
};

G_DEFINE_FINAL_TYPE (CfUpstreamSse, cf_upstream_sse, CF_TYPE_UPSTREAM_TRANSPORT)

/* The event stream */

static void
finish_start (CfUpstreamSse *self,
              GError        *error)
{
  g_autoptr(GTask) task = g_steal_pointer (&self->start_task);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

/* The stream is over; @error (owned) says why, to the start if it was
 * still waiting for the endpoint, else to every call in flight. */
static void
end_stream (CfUpstreamSse *self,
            GError        *error)
{
  g_autoptr(GError) owned = error;

  if (self->start_task != NULL)
    finish_start (self, g_steal_pointer (&owned));
  else
    cf_upstream_transport_lost (CF_UPSTREAM_TRANSPORT (self), owned);
  /* After the calls heard why, not before: posts cut short would fail
   * them with a less useful reason. */
  g_cancellable_cancel (self->cancellable);
}

static int
effective_port (GUri *uri)
{
  int port = g_uri_get_port (uri);

  if (port != -1)
    return port;
  return g_ascii_strcasecmp (g_uri_get_scheme (uri), "https") == 0 ? 443 : 80;
}

static gboolean
same_origin (GUri *a,
             GUri *b)
{
  return g_ascii_strcasecmp (g_uri_get_scheme (a), g_uri_get_scheme (b)) == 0 &&
         g_uri_get_host (a) != NULL && g_uri_get_host (b) != NULL &&
         g_ascii_strcasecmp (g_uri_get_host (a), g_uri_get_host (b)) == 0 &&
         effective_port (a) == effective_port (b);
}

/* Returns whether the stream goes on. */
static gboolean
take_endpoint (CfUpstreamSse *self,
               const char    *type,
               const char    *data)
{
  g_autofree char *text = g_strstrip (g_strdup (data));
  g_autoptr(GUri) endpoint = g_uri_parse_relative (self->net.uri, text, SOUP_HTTP_URI_FLAGS,
                                                   NULL);
  GError *error = NULL;

  if (!g_str_equal (type, "endpoint"))
    error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                         "The event stream at %s did not open with an endpoint event",
                         self->net.url);
  else if (endpoint == NULL)
    error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                         "The endpoint event at %s holds no valid URL", self->net.url);
  else if (!same_origin (endpoint, self->net.uri))
    error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                         "The endpoint event at %s names another origin; refused", self->net.url);

  if (error != NULL)
    {
      end_stream (self, error);
      return FALSE;
    }
  self->endpoint = g_steal_pointer (&endpoint);
  finish_start (self, NULL);
  return TRUE;
}

static gboolean
on_event (const char *type,
          const char *data,
          gsize       length,
          gpointer    user_data)
{
  CfUpstreamSse *self = user_data;
  CfUpstreamTransport *transport = CF_UPSTREAM_TRANSPORT (self);

  if (self->endpoint == NULL)
    return take_endpoint (self, type, data);

  if (g_str_equal (type, "message"))
    cf_upstream_transport_receive (transport, data, length);
  else if (g_str_equal (type, "endpoint"))
    cf_upstream_transport_warn (transport, "ignored a second endpoint event");
  return !cf_upstream_transport_is_closed (transport);
}

static void read_next (CfUpstreamSse *self);

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(CfUpstreamSse) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);

  if (bytes == NULL)
    end_stream (self, g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                   "The event stream at %s failed: %s", self->net.url,
                                   error->message));
  else if (g_bytes_get_size (bytes) == 0)
    end_stream (self, g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                   "The upstream closed its event stream at %s", self->net.url));
  else if (cf_sse_parser_feed (self->sse, g_bytes_get_data (bytes, NULL),
                               g_bytes_get_size (bytes), &error))
    read_next (self);
  else if (error != NULL)
    end_stream (self, g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                                   "The event stream at %s broke the protocol: %s",
                                   self->net.url, error->message));
}

static void
read_next (CfUpstreamSse *self)
{
  g_input_stream_read_bytes_async (self->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_read, g_object_ref (self));
}

static void
on_stream_opened (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  g_autoptr(CfUpstreamSse) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result,
                                                           &error);
  guint status = soup_message_get_status (self->stream_msg);
  gsize max = cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (self));

  if (body == NULL)
    {
      end_stream (self, g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                                     "Cannot reach %s: %s", self->net.url, error->message));
      return;
    }
  if (status != SOUP_STATUS_OK || !_cf_upstream_http_is_event_stream (self->stream_msg))
    {
      _cf_upstream_http_drain_and_close (body);
      end_stream (self, g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                                     "%s answered with HTTP %u, not an event stream",
                                     self->net.url, status));
      return;
    }

  self->stream = g_steal_pointer (&body);
  self->sse = cf_sse_parser_new_typed (max, on_event, self);
  read_next (self);
}

/* The caller's cancellable is not watched here: the client bounds the
 * start in time, and gives up by shutting the transport down. */
static void
cf_upstream_sse_start_async (CfUpstreamTransport *transport,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  CfUpstreamSse *self = CF_UPSTREAM_SSE (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  SoupMessageHeaders *headers;

  g_task_set_source_tag (task, cf_upstream_sse_start_async);
  if (self->net.uri == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Invalid upstream URL: %s", self->net.url);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  self->start_task = g_steal_pointer (&task);
  self->stream_msg = cf_upstream_endpoint_new_message (&self->net, SOUP_METHOD_GET, self->net.uri);
  headers = soup_message_get_request_headers (self->stream_msg);
  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  soup_message_headers_replace (headers, "Cache-Control", "no-cache");
  soup_session_send_async (self->net.session, self->stream_msg, G_PRIORITY_DEFAULT,
                           self->cancellable, on_stream_opened, g_object_ref (self));
}

static gboolean
cf_upstream_sse_start_finish (CfUpstreamTransport  *transport,
                              GAsyncResult         *result,
                              GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Posting messages */

static void
on_posted (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfUpstreamSse *self = g_task_get_source_object (task);
  SoupMessage *msg = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result,
                                                           &error);
  guint status = soup_message_get_status (msg);

  if (body == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Cannot post to %s: %s", self->net.url, error->message);
      return;
    }
  /* What matters comes on the event stream; the body is only read so
   * that the connection can be kept. */
  _cf_upstream_http_drain_and_close (body);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                             "The upstream refused a message with HTTP %u", status);
  else
    g_task_return_boolean (task, TRUE);
}

/* POSTs @message to the endpoint. Not cancelled when a call ends: its
 * response may well arrive on the stream before the POST is answered,
 * and cutting the POST short would cost the connection. */
static void
post_async (CfUpstreamSse       *self,
            GBytes              *body,
            gpointer             source_tag,
            GAsyncReadyCallback  callback,
            gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, self->cancellable, callback, user_data);
  SoupMessage *msg;

  g_task_set_source_tag (task, source_tag);
  if (self->endpoint == NULL || g_cancellable_is_cancelled (self->cancellable))
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                               "The event stream at %s is closed", self->net.url);
      return;
    }

  msg = cf_upstream_endpoint_new_message (&self->net, SOUP_METHOD_POST, self->endpoint);
  /* As for Streamable HTTP: a POST goes out on a kept-alive connection
   * only when marked idempotent. */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  g_task_set_task_data (task, msg, g_object_unref);
  soup_session_send_async (self->net.session, msg, G_PRIORITY_DEFAULT, self->cancellable, on_posted,
                           g_steal_pointer (&task));
}

static void
on_request_posted (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(CfUpstreamCall) call = user_data;
  SoupMessage *msg = g_task_get_task_data (G_TASK (result));
  g_autoptr(GError) error = NULL;

  call->http_status = msg ? soup_message_get_status (msg) : 0;
  if (!g_task_propagate_boolean (G_TASK (result), &error))
    cf_upstream_call_fail (call, error);
}

static void
cf_upstream_sse_send_request (CfUpstreamTransport *transport,
                              CfUpstreamCall      *call)
{
  post_async (CF_UPSTREAM_SSE (transport), call->text, cf_upstream_sse_send_request,
              on_request_posted, cf_upstream_call_ref (call));
}

static void
cf_upstream_sse_send_message_async (CfUpstreamTransport *transport,
                                    JsonNode            *message,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  g_autoptr(GBytes) body = cf_json_to_bytes (message);

  post_async (CF_UPSTREAM_SSE (transport), body, cf_upstream_sse_send_message_async,
              callback, user_data);
}

static gboolean
cf_upstream_sse_send_message_finish (CfUpstreamTransport  *transport,
                                     GAsyncResult         *result,
                                     GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Closing the stream ends the session: 2024-11-05 has no DELETE. */
static void
cf_upstream_sse_shutdown (CfUpstreamTransport *transport)
{
  g_cancellable_cancel (CF_UPSTREAM_SSE (transport)->cancellable);
}

static void
cf_upstream_sse_finalize (GObject *object)
{
  CfUpstreamSse *self = CF_UPSTREAM_SSE (object);

  g_cancellable_cancel (self->cancellable);
  if (self->stream != NULL)
    g_input_stream_close_async (self->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&self->stream);
  g_clear_object (&self->stream_msg);
  g_clear_pointer (&self->sse, cf_sse_parser_free);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->endpoint, g_uri_unref);
  cf_upstream_endpoint_clear (&self->net);

  G_OBJECT_CLASS (cf_upstream_sse_parent_class)->finalize (object);
}

static void
cf_upstream_sse_class_init (CfUpstreamSseClass *klass)
{
  CfUpstreamTransportClass *transport_class = CF_UPSTREAM_TRANSPORT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cf_upstream_sse_finalize;
  transport_class->start_async = cf_upstream_sse_start_async;
  transport_class->start_finish = cf_upstream_sse_start_finish;
  transport_class->send_request = cf_upstream_sse_send_request;
  transport_class->send_message_async = cf_upstream_sse_send_message_async;
  transport_class->send_message_finish = cf_upstream_sse_send_message_finish;
  transport_class->shutdown = cf_upstream_sse_shutdown;
  transport_class->stream_per_request = FALSE;
}

static void
cf_upstream_sse_init (CfUpstreamSse *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_upstream_sse_new:
 * @url: the upstream's SSE URL
 * @session: the HTTP session to send with
 * @headers: (nullable): header names and values every request carries
 *
 * Returns: (transfer full): a new transport; start it to open the stream
 */
CfUpstreamTransport *
cf_upstream_sse_new (const char  *url,
                     SoupSession *session,
                     GHashTable  *headers)
{
  CfUpstreamSse *self = g_object_new (CF_TYPE_UPSTREAM_SSE, NULL);

  cf_upstream_endpoint_init (&self->net, url, "http", "https", session, headers);
  return CF_UPSTREAM_TRANSPORT (self);
}
