/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-auth-http"

#include "config.h"

#include <string.h>

#include "cf-auth-http.h"
#include "cf-json.h"
#include "cf-store.h"

/**
 * CfAuthHttp:
 *
 * The HTTP face of #CfAuth: the `auth` step of the #CfHttpServer
 * middleware chain, ContextForge's `/auth` routes, and the RFC 9728
 * protected resource metadata that MCP clients discover the authorization
 * server with.
 *
 * The middleware resolves the AUTH_HEADER_NAME header (`Bearer` tokens,
 * `Basic` when enabled) into a #CfIdentity attached to the message. A
 * request without a valid credential gets 401 with a `WWW-Authenticate:
 * Bearer resource_metadata="..."` challenge, except on the open paths
 * (health, readiness, `/.well-known/`, the login routes); with
 * AUTH_REQUIRED off it runs as the anonymous identity instead. A
 * credential that is present but invalid is refused either way.
 */
struct _CfAuthHttp
{
  GObject            parent_instance;

  CfAuth            *auth;
  CfIdentity        *anonymous;
  CfScopeLookupFunc  lookup;
  gpointer           lookup_data;
};

G_DEFINE_FINAL_TYPE (CfAuthHttp, cf_auth_http, G_TYPE_OBJECT)

#define PRM_PATH "/.well-known/oauth-protected-resource"
#define WELL_KNOWN_MAX_AGE "public, max-age=3600"

static const char * const open_paths[] = {
  "/health", "/ready", "/auth/login", "/auth/email/login", NULL
};

static void
cf_auth_http_finalize (GObject *object)
{
  CfAuthHttp *self = (CfAuthHttp *) object;

  g_clear_object (&self->auth);
  g_clear_object (&self->anonymous);

  G_OBJECT_CLASS (cf_auth_http_parent_class)->finalize (object);
}

static void
cf_auth_http_class_init (CfAuthHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_auth_http_finalize;
}

static void
cf_auth_http_init (CfAuthHttp *self)
{
  self->anonymous = cf_identity_new_anonymous ();
}

/**
 * cf_auth_http_new:
 * @auth: the identity service
 * @lookup: (nullable): finds a virtual server, for its own metadata
 *   document
 * @lookup_data: data for @lookup
 *
 * Returns: (transfer full): a new #CfAuthHttp
 */
CfAuthHttp *
cf_auth_http_new (CfAuth            *auth,
                  CfScopeLookupFunc  lookup,
                  gpointer           lookup_data)
{
  CfAuthHttp *self;

  g_return_val_if_fail (CF_IS_AUTH (auth), NULL);

  self = g_object_new (CF_TYPE_AUTH_HTTP, NULL);
  self->auth = g_object_ref (auth);
  self->lookup = lookup;
  self->lookup_data = lookup_data;
  return self;
}

/**
 * cf_auth_http_is_open_path:
 * @path: a request path
 *
 * Returns: whether @path is served without a credential: `/health`,
 *   `/ready`, everything under `/.well-known/`, and the login routes
 */
gboolean
cf_auth_http_is_open_path (const char *path)
{
  g_return_val_if_fail (path != NULL, FALSE);

  return g_strv_contains (open_paths, path) || g_str_has_prefix (path, "/.well-known/");
}

/* Resource identifiers */

/* The base URL as the client reached us. A TLS-terminating proxy says
 * which scheme the client used; nothing else is taken from headers that
 * the Host check did not already vet. */
static char *
base_url (CfHttpExchange *exchange)
{
  SoupServerMessage *msg = cf_http_exchange_get_message (exchange);
  const char *proto = cf_http_exchange_get_header (exchange, "X-Forwarded-Proto");
  g_autoptr(GUri) parsed = NULL;
  GUri *uri;
  const char *scheme;
  int port;

  if (msg != NULL)
    uri = soup_server_message_get_uri (msg);
  else
    {
      /* As libsoup makes it: the gateway's own server only serves
       * requests that carry a Host, and no TLS. */
      g_autofree char *url = g_strconcat ("http://", cf_http_exchange_get_header (exchange, "Host"),
                                          "/", NULL);

      uri = parsed = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
      if (uri == NULL)
        uri = parsed = g_uri_parse ("http://localhost/", G_URI_FLAGS_NONE, NULL);
    }
  scheme = g_uri_get_scheme (uri);
  port = g_uri_get_port (uri);

  if (g_strcmp0 (proto, "https") == 0 || g_strcmp0 (proto, "http") == 0)
    scheme = proto;
  if ((port == 80 && g_str_equal (scheme, "http")) || (port == 443 && g_str_equal (scheme, "https")))
    port = -1;
  return g_uri_join (G_URI_FLAGS_NONE, scheme, NULL, g_uri_get_host (uri), port, "", NULL, NULL);
}

static gboolean
is_scoped_endpoint (const char *path,
                    char      **server_id)
{
  g_auto(GStrv) parts = g_strsplit (path, "/", -1);

  /* "", "servers", id, endpoint */
  if (g_strv_length (parts) != 4 || !g_str_equal (parts[1], "servers") || *parts[2] == '\0' ||
      !g_strv_contains ((const char * const[]) { "mcp", "sse", "message", "ws", NULL }, parts[3]))
    return FALSE;
  if (server_id != NULL)
    *server_id = g_strdup (parts[2]);
  return TRUE;
}

/* MCP endpoints are protected resources of their own, whose metadata
 * sits at the path-inserted well-known URL (RFC 9728 §3.1); anything else
 * is covered by the root document. */
static gboolean
is_mcp_endpoint (const char *path)
{
  static const char * const endpoints[] = { "/mcp", "/mcp/", "/rpc", "/sse", "/message", "/ws",
                                            NULL };

  return g_strv_contains (endpoints, path) || is_scoped_endpoint (path, NULL);
}

/**
 * cf_auth_http_resource_metadata_url:
 * @exchange: a request
 *
 * Returns: (transfer full): the metadata URL that a 401 on @exchange
 *   points to: the endpoint's own document for MCP endpoints, the root
 *   one otherwise
 */
char *
cf_auth_http_resource_metadata_url (CfHttpExchange *exchange)
{
  g_autofree char *base = base_url (exchange);
  const char *path = cf_http_exchange_get_path (exchange);

  if (!is_mcp_endpoint (path))
    return g_strconcat (base, PRM_PATH, NULL);
  if (g_str_equal (path, "/mcp/"))
    path = "/mcp";
  return g_strconcat (base, PRM_PATH, path, NULL);
}

/* Responses */

static void
respond_detail (SoupServerMessage *msg,
                guint              status,
                const char        *detail)
{
  cf_http_respond_error (msg, status, detail);
}

/* RFC 6750 §3: the challenge names the metadata document and, when a
 * token was presented, why it was refused. */
static void
respond_unauthorized (CfAuthHttp     *self,
                      CfHttpExchange *exchange,
                      const GError   *error)
{
  SoupMessageHeaders *headers = cf_http_exchange_get_response_headers (exchange);
  g_autofree char *metadata = cf_auth_http_resource_metadata_url (exchange);
  g_autoptr(GString) challenge = g_string_new ("Bearer ");
  gboolean presented = !g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MISSING);

  g_string_append_printf (challenge, "resource_metadata=\"%s\"", metadata);
  if (presented)
    {
      g_autofree char *description = g_strdup (error->message);

      g_strdelimit (description, "\"\\", '\'');
      g_string_append_printf (challenge, ", error=\"invalid_token\", error_description=\"%s\"",
                              description);
    }
  soup_message_headers_append (headers, "WWW-Authenticate", challenge->str);
  if (cf_auth_get_config (self->auth)->basic_enabled)
    soup_message_headers_append (headers, "WWW-Authenticate", "Basic realm=\"ContextForge\"");
  cf_http_exchange_respond_error (exchange, SOUP_STATUS_UNAUTHORIZED,
                                  presented ? error->message : "Not authenticated");
}

/* The middleware step */

/* A CORS preflight carries no credentials by design; the CORS step, not
 * this one, answers it. */
static gboolean
is_preflight (CfHttpExchange *exchange)
{
  return cf_http_exchange_get_method (exchange) == SOUP_METHOD_OPTIONS &&
         cf_http_exchange_get_header (exchange, "Origin") != NULL &&
         cf_http_exchange_get_header (exchange, "Access-Control-Request-Method") != NULL;
}

/* ContextForge lets WebSocket clients, which cannot always set headers,
 * pass the token as `?token=`: only on a WebSocket upgrade of a WS
 * endpoint. The token is never logged (the logs name the path only). */
static char *
websocket_query_token (CfHttpExchange *exchange,
                       const char     *path)
{
  const char *query = cf_http_exchange_get_query (exchange);
  const char *upgrade = cf_http_exchange_get_header (exchange, "Upgrade");
  g_autoptr(GHashTable) params = NULL;
  g_autofree char *server_id = NULL;
  const char *token;

  if (query == NULL || upgrade == NULL || g_ascii_strcasecmp (upgrade, "websocket") != 0 ||
      !(g_str_equal (path, "/ws") ||
        (is_scoped_endpoint (path, &server_id) && g_str_has_suffix (path, "/ws"))))
    return NULL;
  params = g_uri_parse_params (query, -1, "&", G_URI_PARAMS_NONE, NULL);
  token = params ? g_hash_table_lookup (params, "token") : NULL;
  if (token == NULL || *token == '\0')
    return NULL;
  return g_strconcat ("Bearer ", token, NULL);
}

static gboolean
middleware_auth (CfHttpServer   *http,
                 CfHttpExchange *exchange,
                 gpointer        user_data)
{
  CfAuthHttp *self = user_data;
  CfAuthConfig *config = cf_auth_get_config (self->auth);
  const char *path = cf_http_exchange_get_path (exchange);
  const char *value = cf_http_exchange_get_header (exchange, config->header_name);
  g_autoptr(CfIdentity) identity = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *from_query = NULL;

  if (is_preflight (exchange))
    return TRUE;
  if (value == NULL && (from_query = websocket_query_token (exchange, path)) != NULL)
    value = from_query;

  identity = cf_auth_authenticate (self->auth, value, &error);
  if (identity == NULL && !config->auth_required &&
      g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MISSING))
    identity = g_object_ref (self->anonymous);
  if (identity != NULL)
    {
      cf_identity_attach (exchange, identity);
      return TRUE;
    }
  /* A stale token must not stop anyone from logging in again. */
  if (cf_auth_http_is_open_path (path))
    return TRUE;

  g_info ("Refused %s %s: %s", cf_http_exchange_get_method (exchange), path, error->message);
  respond_unauthorized (self, exchange, error);
  return FALSE;
}

/* Requests answered later */

typedef struct {
  CfAuthHttp        *self;
  SoupServerMessage *msg;
  gulong             finished_id;
  gulong             disconnected_id;
  gboolean           gone;
} Pending;

/* After either, libsoup has dropped the message's I/O: unpausing it
 * would be a critical. */
static void
on_message_gone (SoupServerMessage *msg,
                 Pending           *pending)
{
  pending->gone = TRUE;
}

static Pending *
pending_new (CfAuthHttp        *self,
             SoupServerMessage *msg)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->self = g_object_ref (self);
  pending->msg = g_object_ref (msg);
  pending->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (on_message_gone), pending);
  pending->disconnected_id = g_signal_connect (msg, "disconnected", G_CALLBACK (on_message_gone),
                                               pending);
  soup_server_message_pause (msg);
  return pending;
}

static void
pending_free (Pending *pending)
{
  if (!pending->gone)
    soup_server_message_unpause (pending->msg);
  g_clear_signal_handler (&pending->finished_id, pending->msg);
  g_clear_signal_handler (&pending->disconnected_id, pending->msg);
  g_object_unref (pending->msg);
  g_object_unref (pending->self);
  g_free (pending);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

/* @object stays the caller's. */
static void
respond_object (SoupServerMessage *msg,
                guint              status,
                JsonObject        *object)
{
  g_autoptr(JsonNode) node = cf_json_node_new_object (json_object_ref (object));

  cf_http_respond_json (msg, status, node);
}

/* FastAPI's 422 for a request body that does not validate. */
static void
respond_invalid_body (SoupServerMessage *msg,
                      const char        *field,
                      const char        *type,
                      const char        *text)
{
  JsonObject *body = json_object_new ();
  JsonArray *details = json_array_new ();
  JsonObject *detail = json_object_new ();
  JsonArray *loc = json_array_new ();

  json_array_add_string_element (loc, "body");
  if (field != NULL)
    json_array_add_string_element (loc, field);
  json_object_set_string_member (detail, "type", type);
  json_object_set_array_member (detail, "loc", loc);
  json_object_set_string_member (detail, "msg", text);
  json_array_add_object_element (details, detail);
  json_object_set_array_member (body, "detail", details);
  respond_object (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, body);
  json_object_unref (body);
}

static JsonObject *
read_body (SoupServerMessage *msg)
{
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonNode) node = cf_json_parse (g_bytes_get_data (bytes, NULL),
                                            g_bytes_get_size (bytes), NULL);

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      respond_invalid_body (msg, NULL, "model_attributes_type",
                            "Input should be a valid JSON object");
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

/* A required non-empty string member, or a 422 naming it. */
static const char *
required_string (SoupServerMessage *msg,
                 JsonObject        *body,
                 const char        *field)
{
  JsonNode *node = json_object_get_member (body, field);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    respond_invalid_body (msg, field, "missing", "Field required");
  else if (!cf_json_node_is_string (node))
    respond_invalid_body (msg, field, "string_type", "Input should be a valid string");
  else if (*json_node_get_string (node) == '\0')
    respond_invalid_body (msg, field, "string_too_short",
                          "String should have at least 1 character");
  else
    return json_node_get_string (node);
  return NULL;
}

/* /auth/login, /auth/email/login */

static void
on_login (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(JsonObject) response = NULL;
  g_autoptr(GError) error = NULL;

  response = cf_auth_login_finish (CF_AUTH (source), result, &error);
  if (pending->gone)
    return;
  if (response != NULL)
    respond_object (pending->msg, SOUP_STATUS_OK, response);
  else if (g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS))
    respond_detail (pending->msg, SOUP_STATUS_UNAUTHORIZED, error->message);
  else if (g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_PASSWORD_CHANGE_REQUIRED))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (pending->msg),
                                    "X-Password-Change-Required", "true");
      respond_detail (pending->msg, SOUP_STATUS_FORBIDDEN, error->message);
    }
  else
    {
      g_warning ("Login failed: %s", error->message);
      respond_detail (pending->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
                      "Authentication service error");
    }
}

/* `/auth/login` also takes the address as "username", as ContextForge
 * does for form-style clients. */
static void
handle_login (CfAuthHttp        *self,
              SoupServerMessage *msg,
              gboolean           email_route)
{
  g_autoptr(JsonObject) body = read_body (msg);
  const char *field = "email";
  const char *email;
  const char *password;

  if (body == NULL)
    return;
  if (!email_route && !json_object_has_member (body, "email") &&
      json_object_has_member (body, "username"))
    field = "username";
  if ((email = required_string (msg, body, field)) == NULL ||
      (password = required_string (msg, body, "password")) == NULL)
    return;
  if (strchr (email, '@') == NULL)
    {
      respond_invalid_body (msg, field, "value_error",
                            "value is not a valid email address");
      return;
    }

  cf_auth_login_async (self->auth, email, password,
                       email_route && cf_auth_get_config (self->auth)->enforce_password_change,
                       NULL, on_login, pending_new (self, msg));
}

/* Routes that need a signed-in user */

static CfIdentity *
require_user (SoupServerMessage *msg)
{
  CfIdentity *identity = cf_identity_from_message (msg);

  if (identity != NULL && !cf_identity_is_anonymous (identity))
    return identity;
  respond_detail (msg, SOUP_STATUS_UNAUTHORIZED, "Not authenticated");
  return NULL;
}

static void
on_profile (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(JsonObject) user = NULL;
  g_autoptr(GError) error = NULL;

  user = cf_auth_lookup_user_finish (CF_AUTH (source), result, &error);
  if (pending->gone)
    return;
  if (user != NULL)
    respond_object (pending->msg, SOUP_STATUS_OK, user);
  else if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    respond_detail (pending->msg, SOUP_STATUS_NOT_FOUND, "User not found");
  else
    respond_detail (pending->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Failed to read the user");
}

static void
handle_me (CfAuthHttp        *self,
           SoupServerMessage *msg)
{
  CfIdentity *identity = require_user (msg);

  if (identity != NULL)
    cf_auth_lookup_user_async (self->auth, cf_identity_get_email (identity), NULL, on_profile,
                               pending_new (self, msg));
}

static void
on_password_changed (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *body;

  if (!cf_auth_change_password_finish (CF_AUTH (source), result, &error))
    {
      if (pending->gone)
        return;
      if (g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS))
        respond_detail (pending->msg, SOUP_STATUS_UNAUTHORIZED, error->message);
      else if (g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD))
        respond_detail (pending->msg, SOUP_STATUS_BAD_REQUEST, error->message);
      else if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
        respond_detail (pending->msg, SOUP_STATUS_NOT_FOUND, "User not found");
      else
        respond_detail (pending->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
                        "Password change service error");
      return;
    }
  if (pending->gone)
    return;
  body = json_object_new ();
  json_object_set_boolean_member (body, "success", TRUE);
  json_object_set_string_member (body, "message", "Password changed successfully");
  respond_object (pending->msg, SOUP_STATUS_OK, body);
  json_object_unref (body);
}

static void
handle_change_password (CfAuthHttp        *self,
                        SoupServerMessage *msg)
{
  CfIdentity *identity = require_user (msg);
  g_autoptr(JsonObject) body = NULL;
  const char *old_password;
  const char *new_password;

  if (identity == NULL || (body = read_body (msg)) == NULL)
    return;
  if ((old_password = required_string (msg, body, "old_password")) == NULL ||
      (new_password = required_string (msg, body, "new_password")) == NULL)
    return;
  cf_auth_change_password_async (self->auth, cf_identity_get_email (identity), old_password,
                                 new_password, NULL, on_password_changed,
                                 pending_new (self, msg));
}

static void
on_logged_out (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(GError) error = NULL;
  CfIdentity *identity = cf_identity_from_message (pending->msg);
  JsonObject *body;

  if (!cf_auth_revoke_finish (CF_AUTH (source), result, &error))
    g_warning ("Cannot save a revocation: %s", error->message);
  if (pending->gone)
    return;
  if (error != NULL)
    {
      respond_detail (pending->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Failed to revoke token");
      return;
    }
  body = json_object_new ();
  json_object_set_string_member (body, "message", "Logged out successfully");
  json_object_set_string_member (body, "revoked_token", cf_identity_get_jti (identity));
  respond_object (pending->msg, SOUP_STATUS_OK, body);
  json_object_unref (body);
}

/* Logout revokes the very token that made the request. */
static void
handle_logout (CfAuthHttp        *self,
               SoupServerMessage *msg)
{
  CfIdentity *identity = require_user (msg);

  if (identity == NULL)
    return;
  if (cf_identity_get_kind (identity) != CF_IDENTITY_JWT)
    {
      respond_detail (msg, SOUP_STATUS_UNAUTHORIZED, "No valid authorization token provided");
      return;
    }
  if (cf_identity_get_jti (identity) == NULL)
    {
      respond_detail (msg, SOUP_STATUS_BAD_REQUEST,
                      "Token does not support revocation (missing JTI)");
      return;
    }
  cf_auth_revoke_async (self->auth, cf_identity_get_jti (identity),
                        cf_identity_get_expires_at (identity), cf_identity_get_email (identity),
                        "logout", NULL, on_logged_out, pending_new (self, msg));
}

typedef struct {
  const char *path;
  const char *method;
} AuthRoute;

static const AuthRoute auth_routes[] = {
  { "/auth/login", "POST" },
  { "/auth/email/login", "POST" },
  { "/auth/email/me", "GET" },
  { "/auth/email/change-password", "POST" },
  { "/auth/logout", "POST" },
};

static void
on_auth_route (CfHttpServer      *http,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  CfAuthHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  guint i;

  for (i = 0; i < G_N_ELEMENTS (auth_routes) && !g_str_equal (auth_routes[i].path, path); i++)
    ;
  if (i == G_N_ELEMENTS (auth_routes))
    {
      respond_detail (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
      return;
    }
  if (!g_str_equal (method, auth_routes[i].method))
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    auth_routes[i].method);
      respond_detail (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method Not Allowed");
      return;
    }

  switch (i)
    {
    case 0:
    case 1:
      handle_login (self, msg, i == 1);
      break;
    case 2:
      handle_me (self, msg);
      break;
    case 3:
      handle_change_password (self, msg);
      break;
    default:
      handle_logout (self, msg);
      break;
    }
}

/* RFC 9728 protected resource metadata */

static JsonObject *
build_metadata (SoupServerMessage *msg,
                const char        *resource_path)
{
  g_autofree char *base = base_url (cf_http_exchange_get_for_message (msg));
  g_autofree char *resource = g_strconcat (base, resource_path, NULL);
  JsonObject *metadata = json_object_new ();
  JsonArray *servers = json_array_new ();
  JsonArray *methods = json_array_new ();

  json_object_set_string_member (metadata, "resource", resource);
  /* The gateway issues the tokens it accepts: it is its own
   * authorization server. */
  json_array_add_string_element (servers, base);
  json_object_set_array_member (metadata, "authorization_servers", servers);
  json_array_add_string_element (methods, "header");
  json_object_set_array_member (metadata, "bearer_methods_supported", methods);
  json_object_set_string_member (metadata, "resource_name", "ContextForge Gateway");
  return metadata;
}

static void
on_well_known (CfHttpServer      *http,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  CfAuthHttp *self = user_data;
  const char *method = soup_server_message_get_method (msg);
  const char *suffix = g_str_has_prefix (path, PRM_PATH) ? path + strlen (PRM_PATH) : NULL;
  g_autofree char *server_id = NULL;
  g_autoptr(JsonObject) metadata = NULL;

  if (suffix == NULL || (*suffix != '\0' && !is_mcp_endpoint (suffix)))
    {
      respond_detail (msg, SOUP_STATUS_NOT_FOUND, "Not found");
      return;
    }
  if (method != SOUP_METHOD_GET && method != SOUP_METHOD_HEAD)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    "GET, HEAD");
      respond_detail (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method Not Allowed");
      return;
    }
  /* A server that does not exist has no metadata: the answer must not
   * tell ids apart from what the endpoint itself would say. */
  if (is_scoped_endpoint (suffix, &server_id) &&
      (self->lookup == NULL || self->lookup (server_id, self->lookup_data) == NULL))
    {
      respond_detail (msg, SOUP_STATUS_NOT_FOUND, "Server not found");
      return;
    }

  metadata = build_metadata (msg, g_str_equal (suffix, "/mcp/") ? "/mcp" : suffix);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Cache-Control",
                                WELL_KNOWN_MAX_AGE);
  respond_object (msg, SOUP_STATUS_OK, metadata);
}

/**
 * cf_auth_http_install:
 * @self: a #CfAuthHttp
 * @http: the server
 *
 * Appends the `auth` middleware step (after the steps already added, so
 * after request-id, host-origin and body-limit) and mounts `/auth` and
 * `/.well-known`.
 */
void
cf_auth_http_install (CfAuthHttp   *self,
                      CfHttpServer *http)
{
  g_return_if_fail (CF_IS_AUTH_HTTP (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (http));

  cf_http_server_add_middleware (http, "auth", middleware_auth, self);
  cf_http_server_add_route (http, "/auth", on_auth_route, self);
  cf_http_server_add_route (http, "/.well-known", on_well_known, self);
}
