/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-daemon-settings"

#include "config.h"

#include <gio/gio.h>
#include <glib/gi18n.h>
#include <string.h>

#include "cf-daemon-settings.h"
#include "cf-log.h"

/* Where the daemon's settings come from, first found wins: command-line
 * options, the process environment, the settings file, the GSettings the
 * admin app writes, then the built-in defaults. The settings file exists
 * because a running process cannot see a new environment: it is what
 * Reload reads again, in the .env syntax ContextForge users know. */

#define ENV_FILE_MAX (64 * 1024)

/**
 * cf_daemon_settings_env_file:
 *
 * Returns: (transfer full): `$XDG_CONFIG_HOME/contextforge/gateway.env`
 */
char *
cf_daemon_settings_env_file (void)
{
  return g_build_filename (g_get_user_config_dir (), "contextforge", "gateway.env", NULL);
}

static gboolean
is_name (const char *name)
{
  if (!g_ascii_isalpha (*name) && *name != '_')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '_')
      return FALSE;
  return TRUE;
}

/* Returns: (transfer full) (nullable): the value of a `NAME=VALUE` line's
 * right side: quotes removed, or an unquoted value up to a ` #` comment */
static char *
parse_value (char *value)
{
  gsize length;
  char *comment;

  g_strstrip (value);
  length = strlen (value);
  if (length > 0 && (value[0] == '"' || value[0] == '\''))
    {
      if (length < 2 || value[length - 1] != value[0])
        return NULL;
      return g_strndup (value + 1, length - 2);
    }
  comment = strstr (value, " #");
  if (comment != NULL)
    *comment = '\0';
  return g_strdup (g_strchomp (value));
}

static gboolean
parse_line (char         *line,
            GStrv        *env,
            const char   *path,
            guint         number,
            GError      **error)
{
  char *equals;
  g_autofree char *value = NULL;

  line = g_strstrip (line);
  if (*line == '\0' || *line == '#')
    return TRUE;
  if (g_str_has_prefix (line, "export "))
    line = g_strchug (line + strlen ("export "));

  equals = strchr (line, '=');
  if (equals != NULL)
    {
      *equals = '\0';
      g_strchomp (line);
      value = parse_value (equals + 1);
    }
  if (equals == NULL || !is_name (line) || value == NULL)
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   _("%s, line %u: expected NAME=VALUE"), path, number);
      return FALSE;
    }
  *env = g_environ_setenv (*env, line, value, TRUE);
  return TRUE;
}

/* Returns: (transfer full): the file's variables as an environment; an
 * absent file is an empty one */
static GStrv
read_env_file (const char  *path,
               GError     **error)
{
  g_autofree char *contents = NULL;
  g_auto(GStrv) lines = NULL;
  g_autoptr(GError) local = NULL;
  g_auto(GStrv) env = g_new0 (char *, 1);
  gsize length = 0;

  if (!g_file_get_contents (path, &contents, &length, &local))
    {
      if (g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOENT) ||
          g_error_matches (local, G_FILE_ERROR, G_FILE_ERROR_NOTDIR))
        return g_steal_pointer (&env);
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  if (length > ENV_FILE_MAX || memchr (contents, '\0', length) != NULL)
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   _("%s: not a settings file of NAME=VALUE lines"), path);
      return NULL;
    }

  lines = g_strsplit (contents, "\n", -1);
  for (guint i = 0; lines[i] != NULL; i++)
    if (!parse_line (lines[i], &env, path, i + 1, error))
      return NULL;
  return g_steal_pointer (&env);
}

/**
 * cf_daemon_settings_open:
 *
 * Returns: (transfer full) (nullable): the `org.contextforge.Gateway`
 *   GSettings the admin app writes, or %NULL where the schema is not
 *   installed (a server)
 */
GSettings *
cf_daemon_settings_open (void)
{
  GSettingsSchemaSource *source = g_settings_schema_source_get_default ();
  g_autoptr(GSettingsSchema) schema = NULL;

  if (source == NULL ||
      (schema = g_settings_schema_source_lookup (source, APPLICATION_ID, TRUE)) == NULL)
    return NULL;
  return g_settings_new_full (schema, NULL, NULL);
}

/* Only values the user set count: the schema's defaults are the
 * built-in ones already. */
static void
load_gsettings (CfConfig *config)
{
  g_autoptr(GSettings) settings = cf_daemon_settings_open ();
  g_autoptr(GVariant) host = NULL;
  g_autoptr(GVariant) port = NULL;

  if (settings == NULL)
    return;
  host = g_settings_get_user_value (settings, "listen-address");
  port = g_settings_get_user_value (settings, "port");
  if (host != NULL)
    {
      g_free (config->host);
      config->host = g_variant_dup_string (host, NULL);
    }
  if (port != NULL)
    config->port = g_variant_get_uint16 (port);
}

static gboolean
apply_options (CfConfig      *config,
               GVariantDict  *options,
               GError       **error)
{
  const char *host = NULL;
  const char *db = NULL;
  const char *port = NULL;
  guint64 value;

  if (g_variant_dict_lookup (options, "host", "&s", &host))
    {
      g_free (config->host);
      config->host = g_strdup (host);
    }
  if (g_variant_dict_lookup (options, "port", "&s", &port))
    {
      if (!g_ascii_string_to_unsigned (port, 10, 0, 65535, &value, NULL))
        {
          g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                       _("--port %s: a port is 0 to 65535"), port);
          return FALSE;
        }
      config->port = value;
    }
  if (g_variant_dict_lookup (options, "db", "^&ay", &db))
    {
      g_free (config->db_path);
      config->db_path = g_strdup (db);
    }
  return TRUE;
}

/**
 * cf_daemon_settings_load:
 * @config: defaults to fill in
 * @options: the command-line options (host, port, db)
 * @error: return location for a #GError
 *
 * Layers every source of settings onto @config. A value that does not
 * parse is an error: a gateway must not run on a setting it misread.
 */
gboolean
cf_daemon_settings_load (CfConfig      *config,
                         GVariantDict  *options,
                         GError       **error)
{
  g_autofree char *path = cf_daemon_settings_env_file ();
  g_auto(GStrv) env = NULL;
  g_auto(GStrv) own = g_get_environ ();

  load_gsettings (config);
  env = read_env_file (path, error);
  if (env == NULL)
    return FALSE;
  for (guint i = 0; own[i] != NULL; i++)
    {
      g_autofree char *name = g_strndup (own[i], strcspn (own[i], "="));
      const char *value = own[i][strlen (name)] == '=' ? own[i] + strlen (name) + 1 : "";

      env = g_environ_setenv (env, name, value, TRUE);
    }

  if (!cf_config_load_env (config, (const char * const *) env, error))
    return FALSE;
  if (!cf_log_level_is_valid (config->log_level))
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   _("LOG_LEVEL=%s: use DEBUG, INFO, WARNING, ERROR or CRITICAL"),
                   config->log_level);
      return FALSE;
    }
  return apply_options (config, options, error);
}

static gboolean
take_str (char       **current,
          char       **next)
{
  if (g_strcmp0 (*current, *next) == 0)
    return FALSE;
  g_free (*current);
  *current = g_steal_pointer (next);
  return TRUE;
}

static gboolean
take_uint (guint *current,
           guint  next)
{
  if (*current == next)
    return FALSE;
  *current = next;
  return TRUE;
}

static gboolean
take_int (int *current,
          int  next)
{
  if (*current == next)
    return FALSE;
  *current = next;
  return TRUE;
}

static gboolean
take_size (gsize *current,
           gsize  next)
{
  if (*current == next)
    return FALSE;
  *current = next;
  return TRUE;
}

static gboolean
take_strv (GStrv *current,
           GStrv *next)
{
  static const char * const none[] = { NULL };

  if (g_strv_equal (*current ? (const char * const *) *current : none,
                    *next ? (const char * const *) *next : none))
    return FALSE;
  g_strfreev (*current);
  *current = g_steal_pointer (next);
  return TRUE;
}

static void
note (GPtrArray  *names,
      gboolean    changed,
      const char *name)
{
  if (changed)
    g_ptr_array_add (names, g_strdup (name));
}

/**
 * cf_daemon_settings_update:
 * @current: the settings in effect
 * @next: freshly loaded settings; its live values are taken
 * @applied: (element-type utf8): gets the names of live settings that changed
 * @restart_needed: (element-type utf8): gets the names of settings that
 *   changed but only take effect on a restart
 *
 * Moves the settings that can change while the gateway runs from @next
 * into @current and lists which changed; the caller hands them on to the
 * parts that use them.
 */
void
cf_daemon_settings_update (CfConfig  *current,
                           CfConfig  *next,
                           GPtrArray *applied,
                           GPtrArray *restart_needed)
{
  note (applied, take_str (&current->log_level, &next->log_level), "LOG_LEVEL");
  note (applied, take_uint (&current->tool_timeout_ms, next->tool_timeout_ms), "TOOL_TIMEOUT");
  note (applied, take_uint (&current->session_ttl_s, next->session_ttl_s), "SESSION_TTL");
  note (applied, take_size (&current->max_body, next->max_body), "MAX_REQUEST_SIZE");
  note (applied, take_strv (&current->allowed_hosts, &next->allowed_hosts), "ALLOWED_HOSTS");
  note (applied, take_uint (&current->health_interval_s, next->health_interval_s),
        "HEALTH_CHECK_INTERVAL");
  note (applied, take_uint (&current->health_timeout_s, next->health_timeout_s),
        "HEALTH_CHECK_TIMEOUT");
  note (applied, take_int (&current->unhealthy_threshold, next->unhealthy_threshold),
        "UNHEALTHY_THRESHOLD");
  note (applied, take_uint (&current->upstream_idle_s, next->upstream_idle_s),
        "UPSTREAM_IDLE_TIMEOUT");
  note (applied, take_uint (&current->sse_keepalive_s, next->sse_keepalive_s),
        "SSE_KEEPALIVE_INTERVAL");

  /* The socket, the database and every exposed name were made from these. */
  note (restart_needed, g_strcmp0 (current->host, next->host) != 0, "HOST");
  note (restart_needed, current->port != next->port, "PORT");
  note (restart_needed, g_strcmp0 (current->db_path, next->db_path) != 0, "DATABASE_URL");
  note (restart_needed, g_strcmp0 (current->separator, next->separator) != 0,
        "GATEWAY_TOOL_NAME_SEPARATOR");
  /* Discovery is switched live over D-Bus and REST, not by a reload. */
  note (restart_needed, current->discovery != next->discovery, "FEDERATION_DISCOVERY");
  note (restart_needed, g_strcmp0 (current->discovery_name, next->discovery_name) != 0,
        "FEDERATION_DISCOVERY_NAME");
}
