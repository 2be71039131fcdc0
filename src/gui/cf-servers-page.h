/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_SERVERS_PAGE (cf_servers_page_get_type ())
G_DECLARE_FINAL_TYPE (CfServersPage, cf_servers_page, CF, SERVERS_PAGE, AdwBin)

void cf_servers_page_set_backend (CfServersPage  *self,
                                  CfAdminBackend *backend);

G_END_DECLS
