/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cf-auth-config.h"
#include "cf-auth-error.h"
#include "cf-identity.h"
#include "cf-jwt.h"
#include "cf-store.h"

G_BEGIN_DECLS

/**
 * CfAuthUserHook:
 * @email: a user just created
 * @callback: to call when the hook is done
 * @callback_data: data for @callback
 * @user_data: the hook's data
 *
 * What the gateway does for a new user (its personal team) before the
 * user can log in.
 */
typedef void (*CfAuthUserHook) (const char          *email,
                                GAsyncReadyCallback  callback,
                                gpointer             callback_data,
                                gpointer             user_data);

#define CF_TYPE_AUTH (cf_auth_get_type ())
G_DECLARE_FINAL_TYPE (CfAuth, cf_auth, CF, AUTH, GObject)

CfAuth       *cf_auth_new                    (CfAuthConfig         *config,
                                              CfStore              *store,
                                              GError              **error);
CfAuthConfig *cf_auth_get_config             (CfAuth               *self);
CfJwt        *cf_auth_get_jwt                (CfAuth               *self);
gboolean      cf_auth_bootstrap              (CfAuth               *self,
                                              GError              **error);
void          cf_auth_set_user_hook          (CfAuth               *self,
                                              CfAuthUserHook        hook,
                                              gpointer              user_data);

CfIdentity   *cf_auth_authenticate           (CfAuth               *self,
                                              const char           *header_value,
                                              GError              **error);
CfIdentity   *cf_auth_verify_token           (CfAuth               *self,
                                              const char           *token,
                                              GError              **error);
gboolean      cf_auth_is_revoked             (CfAuth               *self,
                                              const char           *jti);
guint         cf_auth_get_cache_size         (CfAuth               *self);
char         *cf_auth_mint_session_token     (CfAuth               *self,
                                              JsonObject           *user,
                                              gint64               *expires_in,
                                              GError              **error);
JsonObject   *cf_auth_user_response          (JsonObject           *user);
char         *cf_auth_normalize_email        (const char           *email);

void          cf_auth_login_async            (CfAuth               *self,
                                              const char           *email,
                                              const char           *password,
                                              gboolean              enforce_password_change,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
JsonObject   *cf_auth_login_finish           (CfAuth               *self,
                                              GAsyncResult         *result,
                                              GError              **error);
void          cf_auth_change_password_async  (CfAuth               *self,
                                              const char           *email,
                                              const char           *old_password,
                                              const char           *new_password,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean      cf_auth_change_password_finish (CfAuth               *self,
                                              GAsyncResult         *result,
                                              GError              **error);
void          cf_auth_revoke_async           (CfAuth               *self,
                                              const char           *jti,
                                              gint64                expires_at,
                                              const char           *revoked_by,
                                              const char           *reason,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
gboolean      cf_auth_revoke_finish          (CfAuth               *self,
                                              GAsyncResult         *result,
                                              GError              **error);
void          cf_auth_lookup_user_async      (CfAuth               *self,
                                              const char           *email,
                                              GCancellable         *cancellable,
                                              GAsyncReadyCallback   callback,
                                              gpointer              user_data);
JsonObject   *cf_auth_lookup_user_finish     (CfAuth               *self,
                                              GAsyncResult         *result,
                                              GError              **error);

G_END_DECLS
