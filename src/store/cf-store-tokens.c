/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include "cf-store-private.h"

/*
 * API tokens (migration 0005): email_api_tokens, their usage log and the
 * team membership their creation checks. Like the users' accessors, each
 * call copies its text parameters on the caller's thread and runs one
 * query on the owner thread; rows come back as JsonObjects keyed by
 * column name. A token row read here carries its revocation, when it has
 * one, as revoked_at, revoked_by and revocation_reason.
 */

#define NOW_SQL "strftime ('%Y-%m-%dT%H:%M:%fZ', 'now')"
#define MAX_VALUES 16

#define SELECT_TOKEN \
  "SELECT t.*, r.revoked_at AS revoked_at, r.revoked_by AS revoked_by," \
  " r.reason AS revocation_reason FROM email_api_tokens t" \
  " LEFT JOIN token_revocations r ON r.jti = t.jti"

typedef struct {
  CfStoreTokenOp  op;
  char           *values[MAX_VALUES];
  guint           n_values;
  /* usage entries: arrays of 11 strings */
  GPtrArray      *entries;
} Params;

static void
params_free (gpointer data)
{
  Params *params = data;

  for (guint i = 0; i < params->n_values; i++)
    g_free (params->values[i]);
  g_clear_pointer (&params->entries, g_ptr_array_unref);
  g_free (params);
}

static int
exec_texts (CfStoreDb    *db,
            const char   *sql,
            char * const *values,
            guint         n,
            GPtrArray    *rows)
{
  return cf_store_db_exec_texts (db, sql, (const char * const *) values, n, rows, NULL);
}

static gboolean
select_one (CfStoreDb   *db,
            const char  *id,
            GPtrArray   *rows,
            GError     **error)
{
  char *values[] = { (char *) id };
  int rc = exec_texts (db, SELECT_TOKEN " WHERE t.id = ?1 OR t.jti = ?1", values, 1, rows);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot read a token", error);
  if (rows->len == 0)
    {
      g_set_error (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND, "No token %s", id);
      return FALSE;
    }
  return TRUE;
}

static gboolean
transaction (CfStoreDb   *db,
             const char  *sql,
             GError     **error)
{
  int rc = exec_texts (db, sql, NULL, 0, NULL);

  return rc == SQLITE_OK || cf_store_db_fail (db, rc, sql, error);
}

static gboolean
query_insert (CfStoreDb  *db,
              Params     *params,
              GPtrArray  *rows,
              GError    **error)
{
  int rc = exec_texts (db,
                       "INSERT INTO email_api_tokens (id, user_email, team_id, name, description,"
                       " jti, token_hash, server_id, resource_scopes, ip_restrictions,"
                       " time_restrictions, usage_limits, tags, created_at, expires_at, is_active)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15,"
                       " CAST (?16 AS INTEGER))",
                       params->values, params->n_values, NULL);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot save the token", error);
  return select_one (db, params->values[0], rows, error);
}

static gboolean
query_update (CfStoreDb  *db,
              Params     *params,
              GPtrArray  *rows,
              GError    **error)
{
  int rc = exec_texts (db,
                       "UPDATE email_api_tokens SET name = COALESCE (?2, name),"
                       " description = COALESCE (?3, description),"
                       " server_id = CASE WHEN ?4 IS NULL THEN server_id"
                       "   WHEN ?4 = '' THEN NULL ELSE ?4 END,"
                       " resource_scopes = COALESCE (?5, resource_scopes),"
                       " ip_restrictions = COALESCE (?6, ip_restrictions),"
                       " time_restrictions = COALESCE (?7, time_restrictions),"
                       " usage_limits = COALESCE (?8, usage_limits),"
                       " tags = COALESCE (?9, tags),"
                       " is_active = COALESCE (CAST (?10 AS INTEGER), is_active)"
                       " WHERE id = ?1",
                       params->values, params->n_values, NULL);

  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot update the token", error);
  return select_one (db, params->values[0], rows, error);
}

/* Inactive, and on the blocklist by jti, in one transaction. */
static gboolean
query_revoke (CfStoreDb  *db,
              Params     *params,
              GPtrArray  *rows,
              GError    **error)
{
  g_autoptr(GPtrArray) found = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  JsonObject *token;
  char *values[4];
  int rc;

  if (!transaction (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  if (!select_one (db, params->values[0], found, error))
    {
      transaction (db, "ROLLBACK", NULL);
      return FALSE;
    }
  token = g_ptr_array_index (found, 0);
  values[0] = (char *) json_object_get_string_member (token, "jti");
  values[1] = params->values[1];
  values[2] = params->values[2];
  values[3] = json_object_has_member (token, "expires_at")
              ? (char *) json_object_get_string_member (token, "expires_at") : NULL;
  rc = exec_texts (db,
                   "INSERT INTO token_revocations (jti, revoked_at, revoked_by, reason,"
                   " token_expiry) VALUES (?1, " NOW_SQL ", ?2, ?3, ?4)"
                   " ON CONFLICT (jti) DO NOTHING", values, 4, NULL);
  if (rc == SQLITE_OK)
    rc = exec_texts (db, "UPDATE email_api_tokens SET is_active = 0 WHERE jti = ?1", values, 1,
                     NULL);
  if (rc != SQLITE_OK)
    {
      transaction (db, "ROLLBACK", NULL);
      return cf_store_db_fail (db, rc, "Cannot revoke the token", error);
    }
  if (!transaction (db, "COMMIT", error))
    {
      transaction (db, "ROLLBACK", NULL);
      return FALSE;
    }
  return select_one (db, values[0], rows, error);
}

static gboolean
query_usage_add (CfStoreDb  *db,
                 Params     *params,
                 GPtrArray  *rows,
                 GError    **error)
{
  int rc = SQLITE_OK;

  if (!transaction (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (guint i = 0; rc == SQLITE_OK && i < params->entries->len; i++)
    {
      char **entry = g_ptr_array_index (params->entries, i);

      rc = exec_texts (db,
                       "INSERT INTO token_usage_logs (token_jti, user_email, timestamp, endpoint,"
                       " method, ip_address, user_agent, status_code, response_time_ms, blocked,"
                       " block_reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, CAST (?8 AS INTEGER),"
                       " CAST (?9 AS INTEGER), CAST (?10 AS INTEGER), ?11)",
                       entry, 11, NULL);
      if (rc == SQLITE_OK && g_str_equal (entry[9], "0"))
        rc = exec_texts (db,
                         "UPDATE email_api_tokens SET last_used = ?3 WHERE jti = ?1"
                         " AND (last_used IS NULL OR last_used < ?3)",
                         entry, 3, NULL);
    }
  if (rc != SQLITE_OK)
    {
      transaction (db, "ROLLBACK", NULL);
      return cf_store_db_fail (db, rc, "Cannot record token usage", error);
    }
  if (!transaction (db, "COMMIT", error))
    {
      transaction (db, "ROLLBACK", NULL);
      return FALSE;
    }
  return TRUE;
}

static gboolean
run_query (CfStoreDb  *db,
           gpointer    data,
           GPtrArray  *rows,
           GError    **error)
{
  Params *params = data;
  const char *sql = NULL;
  int rc;

  switch (params->op)
    {
    case CF_STORE_TOKEN_INSERT:
      return query_insert (db, params, rows, error);
    case CF_STORE_TOKEN_UPDATE:
      return query_update (db, params, rows, error);
    case CF_STORE_TOKEN_REVOKE:
      return query_revoke (db, params, rows, error);
    case CF_STORE_TOKEN_GET:
      return select_one (db, params->values[0], rows, error);
    case CF_STORE_TOKEN_USAGE_ADD:
      return query_usage_add (db, params, rows, error);
    case CF_STORE_TOKEN_LIST:
      sql = SELECT_TOKEN " WHERE (?1 IS NULL OR t.user_email = ?1)"
            " AND (?2 IS NULL OR t.team_id = ?2) ORDER BY t.created_at, t.id";
      break;
    case CF_STORE_TOKEN_LOAD:
      sql = "SELECT t.id, t.jti, t.user_email, t.is_active, t.expires_at, t.usage_limits,"
            " t.server_id, t.resource_scopes, t.ip_restrictions, t.time_restrictions,"
            " r.jti AS revoked,"
            " (SELECT COUNT (*) FROM token_usage_logs u WHERE u.token_jti = t.jti"
            "  AND u.blocked = 0 AND u.timestamp >= ?1) AS used_hour,"
            " (SELECT COUNT (*) FROM token_usage_logs u WHERE u.token_jti = t.jti"
            "  AND u.blocked = 0 AND u.timestamp >= ?2) AS used_day"
            " FROM email_api_tokens t LEFT JOIN token_revocations r ON r.jti = t.jti";
      break;
    case CF_STORE_TOKEN_USAGE_STATS:
      rc = exec_texts (db,
                       "SELECT COUNT (*) AS total_requests,"
                       " COALESCE (SUM (blocked = 0 AND status_code < 400), 0)"
                       "  AS successful_requests,"
                       " COALESCE (SUM (blocked), 0) AS blocked_requests,"
                       " COALESCE (CAST (AVG (response_time_ms) AS INTEGER), 0)"
                       "  AS average_response_time_ms"
                       " FROM token_usage_logs WHERE token_jti = ?1 AND timestamp >= ?2",
                       params->values, 2, rows);
      if (rc == SQLITE_OK)
        sql = "SELECT endpoint, COUNT (*) AS count FROM token_usage_logs"
              " WHERE token_jti = ?1 AND timestamp >= ?2 AND endpoint IS NOT NULL"
              " GROUP BY endpoint ORDER BY count DESC, endpoint LIMIT 5";
      else
        return cf_store_db_fail (db, rc, "Cannot read token usage", error);
      break;
    case CF_STORE_TOKEN_DATA_VERSION:
      sql = "PRAGMA data_version";
      break;
    case CF_STORE_TOKEN_TEAM_ROLE:
      sql = "SELECT m.role AS role FROM email_team_members m JOIN email_teams t"
            " ON t.id = m.team_id WHERE m.team_id = ?1 AND m.user_email = ?2"
            " AND t.is_active = 1";
      break;
    case CF_STORE_TOKEN_USER:
      sql = "SELECT email, full_name, is_admin, is_active, auth_provider FROM email_users"
            " WHERE email = ?1";
      break;
    default:
      g_assert_not_reached ();
    }

  rc = exec_texts (db, sql, params->values, params->n_values, rows);
  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot read tokens", error);
  return TRUE;
}

/**
 * cf_store_token_query_async:
 * @self: a #CfStore
 * @op: what to do
 * @values: (array length=n_values) (nullable): the text parameters @op
 *   takes, %NULL elements as SQL NULL (see #CfStoreTokenOp)
 * @n_values: how many
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Runs one of the API token operations. Not for %CF_STORE_TOKEN_USAGE_ADD:
 * see cf_store_token_usage_add_async().
 */
void
cf_store_token_query_async (CfStore             *self,
                            CfStoreTokenOp       op,
                            const char * const  *values,
                            guint                n_values,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  Params *params;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (n_values <= MAX_VALUES);
  g_return_if_fail (op != CF_STORE_TOKEN_USAGE_ADD);

  params = g_new0 (Params, 1);
  params->op = op;
  params->n_values = n_values;
  for (guint i = 0; i < n_values; i++)
    params->values[i] = g_strdup (values[i]);
  cf_store_submit_query (self, run_query, params, params_free, cf_store_token_query_async,
                         cancellable, callback, user_data);
}

/**
 * cf_store_token_query_finish:
 *
 * Returns: (transfer container) (element-type JsonObject) (nullable): the
 *   rows the operation read or wrote; a missing token is
 *   %CF_STORE_ERROR_NOT_FOUND, a duplicate name %CF_STORE_ERROR_CONSTRAINT
 */
GPtrArray *
cf_store_token_query_finish (CfStore       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cf_store_token_usage_add_async:
 * @self: a #CfStore
 * @entries: usage entries, arrays of 11 strings each (the array's free
 *   function frees them; no other reference may change it), in the
 *   columns' order: token_jti, user_email, timestamp, endpoint, method,
 *   ip_address, user_agent, status_code, response_time_ms, blocked ("0"
 *   or "1"), block_reason; %NULL for SQL NULL
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Writes a batch of usage rows in one transaction and moves the tokens'
 * last_used forward for the requests that were not blocked. Finish with
 * cf_store_token_query_finish().
 */
void
cf_store_token_usage_add_async (CfStore             *self,
                                GPtrArray           *entries,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  Params *params;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail (entries != NULL);

  params = g_new0 (Params, 1);
  params->op = CF_STORE_TOKEN_USAGE_ADD;
  params->entries = g_ptr_array_ref (entries);
  cf_store_submit_query (self, run_query, params, params_free, cf_store_token_query_async,
                         cancellable, callback, user_data);
}
