/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-slug.h"
#include "cf-upstream-credentials.h"
#include "cf-upstream-pool-private.h"

/* The pool: making, keeping and retrying connections to upstreams. */

static void schedule_resync (Upstream *up);

/* The headers the gateway's credentials stand for, and a session that
 * connects only where the SSRF policy allows. */
static gboolean
network_setup (CfUpstreamPool  *self,
               JsonObject      *gateway,
               SoupSession    **out_session,
               GHashTable     **out_headers,
               GError         **error)
{
  const char *sealed = cf_json_object_get_string (gateway, "authValue");
  const char *consented = cf_catalog_gateway_consented_address (gateway);
  CfSsrfPolicy *base = cf_catalog_get_ssrf_policy (self->catalog);
  g_autoptr(CfSsrfPolicy) policy = base ? cf_ssrf_policy_ref (base) : NULL;
  GError *local = NULL;

  *out_headers = NULL;
  if (sealed != NULL &&
      (*out_headers = cf_upstream_credentials_open (cf_catalog_get_secret_store (self->catalog),
                                                    sealed, error)) == NULL)
    return FALSE;
  /* A gateway chosen from the discovered peers may reach that one
   * address, whatever the policy says of its network. */
  if (consented != NULL && policy != NULL)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (consented);
      g_autofree char *text = g_inet_address_to_string (address);
      g_autofree char *cidr = g_strdup_printf ("%s/%u", text,
                                               (guint) g_inet_address_get_native_size (address) * 8);

      g_clear_pointer (&policy, cf_ssrf_policy_unref);
      policy = cf_ssrf_policy_copy (base);
      cf_ssrf_policy_allow_network (policy, cidr, NULL);
    }
  *out_session = cf_guarded_session_new (cf_json_object_get_string (gateway, "url"), policy,
                                         CONNS_PER_UPSTREAM, &local);
  if (local != NULL)
    {
      g_clear_pointer (out_headers, g_hash_table_unref);
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

static CfMcpClient *
new_client (CfUpstreamPool  *self,
            JsonObject      *gateway,
            GError         **error)
{
  const char *transport = cf_json_object_get_string (gateway, "transport");
  const char *url = cf_json_object_get_string (gateway, "url");
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) headers = NULL;

  if (g_strcmp0 (transport, "STDIO") == 0)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
      JsonArray *args = cf_json_object_get_array (gateway, "args");
      JsonObject *vars = cf_json_object_get_object (gateway, "env");
      g_autoptr(GList) names = vars ? json_object_get_members (vars) : NULL;

      g_ptr_array_add (argv, (char *) cf_json_object_get_string (gateway, "command"));
      for (guint i = 0; args != NULL && i < json_array_get_length (args); i++)
        g_ptr_array_add (argv, (char *) json_array_get_string_element (args, i));
      g_ptr_array_add (argv, NULL);
      for (GList *l = names; l != NULL; l = l->next)
        g_ptr_array_add (env, g_strdup_printf ("%s=%s", (char *) l->data,
                                               cf_json_object_get_string (vars, l->data)));
      g_ptr_array_add (env, NULL);
      return cf_mcp_client_new_stdio ((const char * const *) argv->pdata,
                                      (const char * const *) env->pdata,
                                      cf_json_object_get_string (gateway, "cwd"));
    }
  if (g_strcmp0 (transport, "STREAMABLEHTTP") != 0 && g_strcmp0 (transport, "SSE") != 0 &&
      g_strcmp0 (transport, "WEBSOCKET") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The %s transport is not supported yet", transport ? transport : "(none)");
      return NULL;
    }
  /* The catalog checked that these have a URL of the right scheme. */
  if (!network_setup (self, gateway, &session, &headers, error))
    return NULL;
  if (g_strcmp0 (transport, "STREAMABLEHTTP") == 0)
    return cf_mcp_client_new_http (url, session, headers);
  if (g_strcmp0 (transport, "SSE") == 0)
    return cf_mcp_client_new_sse (url, session, headers);
  return cf_mcp_client_new_websocket (url, session, headers);
}

static gboolean
on_retry (gpointer user_data)
{
  Upstream *up = user_data;

  up->retry_id = 0;
  _cf_upstream_pool_connect_upstream (up);
  return G_SOURCE_REMOVE;
}

/* The first attempt after a stable connection died is immediate; then
 * 1, 2, 4… seconds, at most the health check interval, so that an
 * upstream that comes back is found within one interval. */
static void
schedule_retry (Upstream   *up,
                const char *why)
{
  guint cap = MIN (MAX_BACKOFF_S, MAX (up->pool->health_interval_s, 1u));
  guint delay = up->attempts == 0 ? 0 : MIN (1u << MIN (up->attempts - 1, 9u), cap);
  g_autofree char *message = NULL;

  up->attempts++;
  if (delay > 0)
    g_message ("Gateway %s (%s): %s; retrying in %u s", up->name, up->gateway_id, why, delay);
  message = delay > 0 ? g_strdup_printf ("%s; retrying in %u s", why, delay)
                      : g_strdup_printf ("%s; reconnecting", why);
  _cf_upstream_pool_write_status (up, !_cf_upstream_pool_is_unreachable (up), message, -1);
  g_clear_handle_id (&up->retry_id, g_source_remove);
  up->retry_id = g_timeout_add_seconds (delay, on_retry, up);
}

static gboolean
on_resync (gpointer user_data)
{
  Upstream *up = user_data;

  up->resync_id = 0;
  _cf_upstream_pool_start_sync (up);
  return G_SOURCE_REMOVE;
}

static void
on_notification (CfMcpClient *client,
                 JsonNode    *message,
                 Member      *m)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");
  Upstream *up = m->up;

  if (up != NULL && method != NULL && g_str_has_suffix (method, "/list_changed"))
    schedule_resync (up);
}

/* 2026-07-28 upstreams tell of list changes on a subscription only. */

static void start_listening (Upstream *up);

static void
schedule_resync (Upstream *up)
{
  /* Coalesce bursts of list changes into one resync. */
  if (up->resync_id == 0)
    up->resync_id = g_timeout_add (RESYNC_DELAY_MS, on_resync, up);
}

static void
on_listen_message (CfMcpClient *client,
                   JsonNode    *message,
                   gpointer     user_data)
{
  Upstream *up = user_data;
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");

  if (method != NULL && g_str_has_suffix (method, "/list_changed"))
    schedule_resync (up);
}

static void
on_listen_ended (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (CF_MCP_CLIENT (source), result,
                                                               &error);

  /* Cancelled: the upstream is gone or reconnecting, which listens anew. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&up->listen);
  if (!up->primary->connected || CF_MCP_CLIENT (source) != up->primary->client)
    return;
  if (error != NULL)
    g_debug ("Gateway %s: subscription ended: %s", up->gateway_id, error->message);
  /* Ended by the upstream: listen again, and catch up on what may have
   * changed meanwhile. */
  start_listening (up);
  schedule_resync (up);
}

static void
start_listening (Upstream *up)
{
  CfMcpClient *client = up->primary->client;
  JsonObject *caps = cf_mcp_client_get_server_capabilities (client);
  static const char * const kinds[] = { "tools", "prompts", "resources" };
  JsonObject *params, *filter;

  if (cf_mcp_client_get_era (client) != CF_MCP_ERA_MODERN || up->listen != NULL)
    return;
  filter = json_object_new ();
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (cf_json_object_get_bool (cf_json_object_get_object (caps, kinds[i]), "listChanged",
                                 FALSE))
      {
        g_autofree char *flag = g_strdup_printf ("%sListChanged", kinds[i]);

        json_object_set_boolean_member (filter, flag, TRUE);
      }
  if (json_object_get_size (filter) == 0)
    {
      json_object_unref (filter);
      return;
    }
  params = json_object_new ();
  json_object_set_object_member (params, "notifications", filter);
  up->listen = g_cancellable_new ();
  cf_mcp_client_request_async (client, "subscriptions/listen", params, on_listen_message, up,
                               up->listen, on_listen_ended, up);
}

static void
on_primary_closed (CfMcpClient *client,
                   Member      *m)
{
  Upstream *up = m->up;
  gboolean stable = g_get_monotonic_time () - m->connected_at >=
                    STABLE_CONNECTION_S * G_USEC_PER_SEC;

  m->connected = FALSE;
  if (up == NULL)
    return;
  if (up->listen != NULL)
    {
      g_cancellable_cancel (up->listen);
      g_clear_object (&up->listen);
    }
  if (stable)
    up->attempts = 0;
  schedule_retry (up, "the connection closed");
}

static void
on_primary_connected (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;
  g_autofree char *loop = NULL;

  if (!cf_mcp_client_connect_finish (CF_MCP_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      up->primary->connecting = FALSE;
      _cf_upstream_pool_record_failure (up, error->message);
      schedule_retry (up, error->message);
      return;
    }
  up->primary->connecting = FALSE;
  if (!_cf_upstream_pool_learn_federation (up, CF_MCP_CLIENT (source), &loop))
    {
      /* Nothing of it is federated; it is tried again (the other side may
       * drop us meanwhile), unreachable until then. */
      g_warning ("Gateway %s (%s): %s", up->name, up->gateway_id, loop);
      g_signal_handlers_disconnect_by_data (up->primary->client, up->primary);
      cf_mcp_client_close (up->primary->client);
      g_clear_object (&up->primary->client);
      up->failures = G_MAXUINT / 2;
      up->reachable = FALSE;
      g_free (up->last_error);
      up->last_error = g_strdup (loop);
      schedule_retry (up, loop);
      _cf_upstream_pool_process_waiters (up);
      return;
    }
  up->primary->connected = TRUE;
  up->primary->connected_at = g_get_monotonic_time ();
  _cf_upstream_pool_record_success (up);
  _cf_upstream_pool_start_sync (up);
  start_listening (up);
  _cf_upstream_pool_process_waiters (up);
}

void
_cf_upstream_pool_connect_upstream (Upstream *up)
{
  g_autoptr(JsonObject) gateway = _cf_upstream_pool_current_gateway (up);
  g_autoptr(GError) error = NULL;
  Member *m = up->primary;

  if (gateway == NULL)
    return;
  if (up->listen != NULL)
    {
      g_cancellable_cancel (up->listen);
      g_clear_object (&up->listen);
    }
  if (m->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (m->client, m);
      cf_mcp_client_close (m->client);
      g_clear_object (&m->client);
    }
  m->connected = FALSE;
  m->client = new_client (up->pool, gateway, &error);
  if (m->client != NULL)
    cf_mcp_client_share_param_headers (m->client, up->param_headers);
  if (m->client == NULL)
    {
      /* A setting no retry can fix: unreachable until reconfigured. */
      up->failures = G_MAXUINT / 2;
      up->reachable = FALSE;
      g_free (up->last_error);
      up->last_error = g_strdup (error->message);
      _cf_upstream_pool_write_status (up, FALSE, error->message, -1);
      _cf_upstream_pool_process_waiters (up);
      return;
    }
  m->connecting = TRUE;
  cf_mcp_client_set_timeout (m->client, up->pool->timeout_ms);
  g_signal_connect (m->client, "notification", G_CALLBACK (on_notification), m);
  g_signal_connect (m->client, "closed", G_CALLBACK (on_primary_closed), m);
  cf_mcp_client_connect_async (m->client, up->cancellable, on_primary_connected, up);
}

/* Extra connections: pooled or per-session. */

static void
on_extra_closed (CfMcpClient *client,
                 Member      *m)
{
  Upstream *up = m->up;

  /* The next call that needs one starts a new connection. */
  m->connected = FALSE;
  if (up != NULL && m->in_flight == 0)
    _cf_upstream_pool_remove_extra (up, m);
  else if (up != NULL)
    m->orphaned = TRUE;
}

static void
on_extra_connected (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Member *m = user_data;
  Upstream *up = m->up;
  g_autoptr(GError) error = NULL;
  gboolean ok = cf_mcp_client_connect_finish (CF_MCP_CLIENT (source), result, &error);

  if (up == NULL)
    {
      _cf_upstream_pool_member_unref (m);
      return;
    }
  m->connecting = FALSE;
  if (ok)
    {
      m->connected = TRUE;
      m->connected_at = m->last_used = g_get_monotonic_time ();
    }
  else
    {
      GList *l = up->waiters.head;

      g_warning ("Gateway %s (%s): an extra connection failed: %s", up->name, up->gateway_id,
                 error->message);
      up->spawn_blocked_until = g_get_monotonic_time () + SPAWN_BACKOFF_S * G_USEC_PER_SEC;
      /* Calls waiting for this very connection fail with its error. */
      while (l != NULL)
        {
          Acquire *acquire = l->data;
          GList *next = l->next;

          if (m->owner != NULL && acquire->session == m->owner)
            {
              g_queue_delete_link (&up->waiters, l);
              _cf_upstream_pool_acquire_fail (acquire, g_error_copy (error));
            }
          l = next;
        }
      _cf_upstream_pool_remove_extra (up, m);
    }
  _cf_upstream_pool_process_waiters (up);
  _cf_upstream_pool_member_unref (m);
}

Member *
_cf_upstream_pool_spawn_extra (Upstream     *up,
             CfMcpSession *owner)
{
  g_autoptr(JsonObject) gateway = _cf_upstream_pool_current_gateway (up);
  g_autoptr(GError) error = NULL;
  Member *m;

  if (gateway == NULL)
    return NULL;
  m = _cf_upstream_pool_member_new (up, owner);
  m->client = new_client (up->pool, gateway, &error);
  if (m->client == NULL)
    {
      _cf_upstream_pool_member_discard (m);
      return NULL;
    }
  cf_mcp_client_share_param_headers (m->client, up->param_headers);
  m->connecting = TRUE;
  cf_mcp_client_set_timeout (m->client, up->pool->timeout_ms);
  g_signal_connect (m->client, "closed", G_CALLBACK (on_extra_closed), m);
  g_ptr_array_add (up->extras, m);
  cf_mcp_client_connect_async (m->client, up->cancellable, on_extra_connected, _cf_upstream_pool_member_ref (m));
  return m;
}
