/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

#include "cf-jwt.h"

G_BEGIN_DECLS

/**
 * CfAuthConfig:
 * @auth_required: AUTH_REQUIRED: requests without a valid credential get
 *   401; when off they run as the anonymous identity
 * @header_name: AUTH_HEADER_NAME: the header that carries the credential
 * @basic_enabled: API_ALLOW_BASIC_AUTH: accept HTTP Basic as well
 * @basic_user: BASIC_AUTH_USER
 * @basic_password: BASIC_AUTH_PASSWORD; required when Basic is enabled
 * @jwt_algorithm: JWT_ALGORITHM: the one algorithm tokens may use
 * @jwt_secret: JWT_SECRET_KEY, for HS256; outside production, a gateway
 *   without one signs with a random key that lasts until it stops
 * @jwt_public_key_path: JWT_PUBLIC_KEY_PATH, a PEM file, for RS256/ES256
 * @jwt_private_key_path: JWT_PRIVATE_KEY_PATH, a PEM file; without it the
 *   gateway verifies tokens but cannot mint them
 * @jwt_issuer: JWT_ISSUER
 * @jwt_audience: JWT_AUDIENCE
 * @verify_issuer: JWT_ISSUER_VERIFICATION
 * @verify_audience: JWT_AUDIENCE_VERIFICATION
 * @require_jti: REQUIRE_JTI
 * @require_exp: REQUIRE_TOKEN_EXPIRATION
 * @token_expiry_min: TOKEN_EXPIRY: session tokens' lifetime in minutes
 * @admin_email: PLATFORM_ADMIN_EMAIL
 * @admin_password: PLATFORM_ADMIN_PASSWORD; %NULL generates one
 * @admin_full_name: PLATFORM_ADMIN_FULL_NAME
 * @admin_change_on_bootstrap: ADMIN_REQUIRE_PASSWORD_CHANGE_ON_BOOTSTRAP
 * @enforce_password_change: PASSWORD_CHANGE_ENFORCEMENT_ENABLED
 * @max_failed_logins: MAX_FAILED_LOGIN_ATTEMPTS
 * @lockout_min: ACCOUNT_LOCKOUT_DURATION_MINUTES
 * @password_min_length: PASSWORD_MIN_LENGTH, for users; platform admins
 *   need %CF_PASSWORD_ADMIN_MIN_LENGTH at least
 * @production: ENVIRONMENT is `production`: missing secrets are fatal
 * @user_rate_limit: USER_RATE_LIMIT: requests per minute one identity (a
 *   user, or an API token) may make; 0, the default, for no limit
 *
 * The identity layer's settings, under ContextForge's variable names.
 */
typedef struct {
  gboolean        auth_required;
  char           *header_name;
  gboolean        basic_enabled;
  char           *basic_user;
  char           *basic_password;
  CfJwtAlgorithm  jwt_algorithm;
  char           *jwt_secret;
  char           *jwt_public_key_path;
  char           *jwt_private_key_path;
  char           *jwt_issuer;
  char           *jwt_audience;
  gboolean        verify_issuer;
  gboolean        verify_audience;
  gboolean        require_jti;
  gboolean        require_exp;
  guint           token_expiry_min;
  char           *admin_email;
  char           *admin_password;
  char           *admin_full_name;
  gboolean        admin_change_on_bootstrap;
  gboolean        enforce_password_change;
  guint           max_failed_logins;
  guint           lockout_min;
  guint           password_min_length;
  gboolean        production;
  guint           user_rate_limit;
} CfAuthConfig;

CfAuthConfig *cf_auth_config_new       (void);
void          cf_auth_config_free      (CfAuthConfig        *self);
gboolean      cf_auth_config_load_env  (CfAuthConfig        *self,
                                        const char * const  *environ,
                                        GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfAuthConfig, cf_auth_config_free)

G_END_DECLS
