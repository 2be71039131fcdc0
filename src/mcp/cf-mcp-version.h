/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-types.h"

G_BEGIN_DECLS

#define CF_MCP_VERSION_LATEST        "2026-07-28"
#define CF_MCP_VERSION_LATEST_LEGACY "2025-11-25"
/* What a legacy client that sends no version header is assumed to speak
 * (the 2025-06-18 transport rules allow this fallback). */
#define CF_MCP_VERSION_HEADERLESS    "2025-03-26"

const char * const *cf_mcp_known_versions          (void);
gboolean            cf_mcp_version_is_known        (const char *version);
CfMcpEra            cf_mcp_version_get_era         (const char *version);
gboolean            cf_mcp_version_allows_batches  (const char *version);

CfMcpLogLevel       cf_mcp_log_level_from_string   (const char *level);
const char         *cf_mcp_log_level_to_string     (CfMcpLogLevel level);

G_END_DECLS
