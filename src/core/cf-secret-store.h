/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CF_SECRET_ERROR (cf_secret_error_quark ())

/**
 * CfSecretError:
 * @CF_SECRET_ERROR_MALFORMED: the text is not a sealed value
 * @CF_SECRET_ERROR_VERSION: a sealed value of a version this build cannot open
 * @CF_SECRET_ERROR_DECRYPT: the value was altered, or sealed under another key
 * @CF_SECRET_ERROR_WEAK: a secret too weak for production
 * @CF_SECRET_ERROR_FAILED: the crypto library failed
 */
typedef enum {
  CF_SECRET_ERROR_MALFORMED,
  CF_SECRET_ERROR_VERSION,
  CF_SECRET_ERROR_DECRYPT,
  CF_SECRET_ERROR_WEAK,
  CF_SECRET_ERROR_FAILED,
} CfSecretError;

/* What API responses show in place of a secret. */
#define CF_SECRET_MASK "*****"

#define CF_TYPE_SECRET_STORE (cf_secret_store_get_type ())
G_DECLARE_INTERFACE (CfSecretStore, cf_secret_store, CF, SECRET_STORE, GObject)

/**
 * CfSecretStoreInterface:
 * @seal: turns a secret into the text the catalog stores in its place
 * @unseal: gives back the secret from that text
 *
 * Where upstream credentials are kept. The text is the secret itself,
 * encrypted (#CfSecretCipher): on a server under a key derived from
 * AUTH_ENCRYPTION_SECRET, on a desktop under a random data key kept in
 * the user's keyring (cf-secret-keyring.c). The catalog seals on write; only the code that builds an upstream request
 * unseals. Both run on the main thread and must not block on I/O: a
 * backend that needs I/O unlocks or caches at startup.
 */
struct _CfSecretStoreInterface
{
  GTypeInterface parent_iface;

  char *(*seal)   (CfSecretStore  *self,
                   const char     *secret,
                   GError        **error);
  char *(*unseal) (CfSecretStore  *self,
                   const char     *sealed,
                   GError        **error);
};

GQuark    cf_secret_error_quark    (void);

char     *cf_secret_store_seal     (CfSecretStore  *self,
                                    const char     *secret,
                                    GError        **error);
char     *cf_secret_store_unseal   (CfSecretStore  *self,
                                    const char     *sealed,
                                    GError        **error);

/**
 * CfSecret:
 *
 * A string that holds a secret in clear: g_autoptr(CfSecret) wipes it
 * before freeing it.
 */
typedef char CfSecret;

void      cf_secret_free           (CfSecret       *secret);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfSecret, cf_secret_free)

G_END_DECLS
