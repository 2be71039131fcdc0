/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cf-catalog.h"

G_BEGIN_DECLS

/* The mDNS service type gateways announce themselves under, as
 * ContextForge's former zeroconf discovery did. */
#define CF_DISCOVERY_SERVICE_TYPE "_mcp._tcp"

/**
 * CfDiscoveryState:
 * @CF_DISCOVERY_STATE_OFF: discovery is turned off
 * @CF_DISCOVERY_STATE_STARTING: waiting for avahi-daemon to answer
 * @CF_DISCOVERY_STATE_RUNNING: browsing; publishing too unless the status
 *   message says why not
 * @CF_DISCOVERY_STATE_NO_DAEMON: avahi-daemon is not running (or went
 *   away); the gateway reconnects when it comes back
 * @CF_DISCOVERY_STATE_FAILED: Avahi refused us for good; the status
 *   message says why
 */
typedef enum {
  CF_DISCOVERY_STATE_OFF,
  CF_DISCOVERY_STATE_STARTING,
  CF_DISCOVERY_STATE_RUNNING,
  CF_DISCOVERY_STATE_NO_DAEMON,
  CF_DISCOVERY_STATE_FAILED,
} CfDiscoveryState;

#define CF_TYPE_DISCOVERY (cf_discovery_get_type ())
G_DECLARE_FINAL_TYPE (CfDiscovery, cf_discovery, CF, DISCOVERY, GObject)

CfDiscovery      *cf_discovery_new               (const char   *gateway_id,
                                                  CfCatalog    *catalog);
const char       *cf_discovery_get_gateway_id    (CfDiscovery  *self);

void              cf_discovery_set_service       (CfDiscovery  *self,
                                                  const char   *name,
                                                  const char   *listen_host,
                                                  guint         port,
                                                  const char   *path,
                                                  const char   *protocol,
                                                  const char   *version,
                                                  const char   *auth);
void              cf_discovery_set_enabled       (CfDiscovery  *self,
                                                  gboolean      enabled);
gboolean          cf_discovery_get_enabled       (CfDiscovery  *self);
void              cf_discovery_set_peer_ttl      (CfDiscovery  *self,
                                                  guint         seconds);

CfDiscoveryState  cf_discovery_get_state         (CfDiscovery  *self);
const char       *cf_discovery_state_to_string   (CfDiscoveryState state);
const char       *cf_discovery_get_status_message (CfDiscovery *self);
const char       *cf_discovery_get_published_name (CfDiscovery *self);

JsonObject       *cf_discovery_describe          (CfDiscovery  *self);
GPtrArray        *cf_discovery_list_peers        (CfDiscovery  *self);
JsonObject       *cf_discovery_lookup_peer       (CfDiscovery  *self,
                                                  const char   *peer_id);

void              cf_discovery_set_allowlist     (CfDiscovery  *self,
                                                  const char * const *peer_ids);
void              cf_discovery_register_async    (CfDiscovery  *self,
                                                  const char   *peer_id,
                                                  JsonObject   *settings,
                                                  GCancellable *cancellable,
                                                  GAsyncReadyCallback callback,
                                                  gpointer      user_data);
JsonObject       *cf_discovery_register_finish   (CfDiscovery  *self,
                                                  GAsyncResult *result,
                                                  JsonArray   **out_problems,
                                                  GError      **error);

G_END_DECLS
