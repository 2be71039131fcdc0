/* SPDX-License-Identifier: Apache-2.0 */
/* CfFdSource: readiness, deadlines, dispatches that cost the context no
 * wake-up, and a context iterated from inside the callback. Real
 * descriptors (a socket pair), a private main context. */

#include "config.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cf-fd-source.h"

typedef struct {
  GMainContext *context;
  CfFdSource   *source;
  int           fds[2];
  guint         calls;
  guint         depth;
  guint         max_depth;
  GIOCondition  revents;
  gboolean      expired;
  gboolean      consume;
  guint         nested_iterations;
} Fixture;

static void
on_ready (gpointer     user_data,
          GIOCondition revents,
          gboolean     expired)
{
  Fixture *f = user_data;

  f->calls++;
  f->depth++;
  f->max_depth = MAX (f->max_depth, f->depth);
  f->revents = revents;
  f->expired = expired;

  /* Iterate the context again from inside the callback, with the
   * descriptor still readable: the source must neither run again nor
   * keep the nested iteration busy. */
  for (guint i = 0; i < f->nested_iterations; i++)
    g_main_context_iteration (f->context, FALSE);

  if (f->consume && (revents & G_IO_IN))
    {
      char byte;

      g_assert_cmpint (read (f->fds[0], &byte, 1), ==, 1);
    }
  f->depth--;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_assert_cmpint (socketpair (AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, f->fds),
                   ==, 0);
  f->context = g_main_context_new ();
  f->source = cf_fd_source_new (f->fds[0], "[test] fd source", f->context, on_ready, f);
  f->consume = TRUE;
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_pointer (&f->source, cf_fd_source_free);
  g_main_context_unref (f->context);
  close (f->fds[0]);
  close (f->fds[1]);
}

/* Iterates without blocking until nothing is dispatched, at most 100
 * times. */
static void
drain (Fixture *f)
{
  for (guint i = 0; i < 100 && g_main_context_iteration (f->context, FALSE); i++)
    ;
}

static void
test_readiness (Fixture       *f,
                gconstpointer  data)
{
  drain (f);
  g_assert_cmpuint (f->calls, ==, 0);

  /* Not waiting for input: a byte is not news. */
  g_assert_cmpint (write (f->fds[1], "x", 1), ==, 1);
  drain (f);
  g_assert_cmpuint (f->calls, ==, 0);

  cf_fd_source_set_events (f->source, G_IO_IN);
  drain (f);
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_true (f->revents & G_IO_IN);
  g_assert_false (f->expired);

  /* Consumed: quiet again. */
  drain (f);
  g_assert_cmpuint (f->calls, ==, 1);
}

static void
test_deadline (Fixture       *f,
               gconstpointer  data)
{
  gint64 start = g_get_monotonic_time ();

  cf_fd_source_set_events (f->source, G_IO_IN);
  cf_fd_source_set_deadline (f->source, start + 20 * G_TIME_SPAN_MILLISECOND);
  /* Blocks until the deadline: the source's prepare() gave the timeout. */
  for (guint i = 0; i < 100 && f->calls == 0; i++)
    g_main_context_iteration (f->context, TRUE);
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_true (f->expired);
  g_assert_cmpuint (f->revents, ==, 0);
  g_assert_cmpint (g_get_monotonic_time () - start, >=, 20 * G_TIME_SPAN_MILLISECOND);

  cf_fd_source_set_deadline (f->source, 0);
  drain (f);
  g_assert_cmpuint (f->calls, ==, 1);
}

/* Whether any descriptor of @context, its wake-up descriptor included, is
 * ready now. */
static gboolean
context_has_news (GMainContext *context)
{
  GPollFD fds[16];
  int priority, timeout, n;
  gboolean ready = FALSE;

  g_assert_true (g_main_context_acquire (context));
  g_main_context_prepare (context, &priority);
  n = g_main_context_query (context, priority, &timeout, fds, G_N_ELEMENTS (fds));
  g_assert_cmpint (n, <=, (int) G_N_ELEMENTS (fds));
  for (int i = 0; i < n; i++)
    fds[i].revents = 0;
  if (poll ((struct pollfd *) fds, n, 0) > 0)
    for (int i = 0; i < n; i++)
      ready = ready || fds[i].revents != 0;
  g_main_context_check (context, priority, fds, n);
  g_main_context_release (context);
  return ready;
}

static void
test_dispatch_without_wakeup (Fixture       *f,
                              gconstpointer  data)
{
  cf_fd_source_set_events (f->source, G_IO_IN);
  drain (f);
  g_assert_false (context_has_news (f->context));

  for (guint round = 0; round < 3; round++)
    {
      g_assert_cmpint (write (f->fds[1], "x", 1), ==, 1);
      g_assert_true (g_main_context_iteration (f->context, FALSE));
      g_assert_cmpuint (f->calls, ==, round + 1);
      /* A source GLib blocks for its dispatch leaves the context's
       * wake-up descriptor signalled, twice: one more poll and two more
       * system calls per dispatch. */
      g_assert_false (context_has_news (f->context));
    }
}

static void
test_nested_iteration (Fixture       *f,
                       gconstpointer  data)
{
  f->nested_iterations = 5;
  f->consume = FALSE;
  cf_fd_source_set_events (f->source, G_IO_IN);
  g_assert_cmpint (write (f->fds[1], "x", 1), ==, 1);

  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_cmpuint (f->max_depth, ==, 1);

  /* Back outside, the byte still waits: the source is armed again. */
  f->nested_iterations = 0;
  f->consume = TRUE;
  g_assert_true (g_main_context_iteration (f->context, FALSE));
  g_assert_cmpuint (f->calls, ==, 2);
  drain (f);
  g_assert_cmpuint (f->calls, ==, 2);
  g_assert_false (context_has_news (f->context));
}

static void
free_from_callback (gpointer     user_data,
                    GIOCondition revents,
                    gboolean     expired)
{
  Fixture *f = user_data;

  f->calls++;
  /* Nested, then destroyed while blocked. */
  g_main_context_iteration (f->context, FALSE);
  g_clear_pointer (&f->source, cf_fd_source_free);
}

static void
test_free_from_callback (Fixture       *f,
                         gconstpointer  data)
{
  g_clear_pointer (&f->source, cf_fd_source_free);
  f->source = cf_fd_source_new (f->fds[0], "[test] fd source", f->context, free_from_callback, f);
  cf_fd_source_set_events (f->source, G_IO_IN);
  g_assert_cmpint (write (f->fds[1], "x", 1), ==, 1);
  drain (f);
  g_assert_cmpuint (f->calls, ==, 1);
  g_assert_null (f->source);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add ("/fd-source/readiness", Fixture, NULL, fixture_set_up, test_readiness,
              fixture_tear_down);
  g_test_add ("/fd-source/deadline", Fixture, NULL, fixture_set_up, test_deadline,
              fixture_tear_down);
  g_test_add ("/fd-source/dispatch-without-wakeup", Fixture, NULL, fixture_set_up,
              test_dispatch_without_wakeup, fixture_tear_down);
  g_test_add ("/fd-source/nested-iteration", Fixture, NULL, fixture_set_up,
              test_nested_iteration, fixture_tear_down);
  g_test_add ("/fd-source/free-from-callback", Fixture, NULL, fixture_set_up,
              test_free_from_callback, fixture_tear_down);
  return g_test_run ();
}
