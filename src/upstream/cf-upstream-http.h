/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-upstream-transport.h"

G_BEGIN_DECLS

#define CF_TYPE_UPSTREAM_HTTP (cf_upstream_http_get_type ())
G_DECLARE_FINAL_TYPE (CfUpstreamHttp, cf_upstream_http, CF, UPSTREAM_HTTP, CfUpstreamTransport)

CfUpstreamTransport *cf_upstream_http_new        (const char  *url,
                                                  SoupSession *session,
                                                  GHashTable  *headers);
void                 cf_upstream_http_set_param_headers (CfUpstreamHttp *self,
                                                        GHashTable     *table);

G_END_DECLS
