/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-idle-watch"

#include "config.h"

#include <errno.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "cf-idle-watch.h"

/**
 * CfIdleWatch:
 *
 * Watches the idle keep-alive sockets of every upstream of a main
 * context for the server closing them, at a cost that does not grow
 * with their number.
 *
 * Every #GSource attached to a context is visited on each iteration of
 * its loop, and every file descriptor it polls is polled: a gateway with
 * a hundred upstreams, each keeping a connection with a source of its
 * own, paid for all of them on every relayed call (a quarter of its
 * throughput, measured). A socket that has been idle for a while is
 * therefore parked here: its owner drops its own source, and the socket
 * joins an epoll set that this one source polls as one descriptor. When
 * a parked socket becomes readable (its server closed it, or said
 * something unasked, which on an idle HTTP/1.1 connection is as final)
 * it leaves the set and its owner hears of it. A socket taken back into
 * use before its delay is over costs nothing but a list link.
 *
 * There is one watch per main context, shared by whoever asks for it
 * there; it lives as long as someone holds it.
 */

enum {
  SOCKET_OFF,
  SOCKET_WAITING,
  SOCKET_PARKED,
};

struct _CfIdleWatch
{
  GSource       source;
  GMainContext *context;
  guint         holders;
  int           epoll_fd;
  gpointer      epoll_tag;
  /* Sockets not parked yet, by due time */
  GQueue        waiting;
  guint         n_parked;
};

static GMutex watches_lock;
static GHashTable *watches;

static gboolean
watch_prepare (GSource *source,
               gint    *timeout)
{
  CfIdleWatch *self = (CfIdleWatch *) source;
  CfIdleSocket *first;
  gint64 now;

  *timeout = -1;
  if (self->waiting.head == NULL)
    return FALSE;
  first = self->waiting.head->data;
  now = g_source_get_time (source);
  if (first->due <= now)
    return TRUE;
  *timeout = (gint) MIN ((first->due - now + 999) / 1000, G_MAXINT);
  return FALSE;
}

static gboolean
watch_check (GSource *source)
{
  CfIdleWatch *self = (CfIdleWatch *) source;

  if (g_source_query_unix_fd (source, self->epoll_tag) != 0)
    return TRUE;
  return self->waiting.head != NULL &&
         ((CfIdleSocket *) self->waiting.head->data)->due <= g_source_get_time (source);
}

/* Moves @socket into the epoll set; FALSE (and nothing changed) when
 * the kernel refuses, in which case its owner goes on watching it. */
static gboolean
park_socket (CfIdleWatch  *self,
             CfIdleSocket *socket)
{
  struct epoll_event event = { .events = EPOLLIN | EPOLLRDHUP, .data.ptr = socket };

  g_queue_unlink (&self->waiting, &socket->link);
  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_ADD, socket->fd, &event) < 0)
    {
      g_debug ("Cannot park idle socket %d: %s", socket->fd, g_strerror (errno));
      socket->state = SOCKET_OFF;
      return FALSE;
    }
  socket->state = SOCKET_PARKED;
  self->n_parked++;
  return TRUE;
}

static void
unpark_socket (CfIdleWatch  *self,
               CfIdleSocket *socket)
{
  /* The socket is open (its owner closes it after this), so this does
   * not fail but for a bug. */
  if (epoll_ctl (self->epoll_fd, EPOLL_CTL_DEL, socket->fd, NULL) < 0)
    g_warning ("Cannot unpark idle socket %d: %s", socket->fd, g_strerror (errno));
  socket->state = SOCKET_OFF;
  self->n_parked--;
}

static gboolean
watch_dispatch (GSource    *source,
                GSourceFunc callback,
                gpointer    user_data)
{
  CfIdleWatch *self = (CfIdleWatch *) source;
  gint64 now = g_source_get_time (source);
  guint budget;

  while (self->waiting.head != NULL)
    {
      CfIdleSocket *socket = self->waiting.head->data;

      if (socket->due > now)
        break;
      if (park_socket (self, socket))
        socket->park (socket, socket->user_data);
    }

  /* One event at a time: an owner told of its socket may close others
   * (its last reference going), which a batch would still point to.
   * Each socket leaves the set as it is reported, so this ends. */
  for (budget = self->n_parked; budget > 0; budget--)
    {
      struct epoll_event event;
      CfIdleSocket *socket;
      int n = epoll_wait (self->epoll_fd, &event, 1, 0);

      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0)
        break;
      socket = event.data.ptr;
      unpark_socket (self, socket);
      socket->ready (socket, socket->user_data);
    }
  return G_SOURCE_CONTINUE;
}

static void
watch_finalize (GSource *source)
{
  CfIdleWatch *self = (CfIdleWatch *) source;

  g_assert (self->waiting.length == 0 && self->n_parked == 0);
  close (self->epoll_fd);
  g_main_context_unref (self->context);
}

static GSourceFuncs watch_funcs = {
  watch_prepare,
  watch_check,
  watch_dispatch,
  watch_finalize,
  NULL, NULL,
};

/**
 * cf_idle_watch_get_for_context:
 * @context: (nullable): a main context, %NULL for the global default
 *
 * Returns: (transfer full): the watch of @context, made on first use;
 *   cf_idle_watch_release() when done
 */
CfIdleWatch *
cf_idle_watch_get_for_context (GMainContext *context)
{
  CfIdleWatch *self;
  int epoll_fd;

  if (context == NULL)
    context = g_main_context_default ();

  g_mutex_lock (&watches_lock);
  if (watches == NULL)
    watches = g_hash_table_new (NULL, NULL);
  self = g_hash_table_lookup (watches, context);
  if (self != NULL)
    {
      self->holders++;
      g_mutex_unlock (&watches_lock);
      return self;
    }

  epoll_fd = epoll_create1 (EPOLL_CLOEXEC);
  if (epoll_fd < 0)
    g_error ("epoll_create1() failed: %s", g_strerror (errno));
  self = (CfIdleWatch *) g_source_new (&watch_funcs, sizeof (CfIdleWatch));
  self->context = g_main_context_ref (context);
  self->holders = 1;
  self->epoll_fd = epoll_fd;
  self->epoll_tag = g_source_add_unix_fd ((GSource *) self, epoll_fd, G_IO_IN);
  g_queue_init (&self->waiting);
  g_source_set_name ((GSource *) self, "[cf-idle-watch]");
  g_source_attach ((GSource *) self, context);
  g_hash_table_insert (watches, context, self);
  g_mutex_unlock (&watches_lock);
  return self;
}

/**
 * cf_idle_watch_release:
 *
 * Lets go of a watch from cf_idle_watch_get_for_context(). Every socket
 * added must have been removed.
 */
void
cf_idle_watch_release (CfIdleWatch *self)
{
  g_mutex_lock (&watches_lock);
  if (--self->holders > 0)
    {
      g_mutex_unlock (&watches_lock);
      return;
    }
  g_hash_table_remove (watches, self->context);
  g_mutex_unlock (&watches_lock);
  g_source_destroy ((GSource *) self);
  g_source_unref ((GSource *) self);
}

/**
 * cf_idle_socket_init:
 * @socket: the place to set up
 * @fd: the socket's descriptor
 * @park: called when the socket is parked: its owner stops watching it
 * @ready: called when a parked socket became readable or was closed,
 *   having left the watch
 * @user_data: closure data for both
 */
void
cf_idle_socket_init (CfIdleSocket     *socket,
                     int               fd,
                     CfIdleSocketFunc  park,
                     CfIdleSocketFunc  ready,
                     gpointer          user_data)
{
  memset (socket, 0, sizeof *socket);
  socket->link.data = socket;
  socket->fd = fd;
  socket->state = SOCKET_OFF;
  socket->park = park;
  socket->ready = ready;
  socket->user_data = user_data;
}

/**
 * cf_idle_watch_add:
 * @socket: an idle socket that is not in the watch
 * @delay_ms: how long it stays with its owner's watch before it is
 *   parked
 *
 * Takes a socket that just went idle. Run from @self's context.
 */
void
cf_idle_watch_add (CfIdleWatch  *self,
                   CfIdleSocket *socket,
                   guint         delay_ms)
{
  GList *after;

  g_return_if_fail (socket->state == SOCKET_OFF);

  socket->due = g_source_get_time ((GSource *) self) + (gint64) delay_ms * 1000;
  socket->state = SOCKET_WAITING;
  /* Delays are alike, so the place is nearly always the end. */
  for (after = self->waiting.tail;
       after != NULL && ((CfIdleSocket *) after->data)->due > socket->due;
       after = after->prev)
    ;
  if (after == NULL)
    g_queue_push_head_link (&self->waiting, &socket->link);
  else
    g_queue_insert_after_link (&self->waiting, after, &socket->link);
}

/**
 * cf_idle_watch_remove:
 * @socket: a socket, in the watch or not
 *
 * Takes a socket out of the watch, to use or to close it.
 *
 * Returns: whether it was parked, and so unwatched by its owner
 */
gboolean
cf_idle_watch_remove (CfIdleWatch  *self,
                      CfIdleSocket *socket)
{
  switch (socket->state)
    {
    case SOCKET_WAITING:
      g_queue_unlink (&self->waiting, &socket->link);
      socket->state = SOCKET_OFF;
      return FALSE;
    case SOCKET_PARKED:
      unpark_socket (self, socket);
      return TRUE;
    default:
      return FALSE;
    }
}

/**
 * cf_idle_socket_is_parked:
 *
 * Returns: whether @socket is in the epoll set
 */
gboolean
cf_idle_socket_is_parked (CfIdleSocket *socket)
{
  return socket->state == SOCKET_PARKED;
}
