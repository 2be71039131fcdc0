/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-discovery"

#include "config.h"

#include <avahi-common/error.h>

#include "cf-discovery-private.h"
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

void
_cf_discovery_set_state (CfDiscovery      *self,
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
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_RUNNING, "browsing");
      if (self->browser == NULL)
        {
          self->browser = avahi_service_browser_new (client, AVAHI_IF_UNSPEC, AVAHI_PROTO_UNSPEC,
                                                     CF_DISCOVERY_SERVICE_TYPE, NULL, 0,
                                                     _cf_discovery_on_browse, self);
          if (self->browser == NULL)
            {
              message = g_strdup_printf ("cannot browse for gateways: %s",
                                         avahi_strerror (avahi_client_errno (client)));
              _cf_discovery_set_state (self, CF_DISCOVERY_STATE_FAILED, message);
            }
        }
      _cf_discovery_publish (self);
      break;

    case AVAHI_CLIENT_S_COLLISION:
    case AVAHI_CLIENT_S_REGISTERING:
      /* The host name changes: announce again once it is settled. */
      if (self->group != NULL)
        avahi_entry_group_reset (self->group);
      break;

    case AVAHI_CLIENT_CONNECTING:
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_NO_DAEMON,
                 "avahi-daemon is not running; waiting for it");
      break;

    case AVAHI_CLIENT_FAILURE:
      if (avahi_client_errno (client) == AVAHI_ERR_DISCONNECTED)
        {
          /* The daemon went away (or restarted): everything it knew is
           * gone. A new client waits for it to come back; not from within
           * the client's own callback. */
          _cf_discovery_set_state (self, CF_DISCOVERY_STATE_NO_DAEMON,
                     "avahi-daemon went away; waiting for it");
          g_idle_add (restart_client, self);
          break;
        }
      message = g_strdup_printf ("avahi-daemon refused us: %s",
                                 avahi_strerror (avahi_client_errno (client)));
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_FAILED, message);
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
    _cf_discovery_set_state (self, CF_DISCOVERY_STATE_STARTING, "connecting to avahi-daemon");
  /* NO_FAIL: without a daemon the client waits for one to appear. */
  client = avahi_client_new (avahi_glib_poll_get (self->poll), AVAHI_CLIENT_NO_FAIL,
                             on_client_state, self, &error);
  if (client == NULL)
    {
      g_autofree char *message = g_strdup_printf ("cannot reach avahi-daemon (%s); retrying",
                                                  avahi_strerror (error));

      self->client = NULL;
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_NO_DAEMON, message);
      schedule_retry (self);
      return;
    }
  self->client = client;
  if (self->revalidate_id == 0)
    self->revalidate_id = g_timeout_add_seconds (self->peer_ttl_s, _cf_discovery_revalidate, self);
}

static void
stop_client (CfDiscovery *self)
{
  g_clear_handle_id (&self->revalidate_id, g_source_remove);
  _cf_discovery_forget_all_peers (self);
  _cf_discovery_withdraw (self);
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
  self->peers = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, (GDestroyNotify) _cf_discovery_peer_free);
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
  _cf_discovery_publish (self);
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
      _cf_discovery_set_state (self, CF_DISCOVERY_STATE_OFF, "turned off");
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
      self->revalidate_id = g_timeout_add_seconds (self->peer_ttl_s, _cf_discovery_revalidate, self);
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
      g_ptr_array_add (list, _cf_discovery_describe_peer (self, snapshot, peer));
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

  peer = _cf_discovery_find_peer (self, peer_id);
  if (peer == NULL)
    return NULL;
  snapshot = cf_catalog_get_snapshot (self->catalog);
  return _cf_discovery_describe_peer (self, snapshot, peer);
}
