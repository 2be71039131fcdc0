/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-stream"

#include "config.h"

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
  g_return_val_if_fail (CF_IS_MCP_STREAM (self), FALSE);
  g_return_val_if_fail (message != NULL, FALSE);

  return CF_MCP_STREAM_GET_IFACE (self)->send (self, message);
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
  g_return_if_fail (CF_IS_MCP_STREAM (self));

  CF_MCP_STREAM_GET_IFACE (self)->finish (self, message, status);
}
