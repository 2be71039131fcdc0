/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-transport"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-upstream-transport.h"

/**
 * CfUpstreamTransport:
 *
 * How the gateway's client reaches one upstream MCP server: over
 * Streamable HTTP or a child's stdio. The base class keeps what both
 * share: the calls in flight by id, the routing of what arrives, and the
 * one-way trip to "closed" when the upstream is gone.
 *
 * The routing rule for a shared channel (stdio), where nothing but the
 * message itself says which request it belongs to:
 *
 * - responses go to the call with their id; an error without an id goes
 *   to the only call in flight, if there is exactly one;
 * - `notifications/progress` goes to the call whose id is the progress
 *   token (the client puts its own id there);
 * - `notifications/message` and server-to-client requests go to the call
 *   in flight if there is exactly one (and it is not a handshake probe),
 *   otherwise to "message": with several calls in flight nothing says
 *   whose they are;
 * - everything else (list changes, resource updates) goes to "message".
 *
 * A `ping` from the upstream is answered here, whatever the channel.
 */

/* What an upstream does wrong is logged this many times per transport,
 * then at debug level only: a hostile upstream must not flood the
 * journal. Not as a warning: nothing is wrong with the gateway. */
#define MAX_WARNINGS 10
/* Where an oversized message's id is looked for. */
#define ID_SCAN_BYTES 512

typedef struct
{
  GHashTable *calls;
  CfMcpEra    era;
  char       *version;
  gsize       max_message;
  guint       n_warnings;
  guint       closed : 1;
  guint       shut_down : 1;
} CfUpstreamTransportPrivate;

enum {
  MESSAGE,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_ABSTRACT_TYPE_WITH_PRIVATE (CfUpstreamTransport, cf_upstream_transport, G_TYPE_OBJECT)

#define PRIV(self) ((CfUpstreamTransportPrivate *) \
                    cf_upstream_transport_get_instance_private (self))

static void
cf_upstream_transport_finalize (GObject *object)
{
  CfUpstreamTransportPrivate *priv = PRIV (CF_UPSTREAM_TRANSPORT (object));

  g_clear_pointer (&priv->calls, g_hash_table_unref);
  g_clear_pointer (&priv->version, g_free);

  G_OBJECT_CLASS (cf_upstream_transport_parent_class)->finalize (object);
}

static void
cf_upstream_transport_class_init (CfUpstreamTransportClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_upstream_transport_finalize;

  /**
   * CfUpstreamTransport::message:
   * @message: a message for no request in particular
   */
  signals[MESSAGE] = g_signal_new ("message", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1,
                                   JSON_TYPE_NODE | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * CfUpstreamTransport::closed:
   *
   * The upstream is gone; every call in flight has failed.
   */
  signals[CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cf_upstream_transport_init (CfUpstreamTransport *self)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);

  priv->calls = g_hash_table_new_full (g_int64_hash, g_int64_equal, NULL,
                                       (GDestroyNotify) cf_upstream_call_unref);
  priv->era = CF_MCP_ERA_LEGACY;
  priv->max_message = CF_MCP_CLIENT_DEFAULT_MAX_MESSAGE;
}

void
cf_upstream_transport_start_async (CfUpstreamTransport *self,
                                   GCancellable        *cancellable,
                                   GAsyncReadyCallback  callback,
                                   gpointer             user_data)
{
  CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->start_async (self, cancellable, callback, user_data);
}

gboolean
cf_upstream_transport_start_finish (CfUpstreamTransport  *self,
                                    GAsyncResult         *result,
                                    GError              **error)
{
  return CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->start_finish (self, result, error);
}

/**
 * cf_upstream_transport_send_request:
 * @self: the transport
 * @call: the call to send; it is tracked until it is over
 */
void
cf_upstream_transport_send_request (CfUpstreamTransport *self,
                                    CfUpstreamCall      *call)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);

  if (priv->closed)
    {
      g_autoptr(GError) error = g_error_new_literal (CF_MCP_CLIENT_ERROR,
                                                     CF_MCP_CLIENT_ERROR_CLOSED,
                                                     "The upstream connection is closed");

      cf_upstream_call_fail (call, error);
      return;
    }

  g_hash_table_replace (priv->calls, &call->id, cf_upstream_call_ref (call));
  CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->send_request (self, call);
}

void
cf_upstream_transport_send_message_async (CfUpstreamTransport *self,
                                          JsonNode            *message,
                                          GCancellable        *cancellable,
                                          GAsyncReadyCallback  callback,
                                          gpointer             user_data)
{
  CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->send_message_async (self, message, cancellable,
                                                              callback, user_data);
}

gboolean
cf_upstream_transport_send_message_finish (CfUpstreamTransport  *self,
                                           GAsyncResult         *result,
                                           GError              **error)
{
  return CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->send_message_finish (self, result, error);
}

static void
on_posted (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;

  if (!cf_upstream_transport_send_message_finish (CF_UPSTREAM_TRANSPORT (source), result,
                                                  &error))
    g_debug ("A message to the upstream was lost: %s", error->message);
}

/**
 * cf_upstream_transport_post:
 * @self: the transport
 * @message: (transfer full): a notification or a response
 *
 * Sends @message without waiting: nothing the caller could do about a
 * lost notification.
 */
void
cf_upstream_transport_post (CfUpstreamTransport *self,
                            JsonNode            *message)
{
  g_autoptr(JsonNode) owned = message;

  if (PRIV (self)->closed)
    return;
  cf_upstream_transport_send_message_async (self, owned, NULL, on_posted, NULL);
}

/**
 * cf_upstream_transport_set_protocol:
 * @self: the transport
 * @era: the era the handshake found
 * @version: the protocol version every later message speaks
 */
void
cf_upstream_transport_set_protocol (CfUpstreamTransport *self,
                                    CfMcpEra             era,
                                    const char          *version)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);

  priv->era = era;
  g_free (priv->version);
  priv->version = g_strdup (version);
}

/* The handshake is done. */
void
cf_upstream_transport_connected (CfUpstreamTransport *self)
{
  if (CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->connected != NULL)
    CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->connected (self);
}

/**
 * cf_upstream_transport_shutdown:
 *
 * Closes the transport for good: calls in flight fail with
 * %CF_MCP_CLIENT_ERROR_CLOSED and "closed" is emitted, if that did not
 * happen before.
 */
void
cf_upstream_transport_shutdown (CfUpstreamTransport *self)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);
  g_autoptr(CfUpstreamTransport) hold = g_object_ref (self);
  g_autoptr(GError) error = g_error_new_literal (CF_MCP_CLIENT_ERROR,
                                                 CF_MCP_CLIENT_ERROR_CLOSED,
                                                 "The upstream connection was closed");

  if (priv->shut_down)
    return;
  priv->shut_down = TRUE;
  cf_upstream_transport_lost (self, error);
  CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->shutdown (self);
}

GPid
cf_upstream_transport_get_pid (CfUpstreamTransport *self)
{
  if (CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->get_pid == NULL)
    return 0;
  return CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->get_pid (self);
}

const char *
cf_upstream_transport_get_session_id (CfUpstreamTransport *self)
{
  if (CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->get_session_id == NULL)
    return NULL;
  return CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->get_session_id (self);
}

gboolean
cf_upstream_transport_is_stream_per_request (CfUpstreamTransport *self)
{
  return CF_UPSTREAM_TRANSPORT_GET_CLASS (self)->stream_per_request;
}

CfMcpEra
cf_upstream_transport_get_era (CfUpstreamTransport *self)
{
  return PRIV (self)->era;
}

/* The negotiated version, %NULL before the handshake is done. */
const char *
cf_upstream_transport_get_version (CfUpstreamTransport *self)
{
  return PRIV (self)->version;
}

gboolean
cf_upstream_transport_is_closed (CfUpstreamTransport *self)
{
  return PRIV (self)->closed;
}

void
cf_upstream_transport_set_max_message (CfUpstreamTransport *self,
                                       gsize                max_message)
{
  PRIV (self)->max_message = max_message;
}

gsize
cf_upstream_transport_get_max_message (CfUpstreamTransport *self)
{
  return PRIV (self)->max_message;
}

/* The call is over: stop tracking it. */
void
cf_upstream_transport_forget (CfUpstreamTransport *self,
                              CfUpstreamCall      *call)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);

  if (g_hash_table_lookup (priv->calls, &call->id) == call)
    g_hash_table_remove (priv->calls, &call->id);
}

guint
cf_upstream_transport_get_n_calls (CfUpstreamTransport *self)
{
  return g_hash_table_size (PRIV (self)->calls);
}

/**
 * cf_upstream_transport_dup_calls:
 * @self: the transport
 *
 * Returns: (transfer full) (element-type CfUpstreamCall): the calls in
 *   flight, a reference each
 */
GPtrArray *
cf_upstream_transport_dup_calls (CfUpstreamTransport *self)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);
  GPtrArray *calls = g_ptr_array_new_with_free_func ((GDestroyNotify) cf_upstream_call_unref);
  GHashTableIter iter;
  gpointer value;

  g_hash_table_iter_init (&iter, priv->calls);
  while (g_hash_table_iter_next (&iter, NULL, &value))
    g_ptr_array_add (calls, cf_upstream_call_ref (value));
  return calls;
}

/**
 * cf_upstream_transport_lost:
 * @self: the transport
 * @error: why: every call in flight fails with it
 *
 * The upstream is gone (the child exited, the session was lost). Emits
 * "closed" once.
 */
void
cf_upstream_transport_lost (CfUpstreamTransport *self,
                            const GError        *error)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);
  g_autoptr(CfUpstreamTransport) hold = g_object_ref (self);
  g_autoptr(GPtrArray) calls = NULL;

  if (priv->closed)
    return;
  priv->closed = TRUE;

  /* "closed" first: whoever retries a failed call must already see the
   * connection as gone. */
  calls = cf_upstream_transport_dup_calls (self);
  g_signal_emit (self, signals[CLOSED], 0);
  for (guint i = 0; i < calls->len; i++)
    cf_upstream_call_fail (g_ptr_array_index (calls, i), error);
}

void
cf_upstream_transport_warn (CfUpstreamTransport *self,
                            const char          *format,
                            ...)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);
  g_autofree char *text = NULL;
  va_list args;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);

  if (priv->n_warnings < MAX_WARNINGS)
    {
      priv->n_warnings++;
      g_message ("Upstream: %s", text);
    }
  else
    g_debug ("Upstream: %s", text);
}

void
cf_upstream_transport_emit_message (CfUpstreamTransport *self,
                                    JsonNode            *message)
{
  g_signal_emit (self, signals[MESSAGE], 0, message);
}

static CfUpstreamCall *
lookup_call (CfUpstreamTransport *self,
             JsonNode            *id)
{
  gint64 key;

  if (id == NULL || !cf_json_node_is_integer (id))
    return NULL;
  key = json_node_get_int (id);
  return g_hash_table_lookup (PRIV (self)->calls, &key);
}

/* The only call in flight, if there is exactly one; open subscriptions
 * do not count: they last, and say which messages are theirs. */
static CfUpstreamCall *
single_call (CfUpstreamTransport *self)
{
  GHashTableIter iter;
  CfUpstreamCall *call, *single = NULL;

  g_hash_table_iter_init (&iter, PRIV (self)->calls);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &call))
    {
      if (call->subscription)
        continue;
      if (single != NULL)
        return NULL;
      single = call;
    }
  return single;
}

static void
answer_ping (CfUpstreamTransport *self,
             CfJsonrpcMessage    *message)
{
  cf_upstream_transport_post (self, cf_jsonrpc_build_result (message->id, json_object_new ()));
}

static void
route_response (CfUpstreamTransport *self,
                CfJsonrpcMessage    *message)
{
  CfUpstreamCall *call = lookup_call (self, message->id);

  if (call == NULL && message->id == NULL)
    call = single_call (self);
  if (call == NULL)
    {
      g_autofree char *id = message->id ? cf_json_to_string (message->id, NULL) : NULL;

      g_debug ("Dropped a response for no request in flight (id %s)", id ? id : "null");
      return;
    }
  cf_upstream_call_complete (call, message->node);
}

static void
route_shared (CfUpstreamTransport *self,
              CfJsonrpcMessage    *message)
{
  CfUpstreamCall *call;
  JsonObject *meta = cf_jsonrpc_message_get_param_object (message, "_meta");
  JsonNode *subscription = meta ? json_object_get_member (meta,
                                                          "io.modelcontextprotocol/subscriptionId")
                                : NULL;

  /* A 2026-07-28 subscription's messages name it. */
  if (message->kind == CF_JSONRPC_KIND_NOTIFICATION && subscription != NULL &&
      (call = lookup_call (self, subscription)) != NULL)
    {
      cf_upstream_call_deliver (call, message->node);
      return;
    }
  if (message->kind == CF_JSONRPC_KIND_NOTIFICATION &&
      g_str_equal (message->method, "notifications/progress"))
    {
      call = lookup_call (self, cf_jsonrpc_message_get_param (message, "progressToken"));
      if (call != NULL)
        cf_upstream_call_deliver (call, message->node);
      else
        g_debug ("Dropped progress for no request in flight");
      return;
    }

  call = single_call (self);
  if (call != NULL && !call->internal &&
      (message->kind == CF_JSONRPC_KIND_REQUEST ||
       g_str_equal (message->method, "notifications/message")))
    cf_upstream_call_deliver (call, message->node);
  else
    cf_upstream_transport_emit_message (self, message->node);
}

static CfJsonrpcMessage *
validate (CfUpstreamTransport *self,
          JsonNode            *node)
{
  g_autoptr(GError) error = NULL;
  CfJsonrpcMessage *message = cf_jsonrpc_message_new (node, &error);

  if (message == NULL)
    cf_upstream_transport_warn (self, "dropped an invalid message: %s", error->message);
  return message;
}

/**
 * cf_upstream_transport_route:
 * @self: the transport
 * @node: a message from a channel that is not one request's own
 * @route: which channel
 *
 * Hands @node to the call it belongs to, or to "message"; see the rule
 * at the top of this file.
 */
void
cf_upstream_transport_route (CfUpstreamTransport *self,
                             JsonNode            *node,
                             CfUpstreamRoute      route)
{
  g_autoptr(CfJsonrpcMessage) message = validate (self, node);

  if (message == NULL)
    return;

  if (message->kind == CF_JSONRPC_KIND_RESULT || message->kind == CF_JSONRPC_KIND_ERROR)
    route_response (self, message);
  else if (message->kind == CF_JSONRPC_KIND_REQUEST && g_str_equal (message->method, "ping"))
    answer_ping (self, message);
  else if (route == CF_UPSTREAM_ROUTE_UNSOLICITED)
    cf_upstream_transport_emit_message (self, node);
  else
    route_shared (self, message);
}

/**
 * cf_upstream_transport_receive:
 * @self: the transport
 * @data: the text of one message from a channel all requests share
 * @length: its length in bytes
 *
 * Parses @data and routes it by the shared channel's rule; what is not
 * JSON is dropped with a warning.
 */
void
cf_upstream_transport_receive (CfUpstreamTransport *self,
                               const char          *data,
                               gsize                length)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse (data, length, &error);

  if (node == NULL)
    cf_upstream_transport_warn (self, "dropped a message that is not JSON: %s", error->message);
  else
    cf_upstream_transport_route (self, node, CF_UPSTREAM_ROUTE_SHARED);
}

/**
 * cf_upstream_transport_route_for_call:
 * @self: the transport
 * @node: a message from @call's own response stream
 * @call: the call
 *
 * Everything on a request's own stream belongs to it; a response with
 * another id is dropped.
 */
void
cf_upstream_transport_route_for_call (CfUpstreamTransport *self,
                                      JsonNode            *node,
                                      CfUpstreamCall      *call)
{
  g_autoptr(CfJsonrpcMessage) message = validate (self, node);

  if (message == NULL)
    return;

  if (message->kind == CF_JSONRPC_KIND_RESULT || message->kind == CF_JSONRPC_KIND_ERROR)
    {
      if (message->id == NULL ||
          (cf_json_node_is_integer (message->id) && json_node_get_int (message->id) == call->id))
        cf_upstream_call_complete (call, node);
      else
        g_debug ("Dropped a response with a foreign id on the stream of request %"
                 G_GINT64_FORMAT, call->id);
    }
  else if (message->kind == CF_JSONRPC_KIND_REQUEST && g_str_equal (message->method, "ping"))
    answer_ping (self, message);
  else
    cf_upstream_call_deliver (call, node);
}

/* Reads a top-level-looking integer "id" from the start of a message too
 * large to parse. Responses put the id before the result in practice. */
static gboolean
scan_id (const char *head,
         gsize       length,
         gint64     *out_id)
{
  g_autofree char *text = g_strndup (head, MIN (length, ID_SCAN_BYTES));
  const char *p = strstr (text, "\"id\"");
  char *end = NULL;

  if (p == NULL)
    return FALSE;
  p += 4;
  while (*p == ' ' || *p == '\t')
    p++;
  if (*p++ != ':')
    return FALSE;
  while (*p == ' ' || *p == '\t')
    p++;
  if (!g_ascii_isdigit (*p))
    return FALSE;
  *out_id = g_ascii_strtoll (p, &end, 10);
  return end != p;
}

/**
 * cf_upstream_transport_fail_oversized:
 * @self: the transport
 * @head: the first bytes of a message over the limit
 * @length: how many
 *
 * Fails the call an oversized message on a shared channel belongs to:
 * the one whose id it starts with, else the only one in flight. With
 * neither, the message is dropped and its call will time out.
 */
void
cf_upstream_transport_fail_oversized (CfUpstreamTransport *self,
                                      const char          *head,
                                      gsize                length)
{
  CfUpstreamTransportPrivate *priv = PRIV (self);
  g_autoptr(GError) error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                                         "The upstream sent a message over %" G_GSIZE_FORMAT
                                         " bytes", priv->max_message);
  CfUpstreamCall *call = NULL;
  gint64 id;

  if (scan_id (head, length, &id))
    call = g_hash_table_lookup (priv->calls, &id);
  if (call == NULL)
    call = single_call (self);

  if (call != NULL)
    cf_upstream_call_fail (call, error);
  else
    cf_upstream_transport_warn (self, "%s; it was dropped", error->message);
}
