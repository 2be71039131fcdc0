/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http-server.h"
#include "cf-teams.h"

G_BEGIN_DECLS

/**
 * CfRbacRoute:
 * @method: an HTTP method (HEAD goes as GET), or "*" for any
 * @pattern: the path without its `/v1` prefix; "{}" matches one segment
 * @permission: (nullable): what the route needs; %NULL: any caller
 *   the auth step let through
 * @external: whether another part of the gateway serves the route (the
 *   token routes), so that tests of the table skip it
 *
 * One row of the guard's table, the one place that says what each REST
 * route needs.
 */
typedef struct {
  const char *method;
  const char *pattern;
  const char *permission;
  gboolean    external;
} CfRbacRoute;

const CfRbacRoute *cf_rbac_get_routes        (guint              *n_routes);
const CfRbacRoute *cf_rbac_find_route        (const char         *method,
                                              const char         *path);
gboolean           cf_rbac_route_matches     (const CfRbacRoute  *route,
                                              const char         *method,
                                              const char         *path);

#define CF_TYPE_TEAMS_HTTP (cf_teams_http_get_type ())
G_DECLARE_FINAL_TYPE (CfTeamsHttp, cf_teams_http, CF, TEAMS_HTTP, GObject)

CfTeamsHttp       *cf_teams_http_new          (CfTeams            *teams);
void               cf_teams_http_install      (CfTeamsHttp        *self,
                                               CfHttpServer       *http);
void               cf_teams_http_respond_forbidden (CfHttpExchange    *exchange,
                                                    const char        *permission);

G_END_DECLS
