/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog-snapshot.h"

G_BEGIN_DECLS

JsonObject *cf_prompt_render (CfCatalogSnapshot  *snapshot,
                              JsonObject         *prompt,
                              JsonObject         *arguments,
                              char              **out_missing,
                              GError            **error);

G_END_DECLS
