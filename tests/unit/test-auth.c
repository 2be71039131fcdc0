/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-auth"

#include "config.h"

#include <glib/gstdio.h>
#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sqlite3.h>
#include <string.h>

#include "cf-auth-http.h"
#include "cf-auth.h"
#include "cf-config.h"
#include "cf-http-server.h"
#include "cf-json.h"
#include "cf-jwt.h"
#include "cf-legacy-sse.h"
#include "cf-mcp-request.h"
#include "cf-mcp-server.h"
#include "cf-password.h"
#include "cf-streamable-http.h"
#include "cf-test-mcp-client.h"
#include "cf-test-util.h"
#include "cf-websocket.h"

/* The identity layer: the JWT matrix for every algorithm, passwords and
 * their policy, the CfAuth service against a real store (lockout,
 * password change, revocation), and identities reaching MCP handlers
 * over each HTTP transport. */

#define ISSUER "mcpgateway"
#define AUDIENCE "mcpgateway-api"
#define SECRET "test-secret-0123456789abcdef-0123456789abcdef"
#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "Admin-Password-For-Tests-1!"

/* Keys */

typedef struct {
  GBytes *private_pem;
  GBytes *public_pem;
} KeyPair;

static GBytes *
datum_bytes (gnutls_datum_t *datum)
{
  GBytes *bytes = g_bytes_new (datum->data, datum->size);

  gnutls_free (datum->data);
  return bytes;
}

/* Generated in-process with GnuTLS, so the test needs no key files. The
 * private key is PKCS#8, which every implementation reads. */
static void
generate_pair (gnutls_pk_algorithm_t  pk,
               unsigned int           bits,
               KeyPair               *out)
{
  gnutls_privkey_t key;
  gnutls_x509_privkey_t x509;
  gnutls_pubkey_t pub;
  gnutls_datum_t datum;

  g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (key, pk, bits, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_export_x509 (key, &x509), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_export2_pkcs8 (x509, GNUTLS_X509_FMT_PEM, NULL,
                                                      GNUTLS_PKCS_PLAIN, &datum), ==, 0);
  out->private_pem = datum_bytes (&datum);
  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (pub, key, 0, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_PEM, &datum), ==, 0);
  out->public_pem = datum_bytes (&datum);
  gnutls_pubkey_deinit (pub);
  gnutls_x509_privkey_deinit (x509);
  gnutls_privkey_deinit (key);
}

static KeyPair rsa, ec;

static const KeyPair *
keys_for (CfJwtAlgorithm algorithm)
{
  if (algorithm == CF_JWT_RS256)
    {
      if (rsa.private_pem == NULL)
        generate_pair (GNUTLS_PK_RSA, 2048, &rsa);
      return &rsa;
    }
  if (ec.private_pem == NULL)
    generate_pair (GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), &ec);
  return &ec;
}

static void
keys_free (void)
{
  KeyPair *pairs[] = { &rsa, &ec };

  for (guint i = 0; i < G_N_ELEMENTS (pairs); i++)
    {
      g_clear_pointer (&pairs[i]->private_pem, g_bytes_unref);
      g_clear_pointer (&pairs[i]->public_pem, g_bytes_unref);
    }
}

/* A configured JWT: @with_private FALSE gives a verify-only one. */
static CfJwt *
new_jwt (CfJwtAlgorithm algorithm,
         gboolean       with_private)
{
  g_autoptr(GError) error = NULL;
  const KeyPair *pair;
  CfJwt *jwt;

  if (algorithm == CF_JWT_HS256)
    jwt = cf_jwt_new_hmac (SECRET, strlen (SECRET), &error);
  else
    {
      pair = keys_for (algorithm);
      jwt = cf_jwt_new_pem (algorithm, pair->public_pem,
                            with_private ? pair->private_pem : NULL, &error);
    }
  g_assert_no_error (error);
  cf_jwt_set_issuer (jwt, ISSUER);
  cf_jwt_set_audience (jwt, AUDIENCE);
  return jwt;
}

static gint64
now (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

static JsonObject *
base_claims (void)
{
  JsonObject *claims = json_object_new ();

  json_object_set_string_member (claims, "sub", "alice@example.com");
  json_object_set_string_member (claims, "iss", ISSUER);
  json_object_set_string_member (claims, "aud", AUDIENCE);
  json_object_set_int_member (claims, "iat", now ());
  json_object_set_int_member (claims, "exp", now () + 600);
  json_object_set_string_member (claims, "jti", "3f0c2a1e-0000-4000-8000-000000000001");
  return claims;
}

static char *
sign (CfJwt      *jwt,
      JsonObject *claims)
{
  g_autoptr(GError) error = NULL;
  char *token = cf_jwt_sign (jwt, claims, &error);

  g_assert_no_error (error);
  g_assert_nonnull (token);
  return token;
}

static void
assert_rejected (CfJwt       *jwt,
                 const char  *token,
                 CfAuthError  code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) claims = cf_jwt_verify (jwt, token, now (), &error);

  g_assert_null (claims);
  g_assert_error (error, CF_AUTH_ERROR, (int) code);
}

static JsonObject *
assert_accepted (CfJwt      *jwt,
                 const char *token)
{
  g_autoptr(GError) error = NULL;
  JsonObject *claims = cf_jwt_verify (jwt, token, now (), &error);

  g_assert_no_error (error);
  g_assert_nonnull (claims);
  return claims;
}

static char *
b64 (const char *text)
{
  return cf_base64url_encode ((const guint8 *) text, strlen (text));
}

/* A token put together by hand, signed (HMAC) with whatever key the
 * attacker chose; no signature when @key is NULL. */
static char *
forge (const char *header,
       const char *payload,
       const void *key,
       gsize       key_length)
{
  g_autofree char *h = b64 (header);
  g_autofree char *p = b64 (payload);
  g_autofree char *input = g_strconcat (h, ".", p, NULL);
  g_autofree char *signature = NULL;
  guint8 digest[32];

  if (key == NULL)
    return g_strconcat (input, ".", NULL);
  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA256, key, key_length, input, strlen (input),
                                     digest), ==, 0);
  signature = cf_base64url_encode (digest, sizeof digest);
  return g_strconcat (input, ".", signature, NULL);
}

static char *
payload_json (JsonObject *claims)
{
  return cf_json_object_to_string (claims);
}

/* Base64url */

static void
test_base64url_roundtrip (void)
{
  guint8 data[12];

  for (guint n = 0; n <= sizeof data; n++)
    {
      g_autofree char *text = NULL;
      g_autofree guint8 *back = NULL;
      gsize length = 99;

      for (guint i = 0; i < n; i++)
        data[i] = 0xf0 + i * 37;
      text = cf_base64url_encode (data, n);
      g_assert_null (strpbrk (text, "+/="));
      back = cf_base64url_decode (text, strlen (text), &length);
      g_assert_nonnull (back);
      g_assert_cmpmem (back, length, data, n);
    }
}

static void
test_base64url_strict (void)
{
  /* "f" is 0x66: "Zg" is canonical, "Zh" carries stray low bits. */
  static const char * const bad[] = {
    "Zg==", "Zh", "Z", "Zm9v+g", "Zm9v/g", "Zm 9v", "Zm9v\n", "Zm9=", "Zm9vY", NULL
  };
  gsize length;

  for (guint i = 0; bad[i] != NULL; i++)
    {
      g_autofree guint8 *decoded = cf_base64url_decode (bad[i], strlen (bad[i]), &length);

      if (decoded != NULL)
        g_error ("\"%s\" decoded", bad[i]);
    }
  g_free (cf_base64url_decode ("Zg", 2, &length));
  g_assert_cmpuint (length, ==, 1);
}

/* The JWT matrix */

static const CfJwtAlgorithm algorithms[] = { CF_JWT_HS256, CF_JWT_RS256, CF_JWT_ES256 };

static void
test_jwt_valid (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(CfJwt) signer = new_jwt (algorithms[i], TRUE);
      g_autoptr(CfJwt) verifier = new_jwt (algorithms[i], FALSE);
      g_autoptr(JsonObject) claims = base_claims ();
      g_autofree char *token = sign (signer, claims);
      g_autoptr(JsonObject) verified = assert_accepted (verifier, token);
      const char *dot = strchr (token, '.');
      const char *signature64 = strrchr (token, '.') + 1;
      const gsize signature_lengths[] = { 32, 256, 64 };
      g_autofree char *header = NULL;
      g_autofree guint8 *signature = NULL;
      gsize length = 0;

      g_assert_cmpstr (json_object_get_string_member (verified, "sub"), ==, "alice@example.com");
      g_assert_cmpint (json_object_get_int_member (verified, "exp"), ==,
                       json_object_get_int_member (claims, "exp"));
      header = (char *) cf_base64url_decode (token, dot - token, &length);
      g_assert_nonnull (strstr (header, cf_jwt_algorithm_to_string (algorithms[i])));
      /* JWS wants ES256 as r || s, 64 bytes, never DER. */
      signature = cf_base64url_decode (signature64, strlen (signature64), &length);
      g_assert_nonnull (signature);
      g_assert_cmpuint (length, ==, signature_lengths[i]);
    }

  /* A verify-only object cannot mint. */
  {
    g_autoptr(CfJwt) verifier = new_jwt (CF_JWT_RS256, FALSE);
    g_autoptr(JsonObject) claims = base_claims ();
    g_autoptr(GError) error = NULL;

    g_assert_false (cf_jwt_can_sign (verifier));
    g_assert_null (cf_jwt_sign (verifier, claims, &error));
    g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CANNOT_SIGN);
  }
}

static void
test_jwt_times (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], TRUE);
      g_autoptr(JsonObject) expired = base_claims ();
      g_autoptr(JsonObject) in_leeway = base_claims ();
      g_autoptr(JsonObject) early = base_claims ();
      g_autoptr(JsonObject) future_iat = base_claims ();
      g_autoptr(JsonObject) fractional = base_claims ();
      g_autoptr(JsonObject) stringly = base_claims ();
      g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *t5 = NULL, *t6 = NULL;

      json_object_set_int_member (expired, "exp", now () - 120);
      json_object_set_int_member (in_leeway, "exp", now () - 5);
      json_object_set_int_member (early, "nbf", now () + 600);
      json_object_set_int_member (future_iat, "iat", now () + 600);
      json_object_set_double_member (fractional, "exp", now () + 60.5);
      json_object_set_string_member (stringly, "exp", "tomorrow");
      t1 = sign (jwt, expired);
      t2 = sign (jwt, in_leeway);
      t3 = sign (jwt, early);
      t4 = sign (jwt, future_iat);
      t5 = sign (jwt, fractional);
      t6 = sign (jwt, stringly);

      assert_rejected (jwt, t1, CF_AUTH_ERROR_EXPIRED);
      json_object_unref (assert_accepted (jwt, t2));
      assert_rejected (jwt, t3, CF_AUTH_ERROR_NOT_YET_VALID);
      assert_rejected (jwt, t4, CF_AUTH_ERROR_NOT_YET_VALID);
      json_object_unref (assert_accepted (jwt, t5));
      assert_rejected (jwt, t6, CF_AUTH_ERROR_CLAIMS);
    }
}

static void
test_jwt_audience_issuer (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], TRUE);
      g_autoptr(JsonObject) wrong_aud = base_claims ();
      g_autoptr(JsonObject) no_aud = base_claims ();
      g_autoptr(JsonObject) list_aud = base_claims ();
      g_autoptr(JsonObject) wrong_iss = base_claims ();
      g_autoptr(JsonObject) no_iss = base_claims ();
      JsonArray *audiences = json_array_new ();
      g_autofree char *t1 = NULL, *t2 = NULL, *t3 = NULL, *t4 = NULL, *t5 = NULL;

      json_object_set_string_member (wrong_aud, "aud", "someone-else");
      json_object_remove_member (no_aud, "aud");
      json_array_add_string_element (audiences, "other");
      json_array_add_string_element (audiences, AUDIENCE);
      json_object_set_array_member (list_aud, "aud", audiences);
      json_object_set_string_member (wrong_iss, "iss", "https://evil.example");
      json_object_remove_member (no_iss, "iss");
      t1 = sign (jwt, wrong_aud);
      t2 = sign (jwt, no_aud);
      t3 = sign (jwt, list_aud);
      t4 = sign (jwt, wrong_iss);
      t5 = sign (jwt, no_iss);

      assert_rejected (jwt, t1, CF_AUTH_ERROR_AUDIENCE);
      assert_rejected (jwt, t2, CF_AUTH_ERROR_AUDIENCE);
      json_object_unref (assert_accepted (jwt, t3));
      assert_rejected (jwt, t4, CF_AUTH_ERROR_ISSUER);
      assert_rejected (jwt, t5, CF_AUTH_ERROR_ISSUER);
    }
}

static void
test_jwt_required_claims (void)
{
  g_autoptr(CfJwt) jwt = new_jwt (CF_JWT_HS256, TRUE);
  g_autoptr(JsonObject) no_jti = base_claims ();
  g_autoptr(JsonObject) no_exp = base_claims ();
  g_autofree char *t1 = NULL, *t2 = NULL;

  json_object_remove_member (no_jti, "jti");
  json_object_remove_member (no_exp, "exp");
  t1 = sign (jwt, no_jti);
  t2 = sign (jwt, no_exp);
  assert_rejected (jwt, t1, CF_AUTH_ERROR_CLAIMS);
  assert_rejected (jwt, t2, CF_AUTH_ERROR_CLAIMS);

  /* REQUIRE_JTI=false and REQUIRE_TOKEN_EXPIRATION=false relax them. */
  cf_jwt_set_required_claims (jwt, FALSE, FALSE);
  json_object_unref (assert_accepted (jwt, t1));
  json_object_unref (assert_accepted (jwt, t2));
}

static void
test_jwt_alg_none (void)
{
  g_autoptr(JsonObject) claims = base_claims ();
  g_autofree char *payload = payload_json (claims);
  static const char * const headers[] = {
    "{\"alg\":\"none\",\"typ\":\"JWT\"}", "{\"alg\":\"None\"}", "{\"alg\":\"NONE\"}",
    "{\"alg\":\"\"}", "{\"typ\":\"JWT\"}", "{\"alg\":null}", "{\"alg\":[\"HS256\"]}", NULL
  };

  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], TRUE);

      for (guint h = 0; headers[h] != NULL; h++)
        {
          g_autofree char *unsigned_token = forge (headers[h], payload, NULL, 0);
          g_autoptr(GError) error = NULL;
          g_autoptr(JsonObject) verified = cf_jwt_verify (jwt, unsigned_token, now (), &error);

          g_assert_null (verified);
          g_assert_true (g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_ALGORITHM) ||
                         g_error_matches (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED));
        }
    }
}

/* The classic: an RS256 verifier fed an HS256 token whose HMAC key is
 * the RSA public key, which the attacker knows. */
static void
test_jwt_confusion (void)
{
  g_autoptr(JsonObject) claims = base_claims ();
  g_autofree char *payload = payload_json (claims);

  for (guint i = 1; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], TRUE);
      GBytes *pem = keys_for (algorithms[i])->public_pem;
      g_autofree char *forged = forge ("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload,
                                       g_bytes_get_data (pem, NULL), g_bytes_get_size (pem));

      assert_rejected (jwt, forged, CF_AUTH_ERROR_ALGORITHM);
    }

  /* And the other way: asymmetric tokens at an HS256 gateway. */
  {
    g_autoptr(CfJwt) hs = new_jwt (CF_JWT_HS256, TRUE);
    g_autoptr(CfJwt) rs = new_jwt (CF_JWT_RS256, TRUE);
    g_autoptr(CfJwt) es = new_jwt (CF_JWT_ES256, TRUE);
    g_autofree char *rs_token = sign (rs, claims);
    g_autofree char *es_token = sign (es, claims);
    g_autofree char *hs_token = sign (hs, claims);

    assert_rejected (hs, rs_token, CF_AUTH_ERROR_ALGORITHM);
    assert_rejected (hs, es_token, CF_AUTH_ERROR_ALGORITHM);
    assert_rejected (rs, es_token, CF_AUTH_ERROR_ALGORITHM);
    assert_rejected (es, rs_token, CF_AUTH_ERROR_ALGORITHM);
    assert_rejected (rs, hs_token, CF_AUTH_ERROR_ALGORITHM);
  }
}

static char *
replace_segment (const char *token,
                 guint       index,
                 const char *segment)
{
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);

  g_free (parts[index]);
  parts[index] = g_strdup (segment);
  return g_strjoinv (".", parts);
}

static void
test_jwt_tampered (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], TRUE);
      g_autoptr(JsonObject) claims = base_claims ();
      g_autoptr(JsonObject) elevated = base_claims ();
      g_autofree char *token = sign (jwt, claims);
      g_autofree char *elevated_json = NULL;
      g_autofree char *elevated64 = NULL;
      g_autofree char *tampered = NULL;
      g_auto(GStrv) parts = g_strsplit (token, ".", -1);
      g_autofree guint8 *signature = NULL;
      g_autofree char *flipped64 = NULL;
      g_autofree char *flipped = NULL;
      g_autofree char *truncated = NULL;
      g_autofree char *unsigned_token = NULL;
      gsize length = 0;

      /* The payload changed, the signature kept. */
      json_object_set_boolean_member (elevated, "is_admin", TRUE);
      elevated_json = payload_json (elevated);
      elevated64 = b64 (elevated_json);
      tampered = replace_segment (token, 1, elevated64);
      assert_rejected (jwt, tampered, CF_AUTH_ERROR_SIGNATURE);

      /* One bit of the signature flipped, first and last byte. */
      signature = cf_base64url_decode (parts[2], strlen (parts[2]), &length);
      signature[0] ^= 0x01;
      flipped64 = cf_base64url_encode (signature, length);
      flipped = replace_segment (token, 2, flipped64);
      assert_rejected (jwt, flipped, CF_AUTH_ERROR_SIGNATURE);
      g_clear_pointer (&flipped64, g_free);
      g_clear_pointer (&flipped, g_free);
      signature[0] ^= 0x01;
      signature[length - 1] ^= 0x80;
      flipped64 = cf_base64url_encode (signature, length);
      flipped = replace_segment (token, 2, flipped64);
      assert_rejected (jwt, flipped, CF_AUTH_ERROR_SIGNATURE);

      /* Cut short, and gone. */
      truncated = replace_segment (token, 2, "AAAA");
      assert_rejected (jwt, truncated, CF_AUTH_ERROR_SIGNATURE);
      unsigned_token = replace_segment (token, 2, "");
      assert_rejected (jwt, unsigned_token, CF_AUTH_ERROR_SIGNATURE);
    }
}

/* ES256 signatures as GnuTLS makes them (DER) are not JWS signatures. */
static void
test_jwt_es256_der (void)
{
  g_autoptr(CfJwt) jwt = new_jwt (CF_JWT_ES256, TRUE);
  g_autoptr(JsonObject) claims = base_claims ();
  g_autofree char *token = sign (jwt, claims);
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);
  g_autofree char *input = g_strconcat (parts[0], ".", parts[1], NULL);
  gnutls_privkey_t key;
  gnutls_datum_t pem = { (guchar *) g_bytes_get_data (keys_for (CF_JWT_ES256)->private_pem, NULL),
                         g_bytes_get_size (keys_for (CF_JWT_ES256)->private_pem) };
  gnutls_datum_t data = { (guchar *) input, strlen (input) };
  gnutls_datum_t der;
  g_autofree char *der64 = NULL;
  g_autofree char *der_token = NULL;

  g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_privkey_import_x509_raw (key, &pem, GNUTLS_X509_FMT_PEM, NULL, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_sign_data2 (key, GNUTLS_SIGN_ECDSA_SHA256, 0, &data, &der), ==, 0);
  der64 = cf_base64url_encode (der.data, der.size);
  der_token = replace_segment (token, 2, der64);
  assert_rejected (jwt, der_token, CF_AUTH_ERROR_SIGNATURE);
  gnutls_free (der.data);
  gnutls_privkey_deinit (key);
}

static void
test_jwt_malformed (void)
{
  g_autoptr(CfJwt) jwt = new_jwt (CF_JWT_HS256, TRUE);
  g_autoptr(JsonObject) claims = base_claims ();
  g_autofree char *token = sign (jwt, claims);
  g_autofree char *payload = payload_json (claims);
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);
  g_autofree char *padded = g_strconcat (parts[0], "==.", parts[1], ".", parts[2], NULL);
  g_autofree char *plus = g_strdelimit (g_strdup (token), "-_", '+');
  g_autofree char *four = g_strconcat (token, ".e30", NULL);
  g_autofree char *two = g_strconcat (parts[0], ".", parts[1], NULL);
  g_autofree char *spaced = g_strconcat (" ", token, NULL);
  g_autofree char *huge = g_strnfill (20000, 'A');
  g_autofree char *not_json = forge ("{\"alg\":\"HS256\"", payload, SECRET, strlen (SECRET));
  g_autofree char *array_header = forge ("[\"HS256\"]", payload, SECRET, strlen (SECRET));
  g_autofree char *array_payload = forge ("{\"alg\":\"HS256\"}", "[1,2]", SECRET,
                                          strlen (SECRET));
  g_autofree char *crit = forge ("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", payload, SECRET,
                                 strlen (SECRET));
  g_autofree char *forged_ok = forge ("{\"alg\":\"HS256\"}", payload, SECRET, strlen (SECRET));
  const char *shapes[] = { "", ".", "..", "a.b.c", "e30.e30.", padded, four, two, spaced, huge,
                           not_json, array_header, crit, NULL };

  for (guint i = 0; shapes[i] != NULL; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) verified = cf_jwt_verify (jwt, shapes[i], now (), &error);

      g_assert_null (verified);
      g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED);
    }
  /* A valid signature over a payload that is not an object. */
  assert_rejected (jwt, array_payload, CF_AUTH_ERROR_MALFORMED);
  /* '+' in place of '-'/'_' is not base64url, whatever it decodes to. */
  if (strcmp (plus, token) != 0)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonObject) verified = cf_jwt_verify (jwt, plus, now (), &error);

      g_assert_null (verified);
      g_assert_nonnull (error);
    }
  /* The same claims under an independently made HMAC verify: the check
   * above failed for its shape, not for its key. */
  json_object_unref (assert_accepted (jwt, forged_ok));
}

static void
test_jwt_keys (void)
{
  g_autoptr(GBytes) garbage = g_bytes_new_static ("-----BEGIN PUBLIC KEY-----\nnope\n", 33);
  g_autoptr(GError) error = NULL;
  KeyPair small = { NULL, NULL };
  KeyPair other = { NULL, NULL };

  g_assert_null (cf_jwt_new_hmac ("short", 5, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  g_assert_null (cf_jwt_new_pem (CF_JWT_RS256, garbage, NULL, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  /* The wrong kind of key for the algorithm. */
  g_assert_null (cf_jwt_new_pem (CF_JWT_RS256, keys_for (CF_JWT_ES256)->public_pem, NULL, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);
  g_assert_null (cf_jwt_new_pem (CF_JWT_ES256, keys_for (CF_JWT_RS256)->public_pem, NULL, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  /* RSA below 2048 bits, and an EC key on another curve. */
  generate_pair (GNUTLS_PK_RSA, 1024, &small);
  g_assert_null (cf_jwt_new_pem (CF_JWT_RS256, small.public_pem, NULL, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);
  generate_pair (GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP384R1), &other);
  g_assert_null (cf_jwt_new_pem (CF_JWT_ES256, other.public_pem, NULL, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  /* A public key that is not the private key's own. */
  g_bytes_unref (other.private_pem);
  g_bytes_unref (other.public_pem);
  generate_pair (GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), &other);
  g_assert_null (cf_jwt_new_pem (CF_JWT_ES256, other.public_pem,
                                 keys_for (CF_JWT_ES256)->private_pem, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  /* The private key alone is enough: the public one is derived. */
  {
    g_autoptr(CfJwt) jwt = cf_jwt_new_pem (CF_JWT_ES256, NULL, other.private_pem, &error);
    g_autoptr(JsonObject) claims = base_claims ();
    g_autofree char *token = NULL;

    g_assert_no_error (error);
    token = sign (jwt, claims);
    json_object_unref (assert_accepted (jwt, token));
  }

  g_bytes_unref (small.private_pem);
  g_bytes_unref (small.public_pem);
  g_bytes_unref (other.private_pem);
  g_bytes_unref (other.public_pem);
}

/* An independent implementation both ways */

static char *
npm_path (const char *relative)
{
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  char *path;

  g_assert_nonnull (npm_dir);
  path = g_build_filename (npm_dir, "node_modules", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/npm` (the README's test command does)",
             path);
  return path;
}

static void
write_file (const char *dir,
            const char *name,
            const void *data,
            gsize       length)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, data, length, &error);
  g_assert_no_error (error);
}

static void
test_jwt_jose (void)
{
  g_autofree char *node = npm_path (".bin/node");
  g_autofree char *jose = npm_path ("jose/package.json");
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "unit", "jose-peer.mjs", NULL);
  g_autofree char *dir = g_dir_make_tmp ("cf-jose-XXXXXX", NULL);
  g_autoptr(JsonObject) claims = base_claims ();
  g_autofree char *claims_json = payload_json (claims);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  g_autoptr(JsonNode) report = NULL;

  g_assert_nonnull (dir);
  json_object_set_string_member (claims, "sub", "minted-by-gateway@example.com");
  write_file (dir, "claims.json", claims_json, strlen (claims_json));
  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      const char *alg = cf_jwt_algorithm_to_string (algorithms[i]);
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], TRUE);
      g_autofree char *token = sign (jwt, claims);
      g_autofree char *verify_name = g_strconcat (alg, ".verify", NULL);
      g_autofree char *sign_name = g_strconcat (alg, ".sign", NULL);
      g_autofree char *token_name = g_strconcat (alg, ".token", NULL);

      if (algorithms[i] == CF_JWT_HS256)
        {
          write_file (dir, verify_name, SECRET, strlen (SECRET));
          write_file (dir, sign_name, SECRET, strlen (SECRET));
        }
      else
        {
          const KeyPair *pair = keys_for (algorithms[i]);

          write_file (dir, verify_name, g_bytes_get_data (pair->public_pem, NULL),
                      g_bytes_get_size (pair->public_pem));
          write_file (dir, sign_name, g_bytes_get_data (pair->private_pem, NULL),
                      g_bytes_get_size (pair->private_pem));
        }
      write_file (dir, token_name, token, strlen (token));
    }

  process = g_subprocess_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                              &error, node, script, dir, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("jose-peer.mjs failed: %s", err);
  report = cf_json_parse (out, -1, &error);
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      const char *alg = cf_jwt_algorithm_to_string (algorithms[i]);
      JsonObject *entry = json_object_get_object_member (json_node_get_object (report), alg);
      JsonObject *verified = cf_json_object_get_object (entry, "verified");
      g_autoptr(CfJwt) jwt = new_jwt (algorithms[i], FALSE);
      g_autoptr(JsonObject) ours = NULL;

      /* jose accepted the gateway's token... */
      if (verified == NULL)
        g_error ("jose rejected the gateway's %s token: %s", alg,
                 cf_json_object_get_string (entry, "error"));
      g_assert_cmpstr (cf_json_object_get_string (verified, "sub"), ==,
                       "minted-by-gateway@example.com");
      /* ...and the gateway accepts jose's. */
      ours = assert_accepted (jwt, json_object_get_string_member (entry, "token"));
      g_assert_cmpstr (cf_json_object_get_string (ours, "jti"), ==,
                       cf_json_object_get_string (claims, "jti"));
    }

  for (guint i = 0; i < G_N_ELEMENTS (algorithms); i++)
    {
      const char *suffixes[] = { ".verify", ".sign", ".token" };

      for (guint s = 0; s < G_N_ELEMENTS (suffixes); s++)
        {
          g_autofree char *name = g_strconcat (cf_jwt_algorithm_to_string (algorithms[i]),
                                               suffixes[s], NULL);
          g_autofree char *path = g_build_filename (dir, name, NULL);

          g_unlink (path);
        }
    }
  {
    g_autofree char *path = g_build_filename (dir, "claims.json", NULL);

    g_unlink (path);
  }
  g_rmdir (dir);
  (void) jose;
}

/* Identities */

static CfIdentity *
identity_from (const char  *json,
               GError     **error)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);

  g_assert_nonnull (node);
  return cf_identity_new_from_claims (json_node_get_object (node), error);
}

static void
test_identity_claims (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfIdentity) session = identity_from (
      "{\"sub\":\"bob@example.com\",\"jti\":\"j1\",\"exp\":2000000000,\"token_use\":\"session\","
      "\"user\":{\"email\":\"Bob@Example.com\",\"full_name\":\"Bob\",\"is_admin\":true},"
      "\"scopes\":{\"server_id\":\"s1\",\"permissions\":[\"tools.read\",\"tools.execute\"],"
      "\"ip_restrictions\":[\"10.0.0.0/8\"],\"time_restrictions\":{\"days\":[\"mon\"]}}}", &error);
  g_autoptr(CfIdentity) absent = NULL, null_teams = NULL, listed = NULL, objects = NULL;
  const char * const *teams;

  g_assert_no_error (error);
  g_assert_cmpint (cf_identity_get_kind (session), ==, CF_IDENTITY_JWT);
  g_assert_cmpstr (cf_identity_get_email (session), ==, "Bob@Example.com");
  g_assert_cmpstr (cf_identity_get_full_name (session), ==, "Bob");
  g_assert_true (cf_identity_is_admin (session));
  g_assert_cmpstr (cf_identity_get_token_use (session), ==, "session");
  g_assert_cmpstr (cf_identity_get_jti (session), ==, "j1");
  g_assert_cmpint (cf_identity_get_expires_at (session), ==, 2000000000);
  g_assert_cmpstr (cf_identity_get_server_id (session), ==, "s1");
  g_assert_cmpstr (cf_identity_get_permissions (session)[1], ==, "tools.execute");
  g_assert_cmpstr (cf_identity_get_ip_restrictions (session)[0], ==, "10.0.0.0/8");
  g_assert_nonnull (cf_identity_get_time_restrictions (session));
  g_assert_nonnull (cf_identity_get_claims (session));

  /* The three shapes of `teams`, which scope tokens differently. */
  absent = identity_from ("{\"sub\":\"a@x.io\"}", &error);
  g_assert_cmpint (cf_identity_get_teams (absent, &teams), ==, CF_IDENTITY_TEAMS_ABSENT);
  g_assert_null (teams[0]);
  g_assert_false (cf_identity_is_admin (absent));
  g_assert_cmpuint (g_strv_length ((GStrv) cf_identity_get_permissions (absent)), ==, 0);
  null_teams = identity_from ("{\"sub\":\"a@x.io\",\"is_admin\":true,\"teams\":null}", &error);
  g_assert_cmpint (cf_identity_get_teams (null_teams, NULL), ==, CF_IDENTITY_TEAMS_NULL);
  g_assert_true (cf_identity_is_admin (null_teams));
  listed = identity_from ("{\"email\":\"a@x.io\",\"teams\":[\"t1\",\"t2\"]}", &error);
  g_assert_cmpint (cf_identity_get_teams (listed, &teams), ==, CF_IDENTITY_TEAMS_LIST);
  g_assert_cmpstr (teams[1], ==, "t2");
  objects = identity_from ("{\"sub\":\"a@x.io\",\"teams\":[{\"id\":\"t9\",\"name\":\"T\"}]}",
                           &error);
  cf_identity_get_teams (objects, &teams);
  g_assert_cmpstr (teams[0], ==, "t9");
  g_assert_no_error (error);

  /* Claims that name nobody, or are mistyped, are refused. */
  g_assert_null (identity_from ("{\"jti\":\"x\"}", &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS);
  g_clear_error (&error);
  g_assert_null (identity_from ("{\"sub\":\"a@x.io\",\"teams\":\"t1\"}", &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS);
  g_clear_error (&error);
  g_assert_null (identity_from ("{\"sub\":\"a@x.io\",\"teams\":[1]}", &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS);
  g_clear_error (&error);
  g_assert_null (identity_from ("{\"sub\":\"a@x.io\",\"scopes\":[]}", &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS);
  g_clear_error (&error);

  {
    g_autoptr(CfIdentity) anonymous = cf_identity_new_anonymous ();
    g_autoptr(CfIdentity) basic = cf_identity_new_basic ("admin");

    g_assert_true (cf_identity_is_anonymous (anonymous));
    g_assert_false (cf_identity_is_admin (anonymous));
    g_assert_null (cf_identity_get_claims (anonymous));
    g_assert_cmpint (cf_identity_get_kind (basic), ==, CF_IDENTITY_BASIC);
    g_assert_true (cf_identity_is_admin (basic));
  }
}

/* Passwords */

static void
test_password_hash (void)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = cf_password_hash ("Correct-Horse-Battery!", &error);
  g_autofree char *second = NULL;

  g_assert_no_error (error);
  g_assert_true (g_str_has_prefix (first, "$argon2id$v=19$m=65536,t=3,p=1$"));
  g_assert_true (cf_password_verify (first, "Correct-Horse-Battery!"));
  g_assert_false (cf_password_verify (first, "correct-horse-battery!"));
  g_assert_false (cf_password_verify (first, ""));
  /* A fresh salt every time. */
  second = cf_password_hash ("Correct-Horse-Battery!", &error);
  g_assert_cmpstr (first, !=, second);
  /* Anything but an argon2id PHC string fails. */
  g_assert_false (cf_password_verify ("$2b$12$abcdefghijklmnopqrstuu", "x"));
  g_assert_false (cf_password_verify ("$argon2id$garbage", "x"));
  g_assert_false (cf_password_verify (NULL, "x"));
}

static void
on_async_done (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static gboolean
is_set (gpointer user_data)
{
  return *(gpointer *) user_data != NULL;
}

/* Generous: argon2 takes most of a second on a busy machine. */
static GAsyncResult *
wait_result (GAsyncResult **slot)
{
  g_assert_true (cf_test_wait_until (is_set, slot, 60000));
  return *slot;
}

static void
test_password_async (void)
{
  g_autoptr(GAsyncResult) hashed = NULL;
  g_autoptr(GAsyncResult) right = NULL;
  g_autoptr(GAsyncResult) wrong = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *hash = NULL;

  cf_password_hash_async ("Async-Password-123!", NULL, on_async_done, &hashed);
  hash = cf_password_hash_finish (wait_result (&hashed), &error);
  g_assert_no_error (error);

  /* Both checks in flight at once, on the pool. */
  cf_password_verify_async (hash, "Async-Password-123!", NULL, on_async_done, &right);
  cf_password_verify_async (hash, "async-password-123!", NULL, on_async_done, &wrong);
  g_assert_true (cf_password_verify_finish (wait_result (&right), &error));
  g_assert_no_error (error);
  g_assert_false (cf_password_verify_finish (wait_result (&wrong), &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
}

static void
test_password_policy (void)
{
  static const struct {
    const char *password;
    guint       min_length;
    const char *complaint;
  } cases[] = {
    { "Short-1!", 12, "at least 12" },
    { "all-lower-case-123", 12, "uppercase" },
    { "ALL-UPPER-CASE-123", 12, "lowercase" },
    { "NoSpecialCharacters123", 12, "special" },
    { "Good-Enough-Password", 12, NULL },
    { "Good-Enough-Password", 22, "at least 22" },
    { "Good-Enough-Password-Admin", 22, NULL },
    { "Ünïcödé-Pässwörd-€", 12, NULL },
    { "\xff\xfe-Invalid-UTF8", 12, "UTF-8" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      gboolean ok = cf_password_check_policy (cases[i].password, cases[i].min_length, &error);

      if (cases[i].complaint == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD);
          if (strstr (error->message, cases[i].complaint) == NULL)
            g_error ("%s: expected \"%s\" in \"%s\"", cases[i].password, cases[i].complaint,
                     error->message);
        }
    }
}

static void
test_password_generate (void)
{
  g_autofree char *first = cf_password_generate ();
  g_autofree char *second = cf_password_generate ();

  g_assert_true (cf_password_check_policy (first, CF_PASSWORD_ADMIN_MIN_LENGTH, NULL));
  g_assert_cmpstr (first, !=, second);
  g_assert_null (strpbrk (first, "$`'\"\\ &;|<>"));
}

/* Settings */

static void
test_config_env (void)
{
  const char *defaults[] = { NULL };
  const char *custom[] = { "AUTH_REQUIRED=false", "JWT_ALGORITHM=ES256",
                           "JWT_AUDIENCE=aud", "API_ALLOW_BASIC_AUTH=yes",
                           "MAX_FAILED_LOGIN_ATTEMPTS=3", "TOKEN_EXPIRY=5",
                           "AUTH_HEADER_NAME=X-Auth", "PLATFORM_ADMIN_EMAIL=root@corp.io", NULL };
  const char *bad[][2] = {
    { "AUTH_REQUIRED=maybe", "AUTH_REQUIRED" },
    { "JWT_ALGORITHM=none", "JWT_ALGORITHM" },
    { "JWT_ALGORITHM=HS512", "JWT_ALGORITHM" },
    { "MAX_FAILED_LOGIN_ATTEMPTS=0", "MAX_FAILED_LOGIN_ATTEMPTS" },
    { "TOKEN_EXPIRY=soon", "TOKEN_EXPIRY" },
    { "PLATFORM_ADMIN_EMAIL=admin", "PLATFORM_ADMIN_EMAIL" },
  };
  g_autoptr(GError) error = NULL;
  g_autoptr(CfAuthConfig) config = cf_auth_config_new ();
  g_autoptr(CfAuthConfig) changed = cf_auth_config_new ();

  g_assert_true (cf_auth_config_load_env (config, defaults, &error));
  g_assert_true (config->auth_required);
  g_assert_cmpint (config->jwt_algorithm, ==, CF_JWT_HS256);
  g_assert_cmpstr (config->jwt_issuer, ==, "mcpgateway");
  g_assert_cmpstr (config->jwt_audience, ==, "mcpgateway-api");
  g_assert_cmpuint (config->max_failed_logins, ==, 5);
  g_assert_cmpuint (config->lockout_min, ==, 60);
  g_assert_cmpuint (config->token_expiry_min, ==, 20);
  g_assert_false (config->basic_enabled);
  g_assert_cmpstr (config->admin_email, ==, "admin@example.com");

  g_assert_true (cf_auth_config_load_env (changed, custom, &error));
  g_assert_no_error (error);
  g_assert_false (changed->auth_required);
  g_assert_cmpint (changed->jwt_algorithm, ==, CF_JWT_ES256);
  g_assert_cmpstr (changed->jwt_audience, ==, "aud");
  g_assert_true (changed->basic_enabled);
  g_assert_cmpuint (changed->max_failed_logins, ==, 3);
  g_assert_cmpstr (changed->header_name, ==, "X-Auth");

  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(CfAuthConfig) rejected = cf_auth_config_new ();
      const char *env[] = { bad[i][0], NULL };
      g_autoptr(GError) local = NULL;

      g_assert_false (cf_auth_config_load_env (rejected, env, &local));
      g_assert_error (local, CF_CONFIG_ERROR, CF_CONFIG_ERROR_INVALID);
      g_assert_nonnull (strstr (local->message, bad[i][1]));
    }
}

/* The service, against a real store */

typedef struct {
  char    *dir;
  char    *db_path;
  CfStore *store;
  CfAuth  *auth;
} Service;

static CfAuthConfig *
test_config (void)
{
  CfAuthConfig *config = cf_auth_config_new ();

  config->jwt_secret = g_strdup (SECRET);
  config->admin_password = g_strdup (ADMIN_PASSWORD);
  config->admin_change_on_bootstrap = FALSE;
  config->max_failed_logins = 3;
  return config;
}

/* Returns once the bootstrap is done: user operations wait for it, so a
 * lookup of the admin finishes only then. */
static void
service_start (Service      *s,
               CfAuthConfig *config)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(JsonObject) admin = NULL;
  g_autofree char *email = g_strdup (config->admin_email);

  s->store = cf_store_new (s->db_path, &error);
  g_assert_no_error (error);
  s->auth = cf_auth_new (config, s->store, &error);
  g_assert_no_error (error);
  g_assert_true (cf_auth_bootstrap (s->auth, &error));
  g_assert_no_error (error);
  cf_auth_lookup_user_async (s->auth, email, NULL, on_async_done, &result);
  admin = cf_auth_lookup_user_finish (s->auth, wait_result (&result), &error);
  g_assert_no_error (error);
  g_assert_true (json_object_get_boolean_member (admin, "is_admin"));
}

static void
service_setup (Service       *s,
               gconstpointer  data)
{
  s->dir = g_dir_make_tmp ("cf-auth-XXXXXX", NULL);
  s->db_path = g_build_filename (s->dir, "gateway.db", NULL);
  service_start (s, test_config ());
}

static void
service_stop (Service *s)
{
  g_clear_object (&s->auth);
  cf_store_close (s->store);
  g_clear_object (&s->store);
}

static void
service_teardown (Service       *s,
                  gconstpointer  data)
{
  const char *suffixes[] = { "", "-wal", "-shm" };

  service_stop (s);
  for (guint i = 0; i < G_N_ELEMENTS (suffixes); i++)
    {
      g_autofree char *path = g_strconcat (s->db_path, suffixes[i], NULL);

      g_unlink (path);
    }
  g_rmdir (s->dir);
  g_free (s->db_path);
  g_free (s->dir);
}

static JsonObject *
login (Service     *s,
       const char  *email,
       const char  *password,
       gboolean     enforce,
       GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cf_auth_login_async (s->auth, email, password, enforce, NULL, on_async_done, &result);
  return cf_auth_login_finish (s->auth, wait_result (&result), error);
}

static char *
query_text (Service    *s,
            const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *text = NULL;

  g_assert_cmpint (sqlite3_open (s->db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
    text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}

static void
exec_sql (Service    *s,
          const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (s->db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

static void
test_service_login (Service       *s,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) response = login (s, " Admin@Example.COM ", ADMIN_PASSWORD, TRUE, &error);
  g_autoptr(CfIdentity) identity = NULL;
  g_autofree char *hash = query_text (s, "SELECT password_hash FROM email_users");
  JsonObject *user;

  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (response, "token_type"), ==, "bearer");
  g_assert_cmpint (json_object_get_int_member (response, "expires_in"), ==, 20 * 60);
  user = json_object_get_object_member (response, "user");
  g_assert_cmpstr (json_object_get_string_member (user, "email"), ==, ADMIN);
  g_assert_true (json_object_get_boolean_member (user, "is_admin"));
  g_assert_true (json_object_get_boolean_member (user, "is_active"));
  g_assert_false (json_object_has_member (user, "password_hash"));
  /* Stored as argon2id, never in clear. */
  g_assert_true (g_str_has_prefix (hash, "$argon2id$"));
  g_assert_null (strstr (hash, ADMIN_PASSWORD));

  identity = cf_auth_verify_token (s->auth,
                                   json_object_get_string_member (response, "access_token"),
                                   &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cf_identity_get_email (identity), ==, ADMIN);
  g_assert_true (cf_identity_is_admin (identity));
  g_assert_cmpstr (cf_identity_get_token_use (identity), ==, "session");
  g_assert_cmpstr (cf_identity_get_permissions (identity)[0], ==, "*");

  /* Unknown users and malformed addresses fail the same way. */
  g_assert_null (login (s, "nobody@example.com", ADMIN_PASSWORD, TRUE, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
  g_clear_error (&error);
  g_assert_null (login (s, "not-an-address", ADMIN_PASSWORD, TRUE, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
}

static void
test_service_lockout (Service       *s,
                      gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *failures = NULL;
  g_autofree char *locked = NULL;
  g_autofree char *reset = NULL;
  JsonObject *response;

  /* Failures below the limit, then a success, which clears the count. */
  for (guint i = 0; i < 2; i++)
    {
      g_assert_null (login (s, ADMIN, "Wrong-Password-Number-1!", TRUE, &error));
      g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
      g_clear_error (&error);
    }
  response = login (s, ADMIN, ADMIN_PASSWORD, TRUE, &error);
  g_assert_no_error (error);
  json_object_unref (response);
  reset = query_text (s, "SELECT failed_login_attempts FROM email_users");
  g_assert_cmpstr (reset, ==, "0");

  /* Three in a row lock the account: then even the right password fails. */
  for (guint i = 0; i < 3; i++)
    {
      g_assert_null (login (s, ADMIN, "Wrong-Password-Number-2!", TRUE, &error));
      g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
      g_clear_error (&error);
    }
  failures = query_text (s, "SELECT failed_login_attempts FROM email_users");
  g_assert_cmpstr (failures, ==, "3");
  locked = query_text (s, "SELECT locked_until FROM email_users");
  g_assert_nonnull (locked);
  g_assert_null (login (s, ADMIN, ADMIN_PASSWORD, TRUE, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
  g_clear_error (&error);

  /* Once the lock has run out, the right password works and resets. */
  exec_sql (s, "UPDATE email_users SET locked_until = '2000-01-01T00:00:00Z'");
  response = login (s, ADMIN, ADMIN_PASSWORD, TRUE, &error);
  g_assert_no_error (error);
  json_object_unref (response);
  g_clear_pointer (&failures, g_free);
  g_clear_pointer (&locked, g_free);
  failures = query_text (s, "SELECT failed_login_attempts FROM email_users");
  locked = query_text (s, "SELECT locked_until FROM email_users");
  g_assert_cmpstr (failures, ==, "0");
  g_assert_null (locked);

  /* A disabled account cannot log in either. */
  exec_sql (s, "UPDATE email_users SET is_active = 0");
  g_assert_null (login (s, ADMIN, ADMIN_PASSWORD, TRUE, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
}

static gboolean
change_password (Service     *s,
                 const char  *old_password,
                 const char  *new_password,
                 GError     **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cf_auth_change_password_async (s->auth, ADMIN, old_password, new_password, NULL,
                                 on_async_done, &result);
  return cf_auth_change_password_finish (s->auth, wait_result (&result), error);
}

static void
test_service_change_password (Service       *s,
                              gconstpointer  data)
{
  const char *new_password = "Another-Admin-Password-2?";
  g_autoptr(GError) error = NULL;
  JsonObject *response;

  g_assert_false (change_password (s, "Not-The-Password-At-All1!", new_password, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
  g_clear_error (&error);
  /* An admin needs 22 characters. */
  g_assert_false (change_password (s, ADMIN_PASSWORD, "Short-But-Fine-1!", &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);
  g_assert_false (change_password (s, ADMIN_PASSWORD, ADMIN_PASSWORD, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD);
  g_clear_error (&error);

  g_assert_true (change_password (s, ADMIN_PASSWORD, new_password, &error));
  g_assert_no_error (error);
  g_assert_null (login (s, ADMIN, ADMIN_PASSWORD, TRUE, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
  g_clear_error (&error);
  response = login (s, ADMIN, new_password, TRUE, &error);
  g_assert_no_error (error);
  json_object_unref (response);
}

/* The bootstrap admin must change a bootstrap password before
 * /auth/email/login gives it a token; /auth/login does not ask. */
static void
test_service_change_required (Service       *s,
                              gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CfAuthConfig *config = test_config ();
  JsonObject *response;

  g_free (config->admin_email);
  config->admin_email = g_strdup ("root@example.com");
  config->admin_change_on_bootstrap = TRUE;
  service_stop (s);
  service_start (s, config);

  g_assert_null (login (s, "root@example.com", ADMIN_PASSWORD, TRUE, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_PASSWORD_CHANGE_REQUIRED);
  g_clear_error (&error);
  response = login (s, "root@example.com", ADMIN_PASSWORD, FALSE, &error);
  g_assert_no_error (error);
  json_object_unref (response);
}

static void
test_service_bootstrap (Service       *s,
                        gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *created = query_text (s, "SELECT created_at FROM email_users");
  g_autofree char *again = NULL;
  g_autofree char *count = NULL;
  CfAuthConfig *config;
  g_autoptr(CfAuth) weak = NULL;

  /* A second start keeps the admin it created, password included. */
  g_assert_nonnull (created);
  service_stop (s);
  config = test_config ();
  g_free (config->admin_password);
  config->admin_password = g_strdup ("A-Different-Password-That-Is-Long!");
  service_start (s, config);
  again = query_text (s, "SELECT created_at FROM email_users");
  count = query_text (s, "SELECT count (*) FROM email_users");
  g_assert_cmpstr (again, ==, created);
  g_assert_cmpstr (count, ==, "1");

  /* A weak PLATFORM_ADMIN_PASSWORD refuses to create the admin. */
  config = test_config ();
  g_free (config->admin_email);
  config->admin_email = g_strdup ("second@example.com");
  g_free (config->admin_password);
  config->admin_password = g_strdup ("changeme");
  weak = cf_auth_new (config, s->store, &error);
  g_assert_no_error (error);
  g_assert_false (cf_auth_bootstrap (weak, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_WEAK_PASSWORD);
  g_assert_nonnull (strstr (error->message, "PLATFORM_ADMIN_PASSWORD"));
}

static void
test_service_settings (Service       *s,
                       gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  CfAuthConfig *config = test_config ();

  config->basic_enabled = TRUE;
  g_assert_null (cf_auth_new (config, s->store, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  config = test_config ();
  config->jwt_algorithm = CF_JWT_RS256;
  g_assert_null (cf_auth_new (config, s->store, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_clear_error (&error);

  config = test_config ();
  config->jwt_algorithm = CF_JWT_ES256;
  config->jwt_public_key_path = g_strdup ("/nonexistent/key.pem");
  g_assert_null (cf_auth_new (config, s->store, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
  g_assert_nonnull (strstr (error->message, "JWT_PUBLIC_KEY_PATH"));
  g_clear_error (&error);

  config = test_config ();
  g_free (config->jwt_secret);
  config->jwt_secret = NULL;
  config->production = TRUE;
  g_assert_null (cf_auth_new (config, s->store, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_KEY);
}

static char *
mint (Service *s)
{
  g_autoptr(JsonObject) user = cf_test_parse_object ("{\"email\":\"alice@example.com\","
                                                     "\"full_name\":\"Alice\",\"is_admin\":0}");
  g_autoptr(GError) error = NULL;
  char *token = cf_auth_mint_session_token (s->auth, user, NULL, &error);

  g_assert_no_error (error);
  return token;
}

static void
test_service_revocation (Service       *s,
                         gconstpointer  data)
{
  g_autofree char *token = mint (s);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfIdentity) first = NULL;
  g_autoptr(CfIdentity) second = NULL;
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(CfIdentity) after = NULL;
  g_autoptr(CfIdentity) reopened = NULL;
  g_autofree char *row = NULL;

  /* A verified token is cached, by hash: the second check hits it. */
  first = cf_auth_verify_token (s->auth, token, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cf_auth_get_cache_size (s->auth), ==, 1);
  second = cf_auth_verify_token (s->auth, token, &error);
  g_assert_no_error (error);
  g_assert_true (first == second);
  g_assert_cmpuint (cf_auth_get_cache_size (s->auth), ==, 1);

  /* Revoked, it fails at once, cache or not... */
  cf_auth_revoke_async (s->auth, cf_identity_get_jti (first), cf_identity_get_expires_at (first),
                        ADMIN, "test", NULL, on_async_done, &result);
  g_assert_true (cf_auth_is_revoked (s->auth, cf_identity_get_jti (first)));
  after = cf_auth_verify_token (s->auth, token, &error);
  g_assert_null (after);
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_REVOKED);
  g_clear_error (&error);
  g_assert_true (cf_auth_revoke_finish (s->auth, wait_result (&result), &error));
  g_assert_no_error (error);
  row = query_text (s, "SELECT reason FROM token_revocations");
  g_assert_cmpstr (row, ==, "test");

  /* ...and after a restart, from the table. */
  service_stop (s);
  service_start (s, test_config ());
  reopened = cf_auth_verify_token (s->auth, token, &error);
  g_assert_null (reopened);
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_REVOKED);
}

static void
test_service_authenticate (Service       *s,
                           gconstpointer  data)
{
  g_autofree char *token = mint (s);
  g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
  g_autofree char *lower = g_strconcat ("bearer   ", token, NULL);
  g_autofree char *good_basic = g_base64_encode ((const guchar *) "ops:Basic-Secret-1", 18);
  g_autofree char *bad_basic = g_base64_encode ((const guchar *) "ops:wrong", 9);
  g_autofree char *good = g_strconcat ("Basic ", good_basic, NULL);
  g_autofree char *bad = g_strconcat ("Basic ", bad_basic, NULL);
  static const struct {
    const char  *value;
    CfAuthError  code;
  } refused[] = {
    { NULL, CF_AUTH_ERROR_MISSING },
    { "", CF_AUTH_ERROR_MISSING },
    { "Bearer", CF_AUTH_ERROR_MALFORMED },
    { "Bearer ", CF_AUTH_ERROR_MALFORMED },
    { "Token abc", CF_AUTH_ERROR_MALFORMED },
    { "Bearer not.a.jwt", CF_AUTH_ERROR_MALFORMED },
    { "Basic YWRtaW46Y2hhbmdlbWU=", CF_AUTH_ERROR_MALFORMED },
  };
  g_autoptr(GError) error = NULL;
  CfIdentity *identity;
  CfAuthConfig *config;

  identity = cf_auth_authenticate (s->auth, bearer, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (cf_identity_get_email (identity), ==, "alice@example.com");
  g_object_unref (identity);
  identity = cf_auth_authenticate (s->auth, lower, &error);
  g_assert_no_error (error);
  g_object_unref (identity);

  for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
    {
      g_autoptr(GError) local = NULL;

      g_assert_null (cf_auth_authenticate (s->auth, refused[i].value, &local));
      g_assert_error (local, CF_AUTH_ERROR, (int) refused[i].code);
    }

  /* Basic, once enabled, with the configured credentials only. */
  service_stop (s);
  config = test_config ();
  config->basic_enabled = TRUE;
  g_free (config->basic_user);
  config->basic_user = g_strdup ("ops");
  config->basic_password = g_strdup ("Basic-Secret-1");
  service_start (s, config);
  identity = cf_auth_authenticate (s->auth, good, &error);
  g_assert_no_error (error);
  g_assert_cmpint (cf_identity_get_kind (identity), ==, CF_IDENTITY_BASIC);
  g_assert_cmpstr (cf_identity_get_email (identity), ==, "ops");
  g_object_unref (identity);
  g_assert_null (cf_auth_authenticate (s->auth, bad, &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CREDENTIALS);
  g_clear_error (&error);
  g_assert_null (cf_auth_authenticate (s->auth, "Basic !!!", &error));
  g_assert_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_MALFORMED);
}

/* Identities reach MCP handlers, over every HTTP transport */

typedef struct {
  Service           service;
  CfMcpServer      *mcp;
  CfHttpServer     *http;
  CfAuthHttp       *auth_http;
  CfStreamableHttp *streamable;
  CfLegacySse      *sse;
  CfWebsocket      *websocket;
  char             *base;
} Stack;

/* tools/call answers with the caller's email. */
static void
whoami (CfMcpRequest *request,
        gpointer      user_data)
{
  CfIdentity *identity = cf_mcp_request_get_identity (request);
  g_autofree char *text = g_strdup_printf ("%s", identity ? cf_identity_get_email (identity)
                                                          : "nobody");
  JsonObject *result = json_object_new ();
  JsonArray *content = json_array_new ();
  JsonObject *block = json_object_new ();

  json_object_set_string_member (block, "type", "text");
  json_object_set_string_member (block, "text", text);
  json_array_add_object_element (content, block);
  json_object_set_array_member (result, "content", content);
  cf_mcp_request_return (request, result);
}

static void
stack_setup (Stack         *st,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  service_setup (&st->service, data);
  st->mcp = cf_mcp_server_new ("cf-auth-test", "1.0");
  cf_mcp_server_add_method (st->mcp, "tools/call", whoami, NULL, NULL);
  st->http = cf_http_server_new ();
  st->auth_http = cf_auth_http_new (st->service.auth, NULL, NULL);
  cf_auth_http_install (st->auth_http, st->http);
  st->streamable = cf_streamable_http_new (st->mcp);
  cf_streamable_http_mount (st->streamable, st->http, "/mcp");
  st->sse = cf_legacy_sse_new (st->mcp);
  cf_legacy_sse_mount (st->sse, st->http, "/sse", "/message");
  st->websocket = cf_websocket_new (st->mcp);
  cf_websocket_mount (st->websocket, st->http, "/ws");
  cf_http_server_listen (st->http, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  st->base = g_strdup_printf ("127.0.0.1:%u",
                              cf_http_server_get_port (st->http));
}

static void
stack_teardown (Stack         *st,
                gconstpointer  data)
{
  cf_legacy_sse_close_streams (st->sse);
  cf_websocket_close_all (st->websocket);
  cf_test_wait_until (cf_test_http_is_idle, st->http, CF_TEST_TIMEOUT_MS);
  g_clear_object (&st->websocket);
  g_clear_object (&st->sse);
  g_clear_object (&st->streamable);
  g_clear_object (&st->http);
  g_clear_object (&st->auth_http);
  g_clear_object (&st->mcp);
  g_free (st->base);
  service_teardown (&st->service, data);
}

static CfMcpClient *
client_for (Stack      *st,
            const char *kind,
            const char *token)
{
  g_autoptr(GHashTable) headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  g_autofree char *url = NULL;

  if (token != NULL)
    g_hash_table_insert (headers, g_strdup ("Authorization"), g_strconcat ("Bearer ", token, NULL));
  if (g_str_equal (kind, "http"))
    {
      url = g_strdup_printf ("http://%s/mcp", st->base);
      return cf_mcp_client_new_http (url, NULL, headers);
    }
  if (g_str_equal (kind, "sse"))
    {
      url = g_strdup_printf ("http://%s/sse", st->base);
      return cf_mcp_client_new_sse (url, NULL, headers);
    }
  url = g_strdup_printf ("ws://%s/ws", st->base);
  return cf_mcp_client_new_websocket (url, NULL, headers);
}

static void
test_identity_reaches_mcp (Stack         *st,
                           gconstpointer  data)
{
  g_autofree char *token = mint (&st->service);
  const char *kinds[] = { "http", "sse", "websocket" };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autoptr(CfMcpClient) client = client_for (st, kinds[i], token);
      g_autoptr(CfMcpClient) stranger = client_for (st, kinds[i], NULL);
      g_autoptr(GError) error = NULL;
      CfTestOp op;

      g_test_message ("%s", kinds[i]);
      g_assert_true (cf_test_connect_client (client, &error));
      g_assert_no_error (error);
      cf_test_op_call_tool (&op, client, "whoami");
      g_assert_no_error (op.error);
      g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (op.response)), ==,
                       "alice@example.com");
      cf_test_op_clear (&op);

      /* Without the token the connection itself is refused. */
      g_assert_false (cf_test_connect_client (stranger, &error));
      g_assert_nonnull (error);
    }
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/auth/base64url/roundtrip", test_base64url_roundtrip);
  g_test_add_func ("/auth/base64url/strict", test_base64url_strict);
  g_test_add_func ("/auth/jwt/valid", test_jwt_valid);
  g_test_add_func ("/auth/jwt/times", test_jwt_times);
  g_test_add_func ("/auth/jwt/audience-issuer", test_jwt_audience_issuer);
  g_test_add_func ("/auth/jwt/required-claims", test_jwt_required_claims);
  g_test_add_func ("/auth/jwt/alg-none", test_jwt_alg_none);
  g_test_add_func ("/auth/jwt/hs-rs-confusion", test_jwt_confusion);
  g_test_add_func ("/auth/jwt/tampered", test_jwt_tampered);
  g_test_add_func ("/auth/jwt/es256-der", test_jwt_es256_der);
  g_test_add_func ("/auth/jwt/malformed", test_jwt_malformed);
  g_test_add_func ("/auth/jwt/keys", test_jwt_keys);
  g_test_add_func ("/auth/jwt/jose", test_jwt_jose);
  g_test_add_func ("/auth/identity/claims", test_identity_claims);
  g_test_add_func ("/auth/password/hash", test_password_hash);
  g_test_add_func ("/auth/password/async", test_password_async);
  g_test_add_func ("/auth/password/policy", test_password_policy);
  g_test_add_func ("/auth/password/generate", test_password_generate);
  g_test_add_func ("/auth/config/env", test_config_env);
  g_test_add ("/auth/service/login", Service, NULL, service_setup, test_service_login,
              service_teardown);
  g_test_add ("/auth/service/lockout", Service, NULL, service_setup, test_service_lockout,
              service_teardown);
  g_test_add ("/auth/service/change-password", Service, NULL, service_setup,
              test_service_change_password, service_teardown);
  g_test_add ("/auth/service/change-required", Service, NULL, service_setup,
              test_service_change_required, service_teardown);
  g_test_add ("/auth/service/bootstrap", Service, NULL, service_setup, test_service_bootstrap,
              service_teardown);
  g_test_add ("/auth/service/settings", Service, NULL, service_setup, test_service_settings,
              service_teardown);
  g_test_add ("/auth/service/revocation", Service, NULL, service_setup, test_service_revocation,
              service_teardown);
  g_test_add ("/auth/service/authenticate", Service, NULL, service_setup,
              test_service_authenticate, service_teardown);
  g_test_add ("/auth/http/identity-reaches-mcp", Stack, NULL, stack_setup,
              test_identity_reaches_mcp, stack_teardown);

  status = g_test_run ();
  keys_free ();
  return status;
}
