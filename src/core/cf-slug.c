/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-slug"

#include "config.h"

#include <string.h>

#include "cf-slug.h"

/* ContextForge's slug rules, step for step, so that names a user carries
 * over come out the same: lower-case, drop apostrophes inside words, turn
 * runs of anything but letters and digits into the separator, strip it
 * from the ends, map æ ß ø, then NFKD and keep ASCII. */

static gboolean
is_apostrophe (gunichar c)
{
  return c == '\'' || c == 0x2019;
}

static gboolean
is_word (gunichar c)
{
  return g_unichar_isalnum (c) || c == '_';
}

static char *
drop_contractions (const char *lower)
{
  GString *out = g_string_new (NULL);
  gunichar prev = 0;

  for (const char *p = lower; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      const char *next = g_utf8_next_char (p);

      if (is_apostrophe (c) && is_word (prev) && *next && is_word (g_utf8_get_char (next)))
        continue;
      g_string_append_unichar (out, c);
      prev = c;
    }
  return g_string_free (out, FALSE);
}

static char *
separate (const char *text,
          const char *separator)
{
  GString *out = g_string_new (NULL);
  gboolean in_run = FALSE;
  gsize sep_len = strlen (separator);

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (g_unichar_isalnum (c))
        {
          g_string_append_unichar (out, c);
          in_run = FALSE;
        }
      else if (!in_run)
        {
          g_string_append (out, separator);
          in_run = TRUE;
        }
    }

  /* Python's str.strip(sep) strips any of sep's characters from the ends. */
  while (out->len > 0 && memchr (separator, out->str[0], sep_len) != NULL)
    g_string_erase (out, 0, 1);
  while (out->len > 0 && memchr (separator, out->str[out->len - 1], sep_len) != NULL)
    g_string_truncate (out, out->len - 1);

  return g_string_free (out, FALSE);
}

static char *
to_ascii (const char *text)
{
  g_autoptr(GString) mapped = g_string_new (NULL);
  g_autofree char *decomposed = NULL;
  GString *out;

  for (const char *p = text; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == 0xE6)
        g_string_append (mapped, "ae");
      else if (c == 0xDF)
        g_string_append (mapped, "ss");
      else if (c == 0xF8)
        g_string_append (mapped, "o");
      else
        g_string_append_unichar (mapped, c);
    }

  decomposed = g_utf8_normalize (mapped->str, -1, G_NORMALIZE_NFKD);
  out = g_string_new (NULL);
  for (const char *p = decomposed; p && *p; p++)
    if ((guchar) *p < 0x80)
      g_string_append_c (out, *p);
  return g_string_free (out, FALSE);
}

/**
 * cf_slugify:
 * @text: UTF-8 text
 * @separator: (nullable): the separator, %CF_SLUG_DEFAULT_SEPARATOR if %NULL
 *
 * Returns: (transfer full): the slug, possibly empty
 */
char *
cf_slugify (const char *text,
            const char *separator)
{
  g_autofree char *lower = NULL;
  g_autofree char *words = NULL;
  g_autofree char *separated = NULL;

  g_return_val_if_fail (text != NULL, NULL);
  g_return_val_if_fail (g_utf8_validate (text, -1, NULL), NULL);

  if (separator == NULL)
    separator = CF_SLUG_DEFAULT_SEPARATOR;

  lower = g_utf8_strdown (text, -1);
  words = drop_contractions (lower);
  separated = separate (words, separator);
  return to_ascii (separated);
}

/**
 * cf_slug_separator_is_valid:
 *
 * Returns: whether @separator is one GATEWAY_TOOL_NAME_SEPARATOR allows:
 *   "-", "--", "_" or "."
 */
gboolean
cf_slug_separator_is_valid (const char *separator)
{
  return g_strcmp0 (separator, "-") == 0 || g_strcmp0 (separator, "--") == 0 ||
         g_strcmp0 (separator, "_") == 0 || g_strcmp0 (separator, ".") == 0;
}
