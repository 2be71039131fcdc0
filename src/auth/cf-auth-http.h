/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-auth.h"
#include "cf-http-server.h"
#include "cf-streamable-http.h"

G_BEGIN_DECLS

#define CF_TYPE_AUTH_HTTP (cf_auth_http_get_type ())
G_DECLARE_FINAL_TYPE (CfAuthHttp, cf_auth_http, CF, AUTH_HTTP, GObject)

CfAuthHttp *cf_auth_http_new                     (CfAuth             *auth,
                                                  CfScopeLookupFunc   lookup,
                                                  gpointer            lookup_data);
void        cf_auth_http_install                 (CfAuthHttp         *self,
                                                  CfHttpServer       *http);
gboolean    cf_auth_http_is_open_path            (const char         *path);
char       *cf_auth_http_resource_metadata_url   (CfHttpExchange     *exchange);

G_END_DECLS
