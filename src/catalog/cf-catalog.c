/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog"

#include "config.h"

#include "cf-catalog-private.h"
#include "cf-catalog.h"
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

guint _cf_catalog_signals[N_SIGNALS];

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
  _cf_catalog_signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass),
                                               G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                               G_TYPE_NONE, 1, G_TYPE_UINT);
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

/* Runs on the store's thread: an entry is immutable, made from the tree
 * the store lets go of next. */
static gpointer
load_entry (CfEntityKind  kind,
            JsonObject   *entity,
            gpointer      user_data)
{
  return cf_catalog_entry_new (kind, entity);
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

  /* Each entity becomes its entry on the store's thread as it is read:
   * ten thousand tools never exist as trees all at once. */
  for (guint k = 0; k < CF_N_ENTITY_KINDS && ok; k++)
    {
      lists[k] = cf_store_load_mapped_sync (self->store, k, load_entry, NULL,
                                            (GDestroyNotify) cf_catalog_entry_unref, error);
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

void
_cf_catalog_run_pending (CfCatalog *self)
{
  GTask *task;

  if (self->busy || (task = g_queue_pop_head (&self->pending)) == NULL)
    return;

  self->busy = TRUE;
  switch (((WriteData *) g_task_get_task_data (task))->op)
    {
    case OP_CREATE:
      _cf_catalog_prepare_create (self, task);
      break;
    case OP_UPDATE:
      _cf_catalog_prepare_update (self, task);
      break;
    case OP_DELETE:
      _cf_catalog_prepare_delete (self, task);
      break;
    case OP_SYNC:
      _cf_catalog_prepare_sync (self, task);
      break;
    case OP_STATUS:
      _cf_catalog_prepare_status (self, task);
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
  g_task_set_task_data (task, data, (GDestroyNotify) _cf_catalog_write_data_free);

  g_queue_push_tail (&self->pending, task);
  _cf_catalog_run_pending (self);
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
  g_task_set_task_data (task, data, (GDestroyNotify) _cf_catalog_write_data_free);

  g_queue_push_tail (&self->pending, task);
  _cf_catalog_run_pending (self);
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
