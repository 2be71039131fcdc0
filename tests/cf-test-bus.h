/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <unistd.h>

/* What the tests that run the daemon on a private session bus share
 * (tests/integration/test-dbus.c, tests/gui/test-admin.c and
 * tests/gui/test-admin-nearby.c), and the readers of the a{sv} lists its
 * interface answers (those and tests/gui/test-rest-backend.c). They are
 * built in folders of their own: the helpers are static inline, so that
 * including this header is all it takes. */

G_BEGIN_DECLS

/**
 * cf_test_set_close_on_exec:
 *
 * GTestDBus (GLib 2.74) starts each bus daemon with the test's
 * descriptors open, among them the pipe on which its watcher process
 * waits to clean up after a test that dies: from the second bus on, a
 * failed assertion would leave the bus, the gateway and the test's
 * output open.
 */
static inline void
cf_test_set_close_on_exec (void)
{
  for (int fd = 3; fd < 1024; fd++)
    {
      int flags = fcntl (fd, F_GETFD);

      if (flags >= 0)
        fcntl (fd, F_SETFD, flags | FD_CLOEXEC);
    }
}

/**
 * cf_test_bus_start:
 *
 * Starts a private session bus that activates the daemon from the
 * service file in `CF_TEST_SERVICE_DIR`. The bus daemon, and the gateway
 * it starts, write to the stdout they inherit: they get stderr, so that
 * the gateway's banner stays out of the test's TAP.
 *
 * Returns: (transfer full): the bus, up
 */
static inline GTestDBus *
cf_test_bus_start (void)
{
  GTestDBus *dbus;
  int stdout_fd;

  cf_test_set_close_on_exec ();
  dbus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_add_service_dir (dbus, g_getenv ("CF_TEST_SERVICE_DIR"));
  stdout_fd = dup (STDOUT_FILENO);
  g_assert_cmpint (stdout_fd, >=, 0);
  g_assert_cmpint (dup2 (STDERR_FILENO, STDOUT_FILENO), ==, STDOUT_FILENO);
  g_test_dbus_up (dbus);
  g_assert_cmpint (dup2 (stdout_fd, STDOUT_FILENO), ==, STDOUT_FILENO);
  close (stdout_fd);
  return dbus;
}

/**
 * cf_test_make_database:
 * @tmpl: a template for g_dir_make_tmp(), such as "cf-dbus-XXXXXX"
 * @out_url: (out) (transfer full): the `DATABASE_URL` of a gateway's
 *   SQLite database in the folder
 *
 * Returns: (transfer full): a new temporary folder, for
 *   cf_test_remove_database()
 */
static inline char *
cf_test_make_database (const char  *tmpl,
                       char       **out_url)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *dir = g_dir_make_tmp (tmpl, &error);
  g_autofree char *db = NULL;

  g_assert_no_error (error);
  db = g_build_filename (dir, "gateway.db", NULL);
  *out_url = g_strconcat ("sqlite:///", db, NULL);
  return g_steal_pointer (&dir);
}

/**
 * cf_test_remove_database:
 * @dir: a test's temporary folder, with the gateway's SQLite database
 *
 * Removes the database, its journal files and @dir.
 */
static inline void
cf_test_remove_database (const char *dir)
{
  static const char * const files[] = { "gateway.db", "gateway.db-wal", "gateway.db-shm" };

  for (guint i = 0; i < G_N_ELEMENTS (files); i++)
    {
      g_autofree char *path = g_build_filename (dir, files[i], NULL);

      g_unlink (path);
    }
  g_rmdir (dir);
}

/**
 * cf_test_bus_list:
 * @bus: a connection to the bus the daemon is on
 * @method: a List* method of org.contextforge.Gateway, which take no
 *   arguments and answer an array of a{sv}
 *
 * Calls @method, and fails the test where it fails.
 *
 * Returns: (transfer full): the array @method answers
 */
static inline GVariant *
cf_test_bus_list (GDBusConnection *bus,
                  const char      *method)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  reply = g_dbus_connection_call_sync (bus, "org.contextforge.Gateway",
                                       "/org/contextforge/Gateway", "org.contextforge.Gateway",
                                       method, NULL, G_VARIANT_TYPE ("(aa{sv})"),
                                       G_DBUS_CALL_FLAGS_NONE, 20000, NULL, &error);
  g_assert_no_error (error);
  return g_variant_get_child_value (reply, 0);
}

/**
 * cf_test_find_entry:
 * @entries: an array of a{sv}
 * @key: the key to look at, a string's
 * @value: the string to find
 *
 * Returns: (transfer full) (nullable): the entry of @entries with @key == @value
 */
static inline GVariant *
cf_test_find_entry (GVariant   *entries,
                    const char *key,
                    const char *value)
{
  for (gsize i = 0; i < g_variant_n_children (entries); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (entries, i);
      const char *found = NULL;

      if (g_variant_lookup (entry, key, "&s", &found) && g_strcmp0 (found, value) == 0)
        return g_steal_pointer (&entry);
    }
  return NULL;
}

/**
 * cf_test_count_entries:
 * @entries: an array of a{sv}
 * @key: the key to look at, a string's
 * @value: the string to count
 *
 * Returns: how many entries of @entries have @key == @value
 */
static inline guint
cf_test_count_entries (GVariant   *entries,
                       const char *key,
                       const char *value)
{
  guint n = 0;

  for (gsize i = 0; i < g_variant_n_children (entries); i++)
    {
      g_autoptr(GVariant) entry = g_variant_get_child_value (entries, i);
      const char *found = NULL;

      if (g_variant_lookup (entry, key, "&s", &found) && g_strcmp0 (found, value) == 0)
        n++;
    }
  return n;
}

/**
 * cf_test_entry_bool:
 * @entry: an a{sv}
 * @key: the key of a boolean, which @entry must have
 *
 * Returns: the boolean
 */
static inline gboolean
cf_test_entry_bool (GVariant   *entry,
                    const char *key)
{
  gboolean value = FALSE;

  g_assert_true (g_variant_lookup (entry, key, "b", &value));
  return value;
}

G_END_DECLS
