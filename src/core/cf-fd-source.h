/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CfFdSource CfFdSource;

/**
 * CfFdSourceFunc:
 * @user_data: closure data
 * @revents: what the descriptor is ready for; 0 when @expired
 * @expired: whether the deadline passed with the descriptor not ready
 *
 * Called from the source's dispatch: the source stays attached.
 */
typedef void (*CfFdSourceFunc) (gpointer     user_data,
                                GIOCondition revents,
                                gboolean     expired);

CfFdSource *cf_fd_source_new          (int             fd,
                                       const char     *static_name,
                                       GMainContext   *context,
                                       CfFdSourceFunc  func,
                                       gpointer        user_data);
void        cf_fd_source_set_events   (CfFdSource     *self,
                                       GIOCondition    events);
void        cf_fd_source_set_deadline (CfFdSource     *self,
                                       gint64          deadline);
void        cf_fd_source_free         (CfFdSource     *self);

G_END_DECLS
