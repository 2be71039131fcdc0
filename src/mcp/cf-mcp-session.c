/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-session"

#include "config.h"

#include "cf-mcp-request-private.h"
#include "cf-mcp-session.h"
#include "cf-mcp-stream.h"
#include "cf-random.h"

/* Messages for a session with no stream open wait here, up to this many,
 * so that a client reconnecting its GET stream still sees them. */
#define MAX_QUEUED 256

/**
 * CfMcpSession:
 *
 * A legacy-era downstream session: what `initialize` negotiated, the
 * logging level and resource subscriptions, the standalone stream for
 * server-initiated messages, and the requests in flight (so that
 * `notifications/cancelled` can find them).
 */
struct _CfMcpSession
{
  GObject        parent_instance;

  char          *id;
  char          *protocol_version;
  JsonObject    *client_capabilities;
  JsonObject    *client_info;
  GHashTable    *subscriptions;
  GHashTable    *requests;
  CfMcpStream   *stream;
  GQueue         queued;
  gint64         last_activity;
  CfMcpLogLevel  log_level;
  guint          initialized : 1;
};

G_DEFINE_FINAL_TYPE (CfMcpSession, cf_mcp_session, G_TYPE_OBJECT)

static void
cf_mcp_session_finalize (GObject *object)
{
  CfMcpSession *self = (CfMcpSession *) object;

  g_clear_pointer (&self->id, g_free);
  g_clear_pointer (&self->protocol_version, g_free);
  g_clear_pointer (&self->client_capabilities, json_object_unref);
  g_clear_pointer (&self->client_info, json_object_unref);
  g_clear_pointer (&self->subscriptions, g_hash_table_unref);
  g_clear_pointer (&self->requests, g_hash_table_unref);
  g_clear_object (&self->stream);
  g_queue_clear_full (&self->queued, (GDestroyNotify) json_node_unref);

  G_OBJECT_CLASS (cf_mcp_session_parent_class)->finalize (object);
}

static void
cf_mcp_session_class_init (CfMcpSessionClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_mcp_session_finalize;
}

static void
cf_mcp_session_init (CfMcpSession *self)
{
  self->subscriptions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->requests = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->log_level = CF_MCP_LOG_LEVEL_NONE;
  self->last_activity = g_get_monotonic_time ();
  g_queue_init (&self->queued);
}

/**
 * cf_mcp_session_new:
 * @id: (nullable): the session id, or %NULL to mint an unguessable one
 *
 * Returns: (transfer full): a new session
 */
CfMcpSession *
cf_mcp_session_new (const char *id)
{
  CfMcpSession *self = g_object_new (CF_TYPE_MCP_SESSION, NULL);

  self->id = id != NULL ? g_strdup (id) : cf_random_hex (16);
  return self;
}

const char *
cf_mcp_session_get_id (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), NULL);
  return self->id;
}

const char *
cf_mcp_session_get_protocol_version (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), NULL);
  return self->protocol_version;
}

void
cf_mcp_session_set_protocol_version (CfMcpSession *self,
                                     const char   *version)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));
  g_free (self->protocol_version);
  self->protocol_version = g_strdup (version);
}

JsonObject *
cf_mcp_session_get_client_capabilities (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), NULL);
  return self->client_capabilities;
}

JsonObject *
cf_mcp_session_get_client_info (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), NULL);
  return self->client_info;
}

void
cf_mcp_session_set_client (CfMcpSession *self,
                           JsonObject   *capabilities,
                           JsonObject   *info)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));

  g_clear_pointer (&self->client_capabilities, json_object_unref);
  g_clear_pointer (&self->client_info, json_object_unref);
  if (capabilities != NULL)
    self->client_capabilities = json_object_ref (capabilities);
  if (info != NULL)
    self->client_info = json_object_ref (info);
}

gboolean
cf_mcp_session_get_initialized (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), FALSE);
  return self->initialized;
}

void
cf_mcp_session_set_initialized (CfMcpSession *self,
                                gboolean      initialized)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));
  self->initialized = !!initialized;
}

CfMcpLogLevel
cf_mcp_session_get_log_level (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), CF_MCP_LOG_LEVEL_NONE);
  return self->log_level;
}

void
cf_mcp_session_set_log_level (CfMcpSession  *self,
                              CfMcpLogLevel  level)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));
  self->log_level = level;
}

gboolean
cf_mcp_session_subscribe (CfMcpSession *self,
                          const char   *uri)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), FALSE);
  return g_hash_table_add (self->subscriptions, g_strdup (uri));
}

gboolean
cf_mcp_session_unsubscribe (CfMcpSession *self,
                            const char   *uri)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), FALSE);
  return g_hash_table_remove (self->subscriptions, uri);
}

gboolean
cf_mcp_session_is_subscribed (CfMcpSession *self,
                              const char   *uri)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), FALSE);
  return g_hash_table_contains (self->subscriptions, uri);
}

/**
 * cf_mcp_session_set_stream:
 * @self: a #CfMcpSession
 * @stream: (nullable): the standalone stream, or %NULL when it closed
 *
 * Sets where server-initiated messages go; queued ones are flushed to it.
 */
void
cf_mcp_session_set_stream (CfMcpSession *self,
                           CfMcpStream  *stream)
{
  JsonNode *message;

  g_return_if_fail (CF_IS_MCP_SESSION (self));

  if (!g_set_object (&self->stream, stream) || stream == NULL)
    return;

  while ((message = g_queue_peek_head (&self->queued)) != NULL)
    {
      if (!cf_mcp_stream_send (stream, message))
        break;
      json_node_unref (g_queue_pop_head (&self->queued));
    }
}

CfMcpStream *
cf_mcp_session_get_stream (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), NULL);
  return self->stream;
}

/**
 * cf_mcp_session_send:
 * @self: a #CfMcpSession
 * @message: a server-initiated message not tied to a request
 *
 * Returns: %TRUE if written or queued, %FALSE if dropped (queue full)
 */
gboolean
cf_mcp_session_send (CfMcpSession *self,
                     JsonNode     *message)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), FALSE);

  if (self->stream != NULL && cf_mcp_stream_send (self->stream, message))
    return TRUE;

  if (self->queued.length >= MAX_QUEUED)
    {
      g_debug ("Session %s: dropping a message, %d already queued", self->id, MAX_QUEUED);
      return FALSE;
    }
  g_queue_push_tail (&self->queued, json_node_ref (message));
  return TRUE;
}

void
cf_mcp_session_track_request (CfMcpSession *self,
                              const char   *key,
                              CfMcpRequest *request)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));
  g_hash_table_replace (self->requests, g_strdup (key), request);
}

void
cf_mcp_session_untrack_request (CfMcpSession *self,
                                const char   *key)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));
  g_hash_table_remove (self->requests, key);
}

/**
 * cf_mcp_session_lookup_request:
 *
 * Returns: (transfer none) (nullable): the request in flight with that key
 */
CfMcpRequest *
cf_mcp_session_lookup_request (CfMcpSession *self,
                               const char   *key)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), NULL);
  return g_hash_table_lookup (self->requests, key);
}

void
cf_mcp_session_cancel_all (CfMcpSession *self)
{
  g_autoptr(GList) requests = NULL;

  g_return_if_fail (CF_IS_MCP_SESSION (self));

  /* Cancelling untracks, so walk a copy. */
  requests = g_hash_table_get_values (self->requests);
  for (GList *l = requests; l != NULL; l = l->next)
    _cf_mcp_request_cancel (l->data);
}

void
cf_mcp_session_touch (CfMcpSession *self)
{
  g_return_if_fail (CF_IS_MCP_SESSION (self));
  self->last_activity = g_get_monotonic_time ();
}

gint64
cf_mcp_session_get_last_activity (CfMcpSession *self)
{
  g_return_val_if_fail (CF_IS_MCP_SESSION (self), 0);
  return self->last_activity;
}
