/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-identity.h"

G_BEGIN_DECLS

/**
 * CfRbacSystemRole:
 * @name: the role's name, also its id
 * @description: what it is for
 * @scope: "global" or "team"
 * @permissions: (array zero-terminated=1): its permission strings
 *
 * One of the roles the gateway seeds at start.
 */
typedef struct {
  const char         *name;
  const char         *description;
  const char         *scope;
  const char * const *permissions;
} CfRbacSystemRole;

const CfRbacSystemRole *cf_rbac_get_system_roles       (guint              *n_roles);
const CfRbacSystemRole *cf_rbac_find_system_role       (const char         *name);
const char * const     *cf_rbac_get_all_permissions    (void);
gboolean                cf_rbac_permission_is_valid    (const char         *permission);
gboolean                cf_rbac_permissions_grant      (const char * const *granted,
                                                        const char         *permission);

/*
 * CfAccess: an immutable, reference-counted snapshot of the tenancy tables
 * (users, teams, members, invitations, roles, assignments), indexed so that
 * a permission check or a team resolution is a few hash lookups.
 */
typedef struct _CfAccess CfAccess;

CfAccess           *cf_access_new                  (JsonObject         *state);
CfAccess           *cf_access_ref                  (CfAccess           *self);
void                cf_access_unref                (CfAccess           *self);
gint64              cf_access_get_next_expiry      (CfAccess           *self);
JsonObject         *cf_access_get_state            (CfAccess           *self);
JsonObject         *cf_access_lookup_user          (CfAccess           *self,
                                                    const char         *email);
gboolean            cf_access_user_is_admin        (CfAccess           *self,
                                                    const char         *email);
JsonObject         *cf_access_lookup_team          (CfAccess           *self,
                                                    const char         *team_id);
JsonObject         *cf_access_find_team_by_slug    (CfAccess           *self,
                                                    const char         *slug);
const char         *cf_access_get_personal_team    (CfAccess           *self,
                                                    const char         *email);
const char         *cf_access_get_member_role      (CfAccess           *self,
                                                    const char         *team_id,
                                                    const char         *email);
guint               cf_access_get_member_count     (CfAccess           *self,
                                                    const char         *team_id);
GPtrArray          *cf_access_list_members         (CfAccess           *self,
                                                    const char         *team_id);
GPtrArray          *cf_access_list_user_teams      (CfAccess           *self,
                                                    const char         *email);
JsonObject         *cf_access_lookup_role          (CfAccess           *self,
                                                    const char         *id_or_name);
GPtrArray          *cf_access_list_user_roles      (CfAccess           *self,
                                                    const char         *email);
JsonObject         *cf_access_find_invitation      (CfAccess           *self,
                                                    const char         *column,
                                                    const char         *value);
JsonObject         *cf_access_find_join_request    (CfAccess           *self,
                                                    const char         *column,
                                                    const char         *value);
GStrv               cf_access_get_permissions      (CfAccess           *self,
                                                    const char         *email,
                                                    const char         *team_id);

gboolean            cf_rbac_check                  (CfAccess           *access,
                                                    CfIdentity         *identity,
                                                    const char         *permission,
                                                    const char         *team_id);

/**
 * CfViewer:
 * @email: (nullable): the caller's email, owner of its private items
 * @teams: (nullable): the teams whose `team` items the caller sees
 * @all: sees everything (no authentication required, local use)
 * @bypass: an admin's bypass: every public and team item, but only its
 *   own private ones
 * @public_only: sees public items only, not even its own private ones
 *
 * What one request may see (layer 1 of ContextForge's enforcement),
 * resolved once per request by cf_viewer_init().
 */
typedef struct {
  const char *email;
  GHashTable *teams;
  guint       all : 1;
  guint       bypass : 1;
  guint       public_only : 1;
} CfViewer;

void                cf_viewer_init                 (CfViewer           *viewer,
                                                    CfAccess           *access,
                                                    CfIdentity         *identity);
void                cf_viewer_clear                (CfViewer           *viewer);
gboolean            cf_viewer_sees                 (const CfViewer     *viewer,
                                                    const char         *visibility,
                                                    const char         *team_id,
                                                    const char         *owner_email);
gboolean            cf_viewer_sees_entity          (const CfViewer     *viewer,
                                                    JsonObject         *entity);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfAccess, cf_access_unref)
G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (CfViewer, cf_viewer_clear)

G_END_DECLS
