/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateways-page"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "cf-admin-util.h"
#include "cf-gateways-page.h"

/**
 * CfGatewaysPage:
 *
 * The upstream MCP servers: add one by URL or command, see whether each
 * answers and how many tools it brings, refresh or remove it.
 */
struct _CfGatewaysPage
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;
  char           *added;     /* the toast once AddGateway answers */

  AdwEntryRow    *name_row;
  AdwEntryRow    *target_row;
  GtkButton      *add_button;
  GtkSpinner     *add_spinner;
  GtkStack       *list_stack;
  GtkListBox     *list;
};

G_DEFINE_FINAL_TYPE (CfGatewaysPage, cf_gateways_page, ADW_TYPE_BIN)

/**
 * cf_gateways_settings_for:
 * @name: the gateway's name
 * @target: an http(s) URL, or a command line
 * @error: return location for why @target cannot be used
 *
 * Returns: (transfer full) (nullable): AddGateway's settings as JSON
 */
char *
cf_gateways_settings_for (const char  *name,
                          const char  *target,
                          GError     **error)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;
  g_auto(GStrv) argv = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  if (g_str_has_prefix (target, "http://") || g_str_has_prefix (target, "https://"))
    {
      json_builder_set_member_name (builder, "url");
      json_builder_add_string_value (builder, target);
      json_builder_set_member_name (builder, "transport");
      json_builder_add_string_value (builder, "STREAMABLEHTTP");
    }
  else
    {
      if (!g_shell_parse_argv (target, NULL, &argv, error))
        return NULL;
      json_builder_set_member_name (builder, "transport");
      json_builder_add_string_value (builder, "STDIO");
      json_builder_set_member_name (builder, "command");
      json_builder_add_string_value (builder, argv[0]);
      json_builder_set_member_name (builder, "args");
      json_builder_begin_array (builder);
      for (guint i = 1; argv[i] != NULL; i++)
        json_builder_add_string_value (builder, argv[i]);
      json_builder_end_array (builder);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static void refresh (CfGatewaysPage *self);

static void
call (CfGatewaysPage *self,
      const char     *method,
      const char     *id,
      const char     *what,
      const char     *done)
{
  cf_admin_call (GTK_WIDGET (self), self->backend, method, g_variant_new ("(s)", id),
                 self->cancellable, what, done, (CfAdminRefreshFunc) refresh);
}

static void
on_refresh_clicked (GtkButton      *button,
                    CfGatewaysPage *self)
{
  const char *id = g_object_get_data (G_OBJECT (button), "gateway-id");
  const char *name = g_object_get_data (G_OBJECT (button), "gateway-name");
  g_autofree char *done = g_strdup_printf (_("Refreshing “%s”…"), name);

  call (self, "RefreshGateway", id, _("Could not refresh the gateway"), done);
}

static void
on_remove_response (AdwMessageDialog *dialog,
                    const char       *response,
                    CfGatewaysPage   *self)
{
  const char *id = g_object_get_data (G_OBJECT (dialog), "gateway-id");
  const char *name = g_object_get_data (G_OBJECT (dialog), "gateway-name");
  g_autofree char *done = NULL;

  if (!g_str_equal (response, "remove"))
    return;
  done = g_strdup_printf (_("Removed “%s”"), name);
  call (self, "RemoveGateway", id, _("Could not remove the gateway"), done);
}

/* Its tools go with it, and the servers lose them: ask first. */
static void
on_remove_clicked (GtkButton      *button,
                   CfGatewaysPage *self)
{
  const char *name = g_object_get_data (G_OBJECT (button), "gateway-name");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *heading = g_strdup_printf (_("Remove “%s”?"), name);
  GtkWidget *dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL,
                                              heading,
                                              _("Its tools, resources and prompts go with it, "
                                                "and virtual servers stop offering them."));

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "remove", _("_Remove"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "remove",
                                              ADW_RESPONSE_DESTRUCTIVE);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "gateway-id",
                          g_strdup (g_object_get_data (G_OBJECT (button), "gateway-id")), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "gateway-name", g_strdup (name), g_free);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_remove_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

static void
on_enabled_changed (GtkSwitch      *toggle,
                    GParamSpec     *pspec,
                    CfGatewaysPage *self)
{
  const char *id = g_object_get_data (G_OBJECT (toggle), "gateway-id");

  cf_admin_call (GTK_WIDGET (self), self->backend, "SetGatewayEnabled",
                 g_variant_new ("(sb)", id, gtk_switch_get_active (toggle)), self->cancellable,
                 _("Could not change the gateway"), NULL, (CfAdminRefreshFunc) refresh);
}

static char *
describe_target (GVariant *gateway)
{
  g_autofree const char **args = NULL;
  g_autofree char *joined = NULL;

  if (g_str_equal (cf_admin_lookup_string (gateway, "transport"), "STDIO"))
    {
      if (g_variant_lookup (gateway, "args", "^a&s", &args) && args[0] != NULL)
        joined = g_strjoinv (" ", (char **) args);
      return g_strjoin (" ", cf_admin_lookup_string (gateway, "command"), joined, NULL);
    }
  return g_strdup (cf_admin_lookup_string (gateway, "url"));
}

static char *
describe_state (GVariant *gateway)
{
  guint tools = cf_admin_lookup_uint (gateway, "tool-count");
  const char *message = cf_admin_lookup_string (gateway, "status-message");
  g_autofree char *count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u tool", "%u tools",
                                                         tools), tools);

  if (!cf_admin_lookup_bool (gateway, "enabled"))
    return g_strdup (_("Disabled"));
  if (cf_admin_lookup_bool (gateway, "reachable"))
    /* Translators: "Reachable · 3 tools" */
    return g_strdup_printf (_("Reachable · %s"), count);
  if (*message != '\0')
    return g_strdup_printf (_("Unreachable: %s"), message);
  return g_strdup (_("Unreachable"));
}

static GtkWidget *
gateway_row (GVariant *gateway,
             gpointer  user_data)
{
  CfGatewaysPage *self = user_data;
  const char *id = cf_admin_lookup_string (gateway, "id");
  const char *name = cf_admin_lookup_string (gateway, "name");
  gboolean reachable = cf_admin_lookup_bool (gateway, "reachable");
  gboolean enabled = cf_admin_lookup_bool (gateway, "enabled");
  g_autofree char *target = describe_target (gateway);
  g_autofree char *state = describe_state (gateway);
  g_autofree char *subtitle = g_markup_printf_escaped ("%s\n%s", target, state);
  g_autofree char *row_name = g_strconcat ("gateway-", name, NULL);
  g_autofree char *refresh_name = g_strconcat ("refresh-", name, NULL);
  g_autofree char *remove_name = g_strconcat ("remove-", name, NULL);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name (reachable ? "emblem-ok-symbolic"
                                                            : "dialog-warning-symbolic");
  GtkWidget *buttons[2];
  GCallback on_clicked[2] = { G_CALLBACK (on_refresh_clicked), G_CALLBACK (on_remove_clicked) };

  gtk_widget_set_name (row, row_name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), name);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_widget_add_css_class (icon, reachable ? "success" : enabled ? "warning" : "dim-label");
  gtk_widget_set_tooltip_text (icon, reachable ? _("Reachable") : _("Not reachable"));
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);

  buttons[0] = cf_admin_icon_button ("view-refresh-symbolic", _("Refresh its tools"),
                                     refresh_name);
  buttons[1] = cf_admin_icon_button ("user-trash-symbolic", _("Remove"), remove_name);
  gtk_widget_set_sensitive (buttons[0], enabled);
  for (guint i = 0; i < G_N_ELEMENTS (buttons); i++)
    {
      g_object_set_data_full (G_OBJECT (buttons[i]), "gateway-name", g_strdup (name), g_free);
      cf_admin_row_add_button (ADW_ACTION_ROW (row), buttons[i], "gateway-id", id, on_clicked[i],
                               self);
    }

  cf_admin_row_add_switch (ADW_ACTION_ROW (row), enabled, _("Use this gateway"), "gateway-id", id,
                           G_CALLBACK (on_enabled_changed), self);
  return row;
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CfGatewaysPage *self = user_data;
  g_autoptr(GVariant) gateways = cf_admin_finish_list (source, result, GTK_WIDGET (self),
                                                       _("Could not list the gateways"));

  if (gateways != NULL)
    cf_admin_list_show (self->list_stack, self->list, gateways, gateway_row, self);
}

static void
refresh (CfGatewaysPage *self)
{
  cf_admin_backend_call_async (self->backend, "ListGateways", NULL, self->cancellable,
                               on_listed, self);
}

static void
set_busy (CfGatewaysPage *self,
          gboolean        busy)
{
  gtk_spinner_set_spinning (self->add_spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->add_button), !busy);
}

static void
on_added (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  CfGatewaysPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  if (cf_admin_error_is_cancelled (error))
    return;
  set_busy (self, FALSE);
  if (reply == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("Could not add the gateway"), error);
      return;
    }
  cf_admin_toast (GTK_WIDGET (self), self->added);
  gtk_editable_set_text (GTK_EDITABLE (self->name_row), "");
  gtk_editable_set_text (GTK_EDITABLE (self->target_row), "");
  refresh (self);
}

static void
on_add (CfGatewaysPage *self)
{
  g_autofree char *name = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->name_row))));
  g_autofree char *target = g_strstrip (g_strdup (gtk_editable_get_text (GTK_EDITABLE (self->target_row))));
  g_autofree char *settings = NULL;
  g_autoptr(GError) error = NULL;

  if (*name == '\0' || *target == '\0')
    {
      cf_admin_toast (GTK_WIDGET (self), _("Give the gateway a name and its URL or command"));
      return;
    }
  settings = cf_gateways_settings_for (name, target, &error);
  if (settings == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("The command cannot be read"), error);
      return;
    }
  set_busy (self, TRUE);
  /* The busy button lets one add through at a time. */
  g_free (self->added);
  self->added = g_strdup_printf (_("Added “%s”: connecting…"), name);
  cf_admin_backend_call_async (self->backend, "AddGateway", g_variant_new ("(s)", settings),
                               self->cancellable, on_added, self);
}

static void
cf_gateways_page_dispose (GObject *object)
{
  CfGatewaysPage *self = (CfGatewaysPage *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);
  g_clear_pointer (&self->added, g_free);

  G_OBJECT_CLASS (cf_gateways_page_parent_class)->dispose (object);
}

static void
cf_gateways_page_class_init (CfGatewaysPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_gateways_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-gateways-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CfGatewaysPage, name_row);
  gtk_widget_class_bind_template_child (widget_class, CfGatewaysPage, target_row);
  gtk_widget_class_bind_template_child (widget_class, CfGatewaysPage, add_button);
  gtk_widget_class_bind_template_child (widget_class, CfGatewaysPage, add_spinner);
  gtk_widget_class_bind_template_child (widget_class, CfGatewaysPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, CfGatewaysPage, list);
  gtk_widget_class_bind_template_callback (widget_class, on_add);
  gtk_widget_class_bind_template_callback (widget_class, refresh);
}

static void
cf_gateways_page_init (CfGatewaysPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_gateways_page_set_backend:
 * @self: the page
 * @backend: the gateway to show; the page follows its changes
 */
void
cf_gateways_page_set_backend (CfGatewaysPage *self,
                              CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_GATEWAYS_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect_swapped (backend, "catalog-changed", G_CALLBACK (refresh), self);
  g_signal_connect_swapped (backend, "health-changed", G_CALLBACK (refresh), self);
  refresh (self);
}
