/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <fcntl.h>
#include <gio/gio.h>
#include <glib/gstdio.h>
#include <stdlib.h>
#include <string.h>
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

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_UNDEFINED__)
#define CF_TEST_SANITIZED 1
#endif

/* In a sanitizer build, where the daemon the bus activates writes its
 * sanitizer reports: its exit status reaches no one, so the reports go
 * to files that cf_test_bus_stop() reads. */
static char *cf_test_report_dir;

static inline void
cf_test_sanitizer_logs_begin (void)
{
#ifdef CF_TEST_SANITIZED
  static const char * const variables[] = { "ASAN_OPTIONS", "UBSAN_OPTIONS" };
  g_autoptr(GError) error = NULL;

  g_assert_null (cf_test_report_dir);
  cf_test_report_dir = g_dir_make_tmp ("cf-sanitizer-XXXXXX", &error);
  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (variables); i++)
    {
      const char *before = g_getenv (variables[i]);
      g_autofree char *options = g_strdup_printf ("%s%slog_path=%s/report", before ? before : "",
                                                  before && *before ? ":" : "",
                                                  cf_test_report_dir);

      /* This process read its options at start: only children see it. */
      g_setenv (variables[i], options, TRUE);
    }
#endif
}

/* Whether the process @pid runs one of the project's programs (the
 * daemon, the fixture server) rather than the bus or GTestDBus' own */
static inline gboolean
cf_test_runs_ours (int pid)
{
  static const char * const variables[] = { "CF_TEST_GATEWAY", "CF_TEST_FIXTURE" };
  g_autofree char *link = g_strdup_printf ("/proc/%d/exe", pid);
  g_autofree char *exe = g_file_read_link (link, NULL);

  for (guint i = 0; exe != NULL && i < G_N_ELEMENTS (variables); i++)
    {
      g_autofree char *ours = g_getenv (variables[i])
                              ? g_canonicalize_filename (g_getenv (variables[i]), NULL) : NULL;

      if (ours != NULL && g_str_equal (exe, ours))
        return TRUE;
    }
  return FALSE;
}

/* The project's processes that run with this test's report folder in
 * their environment: the daemon, and the stdio upstreams it started. */
static inline GArray *
cf_test_sanitizer_processes (void)
{
  GArray *pids = g_array_new (FALSE, FALSE, sizeof (int));
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  const char *name;

  while (proc != NULL && cf_test_report_dir != NULL && (name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "environ", NULL);
      g_autofree char *environ_data = NULL;
      gsize length = 0;
      int pid = atoi (name);

      if (pid <= 0 || pid == getpid () || !cf_test_runs_ours (pid) ||
          !g_file_get_contents (path, &environ_data, &length, NULL))
        continue;
      for (gsize at = 0; at < length; at += strlen (environ_data + at) + 1)
        if (g_str_has_prefix (environ_data + at, "ASAN_OPTIONS=") &&
            strstr (environ_data + at, cf_test_report_dir) != NULL)
          {
            g_array_append_val (pids, pid);
            break;
          }
    }
  return pids;
}

/* Waits for those processes to end (they go with the bus), then fails
 * the test for any report they left. */
static inline void
cf_test_sanitizer_logs_end (GArray *pids)
{
  g_autoptr(GDir) dir = NULL;
  const char *name;
  gint64 deadline = g_get_monotonic_time () + 30 * G_USEC_PER_SEC;
  gboolean reported = FALSE;

  if (cf_test_report_dir == NULL)
    return;
  for (guint i = 0; i < pids->len; i++)
    {
      g_autofree char *path = g_strdup_printf ("/proc/%d", g_array_index (pids, int, i));

      while (g_file_test (path, G_FILE_TEST_EXISTS) && g_get_monotonic_time () < deadline)
        g_usleep (20000);
    }

  dir = g_dir_open (cf_test_report_dir, 0, NULL);
  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *path = g_build_filename (cf_test_report_dir, name, NULL);
      g_autofree char *report = NULL;

      if (g_file_get_contents (path, &report, NULL, NULL) && *report != '\0')
        {
          g_printerr ("A process the bus activated reported:\n%s\n", report);
          reported = TRUE;
        }
      g_unlink (path);
    }
  g_rmdir (cf_test_report_dir);
  g_clear_pointer (&cf_test_report_dir, g_free);
  if (reported)
    g_test_fail_printf ("the daemon or a child of it left a sanitizer report");
}

/**
 * cf_test_bus_start:
 *
 * Starts a private session bus that activates the daemon from the
 * service file in `CF_TEST_SERVICE_DIR`. The bus daemon, and the gateway
 * it starts, write to the stdout they inherit: they get stderr, so that
 * the gateway's banner stays out of the test's TAP. In a sanitizer
 * build, the daemon's reports go to files: stop the bus with
 * cf_test_bus_stop(), which fails the test for them.
 *
 * Returns: (transfer full): the bus, up
 */
static inline GTestDBus *
cf_test_bus_start (void)
{
  GTestDBus *dbus;
  int stdout_fd;

  cf_test_sanitizer_logs_begin ();
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
 * cf_test_bus_stop:
 * @dbus: (transfer full): a bus from cf_test_bus_start()
 *
 * Stops the bus, and the daemon with it. In a sanitizer build it waits
 * for the daemon and its children to exit, and fails the test if any of
 * them left a report.
 */
static inline void
cf_test_bus_stop (GTestDBus *dbus)
{
  g_autoptr(GArray) pids = cf_test_sanitizer_processes ();

  g_test_dbus_down (dbus);
  g_object_unref (dbus);
  cf_test_sanitizer_logs_end (pids);
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
