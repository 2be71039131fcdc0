/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tokens"

#include "config.h"

#include <string.h>

#include "cf-auth-http.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-token-scope.h"
#include "cf-tokens-private.h"

/* Enforcement: cf_tokens_check_request() runs on every authenticated
 * request, so it reads the registry and the rate windows in memory and
 * never the database. */

#define RATE_WINDOW_S 60
#define RATE_TABLE_MAX 10000
#define MCP_UNAUTHORIZED_CODE (-32003)
#define LIMIT_ERROR_CODE 429

static char *
client_ip (CfHttpExchange  *exchange,
           GInetAddress   **out_address)
{
  GSocketAddress *remote = cf_http_exchange_get_remote_address (exchange);
  GInetAddress *address;

  *out_address = NULL;
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  *out_address = address;
  return g_inet_address_to_string (address);
}

static gboolean
is_mcp_path (const char *path)
{
  static const char * const endpoints[] = { "/mcp", "/mcp/", "/rpc", "/sse", "/message", "/ws",
                                            NULL };
  g_auto(GStrv) parts = NULL;

  if (g_strv_contains (endpoints, path))
    return TRUE;
  parts = g_strsplit (path, "/", 5);
  return g_strv_length (parts) == 4 && g_str_equal (parts[1], "servers") &&
         g_strv_contains (endpoints, path + strlen (parts[1]) + strlen (parts[2]) + 2);
}

/* ContextForge's _check_server_restriction: the health checks and the
 * token's own server, nothing else. */
static gboolean
server_allowed (const char *server_id,
                const char *path)
{
  const char *rest = NULL;
  gsize length = strlen (server_id);

  if (g_str_equal (path, "/health") || g_str_equal (path, "/ready"))
    return TRUE;
  if (g_str_has_prefix (path, "/servers/"))
    rest = path + strlen ("/servers/");
  else if (g_str_has_prefix (path, "/v1/servers/"))
    rest = path + strlen ("/v1/servers/");
  return rest != NULL && strncmp (rest, server_id, length) == 0 &&
         (rest[length] == '\0' || rest[length] == '/');
}

/* The id of a JSON-RPC request, when the body says; null otherwise. */
static JsonNode *
request_id (CfHttpExchange *exchange)
{
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonNode *id;

  if (cf_http_exchange_get_method (exchange) != SOUP_METHOD_POST)
    return json_node_new (JSON_NODE_NULL);
  bytes = cf_http_exchange_get_request_body (exchange);
  if (g_bytes_get_size (bytes) == 0)
    return json_node_new (JSON_NODE_NULL);
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      (id = json_object_get_member (json_node_get_object (node), "id")) == NULL)
    return json_node_new (JSON_NODE_NULL);
  return cf_json_node_deep_copy (id);
}

static void
refuse (CfHttpExchange *exchange,
        const char     *path,
        guint           status,
        int             rpc_code,
        const char     *message,
        gint64          retry_after_s)
{
  SoupMessageHeaders *headers = cf_http_exchange_get_response_headers (exchange);

  if (retry_after_s > 0)
    {
      g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, retry_after_s);

      soup_message_headers_replace (headers, "Retry-After", value);
    }
  if (is_mcp_path (path) && cf_http_exchange_get_method (exchange) == SOUP_METHOD_POST)
    {
      g_autoptr(JsonNode) id = request_id (exchange);
      g_autoptr(JsonNode) body = NULL;
      JsonNode *data = NULL;

      if (retry_after_s > 0)
        {
          JsonObject *object = json_object_new ();

          json_object_set_int_member (object, "retryAfterMs", retry_after_s * 1000);
          json_object_set_int_member (object, "retryAfter", retry_after_s);
          data = cf_json_node_new_object (object);
        }
      /* @data is the error's now. */
      body = cf_jsonrpc_build_error (id, rpc_code, message, data);
      cf_http_exchange_respond_json (exchange, status, body);
    }
  else
    cf_http_exchange_respond_error (exchange, status, message);
}

/* Fixed windows: the count restarts when the window's time is up. */
static gboolean
window_take (Window *window,
             guint   limit,
             gint64  length_s,
             gint64  now,
             gint64 *retry_after_s)
{
  if (now - window->start >= length_s)
    {
      window->start = now;
      window->count = 0;
    }
  if (limit > 0 && window->count >= limit)
    {
      *retry_after_s = MAX (window->start + length_s - now, 1);
      return FALSE;
    }
  window->count++;
  return TRUE;
}

static void
prune_rates (CfTokens *self,
             gint64    now)
{
  GHashTableIter iter;
  Window *window;

  g_hash_table_iter_init (&iter, self->rates);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &window))
    if (now - window->start >= RATE_WINDOW_S)
      g_hash_table_iter_remove (&iter);
  if (g_hash_table_size (self->rates) >= RATE_TABLE_MAX)
    g_hash_table_remove_all (self->rates);
}

static gboolean
check_rate (CfTokens       *self,
            CfHttpExchange *exchange,
            CfIdentity     *identity,
            const char     *path,
            gint64          now)
{
  guint limit = cf_auth_get_config (self->auth)->user_rate_limit;
  g_autofree char *key = NULL;
  Window *window;
  gint64 retry = 0;

  if (limit == 0)
    return TRUE;
  if (cf_identity_get_jti (identity) != NULL &&
      g_strcmp0 (cf_identity_get_token_use (identity), "api") == 0)
    key = g_strconcat ("t:", cf_identity_get_jti (identity), NULL);
  else
    key = g_strconcat ("u:", cf_identity_get_email (identity), NULL);
  window = g_hash_table_lookup (self->rates, key);
  if (window == NULL)
    {
      if (g_hash_table_size (self->rates) >= RATE_TABLE_MAX)
        prune_rates (self, now);
      window = g_new0 (Window, 1);
      window->start = now;
      g_hash_table_insert (self->rates, g_steal_pointer (&key), window);
    }
  if (window_take (window, limit, RATE_WINDOW_S, now, &retry))
    return TRUE;
  g_info ("Rate limit: %s made more than %u requests in a minute",
          cf_identity_get_email (identity), limit);
  refuse (exchange, path, 429, LIMIT_ERROR_CODE, "Rate limit exceeded: too many requests per minute",
          retry);
  return FALSE;
}

static void
refuse_unauthorized (CfHttpExchange *exchange,
                     const char     *detail)
{
  g_autofree char *metadata = cf_auth_http_resource_metadata_url (exchange);
  g_autofree char *challenge = g_strdup_printf ("Bearer resource_metadata=\"%s\", "
                                                "error=\"invalid_token\", "
                                                "error_description=\"%s\"", metadata, detail);

  soup_message_headers_append (cf_http_exchange_get_response_headers (exchange),
                               "WWW-Authenticate", challenge);
  cf_http_exchange_respond_error (exchange, SOUP_STATUS_UNAUTHORIZED, detail);
}

/**
 * cf_tokens_check_request:
 * @self: a #CfTokens
 * @exchange: a request whose identity is known
 * @identity: its identity
 *
 * The token scoping step: the per-identity rate limit for everyone; for
 * API tokens, the registry's verdict (unknown, inactive or revoked: 401),
 * then the IP, time window and server restrictions (403), then the usage
 * limits (429 with Retry-After). Refusals are answered here: with
 * ContextForge's `{"detail": ...}` on REST routes, with a JSON-RPC error
 * on MCP endpoints (-32003 for a server the token may not use, 429 with
 * retry data for a limit). Usage of API tokens is recorded.
 *
 * Returns: %TRUE when the request may go on
 */
gboolean
cf_tokens_check_request (CfTokens       *self,
                         CfHttpExchange *exchange,
                         CfIdentity     *identity)
{
  const char *path = cf_http_exchange_get_path (exchange);
  const char *jti = cf_identity_get_jti (identity);
  g_autoptr(GDateTime) now_time = NULL;
  g_autofree char *ip = NULL;
  GInetAddress *address = NULL;
  const char *reason = NULL;
  guint status = SOUP_STATUS_FORBIDDEN;
  int code = MCP_UNAUTHORIZED_CODE;
  gint64 retry = 0;
  gint64 now = _cf_tokens_now_s ();
  Usage *usage;
  Entry *entry;

  g_return_val_if_fail (CF_IS_TOKENS (self), FALSE);

  /* Health, discovery and login stay open to any credential. */
  if (cf_identity_is_anonymous (identity) || cf_auth_http_is_open_path (path))
    return TRUE;
  if (g_strcmp0 (cf_identity_get_token_use (identity), "api") != 0)
    return check_rate (self, exchange, identity, path, now);

  entry = jti ? g_hash_table_lookup (self->registry, jti) : NULL;
  if (entry == NULL || !entry->active || entry->revoked)
    {
      const char *detail = entry == NULL ? "API token not found"
                           : entry->revoked ? "Token has been revoked"
                           : "API token is inactive";

      g_info ("Refused %s %s: %s", cf_http_exchange_get_method (exchange), path, detail);
      refuse_unauthorized (exchange, detail);
      return FALSE;
    }
  if (!check_rate (self, exchange, identity, path, now))
    return FALSE;

  ip = client_ip (exchange, &address);
  if (entry->time != NULL)
    now_time = g_date_time_new_now_utc ();
  if (!cf_token_scope_ip_allowed ((const char * const *) entry->ips, address))
    reason = "Request from an IP address this token does not allow";
  else if (entry->time != NULL && !cf_token_scope_time_allowed (entry->time, now_time))
    reason = "Token is not valid at this time";
  else if (entry->server_id != NULL && !server_allowed (entry->server_id, path))
    reason = "Token not authorized for this server";
  else if (!window_take (&entry->hour, entry->per_hour, 3600, now, &retry))
    reason = "Token usage limit exceeded: requests per hour";
  else if (!window_take (&entry->day, entry->per_day, 86400, now, &retry))
    {
      entry->hour.count--;
      reason = "Token usage limit exceeded: requests per day";
    }
  /* A token's scopes.permissions narrow what the user's roles allow (the
   * rbac step applies them): the stored ones, which a PUT may have
   * changed, not the ones signed into the token when it was made. */
  if (reason == NULL && entry->permissions != NULL)
    cf_identity_set_permissions (identity, (const char * const *) entry->permissions);

  usage = _cf_tokens_usage_new (self, exchange, identity, ip);
  if (reason == NULL)
    {
      g_signal_connect_data (exchange, "finished", G_CALLBACK (_cf_tokens_on_usage_finished), usage,
                             _cf_tokens_usage_free, 0);
      return TRUE;
    }
  if (retry > 0)
    {
      status = 429;
      code = LIMIT_ERROR_CODE;
    }
  g_info ("Refused %s %s for API token %s: %s", cf_http_exchange_get_method (exchange), path,
          entry->id, reason);
  _cf_tokens_push_usage (self, usage, status, 0, reason);
  _cf_tokens_usage_free (usage, NULL);
  refuse (exchange, path, status, code, reason, retry);
  return FALSE;
}
