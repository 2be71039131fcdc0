/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-discovery"

#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <sys/socket.h>

#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>

#include "cf-discovery-private.h"
#include "cf-ssrf.h"

/* Announcing this gateway: one `_mcp._tcp` service on the interface of
 * its listen address. */

/* Publishing */

/* The SSRF guard's idea of loopback (names included), except for the
 * wildcard addresses it counts too: listening on those is listening on
 * every interface. */
static gboolean
is_loopback_host (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (host == NULL)
    return TRUE;
  return cf_ssrf_classify_host (host, &address) == CF_ADDRESS_LOOPBACK &&
         (address == NULL || !g_inet_address_get_is_any (address));
}

/* The interface that holds the listen address, so that the service is
 * announced where it can be reached; AVAHI_IF_UNSPEC for a wildcard. */
static gboolean
listen_interface (const char     *host,
                  AvahiIfIndex   *out_interface,
                  AvahiProtocol  *out_protocol)
{
  g_autoptr(GInetAddress) wanted = g_inet_address_new_from_string (host);
  struct ifaddrs *addresses = NULL;
  gboolean found = FALSE;

  *out_interface = AVAHI_IF_UNSPEC;
  *out_protocol = AVAHI_PROTO_UNSPEC;
  if (wanted == NULL)
    return TRUE;   /* a name: announce everywhere */
  if (g_inet_address_get_is_any (wanted))
    {
      if (g_inet_address_get_family (wanted) == G_SOCKET_FAMILY_IPV4)
        *out_protocol = AVAHI_PROTO_INET;
      return TRUE;
    }
  if (getifaddrs (&addresses) != 0)
    return FALSE;
  for (struct ifaddrs *a = addresses; a != NULL && !found; a = a->ifa_next)
    {
      g_autoptr(GSocketAddress) socket_address = NULL;

      if (a->ifa_addr == NULL ||
          (a->ifa_addr->sa_family != AF_INET && a->ifa_addr->sa_family != AF_INET6))
        continue;
      socket_address = g_socket_address_new_from_native (a->ifa_addr,
                                                         a->ifa_addr->sa_family == AF_INET
                                                           ? sizeof (struct sockaddr_in)
                                                           : sizeof (struct sockaddr_in6));
      if (socket_address != NULL &&
          g_inet_address_equal (g_inet_socket_address_get_address (
                                  G_INET_SOCKET_ADDRESS (socket_address)), wanted))
        {
          *out_interface = (AvahiIfIndex) if_nametoindex (a->ifa_name);
          *out_protocol = a->ifa_addr->sa_family == AF_INET ? AVAHI_PROTO_INET : AVAHI_PROTO_INET6;
          found = TRUE;
        }
    }
  freeifaddrs (addresses);
  return found;
}

static AvahiStringList *
build_txt (CfDiscovery *self)
{
  AvahiStringList *txt = NULL;

  txt = avahi_string_list_add_pair (txt, "id", self->gateway_id);
  txt = avahi_string_list_add_pair (txt, "auth", self->auth ? self->auth : "none");
  txt = avahi_string_list_add_pair (txt, "path", self->path ? self->path : "/mcp");
  txt = avahi_string_list_add_pair (txt, "protocol", self->protocol);
  txt = avahi_string_list_add_pair (txt, "version", self->version);
  txt = avahi_string_list_add_pair (txt, "name", self->name);
  return txt;
}

static void
on_group_state (AvahiEntryGroup      *group,
                AvahiEntryGroupState  state,
                void                 *user_data)
{
  CfDiscovery *self = user_data;
  g_autofree char *message = NULL;

  switch (state)
    {
    case AVAHI_ENTRY_GROUP_ESTABLISHED:
      message = g_strdup_printf ("announcing \"%s\" on port %u", self->published_name,
                                 self->port);
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
      break;

    case AVAHI_ENTRY_GROUP_COLLISION:
      {
        /* Another service has our name: take the next one Avahi offers
         * ("Name #2") and announce again. */
        char *alternative = avahi_alternative_service_name (self->published_name);

        g_message ("LAN discovery: the name \"%s\" is taken; renaming to \"%s\"",
                   self->published_name, alternative);
        g_free (self->published_name);
        self->published_name = g_strdup (alternative);
        avahi_free (alternative);
        avahi_entry_group_reset (group);
        _cf_discovery_publish (self);
      }
      break;

    case AVAHI_ENTRY_GROUP_FAILURE:
      message = g_strdup_printf ("cannot announce this gateway: %s",
                                 avahi_strerror (avahi_client_errno (self->client)));
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
      break;

    case AVAHI_ENTRY_GROUP_UNCOMMITED:
    case AVAHI_ENTRY_GROUP_REGISTERING:
    default:
      break;
    }
}

void
_cf_discovery_withdraw (CfDiscovery *self)
{
  if (self->group != NULL)
    {
      avahi_entry_group_free (self->group);
      self->group = NULL;
    }
}

void
_cf_discovery_publish (CfDiscovery *self)
{
  AvahiIfIndex interface;
  AvahiProtocol protocol;
  AvahiStringList *txt;
  int rc;

  if (self->client == NULL || avahi_client_get_state (self->client) != AVAHI_CLIENT_S_RUNNING)
    return;
  if (self->port == 0)
    {
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, "browsing; not listening yet");
      return;
    }
  if (is_loopback_host (self->listen_host))
    {
      _cf_discovery_withdraw (self);
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING,
                 "browsing only: the gateway listens on a loopback address, which no other "
                 "host can reach, so it announces nothing (set HOST to a LAN address or "
                 "0.0.0.0 to announce it)");
      return;
    }
  if (!listen_interface (self->listen_host, &interface, &protocol))
    {
      g_autofree char *message =
        g_strdup_printf ("browsing only: no interface holds the listen address %s",
                         self->listen_host);

      _cf_discovery_withdraw (self);
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
      return;
    }

  if (self->group == NULL)
    self->group = avahi_entry_group_new (self->client, on_group_state, self);
  if (self->group == NULL)
    {
      g_autofree char *message = g_strdup_printf ("cannot announce this gateway: %s",
                                                  avahi_strerror (avahi_client_errno (self->client)));

      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
      return;
    }
  if (!avahi_entry_group_is_empty (self->group))
    avahi_entry_group_reset (self->group);
  if (self->published_name == NULL)
    self->published_name = g_strdup (self->name);

  txt = build_txt (self);
  while ((rc = avahi_entry_group_add_service_strlst (self->group, interface, protocol, 0,
                                                     self->published_name,
                                                     CF_DISCOVERY_SERVICE_TYPE, NULL, NULL,
                                                     self->port, txt)) == AVAHI_ERR_COLLISION)
    {
      /* A local service has the name already. */
      char *alternative = avahi_alternative_service_name (self->published_name);

      g_free (self->published_name);
      self->published_name = g_strdup (alternative);
      avahi_free (alternative);
    }
  avahi_string_list_free (txt);
  if (rc >= 0)
    rc = avahi_entry_group_commit (self->group);
  if (rc < 0)
    {
      g_autofree char *message = g_strdup_printf ("cannot announce this gateway: %s",
                                                  avahi_strerror (rc));

      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
    }
}

