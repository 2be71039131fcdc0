/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_OVERVIEW_PAGE (cf_overview_page_get_type ())
G_DECLARE_FINAL_TYPE (CfOverviewPage, cf_overview_page, CF, OVERVIEW_PAGE, AdwBin)

void  cf_overview_page_set_backend      (CfOverviewPage *self,
                                         CfAdminBackend *backend);
char *cf_overview_claude_snippet        (const char     *endpoint);
char *cf_overview_vscode_snippet        (const char     *endpoint);

G_END_DECLS
