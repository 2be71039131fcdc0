/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-auth"

#include "config.h"

#include <string.h>

#include "cf-auth-private.h"
#include "cf-json.h"
#include "cf-password.h"

/* What every failed login says, whatever failed: an unknown email, a
 * wrong password, a locked or disabled account (as ContextForge). */
#define INVALID_LOGIN "Invalid email or password"

typedef struct {
  char                *email;
  char                *password;
  char                *new_password;
  gboolean             enforce_change;
  gboolean             matched;
  JsonObject          *user;
  /* The first step: what to do with the user's row. */
  GAsyncReadyCallback  on_user;
} Op;

static void
wipe_free (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

static void
op_free (gpointer data)
{
  Op *op = data;

  g_free (op->email);
  wipe_free (op->password);
  wipe_free (op->new_password);
  g_clear_pointer (&op->user, json_object_unref);
  g_free (op);
}

static GTask *
op_task (CfAuth              *self,
         const char          *email,
         gpointer             source_tag,
         GCancellable        *cancellable,
         GAsyncReadyCallback  callback,
         gpointer             user_data)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  Op *op = g_new0 (Op, 1);

  g_task_set_source_tag (task, source_tag);
  op->email = cf_auth_normalize_email (email);
  g_task_set_task_data (task, op, op_free);
  return task;
}

/* Every operation starts by reading the user; until the bootstrap has
 * created the platform admin, that waits. */
static void
start_with_user (CfAuth              *self,
                 GTask               *task,
                 GAsyncReadyCallback  on_user)
{
  Op *op = g_task_get_task_data (task);

  op->on_user = on_user;
  if (self->bootstrapping)
    g_ptr_array_add (self->waiting, task);
  else
    cf_store_user_lookup_async (self->store, op->email, g_task_get_cancellable (task), on_user,
                                task);
}

static void
resume_now (CfAuth *self)
{
  g_autoptr(GPtrArray) waiting = g_steal_pointer (&self->waiting);

  self->bootstrapping = FALSE;
  self->waiting = g_ptr_array_new ();
  for (guint i = 0; i < waiting->len; i++)
    {
      GTask *task = g_ptr_array_index (waiting, i);

      start_with_user (self, task, ((Op *) g_task_get_task_data (task))->on_user);
    }
}

static void
on_user_hooked (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CfAuth) self = user_data;

  resume_now (self);
}

/* The platform admin exists now (or could not be created): once the user
 * hook gave it its personal team, the operations that waited go on. */
void
_cf_auth_resume_logins (CfAuth *self)
{
  g_autofree char *email = NULL;

  if (self->user_hook != NULL &&
      (email = cf_auth_normalize_email (self->config->admin_email)) != NULL)
    {
      self->user_hook (email, on_user_hooked, g_object_ref (self), self->user_hook_data);
      return;
    }
  resume_now (self);
}

/**
 * cf_auth_set_user_hook:
 * @self: a #CfAuth
 * @hook: (nullable): what to do for a user the gateway creates
 * @user_data: data for @hook, which must outlive @self
 *
 * The bootstrap calls @hook for the platform admin it creates, and logins
 * wait until it is done.
 */
void
cf_auth_set_user_hook (CfAuth         *self,
                       CfAuthUserHook  hook,
                       gpointer        user_data)
{
  g_return_if_fail (CF_IS_AUTH (self));
  self->user_hook = hook;
  self->user_hook_data = user_data;
}

static void
return_invalid_login (GTask *task)
{
  g_task_return_new_error (task, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS, INVALID_LOGIN);
  g_object_unref (task);
}

/* Login: lookup -> argon2 -> record the outcome -> mint */

static void
on_login_recorded (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfAuth *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(JsonObject) user = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  JsonObject *response;
  gint64 expires_in = 0;

  user = cf_store_user_record_login_finish (CF_STORE (source), result, &error);
  if (user == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  if (!op->matched)
    {
      if (json_object_has_member (user, "locked_until"))
        g_message ("Login failed for %s; locked until %s", op->email,
                   json_object_get_string_member (user, "locked_until"));
      return_invalid_login (g_steal_pointer (&task));
      return;
    }
  if (op->enforce_change && _cf_auth_row_flag (user, "password_change_required"))
    {
      g_task_return_new_error (task, CF_AUTH_ERROR, CF_AUTH_ERROR_PASSWORD_CHANGE_REQUIRED,
                               "Password change required. Please change your password before "
                               "continuing.");
      return;
    }

  token = cf_auth_mint_session_token (self, user, &expires_in, &error);
  if (token == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  response = json_object_new ();
  json_object_set_string_member (response, "access_token", token);
  json_object_set_string_member (response, "token_type", "bearer");
  json_object_set_int_member (response, "expires_in", expires_in);
  json_object_set_object_member (response, "user", cf_auth_user_response (user));
  g_task_return_pointer (task, response, (GDestroyNotify) json_object_unref);
}

static void
on_login_verified (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  GTask *task = user_data;
  CfAuth *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autofree char *lock_until = NULL;

  op->matched = cf_password_verify_finish (result, &error);
  if (!op->matched && !g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  /* An unknown user was checked against the dummy hash, for the timing
   * only: there is no row to count the failure in. */
  if (op->user == NULL)
    {
      return_invalid_login (task);
      return;
    }

  lock_until = _cf_auth_format_iso (_cf_auth_now () + (gint64) self->config->lockout_min * 60);
  cf_store_user_record_login_async (self->store, op->email, op->matched,
                                    self->config->max_failed_logins, lock_until,
                                    g_task_get_cancellable (task), on_login_recorded, task);
}

static gboolean
is_locked (JsonObject *user)
{
  gint64 until = _cf_auth_parse_iso (cf_json_object_get_string (user, "locked_until"));

  return until != 0 && _cf_auth_now () < until;
}

static void
on_login_user (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  const char *hash = CF_AUTH_DUMMY_HASH;

  op->user = cf_store_user_lookup_finish (CF_STORE (source), result, &error);
  if (op->user == NULL && !g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  if (op->user != NULL && (!_cf_auth_row_flag (op->user, "is_active") || is_locked (op->user)))
    {
      g_message ("Login refused for %s: the account is %s", op->email,
                 is_locked (op->user) ? "locked" : "disabled");
      return_invalid_login (task);
      return;
    }
  if (op->user != NULL)
    hash = cf_json_object_get_string (op->user, "password_hash");
  cf_password_verify_async (hash ? hash : CF_AUTH_DUMMY_HASH, op->password,
                            g_task_get_cancellable (task), on_login_verified, task);
}

/**
 * cf_auth_login_async:
 * @self: a #CfAuth
 * @email: the email, as the client typed it
 * @password: the password; copied, and wiped after use
 * @enforce_password_change: refuse a user whose password must be changed
 *   first (`/auth/email/login` does, `/auth/login` does not)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Checks the password off the main thread and records the outcome: a
 * success resets the failure count, MAX_FAILED_LOGIN_ATTEMPTS failures in
 * a row lock the account for ACCOUNT_LOCKOUT_DURATION_MINUTES, during
 * which even the right password fails.
 */
void
cf_auth_login_async (CfAuth              *self,
                     const char          *email,
                     const char          *password,
                     gboolean             enforce_password_change,
                     GCancellable        *cancellable,
                     GAsyncReadyCallback  callback,
                     gpointer             user_data)
{
  GTask *task;
  Op *op;

  g_return_if_fail (CF_IS_AUTH (self));
  g_return_if_fail (email != NULL);
  g_return_if_fail (password != NULL);

  task = op_task (self, email, cf_auth_login_async, cancellable, callback, user_data);
  op = g_task_get_task_data (task);
  op->password = g_strdup (password);
  op->enforce_change = enforce_password_change;
  if (op->email == NULL)
    {
      return_invalid_login (task);
      return;
    }
  start_with_user (self, task, on_login_user);
}

/**
 * cf_auth_login_finish:
 * @self: a #CfAuth
 * @result: the #GAsyncResult passed to the callback
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): ContextForge's AuthenticationResponse
 *   (`access_token`, `token_type`, `expires_in`, `user`), or %NULL with
 *   %CF_AUTH_ERROR_CREDENTIALS or
 *   %CF_AUTH_ERROR_PASSWORD_CHANGE_REQUIRED
 */
JsonObject *
cf_auth_login_finish (CfAuth        *self,
                      GAsyncResult  *result,
                      GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_auth_login_async, NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

/* Password change: lookup -> verify the old one -> hash the new -> save */

static void
on_password_saved (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonObject) user = NULL;
  GError *error = NULL;

  user = cf_store_user_set_password_finish (CF_STORE (source), result, &error);
  if (user == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_boolean (task, TRUE);
}

static void
on_new_hashed (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  GTask *task = user_data;
  CfAuth *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autofree char *hash = NULL;
  GError *error = NULL;

  hash = cf_password_hash_finish (result, &error);
  if (hash == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  cf_store_user_set_password_async (self->store, op->email, hash, FALSE,
                                    g_task_get_cancellable (task), on_password_saved, task);
}

static void
on_old_verified (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GTask *task = user_data;
  CfAuth *self = g_task_get_source_object (task);
  Op *op = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  guint min_length = self->config->password_min_length;

  if (!cf_password_verify_finish (result, &error))
    {
      if (g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS))
        g_task_return_new_error (task, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS,
                                 "Current password is incorrect");
      else
        g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }

  if (_cf_auth_row_flag (op->user, "is_admin"))
    min_length = MAX (min_length, CF_PASSWORD_ADMIN_MIN_LENGTH);
  if (g_strcmp0 (op->password, op->new_password) == 0)
    g_set_error (&error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD,
                 "New password must be different from the current password");
  else
    cf_password_check_policy (op->new_password, min_length, &error);
  if (error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      g_object_unref (task);
      return;
    }
  cf_password_hash_async (op->new_password, g_task_get_cancellable (task), on_new_hashed, task);
}

static void
on_change_user (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  GTask *task = user_data;
  Op *op = g_task_get_task_data (task);
  GError *error = NULL;

  op->user = cf_store_user_lookup_finish (CF_STORE (source), result, &error);
  if (op->user == NULL)
    {
      g_task_return_error (task, error);
      g_object_unref (task);
      return;
    }
  cf_password_verify_async (cf_json_object_get_string (op->user, "password_hash") ?: "",
                            op->password, g_task_get_cancellable (task), on_old_verified, task);
}

/**
 * cf_auth_change_password_async:
 * @self: a #CfAuth
 * @email: the authenticated user
 * @old_password: the current password, which must match
 * @new_password: the new one, which must differ and pass the policy (the
 *   admin length for platform admins)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Also clears password_change_required.
 */
void
cf_auth_change_password_async (CfAuth              *self,
                               const char          *email,
                               const char          *old_password,
                               const char          *new_password,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  GTask *task;
  Op *op;

  g_return_if_fail (CF_IS_AUTH (self));
  g_return_if_fail (email != NULL);
  g_return_if_fail (old_password != NULL);
  g_return_if_fail (new_password != NULL);

  task = op_task (self, email, cf_auth_change_password_async, cancellable, callback, user_data);
  op = g_task_get_task_data (task);
  op->password = g_strdup (old_password);
  op->new_password = g_strdup (new_password);
  if (op->email == NULL)
    {
      g_task_return_new_error (task, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND,
                               "No user %s", email);
      g_object_unref (task);
      return;
    }
  start_with_user (self, task, on_change_user);
}

/**
 * cf_auth_change_password_finish:
 *
 * Returns: %TRUE once the new password is saved; otherwise %FALSE with
 *   %CF_AUTH_ERROR_CREDENTIALS (wrong current password),
 *   %CF_AUTH_ERROR_WEAK_PASSWORD or a %CF_STORE_ERROR
 */
gboolean
cf_auth_change_password_finish (CfAuth        *self,
                                GAsyncResult  *result,
                                GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_auth_change_password_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Revocation */

static void
on_revocation_saved (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (cf_store_revocation_add_finish (CF_STORE (source), result, &error))
    g_task_return_boolean (task, TRUE);
  else
    g_task_return_error (task, error);
}

/**
 * cf_auth_revoke_async:
 * @self: a #CfAuth
 * @jti: the token's id
 * @expires_at: the token's `exp`, 0 if unknown
 * @revoked_by: (nullable): who revoked it
 * @reason: (nullable): why ("logout", ...)
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * The token stops working at once, before the revocation is saved; it
 * stays revoked across restarts once it is.
 */
void
cf_auth_revoke_async (CfAuth              *self,
                      const char          *jti,
                      gint64               expires_at,
                      const char          *revoked_by,
                      const char          *reason,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  g_autofree char *expiry = NULL;
  GTask *task;

  g_return_if_fail (CF_IS_AUTH (self));
  g_return_if_fail (jti != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_auth_revoke_async);
  _cf_auth_remember_revocation (self, jti, expires_at);
  if (expires_at > 0)
    expiry = _cf_auth_format_iso (expires_at);
  cf_store_revocation_add_async (self->store, jti, revoked_by, reason, expiry, cancellable,
                                 on_revocation_saved, task);
}

gboolean
cf_auth_revoke_finish (CfAuth        *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_auth_revoke_async, FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Profile */

static void
on_profile (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  g_autoptr(JsonObject) user = NULL;
  GError *error = NULL;

  user = cf_store_user_lookup_finish (CF_STORE (source), result, &error);
  if (user == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, cf_auth_user_response (user),
                           (GDestroyNotify) json_object_unref);
}

/**
 * cf_auth_lookup_user_async:
 * @self: a #CfAuth
 * @email: a user's email
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 */
void
cf_auth_lookup_user_async (CfAuth              *self,
                           const char          *email,
                           GCancellable        *cancellable,
                           GAsyncReadyCallback  callback,
                           gpointer             user_data)
{
  GTask *task;
  Op *op;

  g_return_if_fail (CF_IS_AUTH (self));
  g_return_if_fail (email != NULL);

  task = op_task (self, email, cf_auth_lookup_user_async, cancellable, callback, user_data);
  op = g_task_get_task_data (task);
  if (op->email == NULL)
    {
      g_task_return_new_error (task, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND,
                               "No user %s", email);
      g_object_unref (task);
      return;
    }
  start_with_user (self, task, on_profile);
}

/**
 * cf_auth_lookup_user_finish:
 *
 * Returns: (transfer full) (nullable): the user as ContextForge's
 *   EmailUserResponse, or %NULL with %CF_STORE_ERROR_NOT_FOUND
 */
JsonObject *
cf_auth_lookup_user_finish (CfAuth        *self,
                            GAsyncResult  *result,
                            GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_auth_lookup_user_async,
                        NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}
