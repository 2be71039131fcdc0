/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-secret-keyring"

#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#if HAVE_LIBSECRET
#include <libsecret/secret.h>
#endif

#include "cf-secret-keyring.h"

/*
 * On a desktop session the data key that seals upstream credentials
 * (v2 values, see cf-secret-cipher.c) is 32 random bytes kept in the
 * user's keyring through libsecret: the Secret Service
 * (org.freedesktop.secrets, e.g. GNOME Keyring) on the session bus, or
 * inside Flatpak the Secret portal, which libsecret uses by itself. One
 * item per database (attribute "database", its absolute path), created
 * the first time and looked up on every start; it never touches the
 * disk in clear, and is never logged.
 *
 * SECRETS_BACKEND picks the backend: env (the key is derived from
 * AUTH_ENCRYPTION_SECRET), keyring, or auto (the default): the keyring
 * when AUTH_ENCRYPTION_SECRET is not set and a Secret Service is there,
 * else env. Not SECRET_BACKEND: libsecret reads that one itself (service
 * or file), and fails on any other value.
 */

/* How long start-up waits for the keyring (a locked keyring may prompt
 * for its password) before it gives up. */
#define KEYRING_TIMEOUT_MS (30 * 1000)
/* How long asking the bus whether a Secret Service is there may take. */
#define BUS_TIMEOUT_MS 5000
#define SECRET_SERVICE_BUS_NAME "org.freedesktop.secrets"

/**
 * cf_secret_keyring_available:
 * @error: return location for a #GError: why not
 *
 * Whether a keyring can be reached: inside Flatpak (the Secret portal),
 * or a Secret Service that owns, or can be activated as,
 * org.freedesktop.secrets on the session bus. A process with no session
 * bus address (DBUS_SESSION_BUS_ADDRESS, or $XDG_RUNTIME_DIR/bus) has
 * none; this never autolaunches a bus.
 *
 * Returns: %TRUE when there is a keyring to ask
 */
gboolean
cf_secret_keyring_available (GError **error)
{
#if HAVE_LIBSECRET
  g_autofree char *socket = g_build_filename (g_get_user_runtime_dir (), "bus", NULL);
  g_autoptr(GDBusConnection) bus = NULL;
  g_autoptr(GVariant) owned = NULL;
  g_autoptr(GVariant) activatable = NULL;
  g_autofree const char **names = NULL;
  gboolean has_owner = FALSE;

  if (g_file_test ("/.flatpak-info", G_FILE_TEST_EXISTS))
    return TRUE;
  if (g_getenv ("DBUS_SESSION_BUS_ADDRESS") == NULL &&
      !g_file_test (socket, G_FILE_TEST_EXISTS))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                           "no session bus (DBUS_SESSION_BUS_ADDRESS is not set)");
      return FALSE;
    }
  bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, error);
  if (bus == NULL)
    return FALSE;
  owned = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus", "/org/freedesktop/DBus",
                                       "org.freedesktop.DBus", "NameHasOwner",
                                       g_variant_new ("(s)", SECRET_SERVICE_BUS_NAME),
                                       G_VARIANT_TYPE ("(b)"), G_DBUS_CALL_FLAGS_NONE,
                                       BUS_TIMEOUT_MS, NULL, error);
  if (owned == NULL)
    return FALSE;
  g_variant_get (owned, "(b)", &has_owner);
  if (has_owner)
    return TRUE;
  activatable = g_dbus_connection_call_sync (bus, "org.freedesktop.DBus",
                                             "/org/freedesktop/DBus", "org.freedesktop.DBus",
                                             "ListActivatableNames", NULL,
                                             G_VARIANT_TYPE ("(as)"), G_DBUS_CALL_FLAGS_NONE,
                                             BUS_TIMEOUT_MS, NULL, error);
  if (activatable == NULL)
    return FALSE;
  g_variant_get (activatable, "(^a&s)", &names);
  if (g_strv_contains (names, SECRET_SERVICE_BUS_NAME))
    return TRUE;
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                       "no Secret Service (" SECRET_SERVICE_BUS_NAME ") on the session bus");
  return FALSE;
#else
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "this build has no libsecret");
  return FALSE;
#endif
}

#if HAVE_LIBSECRET
static const SecretSchema *
data_key_schema (void)
{
  static const SecretSchema schema = {
    CF_SECRET_KEYRING_SCHEMA, SECRET_SCHEMA_NONE,
    {
      { "database", SECRET_SCHEMA_ATTRIBUTE_STRING },
      { NULL, 0 },
    },
  };

  return &schema;
}

/* The lookup, shared between the waiting thread and the worker, which
 * may outlive the wait. */
typedef struct {
  gatomicrefcount  ref;
  GMutex           lock;
  GCond            cond;
  gboolean         done;
  char            *database;
  GCancellable    *cancellable;
  GBytes          *key;
  GError          *error;
} KeyJob;

static void
key_job_unref (KeyJob *job)
{
  if (!g_atomic_ref_count_dec (&job->ref))
    return;
  g_mutex_clear (&job->lock);
  g_cond_clear (&job->cond);
  g_free (job->database);
  g_object_unref (job->cancellable);
  g_clear_pointer (&job->key, g_bytes_unref);
  g_clear_error (&job->error);
  g_free (job);
}

static void
wipe_free (gpointer data)
{
  explicit_bzero (data, CF_SECRET_CIPHER_KEY_SIZE);
  g_free (data);
}

/* The key from the keyring's text: base64 of exactly the key's bytes. */
static GBytes *
decode_key (const char  *text,
            const char  *database,
            GError     **error)
{
  gsize n = strlen (text);
  guint8 *raw;
  gsize length = 0;

  if (n != 44 || text[43] != '=')
    goto bad;
  for (gsize i = 0; i < 43; i++)
    if (!(g_ascii_isalnum (text[i]) || text[i] == '+' || text[i] == '/'))
      goto bad;
  raw = g_base64_decode (text, &length);
  if (length != CF_SECRET_CIPHER_KEY_SIZE)
    {
      explicit_bzero (raw, length);
      g_free (raw);
      goto bad;
    }
  return g_bytes_new_with_free_func (raw, length, wipe_free, raw);

bad:
  g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_MALFORMED,
               "The keyring's item \"%s\" for %s is not a data key; it was left as it is",
               CF_SECRET_KEYRING_LABEL, database);
  return NULL;
}

static char *
lookup (KeyJob  *job,
        GError **error)
{
  return secret_password_lookup_nonpageable_sync (data_key_schema (), job->cancellable, error,
                                                  "database", job->database, NULL);
}

/* Looks the key up, or makes and stores one; then looks it up again, so
 * that of two gateways starting on the same database at once, both use
 * the one the keyring kept. */
static GBytes *
lookup_or_create (KeyJob  *job,
                  GError **error)
{
  char *text = lookup (job, error);
  g_autoptr(GBytes) key = NULL;
  guint8 fresh[CF_SECRET_CIPHER_KEY_SIZE];
  char *encoded;
  gboolean stored;
  int rc;

  if (text == NULL && *error != NULL)
    return NULL;
  if (text == NULL)
    {
      rc = gnutls_rnd (GNUTLS_RND_KEY, fresh, sizeof fresh);
      if (rc < 0)
        {
          g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                       "Cannot make a data key: %s", gnutls_strerror (rc));
          return NULL;
        }
      encoded = g_base64_encode (fresh, sizeof fresh);
      explicit_bzero (fresh, sizeof fresh);
      stored = secret_password_store_sync (data_key_schema (), SECRET_COLLECTION_DEFAULT,
                                           CF_SECRET_KEYRING_LABEL, encoded, job->cancellable,
                                           error, "database", job->database, NULL);
      explicit_bzero (encoded, strlen (encoded));
      g_free (encoded);
      if (!stored)
        return NULL;
      text = lookup (job, error);
      if (text == NULL && *error == NULL)
        g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                     "The keyring did not keep the data key it was given for %s",
                     job->database);
      if (text == NULL)
        return NULL;
    }
  key = decode_key (text, job->database, error);
  secret_password_free (text);
  return g_steal_pointer (&key);
}

static gpointer
run_key_job (gpointer data)
{
  KeyJob *job = data;
  GError *error = NULL;
  GBytes *key = lookup_or_create (job, &error);

  g_mutex_lock (&job->lock);
  job->key = key;
  job->error = error;
  job->done = TRUE;
  g_cond_signal (&job->cond);
  g_mutex_unlock (&job->lock);
  key_job_unref (job);
  return NULL;
}
#endif

/**
 * cf_secret_keyring_load_key:
 * @database: the database whose data key this is
 * @timeout_ms: how long to wait for the keyring
 * @error: return location for a #GError
 *
 * The data key of @database from the keyring, made and stored there the
 * first time. The keyring is asked in a thread of its own; a keyring
 * that does not answer in @timeout_ms (a locked one prompting for its
 * password that nobody types) is an error, and the request is cancelled.
 *
 * Returns: (transfer full) (nullable): the key, wiped when freed, or
 *   %NULL with @error set
 */
GBytes *
cf_secret_keyring_load_key (const char  *database,
                            guint        timeout_ms,
                            GError     **error)
{
#if HAVE_LIBSECRET
  KeyJob *job = g_new0 (KeyJob, 1);
  gint64 deadline = g_get_monotonic_time () + (gint64) timeout_ms * G_TIME_SPAN_MILLISECOND;
  GBytes *key = NULL;

  g_return_val_if_fail (database != NULL, NULL);

  g_atomic_ref_count_init (&job->ref);
  g_atomic_ref_count_inc (&job->ref);
  g_mutex_init (&job->lock);
  g_cond_init (&job->cond);
  job->database = g_strdup (database);
  job->cancellable = g_cancellable_new ();
  g_thread_unref (g_thread_new ("cf-secret-keyring", run_key_job, job));

  g_mutex_lock (&job->lock);
  while (!job->done)
    if (!g_cond_wait_until (&job->cond, &job->lock, deadline))
      break;
  if (!job->done)
    {
      g_cancellable_cancel (job->cancellable);
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_TIMED_OUT,
                   "The keyring did not answer within %u s; is it locked?",
                   timeout_ms / 1000);
    }
  else if (job->error != NULL)
    g_propagate_error (error, g_steal_pointer (&job->error));
  else
    key = g_steal_pointer (&job->key);
  g_mutex_unlock (&job->lock);
  key_job_unref (job);
  return key;
#else
  g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                       "this build has no libsecret");
  return NULL;
#endif
}

/**
 * cf_secret_keyring_cipher_from_env:
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @database: the database the credentials are stored in
 * @out_warning: (out) (optional) (nullable): what to tell the operator
 * @error: return location for a #GError
 *
 * The gateway's #CfSecretStore as SECRETS_BACKEND says (auto, keyring or
 * env; see above). With the keyring, values sealed earlier under
 * AUTH_ENCRYPTION_SECRET (or, outside production, under the development
 * default when it is unset) still open; new ones are sealed under the
 * keyring's data key. SECRETS_BACKEND=keyring with no keyring to reach is
 * an error, so is a keyring that fails or does not answer in time.
 *
 * Returns: (transfer full) (nullable): the cipher, or %NULL with @error set
 */
CfSecretCipher *
cf_secret_keyring_cipher_from_env (const char * const  *environ,
                                   const char          *database,
                                   char               **out_warning,
                                   GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  GStrv env = environ ? (GStrv) environ : own;
  const char *backend = g_environ_getenv (env, "SECRETS_BACKEND") ?: "auto";
  const char *secret = g_environ_getenv (env, "AUTH_ENCRYPTION_SECRET");
  g_autoptr(GError) unreachable = NULL;
  g_autoptr(GError) failure = NULL;
  g_autoptr(GBytes) key = NULL;
  g_autofree char *path = NULL;
  const char *libsecret_backend;

  g_return_val_if_fail (database != NULL, NULL);

  if (out_warning != NULL)
    *out_warning = NULL;
  if (g_str_equal (backend, "env") ||
      (g_str_equal (backend, "auto") &&
       ((secret != NULL && *secret != '\0') || !cf_secret_keyring_available (NULL))))
    return cf_secret_cipher_new_from_env ((const char * const *) env, out_warning, error);
  if (!g_str_equal (backend, "auto") && !g_str_equal (backend, "keyring"))
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                   "SECRETS_BACKEND=%s: use auto, keyring or env", backend);
      return NULL;
    }
  if (g_str_equal (backend, "keyring") && !cf_secret_keyring_available (&unreachable))
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                   "SECRETS_BACKEND=keyring, but the keyring cannot be reached: %s; use "
                   "SECRETS_BACKEND=env with AUTH_ENCRYPTION_SECRET on a server",
                   unreachable->message);
      return NULL;
    }

  libsecret_backend = g_getenv ("SECRET_BACKEND");
  if (libsecret_backend != NULL && !g_str_equal (libsecret_backend, "service") &&
      !g_str_equal (libsecret_backend, "file"))
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                   "SECRET_BACKEND=%s: that is libsecret's setting (service or file); the "
                   "gateway's is SECRETS_BACKEND (auto, keyring or env)", libsecret_backend);
      return NULL;
    }
  path = g_canonicalize_filename (database, NULL);
  key = cf_secret_keyring_load_key (path, KEYRING_TIMEOUT_MS, &failure);
  /* auto: a keyring that looked reachable but has no service behind it
   * (inside a Flatpak without the Secret portal, say) means the keyring
   * is not there, as when it is not found at all. A keyring that answers
   * wrongly, or not in time, stays an error: guessing would change keys. */
  if (key == NULL && g_str_equal (backend, "auto") &&
      (failure->domain == G_DBUS_ERROR || g_dbus_error_is_remote_error (failure)))
    {
      g_autofree char *env_warning = NULL;
      CfSecretCipher *cipher;

      g_dbus_error_strip_remote_error (failure);
      cipher = cf_secret_cipher_new_from_env ((const char * const *) env, &env_warning, error);
      if (cipher != NULL && out_warning != NULL)
        *out_warning = g_strdup_printf ("SECRETS_BACKEND=auto: no keyring answered (%s), so "
                                        "upstream secrets are sealed under "
                                        "AUTH_ENCRYPTION_SECRET%s%s", failure->message,
                                        env_warning ? ". " : "", env_warning ?: "");
      return cipher;
    }
  if (key == NULL)
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                   "Cannot get the data key from the keyring (SECRETS_BACKEND=%s): %s",
                   backend, failure->message);
      return NULL;
    }
  return cf_secret_cipher_new_with_key (key,
                                        cf_secret_cipher_legacy_passphrase ((const char * const *) env),
                                        error);
}
