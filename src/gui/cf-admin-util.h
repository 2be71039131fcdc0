/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

G_BEGIN_DECLS

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

G_END_DECLS
