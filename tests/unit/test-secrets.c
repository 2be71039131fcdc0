/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-secrets"

#include "config.h"

#include <string.h>

#include "cf-config.h"
#include "cf-secret-cipher.h"
#include "cf-secret-strength.h"

#define STRONG "q7Vt0m2XkZ8pR4sW1yB6nC3dF9gH5jL0aE2uI8oP4Y="
#define OTHER_STRONG "Zx3Cv5Bn7Mq9Wr2Ty4Ui6Op8As0Df1Gh3Jk5Lz7Xc="

/* One derivation per key: argon2id is slow on purpose. */
static CfSecretCipher *
cipher_for (const char *passphrase)
{
  g_autoptr(GError) error = NULL;
  CfSecretCipher *cipher = cf_secret_cipher_new (passphrase, &error);

  g_assert_no_error (error);
  g_assert_nonnull (cipher);
  return cipher;
}

static CfSecretCipher *shared_cipher;
static CfSecretCipher *other_cipher;

static char *
seal (CfSecretCipher *cipher,
      const char     *secret)
{
  g_autoptr(GError) error = NULL;
  char *sealed = cf_secret_store_seal (CF_SECRET_STORE (cipher), secret, &error);

  g_assert_no_error (error);
  g_assert_nonnull (sealed);
  return sealed;
}

static void
test_round_trip (void)
{
  const char *secrets[] = { "Bearer hunter2", "", "{\"Authorization\":\"Basic dTpw\"}",
                            "ünïcødé ✓", NULL };

  for (guint i = 0; secrets[i] != NULL; i++)
    {
      g_autofree char *sealed = seal (shared_cipher, secrets[i]);
      g_autoptr(GError) error = NULL;
      g_autoptr(CfSecret) opened = NULL;

      g_assert_true (g_str_has_prefix (sealed, CF_SECRET_CIPHER_PREFIX));
      g_assert_true (cf_secret_cipher_is_sealed (sealed));
      if (*secrets[i] != '\0')
        g_assert_null (strstr (sealed, secrets[i]));
      opened = cf_secret_store_unseal (CF_SECRET_STORE (shared_cipher), sealed, &error);
      g_assert_no_error (error);
      g_assert_cmpstr (opened, ==, secrets[i]);
    }
}

/* A fresh nonce per value: the same secret never seals the same way. */
static void
test_nonce_per_value (void)
{
  g_autofree char *a = seal (shared_cipher, "same secret");
  g_autofree char *b = seal (shared_cipher, "same secret");

  g_assert_cmpstr (a, !=, b);
}

static void
assert_unseal_fails (CfSecretCipher *cipher,
                     const char     *sealed,
                     int             code)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfSecret) opened = cf_secret_store_unseal (CF_SECRET_STORE (cipher), sealed, &error);

  g_assert_null (opened);
  g_assert_error (error, CF_SECRET_ERROR, code);
}

/* Flipping any one bit of the nonce, ciphertext or tag is detected. */
static void
test_tamper (void)
{
  g_autofree char *sealed = seal (shared_cipher, "Bearer hunter2");
  const char *encoded = sealed + strlen (CF_SECRET_CIPHER_PREFIX);
  gsize length = 0;
  g_autofree guint8 *raw = g_base64_decode (encoded, &length);

  g_assert_cmpuint (length, ==, 12 + strlen ("Bearer hunter2") + 16);
  for (gsize i = 0; i < length; i++)
    {
      g_autofree char *reencoded = NULL;
      g_autofree char *tampered = NULL;

      raw[i] ^= 0x01;
      reencoded = g_base64_encode (raw, length);
      tampered = g_strconcat (CF_SECRET_CIPHER_PREFIX, reencoded, NULL);
      assert_unseal_fails (shared_cipher, tampered, CF_SECRET_ERROR_DECRYPT);
      raw[i] ^= 0x01;
    }
}

static void
test_wrong_key (void)
{
  g_autofree char *sealed = seal (shared_cipher, "Bearer hunter2");
  g_autoptr(GError) error = NULL;
  g_autoptr(CfSecret) opened = NULL;

  assert_unseal_fails (other_cipher, sealed, CF_SECRET_ERROR_DECRYPT);
  /* The message says what may have happened, never the secret. */
  opened = cf_secret_store_unseal (CF_SECRET_STORE (other_cipher), sealed, &error);
  g_assert_nonnull (strstr (error->message, "AUTH_ENCRYPTION_SECRET"));
  g_assert_null (strstr (error->message, "hunter2"));
}

/* The same passphrase derives the same key: values survive a restart. */
static void
test_same_key_after_restart (void)
{
  g_autofree char *sealed = seal (shared_cipher, "persisted");
  g_autoptr(CfSecretCipher) again = cipher_for (STRONG);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfSecret) opened = cf_secret_store_unseal (CF_SECRET_STORE (again), sealed, &error);

  g_assert_no_error (error);
  g_assert_cmpstr (opened, ==, "persisted");
}

static void
test_versions (void)
{
  g_autofree char *sealed = seal (shared_cipher, "Bearer hunter2");
  g_autofree char *as_v2 = g_strconcat ("v2:", sealed + 3, NULL);
  g_autofree char *as_v10 = g_strconcat ("v10:", sealed + 3, NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfSecret) opened = NULL;

  assert_unseal_fails (shared_cipher, as_v2, CF_SECRET_ERROR_VERSION);
  assert_unseal_fails (shared_cipher, as_v10, CF_SECRET_ERROR_VERSION);
  opened = cf_secret_store_unseal (CF_SECRET_STORE (shared_cipher), as_v2, &error);
  g_assert_nonnull (strstr (error->message, "v2"));

  g_assert_true (cf_secret_cipher_is_sealed ("v1:AAAA"));
  g_assert_true (cf_secret_cipher_is_sealed ("v27:AAAA"));
  g_assert_false (cf_secret_cipher_is_sealed ("Bearer v1:x"));
  g_assert_false (cf_secret_cipher_is_sealed ("vx:AAAA"));
  g_assert_false (cf_secret_cipher_is_sealed (NULL));
}

static void
test_malformed (void)
{
  const char *bad[] = {
    "", "hunter2", ":abc", "v1:", "v1:not base64!", "v1:AAAA", "v1:AAAA=A==",
    "v1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA AAAA", NULL
  };

  for (guint i = 0; bad[i] != NULL; i++)
    assert_unseal_fails (shared_cipher, bad[i], CF_SECRET_ERROR_MALFORMED);
}

static void
assert_weak (const char *value,
             const char *expected)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (cf_secret_check_strength ("AUTH_ENCRYPTION_SECRET", value, &error));
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK);
  g_assert_nonnull (strstr (error->message, "AUTH_ENCRYPTION_SECRET"));
  g_assert_nonnull (strstr (error->message, expected));
  /* How to make a good one. */
  g_assert_nonnull (strstr (error->message, "openssl rand -base64 32"));
  g_assert_nonnull (strstr (error->message, "head -c32 /dev/urandom | base64"));
  if (value != NULL && *value != '\0')
    g_assert_null (strstr (error->message, value));
}

static void
test_strength (void)
{
  g_autoptr(GError) error = NULL;

  assert_weak (NULL, "not set");
  assert_weak ("", "not set");
  assert_weak ("my-test-key", "placeholder");
  assert_weak ("my-test-salt", "placeholder");
  assert_weak ("CHANGEME", "placeholder");
  assert_weak ("changeme-before-going-to-production-please", "placeholder");
  assert_weak ("__REPLACE_ME__", "placeholder");
  assert_weak ("s3cr3t-but-short", "too short: 16 characters");
  assert_weak ("abababababababababababababababababababab", "entropy");
  assert_weak ("passwordpasswordpasswordpassword", "entropy");

  g_assert_true (cf_secret_check_strength ("AUTH_ENCRYPTION_SECRET", STRONG, &error));
  g_assert_no_error (error);
  /* `openssl rand -hex 32` has fewer symbols but is as good. */
  g_assert_true (cf_secret_check_strength ("AUTH_ENCRYPTION_SECRET",
                                           "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
                                           &error));
  g_assert_no_error (error);
}

static CfSecretCipher *
from_env (const char * const  *env,
          char               **out_warning,
          GError             **error)
{
  return cf_secret_cipher_new_from_env (env, out_warning, error);
}

static void
test_production_refuses_weak (void)
{
  const char *weak_env[] = { "ENVIRONMENT=production", "AUTH_ENCRYPTION_SECRET=changeme", NULL };
  const char *unset_env[] = { "ENVIRONMENT=production", NULL };
  const char *strong_env[] = { "ENVIRONMENT=production", "AUTH_ENCRYPTION_SECRET=" STRONG, NULL };
  const char *bad_mode[] = { "ENVIRONMENT=prod", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *warning = NULL;
  g_autoptr(CfSecretCipher) cipher = NULL;

  cipher = from_env (weak_env, &warning, &error);
  g_assert_null (cipher);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK);
  g_assert_nonnull (strstr (error->message, "production"));
  g_assert_nonnull (strstr (error->message, "openssl rand -base64 32"));
  g_clear_error (&error);

  cipher = from_env (unset_env, &warning, &error);
  g_assert_null (cipher);
  g_assert_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK);
  g_clear_error (&error);

  cipher = from_env (bad_mode, &warning, &error);
  g_assert_null (cipher);
  g_assert_nonnull (strstr (error->message, "ENVIRONMENT=prod"));
  g_clear_error (&error);

  cipher = from_env (strong_env, &warning, &error);
  g_assert_no_error (error);
  g_assert_nonnull (cipher);
  g_assert_null (warning);
}

/* Development warns, and still encrypts. */
static void
test_development_warns (void)
{
  const char *weak_env[] = { "AUTH_ENCRYPTION_SECRET=my-test-key", NULL };
  const char *unset_env[] = { "ENVIRONMENT=development", NULL };
  g_autoptr(GError) error = NULL;
  g_autofree char *warning = NULL;
  g_autofree char *warning_unset = NULL;
  g_autoptr(CfSecretCipher) weak = from_env (weak_env, &warning, &error);
  g_autoptr(CfSecretCipher) unset = NULL;
  g_autofree char *sealed = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (weak);
  g_assert_nonnull (warning);
  g_assert_nonnull (strstr (warning, "placeholder"));
  g_assert_nonnull (strstr (warning, "openssl rand -base64 32"));
  sealed = seal (weak, "still encrypted");
  g_assert_null (strstr (sealed, "still encrypted"));

  unset = from_env (unset_env, &warning_unset, &error);
  g_assert_no_error (error);
  g_assert_nonnull (unset);
  g_assert_nonnull (strstr (warning_unset, "not set"));
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  shared_cipher = cipher_for (STRONG);
  other_cipher = cipher_for (OTHER_STRONG);

  g_test_add_func ("/secrets/round-trip", test_round_trip);
  g_test_add_func ("/secrets/nonce-per-value", test_nonce_per_value);
  g_test_add_func ("/secrets/tamper", test_tamper);
  g_test_add_func ("/secrets/wrong-key", test_wrong_key);
  g_test_add_func ("/secrets/same-key-after-restart", test_same_key_after_restart);
  g_test_add_func ("/secrets/versions", test_versions);
  g_test_add_func ("/secrets/malformed", test_malformed);
  g_test_add_func ("/secrets/strength", test_strength);
  g_test_add_func ("/secrets/production-refuses-weak", test_production_refuses_weak);
  g_test_add_func ("/secrets/development-warns", test_development_warns);

  status = g_test_run ();
  g_clear_object (&shared_cipher);
  g_clear_object (&other_cipher);
  return status;
}
