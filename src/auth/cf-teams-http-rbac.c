/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-http"

#include "config.h"

#include "cf-json.h"
#include "cf-teams-http-private.h"

static const char * const role_scopes[] = { "global", "team", "personal", NULL };

/* RBAC */

static JsonArray *
permissions_array (const char *json)
{
  g_autoptr(JsonNode) node = json ? cf_json_parse (json, -1, NULL) : NULL;

  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    return json_array_ref (json_node_get_array (node));
  return json_array_new ();
}

static JsonObject *
role_response (JsonObject *role)
{
  JsonObject *out = json_object_new ();

  _cf_teams_http_copy_string (out, role, "id");
  _cf_teams_http_copy_string (out, role, "name");
  _cf_teams_http_copy_string (out, role, "description");
  _cf_teams_http_copy_string (out, role, "scope");
  json_object_set_array_member (out, "permissions",
                                permissions_array (cf_json_object_get_string (role,
                                                                              "permissions")));
  _cf_teams_http_copy_string (out, role, "inherits_from");
  _cf_teams_http_copy_string (out, role, "created_by");
  json_object_set_boolean_member (out, "is_system_role",
                                  _cf_teams_http_flag (role, "is_system_role"));
  json_object_set_boolean_member (out, "is_active", _cf_teams_http_flag (role, "is_active"));
  _cf_teams_http_copy_string (out, role, "created_at");
  _cf_teams_http_copy_string (out, role, "updated_at");
  return out;
}

static JsonObject *
user_role_response (CfAccess   *access,
                    JsonObject *assignment)
{
  JsonObject *out = json_object_new ();
  JsonObject *role = cf_access_lookup_role (access,
                                            cf_json_object_get_string (assignment, "role_id"));

  _cf_teams_http_copy_string (out, assignment, "id");
  _cf_teams_http_copy_string (out, assignment, "user_email");
  _cf_teams_http_copy_string (out, assignment, "role_id");
  json_object_set_string_member (out, "role_name",
                                 role ? cf_json_object_get_string (role, "name") : "");
  _cf_teams_http_copy_string (out, assignment, "scope");
  _cf_teams_http_copy_string (out, assignment, "scope_id");
  _cf_teams_http_copy_string (out, assignment, "granted_by");
  _cf_teams_http_copy_string (out, assignment, "granted_at");
  _cf_teams_http_copy_string (out, assignment, "expires_at");
  json_object_set_boolean_member (out, "is_active", _cf_teams_http_flag (assignment, "is_active"));
  return out;
}

/* permissions: a list of known permission strings; returns the JSON text
 * to store, or %NULL once answered. */
static char *
body_permissions (Req      *req,
                  gboolean  required)
{
  JsonNode *node = json_object_get_member (req->body, "permissions");
  JsonArray *array;

  if (node == NULL && !required)
    return NULL;
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    {
      _cf_teams_http_respond_problem (req, "permissions", node ? "list_type" : "missing",
                                      node ? "Input should be a valid list" : "Field required");
      return NULL;
    }
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);

      if (!cf_json_node_is_string (item) ||
          !cf_rbac_permission_is_valid (json_node_get_string (item)))
        {
          g_autofree char *message = g_strdup_printf ("Unknown permission: %s",
                                                      cf_json_node_is_string (item)
                                                      ? json_node_get_string (item) : "?");

          _cf_teams_http_respond_problem (req, "permissions", "value_error", message);
          return NULL;
        }
    }
  return cf_json_to_string (node, NULL);
}

static void
respond_role (Req *req)
{
  _cf_teams_http_respond_object (req, req->token ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                                 role_response (cf_access_lookup_role (req->access, req->id)));
}

static void
handle_role_create (Req *req)
{
  const char *name, *description, *scope, *inherits;
  g_autofree char *permissions = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (!_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "name", TRUE, FALSE, 1, MAX_NAME, &name) ||
      !_cf_teams_http_body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION,
                                   &description) ||
      !_cf_teams_http_body_choice (req, "scope", role_scopes, NULL, &scope) ||
      !_cf_teams_http_body_string (req, "inherits_from", FALSE, TRUE, 1, MAX_NAME, &inherits))
    return;
  if (scope == NULL)
    {
      _cf_teams_http_respond_problem (req, "scope", "missing", "Field required");
      return;
    }
  if ((permissions = body_permissions (req, TRUE)) == NULL)
    return;
  if (cf_access_lookup_role (req->access, name) != NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "A role with this name already exists");
      return;
    }
  if (inherits != NULL && cf_access_lookup_role (req->access, inherits) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Parent role not found");
      return;
    }
  req->id = cf_teams_new_id ();
  req->token = g_strdup ("created");
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes, cf_store_tenancy_write_new (
    CF_STORE_ROLE_PUT, req->id, name, description, scope, permissions,
    inherits ? cf_json_object_get_string (cf_access_lookup_role (req->access, inherits), "id")
                            : NULL,
    "0", _cf_teams_http_caller (req)));
  _cf_teams_http_submit (req, writes, respond_role);
}

static void
handle_role_list (Req *req)
{
  JsonArray *all = cf_json_object_get_array (cf_access_get_state (req->access), "roles");
  JsonArray *out = json_array_new ();

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    json_array_add_object_element (out, role_response (json_array_get_object_element (all, i)));
  _cf_teams_http_respond_array (req, SOUP_STATUS_OK, out);
}

static JsonObject *
path_role (Req *req)
{
  JsonObject *role = cf_access_lookup_role (req->access, req->args[0]);

  if (role == NULL)
    _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Role not found");
  return role;
}

static void
handle_role_get (Req *req)
{
  JsonObject *role = path_role (req);

  if (role != NULL)
    _cf_teams_http_respond_object (req, SOUP_STATUS_OK, role_response (role));
}

static void
handle_role_update (Req *req)
{
  JsonObject *role = path_role (req);
  const char *name, *description;
  g_autofree char *permissions = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (role == NULL)
    return;
  if (_cf_teams_http_flag (role, "is_system_role"))
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "System roles cannot be changed");
      return;
    }
  if (!_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "name", FALSE, FALSE, 1, MAX_NAME, &name) ||
      !_cf_teams_http_body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION,
                                   &description))
    return;
  if (json_object_has_member (req->body, "permissions") &&
      (permissions = body_permissions (req, TRUE)) == NULL)
    return;
  if (name != NULL && cf_access_lookup_role (req->access, name) != NULL &&
      cf_access_lookup_role (req->access, name) != role)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "A role with this name already exists");
      return;
    }
  req->id = g_strdup (cf_json_object_get_string (role, "id"));
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes, cf_store_tenancy_write_new (
    CF_STORE_ROLE_PUT, req->id, name ?: cf_json_object_get_string (role, "name"),
    json_object_has_member (req->body, "description")
    ? description : cf_json_object_get_string (role, "description"),
    cf_json_object_get_string (role, "scope"),
    permissions ?: cf_json_object_get_string (role, "permissions"),
    cf_json_object_get_string (role, "inherits_from"), "0",
    cf_json_object_get_string (role, "created_by")));
  _cf_teams_http_submit (req, writes, respond_role);
}

static void
handle_role_delete (Req *req)
{
  JsonObject *role = path_role (req);
  g_autoptr(GPtrArray) writes = NULL;

  if (role == NULL)
    return;
  if (_cf_teams_http_flag (role, "is_system_role"))
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "System roles cannot be deleted");
      return;
    }
  req->token = g_strdup ("Role deleted successfully");
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_ROLE_DELETE,
                                                        cf_json_object_get_string (role, "id")));
  _cf_teams_http_submit (req, writes, _cf_teams_http_respond_removed);
}

static void
respond_user_roles_of (Req        *req,
                       const char *email,
                       guint       status)
{
  g_autoptr(GPtrArray) assignments = cf_access_list_user_roles (req->access, email);
  JsonArray *out = json_array_new ();

  for (guint i = 0; i < assignments->len; i++)
    json_array_add_object_element (out, user_role_response (req->access,
                                                            assignments->pdata[i]));
  _cf_teams_http_respond_array (req, status, out);
}

static void
respond_assignment (Req *req)
{
  g_autoptr(GPtrArray) assignments = cf_access_list_user_roles (req->access, req->args[0]);

  for (guint i = 0; i < assignments->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (assignments->pdata[i], "role_id"), req->id) == 0 &&
        g_strcmp0 (cf_json_object_get_string (assignments->pdata[i], "scope_id"),
                   req->token) == 0)
      {
        _cf_teams_http_respond_object (req, SOUP_STATUS_CREATED,
                                       user_role_response (req->access, assignments->pdata[i]));
        return;
      }
  _cf_teams_http_respond_detail (req, SOUP_STATUS_INTERNAL_SERVER_ERROR,
                                 "The role was not assigned");
}

static void
handle_user_role_assign (Req *req)
{
  const char *role_ref, *scope, *scope_id, *expires_text;
  JsonObject *role;
  g_autofree char *id = cf_teams_new_id ();
  g_autofree char *expires_at = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (!_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "role_id", TRUE, FALSE, 1, MAX_NAME, &role_ref) ||
      !_cf_teams_http_body_choice (req, "scope", role_scopes, NULL, &scope) ||
      !_cf_teams_http_body_string (req, "scope_id", FALSE, TRUE, 1, MAX_NAME, &scope_id) ||
      !_cf_teams_http_body_string (req, "expires_at", FALSE, TRUE, 1, 64, &expires_text))
    return;
  /* ContextForge's UserRoleAssign: the assignment lapses then. */
  if (expires_text != NULL)
    {
      g_autoptr(GDateTime) expires = g_date_time_new_from_iso8601 (expires_text, NULL);
      g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
      g_autoptr(GDateTime) utc = NULL;

      if (expires == NULL || g_date_time_compare (expires, now) <= 0)
        {
          _cf_teams_http_respond_problem (req, "expires_at", "value_error",
                                          "expires_at is a time in the future, in ISO 8601 "
                                          "with a time zone");
          return;
        }
      utc = g_date_time_to_utc (expires);
      expires_at = g_date_time_format (utc, "%Y-%m-%dT%H:%M:%SZ");
    }
  if (cf_access_lookup_user (req->access, req->args[0]) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
      return;
    }
  if ((role = cf_access_lookup_role (req->access, role_ref)) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Role not found");
      return;
    }
  if (scope == NULL)
    scope = cf_json_object_get_string (role, "scope");
  if (g_strcmp0 (scope, cf_json_object_get_string (role, "scope")) != 0)
    {
      _cf_teams_http_respond_problem (req, "scope", "value_error",
                                      "The scope must be the role's own scope");
      return;
    }
  if (g_str_equal (scope, "team") != (scope_id != NULL))
    {
      _cf_teams_http_respond_problem (req, "scope_id", "value_error",
                                      "A team role needs the team's id as scope_id, and only a team role");
      return;
    }
  if (scope_id != NULL && cf_access_lookup_team (req->access, scope_id) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Team not found");
      return;
    }
  req->id = g_strdup (cf_json_object_get_string (role, "id"));
  req->token = g_strdup (scope_id);
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, id, req->args[0],
                                                        req->id, scope, scope_id,
                                                        _cf_teams_http_caller (req), expires_at));
  _cf_teams_http_submit (req, writes, respond_assignment);
}

static void
handle_user_roles_list (Req *req)
{
  if (cf_access_lookup_user (req->access, req->args[0]) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
      return;
    }
  respond_user_roles_of (req, req->args[0], SOUP_STATUS_OK);
}

static void
handle_user_role_revoke (Req *req)
{
  JsonObject *role = cf_access_lookup_role (req->access, req->args[1]);
  const char *scope_id = req->query ? g_hash_table_lookup (req->query, "scope_id") : NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (role == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Role not found");
      return;
    }
  req->token = g_strdup ("Role revoked successfully");
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_USER_ROLE_REMOVE, req->args[0],
                                                        cf_json_object_get_string (role, "id"),
                                                        scope_id));
  _cf_teams_http_submit (req, writes, _cf_teams_http_respond_removed);
}

static CfIdentity *
identity_of (CfAccess   *access,
             const char *email)
{
  g_autoptr(JsonObject) claims = json_object_new ();
  JsonObject *user = json_object_new ();

  json_object_set_string_member (claims, "sub", email);
  json_object_set_string_member (claims, "token_use", "session");
  json_object_set_string_member (user, "email", email);
  json_object_set_boolean_member (user, "is_admin", cf_access_user_is_admin (access, email));
  json_object_set_object_member (claims, "user", user);
  return cf_identity_new_from_claims (claims, NULL);
}

static void
handle_permission_check (Req *req)
{
  const char *email, *permission, *team_id;
  g_autoptr(CfIdentity) subject = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autofree char *checked_at = g_date_time_format_iso8601 (now);
  JsonObject *body;

  if (!_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "user_email", TRUE, FALSE, 1, MAX_NAME, &email) ||
      !_cf_teams_http_body_string (req, "permission", TRUE, FALSE, 1, MAX_NAME, &permission) ||
      !_cf_teams_http_body_string (req, "team_id", FALSE, TRUE, 1, MAX_NAME, &team_id))
    return;
  subject = identity_of (req->access, email);
  body = json_object_new ();
  json_object_set_string_member (body, "user_email", email);
  json_object_set_string_member (body, "permission", permission);
  if (team_id != NULL)
    json_object_set_string_member (body, "team_id", team_id);
  else
    json_object_set_null_member (body, "team_id");
  json_object_set_boolean_member (body, "granted",
                                  subject != NULL &&
                                  cf_rbac_check (req->access, subject, permission, team_id));
  json_object_set_string_member (body, "checked_at", checked_at);
  _cf_teams_http_respond_object (req, SOUP_STATUS_OK, body);
}

static void
respond_permissions_of (Req        *req,
                        const char *email)
{
  const char *team_id = req->query ? g_hash_table_lookup (req->query, "team_id") : NULL;
  g_auto(GStrv) permissions = cf_access_get_permissions (req->access, email, team_id);
  JsonArray *out = json_array_new ();

  for (guint i = 0; permissions[i] != NULL; i++)
    json_array_add_string_element (out, permissions[i]);
  _cf_teams_http_respond_array (req, SOUP_STATUS_OK, out);
}

static void
handle_user_permissions (Req *req)
{
  if (cf_access_lookup_user (req->access, req->args[0]) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
      return;
    }
  respond_permissions_of (req, req->args[0]);
}

static void
handle_permissions_available (Req *req)
{
  const char * const *all = cf_rbac_get_all_permissions ();
  JsonObject *body = json_object_new ();
  JsonArray *list = json_array_new ();
  JsonObject *by_resource = json_object_new ();
  guint n = 0;

  for (; all[n] != NULL; n++)
    {
      const char *dot = strpbrk (all[n], ".:");
      g_autofree char *resource = dot ? g_strndup (all[n], dot - all[n]) : g_strdup (all[n]);
      JsonArray *group = cf_json_object_get_array (by_resource, resource);

      json_array_add_string_element (list, all[n]);
      if (group == NULL)
        {
          group = json_array_new ();
          json_object_set_array_member (by_resource, resource, group);
        }
      json_array_add_string_element (group, all[n]);
    }
  json_object_set_array_member (body, "all_permissions", list);
  json_object_set_object_member (body, "permissions_by_resource", by_resource);
  json_object_set_int_member (body, "total_count", n);
  _cf_teams_http_respond_object (req, SOUP_STATUS_OK, body);
}

static void
handle_my_roles (Req *req)
{
  const char *email = _cf_teams_http_require_user (req);

  if (email != NULL)
    respond_user_roles_of (req, email, SOUP_STATUS_OK);
}

static void
handle_my_permissions (Req *req)
{
  const char *email = _cf_teams_http_require_user (req);

  if (email != NULL)
    respond_permissions_of (req, email);
}

/* Routing */

const Route _cf_teams_http_rbac_routes[] = {
  { "POST", "/roles", handle_role_create },
  { "GET", "/roles", handle_role_list },
  { "POST", "/permissions/check", handle_permission_check },
  { "GET", "/permissions/available", handle_permissions_available },
  { "GET", "/my/roles", handle_my_roles },
  { "GET", "/my/permissions", handle_my_permissions },
  { "GET", "/roles/{}", handle_role_get },
  { "PUT", "/roles/{}", handle_role_update },
  { "DELETE", "/roles/{}", handle_role_delete },
  { "POST", "/users/{}/roles", handle_user_role_assign },
  { "GET", "/users/{}/roles", handle_user_roles_list },
  { "DELETE", "/users/{}/roles/{}", handle_user_role_revoke },
  { "GET", "/permissions/user/{}", handle_user_permissions },
  { NULL, NULL, NULL },
};
