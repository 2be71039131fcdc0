/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

gboolean cf_log_level_is_valid (const char *level);
void     cf_log_set_level      (const char *level);

G_END_DECLS
