/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-dbus-service"

#include "config.h"

#include "cf-dbus-generated.h"
#include "cf-dbus-service.h"
#include "cf-json.h"
#include "cf-mcp-server.h"

/**
 * CfDbusService:
 *
 * The daemon's `org.contextforge.Gateway` object: a thin adapter from the
 * generated skeleton to the service layer, so D-Bus callers see the same
 * catalog and the same checks as REST callers.
 */
struct _CfDbusService
{
  GObject         parent_instance;

  CfDaemon       *daemon;
  CfDbusGateway  *skeleton;
  CfGateway      *gateway;
  gulong          changed_id;
};

G_DEFINE_FINAL_TYPE (CfDbusService, cf_dbus_service, G_TYPE_OBJECT)

static const char * const kind_names[] = {
  [CF_ENTITY_TOOL] = "tool",
  [CF_ENTITY_RESOURCE] = "resource",
  [CF_ENTITY_PROMPT] = "prompt",
  [CF_ENTITY_SERVER] = "server",
  [CF_ENTITY_GATEWAY] = "gateway",
};

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
    {
      g_autoptr(CfCatalogSnapshot) snapshot =
        cf_catalog_get_snapshot (cf_gateway_get_catalog (self->gateway));
      static const char * const counts[] = {
        [CF_ENTITY_TOOL] = "tools", [CF_ENTITY_RESOURCE] = "resources",
        [CF_ENTITY_PROMPT] = "prompts", [CF_ENTITY_SERVER] = "servers",
        [CF_ENTITY_GATEWAY] = "gateways",
      };

      for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
        g_variant_builder_add (&builder, "{sv}", counts[k],
                               g_variant_new_uint32 (cf_catalog_snapshot_list (snapshot, k)->len));
      g_variant_builder_add (&builder, "{sv}", "sessions",
                             g_variant_new_uint32 (cf_mcp_server_get_n_sessions (
                                 cf_gateway_get_server (self->gateway))));
    }

  cf_dbus_gateway_complete_get_status (skeleton, invocation, g_variant_builder_end (&builder));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_list_tools (CfDbusGateway         *skeleton,
                   GDBusMethodInvocation *invocation,
                   CfDbusService         *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  GVariantBuilder tools;
  GPtrArray *list;

  if (self->gateway == NULL)
    {
      g_dbus_method_invocation_return_error_literal (invocation, G_DBUS_ERROR,
                                                     G_DBUS_ERROR_FAILED,
                                                     "The gateway is still starting");
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  snapshot = cf_catalog_get_snapshot (cf_gateway_get_catalog (self->gateway));
  list = cf_catalog_snapshot_list (snapshot, CF_ENTITY_TOOL);
  g_variant_builder_init (&tools, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < list->len; i++)
    {
      JsonObject *tool = list->pdata[i];
      GVariantBuilder entry;

      g_variant_builder_init (&entry, G_VARIANT_TYPE_VARDICT);
      g_variant_builder_add (&entry, "{sv}", "id",
                             g_variant_new_string (cf_json_object_get_string (tool, "id")));
      g_variant_builder_add (&entry, "{sv}", "name",
                             g_variant_new_string (cf_json_object_get_string (tool, "name")));
      g_variant_builder_add (&entry, "{sv}", "description",
                             g_variant_new_string (cf_json_object_get_string (tool, "description") ?: ""));
      g_variant_builder_add (&entry, "{sv}", "integration-type",
                             g_variant_new_string (cf_json_object_get_string (tool, "integrationType") ?: ""));
      g_variant_builder_add (&entry, "{sv}", "enabled",
                             g_variant_new_boolean (cf_json_object_get_bool (tool, "enabled", TRUE)));
      g_variant_builder_add_value (&tools, g_variant_builder_end (&entry));
    }

  cf_dbus_gateway_complete_list_tools (skeleton, invocation, g_variant_builder_end (&tools));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_catalog_changed (CfCatalog     *catalog,
                    guint          kind,
                    CfDbusService *self)
{
  if (kind < CF_N_ENTITY_KINDS)
    cf_dbus_gateway_emit_catalog_changed (self->skeleton, kind_names[kind]);
}

static void
cf_dbus_service_dispose (GObject *object)
{
  CfDbusService *self = (CfDbusService *) object;

  if (self->gateway != NULL)
    g_clear_signal_handler (&self->changed_id, cf_gateway_get_catalog (self->gateway));
  g_clear_object (&self->gateway);
  if (self->skeleton != NULL)
    g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
  g_clear_object (&self->skeleton);

  G_OBJECT_CLASS (cf_dbus_service_parent_class)->dispose (object);
}

static void
cf_dbus_service_class_init (CfDbusServiceClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cf_dbus_service_dispose;
}

static void
cf_dbus_service_init (CfDbusService *self)
{
  self->skeleton = cf_dbus_gateway_skeleton_new ();
  cf_dbus_gateway_set_version (self->skeleton, PACKAGE_VERSION);
  g_signal_connect (self->skeleton, "handle-get-status", G_CALLBACK (handle_get_status), self);
  g_signal_connect (self->skeleton, "handle-list-tools", G_CALLBACK (handle_list_tools), self);
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

  g_dbus_interface_skeleton_unexport (G_DBUS_INTERFACE_SKELETON (self->skeleton));
}

/**
 * cf_dbus_service_attach:
 * @self: a #CfDbusService
 * @gateway: the running gateway
 *
 * D-Bus registration happens before the gateway starts; calls that need
 * it answer once it is attached.
 */
void
cf_dbus_service_attach (CfDbusService *self,
                        CfGateway     *gateway)
{
  g_return_if_fail (CF_IS_DBUS_SERVICE (self));

  g_set_object (&self->gateway, gateway);
  self->changed_id = g_signal_connect (cf_gateway_get_catalog (gateway), "changed",
                                       G_CALLBACK (on_catalog_changed), self);
  cf_dbus_gateway_set_listen_url (self->skeleton, cf_daemon_get_listen_url (self->daemon));
}
