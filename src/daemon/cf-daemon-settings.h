/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "cf-config.h"

G_BEGIN_DECLS

char     *cf_daemon_settings_env_file (void);
GSettings *cf_daemon_settings_open    (void);
gboolean  cf_daemon_settings_load     (CfConfig      *config,
                                       GVariantDict  *options,
                                       GError       **error);
void      cf_daemon_settings_update   (CfConfig      *current,
                                       CfConfig      *next,
                                       GPtrArray     *applied,
                                       GPtrArray     *restart_needed);

G_END_DECLS
