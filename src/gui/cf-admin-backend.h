/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CF_TYPE_ADMIN_BACKEND (cf_admin_backend_get_type ())
G_DECLARE_INTERFACE (CfAdminBackend, cf_admin_backend, CF, ADMIN_BACKEND, GObject)

/**
 * CfAdminBackendInterface:
 * @call_async: starts a call of one method of the org.contextforge.Gateway
 *   D-Bus interface, by its name and with its in-arguments as a tuple
 * @call_finish: the out-arguments as a tuple, or %NULL with the server's
 *   message in the error
 * @describe: a short, translated description of where the gateway is
 *
 * What the admin app's pages talk to: the local daemon over D-Bus, or a
 * remote gateway. The vocabulary is the D-Bus interface's, so that every
 * page speaks one language whatever the transport.
 */
struct _CfAdminBackendInterface
{
  GTypeInterface parent_iface;

  void      (*call_async)  (CfAdminBackend      *self,
                            const char          *method,
                            GVariant            *parameters,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data);
  GVariant *(*call_finish) (CfAdminBackend      *self,
                            GAsyncResult        *result,
                            GError             **error);
  char     *(*describe)    (CfAdminBackend      *self);
};

void      cf_admin_backend_call_async      (CfAdminBackend      *self,
                                            const char          *method,
                                            GVariant            *parameters,
                                            GCancellable        *cancellable,
                                            GAsyncReadyCallback  callback,
                                            gpointer             user_data);
GVariant *cf_admin_backend_call_finish     (CfAdminBackend      *self,
                                            GAsyncResult        *result,
                                            GError             **error);
char     *cf_admin_backend_describe        (CfAdminBackend      *self);
void      cf_admin_backend_emit_catalog_changed (CfAdminBackend *self,
                                                 const char     *kind);
void      cf_admin_backend_emit_health_changed  (CfAdminBackend *self,
                                                 const char     *id,
                                                 gboolean        reachable,
                                                 const char     *message);
void      cf_admin_backend_emit_nearby_changed  (CfAdminBackend *self,
                                                 const char     *id,
                                                 gboolean        appeared);
void      cf_admin_backend_emit_discovery_changed (CfAdminBackend *self,
                                                   GVariant       *status);
gboolean  cf_admin_error_is_unknown_method (const GError        *error);

G_END_DECLS
