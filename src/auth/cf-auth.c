/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-auth"

#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <string.h>

#include "cf-auth-private.h"
#include "cf-json.h"
#include "cf-password.h"
#include "cf-random.h"

/**
 * CfAuth:
 *
 * The identity service: turns credentials into #CfIdentity objects, logs
 * users in, changes passwords and revokes tokens. Token verification is
 * the hot path: its results are cached by the SHA-256 of the token until
 * the token expires, and revocations are checked in memory, so a request
 * with a known token costs one hash and two lookups. Everything that
 * touches the store or argon2 is asynchronous.
 */

/* A cache this size holds every token of a busy gateway; past it, stale
 * entries go first, then all of them (a refill costs one verification
 * each). */
#define CACHE_MAX 10000
/* Tokens without an exp (REQUIRE_TOKEN_EXPIRATION off) are re-verified
 * this often. */
#define CACHE_NO_EXP_S 300
#define MAX_EMAIL_LENGTH 255
/* Expired revocations are dropped from memory every so many additions. */
#define REVOKED_PRUNE_EVERY 1024

typedef struct {
  CfIdentity *identity;
  gint64      valid_until;
} CacheEntry;

G_DEFINE_FINAL_TYPE (CfAuth, cf_auth, G_TYPE_OBJECT)

static void
cache_entry_free (gpointer data)
{
  CacheEntry *entry = data;

  g_object_unref (entry->identity);
  g_free (entry);
}

static void
cf_auth_finalize (GObject *object)
{
  CfAuth *self = (CfAuth *) object;

  g_clear_pointer (&self->config, cf_auth_config_free);
  g_clear_object (&self->store);
  g_clear_object (&self->jwt);
  g_clear_pointer (&self->cache, g_hash_table_unref);
  g_clear_pointer (&self->revoked, g_hash_table_unref);
  g_clear_pointer (&self->waiting, g_ptr_array_unref);

  G_OBJECT_CLASS (cf_auth_parent_class)->finalize (object);
}

static void
cf_auth_class_init (CfAuthClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_auth_finalize;
}

static void
cf_auth_init (CfAuth *self)
{
  self->cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, cache_entry_free);
  self->revoked = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->waiting = g_ptr_array_new ();
}

gint64
_cf_auth_now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static GBytes *
read_key_file (const char  *path,
               const char  *variable,
               GError     **error)
{
  g_autoptr(GError) local = NULL;
  char *contents = NULL;
  gsize length = 0;

  if (path == NULL)
    return NULL;
  if (!g_file_get_contents (path, &contents, &length, &local))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY, "%s=%s: %s", variable, path,
                   local->message);
      return NULL;
    }
  return g_bytes_new_take (contents, length);
}

static CfJwt *
create_jwt (CfAuthConfig  *config,
            GError       **error)
{
  g_autoptr(GBytes) public_pem = NULL;
  g_autoptr(GBytes) private_pem = NULL;
  g_autoptr(GError) local = NULL;
  CfJwt *jwt;

  if (config->jwt_algorithm == CF_JWT_HS256)
    {
      if (config->jwt_secret == NULL && config->production)
        {
          g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
                       "JWT_SECRET_KEY is not set: generate one with `openssl rand -hex 32`");
          return NULL;
        }
      /* A trial run still works, with tokens that die with the process. */
      if (config->jwt_secret == NULL)
        {
          config->jwt_secret = cf_random_hex (32);
          fprintf (stderr, "%s: warning: JWT_SECRET_KEY is not set: tokens are signed with a "
                   "random key and stop working when the gateway stops. Generate one with "
                   "`openssl rand -hex 32`.\n", PACKAGE_NAME);
        }
      jwt = cf_jwt_new_hmac (config->jwt_secret, strlen (config->jwt_secret), &local);
      if (jwt == NULL)
        g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY, "JWT_SECRET_KEY: %s",
                     local->message);
      return jwt;
    }

  if (config->jwt_public_key_path == NULL && config->jwt_private_key_path == NULL)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
                   "JWT_ALGORITHM=%s needs JWT_PUBLIC_KEY_PATH and/or JWT_PRIVATE_KEY_PATH",
                   cf_jwt_algorithm_to_string (config->jwt_algorithm));
      return NULL;
    }
  public_pem = read_key_file (config->jwt_public_key_path, "JWT_PUBLIC_KEY_PATH", &local);
  if (local == NULL)
    private_pem = read_key_file (config->jwt_private_key_path, "JWT_PRIVATE_KEY_PATH", &local);
  if (local != NULL)
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return NULL;
    }
  jwt = cf_jwt_new_pem (config->jwt_algorithm, public_pem, private_pem, &local);
  if (jwt == NULL)
    g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY, "JWT keys for %s: %s",
                 cf_jwt_algorithm_to_string (config->jwt_algorithm), local->message);
  return jwt;
}

/**
 * cf_auth_new:
 * @config: (transfer full): the settings
 * @store: the store that keeps users and revocations
 * @error: return location for a #GError
 *
 * Sets up the JWT keys. An unusable key, a missing HS256 secret or Basic
 * auth without a password is a %CF_AUTH_ERROR_KEY: the gateway must not
 * start with authentication it cannot do.
 *
 * Returns: (transfer full) (nullable): the service
 */
CfAuth *
cf_auth_new (CfAuthConfig  *config,
             CfStore       *store,
             GError       **error)
{
  g_autoptr(CfAuthConfig) owned = config;
  g_autoptr(CfAuth) self = NULL;

  g_return_val_if_fail (config != NULL, NULL);
  g_return_val_if_fail (CF_IS_STORE (store), NULL);

  if (config->basic_enabled && config->basic_password == NULL)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
                   "API_ALLOW_BASIC_AUTH needs BASIC_AUTH_PASSWORD");
      return NULL;
    }

  self = g_object_new (CF_TYPE_AUTH, NULL);
  self->jwt = create_jwt (config, error);
  if (self->jwt == NULL)
    return NULL;
  cf_jwt_set_issuer (self->jwt, config->verify_issuer ? config->jwt_issuer : NULL);
  cf_jwt_set_audience (self->jwt, config->verify_audience ? config->jwt_audience : NULL);
  cf_jwt_set_required_claims (self->jwt, config->require_jti, config->require_exp);
  self->config = g_steal_pointer (&owned);
  self->store = g_object_ref (store);
  return g_steal_pointer (&self);
}

CfAuthConfig *
cf_auth_get_config (CfAuth *self)
{
  g_return_val_if_fail (CF_IS_AUTH (self), NULL);
  return self->config;
}

CfJwt *
cf_auth_get_jwt (CfAuth *self)
{
  g_return_val_if_fail (CF_IS_AUTH (self), NULL);
  return self->jwt;
}

/* Startup: blocking waits on a private context */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
wait_result (GMainContext  *context,
             GAsyncResult **slot)
{
  while (*slot == NULL)
    g_main_context_iteration (context, TRUE);
  return *slot;
}

/* Past its own expiry a token fails verification anyway, so its
 * revocation need not stay in memory. */
static void
prune_revocations (CfAuth *self)
{
  GHashTableIter iter;
  gint64 *expiry;
  gint64 now = _cf_auth_now ();

  g_hash_table_iter_init (&iter, self->revoked);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &expiry))
    if (*expiry != 0 && *expiry + CF_JWT_DEFAULT_LEEWAY_S < now)
      g_hash_table_iter_remove (&iter);
}

void
_cf_auth_remember_revocation (CfAuth     *self,
                              const char *jti,
                              gint64      expires_at)
{
  if (g_hash_table_size (self->revoked) % REVOKED_PRUNE_EVERY == REVOKED_PRUNE_EVERY - 1)
    prune_revocations (self);
  g_hash_table_replace (self->revoked, g_strdup (jti), g_memdup2 (&expires_at, sizeof expires_at));
}

gint64
_cf_auth_parse_iso (const char *text)
{
  g_autoptr(GDateTime) time = text ? g_date_time_new_from_iso8601 (text, NULL) : NULL;

  return time ? g_date_time_to_unix (time) : 0;
}

char *
_cf_auth_format_iso (gint64 unix_s)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_s);

  return g_date_time_format_iso8601 (time);
}

static gboolean
load_revocations (CfAuth        *self,
                  GMainContext  *context,
                  GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  gint64 now = _cf_auth_now ();

  cf_store_revocation_load_async (self->store, NULL, store_result, &result);
  rows = cf_store_revocation_load_finish (self->store, wait_result (context, &result), error);
  if (rows == NULL)
    return FALSE;
  for (guint i = 0; i < rows->len; i++)
    {
      JsonObject *row = g_ptr_array_index (rows, i);
      gint64 expiry = _cf_auth_parse_iso (cf_json_object_get_string (row, "token_expiry"));

      /* A token past its own expiry fails verification anyway. */
      if (expiry == 0 || expiry > now)
        _cf_auth_remember_revocation (self, json_object_get_string_member (row, "jti"), expiry);
    }
  return TRUE;
}

typedef struct {
  CfAuth *self;
  char   *email;
  char   *generated;
} Creation;

static void
creation_free (Creation *creation)
{
  if (creation->generated != NULL)
    explicit_bzero (creation->generated, strlen (creation->generated));
  g_free (creation->generated);
  g_free (creation->email);
  g_object_unref (creation->self);
  g_free (creation);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Creation, creation_free)

static void
on_admin_inserted (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(Creation) creation = user_data;
  g_autoptr(JsonObject) row = NULL;
  g_autoptr(GError) error = NULL;

  row = cf_store_user_insert_finish (CF_STORE (source), result, &error);
  /* Stopped before it was done: the next start creates the admin. */
  if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED))
    g_message ("The platform admin %s was not created: %s", creation->email, error->message);
  else if (row == NULL && !g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT))
    g_warning ("Cannot create the platform admin %s: %s", creation->email, error->message);
  /* Printed once, whatever the log level: nobody could log in otherwise. */
  else if (row != NULL && creation->generated != NULL)
    {
      fprintf (stderr, "%s: created the platform admin %s with the generated password:\n"
               "    %s\n"
               "  It is shown only this once; change it with POST /auth/email/change-password.\n",
               PACKAGE_NAME, creation->email, creation->generated);
      fflush (stderr);
    }
  if (row != NULL)
    g_message ("Created the platform admin %s", creation->email);
  _cf_auth_resume_logins (creation->self);
}

static void
on_admin_hashed (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(Creation) creation = user_data;
  CfAuth *self = creation->self;
  const char *email = creation->email;
  g_autofree char *hash = NULL;
  g_autoptr(GError) error = NULL;

  hash = cf_password_hash_finish (result, &error);
  if (hash == NULL)
    {
      g_warning ("Cannot hash the platform admin's password: %s", error->message);
      _cf_auth_resume_logins (self);
      return;
    }
  /* @email stays valid: the creation moves on, it is not freed. */
  cf_store_user_insert_async (self->store, email, hash, self->config->admin_full_name,
                              TRUE, self->config->admin_change_on_bootstrap, NULL,
                              on_admin_inserted, g_steal_pointer (&creation));
}

/* The checks fail startup at once; the hash (hundreds of milliseconds on
 * a busy machine) runs while the gateway starts serving, and logins wait
 * for it. */
static gboolean
create_admin (CfAuth      *self,
              const char  *email,
              GError     **error)
{
  CfAuthConfig *config = self->config;
  g_autoptr(GError) local = NULL;
  Creation *creation;
  const char *password = config->admin_password;

  if (password != NULL &&
      !cf_password_check_policy (password,
                                 MAX (CF_PASSWORD_ADMIN_MIN_LENGTH, config->password_min_length),
                                 &local))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD,
                   "PLATFORM_ADMIN_PASSWORD is too weak for the platform admin: %s",
                   local->message);
      return FALSE;
    }

  creation = g_new0 (Creation, 1);
  creation->self = g_object_ref (self);
  creation->email = g_strdup (email);
  if (password == NULL)
    password = creation->generated = cf_password_generate ();
  self->bootstrapping = TRUE;
  cf_password_hash_async (password, NULL, on_admin_hashed, creation);
  return TRUE;
}

static gboolean
admin_exists (CfAuth        *self,
              GMainContext  *context,
              const char    *email,
              gboolean      *exists,
              GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) row = NULL;
  g_autoptr(GError) local = NULL;

  cf_store_user_lookup_async (self->store, email, NULL, store_result, &result);
  row = cf_store_user_lookup_finish (self->store, wait_result (context, &result), &local);
  *exists = row != NULL;
  if (row == NULL && !g_error_matches (local, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    {
      g_propagate_error (error, g_steal_pointer (&local));
      return FALSE;
    }
  return TRUE;
}

/**
 * cf_auth_bootstrap:
 * @self: a #CfAuth
 * @error: return location for a #GError
 *
 * Loads the revoked tokens and, on first start, creates the platform admin
 * from PLATFORM_ADMIN_EMAIL and PLATFORM_ADMIN_PASSWORD; without a
 * password it generates one and prints it once on standard error. The
 * reads block, as startup may; the admin's password is hashed in the
 * background, and logins wait until the admin exists. A
 * PLATFORM_ADMIN_PASSWORD that fails the admin policy fails here.
 *
 * Returns: %TRUE on success
 */
gboolean
cf_auth_bootstrap (CfAuth  *self,
                   GError **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autofree char *email = NULL;
  gboolean exists = FALSE;
  gboolean ok;

  g_return_val_if_fail (CF_IS_AUTH (self), FALSE);

  email = cf_auth_normalize_email (self->config->admin_email);
  if (email == NULL)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
                   "PLATFORM_ADMIN_EMAIL=%s: not an email address", self->config->admin_email);
      return FALSE;
    }

  g_main_context_push_thread_default (context);
  ok = load_revocations (self, context, error) &&
       admin_exists (self, context, email, &exists, error);
  g_main_context_pop_thread_default (context);

  /* Started in the caller's context, where the answers must arrive. */
  return ok && (exists || create_admin (self, email, error));
}

/* Credentials */

/**
 * cf_auth_normalize_email:
 * @email: an email address as a client typed it
 *
 * Returns: (transfer full) (nullable): @email trimmed and lower-cased, or
 *   %NULL if it is not a plausible address
 */
char *
cf_auth_normalize_email (const char *email)
{
  g_autofree char *copy = NULL;
  const char *at;

  if (email == NULL || !g_utf8_validate (email, -1, NULL))
    return NULL;
  copy = g_utf8_strdown (email, -1);
  g_strstrip (copy);
  at = strchr (copy, '@');
  if (at == NULL || at == copy || at[1] == '\0' || strchr (at + 1, '@') != NULL ||
      strlen (copy) > MAX_EMAIL_LENGTH)
    return NULL;
  for (const char *p = copy; *p != '\0'; p++)
    if (g_ascii_isspace (*p) || g_ascii_iscntrl (*p))
      return NULL;
  return g_steal_pointer (&copy);
}

/* The cache holds digests, never the tokens themselves. */
static char *
token_key (const char *token)
{
  static const char hex[] = "0123456789abcdef";
  guint8 digest[32];
  char *key = g_malloc (2 * sizeof digest + 1);

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, token, strlen (token), digest) < 0)
    g_error ("GnuTLS cannot compute SHA-256");
  for (guint i = 0; i < sizeof digest; i++)
    {
      key[2 * i] = hex[digest[i] >> 4];
      key[2 * i + 1] = hex[digest[i] & 0x0f];
    }
  key[2 * sizeof digest] = '\0';
  return key;
}

static void
cache_insert (CfAuth     *self,
              char       *key,
              CfIdentity *identity,
              gint64      valid_until)
{
  CacheEntry *entry;

  if (g_hash_table_size (self->cache) >= CACHE_MAX)
    {
      GHashTableIter iter;
      gint64 now = _cf_auth_now ();

      g_hash_table_iter_init (&iter, self->cache);
      while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &entry))
        if (entry->valid_until <= now)
          g_hash_table_iter_remove (&iter);
      if (g_hash_table_size (self->cache) >= CACHE_MAX)
        g_hash_table_remove_all (self->cache);
    }

  entry = g_new (CacheEntry, 1);
  entry->identity = g_object_ref (identity);
  entry->valid_until = valid_until;
  g_hash_table_replace (self->cache, key, entry);
}

/**
 * cf_auth_verify_token:
 * @self: a #CfAuth
 * @token: a bearer token
 * @error: return location for a #GError
 *
 * Verifies @token (see cf_jwt_verify()) unless a verification of the same
 * token is cached and still within its expiry, then checks revocation.
 *
 * Returns: (transfer full) (nullable): the token's identity
 */
CfIdentity *
cf_auth_verify_token (CfAuth      *self,
                      const char  *token,
                      GError     **error)
{
  g_autofree char *key = NULL;
  g_autoptr(CfIdentity) identity = NULL;
  g_autoptr(JsonObject) claims = NULL;
  CacheEntry *entry;
  gint64 now = _cf_auth_now ();
  gint64 exp;

  g_return_val_if_fail (CF_IS_AUTH (self), NULL);
  g_return_val_if_fail (token != NULL, NULL);

  key = token_key (token);
  entry = g_hash_table_lookup (self->cache, key);
  if (entry != NULL && now < entry->valid_until)
    identity = g_object_ref (entry->identity);
  else
    {
      if (entry != NULL)
        g_hash_table_remove (self->cache, key);
      claims = cf_jwt_verify (self->jwt, token, now, error);
      if (claims == NULL)
        return NULL;
      identity = cf_identity_new_from_claims (claims, error);
      if (identity == NULL)
        return NULL;
      exp = cf_identity_get_expires_at (identity);
      cache_insert (self, g_steal_pointer (&key), identity,
                    exp != 0 ? exp + CF_JWT_DEFAULT_LEEWAY_S : now + CACHE_NO_EXP_S);
    }

  if (cf_auth_is_revoked (self, cf_identity_get_jti (identity)))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_REVOKED, "Token has been revoked");
      return NULL;
    }
  return g_steal_pointer (&identity);
}

static CfIdentity *
verify_basic (CfAuth      *self,
              const char  *encoded,
              GError     **error)
{
  g_autofree guchar *decoded = NULL;
  gsize length = 0;
  const char *colon;
  gsize user_length;
  const char *user = self->config->basic_user;
  const char *password = self->config->basic_password;
  gboolean user_ok, password_ok;

  if (!self->config->basic_enabled)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED,
                   "HTTP Basic authentication is not enabled");
      return NULL;
    }
  decoded = g_base64_decode (encoded, &length);
  colon = decoded ? memchr (decoded, ':', length) : NULL;
  if (colon == NULL)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED, "Invalid Basic credentials");
      return NULL;
    }
  user_length = colon - (const char *) decoded;
  /* Both compared, constant-time, whatever the first one gives. */
  user_ok = cf_auth_memeq (decoded, user_length, user, strlen (user));
  password_ok = cf_auth_memeq (colon + 1, length - user_length - 1, password, strlen (password));
  explicit_bzero (decoded, length);
  if (!(user_ok & password_ok))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS, "Invalid credentials");
      return NULL;
    }
  return cf_identity_new_basic (user);
}

/**
 * cf_auth_authenticate:
 * @self: a #CfAuth
 * @header_value: (nullable): the AUTH_HEADER_NAME header of a request
 * @error: return location for a #GError
 *
 * Reads `Bearer <token>`, or `Basic <base64>` when API_ALLOW_BASIC_AUTH is
 * on. Whether a missing credential is acceptable is the caller's decision.
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with
 *   %CF_AUTH_ERROR_MISSING when there is no credential, another
 *   %CF_AUTH_ERROR when it is invalid
 */
CfIdentity *
cf_auth_authenticate (CfAuth      *self,
                      const char  *header_value,
                      GError     **error)
{
  const char *space;
  const char *credential;

  g_return_val_if_fail (CF_IS_AUTH (self), NULL);

  if (header_value == NULL || *header_value == '\0')
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MISSING, "Not authenticated");
      return NULL;
    }
  space = strchr (header_value, ' ');
  credential = space ? space + strspn (space, " ") : "";
  if (*credential == '\0')
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED,
                   "Invalid authorization header");
      return NULL;
    }
  if (space - header_value == 6 && g_ascii_strncasecmp (header_value, "Bearer", 6) == 0)
    return cf_auth_verify_token (self, credential, error);
  if (space - header_value == 5 && g_ascii_strncasecmp (header_value, "Basic", 5) == 0)
    return verify_basic (self, credential, error);
  g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED,
               "Unsupported authorization scheme");
  return NULL;
}

/**
 * cf_auth_is_revoked:
 * @jti: (nullable): a token id
 *
 * Returns: whether @jti was revoked
 */
gboolean
cf_auth_is_revoked (CfAuth     *self,
                    const char *jti)
{
  g_return_val_if_fail (CF_IS_AUTH (self), TRUE);
  return jti != NULL && g_hash_table_contains (self->revoked, jti);
}

/**
 * cf_auth_get_cache_size:
 *
 * Returns: how many verified tokens are cached
 */
guint
cf_auth_get_cache_size (CfAuth *self)
{
  g_return_val_if_fail (CF_IS_AUTH (self), 0);
  return g_hash_table_size (self->cache);
}

/* Tokens and users */

gboolean
_cf_auth_row_flag (JsonObject *row,
                   const char *column)
{
  gint64 value = 0;

  return cf_json_object_get_int (row, column, &value) && value != 0;
}

/* The "user" claim of session and API tokens, from a user row */
JsonObject *
_cf_auth_user_profile (JsonObject *user)
{
  JsonObject *profile = json_object_new ();

  json_object_set_string_member (profile, "email", json_object_get_string_member (user, "email"));
  json_object_set_string_member (profile, "full_name",
                                 cf_json_object_get_string (user, "full_name") ?: "");
  json_object_set_boolean_member (profile, "is_admin", _cf_auth_row_flag (user, "is_admin"));
  json_object_set_string_member (profile, "auth_provider",
                                 cf_json_object_get_string (user, "auth_provider") ?: "local");
  return profile;
}

/**
 * cf_auth_mint_session_token:
 * @self: a #CfAuth
 * @user: an email_users row
 * @expires_in: (out) (optional): the token's lifetime in seconds
 * @error: return location for a #GError
 *
 * ContextForge's session token (`create_access_token`): sub, iss, aud,
 * iat, exp, jti, the `user` object, `token_use: "session"` and unscoped
 * `scopes`. Its teams are resolved per request, so it has no `teams`.
 *
 * Returns: (transfer full) (nullable): the signed token
 */
char *
cf_auth_mint_session_token (CfAuth      *self,
                            JsonObject  *user,
                            gint64      *expires_in,
                            GError     **error)
{
  g_autoptr(JsonObject) claims = json_object_new ();
  g_autofree char *jti = cf_random_uuid ();
  JsonObject *scopes = json_object_new ();
  JsonArray *permissions = json_array_new ();
  gint64 lifetime = (gint64) self->config->token_expiry_min * 60;
  gint64 now = _cf_auth_now ();
  const char *email;

  g_return_val_if_fail (CF_IS_AUTH (self), NULL);
  g_return_val_if_fail (user != NULL, NULL);

  email = json_object_get_string_member (user, "email");
  json_object_set_string_member (claims, "sub", email);
  json_object_set_string_member (claims, "iss", self->config->jwt_issuer);
  json_object_set_string_member (claims, "aud", self->config->jwt_audience);
  json_object_set_int_member (claims, "iat", now);
  json_object_set_int_member (claims, "exp", now + lifetime);
  json_object_set_string_member (claims, "jti", jti);

  json_object_set_object_member (claims, "user", _cf_auth_user_profile (user));
  json_object_set_string_member (claims, "token_use", "session");

  json_object_set_null_member (scopes, "server_id");
  json_array_add_string_element (permissions, "*");
  json_object_set_array_member (scopes, "permissions", permissions);
  json_object_set_array_member (scopes, "ip_restrictions", json_array_new ());
  json_object_set_object_member (scopes, "time_restrictions", json_object_new ());
  json_object_set_object_member (claims, "scopes", scopes);

  if (expires_in != NULL)
    *expires_in = lifetime;
  return cf_jwt_sign (self->jwt, claims, error);
}

static void
set_optional_string (JsonObject *out,
                     const char *member,
                     const char *value)
{
  if (value != NULL)
    json_object_set_string_member (out, member, value);
  else
    json_object_set_null_member (out, member);
}

/**
 * cf_auth_user_response:
 * @user: an email_users row
 *
 * Returns: (transfer full): ContextForge's EmailUserResponse, which leaves
 *   out the password hash and the lockout state
 */
JsonObject *
cf_auth_user_response (JsonObject *user)
{
  JsonObject *out = json_object_new ();

  json_object_set_string_member (out, "email", json_object_get_string_member (user, "email"));
  set_optional_string (out, "full_name", cf_json_object_get_string (user, "full_name"));
  json_object_set_boolean_member (out, "is_admin", _cf_auth_row_flag (user, "is_admin"));
  json_object_set_boolean_member (out, "is_active", _cf_auth_row_flag (user, "is_active"));
  json_object_set_string_member (out, "auth_provider",
                                 cf_json_object_get_string (user, "auth_provider") ?: "local");
  set_optional_string (out, "created_at", cf_json_object_get_string (user, "created_at"));
  set_optional_string (out, "last_login", cf_json_object_get_string (user, "last_login"));
  json_object_set_boolean_member (out, "email_verified",
                                  cf_json_object_get_string (user, "email_verified_at") != NULL);
  return out;
}
