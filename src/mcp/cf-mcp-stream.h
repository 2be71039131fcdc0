/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-types.h"

G_BEGIN_DECLS

#define CF_TYPE_MCP_STREAM (cf_mcp_stream_get_type ())
G_DECLARE_INTERFACE (CfMcpStream, cf_mcp_stream, CF, MCP_STREAM, GObject)

/**
 * CfMcpStreamClosedFunc:
 * @stream: the stream
 * @user_data: the data given with the function
 *
 * Called when @stream closes before its final message
 * (cf_mcp_stream_watch_closed()).
 */
typedef void (*CfMcpStreamClosedFunc) (CfMcpStream *stream,
                                       gpointer     user_data);

/**
 * CfMcpStreamInterface:
 * @send: writes a message that precedes the final one (a notification or a
 *   server-to-client request); returns %FALSE if the stream cannot carry it
 * @finish: writes the final message, or none (@message %NULL: the input was
 *   accepted and needs no answer) and closes; @status is an HTTP status hint,
 *   0 for the default
 * @send_bytes: as @send, for a message already serialized
 * @finish_bytes: as @finish, for a message already serialized (%NULL for
 *   none)
 * @watch_closed: optional: holds one #CfMcpStreamClosedFunc, called when
 *   the stream closes, or (@func %NULL) lets it go; returns %FALSE when it
 *   holds one already. A stream that answers one request has it, to spare
 *   that request a signal connection.
 *
 * A stream implements @send and @finish, or @send_bytes and @finish_bytes;
 * the other pair is made from the one it has. A stream that writes text
 * takes the `_bytes` pair, so that an answer assembled from serialized
 * parts (a long tools/list page) is written as it is; a stream that keeps
 * trees takes the other, and such an answer is parsed for it.
 *
 * Where the messages of one incoming JSON-RPC message go: an HTTP response
 * (JSON or SSE), a standalone SSE stream, or a stdio connection.
 */
struct _CfMcpStreamInterface
{
  GTypeInterface parent_iface;

  gboolean (*send)   (CfMcpStream *self,
                      JsonNode    *message);
  void     (*finish) (CfMcpStream *self,
                      JsonNode    *message,
                      guint        status);
  gboolean (*send_bytes)   (CfMcpStream *self,
                            GBytes      *message);
  void     (*finish_bytes) (CfMcpStream *self,
                            GBytes      *message,
                            guint        status);
  gboolean (*watch_closed) (CfMcpStream          *self,
                            CfMcpStreamClosedFunc func,
                            gpointer              user_data);
};

gboolean cf_mcp_stream_send   (CfMcpStream *self,
                               JsonNode    *message);
void     cf_mcp_stream_finish (CfMcpStream *self,
                               JsonNode    *message,
                               guint        status);
gboolean cf_mcp_stream_send_bytes   (CfMcpStream *self,
                                     GBytes      *message);
void     cf_mcp_stream_finish_bytes (CfMcpStream *self,
                                     GBytes      *message,
                                     guint        status);
void     cf_mcp_stream_emit_closed (CfMcpStream *self);
gulong   cf_mcp_stream_watch_closed   (CfMcpStream           *self,
                                       CfMcpStreamClosedFunc  func,
                                       gpointer               user_data);
void     cf_mcp_stream_unwatch_closed (CfMcpStream           *self,
                                       gulong                *watch);

G_END_DECLS
