/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "cf-auth-error.h"
#include "cf-http-exchange.h"
#include "cf-types.h"

G_BEGIN_DECLS

/**
 * CfIdentityKind:
 * @CF_IDENTITY_ANONYMOUS: no credential, allowed because AUTH_REQUIRED is off
 * @CF_IDENTITY_JWT: a verified bearer token (session or API token)
 * @CF_IDENTITY_BASIC: HTTP Basic with the configured credentials
 *
 * How the caller proved who it is.
 */
typedef enum {
  CF_IDENTITY_ANONYMOUS,
  CF_IDENTITY_JWT,
  CF_IDENTITY_BASIC,
} CfIdentityKind;

/**
 * CfIdentityTeams:
 * @CF_IDENTITY_TEAMS_ABSENT: no `teams` claim: public items only
 * @CF_IDENTITY_TEAMS_NULL: `teams: null`: admin bypass when the identity is
 *   an admin, public items only otherwise
 * @CF_IDENTITY_TEAMS_LIST: `teams: [...]`: those teams, public items, and
 *   the caller's own private items
 *
 * The three shapes of ContextForge's `teams` claim, which scope a token
 * differently (see `normalize_token_teams`); the visibility step applies
 * them.
 */
typedef enum {
  CF_IDENTITY_TEAMS_ABSENT,
  CF_IDENTITY_TEAMS_NULL,
  CF_IDENTITY_TEAMS_LIST,
} CfIdentityTeams;

#define CF_TYPE_IDENTITY (cf_identity_get_type ())
G_DECLARE_FINAL_TYPE (CfIdentity, cf_identity, CF, IDENTITY, GObject)

CfIdentity         *cf_identity_new_anonymous        (void);
CfIdentity         *cf_identity_new_basic            (const char         *user);
CfIdentity         *cf_identity_new_from_claims      (JsonObject         *claims,
                                                      GError            **error);

CfIdentityKind      cf_identity_get_kind             (CfIdentity         *self);
gboolean            cf_identity_is_anonymous         (CfIdentity         *self);
const char         *cf_identity_get_email            (CfIdentity         *self);
const char         *cf_identity_get_full_name        (CfIdentity         *self);
gboolean            cf_identity_is_admin             (CfIdentity         *self);
const char         *cf_identity_get_token_use        (CfIdentity         *self);
const char         *cf_identity_get_jti              (CfIdentity         *self);
gint64              cf_identity_get_expires_at       (CfIdentity         *self);
CfIdentityTeams     cf_identity_get_teams            (CfIdentity         *self,
                                                      const char * const **teams);
const char         *cf_identity_get_server_id        (CfIdentity         *self);
const char * const *cf_identity_get_permissions      (CfIdentity         *self);
void                cf_identity_set_permissions      (CfIdentity         *self,
                                                      const char * const *permissions);
const char * const *cf_identity_get_ip_restrictions  (CfIdentity         *self);
JsonObject         *cf_identity_get_time_restrictions (CfIdentity        *self);
JsonObject         *cf_identity_get_claims           (CfIdentity         *self);

void                cf_identity_attach               (CfHttpExchange     *exchange,
                                                      CfIdentity         *identity);
CfIdentity         *cf_identity_from_exchange        (CfHttpExchange     *exchange);
CfIdentity         *cf_identity_from_message         (SoupServerMessage  *msg);

G_END_DECLS
