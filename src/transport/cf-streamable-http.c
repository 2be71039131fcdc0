/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-streamable-http"

#include "config.h"

#include <string.h>

#include "cf-http-header.h"
#include "cf-http-stream.h"
#include "cf-identity.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-session.h"
#include "cf-mcp-version.h"
#include "cf-streamable-http.h"

#define DEFAULT_KEEPALIVE 15

/**
 * CfStreamableHttp:
 *
 * The Streamable HTTP transport of MCP on an endpoint such as `/mcp`:
 * POST carries messages (answered as JSON or SSE as Accept allows), GET
 * opens a legacy session's standalone stream, DELETE ends a session. An
 * unknown session is a 404, as the 2025 revisions ask, so that clients
 * start a new one. 2026-07-28 requests carry no session and are served
 * statelessly on the same endpoint.
 */
struct _CfStreamableHttp
{
  GObject            parent_instance;

  CfMcpServer       *server;
  CfScopeLookupFunc  lookup;
  gpointer           lookup_data;
  char              *prefix;
  GHashTable        *scoped_endpoints;
  GPtrArray         *streams;
  guint              keepalive;
  guint              keepalive_id;
};

G_DEFINE_FINAL_TYPE (CfStreamableHttp, cf_streamable_http, G_TYPE_OBJECT)

/* Another transport's endpoint under the same prefix, such as the legacy
 * `{prefix}/{id}/sse`. */
typedef struct {
  CfScopedHandler handler;
  gpointer        user_data;
} ScopedEndpoint;

/* Whether the media range @range (@length bytes, parameters and
 * surrounding blanks left out) takes @type. */
static gboolean
range_takes (const char *range,
             gsize       length,
             const char *type)
{
  gsize type_length = strlen (type);

  /* Media types compare case-insensitively (RFC 9110, 8.3.1). */
  if (length == type_length && g_ascii_strncasecmp (range, type, length) == 0)
    return TRUE;
  if (length == 3 && memcmp (range, "*/*", 3) == 0)
    return TRUE;
  if (length == 13 && g_ascii_strncasecmp (range, "application/*", 13) == 0 &&
      g_str_has_prefix (type, "application/"))
    return TRUE;
  return length == 6 && g_ascii_strncasecmp (range, "text/*", 6) == 0 &&
         g_str_has_prefix (type, "text/");
}

/* Read in place: this runs twice for every POST. */
static gboolean
accepts (const char *accept,
         const char *type)
{
  const char *p;

  if (accept == NULL)
    return TRUE;
  p = accept;
  for (;;)
    {
      const char *end = p + strcspn (p, ",;");
      const char *start = p;
      const char *last = end;

      while (start < last && g_ascii_isspace (*start))
        start++;
      while (last > start && g_ascii_isspace (last[-1]))
        last--;
      if (range_takes (start, last - start, type))
        return TRUE;
      /* Parameters run to the next range. */
      end += strcspn (end, ",");
      if (*end == '\0')
        return FALSE;
      p = end + 1;
    }
}

static const char *
lookup_request_header (const char *name,
                       gpointer    user_data)
{
  return cf_http_exchange_get_header (user_data, name);
}

/* Whether a message whose params have @meta is a 2026-07-28 one. */
static gboolean
has_modern_meta (JsonObject *meta)
{
  return meta != NULL && json_object_has_member (meta, "io.modelcontextprotocol/protocolVersion");
}

static gboolean
is_modern_message (CfJsonrpcMessage *message,
                   JsonNode         *node)
{
  JsonObject *params;

  if (message != NULL)
    return cf_jsonrpc_message_get_meta (message, "io.modelcontextprotocol/protocolVersion") != NULL;
  params = JSON_NODE_HOLDS_OBJECT (node)
           ? cf_json_object_get_object (json_node_get_object (node), "params") : NULL;
  return has_modern_meta (cf_json_object_get_object (params, "_meta"));
}

/* @plain: ContextForge's `/rpc`, plain JSON-RPC over POST: answers are
 * JSON only, there are no sessions and no mirrored headers to check. */
static void
handle_post (CfStreamableHttp *self,
             CfMcpServer      *server,
             CfHttpExchange   *exchange,
             const char       *scope,
             gboolean          plain)
{
  const char *accept = cf_http_exchange_get_header (exchange, "Accept");
  const char *session_id = cf_http_exchange_get_header (exchange, "Mcp-Session-Id");
  const char *content_type = cf_http_exchange_get_header (exchange, "Content-Type");
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(CfJsonrpcMessage) message = NULL;
  g_autoptr(CfHttpStream) stream = NULL;
  CfMcpTransportContext *context;
  CfMcpSession *session = NULL;
  gboolean accept_json = plain || accepts (accept, "application/json");
  gboolean accept_sse = !plain && accepts (accept, "text/event-stream");

  if (!accept_json && !accept_sse)
    {
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_NOT_ACCEPTABLE,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Not Acceptable: accept application/json or text/event-stream");
      return;
    }
  if (!cf_http_media_type_is (content_type, "application/json"))
    {
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Unsupported Media Type: the body must be application/json");
      return;
    }

  bytes = cf_http_exchange_get_request_body (exchange);
  /* One valid message, the usual case, is read without a tree of its
   * envelope; anything else (a batch, an invalid message, bad JSON) is
   * parsed whole, which says what is wrong with it. */
  message = cf_jsonrpc_message_new_from_bytes (bytes);
  if (message == NULL)
    node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  if (message == NULL && node == NULL)
    {
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_BAD_REQUEST, CF_JSONRPC_PARSE_ERROR,
                                          error->message);
      return;
    }

  /* 2026-07-28 requests carry no session: a stale session header on one is
   * ignored, as that revision asks. */
  if (session_id != NULL && !plain && !is_modern_message (message, node))
    {
      session = cf_mcp_server_lookup_session (server, session_id);
      if (session == NULL)
        {
          cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_NOT_FOUND,
                                              CF_JSONRPC_INVALID_REQUEST,
                                              "Session not found: start a new session with initialize");
          return;
        }
    }

  stream = cf_http_stream_new (exchange, accept_json, accept_sse);
  context = cf_http_stream_get_context (stream);
  g_set_object (&context->session, session);
  context->protocol_version_header = cf_http_exchange_get_header (exchange, "MCP-Protocol-Version");
  context->method_header = cf_http_exchange_get_header (exchange, "Mcp-Method");
  context->name_header = cf_http_exchange_get_header (exchange, "Mcp-Name");
  context->scope = scope;
  context->identity = cf_identity_from_exchange (exchange);
  context->header_lookup = lookup_request_header;
  context->header_lookup_data = exchange;
  context->validate_headers = !plain;

  if (message != NULL)
    cf_mcp_server_dispatch_message (server, context, message, CF_MCP_STREAM (stream));
  else
    cf_mcp_server_dispatch (server, context, node, CF_MCP_STREAM (stream));

  /* The header strings live in @exchange; the context must not outlive
   * them. */
  context->protocol_version_header = context->method_header = context->name_header = NULL;
  context->scope = NULL;
  context->identity = NULL;
  context->header_lookup = NULL;
  context->header_lookup_data = NULL;
}

static void
on_standalone_closed (CfMcpStream      *stream,
                      CfStreamableHttp *self)
{
  CfMcpSession *session = g_object_get_data (G_OBJECT (stream), "cf-session");

  if (session != NULL && cf_mcp_session_get_stream (session) == stream)
    cf_mcp_session_set_stream (session, NULL);
  g_ptr_array_remove_fast (self->streams, stream);
}

static gboolean
send_keepalives (gpointer user_data)
{
  CfStreamableHttp *self = user_data;

  /* A write is also how a vanished client is noticed on a quiet stream. */
  for (guint i = self->streams->len; i > 0; i--)
    cf_http_stream_keepalive (g_ptr_array_index (self->streams, i - 1));
  return G_SOURCE_CONTINUE;
}

static CfMcpSession *
require_session (CfMcpServer    *server,
                 CfHttpExchange *exchange)
{
  const char *session_id = cf_http_exchange_get_header (exchange, "Mcp-Session-Id");
  CfMcpSession *session;

  if (session_id == NULL)
    {
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_BAD_REQUEST,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Bad Request: Mcp-Session-Id header is required");
      return NULL;
    }
  session = cf_mcp_server_lookup_session (server, session_id);
  if (session == NULL)
    cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_NOT_FOUND,
                                        CF_JSONRPC_INVALID_REQUEST,
                                        "Session not found: start a new session with initialize");
  return session;
}

static void
handle_get (CfStreamableHttp *self,
            CfMcpServer      *server,
            CfHttpExchange   *exchange)
{
  g_autoptr(CfHttpStream) stream = NULL;
  CfMcpSession *session;

  if (cf_mcp_server_get_default_legacy_version (server) == NULL)
    {
      soup_message_headers_replace (cf_http_exchange_get_response_headers (exchange),
                                    "Allow", "POST");
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_METHOD_NOT_ALLOWED,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Method Not Allowed: use subscriptions/listen");
      return;
    }
  if (!accepts (cf_http_exchange_get_header (exchange, "Accept"), "text/event-stream"))
    {
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_NOT_ACCEPTABLE,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Not Acceptable: the GET stream is text/event-stream");
      return;
    }
  session = require_session (server, exchange);
  if (session == NULL)
    return;

  stream = cf_http_stream_new (exchange, FALSE, TRUE);
  g_set_object (&cf_http_stream_get_context (stream)->session, session);
  cf_http_stream_start_sse (stream);
  g_object_set_data_full (G_OBJECT (stream), "cf-session", g_object_ref (session),
                          g_object_unref);
  g_signal_connect_object (stream, "closed", G_CALLBACK (on_standalone_closed), self, 0);
  g_ptr_array_add (self->streams, g_object_ref (stream));
  cf_mcp_session_set_stream (session, CF_MCP_STREAM (stream));
}

static void
handle_delete (CfStreamableHttp *self,
               CfMcpServer      *server,
               CfHttpExchange   *exchange)
{
  CfMcpSession *session = require_session (server, exchange);

  if (session == NULL)
    return;
  cf_mcp_server_close_session (server, cf_mcp_session_get_id (session));
  cf_http_exchange_set_status (exchange, SOUP_STATUS_NO_CONTENT);
  /* Without a length libsoup closes the connection after the 204, and
   * the client's next session pays for a new one. */
  soup_message_headers_set_content_length (cf_http_exchange_get_response_headers (exchange), 0);
}

static void
serve (CfStreamableHttp *self,
       CfMcpServer      *server,
       CfHttpExchange   *exchange,
       const char       *scope)
{
  const char *method = cf_http_exchange_get_method (exchange);

  if (method == SOUP_METHOD_POST)
    handle_post (self, server, exchange, scope, FALSE);
  else if (method == SOUP_METHOD_GET)
    handle_get (self, server, exchange);
  else if (method == SOUP_METHOD_DELETE)
    handle_delete (self, server, exchange);
  else
    {
      soup_message_headers_replace (cf_http_exchange_get_response_headers (exchange),
                                    "Allow", "GET, POST, DELETE");
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_METHOD_NOT_ALLOWED,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Method Not Allowed");
    }
}

static void
on_endpoint (CfHttpServer   *http,
             CfHttpExchange *exchange,
             const char     *path,
             GHashTable     *query,
             gpointer        user_data)
{
  CfStreamableHttp *self = user_data;

  if (!g_str_equal (path, "/mcp") && !g_str_equal (path, "/mcp/"))
    {
      cf_http_exchange_respond_error (exchange, SOUP_STATUS_NOT_FOUND, "Not Found");
      return;
    }
  serve (self, self->server, exchange, NULL);
}

static void
on_rpc_endpoint (CfHttpServer   *http,
                 CfHttpExchange *exchange,
                 const char     *path,
                 GHashTable     *query,
                 gpointer        user_data)
{
  CfStreamableHttp *self = user_data;

  if (!g_str_equal (path, "/rpc") && !g_str_equal (path, "/rpc/"))
    cf_http_exchange_respond_error (exchange, SOUP_STATUS_NOT_FOUND, "Not Found");
  else if (cf_http_exchange_get_method (exchange) != SOUP_METHOD_POST)
    {
      soup_message_headers_replace (cf_http_exchange_get_response_headers (exchange),
                                    "Allow", "POST");
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_METHOD_NOT_ALLOWED,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Method Not Allowed");
    }
  else
    handle_post (self, self->server, exchange, NULL, TRUE);
}

/* {prefix}/{scope}/mcp, or another transport's {prefix}/{scope}/{name} */
static void
on_scoped_endpoint (CfHttpServer   *http,
                    CfHttpExchange *exchange,
                    const char     *path,
                    GHashTable     *query,
                    gpointer        user_data)
{
  CfStreamableHttp *self = user_data;
  const char *rest = path + strlen (self->prefix);
  g_auto(GStrv) parts = g_strsplit (*rest == '/' ? rest + 1 : rest, "/", -1);
  ScopedEndpoint *endpoint = NULL;
  CfMcpServer *server;

  if (g_strv_length (parts) < 2 || *parts[0] == '\0' ||
      (!g_str_equal (parts[1], "mcp") &&
       (endpoint = g_hash_table_lookup (self->scoped_endpoints, parts[1])) == NULL) ||
      (parts[2] != NULL && *parts[2] != '\0'))
    {
      cf_http_exchange_respond_error (exchange, SOUP_STATUS_NOT_FOUND, "Not Found");
      return;
    }

  server = self->lookup (parts[0], self->lookup_data);
  if (server == NULL)
    {
      cf_http_exchange_respond_rpc_error (exchange, SOUP_STATUS_NOT_FOUND,
                                          CF_JSONRPC_INVALID_REQUEST,
                                          "Server not found");
      return;
    }
  /* Our own HTTP/1.1 server serves only `{prefix}/{scope}/mcp`: the other
   * transports' endpoints come from libsoup. */
  if (endpoint != NULL && cf_http_exchange_get_message (exchange) != NULL)
    endpoint->handler (http, cf_http_exchange_get_message (exchange), server, parts[0], query,
                       endpoint->user_data);
  else if (endpoint != NULL)
    cf_http_exchange_respond_error (exchange, SOUP_STATUS_NOT_FOUND, "Not Found");
  else
    serve (self, server, exchange, parts[0]);
}

static void
cf_streamable_http_finalize (GObject *object)
{
  CfStreamableHttp *self = (CfStreamableHttp *) object;

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  g_clear_object (&self->server);
  g_clear_pointer (&self->prefix, g_free);
  g_clear_pointer (&self->scoped_endpoints, g_hash_table_unref);
  g_clear_pointer (&self->streams, g_ptr_array_unref);

  G_OBJECT_CLASS (cf_streamable_http_parent_class)->finalize (object);
}

static void
cf_streamable_http_class_init (CfStreamableHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_streamable_http_finalize;
}

static void
cf_streamable_http_init (CfStreamableHttp *self)
{
  self->streams = g_ptr_array_new_with_free_func (g_object_unref);
  self->scoped_endpoints = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->keepalive = DEFAULT_KEEPALIVE;
}

/**
 * cf_streamable_http_new:
 * @server: the MCP server behind the endpoint
 *
 * Returns: (transfer full): a new transport
 */
CfStreamableHttp *
cf_streamable_http_new (CfMcpServer *server)
{
  CfStreamableHttp *self;

  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);

  self = g_object_new (CF_TYPE_STREAMABLE_HTTP, NULL);
  self->server = g_object_ref (server);
  self->keepalive_id = g_timeout_add_seconds (self->keepalive, send_keepalives, self);
  return self;
}

/* The endpoint's POSTs, with and without a trailing slash, are served by
 * the server's own HTTP/1.1 implementation. */
static void
add_native_endpoint (CfHttpServer *http,
                     const char   *path,
                     const char   *suffix)
{
  g_autofree char *pattern = g_strconcat (path, suffix, NULL);
  g_autofree char *slashed = g_strconcat (pattern, "/", NULL);

  cf_http_server_add_native_endpoint (http, pattern);
  cf_http_server_add_native_endpoint (http, slashed);
}

/**
 * cf_streamable_http_mount:
 * @self: a #CfStreamableHttp
 * @http: the HTTP server
 * @path: the endpoint path, such as "/mcp"
 */
void
cf_streamable_http_mount (CfStreamableHttp *self,
                          CfHttpServer     *http,
                          const char       *path)
{
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (self));

  cf_http_server_add_exchange_route (http, path, on_endpoint, self);
  add_native_endpoint (http, path, NULL);
}

/**
 * cf_streamable_http_mount_rpc:
 * @self: a #CfStreamableHttp
 * @http: the HTTP server
 * @path: such as "/rpc"
 *
 * Serves ContextForge's plain JSON-RPC endpoint: POST a message (or a
 * batch where the revision allows), get JSON back.
 */
void
cf_streamable_http_mount_rpc (CfStreamableHttp *self,
                              CfHttpServer     *http,
                              const char       *path)
{
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (self));

  cf_http_server_add_exchange_route (http, path, on_rpc_endpoint, self);
  add_native_endpoint (http, path, NULL);
}

/**
 * cf_streamable_http_mount_scoped:
 * @self: a #CfStreamableHttp
 * @http: the HTTP server
 * @prefix: such as "/servers": serves `{prefix}/{id}/mcp`
 * @lookup: finds the server of a scope
 * @user_data: closure data for @lookup
 */
void
cf_streamable_http_mount_scoped (CfStreamableHttp  *self,
                                 CfHttpServer      *http,
                                 const char        *prefix,
                                 CfScopeLookupFunc  lookup,
                                 gpointer           user_data)
{
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (self));

  g_free (self->prefix);
  self->prefix = g_strdup (prefix);
  self->lookup = lookup;
  self->lookup_data = user_data;
  cf_http_server_add_exchange_route (http, prefix, on_scoped_endpoint, self);
  add_native_endpoint (http, prefix, "/*/mcp");
}

/**
 * cf_streamable_http_add_scoped_endpoint:
 * @self: a #CfStreamableHttp
 * @name: the last path segment, such as "sse" for `{prefix}/{id}/sse`
 * @handler: serves it, once the scope's server is found
 * @user_data: closure data for @handler
 *
 * Lets another transport serve an endpoint under the scoped prefix that
 * cf_streamable_http_mount_scoped() owns.
 */
void
cf_streamable_http_add_scoped_endpoint (CfStreamableHttp *self,
                                        const char       *name,
                                        CfScopedHandler   handler,
                                        gpointer          user_data)
{
  ScopedEndpoint *endpoint;

  g_return_if_fail (CF_IS_STREAMABLE_HTTP (self));
  g_return_if_fail (name != NULL && !g_str_equal (name, "mcp"));
  g_return_if_fail (handler != NULL);

  endpoint = g_new0 (ScopedEndpoint, 1);
  endpoint->handler = handler;
  endpoint->user_data = user_data;
  g_hash_table_replace (self->scoped_endpoints, g_strdup (name), endpoint);
}

void
cf_streamable_http_set_keepalive (CfStreamableHttp *self,
                                  guint             seconds)
{
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (self));

  g_clear_handle_id (&self->keepalive_id, g_source_remove);
  self->keepalive = MAX (seconds, 1);
  self->keepalive_id = g_timeout_add_seconds (self->keepalive, send_keepalives, self);
}

/**
 * cf_streamable_http_close_streams:
 *
 * Ends every standalone stream, for shutdown.
 */
void
cf_streamable_http_close_streams (CfStreamableHttp *self)
{
  g_return_if_fail (CF_IS_STREAMABLE_HTTP (self));

  while (self->streams->len > 0)
    {
      g_autoptr(CfMcpStream) stream = g_object_ref (g_ptr_array_index (self->streams, 0));

      g_ptr_array_remove_index_fast (self->streams, 0);
      cf_mcp_stream_finish (stream, NULL, 0);
    }
}
