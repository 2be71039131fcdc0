/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-password"

#include "config.h"

#include <argon2.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "cf-password.h"

/*
 * Passwords are argon2id PHC strings (`$argon2id$v=19$m=65536,t=3,p=1$...`)
 * with ContextForge's parameters, so that a database moved between the two
 * keeps its users. One hash takes tens of milliseconds and 64 MiB, so the
 * asynchronous calls run on a small pool of their own: a burst of logins
 * queues there instead of blocking the main loop or allocating a gigabyte.
 */

#define MAX_PARALLEL_HASHES 2
#define GENERATED_LENGTH 24

/* Without shell metacharacters, so that a generated password pastes into
 * a command line unquoted. */
static const char generated_alphabet[] =
  "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789-_.!@#%^*+=";

typedef struct {
  char *encoded;
  char *password;
} Job;

static void
wipe_free (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static void
job_free (gpointer data)
{
  Job *job = data;

  g_free (job->encoded);
  wipe_free (job->password);
  g_free (job);
}

/**
 * cf_password_hash:
 * @password: the clear-text password
 * @error: return location for a #GError
 *
 * Hashes with a fresh 16-byte salt from GnuTLS's key-grade generator.
 * Blocks for tens of milliseconds; the main loop uses
 * cf_password_hash_async().
 *
 * Returns: (transfer full) (nullable): the PHC string
 */
char *
cf_password_hash (const char  *password,
                  GError     **error)
{
  guint8 salt[CF_PASSWORD_SALT_LEN];
  gsize length;
  g_autofree char *encoded = NULL;
  int rc;

  g_return_val_if_fail (password != NULL, NULL);

  if (gnutls_rnd (GNUTLS_RND_KEY, salt, sizeof salt) < 0)
    g_error ("The system has no randomness for a password salt");

  length = argon2_encodedlen (CF_PASSWORD_TIME_COST, CF_PASSWORD_MEMORY_KIB,
                              CF_PASSWORD_PARALLELISM, sizeof salt, CF_PASSWORD_HASH_LEN,
                              Argon2_id);
  encoded = g_malloc0 (length);
  rc = argon2id_hash_encoded (CF_PASSWORD_TIME_COST, CF_PASSWORD_MEMORY_KIB,
                              CF_PASSWORD_PARALLELISM, password, strlen (password),
                              salt, sizeof salt, CF_PASSWORD_HASH_LEN, encoded, length);
  explicit_bzero (salt, sizeof salt);
  if (rc != ARGON2_OK)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD,
                   "Cannot hash the password: %s", argon2_error_message (rc));
      return NULL;
    }
  return g_steal_pointer (&encoded);
}

/**
 * cf_password_verify:
 * @encoded: an argon2id PHC string
 * @password: the clear-text candidate
 *
 * The comparison inside libargon2 is constant-time. Any hash that is not
 * argon2id (or does not parse) fails.
 *
 * Returns: %TRUE if @password matches
 */
gboolean
cf_password_verify (const char *encoded,
                    const char *password)
{
  g_return_val_if_fail (password != NULL, FALSE);

  if (encoded == NULL || !g_str_has_prefix (encoded, "$argon2id$"))
    return FALSE;
  return argon2id_verify (encoded, password, strlen (password)) == ARGON2_OK;
}

static void
run_job (gpointer data,
         gpointer user_data)
{
  g_autoptr(GTask) task = data;
  Job *job = g_task_get_task_data (task);
  GError *error = NULL;
  char *encoded;

  if (g_task_return_error_if_cancelled (task))
    return;

  if (job->encoded == NULL)
    {
      encoded = cf_password_hash (job->password, &error);
      if (encoded != NULL)
        g_task_return_pointer (task, encoded, g_free);
      else
        g_task_return_error (task, error);
    }
  else if (cf_password_verify (job->encoded, job->password))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_new_error (task, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS,
                             "The password does not match");
}

static GThreadPool *
get_pool (void)
{
  static GThreadPool *pool;

  if (g_once_init_enter (&pool))
    g_once_init_leave (&pool, g_thread_pool_new (run_job, NULL, MAX_PARALLEL_HASHES, FALSE,
                                                 NULL));
  return pool;
}

static void
submit (Job                 *job,
        gpointer             source_tag,
        GCancellable        *cancellable,
        GAsyncReadyCallback  callback,
        gpointer             user_data)
{
  GTask *task = g_task_new (NULL, cancellable, callback, user_data);

  g_task_set_source_tag (task, source_tag);
  g_task_set_task_data (task, job, job_free);
  g_thread_pool_push (get_pool (), task, NULL);
}

/**
 * cf_password_hash_async:
 * @password: the clear-text password; copied, and wiped after use
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * cf_password_hash() on the password pool.
 */
void
cf_password_hash_async (const char          *password,
                        GCancellable        *cancellable,
                        GAsyncReadyCallback  callback,
                        gpointer             user_data)
{
  Job *job;

  g_return_if_fail (password != NULL);

  job = g_new0 (Job, 1);
  job->password = g_strdup (password);
  submit (job, cf_password_hash_async, cancellable, callback, user_data);
}

/**
 * cf_password_hash_finish:
 *
 * Returns: (transfer full) (nullable): the PHC string
 */
char *
cf_password_hash_finish (GAsyncResult  *result,
                         GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_password_hash_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cf_password_verify_async:
 * @encoded: the stored PHC string
 * @password: the candidate; copied, and wiped after use
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * cf_password_verify() on the password pool.
 */
void
cf_password_verify_async (const char          *encoded,
                          const char          *password,
                          GCancellable        *cancellable,
                          GAsyncReadyCallback  callback,
                          gpointer             user_data)
{
  Job *job;

  g_return_if_fail (encoded != NULL);
  g_return_if_fail (password != NULL);

  job = g_new0 (Job, 1);
  job->encoded = g_strdup (encoded);
  job->password = g_strdup (password);
  submit (job, cf_password_verify_async, cancellable, callback, user_data);
}

/**
 * cf_password_verify_finish:
 *
 * Returns: %TRUE if the password matched; otherwise %FALSE with
 *   %CF_AUTH_ERROR_CREDENTIALS (or a cancellation) set
 */
gboolean
cf_password_verify_finish (GAsyncResult  *result,
                           GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, NULL), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_password_verify_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/**
 * cf_password_check_policy:
 * @password: a proposed password
 * @min_length: the least number of characters; platform admins pass
 *   %CF_PASSWORD_ADMIN_MIN_LENGTH
 * @error: return location for a #GError
 *
 * ContextForge's policy: long enough, with an upper-case letter, a
 * lower-case letter and a special character.
 *
 * Returns: %TRUE if @password is acceptable; otherwise %FALSE with
 *   %CF_AUTH_ERROR_WEAK_PASSWORD saying what is missing
 */
gboolean
cf_password_check_policy (const char  *password,
                          guint        min_length,
                          GError     **error)
{
  gboolean upper = FALSE, lower = FALSE, special = FALSE;
  const char *missing;

  g_return_val_if_fail (password != NULL, FALSE);

  if (!g_utf8_validate (password, -1, NULL) || strlen (password) > CF_PASSWORD_MAX_LENGTH)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD,
                   "Password must be valid UTF-8 of at most %d bytes", CF_PASSWORD_MAX_LENGTH);
      return FALSE;
    }
  if (g_utf8_strlen (password, -1) < min_length)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD,
                   "Password must be at least %u characters long", min_length);
      return FALSE;
    }

  for (const char *p = password; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      upper |= g_unichar_isupper (c);
      lower |= g_unichar_islower (c);
      special |= g_unichar_ispunct (c) || g_unichar_type (c) == G_UNICODE_MATH_SYMBOL ||
                 g_unichar_type (c) == G_UNICODE_CURRENCY_SYMBOL;
    }
  missing = !upper ? "an uppercase letter" : !lower ? "a lowercase letter" :
            !special ? "a special character" : NULL;
  if (missing == NULL)
    return TRUE;
  g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD,
               "Password must contain %s", missing);
  return FALSE;
}

/* A uniform pick from the alphabet: bytes past the largest multiple of
 * its size are drawn again rather than folded, which would bias. */
static char
random_character (void)
{
  const guint n = sizeof generated_alphabet - 1;
  guint8 byte;

  do
    if (gnutls_rnd (GNUTLS_RND_KEY, &byte, 1) < 0)
      g_error ("The system has no randomness for a password");
  while (byte >= 256 / n * n);
  return generated_alphabet[byte % n];
}

/**
 * cf_password_generate:
 *
 * A password for the bootstrap admin when none is configured: 24
 * characters (about 146 bits) that pass the admin policy.
 *
 * Returns: (transfer full): the password; wipe it after use
 */
char *
cf_password_generate (void)
{
  char *password = g_malloc0 (GENERATED_LENGTH + 1);

  /* Nearly every draw passes; the bound only makes the loop finite. */
  for (guint tries = 0; tries < 1000; tries++)
    {
      for (guint i = 0; i < GENERATED_LENGTH; i++)
        password[i] = random_character ();
      if (cf_password_check_policy (password, CF_PASSWORD_ADMIN_MIN_LENGTH, NULL))
        return password;
    }
  g_error ("Could not draw a password that passes the policy");
}
