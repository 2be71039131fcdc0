/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

char *cf_random_hex  (gsize n_bytes);
char *cf_random_uuid (void);

G_END_DECLS
