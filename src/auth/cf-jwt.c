/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-jwt"

#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "cf-json.h"
#include "cf-jwt.h"

/**
 * CfJwt:
 *
 * Signs and verifies compact JWS tokens (RFC 7515/7519) with one
 * configured algorithm, the crypto done by GnuTLS. Verification is strict:
 * the header's `alg` must name the configured algorithm exactly (so `none`
 * and HS/RS confusion fail before any key is used), every segment must be
 * canonical base64url, and the registered claims are checked against the
 * clock, the issuer and the audience.
 */

/* Longer tokens are refused before any decoding: no legitimate one comes
 * near this, and the limit bounds the work an attacker can ask for. */
#define MAX_TOKEN_LENGTH 16384
#define HMAC_MIN_KEY 32
#define SHA256_LEN 32
#define P256_COORD 32
#define RSA_MIN_BITS 2048

struct _CfJwt
{
  GObject           parent_instance;

  CfJwtAlgorithm    algorithm;
  GBytes           *secret;
  gnutls_pubkey_t   pubkey;
  gnutls_privkey_t  privkey;
  char             *issuer;
  char             *audience;
  guint             leeway;
  gboolean          require_jti;
  gboolean          require_exp;
};

G_DEFINE_FINAL_TYPE (CfJwt, cf_jwt, G_TYPE_OBJECT)

static const char * const algorithm_names[] = {
  [CF_JWT_HS256] = "HS256",
  [CF_JWT_RS256] = "RS256",
  [CF_JWT_ES256] = "ES256",
};

const char *
cf_jwt_algorithm_to_string (CfJwtAlgorithm algorithm)
{
  g_return_val_if_fail ((guint) algorithm < G_N_ELEMENTS (algorithm_names), NULL);
  return algorithm_names[algorithm];
}

/**
 * cf_jwt_algorithm_from_string:
 * @name: a JWS `alg` value
 * @out: (out): the algorithm
 *
 * Returns: %TRUE if @name is exactly one of the supported algorithms
 */
gboolean
cf_jwt_algorithm_from_string (const char     *name,
                              CfJwtAlgorithm *out)
{
  for (guint i = 0; i < G_N_ELEMENTS (algorithm_names); i++)
    if (g_strcmp0 (name, algorithm_names[i]) == 0)
      {
        *out = i;
        return TRUE;
      }
  return FALSE;
}

/* Base64url without padding (RFC 7515 §2) */

/**
 * cf_base64url_encode:
 *
 * Returns: (transfer full): @data in base64url, unpadded
 */
char *
cf_base64url_encode (const guint8 *data,
                     gsize         length)
{
  char *text = g_base64_encode (data, length);
  char *end = strchr (text, '=');

  if (end != NULL)
    *end = '\0';
  g_strdelimit (text, "+", '-');
  g_strdelimit (text, "/", '_');
  return text;
}

static int
b64url_value (char c)
{
  if (c >= 'A' && c <= 'Z')
    return c - 'A';
  if (c >= 'a' && c <= 'z')
    return c - 'a' + 26;
  if (c >= '0' && c <= '9')
    return c - '0' + 52;
  if (c == '-')
    return 62;
  if (c == '_')
    return 63;
  return -1;
}

/**
 * cf_base64url_decode:
 * @text: base64url text
 * @text_length: its length
 * @out_length: (out): the decoded length
 *
 * Strict: only the base64url alphabet, no padding, no whitespace, and the
 * unused low bits of the last character zero, so that every byte string
 * has exactly one accepted encoding.
 *
 * Returns: (transfer full) (nullable): the bytes, or %NULL if @text is not
 *   canonical base64url
 */
guint8 *
cf_base64url_decode (const char *text,
                     gsize       text_length,
                     gsize      *out_length)
{
  g_autofree char *padded = NULL;
  int last;

  if (text_length % 4 == 1)
    return NULL;
  for (gsize i = 0; i < text_length; i++)
    if (b64url_value (text[i]) < 0)
      return NULL;
  if (text_length == 0)
    {
      *out_length = 0;
      return g_malloc0 (1);
    }

  last = b64url_value (text[text_length - 1]);
  if ((text_length % 4 == 2 && (last & 0x0f) != 0) ||
      (text_length % 4 == 3 && (last & 0x03) != 0))
    return NULL;

  padded = g_malloc (text_length + 4);
  memcpy (padded, text, text_length);
  for (gsize i = text_length; i % 4 != 0; i++)
    padded[i] = '=';
  padded[(text_length + 3) / 4 * 4] = '\0';
  g_strdelimit (padded, "-", '+');
  g_strdelimit (padded, "_", '/');
  return g_base64_decode (padded, out_length);
}

/* Keys */

static void
cf_jwt_finalize (GObject *object)
{
  CfJwt *self = (CfJwt *) object;

  g_clear_pointer (&self->secret, g_bytes_unref);
  g_clear_pointer (&self->pubkey, gnutls_pubkey_deinit);
  g_clear_pointer (&self->privkey, gnutls_privkey_deinit);
  g_free (self->issuer);
  g_free (self->audience);

  G_OBJECT_CLASS (cf_jwt_parent_class)->finalize (object);
}

static void
cf_jwt_class_init (CfJwtClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_jwt_finalize;
}

static void
cf_jwt_init (CfJwt *self)
{
  self->leeway = CF_JWT_DEFAULT_LEEWAY_S;
  self->require_jti = TRUE;
  self->require_exp = TRUE;
}

/* GBytes frees with g_free; a secret is wiped first. */
static void
wipe_free (gpointer data,
           gsize    length)
{
  explicit_bzero (data, length);
  g_free (data);
}

typedef struct {
  gpointer data;
  gsize    length;
} Secret;

static void
secret_free (gpointer data)
{
  Secret *secret = data;

  wipe_free (secret->data, secret->length);
  g_free (secret);
}

/**
 * cf_jwt_new_hmac:
 * @secret: the shared secret
 * @length: its length in bytes; at least 32 (RFC 7518 §3.2)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): an HS256 signer and verifier
 */
CfJwt *
cf_jwt_new_hmac (const void  *secret,
                 gsize        length,
                 GError     **error)
{
  CfJwt *self;
  Secret *copy;

  g_return_val_if_fail (secret != NULL, NULL);

  if (length < HMAC_MIN_KEY)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
                   "An HS256 secret must be at least %d bytes long (this one has %" G_GSIZE_FORMAT
                   "); generate one with: openssl rand -hex 32", HMAC_MIN_KEY, length);
      return NULL;
    }

  copy = g_new (Secret, 1);
  copy->data = g_memdup2 (secret, length);
  copy->length = length;
  self = g_object_new (CF_TYPE_JWT, NULL);
  self->algorithm = CF_JWT_HS256;
  self->secret = g_bytes_new_with_free_func (copy->data, length, secret_free, copy);
  return self;
}

static gboolean
gnutls_fail (int          rc,
             const char  *what,
             GError     **error)
{
  g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY, "%s: %s", what, gnutls_strerror (rc));
  return FALSE;
}

static gboolean
import_public (CfJwt    *self,
               GBytes   *pem,
               GError  **error)
{
  gnutls_datum_t datum = { (guchar *) g_bytes_get_data (pem, NULL), g_bytes_get_size (pem) };
  int rc;

  if ((rc = gnutls_pubkey_init (&self->pubkey)) < 0)
    return gnutls_fail (rc, "Cannot set up a public key", error);
  rc = gnutls_pubkey_import (self->pubkey, &datum, GNUTLS_X509_FMT_PEM);
  /* A certificate carries the public key too. */
  if (rc < 0)
    rc = gnutls_pubkey_import_x509_raw (self->pubkey, &datum, GNUTLS_X509_FMT_PEM, 0);
  if (rc < 0)
    return gnutls_fail (rc, "The public key is not a PEM public key or certificate", error);
  return TRUE;
}

static gboolean
import_private (CfJwt    *self,
                GBytes   *pem,
                GError  **error)
{
  gnutls_datum_t datum = { (guchar *) g_bytes_get_data (pem, NULL), g_bytes_get_size (pem) };
  int rc;

  if ((rc = gnutls_privkey_init (&self->privkey)) < 0)
    return gnutls_fail (rc, "Cannot set up a private key", error);
  rc = gnutls_privkey_import_x509_raw (self->privkey, &datum, GNUTLS_X509_FMT_PEM, NULL, 0);
  if (rc < 0)
    return gnutls_fail (rc, "The private key is not an unencrypted PEM private key", error);
  if (self->pubkey != NULL)
    return TRUE;
  if ((rc = gnutls_pubkey_init (&self->pubkey)) < 0 ||
      (rc = gnutls_pubkey_import_privkey (self->pubkey, self->privkey, 0, 0)) < 0)
    return gnutls_fail (rc, "Cannot derive the public key", error);
  return TRUE;
}

/* The key must suit the algorithm: an RSA key of 2048 bits or more for
 * RS256, a P-256 key for ES256. */
static gboolean
check_key_type (CfJwt   *self,
                GError **error)
{
  unsigned int bits = 0;
  int pk = gnutls_pubkey_get_pk_algorithm (self->pubkey, &bits);
  gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
  gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };

  if (self->algorithm == CF_JWT_RS256)
    {
      if (pk == GNUTLS_PK_RSA && bits >= RSA_MIN_BITS)
        return TRUE;
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
                   "RS256 needs an RSA key of at least %d bits", RSA_MIN_BITS);
      return FALSE;
    }

  if (pk == GNUTLS_PK_ECDSA &&
      gnutls_pubkey_export_ecc_raw2 (self->pubkey, &curve, &x, &y, 0) >= 0)
    {
      gnutls_free (x.data);
      gnutls_free (y.data);
      if (curve == GNUTLS_ECC_CURVE_SECP256R1)
        return TRUE;
    }
  g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY, "ES256 needs an EC key on P-256");
  return FALSE;
}

static gboolean sign_raw   (CfJwt         *self,
                            const char    *input,
                            gsize          length,
                            GByteArray   **out,
                            GError       **error);
static gboolean verify_raw (CfJwt         *self,
                            const char    *input,
                            gsize          length,
                            const guint8  *signature,
                            gsize          signature_length);

/* A public key given beside the private one must be its own. */
static gboolean
check_pair (CfJwt   *self,
            GError **error)
{
  static const char probe[] = "contextforge key pair check";
  g_autoptr(GByteArray) signature = NULL;

  if (!sign_raw (self, probe, sizeof probe - 1, &signature, error))
    return FALSE;
  if (verify_raw (self, probe, sizeof probe - 1, signature->data, signature->len))
    return TRUE;
  g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY,
               "The public key does not belong to the private key");
  return FALSE;
}

/**
 * cf_jwt_new_pem:
 * @algorithm: %CF_JWT_RS256 or %CF_JWT_ES256
 * @public_pem: (nullable): a PEM public key (or certificate)
 * @private_pem: (nullable): a PEM private key, unencrypted; without it
 *   the object only verifies
 * @error: return location for a #GError
 *
 * At least one key is needed; the public key is derived from the private
 * one when only that is given.
 *
 * Returns: (transfer full) (nullable): a signer and verifier
 */
CfJwt *
cf_jwt_new_pem (CfJwtAlgorithm   algorithm,
                GBytes          *public_pem,
                GBytes          *private_pem,
                GError         **error)
{
  g_autoptr(CfJwt) self = NULL;

  g_return_val_if_fail (algorithm == CF_JWT_RS256 || algorithm == CF_JWT_ES256, NULL);
  g_return_val_if_fail (public_pem != NULL || private_pem != NULL, NULL);

  self = g_object_new (CF_TYPE_JWT, NULL);
  self->algorithm = algorithm;
  if (public_pem != NULL && !import_public (self, public_pem, error))
    return NULL;
  if (private_pem != NULL && !import_private (self, private_pem, error))
    return NULL;
  if (!check_key_type (self, error))
    return NULL;
  if (public_pem != NULL && private_pem != NULL && !check_pair (self, error))
    return NULL;
  return g_steal_pointer (&self);
}

CfJwtAlgorithm
cf_jwt_get_algorithm (CfJwt *self)
{
  g_return_val_if_fail (CF_IS_JWT (self), CF_JWT_HS256);
  return self->algorithm;
}

/**
 * cf_jwt_can_sign:
 *
 * Returns: whether there is a key to mint tokens with
 */
gboolean
cf_jwt_can_sign (CfJwt *self)
{
  g_return_val_if_fail (CF_IS_JWT (self), FALSE);
  return self->secret != NULL || self->privkey != NULL;
}

/**
 * cf_jwt_set_issuer:
 * @issuer: (nullable): the `iss` tokens must carry; %NULL does not check it
 */
void
cf_jwt_set_issuer (CfJwt      *self,
                   const char *issuer)
{
  g_return_if_fail (CF_IS_JWT (self));
  g_free (self->issuer);
  self->issuer = g_strdup (issuer);
}

/**
 * cf_jwt_set_audience:
 * @audience: (nullable): the `aud` tokens must name; %NULL does not check it
 */
void
cf_jwt_set_audience (CfJwt      *self,
                     const char *audience)
{
  g_return_if_fail (CF_IS_JWT (self));
  g_free (self->audience);
  self->audience = g_strdup (audience);
}

void
cf_jwt_set_leeway (CfJwt *self,
                   guint  seconds)
{
  g_return_if_fail (CF_IS_JWT (self));
  self->leeway = seconds;
}

/**
 * cf_jwt_set_required_claims:
 * @jti: whether tokens must carry a `jti` (revocation needs one)
 * @exp: whether tokens must carry an `exp`
 */
void
cf_jwt_set_required_claims (CfJwt    *self,
                            gboolean  jti,
                            gboolean  exp)
{
  g_return_if_fail (CF_IS_JWT (self));
  self->require_jti = jti;
  self->require_exp = exp;
}

/* Signatures */

static const gnutls_sign_algorithm_t sign_algorithms[] = {
  [CF_JWT_RS256] = GNUTLS_SIGN_RSA_SHA256,
  [CF_JWT_ES256] = GNUTLS_SIGN_ECDSA_SHA256,
};

/* JWS wants ES256 signatures as the fixed-width pair r || s (RFC 7518
 * §3.4); GnuTLS speaks DER. */
static void
append_coordinate (GByteArray           *out,
                   const gnutls_datum_t *value)
{
  guint skip = 0;
  guint8 zeros[P256_COORD] = { 0 };

  while (value->size - skip > P256_COORD && value->data[skip] == 0)
    skip++;
  g_byte_array_append (out, zeros, P256_COORD - MIN (value->size - skip, P256_COORD));
  g_byte_array_append (out, value->data + skip, MIN (value->size - skip, P256_COORD));
}

static gboolean
sign_raw (CfJwt       *self,
          const char  *input,
          gsize        length,
          GByteArray **out,
          GError     **error)
{
  gnutls_datum_t data = { (guchar *) input, length };
  gnutls_datum_t signature = { NULL, 0 };
  gnutls_datum_t r = { NULL, 0 }, s = { NULL, 0 };
  guint8 digest[SHA256_LEN];
  int rc;

  if (self->algorithm == CF_JWT_HS256)
    {
      rc = gnutls_hmac_fast (GNUTLS_MAC_SHA256, g_bytes_get_data (self->secret, NULL),
                             g_bytes_get_size (self->secret), input, length, digest);
      if (rc < 0)
        return gnutls_fail (rc, "Cannot compute the HMAC", error);
      *out = g_byte_array_sized_new (SHA256_LEN);
      g_byte_array_append (*out, digest, SHA256_LEN);
      return TRUE;
    }

  rc = gnutls_privkey_sign_data2 (self->privkey, sign_algorithms[self->algorithm], 0,
                                  &data, &signature);
  if (rc < 0)
    return gnutls_fail (rc, "Cannot sign", error);
  *out = g_byte_array_sized_new (signature.size);
  if (self->algorithm == CF_JWT_RS256)
    g_byte_array_append (*out, signature.data, signature.size);
  else if ((rc = gnutls_decode_rs_value (&signature, &r, &s)) >= 0)
    {
      append_coordinate (*out, &r);
      append_coordinate (*out, &s);
    }
  gnutls_free (signature.data);
  gnutls_free (r.data);
  gnutls_free (s.data);
  if (rc < 0)
    {
      g_clear_pointer (out, g_byte_array_unref);
      return gnutls_fail (rc, "Cannot read the ECDSA signature", error);
    }
  return TRUE;
}

/* The minimal big-endian form of one coordinate, as DER wants it. */
static gnutls_datum_t
coordinate_datum (const guint8 *value)
{
  guint skip = 0;

  while (skip < P256_COORD - 1 && value[skip] == 0)
    skip++;
  return (gnutls_datum_t) { (guchar *) value + skip, P256_COORD - skip };
}

static gboolean
verify_raw (CfJwt        *self,
            const char   *input,
            gsize         length,
            const guint8 *signature,
            gsize         signature_length)
{
  gnutls_datum_t data = { (guchar *) input, length };
  gnutls_datum_t sig = { (guchar *) signature, signature_length };
  gnutls_datum_t der = { NULL, 0 };
  gnutls_datum_t r, s;
  guint8 digest[SHA256_LEN];
  int rc;

  if (self->algorithm == CF_JWT_HS256)
    return gnutls_hmac_fast (GNUTLS_MAC_SHA256, g_bytes_get_data (self->secret, NULL),
                             g_bytes_get_size (self->secret), input, length, digest) >= 0 &&
           cf_auth_memeq (digest, SHA256_LEN, signature, signature_length);

  if (self->algorithm == CF_JWT_RS256)
    return gnutls_pubkey_verify_data2 (self->pubkey, GNUTLS_SIGN_RSA_SHA256, 0, &data, &sig) >= 0;

  if (signature_length != 2 * P256_COORD)
    return FALSE;
  r = coordinate_datum (signature);
  s = coordinate_datum (signature + P256_COORD);
  if (gnutls_encode_rs_value (&der, &r, &s) < 0)
    return FALSE;
  rc = gnutls_pubkey_verify_data2 (self->pubkey, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der);
  gnutls_free (der.data);
  return rc >= 0;
}

/**
 * cf_jwt_sign:
 * @self: a #CfJwt
 * @claims: the payload; taken as it is (the caller sets exp, jti, ...)
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the compact token, or %NULL with
 *   %CF_AUTH_ERROR_CANNOT_SIGN when there is no private key
 */
char *
cf_jwt_sign (CfJwt       *self,
             JsonObject  *claims,
             GError     **error)
{
  g_autofree char *header = NULL;
  g_autofree char *header64 = NULL;
  g_autofree char *payload = NULL;
  g_autofree char *payload64 = NULL;
  g_autofree char *input = NULL;
  g_autofree char *signature64 = NULL;
  g_autoptr(GByteArray) signature = NULL;

  g_return_val_if_fail (CF_IS_JWT (self), NULL);
  g_return_val_if_fail (claims != NULL, NULL);

  if (!cf_jwt_can_sign (self))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CANNOT_SIGN,
                   "No private key to sign tokens with: set JWT_PRIVATE_KEY_PATH");
      return NULL;
    }

  header = g_strdup_printf ("{\"alg\":\"%s\",\"typ\":\"JWT\"}",
                            cf_jwt_algorithm_to_string (self->algorithm));
  header64 = cf_base64url_encode ((const guint8 *) header, strlen (header));
  payload = cf_json_object_to_string (claims);
  payload64 = cf_base64url_encode ((const guint8 *) payload, strlen (payload));
  input = g_strconcat (header64, ".", payload64, NULL);
  if (!sign_raw (self, input, strlen (input), &signature, error))
    return NULL;
  signature64 = cf_base64url_encode (signature->data, signature->len);
  return g_strconcat (input, ".", signature64, NULL);
}

/* Verification */

static gboolean G_GNUC_PRINTF (3, 4)
fail (GError     **error,
      CfAuthError  code,
      const char  *format,
      ...)
{
  va_list args;

  if (error == NULL)
    return FALSE;
  g_return_val_if_fail (*error == NULL, FALSE);
  va_start (args, format);
  *error = g_error_new_valist (CF_AUTH_ERROR, code, format, args);
  va_end (args);
  return FALSE;
}

static JsonObject *
decode_object (const char  *segment,
               gsize        length,
               const char  *what,
               GError     **error)
{
  gsize size = 0;
  g_autofree guint8 *bytes = cf_base64url_decode (segment, length, &size);
  g_autoptr(JsonNode) node = NULL;

  if (bytes == NULL)
    {
      fail (error, CF_AUTH_ERROR_MALFORMED, "Invalid token: the %s is not base64url", what);
      return NULL;
    }
  node = cf_json_parse ((const char *) bytes, size, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      fail (error, CF_AUTH_ERROR_MALFORMED, "Invalid token: the %s is not a JSON object", what);
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

static gboolean
check_header (CfJwt       *self,
              JsonObject  *header,
              GError     **error)
{
  JsonNode *alg = json_object_get_member (header, "alg");
  const char *expected = cf_jwt_algorithm_to_string (self->algorithm);

  if (alg == NULL || !cf_json_node_is_string (alg))
    return fail (error, CF_AUTH_ERROR_MALFORMED, "Invalid token: the header has no alg");
  /* The client's value is not echoed: it ends up in headers. */
  if (g_strcmp0 (json_node_get_string (alg), expected) != 0)
    return fail (error, CF_AUTH_ERROR_ALGORITHM,
                 "Invalid token: its algorithm is not accepted (only %s is)", expected);
  /* RFC 7515 §4.1.11: extensions we do not understand must not be
   * ignored when marked critical. */
  if (json_object_has_member (header, "crit"))
    return fail (error, CF_AUTH_ERROR_MALFORMED,
                 "Invalid token: critical header extensions are not supported");
  return TRUE;
}

/* A NumericDate: a JSON number of seconds. */
static gboolean
numeric_claim (JsonObject  *claims,
               const char  *name,
               gboolean    *present,
               double      *value,
               GError     **error)
{
  JsonNode *node = json_object_get_member (claims, name);

  *present = node != NULL;
  if (node == NULL)
    return TRUE;
  if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64)
    *value = json_node_get_int (node);
  else if (JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_DOUBLE)
    *value = json_node_get_double (node);
  else
    return fail (error, CF_AUTH_ERROR_CLAIMS, "Invalid token: %s is not a number", name);
  return TRUE;
}

static gboolean
check_times (CfJwt       *self,
             JsonObject  *claims,
             gint64       now,
             GError     **error)
{
  gboolean has_exp, has_nbf, has_iat;
  double exp = 0, nbf = 0, iat = 0;

  if (!numeric_claim (claims, "exp", &has_exp, &exp, error) ||
      !numeric_claim (claims, "nbf", &has_nbf, &nbf, error) ||
      !numeric_claim (claims, "iat", &has_iat, &iat, error))
    return FALSE;

  if (!has_exp && self->require_exp)
    return fail (error, CF_AUTH_ERROR_CLAIMS, "Invalid token: it has no expiry (exp)");
  if (has_exp && (double) now >= exp + self->leeway)
    return fail (error, CF_AUTH_ERROR_EXPIRED, "Token has expired");
  if (has_nbf && (double) now + self->leeway < nbf)
    return fail (error, CF_AUTH_ERROR_NOT_YET_VALID, "Token is not yet valid (nbf)");
  if (has_iat && (double) now + self->leeway < iat)
    return fail (error, CF_AUTH_ERROR_NOT_YET_VALID, "Token was issued in the future (iat)");
  return TRUE;
}

static gboolean
audience_matches (JsonNode   *aud,
                  const char *expected)
{
  JsonArray *array;

  if (cf_json_node_is_string (aud))
    return g_strcmp0 (json_node_get_string (aud), expected) == 0;
  if (aud == NULL || !JSON_NODE_HOLDS_ARRAY (aud))
    return FALSE;
  array = json_node_get_array (aud);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);

      if (cf_json_node_is_string (element) &&
          g_strcmp0 (json_node_get_string (element), expected) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
check_claims (CfJwt       *self,
              JsonObject  *claims,
              gint64       now,
              GError     **error)
{
  const char *jti = cf_json_object_get_string (claims, "jti");

  if (!check_times (self, claims, now, error))
    return FALSE;
  if (self->issuer != NULL &&
      g_strcmp0 (cf_json_object_get_string (claims, "iss"), self->issuer) != 0)
    return fail (error, CF_AUTH_ERROR_ISSUER, "Invalid token: wrong issuer");
  if (self->audience != NULL &&
      !audience_matches (json_object_get_member (claims, "aud"), self->audience))
    return fail (error, CF_AUTH_ERROR_AUDIENCE, "Invalid token: wrong audience");
  if (self->require_jti && (jti == NULL || *jti == '\0'))
    return fail (error, CF_AUTH_ERROR_CLAIMS, "Invalid token: it has no id (jti)");
  return TRUE;
}

/**
 * cf_jwt_verify:
 * @self: a #CfJwt
 * @token: a compact JWS
 * @now: the time to check against, in seconds since the epoch
 * @error: return location for a #GError
 *
 * Checks, in this order: the shape (three canonical base64url segments,
 * JSON object header), the algorithm (exactly the configured one), the
 * signature, then the claims: exp (required unless disabled), nbf, iat,
 * iss, aud and jti. Revocation is the caller's business.
 *
 * Returns: (transfer full) (nullable): the claims, or %NULL with a
 *   %CF_AUTH_ERROR saying what failed
 */
JsonObject *
cf_jwt_verify (CfJwt       *self,
               const char  *token,
               gint64       now,
               GError     **error)
{
  g_autoptr(JsonObject) header = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autofree guint8 *signature = NULL;
  const char *dot1, *dot2;
  gsize length, signature_length = 0;

  g_return_val_if_fail (CF_IS_JWT (self), NULL);
  g_return_val_if_fail (token != NULL, NULL);

  length = strnlen (token, MAX_TOKEN_LENGTH + 1);
  dot1 = memchr (token, '.', length);
  dot2 = dot1 ? memchr (dot1 + 1, '.', length - (dot1 + 1 - token)) : NULL;
  if (length > MAX_TOKEN_LENGTH || dot1 == NULL || dot2 == NULL ||
      memchr (dot2 + 1, '.', length - (dot2 + 1 - token)) != NULL)
    {
      fail (error, CF_AUTH_ERROR_MALFORMED, "Invalid token: not a compact JWS");
      return NULL;
    }

  header = decode_object (token, dot1 - token, "header", error);
  if (header == NULL || !check_header (self, header, error))
    return NULL;

  signature = cf_base64url_decode (dot2 + 1, length - (dot2 + 1 - token), &signature_length);
  if (signature == NULL)
    {
      fail (error, CF_AUTH_ERROR_MALFORMED, "Invalid token: the signature is not base64url");
      return NULL;
    }
  if (!verify_raw (self, token, dot2 - token, signature, signature_length))
    {
      fail (error, CF_AUTH_ERROR_SIGNATURE, "Invalid token: the signature does not verify");
      return NULL;
    }

  /* Only a verified payload is parsed as claims. */
  claims = decode_object (dot1 + 1, dot2 - dot1 - 1, "payload", error);
  if (claims == NULL || !check_claims (self, claims, now, error))
    return NULL;
  return g_steal_pointer (&claims);
}
