/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <sqlite3.h>

#include "cf-store.h"

G_BEGIN_DECLS

/*
 * CfStore is split three ways: cf-store.c (the GObject, owner thread, jobs
 * and public API), cf-store-db.c (the SQLite connection the owner thread
 * drives) and cf-store-entity.c (the field tables that map the REST API's
 * JsonObjects to columns: validation, SQL text, binding, decoding).
 */

typedef enum {
  CF_STORE_SQL_UPSERT,
  CF_STORE_SQL_SELECT_ALL,
  CF_STORE_SQL_DELETE,
  CF_STORE_N_SQL
} CfStoreSql;

/* The server's association tables; other kinds have none. */
#define CF_STORE_N_ASSOCS 3

typedef struct
{
  const char *member;
  const char *delete_sql;
  const char *insert_sql;
  const char *select_sql;
} CfStoreAssoc;

/*
 * An entity checked and flattened into column values on the caller's
 * thread, so that no JsonObject is shared with the owner thread.
 */
typedef struct _CfStoreRow CfStoreRow;

char               *cf_store_kind_build_sql      (CfEntityKind   kind,
                                                  CfStoreSql     which);
guint               cf_store_kind_get_n_assocs   (CfEntityKind   kind);
const CfStoreAssoc *cf_store_kind_get_assoc      (CfEntityKind   kind,
                                                  guint          i);

CfStoreRow         *cf_store_row_new_from_json   (CfEntityKind   kind,
                                                  JsonObject    *entity,
                                                  GError       **error);
void                cf_store_row_free            (CfStoreRow    *row);
CfEntityKind        cf_store_row_get_kind        (CfStoreRow    *row);
const char         *cf_store_row_get_id          (CfStoreRow    *row);
const char * const *cf_store_row_get_assoc_ids   (CfStoreRow    *row,
                                                  guint          i);
int                 cf_store_row_bind            (CfStoreRow    *row,
                                                  sqlite3_stmt  *stmt);

JsonObject         *cf_store_entity_new_from_stmt (CfEntityKind  kind,
                                                   sqlite3_stmt *stmt,
                                                   GHashTable   *shared);
GHashTable         *cf_store_entity_new_shared_table (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfStoreRow, cf_store_row_free)

typedef struct _CfStoreDb CfStoreDb;

CfStoreDb          *cf_store_db_open             (const char    *path,
                                                  GError       **error);
void                cf_store_db_close            (CfStoreDb     *db);
guint               cf_store_db_get_schema_version (CfStoreDb   *db);
gboolean            cf_store_db_put              (CfStoreDb     *db,
                                                  GPtrArray     *rows,
                                                  GError       **error);
gboolean            cf_store_db_delete           (CfStoreDb     *db,
                                                  CfEntityKind   kind,
                                                  const char    *id,
                                                  GError       **error);
GPtrArray          *cf_store_db_load             (CfStoreDb     *db,
                                                  CfEntityKind   kind,
                                                  CfStoreMapFunc map,
                                                  gpointer       map_data,
                                                  GDestroyNotify value_free,
                                                  GError       **error);

/*
 * Typed accessors outside the entity tables (users, revocations) run their
 * own statements on the owner thread: a query appends the JsonObject rows
 * it read to @rows and reports failure in @error.
 */
typedef gboolean (*CfStoreQueryFunc) (CfStoreDb  *db,
                                      gpointer    data,
                                      GPtrArray  *rows,
                                      GError    **error);

int                 cf_store_db_prepare          (CfStoreDb     *db,
                                                  const char    *sql,
                                                  sqlite3_stmt **stmt);
gboolean            cf_store_db_fail             (CfStoreDb     *db,
                                                  int            rc,
                                                  const char    *what,
                                                  GError       **error);
JsonObject         *cf_store_db_row_to_json      (sqlite3_stmt  *stmt);
int                 cf_store_db_exec_texts       (CfStoreDb          *db,
                                                  const char         *sql,
                                                  const char * const *values,
                                                  guint               n,
                                                  GPtrArray          *rows,
                                                  guint              *changes);

void                cf_store_submit_query        (CfStore             *self,
                                                  CfStoreQueryFunc     query,
                                                  gpointer             data,
                                                  GDestroyNotify       data_free,
                                                  gpointer             source_tag,
                                                  GCancellable        *cancellable,
                                                  GAsyncReadyCallback  callback,
                                                  gpointer             user_data);
JsonObject         *cf_store_task_first_row      (CfStore             *self,
                                                  GAsyncResult        *result,
                                                  gpointer             source_tag,
                                                  GError             **error);

G_END_DECLS
