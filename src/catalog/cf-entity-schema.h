/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-store.h"

G_BEGIN_DECLS

/**
 * CfSchemaMode:
 * @CF_SCHEMA_CREATE: a new entity: required fields must be there
 * @CF_SCHEMA_UPDATE: a partial update: only given fields are checked
 */
typedef enum {
  CF_SCHEMA_CREATE,
  CF_SCHEMA_UPDATE,
} CfSchemaMode;

JsonObject *cf_entity_schema_normalize (CfEntityKind   kind,
                                        JsonObject    *input,
                                        CfSchemaMode   mode,
                                        JsonArray     *problems);
void        cf_entity_schema_add_problem (JsonArray   *problems,
                                        const char    *field,
                                        const char    *type,
                                        const char    *message);
JsonObject *cf_entity_schema_public_view (CfEntityKind  kind,
                                        JsonObject    *entity);

G_END_DECLS
