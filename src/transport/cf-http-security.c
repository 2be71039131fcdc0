/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http-security"

#include "config.h"

#include <string.h>

#include "cf-env.h"
#include "cf-http-security.h"

/* What a browser may send and read cross-origin: the REST API's and MCP's
 * own headers. */
#define ALLOW_METHODS "GET, POST, PUT, PATCH, DELETE, OPTIONS"
#define ALLOW_HEADERS "Authorization, Content-Type, Accept, Mcp-Session-Id, " \
                      "MCP-Protocol-Version, Mcp-Method, Mcp-Name, Last-Event-ID, X-Request-ID"
#define EXPOSE_HEADERS "Mcp-Session-Id, MCP-Protocol-Version, X-Request-ID, X-Next-Cursor, " \
                       "Retry-After, WWW-Authenticate, Location"
#define PREFLIGHT_MAX_AGE "600"

/* The API answers JSON and event streams, never a page: nothing may load,
 * run or frame. */
#define CONTENT_SECURITY_POLICY "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; " \
                                "form-action 'none'"

/* ContextForge's default allowlist. */
static const char * const default_origins[] = {
  "http://localhost", "http://localhost:4444", NULL
};

/**
 * CfHttpSecurity:
 *
 * Two steps of the HTTP middleware chain, as ContextForge's
 * SecurityHeadersMiddleware and CORS settings have them:
 *
 * - security headers on every response of a route (nosniff, DENY
 *   framing, no referrer across origins, a Content-Security-Policy that
 *   allows nothing), first in the chain so that refusals carry them too;
 * - CORS for the origins in ALLOWED_ORIGINS only: their preflight
 *   requests are answered (before authentication, which a preflight
 *   never carries) and their requests get Access-Control-Allow-Origin;
 *   any other origin gets no CORS header, and its preflight a 403.
 *   Listed origins also pass the Host/Origin check against DNS
 *   rebinding.
 */
struct _CfHttpSecurity
{
  GObject   parent_instance;

  gboolean  headers_enabled;
  gboolean  cors_enabled;
  gboolean  allow_credentials;
  GStrv     origins;
};

G_DEFINE_FINAL_TYPE (CfHttpSecurity, cf_http_security, G_TYPE_OBJECT)

static void
cf_http_security_finalize (GObject *object)
{
  CfHttpSecurity *self = (CfHttpSecurity *) object;

  g_clear_pointer (&self->origins, g_strfreev);

  G_OBJECT_CLASS (cf_http_security_parent_class)->finalize (object);
}

static void
cf_http_security_class_init (CfHttpSecurityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_http_security_finalize;
}

static void
cf_http_security_init (CfHttpSecurity *self)
{
  self->headers_enabled = TRUE;
  self->cors_enabled = TRUE;
  self->allow_credentials = TRUE;
  self->origins = g_strdupv ((GStrv) default_origins);
}

/**
 * cf_http_security_new:
 *
 * Returns: (transfer full): ContextForge's defaults: security headers
 *   and CORS on, localhost origins allowed
 */
CfHttpSecurity *
cf_http_security_new (void)
{
  return g_object_new (CF_TYPE_HTTP_SECURITY, NULL);
}

/* Origins compare without a trailing slash and in lower case (scheme
 * and host are case-insensitive; no path belongs in an origin). */
static char *
normalize_origin (const char *origin)
{
  char *out = g_ascii_strdown (origin, -1);
  gsize n = strlen (out);

  while (n > 0 && out[n - 1] == '/')
    out[--n] = '\0';
  return out;
}

static GStrv
normalize_origins (const char * const *origins)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();

  for (guint i = 0; origins != NULL && origins[i] != NULL; i++)
    {
      g_autofree char *origin = normalize_origin (origins[i]);
      g_strv_builder_add (builder, origin);
    }
  return g_strv_builder_end (builder);
}

/**
 * cf_http_security_load_env:
 * @self: a #CfHttpSecurity
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @error: return location for a #GError
 *
 * Reads SECURITY_HEADERS_ENABLED, CORS_ENABLED, ALLOWED_ORIGINS (a JSON
 * list or a comma-separated one) and CORS_ALLOW_CREDENTIALS.
 */
gboolean
cf_http_security_load_env (CfHttpSecurity      *self,
                           const char * const  *environ,
                           GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  const char * const *env = environ ? environ : (const char * const *) own;
  g_auto(GStrv) origins = NULL;

  g_return_val_if_fail (CF_IS_HTTP_SECURITY (self), FALSE);

  if (!cf_env_get_bool (env, "SECURITY_HEADERS_ENABLED", self->headers_enabled,
                        &self->headers_enabled, error) ||
      !cf_env_get_bool (env, "CORS_ENABLED", self->cors_enabled, &self->cors_enabled, error) ||
      !cf_env_get_bool (env, "CORS_ALLOW_CREDENTIALS", self->allow_credentials,
                        &self->allow_credentials, error))
    return FALSE;
  origins = cf_env_get_list (env, "ALLOWED_ORIGINS", (const char * const *) self->origins);
  g_strfreev (self->origins);
  self->origins = normalize_origins ((const char * const *) origins);
  return TRUE;
}

void
cf_http_security_set_headers_enabled (CfHttpSecurity *self,
                                      gboolean        enabled)
{
  g_return_if_fail (CF_IS_HTTP_SECURITY (self));
  self->headers_enabled = enabled;
}

/**
 * cf_http_security_set_cors:
 * @self: a #CfHttpSecurity
 * @enabled: whether to answer CORS at all
 * @origins: (nullable): the origins allowed, such as `https://app.example.com`
 */
void
cf_http_security_set_cors (CfHttpSecurity     *self,
                           gboolean            enabled,
                           const char * const *origins)
{
  g_return_if_fail (CF_IS_HTTP_SECURITY (self));
  self->cors_enabled = enabled;
  g_strfreev (self->origins);
  self->origins = normalize_origins (origins);
}

static gboolean
origin_allowed (CfHttpSecurity *self,
                const char     *origin)
{
  g_autofree char *normalized = origin ? normalize_origin (origin) : NULL;

  return normalized != NULL &&
         (g_strv_contains ((const char * const *) self->origins, normalized) ||
          g_strv_contains ((const char * const *) self->origins, "*"));
}

static void
allow_origin (CfHttpSecurity     *self,
              SoupMessageHeaders *headers,
              const char         *origin)
{
  /* Echo the origin, never "*": credentials need an exact one, and
   * caches must keep answers per origin. */
  soup_message_headers_replace (headers, "Access-Control-Allow-Origin", origin);
  soup_message_headers_append (headers, "Vary", "Origin");
  if (self->allow_credentials)
    soup_message_headers_replace (headers, "Access-Control-Allow-Credentials", "true");
}

/* The fixed list, plus the Mcp-Param-* headers the preflight asks for:
 * their names come from tool schemas (x-mcp-header), so no fixed list
 * can hold them. */
static char *
allow_headers (SoupMessageHeaders *request)
{
  const char *asked = soup_message_headers_get_list (request, "Access-Control-Request-Headers");
  g_autoptr(GString) allowed = g_string_new (ALLOW_HEADERS);
  g_auto(GStrv) names = asked != NULL ? g_strsplit (asked, ",", -1) : NULL;

  for (guint i = 0; names != NULL && names[i] != NULL; i++)
    {
      const char *name = g_strstrip (names[i]);
      gboolean token = *name != '\0';

      for (const char *p = name; *p && token; p++)
        token = g_ascii_isalnum (*p) || strchr ("!#$%&'*+-.^_`|~", *p) != NULL;
      if (token && g_ascii_strncasecmp (name, "mcp-param-", 10) == 0 && name[10] != '\0')
        g_string_append_printf (allowed, ", %s", name);
    }
  return g_string_free (g_steal_pointer (&allowed), FALSE);
}

static gboolean
middleware_cors (CfHttpServer   *server,
                 CfHttpExchange *exchange,
                 gpointer        user_data)
{
  CfHttpSecurity *self = user_data;
  SoupMessageHeaders *response = cf_http_exchange_get_response_headers (exchange);
  const char *origin = cf_http_exchange_get_header (exchange, "Origin");
  gboolean preflight = cf_http_exchange_get_method (exchange) == SOUP_METHOD_OPTIONS &&
                       cf_http_exchange_get_header (exchange,
                                                    "Access-Control-Request-Method") != NULL;

  if (origin == NULL)
    return TRUE;
  if (!origin_allowed (self, origin))
    {
      if (!preflight)
        return TRUE;
      cf_http_exchange_respond_error (exchange, SOUP_STATUS_FORBIDDEN,
                                      "Forbidden: this origin is not in ALLOWED_ORIGINS");
      return FALSE;
    }

  allow_origin (self, response, origin);
  if (!preflight)
    {
      soup_message_headers_replace (response, "Access-Control-Expose-Headers", EXPOSE_HEADERS);
      return TRUE;
    }
  soup_message_headers_replace (response, "Access-Control-Allow-Methods", ALLOW_METHODS);
  {
    g_autofree char *allowed = allow_headers (cf_http_exchange_get_request_headers (exchange));

    soup_message_headers_replace (response, "Access-Control-Allow-Headers", allowed);
  }
  soup_message_headers_replace (response, "Access-Control-Max-Age", PREFLIGHT_MAX_AGE);
  cf_http_exchange_set_status (exchange, SOUP_STATUS_NO_CONTENT);
  return FALSE;
}

static void
on_server_gone (gpointer  data,
                GObject  *where_the_object_was)
{
  g_object_unref (data);
}

/**
 * cf_http_security_attach:
 * @self: a #CfHttpSecurity
 * @server: the server whose chain gets the steps
 *
 * Security headers become the server's fixed response headers, on every
 * answer including refusals of the Host/Origin check; CORS goes right
 * after that check, ahead of the steps a daemon adds later (such as
 * authentication). Call once, before serving.
 */
void
cf_http_security_attach (CfHttpSecurity *self,
                         CfHttpServer   *server)
{
  g_return_if_fail (CF_IS_HTTP_SECURITY (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (server));

  if (self->headers_enabled)
    {
      cf_http_server_add_response_header (server, "X-Content-Type-Options", "nosniff");
      cf_http_server_add_response_header (server, "X-Frame-Options", "DENY");
      cf_http_server_add_response_header (server, "Referrer-Policy",
                                          "strict-origin-when-cross-origin");
      cf_http_server_add_response_header (server, "Content-Security-Policy",
                                          CONTENT_SECURITY_POLICY);
      cf_http_server_add_response_header (server, "Cross-Origin-Opener-Policy", "same-origin");
      /* Obsolete filters do more harm than good; ContextForge turns them
       * off. */
      cf_http_server_add_response_header (server, "X-XSS-Protection", "0");
    }
  if (!self->cors_enabled)
    return;
  cf_http_server_set_allowed_origins (server, (const char * const *) self->origins);
  cf_http_server_add_middleware_before (server, "body-limit", "cors", middleware_cors,
                                        g_object_ref (self));
  /* The server keeps the step, and the step its closure, for its life. */
  g_object_weak_ref (G_OBJECT (server), on_server_gone, self);
}
