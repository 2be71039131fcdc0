/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-dbus-generated.h"
#include "cf-dbus-service.h"

G_BEGIN_DECLS

struct _CfDbusService
{
  GObject         parent_instance;

  CfDaemon       *daemon;
  CfDbusGateway  *skeleton;
  CfGateway      *gateway;
  CfUpstreamPool *pool;
  gulong          changed_id;
  /* gateway id → the last reachable state seen, as GINT_TO_POINTER (1 + b) */
  GHashTable     *reachable;
  /* The gateway's own REST API, for teams and tokens */
  SoupSession    *rest;
};

gboolean _cf_dbus_service_check_ready   (CfDbusService         *self,
                                         GDBusMethodInvocation *invocation);
JsonObject *_cf_dbus_service_parse_settings (GDBusMethodInvocation *invocation,
                                         const char            *json);
void     _cf_dbus_service_return_error  (GDBusMethodInvocation *invocation,
                                         const GError          *error,
                                         JsonArray             *problems);
void     _cf_dbus_service_add_string    (GVariantBuilder       *builder,
                                         const char            *key,
                                         JsonObject            *from,
                                         const char            *member);
void     _cf_dbus_service_add_bool      (GVariantBuilder       *builder,
                                         const char            *key,
                                         JsonObject            *from,
                                         const char            *member,
                                         gboolean               fallback);
void     _cf_dbus_service_init_entities (CfDbusService         *self);
void     _cf_dbus_service_init_tenancy  (CfDbusService         *self);
void     _cf_dbus_service_attach_tenancy (CfDbusService        *self);
void     _cf_dbus_service_init_discovery (CfDbusService        *self);
void     _cf_dbus_service_attach_discovery (CfDbusService      *self);

G_END_DECLS
