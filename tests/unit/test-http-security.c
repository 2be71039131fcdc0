/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-http-security"

#include "config.h"

#include <string.h>

#include "cf-http-security.h"
#include "cf-json.h"

/* Security headers and CORS as middleware steps of a real CfHttpServer on
 * loopback, with a step after them that stands for authentication. */

#define TIMEOUT_S 20

typedef struct {
  CfHttpServer   *http;
  CfHttpSecurity *security;
  SoupSession    *session;
  char           *base;
  guint           routed;
  char           *routed_method;
} Fixture;

static void
on_route (CfHttpServer      *server,
          SoupServerMessage *msg,
          const char        *path,
          GHashTable        *query,
          gpointer           user_data)
{
  Fixture *f = user_data;
  g_autoptr(JsonNode) body = cf_json_parse ("{\"ok\":true}", -1, NULL);

  f->routed++;
  g_free (f->routed_method);
  f->routed_method = g_strdup (soup_server_message_get_method (msg));
  cf_http_respond_json (msg, SOUP_STATUS_OK, body);
}

/* An exchange route: /x/native is served by the native HTTP/1.1 server
 * (POST), anything else under /x by libsoup; a path ending in "framed"
 * sets X-Frame-Options itself. */
static void
on_exchange (CfHttpServer   *server,
             CfHttpExchange *exchange,
             const char     *path,
             GHashTable     *query,
             gpointer        user_data)
{
  g_autoptr(GBytes) body = g_bytes_new_static ("{\"ok\":true}", 11);

  if (g_str_has_suffix (path, "framed"))
    soup_message_headers_replace (cf_http_exchange_get_response_headers (exchange),
                                  "X-Frame-Options", "SAMEORIGIN");
  cf_http_exchange_respond_json_bytes (exchange, SOUP_STATUS_OK, body);
}

/* Stands for the auth step a daemon appends: /v1/private needs a token. */
static gboolean
fake_auth (CfHttpServer   *server,
           CfHttpExchange *exchange,
           gpointer        user_data)
{
  if (!g_str_has_prefix (cf_http_exchange_get_path (exchange), "/v1/private"))
    return TRUE;
  cf_http_exchange_respond_error (exchange, SOUP_STATUS_UNAUTHORIZED, "Not authenticated");
  return FALSE;
}

static void
start (Fixture            *f,
       const char * const *env)
{
  g_autoptr(GError) error = NULL;

  f->http = cf_http_server_new ();
  f->security = cf_http_security_new ();
  g_assert_true (cf_http_security_load_env (f->security, env, &error));
  g_assert_no_error (error);
  cf_http_security_attach (f->security, f->http);
  cf_http_server_add_middleware (f->http, "auth", fake_auth, NULL);
  cf_http_server_add_route (f->http, "/v1", on_route, f);
  cf_http_server_add_exchange_route (f->http, "/x", on_exchange, f);
  cf_http_server_add_native_endpoint (f->http, "/x/native");
  cf_http_server_add_native_endpoint (f->http, "/x/native-framed");
  g_assert_true (cf_http_server_listen (f->http, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->base = cf_http_server_get_url (f->http);
  f->session = soup_session_new ();
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  soup_session_abort (f->session);
  g_clear_object (&f->session);
  for (guint i = 0; i < 1000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
  g_clear_object (&f->security);
  g_clear_object (&f->http);
  g_clear_pointer (&f->base, g_free);
  g_clear_pointer (&f->routed_method, g_free);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GBytes **body = user_data;
  g_autoptr(GError) error = NULL;

  *body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, &error);
  g_assert_no_error (error);
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* Sends @method @path with header pairs; returns the message, answered. */
static SoupMessage *
send (Fixture            *f,
      const char         *method,
      const char         *path,
      const char * const *headers)
{
  g_autofree char *uri = g_strconcat (f->base, path, NULL);
  SoupMessage *msg = soup_message_new (method, uri);
  g_autoptr(GBytes) body = NULL;
  gboolean expired = FALSE;
  guint deadline;

  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
                                  headers[i + 1]);
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &body);
  deadline = g_timeout_add_seconds (TIMEOUT_S, on_deadline, &expired);
  while (body == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (expired);
  g_source_remove (deadline);
  return msg;
}

static const char *
response_header (SoupMessage *msg,
                 const char  *name)
{
  return soup_message_headers_get_one (soup_message_get_response_headers (msg), name);
}

static void
assert_security_headers (SoupMessage *msg)
{
  g_assert_cmpstr (response_header (msg, "X-Content-Type-Options"), ==, "nosniff");
  g_assert_cmpstr (response_header (msg, "X-Frame-Options"), ==, "DENY");
  g_assert_cmpstr (response_header (msg, "Referrer-Policy"), ==, "strict-origin-when-cross-origin");
  g_assert_nonnull (strstr (response_header (msg, "Content-Security-Policy"), "default-src 'none'"));
  g_assert_nonnull (strstr (response_header (msg, "Content-Security-Policy"),
                            "frame-ancestors 'none'"));
}

static void
assert_no_cors (SoupMessage *msg)
{
  g_assert_null (response_header (msg, "Access-Control-Allow-Origin"));
  g_assert_null (response_header (msg, "Access-Control-Allow-Credentials"));
  g_assert_null (response_header (msg, "Access-Control-Allow-Methods"));
}

static void
test_security_headers (Fixture       *f,
                       gconstpointer  data)
{
  const char *evil_host[] = { "Host", "evil.example", NULL };
  g_autoptr(SoupMessage) ok = NULL;
  g_autoptr(SoupMessage) refused = NULL;
  g_autoptr(SoupMessage) unauthorized = NULL;

  start (f, NULL);
  ok = send (f, "GET", "/v1/things", NULL);
  g_assert_cmpuint (soup_message_get_status (ok), ==, 200);
  assert_security_headers (ok);
  /* Refusals by earlier and later steps carry them too. */
  refused = send (f, "GET", "/v1/things", evil_host);
  g_assert_cmpuint (soup_message_get_status (refused), ==, 403);
  assert_security_headers (refused);
  unauthorized = send (f, "GET", "/v1/private", NULL);
  g_assert_cmpuint (soup_message_get_status (unauthorized), ==, 401);
  assert_security_headers (unauthorized);
}

/* The same headers from the gateway's own HTTP/1.1 server, which writes
 * them as one block; a response that sets one of them sends its own value
 * only, on either server. */
static void
test_security_headers_native (Fixture       *f,
                              gconstpointer  data)
{
  const char *paths[] = { "/x/native", "/x/native-framed", "/x/soup", "/x/soup-framed" };

  start (f, NULL);
  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(SoupMessage) msg = send (f, "POST", paths[i], NULL);
      SoupMessageHeaders *headers = soup_message_get_response_headers (msg);
      g_autofree char *frame = NULL;

      g_test_message ("POST %s", paths[i]);
      g_assert_cmpuint (soup_message_get_status (msg), ==, 200);
      g_assert_cmpstr (response_header (msg, "X-Content-Type-Options"), ==, "nosniff");
      g_assert_cmpstr (response_header (msg, "Referrer-Policy"), ==,
                       "strict-origin-when-cross-origin");
      g_assert_nonnull (strstr (response_header (msg, "Content-Security-Policy"),
                                "default-src 'none'"));
      g_assert_cmpstr (response_header (msg, "Cross-Origin-Opener-Policy"), ==, "same-origin");
      g_assert_cmpstr (response_header (msg, "X-XSS-Protection"), ==, "0");
      /* Once, whichever value. */
      frame = g_strdup (soup_message_headers_get_list (headers, "X-Frame-Options"));
      g_assert_cmpstr (frame, ==, g_str_has_suffix (paths[i], "framed") ? "SAMEORIGIN" : "DENY");
    }
}

static void
test_headers_disabled (Fixture       *f,
                       gconstpointer  data)
{
  const char *env[] = { "SECURITY_HEADERS_ENABLED=false", NULL };
  g_autoptr(SoupMessage) ok = NULL;

  start (f, env);
  ok = send (f, "GET", "/v1/things", NULL);
  g_assert_cmpuint (soup_message_get_status (ok), ==, 200);
  g_assert_null (response_header (ok, "X-Frame-Options"));
  g_assert_null (response_header (ok, "Content-Security-Policy"));
}

static const char *env_app[] = {
  "ALLOWED_ORIGINS=[\"https://App.Example.com\", \"http://localhost:8080\"]", NULL
};

static void
test_cors_allowed (Fixture       *f,
                   gconstpointer  data)
{
  const char *from_app[] = { "Origin", "https://app.example.com", NULL };
  const char *preflight[] = {
    "Origin", "https://app.example.com", "Access-Control-Request-Method", "POST",
    "Access-Control-Request-Headers",
    "authorization, content-type, mcp-session-id, mcp-param-region, x-other, mcp-param-", NULL
  };
  g_autoptr(SoupMessage) simple = NULL;
  g_autoptr(SoupMessage) options = NULL;
  g_autoptr(SoupMessage) unauthorized = NULL;
  g_autoptr(SoupMessage) private_preflight = NULL;

  start (f, env_app);
  /* Allowed although its host is neither loopback nor in ALLOWED_HOSTS. */
  simple = send (f, "GET", "/v1/things", from_app);
  g_assert_cmpuint (soup_message_get_status (simple), ==, 200);
  g_assert_cmpstr (response_header (simple, "Access-Control-Allow-Origin"), ==,
                   "https://app.example.com");
  g_assert_cmpstr (response_header (simple, "Access-Control-Allow-Credentials"), ==, "true");
  g_assert_nonnull (strstr (response_header (simple, "Vary"), "Origin"));
  g_assert_nonnull (strstr (response_header (simple, "Access-Control-Expose-Headers"),
                            "Mcp-Session-Id"));

  options = send (f, "OPTIONS", "/v1/things", preflight);
  g_assert_cmpuint (soup_message_get_status (options), ==, 204);
  g_assert_cmpstr (response_header (options, "Access-Control-Allow-Origin"), ==,
                   "https://app.example.com");
  g_assert_nonnull (strstr (response_header (options, "Access-Control-Allow-Methods"), "POST"));
  g_assert_nonnull (strstr (response_header (options, "Access-Control-Allow-Headers"),
                            "Authorization"));
  g_assert_nonnull (strstr (response_header (options, "Access-Control-Allow-Headers"),
                            "Mcp-Session-Id"));
  /* x-mcp-header names come from tool schemas: the ones asked for are
   * allowed, nothing else is. */
  g_assert_nonnull (strstr (response_header (options, "Access-Control-Allow-Headers"),
                            ", mcp-param-region"));
  g_assert_null (strstr (response_header (options, "Access-Control-Allow-Headers"), "x-other"));
  g_assert_false (g_str_has_suffix (response_header (options, "Access-Control-Allow-Headers"),
                                    "mcp-param-"));
  g_assert_nonnull (response_header (options, "Access-Control-Max-Age"));
  g_assert_cmpuint (f->routed, ==, 1);

  /* A preflight carries no credentials: it is answered before auth, and
   * auth's refusal of the real request is readable by the page. */
  private_preflight = send (f, "OPTIONS", "/v1/private", preflight);
  g_assert_cmpuint (soup_message_get_status (private_preflight), ==, 204);
  unauthorized = send (f, "GET", "/v1/private", from_app);
  g_assert_cmpuint (soup_message_get_status (unauthorized), ==, 401);
  g_assert_cmpstr (response_header (unauthorized, "Access-Control-Allow-Origin"), ==,
                   "https://app.example.com");
}

static void
test_cors_refused (Fixture       *f,
                   gconstpointer  data)
{
  /* Loopback passes the Host/Origin check, but is not on the list. */
  const char *other[] = { "Origin", "http://localhost:3000", NULL };
  const char *other_preflight[] = {
    "Origin", "http://localhost:3000", "Access-Control-Request-Method", "DELETE", NULL
  };
  const char *remote[] = { "Origin", "https://evil.example", NULL };
  g_autoptr(SoupMessage) simple = NULL;
  g_autoptr(SoupMessage) options = NULL;
  g_autoptr(SoupMessage) foreign = NULL;

  start (f, env_app);
  simple = send (f, "GET", "/v1/things", other);
  g_assert_cmpuint (soup_message_get_status (simple), ==, 200);
  assert_no_cors (simple);

  options = send (f, "OPTIONS", "/v1/things", other_preflight);
  g_assert_cmpuint (soup_message_get_status (options), ==, 403);
  assert_no_cors (options);
  g_assert_cmpuint (f->routed, ==, 1);

  foreign = send (f, "GET", "/v1/things", remote);
  g_assert_cmpuint (soup_message_get_status (foreign), ==, 403);
  assert_no_cors (foreign);
}

/* ContextForge's default list: localhost and localhost:4444. */
static void
test_cors_defaults (Fixture       *f,
                    gconstpointer  data)
{
  const char *listed[] = { "Origin", "http://localhost:4444", NULL };
  const char *unlisted[] = { "Origin", "http://localhost:4445", NULL };
  g_autoptr(SoupMessage) yes = NULL;
  g_autoptr(SoupMessage) no = NULL;

  start (f, NULL);
  yes = send (f, "GET", "/v1/things", listed);
  g_assert_cmpstr (response_header (yes, "Access-Control-Allow-Origin"), ==,
                   "http://localhost:4444");
  no = send (f, "GET", "/v1/things", unlisted);
  assert_no_cors (no);
}

static void
test_cors_disabled (Fixture       *f,
                    gconstpointer  data)
{
  const char *env[] = { "CORS_ENABLED=false", "ALLOWED_ORIGINS=http://localhost:8080", NULL };
  const char *preflight[] = {
    "Origin", "http://localhost:8080", "Access-Control-Request-Method", "POST", NULL
  };
  g_autoptr(SoupMessage) options = NULL;

  start (f, env);
  options = send (f, "OPTIONS", "/v1/things", preflight);
  assert_no_cors (options);
  /* Nothing answers for the route: it sees the OPTIONS itself. */
  g_assert_cmpuint (f->routed, ==, 1);
  g_assert_cmpstr (f->routed_method, ==, "OPTIONS");
}

static void
test_bad_env (void)
{
  const char *env[] = { "CORS_ENABLED=sometimes", NULL };
  g_autoptr(CfHttpSecurity) security = cf_http_security_new ();
  g_autoptr(GError) error = NULL;

  g_assert_false (cf_http_security_load_env (security, env, &error));
  g_assert_nonnull (strstr (error->message, "CORS_ENABLED=sometimes"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, NULL, func, fixture_teardown)
  ADD ("/http-security/headers", test_security_headers);
  ADD ("/http-security/headers-native", test_security_headers_native);
  ADD ("/http-security/headers-disabled", test_headers_disabled);
  ADD ("/http-security/cors/allowed", test_cors_allowed);
  ADD ("/http-security/cors/refused", test_cors_refused);
  ADD ("/http-security/cors/defaults", test_cors_defaults);
  ADD ("/http-security/cors/disabled", test_cors_disabled);
#undef ADD
  g_test_add_func ("/http-security/bad-env", test_bad_env);

  return g_test_run ();
}
