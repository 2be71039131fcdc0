/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_ADMIN_WINDOW (cf_admin_window_get_type ())
G_DECLARE_FINAL_TYPE (CfAdminWindow, cf_admin_window, CF, ADMIN_WINDOW, AdwApplicationWindow)

CfAdminWindow *cf_admin_window_new (AdwApplication *application,
                                    CfAdminBackend *backend);
void           cf_admin_window_toast (CfAdminWindow  *self,
                                      const char     *message);

G_END_DECLS
