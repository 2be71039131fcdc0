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
char                *cf_upstream_http_encode_header_value (const char *value);

G_END_DECLS
