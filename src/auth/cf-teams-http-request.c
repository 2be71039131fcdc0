/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-http"

#include "config.h"

#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-teams-http-private.h"

/* Requests */

void
_cf_teams_http_on_gone (SoupServerMessage *msg,
                        Req               *req)
{
  req->gone = TRUE;
}

static Req *
req_ref (Req *req)
{
  req->ref_count++;
  return req;
}

void
_cf_teams_http_req_unref (Req *req)
{
  if (--req->ref_count > 0)
    return;
  g_clear_signal_handler (&req->finished_id, req->msg);
  g_clear_signal_handler (&req->disconnected_id, req->msg);
  g_clear_object (&req->msg);
  g_clear_object (&req->identity);
  g_clear_pointer (&req->access, cf_access_unref);
  g_clear_pointer (&req->query, g_hash_table_unref);
  g_clear_pointer (&req->args, g_strfreev);
  g_clear_pointer (&req->body, json_object_unref);
  g_free (req->id);
  g_free (req->token);
  g_object_unref (req->self);
  g_free (req);
}

static void
respond_node (Req      *req,
              guint     status,
              JsonNode *node)
{
  if (!req->gone)
    cf_http_respond_json (req->msg, status, node);
  if (req->paused)
    {
      req->paused = FALSE;
      if (!req->gone)
        soup_server_message_unpause (req->msg);
    }
}

void
_cf_teams_http_respond_object (Req        *req,
                               guint       status,
                               JsonObject *body)
{
  g_autoptr(JsonNode) node = cf_json_node_new_object (body);

  respond_node (req, status, node);
}

void
_cf_teams_http_respond_array (Req       *req,
                              guint      status,
                              JsonArray *body)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, body);
  respond_node (req, status, node);
}

void
_cf_teams_http_respond_detail (Req        *req,
                               guint       status,
                               const char *detail)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "detail", detail);
  _cf_teams_http_respond_object (req, status, body);
}

/* FastAPI's 422 */
void
_cf_teams_http_respond_problem (Req        *req,
                                const char *field,
                                const char *type,
                                const char *message)
{
  JsonObject *body = json_object_new ();
  JsonArray *detail = json_array_new ();

  cf_entity_schema_add_problem (detail, field, type, message);
  json_object_set_array_member (body, "detail", detail);
  _cf_teams_http_respond_object (req, SOUP_STATUS_UNPROCESSABLE_ENTITY, body);
}

const char *
_cf_teams_http_caller (Req *req)
{
  return req->identity ? cf_identity_get_email (req->identity) : NULL;
}

/* Whether the caller may act as the platform admin: anonymous (no
 * authentication required), Basic, or a DB admin. */
gboolean
_cf_teams_http_caller_is_admin (Req *req)
{
  if (req->identity == NULL || cf_identity_get_kind (req->identity) != CF_IDENTITY_JWT)
    return TRUE;
  return cf_access_user_is_admin (req->access, _cf_teams_http_caller (req));
}

/* Team routes act for a user: answers 403 and returns %NULL for a caller
 * without an account. */
const char *
_cf_teams_http_require_user (Req *req)
{
  const char *email = _cf_teams_http_caller (req);

  if (req->identity == NULL || cf_identity_get_kind (req->identity) != CF_IDENTITY_JWT ||
      cf_access_lookup_user (req->access, email) == NULL)
    {
      _cf_teams_http_respond_detail (req, SOUP_STATUS_FORBIDDEN,
                                     "This action needs a user account");
      return NULL;
    }
  return email;
}

/* Returns: %FALSE once @req has been answered */
gboolean
_cf_teams_http_read_body (Req      *req,
                          gboolean  required)
{
  g_autoptr(GBytes) bytes = soup_message_body_flatten (
    soup_server_message_get_request_body (req->msg));
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (g_bytes_get_size (bytes) == 0)
    {
      if (required)
        {
          _cf_teams_http_respond_problem (req, NULL, "missing", "Field required");
          return FALSE;
        }
      req->body = json_object_new ();
      return TRUE;
    }
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  if (node == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("Invalid JSON: %s", error->message);

      _cf_teams_http_respond_detail (req, SOUP_STATUS_BAD_REQUEST, detail);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      _cf_teams_http_respond_problem (req, NULL, "dict_type", "Input should be a valid dictionary");
      return FALSE;
    }
  req->body = json_object_ref (json_node_get_object (node));
  return TRUE;
}

/* A string member: absent is @fallback; present must be a string of
 * @min..@max characters (or null when @nullable). Returns %FALSE once
 * answered. */
gboolean
_cf_teams_http_body_string (Req         *req,
                            const char  *member,
                            gboolean     required,
                            gboolean     nullable,
                            gsize        min,
                            gsize        max,
                            const char **out)
{
  JsonNode *node = json_object_get_member (req->body, member);
  g_autofree char *message = NULL;
  glong length;

  *out = NULL;
  if (node == NULL || (nullable && JSON_NODE_HOLDS_NULL (node)))
    {
      if (!required)
        return TRUE;
      _cf_teams_http_respond_problem (req, member, "missing", "Field required");
      return FALSE;
    }
  if (!cf_json_node_is_string (node))
    {
      _cf_teams_http_respond_problem (req, member, "string_type", "Input should be a valid string");
      return FALSE;
    }
  *out = json_node_get_string (node);
  length = g_utf8_strlen (*out, -1);
  if ((gsize) length < min || (gsize) length > max)
    {
      message = g_strdup_printf ("String should have between %" G_GSIZE_FORMAT " and %"
                                 G_GSIZE_FORMAT " characters", min, max);
      _cf_teams_http_respond_problem (req, member, "string_length", message);
      return FALSE;
    }
  return TRUE;
}

gboolean
_cf_teams_http_body_choice (Req                *req,
                            const char         *member,
                            const char * const *choices,
                            const char         *fallback,
                            const char        **out)
{
  if (!_cf_teams_http_body_string (req, member, FALSE, TRUE, 1, 64, out))
    return FALSE;
  if (*out == NULL)
    *out = fallback;
  if (*out != NULL && !g_strv_contains (choices, *out))
    {
      g_autofree char *joined = g_strjoinv ("', '", (GStrv) choices);
      g_autofree char *message = g_strdup_printf ("Input should be '%s'", joined);

      _cf_teams_http_respond_problem (req, member, "enum", message);
      return FALSE;
    }
  return TRUE;
}

void
_cf_teams_http_respond_removed (Req *req)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "message", req->token ? req->token : "Done");
  _cf_teams_http_respond_object (req, SOUP_STATUS_OK, body);
}

/* Writes */

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Req) req = user_data;
  g_autoptr(GError) error = NULL;
  CfAccess *access = cf_teams_apply_finish (CF_TEAMS (source), result, &error);

  if (access == NULL)
    {
      if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT))
        _cf_teams_http_respond_detail (req, SOUP_STATUS_CONFLICT, error->message);
      else if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
        _cf_teams_http_respond_detail (req, SOUP_STATUS_NOT_FOUND, error->message);
      else
        {
          g_warning ("A team change failed: %s", error->message);
          _cf_teams_http_respond_detail (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
        }
      return;
    }
  g_clear_pointer (&req->access, cf_access_unref);
  req->access = access;
  req->then (req);
}

/* Applies @writes, then calls @then with the new snapshot in req->access. */
void
_cf_teams_http_submit (Req       *req,
                       GPtrArray *writes,
                       Then       then)
{
  if (!req->paused)
    {
      soup_server_message_pause (req->msg);
      req->paused = TRUE;
    }
  req->then = then;
  cf_teams_apply_async (req->self->teams, writes, NULL, on_written, req_ref (req));
}

GPtrArray *
_cf_teams_http_new_writes (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) cf_store_tenancy_write_free);
}

void
_cf_teams_http_add_write (GPtrArray *writes,
                          CfStoreTenancyWrite *write)
{
  g_ptr_array_add (writes, write);
}

/* The team-scoped role that goes with a membership role. */
const char *
_cf_teams_http_role_for_member (const char *member_role)
{
  return g_strcmp0 (member_role, "owner") == 0 ? "team_admin" : "developer";
}

void
_cf_teams_http_add_membership_writes (GPtrArray  *writes,
                                      const char *team_id,
                                      const char *email,
                                      const char *role,
                                      const char *invited_by)
{
  g_autofree char *assignment = cf_teams_new_id ();

  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_MEMBER_ADD, team_id, email, role,
                                                        invited_by));
  _cf_teams_http_add_write (writes,
                            cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, assignment, email,
                                                        _cf_teams_http_role_for_member (role),
                                                        "team", team_id, invited_by, NULL));
}

/* Responses */

void
_cf_teams_http_copy_string (JsonObject *to,
                            JsonObject *from,
                            const char *member)
{
  const char *value = cf_json_object_get_string (from, member);

  if (value != NULL)
    json_object_set_string_member (to, member, value);
  else
    json_object_set_null_member (to, member);
}

gboolean
_cf_teams_http_flag (JsonObject *row,
                     const char *column)
{
  gint64 value = 0;

  return cf_json_object_get_int (row, column, &value) && value != 0;
}
