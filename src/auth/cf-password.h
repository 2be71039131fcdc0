/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "cf-auth-error.h"

G_BEGIN_DECLS

/* ContextForge's argon2id parameters (ARGON2ID_*). */
#define CF_PASSWORD_TIME_COST 3
#define CF_PASSWORD_MEMORY_KIB 65536
#define CF_PASSWORD_PARALLELISM 1
#define CF_PASSWORD_HASH_LEN 32
#define CF_PASSWORD_SALT_LEN 16

/* Privileged accounts need longer passwords than users. */
#define CF_PASSWORD_ADMIN_MIN_LENGTH 22
#define CF_PASSWORD_MAX_LENGTH 256

char     *cf_password_hash          (const char           *password,
                                     GError              **error);
gboolean  cf_password_verify        (const char           *encoded,
                                     const char           *password);
void      cf_password_hash_async    (const char           *password,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
char     *cf_password_hash_finish   (GAsyncResult         *result,
                                     GError              **error);
void      cf_password_verify_async  (const char           *encoded,
                                     const char           *password,
                                     GCancellable         *cancellable,
                                     GAsyncReadyCallback   callback,
                                     gpointer              user_data);
gboolean  cf_password_verify_finish (GAsyncResult         *result,
                                     GError              **error);
gboolean  cf_password_check_policy  (const char           *password,
                                     guint                 min_length,
                                     GError              **error);
char     *cf_password_generate      (void);

G_END_DECLS
