/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-auth.h"

G_BEGIN_DECLS

/*
 * CfAuth is split in two: cf-auth.c (setup, bootstrap, credentials, the
 * verification cache, minting) and cf-auth-users.c (the asynchronous user
 * operations: login with lockout, password change, revocation).
 */

struct _CfAuth
{
  GObject       parent_instance;

  CfAuthConfig *config;
  CfStore      *store;
  CfJwt        *jwt;
  /* SHA-256 hex of a token -> CacheEntry */
  GHashTable   *cache;
  /* jti -> gint64 expiry in seconds, 0 when unknown */
  GHashTable   *revoked;
  /* (element-type GTask) (transfer none): operations that arrived while
   * the platform admin was being created; each task owns itself. */
  GPtrArray    *waiting;
  gboolean      bootstrapping;
  /* Runs once the platform admin was created, before logins go on. */
  CfAuthUserHook user_hook;
  gpointer      user_hook_data;
};

/* An argon2id hash, with the real parameters, of a random password nobody
 * knows: unknown users are checked against it, so that a login for an
 * unknown email takes as long as one with a wrong password. */
#define CF_AUTH_DUMMY_HASH \
  "$argon2id$v=19$m=65536,t=3,p=1$C9C+PJmhnxcsq+wRa1Njcg$NvbdhTfPt3GdO7Tij01GCh3RgvhsRzYgpffTlJq5M2A"

gint64    _cf_auth_now                  (void);
gint64    _cf_auth_parse_iso            (const char *text);
char     *_cf_auth_format_iso           (gint64      unix_s);
gboolean  _cf_auth_row_flag             (JsonObject *row,
                                         const char *column);
JsonObject *_cf_auth_user_profile       (JsonObject *user);
void      _cf_auth_remember_revocation  (CfAuth     *self,
                                         const char *jti,
                                         gint64      expires_at);
void      _cf_auth_resume_logins        (CfAuth     *self);

G_END_DECLS
