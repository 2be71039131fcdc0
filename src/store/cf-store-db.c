/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include <errno.h>
#include <stdlib.h>

#include "cf-store-private.h"
#include "cf-store-resources.h"

/*
 * The SQLite connection behind a CfStore: opening, migrations, the
 * statement cache and the transactions of each operation. Not thread-safe
 * by design: cf_store_db_open() runs on the caller's thread, everything
 * after it on the store's owner thread alone, one call at a time.
 */

#define MIGRATIONS_PATH "/org/contextforge/Gateway/store/migrations"
#define BUSY_TIMEOUT_MS 5000

struct _CfStoreDb
{
  sqlite3    *handle;
  char       *path;
  guint       schema_version;
  /* SQL text -> sqlite3_stmt, prepared on first use. */
  GHashTable *stmts;
  char       *kind_sql[CF_N_ENTITY_KINDS][CF_STORE_N_SQL];
};

/* A statement borrowed from the cache: its autoptr cleanup resets it
 * rather than freeing it. */
typedef sqlite3_stmt CfStoreStmt;

static void
cf_store_stmt_release (CfStoreStmt *stmt)
{
  sqlite3_reset (stmt);
  sqlite3_clear_bindings (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfStoreStmt, cf_store_stmt_release)

/* Errors */

static CfStoreError
error_code_from_sqlite (int rc)
{
  switch (rc & 0xff)
    {
    case SQLITE_CONSTRAINT:
      return CF_STORE_ERROR_CONSTRAINT;
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
      return CF_STORE_ERROR_OPEN;
    default:
      return CF_STORE_ERROR_IO;
    }
}

static gboolean G_GNUC_PRINTF (4, 5)
set_sqlite_error (GError       **error,
                  CfStoreError   code,
                  sqlite3       *handle,
                  const char    *format,
                  ...)
{
  g_autofree char *what = NULL;
  va_list args;

  va_start (args, format);
  what = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (error, CF_STORE_ERROR, code, "%s: %s", what,
               handle != NULL ? sqlite3_errmsg (handle) : "out of memory");
  return FALSE;
}

/* Opening and migrations */

static gboolean
cf_store_db_connect (CfStoreDb  *db,
                     GError    **error)
{
  g_autofree char *dir = g_path_get_dirname (db->path);
  int rc;

  if (g_mkdir_with_parents (dir, 0700) != 0)
    {
      int saved_errno = errno;

      g_set_error (error, CF_STORE_ERROR, CF_STORE_ERROR_OPEN, "Cannot create %s: %s",
                   dir, g_strerror (saved_errno));
      return FALSE;
    }

  rc = sqlite3_open_v2 (db->path, &db->handle, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
  if (rc == SQLITE_OK)
    {
      sqlite3_extended_result_codes (db->handle, TRUE);
      sqlite3_busy_timeout (db->handle, BUSY_TIMEOUT_MS);
      /* SQLite opens lazily: reading the schema forces a look at the
       * header, so a file that is not a database fails here, as an open
       * error rather than a failed migration. */
      rc = sqlite3_exec (db->handle,
                         "PRAGMA journal_mode = WAL;"
                         "PRAGMA synchronous = NORMAL;"
                         "PRAGMA foreign_keys = ON;"
                         "SELECT count (*) FROM sqlite_master;",
                         NULL, NULL, NULL);
    }
  if (rc != SQLITE_OK)
    return set_sqlite_error (error, CF_STORE_ERROR_OPEN, db->handle, "Cannot open %s", db->path);

  return TRUE;
}

static int
compare_names (gconstpointer a,
               gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/* The names are NNNN-what.sql; zero-padding makes name order version order. */
static GStrv
list_migrations (void)
{
  GStrv names = g_resource_enumerate_children (cf_store_get_resource (), MIGRATIONS_PATH,
                                               G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);

  g_assert (names != NULL && names[0] != NULL);
  qsort (names, g_strv_length (names), sizeof (char *), compare_names);
  return names;
}

static guint
migration_version (const char *name)
{
  guint version = (guint) g_ascii_strtoull (name, NULL, 10);

  g_assert (version > 0);
  return version;
}

static gboolean
query_uint (sqlite3     *handle,
            const char  *sql,
            guint       *value,
            GError     **error)
{
  sqlite3_stmt *stmt = NULL;
  int rc = sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL);

  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    *value = (guint) sqlite3_column_int64 (stmt, 0);
  if (rc != SQLITE_ROW)
    set_sqlite_error (error, CF_STORE_ERROR_MIGRATION, handle, "Cannot read the schema version");
  sqlite3_finalize (stmt);
  return rc == SQLITE_ROW;
}

static gboolean
apply_migration (CfStoreDb   *db,
                 const char  *name,
                 GError     **error)
{
  g_autofree char *path = g_build_path ("/", MIGRATIONS_PATH, name, NULL);
  g_autoptr(GBytes) sql = NULL;
  g_autofree char *record = NULL;
  int rc;

  /* Resources are NUL-terminated, so the bytes are a C string. */
  sql = g_resource_lookup_data (cf_store_get_resource (), path, G_RESOURCE_LOOKUP_FLAGS_NONE, NULL);
  g_assert (sql != NULL);
  record = g_strdup_printf ("INSERT INTO schema_version (version, applied_at) "
                            "VALUES (%u, strftime ('%%Y-%%m-%%dT%%H:%%M:%%fZ', 'now'))",
                            migration_version (name));

  /* DDL is transactional in SQLite: a failed migration leaves no trace. */
  rc = sqlite3_exec (db->handle, "BEGIN IMMEDIATE", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db->handle, g_bytes_get_data (sql, NULL), NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db->handle, record, NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    rc = sqlite3_exec (db->handle, "COMMIT", NULL, NULL, NULL);
  if (rc == SQLITE_OK)
    return TRUE;

  set_sqlite_error (error, CF_STORE_ERROR_MIGRATION, db->handle, "Migration %s failed", name);
  if (!sqlite3_get_autocommit (db->handle))
    sqlite3_exec (db->handle, "ROLLBACK", NULL, NULL, NULL);
  return FALSE;
}

static gboolean
cf_store_db_migrate (CfStoreDb  *db,
                     GError    **error)
{
  g_auto(GStrv) names = list_migrations ();
  guint latest = migration_version (names[g_strv_length (names) - 1]);
  guint current = 0;
  int rc;

  rc = sqlite3_exec (db->handle,
                     "CREATE TABLE IF NOT EXISTS schema_version ("
                     "  version INTEGER PRIMARY KEY NOT NULL,"
                     "  applied_at TEXT NOT NULL)",
                     NULL, NULL, NULL);
  if (rc != SQLITE_OK)
    return set_sqlite_error (error, CF_STORE_ERROR_MIGRATION, db->handle,
                             "Cannot create the schema_version table");

  if (!query_uint (db->handle, "SELECT coalesce (max (version), 0) FROM schema_version",
                   &current, error))
    return FALSE;

  /* Our migrations cannot know what a newer program did to the tables. */
  if (current > latest)
    {
      g_set_error (error, CF_STORE_ERROR, CF_STORE_ERROR_MIGRATION,
                   "%s has schema version %u; this program knows up to %u",
                   db->path, current, latest);
      return FALSE;
    }

  for (guint i = 0; names[i] != NULL; i++)
    if (migration_version (names[i]) > current && !apply_migration (db, names[i], error))
      return FALSE;

  db->schema_version = latest;
  return TRUE;
}

static void
finalize_stmt (gpointer stmt)
{
  sqlite3_finalize (stmt);
}

static void
cf_store_db_free (CfStoreDb *db)
{
  g_hash_table_unref (db->stmts);
  sqlite3_close (db->handle);
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    for (guint w = 0; w < CF_STORE_N_SQL; w++)
      g_free (db->kind_sql[k][w]);
  g_free (db->path);
  g_free (db);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfStoreDb, cf_store_db_free)

/**
 * cf_store_db_open:
 * @path: the database file
 * @error: return location for a #GError
 *
 * Opens or creates the database, sets it up and brings its schema up to
 * date. Blocks.
 *
 * Returns: (transfer full) (nullable): the connection
 */
CfStoreDb *
cf_store_db_open (const char  *path,
                  GError     **error)
{
  g_autoptr(CfStoreDb) db = g_new0 (CfStoreDb, 1);

  db->path = g_strdup (path);
  db->stmts = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, finalize_stmt);
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    for (guint w = 0; w < CF_STORE_N_SQL; w++)
      db->kind_sql[k][w] = cf_store_kind_build_sql (k, w);

  if (!cf_store_db_connect (db, error) || !cf_store_db_migrate (db, error))
    return NULL;

  return g_steal_pointer (&db);
}

/**
 * cf_store_db_close:
 * @db: (transfer full): a connection
 *
 * Checkpoints the WAL into the database file and closes the connection.
 */
void
cf_store_db_close (CfStoreDb *db)
{
  /* Leave an empty -wal file rather than one as large as the last burst
   * of writes. Failing only costs disk until the next open. */
  g_hash_table_remove_all (db->stmts);
  if (sqlite3_exec (db->handle, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) != SQLITE_OK)
    g_info ("Cannot checkpoint %s: %s", db->path, sqlite3_errmsg (db->handle));
  cf_store_db_free (db);
}

guint
cf_store_db_get_schema_version (CfStoreDb *db)
{
  return db->schema_version;
}

/* Statements and transactions */

/**
 * cf_store_db_prepare:
 * @db: a connection
 * @sql: a statement's text, which keys the cache
 * @stmt: (out) (transfer none): the prepared statement; reset it (and
 *   clear its bindings) when done
 *
 * Returns: an SQLite result code
 */
int
cf_store_db_prepare (CfStoreDb    *db,
                     const char   *sql,
                     CfStoreStmt **stmt)
{
  sqlite3_stmt *cached = g_hash_table_lookup (db->stmts, sql);
  int rc;

  if (cached == NULL)
    {
      rc = sqlite3_prepare_v3 (db->handle, sql, -1, SQLITE_PREPARE_PERSISTENT, &cached, NULL);
      if (rc != SQLITE_OK)
        return rc;
      g_hash_table_insert (db->stmts, g_strdup (sql), cached);
    }

  *stmt = cached;
  return SQLITE_OK;
}

/**
 * cf_store_db_fail:
 * @db: a connection
 * @rc: the failed call's SQLite result code
 * @what: what was being done, for the message
 * @error: return location for a #GError
 *
 * Returns: %FALSE, with @error set from @rc and SQLite's message
 */
gboolean
cf_store_db_fail (CfStoreDb   *db,
                  int          rc,
                  const char  *what,
                  GError     **error)
{
  return set_sqlite_error (error, error_code_from_sqlite (rc), db->handle, "%s", what);
}

/**
 * cf_store_db_row_to_json:
 * @stmt: a statement positioned on a row
 *
 * Maps the row by column name: integers and text as they are, NULL
 * columns omitted.
 *
 * Returns: (transfer full): the row
 */
JsonObject *
cf_store_db_row_to_json (sqlite3_stmt *stmt)
{
  JsonObject *row = json_object_new ();

  for (int i = 0; i < sqlite3_column_count (stmt); i++)
    {
      const char *name = sqlite3_column_name (stmt, i);

      switch (sqlite3_column_type (stmt, i))
        {
        case SQLITE_INTEGER:
          json_object_set_int_member (row, name, sqlite3_column_int64 (stmt, i));
          break;
        case SQLITE_TEXT:
          json_object_set_string_member (row, name, (const char *) sqlite3_column_text (stmt, i));
          break;
        default:
          break;
        }
    }
  return row;
}

/* Runs a cached statement with up to two text parameters. */
static int
cf_store_db_exec (CfStoreDb  *db,
                  const char *sql,
                  const char *param1,
                  const char *param2)
{
  g_autoptr(CfStoreStmt) stmt = NULL;
  int rc = cf_store_db_prepare (db, sql, &stmt);

  if (rc == SQLITE_OK && param1 != NULL)
    rc = sqlite3_bind_text (stmt, 1, param1, -1, SQLITE_STATIC);
  if (rc == SQLITE_OK && param2 != NULL)
    rc = sqlite3_bind_text (stmt, 2, param2, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK)
    return rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    ;
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static gboolean
cf_store_db_begin (CfStoreDb   *db,
                   const char  *begin,
                   GError     **error)
{
  int rc = cf_store_db_exec (db, begin, NULL, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, error_code_from_sqlite (rc), db->handle,
                             "Cannot start a transaction");
  return TRUE;
}

/* Commits if @ok, else rolls back; @error is already set when !@ok. */
static gboolean
cf_store_db_end (CfStoreDb  *db,
                 gboolean    ok,
                 GError    **error)
{
  int rc;

  if (ok)
    {
      rc = cf_store_db_exec (db, "COMMIT", NULL, NULL);
      if (rc == SQLITE_OK)
        return TRUE;
      set_sqlite_error (error, error_code_from_sqlite (rc), db->handle, "Cannot commit");
    }

  /* Some errors roll back by themselves; ROLLBACK would then fail. */
  if (!sqlite3_get_autocommit (db->handle))
    cf_store_db_exec (db, "ROLLBACK", NULL, NULL);
  return FALSE;
}

/* Writes */

static int
cf_store_db_put_assoc (CfStoreDb          *db,
                       CfStoreRow         *row,
                       const CfStoreAssoc *assoc,
                       const char * const *ids)
{
  const char *server_id = cf_store_row_get_id (row);
  int rc = cf_store_db_exec (db, assoc->delete_sql, server_id, NULL);

  for (guint i = 0; rc == SQLITE_OK && ids[i] != NULL; i++)
    rc = cf_store_db_exec (db, assoc->insert_sql, server_id, ids[i]);
  return rc;
}

static gboolean
cf_store_db_put_row (CfStoreDb   *db,
                     CfStoreRow  *row,
                     GError     **error)
{
  CfEntityKind kind = cf_store_row_get_kind (row);
  g_autoptr(CfStoreStmt) stmt = NULL;
  int rc = cf_store_db_prepare (db, db->kind_sql[kind][CF_STORE_SQL_UPSERT], &stmt);

  if (rc == SQLITE_OK)
    rc = cf_store_row_bind (row, stmt);
  if (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_DONE)
    rc = SQLITE_OK;

  /* A put replaces the server's associations wholesale. */
  for (guint i = 0; rc == SQLITE_OK && i < cf_store_kind_get_n_assocs (kind); i++)
    rc = cf_store_db_put_assoc (db, row, cf_store_kind_get_assoc (kind, i),
                                cf_store_row_get_assoc_ids (row, i));

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, error_code_from_sqlite (rc), db->handle, "Cannot save %s %s",
                             cf_entity_kind_to_string (kind), cf_store_row_get_id (row));
  return TRUE;
}

/**
 * cf_store_db_put:
 * @db: a connection
 * @rows: (element-type CfStoreRow): the rows to insert or update
 * @error: return location for a #GError
 *
 * Saves @rows in one transaction: all of them, or none.
 *
 * Returns: %TRUE on success
 */
gboolean
cf_store_db_put (CfStoreDb  *db,
                 GPtrArray  *rows,
                 GError    **error)
{
  gboolean ok = TRUE;

  /* IMMEDIATE takes the write lock up front, so a busy database is
   * reported at BEGIN instead of half-way through a batch. */
  if (!cf_store_db_begin (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  for (guint i = 0; ok && i < rows->len; i++)
    ok = cf_store_db_put_row (db, g_ptr_array_index (rows, i), error);
  return cf_store_db_end (db, ok, error);
}

static gboolean
cf_store_db_delete_row (CfStoreDb     *db,
                        CfEntityKind   kind,
                        const char    *id,
                        GError       **error)
{
  int rc = cf_store_db_exec (db, db->kind_sql[kind][CF_STORE_SQL_DELETE], id, NULL);

  if (rc != SQLITE_OK)
    return set_sqlite_error (error, error_code_from_sqlite (rc), db->handle, "Cannot delete %s %s",
                             cf_entity_kind_to_string (kind), id);

  /* Rows removed by ON DELETE CASCADE are not counted here. */
  if (sqlite3_changes (db->handle) == 0)
    {
      g_set_error (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND, "No %s with id %s",
                   cf_entity_kind_to_string (kind), id);
      return FALSE;
    }
  return TRUE;
}

/**
 * cf_store_db_delete:
 * @db: a connection
 * @kind: the entity's kind
 * @id: the entity's id
 * @error: return location for a #GError
 *
 * Returns: %TRUE if a row was deleted, with whatever cascaded from it
 */
gboolean
cf_store_db_delete (CfStoreDb     *db,
                    CfEntityKind   kind,
                    const char    *id,
                    GError       **error)
{
  if (!cf_store_db_begin (db, "BEGIN IMMEDIATE", error))
    return FALSE;
  return cf_store_db_end (db, cf_store_db_delete_row (db, kind, id, error), error);
}

/* Reads */

static int
cf_store_db_load_assoc (CfStoreDb          *db,
                        const CfStoreAssoc *assoc,
                        JsonObject         *entity)
{
  const char *server_id = json_object_get_string_member (entity, "id");
  g_autoptr(CfStoreStmt) stmt = NULL;
  JsonArray *ids = json_array_new ();
  int rc;

  /* Present even when empty, so callers need not test for it. */
  json_object_set_array_member (entity, assoc->member, ids);

  rc = cf_store_db_prepare (db, assoc->select_sql, &stmt);
  if (rc == SQLITE_OK)
    rc = sqlite3_bind_text (stmt, 1, server_id, -1, SQLITE_STATIC);
  if (rc != SQLITE_OK)
    return rc;

  while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
    json_array_add_string_element (ids, (const char *) sqlite3_column_text (stmt, 0));
  return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static gboolean
cf_store_db_load_rows (CfStoreDb      *db,
                       CfEntityKind    kind,
                       CfStoreMapFunc  map,
                       gpointer        map_data,
                       GPtrArray      *values,
                       GError        **error)
{
  g_autoptr(CfStoreStmt) stmt = NULL;
  g_autoptr(GHashTable) shared = cf_store_entity_new_shared_table ();
  int rc = cf_store_db_prepare (db, db->kind_sql[kind][CF_STORE_SQL_SELECT_ALL], &stmt);

  while (rc == SQLITE_OK && (rc = sqlite3_step (stmt)) == SQLITE_ROW)
    {
      g_autoptr(JsonObject) entity = cf_store_entity_new_from_stmt (kind, stmt, shared);

      rc = SQLITE_OK;
      for (guint i = 0; rc == SQLITE_OK && i < cf_store_kind_get_n_assocs (kind); i++)
        rc = cf_store_db_load_assoc (db, cf_store_kind_get_assoc (kind, i), entity);
      /* Mapped, each tree goes as soon as it is made: a load of ten
       * thousand never holds them all. */
      if (rc == SQLITE_OK)
        g_ptr_array_add (values, map != NULL ? map (kind, entity, map_data)
                                             : json_object_ref (entity));
    }

  if (rc != SQLITE_DONE)
    return set_sqlite_error (error, error_code_from_sqlite (rc), db->handle, "Cannot load %ss",
                             cf_entity_kind_to_string (kind));
  return TRUE;
}

/**
 * cf_store_db_load:
 * @db: a connection
 * @kind: which entities to load
 * @map: (nullable): what to keep of each entity, %NULL for the entity
 * @map_data: closure data for @map
 * @value_free: frees what @map returns
 * @error: return location for a #GError
 *
 * Returns: (transfer container) (nullable): every entity of @kind, or what
 *   @map made of it, ordered by creation time then id
 */
GPtrArray *
cf_store_db_load (CfStoreDb      *db,
                  CfEntityKind    kind,
                  CfStoreMapFunc  map,
                  gpointer        map_data,
                  GDestroyNotify  value_free,
                  GError        **error)
{
  g_autoptr(GPtrArray) values = NULL;

  values = g_ptr_array_new_with_free_func (map != NULL ? value_free
                                                       : (GDestroyNotify) json_object_unref);

  /* One read transaction, so that another process's write cannot land
   * between a server's row and its associations. */
  if (!cf_store_db_begin (db, "BEGIN", error))
    return NULL;
  if (!cf_store_db_end (db, cf_store_db_load_rows (db, kind, map, map_data, values, error),
                        error))
    return NULL;
  return g_steal_pointer (&values);
}
