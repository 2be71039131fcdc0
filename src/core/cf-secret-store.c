/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-secret-store"

#include "config.h"

#include <string.h>

#include "cf-secret-store.h"

G_DEFINE_QUARK (cf-secret-error-quark, cf_secret_error)
G_DEFINE_INTERFACE (CfSecretStore, cf_secret_store, G_TYPE_OBJECT)

static void
cf_secret_store_default_init (CfSecretStoreInterface *iface)
{
}

/**
 * cf_secret_store_seal:
 * @self: a #CfSecretStore
 * @secret: the secret, in clear
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the text to store in the secret's
 *   place, or %NULL with @error set
 */
char *
cf_secret_store_seal (CfSecretStore  *self,
                      const char     *secret,
                      GError        **error)
{
  g_return_val_if_fail (CF_IS_SECRET_STORE (self), NULL);
  g_return_val_if_fail (secret != NULL, NULL);

  return CF_SECRET_STORE_GET_IFACE (self)->seal (self, secret, error);
}

/**
 * cf_secret_store_unseal:
 * @self: a #CfSecretStore
 * @sealed: text that cf_secret_store_seal() returned
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the secret in clear, to be freed
 *   with cf_secret_free(), or %NULL with @error set
 */
char *
cf_secret_store_unseal (CfSecretStore  *self,
                        const char     *sealed,
                        GError        **error)
{
  g_return_val_if_fail (CF_IS_SECRET_STORE (self), NULL);
  g_return_val_if_fail (sealed != NULL, NULL);

  return CF_SECRET_STORE_GET_IFACE (self)->unseal (self, sealed, error);
}

/**
 * cf_secret_free:
 * @secret: (nullable): a secret in clear
 *
 * Overwrites @secret before freeing it, so that it does not linger in
 * freed memory.
 */
void
cf_secret_free (CfSecret *secret)
{
  if (secret == NULL)
    return;
  explicit_bzero (secret, strlen (secret));
  g_free (secret);
}
