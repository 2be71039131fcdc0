/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_TEAMS_PAGE (cf_teams_page_get_type ())
G_DECLARE_FINAL_TYPE (CfTeamsPage, cf_teams_page, CF, TEAMS_PAGE, AdwBin)

void cf_teams_page_set_backend (CfTeamsPage    *self,
                                CfAdminBackend *backend);

G_END_DECLS
