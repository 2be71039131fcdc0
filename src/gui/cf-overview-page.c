/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-overview-page"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "cf-admin-util.h"
#include "cf-overview-page.h"

/**
 * CfOverviewPage:
 *
 * The gateway at a glance: the endpoint to give clients, ready-made
 * client settings, the health and what the catalog holds.
 */
struct _CfOverviewPage
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;
  char           *endpoint;

  AdwActionRow   *url_row;
  GtkLabel       *health_label;
  GtkLabel       *version_label;
  GtkFlowBox     *counts_box;
  GtkLabel       *claude_label;
  GtkLabel       *vscode_label;
};

G_DEFINE_FINAL_TYPE (CfOverviewPage, cf_overview_page, ADW_TYPE_BIN)

/* As people write these files: two spaces, no space before colons. */
static char *
json_string (const char *text)
{
  g_autoptr(JsonNode) node = json_node_init_string (json_node_alloc (), text);

  return json_to_string (node, FALSE);
}

/**
 * cf_overview_claude_snippet:
 * @endpoint: the gateway's MCP endpoint
 *
 * Claude Desktop starts its servers as commands, so the gateway comes
 * in through mcp-remote.
 *
 * Returns: (transfer full): the `mcpServers` settings
 */
char *
cf_overview_claude_snippet (const char *endpoint)
{
  g_autofree char *url = json_string (endpoint);

  return g_strdup_printf ("{\n"
                          "  \"mcpServers\": {\n"
                          "    \"contextforge\": {\n"
                          "      \"command\": \"npx\",\n"
                          "      \"args\": [\"-y\", \"mcp-remote\", %s]\n"
                          "    }\n"
                          "  }\n"
                          "}", url);
}

/**
 * cf_overview_vscode_snippet:
 * @endpoint: the gateway's MCP endpoint
 *
 * Returns: (transfer full): the `servers` settings of VS Code's mcp.json
 */
char *
cf_overview_vscode_snippet (const char *endpoint)
{
  g_autofree char *url = json_string (endpoint);

  return g_strdup_printf ("{\n"
                          "  \"servers\": {\n"
                          "    \"contextforge\": {\n"
                          "      \"type\": \"http\",\n"
                          "      \"url\": %s\n"
                          "    }\n"
                          "  }\n"
                          "}", url);
}

static GtkWidget *
count_tile (guint       n,
            const char *what,
            const char *key)
{
  GtkWidget *box = gtk_box_new (GTK_ORIENTATION_VERTICAL, 4);
  g_autofree char *text = g_strdup_printf ("%u", n);
  g_autofree char *name = g_strconcat ("count-", key, NULL);
  GtkWidget *number = gtk_label_new (text);
  GtkWidget *label = gtk_label_new (what);

  gtk_widget_add_css_class (box, "card");
  gtk_widget_set_name (number, name);
  gtk_widget_add_css_class (number, "title-1");
  gtk_widget_add_css_class (label, "dim-label");
  gtk_widget_set_margin_top (number, 12);
  gtk_widget_set_margin_bottom (label, 12);
  gtk_box_append (GTK_BOX (box), number);
  gtk_box_append (GTK_BOX (box), label);
  return box;
}

static void
show_counts (CfOverviewPage *self,
             GVariant       *status)
{
  static const struct {
    const char *key;
    const char *label;
  } counts[] = {
    { "gateways", N_("Gateways") },
    { "tools", N_("Tools") },
    { "servers", N_("Servers") },
    { "resources", N_("Resources") },
    { "prompts", N_("Prompts") },
  };

  GtkWidget *child;

  while ((child = gtk_widget_get_first_child (GTK_WIDGET (self->counts_box))) != NULL)
    gtk_flow_box_remove (self->counts_box, child);
  for (guint i = 0; i < G_N_ELEMENTS (counts); i++)
    gtk_flow_box_append (self->counts_box,
                         count_tile (cf_admin_lookup_uint (status, counts[i].key),
                                     _(counts[i].label), counts[i].key));
}

static void
show_health (CfOverviewPage *self,
             GVariant       *status)
{
  const char *health = cf_admin_lookup_string (status, "health");
  guint unreachable = cf_admin_lookup_uint (status, "gateways-unreachable");
  GtkWidget *label = GTK_WIDGET (self->health_label);
  g_autofree char *text = NULL;

  gtk_widget_remove_css_class (label, "success");
  gtk_widget_remove_css_class (label, "warning");
  if (g_str_equal (health, "healthy"))
    {
      text = g_strdup (_("Healthy"));
      gtk_widget_add_css_class (label, "success");
    }
  else if (g_str_equal (health, "degraded"))
    {
      text = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "Degraded: %u gateway unreachable",
                                           "Degraded: %u gateways unreachable", unreachable),
                              unreachable);
      gtk_widget_add_css_class (label, "warning");
    }
  else
    text = g_strdup (_("Starting"));
  gtk_label_set_text (self->health_label, text);
}

static void
on_status (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CfOverviewPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  g_autoptr(GVariant) status = NULL;
  g_autofree char *claude = NULL;
  g_autofree char *vscode = NULL;
  g_autofree char *escaped = NULL;

  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    {
      adw_action_row_set_subtitle (self->url_row, _("The gateway is not running"));
      cf_admin_toast_error (GTK_WIDGET (self), _("Could not reach the gateway"), error);
      return;
    }

  status = g_variant_get_child_value (reply, 0);
  g_free (self->endpoint);
  self->endpoint = g_strconcat (cf_admin_lookup_string (status, "listen-url"), "/mcp", NULL);
  escaped = g_markup_escape_text (self->endpoint, -1);
  adw_action_row_set_subtitle (self->url_row, escaped);
  gtk_label_set_text (self->version_label, cf_admin_lookup_string (status, "version"));
  show_health (self, status);
  show_counts (self, status);

  claude = cf_overview_claude_snippet (self->endpoint);
  vscode = cf_overview_vscode_snippet (self->endpoint);
  gtk_label_set_text (self->claude_label, claude);
  gtk_label_set_text (self->vscode_label, vscode);
}

static void
refresh (CfOverviewPage *self)
{
  cf_admin_backend_call_async (self->backend, "GetStatus", NULL, self->cancellable, on_status,
                               self);
}

static void
on_copy_url (CfOverviewPage *self)
{
  if (self->endpoint != NULL)
    cf_admin_copy (GTK_WIDGET (self), self->endpoint);
}

static void
on_copy_claude (CfOverviewPage *self)
{
  if (self->endpoint != NULL)
    cf_admin_copy (GTK_WIDGET (self), gtk_label_get_text (self->claude_label));
}

static void
on_copy_vscode (CfOverviewPage *self)
{
  if (self->endpoint != NULL)
    cf_admin_copy (GTK_WIDGET (self), gtk_label_get_text (self->vscode_label));
}

static void
cf_overview_page_dispose (GObject *object)
{
  CfOverviewPage *self = (CfOverviewPage *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);
  g_clear_pointer (&self->endpoint, g_free);

  G_OBJECT_CLASS (cf_overview_page_parent_class)->dispose (object);
}

static void
cf_overview_page_class_init (CfOverviewPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_overview_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-overview-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CfOverviewPage, url_row);
  gtk_widget_class_bind_template_child (widget_class, CfOverviewPage, health_label);
  gtk_widget_class_bind_template_child (widget_class, CfOverviewPage, version_label);
  gtk_widget_class_bind_template_child (widget_class, CfOverviewPage, counts_box);
  gtk_widget_class_bind_template_child (widget_class, CfOverviewPage, claude_label);
  gtk_widget_class_bind_template_child (widget_class, CfOverviewPage, vscode_label);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_url);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_claude);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_vscode);
}

static void
cf_overview_page_init (CfOverviewPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_overview_page_set_backend:
 * @self: the page
 * @backend: the gateway to show; the page follows its changes
 */
void
cf_overview_page_set_backend (CfOverviewPage *self,
                              CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_OVERVIEW_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect_swapped (backend, "catalog-changed", G_CALLBACK (refresh), self);
  g_signal_connect_swapped (backend, "health-changed", G_CALLBACK (refresh), self);
  refresh (self);
}
