/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-batch-stream"

#include "config.h"

#include "cf-mcp-batch-stream.h"

/**
 * CfMcpBatchStream:
 *
 * Collects the answers to the messages of one JSON-RPC batch and writes
 * them to the parent stream as one array once the last is in. Messages that
 * precede the answers pass straight through.
 */
struct _CfMcpBatchStream
{
  GObject      parent_instance;

  CfMcpStream *parent;
  JsonArray   *responses;
  guint        pending;
  gulong       closed_id;
};

static void stream_iface_init (CfMcpStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfMcpBatchStream, cf_mcp_batch_stream, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_MCP_STREAM, stream_iface_init))

static gboolean
batch_send (CfMcpStream *stream,
            JsonNode    *message)
{
  CfMcpBatchStream *self = (CfMcpBatchStream *) stream;

  return cf_mcp_stream_send (self->parent, message);
}

static void
batch_finish (CfMcpStream *stream,
              JsonNode    *message,
              guint        status)
{
  CfMcpBatchStream *self = (CfMcpBatchStream *) stream;
  g_autoptr(JsonNode) node = NULL;

  if (message != NULL)
    json_array_add_element (self->responses, json_node_copy (message));

  g_return_if_fail (self->pending > 0);
  if (--self->pending > 0)
    return;

  g_clear_signal_handler (&self->closed_id, self->parent);
  if (json_array_get_length (self->responses) == 0)
    {
      cf_mcp_stream_finish (self->parent, NULL, 202);
      return;
    }
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (node, self->responses);
  cf_mcp_stream_finish (self->parent, node, 200);
}

static void
stream_iface_init (CfMcpStreamInterface *iface)
{
  iface->send = batch_send;
  iface->finish = batch_finish;
}

static void
on_parent_closed (CfMcpStream      *parent,
                  CfMcpBatchStream *self)
{
  cf_mcp_stream_emit_closed (CF_MCP_STREAM (self));
}

static void
cf_mcp_batch_stream_finalize (GObject *object)
{
  CfMcpBatchStream *self = (CfMcpBatchStream *) object;

  g_clear_signal_handler (&self->closed_id, self->parent);
  g_clear_object (&self->parent);
  g_clear_pointer (&self->responses, json_array_unref);

  G_OBJECT_CLASS (cf_mcp_batch_stream_parent_class)->finalize (object);
}

static void
cf_mcp_batch_stream_class_init (CfMcpBatchStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_mcp_batch_stream_finalize;
}

static void
cf_mcp_batch_stream_init (CfMcpBatchStream *self)
{
  self->responses = json_array_new ();
}

CfMcpBatchStream *
cf_mcp_batch_stream_new (CfMcpStream *parent,
                         guint        n_messages)
{
  CfMcpBatchStream *self;

  g_return_val_if_fail (CF_IS_MCP_STREAM (parent), NULL);
  g_return_val_if_fail (n_messages > 0, NULL);

  self = g_object_new (CF_TYPE_MCP_BATCH_STREAM, NULL);
  self->parent = g_object_ref (parent);
  self->pending = n_messages;
  self->closed_id = g_signal_connect (parent, "closed", G_CALLBACK (on_parent_closed), self);
  return self;
}
