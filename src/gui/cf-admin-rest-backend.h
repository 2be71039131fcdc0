/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_ADMIN_REST_BACKEND (cf_admin_rest_backend_get_type ())
G_DECLARE_FINAL_TYPE (CfAdminRestBackend, cf_admin_rest_backend, CF, ADMIN_REST_BACKEND, GObject)

CfAdminBackend *cf_admin_rest_backend_new (const char *base_url,
                                           const char *token);

G_END_DECLS
