/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-server"

#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-batch-stream.h"
#include "cf-mcp-request-private.h"
#include "cf-mcp-server-private.h"
#include "cf-mcp-session.h"
#include "cf-mcp-stream.h"
#include "cf-mcp-version.h"
#include "cf-random.h"

/* A batch larger than this is refused whole: answering 10,000 requests of
 * one POST would let one client monopolise the loop. */
#define MAX_BATCH 100
#define DEFAULT_CLIENT_TIMEOUT_MS 60000
#define DEFAULT_MAX_SESSIONS 10000

/**
 * CfMcpServer:
 *
 * The transport-independent MCP server: it validates JSON-RPC, resolves the
 * protocol era of each request, runs the handshake, the built-in methods
 * (ping, logging, discovery, subscriptions) and dispatches everything else
 * to registered method handlers. Legacy sessions live here, as do the
 * server-to-client calls awaiting an answer and the open
 * `subscriptions/listen` streams.
 */
G_DEFINE_FINAL_TYPE (CfMcpServer, cf_mcp_server, G_TYPE_OBJECT)

static void
method_entry_free (MethodEntry *entry)
{
  if (entry->destroy != NULL)
    entry->destroy (entry->user_data);
  g_free (entry);
}

void
_cf_mcp_listener_free (Listener *listener)
{
  g_clear_object (&listener->request);
  g_clear_pointer (&listener->filter, json_object_unref);
  g_free (listener);
}

static void
cf_mcp_server_dispose (GObject *object)
{
  CfMcpServer *self = (CfMcpServer *) object;

  cf_mcp_server_shutdown (self);

  G_OBJECT_CLASS (cf_mcp_server_parent_class)->dispose (object);
}

static void
cf_mcp_server_finalize (GObject *object)
{
  CfMcpServer *self = (CfMcpServer *) object;

  g_clear_pointer (&self->info, json_object_unref);
  g_clear_pointer (&self->info_text, g_free);
  g_clear_pointer (&self->instructions, g_free);
  g_clear_pointer (&self->versions, g_strfreev);
  g_clear_pointer (&self->capabilities, json_object_unref);
  g_clear_pointer (&self->methods, g_hash_table_unref);
  g_clear_pointer (&self->sessions, g_hash_table_unref);
  g_clear_pointer (&self->client_calls, g_hash_table_unref);
  g_clear_pointer (&self->listeners, g_ptr_array_unref);
  g_clear_pointer (&self->connections, g_ptr_array_unref);
  if (self->param_headers_destroy != NULL)
    self->param_headers_destroy (self->param_headers_data);

  G_OBJECT_CLASS (cf_mcp_server_parent_class)->finalize (object);
}

static void
cf_mcp_server_class_init (CfMcpServerClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_mcp_server_dispose;
  object_class->finalize = cf_mcp_server_finalize;
}

static void
cf_mcp_server_init (CfMcpServer *self)
{
  self->info = json_object_new ();
  self->versions = g_strdupv ((GStrv) cf_mcp_known_versions ());
  self->capabilities = json_object_new ();
  self->methods = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                         (GDestroyNotify) method_entry_free);
  self->sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  self->client_calls = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->listeners = g_ptr_array_new_with_free_func ((GDestroyNotify) _cf_mcp_listener_free);
  self->connections = g_ptr_array_new_with_free_func (g_object_unref);
  self->client_timeout_ms = DEFAULT_CLIENT_TIMEOUT_MS;
  self->max_sessions = DEFAULT_MAX_SESSIONS;
}

/**
 * cf_mcp_server_new:
 * @name: the serverInfo name
 * @version: the serverInfo version
 *
 * Returns: (transfer full): a server that knows no methods yet
 */
CfMcpServer *
cf_mcp_server_new (const char *name,
                   const char *version)
{
  CfMcpServer *self;

  g_return_val_if_fail (name != NULL, NULL);
  g_return_val_if_fail (version != NULL, NULL);

  self = g_object_new (CF_TYPE_MCP_SERVER, NULL);
  json_object_set_string_member (self->info, "name", name);
  json_object_set_string_member (self->info, "version", version);
  /* Fixed from here on: results carry it, some written as text. */
  json_object_seal (self->info);
  {
    g_autoptr(JsonNode) node = cf_json_node_new_object (json_object_ref (self->info));

    self->info_text = cf_json_to_string (node, NULL);
  }
  return self;
}

/**
 * cf_mcp_server_get_info:
 *
 * Returns: (transfer none): the serverInfo object, sealed
 */
JsonObject *
cf_mcp_server_get_info (CfMcpServer *self)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), NULL);
  return self->info;
}

/**
 * _cf_mcp_server_get_info_text:
 *
 * Returns: (transfer none): the serverInfo object, serialized
 */
const char *
_cf_mcp_server_get_info_text (CfMcpServer *self)
{
  return self->info_text;
}

/**
 * cf_mcp_server_set_param_headers_func:
 * @self: a #CfMcpServer
 * @func: (nullable): finds a tool's x-mcp-header annotations
 * @user_data: data for @func
 * @destroy: (nullable): frees @user_data
 *
 * With a @func, 2026-07-28 tools/call requests over Streamable HTTP are
 * checked for the Mcp-Param-* headers their tool's schema asks for, and
 * refused with HeaderMismatch (-32020, HTTP 400) when one is missing or
 * does not match the body.
 */
void
cf_mcp_server_set_param_headers_func (CfMcpServer           *self,
                                      CfMcpParamHeadersFunc  func,
                                      gpointer               user_data,
                                      GDestroyNotify         destroy)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));

  if (self->param_headers_destroy != NULL)
    self->param_headers_destroy (self->param_headers_data);
  self->param_headers_func = func;
  self->param_headers_data = user_data;
  self->param_headers_destroy = destroy;
}

/**
 * cf_mcp_server_lookup_param_headers:
 * @self: a #CfMcpServer
 * @tool: a tool's name
 * @scope: (nullable): the virtual server the endpoint serves
 * @identity: (nullable): who calls
 *
 * Returns: (transfer none) (nullable): what the func set with
 *   cf_mcp_server_set_param_headers_func() answers, or %NULL
 */
CfMcpParamHeaders *
cf_mcp_server_lookup_param_headers (CfMcpServer *self,
                                    const char  *tool,
                                    const char  *scope,
                                    CfIdentity  *identity)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), NULL);

  if (self->param_headers_func == NULL || tool == NULL)
    return NULL;
  return self->param_headers_func (self, tool, scope, identity, self->param_headers_data);
}

void
cf_mcp_server_set_instructions (CfMcpServer *self,
                                const char  *instructions)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_free (self->instructions);
  self->instructions = g_strdup (instructions);
}

/**
 * cf_mcp_server_set_versions:
 * @self: a #CfMcpServer
 * @versions: the protocol versions to serve, a subset of the known ones
 */
void
cf_mcp_server_set_versions (CfMcpServer        *self,
                            const char * const *versions)
{
  GPtrArray *kept = g_ptr_array_new ();

  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (versions != NULL && versions[0] != NULL);

  /* Keep the newest-first order negotiation relies on. */
  for (const char * const *v = cf_mcp_known_versions (); *v != NULL; v++)
    if (g_strv_contains (versions, *v))
      g_ptr_array_add (kept, g_strdup (*v));
  g_ptr_array_add (kept, NULL);

  g_strfreev (self->versions);
  self->versions = (GStrv) g_ptr_array_free (kept, FALSE);
}

const char * const *
cf_mcp_server_get_versions (CfMcpServer *self)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), NULL);
  return (const char * const *) self->versions;
}

gboolean
cf_mcp_server_supports_version (CfMcpServer *self,
                                const char  *version)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), FALSE);
  return version != NULL && g_strv_contains ((const char * const *) self->versions, version);
}

/**
 * cf_mcp_server_get_default_legacy_version:
 *
 * Returns: (nullable): what a legacy client that names no version gets:
 *   2025-03-26 if served, else the newest legacy version served
 */
const char *
cf_mcp_server_get_default_legacy_version (CfMcpServer *self)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), NULL);

  if (cf_mcp_server_supports_version (self, CF_MCP_VERSION_HEADERLESS))
    return CF_MCP_VERSION_HEADERLESS;
  for (guint i = 0; self->versions[i] != NULL; i++)
    if (cf_mcp_version_get_era (self->versions[i]) == CF_MCP_ERA_LEGACY)
      return self->versions[i];
  return NULL;
}

static const char *
newest_legacy_version (CfMcpServer *self)
{
  for (guint i = 0; self->versions[i] != NULL; i++)
    if (cf_mcp_version_get_era (self->versions[i]) == CF_MCP_ERA_LEGACY)
      return self->versions[i];
  return NULL;
}

/**
 * cf_mcp_server_set_capability:
 * @self: a #CfMcpServer
 * @name: a capability name ("tools", "resources", ...)
 * @value: (transfer full) (nullable): its settings, or %NULL to remove it
 */
void
cf_mcp_server_set_capability (CfMcpServer *self,
                              const char  *name,
                              JsonObject  *value)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));

  if (value == NULL)
    json_object_remove_member (self->capabilities, name);
  else
    json_object_set_object_member (self->capabilities, name, value);
}

/**
 * cf_mcp_server_build_capabilities:
 * @self: a #CfMcpServer
 * @era: the era to describe them for
 *
 * Returns: (transfer full): the capabilities object
 */
JsonObject *
cf_mcp_server_build_capabilities (CfMcpServer *self,
                                  CfMcpEra     era)
{
  JsonObject *caps;

  g_return_val_if_fail (CF_IS_MCP_SERVER (self), NULL);

  caps = cf_json_object_deep_copy (self->capabilities);

  if (era == CF_MCP_ERA_MODERN)
    {
      JsonObject *resources = cf_json_object_get_object (caps, "resources");

      /* 2026-07-28 replaced resources/subscribe with subscriptions/listen. */
      if (resources != NULL)
        json_object_remove_member (resources, "subscribe");
    }
  return caps;
}

/**
 * cf_mcp_server_add_method:
 * @self: a #CfMcpServer
 * @method: the method name
 * @func: its handler
 * @user_data: closure data
 * @destroy: (nullable): frees @user_data
 */
void
cf_mcp_server_add_method (CfMcpServer     *self,
                          const char      *method,
                          CfMcpMethodFunc  func,
                          gpointer         user_data,
                          GDestroyNotify   destroy)
{
  MethodEntry *entry;

  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (method != NULL);
  g_return_if_fail (func != NULL);

  entry = g_new0 (MethodEntry, 1);
  entry->func = func;
  entry->user_data = user_data;
  entry->destroy = destroy;
  g_hash_table_replace (self->methods, g_strdup (method), entry);
}

gboolean
cf_mcp_server_has_method (CfMcpServer *self,
                          const char  *method)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), FALSE);
  return g_hash_table_contains (self->methods, method);
}

void
cf_mcp_server_set_client_timeout (CfMcpServer *self,
                                  guint        msec)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));
  self->client_timeout_ms = MAX (msec, 1);
}

guint
cf_mcp_server_get_client_timeout (CfMcpServer *self)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), 0);
  return self->client_timeout_ms;
}

void
cf_mcp_server_set_max_sessions (CfMcpServer *self,
                                guint        max_sessions)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));
  self->max_sessions = max_sessions;
}

/* Sessions */

/**
 * cf_mcp_server_lookup_session:
 *
 * Returns: (transfer none) (nullable): the session with that id
 */
CfMcpSession *
cf_mcp_server_lookup_session (CfMcpServer *self,
                              const char  *id)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), NULL);
  return id != NULL ? g_hash_table_lookup (self->sessions, id) : NULL;
}

gboolean
cf_mcp_server_close_session (CfMcpServer *self,
                             const char  *id)
{
  CfMcpSession *session;

  g_return_val_if_fail (CF_IS_MCP_SERVER (self), FALSE);

  session = cf_mcp_server_lookup_session (self, id);
  if (session == NULL)
    return FALSE;

  cf_mcp_session_cancel_all (session);
  if (cf_mcp_session_get_stream (session) != NULL)
    cf_mcp_stream_finish (cf_mcp_session_get_stream (session), NULL, 0);
  return g_hash_table_remove (self->sessions, id);
}

guint
cf_mcp_server_get_n_sessions (CfMcpServer *self)
{
  g_return_val_if_fail (CF_IS_MCP_SERVER (self), 0);
  return g_hash_table_size (self->sessions);
}

/**
 * cf_mcp_server_add_connection:
 * @self: a #CfMcpServer
 * @session: the implicit session of a connection (stdio, legacy SSE,
 *   WebSocket)
 *
 * Such sessions are not in the session table (no Mcp-Session-Id names
 * them), but their clients hear broadcasts like any other: list changes
 * and updates of the resources they subscribed to. The transport removes
 * the session when the connection closes.
 */
void
cf_mcp_server_add_connection (CfMcpServer  *self,
                              CfMcpSession *session)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (CF_IS_MCP_SESSION (session));

  g_ptr_array_add (self->connections, g_object_ref (session));
}

void
cf_mcp_server_remove_connection (CfMcpServer  *self,
                                 CfMcpSession *session)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));

  g_ptr_array_remove_fast (self->connections, session);
}

/**
 * cf_mcp_server_expire_sessions:
 * @self: a #CfMcpServer
 * @idle_usec: how long a session may stay idle
 *
 * Clients that never send DELETE would otherwise leak sessions.
 *
 * Returns: how many sessions were closed
 */
guint
cf_mcp_server_expire_sessions (CfMcpServer *self,
                               gint64       idle_usec)
{
  gint64 cutoff = g_get_monotonic_time () - idle_usec;
  GHashTableIter iter;
  CfMcpSession *session;
  guint expired = 0;

  g_return_val_if_fail (CF_IS_MCP_SERVER (self), 0);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    {
      if (cf_mcp_session_get_last_activity (session) >= cutoff ||
          cf_mcp_session_get_stream (session) != NULL)
        continue;
      cf_mcp_session_cancel_all (session);
      g_hash_table_iter_remove (&iter);
      expired++;
    }
  return expired;
}

/* Server-to-client calls */

/* Returns the id key ("s:" + the JSON-RPC id). The id is random, so that
 * no other client can guess it. */
char *
_cf_mcp_server_register_client_call (CfMcpServer  *self,
                                     GTask        *task,
                                     CfMcpSession *session)
{
  g_autofree char *random = cf_random_hex (12);
  char *key = g_strconcat ("s:cf-", random, NULL);
  PendingCall *call = g_new0 (PendingCall, 1);

  call->task = task;
  call->session = session;
  g_hash_table_insert (self->client_calls, g_strdup (key), call);
  return key;
}

void
_cf_mcp_server_unregister_client_call (CfMcpServer *self,
                                       const char  *key)
{
  g_hash_table_remove (self->client_calls, key);
}

static void
handle_client_response (CfMcpServer           *self,
                        CfMcpTransportContext *context,
                        CfJsonrpcMessage      *message)
{
  g_autofree char *key = cf_json_node_to_id_string (message->id);
  g_autofree char *stolen_key = NULL;
  g_autofree PendingCall *call = NULL;
  PendingCall *pending = key ? g_hash_table_lookup (self->client_calls, key) : NULL;
  GTask *task;

  if (pending == NULL || pending->session != (gpointer) context->session)
    {
      g_debug ("Ignoring a response to no pending request of this session (%s)",
               key ? key : "no id");
      return;
    }
  g_hash_table_steal_extended (self->client_calls, key, (gpointer *) &stolen_key,
                               (gpointer *) &call);
  task = call->task;

  if (message->kind == CF_JSONRPC_KIND_RESULT)
    g_task_return_pointer (task, json_node_copy (message->result),
                           (GDestroyNotify) json_node_unref);
  else
    g_task_return_new_error (task, CF_JSONRPC_ERROR,
                             (int) json_object_get_int_member (message->error, "code"),
                             "%s", json_object_get_string_member (message->error, "message"));
  g_object_unref (task);
}

/* Notifications from the client */

static void
handle_notification (CfMcpServer           *self,
                     CfMcpTransportContext *context,
                     CfJsonrpcMessage      *message)
{
  CfMcpSession *session = context->session;

  if (g_str_equal (message->method, "notifications/initialized"))
    {
      if (session != NULL)
        cf_mcp_session_set_initialized (session, TRUE);
    }
  else if (g_str_equal (message->method, "notifications/cancelled"))
    {
      JsonNode *id = cf_jsonrpc_message_get_param (message, "requestId");
      g_autofree char *key = id ? cf_json_node_to_id_string (id) : NULL;
      CfMcpRequest *request = session && key ? cf_mcp_session_lookup_request (session, key) : NULL;

      if (request != NULL)
        _cf_mcp_request_cancel (request);
    }
}

/* Requests */

static void
finish_error (CfMcpStream *stream,
              JsonNode    *id,
              int          code,
              const char  *message,
              JsonNode    *data,
              guint        status)
{
  g_autoptr(JsonNode) response = cf_jsonrpc_build_error (id, code, message, data);

  cf_mcp_stream_finish (stream, response, status);
}

static void
handle_initialize (CfMcpServer           *self,
                   CfMcpTransportContext *context,
                   CfJsonrpcMessage      *message,
                   CfMcpStream           *stream)
{
  const char *requested = cf_jsonrpc_message_get_param_string (message, "protocolVersion");
  const char *negotiated = newest_legacy_version (self);
  CfMcpSession *session = context->session;
  g_autoptr(JsonNode) response = NULL;
  JsonObject *result;

  if (requested == NULL)
    {
      finish_error (stream, message->id, CF_JSONRPC_INVALID_PARAMS,
                    "Invalid params: \"protocolVersion\" must be a string", NULL, 400);
      return;
    }
  if (negotiated == NULL)
    {
      finish_error (stream, message->id, CF_JSONRPC_UNSUPPORTED_VERSION,
                    "Unsupported protocol version: this server speaks only 2026-07-28 "
                    "and later, without initialize",
                    cf_mcp_era_unsupported_data (self, requested), 400);
      return;
    }
  if (cf_mcp_server_supports_version (self, requested) &&
      cf_mcp_version_get_era (requested) == CF_MCP_ERA_LEGACY)
    negotiated = requested;

  /* A stdio connection brings its own session, which a new initialize
   * resets; HTTP mints a new one for every initialize. */
  if (session == NULL ||
      g_hash_table_lookup (self->sessions, cf_mcp_session_get_id (session)) == session)
    {
      if (g_hash_table_size (self->sessions) >= self->max_sessions)
        {
          finish_error (stream, message->id, CF_JSONRPC_INTERNAL_ERROR,
                        "Too many sessions: close some with DELETE and retry", NULL, 503);
          return;
        }
      session = cf_mcp_session_new (NULL);
      g_hash_table_insert (self->sessions, g_strdup (cf_mcp_session_get_id (session)), session);
      g_set_object (&context->session, session);
    }

  cf_mcp_session_set_protocol_version (session, negotiated);
  cf_mcp_session_set_client (session,
                             cf_jsonrpc_message_get_param_object (message, "capabilities"),
                             cf_jsonrpc_message_get_param_object (message, "clientInfo"));

  result = json_object_new ();
  json_object_set_string_member (result, "protocolVersion", negotiated);
  json_object_set_object_member (result, "capabilities",
                                 cf_mcp_server_build_capabilities (self, CF_MCP_ERA_LEGACY));
  json_object_set_object_member (result, "serverInfo", json_object_ref (self->info));
  if (self->instructions != NULL)
    json_object_set_string_member (result, "instructions", self->instructions);

  response = cf_jsonrpc_build_result (message->id, result);
  cf_mcp_stream_finish (stream, response, 200);
}

static void
handle_request (CfMcpServer           *self,
                CfMcpTransportContext *context,
                CfJsonrpcMessage      *message,
                CfMcpStream           *stream)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfMcpRequest) request = NULL;
  CfMcpRequestInfo info;
  MethodEntry *entry;
  guint status;

  if (!cf_mcp_era_resolve (self, context, message, &info, &status, &error))
    {
      JsonNode *data = NULL;

      if (error->code == CF_JSONRPC_UNSUPPORTED_VERSION)
        {
          data = cf_mcp_era_unsupported_data (
              self, cf_jsonrpc_message_get_meta_string (message,
                                                        "io.modelcontextprotocol/protocolVersion"));
        }
      finish_error (stream, message->id, error->code, error->message, data, status);
      return;
    }

  if (info.era == CF_MCP_ERA_LEGACY && g_str_equal (message->method, "initialize"))
    {
      handle_initialize (self, context, message, stream);
      return;
    }

  /* A connection's implicit session (stdio, SSE, WebSocket) tracks every
   * request, so that notifications/cancelled finds 2026-07-28 ones too;
   * cf_mcp_request_get_session() still reports it to legacy ones only. */
  request = _cf_mcp_request_new (self, context->session, stream, message, &info,
                                 context->scope);
  _cf_mcp_request_set_identity (request, context->identity);

  if (!cf_mcp_era_method_allowed (info.era, message->method))
    {
      g_autofree char *text = g_strdup_printf ("Method not found: %s is not part of protocol "
                                               "version %s", message->method, info.version);
      cf_mcp_request_return_error (request, CF_JSONRPC_METHOD_NOT_FOUND, text, NULL);
      return;
    }

  if (_cf_mcp_server_dispatch_builtin (self, request))
    return;

  entry = g_hash_table_lookup (self->methods, message->method);
  if (entry == NULL)
    {
      g_autofree char *text = g_strdup_printf ("Method not found: %s", message->method);
      cf_mcp_request_return_error (request, CF_JSONRPC_METHOD_NOT_FOUND, text, NULL);
      return;
    }

  entry->func (request, entry->user_data);
}

static void dispatch_message (CfMcpServer           *self,
                              CfMcpTransportContext *context,
                              CfJsonrpcMessage      *message,
                              CfMcpStream           *stream);

static void
dispatch_one (CfMcpServer           *self,
              CfMcpTransportContext *context,
              JsonNode              *node,
              CfMcpStream           *stream)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfJsonrpcMessage) message = cf_jsonrpc_message_new (node, &error);

  if (message == NULL)
    {
      finish_error (stream, cf_jsonrpc_peek_id (node), error->code, error->message, NULL, 400);
      return;
    }
  dispatch_message (self, context, message, stream);
}

static void
dispatch_message (CfMcpServer           *self,
                  CfMcpTransportContext *context,
                  CfJsonrpcMessage      *message,
                  CfMcpStream           *stream)
{
  if (context->session != NULL)
    cf_mcp_session_touch (context->session);

  switch (message->kind)
    {
    case CF_JSONRPC_KIND_RESULT:
    case CF_JSONRPC_KIND_ERROR:
      handle_client_response (self, context, message);
      cf_mcp_stream_finish (stream, NULL, 202);
      break;
    case CF_JSONRPC_KIND_NOTIFICATION:
      handle_notification (self, context, message);
      cf_mcp_stream_finish (stream, NULL, 202);
      break;
    case CF_JSONRPC_KIND_REQUEST:
      handle_request (self, context, message, stream);
      break;
    default:
      g_assert_not_reached ();
    }
}

static const char *
batch_version (CfMcpServer           *self,
               CfMcpTransportContext *context)
{
  if (context->session != NULL && cf_mcp_session_get_protocol_version (context->session))
    return cf_mcp_session_get_protocol_version (context->session);
  if (context->protocol_version_header != NULL)
    return context->protocol_version_header;
  return cf_mcp_server_get_default_legacy_version (self);
}

static void
dispatch_batch (CfMcpServer           *self,
                CfMcpTransportContext *context,
                JsonArray             *batch,
                CfMcpStream           *stream)
{
  guint n = json_array_get_length (batch);
  const char *version = batch_version (self, context);
  g_autoptr(CfMcpBatchStream) batch_stream = NULL;

  if (n == 0)
    {
      finish_error (stream, NULL, CF_JSONRPC_INVALID_REQUEST,
                    "Invalid Request: empty batch", NULL, 400);
      return;
    }
  if (!cf_mcp_version_allows_batches (version))
    {
      g_autofree char *text = g_strdup_printf ("Invalid Request: JSON-RPC batches are not "
                                               "part of protocol version %s",
                                               version ? version : "(none)");
      finish_error (stream, NULL, CF_JSONRPC_INVALID_REQUEST, text, NULL, 400);
      return;
    }
  if (n > MAX_BATCH)
    {
      g_autofree char *text = g_strdup_printf ("Invalid Request: a batch of %u messages exceeds "
                                               "the limit of %d", n, MAX_BATCH);
      finish_error (stream, NULL, CF_JSONRPC_INVALID_REQUEST, text, NULL, 413);
      return;
    }

  batch_stream = cf_mcp_batch_stream_new (stream, n);
  for (guint i = 0; i < n; i++)
    {
      JsonNode *element = json_array_get_element (batch, i);
      JsonObject *object = JSON_NODE_HOLDS_OBJECT (element) ? json_node_get_object (element) : NULL;

      if (g_strcmp0 (cf_json_object_get_string (object, "method"), "initialize") == 0)
        finish_error (CF_MCP_STREAM (batch_stream), cf_jsonrpc_peek_id (element),
                      CF_JSONRPC_INVALID_REQUEST,
                      "Invalid Request: initialize must not be part of a batch", NULL, 400);
      else
        dispatch_one (self, context, element, CF_MCP_STREAM (batch_stream));
    }
}

/**
 * cf_mcp_server_dispatch:
 * @self: a #CfMcpServer
 * @context: what the transport knows about the message
 * @node: one parsed JSON-RPC message or batch
 * @stream: where its answers go; finished exactly once
 *
 * Handles one incoming message. Answers may come later: @stream is held
 * until then.
 */
void
cf_mcp_server_dispatch (CfMcpServer           *self,
                        CfMcpTransportContext *context,
                        JsonNode              *node,
                        CfMcpStream           *stream)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (context != NULL);
  g_return_if_fail (node != NULL);
  g_return_if_fail (CF_IS_MCP_STREAM (stream));

  if (JSON_NODE_HOLDS_ARRAY (node))
    dispatch_batch (self, context, json_node_get_array (node), stream);
  else
    dispatch_one (self, context, node, stream);
}

/**
 * cf_mcp_server_dispatch_message:
 * @self: a #CfMcpServer
 * @context: what the transport knows about the message
 * @message: one validated message (cf_jsonrpc_message_new_from_bytes())
 * @stream: where its answers go; finished exactly once
 *
 * cf_mcp_server_dispatch() for a message already read.
 */
void
cf_mcp_server_dispatch_message (CfMcpServer           *self,
                                CfMcpTransportContext *context,
                                CfJsonrpcMessage      *message,
                                CfMcpStream           *stream)
{
  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (context != NULL);
  g_return_if_fail (message != NULL);
  g_return_if_fail (CF_IS_MCP_STREAM (stream));

  dispatch_message (self, context, message, stream);
}

/**
 * cf_mcp_server_dispatch_error:
 * @self: a #CfMcpServer
 * @error: why the input could not be read (a %CF_JSON_ERROR or
 *   %CF_JSONRPC_ERROR)
 * @stream: where the error response goes
 *
 * Answers input that never became a message, such as malformed JSON.
 */
void
cf_mcp_server_dispatch_error (CfMcpServer  *self,
                              const GError *error,
                              CfMcpStream  *stream)
{
  g_autoptr(JsonNode) response = NULL;

  g_return_if_fail (CF_IS_MCP_SERVER (self));

  response = cf_jsonrpc_build_error_from_gerror (NULL, error);
  cf_mcp_stream_finish (stream, response, 400);
}

