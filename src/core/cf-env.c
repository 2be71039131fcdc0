/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-env"

#include "config.h"

#include <string.h>

#include "cf-config.h"
#include "cf-env.h"

static const char * const true_words[] = { "true", "1", "yes", "on", "t", "y", NULL };
static const char * const false_words[] = { "false", "0", "no", "off", "f", "n", NULL };

/**
 * cf_env_get_bool:
 * @env: an environment block
 * @name: the variable
 * @default_value: the value when @name is unset
 * @out_value: (out): the value
 * @error: return location for a #GError
 *
 * Accepts true/false, 1/0, yes/no and on/off in any case.
 */
gboolean
cf_env_get_bool (const char * const  *env,
                 const char          *name,
                 gboolean             default_value,
                 gboolean            *out_value,
                 GError             **error)
{
  const char *value = g_environ_getenv ((GStrv) env, name);
  g_autofree char *lower = value ? g_ascii_strdown (value, -1) : NULL;

  *out_value = default_value;
  if (value == NULL)
    return TRUE;
  g_strstrip (lower);
  if (g_strv_contains (true_words, lower))
    *out_value = TRUE;
  else if (g_strv_contains (false_words, lower))
    *out_value = FALSE;
  else
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "%s=%s: use true or false", name, value);
      return FALSE;
    }
  return TRUE;
}

/**
 * cf_env_get_uint:
 * @env: an environment block
 * @name: the variable
 * @default_value: the value when @name is unset
 * @max_value: the largest value accepted
 * @out_value: (out): the value
 * @error: return location for a #GError
 */
gboolean
cf_env_get_uint (const char * const  *env,
                 const char          *name,
                 guint                default_value,
                 guint                max_value,
                 guint               *out_value,
                 GError             **error)
{
  const char *value = g_environ_getenv ((GStrv) env, name);
  g_autoptr(GError) local = NULL;
  guint64 n;

  *out_value = default_value;
  if (value == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (value, 10, 0, max_value, &n, &local))
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "%s=%s: %s", name, value, local->message);
      return FALSE;
    }
  *out_value = n;
  return TRUE;
}

/**
 * cf_env_get_list:
 * @env: an environment block
 * @name: the variable
 * @default_value: (nullable): the list when @name is unset
 *
 * Reads a list written either as ContextForge's JSON (`["a", "b"]`) or
 * comma- or space-separated (`a, b`). Empty items are dropped.
 *
 * Returns: (transfer full): the items
 */
GStrv
cf_env_get_list (const char * const *env,
                 const char         *name,
                 const char * const *default_value)
{
  const char *value = g_environ_getenv ((GStrv) env, name);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) items = NULL;

  if (value == NULL)
    return default_value ? g_strdupv ((GStrv) default_value) : g_new0 (char *, 1);

  items = g_strsplit_set (value, ", \t[]\"'", -1);
  for (guint i = 0; items[i] != NULL; i++)
    if (*items[i] != '\0')
      g_strv_builder_add (builder, items[i]);
  return g_strv_builder_end (builder);
}
