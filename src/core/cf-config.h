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
 * @log_level: LOG_LEVEL, upper-case
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
  char   *log_level;
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
