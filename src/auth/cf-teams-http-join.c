/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-http"

#include "config.h"

#include "cf-json.h"
#include "cf-teams-http-private.h"

/* Requests to join a public team: a user asks (`POST /teams/{id}/join`),
 * the team's owner lists, approves or rejects them, and the user may
 * withdraw one. ContextForge's join requests. */

#define MAX_MESSAGE 1000

static JsonObject *
join_request_response (JsonObject *request)
{
  JsonObject *out = json_object_new ();

  _cf_teams_http_copy_string (out, request, "id");
  _cf_teams_http_copy_string (out, request, "team_id");
  _cf_teams_http_copy_string (out, request, "user_email");
  _cf_teams_http_copy_string (out, request, "message");
  _cf_teams_http_copy_string (out, request, "status");
  _cf_teams_http_copy_string (out, request, "requested_at");
  return out;
}

/* The user's pending request to join @team_id, if any. */
static JsonObject *
pending_request_of (CfAccess   *access,
                    const char *team_id,
                    const char *email)
{
  JsonArray *all = cf_json_object_get_array (cf_access_get_state (access), "join_requests");

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *request = json_array_get_object_element (all, i);

      if (g_strcmp0 (cf_json_object_get_string (request, "team_id"), team_id) == 0 &&
          g_strcmp0 (cf_json_object_get_string (request, "user_email"), email) == 0)
        return request;
    }
  return NULL;
}

static void
respond_request_created (Req *req)
{
  JsonObject *request = cf_access_find_join_request (req->access, "id", req->id);

  if (request == NULL)
    _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Join request not found");
  else
    _cf_teams_http_respond_object (req, SOUP_STATUS_CREATED, join_request_response (request));
}

/* POST /teams/{id}/join {"message": ...}: public teams only; members,
 * and users with a request pending, get a 409. */
void
_cf_teams_http_handle_join (Req *req)
{
  const char *email = _cf_teams_http_require_user (req);
  const char *message = NULL;
  JsonObject *team;
  g_autoptr(GPtrArray) writes = NULL;

  if (email == NULL || !_cf_teams_http_read_body (req, FALSE) ||
      !_cf_teams_http_body_string (req, "message", FALSE, TRUE, 0, MAX_MESSAGE, &message) ||
      (team = _cf_teams_http_visible_team (req, req->args[0])) == NULL)
    return;
  if (g_strcmp0 (cf_json_object_get_string (team, "visibility"), "public") != 0)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN,
                                     "Only public teams take join requests; ask for an "
                                     "invitation");
      return;
    }
  if (!_cf_teams_http_check_can_join (req, team, email))
    return;
  if (pending_request_of (req->access, req->args[0], email) != NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT,
                                     "A request to join this team is pending already");
      return;
    }
  req->id = cf_teams_new_id ();
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_JOIN_REQUEST_INSERT, req->id,
                                                        req->args[0], email, message));
  _cf_teams_http_submit (req, writes, respond_request_created);
}

/* GET /teams/{id}/join-requests: the pending ones, for the owner */
void
_cf_teams_http_handle_join_list (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  JsonArray *all, *out;

  if (team == NULL)
    return;
  all = cf_json_object_get_array (cf_access_get_state (req->access), "join_requests");
  out = json_array_new ();
  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    {
      JsonObject *request = json_array_get_object_element (all, i);

      if (g_strcmp0 (cf_json_object_get_string (request, "team_id"), req->args[0]) == 0)
        json_array_add_object_element (out, join_request_response (request));
    }
  _cf_teams_http_respond_array (req, SOUP_STATUS_OK, out);
}

/* The pending request of the path's team and id; 404 otherwise. */
static JsonObject *
path_request (Req *req)
{
  JsonObject *request = cf_access_find_join_request (req->access, "id", req->args[1]);

  if (request == NULL ||
      g_strcmp0 (cf_json_object_get_string (request, "team_id"), req->args[0]) != 0)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Join request not found");
      return NULL;
    }
  return request;
}

static void
respond_approved (Req *req)
{
  g_autoptr(GPtrArray) members = cf_access_list_members (req->access, req->args[0]);

  for (guint i = 0; i < members->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (members->pdata[i], "user_email"), req->token) == 0)
      {
        _cf_teams_http_respond_object (req, SOUP_STATUS_OK,
                                       _cf_teams_http_member_response (members->pdata[i]));
        return;
      }
  _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
}

/* POST /teams/{id}/join-requests/{request}/approve: the requester joins
 * as a member, within the team's size */
void
_cf_teams_http_handle_join_approve (Req *req)
{
  JsonObject *team = _cf_teams_http_owned_team (req, req->args[0]);
  JsonObject *request = team ? path_request (req) : NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (request == NULL ||
      !_cf_teams_http_check_can_join (req, team,
                                      cf_json_object_get_string (request, "user_email")))
    return;
  req->token = g_strdup (cf_json_object_get_string (request, "user_email"));
  writes = _cf_teams_http_new_writes ();
  /* Closing it must change it: a second approval at once fails here. */
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_JOIN_REQUEST_CLOSE,
                                                        req->args[1], "approved",
                                                        _cf_teams_http_caller (req)));
  _cf_teams_http_add_membership_writes (writes, req->args[0], req->token, "member",
                                        _cf_teams_http_caller (req));
  _cf_teams_http_submit (req, writes, respond_approved);
}

/* DELETE /teams/{id}/join-requests/{request}: the requester withdraws it,
 * or the owner rejects it */
void
_cf_teams_http_handle_join_close (Req *req)
{
  const char *caller = _cf_teams_http_caller (req);
  JsonObject *request = _cf_teams_http_visible_team (req, req->args[0]) ? path_request (req)
                                                                         : NULL;
  const char *status;
  g_autoptr(GPtrArray) writes = NULL;

  if (request == NULL)
    return;
  if (caller != NULL &&
      g_strcmp0 (cf_json_object_get_string (request, "user_email"), caller) == 0)
    status = "withdrawn";
  else if (_cf_teams_http_caller_is_admin (req) ||
           g_strcmp0 (cf_access_get_member_role (req->access, req->args[0], caller), "owner") == 0)
    status = "rejected";
  else
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN, "Only a team owner can do this");
      return;
    }
  req->token = g_strdup_printf ("Join request %s", status);
  writes = _cf_teams_http_new_writes ();
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_JOIN_REQUEST_CLOSE, req->args[1],
                                                        status, caller));
  _cf_teams_http_submit (req, writes, _cf_teams_http_respond_removed);
}
