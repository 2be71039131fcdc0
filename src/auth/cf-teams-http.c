/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-http"

#include "config.h"

#include <string.h>

#include "cf-teams-http-private.h"

/**
 * CfTeamsHttp:
 *
 * The REST side of tenancy: ContextForge's `/teams` and `/rbac` routers
 * (under `/v1` and unversioned), and the `rbac` middleware step, which
 * checks every REST route's permission from one table before any handler
 * runs. Handlers read the #CfAccess snapshot; writes go through
 * cf_teams_apply_async() while the message waits.
 */

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
  { "POST", "/teams/{}/join", "teams.join", FALSE },
  { "GET", "/teams/{}/join-requests", "teams.read", FALSE },
  { "POST", "/teams/{}/join-requests/{}/approve", "teams.manage_members", FALSE },
  { "DELETE", "/teams/{}/join-requests/{}", "teams.join", FALSE },
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

/* The length of @path's first segment, after its leading slash */
static gsize
first_segment_length (const char *path)
{
  return strcspn (path + 1, "/");
}

/* The table's rows by the first segment of their pattern (every pattern
 * starts with a literal one), each list without "{}" rows first, then
 * the others, each in table order: worked out once, as every request is
 * looked up, and most (/mcp among them) have no row at all. */
static GHashTable *
rows_by_segment (void)
{
  static GHashTable *index;

  if (g_once_init_enter (&index))
    {
      GHashTable *table = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                 (GDestroyNotify) g_array_unref);

      for (guint pass = 0; pass < 2; pass++)
        for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
          if ((strstr (routes[i].pattern, "{}") == NULL) == (pass == 0))
            {
              const char *pattern = routes[i].pattern;
              g_autofree char *segment = g_strndup (pattern + 1, first_segment_length (pattern));
              GArray *rows = g_hash_table_lookup (table, segment);

              g_assert (pattern[0] == '/' && pattern[1] != '{');
              if (rows == NULL)
                {
                  rows = g_array_new (FALSE, FALSE, sizeof (guint));
                  g_hash_table_insert (table, g_steal_pointer (&segment), rows);
                }
              g_array_append_val (rows, i);
            }
      g_once_init_leave (&index, table);
    }
  return index;
}

/**
 * cf_rbac_route_matches:
 * @route: a row of the table
 * @method: the request's method, HEAD as GET
 * @path: the request's path without `/v1` and a trailing slash
 *
 * Returns: whether @route guards @method on @path
 */
gboolean
cf_rbac_route_matches (const CfRbacRoute *route,
                       const char        *method,
                       const char        *path)
{
  return (g_str_equal (route->method, "*") || g_str_equal (route->method, method)) &&
         pattern_matches (route->pattern, path);
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
  g_autofree char *heap = NULL;
  char buffer[32];
  char *segment;
  gsize length, segment_length;
  GArray *rows;

  if (g_str_has_prefix (path, "/v1/"))
    path += 3;
  length = strlen (path);
  if (length > 1 && path[length - 1] == '/')
    path = trimmed = g_strndup (path, length - 1);
  if (g_str_equal (method, "HEAD"))
    method = "GET";
  if (path[0] != '/')
    return NULL;

  segment_length = first_segment_length (path);
  segment = segment_length < sizeof buffer ? buffer : (heap = g_malloc (segment_length + 1));
  memcpy (segment, path + 1, segment_length);
  segment[segment_length] = '\0';
  rows = g_hash_table_lookup (rows_by_segment (), segment);
  for (guint i = 0; rows != NULL && i < rows->len; i++)
    {
      const CfRbacRoute *route = &routes[g_array_index (rows, guint, i)];

      if (cf_rbac_route_matches (route, method, path))
        return route;
    }
  return NULL;
}

/**
 * cf_teams_http_respond_forbidden:
 * @exchange: the request
 * @permission: what it lacked
 *
 * ContextForge's 403: `{"detail": "Insufficient permissions. Required: …"}`.
 */
void
cf_teams_http_respond_forbidden (CfHttpExchange *exchange,
                                 const char     *permission)
{
  g_autofree char *detail = g_strdup_printf ("Insufficient permissions. Required: %s",
                                             permission);

  cf_http_exchange_respond_error (exchange, SOUP_STATUS_FORBIDDEN, detail);
}

/* The object */

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
middleware_rbac (CfHttpServer   *http,
                 CfHttpExchange *exchange,
                 gpointer        user_data)
{
  CfTeamsHttp *self = user_data;
  const char *method = cf_http_exchange_get_method (exchange);
  const char *path = cf_http_exchange_get_path (exchange);
  const CfRbacRoute *route;

  if (method == SOUP_METHOD_OPTIONS)
    return TRUE;
  route = cf_rbac_find_route (method, path);
  if (route == NULL || route->permission == NULL)
    return TRUE;
  if (cf_teams_check (self->teams, cf_identity_from_exchange (exchange), route->permission, NULL))
    return TRUE;
  g_info ("Refused %s %s: lacks %s", method, path, route->permission);
  cf_teams_http_respond_forbidden (exchange, route->permission);
  return FALSE;
}

/* Routing */

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
      req->finished_id = g_signal_connect (msg, "finished",
                                           G_CALLBACK (_cf_teams_http_on_gone), req);
      req->disconnected_id = g_signal_connect (msg, "disconnected",
                                               G_CALLBACK (_cf_teams_http_on_gone), req);
      if (req->access == NULL)
        {
          _cf_teams_http_respond_detail (req, SOUP_STATUS_SERVICE_UNAVAILABLE,
                                         "Teams are not ready");
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
    dispatch (user_data, _cf_teams_http_team_routes, msg, rest, query);
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
    dispatch (user_data, _cf_teams_http_rbac_routes, msg, rest, query);
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
