/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-dbus-service-tenancy"

#include "config.h"

#include <glib/gi18n.h>
#include <libsoup/soup.h>
#include <string.h>

#include "cf-auth.h"
#include "cf-dbus-service-private.h"
#include "cf-json.h"

/*
 * Teams and API tokens on `org.contextforge.Gateway`. Their checks live
 * in the REST routes (/v1/teams, /v1/tokens: validation, permissions,
 * ContextForge's messages), so the interface calls those routes rather
 * than a second copy of them: over the gateway's own listen address, as
 * the platform admin, with a session token minted for the call. The
 * session bus is the local user's path to the daemon; the platform admin
 * is who the local user is to the gateway.
 */

typedef void (*RestDone) (CfDbusService         *self,
                          GDBusMethodInvocation *invocation,
                          JsonNode              *answer);

typedef struct {
  CfDbusService         *self;
  GDBusMethodInvocation *invocation;
  SoupMessage           *msg;
  RestDone               done;
} RestCall;

static void
rest_call_free (RestCall *call)
{
  g_object_unref (call->self);
  g_clear_object (&call->msg);
  g_free (call);
}

static CfDbusServiceError
error_for_status (guint status)
{
  switch (status)
    {
    case SOUP_STATUS_NOT_FOUND:
      return CF_DBUS_SERVICE_ERROR_NOT_FOUND;
    case SOUP_STATUS_CONFLICT:
      return CF_DBUS_SERVICE_ERROR_CONFLICT;
    case SOUP_STATUS_BAD_REQUEST:
    case SOUP_STATUS_UNPROCESSABLE_ENTITY:
      return CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT;
    default:
      return CF_DBUS_SERVICE_ERROR_FAILED;
    }
}

/* The REST answer's body, when it is an object. */
static JsonObject *
answer_object (JsonNode *answer)
{
  return answer && JSON_NODE_HOLDS_OBJECT (answer) ? json_node_get_object (answer) : NULL;
}

/* The route's own message: `detail` as a string, or ContextForge's list
 * of problems, which _cf_dbus_service_return_error() spells out. */
static void
return_rest_error (GDBusMethodInvocation *invocation,
                   guint                  status,
                   JsonNode              *answer)
{
  JsonObject *body = answer_object (answer);
  JsonNode *detail = body ? json_object_get_member (body, "detail") : NULL;
  g_autoptr(GError) error = NULL;

  if (detail != NULL && JSON_NODE_HOLDS_ARRAY (detail))
    {
      error = g_error_new_literal (CF_DBUS_SERVICE_ERROR, error_for_status (status),
                                   _("The input is not valid"));
      _cf_dbus_service_return_error (invocation, error, json_node_get_array (detail));
      return;
    }
  error = g_error_new (CF_DBUS_SERVICE_ERROR, error_for_status (status), "%s",
                       detail && cf_json_node_is_string (detail) ? json_node_get_string (detail)
                       : soup_status_get_phrase (status) ?: _("The gateway refused the call"));
  _cf_dbus_service_return_error (invocation, error, NULL);
}

static void
on_rest_answered (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  RestCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              &error);
  g_autoptr(JsonNode) answer = NULL;
  guint status = soup_message_get_status (call->msg);

  if (bytes == NULL)
    {
      g_dbus_method_invocation_return_error (call->invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_FAILED,
                                             _("The gateway did not answer: %s"), error->message);
      rest_call_free (call);
      return;
    }
  if (g_bytes_get_size (bytes) > 0)
    answer = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
  if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    return_rest_error (call->invocation, status, answer);
  else
    call->done (call->self, call->invocation, answer);
  rest_call_free (call);
}

static void
send_as_admin (RestCall   *call,
               JsonObject *admin)
{
  CfAuth *auth = cf_daemon_get_auth (call->self->daemon);
  g_autoptr(JsonObject) row = json_object_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *token = NULL;
  g_autofree char *bearer = NULL;

  /* As an email_users row; the routes take the admin status and roles
   * from the database, so the token cannot widen them. */
  json_object_set_string_member (row, "email", cf_json_object_get_string (admin, "email"));
  json_object_set_string_member (row, "full_name",
                                 cf_json_object_get_string (admin, "full_name") ?: "");
  json_object_set_int_member (row, "is_admin", cf_json_object_get_bool (admin, "is_admin", FALSE));
  token = cf_auth_mint_session_token (auth, row, NULL, &error);
  if (token == NULL)
    {
      _cf_dbus_service_return_error (call->invocation, error, NULL);
      rest_call_free (call);
      return;
    }
  bearer = g_strconcat ("Bearer ", token, NULL);
  soup_message_headers_replace (soup_message_get_request_headers (call->msg), "Authorization",
                                bearer);
  soup_session_send_and_read_async (call->self->rest, call->msg, G_PRIORITY_DEFAULT, NULL,
                                    on_rest_answered, call);
}

/* The platform admin's row, once the bootstrap has made it (and its
 * personal team and roles): a call right after activation waits for it. */
static void
on_admin (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  RestCall *call = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) admin = cf_auth_lookup_user_finish (CF_AUTH (source), result, &error);

  if (admin == NULL)
    {
      g_dbus_method_invocation_return_error (call->invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_FAILED,
                                             _("The platform admin is not there: %s"),
                                             error->message);
      rest_call_free (call);
      return;
    }
  send_as_admin (call, admin);
}

/* Sends @method @path (with @body, a JSON text) to the gateway's own REST
 * API as the platform admin (PLATFORM_ADMIN_EMAIL); @done answers
 * @invocation with what came back. A write is announced with
 * TenancyChanged by the registry it changed, as any other write is. */
static void
rest_call (CfDbusService         *self,
           GDBusMethodInvocation *invocation,
           const char            *method,
           const char            *path,
           const char            *body,
           RestDone               done)
{
  CfAuth *auth = cf_daemon_get_auth (self->daemon);
  const char *base = cf_daemon_get_listen_url (self->daemon);
  g_autofree char *url = NULL;
  RestCall *call;

  if (!_cf_dbus_service_check_ready (self, invocation))
    return;
  if (auth == NULL || base == NULL)
    {
      g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                     CF_DBUS_SERVICE_ERROR_FAILED,
                                                     _("The gateway is still starting"));
      return;
    }

  if (self->rest == NULL)
    self->rest = soup_session_new_with_options ("user-agent", PACKAGE_NAME "-dbus", NULL);
  url = g_strconcat (base, path, NULL);
  call = g_new0 (RestCall, 1);
  call->self = g_object_ref (self);
  call->invocation = invocation;
  call->done = done;
  call->msg = soup_message_new (method, url);
  if (call->msg == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT,
                                             _("Not a valid id: %s"), path);
      rest_call_free (call);
      return;
    }
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

      soup_message_set_request_body_from_bytes (call->msg, "application/json", bytes);
    }
  cf_auth_lookup_user_async (auth, cf_auth_get_config (auth)->admin_email, NULL, on_admin, call);
}

/* A JSON object from the caller, or an InvalidArgument answer. */
static gboolean
check_json_object (GDBusMethodInvocation *invocation,
                   const char            *text)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse (text, -1, &error);

  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
    return TRUE;
  g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                         CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT,
                                         _("The settings must be a JSON object: %s"),
                                         error ? error->message : _("not an object"));
  return FALSE;
}

/* An id goes into a URL path: only what ids are made of. */
static gboolean
check_id (GDBusMethodInvocation *invocation,
          const char            *id)
{
  if (*id != '\0' && strspn (id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
      == strlen (id))
    return TRUE;
  g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                         CF_DBUS_SERVICE_ERROR_NOT_FOUND,
                                         _("No such id: %s"), id);
  return FALSE;
}

static JsonArray *
answer_array (JsonNode   *answer,
              const char *member)
{
  return cf_json_object_get_array (answer_object (answer), member);
}

static void
answer_nothing (CfDbusService         *self,
                GDBusMethodInvocation *invocation,
                JsonNode              *answer)
{
  g_dbus_method_invocation_return_value (invocation, NULL);
}

/* Teams */

static void
answer_teams (CfDbusService         *self,
              GDBusMethodInvocation *invocation,
              JsonNode              *answer)
{
  JsonArray *teams = answer_array (answer, "teams");
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; teams != NULL && i < json_array_get_length (teams); i++)
    {
      JsonObject *team = json_array_get_object_element (teams, i);
      GVariantBuilder dict;
      gint64 members = 0;

      g_variant_builder_init (&dict, G_VARIANT_TYPE ("a{sv}"));
      _cf_dbus_service_add_string (&dict, "id", team, "id");
      _cf_dbus_service_add_string (&dict, "name", team, "name");
      _cf_dbus_service_add_string (&dict, "slug", team, "slug");
      _cf_dbus_service_add_string (&dict, "description", team, "description");
      _cf_dbus_service_add_string (&dict, "visibility", team, "visibility");
      _cf_dbus_service_add_bool (&dict, "is-personal", team, "is_personal", FALSE);
      cf_json_object_get_int (team, "member_count", &members);
      g_variant_builder_add (&dict, "{sv}", "member-count",
                             g_variant_new_uint32 ((guint32) CLAMP (members, 0, G_MAXUINT32)));
      g_variant_builder_add_value (&list, g_variant_builder_end (&dict));
    }
  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(aa{sv})", &list));
}

static void
answer_id (CfDbusService         *self,
           GDBusMethodInvocation *invocation,
           JsonNode              *answer)
{
  JsonObject *body = answer_object (answer);

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(s)",
                                                        cf_json_object_get_string (body, "id")
                                                        ?: ""));
}

static gboolean
handle_list_teams (CfDbusGateway         *skeleton,
                   GDBusMethodInvocation *invocation,
                   CfDbusService         *self)
{
  rest_call (self, invocation, "GET", "/v1/teams", NULL, answer_teams);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_create_team (CfDbusGateway         *skeleton,
                    GDBusMethodInvocation *invocation,
                    const char            *settings,
                    CfDbusService         *self)
{
  if (check_json_object (invocation, settings))
    rest_call (self, invocation, "POST", "/v1/teams", settings, answer_id);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_delete_team (CfDbusGateway         *skeleton,
                    GDBusMethodInvocation *invocation,
                    const char            *id,
                    CfDbusService         *self)
{
  g_autofree char *path = NULL;

  if (!check_id (invocation, id))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  path = g_strconcat ("/v1/teams/", id, NULL);
  rest_call (self, invocation, "DELETE", path, NULL, answer_nothing);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* API tokens */

static void
answer_tokens (CfDbusService         *self,
               GDBusMethodInvocation *invocation,
               JsonNode              *answer)
{
  JsonArray *tokens = answer_array (answer, "tokens");
  GVariantBuilder list;

  g_variant_builder_init (&list, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; tokens != NULL && i < json_array_get_length (tokens); i++)
    {
      JsonObject *token = json_array_get_object_element (tokens, i);
      GVariantBuilder dict;

      g_variant_builder_init (&dict, G_VARIANT_TYPE ("a{sv}"));
      _cf_dbus_service_add_string (&dict, "id", token, "id");
      _cf_dbus_service_add_string (&dict, "name", token, "name");
      _cf_dbus_service_add_string (&dict, "team-id", token, "team_id");
      _cf_dbus_service_add_string (&dict, "server-id", token, "server_id");
      _cf_dbus_service_add_string (&dict, "created-at", token, "created_at");
      _cf_dbus_service_add_string (&dict, "expires-at", token, "expires_at");
      _cf_dbus_service_add_string (&dict, "last-used", token, "last_used");
      _cf_dbus_service_add_bool (&dict, "is-active", token, "is_active", FALSE);
      _cf_dbus_service_add_bool (&dict, "is-revoked", token, "is_revoked", FALSE);
      g_variant_builder_add_value (&list, g_variant_builder_end (&dict));
    }
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(aa{sv})", &list));
}

/* TokenCreateResponse: {token: TokenResponse, access_token} */
static void
answer_token_created (CfDbusService         *self,
                      GDBusMethodInvocation *invocation,
                      JsonNode              *answer)
{
  JsonObject *body = answer_object (answer);
  JsonObject *token = cf_json_object_get_object (body, "token");

  g_dbus_method_invocation_return_value (invocation,
                                         g_variant_new ("(ss)",
                                                        cf_json_object_get_string (token, "id")
                                                        ?: "",
                                                        cf_json_object_get_string (body,
                                                                                   "access_token")
                                                        ?: ""));
}

static gboolean
handle_list_tokens (CfDbusGateway         *skeleton,
                    GDBusMethodInvocation *invocation,
                    CfDbusService         *self)
{
  rest_call (self, invocation, "GET", "/v1/tokens", NULL, answer_tokens);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_create_token (CfDbusGateway         *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char            *settings,
                     CfDbusService         *self)
{
  if (check_json_object (invocation, settings))
    rest_call (self, invocation, "POST", "/v1/tokens", settings, answer_token_created);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_revoke_token (CfDbusGateway         *skeleton,
                     GDBusMethodInvocation *invocation,
                     const char            *id,
                     const char            *reason,
                     CfDbusService         *self)
{
  JsonObject *body = json_object_new ();
  g_autoptr(JsonNode) node = cf_json_node_new_object (body);
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;

  if (!check_id (invocation, id))
    return G_DBUS_METHOD_INVOCATION_HANDLED;
  if (*reason != '\0')
    json_object_set_string_member (body, "reason", reason);
  text = cf_json_to_string (node, NULL);
  path = g_strconcat ("/v1/tokens/", id, NULL);
  rest_call (self, invocation, "DELETE", path, text, answer_nothing);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static void
on_teams_changed (CfTeams       *teams,
                  CfDbusService *self)
{
  cf_dbus_gateway_emit_tenancy_changed (self->skeleton, "teams");
}

static void
on_tokens_changed (CfTokens      *tokens,
                   CfDbusService *self)
{
  cf_dbus_gateway_emit_tenancy_changed (self->skeleton, "tokens");
}

/**
 * _cf_dbus_service_attach_tenancy:
 * @self: the service, with its gateway attached
 *
 * Announces every write to teams and tokens, whether it came over D-Bus,
 * REST or from another process on the database; the handlers go with
 * @self.
 */
void
_cf_dbus_service_attach_tenancy (CfDbusService *self)
{
  CfTeams *teams = cf_daemon_get_teams (self->daemon);
  CfTokens *tokens = cf_daemon_get_tokens (self->daemon);

  if (teams != NULL)
    g_signal_connect_object (teams, "changed", G_CALLBACK (on_teams_changed), self, 0);
  if (tokens != NULL)
    g_signal_connect_object (tokens, "changed", G_CALLBACK (on_tokens_changed), self, 0);
}

void
_cf_dbus_service_init_tenancy (CfDbusService *self)
{
  static const struct {
    const char *signal;
    GCallback   handler;
  } handlers[] = {
    { "handle-list-teams", G_CALLBACK (handle_list_teams) },
    { "handle-create-team", G_CALLBACK (handle_create_team) },
    { "handle-delete-team", G_CALLBACK (handle_delete_team) },
    { "handle-list-tokens", G_CALLBACK (handle_list_tokens) },
    { "handle-create-token", G_CALLBACK (handle_create_token) },
    { "handle-revoke-token", G_CALLBACK (handle_revoke_token) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect (self->skeleton, handlers[i].signal, handlers[i].handler, self);
}
