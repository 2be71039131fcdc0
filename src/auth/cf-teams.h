/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "cf-identity.h"
#include "cf-rbac.h"
#include "cf-store.h"
#include "cf-store-teams.h"

G_BEGIN_DECLS

#define CF_TYPE_TEAMS (cf_teams_get_type ())
G_DECLARE_FINAL_TYPE (CfTeams, cf_teams, CF, TEAMS, GObject)

CfTeams    *cf_teams_new               (CfStore             *store);
gboolean    cf_teams_start             (CfTeams             *self,
                                        GError             **error);
CfAccess   *cf_teams_get_access        (CfTeams             *self);
gboolean    cf_teams_check             (CfTeams             *self,
                                        CfIdentity          *identity,
                                        const char          *permission,
                                        const char          *team_id);
void        cf_teams_apply_async       (CfTeams             *self,
                                        GPtrArray           *writes,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
CfAccess   *cf_teams_apply_finish      (CfTeams             *self,
                                        GAsyncResult        *result,
                                        GError             **error);
void        cf_teams_ensure_user_async (CfTeams             *self,
                                        const char          *email,
                                        GCancellable        *cancellable,
                                        GAsyncReadyCallback  callback,
                                        gpointer             user_data);
gboolean    cf_teams_ensure_user_finish (CfTeams            *self,
                                        GAsyncResult        *result,
                                        GError             **error);

void        cf_teams_add_user_writes   (CfAccess            *access,
                                        GPtrArray           *writes,
                                        GHashTable          *taken_slugs,
                                        const char          *email,
                                        const char          *full_name,
                                        gboolean             is_admin);
char       *cf_teams_unique_slug       (CfAccess            *access,
                                        GHashTable          *taken_slugs,
                                        const char          *text);
char       *cf_teams_hash_token        (const char          *token);
char       *cf_teams_new_id            (void);

G_END_DECLS
