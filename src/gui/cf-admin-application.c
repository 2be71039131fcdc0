/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-application"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-admin-application.h"
#include "cf-admin-dbus-backend.h"
#include "cf-admin-window.h"

/**
 * CfAdminApplication:
 *
 * contextforge-gateway-admin. It shares the daemon's application id,
 * for the desktop file and the metainfo, but not its bus name: the daemon
 * owns org.contextforge.Gateway, so the app runs non-unique and talks
 * to the daemon as a client.
 */
struct _CfAdminApplication
{
  AdwApplication  parent_instance;

  CfAdminBackend *backend;
};

G_DEFINE_FINAL_TYPE (CfAdminApplication, cf_admin_application, ADW_TYPE_APPLICATION)

static void
on_about (GSimpleAction *action,
          GVariant      *parameter,
          gpointer       user_data)
{
  GtkApplication *app = user_data;
  static const char *developers[] = { "The ContextForge Gateway developers", NULL };

  adw_show_about_window (gtk_application_get_active_window (app),
                         "application-name", _("ContextForge Gateway"),
                         "application-icon", APPLICATION_ID,
                         "version", PACKAGE_VERSION,
                         "developers", developers,
                         "license-type", GTK_LICENSE_APACHE_2_0,
                         NULL);
}

static void
on_quit (GSimpleAction *action,
         GVariant      *parameter,
         gpointer       user_data)
{
  g_application_quit (G_APPLICATION (user_data));
}

static void
cf_admin_application_activate (GApplication *app)
{
  CfAdminApplication *self = CF_ADMIN_APPLICATION (app);
  GtkWindow *window = gtk_application_get_active_window (GTK_APPLICATION (app));

  if (window == NULL)
    {
      if (self->backend == NULL)
        self->backend = cf_admin_dbus_backend_new ();
      window = GTK_WINDOW (cf_admin_window_new (ADW_APPLICATION (app), self->backend));
    }
  gtk_window_present (window);
}

static void
cf_admin_application_startup (GApplication *app)
{
  static const GActionEntry actions[] = {
    { "about", on_about, NULL, NULL, NULL, { 0 } },
    { "quit", on_quit, NULL, NULL, NULL, { 0 } },
  };
  static const char *quit_accels[] = { "<Control>q", NULL };

  G_APPLICATION_CLASS (cf_admin_application_parent_class)->startup (app);

  g_action_map_add_action_entries (G_ACTION_MAP (app), actions, G_N_ELEMENTS (actions), app);
  gtk_application_set_accels_for_action (GTK_APPLICATION (app), "app.quit", quit_accels);
}

static void
cf_admin_application_dispose (GObject *object)
{
  CfAdminApplication *self = (CfAdminApplication *) object;

  g_clear_object (&self->backend);

  G_OBJECT_CLASS (cf_admin_application_parent_class)->dispose (object);
}

static void
cf_admin_application_class_init (CfAdminApplicationClass *klass)
{
  GApplicationClass *app_class = G_APPLICATION_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_admin_application_dispose;
  app_class->activate = cf_admin_application_activate;
  app_class->startup = cf_admin_application_startup;
}

static void
cf_admin_application_init (CfAdminApplication *self)
{
}

/**
 * cf_admin_application_new:
 *
 * Returns: (transfer full): the admin app
 */
CfAdminApplication *
cf_admin_application_new (void)
{
  return g_object_new (CF_TYPE_ADMIN_APPLICATION,
                       "application-id", APPLICATION_ID,
                       "flags", G_APPLICATION_NON_UNIQUE,
                       "resource-base-path", "/org/contextforge/Gateway",
                       NULL);
}
