/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

#include "cf-secret-store.h"

G_BEGIN_DECLS

GHashTable *cf_upstream_credentials_open (CfSecretStore  *secrets,
                                          const char     *sealed,
                                          GError        **error);

G_END_DECLS
