/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tools-page"

#include "config.h"

#include <glib/gi18n.h>
#include <string.h>

#include "cf-admin-util.h"
#include "cf-tool-form.h"
#include "cf-tools-page.h"

/**
 * CfToolsPage:
 *
 * Every tool of the catalog, searchable, each with the gateway it comes
 * from, a switch to offer it or not, and "Try" to call it in the form
 * beside the list.
 */
struct _CfToolsPage
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;
  GHashTable     *gateway_names;   /* id → name */

  GtkSearchEntry *search_entry;
  GtkStack       *list_stack;
  GtkListBox     *list;
  CfToolForm     *form;
};

G_DEFINE_FINAL_TYPE (CfToolsPage, cf_tools_page, ADW_TYPE_BIN)

static void refresh (CfToolsPage *self);

static void
on_enabled_set (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  CfToolsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("Could not change the tool"), error);
      refresh (self);
    }
}

static void
on_enabled_changed (GtkSwitch   *toggle,
                    GParamSpec  *pspec,
                    CfToolsPage *self)
{
  const char *id = g_object_get_data (G_OBJECT (toggle), "tool-id");

  cf_admin_backend_call_async (self->backend, "SetToolEnabled",
                               g_variant_new ("(sb)", id, gtk_switch_get_active (toggle)),
                               self->cancellable, on_enabled_set, self);
}

static void
on_try_clicked (GtkButton   *button,
                CfToolsPage *self)
{
  cf_tool_form_show_tool (self->form, g_object_get_data (G_OBJECT (button), "tool-id"));
}

static char *
describe_origin (CfToolsPage *self,
                 GVariant    *tool)
{
  const char *gateway_id = cf_admin_lookup_string (tool, "gateway-id");
  const char *gateway = g_hash_table_lookup (self->gateway_names, gateway_id);

  if (*gateway_id == '\0')
    /* Translators: a tool the gateway itself serves, such as a REST tool */
    return g_strdup_printf (_("Local %s tool"), cf_admin_lookup_string (tool, "integration-type"));
  /* Translators: the upstream gateway a tool comes from */
  return g_strdup_printf (_("From %s"), gateway ? gateway : gateway_id);
}

static GtkWidget *
tool_row (GVariant *tool,
          gpointer  user_data)
{
  CfToolsPage *self = user_data;
  const char *id = cf_admin_lookup_string (tool, "id");
  const char *name = cf_admin_lookup_string (tool, "name");
  const char *description = cf_admin_lookup_string (tool, "description");
  g_autofree char *origin = describe_origin (self, tool);
  g_autofree char *escaped_name = g_markup_escape_text (name, -1);
  g_autofree char *subtitle = *description != '\0'
                              ? g_markup_printf_escaped ("%s\n%s", description, origin)
                              : g_markup_escape_text (origin, -1);
  g_autofree char *row_name = g_strconcat ("tool-", name, NULL);
  g_autofree char *try_name = g_strconcat ("try-", name, NULL);
  g_autofree char *switch_name = g_strconcat ("enable-", name, NULL);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *toggle;
  GtkWidget *try_button = gtk_button_new_with_mnemonic (_("_Try"));

  gtk_widget_set_name (row, row_name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), escaped_name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  g_autofree char *search_text = g_strjoin (" ", name, description, origin, NULL);

  g_object_set_data_full (G_OBJECT (row), "search-text", g_utf8_casefold (search_text, -1),
                          g_free);

  gtk_widget_set_name (try_button, try_name);
  gtk_widget_set_valign (try_button, GTK_ALIGN_CENTER);
  gtk_widget_set_sensitive (try_button, cf_admin_lookup_bool (tool, "enabled"));
  cf_admin_row_add_button (ADW_ACTION_ROW (row), try_button, "tool-id", id,
                           G_CALLBACK (on_try_clicked), self);

  toggle = cf_admin_row_add_switch (ADW_ACTION_ROW (row), cf_admin_lookup_bool (tool, "enabled"),
                                    _("Offer this tool to clients"), "tool-id", id,
                                    G_CALLBACK (on_enabled_changed), self);
  gtk_widget_set_name (toggle, switch_name);
  return row;
}

static void
on_tools (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  CfToolsPage *self = user_data;
  g_autoptr(GVariant) tools = cf_admin_finish_list (source, result, GTK_WIDGET (self),
                                                    _("Could not list the tools"));

  if (tools != NULL)
    cf_admin_list_show (self->list_stack, self->list, tools, tool_row, self);
}

/* The gateways first, for their names; then the tools. */
static void
on_gateways (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CfToolsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  if (cf_admin_error_is_cancelled (error))
    return;
  g_hash_table_remove_all (self->gateway_names);
  if (reply != NULL)
    {
      g_autoptr(GVariant) gateways = g_variant_get_child_value (reply, 0);

      for (gsize i = 0; i < g_variant_n_children (gateways); i++)
        {
          g_autoptr(GVariant) gateway = g_variant_get_child_value (gateways, i);

          g_hash_table_insert (self->gateway_names,
                               g_strdup (cf_admin_lookup_string (gateway, "id")),
                               g_strdup (cf_admin_lookup_string (gateway, "name")));
        }
    }
  cf_admin_backend_call_async (self->backend, "ListTools", NULL, self->cancellable, on_tools,
                               self);
}

static void
refresh (CfToolsPage *self)
{
  cf_admin_backend_call_async (self->backend, "ListGateways", NULL, self->cancellable,
                               on_gateways, self);
}

static void
on_catalog_changed (CfAdminBackend *backend,
                    const char     *kind,
                    CfToolsPage    *self)
{
  if (g_str_equal (kind, "tool") || g_str_equal (kind, "gateway"))
    refresh (self);
}

static gboolean
filter_row (GtkListBoxRow *row,
            gpointer       user_data)
{
  CfToolsPage *self = user_data;
  const char *search = gtk_editable_get_text (GTK_EDITABLE (self->search_entry));
  const char *text = g_object_get_data (G_OBJECT (row), "search-text");
  g_autofree char *folded = NULL;

  if (*search == '\0' || text == NULL)
    return TRUE;
  folded = g_utf8_casefold (search, -1);
  return strstr (text, folded) != NULL;
}

static void
on_search_changed (CfToolsPage *self)
{
  gtk_list_box_invalidate_filter (self->list);
}

static void
cf_tools_page_dispose (GObject *object)
{
  CfToolsPage *self = (CfToolsPage *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);
  g_clear_pointer (&self->gateway_names, g_hash_table_unref);

  G_OBJECT_CLASS (cf_tools_page_parent_class)->dispose (object);
}

static void
cf_tools_page_class_init (CfToolsPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_tools_page_dispose;

  g_type_ensure (CF_TYPE_TOOL_FORM);
  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-tools-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CfToolsPage, search_entry);
  gtk_widget_class_bind_template_child (widget_class, CfToolsPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, CfToolsPage, list);
  gtk_widget_class_bind_template_child (widget_class, CfToolsPage, form);
  gtk_widget_class_bind_template_callback (widget_class, on_search_changed);
}

static void
cf_tools_page_init (CfToolsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  self->gateway_names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  gtk_list_box_set_filter_func (self->list, filter_row, self, NULL);
}

/**
 * cf_tools_page_set_backend:
 * @self: the page
 * @backend: the gateway to show; the page follows its changes
 */
void
cf_tools_page_set_backend (CfToolsPage    *self,
                           CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_TOOLS_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  cf_tool_form_set_backend (self->form, backend);
  g_signal_connect (backend, "catalog-changed", G_CALLBACK (on_catalog_changed), self);
  g_signal_connect_swapped (backend, "health-changed", G_CALLBACK (refresh), self);
  refresh (self);
}
