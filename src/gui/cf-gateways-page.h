/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_GATEWAYS_PAGE (cf_gateways_page_get_type ())
G_DECLARE_FINAL_TYPE (CfGatewaysPage, cf_gateways_page, CF, GATEWAYS_PAGE, AdwBin)

void  cf_gateways_page_set_backend  (CfGatewaysPage  *self,
                                     CfAdminBackend  *backend);
char *cf_gateways_settings_for      (const char      *name,
                                     const char      *target,
                                     GError         **error);

G_END_DECLS
