/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http-server.h"

G_BEGIN_DECLS

#define CF_TYPE_HTTP_SECURITY (cf_http_security_get_type ())
G_DECLARE_FINAL_TYPE (CfHttpSecurity, cf_http_security, CF, HTTP_SECURITY, GObject)

CfHttpSecurity *cf_http_security_new                 (void);
gboolean        cf_http_security_load_env            (CfHttpSecurity      *self,
                                                      const char * const  *environ,
                                                      GError             **error);
void            cf_http_security_set_headers_enabled (CfHttpSecurity      *self,
                                                      gboolean             enabled);
void            cf_http_security_set_cors            (CfHttpSecurity      *self,
                                                      gboolean             enabled,
                                                      const char * const  *origins);
void            cf_http_security_attach              (CfHttpSecurity      *self,
                                                      CfHttpServer        *server);

G_END_DECLS
