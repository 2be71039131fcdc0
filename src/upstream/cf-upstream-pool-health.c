/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-slug.h"
#include "cf-upstream-credentials.h"
#include "cf-upstream-pool-private.h"

/* The pool: health checks, and reaping idle extra connections. */

static void
end_probe (Upstream *up)
{
  g_clear_handle_id (&up->probe_timeout_id, g_source_remove);
  g_clear_object (&up->probe);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (CF_MCP_CLIENT (source), result,
                                                               &error);
  JsonObject *object = response && JSON_NODE_HOLDS_OBJECT (response)
                       ? json_node_get_object (response) : NULL;

  /* Cancelled: the upstream is gone, or the probe timed out (counted). */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  end_probe (up);
  if (object != NULL && json_object_has_member (object, "result"))
    _cf_upstream_pool_record_success (up);
  else
    {
      JsonObject *failure = cf_json_object_get_object (object, "error");
      g_autofree char *why = g_strdup_printf ("Health check failed: %s",
                                              error ? error->message
                                              : cf_json_object_get_string (failure, "message")
                                              ?: "the check was answered with an error");
      _cf_upstream_pool_record_failure (up, why);
    }
}

static gboolean
on_probe_timeout (gpointer user_data)
{
  Upstream *up = user_data;
  g_autofree char *why = g_strdup_printf ("Health check timed out after %u s",
                                          up->pool->health_timeout_s);

  up->probe_timeout_id = 0;
  g_cancellable_cancel (up->probe);
  end_probe (up);
  _cf_upstream_pool_record_failure (up, why);
  return G_SOURCE_REMOVE;
}

static void
probe (Upstream *up)
{
  guint timeout_s = MIN (up->pool->health_timeout_s, up->pool->health_interval_s);

  if (!up->primary->connected || up->probe != NULL)
    return;
  up->probe = g_cancellable_new ();
  up->probe_timeout_id = g_timeout_add_seconds (MAX (timeout_s, 1u), on_probe_timeout, up);
  /* 2026-07-28 removed ping; server/discover is its cheapest request. */
  cf_mcp_client_request_async (up->primary->client,
                               cf_mcp_client_get_era (up->primary->client) == CF_MCP_ERA_MODERN
                               ? "server/discover" : "ping",
                               NULL, NULL, NULL, up->probe, on_probed, up);
}

static gboolean
on_health_check (gpointer user_data)
{
  CfUpstreamPool *self = user_data;
  GHashTableIter iter;
  Upstream *up;

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    probe (up);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reap (gpointer user_data)
{
  CfUpstreamPool *self = user_data;
  gint64 cutoff = g_get_monotonic_time () - (gint64) self->idle_s * G_USEC_PER_SEC;
  GHashTableIter iter;
  Upstream *up;

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    for (guint i = up->extras->len; i > 0; i--)
      {
        Member *m = up->extras->pdata[i - 1];

        if (m->in_flight == 0 && !m->connecting && m->last_used < cutoff)
          g_ptr_array_remove_index (up->extras, i - 1);
      }
  return G_SOURCE_CONTINUE;
}

void
_cf_upstream_pool_restart_timers (CfUpstreamPool *self)
{
  g_clear_handle_id (&self->health_id, g_source_remove);
  g_clear_handle_id (&self->reap_id, g_source_remove);
  if (!self->started)
    return;
  self->health_id = g_timeout_add_seconds (self->health_interval_s, on_health_check, self);
  self->reap_id = g_timeout_add_seconds (CLAMP (self->idle_s / 4, 1u, 30u), on_reap, self);
}
