/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-secret-cipher.h"

G_BEGIN_DECLS

/* The libsecret schema of the gateway's data key, and its label. */
#define CF_SECRET_KEYRING_SCHEMA "org.contextforge.Gateway.DataKey"
#define CF_SECRET_KEYRING_LABEL "ContextForge Gateway data key"

gboolean        cf_secret_keyring_available       (GError             **error);
GBytes         *cf_secret_keyring_load_key        (const char          *database,
                                                   guint                timeout_ms,
                                                   GError             **error);
CfSecretCipher *cf_secret_keyring_cipher_from_env (const char * const  *environ,
                                                   const char          *database,
                                                   char               **out_warning,
                                                   GError             **error);

G_END_DECLS
