/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-discovery"

#include "config.h"

#include <net/if.h>
#include <string.h>

#include <avahi-common/error.h>
#include <avahi-common/malloc.h>

#include "cf-discovery-private.h"
#include "cf-ssrf.h"
#include "cf-json.h"

/* Browsing `_mcp._tcp` and resolving what is found into peers. */

/* Peers */

static void
instance_free (Instance *instance)
{
  if (instance->resolver != NULL)
    avahi_service_resolver_free (instance->resolver);
  g_free (instance->key);
  g_free (instance->type);
  g_free (instance->host);
  g_free (instance->address);
  g_free (instance->interface);
  g_clear_pointer (&instance->txt, g_hash_table_unref);
  g_free (instance);
}

void
_cf_discovery_peer_free (Peer *peer)
{
  g_hash_table_unref (peer->instances);
  g_free (peer->key);
  g_free (peer->name);
  g_free (peer->domain);
  g_free (peer->id);
  g_free (peer);
}

static gboolean
is_valid_id (const char *id)
{
  gsize length = id ? strlen (id) : 0;

  if (length == 0 || length > MAX_ID_LENGTH)
    return FALSE;
  for (const char *p = id; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '-' && *p != '_' && *p != '.')
      return FALSE;
  return TRUE;
}

/* The peer's first resolved instance: its TXT record and port speak for
 * the peer. */
static Instance *
first_resolved (Peer *peer)
{
  GHashTableIter iter;
  Instance *instance;

  g_hash_table_iter_init (&iter, peer->instances);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
    if (instance->resolved)
      return instance;
  return NULL;
}

static GHashTable *
peer_txt (Peer *peer)
{
  Instance *instance = first_resolved (peer);

  return instance ? instance->txt : NULL;
}

const char *
_cf_discovery_peer_txt_value (Peer       *peer,
                              const char *key)
{
  GHashTable *txt = peer_txt (peer);

  return txt ? g_hash_table_lookup (txt, key) : NULL;
}

static gboolean
peer_is_resolved (Peer *peer)
{
  return peer_txt (peer) != NULL;
}

/* The address to reach a peer at: IPv4 off loopback first, then any
 * IPv6 off link-local (a URL cannot carry the zone portably), then
 * loopback (another gateway on this very host). */
const char *
_cf_discovery_peer_best_address (Peer *peer)
{
  static const int ranks = 3;
  GHashTableIter iter;
  Instance *instance;

  for (int rank = 0; rank < ranks; rank++)
    {
      g_hash_table_iter_init (&iter, peer->instances);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
        {
          g_autoptr(GInetAddress) address = NULL;

          if (!instance->resolved || instance->address == NULL ||
              (address = g_inet_address_new_from_string (instance->address)) == NULL)
            continue;
          if (g_inet_address_get_is_link_local (address))
            continue;
          if (rank == 0 && !g_inet_address_get_is_loopback (address) &&
              g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
            return instance->address;
          if (rank == 1 && !g_inet_address_get_is_loopback (address))
            return instance->address;
          if (rank == 2)
            return instance->address;
        }
    }
  return NULL;
}

static guint16
peer_port (Peer *peer)
{
  Instance *instance = first_resolved (peer);

  return instance ? instance->port : 0;
}

static char *
peer_path (Peer *peer)
{
  const char *path = _cf_discovery_peer_txt_value (peer, "path");

  /* A path of RFC 3986 pchars and slashes, nothing that could end the
   * path or start a query in the URL made of it. */
  if (path == NULL || *path != '/')
    return g_strdup ("/mcp");
  for (const char *p = path; *p; p++)
    if (!g_ascii_isalnum (*p) && strchr ("/-._~!$&'()*+,;=:@%", *p) == NULL)
      return g_strdup ("/mcp");
  return g_strdup (path);
}

char *
_cf_discovery_peer_url (Peer *peer)
{
  const char *address = _cf_discovery_peer_best_address (peer);
  g_autofree char *path = peer_path (peer);
  g_autoptr(GInetAddress) inet = address ? g_inet_address_new_from_string (address) : NULL;

  if (inet == NULL)
    return NULL;
  if (g_inet_address_get_family (inet) == G_SOCKET_FAMILY_IPV6)
    return g_strdup_printf ("http://[%s]:%u%s", address, peer_port (peer), path);
  return g_strdup_printf ("http://%s:%u%s", address, peer_port (peer), path);
}

static char *
iso8601 (gint64 usec)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (usec / G_USEC_PER_SEC);

  return g_date_time_format (time, "%Y-%m-%dT%H:%M:%SZ");
}

/* The registered gateway that stands for @peer, if any: one registered
 * from discovery with its id, or one whose URL points at its address and
 * port. */
JsonObject *
_cf_discovery_find_registration (CfDiscovery       *self,
                                 CfCatalogSnapshot *snapshot,
                                 Peer              *peer)
{
  GPtrArray *gateways = cf_catalog_snapshot_list (snapshot, CF_ENTITY_GATEWAY);

  for (guint i = 0; i < gateways->len; i++)
    {
      JsonObject *gateway = gateways->pdata[i];
      const char *url = cf_json_object_get_string (gateway, "url");
      g_autoptr(GUri) uri = NULL;
      GHashTableIter iter;
      Instance *instance;

      if (g_strcmp0 (cf_json_object_get_string (gateway, "discoveredPeerId"), peer->id) == 0)
        return gateway;
      if (url == NULL || (uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL)) == NULL ||
          g_uri_get_host (uri) == NULL)
        continue;
      g_hash_table_iter_init (&iter, peer->instances);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
        if (instance->resolved && instance->address != NULL &&
            g_uri_get_port (uri) == instance->port &&
            g_ascii_strcasecmp (g_uri_get_host (uri), instance->address) == 0)
          return gateway;
    }
  return NULL;
}

JsonObject *
_cf_discovery_describe_peer (CfDiscovery       *self,
                             CfCatalogSnapshot *snapshot,
                             Peer              *peer)
{
  JsonObject *object = json_object_new ();
  JsonArray *addresses = json_array_new ();
  JsonArray *interfaces = json_array_new ();
  JsonObject *txt = json_object_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) keys = NULL;
  g_autofree char *url = _cf_discovery_peer_url (peer);
  g_autofree char *path = peer_path (peer);
  g_autofree char *first = iso8601 (peer->first_seen);
  g_autofree char *last = iso8601 (peer->last_seen);
  GHashTable *values = peer_txt (peer);
  JsonObject *gateway = snapshot ? _cf_discovery_find_registration (self, snapshot, peer) : NULL;
  const char *host = NULL;
  GHashTableIter iter;
  Instance *instance;

  g_hash_table_iter_init (&iter, peer->instances);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
    {
      if (!instance->resolved)
        continue;
      host = host ? host : instance->host;
      if (instance->address != NULL && g_hash_table_add (seen, instance->address))
        json_array_add_string_element (addresses, instance->address);
      if (instance->interface != NULL && g_hash_table_add (seen, instance->interface))
        json_array_add_string_element (interfaces, instance->interface);
    }
  if (values != NULL)
    {
      keys = g_hash_table_get_keys (values);
      keys = g_list_sort (keys, (GCompareFunc) g_strcmp0);
      for (GList *l = keys; l != NULL; l = l->next)
        json_object_set_string_member (txt, l->data, g_hash_table_lookup (values, l->data));
    }

  json_object_set_string_member (object, "id", peer->id);
  json_object_set_string_member (object, "name", peer->name);
  json_object_set_string_member (object, "displayName",
                                 _cf_discovery_peer_txt_value (peer, "name") ?: peer->name);
  json_object_set_string_member (object, "host", host);
  json_object_set_int_member (object, "port", peer_port (peer));
  json_object_set_array_member (object, "addresses", addresses);
  json_object_set_array_member (object, "interfaces", interfaces);
  json_object_set_string_member (object, "url", url);
  json_object_set_string_member (object, "path", path);
  json_object_set_string_member (object, "protocol", _cf_discovery_peer_txt_value (peer, "protocol"));
  json_object_set_string_member (object, "version", _cf_discovery_peer_txt_value (peer, "version"));
  json_object_set_string_member (object, "auth", _cf_discovery_peer_txt_value (peer, "auth") ?: "none");
  json_object_set_object_member (object, "txt", txt);
  json_object_set_string_member (object, "firstSeen", first);
  json_object_set_string_member (object, "lastSeen", last);
  json_object_set_boolean_member (object, "registered", gateway != NULL);
  if (gateway != NULL)
    json_object_set_string_member (object, "gatewayId", cf_json_object_get_string (gateway, "id"));
  return object;
}

Peer *
_cf_discovery_find_peer (CfDiscovery *self,
                         const char  *peer_id)
{
  GHashTableIter iter;
  Peer *peer;

  if (peer_id == NULL)
    return NULL;
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    if (peer->announced && g_strcmp0 (peer->id, peer_id) == 0)
      return peer;
  return NULL;
}

static void
forget_peer (CfDiscovery *self,
             Peer        *peer)
{
  g_autofree char *id = g_strdup (peer->id);
  gboolean announced = peer->announced;

  g_hash_table_remove (self->peers, peer->key);
  if (announced)
    {
      g_message ("LAN discovery: gateway %s went away", id);
      g_signal_emit_by_name (self, "peer-disappeared", id);
    }
}

void
_cf_discovery_forget_all_peers (CfDiscovery *self)
{
  g_autoptr(GList) peers = g_hash_table_get_values (self->peers);

  for (GList *l = peers; l != NULL; l = l->next)
    forget_peer (self, l->data);
}

/* Once a peer's first instance is resolved, it has an id and appears. */
static void
update_peer (CfDiscovery *self,
             Peer        *peer)
{
  const char *id;

  if (peer->announced || !peer_is_resolved (peer))
    return;
  id = _cf_discovery_peer_txt_value (peer, "id");
  if (is_valid_id (id))
    peer->id = g_strdup (id);
  else
    {
      /* Not one of ours, or an old ContextForge: an id from its name. */
      g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, peer->key, -1);

      peer->id = g_strdup_printf ("mdns-%.24s", digest);
    }
  if (g_strcmp0 (peer->id, self->gateway_id) == 0)
    {
      peer->own = TRUE;
      return;
    }
  if (_cf_discovery_find_peer (self, peer->id) != NULL)
    {
      /* Two announcements claim one id: the first keeps it. */
      g_warning ("LAN discovery: %s claims the id %s of another announcement; ignored",
                 peer->name, peer->id);
      return;
    }
  peer->announced = TRUE;
  g_message ("LAN discovery: found gateway %s (%s) at %s:%u", peer->name, peer->id,
             _cf_discovery_peer_best_address (peer), peer_port (peer));
  g_signal_emit_by_name (self, "peer-appeared", peer->id);
  _cf_discovery_auto_register (self, peer);
}

static GHashTable *
parse_txt (AvahiStringList *txt)
{
  GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);

  for (AvahiStringList *l = txt; l != NULL; l = avahi_string_list_get_next (l))
    {
      char *key = NULL;
      char *value = NULL;
      size_t size = 0;

      if (avahi_string_list_get_pair (l, &key, &value, &size) < 0)
        continue;
      /* Keys are case-insensitive (RFC 6763 §6.4); values are text here. */
      if (key != NULL && value != NULL && size <= MAX_TXT_VALUE && g_utf8_validate (value, size, NULL) &&
          memchr (value, '\0', size) == NULL && !g_hash_table_contains (table, key))
        g_hash_table_insert (table, g_ascii_strdown (key, -1), g_strndup (value, size));
      avahi_free (key);
      avahi_free (value);
    }
  return table;
}

static void
on_resolved (AvahiServiceResolver   *resolver,
             AvahiIfIndex            interface,
             AvahiProtocol           protocol,
             AvahiResolverEvent      event,
             const char             *name,
             const char             *type,
             const char             *domain,
             const char             *host_name,
             const AvahiAddress     *address,
             uint16_t                port,
             AvahiStringList        *txt,
             AvahiLookupResultFlags  flags,
             void                   *user_data)
{
  Instance *instance = user_data;
  CfDiscovery *self = instance->self;
  g_autofree char *peer_key = g_strdup_printf ("%s\x1f%s\x1f%s", name, type, domain);
  Peer *peer = g_hash_table_lookup (self->peers, peer_key);
  char text[AVAHI_ADDRESS_STR_MAX];
  char ifname[IF_NAMESIZE] = "";

  if (peer == NULL)
    return;
  if (event == AVAHI_RESOLVER_FAILURE)
    {
      /* Gone without a goodbye (or never answered): drop this instance. */
      g_debug ("Resolving %s on %s failed: %s", name, instance->key,
               avahi_strerror (avahi_client_errno (self->client)));
      g_hash_table_remove (peer->instances, instance->key);
      if (g_hash_table_size (peer->instances) == 0)
        forget_peer (self, peer);
      return;
    }

  avahi_address_snprint (text, sizeof text, address);
  if (!(flags & AVAHI_LOOKUP_RESULT_LOCAL) &&
      cf_ssrf_classify_host (text, NULL) == CF_ADDRESS_LOOPBACK)
    {
      /* Only this host's own services live on loopback: a record from the
       * network that points there would have the gateway dial itself. */
      g_debug ("Ignoring %s on %s: a loopback address announced from the network", name,
               instance->key);
      return;
    }
  g_free (instance->host);
  instance->host = g_strdup (host_name);
  g_free (instance->address);
  instance->address = g_strdup (text);
  g_free (instance->interface);
  instance->interface = if_indextoname (interface, ifname) ? g_strdup (ifname) : NULL;
  instance->port = port;
  g_clear_pointer (&instance->txt, g_hash_table_unref);
  instance->txt = parse_txt (txt);
  instance->resolved = TRUE;
  instance->local = (flags & AVAHI_LOOKUP_RESULT_LOCAL) != 0;
  peer->last_seen = g_get_real_time ();
  update_peer (self, peer);
}

static void
resolve (CfDiscovery   *self,
         Instance      *instance,
         AvahiIfIndex   interface,
         AvahiProtocol  protocol,
         const char    *name,
         const char    *type,
         const char    *domain)
{
  if (instance->resolver != NULL)
    avahi_service_resolver_free (instance->resolver);
  instance->resolver = avahi_service_resolver_new (self->client, interface, protocol, name, type,
                                                   domain, AVAHI_PROTO_UNSPEC, 0, on_resolved,
                                                   instance);
  if (instance->resolver == NULL)
    g_debug ("Cannot resolve %s: %s", name, avahi_strerror (avahi_client_errno (self->client)));
}

void
_cf_discovery_on_browse (AvahiServiceBrowser    *browser,
                         AvahiIfIndex            interface,
                         AvahiProtocol           protocol,
                         AvahiBrowserEvent       event,
                         const char             *name,
                         const char             *type,
                         const char             *domain,
                         AvahiLookupResultFlags  flags,
                         void                   *user_data)
{
  CfDiscovery *self = user_data;
  g_autofree char *peer_key = NULL;
  g_autofree char *instance_key = NULL;
  Peer *peer;
  Instance *instance;

  switch (event)
    {
    case AVAHI_BROWSER_NEW:
      peer_key = g_strdup_printf ("%s\x1f%s\x1f%s", name, type, domain);
      instance_key = g_strdup_printf ("%d/%d", interface, protocol);
      peer = g_hash_table_lookup (self->peers, peer_key);
      if (peer == NULL)
        {
          if (g_hash_table_size (self->peers) >= MAX_PEERS)
            {
              g_debug ("Ignoring %s: already %u gateways nearby", name, MAX_PEERS);
              return;
            }
          peer = g_new0 (Peer, 1);
          peer->key = g_strdup (peer_key);
          peer->name = g_strdup (name);
          peer->domain = g_strdup (domain);
          peer->instances = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                   (GDestroyNotify) instance_free);
          peer->first_seen = peer->last_seen = g_get_real_time ();
          g_hash_table_insert (self->peers, peer->key, peer);
        }
      if (g_hash_table_contains (peer->instances, instance_key))
        return;
      instance = g_new0 (Instance, 1);
      instance->self = self;
      instance->key = g_steal_pointer (&instance_key);
      instance->if_index = interface;
      instance->protocol = protocol;
      instance->type = g_strdup (type);
      g_hash_table_insert (peer->instances, instance->key, instance);
      resolve (self, instance, interface, protocol, name, type, domain);
      break;

    case AVAHI_BROWSER_REMOVE:
      peer_key = g_strdup_printf ("%s\x1f%s\x1f%s", name, type, domain);
      instance_key = g_strdup_printf ("%d/%d", interface, protocol);
      peer = g_hash_table_lookup (self->peers, peer_key);
      if (peer == NULL)
        return;
      g_hash_table_remove (peer->instances, instance_key);
      if (g_hash_table_size (peer->instances) == 0)
        forget_peer (self, peer);
      break;

    case AVAHI_BROWSER_FAILURE:
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_FAILED,
                 avahi_strerror (avahi_client_errno (self->client)));
      break;

    case AVAHI_BROWSER_CACHE_EXHAUSTED:
    case AVAHI_BROWSER_ALL_FOR_NOW:
    default:
      break;
    }
}

/* Every TTL, every instance is resolved anew: one that does not answer
 * any more is dropped (see on_resolved). */
gboolean
_cf_discovery_revalidate (gpointer user_data)
{
  CfDiscovery *self = user_data;
  g_autoptr(GList) peers = g_hash_table_get_values (self->peers);

  for (GList *l = peers; l != NULL; l = l->next)
    {
      Peer *peer = l->data;
      GHashTableIter iter;
      Instance *instance;

      g_hash_table_iter_init (&iter, peer->instances);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
        resolve (self, instance, instance->if_index, instance->protocol, peer->name,
                 instance->type, peer->domain);
    }
  return G_SOURCE_CONTINUE;
}

