/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-daemon"

#include "config.h"

#include <glib-unix.h>
#include <glib/gi18n.h>
#include <stdio.h>

#include "cf-api.h"
#include "cf-auth-http.h"
#include "cf-catalog.h"
#include "cf-config.h"
#include "cf-daemon.h"
#include "cf-memory.h"
#include "cf-daemon-settings.h"
#include "cf-dbus-service.h"
#include "cf-discovery.h"
#include "cf-mcp-version.h"
#include "cf-http-security.h"
#include "cf-http-server.h"
#include "cf-legacy-sse.h"
#include "cf-log.h"
#include "cf-mcp-server.h"
#include "cf-secret-cipher.h"
#include "cf-secret-keyring.h"
#include "cf-store.h"
#include "cf-teams-http.h"
#include "cf-tokens.h"
#include "cf-streamable-http.h"
#include "cf-websocket.h"

#define OBJECT_PATH "/org/contextforge/Gateway"
#define SESSION_SWEEP_S 60
#define DRAIN_POLL_MS 50
#define DRAIN_LIMIT_MS 10000
/* How long the heap may hold what a burst of catalog changes freed. */
#define RELEASE_DELAY_S 2

/**
 * CfDaemon:
 *
 * `contextforge-gateway --daemon`: a #GApplication that owns
 * `org.contextforge.Gateway` on the session bus when there is one, and
 * serves MCP and the REST API over HTTP either way. SIGTERM and SIGINT
 * stop accepting connections, let requests in flight finish, flush the
 * store and exit 0.
 */
struct _CfDaemon
{
  GApplication      parent_instance;

  CfConfig         *config;
  CfStore          *store;
  CfCatalog        *catalog;
  CfMcpServer      *mcp;
  CfGateway        *gateway;
  CfHttpServer     *http;
  CfStreamableHttp *streamable;
  CfLegacySse      *legacy_sse;
  CfWebsocket      *websocket;
  CfApi            *api;
  CfHttpSecurity   *http_security;
  CfSecretCipher   *secrets;
  CfSsrfPolicy     *ssrf;
  CfToolLimits     *tool_limits;
  CfAuth           *auth;
  CfAuthHttp       *auth_http;
  CfTeams          *teams;
  CfTeamsHttp      *teams_http;
  CfTokens         *tokens;
  CfUpstreamPool   *pool;
  CfDbusService    *dbus;
  CfDiscovery      *discovery;
  GSettings        *settings;
  char             *instance_id;
  GVariantDict     *options;
  char             *listen_url;
  gint64            started;
  guint             sweep_id;
  guint             release_id;
  guint             drain_id;
  guint             drain_waited;
  guint             sigterm_id;
  guint             sigint_id;
  gboolean          serve;
  gboolean          no_dbus;
  gboolean          stopping;
};

G_DEFINE_FINAL_TYPE (CfDaemon, cf_daemon, G_TYPE_APPLICATION)

static const GOptionEntry options[] = {
  { "daemon", 'd', 0, G_OPTION_ARG_NONE, NULL,
    N_("Serve in the foreground, headless"), NULL },
  { "host", 0, 0, G_OPTION_ARG_STRING, NULL,
    N_("Address to listen on (HOST, default 127.0.0.1)"), N_("ADDR") },
  /* A string: GApplication drops integer options whose value is 0. */
  { "port", 'p', 0, G_OPTION_ARG_STRING, NULL,
    N_("Port to listen on (PORT, default 4444; 0 picks a free one)"), N_("PORT") },
  { "db", 0, 0, G_OPTION_ARG_FILENAME, NULL,
    N_("SQLite database file (DATABASE_URL)"), N_("FILE") },
  { "no-dbus", 0, 0, G_OPTION_ARG_NONE, NULL,
    N_("Do not own org.contextforge.Gateway on the session bus"), NULL },
  { "version", 'V', 0, G_OPTION_ARG_NONE, NULL,
    N_("Print the version and exit"), NULL },
  { NULL }
};

/* Kept so that a reload layers the same command line again. */
static GVariantDict *
copy_options (GVariantDict *dict)
{
  static const char * const names[] = { "host", "port", "db" };
  GVariantDict *copy = g_variant_dict_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    {
      g_autoptr(GVariant) value = g_variant_dict_lookup_value (dict, names[i], NULL);

      if (value != NULL)
        g_variant_dict_insert_value (copy, names[i], value);
    }
  return copy;
}

static int
cf_daemon_handle_local_options (GApplication *app,
                                GVariantDict *dict)
{
  CfDaemon *self = CF_DAEMON (app);
  g_autoptr(GError) error = NULL;

  if (g_variant_dict_contains (dict, "version"))
    {
      g_print ("%s %s\n", PACKAGE_NAME, PACKAGE_VERSION);
      return 0;
    }

  self->serve = g_variant_dict_contains (dict, "daemon");
  self->no_dbus = g_variant_dict_contains (dict, "no-dbus");
  if (!self->serve)
    {
      g_printerr (_("%s: nothing to do; use --daemon to serve (see --help)\n"), PACKAGE_NAME);
      return 2;
    }

  self->options = copy_options (dict);
  if (!cf_daemon_settings_load (self->config, self->options, &error))
    {
      g_printerr ("%s: %s\n", PACKAGE_NAME, error->message);
      return 1;
    }
  cf_log_set_level (self->config->log_level);

  if (self->no_dbus)
    g_application_set_flags (app, g_application_get_flags (app) | G_APPLICATION_NON_UNIQUE);

  if (!g_application_register (app, NULL, &error))
    {
      g_printerr ("%s: %s\n", PACKAGE_NAME, error->message);
      return 1;
    }
  if (g_application_get_is_remote (app))
    {
      g_printerr (_("%s: a gateway already owns org.contextforge.Gateway on this session bus\n"),
                  PACKAGE_NAME);
      return 1;
    }
  return -1;
}

static gboolean
cf_daemon_dbus_register (GApplication     *app,
                         GDBusConnection  *connection,
                         const char       *object_path,
                         GError          **error)
{
  CfDaemon *self = CF_DAEMON (app);

  if (!G_APPLICATION_CLASS (cf_daemon_parent_class)->dbus_register (app, connection,
                                                                    object_path, error))
    return FALSE;

  self->dbus = cf_dbus_service_new (self);
  return cf_dbus_service_export (self->dbus, connection, OBJECT_PATH, error);
}

static void
cf_daemon_dbus_unregister (GApplication    *app,
                           GDBusConnection *connection,
                           const char      *object_path)
{
  CfDaemon *self = CF_DAEMON (app);

  if (self->dbus != NULL)
    cf_dbus_service_unexport (self->dbus);
  G_APPLICATION_CLASS (cf_daemon_parent_class)->dbus_unregister (app, connection, object_path);
}

static gboolean
sweep_sessions (gpointer user_data)
{
  CfDaemon *self = user_data;
  guint expired = cf_mcp_server_expire_sessions (self->mcp,
                                                 (gint64) self->config->session_ttl_s * G_USEC_PER_SEC);

  if (expired > 0)
    g_debug ("Expired %u idle sessions", expired);
  return G_SOURCE_CONTINUE;
}

static gboolean
finish_stop (gpointer user_data)
{
  CfDaemon *self = user_data;

  if (cf_http_server_get_n_active (self->http) > 0 && self->drain_waited < DRAIN_LIMIT_MS)
    {
      self->drain_waited += DRAIN_POLL_MS;
      return G_SOURCE_CONTINUE;
    }
  if (cf_http_server_get_n_active (self->http) > 0)
    g_warning ("Stopping with %u requests still in flight", cf_http_server_get_n_active (self->http));

  self->drain_id = 0;
  cf_upstream_pool_stop (self->pool);
  /* The last usage batch goes before the store closes. */
  cf_tokens_stop (self->tokens);
  cf_store_close (self->store);
  g_message ("Stopped");
  g_application_release (G_APPLICATION (self));
  return G_SOURCE_REMOVE;
}

static gboolean
on_stop_signal (gpointer user_data)
{
  CfDaemon *self = user_data;

  if (self->stopping)
    return G_SOURCE_CONTINUE;
  self->stopping = TRUE;
  g_message ("Stopping: finishing requests in flight");

  g_clear_handle_id (&self->sweep_id, g_source_remove);
  /* Peers see a goodbye before the port closes. */
  if (self->discovery != NULL)
    cf_discovery_set_enabled (self->discovery, FALSE);
  cf_http_server_disconnect (self->http);
  cf_mcp_server_shutdown (self->mcp);
  cf_streamable_http_close_streams (self->streamable);
  cf_legacy_sse_close_streams (self->legacy_sse);
  cf_websocket_close_all (self->websocket);
  self->drain_id = g_timeout_add (DRAIN_POLL_MS, finish_stop, self);
  return G_SOURCE_CONTINUE;
}

static void
ensure_user (const char          *email,
             GAsyncReadyCallback  callback,
             gpointer             callback_data,
             gpointer             user_data)
{
  cf_teams_ensure_user_async (user_data, email, NULL, callback, callback_data);
}

/* Teams and roles: the system roles and every user's personal team are
 * there before the first request; a platform admin created in the
 * background gets its own before it can log in. */
static gboolean
start_teams (CfDaemon  *self,
             GError   **error)
{
  self->teams = cf_teams_new (self->store);
  if (!cf_teams_start (self->teams, error))
    return FALSE;
  self->teams_http = cf_teams_http_new (self->teams);
  cf_auth_set_user_hook (self->auth, ensure_user, self->teams);
  cf_gateway_set_teams (self->gateway, self->teams);
  return TRUE;
}

/* Users, keys and revocations are ready before the first request. */
static gboolean
start_auth (CfDaemon  *self,
            GError   **error)
{
  g_autoptr(CfAuthConfig) config = cf_auth_config_new ();

  if (!cf_auth_config_load_env (config, NULL, error))
    return FALSE;
  self->auth = cf_auth_new (g_steal_pointer (&config), self->store, error);
  if (self->auth == NULL || !cf_auth_bootstrap (self->auth, error))
    return FALSE;
  self->auth_http = cf_auth_http_new (self->auth, cf_gateway_lookup_scope, self->gateway);
  self->tokens = cf_tokens_new (self->auth, self->store);
  cf_tokens_set_server_lookup (self->tokens, cf_gateway_lookup_scope, self->gateway);
  return cf_tokens_load (self->tokens, error);
}

/* Upstream secrets (sealed under AUTH_ENCRYPTION_SECRET, or on a desktop
 * under a data key from the keyring: SECRETS_BACKEND), the SSRF policy,
 * per-tool limits and the HTTP hardening, read before anything is
 * opened: a production gateway with a weak AUTH_ENCRYPTION_SECRET, or
 * SECRETS_BACKEND=keyring with no keyring, stops here. */
static gboolean
load_security (CfDaemon  *self,
               GError   **error)
{
  g_autofree char *warning = NULL;

  self->secrets = cf_secret_keyring_cipher_from_env (NULL, self->config->db_path, &warning,
                                                     error);
  if (self->secrets == NULL)
    return FALSE;
  if (warning != NULL)
    g_printerr ("%s: warning: %s\n", PACKAGE_NAME, warning);
  self->ssrf = cf_ssrf_policy_new ();
  if (!cf_ssrf_policy_load_env (self->ssrf, NULL, error))
    return FALSE;
  self->tool_limits = cf_tool_limits_new_from_env (NULL, error);
  if (self->tool_limits == NULL)
    return FALSE;
  self->http_security = cf_http_security_new ();
  return cf_http_security_load_env (self->http_security, NULL, error);
}

/* Peers learn this gateway's id, and which gateways it reaches, from
 * an experimental capability: that is how they refuse loops. */
static void
announce_federation (CfDaemon *self)
{
  JsonObject *experimental = json_object_new ();

  json_object_set_object_member (experimental, CF_UPSTREAM_FEDERATION_CAPABILITY,
                                 cf_upstream_pool_build_federation_capability (self->pool));
  cf_mcp_server_set_capability (self->mcp, "experimental", experimental);
}

static void
on_federation_changed (CfUpstreamPool *pool,
                       CfDaemon       *self)
{
  announce_federation (self);
}

/* A schema installed by an older version may lack the key. */
static gboolean
has_discovery_key (GSettings *settings)
{
  g_autoptr(GSettingsSchema) schema = NULL;

  g_object_get (settings, "settings-schema", &schema, NULL);
  return g_settings_schema_has_key (schema, "discovery-enabled");
}

static void
on_discovery_setting (GSettings  *settings,
                      const char *key,
                      CfDaemon   *self)
{
  cf_discovery_set_enabled (self->discovery, g_settings_get_boolean (settings, key));
}

/* LAN discovery: FEDERATION_DISCOVERY decides when set; otherwise the
 * GSettings switch, followed live. Off by default. */
static void
start_discovery (CfDaemon *self)
{
  CfConfig *config = self->config;
  CfAuthConfig *auth = cf_auth_get_config (self->auth);
  g_autoptr(GUri) uri = g_uri_parse (self->listen_url, G_URI_FLAGS_NONE, NULL);
  g_autofree char *name = NULL;
  gboolean enabled = FALSE;

  if (config->discovery_name != NULL)
    name = g_strdup (config->discovery_name);
  else
    name = g_strdup_printf ("ContextForge Gateway on %s", g_get_host_name ());
  self->discovery = cf_discovery_new (self->instance_id, self->catalog);
  cf_discovery_set_peer_ttl (self->discovery, config->discovery_ttl_s);
  cf_discovery_set_allowlist (self->discovery,
                              (const char * const *) config->discovery_allowlist);
  cf_discovery_set_service (self->discovery, name, config->host,
                            uri ? (guint) g_uri_get_port (uri) : config->port, "/mcp",
                            CF_MCP_VERSION_LATEST, PACKAGE_VERSION,
                            auth->auth_required ? "bearer" : "none");
  if (config->discovery < 0 && (self->settings = cf_daemon_settings_open ()) != NULL &&
      !has_discovery_key (self->settings))
    g_clear_object (&self->settings);
  if (config->discovery >= 0)
    enabled = config->discovery;
  else if (self->settings != NULL)
    {
      enabled = g_settings_get_boolean (self->settings, "discovery-enabled");
      g_signal_connect (self->settings, "changed::discovery-enabled",
                        G_CALLBACK (on_discovery_setting), self);
    }
  cf_discovery_set_enabled (self->discovery, enabled);
  cf_api_set_discovery (self->api, self->discovery);
}

static gboolean
release_memory (gpointer user_data)
{
  CfDaemon *self = user_data;

  self->release_id = 0;
  cf_memory_release ();
  return G_SOURCE_REMOVE;
}

/* A change replaces the catalog's snapshot, and a sync frees about as
 * much as it keeps: the heap gives it back once a burst of changes is
 * over. */
static void
on_catalog_changed (CfCatalog    *catalog,
                    CfEntityKind  kind,
                    CfDaemon     *self)
{
  g_clear_handle_id (&self->release_id, g_source_remove);
  self->release_id = g_timeout_add_seconds_full (G_PRIORITY_LOW, RELEASE_DELAY_S,
                                                 release_memory, self, NULL);
}

static gboolean
start_serving (CfDaemon  *self,
               GError   **error)
{
  CfConfig *config = self->config;
  g_autofree char *dir = g_path_get_dirname (config->db_path);

  if (!load_security (self, error))
    return FALSE;
  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      g_set_error (error, G_IO_ERROR, g_io_error_from_errno (errno),
                   _("Cannot create %s: %s"), dir, g_strerror (errno));
      return FALSE;
    }

  self->store = cf_store_new (config->db_path, error);
  if (self->store == NULL)
    return FALSE;
  self->catalog = cf_catalog_new (self->store);
  cf_catalog_set_separator (self->catalog, config->separator);
  cf_catalog_set_secret_store (self->catalog, CF_SECRET_STORE (self->secrets));
  cf_catalog_set_ssrf_policy (self->catalog, self->ssrf);
  if (!cf_catalog_load (self->catalog, error))
    return FALSE;
  g_signal_connect (self->catalog, "changed", G_CALLBACK (on_catalog_changed), self);

  self->mcp = cf_mcp_server_new ("ContextForge", PACKAGE_VERSION);
  cf_mcp_server_set_instructions (self->mcp,
                                  "ContextForge Gateway: one MCP endpoint for the tools, "
                                  "resources and prompts of many servers.");
  self->gateway = cf_gateway_new (self->catalog, self->mcp);
  cf_gateway_set_tool_timeout (self->gateway, config->tool_timeout_ms);
  cf_gateway_set_tool_limits (self->gateway, self->tool_limits);
  self->instance_id = cf_store_get_instance_id (self->store, error);
  if (self->instance_id == NULL)
    return FALSE;
  self->pool = cf_upstream_pool_new (self->catalog, config->separator);
  cf_upstream_pool_configure (self->pool, config);
  cf_upstream_pool_set_instance_id (self->pool, self->instance_id);
  g_signal_connect (self->pool, "federation-changed", G_CALLBACK (on_federation_changed), self);
  announce_federation (self);
  cf_gateway_set_upstream_pool (self->gateway, self->pool);
  if (!start_auth (self, error) || !start_teams (self, error))
    return FALSE;

  self->http = cf_http_server_new ();
  cf_http_server_set_max_body (self->http, config->max_body);
  cf_http_server_set_allowed_hosts (self->http, (const char * const *) config->allowed_hosts);
  cf_http_security_attach (self->http_security, self->http);
  /* request-id, host-origin, body-limit, then auth. */
  cf_auth_http_install (self->auth_http, self->http);
  /* Then the permission of each REST route. */
  cf_teams_http_install (self->teams_http, self->http);
  cf_tokens_http_install (self->tokens, self->http);
  self->streamable = cf_streamable_http_new (self->mcp);
  cf_streamable_http_mount (self->streamable, self->http, "/mcp");
  cf_streamable_http_mount_rpc (self->streamable, self->http, "/rpc");
  cf_streamable_http_mount_scoped (self->streamable, self->http, "/servers",
                                   cf_gateway_lookup_scope, self->gateway);
  /* The legacy transports, unscoped and under /servers/{id}/. */
  self->legacy_sse = cf_legacy_sse_new (self->mcp);
  cf_legacy_sse_set_keepalive (self->legacy_sse, config->sse_keepalive_s);
  cf_legacy_sse_mount (self->legacy_sse, self->http, "/sse", "/message");
  cf_legacy_sse_mount_scoped (self->legacy_sse, self->streamable);
  self->websocket = cf_websocket_new (self->mcp);
  cf_websocket_set_keepalive (self->websocket, config->sse_keepalive_s);
  cf_websocket_mount (self->websocket, self->http, "/ws");
  cf_websocket_mount_scoped (self->websocket, self->streamable);
  self->api = cf_api_new (self->catalog, PACKAGE_VERSION);
  cf_api_set_upstream_pool (self->api, self->pool);
  cf_api_set_teams (self->api, self->teams);
  cf_api_mount (self->api, self->http);

  if (!cf_http_server_listen (self->http, config->host, config->port, error))
    return FALSE;

  self->listen_url = cf_http_server_get_url (self->http);
  /* Upstreams connect once the gateway can already serve. */
  cf_upstream_pool_start (self->pool);
  cf_tokens_start (self->tokens);
  start_discovery (self);
  self->sweep_id = g_timeout_add_seconds (SESSION_SWEEP_S, sweep_sessions, self);
  if (self->dbus != NULL)
    cf_dbus_service_attach (self->dbus, self->gateway, self->pool);
  return TRUE;
}

static void
cf_daemon_activate (GApplication *app)
{
  CfDaemon *self = CF_DAEMON (app);
  g_autoptr(GError) error = NULL;

  if (self->http != NULL)
    return;

  g_application_hold (app);
  self->started = g_get_monotonic_time ();
  self->sigterm_id = g_unix_signal_add (SIGTERM, on_stop_signal, self);
  self->sigint_id = g_unix_signal_add (SIGINT, on_stop_signal, self);

  if (!start_serving (self, &error))
    {
      g_printerr ("%s: %s\n", PACKAGE_NAME, error->message);
      g_application_release (app);
      /* Exit non-zero without running the main loop further. */
      exit (1);
    }

  /* The bare URL on stdout's first line is what scripts and tests read. */
  g_print ("%s\n", self->listen_url);
  fflush (stdout);
  g_message ("ContextForge Gateway %s listening on %s (database %s)", PACKAGE_VERSION,
             self->listen_url, self->config->db_path);
}

static void
cf_daemon_finalize (GObject *object)
{
  CfDaemon *self = (CfDaemon *) object;

  g_clear_handle_id (&self->sweep_id, g_source_remove);
  g_clear_handle_id (&self->release_id, g_source_remove);
  g_clear_handle_id (&self->drain_id, g_source_remove);
  g_clear_handle_id (&self->sigterm_id, g_source_remove);
  g_clear_handle_id (&self->sigint_id, g_source_remove);
  g_clear_object (&self->dbus);
  if (self->settings != NULL)
    g_signal_handlers_disconnect_by_data (self->settings, self);
  g_clear_object (&self->settings);
  g_clear_object (&self->discovery);
  g_clear_pointer (&self->instance_id, g_free);
  if (self->pool != NULL)
    g_signal_handlers_disconnect_by_data (self->pool, self);
  g_clear_object (&self->api);
  g_clear_object (&self->http_security);
  g_clear_object (&self->secrets);
  g_clear_pointer (&self->ssrf, cf_ssrf_policy_unref);
  g_clear_pointer (&self->tool_limits, cf_tool_limits_unref);
  g_clear_object (&self->auth_http);
  g_clear_object (&self->teams_http);
  g_clear_object (&self->teams);
  g_clear_object (&self->tokens);
  g_clear_object (&self->auth);
  g_clear_object (&self->pool);
  g_clear_object (&self->streamable);
  g_clear_object (&self->legacy_sse);
  g_clear_object (&self->websocket);
  g_clear_object (&self->http);
  g_clear_object (&self->gateway);
  g_clear_object (&self->mcp);
  g_clear_object (&self->catalog);
  g_clear_object (&self->store);
  g_clear_pointer (&self->config, cf_config_free);
  g_clear_pointer (&self->options, g_variant_dict_unref);
  g_clear_pointer (&self->listen_url, g_free);

  G_OBJECT_CLASS (cf_daemon_parent_class)->finalize (object);
}

static void
cf_daemon_class_init (CfDaemonClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  object_class->finalize = cf_daemon_finalize;
  app_class->handle_local_options = cf_daemon_handle_local_options;
  app_class->activate = cf_daemon_activate;
  app_class->dbus_register = cf_daemon_dbus_register;
  app_class->dbus_unregister = cf_daemon_dbus_unregister;
}

static void
cf_daemon_init (CfDaemon *self)
{
  self->config = cf_config_new ();
  g_application_add_main_option_entries (G_APPLICATION (self), options);
  g_application_set_option_context_summary (G_APPLICATION (self),
                                            _("The ContextForge MCP gateway: one federated, "
                                              "observable MCP endpoint."));
  g_application_set_option_context_description (G_APPLICATION (self),
                                                _("Environment: HOST, PORT, DATABASE_URL, "
                                                  "LOG_LEVEL, GATEWAY_TOOL_NAME_SEPARATOR,\n"
                                                  "TOOL_TIMEOUT, SESSION_TTL, ALLOWED_HOSTS, "
                                                  "MAX_REQUEST_SIZE; also read from\n"
                                                  "$XDG_CONFIG_HOME/contextforge/gateway.env.\n\n"
                                                  "Report bugs in the project's issue tracker."));
}

CfDaemon *
cf_daemon_new (void)
{
  return g_object_new (CF_TYPE_DAEMON,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_DEFAULT_FLAGS,
                       NULL);
}

CfGateway *
cf_daemon_get_gateway (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->gateway;
}

/**
 * cf_daemon_get_auth:
 * @self: a #CfDaemon
 *
 * Returns: (transfer none) (nullable): the authentication service, once
 *   the gateway is started
 */
CfAuth *
cf_daemon_get_auth (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->auth;
}

/**
 * cf_daemon_get_teams:
 * @self: a #CfDaemon
 *
 * Returns: (transfer none) (nullable): teams and roles, once the gateway
 *   is started
 */
CfTeams *
cf_daemon_get_teams (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->teams;
}

/**
 * cf_daemon_get_tokens:
 * @self: a #CfDaemon
 *
 * Returns: (transfer none) (nullable): the API token registry, once the
 *   gateway is started
 */
CfTokens *
cf_daemon_get_tokens (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->tokens;
}

/**
 * cf_daemon_get_discovery:
 * @self: a #CfDaemon
 *
 * Returns: (transfer none) (nullable): LAN discovery, once the gateway is
 *   serving
 */
CfDiscovery *
cf_daemon_get_discovery (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->discovery;
}

/**
 * cf_daemon_set_discovery_enabled:
 * @self: a #CfDaemon
 * @enabled: whether to announce this gateway and browse the LAN
 *
 * Turns discovery on or off now, and remembers the choice in GSettings
 * (the admin app's switch) when the schema is installed. An explicit
 * FEDERATION_DISCOVERY still decides at the next start.
 */
void
cf_daemon_set_discovery_enabled (CfDaemon *self,
                                 gboolean  enabled)
{
  g_return_if_fail (CF_IS_DAEMON (self));

  if (self->discovery == NULL)
    return;
  if (self->settings != NULL)
    g_settings_set_boolean (self->settings, "discovery-enabled", enabled);
  cf_discovery_set_enabled (self->discovery, enabled);
}

/**
 * cf_daemon_get_instance_id:
 * @self: a #CfDaemon
 *
 * Returns: (nullable): this gateway's federation id, once started
 */
const char *
cf_daemon_get_instance_id (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->instance_id;
}

const char *
cf_daemon_get_listen_url (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->listen_url;
}

const char *
cf_daemon_get_db_path (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->config->db_path;
}

gint64
cf_daemon_get_uptime (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), 0);
  return self->started ? (g_get_monotonic_time () - self->started) / G_USEC_PER_SEC : 0;
}

const CfConfig *
cf_daemon_get_config (CfDaemon *self)
{
  g_return_val_if_fail (CF_IS_DAEMON (self), NULL);
  return self->config;
}

/* Hands the live settings to the parts that use them. */
static void
apply_live_settings (CfDaemon *self)
{
  CfConfig *config = self->config;

  cf_log_set_level (config->log_level);
  if (self->http == NULL)
    return;
  cf_gateway_set_tool_timeout (self->gateway, config->tool_timeout_ms);
  cf_upstream_pool_configure (self->pool, config);
  cf_http_server_set_max_body (self->http, config->max_body);
  cf_http_server_set_allowed_hosts (self->http, (const char * const *) config->allowed_hosts);
  cf_legacy_sse_set_keepalive (self->legacy_sse, config->sse_keepalive_s);
  cf_websocket_set_keepalive (self->websocket, config->sse_keepalive_s);
}

/**
 * cf_daemon_reload:
 * @self: a #CfDaemon
 * @applied: (out) (transfer full): the settings that changed and apply now
 * @restart_needed: (out) (transfer full): the settings that changed but
 *   apply only after a restart
 * @error: return location for a #GError
 *
 * Reads every source of settings again. When one does not parse, nothing
 * changes and @error says which.
 */
gboolean
cf_daemon_reload (CfDaemon  *self,
                  GStrv     *applied,
                  GStrv     *restart_needed,
                  GError   **error)
{
  g_autoptr(CfConfig) next = cf_config_new ();
  g_autoptr(GPtrArray) live = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GPtrArray) later = g_ptr_array_new_with_free_func (g_free);

  g_return_val_if_fail (CF_IS_DAEMON (self), FALSE);
  g_return_val_if_fail (self->options != NULL, FALSE);

  if (!cf_daemon_settings_load (next, self->options, error))
    return FALSE;
  cf_daemon_settings_update (self->config, next, live, later);
  /* Applying restarts timers (health checks, keepalives): only on a change. */
  if (live->len > 0)
    apply_live_settings (self);
  if (live->len > 0 || later->len > 0)
    g_message ("Settings reloaded: %u applied, %u waiting for a restart", live->len, later->len);

  g_ptr_array_add (live, NULL);
  g_ptr_array_add (later, NULL);
  *applied = (GStrv) g_ptr_array_steal (live, NULL);
  *restart_needed = (GStrv) g_ptr_array_steal (later, NULL);
  return TRUE;
}
