/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway-relay"

#include "config.h"

#include "cf-gateway-private.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-version.h"

/* Relaying one request to the upstream that serves it: progress and log
 * messages come back on the downstream request's own stream, in order and
 * before the result; requests the upstream makes of the client (sampling,
 * elicitation, roots) are put to the downstream client and the answers
 * sent back; the upstream's result or error becomes ours.
 *
 * Eras are bridged here. A legacy upstream asks its questions as JSON-RPC
 * requests during the call; a 2026-07-28 upstream answers with an
 * InputRequiredResult instead, whose questions the relay puts to the
 * downstream client one by one before retrying the upstream call with
 * the answers. Either way the downstream client is asked in its own era's
 * way by cf_mcp_request_call_client_async().
 *
 * The connection comes from the upstream pool, which picks it by the
 * gateway's sharing policy and limits. When an upstream forgets the
 * session (HTTP 404) the request was not run, and it is sent again once
 * the pool has reconnected; when the connection broke mid-call, only an
 * idempotent request (a read, a listing, a tool annotated idempotent or
 * read-only) is sent again. Either way at most once, and the downstream
 * client sees only the final answer. */

/* The _meta member that asks a 2026-07-28 upstream for log messages */
#define META_LOG_LEVEL "io.modelcontextprotocol/logLevel"

/* An upstream that keeps asking is cut off after this many rounds. */
#define MAX_INPUT_ROUNDS 16

typedef struct {
  CfGateway    *gateway;
  CfMcpRequest *request;
  char         *gateway_id;
  CfUpstreamLease *lease;
  CfMcpClient  *client;
  JsonNode     *token;
  char         *method;
  JsonObject   *params;
  /* a tools/call's arguments, passed on as the client wrote them */
  GBytes       *arguments;
  JsonObject   *questions;
  GList        *pending;
  JsonObject   *answers;
  JsonObject   *sent;
  char         *state;
  guint         rounds;
  gboolean      is_tool_call;
  gboolean      idempotent;
  gboolean      retried;
} Relay;

static void
relay_free (Relay *relay)
{
  cf_mcp_request_set_cancel_func (relay->request, NULL, NULL);
  g_clear_object (&relay->gateway);
  g_clear_object (&relay->request);
  g_clear_pointer (&relay->gateway_id, g_free);
  g_clear_object (&relay->client);
  g_clear_pointer (&relay->lease, cf_upstream_lease_release);
  g_clear_pointer (&relay->sent, json_object_unref);
  g_clear_pointer (&relay->token, json_node_unref);
  g_clear_pointer (&relay->method, g_free);
  g_clear_pointer (&relay->params, json_object_unref);
  g_clear_pointer (&relay->arguments, g_bytes_unref);
  g_clear_pointer (&relay->questions, json_object_unref);
  g_list_free_full (g_steal_pointer (&relay->pending), g_free);
  g_clear_pointer (&relay->answers, json_object_unref);
  g_clear_pointer (&relay->state, g_free);
  g_free (relay);
}

static void send_upstream (Relay      *relay);
static void acquire       (Relay      *relay);
static gboolean should_retry (Relay        *relay,
                              const GError *error);

typedef struct {
  CfMcpClient *client;
  JsonNode    *id;
} ClientQuestion;

static void
on_client_answered (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  ClientQuestion *question = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = cf_mcp_request_call_client_finish (CF_MCP_REQUEST (source),
                                                                  result, &error);

  if (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer))
    cf_mcp_client_respond (question->client, question->id,
                           cf_json_object_deep_copy (json_node_get_object (answer)), NULL);
  else if (!g_error_matches (error, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_INPUT_REQUIRED))
    {
      JsonObject *failure = json_object_new ();

      json_object_set_int_member (failure, "code", error && error->domain == CF_JSONRPC_ERROR
                                                   ? error->code : CF_JSONRPC_INTERNAL_ERROR);
      json_object_set_string_member (failure, "message",
                                     error ? error->message : "The client gave no result");
      cf_mcp_client_respond (question->client, question->id, NULL, failure);
    }

  g_object_unref (question->client);
  json_node_unref (question->id);
  g_free (question);
}

static void
relay_message (CfMcpClient *client,
               JsonNode    *message,
               gpointer     user_data)
{
  Relay *relay = user_data;
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");
  JsonObject *params = cf_json_object_get_object (object, "params");
  JsonNode *id = object ? json_object_get_member (object, "id") : NULL;

  if (method == NULL || cf_mcp_request_is_done (relay->request))
    return;

  if (id != NULL)
    {
      ClientQuestion *question = g_new0 (ClientQuestion, 1);

      question->client = g_object_ref (client);
      question->id = json_node_copy (id);
      cf_mcp_request_call_client_async (relay->request, method,
                                        params ? cf_json_object_deep_copy (params)
                                               : json_object_new (),
                                        NULL, on_client_answered, question);
    }
  else if (g_str_equal (method, "notifications/progress"))
    {
      JsonObject *copy;

      /* The downstream client knows its own token only. */
      if (relay->token == NULL || params == NULL)
        return;
      copy = cf_json_object_deep_copy (params);
      json_object_set_member (copy, "progressToken", json_node_copy (relay->token));
      cf_mcp_request_notify (relay->request, method, copy);
    }
  else if (g_str_equal (method, "notifications/message"))
    {
      CfMcpLogLevel level = cf_mcp_log_level_from_string (cf_json_object_get_string (params,
                                                                                     "level"));
      JsonNode *data = params ? json_object_get_member (params, "data") : NULL;

      if (level != CF_MCP_LOG_LEVEL_NONE && data != NULL)
        cf_mcp_request_log (relay->request, level, cf_json_object_get_string (params, "logger"),
                            cf_json_node_deep_copy (data));
    }
  else
    cf_mcp_request_notify (relay->request, method,
                           params ? cf_json_object_deep_copy (params) : NULL);
}

/* A tool the upstream cannot run is a tool error the model can read; any
 * other request fails as a protocol error. */
static void
relay_failure (Relay      *relay,
               const char *message)
{
  if (relay->is_tool_call)
    cf_mcp_request_return (relay->request, _cf_gateway_tool_error (message));
  else
    cf_mcp_request_return_error (relay->request, CF_JSONRPC_INTERNAL_ERROR, message, NULL);
}

static void ask_next (Relay *relay);

static void
on_input_answered (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) answer = cf_mcp_request_call_client_finish (CF_MCP_REQUEST (source),
                                                                  result, &error);
  g_autofree char *key = NULL;

  /* A 2026-07-28 downstream client was answered with its own
   * InputRequiredResult: the relay starts again when it retries. */
  if (g_error_matches (error, CF_MCP_REQUEST_ERROR, CF_MCP_REQUEST_ERROR_INPUT_REQUIRED) ||
      cf_mcp_request_is_done (relay->request))
    {
      relay_free (relay);
      return;
    }
  if (answer == NULL)
    {
      g_autofree char *message = g_strdup_printf ("The client could not answer the upstream "
                                                  "server: %s", error->message);
      relay_failure (relay, message);
      relay_free (relay);
      return;
    }

  key = relay->pending->data;
  relay->pending = g_list_delete_link (relay->pending, relay->pending);
  json_object_set_member (relay->answers, key, json_node_ref (answer));
  ask_next (relay);
}

static void
ask_next (Relay *relay)
{
  JsonObject *retry;

  if (relay->pending == NULL)
    {
      retry = cf_json_object_shallow_copy (relay->params, NULL);
      json_object_set_object_member (retry, "inputResponses", g_steal_pointer (&relay->answers));
      if (relay->state != NULL)
        json_object_set_string_member (retry, "requestState", relay->state);
      /* What a retry on a new connection sends again. */
      g_clear_pointer (&relay->sent, json_object_unref);
      relay->sent = retry;
      send_upstream (relay);
      return;
    }

  {
    JsonObject *question = cf_json_object_get_object (relay->questions, relay->pending->data);
    const char *method = cf_json_object_get_string (question, "method");
    JsonObject *params = cf_json_object_get_object (question, "params");

    if (method == NULL)
      {
        relay_failure (relay, "The upstream server asked an invalid question");
        relay_free (relay);
        return;
      }
    cf_mcp_request_call_client_async (relay->request, method,
                                      params ? cf_json_object_deep_copy (params)
                                             : json_object_new (),
                                      NULL, on_input_answered, relay);
  }
}

/* Returns %TRUE if the relay goes on asking. */
static gboolean
start_input_round (Relay      *relay,
                   JsonObject *answer)
{
  JsonObject *questions = cf_json_object_get_object (answer, "inputRequests");

  if (g_strcmp0 (cf_json_object_get_string (answer, "resultType"), "input_required") != 0)
    return FALSE;
  if (++relay->rounds > MAX_INPUT_ROUNDS)
    {
      relay_failure (relay, "The upstream server kept asking for input");
      return FALSE;
    }

  g_clear_pointer (&relay->questions, json_object_unref);
  g_list_free_full (g_steal_pointer (&relay->pending), g_free);
  g_clear_pointer (&relay->answers, json_object_unref);
  g_clear_pointer (&relay->state, g_free);
  relay->questions = questions ? cf_json_object_deep_copy (questions) : json_object_new ();
  relay->answers = json_object_new ();
  relay->state = g_strdup (cf_json_object_get_string (answer, "requestState"));
  {
    g_autoptr(GList) names = json_object_get_members (relay->questions);

    for (GList *l = names; l != NULL; l = l->next)
      relay->pending = g_list_append (relay->pending, g_strdup (l->data));
  }
  ask_next (relay);
  return TRUE;
}

static void
on_relayed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) members = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish_passthrough (CF_MCP_CLIENT (source),
                                                                           result, &members,
                                                                           &error);
  JsonObject *object = response && JSON_NODE_HOLDS_OBJECT (response)
                       ? json_node_get_object (response) : NULL;
  JsonObject *answer = cf_json_object_get_object (object, "result");
  JsonObject *failure = cf_json_object_get_object (object, "error");

  if (error != NULL && should_retry (relay, error))
    {
      g_debug ("Retrying %s on gateway %s: %s", relay->method, relay->gateway_id,
               error->message);
      relay->retried = TRUE;
      g_clear_pointer (&relay->lease, cf_upstream_lease_release);
      g_clear_object (&relay->client);
      acquire (relay);
      return;
    }
  if (answer != NULL && start_input_round (relay, answer))
    return;
  if (cf_mcp_request_is_done (relay->request))
    ;
  else if (answer != NULL && members != NULL && json_object_get_size (answer) == 0)
    /* All of it passes through: the era adapter adds its members as text. */
    cf_mcp_request_return_with_members (relay->request, NULL, members);
  else if (answer != NULL)
    {
      /* The answer's values are passed on as they are (shared, not
       * copied): the era adapter sets members of the result and of its
       * _meta only, and those two are the relay's own. Of a plain
       * tools/call result, only those members are in the tree, made for
       * this relay alone (so it takes the object itself): the others
       * pass through as the upstream wrote them. */
      JsonObject *copy = members != NULL && !json_object_is_immutable (answer)
                         ? json_object_ref (answer)
                         : cf_json_object_shallow_copy (answer, NULL);
      JsonObject *meta = cf_json_object_get_object (answer, "_meta");

      /* The client talks to the gateway: its serverInfo is ours. */
      if (meta != NULL)
        {
          JsonObject *own = cf_json_object_shallow_copy (meta,
                                                         "io.modelcontextprotocol/serverInfo");

          if (json_object_get_size (own) > 0)
            json_object_set_object_member (copy, "_meta", own);
          else
            {
              json_object_remove_member (copy, "_meta");
              json_object_unref (own);
            }
        }
      if (members != NULL)
        cf_mcp_request_return_with_members (relay->request, copy, members);
      else
        cf_mcp_request_return (relay->request, copy);
    }
  else if (failure != NULL)
    {
      JsonNode *data = json_object_get_member (failure, "data");
      gint64 code = CF_JSONRPC_INTERNAL_ERROR;

      cf_json_object_get_int (failure, "code", &code);
      cf_mcp_request_return_error (relay->request, (int) code,
                                   cf_json_object_get_string (failure, "message") ?: "Upstream error",
                                   data ? cf_json_node_deep_copy (data) : NULL);
    }
  else if (error != NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autofree char *message = g_strdup_printf ("The upstream server failed: %s",
                                                  error->message);
      relay_failure (relay, message);
    }
  else if (error == NULL)
    relay_failure (relay, "The upstream server sent an answer without result or error");

  relay_free (relay);
}

static void
on_acquired (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  Relay *relay = user_data;
  g_autoptr(GError) error = NULL;

  relay->lease = cf_upstream_pool_acquire_finish (CF_UPSTREAM_POOL (source), result, &error);
  if (relay->lease == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !cf_mcp_request_is_done (relay->request))
        relay_failure (relay, error->message);
      relay_free (relay);
      return;
    }
  relay->client = g_object_ref (cf_upstream_lease_get_client (relay->lease));
  send_upstream (relay);
}

static void
acquire (Relay *relay)
{
  relay->lease = cf_upstream_pool_try_acquire (relay->gateway->pool, relay->gateway_id,
                                               cf_mcp_request_get_session (relay->request));
  if (relay->lease != NULL)
    {
      relay->client = g_object_ref (cf_upstream_lease_get_client (relay->lease));
      send_upstream (relay);
      return;
    }
  cf_upstream_pool_acquire_async (relay->gateway->pool, relay->gateway_id,
                                  cf_mcp_request_get_session (relay->request),
                                  cf_mcp_request_get_cancellable (relay->request),
                                  on_acquired, relay);
}

/* A lost session means the upstream did not run the request; a broken
 * connection leaves it unknown, so only what is safe to repeat is. */
static gboolean
should_retry (Relay        *relay,
              const GError *error)
{
  if (relay->retried || cf_mcp_request_is_done (relay->request) ||
      error->domain != CF_MCP_CLIENT_ERROR)
    return FALSE;
  switch (error->code)
    {
    case CF_MCP_CLIENT_ERROR_SESSION_LOST:
      return TRUE;
    case CF_MCP_CLIENT_ERROR_CLOSED:
    case CF_MCP_CLIENT_ERROR_CONNECT:
      return relay->idempotent;
    default:
      return FALSE;
    }
}

/* The downstream client cancelled or went away: so does the upstream
 * call (a waiting acquisition has the request's cancellable). */
static void
relay_cancelled (CfMcpRequest *request,
                 gpointer      user_data)
{
  Relay *relay = user_data;

  if (relay->client != NULL)
    cf_mcp_client_cancel (relay->client, relay);
}

static void
relay_start (CfGateway    *self,
             CfMcpRequest *request,
             const char   *gateway_id,
             const char   *method,
             JsonObject   *params,
             GBytes       *arguments,
             gboolean      idempotent)
{
  JsonNode *token = cf_mcp_request_get_meta (request, "progressToken");
  Relay *relay = g_new0 (Relay, 1);

  relay->request = g_object_ref (request);
  cf_mcp_request_set_cancel_func (request, relay_cancelled, relay);
  relay->is_tool_call = g_str_equal (method, "tools/call");
  relay->params = params;
  relay->arguments = arguments;
  if (self->pool == NULL)
    {
      relay_failure (relay, "The upstream server of this item is not connected");
      relay_free (relay);
      return;
    }

  relay->gateway = g_object_ref (self);
  relay->gateway_id = g_strdup (gateway_id);
  relay->method = g_strdup (method);
  relay->token = token ? json_node_copy (token) : NULL;
  relay->idempotent = idempotent;
  acquire (relay);
}

/**
 * _cf_gateway_relay:
 * @self: the gateway
 * @request: the downstream request
 * @gateway_id: the upstream that serves it
 * @method: the method to call upstream
 * @params: (transfer full): its params, names already the upstream's
 * @idempotent: whether sending it twice does no harm
 */
void
_cf_gateway_relay (CfGateway    *self,
                   CfMcpRequest *request,
                   const char   *gateway_id,
                   const char   *method,
                   JsonObject   *params,
                   gboolean      idempotent)
{
  relay_start (self, request, gateway_id, method, params, NULL, idempotent);
}

/**
 * _cf_gateway_relay_tool:
 * @self: the gateway
 * @request: the downstream tools/call
 * @gateway_id: the upstream that serves it
 * @params: (transfer full): the call's params upstream but its arguments:
 *   the tool's name there (_cf_gateway_tool_params()), possibly sealed
 * @arguments: (transfer full) (nullable): the arguments, the text of one
 *   JSON object as the client wrote it (checked already)
 * @idempotent: whether sending it twice does no harm
 *
 * Relays a tools/call whose arguments pass through as text: they are
 * never made a tree on their way upstream.
 */
void
_cf_gateway_relay_tool (CfGateway    *self,
                        CfMcpRequest *request,
                        const char   *gateway_id,
                        JsonObject   *params,
                        GBytes       *arguments,
                        gboolean      idempotent)
{
  relay_start (self, request, gateway_id, "tools/call", params, arguments, idempotent);
}

/* The _meta of a request that asks only for a log level: one sealed
 * object per level, shared by every call that sends it. */
static JsonObject *
level_meta (CfMcpLogLevel level)
{
  static JsonObject *metas[CF_MCP_LOG_LEVEL_EMERGENCY + 1];

  g_return_val_if_fail (level >= 0 && level <= CF_MCP_LOG_LEVEL_EMERGENCY, NULL);

  if (g_once_init_enter (&metas[level]))
    {
      JsonObject *meta = json_object_new ();

      json_object_set_string_member (meta, META_LOG_LEVEL, cf_mcp_log_level_to_string (level));
      json_object_seal (meta);
      g_once_init_leave (&metas[level], meta);
    }
  return json_object_ref (metas[level]);
}

/* The _meta this relay sends upstream: a progress token, a log level
 * (@level, when @log), both or nothing. */
static JsonObject *
build_meta (Relay         *relay,
            gboolean       log,
            CfMcpLogLevel  level)
{
  JsonObject *meta;

  if (relay->token == NULL)
    return log ? level_meta (level) : NULL;
  meta = json_object_new ();
  json_object_set_member (meta, "progressToken", json_node_copy (relay->token));
  if (log)
    json_object_set_string_member (meta, META_LOG_LEVEL, cf_mcp_log_level_to_string (level));
  return meta;
}

static void
send_upstream (Relay *relay)
{
  CfMcpLogLevel level = cf_mcp_request_get_log_level (relay->request);
  JsonObject *params = relay->sent ?: relay->params;
  /* A 2026-07-28 upstream logs only when a request asks for a level. */
  gboolean log = level != CF_MCP_LOG_LEVEL_NONE &&
                 cf_mcp_client_get_era (relay->client) == CF_MCP_ERA_MODERN;
  JsonObject *meta = build_meta (relay, log, level);

  /* No cancellable: relay_cancelled() cancels the call. A tool's params
   * (_cf_gateway_tool_params(), or a retry's copy of them) have no _meta
   * and may be shared: its _meta goes apart. */
  if (relay->arguments != NULL)
    {
      cf_mcp_client_call_tool_async (relay->client, json_object_ref (params), meta,
                                     g_bytes_ref (relay->arguments), relay_message, relay, NULL,
                                     on_relayed, relay);
      return;
    }

  /* Other params are copied when this relay's _meta goes in. */
  if (meta != NULL)
    {
      params = cf_json_object_shallow_copy (params, NULL);
      json_object_set_object_member (params, "_meta", meta);
    }
  else
    params = json_object_ref (params);
  cf_mcp_client_request_async (relay->client, relay->method, params, relay_message, relay, NULL,
                               on_relayed, relay);
}
