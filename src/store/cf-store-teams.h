/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-store.h"

G_BEGIN_DECLS

/**
 * CfStoreTenancyOp:
 * @CF_STORE_TEAM_INSERT: id, name, slug, description, created_by,
 *   is_personal ("0"/"1"), visibility, max_members (nullable)
 * @CF_STORE_TEAM_UPDATE: id, name, slug, description, visibility,
 *   max_members; fails with NOT_FOUND when the team is gone
 * @CF_STORE_TEAM_DELETE: id (members, invitations and team roles go too)
 * @CF_STORE_MEMBER_ADD: team_id, user_email, role, invited_by; fails with
 *   CONSTRAINT when the team is full or the user is already a member
 * @CF_STORE_MEMBER_SET_ROLE: team_id, user_email, role
 * @CF_STORE_MEMBER_REMOVE: team_id, user_email
 * @CF_STORE_INVITATION_INSERT: id, team_id, email, role, invited_by,
 *   token_hash, expires_at
 * @CF_STORE_INVITATION_CLOSE: id; fails with NOT_FOUND when it is not
 *   active any more, so that one invitation is used once
 * @CF_STORE_ROLE_PUT: id, name, description, scope, permissions (JSON
 *   text), inherits_from, is_system_role, created_by; an existing id is
 *   updated
 * @CF_STORE_ROLE_DELETE: id
 * @CF_STORE_USER_ROLE_ADD: id, user_email, role_id, scope, scope_id,
 *   granted_by; an existing assignment is left alone
 * @CF_STORE_USER_ROLE_REMOVE: user_email, role_id, scope_id (nullable:
 *   every scope)
 * @CF_STORE_USER_ROLE_CLEAR: user_email, scope_id: every role of the
 *   user in that team, if any
 * @CF_STORE_JOIN_REQUEST_INSERT: id, team_id, user_email, message; fails
 *   with CONSTRAINT when one of the user's is pending already
 * @CF_STORE_JOIN_REQUEST_CLOSE: id, status (approved, rejected or
 *   withdrawn), reviewed_by; fails with NOT_FOUND when it is not pending
 *   any more, so that one request is settled once
 *
 * The writes to the tenancy tables (migrations 0005 and 0007). Each takes its text
 * parameters in the order listed.
 */
typedef enum {
  CF_STORE_TEAM_INSERT,
  CF_STORE_TEAM_UPDATE,
  CF_STORE_TEAM_DELETE,
  CF_STORE_MEMBER_ADD,
  CF_STORE_MEMBER_SET_ROLE,
  CF_STORE_MEMBER_REMOVE,
  CF_STORE_INVITATION_INSERT,
  CF_STORE_INVITATION_CLOSE,
  CF_STORE_ROLE_PUT,
  CF_STORE_ROLE_DELETE,
  CF_STORE_USER_ROLE_ADD,
  CF_STORE_USER_ROLE_REMOVE,
  CF_STORE_USER_ROLE_CLEAR,
  CF_STORE_JOIN_REQUEST_INSERT,
  CF_STORE_JOIN_REQUEST_CLOSE,
  CF_STORE_N_TENANCY_OPS
} CfStoreTenancyOp;

typedef struct _CfStoreTenancyWrite CfStoreTenancyWrite;

/* Tenancy (teams, members, invitations, roles and their assignments), in
 * cf-store-teams.c. */
CfStoreTenancyWrite *cf_store_tenancy_write_new (CfStoreTenancyOp      op,
                                          ...);
void          cf_store_tenancy_write_free (CfStoreTenancyWrite *write);
void          cf_store_tenancy_apply_async (CfStore            *self,
                                          GPtrArray            *writes,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
JsonObject   *cf_store_tenancy_apply_finish (CfStore           *self,
                                          GAsyncResult         *result,
                                          GError              **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfStoreTenancyWrite, cf_store_tenancy_write_free)

G_END_DECLS
