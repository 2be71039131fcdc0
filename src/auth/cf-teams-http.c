/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-http"

#include "config.h"

#include <string.h>

#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-random.h"
#include "cf-teams-http.h"

/**
 * CfTeamsHttp:
 *
 * The REST side of tenancy: ContextForge's `/teams` and `/rbac` routers
 * (under `/v1` and unversioned), and the `rbac` middleware step, which
 * checks every REST route's permission from one table before any handler
 * runs. Handlers read the #CfAccess snapshot; writes go through
 * cf_teams_apply_async() while the message waits.
 */

#define INVITATION_EXPIRY_DAYS 7
#define MAX_NAME 255
#define MAX_DESCRIPTION 1000

/* The guard's table */

static const CfRbacRoute routes[] = {
#define ENTITY(kind) \
  { "GET", "/" kind, kind ".read", FALSE }, \
  { "POST", "/" kind, kind ".create", FALSE }, \
  { "GET", "/" kind "/{}", kind ".read", FALSE }, \
  { "PUT", "/" kind "/{}", kind ".update", FALSE }, \
  { "DELETE", "/" kind "/{}", kind ".delete", FALSE }, \
  { "POST", "/" kind "/{}/state", kind ".update", FALSE }, \
  { "POST", "/" kind "/{}/toggle", kind ".update", FALSE }
  ENTITY ("tools"),
  ENTITY ("resources"),
  { "GET", "/resources/{}/info", "resources.read", FALSE },
  { "GET", "/resources/{}/content", "resources.read", FALSE },
  ENTITY ("prompts"),
  { "POST", "/prompts/{}", "prompts.execute", FALSE },
  ENTITY ("servers"),
  { "GET", "/servers/{}/tools", "servers.read", FALSE },
  { "GET", "/servers/{}/resources", "servers.read", FALSE },
  { "GET", "/servers/{}/prompts", "servers.read", FALSE },
  ENTITY ("gateways"),
  { "POST", "/gateways/{}/tools/refresh", "gateways.update", FALSE },
#undef ENTITY
  /* MCP scoped to one virtual server */
  { "*", "/servers/{}/mcp", "servers.use", FALSE },
  { "*", "/servers/{}/sse", "servers.use", FALSE },
  { "*", "/servers/{}/message", "servers.use", FALSE },
  { "*", "/servers/{}/ws", "servers.use", FALSE },
  /* Teams */
  { "POST", "/teams", "teams.create", FALSE },
  { "GET", "/teams", "teams.read", FALSE },
  { "GET", "/teams/discover", "teams.read", FALSE },
  { "GET", "/teams/{}", "teams.read", FALSE },
  { "PUT", "/teams/{}", "teams.update", FALSE },
  { "DELETE", "/teams/{}", "teams.delete", FALSE },
  { "GET", "/teams/{}/members", "teams.read", FALSE },
  { "POST", "/teams/{}/members", "teams.manage_members", FALSE },
  { "PUT", "/teams/{}/members/{}", "teams.manage_members", FALSE },
  { "DELETE", "/teams/{}/members/{}", "teams.manage_members", FALSE },
  { "POST", "/teams/{}/invitations", "teams.manage_members", FALSE },
  { "GET", "/teams/{}/invitations", "teams.read", FALSE },
  { "POST", "/teams/invitations/{}/accept", "teams.join", FALSE },
  { "DELETE", "/teams/invitations/{}", "teams.manage_members", FALSE },
  { "DELETE", "/teams/{}/leave", "teams.join", FALSE },
  /* RBAC */
  { "POST", "/rbac/roles", "admin.user_management", FALSE },
  { "GET", "/rbac/roles", "admin.user_management", FALSE },
  { "GET", "/rbac/roles/{}", "admin.user_management", FALSE },
  { "PUT", "/rbac/roles/{}", "admin.user_management", FALSE },
  { "DELETE", "/rbac/roles/{}", "admin.user_management", FALSE },
  { "POST", "/rbac/users/{}/roles", "admin.user_management", FALSE },
  { "GET", "/rbac/users/{}/roles", "admin.user_management", FALSE },
  { "DELETE", "/rbac/users/{}/roles/{}", "admin.user_management", FALSE },
  { "POST", "/rbac/permissions/check", "admin.security_audit", FALSE },
  { "GET", "/rbac/permissions/user/{}", "admin.security_audit", FALSE },
  { "GET", "/rbac/permissions/available", NULL, FALSE },
  { "GET", "/rbac/my/roles", NULL, FALSE },
  { "GET", "/rbac/my/permissions", NULL, FALSE },
  /* API tokens (served by cf-tokens-http.c) */
  { "POST", "/tokens", "tokens.create", TRUE },
  { "GET", "/tokens", "tokens.read", TRUE },
  { "GET", "/tokens/admin/all", "admin.user_management", TRUE },
  { "DELETE", "/tokens/admin/{}", "admin.user_management", TRUE },
  { "POST", "/tokens/teams/{}", "tokens.create", TRUE },
  { "GET", "/tokens/teams/{}", "tokens.read", TRUE },
  { "GET", "/tokens/{}", "tokens.read", TRUE },
  { "PUT", "/tokens/{}", "tokens.update", TRUE },
  { "DELETE", "/tokens/{}", "tokens.revoke", TRUE },
  { "GET", "/tokens/{}/usage", "tokens.read", TRUE },
  /* LAN discovery (served by src/api/cf-api-discovery.c) */
  { "GET", "/discovery", "gateways.read", FALSE },
  { "PUT", "/discovery", "admin.system_config", FALSE },
  { "GET", "/discovery/{}", "gateways.read", FALSE },
  { "POST", "/discovery/{}/register", "gateways.create", FALSE },
  /* Diagnostics */
  { "GET", "/version", "admin.system_config", FALSE },
};

/**
 * cf_rbac_get_routes:
 * @n_routes: (out): how many
 *
 * Returns: (array length=n_routes) (transfer none): the guard's table
 */
const CfRbacRoute *
cf_rbac_get_routes (guint *n_routes)
{
  *n_routes = G_N_ELEMENTS (routes);
  return routes;
}

/* Whether @path (no /v1, no trailing slash) fits @pattern. */
static gboolean
pattern_matches (const char *pattern,
                 const char *path)
{
  while (*pattern != '\0' && *path != '\0')
    {
      if (pattern[0] == '{' && pattern[1] == '}')
        {
          const char *end = strchr (path, '/');

          if (end == path)
            return FALSE;
          path = end ? end : path + strlen (path);
          pattern += 2;
          continue;
        }
      if (*pattern != *path)
        return FALSE;
      pattern++;
      path++;
    }
  return *pattern == '\0' && *path == '\0';
}

/* The table's rows without "{}" first, then the others, each in table
 * order: worked out once, as every request is looked up. */
static const guint *
search_order (void)
{
  static guint order[G_N_ELEMENTS (routes)];
  static gsize ready;

  if (g_once_init_enter (&ready))
    {
      guint n = 0;

      for (guint pass = 0; pass < 2; pass++)
        for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
          if ((strstr (routes[i].pattern, "{}") == NULL) == (pass == 0))
            order[n++] = i;
      g_once_init_leave (&ready, 1);
    }
  return order;
}

/**
 * cf_rbac_find_route:
 * @method: the request's method
 * @path: the request's path
 *
 * Literal rows win over "{}" ones (`/teams/discover` over `/teams/{}`), as
 * the table lists them first where both could match.
 *
 * Returns: (nullable): the row that guards @path
 */
const CfRbacRoute *
cf_rbac_find_route (const char *method,
                    const char *path)
{
  g_autofree char *trimmed = NULL;
  gsize length;

  if (g_str_has_prefix (path, "/v1/"))
    path += 3;
  length = strlen (path);
  if (length > 1 && path[length - 1] == '/')
    path = trimmed = g_strndup (path, length - 1);
  if (g_str_equal (method, "HEAD"))
    method = "GET";

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      const CfRbacRoute *route = &routes[search_order ()[i]];

      if ((g_str_equal (route->method, "*") || g_str_equal (route->method, method)) &&
          pattern_matches (route->pattern, path))
        return route;
    }
  return NULL;
}

/**
 * cf_teams_http_respond_forbidden:
 * @msg: the request
 * @permission: what it lacked
 *
 * ContextForge's 403: `{"detail": "Insufficient permissions. Required: …"}`.
 */
void
cf_teams_http_respond_forbidden (SoupServerMessage *msg,
                                 const char        *permission)
{
  g_autofree char *detail = g_strdup_printf ("Insufficient permissions. Required: %s",
                                             permission);

  cf_http_respond_error (msg, SOUP_STATUS_FORBIDDEN, detail);
}

/* The object */

struct _CfTeamsHttp
{
  GObject  parent_instance;

  CfTeams *teams;
};

G_DEFINE_FINAL_TYPE (CfTeamsHttp, cf_teams_http, G_TYPE_OBJECT)

static void
cf_teams_http_finalize (GObject *object)
{
  CfTeamsHttp *self = (CfTeamsHttp *) object;

  g_clear_object (&self->teams);

  G_OBJECT_CLASS (cf_teams_http_parent_class)->finalize (object);
}

static void
cf_teams_http_class_init (CfTeamsHttpClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_teams_http_finalize;
}

static void
cf_teams_http_init (CfTeamsHttp *self)
{
}

/**
 * cf_teams_http_new:
 * @teams: the service
 *
 * Returns: (transfer full): the routes and guard over @teams
 */
CfTeamsHttp *
cf_teams_http_new (CfTeams *teams)
{
  CfTeamsHttp *self;

  g_return_val_if_fail (CF_IS_TEAMS (teams), NULL);

  self = g_object_new (CF_TYPE_TEAMS_HTTP, NULL);
  self->teams = g_object_ref (teams);
  return self;
}

static gboolean
middleware_rbac (CfHttpServer      *http,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  CfTeamsHttp *self = user_data;
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  const CfRbacRoute *route;

  if (soup_server_message_get_method (msg) == SOUP_METHOD_OPTIONS)
    return TRUE;
  route = cf_rbac_find_route (soup_server_message_get_method (msg), path);
  if (route == NULL || route->permission == NULL)
    return TRUE;
  if (cf_teams_check (self->teams, cf_identity_from_message (msg), route->permission, NULL))
    return TRUE;
  g_info ("Refused %s %s: lacks %s", soup_server_message_get_method (msg), path,
          route->permission);
  cf_teams_http_respond_forbidden (msg, route->permission);
  return FALSE;
}

/* Requests */

typedef struct _Req Req;
typedef void (*Handler) (Req *req);
typedef void (*Then) (Req *req);

struct _Req
{
  CfTeamsHttp       *self;
  SoupServerMessage *msg;
  CfIdentity        *identity;
  CfAccess          *access;
  GHashTable        *query;
  GStrv              args;
  JsonObject        *body;
  /* What a write's callback needs */
  char              *id;
  char              *token;
  Then               then;
  gulong             finished_id;
  gulong             disconnected_id;
  guint              ref_count;
  gboolean           paused;
  gboolean           gone;
};

static void
on_gone (SoupServerMessage *msg,
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

static void
req_unref (Req *req)
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

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Req, req_unref)

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

static void
respond_object (Req        *req,
                guint       status,
                JsonObject *body)
{
  g_autoptr(JsonNode) node = cf_json_node_new_object (body);

  respond_node (req, status, node);
}

static void
respond_array (Req       *req,
               guint      status,
               JsonArray *body)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, body);
  respond_node (req, status, node);
}

static void
respond_detail (Req        *req,
                guint       status,
                const char *detail)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "detail", detail);
  respond_object (req, status, body);
}

/* FastAPI's 422 */
static void
respond_problem (Req        *req,
                 const char *field,
                 const char *type,
                 const char *message)
{
  JsonObject *body = json_object_new ();
  JsonArray *detail = json_array_new ();

  cf_entity_schema_add_problem (detail, field, type, message);
  json_object_set_array_member (body, "detail", detail);
  respond_object (req, SOUP_STATUS_UNPROCESSABLE_ENTITY, body);
}

static const char *
caller (Req *req)
{
  return req->identity ? cf_identity_get_email (req->identity) : NULL;
}

/* Whether the caller may act as the platform admin: anonymous (no
 * authentication required), Basic, or a DB admin. */
static gboolean
caller_is_admin (Req *req)
{
  if (req->identity == NULL || cf_identity_get_kind (req->identity) != CF_IDENTITY_JWT)
    return TRUE;
  return cf_access_user_is_admin (req->access, caller (req));
}

/* Team routes act for a user: answers 403 and returns %NULL for a caller
 * without an account. */
static const char *
require_user (Req *req)
{
  const char *email = caller (req);

  if (req->identity == NULL || cf_identity_get_kind (req->identity) != CF_IDENTITY_JWT ||
      cf_access_lookup_user (req->access, email) == NULL)
    {
      respond_detail (req, SOUP_STATUS_FORBIDDEN, "This action needs a user account");
      return NULL;
    }
  return email;
}

/* Returns: %FALSE once @req has been answered */
static gboolean
read_body (Req      *req,
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
          respond_problem (req, NULL, "missing", "Field required");
          return FALSE;
        }
      req->body = json_object_new ();
      return TRUE;
    }
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  if (node == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("Invalid JSON: %s", error->message);

      respond_detail (req, SOUP_STATUS_BAD_REQUEST, detail);
      return FALSE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      respond_problem (req, NULL, "dict_type", "Input should be a valid dictionary");
      return FALSE;
    }
  req->body = json_object_ref (json_node_get_object (node));
  return TRUE;
}

/* A string member: absent is @fallback; present must be a string of
 * @min..@max characters (or null when @nullable). Returns %FALSE once
 * answered. */
static gboolean
body_string (Req         *req,
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
      respond_problem (req, member, "missing", "Field required");
      return FALSE;
    }
  if (!cf_json_node_is_string (node))
    {
      respond_problem (req, member, "string_type", "Input should be a valid string");
      return FALSE;
    }
  *out = json_node_get_string (node);
  length = g_utf8_strlen (*out, -1);
  if ((gsize) length < min || (gsize) length > max)
    {
      message = g_strdup_printf ("String should have between %" G_GSIZE_FORMAT " and %"
                                 G_GSIZE_FORMAT " characters", min, max);
      respond_problem (req, member, "string_length", message);
      return FALSE;
    }
  return TRUE;
}

static gboolean
body_choice (Req                *req,
             const char         *member,
             const char * const *choices,
             const char         *fallback,
             const char        **out)
{
  if (!body_string (req, member, FALSE, TRUE, 1, 64, out))
    return FALSE;
  if (*out == NULL)
    *out = fallback;
  if (*out != NULL && !g_strv_contains (choices, *out))
    {
      g_autofree char *joined = g_strjoinv ("', '", (GStrv) choices);
      g_autofree char *message = g_strdup_printf ("Input should be '%s'", joined);

      respond_problem (req, member, "enum", message);
      return FALSE;
    }
  return TRUE;
}

static const char * const member_roles[] = { "owner", "member", NULL };
static const char * const team_visibilities[] = { "private", "public", NULL };
static const char * const role_scopes[] = { "global", "team", "personal", NULL };

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
        respond_detail (req, SOUP_STATUS_CONFLICT, error->message);
      else if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
        respond_detail (req, SOUP_STATUS_NOT_FOUND, error->message);
      else
        {
          g_warning ("A team change failed: %s", error->message);
          respond_detail (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
        }
      return;
    }
  g_clear_pointer (&req->access, cf_access_unref);
  req->access = access;
  req->then (req);
}

/* Applies @writes, then calls @then with the new snapshot in req->access. */
static void
submit (Req       *req,
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

static GPtrArray *
new_writes (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) cf_store_tenancy_write_free);
}

static void
add_write (GPtrArray *writes,
           CfStoreTenancyWrite *write)
{
  g_ptr_array_add (writes, write);
}

/* The team-scoped role that goes with a membership role. */
static const char *
role_for_member (const char *member_role)
{
  return g_strcmp0 (member_role, "owner") == 0 ? "team_admin" : "developer";
}

static void
add_membership_writes (GPtrArray  *writes,
                       const char *team_id,
                       const char *email,
                       const char *role,
                       const char *invited_by)
{
  g_autofree char *assignment = cf_teams_new_id ();

  add_write (writes, cf_store_tenancy_write_new (CF_STORE_MEMBER_ADD, team_id, email, role,
                                                 invited_by));
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, assignment, email,
                                                 role_for_member (role), "team", team_id,
                                                 invited_by));
}

/* Responses */

static void
copy_string (JsonObject *to,
             JsonObject *from,
             const char *member)
{
  const char *value = cf_json_object_get_string (from, member);

  if (value != NULL)
    json_object_set_string_member (to, member, value);
  else
    json_object_set_null_member (to, member);
}

static gboolean
flag (JsonObject *row,
      const char *column)
{
  gint64 value = 0;

  return cf_json_object_get_int (row, column, &value) && value != 0;
}

/* ContextForge's TeamResponse */
static JsonObject *
team_response (CfAccess   *access,
               JsonObject *team)
{
  JsonObject *out = json_object_new ();
  gint64 max = 0;

  copy_string (out, team, "id");
  copy_string (out, team, "name");
  copy_string (out, team, "slug");
  copy_string (out, team, "description");
  copy_string (out, team, "created_by");
  json_object_set_boolean_member (out, "is_personal", flag (team, "is_personal"));
  copy_string (out, team, "visibility");
  if (cf_json_object_get_int (team, "max_members", &max))
    json_object_set_int_member (out, "max_members", max);
  else
    json_object_set_null_member (out, "max_members");
  json_object_set_int_member (out, "member_count",
                              cf_access_get_member_count (access,
                                                          cf_json_object_get_string (team, "id")));
  copy_string (out, team, "created_at");
  copy_string (out, team, "updated_at");
  json_object_set_boolean_member (out, "is_active", flag (team, "is_active"));
  return out;
}

static JsonObject *
member_response (JsonObject *member)
{
  JsonObject *out = json_object_new ();
  g_autofree char *id = g_strdup_printf ("%s:%s", cf_json_object_get_string (member, "team_id"),
                                         cf_json_object_get_string (member, "user_email"));

  json_object_set_string_member (out, "id", id);
  copy_string (out, member, "team_id");
  copy_string (out, member, "user_email");
  copy_string (out, member, "role");
  copy_string (out, member, "joined_at");
  copy_string (out, member, "invited_by");
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

  copy_string (out, invitation, "id");
  copy_string (out, invitation, "team_id");
  if (team != NULL)
    copy_string (out, team, "name");
  json_object_set_string_member (out, "team_name",
                                 team ? cf_json_object_get_string (team, "name") : "");
  json_object_remove_member (out, "name");
  copy_string (out, invitation, "email");
  copy_string (out, invitation, "role");
  copy_string (out, invitation, "invited_by");
  copy_string (out, invitation, "invited_at");
  copy_string (out, invitation, "expires_at");
  if (token != NULL)
    json_object_set_string_member (out, "token", token);
  json_object_set_boolean_member (out, "is_active", flag (invitation, "is_active"));
  json_object_set_boolean_member (out, "is_expired", is_expired (invitation));
  return out;
}

/* The team named by the path, if the caller may see it; 404 otherwise,
 * the same for a hidden team as for an unknown one. */
static JsonObject *
visible_team (Req        *req,
              const char *team_id)
{
  JsonObject *team = cf_access_lookup_team (req->access, team_id);

  if (team != NULL && flag (team, "is_active") &&
      (caller_is_admin (req) ||
       cf_access_get_member_role (req->access, team_id, caller (req)) != NULL ||
       g_strcmp0 (cf_json_object_get_string (team, "visibility"), "public") == 0))
    return team;
  respond_detail (req, SOUP_STATUS_NOT_FOUND, "Team not found");
  return NULL;
}

/* A team the caller owns (or any, for an admin). */
static JsonObject *
owned_team (Req        *req,
            const char *team_id)
{
  JsonObject *team = visible_team (req, team_id);

  if (team == NULL)
    return NULL;
  if (caller_is_admin (req) ||
      g_strcmp0 (cf_access_get_member_role (req->access, team_id, caller (req)), "owner") == 0)
    return team;
  respond_detail (req, SOUP_STATUS_FORBIDDEN, "Only a team owner can do this");
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
  respond_object (req, SOUP_STATUS_CREATED,
                  team_response (req->access, cf_access_lookup_team (req->access, req->id)));
}

static void
respond_team (Req *req)
{
  respond_object (req, SOUP_STATUS_OK,
                  team_response (req->access, cf_access_lookup_team (req->access, req->id)));
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
      respond_problem (req, "max_members", "int_type",
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
  const char *email = require_user (req);
  const char *name, *slug_in, *description, *visibility;
  g_autofree char *max = NULL;
  g_autofree char *slug = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (email == NULL || !read_body (req, TRUE) ||
      !body_string (req, "name", TRUE, FALSE, 1, MAX_NAME, &name) ||
      !body_string (req, "slug", FALSE, TRUE, 1, MAX_NAME, &slug_in) ||
      !body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION, &description) ||
      !body_choice (req, "visibility", team_visibilities, "private", &visibility) ||
      !body_max_members (req, &max))
    return;
  if (slug_in != NULL && !slug_is_valid (slug_in))
    {
      respond_problem (req, "slug", "string_pattern_mismatch",
                       "Slug must contain only lowercase letters, numbers, and hyphens");
      return;
    }
  if (slug_in != NULL && cf_access_find_team_by_slug (req->access, slug_in) != NULL)
    {
      respond_detail (req, SOUP_STATUS_CONFLICT, "A team with this slug already exists");
      return;
    }
  slug = slug_in ? g_strdup (slug_in) : cf_teams_unique_slug (req->access, NULL, name);
  req->id = cf_teams_new_id ();
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_INSERT, req->id, name, slug,
                                                 description, email, "0", visibility, max));
  add_membership_writes (writes, req->id, email, "owner", NULL);
  submit (req, writes, respond_team_created);
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
  respond_object (req, SOUP_STATUS_OK, body);
}

static void
handle_team_list (Req *req)
{
  g_autoptr(GPtrArray) teams = NULL;
  JsonArray *all;

  if (caller_is_admin (req))
    {
      all = cf_json_object_get_array (cf_access_get_state (req->access), "teams");
      teams = g_ptr_array_new ();
      for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
        g_ptr_array_add (teams, json_array_get_object_element (all, i));
    }
  else
    teams = cf_access_list_user_teams (req->access, caller (req));
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
          !flag (team, "is_active") || flag (team, "is_personal") ||
          cf_access_get_member_role (req->access, id, caller (req)) != NULL)
        continue;
      item = json_object_new ();
      copy_string (item, team, "id");
      copy_string (item, team, "name");
      copy_string (item, team, "description");
      json_object_set_int_member (item, "member_count",
                                  cf_access_get_member_count (req->access, id));
      copy_string (item, team, "created_at");
      json_object_set_boolean_member (item, "is_joinable",
                                      !cf_json_object_get_int (team, "max_members", &max) ||
                                      cf_access_get_member_count (req->access, id) < max);
      json_array_add_object_element (out, item);
    }
  respond_array (req, SOUP_STATUS_OK, out);
}

static void
handle_team_get (Req *req)
{
  JsonObject *team = visible_team (req, req->args[0]);

  if (team != NULL)
    respond_object (req, SOUP_STATUS_OK, team_response (req->access, team));
}

static void
handle_team_update (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);
  const char *name, *slug, *description, *visibility;
  g_autofree char *max = NULL;
  g_autoptr(GPtrArray) writes = NULL;
  gint64 old_max = 0;

  if (team == NULL || !read_body (req, TRUE) ||
      !body_string (req, "name", FALSE, FALSE, 1, MAX_NAME, &name) ||
      !body_string (req, "slug", FALSE, TRUE, 1, MAX_NAME, &slug) ||
      !body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION, &description) ||
      !body_choice (req, "visibility", team_visibilities, NULL, &visibility) ||
      !body_max_members (req, &max))
    return;
  if (slug != NULL && !slug_is_valid (slug))
    {
      respond_problem (req, "slug", "string_pattern_mismatch",
                       "Slug must contain only lowercase letters, numbers, and hyphens");
      return;
    }
  if (slug != NULL && cf_access_find_team_by_slug (req->access, slug) != NULL &&
      cf_access_find_team_by_slug (req->access, slug) != team)
    {
      respond_detail (req, SOUP_STATUS_CONFLICT, "A team with this slug already exists");
      return;
    }
  if (flag (team, "is_personal") && g_strcmp0 (visibility, "public") == 0)
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "A personal team cannot be made public");
      return;
    }
  if (max == NULL && !json_object_has_member (req->body, "max_members") &&
      cf_json_object_get_int (team, "max_members", &old_max))
    max = g_strdup_printf ("%" G_GINT64_FORMAT, old_max);
  if (!json_object_has_member (req->body, "description"))
    description = cf_json_object_get_string (team, "description");
  req->id = g_strdup (req->args[0]);
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_UPDATE, req->id,
                                                 name ?: cf_json_object_get_string (team, "name"),
                                                 slug ?: cf_json_object_get_string (team, "slug"),
                                                 description,
                                                 visibility ?: cf_json_object_get_string (
                                                   team, "visibility"),
                                                 max));
  submit (req, writes, respond_team);
}

static void
respond_team_deleted (Req *req)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "message", "Team deleted successfully");
  respond_object (req, SOUP_STATUS_OK, body);
}

static void
handle_team_delete (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);
  g_autoptr(GPtrArray) writes = NULL;

  if (team == NULL)
    return;
  if (flag (team, "is_personal"))
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "A personal team cannot be deleted");
      return;
    }
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_DELETE, req->args[0]));
  submit (req, writes, respond_team_deleted);
}

/* Members */

static void
handle_members_list (Req *req)
{
  JsonObject *team = visible_team (req, req->args[0]);
  g_autoptr(GPtrArray) members = NULL;
  JsonArray *out;

  if (team == NULL)
    return;
  if (!caller_is_admin (req) &&
      cf_access_get_member_role (req->access, req->args[0], caller (req)) == NULL)
    {
      respond_detail (req, SOUP_STATUS_FORBIDDEN, "Only team members can see the members");
      return;
    }
  members = cf_access_list_members (req->access, req->args[0]);
  out = json_array_new ();
  for (guint i = 0; i < members->len; i++)
    json_array_add_object_element (out, member_response (members->pdata[i]));
  respond_array (req, SOUP_STATUS_OK, out);
}

static void
respond_member (Req *req)
{
  g_autoptr(GPtrArray) members = cf_access_list_members (req->access, req->args[0]);

  for (guint i = 0; i < members->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (members->pdata[i], "user_email"), req->id) == 0)
      {
        respond_object (req, req->token ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                        member_response (members->pdata[i]));
        return;
      }
  respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
}

/* Members join no personal team, and no team beyond its size. */
static gboolean
check_can_join (Req        *req,
                JsonObject *team,
                const char *email)
{
  const char *team_id = cf_json_object_get_string (team, "id");
  gint64 max = 0;

  if (flag (team, "is_personal"))
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "Nobody else can join a personal team");
      return FALSE;
    }
  if (cf_access_get_member_role (req->access, team_id, email) != NULL)
    {
      respond_detail (req, SOUP_STATUS_CONFLICT, "The user is already a member of the team");
      return FALSE;
    }
  if (cf_json_object_get_int (team, "max_members", &max) &&
      cf_access_get_member_count (req->access, team_id) >= max)
    {
      respond_detail (req, SOUP_STATUS_CONFLICT, "The team has reached its maximum member limit");
      return FALSE;
    }
  return TRUE;
}

static void
handle_member_add (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);
  const char *email, *role;
  g_autoptr(GPtrArray) writes = NULL;

  if (team == NULL || !read_body (req, TRUE) ||
      !body_string (req, "email", TRUE, FALSE, 3, MAX_NAME, &email) ||
      !body_choice (req, "role", member_roles, "member", &role))
    return;
  if (cf_access_lookup_user (req->access, email) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
      return;
    }
  if (!check_can_join (req, team, email))
    return;
  req->id = g_strdup (email);
  req->token = g_strdup ("created");
  writes = new_writes ();
  add_membership_writes (writes, req->args[0], email, role, caller (req));
  submit (req, writes, respond_member);
}

static void
handle_member_update (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);
  const char *role;
  const char *current;
  g_autoptr(GPtrArray) writes = NULL;
  g_autofree char *assignment = cf_teams_new_id ();

  if (team == NULL || !read_body (req, TRUE) ||
      !body_choice (req, "role", member_roles, NULL, &role))
    return;
  if (role == NULL)
    {
      respond_problem (req, "role", "missing", "Field required");
      return;
    }
  current = cf_access_get_member_role (req->access, req->args[0], req->args[1]);
  if (current == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
      return;
    }
  if (g_str_equal (current, "owner") && !g_str_equal (role, "owner") &&
      count_owners (req->access, req->args[0]) <= 1)
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "A team needs at least one owner");
      return;
    }
  req->id = g_strdup (req->args[1]);
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_MEMBER_SET_ROLE, req->args[0],
                                                 req->args[1], role));
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_CLEAR, req->args[1],
                                                 req->args[0]));
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, assignment, req->args[1],
                                                 role_for_member (role), "team", req->args[0],
                                                 caller (req)));
  submit (req, writes, respond_member);
}

static void
respond_removed (Req *req)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "message", req->token ? req->token : "Done");
  respond_object (req, SOUP_STATUS_OK, body);
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
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
      return;
    }
  if (flag (team, "is_personal"))
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "Nobody can leave a personal team");
      return;
    }
  if (g_str_equal (current, "owner") && count_owners (req->access, team_id) <= 1)
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "A team needs at least one owner");
      return;
    }
  req->token = g_strdup (message);
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_MEMBER_REMOVE, team_id, email));
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_CLEAR, email, team_id));
  submit (req, writes, respond_removed);
}

static void
handle_member_remove (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);

  if (team != NULL)
    remove_member (req, team, req->args[1], "Member removed successfully");
}

static void
handle_team_leave (Req *req)
{
  const char *email = require_user (req);
  JsonObject *team = email ? visible_team (req, req->args[0]) : NULL;

  if (team != NULL)
    remove_member (req, team, email, "Successfully left the team");
}

/* Invitations */

static void
respond_invitation_created (Req *req)
{
  JsonObject *invitation = cf_access_find_invitation (req->access, "id", req->id);

  respond_object (req, SOUP_STATUS_CREATED,
                  invitation_response (req->access, invitation, req->token));
}

static void
handle_invite (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);
  const char *email, *role;
  g_autoptr(GPtrArray) writes = NULL;
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
  g_autoptr(GDateTime) expires = g_date_time_add_days (now, INVITATION_EXPIRY_DAYS);
  g_autofree char *expires_at = g_date_time_format (expires, "%Y-%m-%dT%H:%M:%SZ");
  g_autofree char *hash = NULL;

  if (team == NULL || !read_body (req, TRUE) ||
      !body_string (req, "email", TRUE, FALSE, 3, MAX_NAME, &email) ||
      !body_choice (req, "role", member_roles, "member", &role))
    return;
  if (strchr (email, '@') == NULL)
    {
      respond_problem (req, "email", "value_error", "value is not a valid email address");
      return;
    }
  if (!check_can_join (req, team, email))
    return;
  req->id = cf_teams_new_id ();
  req->token = cf_random_hex (32);
  hash = cf_teams_hash_token (req->token);
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_INVITATION_INSERT, req->id,
                                                 req->args[0], email, role, caller (req), hash,
                                                 expires_at));
  submit (req, writes, respond_invitation_created);
}

static void
handle_invitations_list (Req *req)
{
  JsonObject *team = owned_team (req, req->args[0]);
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
  respond_array (req, SOUP_STATUS_OK, out);
}

static void
respond_accepted (Req *req)
{
  g_autoptr(GPtrArray) members = cf_access_list_members (req->access, req->id);

  for (guint i = 0; i < members->len; i++)
    if (g_strcmp0 (cf_json_object_get_string (members->pdata[i], "user_email"),
                   caller (req)) == 0)
      {
        respond_object (req, SOUP_STATUS_OK, member_response (members->pdata[i]));
        return;
      }
  respond_detail (req, SOUP_STATUS_NOT_FOUND, "Member not found");
}

static void
handle_invitation_accept (Req *req)
{
  const char *email = require_user (req);
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
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Invitation not found");
      return;
    }
  if (is_expired (invitation))
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "Invitation has expired");
      return;
    }
  if (g_ascii_strcasecmp (cf_json_object_get_string (invitation, "email"), email) != 0)
    {
      respond_detail (req, SOUP_STATUS_FORBIDDEN, "The invitation is for another user");
      return;
    }
  if (!check_can_join (req, team, email))
    return;
  req->id = g_strdup (cf_json_object_get_string (team, "id"));
  writes = new_writes ();
  /* Closing it must change it: a second accept at once fails here. */
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_INVITATION_CLOSE,
                                                 cf_json_object_get_string (invitation, "id")));
  add_membership_writes (writes, req->id, email, cf_json_object_get_string (invitation, "role"),
                         cf_json_object_get_string (invitation, "invited_by"));
  submit (req, writes, respond_accepted);
}

static void
handle_invitation_cancel (Req *req)
{
  JsonObject *invitation = cf_access_find_invitation (req->access, "id", req->args[0]);
  const char *team_id = invitation ? cf_json_object_get_string (invitation, "team_id") : NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (invitation == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Invitation not found");
      return;
    }
  if (!caller_is_admin (req) &&
      g_strcmp0 (cf_json_object_get_string (invitation, "invited_by"), caller (req)) != 0 &&
      g_strcmp0 (cf_access_get_member_role (req->access, team_id, caller (req)), "owner") != 0)
    {
      respond_detail (req, SOUP_STATUS_FORBIDDEN, "Only a team owner can do this");
      return;
    }
  req->token = g_strdup ("Invitation cancelled successfully");
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_INVITATION_CLOSE, req->args[0]));
  submit (req, writes, respond_removed);
}

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

  copy_string (out, role, "id");
  copy_string (out, role, "name");
  copy_string (out, role, "description");
  copy_string (out, role, "scope");
  json_object_set_array_member (out, "permissions",
                                permissions_array (cf_json_object_get_string (role,
                                                                              "permissions")));
  copy_string (out, role, "inherits_from");
  copy_string (out, role, "created_by");
  json_object_set_boolean_member (out, "is_system_role", flag (role, "is_system_role"));
  json_object_set_boolean_member (out, "is_active", flag (role, "is_active"));
  copy_string (out, role, "created_at");
  copy_string (out, role, "updated_at");
  return out;
}

static JsonObject *
user_role_response (CfAccess   *access,
                    JsonObject *assignment)
{
  JsonObject *out = json_object_new ();
  JsonObject *role = cf_access_lookup_role (access,
                                            cf_json_object_get_string (assignment, "role_id"));

  copy_string (out, assignment, "id");
  copy_string (out, assignment, "user_email");
  copy_string (out, assignment, "role_id");
  json_object_set_string_member (out, "role_name",
                                 role ? cf_json_object_get_string (role, "name") : "");
  copy_string (out, assignment, "scope");
  copy_string (out, assignment, "scope_id");
  copy_string (out, assignment, "granted_by");
  copy_string (out, assignment, "granted_at");
  copy_string (out, assignment, "expires_at");
  json_object_set_boolean_member (out, "is_active", flag (assignment, "is_active"));
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
      respond_problem (req, "permissions", node ? "list_type" : "missing",
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

          respond_problem (req, "permissions", "value_error", message);
          return NULL;
        }
    }
  return cf_json_to_string (node, NULL);
}

static void
respond_role (Req *req)
{
  respond_object (req, req->token ? SOUP_STATUS_CREATED : SOUP_STATUS_OK,
                  role_response (cf_access_lookup_role (req->access, req->id)));
}

static void
handle_role_create (Req *req)
{
  const char *name, *description, *scope, *inherits;
  g_autofree char *permissions = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  if (!read_body (req, TRUE) ||
      !body_string (req, "name", TRUE, FALSE, 1, MAX_NAME, &name) ||
      !body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION, &description) ||
      !body_choice (req, "scope", role_scopes, NULL, &scope) ||
      !body_string (req, "inherits_from", FALSE, TRUE, 1, MAX_NAME, &inherits))
    return;
  if (scope == NULL)
    {
      respond_problem (req, "scope", "missing", "Field required");
      return;
    }
  if ((permissions = body_permissions (req, TRUE)) == NULL)
    return;
  if (cf_access_lookup_role (req->access, name) != NULL)
    {
      respond_detail (req, SOUP_STATUS_CONFLICT, "A role with this name already exists");
      return;
    }
  if (inherits != NULL && cf_access_lookup_role (req->access, inherits) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Parent role not found");
      return;
    }
  req->id = cf_teams_new_id ();
  req->token = g_strdup ("created");
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (
    CF_STORE_ROLE_PUT, req->id, name, description, scope, permissions,
    inherits ? cf_json_object_get_string (cf_access_lookup_role (req->access, inherits), "id")
             : NULL,
    "0", caller (req)));
  submit (req, writes, respond_role);
}

static void
handle_role_list (Req *req)
{
  JsonArray *all = cf_json_object_get_array (cf_access_get_state (req->access), "roles");
  JsonArray *out = json_array_new ();

  for (guint i = 0; all != NULL && i < json_array_get_length (all); i++)
    json_array_add_object_element (out, role_response (json_array_get_object_element (all, i)));
  respond_array (req, SOUP_STATUS_OK, out);
}

static JsonObject *
path_role (Req *req)
{
  JsonObject *role = cf_access_lookup_role (req->access, req->args[0]);

  if (role == NULL)
    respond_detail (req, SOUP_STATUS_NOT_FOUND, "Role not found");
  return role;
}

static void
handle_role_get (Req *req)
{
  JsonObject *role = path_role (req);

  if (role != NULL)
    respond_object (req, SOUP_STATUS_OK, role_response (role));
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
  if (flag (role, "is_system_role"))
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "System roles cannot be changed");
      return;
    }
  if (!read_body (req, TRUE) ||
      !body_string (req, "name", FALSE, FALSE, 1, MAX_NAME, &name) ||
      !body_string (req, "description", FALSE, TRUE, 0, MAX_DESCRIPTION, &description))
    return;
  if (json_object_has_member (req->body, "permissions") &&
      (permissions = body_permissions (req, TRUE)) == NULL)
    return;
  if (name != NULL && cf_access_lookup_role (req->access, name) != NULL &&
      cf_access_lookup_role (req->access, name) != role)
    {
      respond_detail (req, SOUP_STATUS_CONFLICT, "A role with this name already exists");
      return;
    }
  req->id = g_strdup (cf_json_object_get_string (role, "id"));
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (
    CF_STORE_ROLE_PUT, req->id, name ?: cf_json_object_get_string (role, "name"),
    json_object_has_member (req->body, "description")
    ? description : cf_json_object_get_string (role, "description"),
    cf_json_object_get_string (role, "scope"),
    permissions ?: cf_json_object_get_string (role, "permissions"),
    cf_json_object_get_string (role, "inherits_from"), "0",
    cf_json_object_get_string (role, "created_by")));
  submit (req, writes, respond_role);
}

static void
handle_role_delete (Req *req)
{
  JsonObject *role = path_role (req);
  g_autoptr(GPtrArray) writes = NULL;

  if (role == NULL)
    return;
  if (flag (role, "is_system_role"))
    {
      respond_detail (req, SOUP_STATUS_BAD_REQUEST, "System roles cannot be deleted");
      return;
    }
  req->token = g_strdup ("Role deleted successfully");
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_ROLE_DELETE,
                                                 cf_json_object_get_string (role, "id")));
  submit (req, writes, respond_removed);
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
  respond_array (req, status, out);
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
        respond_object (req, SOUP_STATUS_CREATED,
                        user_role_response (req->access, assignments->pdata[i]));
        return;
      }
  respond_detail (req, SOUP_STATUS_INTERNAL_SERVER_ERROR, "The role was not assigned");
}

static void
handle_user_role_assign (Req *req)
{
  const char *role_ref, *scope, *scope_id;
  JsonObject *role;
  g_autofree char *id = cf_teams_new_id ();
  g_autoptr(GPtrArray) writes = NULL;

  if (!read_body (req, TRUE) ||
      !body_string (req, "role_id", TRUE, FALSE, 1, MAX_NAME, &role_ref) ||
      !body_choice (req, "scope", role_scopes, NULL, &scope) ||
      !body_string (req, "scope_id", FALSE, TRUE, 1, MAX_NAME, &scope_id))
    return;
  if (cf_access_lookup_user (req->access, req->args[0]) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
      return;
    }
  if ((role = cf_access_lookup_role (req->access, role_ref)) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Role not found");
      return;
    }
  if (scope == NULL)
    scope = cf_json_object_get_string (role, "scope");
  if (g_strcmp0 (scope, cf_json_object_get_string (role, "scope")) != 0)
    {
      respond_problem (req, "scope", "value_error", "The scope must be the role's own scope");
      return;
    }
  if (g_str_equal (scope, "team") != (scope_id != NULL))
    {
      respond_problem (req, "scope_id", "value_error",
                       "A team role needs the team's id as scope_id, and only a team role");
      return;
    }
  if (scope_id != NULL && cf_access_lookup_team (req->access, scope_id) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Team not found");
      return;
    }
  req->id = g_strdup (cf_json_object_get_string (role, "id"));
  req->token = g_strdup (scope_id);
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, id, req->args[0],
                                                 req->id, scope, scope_id, caller (req)));
  submit (req, writes, respond_assignment);
}

static void
handle_user_roles_list (Req *req)
{
  if (cf_access_lookup_user (req->access, req->args[0]) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
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
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "Role not found");
      return;
    }
  req->token = g_strdup ("Role revoked successfully");
  writes = new_writes ();
  add_write (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_REMOVE, req->args[0],
                                                 cf_json_object_get_string (role, "id"),
                                                 scope_id));
  submit (req, writes, respond_removed);
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

  if (!read_body (req, TRUE) ||
      !body_string (req, "user_email", TRUE, FALSE, 1, MAX_NAME, &email) ||
      !body_string (req, "permission", TRUE, FALSE, 1, MAX_NAME, &permission) ||
      !body_string (req, "team_id", FALSE, TRUE, 1, MAX_NAME, &team_id))
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
  respond_object (req, SOUP_STATUS_OK, body);
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
  respond_array (req, SOUP_STATUS_OK, out);
}

static void
handle_user_permissions (Req *req)
{
  if (cf_access_lookup_user (req->access, req->args[0]) == NULL)
    {
      respond_detail (req, SOUP_STATUS_NOT_FOUND, "User not found");
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
  respond_object (req, SOUP_STATUS_OK, body);
}

static void
handle_my_roles (Req *req)
{
  const char *email = require_user (req);

  if (email != NULL)
    respond_user_roles_of (req, email, SOUP_STATUS_OK);
}

static void
handle_my_permissions (Req *req)
{
  const char *email = require_user (req);

  if (email != NULL)
    respond_permissions_of (req, email);
}

/* Routing */

typedef struct {
  const char *method;
  const char *pattern;
  Handler     handler;
} Route;

/* Below /teams; "{}" captures one segment. Literal rows first. */
static const Route team_routes[] = {
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
  { NULL, NULL, NULL },
};

static const Route rbac_routes[] = {
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

/* Returns: (transfer full) (nullable): the decoded captures when @rest
 * fits @pattern */
static GStrv
capture (const char *pattern,
         const char *rest)
{
  g_auto(GStrv) parts = g_strsplit (pattern, "/", -1);
  g_auto(GStrv) segments = g_strsplit (rest, "/", -1);
  g_autoptr(GStrvBuilder) captured = g_strv_builder_new ();

  if (g_strv_length (parts) != g_strv_length (segments))
    return NULL;
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (g_str_equal (parts[i], "{}"))
        {
          g_autofree char *value = g_uri_unescape_string (segments[i], "/");

          if (value == NULL || *value == '\0')
            return NULL;
          g_strv_builder_add (captured, value);
        }
      else if (!g_str_equal (parts[i], segments[i]))
        return NULL;
    }
  return g_strv_builder_end (captured);
}

static void
dispatch (CfTeamsHttp       *self,
          const Route       *table,
          SoupServerMessage *msg,
          const char        *rest,
          GHashTable        *query)
{
  const char *method = soup_server_message_get_method (msg);
  g_autofree char *trimmed = NULL;
  gboolean path_exists = FALSE;
  gsize length = strlen (rest);

  if (length > 0 && rest[length - 1] == '/')
    rest = trimmed = g_strndup (rest, length - 1);
  if (g_str_equal (method, "HEAD"))
    method = "GET";

  for (const Route *route = table; route->method != NULL; route++)
    {
      g_auto(GStrv) args = capture (route->pattern, rest);
      g_autoptr(Req) req = NULL;
      CfIdentity *identity;

      if (args == NULL)
        continue;
      path_exists = TRUE;
      if (!g_str_equal (route->method, method))
        continue;
      req = g_new0 (Req, 1);
      req->ref_count = 1;
      req->self = g_object_ref (self);
      req->msg = g_object_ref (msg);
      identity = cf_identity_from_message (msg);
      req->identity = identity ? g_object_ref (identity) : NULL;
      req->access = cf_teams_get_access (self->teams);
      req->query = query ? g_hash_table_ref (query) : NULL;
      req->args = g_steal_pointer (&args);
      req->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (on_gone), req);
      req->disconnected_id = g_signal_connect (msg, "disconnected", G_CALLBACK (on_gone), req);
      if (req->access == NULL)
        {
          respond_detail (req, SOUP_STATUS_SERVICE_UNAVAILABLE, "Teams are not ready");
          return;
        }
      route->handler (req);
      return;
    }
  if (path_exists)
    cf_http_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method Not Allowed");
  else
    cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
}

static const char *
below (const char *path,
       const char *mount)
{
  if (g_str_has_prefix (path, "/v1"))
    path += 3;
  return g_str_has_prefix (path, mount) ? path + strlen (mount) : NULL;
}

static void
on_teams_route (CfHttpServer      *http,
                SoupServerMessage *msg,
                const char        *path,
                GHashTable        *query,
                gpointer           user_data)
{
  const char *rest = below (path, "/teams");

  if (rest == NULL || (*rest != '\0' && *rest != '/'))
    cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
  else
    dispatch (user_data, team_routes, msg, rest, query);
}

static void
on_rbac_route (CfHttpServer      *http,
               SoupServerMessage *msg,
               const char        *path,
               GHashTable        *query,
               gpointer           user_data)
{
  const char *rest = below (path, "/rbac");

  if (rest == NULL || (*rest != '\0' && *rest != '/'))
    cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
  else
    dispatch (user_data, rbac_routes, msg, rest, query);
}

/**
 * cf_teams_http_install:
 * @self: a #CfTeamsHttp
 * @http: the server
 *
 * Appends the `rbac` middleware step (so after `auth`, which must be
 * there already) and mounts `/teams`, `/v1/teams`, `/rbac` and `/v1/rbac`.
 * @self must outlive @http's use of it.
 */
void
cf_teams_http_install (CfTeamsHttp  *self,
                       CfHttpServer *http)
{
  g_return_if_fail (CF_IS_TEAMS_HTTP (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (http));

  cf_http_server_add_middleware (http, "rbac", middleware_rbac, self);
  cf_http_server_add_route (http, "/teams", on_teams_route, self);
  cf_http_server_add_route (http, "/v1/teams", on_teams_route, self);
  cf_http_server_add_route (http, "/rbac", on_rbac_route, self);
  cf_http_server_add_route (http, "/v1/rbac", on_rbac_route, self);
  g_object_set_data_full (G_OBJECT (http), "cf-teams-http", g_object_ref (self),
                          g_object_unref);
}
