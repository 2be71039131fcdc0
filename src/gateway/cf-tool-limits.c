/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tool-limits"

#include "config.h"

#include <math.h>

#include "cf-env.h"
#include "cf-tool-limits.h"

/* A call refused for concurrency is told to come back after this: when a
 * running call ends cannot be known. */
#define CONCURRENCY_RETRY_MS 1000
/* Past this many tools tracked, idle ones are forgotten. */
#define PRUNE_ABOVE 1024
#define MINUTE_US (60 * G_USEC_PER_SEC)

/**
 * CfToolLimits:
 *
 * Per-tool limits on tools/call: a token bucket per tool that holds
 * TOOL_RATE_LIMIT calls and refills at that many per minute (a burst of
 * the whole minute's worth, then a steady pace), and a count of calls in
 * flight against TOOL_CONCURRENT_LIMIT. 0 means no limit. The counters
 * are plain integers touched only on the main thread, where every MCP
 * request is dispatched: no locks on the hot path.
 */
struct _CfToolLimits
{
  guint       ref_count;
  guint       per_minute;
  guint       concurrent;
  GHashTable *tools;          /* tool id -> ToolState */
};

typedef struct {
  double  tokens;
  gint64  refilled_us;
  guint   in_flight;
} ToolState;

struct _CfToolSlot
{
  CfToolLimits *limits;
  ToolState    *state;
};

CfToolLimits *
cf_tool_limits_new (guint per_minute,
                    guint concurrent)
{
  CfToolLimits *self = g_new0 (CfToolLimits, 1);

  self->ref_count = 1;
  self->per_minute = per_minute;
  self->concurrent = concurrent;
  self->tools = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  return self;
}

/**
 * cf_tool_limits_new_from_env:
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @error: return location for a #GError
 *
 * Reads TOOL_RATE_LIMIT (calls per minute per tool, default 100) and
 * TOOL_CONCURRENT_LIMIT (calls in flight per tool, default 10); 0 turns
 * a limit off.
 *
 * Returns: (transfer full) (nullable): the limits, or %NULL with @error set
 */
CfToolLimits *
cf_tool_limits_new_from_env (const char * const  *environ,
                             GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  const char * const *env = environ ? environ : (const char * const *) own;
  guint per_minute, concurrent;

  if (!cf_env_get_uint (env, "TOOL_RATE_LIMIT", CF_TOOL_RATE_LIMIT_DEFAULT, 1000000,
                        &per_minute, error) ||
      !cf_env_get_uint (env, "TOOL_CONCURRENT_LIMIT", CF_TOOL_CONCURRENT_LIMIT_DEFAULT, 1000000,
                        &concurrent, error))
    return NULL;
  return cf_tool_limits_new (per_minute, concurrent);
}

CfToolLimits *
cf_tool_limits_ref (CfToolLimits *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  self->ref_count++;
  return self;
}

void
cf_tool_limits_unref (CfToolLimits *self)
{
  g_return_if_fail (self != NULL);
  if (--self->ref_count > 0)
    return;
  g_hash_table_unref (self->tools);
  g_free (self);
}

guint
cf_tool_limits_get_per_minute (CfToolLimits *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->per_minute;
}

guint
cf_tool_limits_get_concurrent (CfToolLimits *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->concurrent;
}

static void
refill (CfToolLimits *self,
        ToolState    *state,
        gint64        now_us)
{
  double elapsed = MAX (now_us - state->refilled_us, 0);

  state->tokens = MIN (self->per_minute, state->tokens + elapsed * self->per_minute / MINUTE_US);
  state->refilled_us = now_us;
}

static gboolean
is_idle (gpointer key,
         gpointer value,
         gpointer user_data)
{
  CfToolLimits *self = ((gpointer *) user_data)[0];
  gint64 now_us = *(gint64 *) ((gpointer *) user_data)[1];
  ToolState *state = value;

  refill (self, state, now_us);
  return state->in_flight == 0 && state->tokens >= self->per_minute;
}

static ToolState *
state_for (CfToolLimits *self,
           const char   *tool_id,
           gint64        now_us)
{
  ToolState *state = g_hash_table_lookup (self->tools, tool_id);

  if (state != NULL)
    return state;
  if (g_hash_table_size (self->tools) >= PRUNE_ABOVE)
    {
      gpointer data[2] = { self, &now_us };
      g_hash_table_foreach_remove (self->tools, is_idle, data);
    }
  state = g_new0 (ToolState, 1);
  state->tokens = self->per_minute;
  state->refilled_us = now_us;
  g_hash_table_insert (self->tools, g_strdup (tool_id), state);
  return state;
}

/**
 * cf_tool_limits_acquire:
 * @self: the limits
 * @tool_id: the tool called
 * @now_us: the monotonic time, in microseconds
 * @out_limit: (out): which limit refused the call, if one did
 * @out_retry_after_ms: (out): when a refused call may be tried again
 *
 * Main thread only. A refused call spends nothing.
 *
 * Returns: (transfer full) (nullable): a slot to release when the call
 *   ends, or %NULL when a limit refuses the call
 */
CfToolSlot *
cf_tool_limits_acquire (CfToolLimits *self,
                        const char   *tool_id,
                        gint64        now_us,
                        CfToolLimit  *out_limit,
                        guint        *out_retry_after_ms)
{
  ToolState *state;
  CfToolSlot *slot;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (tool_id != NULL, NULL);

  *out_limit = CF_TOOL_LIMIT_NONE;
  *out_retry_after_ms = 0;
  state = state_for (self, tool_id, now_us);
  if (self->concurrent > 0 && state->in_flight >= self->concurrent)
    {
      *out_limit = CF_TOOL_LIMIT_CONCURRENCY;
      *out_retry_after_ms = CONCURRENCY_RETRY_MS;
      return NULL;
    }
  if (self->per_minute > 0)
    {
      refill (self, state, now_us);
      if (state->tokens < 1)
        {
          double wait_us = (1 - state->tokens) * MINUTE_US / self->per_minute;

          *out_limit = CF_TOOL_LIMIT_RATE;
          *out_retry_after_ms = MAX ((guint) ceil (wait_us / 1000), 1u);
          return NULL;
        }
      state->tokens -= 1;
    }

  state->in_flight++;
  slot = g_new0 (CfToolSlot, 1);
  slot->limits = cf_tool_limits_ref (self);
  slot->state = state;
  return slot;
}

/**
 * cf_tool_slot_release:
 * @slot: (transfer full): a slot from cf_tool_limits_acquire()
 *
 * The call ended: its place counts no more against the concurrency
 * limit. Main thread only.
 */
void
cf_tool_slot_release (CfToolSlot *slot)
{
  g_return_if_fail (slot != NULL);

  g_assert (slot->state->in_flight > 0);
  slot->state->in_flight--;
  cf_tool_limits_unref (slot->limits);
  g_free (slot);
}
