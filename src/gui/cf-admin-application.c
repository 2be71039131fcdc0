/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-application"

#include "config.h"

#include <glib/gi18n.h>

#include <libsecret/secret.h>

#include "cf-admin-application.h"
#include "cf-admin-dbus-backend.h"
#include "cf-admin-rest-backend.h"
#include "cf-admin-window.h"
#include "cf-remote-dialog.h"

/**
 * CfAdminApplication:
 *
 * contextforge-gateway-admin. It shares the daemon's application id,
 * for the desktop file and the metainfo, but not its bus name: the daemon
 * owns org.contextforge.Gateway, so the app runs non-unique and talks
 * to the daemon as a client. app.connect-remote opens another window on
 * a remote gateway, over REST.
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

/* Remote gateways: their tokens live in the keyring, one per address. */

static const SecretSchema *
token_schema (void)
{
  static const SecretSchema schema = {
    "org.contextforge.Gateway.Token", SECRET_SCHEMA_NONE,
    {
      { "url", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

typedef struct {
  GtkApplication *app;
  char           *url;
  char           *token;
} Remote;

static void
remote_free (Remote *remote)
{
  g_object_unref (remote->app);
  g_free (remote->url);
  g_free (remote->token);
  g_free (remote);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Remote, remote_free)

static CfAdminWindow *
open_remote (Remote *remote)
{
  g_autoptr(CfAdminBackend) backend = cf_admin_rest_backend_new (remote->url, remote->token);
  CfAdminWindow *window = cf_admin_window_new (ADW_APPLICATION (remote->app), backend);

  gtk_window_present (GTK_WINDOW (window));
  return window;
}

static void
on_token_stored (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(Remote) remote = user_data;
  g_autoptr(GError) error = NULL;
  CfAdminWindow *window;

  secret_password_store_finish (result, &error);
  window = open_remote (remote);
  if (error != NULL)
    {
      g_autofree char *text = g_strdup_printf (_("The token could not be kept in the keyring: %s"),
                                               error->message);

      cf_admin_window_toast (window, text);
    }
}

static void
on_token_found (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Remote) remote = user_data;
  g_autoptr(GError) error = NULL;
  CfAdminWindow *window;

  remote->token = secret_password_lookup_finish (result, &error);
  window = open_remote (remote);
  if (remote->token == NULL)
    cf_admin_window_toast (window, _("The keyring holds no token for this gateway: connecting without one"));
}

static void
on_remote_response (CfRemoteDialog *dialog,
                    const char     *response,
                    GtkApplication *app)
{
  Remote *remote;
  g_autofree char *label = NULL;

  if (!g_str_equal (response, "connect") || *cf_remote_dialog_get_url (dialog) == '\0')
    return;
  remote = g_new0 (Remote, 1);
  remote->app = g_object_ref (app);
  remote->url = g_strstrip (g_strdup (cf_remote_dialog_get_url (dialog)));
  if (*cf_remote_dialog_get_token (dialog) == '\0')
    {
      secret_password_lookup (token_schema (), NULL, on_token_found, remote,
                              "url", remote->url, NULL);
      return;
    }
  remote->token = g_strdup (cf_remote_dialog_get_token (dialog));
  /* Translators: the keyring's name for a stored token; %s is an address */
  label = g_strdup_printf (_("ContextForge Gateway token for %s"), remote->url);
  secret_password_store (token_schema (), SECRET_COLLECTION_DEFAULT, label, remote->token, NULL,
                         on_token_stored, remote, "url", remote->url, NULL);
}

static void
on_connect_remote (GSimpleAction *action,
                   GVariant      *parameter,
                   gpointer       user_data)
{
  GtkApplication *app = user_data;
  CfRemoteDialog *dialog = cf_remote_dialog_new (gtk_application_get_active_window (app));

  g_signal_connect (dialog, "response", G_CALLBACK (on_remote_response), app);
  gtk_window_present (GTK_WINDOW (dialog));
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
    { "connect-remote", on_connect_remote, NULL, NULL, NULL, { 0 } },
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
