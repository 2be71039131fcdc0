/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-identity"

#include "config.h"

#include "cf-identity.h"
#include "cf-json.h"

/**
 * CfIdentity:
 *
 * Who a request runs as: the anonymous identity, the configured Basic
 * user, or the subject of a verified JWT with ContextForge's claims
 * (`user`, `teams`, `scopes`, `token_use`, `jti`). Immutable once built, so
 * that one verified token's identity can be shared by every request that
 * presents it. The middleware attaches it to the #SoupServerMessage; MCP
 * handlers find it on their #CfMcpRequest.
 */
struct _CfIdentity
{
  GObject          parent_instance;

  CfIdentityKind   kind;
  char            *email;
  char            *full_name;
  gboolean         is_admin;
  char            *token_use;
  char            *jti;
  gint64           expires_at;
  CfIdentityTeams  teams_shape;
  GStrv            teams;
  char            *server_id;
  GStrv            permissions;
  GStrv            ip_restrictions;
  JsonObject      *time_restrictions;
  JsonObject      *claims;
};

G_DEFINE_FINAL_TYPE (CfIdentity, cf_identity, G_TYPE_OBJECT)

#define EXCHANGE_KEY "cf-identity"

static const char * const no_strings[] = { NULL };

static void
cf_identity_finalize (GObject *object)
{
  CfIdentity *self = (CfIdentity *) object;

  g_free (self->email);
  g_free (self->full_name);
  g_free (self->token_use);
  g_free (self->jti);
  g_strfreev (self->teams);
  g_free (self->server_id);
  g_strfreev (self->permissions);
  g_strfreev (self->ip_restrictions);
  g_clear_pointer (&self->time_restrictions, json_object_unref);
  g_clear_pointer (&self->claims, json_object_unref);

  G_OBJECT_CLASS (cf_identity_parent_class)->finalize (object);
}

static void
cf_identity_class_init (CfIdentityClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_identity_finalize;
}

static void
cf_identity_init (CfIdentity *self)
{
}

/**
 * cf_identity_new_anonymous:
 *
 * Returns: (transfer full): the identity of requests without a credential
 *   when AUTH_REQUIRED is off
 */
CfIdentity *
cf_identity_new_anonymous (void)
{
  CfIdentity *self = g_object_new (CF_TYPE_IDENTITY, NULL);

  self->kind = CF_IDENTITY_ANONYMOUS;
  self->email = g_strdup ("anonymous");
  return self;
}

/**
 * cf_identity_new_basic:
 * @user: the Basic user name
 *
 * Basic credentials are the operator's (BASIC_AUTH_USER), as in
 * ContextForge, so the identity is a platform admin with no team claim.
 *
 * Returns: (transfer full): the identity
 */
CfIdentity *
cf_identity_new_basic (const char *user)
{
  CfIdentity *self;

  g_return_val_if_fail (user != NULL, NULL);

  self = g_object_new (CF_TYPE_IDENTITY, NULL);
  self->kind = CF_IDENTITY_BASIC;
  self->email = g_strdup (user);
  self->is_admin = TRUE;
  self->teams_shape = CF_IDENTITY_TEAMS_NULL;
  return self;
}

/* The strings of an array claim; ContextForge also allows team objects
 * with an "id". Anything else makes the claim invalid. */
static gboolean
string_list (JsonNode    *node,
             const char  *name,
             GStrv       *out,
             GError     **error)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      *out = NULL;
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    goto invalid;
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *element = json_array_get_element (array, i);
      JsonObject *object = cf_json_node_is_object (element) ? json_node_get_object (element) : NULL;
      const char *value = cf_json_node_is_string (element) ? json_node_get_string (element)
                                                           : cf_json_object_get_string (object, "id");

      if (value == NULL)
        goto invalid;
      g_strv_builder_add (builder, value);
    }
  *out = g_strv_builder_end (builder);
  return TRUE;

invalid:
  g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
               "Invalid token: %s must be a list of strings", name);
  return FALSE;
}

static gboolean
read_scopes (CfIdentity  *self,
             JsonObject  *claims,
             GError     **error)
{
  JsonNode *node = json_object_get_member (claims, "scopes");
  JsonObject *scopes;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!cf_json_node_is_object (node))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                   "Invalid token: scopes must be an object");
      return FALSE;
    }
  scopes = json_node_get_object (node);
  self->server_id = g_strdup (cf_json_object_get_string (scopes, "server_id"));
  if (cf_json_object_get_object (scopes, "time_restrictions") != NULL)
    self->time_restrictions = json_object_ref (cf_json_object_get_object (scopes,
                                                                          "time_restrictions"));
  return string_list (json_object_get_member (scopes, "permissions"), "scopes.permissions",
                      &self->permissions, error) &&
         string_list (json_object_get_member (scopes, "ip_restrictions"),
                      "scopes.ip_restrictions", &self->ip_restrictions, error);
}

static gboolean
read_teams (CfIdentity  *self,
            JsonObject  *claims,
            GError     **error)
{
  JsonNode *node = json_object_get_member (claims, "teams");

  if (node == NULL)
    self->teams_shape = CF_IDENTITY_TEAMS_ABSENT;
  else if (JSON_NODE_HOLDS_NULL (node))
    self->teams_shape = CF_IDENTITY_TEAMS_NULL;
  else
    self->teams_shape = CF_IDENTITY_TEAMS_LIST;
  return string_list (node, "teams", &self->teams, error);
}

/**
 * cf_identity_new_from_claims:
 * @claims: the claims of a verified token; sealed and kept
 * @error: return location for a #GError
 *
 * Reads ContextForge's claims: the subject from `user.email`, else
 * `email`, else `sub`; admin status from `user.is_admin` or a top-level
 * `is_admin`; `teams`, `scopes`, `token_use`, `jti`, `exp`.
 *
 * Returns: (transfer full) (nullable): the identity, or %NULL with
 *   %CF_AUTH_ERROR_CLAIMS when the claims do not name a subject or are
 *   mistyped
 */
CfIdentity *
cf_identity_new_from_claims (JsonObject  *claims,
                             GError     **error)
{
  g_autoptr(CfIdentity) self = NULL;
  JsonObject *user;
  const char *email;
  gint64 exp = 0;

  g_return_val_if_fail (claims != NULL, NULL);

  user = cf_json_object_get_object (claims, "user");
  email = cf_json_object_get_string (user, "email");
  if (email == NULL || *email == '\0')
    email = cf_json_object_get_string (claims, "email");
  if (email == NULL || *email == '\0')
    email = cf_json_object_get_string (claims, "sub");
  if (email == NULL || *email == '\0')
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                   "Invalid token: it names no subject (sub)");
      return NULL;
    }

  self = g_object_new (CF_TYPE_IDENTITY, NULL);
  self->kind = CF_IDENTITY_JWT;
  self->email = g_strdup (email);
  self->full_name = g_strdup (cf_json_object_get_string (user, "full_name"));
  self->is_admin = cf_json_object_get_bool (user, "is_admin", FALSE) ||
                   cf_json_object_get_bool (claims, "is_admin", FALSE);
  self->token_use = g_strdup (cf_json_object_get_string (claims, "token_use"));
  self->jti = g_strdup (cf_json_object_get_string (claims, "jti"));
  if (cf_json_object_get_int (claims, "exp", &exp))
    self->expires_at = exp;
  else if (json_object_has_member (claims, "exp") &&
           JSON_NODE_HOLDS_VALUE (json_object_get_member (claims, "exp")) &&
           json_node_get_value_type (json_object_get_member (claims, "exp")) == G_TYPE_DOUBLE)
    self->expires_at = (gint64) json_object_get_double_member (claims, "exp");
  if (!read_teams (self, claims, error) || !read_scopes (self, claims, error))
    return NULL;

  json_object_seal (claims);
  self->claims = json_object_ref (claims);
  return g_steal_pointer (&self);
}

CfIdentityKind
cf_identity_get_kind (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), CF_IDENTITY_ANONYMOUS);
  return self->kind;
}

gboolean
cf_identity_is_anonymous (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), TRUE);
  return self->kind == CF_IDENTITY_ANONYMOUS;
}

/**
 * cf_identity_get_email:
 *
 * Returns: the user's email (a JWT's subject), the Basic user, or
 *   "anonymous"
 */
const char *
cf_identity_get_email (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->email;
}

/**
 * cf_identity_get_full_name:
 *
 * Returns: (nullable): the `user.full_name` claim
 */
const char *
cf_identity_get_full_name (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->full_name;
}

gboolean
cf_identity_is_admin (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), FALSE);
  return self->is_admin;
}

/**
 * cf_identity_get_token_use:
 *
 * Returns: (nullable): "session" for login tokens, "api" for API tokens,
 *   %NULL for legacy tokens and other identities
 */
const char *
cf_identity_get_token_use (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->token_use;
}

/**
 * cf_identity_get_jti:
 *
 * Returns: (nullable): the token's id
 */
const char *
cf_identity_get_jti (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->jti;
}

/**
 * cf_identity_get_expires_at:
 *
 * Returns: the token's `exp` in seconds since the epoch, 0 for none
 */
gint64
cf_identity_get_expires_at (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), 0);
  return self->expires_at;
}

/**
 * cf_identity_get_teams:
 * @teams: (out) (optional) (transfer none): the team ids, an empty list
 *   unless the shape is %CF_IDENTITY_TEAMS_LIST
 *
 * Returns: the shape of the `teams` claim
 */
CfIdentityTeams
cf_identity_get_teams (CfIdentity          *self,
                       const char * const **teams)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), CF_IDENTITY_TEAMS_ABSENT);
  if (teams != NULL)
    *teams = self->teams ? (const char * const *) self->teams : no_strings;
  return self->teams_shape;
}

/**
 * cf_identity_get_server_id:
 *
 * Returns: (nullable): `scopes.server_id`, the one virtual server a token
 *   is limited to
 */
const char *
cf_identity_get_server_id (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->server_id;
}

/**
 * cf_identity_set_permissions:
 * @self: a #CfIdentity
 * @permissions: the permissions that now narrow the identity's roles
 *
 * For API tokens, whose stored scope may have changed since their claims
 * were signed: the registry's answer replaces the claims'.
 */
void
cf_identity_set_permissions (CfIdentity         *self,
                             const char * const *permissions)
{
  g_return_if_fail (CF_IS_IDENTITY (self));

  if (self->permissions != NULL && permissions != NULL &&
      g_strv_equal ((const char * const *) self->permissions, permissions))
    return;
  g_strfreev (self->permissions);
  self->permissions = g_strdupv ((char **) permissions);
}

/**
 * cf_identity_get_permissions:
 *
 * Returns: (transfer none): `scopes.permissions`, possibly empty
 */
const char * const *
cf_identity_get_permissions (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), no_strings);
  return self->permissions ? (const char * const *) self->permissions : no_strings;
}

/**
 * cf_identity_get_ip_restrictions:
 *
 * Returns: (transfer none): `scopes.ip_restrictions`, possibly empty
 */
const char * const *
cf_identity_get_ip_restrictions (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), no_strings);
  return self->ip_restrictions ? (const char * const *) self->ip_restrictions : no_strings;
}

/**
 * cf_identity_get_time_restrictions:
 *
 * Returns: (transfer none) (nullable): `scopes.time_restrictions`
 */
JsonObject *
cf_identity_get_time_restrictions (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->time_restrictions;
}

/**
 * cf_identity_get_claims:
 *
 * Returns: (transfer none) (nullable): the verified claims, sealed; %NULL
 *   for identities that came from no token
 */
JsonObject *
cf_identity_get_claims (CfIdentity *self)
{
  g_return_val_if_fail (CF_IS_IDENTITY (self), NULL);
  return self->claims;
}

/**
 * cf_identity_attach:
 * @exchange: a request
 * @identity: who it runs as
 */
void
cf_identity_attach (CfHttpExchange *exchange,
                    CfIdentity     *identity)
{
  g_return_if_fail (CF_IS_HTTP_EXCHANGE (exchange));
  g_return_if_fail (CF_IS_IDENTITY (identity));

  g_object_set_data_full (G_OBJECT (exchange), EXCHANGE_KEY, g_object_ref (identity),
                          g_object_unref);
}

/**
 * cf_identity_from_exchange:
 * @exchange: a request past the auth middleware
 *
 * Returns: (transfer none) (nullable): who @exchange runs as; %NULL when
 *   no auth step ran (a server built without one) or on an open path
 *   without a credential
 */
CfIdentity *
cf_identity_from_exchange (CfHttpExchange *exchange)
{
  g_return_val_if_fail (CF_IS_HTTP_EXCHANGE (exchange), NULL);

  return g_object_get_data (G_OBJECT (exchange), EXCHANGE_KEY);
}

/**
 * cf_identity_from_message:
 * @msg: a request libsoup carries, past the middleware chain
 *
 * Returns: (transfer none) (nullable): as cf_identity_from_exchange()
 *   for the exchange of @msg
 */
CfIdentity *
cf_identity_from_message (SoupServerMessage *msg)
{
  CfHttpExchange *exchange;

  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), NULL);

  exchange = cf_http_exchange_get_for_message (msg);
  return exchange ? cf_identity_from_exchange (exchange) : NULL;
}
