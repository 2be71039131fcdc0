/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-random"

#include "config.h"

#include <errno.h>
#include <sys/random.h>

#include "cf-random.h"

/* From the kernel's CSPRNG: session, entity and token ids must not be
 * guessable, and g_random is a Mersenne Twister. */
static void
fill_random (guint8 *bytes,
             gsize   n_bytes)
{
  gsize filled = 0;

  while (filled < n_bytes)
    {
      gssize r = getrandom (bytes + filled, n_bytes - filled, 0);

      if (r < 0 && errno == EINTR)
        continue;
      if (r < 0)
        g_error ("getrandom failed: %s", g_strerror (errno));
      filled += r;
    }
}

/**
 * cf_random_hex:
 * @n_bytes: how many random bytes
 *
 * Returns: (transfer full): 2 * @n_bytes lower-case hex digits, from the
 *   kernel's CSPRNG
 */
char *
cf_random_hex (gsize n_bytes)
{
  g_autofree guint8 *bytes = g_malloc (n_bytes);
  GString *out = g_string_sized_new (n_bytes * 2);

  fill_random (bytes, n_bytes);
  for (gsize i = 0; i < n_bytes; i++)
    g_string_append_printf (out, "%02x", bytes[i]);

  return g_string_free (out, FALSE);
}

/**
 * cf_random_uuid:
 *
 * Returns: (transfer full): a version 4 UUID, from the kernel's CSPRNG
 *   (g_uuid_string_random() uses g_random)
 */
char *
cf_random_uuid (void)
{
  guint8 b[16];

  fill_random (b, sizeof b);
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                          "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
                          b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}
