/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cf-catalog-snapshot.h"
#include "cf-secret-store.h"
#include "cf-ssrf.h"
#include "cf-store.h"

G_BEGIN_DECLS

#define CF_CATALOG_ERROR (cf_catalog_error_quark ())

/**
 * CfCatalogError:
 * @CF_CATALOG_ERROR_NOT_FOUND: no entity with that id
 * @CF_CATALOG_ERROR_CONFLICT: the name, URI or id is taken
 * @CF_CATALOG_ERROR_INVALID: the input failed validation; see the problems
 * @CF_CATALOG_ERROR_STORE: the store failed to persist the change
 */
typedef enum {
  CF_CATALOG_ERROR_NOT_FOUND,
  CF_CATALOG_ERROR_CONFLICT,
  CF_CATALOG_ERROR_INVALID,
  CF_CATALOG_ERROR_STORE,
} CfCatalogError;

#define CF_TYPE_CATALOG (cf_catalog_get_type ())
G_DECLARE_FINAL_TYPE (CfCatalog, cf_catalog, CF, CATALOG, GObject)

GQuark             cf_catalog_error_quark    (void);

CfCatalog         *cf_catalog_new            (CfStore             *store);
gboolean           cf_catalog_load           (CfCatalog           *self,
                                              GError             **error);
CfCatalogSnapshot *cf_catalog_get_snapshot   (CfCatalog           *self);
void               cf_catalog_set_separator  (CfCatalog           *self,
                                              const char          *separator);
void               cf_catalog_set_secret_store (CfCatalog         *self,
                                              CfSecretStore       *secrets);
CfSecretStore     *cf_catalog_get_secret_store (CfCatalog         *self);
void               cf_catalog_set_ssrf_policy (CfCatalog          *self,
                                              CfSsrfPolicy        *policy);
CfSsrfPolicy      *cf_catalog_get_ssrf_policy (CfCatalog          *self);

void               cf_catalog_create_async   (CfCatalog           *self,
                                              CfEntityKind         kind,
                                              JsonObject          *input,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
void               cf_catalog_create_discovered_async (CfCatalog  *self,
                                              JsonObject          *input,
                                              const char          *peer_id,
                                              const char          *address,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
void               cf_catalog_update_async   (CfCatalog           *self,
                                              CfEntityKind         kind,
                                              const char          *id,
                                              JsonObject          *input,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
void               cf_catalog_set_status_async (CfCatalog         *self,
                                              CfEntityKind         kind,
                                              const char          *id,
                                              JsonObject          *status,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
JsonObject        *cf_catalog_write_finish   (CfCatalog           *self,
                                              GAsyncResult        *result,
                                              JsonArray          **out_problems,
                                              GError             **error);
void               cf_catalog_sync_async     (CfCatalog           *self,
                                              CfEntityKind         kind,
                                              const char          *gateway_id,
                                              GPtrArray           *entities,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
GStrv              cf_catalog_sync_finish    (CfCatalog           *self,
                                              GAsyncResult        *result,
                                              GError             **error);
void               cf_catalog_delete_async   (CfCatalog           *self,
                                              CfEntityKind         kind,
                                              const char          *id,
                                              GCancellable        *cancellable,
                                              GAsyncReadyCallback  callback,
                                              gpointer             user_data);
gboolean           cf_catalog_delete_finish  (CfCatalog           *self,
                                              GAsyncResult        *result,
                                              GError             **error);

const char        *cf_catalog_gateway_consented_address (JsonObject *gateway);

G_END_DECLS
