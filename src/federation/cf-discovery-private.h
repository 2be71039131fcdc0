/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <avahi-client/client.h>
#include <avahi-client/lookup.h>
#include <avahi-client/publish.h>
#include <avahi-glib/glib-watch.h>

#include "cf-discovery.h"

G_BEGIN_DECLS

/* CfDiscovery's state, shared by cf-discovery.c (the object, its state
 * and the Avahi client), -peers.c (browsing and resolving), -publish.c
 * (announcing this gateway) and -register.c (registering peers). */

#define MAX_PEERS 256
#define MAX_TXT_VALUE 255
#define MAX_ID_LENGTH 64

/* One announcement of a peer: on one interface, over one protocol. */
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

/* A peer: one mDNS service instance, however many interfaces it is
 * seen on. */
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

/* cf-discovery.c */
void        _cf_discovery_set_state           (CfDiscovery            *self,
                                               CfDiscoveryState        state,
                                               const char             *message);

/* cf-discovery-peers.c */
void        _cf_discovery_peer_free           (Peer                   *peer);
const char *_cf_discovery_peer_txt_value      (Peer                   *peer,
                                               const char             *key);
const char *_cf_discovery_peer_best_address   (Peer                   *peer);
char       *_cf_discovery_peer_url            (Peer                   *peer);
Peer       *_cf_discovery_find_peer           (CfDiscovery            *self,
                                               const char             *peer_id);
JsonObject *_cf_discovery_find_registration   (CfDiscovery            *self,
                                               CfCatalogSnapshot      *snapshot,
                                               Peer                   *peer);
JsonObject *_cf_discovery_describe_peer       (CfDiscovery            *self,
                                               CfCatalogSnapshot      *snapshot,
                                               Peer                   *peer);
void        _cf_discovery_forget_all_peers    (CfDiscovery            *self);
void        _cf_discovery_on_browse           (AvahiServiceBrowser    *browser,
                                               AvahiIfIndex            interface,
                                               AvahiProtocol           protocol,
                                               AvahiBrowserEvent       event,
                                               const char             *name,
                                               const char             *type,
                                               const char             *domain,
                                               AvahiLookupResultFlags  flags,
                                               void                   *user_data);
gboolean    _cf_discovery_revalidate          (gpointer                user_data);

/* cf-discovery-publish.c */
void        _cf_discovery_publish             (CfDiscovery            *self);
void        _cf_discovery_withdraw            (CfDiscovery            *self);

/* cf-discovery-register.c */
void        _cf_discovery_auto_register       (CfDiscovery            *self,
                                               Peer                   *peer);

G_END_DECLS
