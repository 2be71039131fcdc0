/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_NEARBY_PAGE (cf_nearby_page_get_type ())
G_DECLARE_FINAL_TYPE (CfNearbyPage, cf_nearby_page, CF, NEARBY_PAGE, AdwBin)

void  cf_nearby_page_set_backend        (CfNearbyPage   *self,
                                         CfAdminBackend *backend);
void  cf_nearby_page_refresh            (CfNearbyPage   *self);
char *cf_nearby_settings_for            (const char     *name,
                                         const char     *auth,
                                         const char     *token);
char *cf_nearby_describe_status         (GVariant       *status);

G_END_DECLS
