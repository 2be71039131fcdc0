/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-secret-cipher"

#include "config.h"

#include <argon2.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "cf-secret-cipher.h"
#include "cf-secret-strength.h"

/*
 * v1 envelope: "v1:" base64(nonce[12] | ciphertext | tag[16]), AES-256-GCM
 * with the version label as associated data, so that a value cannot be
 * passed off as another version's.
 *
 * The key is derived once, in a thread started with the cipher (the first
 * seal or unseal waits for it, so the gateway starts serving without
 * waiting), with argon2id at ContextForge's
 * password parameters (t=3, m=64 MiB, p=1): memory-hard, so that even a
 * development secret weaker than production allows costs an attacker who
 * holds the database a great deal per guess. The salt is fixed per
 * envelope version rather than random per value (as ContextForge's
 * Fernet does), because the key must be derived once and not on every
 * call's hot path; the secret itself is the entropy.
 *
 * v2 envelope: the same, under a random key that the desktop keeps in the
 * user's keyring (cf-secret-keyring.c) rather than one derived from
 * AUTH_ENCRYPTION_SECRET, with "v2:" as associated data. A cipher with
 * such a key seals v2 and still opens v1 values when it was given the
 * passphrase they were sealed under.
 */

#define KEY_SIZE 32
#define NONCE_SIZE 12
#define TAG_SIZE 16
#define KDF_T_COST 3
#define KDF_M_COST_KIB 65536
#define KDF_PARALLELISM 1
#define KDF_SALT "contextforge-gateway/upstream-secrets/v1"
#define AAD "contextforge-gateway:" CF_SECRET_CIPHER_PREFIX
#define KEYRING_AAD "contextforge-gateway:" CF_SECRET_CIPHER_KEYRING_PREFIX

G_STATIC_ASSERT (KEY_SIZE == CF_SECRET_CIPHER_KEY_SIZE);

/* ContextForge's development default: accepted, with a warning, outside
 * production only. */
#define DEVELOPMENT_SECRET "my-test-salt"

/**
 * CfSecretCipher:
 *
 * The server's #CfSecretStore: each secret is encrypted with AES-256-GCM
 * (GnuTLS) under a key derived from AUTH_ENCRYPTION_SECRET, or under a
 * data key from the keyring, with a random nonce per value.
 */
struct _CfSecretCipher
{
  GObject                 parent_instance;

  gnutls_aead_cipher_hd_t aead;
  /* The keyring's data key (v2), set at construction, or %NULL. */
  gnutls_aead_cipher_hd_t data_aead;
  GMutex                  lock;
  GCond                   derived;
  GThread                *kdf;
  char                   *passphrase;
  GError                 *kdf_error;
  gboolean                ready;
};

static void cf_secret_cipher_store_init (CfSecretStoreInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfSecretCipher, cf_secret_cipher, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_SECRET_STORE,
                                                      cf_secret_cipher_store_init))

static gboolean
set_gnutls_error (GError     **error,
                  int          code,
                  const char  *what)
{
  g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED, "%s: %s", what,
               gnutls_strerror (code));
  return FALSE;
}

/* The key derivation thread. */
static gpointer
derive_key (gpointer data)
{
  CfSecretCipher *self = data;
  guint8 key[KEY_SIZE];
  gnutls_datum_t datum = { key, KEY_SIZE };
  gnutls_aead_cipher_hd_t aead = NULL;
  GError *error = NULL;
  int rc;

  rc = argon2id_hash_raw (KDF_T_COST, KDF_M_COST_KIB, KDF_PARALLELISM, self->passphrase,
                          strlen (self->passphrase), KDF_SALT, strlen (KDF_SALT), key, KEY_SIZE);
  if (rc != ARGON2_OK)
    g_set_error (&error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                 "Cannot derive the encryption key: %s", argon2_error_message (rc));
  else if ((rc = gnutls_aead_cipher_init (&aead, GNUTLS_CIPHER_AES_256_GCM, &datum)) < 0)
    {
      aead = NULL;
      set_gnutls_error (&error, rc, "Cannot set up AES-256-GCM");
    }
  explicit_bzero (key, sizeof key);

  g_mutex_lock (&self->lock);
  explicit_bzero (self->passphrase, strlen (self->passphrase));
  g_clear_pointer (&self->passphrase, g_free);
  self->aead = aead;
  self->kdf_error = error;
  self->ready = TRUE;
  g_cond_broadcast (&self->derived);
  g_mutex_unlock (&self->lock);
  return NULL;
}

/* Takes the lock once the key is there; %FALSE (unlocked) if deriving it
 * failed. */
static gboolean
lock_key (CfSecretCipher  *self,
          GError         **error)
{
  g_mutex_lock (&self->lock);
  while (!self->ready)
    g_cond_wait (&self->derived, &self->lock);
  if (self->kdf_error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->kdf_error));
      g_mutex_unlock (&self->lock);
      return FALSE;
    }
  return TRUE;
}

static char *
cf_secret_cipher_seal (CfSecretStore  *store,
                       const char     *secret,
                       GError        **error)
{
  CfSecretCipher *self = CF_SECRET_CIPHER (store);
  const char *prefix = self->data_aead ? CF_SECRET_CIPHER_KEYRING_PREFIX : CF_SECRET_CIPHER_PREFIX;
  const char *aad = self->data_aead ? KEYRING_AAD : AAD;
  gsize length = strlen (secret);
  gsize sealed_length = NONCE_SIZE + length + TAG_SIZE;
  g_autofree guint8 *sealed = g_malloc (sealed_length);
  size_t ciphertext_length = length + TAG_SIZE;
  g_autofree char *encoded = NULL;
  int rc;

  rc = gnutls_rnd (GNUTLS_RND_NONCE, sealed, NONCE_SIZE);
  if (rc < 0)
    return (set_gnutls_error (error, rc, "Cannot make a nonce"), NULL);

  if (self->data_aead != NULL)
    {
      /* A GnuTLS handle is not for two threads at once. */
      g_mutex_lock (&self->lock);
      rc = gnutls_aead_cipher_encrypt (self->data_aead, sealed, NONCE_SIZE, aad, strlen (aad),
                                       TAG_SIZE, secret, length, sealed + NONCE_SIZE,
                                       &ciphertext_length);
      g_mutex_unlock (&self->lock);
    }
  else
    {
      if (!lock_key (self, error))
        return NULL;
      rc = gnutls_aead_cipher_encrypt (self->aead, sealed, NONCE_SIZE, aad, strlen (aad),
                                       TAG_SIZE, secret, length, sealed + NONCE_SIZE,
                                       &ciphertext_length);
      g_mutex_unlock (&self->lock);
    }
  if (rc < 0)
    return (set_gnutls_error (error, rc, "Cannot encrypt"), NULL);

  encoded = g_base64_encode (sealed, NONCE_SIZE + ciphertext_length);
  return g_strconcat (prefix, encoded, NULL);
}

/* Strict: g_base64_decode() accepts anything and guesses. */
static guint8 *
decode_base64 (const char *text,
               gsize      *out_length)
{
  gsize n = strlen (text);
  gsize padding = 0;

  if (n == 0 || n % 4 != 0)
    return NULL;
  for (gsize i = 0; i < n; i++)
    {
      if (text[i] == '=' && i >= n - 2)
        padding++;
      else if (padding > 0 || !(g_ascii_isalnum (text[i]) || text[i] == '+' || text[i] == '/'))
        return NULL;
    }
  return g_base64_decode (text, out_length);
}

static char *
cf_secret_cipher_unseal (CfSecretStore  *store,
                         const char     *sealed,
                         GError        **error)
{
  CfSecretCipher *self = CF_SECRET_CIPHER (store);
  const char *colon = strchr (sealed, ':');
  gboolean keyring = g_str_has_prefix (sealed, CF_SECRET_CIPHER_KEYRING_PREFIX);
  const char *prefix = keyring ? CF_SECRET_CIPHER_KEYRING_PREFIX : CF_SECRET_CIPHER_PREFIX;
  const char *aad = keyring ? KEYRING_AAD : AAD;
  g_autofree guint8 *raw = NULL;
  g_autofree char *plain = NULL;
  size_t plain_length;
  gsize length = 0;
  int rc;

  if (colon == NULL || colon == sealed || colon - sealed > 8 || sealed[0] != 'v')
    {
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_MALFORMED,
                           "Not a sealed secret");
      return NULL;
    }
  if (keyring && self->data_aead == NULL)
    {
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_VERSION,
                           "A secret sealed as v2, under a desktop keyring's data key: "
                           "start the gateway with SECRETS_BACKEND=keyring in that session");
      return NULL;
    }
  if (!keyring && !g_str_has_prefix (sealed, CF_SECRET_CIPHER_PREFIX))
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_VERSION,
                   "A secret sealed as %.*s, which this build cannot open",
                   (int) (colon - sealed), sealed);
      return NULL;
    }
  raw = decode_base64 (sealed + strlen (prefix), &length);
  if (raw == NULL || length < NONCE_SIZE + TAG_SIZE)
    {
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_MALFORMED,
                           "A sealed secret that is cut short or not base64");
      return NULL;
    }

  plain_length = length - NONCE_SIZE - TAG_SIZE;
  plain = g_malloc (plain_length + 1);
  if (keyring)
    {
      g_mutex_lock (&self->lock);
      rc = gnutls_aead_cipher_decrypt (self->data_aead, raw, NONCE_SIZE, aad, strlen (aad),
                                       TAG_SIZE, raw + NONCE_SIZE, length - NONCE_SIZE, plain,
                                       &plain_length);
      g_mutex_unlock (&self->lock);
    }
  else
    {
      if (!lock_key (self, error))
        return NULL;
      rc = gnutls_aead_cipher_decrypt (self->aead, raw, NONCE_SIZE, aad, strlen (aad), TAG_SIZE,
                                       raw + NONCE_SIZE, length - NONCE_SIZE, plain,
                                       &plain_length);
      g_mutex_unlock (&self->lock);
    }
  if (rc < 0)
    {
      explicit_bzero (plain, length - NONCE_SIZE - TAG_SIZE);
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_DECRYPT,
                           keyring ? "A sealed secret does not open: it was altered, or sealed "
                                     "under another keyring data key"
                                   : "A sealed secret does not open: it was altered, or sealed "
                                     "under another AUTH_ENCRYPTION_SECRET");
      return NULL;
    }
  plain[plain_length] = '\0';
  if (memchr (plain, '\0', plain_length) != NULL)
    {
      explicit_bzero (plain, plain_length);
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_MALFORMED,
                           "A sealed secret holds a NUL byte");
      return NULL;
    }
  return g_steal_pointer (&plain);
}

static void
cf_secret_cipher_store_init (CfSecretStoreInterface *iface)
{
  iface->seal = cf_secret_cipher_seal;
  iface->unseal = cf_secret_cipher_unseal;
}

static void
cf_secret_cipher_finalize (GObject *object)
{
  CfSecretCipher *self = (CfSecretCipher *) object;

  if (self->kdf != NULL)
    g_thread_join (self->kdf);
  if (self->aead != NULL)
    gnutls_aead_cipher_deinit (self->aead);
  if (self->data_aead != NULL)
    gnutls_aead_cipher_deinit (self->data_aead);
  g_clear_error (&self->kdf_error);
  g_mutex_clear (&self->lock);
  g_cond_clear (&self->derived);

  G_OBJECT_CLASS (cf_secret_cipher_parent_class)->finalize (object);
}

static void
cf_secret_cipher_class_init (CfSecretCipherClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_secret_cipher_finalize;
}

static void
cf_secret_cipher_init (CfSecretCipher *self)
{
  g_mutex_init (&self->lock);
  g_cond_init (&self->derived);
}

/**
 * cf_secret_cipher_new:
 * @passphrase: the secret the key is derived from
 * @error: return location for a #GError
 *
 * Starts deriving the key (argon2id: a noticeable fraction of a second,
 * once) in a thread; the first seal or unseal waits for it, and reports
 * its failure. The passphrase is not kept once the key is derived.
 *
 * Returns: (transfer full): the cipher
 */
CfSecretCipher *
cf_secret_cipher_new (const char  *passphrase,
                      GError     **error)
{
  CfSecretCipher *self;

  g_return_val_if_fail (passphrase != NULL, NULL);

  self = g_object_new (CF_TYPE_SECRET_CIPHER, NULL);
  self->passphrase = g_strdup (passphrase);
  self->kdf = g_thread_new ("cf-secret-kdf", derive_key, self);
  return self;
}

/**
 * cf_secret_cipher_new_with_key:
 * @key: the data key, %CF_SECRET_CIPHER_KEY_SIZE random bytes
 * @passphrase: (nullable): the AUTH_ENCRYPTION_SECRET that older (v1)
 *   values were sealed under, or %NULL to open none
 * @error: return location for a #GError
 *
 * A cipher that seals under @key (v2 values) and opens v2 values, and v1
 * values too when given @passphrase (deriving its key as
 * cf_secret_cipher_new() does). The cipher keeps its own copy of the key
 * only inside GnuTLS; the caller wipes @key.
 *
 * Returns: (transfer full) (nullable): the cipher, or %NULL with @error set
 */
CfSecretCipher *
cf_secret_cipher_new_with_key (GBytes      *key,
                               const char  *passphrase,
                               GError     **error)
{
  g_autoptr(CfSecretCipher) self = NULL;
  gnutls_datum_t datum;
  gsize size = 0;
  int rc;

  g_return_val_if_fail (key != NULL, NULL);

  datum.data = (unsigned char *) g_bytes_get_data (key, &size);
  datum.size = size;
  if (size != KEY_SIZE)
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                   "A data key of %" G_GSIZE_FORMAT " bytes, not %d", size, KEY_SIZE);
      return NULL;
    }
  if (passphrase != NULL)
    self = cf_secret_cipher_new (passphrase, error);
  else
    {
      self = g_object_new (CF_TYPE_SECRET_CIPHER, NULL);
      self->ready = TRUE;
      self->kdf_error = g_error_new_literal (CF_SECRET_ERROR, CF_SECRET_ERROR_VERSION,
                                             "A secret sealed under AUTH_ENCRYPTION_SECRET, "
                                             "which is not set");
    }
  rc = gnutls_aead_cipher_init (&self->data_aead, GNUTLS_CIPHER_AES_256_GCM, &datum);
  if (rc < 0)
    {
      self->data_aead = NULL;
      set_gnutls_error (error, rc, "Cannot set up AES-256-GCM");
      return NULL;
    }
  return g_steal_pointer (&self);
}

/**
 * cf_secret_cipher_legacy_passphrase:
 * @environ: (nullable): the environment, or %NULL for the process's own
 *
 * The passphrase that cf_secret_cipher_new_from_env() would seal under
 * in this environment, for a keyring-keyed cipher to open the values an
 * earlier run sealed: AUTH_ENCRYPTION_SECRET, or outside production when
 * it is unset, ContextForge's development default.
 *
 * Returns: (nullable): the passphrase, or %NULL when there is none
 */
const char *
cf_secret_cipher_legacy_passphrase (const char * const *environ)
{
  const char *secret = environ ? g_environ_getenv ((GStrv) environ, "AUTH_ENCRYPTION_SECRET")
                               : g_getenv ("AUTH_ENCRYPTION_SECRET");
  const char *mode = environ ? g_environ_getenv ((GStrv) environ, "ENVIRONMENT")
                             : g_getenv ("ENVIRONMENT");

  if (secret != NULL && *secret != '\0')
    return secret;
  if (g_strcmp0 (mode, "production") == 0)
    return NULL;
  return DEVELOPMENT_SECRET;
}

/**
 * cf_secret_cipher_new_from_env:
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @out_warning: (out) (optional) (nullable): what to tell the operator
 *   when the secret is weak but tolerated
 * @error: return location for a #GError
 *
 * Reads AUTH_ENCRYPTION_SECRET and ENVIRONMENT. With
 * ENVIRONMENT=production a missing, placeholder or weak secret is an
 * error (the gateway must refuse to start); in development it is a
 * warning, and an unset secret falls back to ContextForge's development
 * default.
 *
 * Returns: (transfer full) (nullable): the cipher, or %NULL with @error set
 */
CfSecretCipher *
cf_secret_cipher_new_from_env (const char * const  *environ,
                               char               **out_warning,
                               GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  GStrv env = environ ? (GStrv) environ : own;
  const char *secret = g_environ_getenv (env, "AUTH_ENCRYPTION_SECRET");
  const char *mode = g_environ_getenv (env, "ENVIRONMENT") ?: "development";
  g_autoptr(GError) weak = NULL;
  static const char * const modes[] = { "development", "staging", "production", NULL };

  if (out_warning != NULL)
    *out_warning = NULL;
  if (!g_strv_contains (modes, mode))
    {
      g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK,
                   "ENVIRONMENT=%s: use development, staging or production", mode);
      return NULL;
    }
  if (!cf_secret_check_strength ("AUTH_ENCRYPTION_SECRET", secret, &weak))
    {
      if (g_str_equal (mode, "production"))
        {
          g_set_error (error, CF_SECRET_ERROR, CF_SECRET_ERROR_WEAK,
                       "Refusing to start with ENVIRONMENT=production: %s", weak->message);
          return NULL;
        }
      if (out_warning != NULL)
        *out_warning = g_strdup_printf ("%s Upstream credentials are encrypted under a weak "
                                        "key; ENVIRONMENT=production refuses this.",
                                        weak->message);
    }
  return cf_secret_cipher_new (secret != NULL && *secret != '\0' ? secret : DEVELOPMENT_SECRET,
                               error);
}

/**
 * cf_secret_cipher_is_sealed:
 * @text: (nullable): a stored value
 *
 * Returns: whether @text has the shape of a sealed value of any version
 */
gboolean
cf_secret_cipher_is_sealed (const char *text)
{
  const char *colon = text ? strchr (text, ':') : NULL;

  if (colon == NULL || text[0] != 'v' || colon - text < 2 || colon - text > 8)
    return FALSE;
  for (const char *p = text + 1; p < colon; p++)
    if (!g_ascii_isdigit (*p))
      return FALSE;
  return TRUE;
}
