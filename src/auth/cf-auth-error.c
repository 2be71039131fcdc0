/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-auth-error"

#include "config.h"

#include "cf-auth-error.h"

G_DEFINE_QUARK (cf-auth-error-quark, cf_auth_error)

/**
 * cf_auth_memeq:
 * @a: a secret or a value derived from one
 * @a_len: its length
 * @b: the value to compare with
 * @b_len: its length
 *
 * Compares in time that depends on the lengths only, never on where the
 * first difference lies, so that a signature or password check leaks
 * nothing through its timing.
 *
 * Returns: %TRUE if the two are equal
 */
gboolean
cf_auth_memeq (const void *a,
               gsize       a_len,
               const void *b,
               gsize       b_len)
{
  const volatile guint8 *x = a;
  const volatile guint8 *y = b;
  volatile guint8 diff = a_len != b_len;
  gsize n = MIN (a_len, b_len);

  for (gsize i = 0; i < n; i++)
    diff |= x[i] ^ y[i];
  return diff == 0;
}
