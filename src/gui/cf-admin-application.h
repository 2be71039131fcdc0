/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

#define CF_TYPE_ADMIN_APPLICATION (cf_admin_application_get_type ())
G_DECLARE_FINAL_TYPE (CfAdminApplication, cf_admin_application, CF, ADMIN_APPLICATION,
                      AdwApplication)

CfAdminApplication *cf_admin_application_new (void);

G_END_DECLS
