/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-window"

#include "config.h"

#include "cf-admin-window.h"
#include "cf-gateways-page.h"
#include "cf-nearby-page.h"
#include "cf-overview-page.h"
#include "cf-servers-page.h"
#include "cf-teams-page.h"
#include "cf-tools-page.h"

/**
 * CfAdminWindow:
 *
 * The admin app's window: one page per part of the gateway, switched
 * from the header bar (or the bottom bar when narrow), over a toast
 * overlay where every page reports.
 */
struct _CfAdminWindow
{
  AdwApplicationWindow parent_instance;

  CfAdminBackend      *backend;

  AdwToastOverlay     *toast_overlay;
  AdwViewSwitcherTitle *switcher_title;
  AdwViewStack        *stack;
  CfOverviewPage      *overview_page;
  CfGatewaysPage      *gateways_page;
  CfNearbyPage        *nearby_page;
  CfToolsPage         *tools_page;
  CfServersPage       *servers_page;
  CfTeamsPage         *teams_page;
};

G_DEFINE_FINAL_TYPE (CfAdminWindow, cf_admin_window, ADW_TYPE_APPLICATION_WINDOW)

static void
cf_admin_window_dispose (GObject *object)
{
  CfAdminWindow *self = (CfAdminWindow *) object;

  g_clear_object (&self->backend);

  G_OBJECT_CLASS (cf_admin_window_parent_class)->dispose (object);
}

static void
cf_admin_window_class_init (CfAdminWindowClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_admin_window_dispose;

  g_type_ensure (CF_TYPE_OVERVIEW_PAGE);
  g_type_ensure (CF_TYPE_GATEWAYS_PAGE);
  g_type_ensure (CF_TYPE_NEARBY_PAGE);
  g_type_ensure (CF_TYPE_TOOLS_PAGE);
  g_type_ensure (CF_TYPE_SERVERS_PAGE);
  g_type_ensure (CF_TYPE_TEAMS_PAGE);

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-admin-window.ui");
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, toast_overlay);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, switcher_title);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, stack);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, overview_page);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, gateways_page);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, nearby_page);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, tools_page);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, servers_page);
  gtk_widget_class_bind_template_child (widget_class, CfAdminWindow, teams_page);
}

static void
cf_admin_window_init (CfAdminWindow *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
}

/**
 * cf_admin_window_new:
 * @application: the app
 * @backend: the gateway to show
 *
 * Returns: (transfer full): a new window
 */
CfAdminWindow *
cf_admin_window_new (AdwApplication *application,
                     CfAdminBackend *backend)
{
  CfAdminWindow *self;

  g_return_val_if_fail (ADW_IS_APPLICATION (application), NULL);
  g_return_val_if_fail (CF_IS_ADMIN_BACKEND (backend), NULL);

  self = g_object_new (CF_TYPE_ADMIN_WINDOW, "application", application, NULL);
  self->backend = g_object_ref (backend);
  {
    g_autofree char *where = cf_admin_backend_describe (backend);

    adw_view_switcher_title_set_subtitle (self->switcher_title, where);
  }
  cf_overview_page_set_backend (self->overview_page, backend);
  cf_gateways_page_set_backend (self->gateways_page, backend);
  cf_nearby_page_set_backend (self->nearby_page, backend);
  cf_tools_page_set_backend (self->tools_page, backend);
  cf_servers_page_set_backend (self->servers_page, backend);
  cf_teams_page_set_backend (self->teams_page, backend);
  return self;
}

/**
 * cf_admin_window_toast:
 * @self: the window
 * @message: what to tell
 */
void
cf_admin_window_toast (CfAdminWindow *self,
                       const char    *message)
{
  g_autofree char *escaped = NULL;

  g_return_if_fail (CF_IS_ADMIN_WINDOW (self));

  escaped = g_markup_escape_text (message, -1);
  adw_toast_overlay_add_toast (self->toast_overlay, adw_toast_new (escaped));
}
