/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-config"

#include "config.h"

#include <string.h>

#include "cf-config.h"
#include "cf-env.h"
#include "cf-slug.h"

G_DEFINE_QUARK (cf-config-error-quark, cf_config_error)

#define DEFAULT_HOST "127.0.0.1"
#define DEFAULT_PORT 4444
#define DEFAULT_TOOL_TIMEOUT_S 60
#define DEFAULT_SESSION_TTL_S 3600
#define DEFAULT_MAX_BODY (4 * 1024 * 1024)
#define DEFAULT_SSE_KEEPALIVE_S 30
#define DEFAULT_HEALTH_CHECK_INTERVAL_S 60
#define DEFAULT_HEALTH_CHECK_TIMEOUT_S 30
#define DEFAULT_UNHEALTHY_THRESHOLD 3
#define DEFAULT_UPSTREAM_IDLE_TIMEOUT_S 300

char *
cf_config_default_db_path (void)
{
  return g_build_filename (g_get_user_data_dir (), "contextforge", "gateway.db", NULL);
}

CfConfig *
cf_config_new (void)
{
  CfConfig *self = g_new0 (CfConfig, 1);

  self->host = g_strdup (DEFAULT_HOST);
  self->port = DEFAULT_PORT;
  self->db_path = cf_config_default_db_path ();
  self->separator = g_strdup (CF_SLUG_DEFAULT_SEPARATOR);
  self->tool_timeout_ms = DEFAULT_TOOL_TIMEOUT_S * 1000;
  self->session_ttl_s = DEFAULT_SESSION_TTL_S;
  self->max_body = DEFAULT_MAX_BODY;
  self->health_interval_s = DEFAULT_HEALTH_CHECK_INTERVAL_S;
  self->health_timeout_s = DEFAULT_HEALTH_CHECK_TIMEOUT_S;
  self->unhealthy_threshold = DEFAULT_UNHEALTHY_THRESHOLD;
  self->upstream_idle_s = DEFAULT_UPSTREAM_IDLE_TIMEOUT_S;
  self->sse_keepalive_s = DEFAULT_SSE_KEEPALIVE_S;
  self->log_level = g_strdup ("ERROR");
  self->discovery = -1;
  self->discovery_ttl_s = 120;
  return self;
}

void
cf_config_free (CfConfig *self)
{
  g_free (self->host);
  g_free (self->db_path);
  g_free (self->separator);
  g_strfreev (self->allowed_hosts);
  g_free (self->log_level);
  g_free (self->discovery_name);
  g_strfreev (self->discovery_allowlist);
  g_free (self);
}

static void
replace_str (char       **field,
             const char  *value)
{
  g_free (*field);
  *field = g_strdup (value);
}

static gboolean
parse_uint (const char  *name,
            const char  *value,
            guint64      min,
            guint64      max,
            guint64     *out,
            GError     **error)
{
  g_autoptr(GError) local = NULL;

  if (!g_ascii_string_to_unsigned (value, 10, min, max, out, &local))
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "%s=%s: %s", name, value, local->message);
      return FALSE;
    }
  return TRUE;
}

/**
 * cf_config_set_database_url:
 * @self: a #CfConfig
 * @url: a DATABASE_URL such as `sqlite:///./mcp.db` or `sqlite:////var/db/mcp.db`
 * @error: return location for a #GError
 *
 * Only SQLite is built in; other schemes are refused with a message that
 * says so rather than silently falling back.
 */
gboolean
cf_config_set_database_url (CfConfig    *self,
                            const char  *url,
                            GError     **error)
{
  const char *path;

  if (!g_str_has_prefix (url, "sqlite:///"))
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "DATABASE_URL=%s: only sqlite:/// URLs are supported by this build", url);
      return FALSE;
    }
  path = url + strlen ("sqlite:///");
  if (*path == '\0')
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "DATABASE_URL=%s: no database file named", url);
      return FALSE;
    }
  g_free (self->db_path);
  self->db_path = g_strdup (path);
  return TRUE;
}

/**
 * cf_config_load_env:
 * @self: a #CfConfig
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @error: return location for a #GError
 *
 * Reads HOST, PORT, DATABASE_URL, LOG_LEVEL, GATEWAY_TOOL_NAME_SEPARATOR,
 * TOOL_TIMEOUT, SESSION_TTL, ALLOWED_HOSTS, MAX_REQUEST_SIZE,
 * HEALTH_CHECK_INTERVAL, HEALTH_CHECK_TIMEOUT, UNHEALTHY_THRESHOLD and
 * UPSTREAM_IDLE_TIMEOUT. A value
 * that does not parse is an error: a gateway must not start on a setting
 * it misread. SSE_KEEPALIVE_INTERVAL paces the keepalives of legacy SSE
 * streams and WebSocket pings.
 */
gboolean
cf_config_load_env (CfConfig            *self,
                    const char * const  *environ,
                    GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  const char * const *env = environ ? environ : (const char * const *) own;
  const char *value;
  guint64 n;

  if ((value = g_environ_getenv ((GStrv) env, "HOST")) != NULL)
    replace_str (&self->host, value);
  if ((value = g_environ_getenv ((GStrv) env, "PORT")) != NULL)
    {
      if (!parse_uint ("PORT", value, 0, 65535, &n, error))
        return FALSE;
      self->port = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "DATABASE_URL")) != NULL &&
      !cf_config_set_database_url (self, value, error))
    return FALSE;
  if ((value = g_environ_getenv ((GStrv) env, "GATEWAY_TOOL_NAME_SEPARATOR")) != NULL)
    {
      if (!cf_slug_separator_is_valid (value))
        {
          g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                       "GATEWAY_TOOL_NAME_SEPARATOR=%s: use one of -, --, _ or .", value);
          return FALSE;
        }
      replace_str (&self->separator, value);
    }
  if ((value = g_environ_getenv ((GStrv) env, "TOOL_TIMEOUT")) != NULL)
    {
      if (!parse_uint ("TOOL_TIMEOUT", value, 1, 86400, &n, error))
        return FALSE;
      self->tool_timeout_ms = n * 1000;
    }
  if ((value = g_environ_getenv ((GStrv) env, "SESSION_TTL")) != NULL)
    {
      if (!parse_uint ("SESSION_TTL", value, 1, 7 * 86400, &n, error))
        return FALSE;
      self->session_ttl_s = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "MAX_REQUEST_SIZE")) != NULL)
    {
      if (!parse_uint ("MAX_REQUEST_SIZE", value, 1024, G_MAXUINT32, &n, error))
        return FALSE;
      self->max_body = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "HEALTH_CHECK_INTERVAL")) != NULL)
    {
      if (!parse_uint ("HEALTH_CHECK_INTERVAL", value, 1, 86400, &n, error))
        return FALSE;
      self->health_interval_s = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "HEALTH_CHECK_TIMEOUT")) != NULL)
    {
      if (!parse_uint ("HEALTH_CHECK_TIMEOUT", value, 1, 3600, &n, error))
        return FALSE;
      self->health_timeout_s = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "UNHEALTHY_THRESHOLD")) != NULL)
    {
      /* -1, as in ContextForge, never marks an upstream unreachable. */
      if (g_strcmp0 (value, "-1") == 0)
        self->unhealthy_threshold = -1;
      else if (!parse_uint ("UNHEALTHY_THRESHOLD", value, 1, 1000, &n, error))
        return FALSE;
      else
        self->unhealthy_threshold = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "UPSTREAM_IDLE_TIMEOUT")) != NULL)
    {
      if (!parse_uint ("UPSTREAM_IDLE_TIMEOUT", value, 1, 86400, &n, error))
        return FALSE;
      self->upstream_idle_s = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "SSE_KEEPALIVE_INTERVAL")) != NULL)
    {
      if (!parse_uint ("SSE_KEEPALIVE_INTERVAL", value, 1, 86400, &n, error))
        return FALSE;
      self->sse_keepalive_s = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "FEDERATION_DISCOVERY")) != NULL)
    {
      gboolean on = FALSE;

      if (!cf_env_get_bool (env, "FEDERATION_DISCOVERY", FALSE, &on, error))
        return FALSE;
      self->discovery = on;
    }
  if ((value = g_environ_getenv ((GStrv) env, "FEDERATION_DISCOVERY_NAME")) != NULL)
    {
      if (*value == '\0' || !g_utf8_validate (value, -1, NULL) || strlen (value) > 63)
        {
          g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                       "FEDERATION_DISCOVERY_NAME: 1 to 63 bytes of UTF-8");
          return FALSE;
        }
      replace_str (&self->discovery_name, value);
    }
  if (g_environ_getenv ((GStrv) env, "FEDERATION_DISCOVERY_ALLOWLIST") != NULL)
    {
      g_strfreev (self->discovery_allowlist);
      self->discovery_allowlist = cf_env_get_list (env, "FEDERATION_DISCOVERY_ALLOWLIST", NULL);
    }
  if ((value = g_environ_getenv ((GStrv) env, "FEDERATION_DISCOVERY_TTL")) != NULL)
    {
      if (!parse_uint ("FEDERATION_DISCOVERY_TTL", value, 1, 86400, &n, error))
        return FALSE;
      self->discovery_ttl_s = n;
    }
  if ((value = g_environ_getenv ((GStrv) env, "ALLOWED_HOSTS")) != NULL)
    {
      g_strfreev (self->allowed_hosts);
      self->allowed_hosts = g_strsplit_set (value, ", ", -1);
    }
  if ((value = g_environ_getenv ((GStrv) env, "LOG_LEVEL")) != NULL)
    {
      /* Checked where logging is set up (src/observability). */
      g_autofree char *upper = g_ascii_strup (value, -1);

      replace_str (&self->log_level, upper);
    }
  return TRUE;
}
