/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include "cf-store-private.h"

/*
 * The identity tables (migration 0004): email_users and token_revocations.
 * They are not registry entities (the catalog never serves them), so they
 * get typed accessors of their own rather than a row in the entity field
 * tables. Each public call copies its parameters into a small struct on the
 * caller's thread and runs one query function on the owner thread; rows
 * come back as JsonObjects keyed by column name.
 */

#define NOW_SQL "strftime ('%Y-%m-%dT%H:%M:%fZ', 'now')"

typedef struct {
  char     *email;
  char     *password_hash;
  char     *full_name;
  char     *jti;
  char     *reason;
  char     *until;
  gint64    max_failures;
  gboolean  is_admin;
  gboolean  flag;
} Params;

static void
params_free (gpointer data)
{
  Params *params = data;

  g_free (params->email);
  g_free (params->password_hash);
  g_free (params->full_name);
  g_free (params->jti);
  g_free (params->reason);
  g_free (params->until);
  g_free (params);
}

static Params *
params_new (const char *email)
{
  Params *params = g_new0 (Params, 1);

  params->email = g_strdup (email);
  return params;
}

/* Binds text parameters ?1..?n, NULL as SQL NULL. */
static int
bind_texts (sqlite3_stmt        *stmt,
            const char * const  *values,
            guint                n)
{
  int rc = SQLITE_OK;

  for (guint i = 0; rc == SQLITE_OK && i < n; i++)
    rc = values[i] != NULL ? sqlite3_bind_text (stmt, i + 1, values[i], -1, SQLITE_TRANSIENT)
                           : sqlite3_bind_null (stmt, i + 1);
  return rc;
}

/**
 * cf_store_db_exec_texts:
 * @db: a connection
 * @sql: one statement
 * @values: (array length=n) (nullable): its text parameters ?1..?n, %NULL
 *   elements bound as SQL NULL
 * @n: how many
 * @rows: (nullable): where to append the rows it yields, as JsonObjects
 * @changes: (out) (optional): how many rows it changed
 *
 * The one row reader of the typed accessors (users, revocations, tenancy):
 * runs a cached statement to the end and resets it either way.
 *
 * Returns: an SQLite result code
 */
int
cf_store_db_exec_texts (CfStoreDb          *db,
                        const char         *sql,
                        const char * const *values,
                        guint               n,
                        GPtrArray          *rows,
                        guint              *changes)
{
  sqlite3_stmt *stmt = NULL;
  int rc = cf_store_db_prepare (db, sql, &stmt);

  if (rc == SQLITE_OK)
    rc = bind_texts (stmt, values, n);
  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      if (rows != NULL)
        g_ptr_array_add (rows, cf_store_db_row_to_json (stmt));
      rc = SQLITE_OK;
    }
  if (rc == SQLITE_DONE)
    rc = SQLITE_OK;
  if (changes != NULL)
    *changes = stmt != NULL ? (guint) sqlite3_changes (sqlite3_db_handle (stmt)) : 0;
  if (stmt != NULL)
    {
      sqlite3_reset (stmt);
      sqlite3_clear_bindings (stmt);
    }
  return rc;
}

static int
exec_texts (CfStoreDb          *db,
            const char         *sql,
            const char * const *values,
            guint               n,
            GPtrArray          *rows)
{
  return cf_store_db_exec_texts (db, sql, values, n, rows, NULL);
}

static gboolean
select_user (CfStoreDb   *db,
             const char  *email,
             GPtrArray   *rows,
             GError     **error)
{
  const char *values[] = { email };
  int rc = exec_texts (db, "SELECT * FROM email_users WHERE email = ?1", values, 1, rows);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot read a user", error);
  if (rows->len == 0)
    {
      g_set_error (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND, "No user %s", email);
      return FALSE;
    }
  return TRUE;
}

static gboolean
query_lookup (CfStoreDb  *db,
              gpointer    data,
              GPtrArray  *rows,
              GError    **error)
{
  return select_user (db, ((Params *) data)->email, rows, error);
}

static gboolean
query_insert (CfStoreDb  *db,
              gpointer    data,
              GPtrArray  *rows,
              GError    **error)
{
  Params *params = data;
  const char *values[] = {
    params->email, params->password_hash, params->full_name,
    params->is_admin ? "1" : "0", params->flag ? "1" : "0",
  };
  int rc = exec_texts (db,
                       "INSERT INTO email_users (email, password_hash, full_name, is_admin,"
                       " password_change_required, password_changed_at, created_at, updated_at)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, " NOW_SQL ", " NOW_SQL ", " NOW_SQL ")",
                       values, G_N_ELEMENTS (values), NULL);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot create the user", error);
  return select_user (db, params->email, rows, error);
}

static gboolean
query_set_password (CfStoreDb  *db,
                    gpointer    data,
                    GPtrArray  *rows,
                    GError    **error)
{
  Params *params = data;
  const char *values[] = { params->email, params->password_hash, params->flag ? "1" : "0" };
  int rc = exec_texts (db,
                       "UPDATE email_users SET password_hash = ?2, password_change_required = ?3,"
                       " password_changed_at = " NOW_SQL ", updated_at = " NOW_SQL
                       " WHERE email = ?1",
                       values, G_N_ELEMENTS (values), NULL);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot change the password", error);
  return select_user (db, params->email, rows, error);
}

/* One statement each way, so that concurrent failures all count: the new
 * count and the lock are computed from the row's values, not ours. */
static gboolean
query_record_login (CfStoreDb  *db,
                    gpointer    data,
                    GPtrArray  *rows,
                    GError    **error)
{
  Params *params = data;
  g_autofree char *max = g_strdup_printf ("%" G_GINT64_FORMAT, params->max_failures);
  const char *values[] = { params->email, max, params->until };
  int rc;

  if (params->flag)
    rc = exec_texts (db,
                     "UPDATE email_users SET failed_login_attempts = 0, locked_until = NULL,"
                     " last_login = " NOW_SQL ", updated_at = " NOW_SQL " WHERE email = ?1",
                     values, 1, NULL);
  else
    rc = exec_texts (db,
                     "UPDATE email_users SET failed_login_attempts = failed_login_attempts + 1,"
                     " locked_until = CASE WHEN failed_login_attempts + 1 >= CAST (?2 AS INTEGER)"
                     " THEN ?3 ELSE locked_until END, updated_at = " NOW_SQL " WHERE email = ?1",
                     values, G_N_ELEMENTS (values), NULL);
  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot record the login", error);
  return select_user (db, params->email, rows, error);
}

static gboolean
query_revoke (CfStoreDb  *db,
              gpointer    data,
              GPtrArray  *rows,
              GError    **error)
{
  Params *params = data;
  const char *values[] = { params->jti, params->email, params->reason, params->until };
  int rc = exec_texts (db,
                       "INSERT INTO token_revocations (jti, revoked_at, revoked_by, reason,"
                       " token_expiry) VALUES (?1, " NOW_SQL ", ?2, ?3, ?4)"
                       " ON CONFLICT (jti) DO NOTHING",
                       values, G_N_ELEMENTS (values), NULL);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot revoke the token", error);
  return TRUE;
}

static gboolean
query_load_revocations (CfStoreDb  *db,
                        gpointer    data,
                        GPtrArray  *rows,
                        GError    **error)
{
  int rc = exec_texts (db, "SELECT * FROM token_revocations ORDER BY revoked_at, jti",
                       NULL, 0, rows);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot read the revoked tokens", error);
  return TRUE;
}

/**
 * cf_store_task_first_row:
 * @self: the store
 * @result: a task of cf_store_submit_query()
 * @source_tag: the tag it was submitted with
 * @error: return location for a #GError
 *
 * Finishes a query that yields exactly one row.
 *
 * Returns: (transfer full) (nullable): the row
 */
JsonObject *
cf_store_task_first_row (CfStore       *self,
                         GAsyncResult  *result,
                         gpointer       source_tag,
                         GError       **error)
{
  g_autoptr(GPtrArray) rows = NULL;

  g_return_val_if_fail (CF_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == source_tag, NULL);

  rows = g_task_propagate_pointer (G_TASK (result), error);
  if (rows == NULL)
    return NULL;
  g_assert (rows->len == 1);
  return json_object_ref (g_ptr_array_index (rows, 0));
}

/**
 * cf_store_user_lookup_async:
 * @self: a #CfStore
 * @email: the user's email, already normalised
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Reads one row of email_users.
 */
void
cf_store_user_lookup_async (CfStore             *self,
                            const char          *email,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (email != NULL);

  cf_store_submit_query (self, query_lookup, params_new (email), params_free,
                         cf_store_user_lookup_async, cancellable, callback, user_data);
}

/**
 * cf_store_user_lookup_finish:
 * @self: a #CfStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the row, keyed by column name, NULL
 *   columns omitted; %CF_STORE_ERROR_NOT_FOUND if there is none
 */
JsonObject *
cf_store_user_lookup_finish (CfStore       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return cf_store_task_first_row (self, result, cf_store_user_lookup_async, error);
}

/**
 * cf_store_user_insert_async:
 * @self: a #CfStore
 * @email: the user's email, already normalised
 * @password_hash: an argon2id PHC string
 * @full_name: (nullable): the display name
 * @is_admin: whether the user is a platform admin
 * @password_change_required: whether the next login must change it first
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Creates a local user. An existing email fails with
 * %CF_STORE_ERROR_CONSTRAINT.
 */
void
cf_store_user_insert_async (CfStore             *self,
                            const char          *email,
                            const char          *password_hash,
                            const char          *full_name,
                            gboolean             is_admin,
                            gboolean             password_change_required,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Params *params;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (email != NULL);
  g_return_if_fail (password_hash != NULL);

  params = params_new (email);
  params->password_hash = g_strdup (password_hash);
  params->full_name = g_strdup (full_name);
  params->is_admin = is_admin;
  params->flag = password_change_required;
  cf_store_submit_query (self, query_insert, params, params_free, cf_store_user_insert_async,
                         cancellable, callback, user_data);
}

/**
 * cf_store_user_insert_finish:
 *
 * Returns: (transfer full) (nullable): the new row
 */
JsonObject *
cf_store_user_insert_finish (CfStore       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  return cf_store_task_first_row (self, result, cf_store_user_insert_async, error);
}

/**
 * cf_store_user_set_password_async:
 * @self: a #CfStore
 * @email: the user's email
 * @password_hash: the new argon2id PHC string
 * @change_required: whether the next login must change it again
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Replaces a password and stamps password_changed_at.
 */
void
cf_store_user_set_password_async (CfStore             *self,
                                  const char          *email,
                                  const char          *password_hash,
                                  gboolean             change_required,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Params *params;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (email != NULL);
  g_return_if_fail (password_hash != NULL);

  params = params_new (email);
  params->password_hash = g_strdup (password_hash);
  params->flag = change_required;
  cf_store_submit_query (self, query_set_password, params, params_free,
                         cf_store_user_set_password_async, cancellable, callback, user_data);
}

/**
 * cf_store_user_set_password_finish:
 *
 * Returns: (transfer full) (nullable): the updated row
 */
JsonObject *
cf_store_user_set_password_finish (CfStore       *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return cf_store_task_first_row (self, result, cf_store_user_set_password_async, error);
}

/**
 * cf_store_user_record_login_async:
 * @self: a #CfStore
 * @email: the user's email
 * @success: whether the password was right
 * @max_failures: failures in a row that lock the account
 * @lock_until: (nullable): the ISO 8601 time a lock taken now would end
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * A success clears the failure count and any lock and stamps last_login; a
 * failure counts, and locks the account until @lock_until once the count
 * reaches @max_failures.
 */
void
cf_store_user_record_login_async (CfStore             *self,
                                  const char          *email,
                                  gboolean             success,
                                  guint                max_failures,
                                  const char          *lock_until,
                                  GCancellable        *cancellable,
                                  GAsyncReadyCallback  callback,
                                  gpointer             user_data)
{
  Params *params;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (email != NULL);
  g_return_if_fail (success || lock_until != NULL);

  params = params_new (email);
  params->flag = success;
  params->max_failures = max_failures;
  params->until = g_strdup (lock_until);
  cf_store_submit_query (self, query_record_login, params, params_free,
                         cf_store_user_record_login_async, cancellable, callback, user_data);
}

/**
 * cf_store_user_record_login_finish:
 *
 * Returns: (transfer full) (nullable): the updated row
 */
JsonObject *
cf_store_user_record_login_finish (CfStore       *self,
                                   GAsyncResult  *result,
                                   GError       **error)
{
  return cf_store_task_first_row (self, result, cf_store_user_record_login_async, error);
}

/**
 * cf_store_revocation_add_async:
 * @self: a #CfStore
 * @jti: the revoked token's id
 * @revoked_by: (nullable): who revoked it
 * @reason: (nullable): why
 * @token_expiry: (nullable): the token's own expiry, ISO 8601
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Records a revocation; revoking a revoked token again changes nothing.
 */
void
cf_store_revocation_add_async (CfStore             *self,
                               const char          *jti,
                               const char          *revoked_by,
                               const char          *reason,
                               const char          *token_expiry,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  Params *params;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (jti != NULL);

  params = params_new (revoked_by);
  params->jti = g_strdup (jti);
  params->reason = g_strdup (reason);
  params->until = g_strdup (token_expiry);
  cf_store_submit_query (self, query_revoke, params, params_free, cf_store_revocation_add_async,
                         cancellable, callback, user_data);
}

gboolean
cf_store_revocation_add_finish (CfStore       *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_autoptr(GPtrArray) rows = NULL;

  g_return_val_if_fail (CF_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_store_revocation_add_async,
                        FALSE);

  rows = g_task_propagate_pointer (G_TASK (result), error);
  return rows != NULL;
}

/**
 * cf_store_revocation_load_async:
 * @self: a #CfStore
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Reads every row of token_revocations, oldest first.
 */
void
cf_store_revocation_load_async (CfStore             *self,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_return_if_fail (CF_IS_STORE (self));

  cf_store_submit_query (self, query_load_revocations, NULL, NULL,
                         cf_store_revocation_load_async, cancellable, callback, user_data);
}

/**
 * cf_store_revocation_load_finish:
 *
 * Returns: (transfer container) (element-type JsonObject) (nullable): the
 *   rows
 */
GPtrArray *
cf_store_revocation_load_finish (CfStore       *self,
                                 GAsyncResult  *result,
                                 GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_store_revocation_load_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
