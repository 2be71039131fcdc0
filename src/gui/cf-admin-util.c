/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-util"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-admin-util.h"

/* Helpers every page of the admin app shares. */

/**
 * cf_admin_toast:
 * @widget: a widget inside the window's #AdwToastOverlay
 * @message: what to tell
 */
void
cf_admin_toast (GtkWidget  *widget,
                const char *message)
{
  GtkWidget *overlay = gtk_widget_get_ancestor (widget, ADW_TYPE_TOAST_OVERLAY);
  g_autofree char *escaped = NULL;
  AdwToast *toast;

  g_return_if_fail (GTK_IS_WIDGET (widget));

  if (overlay == NULL)
    {
      g_message ("%s", message);
      return;
    }
  /* A toast's title is markup, and a server's message may hold any text. */
  escaped = g_markup_escape_text (message, -1);
  toast = adw_toast_new (escaped);
  adw_toast_set_timeout (toast, 5);
  adw_toast_overlay_add_toast (ADW_TOAST_OVERLAY (overlay), toast);
}

/**
 * cf_admin_toast_error:
 * @widget: a widget inside the window's #AdwToastOverlay
 * @what: what failed, such as "Could not add the gateway"
 * @error: the error, whose message is the server's
 */
void
cf_admin_toast_error (GtkWidget    *widget,
                      const char   *what,
                      const GError *error)
{
  /* Translators: the first %s is what failed, the second the server's reason */
  g_autofree char *text = g_strdup_printf (_("%s: %s"), what, error->message);

  cf_admin_toast (widget, text);
}

/**
 * cf_admin_copy:
 * @widget: the widget the copy comes from
 * @text: what to put on the clipboard
 */
void
cf_admin_copy (GtkWidget  *widget,
               const char *text)
{
  gdk_clipboard_set_text (gtk_widget_get_clipboard (widget), text);
  cf_admin_toast (widget, _("Copied to the clipboard"));
}

void
cf_admin_list_box_clear (GtkListBox *list)
{
  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (list))) != NULL)
    gtk_list_box_remove (list, child);
}

/**
 * cf_admin_lookup_string:
 *
 * Returns: (transfer none): the string under @key of an a{sv}, or ""
 */
const char *
cf_admin_lookup_string (GVariant   *dict,
                        const char *key)
{
  const char *value = NULL;

  if (!g_variant_lookup (dict, key, "&s", &value))
    return "";
  return value;
}

gboolean
cf_admin_lookup_bool (GVariant   *dict,
                      const char *key)
{
  gboolean value = FALSE;

  g_variant_lookup (dict, key, "b", &value);
  return value;
}

guint
cf_admin_lookup_uint (GVariant   *dict,
                      const char *key)
{
  guint32 value = 0;

  g_variant_lookup (dict, key, "u", &value);
  return value;
}

/**
 * cf_admin_icon_button:
 *
 * Returns: (transfer floating): a flat, round icon button for a row's end
 */
GtkWidget *
cf_admin_icon_button (const char *icon_name,
                      const char *tooltip,
                      const char *widget_name)
{
  GtkWidget *button = gtk_button_new_from_icon_name (icon_name);

  gtk_widget_set_tooltip_text (button, tooltip);
  gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
  gtk_widget_add_css_class (button, "flat");
  if (widget_name != NULL)
    gtk_widget_set_name (button, widget_name);
  gtk_accessible_update_property (GTK_ACCESSIBLE (button), GTK_ACCESSIBLE_PROPERTY_LABEL,
                                  tooltip, -1);
  return button;
}

gboolean
cf_admin_error_is_cancelled (const GError *error)
{
  return g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
}
