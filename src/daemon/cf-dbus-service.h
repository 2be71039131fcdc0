/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-daemon.h"

G_BEGIN_DECLS

#define CF_DBUS_SERVICE_ERROR (cf_dbus_service_error_quark ())

/**
 * CfDbusServiceError:
 * @CF_DBUS_SERVICE_ERROR_NOT_FOUND: no entity with that id
 *   (`org.contextforge.Gateway.Error.NotFound`)
 * @CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT: the input failed validation; the
 *   message lists the problems (`org.contextforge.Gateway.Error.InvalidArgument`)
 * @CF_DBUS_SERVICE_ERROR_CONFLICT: a name or id is taken, or the entity's
 *   state does not allow the call (`org.contextforge.Gateway.Error.Conflict`)
 * @CF_DBUS_SERVICE_ERROR_FAILED: anything else
 *   (`org.contextforge.Gateway.Error.Failed`)
 *
 * The errors of `org.contextforge.Gateway`, registered as D-Bus error
 * names so that callers see them by name.
 */
typedef enum {
  CF_DBUS_SERVICE_ERROR_NOT_FOUND,
  CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT,
  CF_DBUS_SERVICE_ERROR_CONFLICT,
  CF_DBUS_SERVICE_ERROR_FAILED,
} CfDbusServiceError;

#define CF_TYPE_DBUS_SERVICE (cf_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (CfDbusService, cf_dbus_service, CF, DBUS_SERVICE, GObject)

GQuark         cf_dbus_service_error_quark (void);

CfDbusService *cf_dbus_service_new       (CfDaemon         *daemon);
gboolean       cf_dbus_service_export    (CfDbusService    *self,
                                          GDBusConnection  *connection,
                                          const char       *object_path,
                                          GError          **error);
void           cf_dbus_service_unexport  (CfDbusService    *self);
void           cf_dbus_service_attach    (CfDbusService    *self,
                                          CfGateway        *gateway,
                                          CfUpstreamPool   *pool);

G_END_DECLS
