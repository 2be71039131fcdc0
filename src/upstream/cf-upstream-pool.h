/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog.h"
#include "cf-mcp-client.h"

G_BEGIN_DECLS

#define CF_TYPE_UPSTREAM_POOL (cf_upstream_pool_get_type ())
G_DECLARE_FINAL_TYPE (CfUpstreamPool, cf_upstream_pool, CF, UPSTREAM_POOL, GObject)

CfUpstreamPool *cf_upstream_pool_new        (CfCatalog      *catalog,
                                             const char     *separator);
void            cf_upstream_pool_start      (CfUpstreamPool *self);
void            cf_upstream_pool_stop       (CfUpstreamPool *self);
CfMcpClient    *cf_upstream_pool_get_client (CfUpstreamPool *self,
                                             const char     *gateway_id);
gboolean        cf_upstream_pool_refresh    (CfUpstreamPool *self,
                                             const char     *gateway_id);
void            cf_upstream_pool_set_timeout (CfUpstreamPool *self,
                                             guint           msec);

G_END_DECLS
