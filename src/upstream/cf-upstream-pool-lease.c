/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-slug.h"
#include "cf-upstream-credentials.h"
#include "cf-upstream-pool-private.h"

/* The pool: lending connections to calls. */

static void
acquire_free (Acquire *acquire)
{
  if (acquire->cancelled_id != 0)
    g_cancellable_disconnect (acquire->cancellable, acquire->cancelled_id);
  g_clear_handle_id (&acquire->timeout_id, g_source_remove);
  g_clear_handle_id (&acquire->cancel_idle_id, g_source_remove);
  g_clear_object (&acquire->cancellable);
  g_clear_object (&acquire->session);
  g_clear_object (&acquire->task);
  g_free (acquire);
}

/* The caller has taken @acquire off the queue. */
void
_cf_upstream_pool_acquire_fail (Acquire *acquire,
              GError  *error)
{
  g_task_return_error (acquire->task, error);
  acquire_free (acquire);
}

static CfUpstreamLease *
lend (Member *m)
{
  CfUpstreamLease *lease = g_new0 (CfUpstreamLease, 1);

  lease->member = _cf_upstream_pool_member_ref (m);
  lease->client = g_object_ref (m->client);
  m->in_flight++;
  m->last_used = g_get_monotonic_time ();
  m->up->in_flight++;
  return lease;
}

/* Lends @m to @acquire. The task is returned by the caller, once it is
 * done walking the queue: its callback may acquire or release again. */
static GTask *
grant (Acquire *acquire,
       Member  *m)
{
  CfUpstreamLease *lease = lend (m);
  GTask *task = g_steal_pointer (&acquire->task);

  g_task_set_task_data (task, lease, NULL);
  acquire_free (acquire);
  return task;
}

static Member *
find_owned (Upstream     *up,
            CfMcpSession *session)
{
  for (guint i = 0; i < up->extras->len; i++)
    {
      Member *m = up->extras->pdata[i];

      if (m->owner == session && !m->orphaned)
        return m;
    }
  return NULL;
}

/* The connection a call should use now, or %NULL if it must wait. */
static Member *
choose_member (Upstream     *up,
               CfMcpSession *session)
{
  Member *best = NULL;
  gboolean starting = FALSE;
  guint n = 1;

  if (up->sharing == SHARING_PER_SESSION && session != NULL)
    {
      Member *m = find_owned (up, session);

      if (m == NULL)
        m = _cf_upstream_pool_spawn_extra (up, session);
      return m != NULL && m->connected ? m : NULL;
    }
  if (up->sharing != SHARING_POOL)
    return up->primary->connected ? up->primary : NULL;

  /* A pool: an idle connection, else a new one while there is room,
   * else the least busy. */
  if (up->primary->connected)
    best = up->primary;
  for (guint i = 0; i < up->extras->len; i++)
    {
      Member *m = up->extras->pdata[i];

      if (m->orphaned)
        continue;
      n++;
      starting |= m->connecting;
      if (m->connected && (best == NULL || m->in_flight < best->in_flight))
        best = m;
    }
  if (best != NULL && best->in_flight == 0)
    return best;
  if (!starting && n < up->pool_size && up->primary->connected &&
      g_get_monotonic_time () >= up->spawn_blocked_until && _cf_upstream_pool_spawn_extra (up, NULL) != NULL)
    return NULL;
  if (starting)
    return NULL;
  return best;
}

void
_cf_upstream_pool_process_waiters (Upstream *up)
{
  g_autoptr(GPtrArray) granted = g_ptr_array_new ();
  g_autoptr(GPtrArray) failed = g_ptr_array_new ();
  g_autoptr(GError) unreachable = NULL;
  GList *l = up->waiters.head;

  while (l != NULL)
    {
      Acquire *acquire = l->data;
      GList *next = l->next;
      Member *m;

      if (_cf_upstream_pool_is_unreachable (up))
        {
          g_queue_delete_link (&up->waiters, l);
          g_ptr_array_add (failed, g_steal_pointer (&acquire->task));
          acquire_free (acquire);
        }
      else if (up->max_concurrency > 0 && up->in_flight >= up->max_concurrency)
        break;   /* in order: nobody overtakes the head */
      else if ((m = choose_member (up, acquire->session)) != NULL)
        {
          g_queue_delete_link (&up->waiters, l);
          g_ptr_array_add (granted, grant (acquire, m));
        }
      l = next;
    }

  /* Callbacks run last, on a consistent queue. */
  if (failed->len > 0)
    unreachable = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_UNREACHABLE,
                               "The upstream server %s is unreachable: %s", up->name,
                               up->last_error ? up->last_error : "unknown error");
  for (guint i = 0; i < failed->len; i++)
    {
      g_autoptr(GTask) task = failed->pdata[i];

      g_task_return_error (task, g_error_copy (unreachable));
    }
  for (guint i = 0; i < granted->len; i++)
    {
      g_autoptr(GTask) task = granted->pdata[i];

      g_task_return_pointer (task, g_task_get_task_data (task),
                             (GDestroyNotify) cf_upstream_lease_release);
    }
}

static gboolean
on_acquire_timeout (gpointer user_data)
{
  Acquire *acquire = user_data;
  Upstream *up = acquire->up;
  gboolean busy = up->max_concurrency > 0 && up->in_flight >= up->max_concurrency;
  GError *error;

  acquire->timeout_id = 0;
  g_queue_remove (&up->waiters, acquire);
  if (busy)
    error = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_TIMED_OUT,
                         "Timed out waiting for a free slot on the upstream server %s "
                         "(%u calls in flight)", up->name, up->in_flight);
  else
    error = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_TIMED_OUT,
                         "Timed out waiting for the upstream server %s to connect%s%s",
                         up->name, up->last_error ? ": " : "",
                         up->last_error ? up->last_error : "");
  _cf_upstream_pool_acquire_fail (acquire, error);
  return G_SOURCE_REMOVE;
}

static gboolean
on_acquire_cancelled_idle (gpointer user_data)
{
  Acquire *acquire = user_data;

  acquire->cancel_idle_id = 0;
  g_queue_remove (&acquire->up->waiters, acquire);
  _cf_upstream_pool_acquire_fail (acquire, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                              "The call was cancelled"));
  return G_SOURCE_REMOVE;
}

/* GCancellable does not allow disconnecting from inside its handler. */
static void
on_acquire_cancelled (GCancellable *cancellable,
                      Acquire      *acquire)
{
  if (acquire->cancel_idle_id == 0)
    acquire->cancel_idle_id = g_idle_add (on_acquire_cancelled_idle, acquire);
}

/**
 * cf_upstream_pool_acquire_async:
 * @self: the pool
 * @gateway_id: the upstream gateway
 * @session: (nullable): the downstream legacy session the call is for
 * @cancellable: (nullable): cancels the wait
 * @callback: called with the lease, or an error
 * @user_data: for @callback
 *
 * Borrows a connection to an upstream for one call (and the questions
 * it asks back), following the gateway's sharing policy and concurrency
 * limit. Fails at once when the upstream is unknown or unreachable, and
 * after the call timeout when no connection becomes available.
 */
void
cf_upstream_pool_acquire_async (CfUpstreamPool      *self,
                                const char          *gateway_id,
                                CfMcpSession        *session,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);
  Upstream *up;
  Acquire *acquire;

  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));
  g_task_set_source_tag (task, cf_upstream_pool_acquire_async);

  up = gateway_id ? g_hash_table_lookup (self->upstreams, gateway_id) : NULL;
  if (up == NULL)
    {
      g_task_return_new_error (task, CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_UNKNOWN,
                               "The upstream server of this item is not connected");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  acquire = g_new0 (Acquire, 1);
  acquire->up = up;
  acquire->task = g_steal_pointer (&task);
  acquire->session = session ? g_object_ref (session) : NULL;
  acquire->timeout_id = g_timeout_add (self->timeout_ms, on_acquire_timeout, acquire);
  if (cancellable != NULL)
    {
      acquire->cancellable = g_object_ref (cancellable);
      acquire->cancelled_id = g_cancellable_connect (cancellable,
                                                     G_CALLBACK (on_acquire_cancelled),
                                                     acquire, NULL);
    }
  g_queue_push_tail (&up->waiters, acquire);
  _cf_upstream_pool_process_waiters (up);
}

/**
 * cf_upstream_pool_try_acquire:
 * @self: the pool
 * @gateway_id: the upstream gateway
 * @session: (nullable): the downstream legacy session the call is for
 *
 * The fast path of cf_upstream_pool_acquire_async(): lends a connection
 * at once when one is free and nobody is waiting, without a task or a
 * main loop iteration.
 *
 * Returns: (transfer full) (nullable): the lease, or %NULL if the call
 *   must wait (or fail): use cf_upstream_pool_acquire_async() then
 */
CfUpstreamLease *
cf_upstream_pool_try_acquire (CfUpstreamPool *self,
                              const char     *gateway_id,
                              CfMcpSession   *session)
{
  Upstream *up;
  Member *m;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), NULL);

  up = gateway_id ? g_hash_table_lookup (self->upstreams, gateway_id) : NULL;
  if (up == NULL || up->waiters.length > 0 || _cf_upstream_pool_is_unreachable (up) ||
      (up->max_concurrency > 0 && up->in_flight >= up->max_concurrency))
    return NULL;
  m = choose_member (up, session);
  if (m == NULL)
    return NULL;

  return lend (m);
}

/**
 * cf_upstream_pool_acquire_finish:
 *
 * Returns: (transfer full): the lease; give it back with
 *   cf_upstream_lease_release()
 */
CfUpstreamLease *
cf_upstream_pool_acquire_finish (CfUpstreamPool  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cf_upstream_lease_get_client:
 *
 * Returns: (transfer none): the connection lent
 */
CfMcpClient *
cf_upstream_lease_get_client (CfUpstreamLease *lease)
{
  g_return_val_if_fail (lease != NULL, NULL);
  return lease->client;
}

/**
 * cf_upstream_lease_release:
 *
 * Gives a connection back: a waiting call may take it.
 */
void
cf_upstream_lease_release (CfUpstreamLease *lease)
{
  Member *m;
  Upstream *up;

  if (lease == NULL)
    return;
  m = lease->member;
  up = m->up;
  m->in_flight--;
  m->last_used = g_get_monotonic_time ();
  if (up != NULL)
    {
      up->in_flight--;
      if (m->orphaned && m->in_flight == 0)
        _cf_upstream_pool_remove_extra (up, m);
      _cf_upstream_pool_process_waiters (up);
    }
  _cf_upstream_pool_member_unref (m);
  g_object_unref (lease->client);
  g_free (lease);
}
