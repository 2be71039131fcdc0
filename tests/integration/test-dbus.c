/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <gio/gio.h>
#include <libsoup/soup.h>
#include <string.h>

/* The daemon as a D-Bus activated session service, on a private bus: the
 * first call starts it from the service file generated into the build
 * tree, and the interface reflects what REST writes. */

#define BUS_NAME "org.contextforge.Gateway"
#define OBJECT_PATH "/org/contextforge/Gateway"
#define INTERFACE "org.contextforge.Gateway"

static GVariant *
call (GDBusConnection *bus,
      const char      *method)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = g_dbus_connection_call_sync (bus, BUS_NAME, OBJECT_PATH, INTERFACE, method,
                                                 NULL, NULL, G_DBUS_CALL_FLAGS_NONE, 20000,
                                                 NULL, &error);

  g_assert_no_error (error);
  return reply;
}

static void
on_changed (GDBusConnection *bus,
            const char      *sender,
            const char      *path,
            const char      *iface,
            const char      *signal,
            GVariant        *parameters,
            gpointer         user_data)
{
  const char *kind;

  g_variant_get (parameters, "(&s)", &kind);
  if (g_str_equal (kind, "tool"))
    *(gboolean *) user_data = TRUE;
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
create_tool (const char *listen_url)
{
  g_autoptr(SoupSession) http = soup_session_new ();
  g_autofree char *uri = g_strconcat (listen_url, "/v1/tools", NULL);
  g_autoptr(SoupMessage) msg = soup_message_new ("POST", uri);
  static const char body[] =
    "{\"name\":\"lookup\",\"description\":\"Looks up\",\"url\":\"http://127.0.0.1:9/\"}";
  g_autoptr(GBytes) bytes = g_bytes_new_static (body, strlen (body));
  g_autoptr(GBytes) reply = NULL;
  g_autoptr(GError) error = NULL;

  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  reply = soup_session_send_and_read (http, msg, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (msg), ==, 201);
}

static void
test_activation (void)
{
  g_autoptr(GTestDBus) dbus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) tools = NULL;
  g_autoptr(GVariant) dict = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp ("cf-dbus-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  g_autofree char *db_url = g_strconcat ("sqlite:///", db, NULL);
  const char *url = NULL;
  gboolean changed = FALSE, expired = FALSE;
  guint32 n_tools = 99;
  guint subscription, deadline;

  /* The activated daemon inherits the bus daemon's environment, which
   * GTestDBus takes from ours. */
  g_setenv ("DATABASE_URL", db_url, TRUE);
  g_setenv ("PORT", "0", TRUE);
  g_test_dbus_add_service_dir (dbus, g_getenv ("CF_TEST_SERVICE_DIR"));
  g_test_dbus_up (dbus);

  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);

  status = call (bus, "GetStatus");
  dict = g_variant_get_child_value (status, 0);
  g_assert_true (g_variant_lookup (dict, "listen-url", "&s", &url));
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  g_assert_true (g_variant_lookup (dict, "tools", "u", &n_tools));
  g_assert_cmpuint (n_tools, ==, 0);

  subscription = g_dbus_connection_signal_subscribe (bus, BUS_NAME, INTERFACE, "CatalogChanged",
                                                     OBJECT_PATH, NULL, G_DBUS_SIGNAL_FLAGS_NONE,
                                                     on_changed, &changed, NULL);
  create_tool (url);
  deadline = g_timeout_add_seconds (10, on_deadline, &expired);
  while (!changed && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  g_assert_true (changed);
  g_dbus_connection_signal_unsubscribe (bus, subscription);

  tools = call (bus, "ListTools");
  {
    g_autoptr(GVariant) list = g_variant_get_child_value (tools, 0);
    g_autoptr(GVariant) first = g_variant_get_child_value (list, 0);
    const char *name = NULL;

    g_assert_cmpuint (g_variant_n_children (list), ==, 1);
    g_assert_true (g_variant_lookup (first, "name", "&s", &name));
    g_assert_cmpstr (name, ==, "lookup");
  }

  g_clear_object (&bus);
  /* Tearing the bus down makes the daemon exit with it. */
  g_test_dbus_down (dbus);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/dbus/activation", test_activation);

  return g_test_run ();
}
