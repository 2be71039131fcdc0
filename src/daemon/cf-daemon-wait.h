/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

/**
 * CfDaemonWait:
 * @loop: the main loop run while waiting
 * @result: the last finished call's result, or %NULL
 *
 * Lets a command-line subcommand (probe, token) call an `_async` function
 * and wait for it on a main loop, since their work is one call after
 * another. Pass cf_daemon_wait_done() and the #CfDaemonWait as the
 * callback and its data, then get the result with cf_daemon_wait_run().
 */
typedef struct {
  GMainLoop    *loop;
  GAsyncResult *result;
} CfDaemonWait;

void          cf_daemon_wait_init  (CfDaemonWait *wait);
void          cf_daemon_wait_done  (GObject      *source,
                                    GAsyncResult *result,
                                    gpointer      user_data);
GAsyncResult *cf_daemon_wait_run   (CfDaemonWait *wait);
void          cf_daemon_wait_clear (CfDaemonWait *wait);

G_END_DECLS
