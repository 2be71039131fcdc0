/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-websocket"

#include "config.h"

#include "cf-identity.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-session-channel.h"
#include "cf-websocket.h"

#define DEFAULT_KEEPALIVE 30
#define STATUS_UPGRADE_REQUIRED 426
/* As for SSE streams: each holds a connection. */
#define MAX_CONNECTIONS 1024

/**
 * CfWebsocket:
 *
 * MCP over WebSocket at an endpoint such as `/ws`, with the subprotocol
 * `mcp` that the TypeScript SDK's client asks for (a client that names no
 * subprotocol is served too). One text frame carries one JSON-RPC message
 * each way; the connection is one implicit legacy session, as a stdio
 * connection is, and 2026-07-28 requests are served statelessly on it.
 *
 * The upgrade request runs through the HTTP middleware chain like any
 * other, so the Host and Origin checks against DNS rebinding apply to it.
 * A binary frame closes the connection with 1003, a message larger than
 * the HTTP body limit with 1009; text that is not JSON gets a JSON-RPC
 * parse error. Pings go out every keepalive interval, so that a vanished
 * peer is noticed.
 */
struct _CfWebsocket
{
  GObject      parent_instance;

  CfMcpServer *server;
  char        *path;
  GPtrArray   *connections;
  guint        keepalive;
};

G_DEFINE_FINAL_TYPE (CfWebsocket, cf_websocket, G_TYPE_OBJECT)

static char *protocols[] = { "mcp", NULL };

typedef struct {
  CfWebsocket             *owner;
  SoupWebsocketConnection *ws;
  CfSessionChannel        *channel;
  gsize                    max_message;
  gulong                   message_id;
  gulong                   closed_id;
} Connection;

/* What the upgrade request found, until its 101 is written. */
typedef struct {
  CfWebsocket *owner;
  SoupServer  *soup;
  CfMcpServer *server;
  char        *scope;
  CfIdentity  *identity;
  gsize        max_message;
} Upgrade;

static void
connection_free (Connection *conn)
{
  g_clear_signal_handler (&conn->message_id, conn->ws);
  g_clear_signal_handler (&conn->closed_id, conn->ws);
  cf_session_channel_close (conn->channel);
  g_clear_object (&conn->channel);
  g_clear_object (&conn->ws);
  g_free (conn);
}

static void
upgrade_free (gpointer  data,
              GClosure *closure)
{
  Upgrade *upgrade = data;

  g_clear_object (&upgrade->owner);
  g_clear_object (&upgrade->soup);
  g_clear_object (&upgrade->server);
  g_clear_pointer (&upgrade->scope, g_free);
  g_clear_object (&upgrade->identity);
  g_free (upgrade);
}

static gboolean
write_message (GBytes   *message,
               gpointer  user_data)
{
  Connection *conn = user_data;

  if (soup_websocket_connection_get_state (conn->ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return FALSE;
  soup_websocket_connection_send_message (conn->ws, SOUP_WEBSOCKET_DATA_TEXT, message);
  return TRUE;
}

static void
on_message (SoupWebsocketConnection *ws,
            int                      type,
            GBytes                  *message,
            Connection              *conn)
{
  gsize size = 0;
  const char *data = g_bytes_get_data (message, &size);

  if (soup_websocket_connection_get_state (ws) != SOUP_WEBSOCKET_STATE_OPEN)
    return;
  if (type != SOUP_WEBSOCKET_DATA_TEXT)
    {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_UNSUPPORTED_DATA,
                                       "Binary frames are not supported: send JSON-RPC as text");
      return;
    }
  /* libsoup bounds each frame; this bounds a message sent in fragments. */
  if (size > conn->max_message)
    {
      soup_websocket_connection_close (ws, SOUP_WEBSOCKET_CLOSE_TOO_BIG,
                                       "Message exceeds the size limit");
      return;
    }
  cf_session_channel_receive (conn->channel, data, size);
}

static void
on_closed (SoupWebsocketConnection *ws,
           Connection              *conn)
{
  g_debug ("WebSocket session %s closed (%u)", cf_session_channel_get_id (conn->channel),
           soup_websocket_connection_get_close_code (ws));
  g_ptr_array_remove_fast (conn->owner->connections, conn);
}

static void
start_connection (Upgrade                 *upgrade,
                  SoupWebsocketConnection *ws)
{
  CfWebsocket *self = upgrade->owner;
  Connection *conn = g_new0 (Connection, 1);

  conn->owner = self;
  conn->ws = g_object_ref (ws);
  conn->max_message = upgrade->max_message;
  conn->channel = cf_session_channel_new (upgrade->server, upgrade->scope, write_message, conn);
  cf_session_channel_set_identity (conn->channel, upgrade->identity);
  g_ptr_array_add (self->connections, conn);

  /* libsoup refuses a frame whose payload reaches its limit. */
  soup_websocket_connection_set_max_incoming_payload_size (ws, upgrade->max_message + 1);
  soup_websocket_connection_set_keepalive_interval (ws, self->keepalive);
  conn->message_id = g_signal_connect (ws, "message", G_CALLBACK (on_message), conn);
  conn->closed_id = g_signal_connect (ws, "closed", G_CALLBACK (on_closed), conn);
  g_debug ("WebSocket session %s opened", cf_session_channel_get_id (conn->channel));
}

/* The 101 is out: the connection is ours from here on, as libsoup's own
 * WebSocket handler takes it. */
static void
complete_upgrade (SoupServerMessage *msg,
                  Upgrade           *upgrade)
{
  g_autoptr(SoupServerMessage) hold = g_object_ref (msg);
  g_autoptr(GIOStream) stream = NULL;
  g_autoptr(SoupWebsocketConnection) ws = NULL;
  SoupMessageHeaders *request = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response = soup_server_message_get_response_headers (msg);

  if (soup_server_message_get_status (msg) != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return;
  stream = soup_server_message_steal_connection (msg);
  ws = soup_websocket_connection_new (stream, soup_server_message_get_uri (msg),
                                      SOUP_WEBSOCKET_CONNECTION_SERVER,
                                      soup_message_headers_get_one (request, "Origin"),
                                      soup_message_headers_get_one (response,
                                                                    "Sec-WebSocket-Protocol"),
                                      NULL);
  /* libsoup ends a stolen request without a word: its 101 is complete,
   * so say so, or the server would count it in flight (and a graceful
   * stop would wait for it) for as long as the WebSocket lives. */
  g_signal_emit_by_name (upgrade->soup, "request-finished", msg);
  start_connection (upgrade, ws);
}

static void
serve_upgrade (CfWebsocket       *self,
               CfHttpServer      *http,
               SoupServerMessage *msg,
               CfMcpServer       *server,
               const char        *scope)
{
  g_autoptr(GError) error = NULL;
  GList *extensions = NULL;
  Upgrade *upgrade;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Allow", "GET");
      cf_http_respond_rpc_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, CF_JSONRPC_INVALID_REQUEST,
                         "Method Not Allowed: open a WebSocket with GET");
      return;
    }
  if (!soup_websocket_server_check_handshake (msg, NULL, protocols, NULL, &error))
    {
      g_autofree char *text = g_strdup_printf ("Bad Request: %s", error->message);

      if (g_error_matches (error, SOUP_WEBSOCKET_ERROR, SOUP_WEBSOCKET_ERROR_NOT_WEBSOCKET))
        {
          soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                        "Upgrade", "websocket");
          cf_http_respond_rpc_error (msg, STATUS_UPGRADE_REQUIRED, CF_JSONRPC_INVALID_REQUEST,
                             "Upgrade Required: this endpoint speaks MCP over WebSocket");
        }
      else
        cf_http_respond_rpc_error (msg, SOUP_STATUS_BAD_REQUEST, CF_JSONRPC_INVALID_REQUEST, text);
      return;
    }
  if (self->connections->len >= MAX_CONNECTIONS)
    {
      cf_http_respond_rpc_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, CF_JSONRPC_INTERNAL_ERROR,
                         "Too many WebSocket connections: retry later");
      return;
    }

  /* No extensions are offered, so none can be accepted. */
  soup_websocket_server_process_handshake (msg, NULL, protocols, NULL, &extensions);
  g_list_free_full (extensions, g_object_unref);

  upgrade = g_new0 (Upgrade, 1);
  upgrade->owner = g_object_ref (self);
  upgrade->soup = g_object_ref (cf_http_server_get_soup_server (http));
  upgrade->server = g_object_ref (server);
  upgrade->scope = g_strdup (scope);
  if (cf_identity_from_message (msg) != NULL)
    upgrade->identity = g_object_ref (cf_identity_from_message (msg));
  upgrade->max_message = cf_http_server_get_max_body (http);
  g_signal_connect_data (msg, "wrote-informational", G_CALLBACK (complete_upgrade), upgrade,
                         upgrade_free, 0);
}

static void
on_endpoint (CfHttpServer      *http,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  CfWebsocket *self = user_data;

  if (!g_str_equal (path, self->path))
    {
      cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
      return;
    }
  serve_upgrade (self, http, msg, self->server, NULL);
}

static void
on_scoped_endpoint (CfHttpServer      *http,
                    SoupServerMessage *msg,
                    CfMcpServer       *server,
                    const char        *scope,
                    GHashTable        *query,
                    gpointer           user_data)
{
  serve_upgrade (user_data, http, msg, server, scope);
}

static void
cf_websocket_dispose (GObject *object)
{
  CfWebsocket *self = (CfWebsocket *) object;

  if (self->connections != NULL)
    g_ptr_array_set_size (self->connections, 0);

  G_OBJECT_CLASS (cf_websocket_parent_class)->dispose (object);
}

static void
cf_websocket_finalize (GObject *object)
{
  CfWebsocket *self = (CfWebsocket *) object;

  g_clear_object (&self->server);
  g_clear_pointer (&self->path, g_free);
  g_clear_pointer (&self->connections, g_ptr_array_unref);

  G_OBJECT_CLASS (cf_websocket_parent_class)->finalize (object);
}

static void
cf_websocket_class_init (CfWebsocketClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_websocket_dispose;
  object_class->finalize = cf_websocket_finalize;
}

static void
cf_websocket_init (CfWebsocket *self)
{
  self->connections = g_ptr_array_new_with_free_func ((GDestroyNotify) connection_free);
  self->keepalive = DEFAULT_KEEPALIVE;
}

/**
 * cf_websocket_new:
 * @server: the MCP server behind the unscoped endpoint
 *
 * Returns: (transfer full): a new transport
 */
CfWebsocket *
cf_websocket_new (CfMcpServer *server)
{
  CfWebsocket *self;

  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);

  self = g_object_new (CF_TYPE_WEBSOCKET, NULL);
  self->server = g_object_ref (server);
  return self;
}

/**
 * cf_websocket_mount:
 * @self: a #CfWebsocket
 * @http: the HTTP server
 * @path: the endpoint, such as "/ws"
 */
void
cf_websocket_mount (CfWebsocket  *self,
                    CfHttpServer *http,
                    const char   *path)
{
  g_return_if_fail (CF_IS_WEBSOCKET (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (http));
  g_return_if_fail (path != NULL && path[0] == '/');
  g_return_if_fail (self->path == NULL);

  self->path = g_strdup (path);
  cf_http_server_add_route (http, path, on_endpoint, self);
}

/**
 * cf_websocket_mount_scoped:
 * @self: a #CfWebsocket
 * @streamable: the transport that routes `{prefix}/{id}/…`
 *
 * Serves `{prefix}/{id}/ws`, connections scoped to one virtual server.
 */
void
cf_websocket_mount_scoped (CfWebsocket      *self,
                           CfStreamableHttp *streamable)
{
  g_return_if_fail (CF_IS_WEBSOCKET (self));
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (streamable));

  cf_streamable_http_add_scoped_endpoint (streamable, "ws", on_scoped_endpoint, self);
}

/**
 * cf_websocket_set_keepalive:
 * @self: a #CfWebsocket
 * @seconds: the ping interval of connections opened from now on
 */
void
cf_websocket_set_keepalive (CfWebsocket *self,
                            guint        seconds)
{
  g_return_if_fail (CF_IS_WEBSOCKET (self));
  self->keepalive = MAX (seconds, 1);
}

guint
cf_websocket_get_n_connections (CfWebsocket *self)
{
  g_return_val_if_fail (CF_IS_WEBSOCKET (self), 0);
  return self->connections->len;
}

/**
 * cf_websocket_close_all:
 *
 * Starts the closing handshake of every connection (1001, going away) and
 * cancels their sessions' work, for shutdown.
 */
void
cf_websocket_close_all (CfWebsocket *self)
{
  g_return_if_fail (CF_IS_WEBSOCKET (self));

  for (guint i = 0; i < self->connections->len; i++)
    {
      Connection *conn = g_ptr_array_index (self->connections, i);

      cf_session_channel_close (conn->channel);
      if (soup_websocket_connection_get_state (conn->ws) == SOUP_WEBSOCKET_STATE_OPEN)
        soup_websocket_connection_close (conn->ws, SOUP_WEBSOCKET_CLOSE_GOING_AWAY,
                                         "Server shutting down");
    }
}
