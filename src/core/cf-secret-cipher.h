/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-secret-store.h"

G_BEGIN_DECLS

/* The prefix of values this build seals; the version fixes the cipher,
 * the key derivation and its parameters. */
#define CF_SECRET_CIPHER_PREFIX "v1:"
/* The prefix of values sealed under a random data key kept in the
 * user's keyring (#CfSecretCipher from cf_secret_cipher_new_with_key()):
 * same envelope as v1, another key. */
#define CF_SECRET_CIPHER_KEYRING_PREFIX "v2:"
/* The size of that data key, in bytes. */
#define CF_SECRET_CIPHER_KEY_SIZE 32

#define CF_TYPE_SECRET_CIPHER (cf_secret_cipher_get_type ())
G_DECLARE_FINAL_TYPE (CfSecretCipher, cf_secret_cipher, CF, SECRET_CIPHER, GObject)

CfSecretCipher *cf_secret_cipher_new          (const char          *passphrase,
                                               GError             **error);
CfSecretCipher *cf_secret_cipher_new_with_key (GBytes              *key,
                                               const char          *passphrase,
                                               GError             **error);
const char     *cf_secret_cipher_legacy_passphrase (const char * const *environ);
CfSecretCipher *cf_secret_cipher_new_from_env (const char * const  *environ,
                                               char               **out_warning,
                                               GError             **error);
gboolean        cf_secret_cipher_is_sealed    (const char          *text);

G_END_DECLS
