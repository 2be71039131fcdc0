/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_AUTH_ERROR (cf_auth_error_quark ())

/**
 * CfAuthError:
 * @CF_AUTH_ERROR_MISSING: no credential was presented
 * @CF_AUTH_ERROR_MALFORMED: not a well-formed JWT (segments, strict
 *   base64url, JSON objects) or Basic credential
 * @CF_AUTH_ERROR_ALGORITHM: the token's `alg` is not the configured one
 *   (`none`, and HS/RS confusion, land here)
 * @CF_AUTH_ERROR_SIGNATURE: the signature does not verify
 * @CF_AUTH_ERROR_EXPIRED: `exp` has passed
 * @CF_AUTH_ERROR_NOT_YET_VALID: `nbf` or `iat` lies in the future
 * @CF_AUTH_ERROR_AUDIENCE: `aud` does not name this gateway
 * @CF_AUTH_ERROR_ISSUER: `iss` is not the configured issuer
 * @CF_AUTH_ERROR_CLAIMS: a required claim is missing or mistyped
 * @CF_AUTH_ERROR_REVOKED: the token's `jti` was revoked
 * @CF_AUTH_ERROR_CREDENTIALS: wrong email or password (also when the
 *   account is locked, inactive or unknown: callers cannot tell which)
 * @CF_AUTH_ERROR_PASSWORD_CHANGE_REQUIRED: the password is right but must
 *   be changed before a session token is issued
 * @CF_AUTH_ERROR_WEAK_PASSWORD: a new password fails the policy
 * @CF_AUTH_ERROR_KEY: the configured key material is unusable
 * @CF_AUTH_ERROR_CANNOT_SIGN: no private key to mint tokens with
 *
 * Errors of the identity layer (src/auth).
 */
typedef enum {
  CF_AUTH_ERROR_MISSING,
  CF_AUTH_ERROR_MALFORMED,
  CF_AUTH_ERROR_ALGORITHM,
  CF_AUTH_ERROR_SIGNATURE,
  CF_AUTH_ERROR_EXPIRED,
  CF_AUTH_ERROR_NOT_YET_VALID,
  CF_AUTH_ERROR_AUDIENCE,
  CF_AUTH_ERROR_ISSUER,
  CF_AUTH_ERROR_CLAIMS,
  CF_AUTH_ERROR_REVOKED,
  CF_AUTH_ERROR_CREDENTIALS,
  CF_AUTH_ERROR_PASSWORD_CHANGE_REQUIRED,
  CF_AUTH_ERROR_WEAK_PASSWORD,
  CF_AUTH_ERROR_KEY,
  CF_AUTH_ERROR_CANNOT_SIGN,
} CfAuthError;

GQuark   cf_auth_error_quark (void);
gboolean cf_auth_memeq       (const void *a,
                              gsize       a_len,
                              const void *b,
                              gsize       b_len);

G_END_DECLS
