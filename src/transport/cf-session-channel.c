/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-session-channel"

#include "config.h"

#include "cf-identity.h"
#include "cf-json.h"
#include "cf-mcp-stream.h"
#include "cf-session-channel.h"

/**
 * CfSessionChannel:
 *
 * One long-lived connection that is one implicit legacy session, as the
 * legacy HTTP+SSE transport and WebSocket have it: every message the peer
 * sends is dispatched in that session, and every answer, notification and
 * server-to-client request goes back through one write function, in order.
 * 2026-07-28 requests, which carry their version in `_meta`, are served
 * statelessly on the same connection.
 *
 * The transport owns the connection and calls cf_session_channel_close()
 * when it ends: the session's requests in flight are cancelled and later
 * answers are dropped, since nothing can carry them any more.
 */
struct _CfSessionChannel
{
  GObject                    parent_instance;

  CfMcpServer               *server;
  CfMcpSession              *session;
  char                      *scope;
  CfIdentity                *identity;
  CfSessionChannelWriteFunc  write;
  gpointer                   write_data;
  guint                      closed : 1;
};

G_DEFINE_FINAL_TYPE (CfSessionChannel, cf_session_channel, G_TYPE_OBJECT)

/* Where the messages of one incoming message go, or (standalone) the
 * session's messages that belong to no request. */

#define CF_TYPE_CHANNEL_STREAM (cf_channel_stream_get_type ())
G_DECLARE_FINAL_TYPE (CfChannelStream, cf_channel_stream, CF, CHANNEL_STREAM, GObject)

struct _CfChannelStream
{
  GObject           parent_instance;
  CfSessionChannel *channel;
  guint             standalone : 1;
  guint             done : 1;
};

static void cf_channel_stream_iface_init (CfMcpStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfChannelStream, cf_channel_stream, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_MCP_STREAM,
                                                      cf_channel_stream_iface_init))

static gboolean
channel_write (CfSessionChannel *self,
               GBytes           *message)
{
  if (self->closed)
    return FALSE;
  return self->write (message, self->write_data);
}

static gboolean
channel_stream_send_bytes (CfMcpStream *stream,
                           GBytes      *message)
{
  CfChannelStream *self = (CfChannelStream *) stream;

  return !self->done && channel_write (self->channel, message);
}

static void
channel_stream_finish_bytes (CfMcpStream *stream,
                             GBytes      *message,
                             guint        status)
{
  CfChannelStream *self = (CfChannelStream *) stream;

  if (self->done)
    return;
  /* The standalone stream lives as long as the session. */
  self->done = !self->standalone;
  if (message != NULL)
    channel_write (self->channel, message);
}

static void
cf_channel_stream_iface_init (CfMcpStreamInterface *iface)
{
  iface->send_bytes = channel_stream_send_bytes;
  iface->finish_bytes = channel_stream_finish_bytes;
}

static void
cf_channel_stream_finalize (GObject *object)
{
  g_clear_object (&((CfChannelStream *) object)->channel);
  G_OBJECT_CLASS (cf_channel_stream_parent_class)->finalize (object);
}

static void
cf_channel_stream_class_init (CfChannelStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_channel_stream_finalize;
}

static void
cf_channel_stream_init (CfChannelStream *self)
{
}

static CfChannelStream *
cf_channel_stream_new (CfSessionChannel *channel,
                       gboolean          standalone)
{
  CfChannelStream *self = g_object_new (CF_TYPE_CHANNEL_STREAM, NULL);

  self->channel = g_object_ref (channel);
  self->standalone = !!standalone;
  return self;
}

/* The channel */

static void
cf_session_channel_finalize (GObject *object)
{
  CfSessionChannel *self = (CfSessionChannel *) object;

  g_clear_object (&self->server);
  g_clear_object (&self->session);
  g_clear_pointer (&self->scope, g_free);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (cf_session_channel_parent_class)->finalize (object);
}

static void
cf_session_channel_class_init (CfSessionChannelClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_session_channel_finalize;
}

static void
cf_session_channel_init (CfSessionChannel *self)
{
  self->session = cf_mcp_session_new (NULL);
}

/**
 * cf_session_channel_new:
 * @server: the MCP server to dispatch to
 * @scope: (nullable): the virtual server the connection is scoped to
 * @write: writes one message on the connection
 * @user_data: closure data for @write; it must stay valid until
 *   cf_session_channel_close()
 *
 * The session's standalone stream refers back to the channel: the cycle
 * is broken by cf_session_channel_close(), which the owner must call.
 *
 * Returns: (transfer full): a new channel with a fresh session
 */
CfSessionChannel *
cf_session_channel_new (CfMcpServer               *server,
                        const char                *scope,
                        CfSessionChannelWriteFunc  write,
                        gpointer                   user_data)
{
  CfSessionChannel *self;
  g_autoptr(CfChannelStream) standalone = NULL;

  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);
  g_return_val_if_fail (write != NULL, NULL);

  self = g_object_new (CF_TYPE_SESSION_CHANNEL, NULL);
  self->server = g_object_ref (server);
  self->scope = g_strdup (scope);
  self->write = write;
  self->write_data = user_data;

  standalone = cf_channel_stream_new (self, TRUE);
  cf_mcp_session_set_stream (self->session, CF_MCP_STREAM (standalone));
  cf_mcp_server_add_connection (server, self->session);
  return self;
}

/**
 * cf_session_channel_get_id:
 *
 * Returns: the unguessable id of the channel's session
 */
const char *
cf_session_channel_get_id (CfSessionChannel *self)
{
  g_return_val_if_fail (CF_IS_SESSION_CHANNEL (self), NULL);
  return cf_mcp_session_get_id (self->session);
}

/**
 * cf_session_channel_get_server:
 *
 * Returns: (transfer none): the MCP server the channel dispatches to
 */
CfMcpServer *
cf_session_channel_get_server (CfSessionChannel *self)
{
  g_return_val_if_fail (CF_IS_SESSION_CHANNEL (self), NULL);
  return self->server;
}

/**
 * cf_session_channel_get_scope:
 *
 * Returns: (nullable): the virtual server the channel is scoped to
 */
const char *
cf_session_channel_get_scope (CfSessionChannel *self)
{
  g_return_val_if_fail (CF_IS_SESSION_CHANNEL (self), NULL);
  return self->scope;
}

/**
 * cf_session_channel_set_identity:
 * @self: a #CfSessionChannel
 * @identity: (nullable): who opened the connection
 *
 * The connection's messages run as @identity: the credential was checked
 * once, on the request that opened it.
 */
void
cf_session_channel_set_identity (CfSessionChannel *self,
                                 CfIdentity       *identity)
{
  g_return_if_fail (CF_IS_SESSION_CHANNEL (self));
  g_set_object (&self->identity, identity);
}

/**
 * cf_session_channel_get_session:
 *
 * Returns: (transfer none): the channel's legacy session
 */
CfMcpSession *
cf_session_channel_get_session (CfSessionChannel *self)
{
  g_return_val_if_fail (CF_IS_SESSION_CHANNEL (self), NULL);
  return self->session;
}

gboolean
cf_session_channel_is_closed (CfSessionChannel *self)
{
  g_return_val_if_fail (CF_IS_SESSION_CHANNEL (self), TRUE);
  return self->closed;
}

/* Dispatches @message, or else @node, in the channel's session. */
static void
dispatch (CfSessionChannel *self,
          CfJsonrpcMessage *message,
          JsonNode         *node)
{
  g_autoptr(CfChannelStream) stream = cf_channel_stream_new (self, FALSE);
  CfMcpTransportContext context = { 0 };

  context.session = g_object_ref (self->session);
  context.scope = self->scope;
  context.identity = self->identity;
  if (message != NULL)
    cf_mcp_server_dispatch_message (self->server, &context, message, CF_MCP_STREAM (stream));
  else
    cf_mcp_server_dispatch (self->server, &context, node, CF_MCP_STREAM (stream));
  g_clear_object (&context.session);
}

/**
 * cf_session_channel_dispatch:
 * @self: a #CfSessionChannel
 * @node: one parsed JSON-RPC message or batch
 *
 * Dispatches @node in the channel's session; its answers are written
 * later or at once. Does nothing once the channel is closed.
 */
void
cf_session_channel_dispatch (CfSessionChannel *self,
                             JsonNode         *node)
{
  g_return_if_fail (CF_IS_SESSION_CHANNEL (self));
  g_return_if_fail (node != NULL);

  if (self->closed)
    return;
  dispatch (self, NULL, node);
}

/**
 * cf_session_channel_receive:
 * @self: a #CfSessionChannel
 * @data: the text of one message as the peer sent it
 * @length: its length in bytes
 *
 * Reads and dispatches one message: one valid message without a tree of
 * its envelope (cf_jsonrpc_message_new_from_bytes(), as a POST is read),
 * anything else (a batch, an invalid message) parsed whole. Text that is
 * not JSON is answered on the channel with a JSON-RPC parse error, as a
 * stdio server does.
 */
void
cf_session_channel_receive (CfSessionChannel *self,
                            const char       *data,
                            gsize             length)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(CfJsonrpcMessage) message = NULL;

  g_return_if_fail (CF_IS_SESSION_CHANNEL (self));

  if (self->closed)
    return;
  bytes = g_bytes_new (data, length);
  message = cf_jsonrpc_message_new_from_bytes (bytes);
  if (message != NULL)
    {
      dispatch (self, message, NULL);
      return;
    }
  node = cf_json_parse (data, length, &error);
  if (node == NULL)
    {
      g_autoptr(CfChannelStream) stream = cf_channel_stream_new (self, FALSE);

      cf_mcp_server_dispatch_error (self->server, error, CF_MCP_STREAM (stream));
      return;
    }
  dispatch (self, NULL, node);
}

/**
 * cf_session_channel_close:
 *
 * Ends the session: its requests in flight are cancelled, and nothing is
 * written any more. The write function's data may be freed after this.
 * Closing twice is harmless.
 */
void
cf_session_channel_close (CfSessionChannel *self)
{
  g_autoptr(CfSessionChannel) hold = NULL;

  g_return_if_fail (CF_IS_SESSION_CHANNEL (self));

  if (self->closed)
    return;
  hold = g_object_ref (self);
  self->closed = TRUE;
  self->write = NULL;
  self->write_data = NULL;
  cf_mcp_server_remove_connection (self->server, self->session);
  cf_mcp_session_cancel_all (self->session);
  cf_mcp_session_set_stream (self->session, NULL);
}
