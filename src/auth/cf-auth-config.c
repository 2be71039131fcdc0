/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-auth-config"

#include "config.h"

#include <string.h>

#include "cf-auth-config.h"
#include "cf-config.h"

#define DEFAULT_TOKEN_EXPIRY_MIN 20
#define DEFAULT_MAX_FAILED_LOGINS 5
#define DEFAULT_LOCKOUT_MIN 60
#define DEFAULT_PASSWORD_MIN_LENGTH 12

/**
 * cf_auth_config_new:
 *
 * Returns: (transfer full): ContextForge's defaults: authentication
 *   required, HS256, issuer `mcpgateway`, audience `mcpgateway-api`
 */
CfAuthConfig *
cf_auth_config_new (void)
{
  CfAuthConfig *self = g_new0 (CfAuthConfig, 1);

  self->auth_required = TRUE;
  self->header_name = g_strdup ("Authorization");
  self->basic_user = g_strdup ("admin");
  self->jwt_algorithm = CF_JWT_HS256;
  self->jwt_issuer = g_strdup ("mcpgateway");
  self->jwt_audience = g_strdup ("mcpgateway-api");
  self->verify_issuer = TRUE;
  self->verify_audience = TRUE;
  self->require_jti = TRUE;
  self->require_exp = TRUE;
  self->token_expiry_min = DEFAULT_TOKEN_EXPIRY_MIN;
  self->admin_email = g_strdup ("admin@example.com");
  self->admin_full_name = g_strdup ("Platform Administrator");
  self->admin_change_on_bootstrap = TRUE;
  self->enforce_password_change = TRUE;
  self->max_failed_logins = DEFAULT_MAX_FAILED_LOGINS;
  self->lockout_min = DEFAULT_LOCKOUT_MIN;
  self->password_min_length = DEFAULT_PASSWORD_MIN_LENGTH;
  return self;
}

/* Secrets are wiped, not just freed. */
static void
free_secret (char *secret)
{
  if (secret != NULL)
    explicit_bzero (secret, strlen (secret));
  g_free (secret);
}

void
cf_auth_config_free (CfAuthConfig *self)
{
  g_free (self->header_name);
  g_free (self->basic_user);
  free_secret (self->basic_password);
  free_secret (self->jwt_secret);
  g_free (self->jwt_public_key_path);
  g_free (self->jwt_private_key_path);
  g_free (self->jwt_issuer);
  g_free (self->jwt_audience);
  g_free (self->admin_email);
  free_secret (self->admin_password);
  g_free (self->admin_full_name);
  g_free (self);
}

static gboolean
read_bool (const char * const  *env,
           const char          *name,
           gboolean            *out,
           GError             **error)
{
  const char *value = g_environ_getenv ((GStrv) env, name);
  g_autofree char *lower = NULL;

  if (value == NULL)
    return TRUE;
  lower = g_ascii_strdown (value, -1);
  if (g_strv_contains ((const char * const[]) { "true", "1", "yes", "on", NULL }, lower))
    *out = TRUE;
  else if (g_strv_contains ((const char * const[]) { "false", "0", "no", "off", NULL }, lower))
    *out = FALSE;
  else
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "%s=%s: use true or false", name, value);
      return FALSE;
    }
  return TRUE;
}

static gboolean
read_uint (const char * const  *env,
           const char          *name,
           guint64              min,
           guint64              max,
           guint               *out,
           GError             **error)
{
  const char *value = g_environ_getenv ((GStrv) env, name);
  g_autoptr(GError) local = NULL;
  guint64 n;

  if (value == NULL)
    return TRUE;
  if (!g_ascii_string_to_unsigned (value, 10, min, max, &n, &local))
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "%s=%s: %s", name, value, local->message);
      return FALSE;
    }
  *out = n;
  return TRUE;
}

/* An empty value counts as unset, as in a .env file's `NAME=`. */
static void
read_str (const char * const  *env,
          const char          *name,
          char               **field)
{
  const char *value = g_environ_getenv ((GStrv) env, name);

  if (value == NULL || *value == '\0')
    return;
  g_free (*field);
  *field = g_strdup (value);
}

static gboolean
read_strings (CfAuthConfig        *self,
              const char * const  *env,
              GError             **error)
{
  const char *algorithm = g_environ_getenv ((GStrv) env, "JWT_ALGORITHM");
  const char *environment = g_environ_getenv ((GStrv) env, "ENVIRONMENT");

  read_str (env, "AUTH_HEADER_NAME", &self->header_name);
  read_str (env, "BASIC_AUTH_USER", &self->basic_user);
  read_str (env, "BASIC_AUTH_PASSWORD", &self->basic_password);
  read_str (env, "JWT_SECRET_KEY", &self->jwt_secret);
  read_str (env, "JWT_PUBLIC_KEY_PATH", &self->jwt_public_key_path);
  read_str (env, "JWT_PRIVATE_KEY_PATH", &self->jwt_private_key_path);
  read_str (env, "JWT_ISSUER", &self->jwt_issuer);
  read_str (env, "JWT_AUDIENCE", &self->jwt_audience);
  read_str (env, "PLATFORM_ADMIN_EMAIL", &self->admin_email);
  read_str (env, "PLATFORM_ADMIN_PASSWORD", &self->admin_password);
  read_str (env, "PLATFORM_ADMIN_FULL_NAME", &self->admin_full_name);

  self->production = g_strcmp0 (environment, "production") == 0;
  if (algorithm != NULL && !cf_jwt_algorithm_from_string (algorithm, &self->jwt_algorithm))
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "JWT_ALGORITHM=%s: use HS256, RS256 or ES256", algorithm);
      return FALSE;
    }
  if (strchr (self->admin_email, '@') == NULL)
    {
      g_set_error (error, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID,
                   "PLATFORM_ADMIN_EMAIL=%s: not an email address", self->admin_email);
      return FALSE;
    }
  return TRUE;
}

/**
 * cf_auth_config_load_env:
 * @self: a #CfAuthConfig
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @error: return location for a #GError
 *
 * Reads the variables #CfAuthConfig lists. A value that does not parse is
 * a %CF_CONFIG_ERROR_INVALID naming it: a gateway must not guess at its
 * security settings.
 */
gboolean
cf_auth_config_load_env (CfAuthConfig        *self,
                         const char * const  *environ,
                         GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  const char * const *env = environ ? environ : (const char * const *) own;

  g_return_val_if_fail (self != NULL, FALSE);

  return read_strings (self, env, error) &&
         read_bool (env, "AUTH_REQUIRED", &self->auth_required, error) &&
         read_bool (env, "API_ALLOW_BASIC_AUTH", &self->basic_enabled, error) &&
         read_bool (env, "JWT_ISSUER_VERIFICATION", &self->verify_issuer, error) &&
         read_bool (env, "JWT_AUDIENCE_VERIFICATION", &self->verify_audience, error) &&
         read_bool (env, "REQUIRE_JTI", &self->require_jti, error) &&
         read_bool (env, "REQUIRE_TOKEN_EXPIRATION", &self->require_exp, error) &&
         read_bool (env, "ADMIN_REQUIRE_PASSWORD_CHANGE_ON_BOOTSTRAP",
                    &self->admin_change_on_bootstrap, error) &&
         read_bool (env, "PASSWORD_CHANGE_ENFORCEMENT_ENABLED",
                    &self->enforce_password_change, error) &&
         read_uint (env, "TOKEN_EXPIRY", 1, 525600, &self->token_expiry_min, error) &&
         read_uint (env, "MAX_FAILED_LOGIN_ATTEMPTS", 1, 1000, &self->max_failed_logins, error) &&
         read_uint (env, "ACCOUNT_LOCKOUT_DURATION_MINUTES", 1, 525600, &self->lockout_min,
                    error) &&
         read_uint (env, "PASSWORD_MIN_LENGTH", 8, 128, &self->password_min_length, error) &&
         read_uint (env, "USER_RATE_LIMIT", 0, 1000000, &self->user_rate_limit, error);
}
