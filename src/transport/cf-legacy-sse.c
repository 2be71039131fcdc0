/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-legacy-sse"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "cf-http-stream.h"
#include "cf-identity.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-legacy-sse.h"
#include "cf-session-channel.h"

#define DEFAULT_KEEPALIVE 30
/* Each stream holds a connection; past this many, new ones are refused
 * rather than let one client exhaust the process's descriptors. */
#define MAX_STREAMS 1024

/**
 * CfLegacySse:
 *
 * MCP's HTTP+SSE transport of protocol version 2024-11-05, which clients
 * and gateways still speak: `GET /sse` opens a stream whose first event,
 * `endpoint`, names the URI to POST messages to
 * (`/message?session_id=…`); each POST is answered 202 at once, and every
 * answer, notification and server-to-client request goes out on the
 * stream as a `message` event. The stream is the session: when it closes,
 * the session's requests in flight are cancelled and its id is forgotten.
 *
 * The endpoint URI is relative to the server, as the reference SDKs send
 * it: clients resolve it against the URL of the stream, so that it holds
 * behind a proxy and never echoes a Host header.
 */
struct _CfLegacySse
{
  GObject       parent_instance;

  CfMcpServer  *server;
  char         *sse_path;
  char         *message_path;
  GHashTable   *streams;
  guint         keepalive;
  guint         keepalive_id;
};

G_DEFINE_FINAL_TYPE (CfLegacySse, cf_legacy_sse, G_TYPE_OBJECT)

/* One open GET stream and its session. */
typedef struct {
  CfLegacySse      *owner;
  CfHttpStream     *stream;
  CfSessionChannel *channel;
  GSource          *watch;
  gulong            closed_id;
} Stream;

static void
stream_free (Stream *stream)
{
  if (stream->watch != NULL)
    {
      g_source_destroy (stream->watch);
      g_source_unref (stream->watch);
    }
  g_clear_signal_handler (&stream->closed_id, stream->stream);
  cf_session_channel_close (stream->channel);
  /* Ends the response if the client has not gone already. */
  cf_mcp_stream_finish (CF_MCP_STREAM (stream->stream), NULL, 0);
  g_clear_object (&stream->channel);
  g_clear_object (&stream->stream);
  g_free (stream);
}

static void
drop_stream (Stream *stream)
{
  g_debug ("SSE session %s closed", cf_session_channel_get_id (stream->channel));
  g_hash_table_remove (stream->owner->streams, cf_session_channel_get_id (stream->channel));
}

static void
respond_method_not_allowed (SoupServerMessage *msg,
                            const char        *allow)
{
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow", allow);
  cf_http_respond_rpc_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, CF_JSONRPC_INVALID_REQUEST,
                     "Method Not Allowed");
}

static gboolean
write_message (GBytes   *message,
               gpointer  user_data)
{
  Stream *stream = user_data;

  return cf_mcp_stream_send_bytes (CF_MCP_STREAM (stream->stream), message);
}

static void
on_stream_closed (CfMcpStream *http_stream,
                  Stream      *stream)
{
  drop_stream (stream);
}

/* A client that closes its stream is seen at once, not at the next
 * keepalive: nothing is read from the connection of a streaming response,
 * so readability there means end of file (or a client that breaks the
 * protocol, which the keepalive then deals with). */
static gboolean
on_socket_ready (GSocket      *socket,
                 GIOCondition  condition,
                 gpointer      user_data)
{
  Stream *stream = user_data;
  char byte;
  gssize n;

  n = recv (g_socket_get_fd (socket), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return G_SOURCE_CONTINUE;
  if (n > 0)
    {
      g_clear_pointer (&stream->watch, g_source_unref);
      return G_SOURCE_REMOVE;
    }
  g_clear_pointer (&stream->watch, g_source_unref);
  drop_stream (stream);
  return G_SOURCE_REMOVE;
}

static void
watch_peer (Stream            *stream,
            SoupServerMessage *msg)
{
  GSocket *socket = cf_http_message_get_socket (msg);

  if (socket == NULL)
    return;
  stream->watch = g_socket_create_source (socket, G_IO_IN | G_IO_HUP | G_IO_ERR, NULL);
  g_source_set_callback (stream->watch, G_SOURCE_FUNC (on_socket_ready), stream, NULL);
  g_source_attach (stream->watch, NULL);
}

/* Where the stream's client posts its messages: next to the stream. */
static char *
message_uri (CfLegacySse       *self,
             SoupServerMessage *msg,
             const char        *scope,
             const char        *session_id)
{
  g_autofree char *path = NULL;
  g_autofree char *dir = NULL;

  if (scope == NULL)
    return g_strconcat (self->message_path, "?session_id=", session_id, NULL);
  path = g_strdup (g_uri_get_path (soup_server_message_get_uri (msg)));
  if (g_str_has_suffix (path, "/"))
    path[strlen (path) - 1] = '\0';
  dir = g_path_get_dirname (path);
  return g_strconcat (dir, "/message?session_id=", session_id, NULL);
}

static void
write_endpoint_event (SoupServerMessage *msg,
                      const char        *uri)
{
  g_autofree char *event = g_strdup_printf ("event: endpoint\ndata: %s\n\n", uri);

  soup_message_body_append (soup_server_message_get_response_body (msg), SOUP_MEMORY_COPY,
                            event, strlen (event));
  soup_server_message_unpause (msg);
}

static void
open_stream (CfLegacySse       *self,
             CfMcpServer       *server,
             SoupServerMessage *msg,
             const char        *scope)
{
  Stream *stream;
  g_autofree char *uri = NULL;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_GET)
    {
      respond_method_not_allowed (msg, "GET");
      return;
    }
  if (g_hash_table_size (self->streams) >= MAX_STREAMS)
    {
      cf_http_respond_rpc_error (msg, SOUP_STATUS_SERVICE_UNAVAILABLE, CF_JSONRPC_INTERNAL_ERROR,
                         "Too many SSE streams open: retry later");
      return;
    }

  stream = g_new0 (Stream, 1);
  stream->owner = self;
  stream->stream = cf_http_stream_new (cf_http_exchange_get_for_message (msg), FALSE, TRUE);
  stream->channel = cf_session_channel_new (server, scope, write_message, stream);
  cf_session_channel_set_identity (stream->channel, cf_identity_from_message (msg));
  g_hash_table_insert (self->streams, g_strdup (cf_session_channel_get_id (stream->channel)),
                       stream);

  cf_http_stream_start_sse (stream->stream);
  uri = message_uri (self, msg, scope, cf_session_channel_get_id (stream->channel));
  write_endpoint_event (msg, uri);
  stream->closed_id = g_signal_connect (stream->stream, "closed",
                                        G_CALLBACK (on_stream_closed), stream);
  watch_peer (stream, msg);
  g_debug ("SSE session %s opened", cf_session_channel_get_id (stream->channel));
}

static const char *
query_session_id (GHashTable *query)
{
  const char *id;

  if (query == NULL)
    return NULL;
  id = g_hash_table_lookup (query, "session_id");
  /* The TypeScript SDK's server names it sessionId: accept both. */
  return id != NULL ? id : g_hash_table_lookup (query, "sessionId");
}

static void
post_message (CfLegacySse       *self,
              SoupServerMessage *msg,
              const char        *scope,
              GHashTable        *query)
{
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);
  const char *content_type = soup_message_headers_get_content_type (headers, NULL);
  const char *session_id = query_session_id (query);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(CfSessionChannel) channel = NULL;
  Stream *stream;

  if (soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    {
      respond_method_not_allowed (msg, "POST");
      return;
    }
  if (session_id == NULL)
    {
      cf_http_respond_rpc_error (msg, SOUP_STATUS_BAD_REQUEST, CF_JSONRPC_INVALID_REQUEST,
                         "Bad Request: the session_id query parameter is required");
      return;
    }
  stream = g_hash_table_lookup (self->streams, session_id);
  /* A session opened on another endpoint is not this endpoint's. */
  if (stream == NULL || g_strcmp0 (cf_session_channel_get_scope (stream->channel), scope) != 0)
    {
      cf_http_respond_rpc_error (msg, SOUP_STATUS_NOT_FOUND, CF_JSONRPC_INVALID_REQUEST,
                         "Session not found: open a new stream with GET");
      return;
    }
  if (content_type == NULL || g_ascii_strcasecmp (content_type, "application/json") != 0)
    {
      cf_http_respond_rpc_error (msg, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE, CF_JSONRPC_INVALID_REQUEST,
                         "Unsupported Media Type: the body must be application/json");
      return;
    }

  bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  if (node == NULL)
    {
      cf_http_respond_rpc_error (msg, SOUP_STATUS_BAD_REQUEST, CF_JSONRPC_PARSE_ERROR, error->message);
      return;
    }

  soup_server_message_set_status (msg, SOUP_STATUS_ACCEPTED, NULL);
  channel = g_object_ref (stream->channel);
  cf_session_channel_dispatch (channel, node);
}

static void
serve (CfLegacySse       *self,
       CfMcpServer       *server,
       SoupServerMessage *msg,
       const char        *endpoint,
       const char        *scope,
       GHashTable        *query)
{
  if (g_str_equal (endpoint, "sse"))
    open_stream (self, server, msg, scope);
  else
    post_message (self, msg, scope, query);
}

static gboolean
path_is (const char *path,
         const char *endpoint)
{
  gsize length = strlen (endpoint);

  return strncmp (path, endpoint, length) == 0 &&
         (path[length] == '\0' || (path[length] == '/' && path[length + 1] == '\0'));
}

/* Both routes: the stream and the messages. */
static void
on_endpoint (CfHttpServer      *http,
             SoupServerMessage *msg,
             const char        *path,
             GHashTable        *query,
             gpointer           user_data)
{
  CfLegacySse *self = user_data;

  if (path_is (path, self->sse_path))
    serve (self, self->server, msg, "sse", NULL, query);
  else if (path_is (path, self->message_path))
    serve (self, self->server, msg, "message", NULL, query);
  else
    cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
}

static void
on_scoped_sse (CfHttpServer      *http,
               SoupServerMessage *msg,
               CfMcpServer       *server,
               const char        *scope,
               GHashTable        *query,
               gpointer           user_data)
{
  serve (user_data, server, msg, "sse", scope, query);
}

static void
on_scoped_message (CfHttpServer      *http,
                   SoupServerMessage *msg,
                   CfMcpServer       *server,
                   const char        *scope,
                   GHashTable        *query,
                   gpointer           user_data)
{
  serve (user_data, server, msg, "message", scope, query);
}

static gboolean
send_keepalives (gpointer user_data)
{
  CfLegacySse *self = user_data;
  g_autoptr(GPtrArray) streams = g_ptr_array_new_with_free_func (g_object_unref);
  GHashTableIter iter;
  Stream *stream;

  /* A write is also how a vanished client is noticed; it may end a
   * stream, so walk a copy. */
  g_hash_table_iter_init (&iter, self->streams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &stream))
    g_ptr_array_add (streams, g_object_ref (stream->stream));
  for (guint i = 0; i < streams->len; i++)
    cf_http_stream_keepalive (g_ptr_array_index (streams, i));
  return G_SOURCE_CONTINUE;
}

static void
cf_legacy_sse_dispose (GObject *object)
{
  CfLegacySse *self = (CfLegacySse *) object;

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  if (self->streams != NULL)
    g_hash_table_remove_all (self->streams);

  G_OBJECT_CLASS (cf_legacy_sse_parent_class)->dispose (object);
}

static void
cf_legacy_sse_finalize (GObject *object)
{
  CfLegacySse *self = (CfLegacySse *) object;

  g_clear_object (&self->server);
  g_clear_pointer (&self->sse_path, g_free);
  g_clear_pointer (&self->message_path, g_free);
  g_clear_pointer (&self->streams, g_hash_table_unref);

  G_OBJECT_CLASS (cf_legacy_sse_parent_class)->finalize (object);
}

static void
cf_legacy_sse_class_init (CfLegacySseClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_legacy_sse_dispose;
  object_class->finalize = cf_legacy_sse_finalize;
}

static void
cf_legacy_sse_init (CfLegacySse *self)
{
  self->streams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) stream_free);
  self->keepalive = DEFAULT_KEEPALIVE;
}

/**
 * cf_legacy_sse_new:
 * @server: the MCP server behind the unscoped endpoints
 *
 * Returns: (transfer full): a new transport
 */
CfLegacySse *
cf_legacy_sse_new (CfMcpServer *server)
{
  CfLegacySse *self;

  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);

  self = g_object_new (CF_TYPE_LEGACY_SSE, NULL);
  self->server = g_object_ref (server);
  self->keepalive_id = g_timeout_add_seconds (self->keepalive, send_keepalives, self);
  return self;
}

/**
 * cf_legacy_sse_mount:
 * @self: a #CfLegacySse
 * @http: the HTTP server
 * @sse_path: where streams open, such as "/sse"
 * @message_path: where messages are posted, such as "/message"
 */
void
cf_legacy_sse_mount (CfLegacySse  *self,
                     CfHttpServer *http,
                     const char   *sse_path,
                     const char   *message_path)
{
  g_return_if_fail (CF_IS_LEGACY_SSE (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (http));
  g_return_if_fail (sse_path != NULL && sse_path[0] == '/');
  g_return_if_fail (message_path != NULL && message_path[0] == '/');
  g_return_if_fail (self->sse_path == NULL);

  self->sse_path = g_strdup (sse_path);
  self->message_path = g_strdup (message_path);
  cf_http_server_add_route (http, sse_path, on_endpoint, self);
  cf_http_server_add_route (http, message_path, on_endpoint, self);
}

/**
 * cf_legacy_sse_mount_scoped:
 * @self: a #CfLegacySse
 * @streamable: the transport that routes `{prefix}/{id}/…`
 *
 * Serves `{prefix}/{id}/sse` and `{prefix}/{id}/message`: streams scoped
 * to one virtual server, found by @streamable's scope lookup.
 */
void
cf_legacy_sse_mount_scoped (CfLegacySse      *self,
                            CfStreamableHttp *streamable)
{
  g_return_if_fail (CF_IS_LEGACY_SSE (self));
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (streamable));

  cf_streamable_http_add_scoped_endpoint (streamable, "sse", on_scoped_sse, self);
  cf_streamable_http_add_scoped_endpoint (streamable, "message", on_scoped_message, self);
}

/**
 * cf_legacy_sse_set_keepalive:
 * @self: a #CfLegacySse
 * @seconds: how often an SSE comment goes out on every stream
 */
void
cf_legacy_sse_set_keepalive (CfLegacySse *self,
                             guint        seconds)
{
  g_return_if_fail (CF_IS_LEGACY_SSE (self));

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  self->keepalive = MAX (seconds, 1);
  self->keepalive_id = g_timeout_add_seconds (self->keepalive, send_keepalives, self);
}

guint
cf_legacy_sse_get_n_streams (CfLegacySse *self)
{
  g_return_val_if_fail (CF_IS_LEGACY_SSE (self), 0);
  return g_hash_table_size (self->streams);
}

/**
 * cf_legacy_sse_close_streams:
 *
 * Ends every stream and its session, for shutdown.
 */
void
cf_legacy_sse_close_streams (CfLegacySse *self)
{
  g_return_if_fail (CF_IS_LEGACY_SSE (self));
  g_hash_table_remove_all (self->streams);
}
