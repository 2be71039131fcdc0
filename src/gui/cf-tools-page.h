/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_TOOLS_PAGE (cf_tools_page_get_type ())
G_DECLARE_FINAL_TYPE (CfToolsPage, cf_tools_page, CF, TOOLS_PAGE, AdwBin)

void cf_tools_page_set_backend (CfToolsPage    *self,
                                CfAdminBackend *backend);

G_END_DECLS
