/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

#include "cf-auth.h"
#include "cf-http-server.h"
#include "cf-streamable-http.h"

G_BEGIN_DECLS

#define CF_TOKENS_ERROR (cf_tokens_error_quark ())

/**
 * CfTokensError:
 * @CF_TOKENS_ERROR_INVALID: a field of the request is wrong (422)
 * @CF_TOKENS_ERROR_DUPLICATE: the user already has a token of that name
 *
 * Errors of token creation and update; the message starts with the
 * field's name.
 */
typedef enum {
  CF_TOKENS_ERROR_INVALID,
  CF_TOKENS_ERROR_DUPLICATE,
} CfTokensError;

/* How many days an API token may live (ContextForge's 1..365). */
#define CF_TOKENS_MAX_DAYS 365

#define CF_TYPE_TOKENS (cf_tokens_get_type ())
G_DECLARE_FINAL_TYPE (CfTokens, cf_tokens, CF, TOKENS, GObject)

GQuark      cf_tokens_error_quark       (void);

CfTokens   *cf_tokens_new               (CfAuth             *auth,
                                         CfStore            *store);
void        cf_tokens_set_server_lookup (CfTokens           *self,
                                         CfScopeLookupFunc   lookup,
                                         gpointer            user_data);
gboolean    cf_tokens_load              (CfTokens           *self,
                                         GError            **error);
void        cf_tokens_start             (CfTokens           *self);
void        cf_tokens_stop              (CfTokens           *self);
void        cf_tokens_flush_usage       (CfTokens           *self);
CfAuth     *cf_tokens_get_auth          (CfTokens           *self);
CfStore    *cf_tokens_get_store         (CfTokens           *self);

GPtrArray  *cf_tokens_prepare           (CfTokens           *self,
                                         JsonObject         *user,
                                         JsonObject         *request,
                                         const char         *team_id,
                                         char              **out_token,
                                         char              **out_field,
                                         GError            **error);
GPtrArray  *cf_tokens_prepare_update    (CfTokens           *self,
                                         const char         *id,
                                         JsonObject         *request,
                                         char              **out_field,
                                         GError            **error);
void        cf_tokens_remember          (CfTokens           *self,
                                         JsonObject         *row);
JsonObject *cf_tokens_response          (JsonObject         *row);

gboolean    cf_tokens_check_request     (CfTokens           *self,
                                         CfHttpExchange     *exchange,
                                         CfIdentity         *identity);
guint       cf_tokens_get_pending_usage (CfTokens           *self);

void        cf_tokens_http_install      (CfTokens           *self,
                                         CfHttpServer       *http);

G_END_DECLS
