/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CfIdleWatch CfIdleWatch;
typedef struct _CfIdleSocket CfIdleSocket;

/**
 * CfIdleSocketFunc:
 * @socket: the socket
 * @user_data: what cf_idle_socket_init() was given
 */
typedef void (*CfIdleSocketFunc) (CfIdleSocket *socket,
                                  gpointer      user_data);

/**
 * CfIdleSocket:
 *
 * A socket's place in a #CfIdleWatch, embedded in its owner. Private.
 */
struct _CfIdleSocket
{
  /*< private >*/
  GList            link;
  gint64           due;
  int              fd;
  guint            state;
  CfIdleSocketFunc park;
  CfIdleSocketFunc ready;
  gpointer         user_data;
};

void         cf_idle_socket_init           (CfIdleSocket     *socket,
                                            int               fd,
                                            CfIdleSocketFunc  park,
                                            CfIdleSocketFunc  ready,
                                            gpointer          user_data);

CfIdleWatch *cf_idle_watch_get_for_context (GMainContext     *context);
void         cf_idle_watch_release         (CfIdleWatch      *self);
void         cf_idle_watch_add             (CfIdleWatch      *self,
                                            CfIdleSocket     *socket,
                                            guint             delay_ms);
gboolean     cf_idle_watch_remove          (CfIdleWatch      *self,
                                            CfIdleSocket     *socket);
gboolean     cf_idle_socket_is_parked      (CfIdleSocket     *socket);

G_END_DECLS
