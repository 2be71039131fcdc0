/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog-snapshot.h"
#include "cf-catalog.h"
#include "cf-secret-store.h"
#include "cf-ssrf.h"

G_BEGIN_DECLS

/* CfCatalog's state, shared by cf-catalog.c (the object, loading and the
 * public write API), -edit.c (the next snapshot after a change) and
 * -write.c (validating and persisting each queued write, and syncs); and
 * the checks that -validate.c and -credentials.c run on a write. */

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

extern guint _cf_catalog_signals[N_SIGNALS];

typedef enum {
  EDIT_PUT,
  EDIT_DELETE,
} EditKind;

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

/* cf-catalog.c */
void        _cf_catalog_run_pending       (CfCatalog          *self);

/* cf-catalog-edit.c */
void        _cf_catalog_rebuild           (CfCatalog          *self,
                                           GHashTable        **drop,
                                           GHashTable        **strip,
                                           CfEntityKind        add_kind,
                                           GPtrArray          *additions);
void        _cf_catalog_new_id_sets       (GHashTable        **sets);
void        _cf_catalog_free_id_sets      (GHashTable        **sets);
void        _cf_catalog_apply_edit        (CfCatalog          *self,
                                           CfEntityKind        kind,
                                           EditKind            edit,
                                           JsonObject         *entity,
                                           const char         *id);

/* cf-catalog-write.c */
void        _cf_catalog_write_data_free   (WriteData          *data);
void        _cf_catalog_prepare_create    (CfCatalog          *self,
                                           GTask              *task);
void        _cf_catalog_prepare_update    (CfCatalog          *self,
                                           GTask              *task);
void        _cf_catalog_prepare_status    (CfCatalog          *self,
                                           GTask              *task);
void        _cf_catalog_prepare_delete    (CfCatalog          *self,
                                           GTask              *task);
void        _cf_catalog_prepare_sync      (CfCatalog          *self,
                                           GTask              *task);

/* cf-catalog-validate.c */
const char *_cf_catalog_kind_label        (CfEntityKind        kind);
void        _cf_catalog_prepare_entity    (CfCatalogSnapshot  *snapshot,
                                           CfEntityKind        kind,
                                           const char         *separator,
                                           JsonObject         *entity,
                                           JsonObject         *input,
                                           JsonArray          *problems);
const char *_cf_catalog_find_conflict     (CfCatalogSnapshot  *snapshot,
                                           CfEntityKind        kind,
                                           JsonObject         *entity);
const char *_cf_catalog_unique_member     (CfEntityKind        kind);
const char *_cf_catalog_entry_key         (CfEntityKind        kind,
                                           CfCatalogEntry     *entry);

/* cf-catalog-credentials.c */
void        _cf_catalog_seal_credentials  (CfSecretStore      *secrets,
                                           CfEntityKind        kind,
                                           JsonObject         *entity,
                                           JsonObject         *input,
                                           JsonObject         *existing,
                                           JsonArray          *problems);
void        _cf_catalog_check_destination (CfSsrfPolicy       *ssrf,
                                           CfEntityKind        kind,
                                           JsonObject         *entity,
                                           JsonObject         *input,
                                           JsonArray          *problems);

G_END_DECLS
