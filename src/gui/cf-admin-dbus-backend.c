/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-dbus-backend"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-admin-dbus-backend.h"

#define BUS_NAME "org.contextforge.Gateway"
#define OBJECT_PATH "/org/contextforge/Gateway"
#define INTERFACE_NAME "org.contextforge.Gateway"
/* Long enough for a tool call, which the gateway bounds itself. */
#define CALL_TIMEOUT_MS (5 * 60 * 1000)

/**
 * CfAdminDbusBackend:
 *
 * The local gateway daemon on the session bus. The first call starts it
 * by D-Bus activation; its signals become the backend's.
 */
struct _CfAdminDbusBackend
{
  GObject     parent_instance;

  GDBusProxy *proxy;
  GError     *proxy_error;
  GQueue      waiting;     /* GTasks for calls made before the proxy exists */
};

static void backend_iface_init (CfAdminBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfAdminDbusBackend, cf_admin_dbus_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_ADMIN_BACKEND, backend_iface_init))

typedef struct {
  char     *method;
  GVariant *parameters;
} CallData;

static void
call_data_free (CallData *data)
{
  g_free (data->method);
  g_clear_pointer (&data->parameters, g_variant_unref);
  g_free (data);
}

static void
on_called (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(GError) error = NULL;
  GVariant *reply = g_dbus_proxy_call_finish (G_DBUS_PROXY (source), result, &error);

  if (reply == NULL)
    {
      /* The server's own words, without the D-Bus error name. */
      g_dbus_error_strip_remote_error (error);
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  g_task_return_pointer (task, reply, (GDestroyNotify) g_variant_unref);
}

static void
start_call (CfAdminDbusBackend *self,
            GTask              *task)
{
  CallData *data = g_task_get_task_data (task);

  if (self->proxy == NULL)
    {
      g_task_return_error (task, g_error_copy (self->proxy_error));
      g_object_unref (task);
      return;
    }
  g_dbus_proxy_call (self->proxy, data->method, data->parameters, G_DBUS_CALL_FLAGS_NONE,
                     CALL_TIMEOUT_MS, g_task_get_cancellable (task), on_called, task);
}

static void
on_signal (GDBusProxy         *proxy,
           const char         *sender,
           const char         *name,
           GVariant           *parameters,
           CfAdminDbusBackend *self)
{
  /* TenancyChanged ("teams", "tokens") is a catalog change like any. */
  if ((g_str_equal (name, "CatalogChanged") || g_str_equal (name, "TenancyChanged")) &&
      g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(s)")))
    {
      const char *kind = NULL;

      g_variant_get (parameters, "(&s)", &kind);
      cf_admin_backend_emit_catalog_changed (CF_ADMIN_BACKEND (self), kind);
    }
  else if (g_str_equal (name, "GatewayHealthChanged") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(sbs)")))
    {
      const char *id = NULL;
      const char *message = NULL;
      gboolean reachable = FALSE;

      g_variant_get (parameters, "(&sb&s)", &id, &reachable, &message);
      cf_admin_backend_emit_health_changed (CF_ADMIN_BACKEND (self), id, reachable, message);
    }
  else if ((g_str_equal (name, "NearbyGatewayAppeared") ||
            g_str_equal (name, "NearbyGatewayDisappeared")) &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(s)")))
    {
      const char *id = NULL;

      g_variant_get (parameters, "(&s)", &id);
      cf_admin_backend_emit_nearby_changed (CF_ADMIN_BACKEND (self), id,
                                            g_str_equal (name, "NearbyGatewayAppeared"));
    }
  else if (g_str_equal (name, "DiscoveryChanged") &&
           g_variant_is_of_type (parameters, G_VARIANT_TYPE ("(a{sv})")))
    {
      g_autoptr(GVariant) status = g_variant_get_child_value (parameters, 0);

      cf_admin_backend_emit_discovery_changed (CF_ADMIN_BACKEND (self), status);
    }
}

static void
on_proxy_ready (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CfAdminDbusBackend) self = user_data;
  GTask *task;

  self->proxy = g_dbus_proxy_new_for_bus_finish (result, &self->proxy_error);
  if (self->proxy != NULL)
    g_signal_connect_object (self->proxy, "g-signal", G_CALLBACK (on_signal), self, 0);
  while ((task = g_queue_pop_head (&self->waiting)) != NULL)
    start_call (self, task);
}

static void
dbus_call_async (CfAdminBackend      *backend,
                 const char          *method,
                 GVariant            *parameters,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  CfAdminDbusBackend *self = CF_ADMIN_DBUS_BACKEND (backend);
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  CallData *data = g_new0 (CallData, 1);

  g_task_set_source_tag (task, dbus_call_async);
  data->method = g_strdup (method);
  data->parameters = parameters ? g_variant_ref_sink (parameters) : NULL;
  g_task_set_task_data (task, data, (GDestroyNotify) call_data_free);

  if (self->proxy == NULL && self->proxy_error == NULL)
    g_queue_push_tail (&self->waiting, task);
  else
    start_call (self, task);
}

static GVariant *
dbus_call_finish (CfAdminBackend  *backend,
                  GAsyncResult    *result,
                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static char *
dbus_describe (CfAdminBackend *backend)
{
  return g_strdup (_("This computer’s gateway"));
}

static void
backend_iface_init (CfAdminBackendInterface *iface)
{
  iface->call_async = dbus_call_async;
  iface->call_finish = dbus_call_finish;
  iface->describe = dbus_describe;
}

static void
cf_admin_dbus_backend_finalize (GObject *object)
{
  CfAdminDbusBackend *self = (CfAdminDbusBackend *) object;

  g_assert (g_queue_is_empty (&self->waiting));
  g_clear_object (&self->proxy);
  g_clear_error (&self->proxy_error);

  G_OBJECT_CLASS (cf_admin_dbus_backend_parent_class)->finalize (object);
}

static void
cf_admin_dbus_backend_class_init (CfAdminDbusBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_admin_dbus_backend_finalize;
}

static void
cf_admin_dbus_backend_init (CfAdminDbusBackend *self)
{
  g_queue_init (&self->waiting);
}

/**
 * cf_admin_dbus_backend_new:
 *
 * Connects to the gateway on the session bus; the daemon starts on the
 * first call if it is not running.
 *
 * Returns: (transfer full): a new #CfAdminBackend
 */
CfAdminBackend *
cf_admin_dbus_backend_new (void)
{
  CfAdminDbusBackend *self = g_object_new (CF_TYPE_ADMIN_DBUS_BACKEND, NULL);

  /* No properties to load: they would need the daemon before the first
   * call, and activation is the first call's job. */
  g_dbus_proxy_new_for_bus (G_BUS_TYPE_SESSION,
                            G_DBUS_PROXY_FLAGS_DO_NOT_LOAD_PROPERTIES,
                            NULL, BUS_NAME, OBJECT_PATH, INTERFACE_NAME, NULL,
                            on_proxy_ready, g_object_ref (self));
  return CF_ADMIN_BACKEND (self);
}
