/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-upstream-transport.h"

G_BEGIN_DECLS

#define CF_TYPE_UPSTREAM_WS (cf_upstream_ws_get_type ())
G_DECLARE_FINAL_TYPE (CfUpstreamWs, cf_upstream_ws, CF, UPSTREAM_WS, CfUpstreamTransport)

CfUpstreamTransport *cf_upstream_ws_new (const char  *url,
                                         SoupSession *session,
                                         GHashTable  *headers);

G_END_DECLS
