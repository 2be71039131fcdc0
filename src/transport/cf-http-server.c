/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http-server"

#include "config.h"

#include <string.h>

#include <gio/gunixsocketaddress.h>
#include <glib/gstdio.h>

#include "cf-http-server-private.h"
#include "cf-json.h"
#include "cf-random.h"

#define DEFAULT_MAX_BODY (4 * 1024 * 1024)
#define DEFAULT_HEADER_TIMEOUT 30

/**
 * CfHttpServer:
 *
 * The listening front end: a #SoupServer whose every route runs behind one
 * explicit middleware chain (request id, Host/Origin validation, identity,
 * limits), in the order the steps were added. Body size is enforced before
 * the body is read, and a client that does not finish its request in time
 * is disconnected, so slow clients cannot pin connections.
 */
struct _CfHttpServer
{
  GObject     parent_instance;

  SoupServer    *soup;
  CfHttp1Server *native;
  GArray        *middleware;
  GPtrArray     *routes;
  GPtrArray     *native_endpoints;
  GStrv       allowed_hosts;
  GStrv       allowed_origins;
  gsize       max_body;
  guint       header_timeout;
  guint       n_active;
  /* Headers every response carries (cf_http_server_add_response_header()):
   * names and values in turn, and the same as HTTP/1.1 header lines. */
  GPtrArray  *fixed_headers;
  GString    *fixed_head;
};

typedef struct {
  const char       *name;
  CfHttpMiddleware  func;
  gpointer          user_data;
} Middleware;

typedef struct {
  CfHttpServer          *server;
  char                  *path;
  gsize                  path_length;
  CfHttpHandler          handler;
  CfHttpExchangeHandler  exchange_handler;
  gpointer               user_data;
} Route;

G_DEFINE_FINAL_TYPE (CfHttpServer, cf_http_server, G_TYPE_OBJECT)

static const char * const loopback_hosts[] = {
  "localhost", "127.0.0.1", "::1", NULL
};

/* The answers of routes that libsoup alone serves: the exchange's. */

void
cf_http_respond_json (SoupServerMessage *msg,
                      guint              status,
                      JsonNode          *body)
{
  cf_http_exchange_respond_json (cf_http_exchange_for_message (msg), status, body);
}

/**
 * cf_http_respond_json_bytes:
 * @msg: the message to answer
 * @status: the HTTP status
 * @body: serialized JSON
 *
 * Answers with @body, already serialized, as the JSON body.
 */
void
cf_http_respond_json_bytes (SoupServerMessage *msg,
                            guint              status,
                            GBytes            *body)
{
  cf_http_exchange_respond_json_bytes (cf_http_exchange_for_message (msg), status, body);
}

/**
 * cf_http_respond_object:
 * @msg: the message to answer
 * @status: the HTTP status
 * @body: (transfer full): the JSON object to send
 *
 * Answers with @body as the JSON body, taking it over.
 */
void
cf_http_respond_object (SoupServerMessage *msg,
                        guint              status,
                        JsonObject        *body)
{
  g_autoptr(JsonNode) node = cf_json_node_new_object (body);

  cf_http_respond_json (msg, status, node);
}

/**
 * cf_http_respond_rpc_error:
 * @msg: the message to answer
 * @status: the HTTP status
 * @code: the JSON-RPC error code
 * @message: the error's message
 *
 * Answers with a JSON-RPC error response (id null) as the body.
 */
void
cf_http_respond_rpc_error (SoupServerMessage *msg,
                           guint              status,
                           int                code,
                           const char        *message)
{
  cf_http_exchange_respond_rpc_error (cf_http_exchange_for_message (msg), status, code, message);
}

/**
 * cf_http_respond_error:
 * @msg: the request
 * @status: an HTTP status
 * @detail: what went wrong
 *
 * Answers with ContextForge's error body shape, `{"detail": ...}`.
 */
void
cf_http_respond_error (SoupServerMessage *msg,
                       guint              status,
                       const char        *detail)
{
  cf_http_exchange_respond_error (cf_http_exchange_for_message (msg), status, detail);
}

/* A complete response for writing on a raw socket, where no exchange
 * can answer: `{"detail": ...}`, then the connection closes. */
char *
_cf_http_raw_response (const char *status_line,
                       const char *detail)
{
  g_autofree char *body = g_strdup_printf ("{\"detail\":\"%s\"}", detail);

  return g_strdup_printf ("HTTP/1.1 %s\r\nContent-Type: application/json\r\n"
                          "Connection: close\r\nContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                          status_line, strlen (body), body);
}

/* Host header without its port, brackets of an IPv6 literal removed. */
static char *
host_name (const char *host)
{
  const char *colon;

  if (host == NULL)
    return NULL;
  if (host[0] == '[')
    {
      const char *end = strchr (host, ']');
      return end ? g_strndup (host + 1, end - host - 1) : NULL;
    }
  colon = strrchr (host, ':');
  return colon ? g_strndup (host, colon - host) : g_strdup (host);
}

static gboolean
name_is_allowed (CfHttpServer *self,
                 const char   *name)
{
  if (name == NULL)
    return FALSE;
  return g_strv_contains (loopback_hosts, name) ||
         (self->allowed_hosts != NULL &&
          (g_strv_contains ((const char * const *) self->allowed_hosts, name) ||
           g_strv_contains ((const char * const *) self->allowed_hosts, "*")));
}

gboolean
cf_http_host_is_allowed (CfHttpServer *self,
                         const char   *host_header)
{
  g_autofree char *name = host_name (host_header);

  return name_is_allowed (self, name);
}

static gboolean
origin_is_allowed (CfHttpServer *self,
                   const char   *origin)
{
  g_autoptr(GUri) uri = NULL;
  g_autofree char *lower = NULL;

  if (origin == NULL)
    return TRUE;
  /* An origin CORS allows is one the operator trusts to call us. */
  lower = g_ascii_strdown (origin, -1);
  if (self->allowed_origins != NULL &&
      g_strv_contains ((const char * const *) self->allowed_origins, lower))
    return TRUE;
  uri = g_uri_parse (origin, G_URI_FLAGS_NONE, NULL);
  /* GUri gives an IPv6 literal without its brackets. */
  return uri != NULL && name_is_allowed (self, g_uri_get_host (uri));
}

/* A Host that is the very address the request came in on: a client that
 * dialled the gateway by its LAN address (as gateways found over mDNS
 * do). No rebound name can make a browser send that. */
static gboolean
host_is_local_address (CfHttpExchange *exchange,
                       const char     *host)
{
  g_autofree char *name = host_name (host);
  g_autoptr(GInetAddress) literal = name ? g_inet_address_new_from_string (name) : NULL;
  GSocketAddress *local = literal ? cf_http_exchange_get_local_address (exchange) : NULL;

  return local != NULL && G_IS_INET_SOCKET_ADDRESS (local) &&
         g_inet_address_equal (literal, g_inet_socket_address_get_address (
                                          G_INET_SOCKET_ADDRESS (local)));
}

/* DNS rebinding: a page on evil.example resolving to 127.0.0.1 sends its
 * own Host and Origin, which this refuses. */
static gboolean
middleware_host_origin (CfHttpServer   *self,
                        CfHttpExchange *exchange,
                        gpointer        user_data)
{
  const char *host = cf_http_exchange_get_header (exchange, "Host");
  const char *origin = cf_http_exchange_get_header (exchange, "Origin");

  if ((cf_http_host_is_allowed (self, host) || host_is_local_address (exchange, host)) &&
      origin_is_allowed (self, origin))
    return TRUE;

  g_message ("Refused request with Host '%s' and Origin '%s'", host ? host : "",
             origin ? origin : "");
  cf_http_exchange_respond_error (
      exchange, SOUP_STATUS_FORBIDDEN,
      "Forbidden: Host or Origin not allowed (DNS rebinding protection)");
  return FALSE;
}

static gboolean
middleware_request_id (CfHttpServer   *self,
                       CfHttpExchange *exchange,
                       gpointer        user_data)
{
  const char *id = cf_http_exchange_get_header (exchange, "X-Request-ID");
  char minted[8 + 16 + 1];

  /* Ids need to be unique, not secret: a random prefix drawn once and a
   * counter (at least eight hex digits) spare the hot path a getrandom()
   * per request, and the digits are written here, not by printf. */
  if (id == NULL || strlen (id) > 128)
    {
      static const char hex[] = "0123456789abcdef";
      static char *prefix;
      static guint64 counter;
      guint64 n = ++counter;
      char digits[16];
      int count = 0;

      if (prefix == NULL)
        prefix = cf_random_hex (4);
      do
        {
          digits[count++] = hex[n & 0xf];
          n >>= 4;
        }
      while (n != 0 || count < 8);
      memcpy (minted, prefix, 8);
      for (int i = 0; i < count; i++)
        minted[8 + i] = digits[count - 1 - i];
      minted[8 + count] = '\0';
      id = minted;
    }
  soup_message_headers_replace (cf_http_exchange_get_response_headers (exchange),
                                "X-Request-ID", id);
  return TRUE;
}

/* Our own HTTP/1.1 server takes no body over the limit: it leaves such
 * requests to libsoup, whose early handler refuses them. */
static gboolean
middleware_body_limit (CfHttpServer   *self,
                       CfHttpExchange *exchange,
                       gpointer        user_data)
{
  SoupServerMessage *msg = cf_http_exchange_get_message (exchange);
  SoupMessageBody *body = msg ? soup_server_message_get_request_body (msg) : NULL;

  if (body == NULL ||
      (body->length <= (goffset) self->max_body &&
       g_object_get_data (G_OBJECT (msg), "cf-too-large") == NULL))
    return TRUE;
  cf_http_exchange_respond_error (exchange, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                                  "Payload Too Large: the request body exceeds the limit");
  return FALSE;
}

static void
dispatch (CfHttpServer   *self,
          Route          *route,
          CfHttpExchange *exchange,
          const char     *path,
          GHashTable     *query)
{
  for (guint i = 0; i < self->middleware->len; i++)
    {
      Middleware *step = &g_array_index (self->middleware, Middleware, i);

      if (!step->func (self, exchange, step->user_data))
        return;
    }

  if (route->exchange_handler != NULL)
    route->exchange_handler (self, exchange, path, query, route->user_data);
  else
    route->handler (self, cf_http_exchange_get_message (exchange), path, query,
                    route->user_data);
}

static void
run_route (SoupServer        *soup,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  Route *route = user_data;

  dispatch (route->server, route, cf_http_exchange_for_message (msg), path, query);
}

/* As libsoup finds a handler: the longest path prefix. */
static Route *
find_route (CfHttpServer *self,
            const char   *path,
            gsize         length)
{
  Route *best = NULL;
  gsize best_length = 0;

  for (guint i = 0; i < self->routes->len; i++)
    {
      Route *route = g_ptr_array_index (self->routes, i);
      gsize route_length = route->path_length;

      if (route_length <= length && route_length >= best_length &&
          strncmp (path, route->path, route_length) == 0)
        {
          best = route;
          best_length = route_length;
        }
    }
  return best;
}

static gboolean
pattern_matches (const char *pattern,
                 const char *path,
                 gsize       length)
{
  const char *end = path + length;

  while (*pattern != '\0' && path < end)
    {
      if (pattern[0] == '*' && (pattern[1] == '/' || pattern[1] == '\0'))
        {
          const char *segment = path;

          while (path < end && *path != '/')
            path++;
          if (path == segment)
            return FALSE;
          pattern++;
        }
      else if (*pattern++ != *path++)
        return FALSE;
    }
  return *pattern == '\0' && path == end;
}

/* Whether the server's own HTTP/1.1 implementation serves a POST to
 * @path (@length bytes, the query left out). */
gboolean
_cf_http_server_takes (CfHttpServer *self,
                       const char   *path,
                       gsize         length)
{
  Route *route;
  guint i;

  for (i = 0; i < self->native_endpoints->len; i++)
    if (pattern_matches (g_ptr_array_index (self->native_endpoints, i), path, length))
      break;
  if (i == self->native_endpoints->len)
    return FALSE;
  route = find_route (self, path, length);
  return route != NULL && route->exchange_handler != NULL;
}

void
_cf_http_server_serve (CfHttpServer   *self,
                       CfHttpExchange *exchange)
{
  const char *path = cf_http_exchange_get_path (exchange);
  const char *query = cf_http_exchange_get_query (exchange);
  g_autoptr(GHashTable) params = query ? soup_form_decode (query) : NULL;
  Route *route = find_route (self, path, strlen (path));

  g_return_if_fail (route != NULL && route->exchange_handler != NULL);
  dispatch (self, route, exchange, path, params);
}

guint
_cf_http_server_get_header_timeout (CfHttpServer *self)
{
  return self->header_timeout;
}

void
_cf_http_server_count_active (CfHttpServer *self,
                              int           delta)
{
  if (delta > 0 || self->n_active > 0)
    self->n_active += delta;
}

/* An oversized body is not kept: libsoup still reads what the client
 * sends (to keep the connection in step), but discards it. */
static void
stop_accumulating (SoupServerMessage *msg)
{
  soup_message_body_set_accumulate (soup_server_message_get_request_body (msg), FALSE);
  soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                "Connection", "close");
}

static void
on_got_chunk (SoupServerMessage *msg,
              GBytes            *chunk,
              CfHttpServer      *self)
{
  gsize seen = GPOINTER_TO_SIZE (g_object_get_data (G_OBJECT (msg), "cf-body-size"));

  seen += g_bytes_get_size (chunk);
  g_object_set_data (G_OBJECT (msg), "cf-body-size", GSIZE_TO_POINTER (seen));
  if (seen > self->max_body && g_object_get_data (G_OBJECT (msg), "cf-too-large") == NULL)
    {
      g_object_set_data (G_OBJECT (msg), "cf-too-large", GINT_TO_POINTER (TRUE));
      stop_accumulating (msg);
    }
}

/* Runs once the headers are in, before the body is read. A status set
 * here answers the request: libsoup runs no handler, and a client that
 * sent Expect: 100-continue never sends its body. */
static void
early_handler (SoupServer        *soup,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  CfHttpServer *self = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CONTENT_LENGTH &&
      soup_message_headers_get_content_length (headers) > (goffset) self->max_body)
    {
      stop_accumulating (msg);
      cf_http_respond_error (msg, SOUP_STATUS_REQUEST_ENTITY_TOO_LARGE,
                             "Payload Too Large: the request body exceeds the limit");
    }
  else if (soup_message_headers_get_encoding (headers) == SOUP_ENCODING_CHUNKED)
    g_signal_connect (msg, "got-chunk", G_CALLBACK (on_got_chunk), self);
}

static void
not_found (SoupServer        *soup,
           SoupServerMessage *msg,
           const char        *path,
           GHashTable        *query,
           gpointer           user_data)
{
  cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
}

/**
 * cf_http_message_get_socket:
 * @msg: a request libsoup serves for a #CfHttpServer
 *
 * soup_server_message_get_socket() for the connections libsoup gets from
 * the server's own HTTP/1.1 implementation, for which libsoup has none.
 *
 * Returns: (transfer none) (nullable): the socket @msg came in on
 */
GSocket *
cf_http_message_get_socket (SoupServerMessage *msg)
{
  CfHttpServer *self = g_object_get_data (G_OBJECT (msg), "cf-server");
  GSocket *socket = soup_server_message_get_socket (msg);

  if (socket == NULL && self != NULL)
    socket = _cf_http1_server_find_socket (self->native,
                                           soup_server_message_get_remote_address (msg));
  return socket;
}

static gboolean
on_request_timeout (gpointer user_data)
{
  SoupServerMessage *msg = user_data;
  GSocket *socket = cf_http_message_get_socket (msg);
  g_autofree char *reply = _cf_http_raw_response ("408 Request Timeout",
                                         "Request Timeout: the request was not sent in time");

  g_object_set_data (G_OBJECT (msg), "cf-timeout", NULL);
  if (socket == NULL)
    return G_SOURCE_REMOVE;

  /* libsoup has no read deadline of its own: answer on the raw socket, then
   * shut it so that libsoup's pending read fails and frees the connection. */
  g_message ("Closing a connection that did not send its request in time");
  g_socket_send (socket, reply, strlen (reply), NULL, NULL);
  g_socket_shutdown (socket, TRUE, TRUE, NULL);
  return G_SOURCE_REMOVE;
}

static void
clear_timeout (gpointer data)
{
  guint id = GPOINTER_TO_UINT (data);

  if (id != 0)
    g_source_remove (id);
}

static void
on_request_started (SoupServer        *soup,
                    SoupServerMessage *msg,
                    CfHttpServer      *self)
{
  guint id = g_timeout_add_seconds (self->header_timeout, on_request_timeout, msg);

  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  g_object_set_data (G_OBJECT (msg), "cf-server", self);
  g_object_set_data_full (G_OBJECT (msg), "cf-timeout", GUINT_TO_POINTER (id), clear_timeout);
  /* Before anything else could set them: appended, not replaced. */
  for (guint i = 0; i + 1 < self->fixed_headers->len; i += 2)
    soup_message_headers_append (headers, g_ptr_array_index (self->fixed_headers, i),
                                 g_ptr_array_index (self->fixed_headers, i + 1));
}

/* A request counts as in flight once it has been read: an idle keep-alive
 * connection waiting for its next request is not work to finish. */
static void
on_request_read (SoupServer        *soup,
                 SoupServerMessage *msg,
                 CfHttpServer      *self)
{
  g_object_set_data (G_OBJECT (msg), "cf-timeout", NULL);
  g_object_set_data (G_OBJECT (msg), "cf-counted", GINT_TO_POINTER (TRUE));
  self->n_active++;
}

static void
on_request_done (SoupServer        *soup,
                 SoupServerMessage *msg,
                 CfHttpServer      *self)
{
  g_object_set_data (G_OBJECT (msg), "cf-timeout", NULL);
  if (g_object_get_data (G_OBJECT (msg), "cf-counted") != NULL && self->n_active > 0)
    self->n_active--;
  g_object_set_data (G_OBJECT (msg), "cf-counted", NULL);
}

static void
cf_http_server_finalize (GObject *object)
{
  CfHttpServer *self = (CfHttpServer *) object;

  g_clear_pointer (&self->native, _cf_http1_server_free);
  if (self->soup != NULL)
    soup_server_disconnect (self->soup);
  g_clear_object (&self->soup);
  g_clear_pointer (&self->middleware, g_array_unref);
  g_clear_pointer (&self->native_endpoints, g_ptr_array_unref);
  g_clear_pointer (&self->routes, g_ptr_array_unref);
  g_clear_pointer (&self->allowed_hosts, g_strfreev);
  g_clear_pointer (&self->allowed_origins, g_strfreev);
  g_clear_pointer (&self->fixed_headers, g_ptr_array_unref);
  if (self->fixed_head != NULL)
    g_string_free (g_steal_pointer (&self->fixed_head), TRUE);

  G_OBJECT_CLASS (cf_http_server_parent_class)->finalize (object);
}

static void
cf_http_server_class_init (CfHttpServerClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_http_server_finalize;
}

static void
cf_http_server_init (CfHttpServer *self)
{
  self->middleware = g_array_new (FALSE, TRUE, sizeof (Middleware));
  self->native_endpoints = g_ptr_array_new_with_free_func (g_free);
  self->routes = g_ptr_array_new ();
  self->fixed_headers = g_ptr_array_new_with_free_func (g_free);
  self->fixed_head = g_string_new (NULL);
  self->native = _cf_http1_server_new (self);
  self->max_body = DEFAULT_MAX_BODY;
  self->header_timeout = DEFAULT_HEADER_TIMEOUT;
  self->soup = soup_server_new ("server-header", PACKAGE_NAME "/" PACKAGE_VERSION, NULL);

  soup_server_add_handler (self->soup, NULL, not_found, NULL, NULL);
  soup_server_add_early_handler (self->soup, NULL, early_handler, self, NULL);
  g_signal_connect (self->soup, "request-started", G_CALLBACK (on_request_started), self);
  g_signal_connect (self->soup, "request-read", G_CALLBACK (on_request_read), self);
  g_signal_connect (self->soup, "request-finished", G_CALLBACK (on_request_done), self);
  g_signal_connect (self->soup, "request-aborted", G_CALLBACK (on_request_done), self);

  cf_http_server_add_middleware (self, "request-id", middleware_request_id, NULL);
  cf_http_server_add_middleware (self, "host-origin", middleware_host_origin, NULL);
  cf_http_server_add_middleware (self, "body-limit", middleware_body_limit, NULL);
}

CfHttpServer *
cf_http_server_new (void)
{
  return g_object_new (CF_TYPE_HTTP_SERVER, NULL);
}

SoupServer *
cf_http_server_get_soup_server (CfHttpServer *self)
{
  g_return_val_if_fail (CF_IS_HTTP_SERVER (self), NULL);
  return self->soup;
}

/**
 * cf_http_server_add_route:
 * @self: a #CfHttpServer
 * @path: a path prefix, as soup_server_add_handler() takes it
 * @handler: serves the requests under @path
 * @user_data: closure data
 */
static void
route_free (Route *route)
{
  g_ptr_array_remove (route->server->routes, route);
  g_free (route->path);
  g_free (route);
}

/* One of @handler (libsoup's alone) and @exchange_handler */
static void
add_route (CfHttpServer          *self,
           const char            *path,
           CfHttpHandler          handler,
           CfHttpExchangeHandler  exchange_handler,
           gpointer               user_data)
{
  Route *route = g_new0 (Route, 1);

  route->server = self;
  route->path = g_strdup (path);
  route->path_length = strlen (path);
  route->handler = handler;
  route->exchange_handler = exchange_handler;
  route->user_data = user_data;
  g_ptr_array_add (self->routes, route);
  soup_server_add_handler (self->soup, path, run_route, route, (GDestroyNotify) route_free);
  /* libsoup runs only the early handler of the most specific path. */
  soup_server_add_early_handler (self->soup, path, early_handler, self, NULL);
}

void
cf_http_server_add_route (CfHttpServer  *self,
                          const char    *path,
                          CfHttpHandler  handler,
                          gpointer       user_data)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  add_route (self, path, handler, NULL, user_data);
}

/**
 * cf_http_server_add_exchange_route:
 * @self: a #CfHttpServer
 * @path: a path prefix, as soup_server_add_handler() takes it
 * @handler: serves the requests under @path, on either HTTP/1.1
 *   implementation
 * @user_data: closure data
 *
 * Requests under @path reach @handler from libsoup, or from the server's
 * own HTTP/1.1 implementation for the paths given to
 * cf_http_server_add_native_endpoint().
 */
void
cf_http_server_add_exchange_route (CfHttpServer          *self,
                                   const char            *path,
                                   CfHttpExchangeHandler  handler,
                                   gpointer               user_data)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  add_route (self, path, NULL, handler, user_data);
}

/**
 * cf_http_server_add_native_endpoint:
 * @self: a #CfHttpServer
 * @pattern: a whole path, such as `/mcp`; a segment that is `*` stands
 *   for any one segment (the scoped endpoints are `/servers`, a `*`
 *   segment, then `/mcp`)
 *
 * Lets the server's own HTTP/1.1 implementation serve POSTs to the paths
 * @pattern matches, for an exchange route registered with
 * cf_http_server_add_exchange_route(). Anything else, and any request it
 * does not take (chunked bodies, `Expect`, upgrades, HTTP/1.0), libsoup
 * serves.
 */
void
cf_http_server_add_native_endpoint (CfHttpServer *self,
                                    const char   *pattern)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  g_return_if_fail (pattern != NULL && pattern[0] == '/');

  g_ptr_array_add (self->native_endpoints, g_strdup (pattern));
}

/**
 * cf_http_server_add_middleware:
 * @self: a #CfHttpServer
 * @name: a static name for logs
 * @middleware: the step
 * @user_data: closure data
 *
 * Appends a step to the chain; steps run in the order added.
 */
void
cf_http_server_add_middleware (CfHttpServer     *self,
                               const char       *name,
                               CfHttpMiddleware  middleware,
                               gpointer          user_data)
{
  Middleware step = { name, middleware, user_data };

  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  g_array_append_val (self->middleware, step);
}

/**
 * cf_http_server_add_response_header:
 * @self: a #CfHttpServer
 * @name: a header name
 * @value: its value
 *
 * Adds a header that every response carries, from the first byte the
 * server answers with: a handler or a middleware step that sets a header
 * of that name replaces it. Constant headers cost nothing per request
 * this way: the gateway's own HTTP/1.1 server writes them as one block of
 * text made here. Call before serving.
 */
void
cf_http_server_add_response_header (CfHttpServer *self,
                                    const char   *name,
                                    const char   *value)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  g_return_if_fail (name != NULL && *name != '\0' && strpbrk (name, ":\r\n") == NULL);
  g_return_if_fail (value != NULL && strpbrk (value, "\r\n") == NULL);
  /* The native server keeps which ones a response replaces in 64 bits. */
  g_return_if_fail (self->fixed_headers->len < 2 * 64);

  g_ptr_array_add (self->fixed_headers, g_strdup (name));
  g_ptr_array_add (self->fixed_headers, g_strdup (value));
  g_string_append_printf (self->fixed_head, "%s: %s\r\n", name, value);
}

/* The fixed headers, for the native server: their lines as one text, and
 * (@out_headers) their names and values in turn. */
const char *
_cf_http_server_get_fixed_head (CfHttpServer  *self,
                                GPtrArray    **out_headers)
{
  *out_headers = self->fixed_headers;
  return self->fixed_head->str;
}

/**
 * cf_http_server_add_middleware_before:
 * @self: a #CfHttpServer
 * @before: the name of the step to run before; the new step is appended
 *   when there is none of that name
 * @name: a static name for logs
 * @middleware: the step
 * @user_data: closure data
 */
void
cf_http_server_add_middleware_before (CfHttpServer     *self,
                                      const char       *before,
                                      const char       *name,
                                      CfHttpMiddleware  middleware,
                                      gpointer          user_data)
{
  Middleware step = { name, middleware, user_data };

  g_return_if_fail (CF_IS_HTTP_SERVER (self));

  for (guint i = 0; i < self->middleware->len; i++)
    if (g_strcmp0 (g_array_index (self->middleware, Middleware, i).name, before) == 0)
      {
        g_array_insert_val (self->middleware, i, step);
        return;
      }
  g_array_append_val (self->middleware, step);
}

/**
 * cf_http_server_set_allowed_origins:
 * @self: a #CfHttpServer
 * @origins: (nullable): whole origins, lower case, such as
 *   `https://app.example.com`, that pass the Origin check whatever their
 *   host (the CORS allowlist)
 */
void
cf_http_server_set_allowed_origins (CfHttpServer       *self,
                                    const char * const *origins)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  g_strfreev (self->allowed_origins);
  self->allowed_origins = g_strdupv ((GStrv) origins);
}

/**
 * cf_http_server_set_allowed_hosts:
 * @self: a #CfHttpServer
 * @hosts: (nullable): host names accepted in Host and Origin besides the
 *   loopback names, which are always accepted; "*" accepts any
 */
void
cf_http_server_set_allowed_hosts (CfHttpServer       *self,
                                  const char * const *hosts)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  g_strfreev (self->allowed_hosts);
  self->allowed_hosts = g_strdupv ((GStrv) hosts);
}

void
cf_http_server_set_max_body (CfHttpServer *self,
                             gsize         max_body)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  self->max_body = max_body;
}

gsize
cf_http_server_get_max_body (CfHttpServer *self)
{
  g_return_val_if_fail (CF_IS_HTTP_SERVER (self), 0);
  return self->max_body;
}

void
cf_http_server_set_header_timeout (CfHttpServer *self,
                                   guint         seconds)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));
  self->header_timeout = MAX (seconds, 1);
}

/**
 * cf_http_server_listen:
 * @self: a #CfHttpServer
 * @host: an IP address or "localhost"
 * @port: a port, or 0 for any free one
 * @error: return location for a #GError
 */
/* libsoup 3.2 keeps a connection alive after a response only while it
 * has a listener of its own, and the connections it gets from our own
 * server (soup_server_accept_iostream()) are all it serves. So it gets a
 * listener no one can reach: a Unix socket whose path is gone. */
static gboolean
give_soup_a_listener (CfHttpServer  *self,
                      GError       **error)
{
  g_autofree char *dir = NULL;
  g_autofree char *path = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketAddress) address = NULL;
  g_autoptr(GSList) listeners = soup_server_get_listeners (self->soup);
  gboolean ok;

  if (listeners != NULL)
    return TRUE;
  dir = g_dir_make_tmp ("cf-http-XXXXXX", error);
  if (dir == NULL)
    return FALSE;
  path = g_build_filename (dir, "unreachable", NULL);
  address = g_unix_socket_address_new (path);
  socket = g_socket_new (G_SOCKET_FAMILY_UNIX, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_DEFAULT,
                         error);
  ok = socket != NULL && g_socket_bind (socket, address, FALSE, error) &&
       g_socket_listen (socket, error) &&
       soup_server_listen_socket (self->soup, socket, 0, error);
  g_unlink (path);
  g_rmdir (dir);
  return ok;
}

gboolean
cf_http_server_listen (CfHttpServer  *self,
                       const char    *host,
                       guint          port,
                       GError       **error)
{
  g_autoptr(GInetAddress) address = NULL;
  g_autoptr(GSocketAddress) socket_address = NULL;

  g_return_val_if_fail (CF_IS_HTTP_SERVER (self), FALSE);

  /* "localhost" is the IPv4 loopback only, as libsoup's listen_local
   * with IPV4_ONLY had it. */
  if (g_strcmp0 (host, "localhost") == 0)
    address = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  else
    address = g_inet_address_new_from_string (host);
  if (address == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                   "Not an IP address: %s", host);
      return FALSE;
    }
  socket_address = g_inet_socket_address_new (address, port);
  return give_soup_a_listener (self, error) &&
         _cf_http1_server_listen (self->native, socket_address, error);
}

guint
cf_http_server_get_port (CfHttpServer *self)
{
  g_autoptr(GSocketAddress) address = NULL;

  g_return_val_if_fail (CF_IS_HTTP_SERVER (self), 0);

  address = _cf_http1_server_get_address (self->native);
  return G_IS_INET_SOCKET_ADDRESS (address)
         ? g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (address)) : 0;
}

/**
 * cf_http_server_get_url:
 *
 * Returns: (transfer full) (nullable): the base URL of the first listener
 */
char *
cf_http_server_get_url (CfHttpServer *self)
{
  g_autoptr(GSocketAddress) address = NULL;
  g_autofree char *host = NULL;
  GInetSocketAddress *inet;

  g_return_val_if_fail (CF_IS_HTTP_SERVER (self), NULL);

  address = _cf_http1_server_get_address (self->native);
  if (!G_IS_INET_SOCKET_ADDRESS (address))
    return NULL;
  inet = G_INET_SOCKET_ADDRESS (address);
  host = g_inet_address_to_string (g_inet_socket_address_get_address (inet));
  return g_uri_join (G_URI_FLAGS_NONE, "http", NULL, host, g_inet_socket_address_get_port (inet),
                     "", NULL, NULL);
}

/**
 * cf_http_server_disconnect:
 *
 * Stops accepting connections; requests in progress go on.
 */
void
cf_http_server_disconnect (CfHttpServer *self)
{
  g_return_if_fail (CF_IS_HTTP_SERVER (self));

  _cf_http1_server_disconnect (self->native);
}

guint
cf_http_server_get_n_active (CfHttpServer *self)
{
  g_return_val_if_fail (CF_IS_HTTP_SERVER (self), 0);
  return self->n_active;
}
