/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog"

#include "config.h"

#include "cf-catalog-private.h"
#include "cf-catalog.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-random.h"

/* Writes

   One write runs at a time, validated against the snapshot current when
   it starts, so that concurrent updates never merge from the same stale
   entity and conflicts are judged against what is really there. */

void
_cf_catalog_write_data_free (WriteData *data)
{
  g_clear_pointer (&data->input, json_object_unref);
  g_clear_pointer (&data->server_fields, json_object_unref);
  g_clear_pointer (&data->entity, json_object_unref);
  g_clear_pointer (&data->problems, json_array_unref);
  g_clear_pointer (&data->batch, g_ptr_array_unref);
  g_clear_pointer (&data->removed, g_ptr_array_unref);
  g_clear_pointer (&data->skipped, g_ptr_array_unref);
  g_clear_pointer (&data->id, g_free);
  g_free (data);
}

static char *
now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format_iso8601 (now);
}

/* Call after the task has returned. */
static void
write_done (CfCatalog *self,
            GTask     *task)
{
  self->busy = FALSE;
  g_object_unref (task);
  _cf_catalog_run_pending (self);
}

static void
write_failed (CfCatalog  *self,
              GTask      *task,
              int         code,
              const char *format,
              ...) G_GNUC_PRINTF (4, 5);

static void
write_failed (CfCatalog  *self,
              GTask      *task,
              int         code,
              const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  g_task_return_error (task, g_error_new_valist (CF_CATALOG_ERROR, code, format, args));
  va_end (args);
  write_done (self, task);
}

static void
on_stored (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  CfCatalog *self = g_task_get_source_object (task);
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (data->edit == EDIT_DELETE)
    ok = cf_store_delete_finish (CF_STORE (source), result, &error);
  else
    ok = cf_store_put_finish (CF_STORE (source), result, &error);

  if (!ok && g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT))
    write_failed (self, task, CF_CATALOG_ERROR_CONFLICT, "%s conflicts with an existing one: %s",
                  _cf_catalog_kind_label (data->kind), error->message);
  else if (!ok && g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                  _cf_catalog_kind_label (data->kind), data->id);
  else if (!ok)
    write_failed (self, task, CF_CATALOG_ERROR_STORE, "The change could not be saved: %s",
                  error->message);
  else
    {
      _cf_catalog_apply_edit (self, data->kind, data->edit, data->entity, data->id);
      g_task_return_boolean (task, TRUE);
      write_done (self, task);
    }
}

static void
persist (CfCatalog *self,
         GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);

  if (self->store == NULL)
    {
      _cf_catalog_apply_edit (self, data->kind, data->edit, data->entity, data->id);
      g_task_return_boolean (task, TRUE);
      write_done (self, task);
    }
  else if (data->edit == EDIT_DELETE)
    cf_store_delete_async (self->store, data->kind, data->id, NULL, on_stored, task);
  else
    cf_store_put_async (self->store, data->kind, data->entity, NULL, on_stored, task);
}

static void
validate_and_persist (CfCatalog  *self,
                      GTask      *task,
                      JsonObject *input)
{
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self);
  const char *conflict;

  _cf_catalog_prepare_entity (snapshot, data->kind, self->separator, data->entity, input,
                              data->problems);
  _cf_catalog_check_destination (self->ssrf, data->kind, data->entity, input, data->problems);
  _cf_catalog_seal_credentials (self->secrets, data->kind, data->entity, input,
                                data->id ? cf_catalog_snapshot_lookup (snapshot, data->kind,
                                                                       data->id) : NULL,
                                data->problems);

  if (json_array_get_length (data->problems) > 0)
    {
      write_failed (self, task, CF_CATALOG_ERROR_INVALID, "%s failed validation",
                    _cf_catalog_kind_label (data->kind));
      return;
    }

  conflict = _cf_catalog_find_conflict (snapshot, data->kind, data->entity);
  if (conflict != NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_CONFLICT, "%s %s already exists: %s",
                    _cf_catalog_kind_label (data->kind), conflict,
                    cf_json_object_get_string (data->entity, conflict));
      return;
    }

  persist (self, task);
}

/* Ids are 32 hex digits, as ContextForge's uuid4().hex; a client may give
 * a UUID in its dashed form, which is stored without the dashes. */
static char *
normalize_id (const char *id)
{
  GString *out = g_string_new (NULL);

  for (const char *p = id; *p; p++)
    {
      if (*p == '-')
        continue;
      if (!g_ascii_isxdigit (*p))
        return (g_string_free (out, TRUE), NULL);
      g_string_append_c (out, g_ascii_tolower (*p));
    }
  if (out->len != 32)
    return (g_string_free (out, TRUE), NULL);
  return g_string_free (out, FALSE);
}

void
_cf_catalog_prepare_create (CfCatalog *self,
                            GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  g_autofree char *now = now_iso8601 ();
  g_autofree char *id = NULL;
  const char *given;

  data->entity = cf_entity_schema_normalize (data->kind, data->input, CF_SCHEMA_CREATE,
                                             data->problems);
  if (data->server_fields != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (data->server_fields);

      for (GList *l = names; l != NULL; l = l->next)
        json_object_set_member (data->entity, l->data,
                                cf_json_node_deep_copy (json_object_get_member (data->server_fields,
                                                                                l->data)));
    }
  given = cf_json_object_get_string (data->entity, "id");
  if (given != NULL && (id = normalize_id (given)) == NULL)
    cf_entity_schema_add_problem (data->problems, "id", "value_error",
                                  "An id is a UUID or 32 hex digits");
  else if (id != NULL && cf_catalog_snapshot_lookup (self->snapshot, data->kind, id) != NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_CONFLICT, "%s id already exists: %s",
                    _cf_catalog_kind_label (data->kind), id);
      return;
    }
  if (id == NULL)
    id = cf_random_hex (16);

  json_object_set_string_member (data->entity, "id", id);
  data->id = g_strdup (id);
  json_object_set_string_member (data->entity, "createdAt", now);
  json_object_set_string_member (data->entity, "updatedAt", now);
  json_object_set_int_member (data->entity, "version", 1);

  validate_and_persist (self, task, data->input);
}

static JsonObject *
merge (JsonObject *base,
       JsonObject *patch)
{
  g_autoptr(GList) members = json_object_get_members (patch);
  JsonObject *merged = cf_json_object_deep_copy (base);

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (merged, l->data,
                            cf_json_node_deep_copy (json_object_get_member (patch, l->data)));
  return merged;
}

/* Fields that follow from others are dropped when those change, so that
 * validation derives them afresh. */
static void
drop_stale (CfEntityKind  kind,
            JsonObject   *merged,
            JsonObject   *patch)
{
  if (kind == CF_ENTITY_PROMPT && json_object_has_member (patch, "template") &&
      !json_object_has_member (patch, "arguments"))
    json_object_remove_member (merged, "arguments");
  if (kind == CF_ENTITY_RESOURCE && json_object_has_member (patch, "text") &&
      !json_object_has_member (patch, "blob"))
    json_object_remove_member (merged, "blob");
  if (kind == CF_ENTITY_RESOURCE && json_object_has_member (patch, "blob") &&
      !json_object_has_member (patch, "text"))
    json_object_remove_member (merged, "text");
}

void
_cf_catalog_prepare_update (CfCatalog *self,
                            GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  JsonObject *existing = cf_catalog_snapshot_lookup (self->snapshot, data->kind, data->id);
  g_autoptr(JsonObject) patch = NULL;
  g_autofree char *now = now_iso8601 ();
  gint64 version = 1;

  if (existing == NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                    _cf_catalog_kind_label (data->kind), data->id);
      return;
    }

  patch = cf_entity_schema_normalize (data->kind, data->input, CF_SCHEMA_UPDATE, data->problems);
  json_object_remove_member (patch, "id");
  data->entity = merge (existing, patch);
  drop_stale (data->kind, data->entity, patch);
  cf_json_object_get_int (existing, "version", &version);
  json_object_set_int_member (data->entity, "version", version + 1);
  json_object_set_string_member (data->entity, "updatedAt", now);
  if (json_object_has_member (patch, "customName") && !json_object_has_member (patch, "name"))
    json_object_set_string_member (patch, "name",
                                   cf_json_object_get_string (existing, "originalName") ?: "");

  validate_and_persist (self, task, patch);
}

/* Status fields (reachable, lastSeen, counts) are the gateway's own to
 * write: they bypass the client-facing schema and keep the version. */
void
_cf_catalog_prepare_status (CfCatalog *self,
                            GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  JsonObject *existing = cf_catalog_snapshot_lookup (self->snapshot, data->kind, data->id);

  if (existing == NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                    _cf_catalog_kind_label (data->kind), data->id);
      return;
    }
  data->entity = merge (existing, data->input);
  persist (self, task);
}

void
_cf_catalog_prepare_delete (CfCatalog *self,
                            GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);

  if (cf_catalog_snapshot_lookup (self->snapshot, data->kind, data->id) == NULL)
    write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                  _cf_catalog_kind_label (data->kind), data->id);
  else
    persist (self, task);
}

/* Sync: replace what one upstream contributes of a kind */

/* The gateway's current entities of the kind go (replaced or removed);
 * servers lose only the removed ones. */
static void
apply_sync (CfCatalog *self,
            WriteData *data)
{
  GPtrArray *current = cf_catalog_snapshot_entries (self->snapshot, data->kind);
  GHashTable *drop[CF_N_ENTITY_KINDS];
  GHashTable *strip[CF_N_ENTITY_KINDS];

  _cf_catalog_new_id_sets (drop);
  _cf_catalog_new_id_sets (strip);
  for (guint i = 0; i < current->len; i++)
    if (g_strcmp0 (cf_catalog_entry_get_gateway_id (current->pdata[i]), data->id) == 0)
      g_hash_table_add (drop[data->kind], (gpointer) cf_catalog_entry_get_id (current->pdata[i]));
  for (guint i = 0; i < data->removed->len; i++)
    g_hash_table_add (strip[data->kind], data->removed->pdata[i]);

  _cf_catalog_rebuild (self, drop, strip, data->kind, data->batch);
  _cf_catalog_free_id_sets (drop);
  _cf_catalog_free_id_sets (strip);
}

static void
finish_sync (CfCatalog *self,
             GTask     *task)
{
  apply_sync (self, g_task_get_task_data (task));
  g_task_return_boolean (task, TRUE);
  write_done (self, task);
}

static void
on_sync_step (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  GTask *task = user_data;
  CfCatalog *self = g_task_get_source_object (task);
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;

  /* Steps run in order on the store's thread: the put, then deletes. */
  if (g_async_result_is_tagged (result, cf_store_put_many_async))
    cf_store_put_many_finish (CF_STORE (source), result, &error);
  else
    cf_store_delete_finish (CF_STORE (source), result, &error);
  if (error != NULL && !g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    g_warning ("Syncing %s of gateway %s: %s", _cf_catalog_kind_label (data->kind), data->id,
               error->message);

  if (--data->waiting == 0)
    finish_sync (self, task);
}

void
_cf_catalog_prepare_sync (CfCatalog *self,
                          GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  GPtrArray *current = cf_catalog_snapshot_entries (self->snapshot, data->kind);
  const char *key = _cf_catalog_unique_member (data->kind);
  g_autoptr(GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) kept_ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  data->removed = g_ptr_array_new_with_free_func (g_free);
  data->skipped = g_ptr_array_new_with_free_func (g_free);

  /* Names held by anything else win; within the batch the first wins.
   * What loses is reported, never silently dropped. */
  for (guint i = 0; i < current->len; i++)
    if (g_strcmp0 (cf_catalog_entry_get_gateway_id (current->pdata[i]), data->id) != 0)
      g_hash_table_add (taken, (gpointer) _cf_catalog_entry_key (data->kind, current->pdata[i]));
  for (guint i = 0; i < data->batch->len; i++)
    {
      JsonObject *entity = data->batch->pdata[i];
      const char *value = cf_json_object_get_string (entity, key);

      if (value == NULL || !g_hash_table_add (taken, (gpointer) value))
        {
          g_ptr_array_add (data->skipped, g_strdup (value ? value : "(unnamed)"));
          continue;
        }
      g_ptr_array_add (kept, json_object_ref (entity));
      g_hash_table_add (kept_ids, (gpointer) cf_json_object_get_string (entity, "id"));
    }
  for (guint i = 0; i < current->len; i++)
    {
      CfCatalogEntry *entry = current->pdata[i];
      const char *id = cf_catalog_entry_get_id (entry);

      if (g_strcmp0 (cf_catalog_entry_get_gateway_id (entry), data->id) == 0 &&
          !g_hash_table_contains (kept_ids, id))
        g_ptr_array_add (data->removed, g_strdup (id));
    }
  g_ptr_array_unref (data->batch);
  data->batch = g_steal_pointer (&kept);

  if (self->store == NULL || (data->batch->len == 0 && data->removed->len == 0))
    {
      finish_sync (self, task);
      return;
    }
  data->waiting = (data->batch->len > 0 ? 1 : 0) + data->removed->len;
  if (data->batch->len > 0)
    cf_store_put_many_async (self->store, data->kind, data->batch, NULL, on_sync_step, task);
  for (guint i = 0; i < data->removed->len; i++)
    cf_store_delete_async (self->store, data->kind, data->removed->pdata[i], NULL,
                           on_sync_step, task);
}
