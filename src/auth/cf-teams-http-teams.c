/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-http"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-random.h"
#include "cf-teams-http-private.h"

#define INVITATION_EXPIRY_DAYS 7

static const char * const member_roles[] = { "owner", "member", NULL };
static const char * const team_visibilities[] = { "private", "public", NULL };

/* ContextForge's TeamResponse */
static JsonObject *
team_response (CfAccess   *access,
               JsonObject *team)
{
  JsonObject *out = json_object_new ();
  gint64 max = 0;

  _cf_teams_http_copy_string (out, team, "id");
  _cf_teams_http_copy_string (out, team, "name");
  _cf_teams_http_copy_string (out, team, "slug");
  _cf_teams_http_copy_string (out, team, "description");
  _cf_teams_http_copy_string (out, team, "created_by");
  json_object_set_boolean_member (out, "is_personal", _cf_teams_http_flag (team, "is_personal"));
  _cf_teams_http_copy_string (out, team, "visibility");
  if (cf_json_object_get_int (team, "max_members", &max))
    json_object_set_int_member (out, "max_members", max);
  else
    json_object_set_null_member (out, "max_members");
  json_object_set_int_member (out, "member_count",
                              cf_access_get_member_count (access,
                                                          cf_json_object_get_string (team, "id")));
  _cf_teams_http_copy_string (out, team, "created_at");
  _cf_teams_http_copy_string (out, team, "updated_at");
  json_object_set_boolean_member (out, "is_active", _cf_teams_http_flag (team, "is_active"));
  return out;
}

JsonObject *
_cf_teams_http_member_response (JsonObject *member)
{
  JsonObject *out = json_object_new ();
  g_autofree char *id = g_strdup_printf ("%s:%s", cf_json_object_get_string (member, "team_id"),
                                         cf_json_object_get_string (member, "user_email"));

  json_object_set_string_member (out, "id", id);
  _cf_teams_http_copy_string (out, member, "team_id");
  _cf_teams_http_copy_string (out, member, "user_email");
  _cf_teams_http_copy_string (out, member, "role");
  _cf_teams_http_copy_string (out, member, "joined_at");
  _cf_teams_http_copy_string (out, member, "invited_by");
  json_object_set_boolean_member (out, "is_active", TRUE);
  return out;
}

static gboolean
is_expired (JsonObject *invitation)
{
  g_autoptr(GDateTime) expires = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  const char *text = cf_json_object_get_string (invitation, "expires_at");

  expires = text ? g_date_time_new_from_iso8601 (text, NULL) : NULL;
  return expires == NULL || g_date_time_compare (expires, now) <= 0;
}

static JsonObject *
invitation_response (CfAccess   *access,
                     JsonObject *invitation,
                     const char *token)
{
  JsonObject *out = json_object_new ();
  JsonObject *team = cf_access_lookup_team (access,
                                            cf_json_object_get_string (invitation, "team_id"));

  _cf_teams_http_copy_string (out, invitation, "id");
  _cf_teams_http_copy_string (out, invitation, "team_id");
  if (team != NULL)
    _cf_teams_http_copy_string (out, team, "name");
  json_object_set_string_member (out, "team_name",
                                 team ? cf_json_object_get_string (team, "name") : "");
  json_object_remove_member (out, "name");
  _cf_teams_http_copy_string (out, invitation, "email");
  _cf_teams_http_copy_string (out, invitation, "role");
  _cf_teams_http_copy_string (out, invitation, "invited_by");
  _cf_teams_http_copy_string (out, invitation, "invited_at");
  _cf_teams_http_copy_string (out, invitation, "expires_at");
  if (token != NULL)
    json_object_set_string_member (out, "token", token);
  json_object_set_boolean_member (out, "is_active", _cf_teams_http_flag (invitation, "is_active"));
  json_object_set_boolean_member (out, "is_expired", is_expired (invitation));
  return out;
}

/* The team named by the path, if the caller may see it; 404 otherwise,
 * the same for a hidden team as for an unknown one. */
JsonObject *
_cf_teams_http_visible_team (Req        *req,
                             const char *team_id)
{
  JsonObject *team = cf_access_lookup_team (req->access, team_id);

  if (team != NULL && _cf_teams_http_flag (team, "is_active") &&
      (_cf_teams_http_caller_is_admin (req) ||
       cf_access_get_member_role (req->access, team_id, _cf_teams_http_caller (req)) != NULL ||
       g_strcmp0 (cf_json_object_get_string (team, "visibility"), "public") == 0))
    return team;
  _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Team not found");
  return NULL;
}

/* A team the caller owns (or any, for an admin). */
JsonObject *
_cf_teams_http_owned_team (Req        *req,
                           const char *team_id)
{
  JsonObject *team = _cf_teams_http_visible_team (req, team_id);

  if (team == NULL)
    return NULL;
  if (_cf_teams_http_caller_is_admin (req) ||
      g_strcmp0 (cf_access_get_member_role (req->access, team_id, _cf_teams_http_caller (req)),
                 "owner") == 0)
    return team;
  _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN, "Only a team owner can do this");
  return NULL;
}

static guint
count_owners (CfAccess   *access,
              const char *team_id)
{
  g_autoptr(GPtrArray) members = cf_access_list_members (access, team_id);
  guint owners = 0;

  for (guint i = 0; i < members->len; i++)
    owners += g_strcmp0 (cf_json_object_get_string (members->pdata[i], "role"), "owner") == 0;
  return owners;
}

/* Teams */

static void
respond_team_created (Req *req)
{
  _cf_teams_http_respond_object (req, SOUP_STATUS_CREATED,
                                 team_response (req->access,
                                                cf_access_lookup_team (req->access, req->id)));
}

static void
respond_team (Req *req)
{
  _cf_teams_http_respond_object (req, SOUP_STATUS_OK,
                                 team_response (req->access,
                                                cf_access_lookup_team (req->access, req->id)));
}

/* max_members: absent or null for no limit, else a positive integer. */
static gboolean
body_max_members (Req    *req,
                  char  **out)
{
  JsonNode *node = json_object_get_member (req->body, "max_members");

  *out = NULL;
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!cf_json_node_is_integer (node) || json_node_get_int (node) < 1 ||
      json_node_get_int (node) > 100000)
    {
      _cf_teams_http_respond_problem (req, "max_members", "int_type",
                                      "Input should be an integer between 1 and 100000");
      return FALSE;
    }
  *out = g_strdup_printf ("%" G_GINT64_FORMAT, json_node_get_int (node));
  return TRUE;
}

static gboolean
slug_is_valid (const char *slug)
{
  return *slug != '\0' && strspn (slug, "abcdefghijklmnopqrstuvwxyz0123456789-") == strlen (slug);
}

static void
handle_team_create (Req *req)
{
  const char *email = _cf_teams_http_require_user (req);
  const char *name, *slug_in, *description, *visibility;
  g_autofree char *max = NULL;
  g_autofree char *slug = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (email == NULL || !_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "name", TRUE, FALSE, 1, MAX_NAME, &name) ||
      !_cf_teams_http_body_string (req, "slug", FALSE, TRUE, 1, MAX_NAME, &slug_in) ||
      !_cf_teams_http_body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION,
                                   &description) ||
      !_cf_teams_http_body_choice (req, "visibility", team_visibilities, "private", &visibility) ||
      !body_max_members (req, &max))
    return;
  if (slug_in != NULL && !slug_is_valid (slug_in))
    {
      _cf_teams_http_respond_problem (req, "slug", "string_pattern_mismatch",
                                      "Slug must contain only lowercase letters, numbers, and hyphens");
      return;
    }
  if (slug_in != NULL && cf_access_find_team_by_slug (req->access, slug_in) != NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "A team with this slug already exists");
      return;
    }
  slug = slug_in ? g_strdup (slug_in) : cf_teams_unique_slug (req->access, NULL, name);
  req->id = cf_teams_new_id ();
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_TEAM_INSERT, req->id, name, slug,
                                                        description, email, "0", visibility, max));
  _cf_teams_http_add_membership_writes (writes, req->id, email, "owner", NULL);
  _cf_teams_http_submit (req, writes, respond_team_created);
}

static void
respond_teams (Req       *req,
               GPtrArray *teams)
{
  JsonObject *body = json_object_new ();
  JsonArray *array = json_array_new ();

  for (guint i = 0; i < teams->len; i++)
    json_array_add_object_element (array, team_response (req->access, teams->pdata[i]));
  json_object_set_array_member (body, "teams", array);
  json_object_set_int_member (body, "total", teams->len);
  _cf_teams_http_respond_object (req, SOUP_STATUS_OK, body);
}

static void
handle_team_list (Req *req)
{
  g_autoptr(GPtrArray) teams = NULL;
  JsonArray *all;

  if (_cf_teams_http_caller_is_admin (req))
    {
      all = cf_json_object_get_array (cf_access_get_state (req->access), "teams");
      teams = g_ptr_array_new ();
      for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
        g_ptr_array_add (teams, json_array_get_object_element (all, i));
    }
  else
    teams = cf_access_list_user_teams (req->access, _cf_teams_http_caller (req));
  respond_teams (req, teams);
}

static void
handle_team_discover (Req *req)
{
  JsonArray *all = cf_json_object_get_array (cf_access_get_state (req->access), "teams");
  JsonArray *out = json_array_new ();

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *team = json_array_get_object_element (all, i);
      const char *id = cf_json_object_get_string (team, "id");
      JsonObject *item;
      gint64 max = 0;

      if (g_strcmp0 (cf_json_object_get_string (team, "visibility"), "public") != 0 ||
          !_cf_teams_http_flag (team, "is_active") || _cf_teams_http_flag (team, "is_personal") ||
          cf_access_get_member_role (req->access, id, _cf_teams_http_caller (req)) != NULL)
        continue;
      item = json_object_new ();
      _cf_teams_http_copy_string (item, team, "id");
      _cf_teams_http_copy_string (item, team, "name");
      _cf_teams_http_copy_string (item, team, "description");
      json_object_set_int_member (item, "member_count",
                                  cf_access_get_member_count (req->access, id));
      _cf_teams_http_copy_string (item, team, "created_at");
      json_object_set_boolean_member (item, "is_joinable",
                                      !cf_json_object_get_int (team, "max_members", &max) ||
                                      cf_access_get_member_count (req->access, id) < max);
      json_array_add_object_element (out, item);
    }
  _cf_teams_http_respond_array (req, SOUP_STATUS_OK, out);
}

static void
handle_team_get (Req *req)
{
  JsonObject *team = _cf_teams_http_visible_team (req, req->args[0]);

  if (team != NULL)
    _cf_teams_http_respond_object (req, SOUP_STATUS_OK, team_response (req->access, team));
}

static void
handle_team_update (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  const char *name, *slug, *description, *visibility;
  g_autofree char *max = NULL;
  g_autoptr(GPtrArray) writes = NULL;
  gint64 old_max = 0;

  if (team == NULL || !_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "name", FALSE, FALSE, 1, MAX_NAME, &name) ||
      !_cf_teams_http_body_string (req, "slug", FALSE, TRUE, 1, MAX_NAME, &slug) ||
      !_cf_teams_http_body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION,
                                   &description) ||
      !_cf_teams_http_body_choice (req, "visibility", team_visibilities, NULL, &visibility) ||
      !body_max_members (req, &max))
    return;
  if (slug != NULL && !slug_is_valid (slug))
    {
      _cf_teams_http_respond_problem (req, "slug", "string_pattern_mismatch",
                                      "Slug must contain only lowercase letters, numbers, and hyphens");
      return;
    }
  if (slug != NULL && cf_access_find_team_by_slug (req->access, slug) != NULL &&
      cf_access_find_team_by_slug (req->access, slug) != team)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "A team with this slug already exists");
      return;
    }
  if (_cf_teams_http_flag (team, "is_personal") && g_strcmp0 (visibility, "public") == 0)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "A personal team cannot be made public");
      return;
    }
  if (max == NULL && !json_object_has_member (req->body, "max_members") &&
      cf_json_object_get_int (team, "max_members", &old_max))
    max = g_strdup_printf ("%" G_GINT64_FORMAT, old_max);
  if (!json_object_has_member (req->body, "description"))
    description = cf_json_object_get_string (team, "description");
  req->id = g_strdup (req->args[0]);
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (
    writes,
    cf_store_tenancy_write_new (CF_STORE_TEAM_UPDATE, req->id,
                                name ?: cf_json_object_get_string (team, "name"),
                                slug ?: cf_json_object_get_string (team, "slug"),
                                description,
                                visibility ?: cf_json_object_get_string (team, "visibility"),
                                max));
  _cf_teams_http_submit (req, writes, respond_team);
}

static void
respond_team_deleted (Req *req)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "message", "Team deleted successfully");
  _cf_teams_http_respond_object (req, SOUP_STATUS_OK, body);
}

static void
handle_team_delete (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  g_autoptr(GPtrArray) writes = NULL;

  if (team == NULL)
    return;
  if (_cf_teams_http_flag (team, "is_personal"))
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "A personal team cannot be deleted");
      return;
    }
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_TEAM_DELETE, req->args[0]));
  _cf_teams_http_submit (req, writes, respond_team_deleted);
}

/* Members */

static void
handle_members_list (Req *req)
{
  JsonObject *team = _cf_teams_http_visible_team (req, req->args[0]);
  g_autoptr(GPtrArray) members = NULL;
  JsonArray *out;

  if (team == NULL)
    return;
  if (!_cf_teams_http_caller_is_admin (req) &&
      cf_access_get_member_role (req->access, req->args[0], _cf_teams_http_caller (req)) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN,
                                     "Only team members can see the members");
      return;
    }
  members = cf_access_list_members (req->access, req->args[0]);
  out = json_array_new ();
  for (guint i = 0; i < members->len; i++)
    json_array_add_object_element (out, _cf_teams_http_member_response (members->pdata[i]));
  _cf_teams_http_respond_array (req, SOUP_STATUS_OK, out);
}

static void
respond_member (Req *req)
{
  g_autoptr(GPtrArray) members = cf_access_list_members (req->access, req->args[0]);

  for (guint i = 0; i < members->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (members->pdata[i], "user_email"), req->id) == 0)
      {
        _cf_teams_http_respond_object (req, req->token ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                                       _cf_teams_http_member_response (members->pdata[i]));
        return;
      }
  _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
}

/* Members join no personal team, and no team beyond its size. */
gboolean
_cf_teams_http_check_can_join (Req        *req,
                               JsonObject *team,
                               const char *email)
{
  const char *team_id = cf_json_object_get_string (team, "id");
  gint64 max = 0;

  if (_cf_teams_http_flag (team, "is_personal"))
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "Nobody else can join a personal team");
      return FALSE;
    }
  if (cf_access_get_member_role (req->access, team_id, email) != NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "The user is already a member of the team");
      return FALSE;
    }
  if (cf_json_object_get_int (team, "max_members", &max) &&
      cf_access_get_member_count (req->access, team_id) >= max)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "The team has reached its maximum member limit");
      return FALSE;
    }
  return TRUE;
}

static void
handle_member_add (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  const char *email, *role;
  g_autoptr(GPtrArray) writes = NULL;

  if (team == NULL || !_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "email", TRUE, FALSE, 3, MAX_NAME, &email) ||
      !_cf_teams_http_body_choice (req, "role", member_roles, "member", &role))
    return;
  if (cf_access_lookup_user (req->access, email) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
      return;
    }
  if (!_cf_teams_http_check_can_join (req, team, email))
    return;
  req->id = g_strdup (email);
  req->token = g_strdup ("created");
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_membership_writes (writes, req->args[0], email, role,
                                        _cf_teams_http_caller (req));
  _cf_teams_http_submit (req, writes, respond_member);
}

static void
handle_member_update (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  const char *role;
  const char *current;
  g_autoptr(GPtrArray) writes = NULL;
  g_autofree char *assignment = cf_teams_new_id ();

  if (team == NULL || !_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_choice (req, "role", member_roles, NULL, &role))
    return;
  if (role == NULL)
    {
      _cf_teams_http_respond_problem (req, "role", "missing", "Field required");
      return;
    }
  current = cf_access_get_member_role (req->access, req->args[0], req->args[1]);
  if (current == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
      return;
    }
  if (g_str_equal (current, "owner") && !g_str_equal (role, "owner") &&
      count_owners (req->access, req->args[0]) <= 1)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "A team needs at least one owner");
      return;
    }
  req->id = g_strdup (req->args[1]);
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_MEMBER_SET_ROLE, req->args[0],
                                                        req->args[1], role));
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_USER_ROLE_CLEAR, req->args[1],
                                                        req->args[0]));
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, assignment,
                                                        req->args[1],
                                                        _cf_teams_http_role_for_member (role),
                                                        "team", req->args[0],
                                                        _cf_teams_http_caller (req), NULL));
  _cf_teams_http_submit (req, writes, respond_member);
}

/* Removes @email from the team, and its roles in it. */
static void
remove_member (Req        *req,
               JsonObject *team,
               const char *email,
               const char *message)
{
  const char *team_id = cf_json_object_get_string (team, "id");
  const char *current = cf_access_get_member_role (req->access, team_id, email);
  g_autoptr(GPtrArray) writes = NULL;

  if (current == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
      return;
    }
  if (_cf_teams_http_flag (team, "is_personal"))
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "Nobody can leave a personal team");
      return;
    }
  if (g_str_equal (current, "owner") && count_owners (req->access, team_id) <= 1)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST,
                                     "A team needs at least one owner");
      return;
    }
  req->token = g_strdup (message);
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_MEMBER_REMOVE, team_id, email));
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_USER_ROLE_CLEAR, email, team_id));
  _cf_teams_http_submit (req, writes, _cf_teams_http_respond_removed);
}

static void
handle_member_remove (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);

  if (team != NULL)
    remove_member (req, team, req->args[1], "Member removed successfully");
}

static void
handle_team_leave (Req *req)
{
  const char *email = _cf_teams_http_require_user (req);
  JsonObject *team = email ? _cf_teams_http_visible_team (req, req->args[0]) : NULL;

  if (team != NULL)
    remove_member (req, team, email, "Successfully left the team");
}

/* Invitations */

static void
respond_invitation_created (Req *req)
{
  JsonObject *invitation = cf_access_find_invitation (req->access, "id", req->id);

  _cf_teams_http_respond_object (req, SOUP_STATUS_CREATED,
                                 invitation_response (req->access, invitation, req->token));
}

static void
handle_invite (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  const char *email, *role;
  g_autoptr(GPtrArray) writes = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) expires = g_date_time_add_days (now, INVITATION_EXPIRY_DAYS);
  g_autofree char *expires_at = g_date_time_format (expires, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *hash = NULL;

  if (team == NULL || !_cf_teams_http_read_body (req, TRUE) ||
      !_cf_teams_http_body_string (req, "email", TRUE, FALSE, 3, MAX_NAME, &email) ||
      !_cf_teams_http_body_choice (req, "role", member_roles, "member", &role))
    return;
  if (strchr (email, '@') == NULL)
    {
      _cf_teams_http_respond_problem (req, "email", "value_error",
                                      "value is not a valid email address");
      return;
    }
  if (!_cf_teams_http_check_can_join (req, team, email))
    return;
  req->id = cf_teams_new_id ();
  req->token = cf_random_hex (32);
  hash = cf_teams_hash_token (req->token);
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_INVITATION_INSERT, req->id,
                                                        req->args[0], email, role,
                                                        _cf_teams_http_caller (req), hash,
                                                        expires_at));
  _cf_teams_http_submit (req, writes, respond_invitation_created);
}

static void
handle_invitations_list (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  JsonArray *all, *out;

  if (team == NULL)
    return;
  all = cf_json_object_get_array (cf_access_get_state (req->access), "invitations");
  out = json_array_new ();
  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *invitation = json_array_get_object_element (all, i);

      if (g_strcmp0 (cf_json_object_get_string (invitation, "team_id"), req->args[0]) == 0)
        json_array_add_object_element (out, invitation_response (req->access, invitation, NULL));
    }
  _cf_teams_http_respond_array (req, SOUP_STATUS_OK, out);
}

static void
respond_accepted (Req *req)
{
  g_autoptr(GPtrArray) members = cf_access_list_members (req->access, req->id);

  for (guint i = 0; i < members->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (members->pdata[i], "user_email"),
                   _cf_teams_http_caller (req)) == 0)
      {
        _cf_teams_http_respond_object (req, SOUP_STATUS_OK, _cf_teams_http_member_response (members->pdata[i]));
        return;
      }
  _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
}

static void
handle_invitation_accept (Req *req)
{
  const char *email = _cf_teams_http_require_user (req);
  g_autofree char *hash = cf_teams_hash_token (req->args[0]);
  JsonObject *invitation;
  JsonObject *team;
  g_autoptr(GPtrArray) writes = NULL;

  if (email == NULL)
    return;
  invitation = cf_access_find_invitation (req->access, "token_hash", hash);
  team = invitation ? cf_access_lookup_team (req->access,
                                             cf_json_object_get_string (invitation, "team_id"))
                    : NULL;
  if (invitation == NULL || team == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Invitation not found");
      return;
    }
  if (is_expired (invitation))
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST, "Invitation has expired");
      return;
    }
  if (g_ascii_strcasecmp (cf_json_object_get_string (invitation, "email"), email) != 0)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN,
                                     "The invitation is for another user");
      return;
    }
  if (!_cf_teams_http_check_can_join (req, team, email))
    return;
  req->id = g_strdup (cf_json_object_get_string (team, "id"));
  writes = _cf_teams_http_new_writes ();
  /* Closing it must change it: a second accept at once fails here. */
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_INVITATION_CLOSE,
                                                        cf_json_object_get_string (invitation,
                                                                                   "id")));
  _cf_teams_http_add_membership_writes (writes, req->id, email,
                                        cf_json_object_get_string (invitation, "role"),
                                        cf_json_object_get_string (invitation, "invited_by"));
  _cf_teams_http_submit (req, writes, respond_accepted);
}

static void
handle_invitation_cancel (Req *req)
{
  JsonObject *invitation = cf_access_find_invitation (req->access, "id", req->args[0]);
  const char *team_id = invitation ? cf_json_object_get_string (invitation, "team_id") : NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (invitation == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Invitation not found");
      return;
    }
  if (!_cf_teams_http_caller_is_admin (req) &&
      g_strcmp0 (cf_json_object_get_string (invitation, "invited_by"),
                 _cf_teams_http_caller (req)) != 0 &&
      g_strcmp0 (cf_access_get_member_role (req->access, team_id, _cf_teams_http_caller (req)),
                 "owner") != 0)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN, "Only a team owner can do this");
      return;
    }
  req->token = g_strdup ("Invitation cancelled successfully");
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_INVITATION_CLOSE, req->args[0]));
  _cf_teams_http_submit (req, writes, _cf_teams_http_respond_removed);
}

/* Routing */

/* Below /teams; "{}" captures one segment. Literal rows first. */
const Route _cf_teams_http_team_routes[] = {
  { "GET", "/discover", handle_team_discover },
  { "POST", "", handle_team_create },
  { "GET", "", handle_team_list },
  { "POST", "/invitations/{}/accept", handle_invitation_accept },
  { "DELETE", "/invitations/{}", handle_invitation_cancel },
  { "GET", "/{}", handle_team_get },
  { "PUT", "/{}", handle_team_update },
  { "DELETE", "/{}", handle_team_delete },
  { "GET", "/{}/members", handle_members_list },
  { "POST", "/{}/members", handle_member_add },
  { "PUT", "/{}/members/{}", handle_member_update },
  { "DELETE", "/{}/members/{}", handle_member_remove },
  { "POST", "/{}/invitations", handle_invite },
  { "GET", "/{}/invitations", handle_invitations_list },
  { "DELETE", "/{}/leave", handle_team_leave },
  { "POST", "/{}/join", _cf_teams_http_handle_join },
  { "GET", "/{}/join-requests", _cf_teams_http_handle_join_list },
  { "POST", "/{}/join-requests/{}/approve", _cf_teams_http_handle_join_approve },
  { "DELETE", "/{}/join-requests/{}", _cf_teams_http_handle_join_close },
  { NULL, NULL, NULL },
};
