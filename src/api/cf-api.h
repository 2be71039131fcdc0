/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

#include "cf-catalog.h"
#include "cf-discovery.h"
#include "cf-http-server.h"
#include "cf-teams.h"
#include "cf-upstream-pool.h"

G_BEGIN_DECLS

#define CF_TYPE_API (cf_api_get_type ())
G_DECLARE_FINAL_TYPE (CfApi, cf_api, CF, API, GObject)

CfApi *cf_api_new   (CfCatalog    *catalog,
                     const char   *version);
void   cf_api_mount (CfApi        *self,
                     CfHttpServer *http);
void   cf_api_set_upstream_pool (CfApi          *self,
                                 CfUpstreamPool *pool);
void   cf_api_set_discovery     (CfApi          *self,
                                 CfDiscovery    *discovery);
void   cf_api_set_teams         (CfApi          *self,
                                 CfTeams        *teams);

G_END_DECLS
