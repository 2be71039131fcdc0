/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_ADMIN_DBUS_BACKEND (cf_admin_dbus_backend_get_type ())
G_DECLARE_FINAL_TYPE (CfAdminDbusBackend, cf_admin_dbus_backend, CF, ADMIN_DBUS_BACKEND, GObject)

CfAdminBackend *cf_admin_dbus_backend_new (void);

G_END_DECLS
