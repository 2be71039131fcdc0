/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-dbus-service-discovery"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-daemon.h"
#include "cf-dbus-service-private.h"
#include "cf-discovery.h"
#include "cf-json.h"

/* The LAN discovery of `org.contextforge.Gateway`: the gateways found
 * over mDNS, registering one of them, and discovery's own switch. The
 * answers are CfDiscovery's, the writes its registration helper's, so a
 * D-Bus caller gets what REST's /v1/discovery gives. */

/* Status */

static void
add_status (GVariantBuilder *builder,
            JsonObject      *status)
{
  _cf_dbus_service_add_bool (builder, "enabled", status, "enabled", FALSE);
  g_variant_builder_add (builder, "{sv}", "state",
                         g_variant_new_string (cf_json_object_get_string (status, "state") ?: "off"));
  _cf_dbus_service_add_string (builder, "message", status, "message");
  _cf_dbus_service_add_string (builder, "id", status, "id");
  _cf_dbus_service_add_string (builder, "published-name", status, "publishedName");
}

/* Returns: (transfer floating): GetDiscovery's a{sv}; discovery that does
 * not exist (yet) is off. */
static GVariant *
describe (CfDbusService *self)
{
  CfDiscovery *discovery = cf_daemon_get_discovery (self->daemon);
  g_autoptr(JsonObject) status = NULL;
  GVariantBuilder builder;

  if (discovery != NULL)
    status = cf_discovery_describe (discovery);
  else
    {
      status = json_object_new ();
      json_object_set_boolean_member (status, "enabled", FALSE);
      json_object_set_string_member (status, "state",
                                     cf_discovery_state_to_string (CF_DISCOVERY_STATE_OFF));
      json_object_set_string_member (status, "message", _("The gateway is still starting"));
    }
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  add_status (&builder, status);
  return g_variant_builder_end (&builder);
}

static gboolean
handle_get_discovery (CfDbusGateway         *skeleton,
                      GDBusMethodInvocation *invocation,
                      CfDbusService         *self)
{
  cf_dbus_gateway_complete_get_discovery (skeleton, invocation, describe (self));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_discovery_enabled (CfDbusGateway         *skeleton,
                              GDBusMethodInvocation *invocation,
                              gboolean               enabled,
                              CfDbusService         *self)
{
  if (!_cf_dbus_service_check_ready (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  /* The daemon remembers the choice in GSettings too. */
  cf_daemon_set_discovery_enabled (self->daemon, enabled);
  cf_dbus_gateway_complete_set_discovery_enabled (skeleton, invocation);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Peers */

static GVariant *
peer_dict (JsonObject *peer)
{
  static const struct {
    const char *key;
    const char *member;
  } strings[] = {
    { "id", "id" }, { "name", "name" }, { "display-name", "displayName" },
    { "host", "host" }, { "url", "url" }, { "protocol", "protocol" },
    { "version", "version" }, { "auth", "auth" }, { "first-seen", "firstSeen" },
    { "last-seen", "lastSeen" }, { "gateway-id", "gatewayId" },
  };
  JsonArray *addresses = cf_json_object_get_array (peer, "addresses");
  gint64 port = 0;
  GVariantBuilder builder;
  GVariantBuilder strv;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    _cf_dbus_service_add_string (&builder, strings[i].key, peer, strings[i].member);
  if (!cf_json_object_get_int (peer, "port", &port))
    port = 0;
  g_variant_builder_add (&builder, "{sv}", "port",
                         g_variant_new_uint32 (port > 0 && port <= G_MAXUINT16 ? (guint32) port : 0));
  g_variant_builder_init (&strv, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; addresses != NULL && i < json_array_get_length (addresses); i++)
    {
      JsonNode *address = json_array_get_element (addresses, i);

      if (cf_json_node_is_string (address))
        g_variant_builder_add (&strv, "s", json_node_get_string (address));
    }
  g_variant_builder_add (&builder, "{sv}", "addresses", g_variant_builder_end (&strv));
  _cf_dbus_service_add_bool (&builder, "registered", peer, "registered", FALSE);
  return g_variant_builder_end (&builder);
}

static gboolean
handle_list_nearby_gateways (CfDbusGateway         *skeleton,
                             GDBusMethodInvocation *invocation,
                             CfDbusService         *self)
{
  CfDiscovery *discovery = cf_daemon_get_discovery (self->daemon);
  g_autoptr(GPtrArray) peers = discovery ? cf_discovery_list_peers (discovery) : NULL;
  GVariantBuilder all;

  g_variant_builder_init (&all, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; peers != NULL && i < peers->len; i++)
    g_variant_builder_add_value (&all, peer_dict (peers->pdata[i]));
  cf_dbus_gateway_complete_list_nearby_gateways (skeleton, invocation,
                                                 g_variant_builder_end (&all));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Registering */

typedef struct {
  CfDbusService         *self;
  GDBusMethodInvocation *invocation;    /* answered exactly once */
} Registration;

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Registration *registration = user_data;
  GDBusMethodInvocation *invocation = g_steal_pointer (&registration->invocation);
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) gateway = NULL;

  gateway = cf_discovery_register_finish (CF_DISCOVERY (source), result, &problems, &error);
  if (gateway == NULL && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND))
    g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                   CF_DBUS_SERVICE_ERROR_NOT_FOUND,
                                                   error->message);
  else if (gateway == NULL)
    _cf_dbus_service_return_error (invocation, error, problems);
  else
    cf_dbus_gateway_complete_register_nearby_gateway (
        registration->self->skeleton, invocation,
        cf_json_object_get_string (gateway, "id") ?: "");
  g_object_unref (registration->self);
  g_free (registration);
}

static gboolean
handle_register_nearby_gateway (CfDbusGateway         *skeleton,
                                GDBusMethodInvocation *invocation,
                                const char            *peer_id,
                                const char            *settings,
                                CfDbusService         *self)
{
  CfDiscovery *discovery = cf_daemon_get_discovery (self->daemon);
  g_autoptr(JsonObject) input = NULL;
  Registration *registration;

  if (!_cf_dbus_service_check_ready (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  /* "" is no settings to add. */
  input = *settings == '\0' ? json_object_new ()
                            : _cf_dbus_service_parse_settings (invocation, settings);
  if (input == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (discovery == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_NOT_FOUND,
                                             _("No nearby gateway %s"), peer_id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  registration = g_new0 (Registration, 1);
  registration->self = g_object_ref (self);
  registration->invocation = invocation;
  cf_discovery_register_async (discovery, peer_id, input, NULL, on_registered, registration);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Signals */

static void
on_peer_appeared (CfDiscovery   *discovery,
                  const char    *peer_id,
                  CfDbusService *self)
{
  cf_dbus_gateway_emit_nearby_gateway_appeared (self->skeleton, peer_id);
}

static void
on_peer_disappeared (CfDiscovery   *discovery,
                     const char    *peer_id,
                     CfDbusService *self)
{
  cf_dbus_gateway_emit_nearby_gateway_disappeared (self->skeleton, peer_id);
}

static void
on_discovery_notify (CfDiscovery   *discovery,
                     GParamSpec    *pspec,
                     CfDbusService *self)
{
  cf_dbus_gateway_emit_discovery_changed (self->skeleton, describe (self));
}

/**
 * _cf_dbus_service_attach_discovery:
 * @self: the service, with its gateway attached
 *
 * Follows the daemon's discovery, if it has one, for the signals; the
 * handlers go with @self.
 */
void
_cf_dbus_service_attach_discovery (CfDbusService *self)
{
  CfDiscovery *discovery = cf_daemon_get_discovery (self->daemon);

  if (discovery == NULL)
    return;
  g_signal_connect_object (discovery, "peer-appeared", G_CALLBACK (on_peer_appeared), self, 0);
  g_signal_connect_object (discovery, "peer-disappeared", G_CALLBACK (on_peer_disappeared),
                           self, 0);
  g_signal_connect_object (discovery, "notify::state", G_CALLBACK (on_discovery_notify), self,
                           0);
  g_signal_connect_object (discovery, "notify::enabled", G_CALLBACK (on_discovery_notify), self,
                           0);
}

/**
 * _cf_dbus_service_init_discovery:
 * @self: the service
 *
 * Answers the discovery methods; they work before discovery exists, as
 * if it were off.
 */
void
_cf_dbus_service_init_discovery (CfDbusService *self)
{
  g_signal_connect (self->skeleton, "handle-get-discovery",
                    G_CALLBACK (handle_get_discovery), self);
  g_signal_connect (self->skeleton, "handle-set-discovery-enabled",
                    G_CALLBACK (handle_set_discovery_enabled), self);
  g_signal_connect (self->skeleton, "handle-list-nearby-gateways",
                    G_CALLBACK (handle_list_nearby_gateways), self);
  g_signal_connect (self->skeleton, "handle-register-nearby-gateway",
                    G_CALLBACK (handle_register_nearby_gateway), self);
}
