/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib-object.h>
#include <json-glib/json-glib.h>

#include "cf-auth-error.h"

G_BEGIN_DECLS

/**
 * CfJwtAlgorithm:
 * @CF_JWT_HS256: HMAC with SHA-256 and a shared secret
 * @CF_JWT_RS256: RSASSA-PKCS1-v1_5 with SHA-256
 * @CF_JWT_ES256: ECDSA on P-256 with SHA-256
 *
 * The JWS algorithms the gateway signs and verifies with. Exactly one is
 * configured at a time, and only it is accepted.
 */
typedef enum {
  CF_JWT_HS256,
  CF_JWT_RS256,
  CF_JWT_ES256,
} CfJwtAlgorithm;

/* Clock skew tolerated on exp, nbf and iat. */
#define CF_JWT_DEFAULT_LEEWAY_S 30

#define CF_TYPE_JWT (cf_jwt_get_type ())
G_DECLARE_FINAL_TYPE (CfJwt, cf_jwt, CF, JWT, GObject)

const char   *cf_jwt_algorithm_to_string   (CfJwtAlgorithm   algorithm);
gboolean      cf_jwt_algorithm_from_string (const char      *name,
                                            CfJwtAlgorithm  *out);

CfJwt        *cf_jwt_new_hmac              (const void      *secret,
                                            gsize            length,
                                            GError         **error);
CfJwt        *cf_jwt_new_pem               (CfJwtAlgorithm   algorithm,
                                            GBytes          *public_pem,
                                            GBytes          *private_pem,
                                            GError         **error);
CfJwtAlgorithm cf_jwt_get_algorithm        (CfJwt           *self);
gboolean      cf_jwt_can_sign              (CfJwt           *self);
void          cf_jwt_set_issuer            (CfJwt           *self,
                                            const char      *issuer);
void          cf_jwt_set_audience          (CfJwt           *self,
                                            const char      *audience);
void          cf_jwt_set_leeway            (CfJwt           *self,
                                            guint            seconds);
void          cf_jwt_set_required_claims   (CfJwt           *self,
                                            gboolean         jti,
                                            gboolean         exp);

char         *cf_jwt_sign                  (CfJwt           *self,
                                            JsonObject      *claims,
                                            GError         **error);
JsonObject   *cf_jwt_verify                (CfJwt           *self,
                                            const char      *token,
                                            gint64           now,
                                            GError         **error);

char         *cf_base64url_encode          (const guint8    *data,
                                            gsize            length);
guint8       *cf_base64url_decode          (const char      *text,
                                            gsize            text_length,
                                            gsize           *out_length);

G_END_DECLS
