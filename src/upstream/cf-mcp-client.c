/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-client"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client-private.h"
#include "cf-mcp-param-headers.h"
#include "cf-upstream-http.h"
#include "cf-upstream-sse.h"
#include "cf-upstream-stdio.h"
#include "cf-upstream-ws.h"

/**
 * CfMcpClient:
 *
 * The gateway's client for one upstream MCP server, over Streamable HTTP,
 * a child's stdio, the legacy HTTP+SSE transport or a WebSocket, in
 * whichever protocol era the server speaks: the
 * handshake (cf_mcp_client_connect_async()) finds the era, and every
 * later request is shaped for it. Each connect starts a fresh transport;
 * a lost session or a dead child is recovered by connecting again.
 *
 * Requests are JSON-RPC in, JSON-RPC out: the response node is handed
 * back whole, errors included, and only transport failures (timeouts,
 * protocol violations, a closed connection) become a #GError.
 */

enum {
  NOTIFICATION,
  CLOSED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CfMcpClient, cf_mcp_client, G_TYPE_OBJECT)
G_DEFINE_QUARK (cf-mcp-client-error-quark, cf_mcp_client_error)

/* What the gateway tells every upstream about itself. Both are built
 * once, sealed and shared: every 2026-07-28 request carries them, and
 * building them anew cost about as much as the rest of its _meta. The
 * caller gets a reference of its own and must not change the object. */
JsonObject *
_cf_mcp_client_capabilities (void)
{
  static JsonObject *capabilities;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      JsonObject *object = json_object_new ();

      json_object_set_object_member (object, "sampling", json_object_new ());
      json_object_set_object_member (object, "elicitation", json_object_new ());
      json_object_set_object_member (object, "roots", json_object_new ());
      json_object_seal (object);
      capabilities = object;
      g_once_init_leave (&once, 1);
    }
  return json_object_ref (capabilities);
}

JsonObject *
_cf_mcp_client_info (void)
{
  static JsonObject *info;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      JsonObject *object = json_object_new ();

      json_object_set_string_member (object, "name", "ContextForge Gateway");
      json_object_set_string_member (object, "version", PACKAGE_VERSION);
      json_object_seal (object);
      info = object;
      g_once_init_leave (&once, 1);
    }
  return json_object_ref (info);
}

static void
on_transport_message (CfUpstreamTransport *transport,
                      JsonNode            *message,
                      CfMcpClient         *self)
{
  g_signal_emit (self, signals[NOTIFICATION], 0, message);
}

static void
on_transport_closed (CfUpstreamTransport *transport,
                     CfMcpClient         *self)
{
  self->connected = FALSE;
  g_signal_emit (self, signals[CLOSED], 0);
}

/* Lets the transport go, quietly: no "closed" for a transport the
 * client itself gives up. */
void
_cf_mcp_client_drop_transport (CfMcpClient *self)
{
  g_autoptr(CfUpstreamTransport) transport = g_steal_pointer (&self->transport);

  if (transport == NULL)
    return;
  g_clear_signal_handler (&self->message_id, transport);
  g_clear_signal_handler (&self->closed_id, transport);
  cf_upstream_transport_shutdown (transport);
}

/* Forgets what the last handshake found. */
void
_cf_mcp_client_reset (CfMcpClient *self)
{
  self->connected = FALSE;
  self->era = CF_MCP_ERA_LEGACY;
  g_clear_pointer (&self->protocol_version, g_free);
  g_clear_pointer (&self->server_capabilities, json_object_unref);
  g_clear_pointer (&self->server_info, json_object_unref);
  g_clear_pointer (&self->instructions, g_free);
}

CfUpstreamTransport *
_cf_mcp_client_new_transport (CfMcpClient *self)
{
  CfUpstreamTransport *transport = NULL;

  switch (self->kind)
    {
    case CF_UPSTREAM_KIND_HTTP:
      transport = cf_upstream_http_new (self->url, self->session, self->headers);
      cf_upstream_http_set_param_headers (CF_UPSTREAM_HTTP (transport), self->param_headers);
      break;
    case CF_UPSTREAM_KIND_SSE:
      transport = cf_upstream_sse_new (self->url, self->session, self->headers);
      break;
    case CF_UPSTREAM_KIND_WEBSOCKET:
      transport = cf_upstream_ws_new (self->url, self->session, self->headers);
      break;
    case CF_UPSTREAM_KIND_STDIO:
      transport = cf_upstream_stdio_new ((const char * const *) self->argv,
                                         (const char * const *) self->env, self->cwd);
      break;
    default:
      g_assert_not_reached ();
    }
  cf_upstream_transport_set_max_message (transport, self->max_message);
  return transport;
}

/* Replaces the transport; the old one is shut down, quietly. */
void
_cf_mcp_client_set_transport (CfMcpClient         *self,
                              CfUpstreamTransport *transport)
{
  _cf_mcp_client_drop_transport (self);
  self->transport = g_object_ref (transport);
  self->message_id = g_signal_connect (transport, "message",
                                       G_CALLBACK (on_transport_message), self);
  self->closed_id = g_signal_connect (transport, "closed",
                                      G_CALLBACK (on_transport_closed), self);
}

static void
cf_mcp_client_dispose (GObject *object)
{
  CfMcpClient *self = CF_MCP_CLIENT (object);

  _cf_mcp_client_drop_transport (self);
  G_OBJECT_CLASS (cf_mcp_client_parent_class)->dispose (object);
}

static void
cf_mcp_client_finalize (GObject *object)
{
  CfMcpClient *self = CF_MCP_CLIENT (object);

  _cf_mcp_client_reset (self);
  /* No call is out: each holds the client through its task. */
  g_assert (g_queue_is_empty (&self->timed_calls));
  if (self->call_timer != NULL)
    g_source_destroy (self->call_timer);
  g_clear_pointer (&self->call_timer, g_source_unref);
  g_clear_pointer (&self->url, g_free);
  g_clear_object (&self->session);
  g_clear_pointer (&self->headers, g_hash_table_unref);
  g_clear_pointer (&self->param_headers, g_hash_table_unref);
  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->env, g_strfreev);
  g_clear_pointer (&self->cwd, g_free);

  G_OBJECT_CLASS (cf_mcp_client_parent_class)->finalize (object);
}

static void
cf_mcp_client_class_init (CfMcpClientClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_mcp_client_dispose;
  object_class->finalize = cf_mcp_client_finalize;

  /**
   * CfMcpClient::notification:
   * @message: a message tied to no request: a list change, a resource
   *   update, or a server-to-client request the stdio routing rule could
   *   not place (answer it with cf_mcp_client_respond())
   */
  signals[NOTIFICATION] = g_signal_new ("notification", G_TYPE_FROM_CLASS (klass),
                                        G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                        G_TYPE_NONE, 1,
                                        JSON_TYPE_NODE | G_SIGNAL_TYPE_STATIC_SCOPE);
  /**
   * CfMcpClient::closed:
   *
   * The transport is gone: the child exited, the session was lost, or
   * cf_mcp_client_close() was called. Requests fail until the client
   * connects again.
   */
  signals[CLOSED] = g_signal_new ("closed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                  0, NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cf_mcp_client_init (CfMcpClient *self)
{
  self->timeout_ms = CF_MCP_CLIENT_DEFAULT_TIMEOUT_MS;
  self->max_message = CF_MCP_CLIENT_DEFAULT_MAX_MESSAGE;
  self->next_id = 1;
  self->era = CF_MCP_ERA_LEGACY;
  self->param_headers = cf_mcp_param_headers_table_new ();
}

static GHashTable *
copy_headers (GHashTable *headers)
{
  GHashTable *copy = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  GHashTableIter iter;
  gpointer name, value;

  g_hash_table_iter_init (&iter, headers);
  while (g_hash_table_iter_next (&iter, &name, &value))
    g_hash_table_insert (copy, g_strdup (name), g_strdup (value));
  return copy;
}

static CfMcpClient *
new_networked (CfUpstreamKind  kind,
               const char     *url,
               SoupSession    *session,
               GHashTable     *headers)
{
  CfMcpClient *self;

  g_return_val_if_fail (url != NULL, NULL);
  g_return_val_if_fail (session == NULL || SOUP_IS_SESSION (session), NULL);

  self = g_object_new (CF_TYPE_MCP_CLIENT, NULL);
  self->kind = kind;
  self->url = g_strdup (url);
  if (session != NULL)
    self->session = g_object_ref (session);
  else
    {
      /* Timeouts are per request, ours: a socket timeout would also cut a
       * quiet SSE stream. */
      self->session = soup_session_new_with_options ("timeout", 0,
                                                     "max-conns-per-host", 16,
                                                     "user-agent",
                                                     "ContextForge-Gateway/" PACKAGE_VERSION,
                                                     NULL);
      /* The default resolver consults its configuration on every request,
       * which costs more than the rest of a loopback call; only a proxy
       * set in the environment is worth that. */
      if (g_getenv ("http_proxy") == NULL && g_getenv ("https_proxy") == NULL &&
          g_getenv ("HTTP_PROXY") == NULL && g_getenv ("HTTPS_PROXY") == NULL &&
          g_getenv ("all_proxy") == NULL && g_getenv ("ALL_PROXY") == NULL)
        soup_session_set_proxy_resolver (self->session, NULL);
    }
  self->headers = headers ? copy_headers (headers) : NULL;
  return self;
}

/**
 * cf_mcp_client_new_http:
 * @url: the upstream's MCP endpoint
 * @session: (nullable): the HTTP session to share (keep-alive connections
 *   are pooled there); %NULL for one of the client's own. A shared
 *   session should allow a few connections per host: a legacy session
 *   holds one for its GET stream, and each streaming request another.
 * @headers: (nullable) (element-type utf8 utf8): extra headers every
 *   request carries, such as Authorization; copied
 *
 * Returns: (transfer full): a new client; connect it before use
 */
CfMcpClient *
cf_mcp_client_new_http (const char  *url,
                        SoupSession *session,
                        GHashTable  *headers)
{
  return new_networked (CF_UPSTREAM_KIND_HTTP, url, session, headers);
}

/**
 * cf_mcp_client_new_sse:
 * @url: the upstream's SSE URL (the 2024-11-05 HTTP+SSE transport)
 * @session: (nullable): the HTTP session to share, as for
 *   cf_mcp_client_new_http(); the event stream holds one connection
 * @headers: (nullable) (element-type utf8 utf8): extra headers the
 *   stream's GET and every POST carry; copied
 *
 * The upstream is legacy by definition: connecting opens the stream,
 * waits for its `endpoint` event and goes straight to `initialize`.
 *
 * Returns: (transfer full): a new client; connect it before use
 */
CfMcpClient *
cf_mcp_client_new_sse (const char  *url,
                       SoupSession *session,
                       GHashTable  *headers)
{
  return new_networked (CF_UPSTREAM_KIND_SSE, url, session, headers);
}

/**
 * cf_mcp_client_new_websocket:
 * @url: the upstream's ws:// or wss:// URL
 * @session: (nullable): the HTTP session to connect with, as for
 *   cf_mcp_client_new_http()
 * @headers: (nullable) (element-type utf8 utf8): extra headers the
 *   WebSocket handshake carries; copied
 *
 * Speaks the `mcp` subprotocol, one text frame per message.
 *
 * Returns: (transfer full): a new client; connect it before use
 */
CfMcpClient *
cf_mcp_client_new_websocket (const char  *url,
                             SoupSession *session,
                             GHashTable  *headers)
{
  return new_networked (CF_UPSTREAM_KIND_WEBSOCKET, url, session, headers);
}

/**
 * cf_mcp_client_new_stdio:
 * @argv: the server's command line
 * @env: (nullable): `NAME=VALUE` pairs added to the child's environment
 * @cwd: (nullable): the child's working directory
 *
 * The child is started by cf_mcp_client_connect_async(), from the thread
 * that calls it: the child dies with that thread (PR_SET_PDEATHSIG), so
 * connect from the main thread.
 *
 * Returns: (transfer full): a new client
 */
CfMcpClient *
cf_mcp_client_new_stdio (const char * const *argv,
                         const char * const *env,
                         const char         *cwd)
{
  CfMcpClient *self;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  self = g_object_new (CF_TYPE_MCP_CLIENT, NULL);
  self->kind = CF_UPSTREAM_KIND_STDIO;
  self->argv = g_strdupv ((GStrv) argv);
  self->env = env ? g_strdupv ((GStrv) env) : NULL;
  self->cwd = g_strdup (cwd);
  return self;
}

/**
 * cf_mcp_client_set_timeout:
 * @self: the client
 * @msec: how long a request may take, 0 for no limit
 */
void
cf_mcp_client_set_timeout (CfMcpClient *self,
                           guint        msec)
{
  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  self->timeout_ms = msec;
}

guint
cf_mcp_client_get_timeout (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), 0);
  return self->timeout_ms;
}

/**
 * cf_mcp_client_set_max_message_size:
 * @self: the client
 * @max_size: the largest message accepted from the upstream, in bytes
 *
 * Takes effect at the next connect.
 */
void
cf_mcp_client_set_max_message_size (CfMcpClient *self,
                                    gsize        max_size)
{
  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (max_size > 0);
  self->max_message = max_size;
}

gboolean
cf_mcp_client_is_connected (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), FALSE);
  return self->connected;
}

CfMcpEra
cf_mcp_client_get_era (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), CF_MCP_ERA_LEGACY);
  return self->era;
}

/**
 * cf_mcp_client_get_protocol_version:
 *
 * Returns: (nullable): the version the handshake settled on
 */
const char *
cf_mcp_client_get_protocol_version (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), NULL);
  return self->protocol_version;
}

/**
 * cf_mcp_client_get_server_capabilities:
 *
 * Returns: (transfer none) (nullable): what the upstream declared
 */
JsonObject *
cf_mcp_client_get_server_capabilities (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), NULL);
  return self->server_capabilities;
}

/**
 * cf_mcp_client_get_server_info:
 *
 * Returns: (transfer none) (nullable): the upstream's name and version
 */
JsonObject *
cf_mcp_client_get_server_info (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), NULL);
  return self->server_info;
}

/**
 * cf_mcp_client_get_instructions:
 *
 * Returns: (nullable): the upstream's instructions for the model
 */
const char *
cf_mcp_client_get_instructions (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), NULL);
  return self->instructions;
}

/**
 * cf_mcp_client_get_session_id:
 *
 * Returns: (nullable): the legacy HTTP session the upstream gave, if any
 */
const char *
cf_mcp_client_get_session_id (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), NULL);
  return self->transport ? cf_upstream_transport_get_session_id (self->transport) : NULL;
}

/**
 * cf_mcp_client_get_pid:
 *
 * Returns: the stdio child's process id, 0 if there is none
 */
GPid
cf_mcp_client_get_pid (CfMcpClient *self)
{
  g_return_val_if_fail (CF_IS_MCP_CLIENT (self), 0);
  return self->transport ? cf_upstream_transport_get_pid (self->transport) : 0;
}

/* Requests */

static void
fail_not_connected (CfMcpClient         *self,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, cf_mcp_client_request_async);
  g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                           "Not connected to the upstream");
}

/* Sends a request of the caller's, shaped for the era the handshake
 * found; takes @params, @meta and @arguments. */
static void
send_call (CfMcpClient            *self,
           const char             *method,
           JsonObject             *params,
           JsonObject             *meta,
           GBytes                 *arguments,
           CfMcpClientMessageFunc  on_message,
           gpointer                on_message_data,
           GCancellable           *cancellable,
           GAsyncReadyCallback     callback,
           gpointer                user_data)
{
  g_autoptr(JsonObject) owned = params;
  g_autoptr(JsonObject) owned_meta = meta;
  g_autoptr(GBytes) owned_arguments = arguments;

  if (!self->connected || self->transport == NULL)
    {
      fail_not_connected (self, cancellable, callback, user_data);
      return;
    }
  /* A 2026-07-28 subscription lasts until it is cancelled: no timeout. */
  _cf_mcp_client_start_call (self, self->transport, method, g_steal_pointer (&owned),
                             g_steal_pointer (&owned_meta), g_steal_pointer (&owned_arguments),
                             self->era == CF_MCP_ERA_MODERN ? self->protocol_version : NULL,
                             FALSE,
                             g_str_equal (method, "subscriptions/listen") ? 0 : self->timeout_ms,
                             on_message, on_message_data, cancellable, callback, user_data);
}

/**
 * cf_mcp_client_request_async:
 * @self: a connected client
 * @method: the method
 * @params: (transfer full) (nullable): its params; a `_meta.progressToken`
 *   in them is honoured, and comes back in the progress notifications
 * @on_message: (nullable): receives, in order and before @callback runs,
 *   what the upstream sends for this request ahead of the response:
 *   progress, log messages, and (legacy era) server-to-client requests
 * @on_message_data: closure data for @on_message
 * @cancellable: (nullable): cancels the request (the upstream is told)
 * @callback: called with the response
 * @user_data: closure data for @callback
 *
 * Sends one request, shaped for the era the handshake found.
 */
void
cf_mcp_client_request_async (CfMcpClient            *self,
                             const char             *method,
                             JsonObject             *params,
                             CfMcpClientMessageFunc  on_message,
                             gpointer                on_message_data,
                             GCancellable           *cancellable,
                             GAsyncReadyCallback     callback,
                             gpointer                user_data)
{
  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (method != NULL);

  send_call (self, method, params, NULL, NULL, on_message, on_message_data, cancellable, callback,
             user_data);
}

/**
 * cf_mcp_client_call_tool_async:
 * @self: a connected client
 * @params: (transfer full): the tools/call's params but its arguments: the
 *   tool's name, a `_meta` (as cf_mcp_client_request_async() takes it);
 *   possibly sealed and shared
 * @meta: (transfer full) (nullable): or the `_meta` apart, when @params
 *   hold none: a caller that shares one @params object among its calls
 *   need not copy it to add a `_meta`
 * @arguments: (transfer full) (nullable): the arguments, the text of one
 *   JSON object, already checked: it is written into the request as it
 *   is, not parsed
 * @on_message: (nullable): as cf_mcp_client_request_async() takes it
 * @on_message_data: closure data for @on_message
 * @cancellable: (nullable): cancels the request (the upstream is told)
 * @callback: called with the response
 * @user_data: closure data for @callback
 *
 * Calls a tool with arguments that pass through: a relay hands on the
 * downstream client's text, which is never made a tree. Finish as
 * cf_mcp_client_request_async() is finished.
 */
void
cf_mcp_client_call_tool_async (CfMcpClient            *self,
                               JsonObject             *params,
                               JsonObject             *meta,
                               GBytes                 *arguments,
                               CfMcpClientMessageFunc  on_message,
                               gpointer                on_message_data,
                               GCancellable           *cancellable,
                               GAsyncReadyCallback     callback,
                               gpointer                user_data)
{
  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (params != NULL);
  g_return_if_fail (arguments == NULL || !json_object_has_member (params, "arguments"));
  g_return_if_fail (meta == NULL || !json_object_has_member (params, "_meta"));

  send_call (self, "tools/call", params, meta, arguments, on_message, on_message_data,
             cancellable, callback, user_data);
}

/**
 * cf_mcp_client_request_finish:
 * @self: the client
 * @result: the result
 * @error: return location for a %CF_MCP_CLIENT_ERROR or a
 *   %G_IO_ERROR_CANCELLED
 *
 * Returns: (transfer full): the JSON-RPC response, with "result" or
 *   "error", its id the client's own
 */
JsonNode *
cf_mcp_client_request_finish (CfMcpClient   *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_autoptr(GBytes) members = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish_passthrough (self, result, &members,
                                                                           error);
  CfUpstreamCall *call;
  g_autofree char *text = NULL;
  g_autoptr(JsonNode) rest = NULL;
  JsonObject *whole, *own, *envelope;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;
  gsize length;

  if (response == NULL || members == NULL)
    return g_steal_pointer (&response);

  /* The whole result, for a caller that reads all of it */
  call = g_task_get_task_data (G_TASK (result));
  length = g_bytes_get_size (members);
  text = g_malloc (length + 2);
  text[0] = '{';
  memcpy (text + 1, g_bytes_get_data (members, NULL), length);
  text[length + 1] = '}';
  rest = cf_json_parse (text, length + 2, NULL);
  g_assert (rest != NULL);
  whole = cf_json_object_shallow_copy (json_node_get_object (rest), NULL);
  own = cf_json_object_get_object (json_node_get_object (response), "result");
  json_object_iter_init_ordered (&iter, own);
  while (json_object_iter_next_ordered (&iter, &name, &value))
    json_object_set_member (whole, name, json_node_ref (value));
  /* What the relay leaves to the era adapter */
  if (call->result_complete)
    json_object_set_string_member (whole, "resultType", "complete");
  envelope = cf_json_object_shallow_copy (json_node_get_object (response), "result");
  json_object_set_object_member (envelope, "result", whole);
  /* A result that passed through in full came without its id. */
  if (!json_object_has_member (envelope, "id"))
    json_object_set_int_member (envelope, "id", call->id);
  return cf_json_node_new_object (envelope);
}

/**
 * cf_mcp_client_request_finish_passthrough:
 * @self: the client
 * @result: the result
 * @members: (out) (transfer full) (optional): the result's members that
 *   passed through unparsed, %NULL when all are in the tree
 * @error: return location for a %CF_MCP_CLIENT_ERROR or a
 *   %G_IO_ERROR_CANCELLED
 *
 * As cf_mcp_client_request_finish(), for a relay: the result of a plain
 * tools/call answer may come in two parts, the members the gateway reads
 * (in the tree) and the others, serialized as the upstream wrote them
 * (see cf_mcp_request_return_with_members()). When all of them passed
 * through, the response's result is empty and sealed, and the response
 * has no id.
 *
 * Returns: (transfer full): the JSON-RPC response
 */
JsonNode *
cf_mcp_client_request_finish_passthrough (CfMcpClient   *self,
                                          GAsyncResult  *result,
                                          GBytes       **members,
                                          GError       **error)
{
  CfUpstreamCall *call;
  JsonNode *response;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_mcp_client_request_async,
                        NULL);

  call = g_task_get_task_data (G_TASK (result));
  response = g_task_propagate_pointer (G_TASK (result), error);
  if (members != NULL)
    *members = response != NULL && call != NULL && call->result_members != NULL
               ? g_bytes_ref (call->result_members) : NULL;
  return response;
}

/**
 * cf_mcp_client_respond:
 * @self: the client
 * @id: the id of the server-to-client request being answered
 * @result: (transfer full) (nullable): the result
 * @error: (transfer full) (nullable): or the error: `{code, message, data?}`
 *
 * Answers a request the upstream sent (legacy era only: 2026-07-28 has
 * no server-to-client requests).
 */
void
cf_mcp_client_respond (CfMcpClient *self,
                       JsonNode    *id,
                       JsonObject  *result,
                       JsonObject  *error)
{
  g_autoptr(JsonObject) owned_result = result;
  g_autoptr(JsonObject) owned_error = error;
  JsonObject *response;

  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (id != NULL);
  g_return_if_fail ((result == NULL) != (error == NULL));

  if (self->transport == NULL || self->era == CF_MCP_ERA_MODERN)
    {
      g_debug ("Dropped a response: %s", self->transport ? "no server-to-client requests in "
               "the 2026-07-28 era" : "not connected");
      return;
    }

  response = json_object_new ();
  json_object_set_string_member (response, "jsonrpc", "2.0");
  json_object_set_member (response, "id", json_node_copy (id));
  if (owned_result != NULL)
    json_object_set_object_member (response, "result", g_steal_pointer (&owned_result));
  else
    json_object_set_object_member (response, "error", g_steal_pointer (&owned_error));
  cf_upstream_transport_post (self->transport, cf_json_node_new_object (response));
}

/**
 * cf_mcp_client_notify:
 * @self: the client
 * @method: the notification's method, such as `notifications/cancelled`
 * @params: (transfer full) (nullable): its params
 */
void
cf_mcp_client_notify (CfMcpClient *self,
                      const char  *method,
                      JsonObject  *params)
{
  g_autoptr(JsonObject) owned = params;

  g_return_if_fail (CF_IS_MCP_CLIENT (self));
  g_return_if_fail (method != NULL);

  if (self->transport == NULL)
    return;
  cf_upstream_transport_post (self->transport,
                              cf_jsonrpc_build_notification (method, g_steal_pointer (&owned)));
}

/**
 * cf_mcp_client_close:
 * @self: the client
 *
 * Closes the connection: requests in flight fail with
 * %CF_MCP_CLIENT_ERROR_CLOSED and "closed" is emitted. Over HTTP the
 * legacy session is deleted; an SSE stream is closed, a WebSocket closed
 * with code 1000; a stdio child has its stdin closed, then gets SIGTERM,
 * then SIGKILL, until it is gone. The client can connect again.
 */
void
cf_mcp_client_close (CfMcpClient *self)
{
  g_autoptr(CfUpstreamTransport) transport = NULL;

  g_return_if_fail (CF_IS_MCP_CLIENT (self));

  if (self->transport == NULL)
    return;
  transport = g_object_ref (self->transport);
  cf_upstream_transport_shutdown (transport);
  _cf_mcp_client_drop_transport (self);
  self->connected = FALSE;
}
