/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog"

#include "config.h"

#include <string.h>

#include "cf-catalog-private.h"
#include "cf-catalog.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-random.h"
#include "cf-slug.h"

/**
 * CfCatalog:
 *
 * The registry's single write path: REST and D-Bus both create, update and
 * delete entities here. A change is validated, checked against the current
 * snapshot for conflicts and dangling references, persisted by the store
 * (off the main thread), and only then swapped into a new snapshot, after
 * which #CfCatalog::changed fires. Readers take the snapshot and never wait.
 */
struct _CfCatalog
{
  GObject            parent_instance;

  CfStore           *store;
  CfCatalogSnapshot *snapshot;
  char              *separator;
  CfSecretStore     *secrets;
  CfSsrfPolicy      *ssrf;
  GQueue             pending;
  gboolean           busy;
};

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CfCatalog, cf_catalog, G_TYPE_OBJECT)
G_DEFINE_QUARK (cf-catalog-error-quark, cf_catalog_error)


static void
cf_catalog_finalize (GObject *object)
{
  CfCatalog *self = (CfCatalog *) object;

  g_clear_object (&self->store);
  g_clear_pointer (&self->snapshot, cf_catalog_snapshot_unref);
  g_clear_pointer (&self->separator, g_free);
  g_clear_object (&self->secrets);
  g_clear_pointer (&self->ssrf, cf_ssrf_policy_unref);

  G_OBJECT_CLASS (cf_catalog_parent_class)->finalize (object);
}

static void
cf_catalog_class_init (CfCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_catalog_finalize;

  /**
   * CfCatalog::changed:
   * @catalog: the catalog
   * @kind: the #CfEntityKind that changed
   *
   * A new snapshot is in place.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
cf_catalog_init (CfCatalog *self)
{
  GPtrArray *empty[CF_N_ENTITY_KINDS] = { NULL };

  g_queue_init (&self->pending);
  self->snapshot = cf_catalog_snapshot_new (empty);
  self->separator = g_strdup (CF_SLUG_DEFAULT_SEPARATOR);
}

/**
 * cf_catalog_new:
 * @store: (nullable): where changes persist; %NULL keeps them in memory
 *
 * Returns: (transfer full): an empty catalog; call cf_catalog_load()
 */
CfCatalog *
cf_catalog_new (CfStore *store)
{
  CfCatalog *self = g_object_new (CF_TYPE_CATALOG, NULL);

  self->store = store ? g_object_ref (store) : NULL;
  return self;
}

void
cf_catalog_set_separator (CfCatalog  *self,
                          const char *separator)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (cf_slug_separator_is_valid (separator));

  g_free (self->separator);
  self->separator = g_strdup (separator);
}

/**
 * cf_catalog_set_secret_store:
 * @self: a #CfCatalog
 * @secrets: (nullable): where upstream credentials are sealed
 *
 * Without one, an entity that carries credentials is refused: they are
 * never stored in clear.
 */
void
cf_catalog_set_secret_store (CfCatalog     *self,
                             CfSecretStore *secrets)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (secrets == NULL || CF_IS_SECRET_STORE (secrets));

  g_set_object (&self->secrets, secrets);
}

/**
 * cf_catalog_get_secret_store:
 *
 * Returns: (transfer none) (nullable): where upstream credentials are
 *   sealed, for the code that sends them upstream to unseal them
 */
CfSecretStore *
cf_catalog_get_secret_store (CfCatalog *self)
{
  g_return_val_if_fail (CF_IS_CATALOG (self), NULL);
  return self->secrets;
}

/**
 * cf_catalog_set_ssrf_policy:
 * @self: a #CfCatalog
 * @policy: (nullable): where upstream URLs may point; %NULL checks none
 *
 * The policy applies to URLs given from now on, and to the connections
 * made to every upstream (see cf_catalog_get_ssrf_policy()).
 */
void
cf_catalog_set_ssrf_policy (CfCatalog    *self,
                            CfSsrfPolicy *policy)
{
  g_return_if_fail (CF_IS_CATALOG (self));

  if (policy != NULL)
    cf_ssrf_policy_ref (policy);
  g_clear_pointer (&self->ssrf, cf_ssrf_policy_unref);
  self->ssrf = policy;
}

/**
 * cf_catalog_get_ssrf_policy:
 *
 * Returns: (transfer none) (nullable): where upstream URLs may point
 */
CfSsrfPolicy *
cf_catalog_get_ssrf_policy (CfCatalog *self)
{
  g_return_val_if_fail (CF_IS_CATALOG (self), NULL);
  return self->ssrf;
}

/**
 * cf_catalog_load:
 *
 * Reads every entity from the store into the first snapshot. It runs once,
 * before the gateway serves.
 */
gboolean
cf_catalog_load (CfCatalog  *self,
                 GError    **error)
{
  GPtrArray *lists[CF_N_ENTITY_KINDS] = { NULL };
  gboolean ok = TRUE;

  g_return_val_if_fail (CF_IS_CATALOG (self), FALSE);

  if (self->store == NULL)
    return TRUE;

  for (guint k = 0; k < CF_N_ENTITY_KINDS && ok; k++)
    {
      lists[k] = cf_store_load_sync (self->store, k, error);
      ok = lists[k] != NULL;
    }

  if (ok)
    {
      g_clear_pointer (&self->snapshot, cf_catalog_snapshot_unref);
      self->snapshot = cf_catalog_snapshot_new (lists);
    }
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_clear_pointer (&lists[k], g_ptr_array_unref);
  return ok;
}

/**
 * cf_catalog_get_snapshot:
 *
 * Returns: (transfer full): the current snapshot
 */
CfCatalogSnapshot *
cf_catalog_get_snapshot (CfCatalog *self)
{
  g_return_val_if_fail (CF_IS_CATALOG (self), NULL);
  return cf_catalog_snapshot_ref (self->snapshot);
}

/* Snapshot surgery */

typedef enum {
  EDIT_PUT,
  EDIT_DELETE,
} EditKind;

static const char * const association_members[] = {
  [CF_ENTITY_TOOL] = "associatedTools",
  [CF_ENTITY_RESOURCE] = "associatedResources",
  [CF_ENTITY_PROMPT] = "associatedPrompts",
};

/* The store cascades deletions in SQL; the snapshot must mirror that: a
 * deleted gateway takes what it federated, and virtual servers lose the
 * associations of whatever went. */
static JsonObject *
without_removed (JsonObject  *server,
                 GHashTable **removed)
{
  JsonObject *result = NULL;

  for (guint k = CF_ENTITY_TOOL; k <= CF_ENTITY_PROMPT; k++)
    {
      JsonArray *ids = cf_json_object_get_array (server, association_members[k]);
      JsonArray *kept;

      if (ids == NULL || g_hash_table_size (removed[k]) == 0)
        continue;
      kept = json_array_new ();
      for (guint i = 0; i < json_array_get_length (ids); i++)
        if (!g_hash_table_contains (removed[k], json_array_get_string_element (ids, i)))
          json_array_add_string_element (kept, json_array_get_string_element (ids, i));
      if (json_array_get_length (kept) == json_array_get_length (ids))
        {
          json_array_unref (kept);
          continue;
        }
      if (result == NULL)
        result = cf_json_object_deep_copy (server);
      json_object_set_array_member (result, association_members[k], kept);
    }
  return result != NULL ? result : json_object_ref (server);
}

static void
collect_removed (CfCatalogSnapshot *snapshot,
                 CfEntityKind       kind,
                 const char        *id,
                 GHashTable       **removed)
{
  g_hash_table_add (removed[kind], (gpointer) id);
  if (kind != CF_ENTITY_GATEWAY)
    return;
  for (guint k = CF_ENTITY_TOOL; k <= CF_ENTITY_PROMPT; k++)
    {
      GPtrArray *list = cf_catalog_snapshot_list (snapshot, k);

      for (guint i = 0; i < list->len; i++)
        if (g_strcmp0 (cf_json_object_get_string (list->pdata[i], "gatewayId"), id) == 0)
          g_hash_table_add (removed[k], (gpointer) cf_json_object_get_string (list->pdata[i], "id"));
    }
}

/* Makes the next snapshot: the current one without the entities in
 * @drop, virtual servers without associations to those in @strip, plus
 * @additions of @add_kind; then tells everyone which kinds changed. */
static void
rebuild (CfCatalog     *self,
         GHashTable   **drop,
         GHashTable   **strip,
         CfEntityKind   add_kind,
         GPtrArray     *additions)
{
  GPtrArray *lists[CF_N_ENTITY_KINDS];
  gboolean touched[CF_N_ENTITY_KINDS] = { FALSE };
  CfCatalogSnapshot *old = self->snapshot;

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      GPtrArray *source = cf_catalog_snapshot_list (old, k);

      lists[k] = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
      for (guint i = 0; i < source->len; i++)
        {
          JsonObject *item = source->pdata[i];
          JsonObject *kept;

          if (g_hash_table_contains (drop[k], cf_json_object_get_string (item, "id")))
            {
              touched[k] = TRUE;
              continue;
            }
          kept = k == CF_ENTITY_SERVER ? without_removed (item, strip) : json_object_ref (item);
          touched[k] |= kept != item;
          g_ptr_array_add (lists[k], kept);
        }
    }
  for (guint i = 0; additions != NULL && i < additions->len; i++)
    {
      g_ptr_array_add (lists[add_kind], json_object_ref (additions->pdata[i]));
      touched[add_kind] = TRUE;
    }

  self->snapshot = cf_catalog_snapshot_new (lists);
  cf_catalog_snapshot_unref (old);
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_ptr_array_unref (lists[k]);

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    if (touched[k])
      g_signal_emit (self, signals[CHANGED], 0, k);
}

static void
new_id_sets (GHashTable **sets)
{
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    sets[k] = g_hash_table_new (g_str_hash, g_str_equal);
}

static void
free_id_sets (GHashTable **sets)
{
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_hash_table_unref (sets[k]);
}

/* A put replaces the entity with the same id; a delete cascades. */
static void
apply_edit (CfCatalog    *self,
            CfEntityKind  kind,
            EditKind      edit,
            JsonObject   *entity,
            const char   *id)
{
  GHashTable *drop[CF_N_ENTITY_KINDS];
  GHashTable *none[CF_N_ENTITY_KINDS];
  g_autoptr(GPtrArray) additions = g_ptr_array_new ();

  new_id_sets (drop);
  new_id_sets (none);
  if (edit == EDIT_DELETE)
    collect_removed (self->snapshot, kind, id, drop);
  else
    {
      g_hash_table_add (drop[kind], (gpointer) id);
      g_ptr_array_add (additions, entity);
    }

  rebuild (self, drop, edit == EDIT_DELETE ? drop : none, kind, additions);
  free_id_sets (drop);
  free_id_sets (none);
}

/* Writes

   One write runs at a time, validated against the snapshot current when
   it starts, so that concurrent updates never merge from the same stale
   entity and conflicts are judged against what is really there. */

typedef enum {
  OP_CREATE,
  OP_UPDATE,
  OP_DELETE,
  OP_SYNC,
  OP_STATUS,
} Op;

typedef struct {
  CfEntityKind  kind;
  Op            op;
  EditKind      edit;
  char         *id;
  JsonObject   *input;
  JsonObject   *entity;
  JsonArray    *problems;
  GPtrArray    *batch;
  GPtrArray    *removed;
  GPtrArray    *skipped;
  /* Fields the gateway sets itself, which no client input may carry */
  JsonObject   *server_fields;
  guint         waiting;
} WriteData;

static void run_pending (CfCatalog *self);

static void
write_data_free (WriteData *data)
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
  run_pending (self);
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
      apply_edit (self, data->kind, data->edit, data->entity, data->id);
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
      apply_edit (self, data->kind, data->edit, data->entity, data->id);
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

static void
prepare_create (CfCatalog *self,
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

static void
prepare_update (CfCatalog *self,
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
static void
prepare_status (CfCatalog *self,
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

static void
prepare_delete (CfCatalog *self,
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

static const char *
sync_key (CfEntityKind kind)
{
  return kind == CF_ENTITY_RESOURCE ? "uri" : "name";
}

/* The gateway's current entities of the kind go (replaced or removed);
 * servers lose only the removed ones. */
static void
apply_sync (CfCatalog *self,
            WriteData *data)
{
  GPtrArray *current = cf_catalog_snapshot_list (self->snapshot, data->kind);
  GHashTable *drop[CF_N_ENTITY_KINDS];
  GHashTable *strip[CF_N_ENTITY_KINDS];

  new_id_sets (drop);
  new_id_sets (strip);
  for (guint i = 0; i < current->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (current->pdata[i], "gatewayId"), data->id) == 0)
      g_hash_table_add (drop[data->kind],
                        (gpointer) cf_json_object_get_string (current->pdata[i], "id"));
  for (guint i = 0; i < data->removed->len; i++)
    g_hash_table_add (strip[data->kind], data->removed->pdata[i]);

  rebuild (self, drop, strip, data->kind, data->batch);
  free_id_sets (drop);
  free_id_sets (strip);
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

static void
prepare_sync (CfCatalog *self,
              GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  GPtrArray *current = cf_catalog_snapshot_list (self->snapshot, data->kind);
  const char *key = sync_key (data->kind);
  g_autoptr(GHashTable) taken = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GHashTable) kept_ids = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) kept = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  data->removed = g_ptr_array_new_with_free_func (g_free);
  data->skipped = g_ptr_array_new_with_free_func (g_free);

  /* Names held by anything else win; within the batch the first wins.
   * What loses is reported, never silently dropped. */
  for (guint i = 0; i < current->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (current->pdata[i], "gatewayId"), data->id) != 0)
      g_hash_table_add (taken, (gpointer) cf_json_object_get_string (current->pdata[i], key));
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
      JsonObject *entity = current->pdata[i];
      const char *id = cf_json_object_get_string (entity, "id");

      if (g_strcmp0 (cf_json_object_get_string (entity, "gatewayId"), data->id) == 0 &&
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

static void
run_pending (CfCatalog *self)
{
  GTask *task;

  if (self->busy || (task = g_queue_pop_head (&self->pending)) == NULL)
    return;

  self->busy = TRUE;
  switch (((WriteData *) g_task_get_task_data (task))->op)
    {
    case OP_CREATE:
      prepare_create (self, task);
      break;
    case OP_UPDATE:
      prepare_update (self, task);
      break;
    case OP_DELETE:
      prepare_delete (self, task);
      break;
    case OP_SYNC:
      prepare_sync (self, task);
      break;
    case OP_STATUS:
      prepare_status (self, task);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* @server_fields: (transfer full) (nullable): see WriteData */
static void
queue_write (CfCatalog           *self,
             Op                   op,
             CfEntityKind         kind,
             const char          *id,
             JsonObject          *input,
             JsonObject          *server_fields,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data,
             gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  WriteData *data = g_new0 (WriteData, 1);

  g_task_set_source_tag (task, source_tag);
  data->kind = kind;
  data->op = op;
  data->edit = op == OP_DELETE ? EDIT_DELETE : EDIT_PUT;
  data->id = g_strdup (id);
  data->input = input ? json_object_ref (input) : NULL;
  data->server_fields = server_fields;
  data->problems = json_array_new ();
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);

  g_queue_push_tail (&self->pending, task);
  run_pending (self);
}

/**
 * cf_catalog_create_async:
 * @self: a #CfCatalog
 * @kind: what to create
 * @input: the fields, snake_case or camelCase, as a client sent them
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 */
void
cf_catalog_create_async (CfCatalog           *self,
                         CfEntityKind         kind,
                         JsonObject          *input,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (input != NULL);

  queue_write (self, OP_CREATE, kind, NULL, input, NULL, cancellable, callback, user_data,
               cf_catalog_create_async);
}

/**
 * cf_catalog_create_discovered_async:
 * @self: a #CfCatalog
 * @input: a GatewayCreate body, as cf_catalog_create_async() takes it
 * @peer_id: the discovered gateway's id
 * @address: the address of it the operator chose
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result; finish with cf_catalog_write_finish()
 * @user_data: closure data
 *
 * Registers an upstream gateway found on the LAN. The operator's explicit
 * choice is the consent the SSRF guard's private-network rule asks for:
 * the stored gateway remembers @peer_id and @address, and connections to
 * exactly that address (the URL's host) are allowed for it alone. No
 * client input can set these fields.
 */
void
cf_catalog_create_discovered_async (CfCatalog           *self,
                                    JsonObject          *input,
                                    const char          *peer_id,
                                    const char          *address,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  JsonObject *fields;

  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (input != NULL);
  g_return_if_fail (peer_id != NULL && address != NULL);

  fields = json_object_new ();
  json_object_set_string_member (fields, "discoveredPeerId", peer_id);
  json_object_set_string_member (fields, "discoveredAddress", address);
  queue_write (self, OP_CREATE, CF_ENTITY_GATEWAY, NULL, input, fields, cancellable, callback,
               user_data, cf_catalog_create_async);
}

/**
 * cf_catalog_update_async:
 * @self: a #CfCatalog
 * @kind: what to update
 * @id: the entity's id
 * @input: the fields to change; others keep their values
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 */
void
cf_catalog_update_async (CfCatalog           *self,
                         CfEntityKind         kind,
                         const char          *id,
                         JsonObject          *input,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (id != NULL);
  g_return_if_fail (input != NULL);

  queue_write (self, OP_UPDATE, kind, id, input, NULL, cancellable, callback, user_data,
               cf_catalog_update_async);
}

/**
 * cf_catalog_set_status_async:
 * @self: a #CfCatalog
 * @kind: the kind of entity
 * @id: its id
 * @status: fields the gateway maintains itself (reachable, lastSeen, ...),
 *   merged in without validation
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result; finish with cf_catalog_write_finish()
 * @user_data: closure data
 */
void
cf_catalog_set_status_async (CfCatalog           *self,
                             CfEntityKind         kind,
                             const char          *id,
                             JsonObject          *status,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (id != NULL);
  g_return_if_fail (status != NULL);

  queue_write (self, OP_STATUS, kind, id, status, NULL, cancellable, callback, user_data,
               cf_catalog_set_status_async);
}

/**
 * cf_catalog_write_finish:
 * @self: a #CfCatalog
 * @result: the result
 * @out_problems: (out) (optional) (transfer full): for
 *   %CF_CATALOG_ERROR_INVALID, the validation problems
 * @error: return location for a #CfCatalogError
 *
 * Returns: (transfer full): the entity as stored
 */
JsonObject *
cf_catalog_write_finish (CfCatalog     *self,
                         GAsyncResult  *result,
                         JsonArray    **out_problems,
                         GError       **error)
{
  WriteData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (out_problems != NULL)
    *out_problems = data->problems ? json_array_ref (data->problems) : NULL;
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return json_object_ref (data->entity);
}

/**
 * cf_catalog_delete_async:
 * @self: a #CfCatalog
 * @kind: what to delete
 * @id: its id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 *
 * Deleting a gateway deletes what it federated; deleting a tool, resource
 * or prompt removes it from the virtual servers that expose it.
 */
void
cf_catalog_delete_async (CfCatalog           *self,
                         CfEntityKind         kind,
                         const char          *id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (id != NULL);

  queue_write (self, OP_DELETE, kind, id, NULL, NULL, cancellable, callback, user_data,
               cf_catalog_delete_async);
}

/**
 * cf_catalog_sync_async:
 * @self: a #CfCatalog
 * @kind: tools, resources or prompts
 * @gateway_id: the upstream gateway they come from
 * @entities: (element-type JsonObject): complete entities, ids included
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 *
 * Makes @entities everything of @kind that @gateway_id contributes: new
 * ones are added, changed ones replaced, missing ones removed (and from
 * virtual servers). An entity whose name (or URI) another one holds is
 * skipped and reported by cf_catalog_sync_finish().
 */
void
cf_catalog_sync_async (CfCatalog           *self,
                       CfEntityKind         kind,
                       const char          *gateway_id,
                       GPtrArray           *entities,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  WriteData *data = g_new0 (WriteData, 1);

  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind == CF_ENTITY_TOOL || kind == CF_ENTITY_RESOURCE ||
                    kind == CF_ENTITY_PROMPT);

  g_task_set_source_tag (task, cf_catalog_sync_async);
  data->kind = kind;
  data->op = OP_SYNC;
  data->edit = EDIT_PUT;
  data->id = g_strdup (gateway_id);
  data->problems = json_array_new ();
  data->batch = g_ptr_array_ref (entities);
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);

  g_queue_push_tail (&self->pending, task);
  run_pending (self);
}

/**
 * cf_catalog_sync_finish:
 *
 * Returns: (transfer full): the names (or URIs) skipped as conflicts,
 *   possibly none; %NULL only on error
 */
GStrv
cf_catalog_sync_finish (CfCatalog     *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  WriteData *data;
  g_autoptr(GStrvBuilder) builder = NULL;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  data = g_task_get_task_data (G_TASK (result));
  builder = g_strv_builder_new ();
  for (guint i = 0; i < data->skipped->len; i++)
    g_strv_builder_add (builder, data->skipped->pdata[i]);
  return g_strv_builder_end (builder);
}

gboolean
cf_catalog_delete_finish (CfCatalog     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
