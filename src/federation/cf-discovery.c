/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-discovery"

#include "config.h"

#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <string.h>

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-common/alternative.h>
#include <avahi-common/error.h>
#include <avahi-common/malloc.h>
#include <avahi-glib/glib-watch.h>

#include "cf-discovery.h"
#include "cf-json.h"

/**
 * CfDiscovery:
 *
 * Gateways on one LAN, over mDNS: announces this gateway as an
 * `_mcp._tcp` service (TXT `name`, `version`, `protocol`, `path`, `auth`
 * and `id`, ContextForge's keys plus ours) and keeps a live list of the
 * other gateways announced there, resolved to addresses.
 *
 * It talks to avahi-daemon through avahi-client on the main loop. A
 * missing or restarting daemon is a state, not an error: the client
 * waits for the daemon to appear, and a client that cannot be made at
 * all (no system bus) is retried with a backoff. A gateway that listens
 * on loopback only announces nothing and says why. Peers that vanish
 * without a goodbye expire: each is resolved again every peer TTL, and
 * one that no longer answers is dropped.
 *
 * Registering a peer is always an explicit act
 * (cf_discovery_register_async()), except for the ids an operator put
 * on the allowlist.
 */

#define RETRY_MIN_S 2
#define RETRY_MAX_S 60
#define DEFAULT_PEER_TTL_S 120
#define MAX_PEERS 256
#define MAX_TXT_VALUE 255
#define MAX_ID_LENGTH 64

typedef struct {
  CfDiscovery          *self;
  char                 *key;       /* interface/protocol */
  AvahiIfIndex          if_index;
  AvahiProtocol         protocol;
  char                 *type;
  AvahiServiceResolver *resolver;
  char                 *host;
  char                 *address;
  char                 *interface;
  guint16               port;
  GHashTable           *txt;
  gboolean              resolved;
  gboolean              local;
} Instance;

typedef struct {
  char       *key;        /* name, type and domain */
  char       *name;
  char       *domain;
  char       *id;         /* from TXT id, or derived from the key */
  GHashTable *instances;  /* key -> Instance */
  gint64      first_seen; /* wall-clock µs */
  gint64      last_seen;
  gboolean    announced;  /* peer-appeared was emitted */
  gboolean    own;        /* our own announcement */
} Peer;

struct _CfDiscovery
{
  GObject            parent_instance;

  char              *gateway_id;
  CfCatalog         *catalog;

  /* What to announce */
  char              *name;
  char              *listen_host;
  guint              port;
  char              *path;
  char              *protocol;
  char              *version;
  char              *auth;

  gboolean           enabled;
  CfDiscoveryState   state;
  char              *message;
  char              *published_name;
  guint              peer_ttl_s;
  GStrv              allowlist;

  AvahiGLibPoll     *poll;
  AvahiClient       *client;
  AvahiEntryGroup   *group;
  AvahiServiceBrowser *browser;
  GHashTable        *peers;       /* key -> Peer */
  GHashTable        *registering; /* peer ids being registered from the allowlist */
  guint              retry_id;
  guint              retry_s;
  guint              revalidate_id;
};

G_DEFINE_FINAL_TYPE (CfDiscovery, cf_discovery, G_TYPE_OBJECT)

enum {
  PROP_0,
  PROP_ENABLED,
  PROP_STATE,
  N_PROPS
};

enum {
  PEER_APPEARED,
  PEER_DISAPPEARED,
  N_SIGNALS
};

static GParamSpec *properties[N_PROPS];
static guint signals[N_SIGNALS];

static void start_client (CfDiscovery *self);
static void stop_client (CfDiscovery *self);
static void publish (CfDiscovery *self);
static void auto_register (CfDiscovery *self,
                           Peer        *peer);

/* State */

const char *
cf_discovery_state_to_string (CfDiscoveryState state)
{
  switch (state)
    {
    case CF_DISCOVERY_STATE_OFF:
      return "off";
    case CF_DISCOVERY_STATE_STARTING:
      return "starting";
    case CF_DISCOVERY_STATE_RUNNING:
      return "running";
    case CF_DISCOVERY_STATE_NO_DAEMON:
      return "no-daemon";
    case CF_DISCOVERY_STATE_FAILED:
    default:
      return "failed";
    }
}

static void
set_state (CfDiscovery      *self,
           CfDiscoveryState  state,
           const char       *message)
{
  gboolean changed = self->state != state || g_strcmp0 (self->message, message) != 0;

  if (!changed)
    return;
  if (message != NULL && g_strcmp0 (self->message, message) != 0 &&
      (state == CF_DISCOVERY_STATE_NO_DAEMON || state == CF_DISCOVERY_STATE_FAILED))
    g_warning ("LAN discovery: %s", message);
  else if (message != NULL && g_strcmp0 (self->message, message) != 0)
    g_message ("LAN discovery: %s", message);
  self->state = state;
  g_free (self->message);
  self->message = g_strdup (message);
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_STATE]);
}

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

static void
peer_free (Peer *peer)
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

/* The TXT values of the peer's first resolved instance. */
static GHashTable *
peer_txt (Peer *peer)
{
  GHashTableIter iter;
  Instance *instance;

  g_hash_table_iter_init (&iter, peer->instances);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
    if (instance->resolved)
      return instance->txt;
  return NULL;
}

static const char *
peer_txt_value (Peer       *peer,
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
static const char *
peer_best_address (Peer *peer)
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
  GHashTableIter iter;
  Instance *instance;

  g_hash_table_iter_init (&iter, peer->instances);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &instance))
    if (instance->resolved)
      return instance->port;
  return 0;
}

static char *
peer_path (Peer *peer)
{
  const char *path = peer_txt_value (peer, "path");

  if (path == NULL || *path != '/' || strchr (path, '#') != NULL || strchr (path, '?') != NULL ||
      strchr (path, ' ') != NULL)
    return g_strdup ("/mcp");
  return g_strdup (path);
}

static char *
peer_url (Peer *peer)
{
  const char *address = peer_best_address (peer);
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
static JsonObject *
find_registration (CfDiscovery       *self,
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

static JsonObject *
describe_peer (CfDiscovery       *self,
               CfCatalogSnapshot *snapshot,
               Peer              *peer)
{
  JsonObject *object = json_object_new ();
  JsonArray *addresses = json_array_new ();
  JsonArray *interfaces = json_array_new ();
  JsonObject *txt = json_object_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GList) keys = NULL;
  g_autofree char *url = peer_url (peer);
  g_autofree char *path = peer_path (peer);
  g_autofree char *first = iso8601 (peer->first_seen);
  g_autofree char *last = iso8601 (peer->last_seen);
  GHashTable *values = peer_txt (peer);
  JsonObject *gateway = snapshot ? find_registration (self, snapshot, peer) : NULL;
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
                                 peer_txt_value (peer, "name") ?: peer->name);
  json_object_set_string_member (object, "host", host);
  json_object_set_int_member (object, "port", peer_port (peer));
  json_object_set_array_member (object, "addresses", addresses);
  json_object_set_array_member (object, "interfaces", interfaces);
  json_object_set_string_member (object, "url", url);
  json_object_set_string_member (object, "path", path);
  json_object_set_string_member (object, "protocol", peer_txt_value (peer, "protocol"));
  json_object_set_string_member (object, "version", peer_txt_value (peer, "version"));
  json_object_set_string_member (object, "auth", peer_txt_value (peer, "auth") ?: "none");
  json_object_set_object_member (object, "txt", txt);
  json_object_set_string_member (object, "firstSeen", first);
  json_object_set_string_member (object, "lastSeen", last);
  json_object_set_boolean_member (object, "registered", gateway != NULL);
  if (gateway != NULL)
    json_object_set_string_member (object, "gatewayId", cf_json_object_get_string (gateway, "id"));
  return object;
}

static Peer *
find_peer (CfDiscovery *self,
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
      g_signal_emit (self, signals[PEER_DISAPPEARED], 0, id);
    }
}

static void
forget_all_peers (CfDiscovery *self)
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
  id = peer_txt_value (peer, "id");
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
  if (find_peer (self, peer->id) != NULL)
    {
      /* Two announcements claim one id: the first keeps it. */
      g_warning ("LAN discovery: %s claims the id %s of another announcement; ignored",
                 peer->name, peer->id);
      return;
    }
  peer->announced = TRUE;
  g_message ("LAN discovery: found gateway %s (%s) at %s:%u", peer->name, peer->id,
             peer_best_address (peer), peer_port (peer));
  g_signal_emit (self, signals[PEER_APPEARED], 0, peer->id);
  auto_register (self, peer);
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

static void
on_browse (AvahiServiceBrowser    *browser,
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
      set_state (self, CF_DISCOVERY_STATE_FAILED,
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
static gboolean
revalidate (gpointer user_data)
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

/* Publishing */

static gboolean
is_loopback_host (const char *host)
{
  g_autoptr(GInetAddress) address = NULL;

  if (host == NULL || g_ascii_strcasecmp (host, "localhost") == 0 ||
      g_str_has_suffix (host, ".localhost"))
    return TRUE;
  address = g_inet_address_new_from_string (host);
  return address != NULL && g_inet_address_get_is_loopback (address);
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
      set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
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
        publish (self);
      }
      break;

    case AVAHI_ENTRY_GROUP_FAILURE:
      message = g_strdup_printf ("cannot announce this gateway: %s",
                                 avahi_strerror (avahi_client_errno (self->client)));
      set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
      break;

    case AVAHI_ENTRY_GROUP_UNCOMMITED:
    case AVAHI_ENTRY_GROUP_REGISTERING:
    default:
      break;
    }
}

static void
withdraw (CfDiscovery *self)
{
  if (self->group != NULL)
    {
      avahi_entry_group_free (self->group);
      self->group = NULL;
    }
}

static void
publish (CfDiscovery *self)
{
  AvahiIfIndex interface;
  AvahiProtocol protocol;
  AvahiStringList *txt;
  int rc;

  if (self->client == NULL || avahi_client_get_state (self->client) != AVAHI_CLIENT_S_RUNNING)
    return;
  if (self->port == 0)
    {
      set_state (self, CF_DISCOVERY_STATE_RUNNING, "browsing; not listening yet");
      return;
    }
  if (is_loopback_host (self->listen_host))
    {
      withdraw (self);
      set_state (self, CF_DISCOVERY_STATE_RUNNING,
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

      withdraw (self);
      set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
      return;
    }

  if (self->group == NULL)
    self->group = avahi_entry_group_new (self->client, on_group_state, self);
  if (self->group == NULL)
    {
      g_autofree char *message = g_strdup_printf ("cannot announce this gateway: %s",
                                                  avahi_strerror (avahi_client_errno (self->client)));

      set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
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

      set_state (self, CF_DISCOVERY_STATE_RUNNING, message);
    }
}

/* The client */

static gboolean
on_retry (gpointer user_data)
{
  CfDiscovery *self = user_data;

  self->retry_id = 0;
  if (self->enabled && self->client == NULL)
    start_client (self);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (CfDiscovery *self)
{
  if (self->retry_id != 0)
    return;
  self->retry_s = self->retry_s == 0 ? RETRY_MIN_S : MIN (self->retry_s * 2, RETRY_MAX_S);
  self->retry_id = g_timeout_add_seconds (self->retry_s, on_retry, self);
}

static gboolean
restart_client (gpointer user_data)
{
  CfDiscovery *self = user_data;

  stop_client (self);
  if (self->enabled)
    start_client (self);
  return G_SOURCE_REMOVE;
}

static void
on_client_state (AvahiClient      *client,
                 AvahiClientState  state,
                 void             *user_data)
{
  CfDiscovery *self = user_data;
  g_autofree char *message = NULL;

  /* Called from avahi_client_new() already, before it returns. */
  self->client = client;

  switch (state)
    {
    case AVAHI_CLIENT_S_RUNNING:
      self->retry_s = 0;
      set_state (self, CF_DISCOVERY_STATE_RUNNING, "browsing");
      if (self->browser == NULL)
        {
          self->browser = avahi_service_browser_new (client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                     CF_DISCOVERY_SERVICE_TYPE, NULL, 0,
                                                     on_browse, self);
          if (self->browser == NULL)
            {
              message = g_strdup_printf ("cannot browse for gateways: %s",
                                         avahi_strerror (avahi_client_errno (client)));
              set_state (self, CF_DISCOVERY_STATE_FAILED, message);
            }
        }
      publish (self);
      break;

    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING:
      /* The host name changes: announce again once it is settled. */
      if (self->group != NULL)
        avahi_entry_group_reset (self->group);
      break;

    case AVAHI_CLIENT_CONNECTING:
      set_state (self, CF_DISCOVERY_STATE_NO_DAEMON,
                 "avahi-daemon is not running; waiting for it");
      break;

    case AVAHI_CLIENT_FAILURE:
      if (avahi_client_errno (client) == AVAHI_ERR_DISCONNECTED)
        {
          /* The daemon went away (or restarted): everything it knew is
           * gone. A new client waits for it to come back; not from within
           * the client's own callback. */
          set_state (self, CF_DISCOVERY_STATE_NO_DAEMON,
                     "avahi-daemon went away; waiting for it");
          g_idle_add (restart_client, self);
          break;
        }
      message = g_strdup_printf ("avahi-daemon refused us: %s",
                                 avahi_strerror (avahi_client_errno (client)));
      set_state (self, CF_DISCOVERY_STATE_FAILED, message);
      g_idle_add (restart_client, self);
      break;

    default:
      break;
    }
}

static void
start_client (CfDiscovery *self)
{
  int error = 0;
  AvahiClient *client;

  if (self->poll == NULL)
    self->poll = avahi_glib_poll_new (NULL, G_PRIORITY_DEFAULT);
  if (self->state == CF_DISCOVERY_STATE_OFF)
    set_state (self, CF_DISCOVERY_STATE_STARTING, "connecting to avahi-daemon");
  /* NO_FAIL: without a daemon the client waits for one to appear. */
  client = avahi_client_new (avahi_glib_poll_get (self->poll), AVAHI_CLIENT_NO_FAIL,
                             on_client_state, self, &error);
  if (client == NULL)
    {
      g_autofree char *message = g_strdup_printf ("cannot reach avahi-daemon (%s); retrying",
                                                  avahi_strerror (error));

      self->client = NULL;
      set_state (self, CF_DISCOVERY_STATE_NO_DAEMON, message);
      schedule_retry (self);
      return;
    }
  self->client = client;
  if (self->revalidate_id == 0)
    self->revalidate_id = g_timeout_add_seconds (self->peer_ttl_s, revalidate, self);
}

static void
stop_client (CfDiscovery *self)
{
  g_clear_handle_id (&self->revalidate_id, g_source_remove);
  forget_all_peers (self);
  withdraw (self);
  if (self->browser != NULL)
    {
      avahi_service_browser_free (self->browser);
      self->browser = NULL;
    }
  if (self->client != NULL)
    {
      avahi_client_free (self->client);
      self->client = NULL;
    }
}

/* Registration */

typedef struct {
  char *peer_id;
} RegisterData;

static void
register_data_free (RegisterData *data)
{
  g_free (data->peer_id);
  g_free (data);
}

static gboolean
has_credentials (JsonObject *settings)
{
  static const char * const keys[] = {
    "auth_token", "authToken", "auth_password", "authPassword", "auth_header_value",
    "authHeaderValue", "auth_headers", "authHeaders",
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (json_object_has_member (settings, keys[i]) &&
        !JSON_NODE_HOLDS_NULL (json_object_get_member (settings, keys[i])))
      return TRUE;
  return FALSE;
}

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  JsonArray *problems = NULL;
  GError *error = NULL;
  JsonObject *entity = cf_catalog_write_finish (CF_CATALOG (source), result, &problems, &error);

  if (entity == NULL)
    {
      if (problems != NULL)
        g_object_set_data_full (G_OBJECT (task), "problems", problems,
                                (GDestroyNotify) json_array_unref);
      g_task_return_error (task, error);
      return;
    }
  g_clear_pointer (&problems, json_array_unref);
  g_task_return_pointer (task, entity, (GDestroyNotify) json_object_unref);
}

static void
fail_with_problem (GTask      *task,
                   const char *field,
                   const char *message)
{
  JsonArray *problems = json_array_new ();
  JsonObject *problem = json_object_new ();
  JsonArray *loc = json_array_new ();

  json_array_add_string_element (loc, "body");
  json_array_add_string_element (loc, field);
  json_object_set_array_member (problem, "loc", loc);
  json_object_set_string_member (problem, "msg", message);
  json_object_set_string_member (problem, "type", "value_error");
  json_array_add_object_element (problems, problem);
  g_object_set_data_full (G_OBJECT (task), "problems", problems,
                          (GDestroyNotify) json_array_unref);
  g_task_return_new_error (task, CF_CATALOG_ERROR, CF_CATALOG_ERROR_INVALID,
                           "Gateway failed validation");
}

/**
 * cf_discovery_register_async:
 * @self: a #CfDiscovery
 * @peer_id: a discovered gateway's id
 * @settings: (nullable): GatewayCreate fields to add: `name`, credentials
 *   (`auth_type`, `auth_token`, ...), ownership; not `url`, `transport`
 *   or `command`, which discovery sets
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 *
 * Registers a discovered gateway as an upstream, through the catalog's
 * normal validation, with the operator's consent to reach its address.
 * A peer whose TXT record says it needs credentials is refused without
 * them (a problem on `auth_token`).
 */
void
cf_discovery_register_async (CfDiscovery         *self,
                             const char          *peer_id,
                             JsonObject          *settings,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autoptr(JsonObject) input = NULL;
  g_autofree char *url = NULL;
  static const char * const fixed[] = { "url", "transport", "command", "args", "cwd", "env" };
  RegisterData *data;
  JsonObject *existing;
  const char *auth;
  const char *address;
  Peer *peer;

  g_return_if_fail (CF_IS_DISCOVERY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_discovery_register_async);
  data = g_new0 (RegisterData, 1);
  data->peer_id = g_strdup (peer_id);
  g_task_set_task_data (task, data, (GDestroyNotify) register_data_free);

  peer = find_peer (self, peer_id);
  if (peer == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "No gateway %s has been discovered nearby", peer_id);
      return;
    }
  snapshot = cf_catalog_get_snapshot (self->catalog);
  existing = find_registration (self, snapshot, peer);
  if (existing != NULL)
    {
      g_task_return_new_error (task, CF_CATALOG_ERROR, CF_CATALOG_ERROR_CONFLICT,
                               "Gateway %s is registered already, as %s", peer_id,
                               cf_json_object_get_string (existing, "id"));
      return;
    }
  for (guint i = 0; settings != NULL && i < G_N_ELEMENTS (fixed); i++)
    if (json_object_has_member (settings, fixed[i]))
      {
        g_autofree char *message = g_strdup_printf ("%s is set by discovery", fixed[i]);

        fail_with_problem (task, fixed[i], message);
        return;
      }
  auth = peer_txt_value (peer, "auth");
  if (auth != NULL && g_strcmp0 (auth, "none") != 0 &&
      (settings == NULL || !has_credentials (settings)))
    {
      g_autofree char *message =
        g_strdup_printf ("Gateway %s requires credentials (it announces auth=%s): give "
                         "auth_type and auth_token", peer_id, auth);

      fail_with_problem (task, "auth_token", message);
      return;
    }
  address = peer_best_address (peer);
  url = peer_url (peer);
  if (address == NULL || url == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE,
                               "Gateway %s has no usable address", peer_id);
      return;
    }

  input = settings ? cf_json_object_deep_copy (settings) : json_object_new ();
  if (!json_object_has_member (input, "name"))
    json_object_set_string_member (input, "name", peer_txt_value (peer, "name") ?: peer->name);
  if (!json_object_has_member (input, "description"))
    {
      g_autofree char *description = g_strdup_printf ("Discovered on the local network as "
                                                      "\"%s\"", peer->name);

      json_object_set_string_member (input, "description", description);
    }
  json_object_set_string_member (input, "url", url);
  json_object_set_string_member (input, "transport", "STREAMABLEHTTP");
  cf_catalog_create_discovered_async (self->catalog, input, peer->id, address, cancellable,
                                      on_registered, g_steal_pointer (&task));
}

/**
 * cf_discovery_register_finish:
 * @self: a #CfDiscovery
 * @result: the result
 * @out_problems: (out) (optional) (nullable) (transfer full): validation
 *   problems, in the shape of a 422's `detail`
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the registered gateway
 */
JsonObject *
cf_discovery_register_finish (CfDiscovery   *self,
                              GAsyncResult  *result,
                              JsonArray    **out_problems,
                              GError       **error)
{
  JsonArray *problems;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  problems = g_object_get_data (G_OBJECT (result), "problems");
  if (out_problems != NULL)
    *out_problems = problems ? json_array_ref (problems) : NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_auto_registered (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  CfDiscovery *self = CF_DISCOVERY (source);
  g_autofree char *peer_id = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) gateway = cf_discovery_register_finish (self, result, NULL, &error);

  g_hash_table_remove (self->registering, peer_id);
  if (gateway == NULL)
    g_warning ("LAN discovery: cannot register allowlisted gateway %s: %s", peer_id,
               error->message);
  else
    g_message ("LAN discovery: registered allowlisted gateway %s as %s", peer_id,
               cf_json_object_get_string (gateway, "id"));
}

/* Only the ids the operator listed are registered without asking, and
 * only when they need no credentials. */
static void
auto_register (CfDiscovery *self,
               Peer        *peer)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  JsonObject *settings;
  const char *auth = peer_txt_value (peer, "auth");

  if (self->allowlist == NULL ||
      !g_strv_contains ((const char * const *) self->allowlist, peer->id) ||
      g_hash_table_contains (self->registering, peer->id))
    return;
  snapshot = cf_catalog_get_snapshot (self->catalog);
  if (find_registration (self, snapshot, peer) != NULL)
    return;
  if (auth != NULL && g_strcmp0 (auth, "none") != 0)
    {
      g_warning ("LAN discovery: allowlisted gateway %s needs credentials (auth=%s); "
                 "register it by hand", peer->id, auth);
      return;
    }
  g_hash_table_add (self->registering, g_strdup (peer->id));
  settings = json_object_new ();
  json_object_set_string_member (settings, "visibility", "public");
  cf_discovery_register_async (self, peer->id, settings, NULL, on_auto_registered,
                               g_strdup (peer->id));
  json_object_unref (settings);
}

/* GObject */

static void
cf_discovery_dispose (GObject *object)
{
  CfDiscovery *self = (CfDiscovery *) object;

  g_clear_handle_id (&self->retry_id, g_source_remove);
  g_idle_remove_by_data (self);
  stop_client (self);
  g_clear_pointer (&self->poll, avahi_glib_poll_free);
  g_clear_object (&self->catalog);

  G_OBJECT_CLASS (cf_discovery_parent_class)->dispose (object);
}

static void
cf_discovery_finalize (GObject *object)
{
  CfDiscovery *self = (CfDiscovery *) object;

  g_hash_table_unref (self->peers);
  g_hash_table_unref (self->registering);
  g_free (self->gateway_id);
  g_free (self->name);
  g_free (self->listen_host);
  g_free (self->path);
  g_free (self->protocol);
  g_free (self->version);
  g_free (self->auth);
  g_free (self->message);
  g_free (self->published_name);
  g_strfreev (self->allowlist);

  G_OBJECT_CLASS (cf_discovery_parent_class)->finalize (object);
}

static void
cf_discovery_get_property (GObject    *object,
                           guint       prop_id,
                           GValue     *value,
                           GParamSpec *pspec)
{
  CfDiscovery *self = CF_DISCOVERY (object);

  switch (prop_id)
    {
    case PROP_ENABLED:
      g_value_set_boolean (value, self->enabled);
      break;
    case PROP_STATE:
      g_value_set_int (value, self->state);
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cf_discovery_set_property (GObject      *object,
                           guint         prop_id,
                           const GValue *value,
                           GParamSpec   *pspec)
{
  CfDiscovery *self = CF_DISCOVERY (object);

  switch (prop_id)
    {
    case PROP_ENABLED:
      cf_discovery_set_enabled (self, g_value_get_boolean (value));
      break;
    default:
      G_OBJECT_WARN_INVALID_PROPERTY_ID (object, prop_id, pspec);
    }
}

static void
cf_discovery_class_init (CfDiscoveryClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_discovery_dispose;
  object_class->finalize = cf_discovery_finalize;
  object_class->get_property = cf_discovery_get_property;
  object_class->set_property = cf_discovery_set_property;

  /**
   * CfDiscovery:enabled:
   *
   * Whether the gateway announces itself and browses the LAN.
   */
  properties[PROP_ENABLED] =
    g_param_spec_boolean ("enabled", NULL, NULL, FALSE,
                          G_PARAM_READWRITE | G_PARAM_EXPLICIT_NOTIFY | G_PARAM_STATIC_STRINGS);
  /**
   * CfDiscovery:state:
   *
   * A #CfDiscoveryState; cf_discovery_get_status_message() says more.
   */
  properties[PROP_STATE] =
    g_param_spec_int ("state", NULL, NULL, CF_DISCOVERY_STATE_OFF, CF_DISCOVERY_STATE_FAILED,
                      CF_DISCOVERY_STATE_OFF, G_PARAM_READABLE | G_PARAM_STATIC_STRINGS);
  g_object_class_install_properties (object_class, N_PROPS, properties);

  /**
   * CfDiscovery::peer-appeared:
   * @self: the discovery
   * @peer_id: the id of a gateway now resolved on the LAN
   */
  signals[PEER_APPEARED] =
    g_signal_new ("peer-appeared", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
  /**
   * CfDiscovery::peer-disappeared:
   * @self: the discovery
   * @peer_id: the id of a gateway that withdrew, expired, or went with
   *   the daemon
   */
  signals[PEER_DISAPPEARED] =
    g_signal_new ("peer-disappeared", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                  NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_STRING);
}

static void
cf_discovery_init (CfDiscovery *self)
{
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) peer_free);
  self->registering = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  self->peer_ttl_s = DEFAULT_PEER_TTL_S;
  self->state = CF_DISCOVERY_STATE_OFF;
  self->message = g_strdup ("turned off");
}

/**
 * cf_discovery_new:
 * @gateway_id: this gateway's federation id
 * @catalog: the registry, to tell which peers are registered and to
 *   register them
 *
 * Returns: (transfer full): a discovery, off until enabled
 */
CfDiscovery *
cf_discovery_new (const char *gateway_id,
                  CfCatalog  *catalog)
{
  CfDiscovery *self;

  g_return_val_if_fail (gateway_id != NULL, NULL);
  g_return_val_if_fail (CF_IS_CATALOG (catalog), NULL);

  self = g_object_new (CF_TYPE_DISCOVERY, NULL);
  self->gateway_id = g_strdup (gateway_id);
  self->catalog = g_object_ref (catalog);
  return self;
}

const char *
cf_discovery_get_gateway_id (CfDiscovery *self)
{
  g_return_val_if_fail (CF_IS_DISCOVERY (self), NULL);
  return self->gateway_id;
}

/* mDNS instance names are at most 63 bytes of UTF-8. */
static char *
instance_name (const char *name)
{
  const char *end = name;

  while (*end != '\0')
    {
      const char *next = g_utf8_next_char (end);

      if (next - name > 63)
        break;
      end = next;
    }
  return g_strndup (name, end - name);
}

/**
 * cf_discovery_set_service:
 * @self: a #CfDiscovery
 * @name: the name to announce (TXT `name`, and the instance name)
 * @listen_host: the address the gateway listens on
 * @port: its port
 * @path: the MCP endpoint's path
 * @protocol: the newest MCP revision served
 * @version: the gateway's version
 * @auth: what a client needs: none, bearer or oauth
 *
 * Sets what to announce; announces it anew if discovery is running.
 */
void
cf_discovery_set_service (CfDiscovery *self,
                          const char  *name,
                          const char  *listen_host,
                          guint        port,
                          const char  *path,
                          const char  *protocol,
                          const char  *version,
                          const char  *auth)
{
  g_return_if_fail (CF_IS_DISCOVERY (self));

  g_free (self->name);
  self->name = instance_name (name);
  g_clear_pointer (&self->published_name, g_free);
  g_free (self->listen_host);
  self->listen_host = g_strdup (listen_host);
  self->port = port;
  g_free (self->path);
  self->path = g_strdup (path);
  g_free (self->protocol);
  self->protocol = g_strdup (protocol);
  g_free (self->version);
  self->version = g_strdup (version);
  g_free (self->auth);
  self->auth = g_strdup (auth);
  publish (self);
}

/**
 * cf_discovery_set_enabled:
 * @self: a #CfDiscovery
 * @enabled: whether to announce and browse
 *
 * Turning discovery off withdraws the announcement (peers see a goodbye)
 * and empties the list of peers.
 */
void
cf_discovery_set_enabled (CfDiscovery *self,
                          gboolean     enabled)
{
  g_return_if_fail (CF_IS_DISCOVERY (self));

  enabled = !!enabled;
  if (self->enabled == enabled)
    return;
  self->enabled = enabled;
  if (enabled)
    start_client (self);
  else
    {
      g_clear_handle_id (&self->retry_id, g_source_remove);
      self->retry_s = 0;
      stop_client (self);
      set_state (self, CF_DISCOVERY_STATE_OFF, "turned off");
    }
  g_object_notify_by_pspec (G_OBJECT (self), properties[PROP_ENABLED]);
}

gboolean
cf_discovery_get_enabled (CfDiscovery *self)
{
  g_return_val_if_fail (CF_IS_DISCOVERY (self), FALSE);
  return self->enabled;
}

/**
 * cf_discovery_set_peer_ttl:
 * @self: a #CfDiscovery
 * @seconds: how often every peer is resolved again; one that does not
 *   answer is dropped
 */
void
cf_discovery_set_peer_ttl (CfDiscovery *self,
                           guint        seconds)
{
  g_return_if_fail (CF_IS_DISCOVERY (self));

  self->peer_ttl_s = MAX (seconds, 1u);
  if (self->revalidate_id != 0)
    {
      g_source_remove (self->revalidate_id);
      self->revalidate_id = g_timeout_add_seconds (self->peer_ttl_s, revalidate, self);
    }
}

/**
 * cf_discovery_set_allowlist:
 * @self: a #CfDiscovery
 * @peer_ids: (nullable): ids of gateways to register as soon as they
 *   appear (FEDERATION_DISCOVERY_ALLOWLIST)
 */
void
cf_discovery_set_allowlist (CfDiscovery        *self,
                            const char * const *peer_ids)
{
  g_return_if_fail (CF_IS_DISCOVERY (self));

  g_strfreev (self->allowlist);
  self->allowlist = peer_ids && peer_ids[0] ? g_strdupv ((GStrv) peer_ids) : NULL;
}

CfDiscoveryState
cf_discovery_get_state (CfDiscovery *self)
{
  g_return_val_if_fail (CF_IS_DISCOVERY (self), CF_DISCOVERY_STATE_OFF);
  return self->state;
}

const char *
cf_discovery_get_status_message (CfDiscovery *self)
{
  g_return_val_if_fail (CF_IS_DISCOVERY (self), NULL);
  return self->message;
}

/**
 * cf_discovery_get_published_name:
 * @self: a #CfDiscovery
 *
 * Returns: (nullable): the instance name announced, after any renaming
 *   on a collision; %NULL when nothing is announced
 */
const char *
cf_discovery_get_published_name (CfDiscovery *self)
{
  g_return_val_if_fail (CF_IS_DISCOVERY (self), NULL);
  return self->group != NULL && !avahi_entry_group_is_empty (self->group)
    ? self->published_name : NULL;
}

/**
 * cf_discovery_describe:
 * @self: a #CfDiscovery
 *
 * Returns: (transfer full): `{enabled, state, message, id, name,
 *   publishedName}`
 */
JsonObject *
cf_discovery_describe (CfDiscovery *self)
{
  JsonObject *object;

  g_return_val_if_fail (CF_IS_DISCOVERY (self), NULL);

  object = json_object_new ();
  json_object_set_boolean_member (object, "enabled", self->enabled);
  json_object_set_string_member (object, "state", cf_discovery_state_to_string (self->state));
  json_object_set_string_member (object, "message", self->message);
  json_object_set_string_member (object, "id", self->gateway_id);
  json_object_set_string_member (object, "name", self->name);
  json_object_set_string_member (object, "publishedName", cf_discovery_get_published_name (self));
  json_object_set_string_member (object, "serviceType", CF_DISCOVERY_SERVICE_TYPE);
  return object;
}

static int
compare_peers (gconstpointer a,
               gconstpointer b)
{
  JsonObject *pa = *(JsonObject * const *) a;
  JsonObject *pb = *(JsonObject * const *) b;

  return g_utf8_collate (cf_json_object_get_string (pa, "displayName") ?: "",
                         cf_json_object_get_string (pb, "displayName") ?: "");
}

/**
 * cf_discovery_list_peers:
 * @self: a #CfDiscovery
 *
 * Returns: (transfer container) (element-type JsonObject): the gateways
 *   resolved on the LAN, by display name, this one left out
 */
GPtrArray *
cf_discovery_list_peers (CfDiscovery *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  GPtrArray *list;
  GHashTableIter iter;
  Peer *peer;

  g_return_val_if_fail (CF_IS_DISCOVERY (self), NULL);

  snapshot = cf_catalog_get_snapshot (self->catalog);
  list = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_hash_table_iter_init (&iter, self->peers);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &peer))
    if (peer->announced)
      g_ptr_array_add (list, describe_peer (self, snapshot, peer));
  g_ptr_array_sort (list, compare_peers);
  return list;
}

/**
 * cf_discovery_lookup_peer:
 * @self: a #CfDiscovery
 * @peer_id: a peer's id
 *
 * Returns: (transfer full) (nullable): the peer, as in
 *   cf_discovery_list_peers()
 */
JsonObject *
cf_discovery_lookup_peer (CfDiscovery *self,
                          const char  *peer_id)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  Peer *peer;

  g_return_val_if_fail (CF_IS_DISCOVERY (self), NULL);

  peer = find_peer (self, peer_id);
  if (peer == NULL)
    return NULL;
  snapshot = cf_catalog_get_snapshot (self->catalog);
  return describe_peer (self, snapshot, peer);
}
