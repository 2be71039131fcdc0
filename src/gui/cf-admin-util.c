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

/**
 * cf_admin_list_box_fill:
 * @list: the list to fill
 * @entries: an array of a{sv} the backend answered
 * @make_row: builds the row of one entry
 * @user_data: for @make_row
 *
 * Replaces the rows of @list with one row for each of @entries.
 *
 * Returns: how many rows @list now has
 */
gsize
cf_admin_list_box_fill (GtkListBox     *list,
                        GVariant       *entries,
                        CfAdminRowFunc  make_row,
                        gpointer        user_data)
{
  gsize n_entries = g_variant_n_children (entries);

  cf_admin_list_box_clear (list);
  for (gsize i = 0; i < n_entries; i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (entries, i);

      gtk_list_box_append (list, make_row (entry, user_data));
    }
  return n_entries;
}

/**
 * cf_admin_list_show:
 * @stack: a stack with a "list" page holding @list and an "empty" page
 * @list: the list to fill
 * @entries: an array of a{sv} the backend answered
 * @make_row: builds the row of one entry
 * @user_data: for @make_row
 *
 * Fills @list as cf_admin_list_box_fill() does, then shows it, or the
 * empty state when there is nothing to list.
 */
void
cf_admin_list_show (GtkStack       *stack,
                    GtkListBox     *list,
                    GVariant       *entries,
                    CfAdminRowFunc  make_row,
                    gpointer        user_data)
{
  gsize n_rows = cf_admin_list_box_fill (list, entries, make_row, user_data);

  gtk_stack_set_visible_child_name (stack, n_rows > 0 ? "list" : "empty");
}

/**
 * cf_admin_finish_list:
 * @source: the #CfAdminBackend that answered
 * @result: its result
 * @widget: a widget inside the window's #AdwToastOverlay
 * @what: (nullable): what failed, such as "Could not list the tools", for
 *   the toast; %NULL to say nothing
 *
 * Finishes a call whose first out-argument is a list. A cancelled call
 * says nothing: its page is going away.
 *
 * Returns: (transfer full) (nullable): the list, or %NULL when the call failed
 */
GVariant *
cf_admin_finish_list (GObject      *source,
                      GAsyncResult *result,
                      GtkWidget    *widget,
                      const char   *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  if (reply == NULL)
    {
      if (what != NULL && !cf_admin_error_is_cancelled (error))
        cf_admin_toast_error (widget, what, error);
      return NULL;
    }
  return g_variant_get_child_value (reply, 0);
}

/* A call whose answer goes to a toast: it names what was asked. */
typedef struct {
  GtkWidget          *page;
  char               *what;      /* for the error toast */
  char               *done;      /* for the success toast; may be NULL */
  CfAdminRefreshFunc  refresh;   /* may be NULL */
} Pending;

static void
pending_free (Pending *pending)
{
  g_free (pending->what);
  g_free (pending->done);
  g_free (pending);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Pending, pending_free)

static void
on_called (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(Pending) pending = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  /* The page may be gone: touch nothing of it. */
  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    cf_admin_toast_error (pending->page, pending->what, error);
  else if (pending->done != NULL)
    cf_admin_toast (pending->page, pending->done);
  if (pending->refresh != NULL)
    pending->refresh (pending->page);
}

/**
 * cf_admin_call:
 * @page: the page that asks, inside the window's #AdwToastOverlay
 * @backend: the gateway to ask
 * @method: the method of the D-Bus interface to call
 * @parameters: (nullable): its in-arguments, a floating tuple or %NULL
 * @cancellable: the page's, cancelled when it goes away
 * @what: what failed, such as "Could not remove the gateway", for the toast
 *   on an error with the server's message
 * @done: (nullable): what to tell on success, or %NULL for nothing
 * @refresh: (nullable): called with @page once the call is over, whether
 *   it failed or not, unless it was cancelled
 *
 * Calls @method and tells how it went: the usual change of one entry from
 * a row's button or switch.
 */
void
cf_admin_call (GtkWidget          *page,
               CfAdminBackend     *backend,
               const char         *method,
               GVariant           *parameters,
               GCancellable       *cancellable,
               const char         *what,
               const char         *done,
               CfAdminRefreshFunc  refresh)
{
  Pending *pending = g_new0 (Pending, 1);

  pending->page = page;
  pending->what = g_strdup (what);
  pending->done = g_strdup (done);
  pending->refresh = refresh;
  cf_admin_backend_call_async (backend, method, parameters, cancellable, on_called, pending);
}

/**
 * cf_admin_row_add_button:
 * @row: the row
 * @button: (transfer floating): a button for the row's end
 * @key: the name under which @button carries @value
 * @value: what @on_clicked needs to know, such as the entry's id
 * @on_clicked: the button's #GtkButton::clicked handler
 * @user_data: for @on_clicked
 *
 * Returns: (transfer none): @button, now at the end of @row
 */
GtkWidget *
cf_admin_row_add_button (AdwActionRow *row,
                         GtkWidget    *button,
                         const char   *key,
                         const char   *value,
                         GCallback     on_clicked,
                         gpointer      user_data)
{
  g_object_set_data_full (G_OBJECT (button), key, g_strdup (value), g_free);
  g_signal_connect (button, "clicked", on_clicked, user_data);
  adw_action_row_add_suffix (row, button);
  return button;
}

/**
 * cf_admin_row_add_switch:
 * @row: the row
 * @active: whether the switch starts on
 * @tooltip: what the switch does
 * @key: the name under which the switch carries @value
 * @value: what @on_changed needs to know, such as the entry's id
 * @on_changed: the handler of the switch's notify::active, connected
 *   once it shows @active, so that only the user's flips reach it
 * @user_data: for @on_changed
 *
 * Returns: (transfer none): the switch, now at the end of @row
 */
GtkWidget *
cf_admin_row_add_switch (AdwActionRow *row,
                         gboolean      active,
                         const char   *tooltip,
                         const char   *key,
                         const char   *value,
                         GCallback     on_changed,
                         gpointer      user_data)
{
  GtkWidget *toggle = gtk_switch_new ();

  gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
  gtk_widget_set_tooltip_text (toggle, tooltip);
  gtk_switch_set_active (GTK_SWITCH (toggle), active);
  g_object_set_data_full (G_OBJECT (toggle), key, g_strdup (value), g_free);
  g_signal_connect (toggle, "notify::active", on_changed, user_data);
  adw_action_row_add_suffix (row, toggle);
  return toggle;
}

/**
 * cf_admin_release_backend:
 * @page: the page that follows @backend
 * @backend: the page's backend; cleared
 * @cancellable: the page's cancellable; cancelled and cleared
 *
 * What a page's dispose does with its backend: stop its calls, stop
 * following its signals and let it go.
 */
void
cf_admin_release_backend (gpointer         page,
                          CfAdminBackend **backend,
                          GCancellable   **cancellable)
{
  g_cancellable_cancel (*cancellable);
  if (*backend != NULL)
    g_signal_handlers_disconnect_by_data (*backend, page);
  g_clear_object (backend);
  g_clear_object (cancellable);
}
