/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

/**
 * CfAdminRowFunc:
 * @entry: one entry of a list the backend answered, an a{sv}
 * @user_data: what was passed along
 *
 * Returns: (transfer floating): the row that shows @entry
 */
typedef GtkWidget *(*CfAdminRowFunc) (GVariant *entry,
                                      gpointer  user_data);

/**
 * CfAdminRefreshFunc:
 * @page: the page whose lists to load again
 */
typedef void (*CfAdminRefreshFunc) (gpointer page);

void        cf_admin_toast             (GtkWidget    *widget,
                                        const char   *message);
void        cf_admin_toast_error       (GtkWidget    *widget,
                                        const char   *what,
                                        const GError *error);
void        cf_admin_copy              (GtkWidget    *widget,
                                        const char   *text);
void        cf_admin_list_box_clear    (GtkListBox   *list);
const char *cf_admin_lookup_string     (GVariant     *dict,
                                        const char   *key);
gboolean    cf_admin_lookup_bool       (GVariant     *dict,
                                        const char   *key);
guint       cf_admin_lookup_uint       (GVariant     *dict,
                                        const char   *key);
GtkWidget  *cf_admin_icon_button       (const char   *icon_name,
                                        const char   *tooltip,
                                        const char   *widget_name);
gboolean    cf_admin_error_is_cancelled (const GError *error);
gsize       cf_admin_list_box_fill     (GtkListBox     *list,
                                        GVariant       *entries,
                                        CfAdminRowFunc  make_row,
                                        gpointer        user_data);
void        cf_admin_list_show         (GtkStack       *stack,
                                        GtkListBox     *list,
                                        GVariant       *entries,
                                        CfAdminRowFunc  make_row,
                                        gpointer        user_data);
GVariant   *cf_admin_finish_list       (GObject        *source,
                                        GAsyncResult   *result,
                                        GtkWidget      *widget,
                                        const char     *what);
void        cf_admin_call              (GtkWidget          *page,
                                        CfAdminBackend     *backend,
                                        const char         *method,
                                        GVariant           *parameters,
                                        GCancellable       *cancellable,
                                        const char         *what,
                                        const char         *done,
                                        CfAdminRefreshFunc  refresh);
GtkWidget  *cf_admin_row_add_button    (AdwActionRow   *row,
                                        GtkWidget      *button,
                                        const char     *key,
                                        const char     *value,
                                        GCallback       on_clicked,
                                        gpointer        user_data);
GtkWidget  *cf_admin_row_add_switch    (AdwActionRow   *row,
                                        gboolean        active,
                                        const char     *tooltip,
                                        const char     *key,
                                        const char     *value,
                                        GCallback       on_changed,
                                        gpointer        user_data);
void        cf_admin_release_backend   (gpointer         page,
                                        CfAdminBackend **backend,
                                        GCancellable   **cancellable);

G_END_DECLS
