/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>

G_BEGIN_DECLS

typedef struct _CfMcpServer   CfMcpServer;
typedef struct _CfMcpSession  CfMcpSession;
typedef struct _CfMcpRequest  CfMcpRequest;
typedef struct _CfMcpStream   CfMcpStream;
typedef struct _CfIdentity    CfIdentity;

/**
 * CfMcpEra:
 * @CF_MCP_ERA_LEGACY: 2024-11-05 to 2025-11-25: initialize handshake, sessions
 * @CF_MCP_ERA_MODERN: 2026-07-28 and later: stateless, per-request `_meta`
 */
typedef enum {
  CF_MCP_ERA_LEGACY,
  CF_MCP_ERA_MODERN,
} CfMcpEra;

/**
 * CfMcpLogLevel:
 *
 * The RFC 5424 severities MCP logging uses, least severe first.
 * %CF_MCP_LOG_LEVEL_NONE means no level was asked for.
 */
typedef enum {
  CF_MCP_LOG_LEVEL_NONE = -1,
  CF_MCP_LOG_LEVEL_DEBUG,
  CF_MCP_LOG_LEVEL_INFO,
  CF_MCP_LOG_LEVEL_NOTICE,
  CF_MCP_LOG_LEVEL_WARNING,
  CF_MCP_LOG_LEVEL_ERROR,
  CF_MCP_LOG_LEVEL_CRITICAL,
  CF_MCP_LOG_LEVEL_ALERT,
  CF_MCP_LOG_LEVEL_EMERGENCY,
} CfMcpLogLevel;

G_END_DECLS
