/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* The shortest secret accepted in production: 32 characters, as
 * `openssl rand -base64 32` gives 44. */
#define CF_SECRET_MIN_LENGTH 32

gboolean cf_secret_check_strength (const char  *name,
                                   const char  *value,
                                   GError     **error);

G_END_DECLS
