/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include <stdarg.h>

#include "cf-store-private.h"
#include "cf-store-teams.h"

/*
 * The tenancy tables (migration 0005): email_teams, email_team_members,
 * email_team_invitations, roles and user_roles. They are small and the
 * gateway keeps all of them in memory (the access snapshot of
 * src/auth/cf-teams.c), so there is one read, of everything, and one
 * write: a batch of the operations below in one transaction, after which
 * everything is read again in the same visit to the owner thread.
 */

#define NOW_SQL "strftime ('%Y-%m-%dT%H:%M:%fZ', 'now')"

typedef struct {
  const char *sql;
  guint       n_params;
  /* When the statement changes no row, the batch fails with this. */
  int         unchanged_code;
  const char *unchanged_message;
} OpInfo;

#define NO_CHECK -1

static const OpInfo ops[CF_STORE_N_TENANCY_OPS] = {
  [CF_STORE_TEAM_INSERT] = {
    "INSERT INTO email_teams (id, name, slug, description, created_by, is_personal, visibility,"
    " max_members, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, CAST (?6 AS INTEGER), ?7,"
    " CAST (?8 AS INTEGER), " NOW_SQL ", " NOW_SQL ")",
    8, NO_CHECK, NULL },
  [CF_STORE_TEAM_UPDATE] = {
    "UPDATE email_teams SET name = ?2, slug = ?3, description = ?4, visibility = ?5,"
    " max_members = CAST (?6 AS INTEGER), updated_at = " NOW_SQL " WHERE id = ?1",
    6, CF_STORE_ERROR_NOT_FOUND, "No such team" },
  [CF_STORE_TEAM_DELETE] = {
    "DELETE FROM email_teams WHERE id = ?1",
    1, CF_STORE_ERROR_NOT_FOUND, "No such team" },
  /* The size check sits in the statement, so that two joins at once
   * cannot both take the last place. */
  [CF_STORE_MEMBER_ADD] = {
    "INSERT INTO email_team_members (team_id, user_email, role, joined_at, invited_by)"
    " SELECT ?1, ?2, ?3, " NOW_SQL ", ?4 FROM email_teams t WHERE t.id = ?1"
    " AND (t.max_members IS NULL OR (SELECT count (*) FROM email_team_members m"
    " WHERE m.team_id = ?1) < t.max_members)"
    " ON CONFLICT (team_id, user_email) DO NOTHING",
    4, CF_STORE_ERROR_CONSTRAINT, "The team is full or the user is already a member" },
  [CF_STORE_MEMBER_SET_ROLE] = {
    "UPDATE email_team_members SET role = ?3 WHERE team_id = ?1 AND user_email = ?2",
    3, CF_STORE_ERROR_NOT_FOUND, "No such member" },
  [CF_STORE_MEMBER_REMOVE] = {
    "DELETE FROM email_team_members WHERE team_id = ?1 AND user_email = ?2",
    2, CF_STORE_ERROR_NOT_FOUND, "No such member" },
  [CF_STORE_INVITATION_INSERT] = {
    "INSERT INTO email_team_invitations (id, team_id, email, role, invited_by, token_hash,"
    " invited_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, " NOW_SQL ", ?7)",
    7, NO_CHECK, NULL },
  [CF_STORE_INVITATION_CLOSE] = {
    "UPDATE email_team_invitations SET is_active = 0 WHERE id = ?1 AND is_active = 1",
    1, CF_STORE_ERROR_NOT_FOUND, "No such invitation" },
  [CF_STORE_ROLE_PUT] = {
    "INSERT INTO roles (id, name, description, scope, permissions, inherits_from,"
    " is_system_role, created_by, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6,"
    " CAST (?7 AS INTEGER), ?8, " NOW_SQL ", " NOW_SQL ") ON CONFLICT (id) DO UPDATE SET"
    " name = excluded.name, description = excluded.description, scope = excluded.scope,"
    " permissions = excluded.permissions, inherits_from = excluded.inherits_from,"
    " updated_at = excluded.updated_at"
    " WHERE roles.name IS NOT excluded.name OR roles.description IS NOT excluded.description"
    " OR roles.scope IS NOT excluded.scope OR roles.permissions IS NOT excluded.permissions"
    " OR roles.inherits_from IS NOT excluded.inherits_from",
    8, NO_CHECK, NULL },
  [CF_STORE_ROLE_DELETE] = {
    "DELETE FROM roles WHERE id = ?1",
    1, CF_STORE_ERROR_NOT_FOUND, "No such role" },
  /* Assigning a role the user has already sets its expiry anew. */
  [CF_STORE_USER_ROLE_ADD] = {
    "INSERT INTO user_roles (id, user_email, role_id, scope, scope_id, granted_by, granted_at,"
    " expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, " NOW_SQL ", ?7)"
    " ON CONFLICT (user_email, role_id, scope, COALESCE (scope_id, ''))"
    " DO UPDATE SET expires_at = excluded.expires_at",
    7, NO_CHECK, NULL },
  [CF_STORE_USER_ROLE_REMOVE] = {
    "DELETE FROM user_roles WHERE user_email = ?1 AND role_id = ?2"
    " AND (?3 IS NULL OR scope_id = ?3)",
    3, CF_STORE_ERROR_NOT_FOUND, "No such role assignment" },
  [CF_STORE_USER_ROLE_CLEAR] = {
    "DELETE FROM user_roles WHERE user_email = ?1 AND scope = 'team' AND scope_id = ?2",
    2, NO_CHECK, NULL },
  [CF_STORE_JOIN_REQUEST_INSERT] = {
    "INSERT INTO email_team_join_requests (id, team_id, user_email, message, requested_at)"
    " VALUES (?1, ?2, ?3, ?4, " NOW_SQL ")",
    4, NO_CHECK, NULL },
  [CF_STORE_JOIN_REQUEST_CLOSE] = {
    "UPDATE email_team_join_requests SET status = ?2, reviewed_at = " NOW_SQL ","
    " reviewed_by = ?3 WHERE id = ?1 AND status = 'pending'",
    3, CF_STORE_ERROR_NOT_FOUND, "No such join request" },
};

#define MAX_PARAMS 8

struct _CfStoreTenancyWrite
{
  CfStoreTenancyOp  op;
  char             *params[MAX_PARAMS];
};

/**
 * cf_store_tenancy_write_new:
 * @op: the operation
 * @...: its text parameters, as many as #CfStoreTenancyOp lists; each may
 *   be %NULL for SQL NULL
 *
 * Returns: (transfer full): one write, for cf_store_tenancy_apply_async()
 */
CfStoreTenancyWrite *
cf_store_tenancy_write_new (CfStoreTenancyOp op,
                            ...)
{
  CfStoreTenancyWrite *write;
  va_list args;

  g_return_val_if_fail (op < CF_STORE_N_TENANCY_OPS, NULL);

  write = g_new0 (CfStoreTenancyWrite, 1);
  write->op = op;
  va_start (args, op);
  for (guint i = 0; i < ops[op].n_params; i++)
    write->params[i] = g_strdup (va_arg (args, const char *));
  va_end (args);
  return write;
}

void
cf_store_tenancy_write_free (CfStoreTenancyWrite *write)
{
  if (write == NULL)
    return;
  for (guint i = 0; i < MAX_PARAMS; i++)
    g_free (write->params[i]);
  g_free (write);
}

static gboolean
load_table (CfStoreDb   *db,
            JsonObject  *state,
            const char  *member,
            const char  *sql,
            GError     **error)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonArray *array;
  int rc = cf_store_db_exec_texts (db, sql, NULL, 0, rows, NULL);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot read the teams and roles", error);
  array = json_array_sized_new (rows->len);
  for (guint i = 0; i < rows->len; i++)
    json_array_add_object_element (array, json_object_ref (rows->pdata[i]));
  json_object_set_array_member (state, member, array);
  return TRUE;
}

static gboolean
load_state (CfStoreDb  *db,
            GPtrArray  *rows,
            GError    **error)
{
  g_autoptr(JsonObject) state = json_object_new ();

  if (!load_table (db, state, "users",
                   "SELECT email, full_name, is_admin, is_active FROM email_users ORDER BY email",
                   error) ||
      !load_table (db, state, "teams", "SELECT * FROM email_teams ORDER BY name, id", error) ||
      !load_table (db, state, "members",
                   "SELECT * FROM email_team_members ORDER BY team_id, user_email", error) ||
      !load_table (db, state, "invitations",
                   "SELECT * FROM email_team_invitations WHERE is_active = 1"
                   " ORDER BY invited_at, id", error) ||
      !load_table (db, state, "join_requests",
                   "SELECT * FROM email_team_join_requests WHERE status = 'pending'"
                   " ORDER BY requested_at, id", error) ||
      !load_table (db, state, "roles", "SELECT * FROM roles ORDER BY name", error) ||
      !load_table (db, state, "user_roles",
                   "SELECT * FROM user_roles WHERE is_active = 1 ORDER BY user_email, granted_at",
                   error))
    return FALSE;
  g_ptr_array_add (rows, g_steal_pointer (&state));
  return TRUE;
}

static gboolean
end_transaction (CfStoreDb  *db,
                 gboolean    ok,
                 GError    **error)
{
  int rc = cf_store_db_exec_texts (db, ok ? "COMMIT" : "ROLLBACK", NULL, 0, NULL, NULL);

  if (ok && rc != SQLITE_OK)
    {
      cf_store_db_exec_texts (db, "ROLLBACK", NULL, 0, NULL, NULL);
      return cf_store_db_fail (db, rc, "Cannot commit the team change", error);
    }
  return ok;
}

static gboolean
query_apply (CfStoreDb  *db,
             gpointer    data,
             GPtrArray  *rows,
             GError    **error)
{
  GPtrArray *writes = data;
  int rc;

  if (writes != NULL && writes->len > 0)
    {
      rc = cf_store_db_exec_texts (db, "BEGIN IMMEDIATE", NULL, 0, NULL, NULL);
      if (rc != SQLITE_OK)
        return cf_store_db_fail (db, rc, "Cannot start a transaction", error);
      for (guint i = 0; i < writes->len; i++)
        {
          CfStoreTenancyWrite *write = writes->pdata[i];
          const OpInfo *info = &ops[write->op];
          guint changes = 0;

          rc = cf_store_db_exec_texts (db, info->sql, (const char * const *) write->params,
                                       info->n_params, NULL, &changes);
          if (rc != SQLITE_OK)
            return end_transaction (db, cf_store_db_fail (db, rc, "Cannot change the teams",
                                                          error), error);
          if (changes == 0 && info->unchanged_code != NO_CHECK)
            {
              g_set_error_literal (error, CF_STORE_ERROR, info->unchanged_code,
                                   info->unchanged_message);
              return end_transaction (db, FALSE, error);
            }
        }
      if (!end_transaction (db, TRUE, error))
        return FALSE;
    }
  return load_state (db, rows, error);
}

/**
 * cf_store_tenancy_apply_async:
 * @self: a #CfStore
 * @writes: (element-type CfStoreTenancyWrite) (nullable): the writes, in
 *   order, all or none applied; %NULL or empty only reads
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Applies @writes in one transaction, then reads the tenancy tables. The
 * store takes a reference on @writes; do not change it afterwards.
 */
void
cf_store_tenancy_apply_async (CfStore             *self,
                              GPtrArray           *writes,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_return_if_fail (CF_IS_STORE (self));

  cf_store_submit_query (self, query_apply, writes ? g_ptr_array_ref (writes) : NULL,
                         writes ? (GDestroyNotify) g_ptr_array_unref : NULL,
                         cf_store_tenancy_apply_async, cancellable, callback, user_data);
}

/**
 * cf_store_tenancy_apply_finish:
 * @self: a #CfStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the tables after the writes, as
 *   `{"users", "teams", "members", "invitations", "join_requests", "roles",
 *   "user_roles"}`
 *   arrays of rows (only active invitations and assignments); %NULL with
 *   %CF_STORE_ERROR_CONSTRAINT or %CF_STORE_ERROR_NOT_FOUND when a write
 *   could not apply, and nothing was written
 */
JsonObject *
cf_store_tenancy_apply_finish (CfStore       *self,
                               GAsyncResult  *result,
                               GError       **error)
{
  return cf_store_task_first_row (self, result, cf_store_tenancy_apply_async, error);
}
