/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "cf-config.h"
#include "cf-auth.h"
#include "cf-discovery.h"
#include "cf-gateway.h"
#include "cf-teams.h"
#include "cf-tokens.h"

G_BEGIN_DECLS

#define CF_TYPE_DAEMON (cf_daemon_get_type ())
G_DECLARE_FINAL_TYPE (CfDaemon, cf_daemon, CF, DAEMON, GApplication)

CfDaemon       *cf_daemon_new            (void);
CfGateway      *cf_daemon_get_gateway    (CfDaemon  *self);
CfAuth         *cf_daemon_get_auth       (CfDaemon  *self);
CfDiscovery    *cf_daemon_get_discovery  (CfDaemon  *self);
CfTeams        *cf_daemon_get_teams      (CfDaemon  *self);
CfTokens       *cf_daemon_get_tokens     (CfDaemon  *self);
void            cf_daemon_set_discovery_enabled (CfDaemon *self,
                                                 gboolean  enabled);
const char     *cf_daemon_get_instance_id (CfDaemon *self);
const char     *cf_daemon_get_listen_url (CfDaemon  *self);
const char     *cf_daemon_get_db_path    (CfDaemon  *self);
gint64          cf_daemon_get_uptime     (CfDaemon  *self);
const CfConfig *cf_daemon_get_config     (CfDaemon  *self);
gboolean        cf_daemon_reload         (CfDaemon  *self,
                                          GStrv     *applied,
                                          GStrv     *restart_needed,
                                          GError   **error);

G_END_DECLS
