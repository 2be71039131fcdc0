/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-fd-source"

#include "config.h"

#include "cf-fd-source.h"

/**
 * CfFdSource:
 *
 * A #GSource for one descriptor whose events, and whose deadline, its
 * owner changes as it goes, for free: both are read on every iteration
 * (the deadline in prepare()), so a change costs no wake-up of the main
 * context, as g_source_modify_unix_fd() and g_source_set_ready_time()
 * do. For connections that change what they wait for on every request,
 * from the thread that runs their context.
 *
 * Nor does a dispatch cost one: GLib blocks a source that cannot recurse
 * while it is dispatched by taking its descriptors out of the context and
 * putting them back, and each of those two steps writes to the context's
 * wake-up descriptor (four system calls per dispatch with the read that
 * drains it, where the work itself is a recv() and a send()). This source
 * can recurse as far as GLib knows and blocks itself only when the context
 * is actually iterated again from inside its callback.
 */
struct _CfFdSource
{
  GSource         source;
  GPollFD         pfd;
  gint64          deadline;
  CfFdSourceFunc  func;
  gpointer        user_data;
  guint           dispatching : 1;
  guint           blocked : 1;
};

static gboolean
fd_source_prepare (GSource *source,
                   gint    *timeout)
{
  CfFdSource *self = (CfFdSource *) source;
  gint64 now;

  *timeout = -1;
  if (self->deadline == 0 || self->dispatching)
    return FALSE;
  now = g_source_get_time (source);
  if (now >= self->deadline)
    {
      *timeout = 0;
      return TRUE;
    }
  *timeout = (int) MIN ((self->deadline - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
fd_source_check (GSource *source)
{
  CfFdSource *self = (CfFdSource *) source;

  /* Inside its own callback, readiness is still reported, so that a
   * nested iteration blocks the source (see dispatch()). */
  return self->pfd.revents != 0 ||
         (!self->dispatching && self->deadline != 0 &&
          g_source_get_time (source) >= self->deadline);
}

static gboolean
fd_source_dispatch (GSource    *source,
                    GSourceFunc callback,
                    gpointer    user_data)
{
  CfFdSource *self = (CfFdSource *) source;
  GIOCondition revents = self->pfd.revents;
  gboolean expired = revents == 0 && self->deadline != 0 &&
                     g_source_get_time (source) >= self->deadline;

  self->pfd.revents = 0;
  if (self->dispatching)
    {
      /* The context is iterated from inside the callback: until that
       * returns, wait as a blocked source would, for nothing. */
      if (!self->blocked)
        g_source_remove_poll (source, &self->pfd);
      self->blocked = TRUE;
      return G_SOURCE_CONTINUE;
    }

  self->dispatching = TRUE;
  self->func (self->user_data, revents, expired);
  self->dispatching = FALSE;
  if (self->blocked && !g_source_is_destroyed (source))
    g_source_add_poll (source, &self->pfd);
  self->blocked = FALSE;
  return G_SOURCE_CONTINUE;
}

static GSourceFuncs fd_source_funcs = {
  fd_source_prepare,
  fd_source_check,
  fd_source_dispatch,
  NULL, NULL, NULL,
};

/**
 * cf_fd_source_new:
 * @fd: the descriptor, which stays the caller's
 * @static_name: the source's name, a static string
 * @context: (nullable): where to attach it, the default context for %NULL
 * @func: called when @fd is ready for what it waits for, or the
 *   deadline passed
 * @user_data: closure data for @func
 *
 * Returns: (transfer full): an attached source waiting for nothing,
 *   without a deadline
 */
CfFdSource *
cf_fd_source_new (int             fd,
                  const char     *static_name,
                  GMainContext   *context,
                  CfFdSourceFunc  func,
                  gpointer        user_data)
{
  CfFdSource *self = (CfFdSource *) g_source_new (&fd_source_funcs, sizeof (CfFdSource));

  self->pfd.fd = fd;
  self->func = func;
  self->user_data = user_data;
  g_source_add_poll ((GSource *) self, &self->pfd);
  g_source_set_can_recurse ((GSource *) self, TRUE);
  g_source_set_static_name ((GSource *) self, static_name);
  g_source_attach ((GSource *) self, context);
  return self;
}

/**
 * cf_fd_source_set_events:
 * @self: a #CfFdSource
 * @events: what to wait for; 0 for nothing (errors and hang-ups are
 *   still reported)
 */
void
cf_fd_source_set_events (CfFdSource   *self,
                         GIOCondition  events)
{
  self->pfd.events = events;
}

/**
 * cf_fd_source_set_deadline:
 * @self: a #CfFdSource
 * @deadline: a g_get_monotonic_time() by which the source is
 *   dispatched, expired, if @fd is not ready first; 0 for none
 */
void
cf_fd_source_set_deadline (CfFdSource *self,
                           gint64      deadline)
{
  self->deadline = deadline;
}

/**
 * cf_fd_source_free:
 *
 * Destroys the source: @func is not called again.
 */
void
cf_fd_source_free (CfFdSource *self)
{
  g_source_destroy ((GSource *) self);
  g_source_unref ((GSource *) self);
}
