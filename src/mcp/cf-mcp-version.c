/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-version"

#include "config.h"

#include "cf-mcp-version.h"

/* Newest first: negotiation walks this list. */
static const char * const known_versions[] = {
  "2026-07-28",
  "2025-11-25",
  "2025-06-18",
  "2025-03-26",
  "2024-11-05",
  NULL
};

static const char * const log_levels[] = {
  "debug", "info", "notice", "warning", "error", "critical", "alert", "emergency", NULL
};

const char * const *
cf_mcp_known_versions (void)
{
  return known_versions;
}

gboolean
cf_mcp_version_is_known (const char *version)
{
  return version != NULL && g_strv_contains (known_versions, version);
}

CfMcpEra
cf_mcp_version_get_era (const char *version)
{
  /* ISO dates compare as strings. */
  if (version != NULL && g_strcmp0 (version, CF_MCP_VERSION_LATEST) >= 0)
    return CF_MCP_ERA_MODERN;
  return CF_MCP_ERA_LEGACY;
}

gboolean
cf_mcp_version_allows_batches (const char *version)
{
  /* JSON-RPC batching was written into 2025-03-26 and removed again in
   * 2025-06-18; 2024-11-05 inherited it from JSON-RPC itself. */
  return g_strcmp0 (version, "2025-03-26") == 0 ||
         g_strcmp0 (version, "2024-11-05") == 0;
}

CfMcpLogLevel
cf_mcp_log_level_from_string (const char *level)
{
  for (guint i = 0; level != NULL && log_levels[i] != NULL; i++)
    if (g_str_equal (level, log_levels[i]))
      return (CfMcpLogLevel) i;
  return CF_MCP_LOG_LEVEL_NONE;
}

const char *
cf_mcp_log_level_to_string (CfMcpLogLevel level)
{
  if (level < CF_MCP_LOG_LEVEL_DEBUG || level > CF_MCP_LOG_LEVEL_EMERGENCY)
    return NULL;
  return log_levels[level];
}
