/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include "cf-json.h"
#include "cf-upstream-pool-private.h"

/* Federation loops. Every ContextForge gateway announces, under an
 * experimental capability, its own id and the ids of every gateway it
 * reaches through its upstreams, transitively. When this gateway
 * connects to an upstream whose announcement contains this gateway's
 * own id, federating it would close a loop (A federates B federates A):
 * the connection is refused, and the upstream's status says why. */

#define MAX_REACH 1024

static GStrv
read_ids (JsonArray *array)
{
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);

  for (guint i = 0; array != NULL && i < json_array_get_length (array) && i < MAX_REACH; i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (cf_json_node_is_string (node))
        g_ptr_array_add (ids, g_strdup (json_node_get_string (node)));
    }
  g_ptr_array_add (ids, NULL);
  return (GStrv) g_ptr_array_steal (ids, NULL);
}

/**
 * _cf_upstream_pool_learn_federation:
 * @up: an upstream whose primary connection just connected
 * @client: that connection
 * @out_message: (out) (transfer full): why the upstream is refused
 *
 * Returns: %FALSE when federating @up would close a loop
 */
gboolean
_cf_upstream_pool_learn_federation (Upstream     *up,
                                    CfMcpClient  *client,
                                    char        **out_message)
{
  CfUpstreamPool *self = up->pool;
  JsonObject *caps = cf_mcp_client_get_server_capabilities (client);
  JsonObject *mine = cf_json_object_get_object (cf_json_object_get_object (caps, "experimental"),
                                                CF_UPSTREAM_FEDERATION_CAPABILITY);
  const char *peer_id = cf_json_object_get_string (mine, "id");
  g_auto(GStrv) reaches = read_ids (cf_json_object_get_array (mine, "reaches"));

  *out_message = NULL;
  if (self->instance_id != NULL && peer_id != NULL &&
      (g_strcmp0 (peer_id, self->instance_id) == 0 ||
       g_strv_contains ((const char * const *) reaches, self->instance_id)))
    {
      *out_message = g_strcmp0 (peer_id, self->instance_id) == 0
        ? g_strdup ("Federation loop: this upstream is this gateway itself")
        : g_strdup_printf ("Federation loop: this upstream (gateway %s) already federates "
                           "this gateway, directly or through others", peer_id);
      return FALSE;
    }

  g_free (up->peer_id);
  up->peer_id = g_strdup (peer_id);
  g_strfreev (up->peer_reaches);
  up->peer_reaches = g_steal_pointer (&reaches);
  _cf_upstream_pool_update_reach (self);
  return TRUE;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * _cf_upstream_pool_update_reach:
 * @self: a pool
 *
 * Recomputes the gateways reached through the current upstreams and
 * tells of a change with #CfUpstreamPool::federation-changed.
 */
void
_cf_upstream_pool_update_reach (CfUpstreamPool *self)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GPtrArray) ids = g_ptr_array_new_with_free_func (g_free);
  GHashTableIter iter;
  Upstream *up;
  static const char * const none[] = { NULL };

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    {
      if (up->peer_id != NULL && g_hash_table_add (seen, up->peer_id))
        g_ptr_array_add (ids, g_strdup (up->peer_id));
      for (guint i = 0; up->peer_reaches != NULL && up->peer_reaches[i] != NULL; i++)
        if (g_hash_table_size (seen) < MAX_REACH && g_hash_table_add (seen, up->peer_reaches[i]))
          g_ptr_array_add (ids, g_strdup (up->peer_reaches[i]));
    }
  g_ptr_array_sort (ids, compare_strings);
  g_ptr_array_add (ids, NULL);

  if (g_strv_equal (self->reach ? (const char * const *) self->reach : none,
                    (const char * const *) ids->pdata))
    return;
  g_strfreev (self->reach);
  self->reach = (GStrv) g_ptr_array_steal (ids, NULL);
  g_signal_emit_by_name (self, "federation-changed");
}

/**
 * cf_upstream_pool_set_instance_id:
 * @self: a pool
 * @id: this gateway's own federation id
 *
 * Upstreams that reach @id are refused from then on.
 */
void
cf_upstream_pool_set_instance_id (CfUpstreamPool *self,
                                  const char     *id)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  g_free (self->instance_id);
  self->instance_id = g_strdup (id);
}

/**
 * cf_upstream_pool_build_federation_capability:
 * @self: a pool with an instance id
 *
 * Returns: (transfer full): what this gateway announces under
 *   `capabilities.experimental["org.contextforge.federation"]`: its id
 *   and the ids it reaches through its upstreams
 */
JsonObject *
cf_upstream_pool_build_federation_capability (CfUpstreamPool *self)
{
  JsonObject *capability;
  JsonArray *reaches = json_array_new ();

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), NULL);

  capability = json_object_new ();
  if (self->instance_id != NULL)
    json_object_set_string_member (capability, "id", self->instance_id);
  for (guint i = 0; self->reach != NULL && self->reach[i] != NULL; i++)
    json_array_add_string_element (reaches, self->reach[i]);
  json_object_set_array_member (capability, "reaches", reaches);
  return capability;
}
