/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-mcp-param-headers.h"
#include "cf-slug.h"
#include "cf-upstream-credentials.h"
#include "cf-upstream-pool-private.h"

/**
 * CfUpstreamPool:
 *
 * The gateway's connections to its upstream servers. Each enabled
 * gateway in the catalog has a primary connection: it is made when the
 * gateway appears or its connection settings change, syncs the
 * upstream's whole catalog (every page) into the registry, answers the
 * periodic health checks, and is retried with exponential backoff when
 * it fails. A connection that was up and dies is restarted at once.
 *
 * Calls borrow a connection with cf_upstream_pool_acquire_async(), which
 * applies the gateway's sharing policy and concurrency limit:
 *
 * - `shared`: every call uses the primary connection (MCP multiplexes
 *   requests on one session);
 * - `per-session`: each downstream legacy session gets a connection of
 *   its own (a stdio child, or an upstream session), closed when the
 *   downstream session ends or has been idle for the idle timeout;
 *   requests without a session use the primary;
 * - `pool`: up to stdioPoolSize connections; a call takes an idle one,
 *   or one is started for it while there is room, or it shares the least
 *   busy. Extra connections idle for the idle timeout are closed.
 *
 * With maxConcurrency set, calls beyond it wait, in order, for a slot.
 * A call waits for a connection that is being (re)made, up to the call
 * timeout; once an upstream has failed UNHEALTHY_THRESHOLD consecutive
 * checks it is marked unreachable and calls fail at once with the last
 * error, until a check or reconnection succeeds.
 */

G_DEFINE_FINAL_TYPE (CfUpstreamPool, cf_upstream_pool, G_TYPE_OBJECT)

G_DEFINE_QUARK (cf-upstream-pool-error-quark, cf_upstream_pool_error)

/* Members */

Member *
_cf_upstream_pool_member_ref (Member *m)
{
  m->ref_count++;
  return m;
}

static void
on_owner_gone (gpointer  data,
               GObject  *where_the_object_was);

/* Closes the connection; the member may live on in leases. */
static void
member_close (Member *m)
{
  if (m->owner != NULL)
    {
      g_object_weak_unref (G_OBJECT (m->owner), on_owner_gone, m);
      m->owner = NULL;
    }
  if (m->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (m->client, m);
      cf_mcp_client_close (m->client);
      g_clear_object (&m->client);
    }
  m->connected = FALSE;
  m->connecting = FALSE;
  m->up = NULL;
}

void
_cf_upstream_pool_member_unref (Member *m)
{
  if (--m->ref_count > 0)
    return;
  member_close (m);
  g_free (m);
}

/* The upstream's extras array owns a reference to each extra. */
void
_cf_upstream_pool_member_discard (Member *m)
{
  member_close (m);
  _cf_upstream_pool_member_unref (m);
}

void
_cf_upstream_pool_remove_extra (Upstream *up,
              Member   *m)
{
  g_ptr_array_remove (up->extras, m);
}

static void
on_owner_gone (gpointer  data,
               GObject  *where_the_object_was)
{
  Member *m = data;
  Upstream *up = m->up;

  /* The weak reference is gone with the session. */
  m->owner = NULL;
  if (up == NULL)
    return;
  if (m->in_flight > 0)
    m->orphaned = TRUE;
  else
    _cf_upstream_pool_remove_extra (up, m);
}

static void
upstream_free (Upstream *up)
{
  g_autoptr(GError) gone = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_REMOVED,
                                        "The upstream server %s was removed or reconfigured",
                                        up->name);
  Acquire *acquire;

  while ((acquire = g_queue_pop_head (&up->waiters)) != NULL)
    _cf_upstream_pool_acquire_fail (acquire, g_error_copy (gone));

  g_cancellable_cancel (up->cancellable);
  if (up->probe != NULL)
    g_cancellable_cancel (up->probe);
  if (up->listen != NULL)
    g_cancellable_cancel (up->listen);
  g_clear_handle_id (&up->retry_id, g_source_remove);
  g_clear_handle_id (&up->resync_id, g_source_remove);
  g_clear_pointer (&up->peer_id, g_free);
  g_clear_pointer (&up->peer_reaches, g_strfreev);
  g_clear_handle_id (&up->probe_timeout_id, g_source_remove);
  g_clear_pointer (&up->extras, g_ptr_array_unref);
  g_clear_pointer (&up->primary, _cf_upstream_pool_member_discard);
  g_clear_object (&up->cancellable);
  g_clear_object (&up->probe);
  g_clear_object (&up->listen);
  g_free (up->gateway_id);
  g_free (up->name);
  g_free (up->fingerprint);
  g_clear_pointer (&up->param_headers, g_hash_table_unref);
  g_free (up->last_error);
  g_free (up);
}

/* What, when changed, needs new connections. */
static char *
fingerprint (JsonObject *gateway)
{
  static const char *members[] = {
    "name", "url", "transport", "command", "args", "env", "cwd", "prefixMode", "authType",
    "authValue", "enabled", "stdioSharing", "stdioPoolSize", "maxConcurrency",
  };
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *node = json_object_get_member (gateway, members[i]);
      g_autofree char *text = node ? cf_json_to_string (node, NULL) : g_strdup ("-");

      g_string_append_printf (out, "%s=%s\n", members[i], text);
    }
  return g_strdup (out->str);
}

JsonObject *
_cf_upstream_pool_current_gateway (Upstream *up)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (up->pool->catalog);
  JsonObject *gateway = cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_GATEWAY, up->gateway_id);

  return gateway ? json_object_ref (gateway) : NULL;
}

char *
_cf_upstream_pool_now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format_iso8601 (now);
}

static void
on_status_written (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) entity = cf_catalog_write_finish (CF_CATALOG (source), result, NULL,
                                                          &error);

  if (entity == NULL && !g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_NOT_FOUND))
    g_warning ("Cannot record an upstream's status: %s", error->message);
}

void
_cf_upstream_pool_write_status (Upstream   *up,
              gboolean    reachable,
              const char *message,
              gint64      tool_count)
{
  g_autoptr(JsonObject) status = json_object_new ();
  CfMcpClient *client = up->primary->client;

  json_object_set_boolean_member (status, "reachable", reachable);
  json_object_set_string_member (status, "statusMessage", message);
  if (reachable && up->primary->connected && client != NULL)
    {
      g_autofree char *now = _cf_upstream_pool_now_iso8601 ();
      JsonObject *caps = cf_mcp_client_get_server_capabilities (client);

      json_object_set_string_member (status, "lastSeen", now);
      if (caps != NULL)
        json_object_set_object_member (status, "capabilities", cf_json_object_deep_copy (caps));
    }
  if (tool_count >= 0)
    json_object_set_int_member (status, "toolCount", tool_count);
  cf_catalog_set_status_async (up->pool->catalog, CF_ENTITY_GATEWAY, up->gateway_id, status,
                               NULL, on_status_written, NULL);
}

/* Health bookkeeping: consecutive failures of connections and probes. */

gboolean
_cf_upstream_pool_is_unreachable (Upstream *up)
{
  int threshold = up->pool->unhealthy_threshold;

  return threshold > 0 && up->failures >= (guint) threshold;
}

void
_cf_upstream_pool_record_failure (Upstream   *up,
                const char *why)
{
  gboolean was_unreachable = _cf_upstream_pool_is_unreachable (up);

  g_free (up->last_error);
  up->last_error = g_strdup (why);
  up->failures++;
  if (_cf_upstream_pool_is_unreachable (up) && !was_unreachable)
    {
      g_autofree char *message = g_strdup_printf ("Unreachable after %u failed attempts: %s",
                                                  up->failures, why);

      g_warning ("Gateway %s (%s): %s", up->name, up->gateway_id, message);
      up->reachable = FALSE;
      _cf_upstream_pool_write_status (up, FALSE, message, -1);
      /* Waiting calls fail now rather than at their timeout. */
      _cf_upstream_pool_process_waiters (up);
    }
}

void
_cf_upstream_pool_record_success (Upstream *up)
{
  gboolean was_unreachable = !up->reachable;

  up->failures = 0;
  up->reachable = TRUE;
  g_clear_pointer (&up->last_error, g_free);
  if (was_unreachable)
    {
      g_message ("Gateway %s (%s) is reachable again", up->name, up->gateway_id);
      _cf_upstream_pool_write_status (up, TRUE, "Reachable again", -1);
    }
}


Member *
_cf_upstream_pool_member_new (Upstream     *up,
            CfMcpSession *owner)
{
  Member *m = g_new0 (Member, 1);

  m->ref_count = 1;
  m->up = up;
  m->last_used = g_get_monotonic_time ();
  if (owner != NULL)
    {
      m->owner = owner;
      g_object_weak_ref (G_OBJECT (owner), on_owner_gone, m);
    }
  return m;
}

/* Reconciling with the catalog */

static Sharing
parse_sharing (const char *text)
{
  if (g_strcmp0 (text, "per-session") == 0)
    return SHARING_PER_SESSION;
  if (g_strcmp0 (text, "pool") == 0)
    return SHARING_POOL;
  return SHARING_SHARED;
}

static Upstream *
upstream_new (CfUpstreamPool *self,
              JsonObject     *gateway,
              char           *print)
{
  Upstream *up = g_new0 (Upstream, 1);
  gint64 n;

  up->pool = self;
  up->param_headers = cf_mcp_param_headers_table_new ();
  up->gateway_id = g_strdup (cf_json_object_get_string (gateway, "id"));
  up->name = g_strdup (cf_json_object_get_string (gateway, "name") ?: up->gateway_id);
  up->fingerprint = print;
  up->cancellable = g_cancellable_new ();
  up->reachable = TRUE;
  up->sharing = parse_sharing (cf_json_object_get_string (gateway, "stdioSharing"));
  up->pool_size = cf_json_object_get_int (gateway, "stdioPoolSize", &n) && n > 0 ? n : 1;
  up->max_concurrency = cf_json_object_get_int (gateway, "maxConcurrency", &n) && n > 0 ? n : 0;
  up->primary = _cf_upstream_pool_member_new (up, NULL);
  up->extras = g_ptr_array_new_with_free_func ((GDestroyNotify) _cf_upstream_pool_member_discard);
  g_queue_init (&up->waiters);
  return up;
}

static void
reconcile (CfUpstreamPool *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  GPtrArray *gateways = cf_catalog_snapshot_list (snapshot, CF_ENTITY_GATEWAY);
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  Upstream *up;

  for (guint i = 0; i < gateways->len; i++)
    {
      JsonObject *gateway = gateways->pdata[i];
      const char *id = cf_json_object_get_string (gateway, "id");
      g_autofree char *print = NULL;

      if (!cf_json_object_get_bool (gateway, "enabled", TRUE))
        continue;
      g_hash_table_add (wanted, (gpointer) id);
      print = fingerprint (gateway);
      up = g_hash_table_lookup (self->upstreams, id);
      if (up != NULL && g_str_equal (up->fingerprint, print))
        continue;

      /* New, or its connection settings changed: connect afresh. */
      up = upstream_new (self, gateway, g_steal_pointer (&print));
      g_hash_table_replace (self->upstreams, g_strdup (id), up);
      _cf_upstream_pool_connect_upstream (up);
    }

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    if (!g_hash_table_contains (wanted, up->gateway_id))
      g_hash_table_iter_remove (&iter);
  _cf_upstream_pool_update_reach (self);
}

static void
on_catalog_changed (CfCatalog      *catalog,
                    guint           kind,
                    CfUpstreamPool *self)
{
  if (kind == CF_ENTITY_GATEWAY && self->started)
    reconcile (self);
}

static void
cf_upstream_pool_dispose (GObject *object)
{
  CfUpstreamPool *self = (CfUpstreamPool *) object;

  cf_upstream_pool_stop (self);
  if (self->catalog != NULL)
    g_clear_signal_handler (&self->changed_id, self->catalog);
  g_clear_object (&self->catalog);

  G_OBJECT_CLASS (cf_upstream_pool_parent_class)->dispose (object);
}

static void
cf_upstream_pool_finalize (GObject *object)
{
  CfUpstreamPool *self = (CfUpstreamPool *) object;

  g_clear_pointer (&self->upstreams, g_hash_table_unref);
  g_clear_pointer (&self->separator, g_free);
  g_clear_pointer (&self->instance_id, g_free);
  g_clear_pointer (&self->reach, g_strfreev);

  G_OBJECT_CLASS (cf_upstream_pool_parent_class)->finalize (object);
}

static void
cf_upstream_pool_class_init (CfUpstreamPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_upstream_pool_dispose;
  object_class->finalize = cf_upstream_pool_finalize;

  /**
   * CfUpstreamPool::federation-changed:
   * @self: the pool
   *
   * The set of gateways reached through the upstreams changed: what
   * cf_upstream_pool_build_federation_capability() returns is new.
   */
  g_signal_new ("federation-changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST, 0,
                NULL, NULL, NULL, G_TYPE_NONE, 0);
}

static void
cf_upstream_pool_init (CfUpstreamPool *self)
{
  self->upstreams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) upstream_free);
  self->timeout_ms = 60000;
  self->health_interval_s = 60;
  self->health_timeout_s = 30;
  self->unhealthy_threshold = 3;
  self->idle_s = 300;
}

/**
 * cf_upstream_pool_new:
 * @catalog: the registry whose gateways to connect
 * @separator: GATEWAY_TOOL_NAME_SEPARATOR
 *
 * Returns: (transfer full): a pool; call cf_upstream_pool_start()
 */
CfUpstreamPool *
cf_upstream_pool_new (CfCatalog  *catalog,
                      const char *separator)
{
  CfUpstreamPool *self = g_object_new (CF_TYPE_UPSTREAM_POOL, NULL);

  self->catalog = g_object_ref (catalog);
  self->separator = g_strdup (separator ? separator : CF_SLUG_DEFAULT_SEPARATOR);
  self->changed_id = g_signal_connect (catalog, "changed", G_CALLBACK (on_catalog_changed), self);
  return self;
}

void
cf_upstream_pool_set_timeout (CfUpstreamPool *self,
                              guint           msec)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));
  self->timeout_ms = MAX (msec, 1);
}

/**
 * cf_upstream_pool_configure:
 * @self: the pool
 * @config: the gateway's settings
 *
 * Takes the call timeout (TOOL_TIMEOUT), the health checks
 * (HEALTH_CHECK_INTERVAL, HEALTH_CHECK_TIMEOUT, UNHEALTHY_THRESHOLD) and
 * the idle timeout of extra connections (UPSTREAM_IDLE_TIMEOUT).
 */
void
cf_upstream_pool_configure (CfUpstreamPool *self,
                            const CfConfig *config)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));
  g_return_if_fail (config != NULL);

  self->timeout_ms = MAX (config->tool_timeout_ms, 1u);
  self->health_interval_s = MAX (config->health_interval_s, 1u);
  self->health_timeout_s = MAX (config->health_timeout_s, 1u);
  self->unhealthy_threshold = config->unhealthy_threshold;
  self->idle_s = MAX (config->upstream_idle_s, 1u);
  _cf_upstream_pool_restart_timers (self);
}

void
cf_upstream_pool_start (CfUpstreamPool *self)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  self->started = TRUE;
  _cf_upstream_pool_restart_timers (self);
  reconcile (self);
}

/**
 * cf_upstream_pool_stop:
 *
 * Closes every connection; stdio children are stopped, waiting calls
 * fail.
 */
void
cf_upstream_pool_stop (CfUpstreamPool *self)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  self->started = FALSE;
  _cf_upstream_pool_restart_timers (self);
  g_hash_table_remove_all (self->upstreams);
}

/**
 * cf_upstream_pool_get_n_connections:
 * @self: the pool
 * @gateway_id: an upstream gateway
 *
 * Returns: how many connections to the upstream are open or opening
 */
guint
cf_upstream_pool_get_n_connections (CfUpstreamPool *self,
                                    const char     *gateway_id)
{
  Upstream *up;
  guint n = 0;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), 0);

  up = g_hash_table_lookup (self->upstreams, gateway_id);
  if (up == NULL)
    return 0;
  n = up->primary->connected || up->primary->connecting;
  for (guint i = 0; i < up->extras->len; i++)
    {
      Member *m = up->extras->pdata[i];

      n += m->connected || m->connecting;
    }
  return n;
}

/**
 * cf_upstream_pool_refresh:
 *
 * Re-syncs a gateway's catalog now, or reconnects it if it is down.
 *
 * Returns: %FALSE if the pool has no such gateway
 */
gboolean
cf_upstream_pool_refresh (CfUpstreamPool *self,
                          const char     *gateway_id)
{
  Upstream *up;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), FALSE);

  up = g_hash_table_lookup (self->upstreams, gateway_id);
  if (up == NULL)
    return FALSE;
  if (up->primary->connected)
    _cf_upstream_pool_start_sync (up);
  else if (!up->primary->connecting)
    {
      g_clear_handle_id (&up->retry_id, g_source_remove);
      _cf_upstream_pool_connect_upstream (up);
    }
  return TRUE;
}
