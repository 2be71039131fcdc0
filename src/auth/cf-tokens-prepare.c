/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tokens"

#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "cf-auth-private.h"
#include "cf-json.h"
#include "cf-random.h"
#include "cf-token-scope.h"
#include "cf-tokens-private.h"

/* Creation and update: ContextForge's TokenCreateRequest and
 * TokenUpdateRequest checked field by field, the token minted, and the
 * store's values; and the TokenResponse a row is shown as. */

#define MAX_NAME 255
#define MAX_DESCRIPTION 1000
#define MAX_LIST 100

static gboolean
invalid (char       **out_field,
         GError     **error,
         const char  *field,
         const char  *format,
         ...) G_GNUC_PRINTF (4, 5);

static gboolean
invalid (char       **out_field,
         GError     **error,
         const char  *field,
         const char  *format,
         ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (out_field != NULL)
    *out_field = g_strdup (field);
  g_set_error (error, CF_TOKENS_ERROR, CF_TOKENS_ERROR_INVALID, "%s: %s", field, text);
  return FALSE;
}

static gboolean
is_null (JsonNode *node)
{
  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

/* A list of at most MAX_LIST short printable strings, as JSON text. */
static gboolean
string_list (JsonNode    *node,
             const char  *field,
             gboolean     cidr,
             char       **out_json,
             char       **out_field,
             GError     **error)
{
  JsonArray *array;
  g_autoptr(JsonNode) copy = NULL;

  if (is_null (node))
    {
      *out_json = g_strdup ("[]");
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return invalid (out_field, error, field, "must be a list of strings");
  array = json_node_get_array (node);
  if (json_array_get_length (array) > MAX_LIST)
    return invalid (out_field, error, field, "at most %d items", MAX_LIST);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      g_autoptr(GError) local = NULL;
      const char *text;

      if (!cf_json_node_is_string (item))
        return invalid (out_field, error, field, "must be a list of strings");
      text = json_node_get_string (item);
      if (*text == '\0' || strlen (text) > 255 || !g_utf8_validate (text, -1, NULL))
        return invalid (out_field, error, field, "items must be 1 to 255 characters");
      if (cidr && !cf_token_scope_check_cidr (text, &local))
        return invalid (out_field, error, field, "'%s' is not an IP address or CIDR block (%s)",
                        text, local->message);
    }
  copy = json_node_copy (node);
  *out_json = cf_json_to_string (copy, NULL);
  return TRUE;
}

static gboolean
check_limits (JsonNode    *node,
              char       **out_json,
              char       **out_field,
              GError     **error)
{
  static const char * const members[] = { "requests_per_hour", "requests_per_day" };
  g_autoptr(JsonObject) limits = json_object_new ();

  if (!is_null (node) && !JSON_NODE_HOLDS_OBJECT (node))
    return invalid (out_field, error, "scope.usage_limits", "must be an object");
  for (guint i = 0; !is_null (node) && i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *value = json_object_get_member (json_node_get_object (node), members[i]);
      g_autofree char *field = g_strconcat ("scope.usage_limits.", members[i], NULL);

      if (is_null (value))
        continue;
      if (!cf_json_node_is_integer (value) || json_node_get_int (value) < 1 ||
          json_node_get_int (value) > G_MAXINT32)
        return invalid (out_field, error, field, "must be a positive integer");
      json_object_set_int_member (limits, members[i], json_node_get_int (value));
    }
  *out_json = cf_json_object_to_string (limits);
  return TRUE;
}

static gboolean
check_time (JsonNode    *node,
            char       **out_json,
            char       **out_field,
            GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) copy = NULL;

  if (is_null (node))
    {
      *out_json = g_strdup ("{}");
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (out_field, error, "scope.time_restrictions", "must be an object");
  if (!cf_token_scope_check_time (json_node_get_object (node), &local))
    return invalid (out_field, error, "scope.time_restrictions", "%s", local->message);
  copy = cf_json_node_deep_copy (node);
  *out_json = cf_json_to_string (copy, NULL);
  return TRUE;
}

static gboolean
is_mcp_permission (const char *permission)
{
  return g_str_has_prefix (permission, "tools.") || g_str_has_prefix (permission, "resources.") ||
         g_str_has_prefix (permission, "prompts.");
}

/* ContextForge adds servers.use when a token may call MCP methods: the
 * MCP endpoints need it. */
static char *
permissions_with_servers_use (const char *json)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);
  JsonArray *array = json_node_get_array (node);
  gboolean mcp = FALSE, star = FALSE, has_use = FALSE;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *permission = json_array_get_string_element (array, i);

      mcp |= is_mcp_permission (permission);
      star |= g_str_equal (permission, "*");
      has_use |= g_str_equal (permission, "servers.use");
    }
  if (mcp && !star && !has_use)
    json_array_add_string_element (array, "servers.use");
  return cf_json_to_string (node, NULL);
}

typedef struct {
  char *server_id;
  char *permissions;
  char *ips;
  char *time;
  char *limits;
} Scope;

static void
scope_clear (Scope *scope)
{
  g_free (scope->server_id);
  g_free (scope->permissions);
  g_free (scope->ips);
  g_free (scope->time);
  g_free (scope->limits);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Scope, scope_clear)

static gboolean
check_scope (CfTokens    *self,
             JsonNode    *node,
             Scope       *scope,
             char       **out_field,
             GError     **error)
{
  JsonObject *object = NULL;
  JsonNode *server;
  g_autofree char *permissions = NULL;

  if (!is_null (node) && !JSON_NODE_HOLDS_OBJECT (node))
    return invalid (out_field, error, "scope", "must be an object");
  if (!is_null (node))
    object = json_node_get_object (node);

  server = object ? json_object_get_member (object, "server_id") : NULL;
  if (!is_null (server))
    {
      const char *id = cf_json_node_is_string (server) ? json_node_get_string (server) : NULL;

      if (id == NULL || *id == '\0' || strlen (id) > 255)
        return invalid (out_field, error, "scope.server_id", "must be a server id");
      if (self->lookup != NULL && self->lookup (id, self->lookup_data) == NULL)
        return invalid (out_field, error, "scope.server_id", "Server not found: %s", id);
      scope->server_id = g_strdup (id);
    }
  if (!string_list (object ? json_object_get_member (object, "permissions") : NULL,
                    "scope.permissions", FALSE, &permissions, out_field, error) ||
      !string_list (object ? json_object_get_member (object, "ip_restrictions") : NULL,
                    "scope.ip_restrictions", TRUE, &scope->ips, out_field, error) ||
      !check_time (object ? json_object_get_member (object, "time_restrictions") : NULL,
                   &scope->time, out_field, error) ||
      !check_limits (object ? json_object_get_member (object, "usage_limits") : NULL,
                     &scope->limits, out_field, error))
    return FALSE;
  scope->permissions = permissions_with_servers_use (permissions);
  return TRUE;
}

static gboolean
optional_text (JsonObject  *request,
               const char  *member,
               gsize        max,
               gboolean     required,
               char       **out,
               char       **out_field,
               GError     **error)
{
  JsonNode *node = json_object_get_member (request, member);
  g_autofree char *text = NULL;

  if (is_null (node))
    {
      if (required)
        return invalid (out_field, error, member, "Field required");
      return TRUE;
    }
  if (!cf_json_node_is_string (node))
    return invalid (out_field, error, member, "Input should be a valid string");
  text = g_strstrip (g_strdup (json_node_get_string (node)));
  if (required && *text == '\0')
    return invalid (out_field, error, member, "String should have at least 1 character");
  if (strlen (text) > max)
    return invalid (out_field, error, member, "at most %" G_GSIZE_FORMAT " characters", max);
  *out = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
optional_bool (JsonObject  *request,
               const char  *member,
               int         *out,
               char       **out_field,
               GError     **error)
{
  JsonNode *node = json_object_get_member (request, member);

  if (is_null (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return invalid (out_field, error, member, "Input should be a valid boolean");
  *out = json_node_get_boolean (node);
  return TRUE;
}

static char *
token_hash (const char *token)
{
  guint8 digest[32];
  static const char hex[] = "0123456789abcdef";
  char *out = g_malloc (sizeof digest * 2 + 1);

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, token, strlen (token), digest) < 0)
    g_error ("GnuTLS cannot compute SHA-256");
  for (guint i = 0; i < sizeof digest; i++)
    {
      out[2 * i] = hex[digest[i] >> 4];
      out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
  out[sizeof digest * 2] = '\0';
  return out;
}

static JsonNode *
parse_text (const char *json)
{
  return cf_json_parse (json, -1, NULL);
}

static char *
mint (CfTokens    *self,
      JsonObject  *user,
      const char  *jti,
      const char  *team_id,
      Scope       *scope,
      gint64       now,
      gint64       exp,
      GError     **error)
{
  CfAuthConfig *config = cf_auth_get_config (self->auth);
  g_autoptr(JsonObject) claims = json_object_new ();
  JsonObject *scopes = json_object_new ();
  const char *email = json_object_get_string_member (user, "email");
  g_autoptr(JsonNode) permissions = parse_text (scope->permissions);
  g_autoptr(JsonNode) ips = parse_text (scope->ips);
  g_autoptr(JsonNode) time = parse_text (scope->time);

  json_object_set_string_member (claims, "sub", email);
  json_object_set_string_member (claims, "iss", config->jwt_issuer);
  json_object_set_string_member (claims, "aud", config->jwt_audience);
  json_object_set_int_member (claims, "iat", now);
  if (exp != 0)
    json_object_set_int_member (claims, "exp", exp);
  json_object_set_string_member (claims, "jti", jti);
  json_object_set_string_member (claims, "token_use", "api");
  json_object_set_object_member (claims, "user", _cf_auth_user_profile (user));
  if (team_id != NULL)
    {
      JsonArray *teams = json_array_new ();

      json_array_add_string_element (teams, team_id);
      json_object_set_array_member (claims, "teams", teams);
    }
  else
    json_object_set_null_member (claims, "teams");
  if (scope->server_id != NULL)
    json_object_set_string_member (scopes, "server_id", scope->server_id);
  else
    json_object_set_null_member (scopes, "server_id");
  json_object_set_member (scopes, "permissions", g_steal_pointer (&permissions));
  json_object_set_member (scopes, "ip_restrictions", g_steal_pointer (&ips));
  json_object_set_member (scopes, "time_restrictions", g_steal_pointer (&time));
  json_object_set_object_member (claims, "scopes", scopes);
  return cf_jwt_sign (cf_auth_get_jwt (self->auth), claims, error);
}

/**
 * cf_tokens_prepare:
 * @self: a #CfTokens
 * @user: the owner's email_users row (email, full_name, is_admin,
 *   auth_provider)
 * @request: ContextForge's TokenCreateRequest
 * @team_id: (nullable): the team the token is for; membership is the
 *   caller's to check
 * @out_token: (out): the signed token, to show once
 * @out_field: (out) (optional): the field at fault on failure
 * @error: return location for a #GError
 *
 * Checks @request and mints the token. A bad field is
 * %CF_TOKENS_ERROR_INVALID.
 *
 * Returns: (transfer full) (element-type utf8) (nullable): the 16 values
 *   of %CF_STORE_TOKEN_INSERT, some %NULL
 */
GPtrArray *
cf_tokens_prepare (CfTokens    *self,
                   JsonObject  *user,
                   JsonObject  *request,
                   const char  *team_id,
                   char       **out_token,
                   char       **out_field,
                   GError     **error)
{
  CfAuthConfig *config;
  g_auto(Scope) scope = { 0 };
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  g_autofree char *tags = NULL;
  g_autofree char *token = NULL;
  g_autofree char *jti = NULL;
  GPtrArray *values;
  JsonNode *days = json_object_get_member (request, "expires_in_days");
  int active = TRUE;
  gint64 now = _cf_tokens_now_s ();
  gint64 exp = 0;

  g_return_val_if_fail (CF_IS_TOKENS (self), NULL);
  g_return_val_if_fail (user != NULL && request != NULL, NULL);

  config = cf_auth_get_config (self->auth);
  if (!optional_text (request, "name", MAX_NAME, TRUE, &name, out_field, error) ||
      !optional_text (request, "description", MAX_DESCRIPTION, FALSE, &description, out_field,
                      error) ||
      !check_scope (self, json_object_get_member (request, "scope"), &scope, out_field, error) ||
      !string_list (json_object_get_member (request, "tags"), "tags", FALSE, &tags, out_field,
                    error) ||
      !optional_bool (request, "is_active", &active, out_field, error))
    return NULL;
  if (!is_null (days))
    {
      if (!cf_json_node_is_integer (days) || json_node_get_int (days) < 1 ||
          json_node_get_int (days) > CF_TOKENS_MAX_DAYS)
        {
          invalid (out_field, error, "expires_in_days", "must be an integer from 1 to %d",
                   CF_TOKENS_MAX_DAYS);
          return NULL;
        }
      exp = now + json_node_get_int (days) * 86400;
    }
  else if (config->require_exp)
    {
      invalid (out_field, error, "expires_in_days",
               "Token expiration is required (REQUIRE_TOKEN_EXPIRATION)");
      return NULL;
    }

  jti = cf_random_uuid ();
  token = mint (self, user, jti, team_id, &scope, now, exp, error);
  if (token == NULL)
    return NULL;

  values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (values, cf_random_uuid ());
  g_ptr_array_add (values, g_strdup (json_object_get_string_member (user, "email")));
  g_ptr_array_add (values, g_strdup (team_id));
  g_ptr_array_add (values, g_steal_pointer (&name));
  g_ptr_array_add (values, g_steal_pointer (&description));
  g_ptr_array_add (values, g_steal_pointer (&jti));
  g_ptr_array_add (values, token_hash (token));
  g_ptr_array_add (values, g_steal_pointer (&scope.server_id));
  g_ptr_array_add (values, g_steal_pointer (&scope.permissions));
  g_ptr_array_add (values, g_steal_pointer (&scope.ips));
  g_ptr_array_add (values, g_steal_pointer (&scope.time));
  g_ptr_array_add (values, g_steal_pointer (&scope.limits));
  g_ptr_array_add (values, g_steal_pointer (&tags));
  g_ptr_array_add (values, _cf_auth_format_iso (now));
  g_ptr_array_add (values, exp != 0 ? _cf_auth_format_iso (exp) : NULL);
  g_ptr_array_add (values, g_strdup (active ? "1" : "0"));
  *out_token = g_steal_pointer (&token);
  return values;
}

/**
 * cf_tokens_prepare_update:
 * @self: a #CfTokens
 * @id: the token's id
 * @request: ContextForge's TokenUpdateRequest: name, description, scope,
 *   tags, is_active, each optional
 * @out_field: (out) (optional): the field at fault on failure
 * @error: return location for a #GError
 *
 * A scope, when given, replaces the whole stored scope. The token itself
 * does not change: enforcement reads the registry, not the claims.
 *
 * Returns: (transfer full) (nullable): the 10 values of
 *   %CF_STORE_TOKEN_UPDATE
 */
GPtrArray *
cf_tokens_prepare_update (CfTokens    *self,
                          const char  *id,
                          JsonObject  *request,
                          char       **out_field,
                          GError     **error)
{
  g_auto(Scope) scope = { 0 };
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  g_autofree char *tags = NULL;
  JsonNode *scope_node = json_object_get_member (request, "scope");
  GPtrArray *values;
  int active = -1;

  g_return_val_if_fail (CF_IS_TOKENS (self), NULL);

  if (!optional_text (request, "name", MAX_NAME, FALSE, &name, out_field, error) ||
      !optional_text (request, "description", MAX_DESCRIPTION, FALSE, &description, out_field,
                      error) ||
      (scope_node != NULL && !check_scope (self, scope_node, &scope, out_field, error)) ||
      (json_object_has_member (request, "tags") &&
       !string_list (json_object_get_member (request, "tags"), "tags", FALSE, &tags, out_field,
                     error)) ||
      !optional_bool (request, "is_active", &active, out_field, error))
    return NULL;
  if (name != NULL && *name == '\0')
    {
      invalid (out_field, error, "name", "String should have at least 1 character");
      return NULL;
    }

  values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (values, g_strdup (id));
  g_ptr_array_add (values, g_steal_pointer (&name));
  g_ptr_array_add (values, g_steal_pointer (&description));
  g_ptr_array_add (values, scope_node == NULL ? NULL : g_strdup (scope.server_id ?: ""));
  g_ptr_array_add (values, g_steal_pointer (&scope.permissions));
  g_ptr_array_add (values, g_steal_pointer (&scope.ips));
  g_ptr_array_add (values, g_steal_pointer (&scope.time));
  g_ptr_array_add (values, g_steal_pointer (&scope.limits));
  g_ptr_array_add (values, g_steal_pointer (&tags));
  g_ptr_array_add (values, active < 0 ? NULL : g_strdup (active ? "1" : "0"));
  return values;
}

static void
set_json_column (JsonObject *out,
                 JsonObject *row,
                 const char *column,
                 JsonNodeType type)
{
  g_autoptr(JsonNode) node = _cf_tokens_parse_column (row, column);

  if (node == NULL || JSON_NODE_TYPE (node) != type)
    {
      g_clear_pointer (&node, json_node_unref);
      node = json_node_new (type);
      if (type == JSON_NODE_ARRAY)
        json_node_take_array (node, json_array_new ());
      else
        json_node_take_object (node, json_object_new ());
    }
  json_object_set_member (out, column, g_steal_pointer (&node));
}

static void
set_text (JsonObject *out,
          JsonObject *row,
          const char *column,
          const char *as)
{
  const char *value = cf_json_object_get_string (row, column);

  if (value != NULL)
    json_object_set_string_member (out, as ? as : column, value);
  else
    json_object_set_null_member (out, as ? as : column);
}

/**
 * cf_tokens_response:
 * @row: a token row as the store returns it
 *
 * Returns: (transfer full): ContextForge's TokenResponse: never the token
 *   nor its hash
 */
JsonObject *
cf_tokens_response (JsonObject *row)
{
  JsonObject *out = json_object_new ();
  g_autoptr(JsonNode) limits = NULL;

  g_return_val_if_fail (row != NULL, NULL);

  set_text (out, row, "id", NULL);
  set_text (out, row, "name", NULL);
  set_text (out, row, "description", NULL);
  set_text (out, row, "user_email", NULL);
  set_text (out, row, "team_id", NULL);
  set_text (out, row, "server_id", NULL);
  set_json_column (out, row, "resource_scopes", JSON_NODE_ARRAY);
  set_json_column (out, row, "ip_restrictions", JSON_NODE_ARRAY);
  set_json_column (out, row, "time_restrictions", JSON_NODE_OBJECT);
  set_json_column (out, row, "usage_limits", JSON_NODE_OBJECT);
  set_text (out, row, "created_at", NULL);
  set_text (out, row, "expires_at", NULL);
  set_text (out, row, "last_used", NULL);
  json_object_set_boolean_member (out, "is_active", _cf_auth_row_flag (row, "is_active"));
  json_object_set_boolean_member (out, "is_revoked", json_object_has_member (row, "revoked_at"));
  set_text (out, row, "revoked_at", NULL);
  set_text (out, row, "revoked_by", NULL);
  set_text (out, row, "revocation_reason", NULL);
  set_json_column (out, row, "tags", JSON_NODE_ARRAY);
  return out;
}
