/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-upstream-transport.h"

G_BEGIN_DECLS

#define CF_TYPE_UPSTREAM_SSE (cf_upstream_sse_get_type ())
G_DECLARE_FINAL_TYPE (CfUpstreamSse, cf_upstream_sse, CF, UPSTREAM_SSE, CfUpstreamTransport)

CfUpstreamTransport *cf_upstream_sse_new (const char  *url,
                                          SoupSession *session,
                                          GHashTable  *headers);

G_END_DECLS
