/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-prompt-template.h"
#include "cf-store.h"
#include "cf-uri-template.h"

G_BEGIN_DECLS

typedef struct _CfCatalogSnapshot CfCatalogSnapshot;
typedef struct _CfCatalogEntry CfCatalogEntry;

CfCatalogEntry    *cf_catalog_entry_new               (CfEntityKind          kind,
                                                       JsonObject           *entity);
CfCatalogEntry    *cf_catalog_entry_ref               (CfCatalogEntry       *entry);
void               cf_catalog_entry_unref             (CfCatalogEntry       *entry);
JsonObject        *cf_catalog_entry_dup_object        (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_json          (CfCatalogEntry       *entry,
                                                       gsize                *length);
const char        *cf_catalog_entry_get_id            (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_name          (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_original_name (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_gateway_id    (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_integration_type (CfCatalogEntry     *entry);
const char        *cf_catalog_entry_get_uri           (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_uri_template  (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_visibility    (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_team_id       (CfCatalogEntry       *entry);
const char        *cf_catalog_entry_get_owner_email   (CfCatalogEntry       *entry);
gboolean           cf_catalog_entry_get_enabled       (CfCatalogEntry       *entry);
const char * const *cf_catalog_entry_get_required_arguments (CfCatalogEntry *entry);
gboolean           cf_catalog_entry_is_idempotent     (CfCatalogEntry       *entry);

CfCatalogSnapshot *cf_catalog_snapshot_new            (GPtrArray * const    *entries);
CfCatalogSnapshot *cf_catalog_snapshot_ref            (CfCatalogSnapshot    *self);
void               cf_catalog_snapshot_unref          (CfCatalogSnapshot    *self);
guint64            cf_catalog_snapshot_get_serial     (CfCatalogSnapshot    *self);

GPtrArray         *cf_catalog_snapshot_entries        (CfCatalogSnapshot    *self,
                                                       CfEntityKind          kind);
CfCatalogEntry    *cf_catalog_snapshot_lookup_entry   (CfCatalogSnapshot    *self,
                                                       CfEntityKind          kind,
                                                       const char           *id);
CfCatalogEntry    *cf_catalog_snapshot_find_entry_by_name (CfCatalogSnapshot *self,
                                                       CfEntityKind          kind,
                                                       const char           *name);
JsonObject        *cf_catalog_snapshot_get_entity     (CfCatalogSnapshot    *self,
                                                       CfCatalogEntry       *entry);
GPtrArray         *cf_catalog_snapshot_list           (CfCatalogSnapshot    *self,
                                                       CfEntityKind          kind);
JsonObject        *cf_catalog_snapshot_lookup         (CfCatalogSnapshot    *self,
                                                       CfEntityKind          kind,
                                                       const char           *id);
JsonObject        *cf_catalog_snapshot_find_by_name   (CfCatalogSnapshot    *self,
                                                       CfEntityKind          kind,
                                                       const char           *name);
JsonObject        *cf_catalog_snapshot_find_resource  (CfCatalogSnapshot    *self,
                                                       const char           *uri,
                                                       GHashTable          **out_variables);
CfPromptTemplate  *cf_catalog_snapshot_get_prompt_template (CfCatalogSnapshot *self,
                                                       const char           *prompt_id);
gboolean           cf_catalog_snapshot_in_scope       (CfCatalogSnapshot    *self,
                                                       const char           *server_id,
                                                       CfEntityKind          kind,
                                                       const char           *entity_id);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfCatalogSnapshot, cf_catalog_snapshot_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfCatalogEntry, cf_catalog_entry_unref)

G_END_DECLS
