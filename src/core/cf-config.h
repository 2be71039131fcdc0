/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_CONFIG_ERROR (cf_config_error_quark ())

typedef enum {
  CF_CONFIG_ERROR_INVALID,
} CfConfigError;

/**
 * CfConfig:
 * @host: the address to listen on
 * @port: the port; 0 picks a free one
 * @db_path: the SQLite file
 * @separator: GATEWAY_TOOL_NAME_SEPARATOR
 * @allowed_hosts: Host/Origin names accepted besides loopback ones
 * @tool_timeout_ms: TOOL_TIMEOUT
 * @session_ttl_s: SESSION_TTL: idle legacy sessions expire after this
 * @max_body: the largest request body accepted
 * @health_interval_s: HEALTH_CHECK_INTERVAL: how often upstreams are probed
 * @health_timeout_s: HEALTH_CHECK_TIMEOUT: how long a probe may take
 * @unhealthy_threshold: UNHEALTHY_THRESHOLD: consecutive failures before an
 *   upstream is marked unreachable; -1 never marks it
 * @upstream_idle_s: UPSTREAM_IDLE_TIMEOUT: how long an extra upstream
 *   connection (a pooled or per-session stdio child) may stay unused
 * @log_level: LOG_LEVEL, upper-case
 * @sse_keepalive_s: SSE_KEEPALIVE_INTERVAL: seconds between keepalives on
 *   legacy SSE streams and pings on WebSocket connections
 * @discovery: FEDERATION_DISCOVERY: 1 on, 0 off, -1 not set (the
 *   GSettings switch decides, off by default)
 * @discovery_name: FEDERATION_DISCOVERY_NAME: the name announced
 * @discovery_allowlist: FEDERATION_DISCOVERY_ALLOWLIST: ids of discovered
 *   gateways registered without asking
 * @discovery_ttl_s: FEDERATION_DISCOVERY_TTL: how often discovered
 *   gateways are resolved again; those that no longer answer expire
 *
 * The gateway's settings: ContextForge's environment variable names, then
 * command-line options on top.
 */
typedef struct {
  char   *host;
  guint   port;
  char   *db_path;
  char   *separator;
  GStrv   allowed_hosts;
  guint   tool_timeout_ms;
  guint   session_ttl_s;
  gsize   max_body;
  guint   health_interval_s;
  guint   health_timeout_s;
  int     unhealthy_threshold;
  guint   upstream_idle_s;
  char   *log_level;
  guint   sse_keepalive_s;
  int     discovery;
  char   *discovery_name;
  GStrv   discovery_allowlist;
  guint   discovery_ttl_s;
} CfConfig;

GQuark    cf_config_error_quark     (void);
CfConfig *cf_config_new             (void);
void      cf_config_free            (CfConfig    *self);
gboolean  cf_config_load_env        (CfConfig    *self,
                                     const char * const *environ,
                                     GError     **error);
gboolean  cf_config_set_database_url (CfConfig   *self,
                                     const char  *url,
                                     GError     **error);
char     *cf_config_default_db_path (void);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfConfig, cf_config_free)

G_END_DECLS
