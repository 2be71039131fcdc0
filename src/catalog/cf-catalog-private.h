/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog-snapshot.h"
#include "cf-secret-store.h"
#include "cf-ssrf.h"

G_BEGIN_DECLS

const char *_cf_catalog_kind_label     (CfEntityKind       kind);
void        _cf_catalog_prepare_entity (CfCatalogSnapshot *snapshot,
                                        CfEntityKind       kind,
                                        const char        *separator,
                                        JsonObject        *entity,
                                        JsonObject        *input,
                                        JsonArray         *problems);
const char *_cf_catalog_find_conflict  (CfCatalogSnapshot *snapshot,
                                        CfEntityKind       kind,
                                        JsonObject        *entity);

void        _cf_catalog_seal_credentials  (CfSecretStore  *secrets,
                                           CfEntityKind    kind,
                                           JsonObject     *entity,
                                           JsonObject     *input,
                                           JsonObject     *existing,
                                           JsonArray      *problems);
void        _cf_catalog_check_destination (CfSsrfPolicy   *ssrf,
                                           CfEntityKind    kind,
                                           JsonObject     *entity,
                                           JsonObject     *input,
                                           JsonArray      *problems);

G_END_DECLS
