/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"
#include "cf-secret-keyring.h"

/* Upstream credentials on a desktop session (SECRETS_BACKEND): sealed
 * under a random data key that the gateway keeps in the keyring, a real
 * GNOME Keyring (gnome-keyring-daemon, secrets component) on a private
 * session bus (GTestDBus). The credential reaches an upstream that
 * demands it, before and after a restart; neither it nor the key is in
 * the database; the keyring holds the key; SECRETS_BACKEND=keyring with no
 * keyring refuses to start, and auto falls back to AUTH_ENCRYPTION_SECRET;
 * a database sealed under AUTH_ENCRYPTION_SECRET still opens. */

#define WAIT_S 20
#define KEYRING_PASSWORD "cf-test-keyring-password"
#define TOKEN "d3sk70p-bearer-t0ken-42"
#define STRONG_SECRET "Vq3xZ8tR1mK6pL0sB7nW2cY9dF4gH5jA="
#define FIXTURE_TOOLS 14

typedef struct {
  GTestDBus   *bus;
  GSubprocess *keyring;
  char        *runtime_dir;
} Session;

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-keyring-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, "gateway.db", NULL);
}

static void
remove_dir (const char *dir)
{
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        remove_dir (path);
      else
        g_remove (path);
    }
  g_rmdir (dir);
}

static void
remove_db (const char *db)
{
  g_autofree char *dir = g_path_get_dirname (db);

  remove_dir (dir);
}

static void
die_with_parent (gpointer data)
{
  prctl (PR_SET_PDEATHSIG, SIGKILL);
}

/* Whether the keyring's default collection (the login keyring, which
 * gnome-keyring-daemon makes with the password it was given) is there:
 * it is made after the daemon takes its name on the bus. */
static gboolean
has_default_collection (GDBusConnection *bus)
{
  g_autoptr(GVariant) reply = NULL;
  const char *path = "/";

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.secrets", "/org/freedesktop/secrets",
                                       "org.freedesktop.Secret.Service", "ReadAlias",
                                       g_variant_new ("(s)", "default"), G_VARIANT_TYPE ("(o)"),
                                       G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(&o)", &path);
  return !g_str_equal (path, "/");
}

static gboolean
has_owner (GDBusConnection *bus,
           const char      *name)
{
  g_autoptr(GVariant) reply = NULL;
  gboolean owned = FALSE;

  reply = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", name), G_VARIANT_TYPE ("(b)"),
                                       G_DBUS_CALL_FLAGS_NONE, 5000, NULL, NULL);
  if (reply != NULL)
    g_variant_get (reply, "(b)", &owned);
  return owned;
}

/* A private session bus; with @keyring, GNOME Keyring's secrets on it,
 * its login keyring (in the test's own XDG_DATA_HOME) unlocked with a
 * password on standard input: with an empty one it would ask a prompter.
 * Returns %FALSE (the test skipped) when gnome-keyring-daemon or
 * secret-tool is not installed. */
static gboolean
session_up (Session  *session,
            gboolean  keyring)
{
  g_autofree char *daemon = g_find_program_in_path ("gnome-keyring-daemon");
  g_autofree char *tool = g_find_program_in_path ("secret-tool");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GError) error = NULL;
  GOutputStream *input;
  gint64 deadline;

  memset (session, 0, sizeof *session);
  if (keyring && (daemon == NULL || tool == NULL))
    {
      g_test_skip ("gnome-keyring-daemon or secret-tool is not installed "
                   "(sh tests/setup-debian test)");
      return FALSE;
    }
  session->bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_test_dbus_up (session->bus);
  if (!keyring)
    return TRUE;

  session->runtime_dir = g_dir_make_tmp ("cf-keyring-run-XXXXXX", &error);
  g_assert_no_error (error);
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                        G_SUBPROCESS_FLAGS_STDERR_SILENCE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_setenv (launcher, "XDG_RUNTIME_DIR", session->runtime_dir, TRUE);
  /* GTestDBus points XDG_DATA_HOME at /dev/null: the keyrings go here. */
  g_subprocess_launcher_setenv (launcher, "XDG_DATA_HOME", session->runtime_dir, TRUE);
  g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS",
                                g_test_dbus_get_bus_address (session->bus), TRUE);
  session->keyring = g_subprocess_launcher_spawn (launcher, &error, daemon, "--foreground",
                                                  "--unlock", "--components=secrets", NULL);
  g_assert_no_error (error);
  input = g_subprocess_get_stdin_pipe (session->keyring);
  g_output_stream_write_all (input, KEYRING_PASSWORD, strlen (KEYRING_PASSWORD), NULL, NULL,
                             &error);
  g_assert_no_error (error);
  g_output_stream_close (input, NULL, &error);
  g_assert_no_error (error);

  bus = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (session->bus),
                                                G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                NULL, NULL, &error);
  g_assert_no_error (error);
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (!has_default_collection (bus) && g_get_monotonic_time () < deadline)
    g_usleep (50 * 1000);
  g_assert_true (has_owner (bus, "org.freedesktop.secrets"));
  g_assert_true (has_default_collection (bus));
  g_dbus_connection_close_sync (bus, NULL, NULL);
  return TRUE;
}

static void
session_down (Session *session)
{
  if (session->keyring != NULL)
    {
      g_subprocess_send_signal (session->keyring, SIGTERM);
      g_subprocess_wait (session->keyring, NULL, NULL);
      g_clear_object (&session->keyring);
    }
  if (session->bus != NULL)
    {
      g_test_dbus_down (session->bus);
      g_clear_object (&session->bus);
    }
  if (session->runtime_dir != NULL)
    {
      remove_dir (session->runtime_dir);
      g_clear_pointer (&session->runtime_dir, g_free);
    }
}

typedef struct {
  char     *text;
  gboolean  done;
} Output;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      data)
{
  Output *output = data;
  g_autoptr(GError) error = NULL;
  char *out = NULL;
  char *err = NULL;

  g_assert_true (g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &out,
                                                       &err, &error));
  g_assert_no_error (error);
  output->text = out != NULL ? out : err;
  g_free (out != NULL ? err : NULL);
  if (output->text == NULL)
    output->text = g_strdup ("");
  output->done = TRUE;
}

/* Reads @process's one output pipe to its end, within WAIT_S. */
static char *
read_all (GSubprocess *process)
{
  Output output = { NULL, FALSE };

  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated, &output);
  if (!cf_harness_wait_for (&output.done, WAIT_S))
    {
      g_subprocess_force_exit (process);
      g_error ("%s did not finish", g_subprocess_get_identifier (process));
    }
  return output.text;
}

/* Runs the gateway, which must stop on its own within WAIT_S; returns
 * its exit status and standard error. @bus_address: the session bus it
 * sees, or %NULL for none. */
static int
run_gateway (const char * const  *env,
             const char          *bus_address,
             const char          *db,
             char               **out_stderr)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  if (bus_address != NULL)
    g_subprocess_launcher_setenv (launcher, "DBUS_SESSION_BUS_ADDRESS", bus_address, TRUE);
  g_subprocess_launcher_setenv (launcher, "AUTH_REQUIRED", "false", TRUE);
  for (guint i = 0; env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CF_TEST_GATEWAY"),
                                         "--daemon", "--no-dbus", "--port", "0", "--db", db,
                                         NULL);
  g_assert_no_error (error);
  *out_stderr = read_all (process);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

static GSubprocess *
spawn_fixture (char **out_url)
{
  const char *argv[] = { g_getenv ("CF_TEST_FIXTURE"), "--port", "0", "--require-bearer", TOKEN,
                         NULL };

  return cf_harness_spawn (argv, out_url);
}

static char *
register_upstream (CfDaemonHarness *d,
                   const char      *name,
                   const char      *url)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\",\"url\":\"%s\","
                                           "\"transport\":\"STREAMABLEHTTP\","
                                           "\"prefix_mode\":\"never\",\"auth_type\":\"bearer\","
                                           "\"auth_token\":\"" TOKEN "\"}", name, url);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autofree char *text = cf_json_object_to_string (gateway);

  g_assert_null (strstr (text, TOKEN));
  return g_strdup (json_object_get_string_member (gateway, "id"));
}

/* The upstream's tools are there and a call reaches it: the gateway
 * opened the credential it sealed. */
static void
assert_call_works (CfDaemonHarness *d,
                   const char      *id)
{
  const char *body = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                     "\"params\":{\"name\":\"test_simple_text\",\"arguments\":{}}}";
  g_autoptr(JsonNode) reply = NULL;
  guint status = 0;

  cf_harness_wait_for_tools (d, id, FIXTURE_TOOLS);
  reply = cf_harness_request (d, "POST", "/rpc", body, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "This is a simple text response for testing.");
}

/* Waits, bounded, until the gateway's status message for the upstream
 * says @needle; returns it. */
static char *
wait_status (CfDaemonHarness *d,
             const char      *id,
             const char      *needle)
{
  g_autofree char *path = g_strdup_printf ("/v1/gateways/%s", id);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      guint status = 0;
      g_autoptr(JsonNode) node = cf_harness_request (d, "GET", path, NULL, NULL, &status, NULL);
      JsonObject *gateway;
      const char *message;

      g_assert_cmpuint (status, ==, 200);
      gateway = json_node_get_object (node);
      message = json_object_get_string_member_with_default (gateway, "statusMessage", "");
      if (strstr (message, needle) != NULL)
        return g_strdup (message);
      g_usleep (100 * 1000);
    }
  g_error ("gateway %s's status never said %s", id, needle);
}

/* The data key of @db, as secret-tool reads it from the keyring. */
static char *
keyring_key (const char *db)
{
  g_autofree char *path = g_canonicalize_filename (db, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(GSubprocess) tool = NULL;
  char *out;

  tool = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error, "secret-tool", "lookup",
                           "xdg:schema", CF_SECRET_KEYRING_SCHEMA, "database", path, NULL);
  g_assert_no_error (error);
  out = read_all (tool);
  g_strstrip (out);
  return out;
}

/* The v2 envelope, without a bus: sealed under the data key, opened only
 * with it; v1 values still open when the passphrase is given. */
static void
test_cipher (void)
{
  guint8 raw[CF_SECRET_CIPHER_KEY_SIZE];
  g_autoptr(GBytes) key = NULL;
  g_autoptr(GBytes) other_key = NULL;
  g_autoptr(GBytes) short_key = g_bytes_new_static ("short", 5);
  g_autoptr(CfSecretCipher) env = cf_secret_cipher_new (STRONG_SECRET, NULL);
  g_autoptr(CfSecretCipher) keyed = NULL;
  g_autoptr(CfSecretCipher) keyed_only = NULL;
  g_autoptr(CfSecretCipher) other = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *v1 = cf_secret_store_seal (CF_SECRET_STORE (env), TOKEN, NULL);
  g_autofree char *v2 = NULL;
  g_autoptr(CfSecret) opened = NULL;
  g_autoptr(CfSecret) opened_v1 = NULL;
  g_autofree char *nothing = NULL;

  for (guint i = 0; i < sizeof raw; i++)
    raw[i] = (guint8) (i * 7 + 1);
  key = g_bytes_new (raw, sizeof raw);
  raw[0] ^= 0xff;
  other_key = g_bytes_new (raw, sizeof raw);

  g_assert_null (cf_secret_cipher_new_with_key (short_key, NULL, &error));
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED);
  g_clear_error (&error);

  keyed = cf_secret_cipher_new_with_key (key, STRONG_SECRET, &error);
  g_assert_no_error (error);
  v2 = cf_secret_store_seal (CF_SECRET_STORE (keyed), TOKEN, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (v2, CF_SECRET_CIPHER_KEYRING_PREFIX));
  g_assert_true (cf_secret_cipher_is_sealed (v2));
  g_assert_null (strstr (v2, TOKEN));
  opened = cf_secret_store_unseal (CF_SECRET_STORE (keyed), v2, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (opened, ==, TOKEN);
  opened_v1 = cf_secret_store_unseal (CF_SECRET_STORE (keyed), v1, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (opened_v1, ==, TOKEN);

  /* The env cipher cannot open v2, and says where it comes from. */
  nothing = cf_secret_store_unseal (CF_SECRET_STORE (env), v2, &error);
  g_assert_null (nothing);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, "SECRETS_BACKEND=keyring"));
  g_clear_error (&error);

  /* Another data key cannot open it; a keyed cipher without the
   * passphrase cannot open v1. */
  other = cf_secret_cipher_new_with_key (other_key, NULL, &error);
  g_assert_no_error (error);
  nothing = cf_secret_store_unseal (CF_SECRET_STORE (other), v2, &error);
  g_assert_null (nothing);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_DECRYPT);
  g_clear_error (&error);
  nothing = cf_secret_store_unseal (CF_SECRET_STORE (other), v1, &error);
  g_assert_null (nothing);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_VERSION);
  g_assert_nonnull (strstr (error->message, "AUTH_ENCRYPTION_SECRET"));
  g_clear_error (&error);

  /* A v2 value altered, or passed off as v1, does not open. */
  v2[strlen (v2) - 3] = v2[strlen (v2) - 3] == 'A' ? 'B' : 'A';
  nothing = cf_secret_store_unseal (CF_SECRET_STORE (keyed), v2, &error);
  g_assert_null (nothing);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_DECRYPT);
  g_clear_error (&error);
  v2[1] = '1';
  nothing = cf_secret_store_unseal (CF_SECRET_STORE (keyed), v2, &error);
  g_assert_null (nothing);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_DECRYPT);
  g_clear_error (&error);

  keyed_only = cf_secret_keyring_cipher_from_env ((const char *[]) { "SECRETS_BACKEND=env",
                                                                     NULL },
                                                  "/nonexistent/x.db", NULL, &error);
  g_assert_no_error (error);
  nothing = cf_secret_store_seal (CF_SECRET_STORE (keyed_only), TOKEN, &error);
  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (nothing, CF_SECRET_CIPHER_PREFIX));
  g_clear_pointer (&nothing, g_free);
  g_clear_object (&keyed_only);
  keyed_only = cf_secret_keyring_cipher_from_env ((const char *[]) { "SECRETS_BACKEND=vault",
                                                                     NULL },
                                                  "/nonexistent/x.db", NULL, &error);
  g_assert_null (keyed_only);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED);
  g_assert_nonnull (strstr (error->message, "use auto, keyring or env"));
}

/* No Secret Service on the bus, or no bus: keyring refuses to start and
 * says why; auto falls back to AUTH_ENCRYPTION_SECRET (here unset, so
 * the development default), which the env backend then opens. */
static void
test_no_keyring (void)
{
  Session session;
  g_autofree char *db = temp_db ();
  const char *keyring_env[] = { "SECRETS_BACKEND", "keyring", "AUTH_ENCRYPTION_SECRET", "",
                                NULL };
  const char *bogus_env[] = { "SECRETS_BACKEND", "vault", NULL };
  g_autofree char *err = NULL;
  g_autofree char *no_bus_err = NULL;
  g_autofree char *bogus_err = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = NULL;
  g_autofree char *id = NULL;
  CfDaemonHarness *d;

  session_up (&session, FALSE);
  g_assert_cmpint (run_gateway (keyring_env, g_test_dbus_get_bus_address (session.bus), db, &err),
                   ==, 1);
  g_assert_nonnull (strstr (err, "SECRETS_BACKEND=keyring"));
  g_assert_nonnull (strstr (err, "org.freedesktop.secrets"));
  g_assert_cmpint (run_gateway (keyring_env, NULL, db, &no_bus_err), ==, 1);
  g_assert_nonnull (strstr (no_bus_err, "SECRETS_BACKEND=keyring"));
  g_assert_nonnull (strstr (no_bus_err, "no session bus"));
  g_assert_cmpint (run_gateway (bogus_env, NULL, db, &bogus_err), ==, 1);
  g_assert_nonnull (strstr (bogus_err, "SECRETS_BACKEND=vault"));

  fixture = spawn_fixture (&url);
  {
    const char *auto_env[] = { "SECRETS_BACKEND", "auto", "AUTH_ENCRYPTION_SECRET", "",
                               "DBUS_SESSION_BUS_ADDRESS",
                               g_test_dbus_get_bus_address (session.bus), NULL };

    d = cf_daemon_harness_start (db, auto_env);
    id = register_upstream (d, "auto-env", url);
    assert_call_works (d, id);
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
  }
  {
    const char *env_env[] = { "SECRETS_BACKEND", "env", "AUTH_ENCRYPTION_SECRET", "", NULL };

    d = cf_daemon_harness_start (db, env_env);
    assert_call_works (d, id);
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
  }
  cf_harness_assert_not_in_database (db, TOKEN);
  g_subprocess_force_exit (fixture);
  session_down (&session);
  remove_db (db);
}

/* A Secret Service that the bus can activate but that never starts (as
 * inside a Flatpak without the Secret portal): auto falls back to the
 * environment's key, keyring stops with the bus's error. */
static void
test_broken_service (void)
{
  g_autofree char *db = temp_db ();
  g_autofree char *services = g_dir_make_tmp ("cf-keyring-services-XXXXXX", NULL);
  g_autofree char *service = g_build_filename (services, "org.freedesktop.secrets.service",
                                               NULL);
  g_autoptr(GTestDBus) bus = g_test_dbus_new (G_TEST_DBUS_NONE);
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = NULL;
  g_autofree char *id = NULL;
  CfDaemonHarness *d;

  g_file_set_contents (service, "[D-BUS Service]\nName=org.freedesktop.secrets\n"
                       "Exec=/bin/false\n", -1, &error);
  g_assert_no_error (error);
  g_test_dbus_add_service_dir (bus, services);
  g_test_dbus_up (bus);

  {
    const char *keyring_env[] = { "SECRETS_BACKEND", "keyring", "AUTH_ENCRYPTION_SECRET", "",
                                  NULL };

    g_assert_cmpint (run_gateway (keyring_env, g_test_dbus_get_bus_address (bus), db, &err),
                     ==, 1);
    g_assert_nonnull (strstr (err, "SECRETS_BACKEND=keyring"));
  }

  fixture = spawn_fixture (&url);
  {
    const char *auto_env[] = { "SECRETS_BACKEND", "auto", "AUTH_ENCRYPTION_SECRET", "",
                               "DBUS_SESSION_BUS_ADDRESS", g_test_dbus_get_bus_address (bus),
                               NULL };

    d = cf_daemon_harness_start (db, auto_env);
    id = register_upstream (d, "auto-broken", url);
    assert_call_works (d, id);
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
  }
  cf_harness_assert_not_in_database (db, TOKEN);
  g_subprocess_force_exit (fixture);
  g_test_dbus_down (bus);
  g_remove (service);
  g_rmdir (services);
  remove_db (db);
}

/* The desktop: the key is made once, kept in the keyring and found again
 * on restart; the database holds neither the credential nor the key; a
 * gateway without the keyring cannot open it, and says so. */
static void
test_keyring (void)
{
  Session session;
  g_autofree char *db = temp_db ();
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = NULL;
  g_autofree char *id = NULL;
  g_autofree char *key = NULL;
  g_autofree char *again = NULL;
  g_autofree char *message = NULL;
  g_autofree guint8 *raw = NULL;
  gsize length = 0;
  CfDaemonHarness *d;

  if (!session_up (&session, TRUE))
    return;
  fixture = spawn_fixture (&url);
  {
    const char *env[] = { "SECRETS_BACKEND", "keyring", "AUTH_ENCRYPTION_SECRET", "",
                          "DBUS_SESSION_BUS_ADDRESS", g_test_dbus_get_bus_address (session.bus),
                          NULL };

    d = cf_daemon_harness_start (db, env);
    id = register_upstream (d, "desktop", url);
    assert_call_works (d, id);
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);

    key = keyring_key (db);
    g_assert_cmpuint (strlen (key), ==, 44);
    raw = g_base64_decode (key, &length);
    g_assert_cmpuint (length, ==, CF_SECRET_CIPHER_KEY_SIZE);

    d = cf_daemon_harness_start (db, env);
    assert_call_works (d, id);
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
  }
  again = keyring_key (db);
  g_assert_cmpstr (again, ==, key);
  cf_harness_assert_not_in_database (db, TOKEN);
  cf_harness_assert_not_in_database (db, key);

  {
    const char *env[] = { "SECRETS_BACKEND", "env", "AUTH_ENCRYPTION_SECRET", STRONG_SECRET,
                          NULL };

    d = cf_daemon_harness_start (db, env);
    message = wait_status (d, id, "SECRETS_BACKEND=keyring");
    g_assert_nonnull (strstr (message, "SECRETS_BACKEND=keyring"));
    g_assert_null (strstr (message, TOKEN));
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
  }
  g_subprocess_force_exit (fixture);
  session_down (&session);
  remove_db (db);
}

/* The keyring's item for the database is not a key (edited by hand, or
 * another program's): the gateway refuses to start, says so, and leaves
 * it alone rather than replacing it (which would lose what it sealed). */
static void
test_bad_key (void)
{
  Session session;
  g_autofree char *db = temp_db ();
  g_autofree char *path = g_canonicalize_filename (db, NULL);
  g_autofree char *err = NULL;
  g_autofree char *after = NULL;
  g_autoptr(GSubprocess) tool = NULL;
  g_autoptr(GError) error = NULL;

  if (!session_up (&session, TRUE))
    return;
  tool = g_subprocess_new (G_SUBPROCESS_FLAGS_STDIN_PIPE, &error, "secret-tool", "store",
                           "--label=" CF_SECRET_KEYRING_LABEL, "xdg:schema",
                           CF_SECRET_KEYRING_SCHEMA, "database", path, NULL);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_communicate_utf8 (tool, "not-a-key", NULL, NULL, NULL, &error));
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_successful (tool));
  {
    const char *env[] = { "SECRETS_BACKEND", "keyring", "AUTH_ENCRYPTION_SECRET", "", NULL };

    g_assert_cmpint (run_gateway (env, g_test_dbus_get_bus_address (session.bus), db, &err),
                     ==, 1);
  }
  g_assert_nonnull (strstr (err, "is not a data key"));
  g_assert_null (strstr (err, "not-a-key"));
  after = keyring_key (db);
  g_assert_cmpstr (after, ==, "not-a-key");
  session_down (&session);
  remove_db (db);
}

/* A database sealed on a server under AUTH_ENCRYPTION_SECRET, opened on
 * the desktop with that secret given: its credentials still open, and
 * new ones are sealed under the keyring's key. */
static void
test_migration (void)
{
  Session session;
  g_autofree char *db = temp_db ();
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = NULL;
  g_autofree char *server_id = NULL;
  g_autofree char *key = NULL;
  CfDaemonHarness *d;
  const char *server_env[] = { "SECRETS_BACKEND", "env", "AUTH_ENCRYPTION_SECRET", STRONG_SECRET,
                               NULL };

  if (!session_up (&session, TRUE))
    return;
  fixture = spawn_fixture (&url);
  d = cf_daemon_harness_start (db, server_env);
  server_id = register_upstream (d, "server", url);
  assert_call_works (d, server_id);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);

  {
    const char *env[] = { "SECRETS_BACKEND", "keyring", "AUTH_ENCRYPTION_SECRET", STRONG_SECRET,
                          "DBUS_SESSION_BUS_ADDRESS", g_test_dbus_get_bus_address (session.bus),
                          NULL };

    d = cf_daemon_harness_start (db, env);
    assert_call_works (d, server_id);
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
  }
  key = keyring_key (db);
  g_assert_cmpuint (strlen (key), ==, 44);
  cf_harness_assert_not_in_database (db, TOKEN);
  g_subprocess_force_exit (fixture);
  session_down (&session);
  remove_db (db);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/secret-keyring/cipher", test_cipher);
  g_test_add_func ("/secret-keyring/no-keyring", test_no_keyring);
  g_test_add_func ("/secret-keyring/broken-service", test_broken_service);
  g_test_add_func ("/secret-keyring/keyring", test_keyring);
  g_test_add_func ("/secret-keyring/migration", test_migration);
  g_test_add_func ("/secret-keyring/bad-key", test_bad_key);
  return g_test_run ();
}
