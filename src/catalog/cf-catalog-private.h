/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog-snapshot.h"

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

G_END_DECLS
