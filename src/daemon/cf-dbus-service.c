/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-dbus-service"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-dbus-service-private.h"
#include "cf-json.h"
#include "cf-mcp-server.h"

/**
 * CfDbusService:
 *
 * The daemon's `org.contextforge.Gateway` object: a thin adapter from the
 * generated skeleton to the service layer, so D-Bus callers see the same
 * catalog and the same checks as REST callers. The status, settings and
 * signals live here; the entity methods in cf-dbus-service-entities.c.
 */

G_DEFINE_FINAL_TYPE (CfDbusService, cf_dbus_service, G_TYPE_OBJECT)

static const GDBusErrorEntry error_entries[] = {
  { CF_DBUS_SERVICE_ERROR_NOT_FOUND, "org.contextforge.Gateway.Error.NotFound" },
  { CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT, "org.contextforge.Gateway.Error.InvalidArgument" },
  { CF_DBUS_SERVICE_ERROR_CONFLICT, "org.contextforge.Gateway.Error.Conflict" },
  { CF_DBUS_SERVICE_ERROR_FAILED, "org.contextforge.Gateway.Error.Failed" },
};

G_STATIC_ASSERT (G_N_ELEMENTS (error_entries) == CF_DBUS_SERVICE_ERROR_FAILED + 1);

GQuark
cf_dbus_service_error_quark (void)
{
  static gsize quark = 0;

  g_dbus_error_register_error_domain ("cf-dbus-service-error-quark", &quark, error_entries,
                                      G_N_ELEMENTS (error_entries));
  return (GQuark) quark;
}

static const char * const kind_names[] = {
  [CF_ENTITY_TOOL] = "tool",
  [CF_ENTITY_RESOURCE] = "resource",
  [CF_ENTITY_PROMPT] = "prompt",
  [CF_ENTITY_SERVER] = "server",
  [CF_ENTITY_GATEWAY] = "gateway",
};

/* Problems are FastAPI-shaped, `{"loc": ["body", field], "msg": ...}`:
 * one line per problem reads well in `gdbus call` output. */
static char *
describe_problems (const char *summary,
                   JsonArray  *problems)
{
  GString *message = g_string_new (summary);

  for (guint i = 0; problems != NULL && i < json_array_get_length (problems); i++)
    {
      JsonObject *problem = json_array_get_object_element (problems, i);
      JsonArray *loc = cf_json_object_get_array (problem, "loc");
      guint n = loc ? json_array_get_length (loc) : 0;
      JsonNode *field = n > 0 ? json_array_get_element (loc, n - 1) : NULL;

      g_string_append (message, i == 0 ? ": " : "; ");
      if (field != NULL && cf_json_node_is_string (field) && n > 1)
        g_string_append_printf (message, "%s: ", json_node_get_string (field));
      g_string_append (message, cf_json_object_get_string (problem, "msg") ?: "invalid");
    }
  return g_string_free (message, FALSE);
}

static CfDbusServiceError
code_for (const GError *error)
{
  if (error->domain == CF_DBUS_SERVICE_ERROR)
    return error->code;
  if (error->domain != CF_CATALOG_ERROR)
    return CF_DBUS_SERVICE_ERROR_FAILED;
  switch (error->code)
    {
    case CF_CATALOG_ERROR_NOT_FOUND:
      return CF_DBUS_SERVICE_ERROR_NOT_FOUND;
    case CF_CATALOG_ERROR_CONFLICT:
      return CF_DBUS_SERVICE_ERROR_CONFLICT;
    case CF_CATALOG_ERROR_INVALID:
      return CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT;
    default:
      return CF_DBUS_SERVICE_ERROR_FAILED;
    }
}

/**
 * _cf_dbus_service_return_error:
 * @invocation: (transfer full): the call to answer
 * @error: what the service layer said
 * @problems: (nullable): the validation problems that go with it
 *
 * Answers with the registered error name for @error, carrying the
 * service's message and, for invalid input, every problem.
 */
void
_cf_dbus_service_return_error (GDBusMethodInvocation *invocation,
                               const GError          *error,
                               JsonArray             *problems)
{
  g_autofree char *message = describe_problems (error->message, problems);

  g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                 code_for (error), message);
}

/* The a{sv} dictionaries of the lists: @key from @from's @member, "" when
 * it is missing. */
void
_cf_dbus_service_add_string (GVariantBuilder *builder,
                             const char      *key,
                             JsonObject      *from,
                             const char      *member)
{
  g_variant_builder_add (builder, "{sv}", key,
                         g_variant_new_string (cf_json_object_get_string (from, member) ?: ""));
}

/* As _cf_dbus_service_add_string(), a boolean, @fallback when missing. */
void
_cf_dbus_service_add_bool (GVariantBuilder *builder,
                           const char      *key,
                           JsonObject      *from,
                           const char      *member,
                           gboolean         fallback)
{
  g_variant_builder_add (builder, "{sv}", key,
                         g_variant_new_boolean (cf_json_object_get_bool (from, member, fallback)));
}

/* Registration happens before the gateway starts serving; a call in
 * between gets a clear answer rather than a crash. */
gboolean
_cf_dbus_service_check_ready (CfDbusService         *self,
                              GDBusMethodInvocation *invocation)
{
  if (self->gateway != NULL)
    return TRUE;
  g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                 CF_DBUS_SERVICE_ERROR_FAILED,
                                                 _("The gateway is still starting"));
  return FALSE;
}

static guint
count_unreachable (CfCatalogSnapshot *snapshot)
{
  GPtrArray *gateways = cf_catalog_snapshot_list (snapshot, CF_ENTITY_GATEWAY);
  guint n = 0;

  for (guint i = 0; i < gateways->len; i++)
    if (cf_json_object_get_bool (gateways->pdata[i], "enabled", TRUE) &&
        !cf_json_object_get_bool (gateways->pdata[i], "reachable", TRUE))
      n++;
  return n;
}

static void
add_counts (CfDbusService   *self,
            GVariantBuilder *builder)
{
  static const char * const counts[] = {
    [CF_ENTITY_TOOL] = "tools", [CF_ENTITY_RESOURCE] = "resources",
    [CF_ENTITY_PROMPT] = "prompts", [CF_ENTITY_SERVER] = "servers",
    [CF_ENTITY_GATEWAY] = "gateways",
  };
  g_autoptr(CfCatalogSnapshot) snapshot =
    cf_catalog_get_snapshot (cf_gateway_get_catalog (self->gateway));
  guint unreachable = count_unreachable (snapshot);

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_variant_builder_add (builder, "{sv}", counts[k],
                           g_variant_new_uint32 (cf_catalog_snapshot_entries (snapshot, k)->len));
  g_variant_builder_add (builder, "{sv}", "gateways-unreachable",
                         g_variant_new_uint32 (unreachable));
  g_variant_builder_add (builder, "{sv}", "health",
                         g_variant_new_string (unreachable > 0 ? "degraded" : "healthy"));
  g_variant_builder_add (builder, "{sv}", "sessions",
                         g_variant_new_uint32 (cf_mcp_server_get_n_sessions (
                             cf_gateway_get_server (self->gateway))));
}

static gboolean
handle_get_status (CfDbusGateway         *skeleton,
                   GDBusMethodInvocation *invocation,
                   CfDbusService         *self)
{
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "version", g_variant_new_string (PACKAGE_VERSION));
  g_variant_builder_add (&builder, "{sv}", "listen-url",
                         g_variant_new_string (cf_daemon_get_listen_url (self->daemon) ?: ""));
  g_variant_builder_add (&builder, "{sv}", "uptime",
                         g_variant_new_uint64 (cf_daemon_get_uptime (self->daemon)));
  g_variant_builder_add (&builder, "{sv}", "database",
                         g_variant_new_string (cf_daemon_get_db_path (self->daemon) ?: ""));
  if (self->gateway != NULL)
    add_counts (self, &builder);
  else
    g_variant_builder_add (&builder, "{sv}", "health", g_variant_new_string ("starting"));

  cf_dbus_gateway_complete_get_status (skeleton, invocation, g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_settings (CfDbusGateway         *skeleton,
                     GDBusMethodInvocation *invocation,
                     CfDbusService         *self)
{
  const CfConfig *config = cf_daemon_get_config (self->daemon);
  g_autofree char *db_url = g_strconcat ("sqlite:///", config->db_path, NULL);
  static const char * const none[] = { NULL };
  GVariantBuilder b;

  g_variant_builder_init (&b, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&b, "{sv}", "HOST", g_variant_new_string (config->host));
  g_variant_builder_add (&b, "{sv}", "PORT", g_variant_new_uint32 (config->port));
  g_variant_builder_add (&b, "{sv}", "DATABASE_URL", g_variant_new_string (db_url));
  g_variant_builder_add (&b, "{sv}", "GATEWAY_TOOL_NAME_SEPARATOR",
                         g_variant_new_string (config->separator));
  g_variant_builder_add (&b, "{sv}", "LOG_LEVEL", g_variant_new_string (config->log_level));
  g_variant_builder_add (&b, "{sv}", "TOOL_TIMEOUT",
                         g_variant_new_uint32 (config->tool_timeout_ms / 1000));
  g_variant_builder_add (&b, "{sv}", "SESSION_TTL", g_variant_new_uint32 (config->session_ttl_s));
  g_variant_builder_add (&b, "{sv}", "HEALTH_CHECK_INTERVAL",
                         g_variant_new_uint32 (config->health_interval_s));
  g_variant_builder_add (&b, "{sv}", "HEALTH_CHECK_TIMEOUT",
                         g_variant_new_uint32 (config->health_timeout_s));
  g_variant_builder_add (&b, "{sv}", "UNHEALTHY_THRESHOLD",
                         g_variant_new_int32 (config->unhealthy_threshold));
  g_variant_builder_add (&b, "{sv}", "UPSTREAM_IDLE_TIMEOUT",
                         g_variant_new_uint32 (config->upstream_idle_s));
  g_variant_builder_add (&b, "{sv}", "SSE_KEEPALIVE_INTERVAL",
                         g_variant_new_uint32 (config->sse_keepalive_s));
  g_variant_builder_add (&b, "{sv}", "MAX_REQUEST_SIZE", g_variant_new_uint64 (config->max_body));
  g_variant_builder_add (&b, "{sv}", "ALLOWED_HOSTS",
                         g_variant_new_strv (config->allowed_hosts ? (const char * const *)
                                             config->allowed_hosts : none, -1));

  cf_dbus_gateway_complete_get_settings (skeleton, invocation, g_variant_builder_end (&b));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_reload (CfDbusGateway         *skeleton,
               GDBusMethodInvocation *invocation,
               CfDbusService         *self)
{
  g_auto(GStrv) applied = NULL;
  g_auto(GStrv) restart_needed = NULL;
  g_autoptr(GError) error = NULL;

  if (!cf_daemon_reload (self->daemon, &applied, &restart_needed, &error))
    {
      /* A setting that does not parse is the caller's to fix; an
       * unreadable settings file is not. */
      g_dbus_method_invocation_return_error_literal (
          invocation, CF_DBUS_SERVICE_ERROR,
          error->domain == CF_CONFIG_ERROR ? CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT
                                           : CF_DBUS_SERVICE_ERROR_FAILED,
          error->message);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  cf_dbus_gateway_complete_reload (skeleton, invocation, (const char * const *) applied,
                                   (const char * const *) restart_needed);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The upstream pool records reachability in the gateway rows; a flip of
 * one, compared with what was seen last, is the health signal. New rows
 * are only noted: CatalogChanged has told about them. */
static void
track_reachable (CfDbusService *self,
                 gboolean       emit)
{
  g_autoptr(CfCatalogSnapshot) snapshot =
    cf_catalog_get_snapshot (cf_gateway_get_catalog (self->gateway));
  GPtrArray *gateways = cf_catalog_snapshot_list (snapshot, CF_ENTITY_GATEWAY);
  GHashTable *seen = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < gateways->len; i++)
    {
      JsonObject *gateway = gateways->pdata[i];
      const char *id = cf_json_object_get_string (gateway, "id");
      gboolean reachable = cf_json_object_get_bool (gateway, "reachable", TRUE);
      gpointer before = g_hash_table_lookup (self->reachable, id);

      if (emit && before != NULL && GPOINTER_TO_INT (before) - 1 != reachable)
        cf_dbus_gateway_emit_gateway_health_changed (
            self->skeleton, id, reachable,
            cf_json_object_get_string (gateway, "statusMessage") ?: "");
      g_hash_table_insert (seen, g_strdup (id), GINT_TO_POINTER (1 + reachable));
    }
  g_hash_table_unref (self->reachable);
  self->reachable = seen;
}

static void
on_catalog_changed (CfCatalog     *catalog,
                    guint          kind,
                    CfDbusService *self)
{
  if (kind >= CF_N_ENTITY_KINDS)
    return;
  cf_dbus_gateway_emit_catalog_changed (self->skeleton, kind_names[kind]);
  if (kind == CF_ENTITY_GATEWAY)
    track_reachable (self, TRUE);
}

static void
cf_dbus_service_dispose (GObject *object)
{
  CfDbusService *self = (CfDbusService *) object;

  if (self->gateway != NULL)
    g_clear_signal_handler (&self->changed_id, cf_gateway_get_catalog (self->gateway));
  g_clear_object (&self->gateway);
  g_clear_object (&self->pool);
  /* GApplication's dbus_unregister may have taken it off the bus already. */
  if (self->skeleton != NULL &&
      g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_object (&self->skeleton);
  g_clear_pointer (&self->reachable, g_hash_table_unref);
  g_clear_object (&self->rest);

  G_OBJECT_CLASS (cf_dbus_service_parent_class)->dispose (object);
}

static void
cf_dbus_service_class_init (CfDbusServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cf_dbus_service_dispose;
  /* Registers the error names before any call can fail. */
  (void) CF_DBUS_SERVICE_ERROR;
}

static void
cf_dbus_service_init (CfDbusService *self)
{
  self->reachable = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->skeleton = cf_dbus_gateway_skeleton_new ();
  cf_dbus_gateway_set_version (self->skeleton, PACKAGE_VERSION);
  g_signal_connect (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status), self);
  g_signal_connect (self->skeleton, "handle-get-settings", G_CALLBACK (handle_get_settings),
                    self);
  g_signal_connect (self->skeleton, "handle-reload", G_CALLBACK (handle_reload), self);
  _cf_dbus_service_init_entities (self);
  _cf_dbus_service_init_tenancy (self);
  _cf_dbus_service_init_discovery (self);
}

/**
 * cf_dbus_service_new:
 * @daemon: (unowned): the daemon; it outlives the service
 *
 * Returns: (transfer full): a new service, not exported yet
 */
CfDbusService *
cf_dbus_service_new (CfDaemon *daemon)
{
  CfDbusService *self = g_object_new (CF_TYPE_DBUS_SERVICE, NULL);

  self->daemon = daemon;
  return self;
}

/**
 * cf_dbus_service_export:
 * @self: a #CfDbusService
 * @connection: the bus
 * @object_path: where the object lives
 * @error: return location for a #GError
 *
 * Returns: whether the object is on the bus
 */
gboolean
cf_dbus_service_export (CfDbusService    *self,
                        GDBusConnection  *connection,
                        const char       *object_path,
                        GError          **error)
{
  g_return_val_if_fail (CF_IS_DBUS_SERVICE (self), FALSE);

  return g_dbus_interface_skeleton_export (G_DBUS_INTERFACE_SKELETON (self->skeleton),
                                           connection, object_path, error);
}

void
cf_dbus_service_unexport (CfDbusService *self)
{
  g_return_if_fail (CF_IS_DBUS_SERVICE (self));

  if (g_dbus_interface_skeleton_get_connection (G_DBUS_INTERFACE_SKELETON (self->skeleton)))
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}

/**
 * cf_dbus_service_attach:
 * @self: a #CfDbusService
 * @gateway: the running gateway
 * @pool: (nullable): its upstream connections, for refreshes
 *
 * D-Bus registration happens before the gateway starts; calls that need
 * it answer once it is attached.
 */
void
cf_dbus_service_attach (CfDbusService  *self,
                        CfGateway      *gateway,
                        CfUpstreamPool *pool)
{
  g_return_if_fail (CF_IS_DBUS_SERVICE (self));
  g_return_if_fail (CF_IS_GATEWAY (gateway));
  g_return_if_fail (self->gateway == NULL);

  self->gateway = g_object_ref (gateway);
  g_set_object (&self->pool, pool);
  self->changed_id = g_signal_connect (cf_gateway_get_catalog (gateway), "changed",
                                       G_CALLBACK (on_catalog_changed), self);
  track_reachable (self, FALSE);
  _cf_dbus_service_attach_discovery (self);
  _cf_dbus_service_attach_tenancy (self);
  cf_dbus_gateway_set_listen_url (self->skeleton, cf_daemon_get_listen_url (self->daemon));
}
