/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include "cf-store-private.h"

/*
 * CfStore opens the database synchronously, then hands the connection to
 * one owner thread, as epiphany's history service does: every later
 * statement runs there, in the order the jobs were submitted, and each
 * job's GTask completes back in the caller's thread-default main context.
 * Once open, nothing that touches SQLite runs on the caller's thread, and
 * there is never more than one job in flight, so the connection and its
 * statement cache need no locking.
 */

typedef struct _CfStoreJob CfStoreJob;

/* Runs on the owner thread. */
typedef void (*CfStoreJobFunc) (CfStoreDb  *db,
                                CfStoreJob *job);

struct _CfStoreJob
{
  /* NULL asks the owner thread to quit. */
  CfStoreJobFunc  func;
  GTask          *task;
  CfEntityKind    kind;
  /* (element-type CfStoreRow): put and put_many */
  GPtrArray      *rows;
  /* delete */
  char           *id;
  /* (element-type JsonObject): load's result */
  GPtrArray      *entities;
  GError         *error;
  /* load: what to keep of each entity (cf_store_load_mapped_sync()) */
  CfStoreMapFunc  map;
  gpointer        map_data;
  GDestroyNotify  value_free;
  /* A typed accessor's query (cf-store-users.c) and its parameters. */
  CfStoreQueryFunc  query;
  gpointer          query_data;
  GDestroyNotify    query_data_free;
};

struct _CfStore
{
  GObject       parent_instance;

  char         *path;
  guint         schema_version;
  gboolean      initialized;
  /* Owned by the owner thread while it runs. */
  CfStoreDb    *db;

  /* Guards @closed so that no job is queued behind the quit job. */
  GMutex        lock;
  gboolean      closed;
  GAsyncQueue  *jobs;
  GThread      *thread;
};

enum {
  PROP_0,
  PROP_PATH,
  N_PROPS
};

static GParamSpec *properties[N_PROPS];

static void cf_store_initable_iface_init (GInitableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfStore, cf_store, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (G_TYPE_INITABLE,
                                                      cf_store_initable_iface_init))

G_DEFINE_QUARK (cf-store-error-quark, cf_store_error)

/**
 * cf_entity_kind_to_string:
 * @kind: an entity kind
 *
 * Returns: the kind's lower-case singular name, as used in messages
 */
const char *
cf_entity_kind_to_string (CfEntityKind kind)
{
  static const char * const names[] = {
    [CF_ENTITY_TOOL] = "tool",
    [CF_ENTITY_RESOURCE] = "resource",
    [CF_ENTITY_PROMPT] = "prompt",
    [CF_ENTITY_SERVER] = "server",
    [CF_ENTITY_GATEWAY] = "gateway",
  };

  g_return_val_if_fail ((guint) kind < CF_N_ENTITY_KINDS, NULL);

  return names[kind];
}

/* Job bodies, run on the owner thread */

static void
cf_store_job_put (CfStoreDb  *db,
                  CfStoreJob *job)
{
  cf_store_db_put (db, job->rows, &job->error);
}

static void
cf_store_job_delete (CfStoreDb  *db,
                     CfStoreJob *job)
{
  cf_store_db_delete (db, job->kind, job->id, &job->error);
}

static void
cf_store_job_load (CfStoreDb  *db,
                   CfStoreJob *job)
{
  job->entities = cf_store_db_load (db, job->kind, job->map, job->map_data, job->value_free,
                                    &job->error);
}

static void
cf_store_job_query (CfStoreDb  *db,
                    CfStoreJob *job)
{
  g_autoptr(GPtrArray) rows = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  if (job->query (db, job->query_data, rows, &job->error))
    job->entities = g_steal_pointer (&rows);
}

/* Queueing and completion */

static CfStoreJob *
cf_store_job_new (CfStore             *self,
                  CfStoreJobFunc       func,
                  CfEntityKind         kind,
                  gpointer             source_tag,
                  GCancellable        *cancellable,
                  GAsyncReadyCallback  callback,
                  gpointer             user_data)
{
  CfStoreJob *job = g_new0 (CfStoreJob, 1);

  job->func = func;
  job->kind = kind;
  job->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (job->task, source_tag);
  /* A write that ran must not be reported as cancelled; the owner thread
   * checks the cancellable itself, before it starts a job. */
  g_task_set_check_cancellable (job->task, FALSE);
  return job;
}

static void
cf_store_job_free (gpointer data)
{
  CfStoreJob *job = data;

  g_clear_object (&job->task);
  g_clear_pointer (&job->rows, g_ptr_array_unref);
  g_clear_pointer (&job->entities, g_ptr_array_unref);
  g_clear_error (&job->error);
  if (job->query_data_free != NULL)
    job->query_data_free (job->query_data);
  g_free (job->id);
  g_free (job);
}

/* Runs in the caller's main context. */
static gboolean
cf_store_job_complete (gpointer data)
{
  CfStoreJob *job = data;

  if (job->error != NULL)
    g_task_return_error (job->task, g_steal_pointer (&job->error));
  else if (job->entities != NULL)
    g_task_return_pointer (job->task, g_steal_pointer (&job->entities),
                           (GDestroyNotify) g_ptr_array_unref);
  else
    g_task_return_boolean (job->task, TRUE);

  return G_SOURCE_REMOVE;
}

static void
cf_store_run_job (CfStore    *self,
                  CfStoreJob *job)
{
  /* Held past the source (cleanups run in reverse order): once attached,
   * the job may be done and its caller's context gone (query_sync() in
   * cf-tokens.c frees its own) before this thread lets go of the source,
   * which would then lock a freed context. */
  g_autoptr(GMainContext) context = g_main_context_ref (g_task_get_context (job->task));
  g_autoptr(GSource) source = NULL;

  /* A job that fails validation still queues, so that callbacks come
   * back in submission order. A cancelled job is skipped, never undone. */
  if (job->error == NULL
      && !g_cancellable_set_error_if_cancelled (g_task_get_cancellable (job->task), &job->error))
    job->func (self->db, job);

  /* Completing through our own source rather than g_task_return_*() here
   * means the task, and the store it references, is always released on
   * the caller's thread: the owner thread never holds the last ref. */
  source = g_idle_source_new ();
  g_source_set_priority (source, g_task_get_priority (job->task));
  g_source_set_static_name (source, "[cf-store] job complete");
  g_source_set_callback (source, cf_store_job_complete, job, cf_store_job_free);
  g_source_attach (source, context);
}

static gpointer
cf_store_owner_thread (gpointer data)
{
  CfStore *self = data;
  CfStoreJob *job;

  while ((job = g_async_queue_pop (self->jobs))->func != NULL)
    cf_store_run_job (self, job);
  cf_store_job_free (job);

  cf_store_db_close (g_steal_pointer (&self->db));
  return NULL;
}

static void
cf_store_submit (CfStore    *self,
                 CfStoreJob *job)
{
  gboolean closed;

  g_mutex_lock (&self->lock);
  closed = self->closed;
  if (!closed)
    g_async_queue_push (self->jobs, job);
  g_mutex_unlock (&self->lock);

  if (closed)
    {
      g_task_return_new_error (job->task, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED,
                               "The store %s is closed", self->path);
      cf_store_job_free (job);
    }
}

static void
cf_store_submit_write (CfStore             *self,
                       CfEntityKind         kind,
                       GPtrArray           *entities,
                       gpointer             source_tag,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  CfStoreJob *job = cf_store_job_new (self, cf_store_job_put, kind, source_tag,
                                      cancellable, callback, user_data);

  /* Flattened here, on the caller's thread: JsonObject is not thread-safe,
   * and the caller may go on using it while the job waits. */
  job->rows = g_ptr_array_new_with_free_func ((GDestroyNotify) cf_store_row_free);
  for (guint i = 0; i < entities->len && job->error == NULL; i++)
    {
      CfStoreRow *row = cf_store_row_new_from_json (kind, g_ptr_array_index (entities, i),
                                                    &job->error);

      if (row != NULL)
        g_ptr_array_add (job->rows, row);
    }

  cf_store_submit (self, job);
}

/**
 * cf_store_submit_query:
 * @self: a #CfStore
 * @query: runs on the owner thread
 * @data: (transfer full): @query's parameters, copied by the caller so that
 *   nothing is shared with the owner thread
 * @data_free: frees @data, on the caller's thread once the job completed
 * @source_tag: the public function's tag
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Queues a typed accessor's statements behind the jobs already queued. The
 * task's result is the #GPtrArray of JsonObject rows @query produced.
 */
void
cf_store_submit_query (CfStore             *self,
                       CfStoreQueryFunc     query,
                       gpointer             data,
                       GDestroyNotify       data_free,
                       gpointer             source_tag,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  CfStoreJob *job = cf_store_job_new (self, cf_store_job_query, 0, source_tag,
                                      cancellable, callback, user_data);

  job->query = query;
  job->query_data = data;
  job->query_data_free = data_free;
  cf_store_submit (self, job);
}

/* GObject */

static gboolean
cf_store_initable_init (GInitable     *initable,
                        GCancellable  *cancellable,
                        GError       **error)
{
  CfStore *self = CF_STORE (initable);

  /* GInitable wants a second init to be a no-op. */
  if (self->initialized)
    return self->thread != NULL;
  self->initialized = TRUE;

  self->db = cf_store_db_open (self->path, error);
  if (self->db == NULL)
    return FALSE;
  self->schema_version = cf_store_db_get_schema_version (self->db);

  /* From here on only the owner thread touches self->db. */
  self->closed = FALSE;
  self->thread = g_thread_new ("cf-store", cf_store_owner_thread, self);
  return TRUE;
}

static void
cf_store_initable_iface_init (GInitableIface *iface)
{
  iface->init = cf_store_initable_init;
}

static void
cf_store_dispose (GObject *object)
{
  cf_store_close (CF_STORE (object));

  G_OBJECT_CLASS (cf_store_parent_class)->dispose (object);
}

static void
cf_store_finalize (GObject *object)
{
  CfStore *self = CF_STORE (object);

  g_clear_pointer (&self->jobs, g_async_queue_unref);
  g_mutex_clear (&self->lock);
  g_free (self->path);

  G_OBJECT_CLASS (cf_store_parent_class)->finalize (object);
}

static void
cf_store_get_property (GObject    *object,
                       guint       prop_id,
                       GValue     *value,
                       GParamSpec *pspec)
{
  CfStore *self = CF_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      g_value_set_string (value, self->path);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cf_store_set_property (GObject      *object,
                       guint         prop_id,
                       const GValue *value,
                       GParamSpec   *pspec)
{
  CfStore *self = CF_STORE (object);

  switch (prop_id)
    {
    case PROP_PATH:
      self->path = g_value_dup_string (value);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cf_store_class_init (CfStoreClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_store_dispose;
  object_class->finalize = cf_store_finalize;
  object_class->get_property = cf_store_get_property;
  object_class->set_property = cf_store_set_property;

  /**
   * CfStore:path:
   *
   * The database file. Parent directories are created on open.
   */
  properties[PROP_PATH] =
    g_param_spec_string ("path", NULL, NULL, NULL,
                         G_PARAM_READWRITE | G_PARAM_CONSTRUCT_ONLY | G_PARAM_STATIC_STRINGS);

  g_object_class_install_properties (object_class, N_PROPS, properties);
}

static void
cf_store_init (CfStore *self)
{
  g_mutex_init (&self->lock);
  /* Closed until initialized, so a store that failed to open, or was
   * never initialized, refuses jobs instead of queueing them forever. */
  self->closed = TRUE;
  self->jobs = g_async_queue_new ();
}

/* Public API */

/**
 * cf_store_new:
 * @path: the database file
 * @error: return location for a #GError
 *
 * Opens or creates the database at @path and brings its schema up to date.
 * This blocks: it is meant for startup, before the daemon serves.
 *
 * Returns: (transfer full) (nullable): a new store, or %NULL with
 *   %CF_STORE_ERROR_OPEN or %CF_STORE_ERROR_MIGRATION set
 */
CfStore *
cf_store_new (const char  *path,
              GError     **error)
{
  g_return_val_if_fail (path != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  return g_initable_new (CF_TYPE_STORE, NULL, error, "path", path, NULL);
}

/**
 * cf_store_get_path:
 * @self: a #CfStore
 *
 * Returns: the database file
 */
const char *
cf_store_get_path (CfStore *self)
{
  g_return_val_if_fail (CF_IS_STORE (self), NULL);

  return self->path;
}

/**
 * cf_store_get_schema_version:
 * @self: a #CfStore
 *
 * Returns: the schema version the database was migrated to
 */
guint
cf_store_get_schema_version (CfStore *self)
{
  g_return_val_if_fail (CF_IS_STORE (self), 0);

  return self->schema_version;
}

/**
 * cf_store_load_async:
 * @self: a #CfStore
 * @kind: which entities to load
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Loads every entity of @kind, ordered by creation time then id.
 */
void
cf_store_load_async (CfStore             *self,
                     CfEntityKind         kind,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail ((guint) kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  cf_store_submit (self, cf_store_job_new (self, cf_store_job_load, kind, cf_store_load_async,
                                           cancellable, callback, user_data));
}

/**
 * cf_store_load_finish:
 * @self: a #CfStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (element-type JsonObject) (nullable): the
 *   entities in the REST API's shape, NULL columns omitted; a server
 *   carries its association arrays, empty ones included
 */
GPtrArray *
cf_store_load_finish (CfStore       *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), NULL);
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_store_load_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cf_store_load_sync_cb (GObject      *object,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  GAsyncResult **out = user_data;

  *out = g_object_ref (result);
}

/* Loads on the owner thread and waits for it on a private context, so
 * that no other source of the caller's runs meanwhile. */
static GPtrArray *
load_sync (CfStore         *self,
           CfEntityKind     kind,
           CfStoreMapFunc   map,
           gpointer         map_data,
           GDestroyNotify   value_free,
           GError         **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;
  CfStoreJob *job;

  g_main_context_push_thread_default (context);
  job = cf_store_job_new (self, cf_store_job_load, kind, cf_store_load_async, NULL,
                          cf_store_load_sync_cb, &result);
  job->map = map;
  job->map_data = map_data;
  job->value_free = value_free;
  cf_store_submit (self, job);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);

  return cf_store_load_finish (self, result, error);
}

/**
 * cf_store_load_sync:
 * @self: a #CfStore
 * @kind: which entities to load
 * @error: return location for a #GError
 *
 * Like cf_store_load_async(), but blocks until the owner thread has run
 * the job. For startup and tests; never call it from the main loop.
 *
 * Returns: (transfer container) (element-type JsonObject) (nullable): as
 *   cf_store_load_finish()
 */
GPtrArray *
cf_store_load_sync (CfStore       *self,
                    CfEntityKind   kind,
                    GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), NULL);
  g_return_val_if_fail ((guint) kind < CF_N_ENTITY_KINDS, NULL);

  return load_sync (self, kind, NULL, NULL, NULL, error);
}

/**
 * cf_store_load_mapped_sync:
 * @self: a #CfStore
 * @kind: which entities to load
 * @map: what to keep of each entity; runs on the owner thread
 * @user_data: closure data for @map
 * @value_free: frees what @map returns
 * @error: return location for a #GError
 *
 * Like cf_store_load_sync(), but each entity is handed to @map as soon as
 * it is read and let go, so that a large load never holds every entity
 * as a tree at once.
 *
 * Returns: (transfer container) (nullable): what @map returned for each
 *   entity, in load order
 */
GPtrArray *
cf_store_load_mapped_sync (CfStore         *self,
                           CfEntityKind     kind,
                           CfStoreMapFunc   map,
                           gpointer         user_data,
                           GDestroyNotify   value_free,
                           GError         **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), NULL);
  g_return_val_if_fail ((guint) kind < CF_N_ENTITY_KINDS, NULL);
  g_return_val_if_fail (map != NULL, NULL);

  return load_sync (self, kind, map, user_data, value_free, error);
}

/**
 * cf_store_put_async:
 * @self: a #CfStore
 * @kind: the entity's kind
 * @entity: the entity in the REST API's shape; it is copied before this
 *   returns
 * @cancellable: (nullable): a #GCancellable; cancelling skips the job if
 *   it has not started yet
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Inserts @entity, or replaces the row with the same id. A server's
 * associations are replaced by the ones @entity lists.
 */
void
cf_store_put_async (CfStore             *self,
                    CfEntityKind         kind,
                    JsonObject          *entity,
                    GCancellable        *cancellable,
                    GAsyncReadyCallback  callback,
                    gpointer             user_data)
{
  g_autoptr(GPtrArray) entities = g_ptr_array_new ();

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail ((guint) kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (entity != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  g_ptr_array_add (entities, entity);
  cf_store_submit_write (self, kind, entities, cf_store_put_async,
                         cancellable, callback, user_data);
}

/**
 * cf_store_put_finish:
 * @self: a #CfStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the entity was saved
 */
gboolean
cf_store_put_finish (CfStore       *self,
                     GAsyncResult  *result,
                     GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_store_put_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cf_store_put_many_async:
 * @self: a #CfStore
 * @kind: the entities' kind
 * @entities: (element-type JsonObject): the entities; they are copied
 *   before this returns
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Like cf_store_put_async() for each entity, in one transaction: either
 * all of them are saved or none is.
 */
void
cf_store_put_many_async (CfStore             *self,
                         CfEntityKind         kind,
                         GPtrArray           *entities,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail ((guint) kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (entities != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  cf_store_submit_write (self, kind, entities, cf_store_put_many_async,
                         cancellable, callback, user_data);
}

/**
 * cf_store_put_many_finish:
 * @self: a #CfStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE if every entity was saved, %FALSE if none was
 */
gboolean
cf_store_put_many_finish (CfStore       *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_store_put_many_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cf_store_delete_async:
 * @self: a #CfStore
 * @kind: the entity's kind
 * @id: the entity's id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Deletes one entity. Deleting a gateway deletes its tools, resources and
 * prompts; deleting anything removes it from the servers that list it.
 */
void
cf_store_delete_async (CfStore             *self,
                       CfEntityKind         kind,
                       const char          *id,
                       GCancellable        *cancellable,
                       GAsyncReadyCallback  callback,
                       gpointer             user_data)
{
  CfStoreJob *job;

  g_return_if_fail (CF_IS_STORE (self));
  g_return_if_fail ((guint) kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (id != NULL);
  g_return_if_fail (cancellable == NULL || G_IS_CANCELLABLE (cancellable));

  job = cf_store_job_new (self, cf_store_job_delete, kind, cf_store_delete_async,
                          cancellable, callback, user_data);
  job->id = g_strdup (id);
  cf_store_submit (self, job);
}

/**
 * cf_store_delete_finish:
 * @self: a #CfStore
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the entity was deleted; %CF_STORE_ERROR_NOT_FOUND if
 *   there was none with that id
 */
gboolean
cf_store_delete_finish (CfStore       *self,
                        GAsyncResult  *result,
                        GError       **error)
{
  g_return_val_if_fail (CF_IS_STORE (self), FALSE);
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_store_delete_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cf_store_close:
 * @self: a #CfStore
 *
 * Runs every job already queued, checkpoints the WAL into the database
 * file, stops the owner thread and closes the database. Blocks until then;
 * the queued jobs' callbacks still arrive in their main contexts. Later
 * calls fail with %CF_STORE_ERROR_CLOSED. Closing twice is harmless.
 */
void
cf_store_close (CfStore *self)
{
  GThread *thread;

  g_return_if_fail (CF_IS_STORE (self));

  /* The queue is FIFO, and nothing is pushed once closed is set, so the
   * quit job comes last: every write queued before it completes. */
  g_mutex_lock (&self->lock);
  self->closed = TRUE;
  thread = g_steal_pointer (&self->thread);
  if (thread != NULL)
    g_async_queue_push (self->jobs, g_new0 (CfStoreJob, 1));
  g_mutex_unlock (&self->lock);

  if (thread != NULL)
    g_thread_join (thread);
}
