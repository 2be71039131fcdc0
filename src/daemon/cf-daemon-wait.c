/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-daemon-wait"

#include "config.h"

#include "cf-daemon-wait.h"

/**
 * cf_daemon_wait_init:
 * @wait: a #CfDaemonWait to set up
 *
 * Gives @wait a new main loop on the thread-default context and no result.
 */
void
cf_daemon_wait_init (CfDaemonWait *wait)
{
  g_return_if_fail (wait != NULL);

  wait->loop = g_main_loop_new (NULL, FALSE);
  wait->result = NULL;
}

/**
 * cf_daemon_wait_done:
 * @source: the object the call ran on
 * @result: the call's result
 * @user_data: the #CfDaemonWait
 *
 * The #GAsyncReadyCallback to pass with a #CfDaemonWait: keeps @result
 * and stops the loop.
 */
void
cf_daemon_wait_done (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  CfDaemonWait *wait = user_data;

  g_set_object (&wait->result, result);
  g_main_loop_quit (wait->loop);
}

/**
 * cf_daemon_wait_run:
 * @wait: a #CfDaemonWait passed to an `_async` call just started
 *
 * Drops the previous call's result and runs the loop until the call
 * started with cf_daemon_wait_done() finishes.
 *
 * Returns: (transfer none): the call's result, for its `_finish`
 */
GAsyncResult *
cf_daemon_wait_run (CfDaemonWait *wait)
{
  g_return_val_if_fail (wait != NULL, NULL);

  g_clear_object (&wait->result);
  g_main_loop_run (wait->loop);
  return wait->result;
}

/**
 * cf_daemon_wait_clear:
 * @wait: a #CfDaemonWait
 *
 * Frees the loop and the last result.
 */
void
cf_daemon_wait_clear (CfDaemonWait *wait)
{
  g_return_if_fail (wait != NULL);

  g_clear_object (&wait->result);
  g_clear_pointer (&wait->loop, g_main_loop_unref);
}
