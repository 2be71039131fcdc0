/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-stream"

#include "config.h"

#include "cf-json.h"
#include "cf-mcp-stream.h"

G_DEFINE_INTERFACE (CfMcpStream, cf_mcp_stream, G_TYPE_OBJECT)

enum {
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
cf_mcp_stream_default_init (CfMcpStreamInterface *iface)
{
  /**
   * CfMcpStream::closed:
   *
   * The peer went away before the final message: the requests whose
   * answers were to go here are cancelled.
   */
  signals[CLOSED] = g_signal_new ("closed",
                                  G_TYPE_FROM_INTERFACE (iface),
                                  G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL,
                                  G_TYPE_NONE, 0);
}

void
cf_mcp_stream_emit_closed (CfMcpStream *self)
{
  g_return_if_fail (CF_IS_MCP_STREAM (self));

  g_signal_emit (self, signals[CLOSED], 0);
}

/* The id of a watch the stream holds itself: no signal handler has it
 * (handler ids count up from 1). */
#define OWN_WATCH G_MAXULONG

/**
 * cf_mcp_stream_watch_closed:
 * @self: a #CfMcpStream
 * @func: called when the stream closes before its final message
 * @user_data: data for @func
 *
 * As connecting to #CfMcpStream::closed, which it does for a stream that
 * cannot hold the function itself (#CfMcpStreamInterface.watch_closed).
 *
 * Returns: the watch, for cf_mcp_stream_unwatch_closed()
 */
gulong
cf_mcp_stream_watch_closed (CfMcpStream           *self,
                            CfMcpStreamClosedFunc  func,
                            gpointer               user_data)
{
  CfMcpStreamInterface *iface;

  g_return_val_if_fail (CF_IS_MCP_STREAM (self), 0);
  g_return_val_if_fail (func != NULL, 0);

  iface = CF_MCP_STREAM_GET_IFACE (self);
  if (iface->watch_closed != NULL && iface->watch_closed (self, func, user_data))
    return OWN_WATCH;
  return g_signal_connect (self, "closed", G_CALLBACK (func), user_data);
}

/**
 * cf_mcp_stream_unwatch_closed:
 * @self: a #CfMcpStream
 * @watch: (inout): a watch from cf_mcp_stream_watch_closed(), or 0;
 *   set to 0
 */
void
cf_mcp_stream_unwatch_closed (CfMcpStream *self,
                              gulong      *watch)
{
  gulong id = *watch;

  g_return_if_fail (CF_IS_MCP_STREAM (self));

  *watch = 0;
  if (id == OWN_WATCH)
    CF_MCP_STREAM_GET_IFACE (self)->watch_closed (self, NULL, NULL);
  else if (id != 0)
    g_signal_handler_disconnect (self, id);
}

/**
 * cf_mcp_stream_send:
 * @self: a #CfMcpStream
 * @message: a notification or request to write before the final message
 *
 * Returns: %TRUE if the message was written
 */
gboolean
cf_mcp_stream_send (CfMcpStream *self,
                    JsonNode    *message)
{
  CfMcpStreamInterface *iface;
  g_autoptr(GBytes) bytes = NULL;

  g_return_val_if_fail (CF_IS_MCP_STREAM (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  iface = CF_MCP_STREAM_GET_IFACE (self);
  if (iface->send != NULL)
    return iface->send (self, message);
  bytes = cf_json_to_bytes (message);
  return iface->send_bytes (self, bytes);
}

/**
 * cf_mcp_stream_finish:
 * @self: a #CfMcpStream
 * @message: (nullable): the final message
 * @status: an HTTP status hint, or 0
 */
void
cf_mcp_stream_finish (CfMcpStream *self,
                      JsonNode    *message,
                      guint        status)
{
  CfMcpStreamInterface *iface;
  g_autoptr(GBytes) bytes = NULL;

  g_return_if_fail (CF_IS_MCP_STREAM (self));

  iface = CF_MCP_STREAM_GET_IFACE (self);
  if (iface->finish != NULL)
    {
      iface->finish (self, message, status);
      return;
    }
  bytes = message != NULL ? cf_json_to_bytes (message) : NULL;
  iface->finish_bytes (self, bytes, status);
}

/* The fallback for a stream that only takes trees. The bytes were
 * serialized by the gateway itself, so they parse. */
static JsonNode *
parse_message (GBytes *message)
{
  gsize length = 0;
  const char *data = g_bytes_get_data (message, &length);
  g_autoptr(GError) error = NULL;
  JsonNode *node = cf_json_parse (data, length, &error);

  if (node == NULL)
    g_critical ("A serialized message does not parse: %s", error->message);
  return node;
}

/**
 * cf_mcp_stream_send_bytes:
 * @self: a #CfMcpStream
 * @message: a serialized notification or request
 *
 * As cf_mcp_stream_send(), for a message already serialized.
 *
 * Returns: %TRUE if the message was written
 */
gboolean
cf_mcp_stream_send_bytes (CfMcpStream *self,
                          GBytes      *message)
{
  CfMcpStreamInterface *iface;
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (CF_IS_MCP_STREAM (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  iface = CF_MCP_STREAM_GET_IFACE (self);
  if (iface->send_bytes != NULL)
    return iface->send_bytes (self, message);
  node = parse_message (message);
  return node != NULL && iface->send (self, node);
}

/**
 * cf_mcp_stream_finish_bytes:
 * @self: a #CfMcpStream
 * @message: the serialized final message
 * @status: an HTTP status hint, or 0
 *
 * As cf_mcp_stream_finish(), for a message already serialized.
 */
void
cf_mcp_stream_finish_bytes (CfMcpStream *self,
                            GBytes      *message,
                            guint        status)
{
  CfMcpStreamInterface *iface;
  g_autoptr(JsonNode) node = NULL;

  g_return_if_fail (CF_IS_MCP_STREAM (self));
  g_return_if_fail (message != NULL);

  iface = CF_MCP_STREAM_GET_IFACE (self);
  if (iface->finish_bytes != NULL)
    {
      iface->finish_bytes (self, message, status);
      return;
    }
  node = parse_message (message);
  iface->finish (self, node, status);
}
