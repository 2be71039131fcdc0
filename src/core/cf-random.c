/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-random"

#include "config.h"

#include <sys/random.h>

#include "cf-random.h"

/**
 * cf_random_hex:
 * @n_bytes: how many random bytes
 *
 * Session ids and entity ids must not be guessable, so this reads the
 * kernel's CSPRNG rather than g_random (a Mersenne Twister).
 *
 * Returns: (transfer full): 2 * @n_bytes lower-case hex digits
 */
char *
cf_random_hex (gsize n_bytes)
{
  g_autofree guint8 *bytes = g_malloc (n_bytes);
  GString *out = g_string_sized_new (n_bytes * 2);
  gsize filled = 0;

  while (filled < n_bytes)
    {
      gssize r = getrandom (bytes + filled, n_bytes - filled, 0);

      if (r < 0)
        g_error ("getrandom failed: %s", g_strerror (errno));
      filled += r;
    }

  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (out, "%02x", bytes[i]);

  return g_string_free (out, FALSE);
}
