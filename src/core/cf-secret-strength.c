/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-secret-strength"

#include "config.h"

#include <math.h>
#include <string.h>

#include "cf-secret-store.h"
#include "cf-secret-strength.h"

/* Below this many bits per character a secret repeats a handful of
 * characters ("passwordpassword..."); random base64 has about 5, random
 * hex about 4. */
#define MIN_BITS_PER_CHAR 3.0

#define HOW_TO_GENERATE \
  "Generate one with `openssl rand -base64 32` or `head -c32 /dev/urandom | base64`."

/* ContextForge's own defaults and the usual stand-ins. */
static const char * const placeholders[] = {
  "my-test-key", "my-test-salt", "changeme", "change-me", "change_me", "changethis",
  "secret", "password", "default", "test", "admin", "replaceme", "replace-me",
  "__replace_me__", "your-secret-key", "your-secret-key-here", NULL
};

static const char * const placeholder_parts[] = {
  "replace_me", "replace-me", "changeme", "change-me", "my-test-", NULL
};

static gboolean
is_placeholder (const char *value)
{
  g_autofree char *lower = g_ascii_strdown (value, -1);

  g_strstrip (lower);
  if (g_strv_contains (placeholders, lower))
    return TRUE;
  for (guint i = 0; placeholder_parts[i] != NULL; i++)
    if (strstr (lower, placeholder_parts[i]) != NULL)
      return TRUE;
  return FALSE;
}

static double
bits_per_char (const char *value)
{
  guint counts[256] = { 0 };
  gsize n = strlen (value);
  double bits = 0;

  for (const guchar *p = (const guchar *) value; *p; p++)
    counts[*p]++;
  for (guint c = 0; c < G_N_ELEMENTS (counts); c++)
    if (counts[c] > 0)
      {
        double p = (double) counts[c] / n;
        bits -= p * log2 (p);
      }
  return bits;
}

/**
 * cf_secret_check_strength:
 * @name: the setting's name, for the message
 * @value: (nullable): its value
 * @error: return location for a #GError
 *
 * Refuses an unset value, a known placeholder (ContextForge's
 * `my-test-key`, `changeme`...), one shorter than
 * %CF_SECRET_MIN_LENGTH characters, or one that repeats a few
 * characters. The message says how to generate a good one.
 *
 * Returns: %TRUE if @value looks strong enough for production
 */
gboolean
cf_secret_check_strength (const char  *name,
                          const char  *value,
                          GError     **error)
{
  g_return_val_if_fail (name != NULL, FALSE);

  if (value == NULL || *value == '\0')
    g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK,
                 "%s is not set. " HOW_TO_GENERATE, name);
  else if (is_placeholder (value))
    g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK,
                 "%s is a placeholder value, not a secret. " HOW_TO_GENERATE, name);
  else if (strlen (value) < CF_SECRET_MIN_LENGTH)
    g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK,
                 "%s is too short: %" G_GSIZE_FORMAT " characters, at least %d are needed. "
                 HOW_TO_GENERATE, name, strlen (value), CF_SECRET_MIN_LENGTH);
  else if (bits_per_char (value) < MIN_BITS_PER_CHAR)
    g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK,
                 "%s has too little entropy: it repeats a few characters. " HOW_TO_GENERATE,
                 name);
  else
    return TRUE;
  return FALSE;
}
