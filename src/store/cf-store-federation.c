/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include <sqlite3.h>

#include "cf-random.h"
#include "cf-store.h"
#include "cf-store-private.h"

/* The gateway's own identity for federation (gateway_instance). */

static gboolean
query_instance_id (CfStoreDb  *db,
                   gpointer    data,
                   GPtrArray  *rows,
                   GError    **error)
{
  const char *values[] = { data };
  int rc = cf_store_db_exec_texts (db,
                                   "INSERT OR IGNORE INTO gateway_instance (singleton, id, created_at)"
                                   " VALUES (1, ?1, strftime ('%Y-%m-%dT%H:%M:%fZ', 'now'))",
                                   values, 1, NULL, NULL);

  if (rc == SQLITE_OK)
    rc = cf_store_db_exec_texts (db, "SELECT id FROM gateway_instance", NULL, 0, rows, NULL);
  if (rc != SQLITE_OK)
    return cf_store_db_fail (db, rc, "Cannot read the gateway's id", error);
  return TRUE;
}

static void
instance_id_cb (GObject      *object,
                GAsyncResult *result,
                gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/**
 * cf_store_get_instance_id:
 * @self: a #CfStore
 * @error: return location for a #GError
 *
 * The id of the gateway this database belongs to: 32 hex digits, made on
 * first use and kept for the life of the database. Blocks until the
 * owner thread has answered; for startup.
 *
 * Returns: (transfer full) (nullable): the id
 */
char *
cf_store_get_instance_id (CfStore  *self,
                          GError  **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) row = NULL;

  g_return_val_if_fail (CF_IS_STORE (self), NULL);

  g_main_context_push_thread_default (context);
  cf_store_submit_query (self, query_instance_id, cf_random_hex (16), g_free,
                         cf_store_get_instance_id, NULL, instance_id_cb, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  row = cf_store_task_first_row (self, result, cf_store_get_instance_id, error);
  if (row == NULL)
    return NULL;
  return g_strdup (json_object_get_string_member (row, "id"));
}
