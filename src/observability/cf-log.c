/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-log"

#include "config.h"

#include "cf-log.h"

/* LOG_LEVEL, as ContextForge names its levels, over GLib's structured
 * logging: messages below the level are dropped before formatting. */

static GLogLevelFlags threshold = G_LOG_LEVEL_CRITICAL;

static const struct {
  const char     *name;
  GLogLevelFlags  lowest;
} levels[] = {
  { "DEBUG", G_LOG_LEVEL_DEBUG },
  { "INFO", G_LOG_LEVEL_INFO },
  { "WARNING", G_LOG_LEVEL_WARNING },
  { "ERROR", G_LOG_LEVEL_CRITICAL },
  { "CRITICAL", G_LOG_LEVEL_CRITICAL },
};

gboolean
cf_log_level_is_valid (const char *level)
{
  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_ascii_strcasecmp (levels[i].name, level) == 0)
      return TRUE;
  return FALSE;
}

/* GLib's levels grow more verbose as their bit values grow. */
static GLogWriterOutput
filtered_writer (GLogLevelFlags   level,
                 const GLogField *fields,
                 gsize            n_fields,
                 gpointer         user_data)
{
  GLogLevelFlags severity = level & G_LOG_LEVEL_MASK;

  if (severity > threshold && !(level & G_LOG_FLAG_FATAL))
    return G_LOG_WRITER_HANDLED;
  return g_log_writer_default (level, fields, n_fields, user_data);
}

/**
 * cf_log_set_level:
 * @level: DEBUG, INFO, WARNING, ERROR or CRITICAL
 *
 * Installs the process's log writer, or moves its level when it is
 * installed already. DEBUG also shows debug messages, which GLib
 * otherwise hides unless G_MESSAGES_DEBUG is set.
 */
void
cf_log_set_level (const char *level)
{
  static gboolean installed;

  g_return_if_fail (cf_log_level_is_valid (level));

  for (guint i = 0; i < G_N_ELEMENTS (levels); i++)
    if (g_ascii_strcasecmp (levels[i].name, level) == 0)
      threshold = levels[i].lowest;

  /* MESSAGE sits between WARNING and INFO: shown from INFO on. */
  if (threshold == G_LOG_LEVEL_INFO || threshold == G_LOG_LEVEL_DEBUG)
    g_log_set_debug_enabled (threshold == G_LOG_LEVEL_DEBUG);
  /* GLib takes a writer once per process; a reload only moves the level. */
  if (!installed)
    g_log_set_writer_func (filtered_writer, NULL, NULL);
  installed = TRUE;
}
