/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-request"

#include "config.h"

#include <string.h>

#include "cf-identity.h"
#include "cf-json.h"
#include "cf-mcp-request-private.h"
#include "cf-mcp-server-private.h"
#include "cf-mcp-session.h"
#include "cf-mcp-stream.h"
#include "cf-mcp-version.h"

/**
 * CfMcpRequest:
 *
 * One request in flight, as a handler sees it: its params, the era-neutral
 * facts about the caller, and the ways to answer. Notifications and
 * server-to-client requests go out on the request's own stream, before the
 * final response, so that clients see them in order.
 *
 * Server-to-client requests are bridged per era: legacy clients get a real
 * JSON-RPC request and answer it with a POST; 2026-07-28 clients get an
 * InputRequiredResult and retry with inputResponses. For the latter the
 * handler simply runs again from the start; the answers it already had come
 * back from `requestState` and `inputResponses` in order, so a handler that
 * asks the same questions in the same order needs no era-specific code.
 */
struct _CfMcpRequest
{
  GObject            parent_instance;

  CfMcpServer       *server;
  CfMcpSession      *session;
  CfMcpStream       *stream;
  CfJsonrpcMessage  *message;
  JsonObject        *no_params;
  char              *key;
  char              *version;
  JsonObject        *client_capabilities;
  char              *scope;
  CfIdentity        *identity;
  /* Made when first asked for; cancelled with the request */
  GCancellable      *cancellable;
  CfMcpRequestCancelFunc cancel_func;
  gpointer           cancel_data;
  /* The inputs a 2026-07-28 retry brings, NULL if none */
  JsonObject        *inputs;
  gulong             closed_id;
  gint64             ttl_ms;
  guint              next_input;
  CfMcpEra           era;
  CfMcpLogLevel      log_level;
  guint              done : 1;
  guint              cancelled : 1;
  guint              keep_open : 1;
  guint              private_scope : 1;
};

G_DEFINE_FINAL_TYPE (CfMcpRequest, cf_mcp_request, G_TYPE_OBJECT)
G_DEFINE_QUARK (cf-mcp-request-error-quark, cf_mcp_request_error)

static void complete (CfMcpRequest *self,
                      JsonNode     *response,
                      guint         status);

static void
cf_mcp_request_dispose (GObject *object)
{
  CfMcpRequest *self = (CfMcpRequest *) object;

  /* Every request gets an answer: a handler that lost its request must not
   * leave the client waiting forever. */
  if (!self->done && self->stream != NULL)
    {
      g_warning ("Request %s (%s) was dropped without an answer",
                 self->key, self->message->method);
      complete (self, cf_jsonrpc_build_error (self->message->id, CF_JSONRPC_INTERNAL_ERROR,
                                              "Internal error: the request was dropped",
                                              NULL), 500);
    }

  G_OBJECT_CLASS (cf_mcp_request_parent_class)->dispose (object);
}

static void
cf_mcp_request_finalize (GObject *object)
{
  CfMcpRequest *self = (CfMcpRequest *) object;

  g_clear_object (&self->server);
  g_clear_object (&self->session);
  g_clear_object (&self->stream);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->message, cf_jsonrpc_message_unref);
  g_clear_pointer (&self->no_params, json_object_unref);
  g_clear_pointer (&self->client_capabilities, json_object_unref);
  g_clear_pointer (&self->inputs, json_object_unref);
  g_clear_pointer (&self->key, g_free);
  g_clear_pointer (&self->version, g_free);
  g_clear_pointer (&self->scope, g_free);
  g_clear_object (&self->identity);

  G_OBJECT_CLASS (cf_mcp_request_parent_class)->finalize (object);
}

static void
cf_mcp_request_class_init (CfMcpRequestClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_mcp_request_dispose;
  object_class->finalize = cf_mcp_request_finalize;
}

static void
cf_mcp_request_init (CfMcpRequest *self)
{
  self->log_level = CF_MCP_LOG_LEVEL_NONE;
}

/* The request is over: nothing answers it or waits for its stream any
 * more. */
static void
mark_done (CfMcpRequest *self)
{
  self->done = TRUE;
  cf_mcp_stream_unwatch_closed (self->stream, &self->closed_id);
  if (self->session != NULL)
    cf_mcp_session_untrack_request (self->session, self->key);
}

/* Tells whoever works on the request: its function, then its cancellable. */
static void
cancel (CfMcpRequest *self)
{
  self->cancelled = TRUE;
  if (self->cancel_func != NULL)
    {
      CfMcpRequestCancelFunc func = g_steal_pointer (&self->cancel_func);

      func (self, g_steal_pointer (&self->cancel_data));
    }
  if (self->cancellable != NULL)
    g_cancellable_cancel (self->cancellable);
}

static void
on_stream_closed (CfMcpStream *stream,
                  gpointer     user_data)
{
  CfMcpRequest *self = user_data;
  g_autoptr(CfMcpRequest) hold = g_object_ref (self);

  /* Nobody is left to answer: closing the stream is the cancellation. */
  g_debug ("Stream of request %s closed, cancelling", self->key);
  mark_done (self);
  cancel (self);
  _cf_mcp_server_request_done (self->server, self);
}

static JsonObject *
decode_state (const char *state)
{
  g_autofree guchar *raw = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize len = 0;

  if (state == NULL)
    return NULL;
  raw = g_base64_decode (state, &len);
  node = cf_json_parse ((const char *) raw, len, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_object_ref (json_node_get_object (node));
}

static JsonObject *
collect_inputs (CfJsonrpcMessage *message)
{
  JsonObject *inputs = decode_state (cf_jsonrpc_message_get_param_string (message,
                                                                          "requestState"));
  JsonObject *responses = cf_jsonrpc_message_get_param_object (message, "inputResponses");
  g_autoptr(GList) members = NULL;

  /* Most requests carry none: no object for them. */
  if (inputs == NULL && responses == NULL)
    return NULL;
  if (inputs == NULL)
    inputs = json_object_new ();
  if (responses != NULL)
    members = json_object_get_members (responses);
  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (inputs, l->data,
                            json_object_dup_member (responses, l->data));
  return inputs;
}

CfMcpRequest *
_cf_mcp_request_new (CfMcpServer            *server,
                     CfMcpSession           *session,
                     CfMcpStream            *stream,
                     CfJsonrpcMessage       *message,
                     const CfMcpRequestInfo *info,
                     const char             *scope)
{
  CfMcpRequest *self = g_object_new (CF_TYPE_MCP_REQUEST, NULL);

  self->server = g_object_ref (server);
  self->session = session ? g_object_ref (session) : NULL;
  self->stream = g_object_ref (stream);
  self->message = cf_jsonrpc_message_ref (message);
  self->key = cf_json_node_to_id_string (message->id);
  self->version = g_strdup (info->version);
  self->era = info->era;
  self->log_level = info->log_level;
  self->scope = g_strdup (scope);
  if (info->client_capabilities != NULL)
    self->client_capabilities = json_object_ref (info->client_capabilities);
  if (self->era == CF_MCP_ERA_MODERN)
    self->inputs = collect_inputs (message);

  self->closed_id = cf_mcp_stream_watch_closed (stream, on_stream_closed, self);
  if (session != NULL)
    cf_mcp_session_track_request (session, self->key, self);

  return self;
}

const char *
_cf_mcp_request_get_key (CfMcpRequest *self)
{
  return self->key;
}

CfMcpStream *
_cf_mcp_request_get_stream (CfMcpRequest *self)
{
  return self->stream;
}

void
_cf_mcp_request_set_keep_open (CfMcpRequest *self,
                               gboolean      keep_open)
{
  self->keep_open = !!keep_open;
}

void
_cf_mcp_request_set_identity (CfMcpRequest *self,
                              CfIdentity   *identity)
{
  g_set_object (&self->identity, identity);
}

/**
 * cf_mcp_request_get_identity:
 * @self: a #CfMcpRequest
 *
 * Who the request runs as. The visibility and RBAC step filters on it;
 * until then handlers only pass it along.
 *
 * Returns: (transfer none) (nullable): the caller's identity; %NULL for
 *   transports without authentication (stdio) and servers built without
 *   an auth step
 */
CfIdentity *
cf_mcp_request_get_identity (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->identity;
}

const char *
cf_mcp_request_get_method (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->message->method;
}

/**
 * cf_mcp_request_get_params:
 *
 * The whole params object. A handler that reads a member or two asks for
 * those (cf_mcp_request_get_param()): a request read from text makes the
 * object only when it is asked for.
 *
 * Returns: (transfer none): the params, immutable; an empty object when
 *   none were sent
 */
JsonObject *
cf_mcp_request_get_params (CfMcpRequest *self)
{
  JsonObject *params;

  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);

  params = cf_jsonrpc_message_get_params (self->message);
  if (params != NULL)
    return params;
  if (self->no_params == NULL)
    self->no_params = json_object_new ();
  return self->no_params;
}

/**
 * cf_mcp_request_get_param:
 * @name: a member of the request's params
 *
 * Returns: (transfer none) (nullable): its value, immutable
 */
JsonNode *
cf_mcp_request_get_param (CfMcpRequest *self,
                          const char   *name)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return cf_jsonrpc_message_get_param (self->message, name);
}

/**
 * cf_mcp_request_get_param_object:
 * @name: a member of the request's params
 *
 * Returns: (transfer none) (nullable): its value if it is an object
 */
JsonObject *
cf_mcp_request_get_param_object (CfMcpRequest *self,
                                 const char   *name)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return cf_jsonrpc_message_get_param_object (self->message, name);
}

/**
 * cf_mcp_request_get_param_string:
 * @name: a member of the request's params
 *
 * Returns: (transfer none) (nullable): its value if it is a string
 */
const char *
cf_mcp_request_get_param_string (CfMcpRequest *self,
                                 const char   *name)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return cf_jsonrpc_message_get_param_string (self->message, name);
}

/**
 * cf_mcp_request_dup_param_text:
 * @name: a member of the request's params
 *
 * The member's value as JSON text, to be passed on as the client wrote it
 * (cf_jsonrpc_message_dup_param_text()).
 *
 * Returns: (transfer full) (nullable): the text; %NULL without the member
 */
GBytes *
cf_mcp_request_dup_param_text (CfMcpRequest *self,
                               const char   *name)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return cf_jsonrpc_message_dup_param_text (self->message, name);
}

JsonNode *
cf_mcp_request_get_id (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->message->id;
}

CfMcpServer *
cf_mcp_request_get_server (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->server;
}

/**
 * cf_mcp_request_get_session:
 *
 * Returns: (transfer none) (nullable): the legacy session, if any
 */
CfMcpSession *
cf_mcp_request_get_session (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->era == CF_MCP_ERA_LEGACY ? self->session : NULL;
}

const char *
cf_mcp_request_get_protocol_version (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->version;
}

CfMcpEra
cf_mcp_request_get_era (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), CF_MCP_ERA_LEGACY);
  return self->era;
}

/**
 * cf_mcp_request_get_client_capabilities:
 *
 * The capabilities the client declared: in its session (legacy), or in
 * this request's `_meta` (2026-07-28), read from there the first time
 * they are asked for.
 *
 * Returns: (transfer none) (nullable): the capabilities
 */
JsonObject *
cf_mcp_request_get_client_capabilities (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);

  if (self->client_capabilities == NULL && self->era == CF_MCP_ERA_MODERN)
    {
      JsonNode *caps = cf_jsonrpc_message_get_meta (self->message,
                                                    "io.modelcontextprotocol/clientCapabilities");

      if (cf_json_node_is_object (caps))
        self->client_capabilities = json_object_ref (json_node_get_object (caps));
    }
  return self->client_capabilities;
}

gboolean
cf_mcp_request_client_has_capability (CfMcpRequest *self,
                                      const char   *capability)
{
  JsonObject *caps;

  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), FALSE);

  caps = cf_mcp_request_get_client_capabilities (self);
  return caps != NULL && json_object_has_member (caps, capability);
}

/**
 * cf_mcp_request_get_meta:
 * @name: a member of the request's `_meta`
 *
 * Returns: (transfer none) (nullable): its value, immutable
 *   (cf_jsonrpc_message_get_meta())
 */
JsonNode *
cf_mcp_request_get_meta (CfMcpRequest *self,
                         const char   *name)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return cf_jsonrpc_message_get_meta (self->message, name);
}

const char *
cf_mcp_request_get_scope (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);
  return self->scope;
}

/**
 * cf_mcp_request_get_cancellable:
 *
 * Returns: (transfer none): cancelled when the client cancels the request or
 *   goes away; to pass to the work done for it (cancelling it is not how
 *   a request is cancelled)
 */
GCancellable *
cf_mcp_request_get_cancellable (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), NULL);

  if (self->cancellable == NULL)
    {
      self->cancellable = g_cancellable_new ();
      if (self->cancelled)
        g_cancellable_cancel (self->cancellable);
    }
  return self->cancellable;
}

/**
 * cf_mcp_request_set_cancel_func:
 * @self: a #CfMcpRequest
 * @func: (nullable): called once if the request is cancelled (the client
 *   cancelled it or went away), before its cancellable is; %NULL takes a
 *   function back
 * @user_data: data for @func
 *
 * The cheap form of a handler on cf_mcp_request_get_cancellable(), for
 * the one piece of work a request waits on (a relay): no cancellable is
 * made for it and no signal connected. One function at a time; it is not
 * called for a request cancelled before it was set.
 */
void
cf_mcp_request_set_cancel_func (CfMcpRequest           *self,
                                CfMcpRequestCancelFunc  func,
                                gpointer                user_data)
{
  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (func == NULL || self->cancel_func == NULL);

  self->cancel_func = func;
  self->cancel_data = user_data;
}

gboolean
cf_mcp_request_is_done (CfMcpRequest *self)
{
  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), TRUE);
  return self->done;
}

/**
 * cf_mcp_request_set_cache_hint:
 * @self: a #CfMcpRequest
 * @ttl_ms: how long a 2026-07-28 client may cache a cacheable result
 * @private_scope: whether the result depends on who asked
 */
void
cf_mcp_request_set_cache_hint (CfMcpRequest *self,
                               gint64        ttl_ms,
                               gboolean      private_scope)
{
  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  self->ttl_ms = ttl_ms;
  self->private_scope = !!private_scope;
}

/* Answers with @response, or with @serialized when the answer was put
 * together as text. */
static void
complete_with (CfMcpRequest *self,
               JsonNode     *response,
               GBytes       *serialized,
               guint         status)
{
  g_autoptr(CfMcpRequest) hold = g_object_ref (self);

  if (self->done)
    return;

  mark_done (self);
  if (serialized != NULL)
    cf_mcp_stream_finish_bytes (self->stream, serialized, status);
  else
    cf_mcp_stream_finish (self->stream, response, status);
  _cf_mcp_server_request_done (self->server, self);
}

static void
complete (CfMcpRequest *self,
          JsonNode     *response,
          guint         status)
{
  g_autoptr(JsonNode) owned = response;

  complete_with (self, response, NULL, status);
}

/**
 * _cf_mcp_request_cancel:
 *
 * The client cancelled the request: it gets no response (MCP's
 * cancellation rule), its stream just ends, and then its cancellable is
 * cancelled for whoever works on it. (The request does not listen to its
 * own cancellable: a signal connection per request for the rare cancel.)
 */
void
_cf_mcp_request_cancel (CfMcpRequest *self)
{
  g_autoptr(CfMcpRequest) hold = g_object_ref (self);

  if (!self->done)
    g_debug ("Request %s cancelled", self->key);
  complete_with (self, NULL, NULL, 204);
  cancel (self);
}

/* @result as the request's era expects it, or %NULL (and @result gone)
 * when the request was already answered. */
static JsonObject *
shape_result (CfMcpRequest *self,
              JsonObject   *result)
{
  if (self->done)
    {
      json_object_unref (result);
      return NULL;
    }
  return cf_mcp_era_shape_result (self->era, self->message->method, result,
                                  self->ttl_ms, self->private_scope,
                                  cf_mcp_server_get_info (self->server));
}

/**
 * cf_mcp_request_return:
 * @self: a #CfMcpRequest
 * @result: (transfer full): the result object, era-neutral
 *
 * Answers the request. The era adapter adds what the client's era expects
 * (resultType, cache hints, serverInfo). Answering twice is ignored.
 */
void
cf_mcp_request_return (CfMcpRequest *self,
                       JsonObject   *result)
{
  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (result != NULL);

  result = shape_result (self, result);
  if (result != NULL)
    complete (self, cf_jsonrpc_build_result (self->message->id, result), 200);
}

/**
 * cf_mcp_request_return_spliced:
 * @self: a #CfMcpRequest
 * @result: (transfer full): the result object, era-neutral, without @member
 * @member: the name of one more member of the result: letters only
 * @value: the serialized JSON value of @member
 *
 * As cf_mcp_request_return(), for a result one of whose members is already
 * serialized: a page of a long list, put together from items serialized
 * once, is written as it is instead of being built as a tree and
 * serialized again on every call.
 */
void
cf_mcp_request_return_spliced (CfMcpRequest *self,
                               JsonObject   *result,
                               const char   *member,
                               GBytes       *value)
{
  g_autoptr(GBytes) response = NULL;

  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (result != NULL);
  g_return_if_fail (member != NULL);
  g_return_if_fail (value != NULL);

  result = shape_result (self, result);
  if (result == NULL)
    return;
  response = cf_jsonrpc_build_result_spliced (self->message->id, result, member, value);
  complete_with (self, NULL, response, 200);
}

/**
 * cf_mcp_request_return_with_members:
 * @self: a #CfMcpRequest
 * @result: (transfer full) (nullable): the members of the result the era
 *   adapter may read or set (resultType, ttlMs, cacheScope, _meta),
 *   era-neutral; %NULL when there are none
 * @members: the result's other members, serialized as in an object
 *   without its braces, possibly none
 *
 * As cf_mcp_request_return(), for a relayed result most of which passes
 * through as the upstream wrote it: it is neither parsed into a tree nor
 * serialized again. With no @result, the response is written as text
 * from end to end.
 */
void
cf_mcp_request_return_with_members (CfMcpRequest *self,
                                    JsonObject   *result,
                                    GBytes       *members)
{
  g_autoptr(GBytes) response = NULL;

  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (members != NULL);

  if (result == NULL)
    {
      gsize length;
      const char *text = g_bytes_get_data (members, &length);
      GString *out;

      if (self->done)
        return;
      out = cf_jsonrpc_begin_result (self->message->id, length);
      g_string_append_len (out, text, length);
      cf_mcp_era_append_shaped_members (self->era, self->message->method, self->ttl_ms,
                                        self->private_scope,
                                        _cf_mcp_server_get_info_text (self->server), out,
                                        length > 0);
      response = cf_jsonrpc_end_result (out);
    }
  else
    {
      result = shape_result (self, result);
      if (result == NULL)
        return;
      response = cf_jsonrpc_build_result_with_members (self->message->id, result, members);
    }
  complete_with (self, NULL, response, 200);
}

/**
 * cf_mcp_request_return_error:
 * @self: a #CfMcpRequest
 * @code: a #CfJsonrpcCode
 * @message: what went wrong, for the client
 * @data: (transfer full) (nullable): extra error data
 */
void
cf_mcp_request_return_error (CfMcpRequest *self,
                             int           code,
                             const char   *message,
                             JsonNode     *data)
{
  g_return_if_fail (CF_IS_MCP_REQUEST (self));

  if (self->done)
    {
      g_clear_pointer (&data, json_node_unref);
      return;
    }

  complete (self, cf_jsonrpc_build_error (self->message->id, code, message, data),
            cf_mcp_era_error_status (self->era, code));
}

void
cf_mcp_request_return_gerror (CfMcpRequest *self,
                              const GError *error)
{
  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (error != NULL);

  if (g_error_matches (error, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_INPUT_REQUIRED))
    return;
  if (error->domain == CF_JSONRPC_ERROR)
    cf_mcp_request_return_error (self, error->code, error->message, NULL);
  else
    cf_mcp_request_return_error (self, CF_JSONRPC_INTERNAL_ERROR, error->message, NULL);
}

/**
 * cf_mcp_request_return_json:
 * @self: a #CfMcpRequest
 * @response: (transfer full): a complete JSON-RPC response to pass through
 *
 * Answers with a response built elsewhere (a relayed upstream answer); its
 * id is replaced with this request's id.
 */
void
cf_mcp_request_return_json (CfMcpRequest *self,
                            JsonNode     *response)
{
  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (JSON_NODE_HOLDS_OBJECT (response));

  if (self->done)
    {
      json_node_unref (response);
      return;
    }
  json_object_set_member (json_node_get_object (response), "id",
                          json_node_copy (self->message->id));
  complete (self, response, 200);
}

/**
 * cf_mcp_request_notify:
 * @self: a #CfMcpRequest
 * @method: a notification method
 * @params: (transfer full) (nullable): its params
 *
 * Sends a notification that belongs to this request, ahead of its answer.
 *
 * Returns: %TRUE if it was delivered
 */
gboolean
cf_mcp_request_notify (CfMcpRequest *self,
                       const char   *method,
                       JsonObject   *params)
{
  g_autoptr(JsonNode) message = NULL;

  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), FALSE);

  message = cf_jsonrpc_build_notification (method, params);
  if (self->done)
    return FALSE;
  if (cf_mcp_stream_send (self->stream, message))
    return TRUE;
  /* A JSON-only response cannot carry it; a legacy session's standalone
   * stream still can, without ordering guarantees. */
  if (self->era == CF_MCP_ERA_LEGACY && self->session != NULL)
    return cf_mcp_session_send (self->session, message);
  return FALSE;
}

/**
 * cf_mcp_request_progress:
 * @self: a #CfMcpRequest
 * @progress: the progress so far
 * @total: the total, or a negative value when unknown
 * @message: (nullable): a human-readable status
 *
 * Returns: %TRUE if the client asked for progress and it was delivered
 */
gboolean
cf_mcp_request_progress (CfMcpRequest *self,
                         double        progress,
                         double        total,
                         const char   *message)
{
  JsonNode *token = cf_jsonrpc_message_get_meta (self->message, "progressToken");
  JsonObject *params;

  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), FALSE);

  if (token == NULL || !(cf_json_node_is_string (token) || cf_json_node_is_integer (token)))
    return FALSE;

  params = json_object_new ();
  json_object_set_member (params, "progressToken", json_node_copy (token));
  json_object_set_double_member (params, "progress", progress);
  if (total >= 0)
    json_object_set_double_member (params, "total", total);
  if (message != NULL)
    json_object_set_string_member (params, "message", message);

  return cf_mcp_request_notify (self, "notifications/progress", params);
}

/**
 * cf_mcp_request_log:
 * @self: a #CfMcpRequest
 * @level: the message's severity
 * @logger: (nullable): the logger name
 * @data: (transfer full): the message, any JSON value
 *
 * Sends a log message if the client asked for this level: through
 * `logging/setLevel` (legacy) or `_meta` of the request (2026-07-28, where
 * a request without a level gets no log messages at all).
 *
 * Returns: %TRUE if it was delivered
 */
/**
 * cf_mcp_request_get_log_level:
 *
 * Returns: the least severe level the client wants log messages of for
 *   this request, or %CF_MCP_LOG_LEVEL_NONE when it wants none
 */
CfMcpLogLevel
cf_mcp_request_get_log_level (CfMcpRequest *self)
{
  CfMcpLogLevel threshold;

  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), CF_MCP_LOG_LEVEL_NONE);

  threshold = self->log_level;
  if (self->era == CF_MCP_ERA_LEGACY && self->session != NULL)
    threshold = cf_mcp_session_get_log_level (self->session);
  /* Legacy clients that never set a level get everything. */
  if (self->era == CF_MCP_ERA_LEGACY && threshold == CF_MCP_LOG_LEVEL_NONE)
    threshold = CF_MCP_LOG_LEVEL_DEBUG;
  return threshold;
}

gboolean
cf_mcp_request_log (CfMcpRequest  *self,
                    CfMcpLogLevel  level,
                    const char    *logger,
                    JsonNode      *data)
{
  CfMcpLogLevel threshold;
  JsonObject *params;

  g_return_val_if_fail (CF_IS_MCP_REQUEST (self), FALSE);

  threshold = cf_mcp_request_get_log_level (self);
  if (threshold == CF_MCP_LOG_LEVEL_NONE || level < threshold)
    {
      json_node_unref (data);
      return FALSE;
    }

  params = json_object_new ();
  json_object_set_string_member (params, "level", cf_mcp_log_level_to_string (level));
  if (logger != NULL)
    json_object_set_string_member (params, "logger", logger);
  json_object_set_member (params, "data", data);

  return cf_mcp_request_notify (self, "notifications/message", params);
}

/* Server-to-client requests */

typedef struct {
  CfMcpServer *server;
  char        *key;
  guint        timeout_id;
} ClientCall;

static void
client_call_free (ClientCall *call)
{
  if (call->key != NULL)
    _cf_mcp_server_unregister_client_call (call->server, call->key);
  g_clear_handle_id (&call->timeout_id, g_source_remove);
  g_clear_pointer (&call->key, g_free);
  g_clear_object (&call->server);
  g_free (call);
}

static gboolean
on_client_call_timeout (gpointer user_data)
{
  GTask *task = user_data;
  ClientCall *call = g_task_get_task_data (task);

  call->timeout_id = 0;
  /* A late answer must not find the task again. */
  _cf_mcp_server_unregister_client_call (call->server, call->key);
  g_clear_pointer (&call->key, g_free);
  g_task_return_new_error (task, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_TIMED_OUT,
                           "The client did not answer within %u ms",
                           cf_mcp_server_get_client_timeout (call->server));
  g_object_unref (task);
  return G_SOURCE_REMOVE;
}

static const char *
required_capability (const char *method)
{
  if (g_str_equal (method, "sampling/createMessage"))
    return "sampling";
  if (g_str_equal (method, "elicitation/create"))
    return "elicitation";
  if (g_str_equal (method, "roots/list"))
    return "roots";
  return NULL;
}

static void
call_client_legacy (CfMcpRequest *self,
                    GTask        *task,
                    const char   *method,
                    JsonObject   *params)
{
  ClientCall *call = g_task_get_task_data (task);
  g_autoptr(JsonNode) id = NULL;
  g_autoptr(JsonNode) message = NULL;

  call->key = _cf_mcp_server_register_client_call (self->server, task, self->session);
  id = cf_json_node_new_string (call->key + 2);
  message = cf_jsonrpc_build_request (id, method, params);

  if (!cf_mcp_stream_send (self->stream, message) &&
      (self->session == NULL || !cf_mcp_session_send (self->session, message)))
    {
      g_task_return_new_error (task, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_UNDELIVERABLE,
                               "The client has no stream open to receive %s", method);
      g_object_unref (task);
      return;
    }

  call->timeout_id = g_timeout_add (cf_mcp_server_get_client_timeout (self->server),
                                    on_client_call_timeout, task);
}

static char *
encode_state (JsonObject *inputs)
{
  g_autofree char *json = cf_json_object_to_string (inputs);

  return g_base64_encode ((const guchar *) json, strlen (json));
}

static void
call_client_modern (CfMcpRequest *self,
                    GTask        *task,
                    const char   *method,
                    JsonObject   *params)
{
  g_autofree char *input_key = g_strdup_printf ("cf-input-%u", self->next_input++);
  JsonObject *result, *requests, *request;

  if (self->inputs != NULL && json_object_has_member (self->inputs, input_key))
    {
      g_task_return_pointer (task, json_object_dup_member (self->inputs, input_key),
                             (GDestroyNotify) json_node_unref);
      g_object_unref (task);
      json_object_unref (params);
      return;
    }

  request = json_object_new ();
  json_object_set_string_member (request, "method", method);
  json_object_set_object_member (request, "params", params);
  requests = json_object_new ();
  json_object_set_object_member (requests, input_key, request);

  result = json_object_new ();
  json_object_set_string_member (result, "resultType", "input_required");
  json_object_set_object_member (result, "inputRequests", requests);
  if (self->inputs != NULL && json_object_get_size (self->inputs) > 0)
    {
      g_autofree char *state = encode_state (self->inputs);
      json_object_set_string_member (result, "requestState", state);
    }
  cf_mcp_request_return (self, result);

  g_task_return_new_error (task, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_INPUT_REQUIRED,
                           "The client must supply input first");
  g_object_unref (task);
}

/**
 * cf_mcp_request_call_client_async:
 * @self: a #CfMcpRequest
 * @method: `sampling/createMessage`, `elicitation/create` or `roots/list`
 * @params: (transfer full): its params
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the client's answer
 * @user_data: closure data
 *
 * Asks the client something while this request runs. With a 2026-07-28
 * client the request is answered with an InputRequiredResult instead and
 * the call fails with %CF_MCP_REQUEST_ERROR_INPUT_REQUIRED: the handler
 * then stops, and runs again when the client retries with the input.
 */
void
cf_mcp_request_call_client_async (CfMcpRequest        *self,
                                  const char          *method,
                                  JsonObject          *params,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  GTask *task;
  ClientCall *call;
  const char *capability = required_capability (method);

  g_return_if_fail (CF_IS_MCP_REQUEST (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (params != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_mcp_request_call_client_async);
  g_task_set_check_cancellable (task, FALSE);
  call = g_new0 (ClientCall, 1);
  call->server = g_object_ref (self->server);
  g_task_set_task_data (task, call, (GDestroyNotify) client_call_free);

  if (capability != NULL && !cf_mcp_request_client_has_capability (self, capability))
    {
      g_autofree char *msg = g_strdup_printf ("The client did not declare the %s capability",
                                              capability);

      if (self->era == CF_MCP_ERA_MODERN)
        {
          JsonObject *data = json_object_new ();
          JsonArray *missing = json_array_new ();

          json_array_add_string_element (missing, capability);
          json_object_set_array_member (data, "requiredCapabilities", missing);
          cf_mcp_request_return_error (self, CF_JSONRPC_MISSING_CLIENT_CAPABILITY, msg,
                                       cf_json_node_new_object (data));
        }
      json_object_unref (params);
      g_task_return_new_error (task, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_UNDELIVERABLE,
                               "%s", msg);
      g_object_unref (task);
      return;
    }

  if (self->era == CF_MCP_ERA_MODERN)
    call_client_modern (self, task, method, params);
  else
    call_client_legacy (self, task, method, params);
}

/**
 * cf_mcp_request_call_client_finish:
 *
 * Returns: (transfer full): the client's result, or %NULL with @error set;
 *   an error answer from the client is a %CF_JSONRPC_ERROR
 */
JsonNode *
cf_mcp_request_call_client_finish (CfMcpRequest  *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}
