/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-ws"

#include "config.h"

#include "cf-json.h"
#include "cf-upstream-endpoint.h"
#include "cf-upstream-ws.h"

/**
 * CfUpstreamWs:
 *
 * An upstream MCP server over a WebSocket: the `mcp` subprotocol, one
 * text frame per JSON-RPC message, both ways. Like stdio it is a channel
 * all requests share, routed by the base class's rule. A server that
 * does not agree to the subprotocol is refused, as browsers and the SDK
 * refuse it; the socket closing, from either side, is the upstream being
 * lost.
 *
 * libsoup bounds each incoming frame by the client's largest message. A
 * frame over it closes the socket (code 1009), which fails every call in
 * flight: nothing in a frame cut short says whose it was.
 */

#define SUBPROTOCOL "mcp"

struct _CfUpstreamWs
{
  CfUpstreamTransport      parent_instance;

  CfUpstreamEndpoint       net;
  GCancellable            *cancellable;
  SoupWebsocketConnection *connection;
  /* The first failure libsoup reported, which is why it closed. */
  GError                  *error;
};

G_DEFINE_FINAL_TYPE (CfUpstreamWs, cf_upstream_ws, CF_TYPE_UPSTREAM_TRANSPORT)

/* Receiving */

static void
on_message (SoupWebsocketConnection *connection,
            int                      type,
            GBytes                  *message,
            gpointer                 user_data)
{
  CfUpstreamTransport *transport = user_data;
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);

  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    cf_upstream_transport_warn (transport, "dropped a binary frame of %" G_GSIZE_FORMAT " bytes",
                                length);
  else
    cf_upstream_transport_receive (transport, data ? data : "", length);
}

static void
on_error (SoupWebsocketConnection *connection,
          GError                  *error,
          gpointer                 user_data)
{
  CfUpstreamWs *self = user_data;

  g_debug ("The WebSocket to %s failed: %s", self->net.url, error->message);
  if (self->error == NULL)
    self->error = g_error_copy (error);
}

static GError *
closed_error (CfUpstreamWs *self)
{
  gsize max = cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (self));
  gushort code = soup_websocket_connection_get_close_code (self->connection);

  if (g_error_matches (self->error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_CLOSE_TOO_BIG))
    return g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                        "The upstream sent a message over %" G_GSIZE_FORMAT " bytes", max);
  if (self->error != NULL)
    return g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                        "The WebSocket to %s failed: %s", self->net.url, self->error->message);
  return g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                      "The upstream closed the WebSocket at %s (code %u)", self->net.url, code);
}

static void
on_closed (SoupWebsocketConnection *connection,
           gpointer                 user_data)
{
  CfUpstreamWs *self = user_data;
  g_autoptr(GError) error = closed_error (self);

  cf_upstream_transport_lost (CF_UPSTREAM_TRANSPORT (self), error);
}

/* Sending */

static gboolean
send_text (CfUpstreamWs  *self,
           const char    *text,
           gsize          length,
           GError       **error)
{
  if (self->connection == NULL ||
      soup_websocket_connection_get_state (self->connection) != SOUP_WEBSOCKET_STATE_OPEN)
    {
      g_set_error (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                   "The WebSocket to %s is closed", self->net.url);
      return FALSE;
    }
  /* libsoup drops a text frame that is not UTF-8 with a critical only. */
  if (!g_utf8_validate_len (text, length, NULL))
    {
      g_set_error_literal (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                           "A message for the upstream is not valid UTF-8");
      return FALSE;
    }
  soup_websocket_connection_send_text (self->connection, text);
  return TRUE;
}

static void
cf_upstream_ws_send_request (CfUpstreamTransport *transport,
                             CfUpstreamCall      *call)
{
  g_autoptr(GError) error = NULL;
  gsize length;
  /* NUL-terminated past its size, as libsoup wants it. */
  const char *text = g_bytes_get_data (call->text, &length);

  if (!send_text (CF_UPSTREAM_WS (transport), text, length, &error))
    cf_upstream_call_fail (call, error);
}

static void
cf_upstream_ws_send_message_async (CfUpstreamTransport *transport,
                                   JsonNode            *message,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (transport, cancellable, callback, user_data);
  GError *error = NULL;

  gsize length = 0;
  g_autofree char *text = cf_json_to_string (message, &length);

  g_task_set_source_tag (task, cf_upstream_ws_send_message_async);
  if (send_text (CF_UPSTREAM_WS (transport), text, length, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

static gboolean
cf_upstream_ws_send_message_finish (CfUpstreamTransport  *transport,
                                    GAsyncResult         *result,
                                    GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Connecting */

static GError *
check_connection (CfUpstreamWs            *self,
                  SoupWebsocketConnection *connection)
{
  if (g_strcmp0 (soup_websocket_connection_get_protocol (connection), SUBPROTOCOL) != 0)
    return g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                        "%s did not accept the " SUBPROTOCOL " WebSocket subprotocol",
                        self->net.url);
  if (cf_upstream_transport_is_closed (CF_UPSTREAM_TRANSPORT (self)))
    return g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                        "The connection to %s was closed", self->net.url);
  return NULL;
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfUpstreamWs *self = g_task_get_source_object (task);
  SoupMessage *msg = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupWebsocketConnection) connection = NULL;
  gsize max = cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (self));

  connection = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, &error);
  if (connection == NULL && soup_message_get_status (msg) != SOUP_STATUS_NONE &&
      soup_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                             "%s refused the WebSocket with HTTP %u", self->net.url,
                             soup_message_get_status (msg));
  else if (connection == NULL)
    g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                             "Cannot open a WebSocket to %s: %s", self->net.url, error->message);
  else if ((error = check_connection (self, connection)) != NULL)
    {
      soup_websocket_connection_close (connection, SOUP_WEBSOCKET_CLOSE_PROTOCOL_ERROR, NULL);
      g_task_return_error (task, g_steal_pointer (&error));
    }
  else
    {
      self->connection = g_steal_pointer (&connection);
      soup_websocket_connection_set_max_incoming_payload_size (self->connection, max);
      g_signal_connect_object (self->connection, "message", G_CALLBACK (on_message), self, 0);
      g_signal_connect_object (self->connection, "error", G_CALLBACK (on_error), self, 0);
      g_signal_connect_object (self->connection, "closed", G_CALLBACK (on_closed), self, 0);
      g_task_return_boolean (task, TRUE);
    }
}

/* The caller's cancellable is not watched here: the client bounds the
 * start in time, and gives up by shutting the transport down. */
static void
cf_upstream_ws_start_async (CfUpstreamTransport *transport,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  CfUpstreamWs *self = CF_UPSTREAM_WS (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  char *protocols[] = { (char *) SUBPROTOCOL, NULL };
  SoupMessage *msg;

  g_task_set_source_tag (task, cf_upstream_ws_start_async);
  if (self->net.uri == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Invalid upstream URL (not ws or wss): %s", self->net.url);
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  msg = cf_upstream_endpoint_new_message (&self->net, SOUP_METHOD_GET, self->net.uri);
  g_task_set_task_data (task, msg, g_object_unref);
  soup_session_websocket_connect_async (self->net.session, msg, NULL, protocols,
                                        G_PRIORITY_DEFAULT, self->cancellable, on_connected,
                                        g_steal_pointer (&task));
}

static gboolean
cf_upstream_ws_start_finish (CfUpstreamTransport  *transport,
                             GAsyncResult         *result,
                             GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cf_upstream_ws_shutdown (CfUpstreamTransport *transport)
{
  CfUpstreamWs *self = CF_UPSTREAM_WS (transport);

  g_cancellable_cancel (self->cancellable);
  if (self->connection != NULL &&
      soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
    soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
}

static void
cf_upstream_ws_dispose (GObject *object)
{
  CfUpstreamWs *self = CF_UPSTREAM_WS (object);

  g_cancellable_cancel (self->cancellable);
  if (self->connection != NULL)
    {
      g_signal_handlers_disconnect_by_data (self->connection, self);
      if (soup_websocket_connection_get_state (self->connection) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (self->connection, SOUP_WEBSOCKET_CLOSE_GOING_AWAY, NULL);
    }
  g_clear_object (&self->connection);

  G_OBJECT_CLASS (cf_upstream_ws_parent_class)->dispose (object);
}

static void
cf_upstream_ws_finalize (GObject *object)
{
  CfUpstreamWs *self = CF_UPSTREAM_WS (object);

  g_clear_object (&self->cancellable);
  g_clear_error (&self->error);
  cf_upstream_endpoint_clear (&self->net);

  G_OBJECT_CLASS (cf_upstream_ws_parent_class)->finalize (object);
}

static void
cf_upstream_ws_class_init (CfUpstreamWsClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CfUpstreamTransportClass *transport_class = CF_UPSTREAM_TRANSPORT_CLASS (klass);

  object_class->dispose = cf_upstream_ws_dispose;
  object_class->finalize = cf_upstream_ws_finalize;
  transport_class->start_async = cf_upstream_ws_start_async;
  transport_class->start_finish = cf_upstream_ws_start_finish;
  transport_class->send_request = cf_upstream_ws_send_request;
  transport_class->send_message_async = cf_upstream_ws_send_message_async;
  transport_class->send_message_finish = cf_upstream_ws_send_message_finish;
  transport_class->shutdown = cf_upstream_ws_shutdown;
  transport_class->stream_per_request = FALSE;
}

static void
cf_upstream_ws_init (CfUpstreamWs *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_upstream_ws_new:
 * @url: the upstream's ws:// or wss:// URL
 * @session: the HTTP session to connect with
 * @headers: (nullable): header names and values the handshake carries
 *
 * Returns: (transfer full): a new transport; start it to connect
 */
CfUpstreamTransport *
cf_upstream_ws_new (const char  *url,
                    SoupSession *session,
                    GHashTable  *headers)
{
  CfUpstreamWs *self = g_object_new (CF_TYPE_UPSTREAM_WS, NULL);

  cf_upstream_endpoint_init (&self->net, url, "ws", "wss", session, headers);
  return CF_UPSTREAM_TRANSPORT (self);
}
