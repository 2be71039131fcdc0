/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-backend"

#include "config.h"

#include "cf-admin-backend.h"

enum {
  CATALOG_CHANGED,
  HEALTH_CHANGED,
  NEARBY_CHANGED,
  DISCOVERY_CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_INTERFACE (CfAdminBackend, cf_admin_backend, G_TYPE_OBJECT)

static void
cf_admin_backend_default_init (CfAdminBackendInterface *iface)
{
  /**
   * CfAdminBackend::catalog-changed:
   * @kind: "tool", "resource", "prompt", "server" or "gateway"; or
   *   "teams" or "tokens"
   */
  signals[CATALOG_CHANGED] =
    g_signal_new ("catalog-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * CfAdminBackend::health-changed:
   * @id: the upstream gateway
   * @reachable: whether it answers now
   * @message: why
   */
  signals[HEALTH_CHANGED] =
    g_signal_new ("health-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 3, G_TYPE_STRING, G_TYPE_BOOLEAN,
                  G_TYPE_STRING);
  /**
   * CfAdminBackend::nearby-changed:
   * @id: a gateway on the local network
   * @appeared: whether it appeared, or went away
   */
  signals[NEARBY_CHANGED] =
    g_signal_new ("nearby-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 2, G_TYPE_STRING, G_TYPE_BOOLEAN);
  /**
   * CfAdminBackend::discovery-changed:
   * @status: discovery's state, as GetDiscovery answers it (an a{sv})
   */
  signals[DISCOVERY_CHANGED] =
    g_signal_new ("discovery-changed", G_TYPE_FROM_INTERFACE (iface), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_VARIANT);
}

/**
 * cf_admin_backend_call_async:
 * @self: a #CfAdminBackend
 * @method: a method of org.contextforge.Gateway, such as "ListTools"
 * @parameters: (nullable): its in-arguments as a tuple; floating
 *   references are sunk
 * @cancellable: (nullable): a #GCancellable
 * @callback: called when the call is done
 * @user_data: closure data
 */
void
cf_admin_backend_call_async (CfAdminBackend      *self,
                             const char          *method,
                             GVariant            *parameters,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (CF_IS_ADMIN_BACKEND (self));
  g_return_if_fail (method != NULL);

  CF_ADMIN_BACKEND_GET_IFACE (self)->call_async (self, method, parameters, cancellable,
                                                 callback, user_data);
}

/**
 * cf_admin_backend_call_finish:
 * @self: a #CfAdminBackend
 * @result: the #GAsyncResult
 * @error: return location for the server's error
 *
 * Returns: (transfer full) (nullable): the out-arguments as a tuple
 */
GVariant *
cf_admin_backend_call_finish (CfAdminBackend  *self,
                              GAsyncResult    *result,
                              GError         **error)
{
  g_return_val_if_fail (CF_IS_ADMIN_BACKEND (self), NULL);

  return CF_ADMIN_BACKEND_GET_IFACE (self)->call_finish (self, result, error);
}

/**
 * cf_admin_backend_describe:
 * @self: a #CfAdminBackend
 *
 * Returns: (transfer full): where the gateway is, for people
 */
char *
cf_admin_backend_describe (CfAdminBackend *self)
{
  g_return_val_if_fail (CF_IS_ADMIN_BACKEND (self), NULL);

  return CF_ADMIN_BACKEND_GET_IFACE (self)->describe (self);
}

void
cf_admin_backend_emit_catalog_changed (CfAdminBackend *self,
                                       const char     *kind)
{
  g_return_if_fail (CF_IS_ADMIN_BACKEND (self));

  g_signal_emit (self, signals[CATALOG_CHANGED], 0, kind);
}

void
cf_admin_backend_emit_health_changed (CfAdminBackend *self,
                                      const char     *id,
                                      gboolean        reachable,
                                      const char     *message)
{
  g_return_if_fail (CF_IS_ADMIN_BACKEND (self));

  g_signal_emit (self, signals[HEALTH_CHANGED], 0, id, reachable, message);
}

/**
 * cf_admin_backend_emit_nearby_changed:
 * @self: a #CfAdminBackend
 * @id: the nearby gateway
 * @appeared: whether it appeared, or went away
 */
void
cf_admin_backend_emit_nearby_changed (CfAdminBackend *self,
                                      const char     *id,
                                      gboolean        appeared)
{
  g_return_if_fail (CF_IS_ADMIN_BACKEND (self));

  g_signal_emit (self, signals[NEARBY_CHANGED], 0, id, appeared);
}

/**
 * cf_admin_backend_emit_discovery_changed:
 * @self: a #CfAdminBackend
 * @status: discovery's state, an a{sv}
 */
void
cf_admin_backend_emit_discovery_changed (CfAdminBackend *self,
                                         GVariant       *status)
{
  g_return_if_fail (CF_IS_ADMIN_BACKEND (self));
  g_return_if_fail (g_variant_is_of_type (status, G_VARIANT_TYPE_VARDICT));

  g_signal_emit (self, signals[DISCOVERY_CHANGED], 0, status);
}

/**
 * cf_admin_error_is_unknown_method:
 * @error: an error from cf_admin_backend_call_finish()
 *
 * Returns: whether the gateway does not know the method: an older
 *   version of it
 */
gboolean
cf_admin_error_is_unknown_method (const GError *error)
{
  return g_error_matches (error, G_DBUS_ERROR, G_DBUS_ERROR_UNKNOWN_METHOD) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED);
}
