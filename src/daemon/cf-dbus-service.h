/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-daemon.h"

G_BEGIN_DECLS

#define CF_TYPE_DBUS_SERVICE (cf_dbus_service_get_type ())
G_DECLARE_FINAL_TYPE (CfDbusService, cf_dbus_service, CF, DBUS_SERVICE, GObject)

CfDbusService *cf_dbus_service_new       (CfDaemon         *daemon);
gboolean       cf_dbus_service_export    (CfDbusService    *self,
                                          GDBusConnection  *connection,
                                          const char       *object_path,
                                          GError          **error);
void           cf_dbus_service_unexport  (CfDbusService    *self);
void           cf_dbus_service_attach    (CfDbusService    *self,
                                          CfGateway        *gateway);

G_END_DECLS
