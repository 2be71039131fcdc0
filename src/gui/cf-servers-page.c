/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-servers-page"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-admin-util.h"
#include "cf-servers-page.h"

/**
 * CfServersPage:
 *
 * Virtual servers: the composed ones with their endpoints to copy, and
 * a form to compose one from picked tools.
 */
struct _CfServersPage
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;

  GtkStack       *list_stack;
  GtkListBox     *list;
  AdwEntryRow    *name_row;
  AdwEntryRow    *description_row;
  GtkButton      *compose_button;
  GtkStack       *tools_stack;
  GtkListBox     *tools_list;
};

G_DEFINE_FINAL_TYPE (CfServersPage, cf_servers_page, ADW_TYPE_BIN)

static void refresh (CfServersPage *self);

static void
on_copy_clicked (GtkButton     *button,
                 CfServersPage *self)
{
  cf_admin_copy (GTK_WIDGET (self), g_object_get_data (G_OBJECT (button), "server-url"));
}

static void
change (CfServersPage *self,
        const char    *method,
        GVariant      *parameters)
{
  cf_admin_call (GTK_WIDGET (self), self->backend, method, parameters, self->cancellable,
                 _("Could not change the server"), NULL, (CfAdminRefreshFunc) refresh);
}

static void
on_delete_clicked (GtkButton     *button,
                   CfServersPage *self)
{
  change (self, "DeleteServer",
          g_variant_new ("(s)", g_object_get_data (G_OBJECT (button), "server-id")));
}

static void
on_enabled_changed (GtkSwitch     *toggle,
                    GParamSpec    *pspec,
                    CfServersPage *self)
{
  change (self, "SetServerEnabled",
          g_variant_new ("(sb)", g_object_get_data (G_OBJECT (toggle), "server-id"),
                         gtk_switch_get_active (toggle)));
}

static GtkWidget *
server_row (GVariant *server,
            gpointer  user_data)
{
  CfServersPage *self = user_data;
  const char *id = cf_admin_lookup_string (server, "id");
  const char *name = cf_admin_lookup_string (server, "name");
  const char *url = cf_admin_lookup_string (server, "url");
  g_autofree const char **tools = NULL;
  guint n_tools = 0;
  g_autofree char *count = NULL;
  g_autofree char *escaped_name = g_markup_escape_text (name, -1);
  g_autofree char *subtitle = NULL;
  g_autofree char *row_name = g_strconcat ("server-", name, NULL);
  g_autofree char *copy_name = g_strconcat ("copy-server-", name, NULL);
  g_autofree char *delete_name = g_strconcat ("delete-server-", name, NULL);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *copy = cf_admin_icon_button ("edit-copy-symbolic", _("Copy the endpoint"), copy_name);
  GtkWidget *remove = cf_admin_icon_button ("user-trash-symbolic", _("Delete"), delete_name);

  if (g_variant_lookup (server, "tools", "^a&s", &tools))
    n_tools = g_strv_length ((char **) tools);
  count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u tool", "%u tools", n_tools), n_tools);
  subtitle = g_markup_printf_escaped ("%s\n%s", url, count);

  gtk_widget_set_name (row, row_name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), escaped_name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_widget_add_css_class (row, "property");

  cf_admin_row_add_button (ADW_ACTION_ROW (row), copy, "server-url", url,
                           G_CALLBACK (on_copy_clicked), self);
  cf_admin_row_add_button (ADW_ACTION_ROW (row), remove, "server-id", id,
                           G_CALLBACK (on_delete_clicked), self);
  cf_admin_row_add_switch (ADW_ACTION_ROW (row), cf_admin_lookup_bool (server, "enabled"),
                           _("Serve this endpoint"), "server-id", id,
                           G_CALLBACK (on_enabled_changed), self);
  return row;
}

static void
on_servers (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  CfServersPage *self = user_data;
  g_autoptr(GVariant) servers = cf_admin_finish_list (source, result, GTK_WIDGET (self),
                                                      _("Could not list the servers"));

  if (servers != NULL)
    cf_admin_list_show (self->list_stack, self->list, servers, server_row, self);
}

static GtkWidget *
pick_row (GVariant *tool,
          gpointer  user_data)
{
  const char *name = cf_admin_lookup_string (tool, "name");
  g_autofree char *escaped = g_markup_escape_text (name, -1);
  g_autofree char *check_name = g_strconcat ("pick-", name, NULL);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *check = gtk_check_button_new ();

  gtk_widget_set_name (check, check_name);
  gtk_widget_set_valign (check, GTK_ALIGN_CENTER);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), escaped);
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), check);
  adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), check);
  g_object_set_data_full (G_OBJECT (row), "tool-id",
                          g_strdup (cf_admin_lookup_string (tool, "id")), g_free);
  g_object_set_data (G_OBJECT (row), "check", check);
  return row;
}

/* Without the tools there is nothing to pick: the list above says why. */
static void
on_tools (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  CfServersPage *self = user_data;
  g_autoptr(GVariant) tools = cf_admin_finish_list (source, result, GTK_WIDGET (self), NULL);

  if (tools != NULL)
    cf_admin_list_show (self->tools_stack, self->tools_list, tools, pick_row, NULL);
}

static void
refresh (CfServersPage *self)
{
  cf_admin_backend_call_async (self->backend, "ListServers", NULL, self->cancellable,
                               on_servers, self);
}

static void
refresh_tools (CfServersPage *self)
{
  cf_admin_backend_call_async (self->backend, "ListTools", NULL, self->cancellable, on_tools,
                               self);
}

static void
on_catalog_changed (CfAdminBackend *backend,
                    const char     *kind,
                    CfServersPage  *self)
{
  if (g_str_equal (kind, "server"))
    refresh (self);
  else if (g_str_equal (kind, "tool"))
    refresh_tools (self);
}

static void
on_composed (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CfServersPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  const char *url = NULL;
  g_autofree char *text = NULL;

  if (cf_admin_error_is_cancelled (error))
    return;
  gtk_widget_set_sensitive (GTK_WIDGET (self->compose_button), TRUE);
  if (reply == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("Could not compose the server"), error);
      return;
    }
  g_variant_get (reply, "(&s&s)", NULL, &url);
  text = g_strdup_printf (_("Composed: its endpoint is %s"), url);
  cf_admin_toast (GTK_WIDGET (self), text);
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->description_row), "");
  refresh (self);
  refresh_tools (self);
}

static void
on_compose (CfServersPage *self)
{
  g_autoptr(GPtrArray) picked = g_ptr_array_new ();
  const char *name = gtk_editable_get_text (GTK_EDITABLE (self->name_row));

  if (*name == '\0')
    {
      cf_admin_toast (GTK_WIDGET (self), _("Give the server a name"));
      return;
    }
  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->tools_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    if (gtk_check_button_get_active (g_object_get_data (G_OBJECT (row), "check")))
      g_ptr_array_add (picked, g_object_get_data (G_OBJECT (row), "tool-id"));
  g_ptr_array_add (picked, NULL);

  gtk_widget_set_sensitive (GTK_WIDGET (self->compose_button), FALSE);
  cf_admin_backend_call_async (self->backend, "ComposeServer",
                               g_variant_new ("(ss^as)", name,
                                              gtk_editable_get_text (GTK_EDITABLE (self->description_row)),
                                              (char **) picked->pdata),
                               self->cancellable, on_composed, self);
}

static void
cf_servers_page_dispose (GObject *object)
{
  CfServersPage *self = (CfServersPage *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);

  G_OBJECT_CLASS (cf_servers_page_parent_class)->dispose (object);
}

static void
cf_servers_page_class_init (CfServersPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_servers_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-servers-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, list);
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, description_row);
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, compose_button);
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, tools_stack);
  gtk_widget_class_bind_template_child (widget_class, CfServersPage, tools_list);
  gtk_widget_class_bind_template_callback (widget_class, on_compose);
}

static void
cf_servers_page_init (CfServersPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_servers_page_set_backend:
 * @self: the page
 * @backend: the gateway to show; the page follows its changes
 */
void
cf_servers_page_set_backend (CfServersPage  *self,
                             CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_SERVERS_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect (backend, "catalog-changed", G_CALLBACK (on_catalog_changed), self);
  refresh (self);
  refresh_tools (self);
}
