/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog"

#include "config.h"

#include "cf-catalog-private.h"
#include "cf-catalog.h"
#include "cf-json.h"

/* Snapshot surgery */

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
      GPtrArray *entries = cf_catalog_snapshot_entries (snapshot, k);

      for (guint i = 0; i < entries->len; i++)
        if (g_strcmp0 (cf_catalog_entry_get_gateway_id (entries->pdata[i]), id) == 0)
          g_hash_table_add (removed[k], (gpointer) cf_catalog_entry_get_id (entries->pdata[i]));
    }
}

/* Makes the next snapshot: the current one without the entities in
 * @drop, virtual servers without associations to those in @strip, plus
 * @additions of @add_kind; then tells everyone which kinds changed. */
void
_cf_catalog_rebuild (CfCatalog     *self,
                     GHashTable   **drop,
                     GHashTable   **strip,
                     CfEntityKind   add_kind,
                     GPtrArray     *additions)
{
  GPtrArray *lists[CF_N_ENTITY_KINDS];
  gboolean touched[CF_N_ENTITY_KINDS] = { FALSE };
  CfCatalogSnapshot *old = self->snapshot;
  gboolean stripping = FALSE;

  for (guint k = CF_ENTITY_TOOL; k <= CF_ENTITY_PROMPT; k++)
    stripping |= g_hash_table_size (strip[k]) > 0;

  /* Entries nothing touched are shared with the old snapshot. */
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      GPtrArray *source = cf_catalog_snapshot_entries (old, k);

      lists[k] = g_ptr_array_new_full (source->len, (GDestroyNotify) cf_catalog_entry_unref);
      for (guint i = 0; i < source->len; i++)
        {
          CfCatalogEntry *item = source->pdata[i];
          g_autoptr(JsonObject) server = NULL;
          JsonObject *kept;

          if (g_hash_table_contains (drop[k], cf_catalog_entry_get_id (item)))
            {
              touched[k] = TRUE;
              continue;
            }
          if (k != CF_ENTITY_SERVER || !stripping)
            {
              g_ptr_array_add (lists[k], cf_catalog_entry_ref (item));
              continue;
            }
          server = json_object_ref (cf_catalog_snapshot_get_entity (old, item));
          kept = without_removed (server, strip);
          if (kept == server)
            g_ptr_array_add (lists[k], cf_catalog_entry_ref (item));
          else
            {
              touched[k] = TRUE;
              g_ptr_array_add (lists[k], cf_catalog_entry_new (k, kept));
            }
          json_object_unref (kept);
        }
    }
  for (guint i = 0; additions != NULL && i < additions->len; i++)
    {
      g_ptr_array_add (lists[add_kind], cf_catalog_entry_new (add_kind, additions->pdata[i]));
      touched[add_kind] = TRUE;
    }

  self->snapshot = cf_catalog_snapshot_new (lists);
  cf_catalog_snapshot_unref (old);
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_ptr_array_unref (lists[k]);

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    if (touched[k])
      g_signal_emit (self, _cf_catalog_signals[CHANGED], 0, k);
}

void
_cf_catalog_new_id_sets (GHashTable **sets)
{
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    sets[k] = g_hash_table_new (g_str_hash, g_str_equal);
}

void
_cf_catalog_free_id_sets (GHashTable **sets)
{
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_hash_table_unref (sets[k]);
}

/* A put replaces the entity with the same id; a delete cascades. */
void
_cf_catalog_apply_edit (CfCatalog    *self,
                        CfEntityKind  kind,
                        EditKind      edit,
                        JsonObject   *entity,
                        const char   *id)
{
  GHashTable *drop[CF_N_ENTITY_KINDS];
  GHashTable *none[CF_N_ENTITY_KINDS];
  g_autoptr(GPtrArray) additions = g_ptr_array_new ();

  _cf_catalog_new_id_sets (drop);
  _cf_catalog_new_id_sets (none);
  if (edit == EDIT_DELETE)
    collect_removed (self->snapshot, kind, id, drop);
  else
    {
      g_hash_table_add (drop[kind], (gpointer) id);
      g_ptr_array_add (additions, entity);
    }

  _cf_catalog_rebuild (self, drop, edit == EDIT_DELETE ? drop : none, kind, additions);
  _cf_catalog_free_id_sets (drop);
  _cf_catalog_free_id_sets (none);
}
