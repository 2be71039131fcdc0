/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <sqlite3.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"
#include "cf-jwt.h"
#include "cf-rbac.h"
#include "cf-store.h"
#include "cf-teams-http.h"

/* Teams, roles and visibility as a client of the contextforge-gateway
 * binary meets them: every guarded route against every system role (from
 * the guard's own table), each visibility against each kind of token over
 * REST and MCP, and the team, member, invitation and role API with its
 * bad inputs. Users are written to the database before the daemon starts
 * (the gateway has no user registration yet); tokens are signed with the
 * daemon's secret, as its own login would sign them. */

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "Integration-Admin-Password-1!"
#define SECRET "tenancy-secret-0123456789abcdef0123456789abcdef"
#define ALICE "alice@example.com"
#define BOB "bob@example.com"
#define CAROL "carol@example.com"
#define NONE_ID "x-none"

/* One user per role of the matrix, plus the ones the other tests use. */
static const char * const matrix_users[][2] = {
  { "padmin@example.com", "platform_admin" },
  { "tadmin@example.com", "team_admin" },
  { "dev@example.com", "developer" },
  { "viewer@example.com", "viewer" },
  { "pviewer@example.com", "platform_viewer" },
};

typedef struct {
  char            *dir;
  char            *db;
  CfDaemonHarness *daemon;
  CfJwt           *jwt;
  char            *admin_token;
} Fixture;

static Fixture fx;

/* A body as text, freed at exit, for messages and searches. */
static const char *
text_of (JsonNode *node)
{
  static GPtrArray *texts;

  if (texts == NULL)
    texts = g_ptr_array_new_with_free_func (g_free);
  if (node == NULL)
    {
      g_ptr_array_set_size (texts, 0);
      return NULL;
    }
  g_ptr_array_add (texts, cf_json_to_string (node, NULL));
  return g_ptr_array_index (texts, texts->len - 1);
}

static void
insert_users (const char * const *emails)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (fx.db, &db), ==, SQLITE_OK);
  for (guint i = 0; emails[i] != NULL; i++)
    {
      g_autofree char *sql = g_strdup_printf (
          "INSERT INTO email_users (email, password_hash, full_name, created_at, updated_at)"
          " VALUES ('%s', 'not-a-hash', 'User %u', '2026-01-01T00:00:00Z',"
          " '2026-01-01T00:00:00Z')", emails[i], i);

      g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
    }
  sqlite3_close (db);
}

static void
exec_sql (const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (fx.db, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_changes (db), >, 0);
  sqlite3_close (db);
}

static void
start_daemon (void)
{
  fx.daemon = cf_daemon_harness_start_auth (fx.db, ADMIN_PASSWORD, SECRET, NULL);
}

/* A signed token. @token_use: "session", or %NULL for a legacy API-style
 * token; @teams: %NULL for no claim, else JSON ("null", "[]", "[...]");
 * @permissions: JSON or %NULL. */
static char *
mint (const char *email,
      gboolean    is_admin,
      const char *token_use,
      const char *teams,
      const char *permissions)
{
  g_autoptr(JsonObject) claims = json_object_new ();
  JsonObject *user = json_object_new ();
  JsonObject *scopes = json_object_new ();
  g_autofree char *jti = g_uuid_string_random ();
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;
  char *token;

  json_object_set_string_member (claims, "sub", email);
  json_object_set_string_member (claims, "iss", "mcpgateway");
  json_object_set_string_member (claims, "aud", "mcpgateway-api");
  json_object_set_int_member (claims, "iat", now);
  json_object_set_int_member (claims, "exp", now + 3600);
  json_object_set_string_member (claims, "jti", jti);
  json_object_set_string_member (user, "email", email);
  json_object_set_boolean_member (user, "is_admin", is_admin);
  json_object_set_object_member (claims, "user", user);
  if (token_use != NULL)
    json_object_set_string_member (claims, "token_use", token_use);
  if (teams != NULL)
    json_object_set_member (claims, "teams", cf_json_parse (teams, -1, NULL));
  json_object_set_member (scopes, "permissions",
                          cf_json_parse (permissions ? permissions : "[]", -1, NULL));
  json_object_set_object_member (claims, "scopes", scopes);
  token = cf_jwt_sign (fx.jwt, claims, &error);
  g_assert_no_error (error);
  return token;
}

static char *
session (const char *email)
{
  return mint (email, FALSE, "session", NULL, "[\"*\"]");
}

/* A request as @token; the body is parsed, or %NULL when empty. */
static JsonNode *
call (const char *method,
      const char *path,
      const char *body,
      const char *token,
      guint      *status)
{
  return cf_harness_call (fx.daemon, method, path, body, token, status, NULL);
}

/* Asserts @status and returns the body's object. */
static JsonObject *
expect (JsonNode   *node,
        guint       status,
        guint       expected,
        const char *what)
{
  if (status != expected)
    g_error ("%s: expected %u, got %u: %s", what, expected, status,
             node ? text_of (node) : "(empty)");
  g_assert_nonnull (node);
  return JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
}

/* Asserts an error status with a JSON `detail`. */
static void
expect_error (const char *method,
              const char *path,
              const char *body,
              const char *token,
              guint       expected)
{
  g_autofree char *what = g_strdup_printf ("%s %s %s", method, path, body ? body : "");
  guint status = 0;
  g_autoptr(JsonNode) node = call (method, path, body, token, &status);
  JsonObject *object = expect (node, status, expected, what);

  g_assert_nonnull (object);
  g_assert_true (json_object_has_member (object, "detail"));
}

static char *
create_team (const char *token,
             const char *body)
{
  guint status = 0;
  g_autoptr(JsonNode) node = call ("POST", "/teams", body, token, &status);
  JsonObject *team = expect (node, status, 201, body);

  return g_strdup (json_object_get_string_member (team, "id"));
}

static void
ok_call (const char *method,
         const char *path,
         const char *body,
         const char *token,
         guint       expected)
{
  guint status = 0;
  g_autoptr(JsonNode) node = call (method, path, body, token, &status);
  g_autofree char *what = g_strdup_printf ("%s %s", method, path);

  expect (node, status, expected, what);
}

/* The role matrix */

static const CfRbacSystemRole *
system_role (const char *name)
{
  const CfRbacSystemRole *role = cf_rbac_find_system_role (name);

  g_assert_nonnull (role);
  return role;
}

/* The path a table row stands for: "{}" filled with an id nothing has,
 * under /v1 where the REST API lives. */
static char *
route_path (const CfRbacRoute *route)
{
  g_auto(GStrv) parts = g_strsplit (route->pattern, "{}", -1);
  g_autofree char *filled = g_strjoinv (NONE_ID, parts);
  gboolean unversioned = g_str_has_prefix (route->pattern, "/version") ||
                         g_str_equal (route->method, "*");

  return unversioned ? g_steal_pointer (&filled) : g_strconcat ("/v1", filled, NULL);
}

static void
test_role_matrix (void)
{
  g_autofree char *team = create_team (fx.admin_token, "{\"name\":\"Matrix\"}");
  const CfRbacRoute *routes;
  guint n_routes, checked = 0, denied = 0;

  /* Each user keeps exactly one role: the defaults (platform_viewer and
   * team_admin of its personal team) go. */
  for (guint u = 0; u < G_N_ELEMENTS (matrix_users); u++)
    {
      const char *email = matrix_users[u][0];
      const CfRbacSystemRole *role = system_role (matrix_users[u][1]);
      g_autofree char *viewer_path = g_strdup_printf ("/rbac/users/%s/roles/platform_viewer",
                                                      email);
      g_autofree char *team_admin_path = g_strdup_printf ("/rbac/users/%s/roles/team_admin",
                                                          email);
      g_autofree char *assign_path = g_strdup_printf ("/rbac/users/%s/roles", email);
      g_autofree char *assign = NULL;

      ok_call ("DELETE", viewer_path, NULL, fx.admin_token, 200);
      ok_call ("DELETE", team_admin_path, NULL, fx.admin_token, 200);
      if (g_str_equal (role->scope, "team"))
        assign = g_strdup_printf ("{\"role_id\":\"%s\",\"scope\":\"team\",\"scope_id\":\"%s\"}",
                                  role->name, team);
      else
        assign = g_strdup_printf ("{\"role_id\":\"%s\",\"scope\":\"global\"}", role->name);
      ok_call ("POST", assign_path, assign, fx.admin_token, 201);
    }

  routes = cf_rbac_get_routes (&n_routes);
  for (guint u = 0; u < G_N_ELEMENTS (matrix_users); u++)
    {
      const CfRbacSystemRole *role = system_role (matrix_users[u][1]);
      g_autofree char *token = session (matrix_users[u][0]);

      for (guint r = 0; r < n_routes; r++)
        {
          const CfRbacRoute *route = &routes[r];
          g_autofree char *path = NULL;
          g_autoptr(JsonNode) node = NULL;
          const char *method;
          const char *detail = NULL;
          g_autofree char *expected_detail = NULL;
          gboolean allowed;
          guint status = 0;

          if (route->external)
            continue;
          path = route_path (route);
          method = g_str_equal (route->method, "*") ? "POST" : route->method;
          allowed = route->permission == NULL ||
                    cf_rbac_permissions_grant (role->permissions, route->permission);
          node = call (method, path,
                       g_str_equal (method, "POST") || g_str_equal (method, "PUT") ? "{}" : NULL,
                       token, &status);
          if (node != NULL && JSON_NODE_HOLDS_OBJECT (node))
            detail = cf_json_object_get_string (json_node_get_object (node), "detail");
          expected_detail = g_strdup_printf ("Insufficient permissions. Required: %s",
                                             route->permission);
          if (allowed && status == 403 && g_strcmp0 (detail, expected_detail) == 0)
            g_error ("%s %s %s: refused, but %s has %s", role->name, method, path, role->name,
                     route->permission);
          if (!allowed && (status != 403 || g_strcmp0 (detail, expected_detail) != 0))
            g_error ("%s %s %s: expected 403 for %s, got %u %s", role->name, method, path,
                     route->permission, status, detail ? detail : "");
          checked++;
          denied += !allowed;
        }
    }
  g_test_message ("%u route checks, %u refused", checked, denied);
  g_assert_cmpuint (denied, >, 0);
  g_assert_cmpuint (denied, <, checked);
}

/* Visibility */

typedef struct {
  const char *name;
  char       *token;
  /* sees the public, team and private tool */
  gboolean    sees[3];
} Viewer;

static const char * const tool_names[] = { "pub-tool", "team-tool", "priv-tool" };

static JsonNode *
mcp (const char *token,
     const char *method,
     const char *name,
     const char *params)
{
  g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
  const char *headers[] = {
    "Authorization", bearer, "MCP-Protocol-Version", "2026-07-28", "Mcp-Method", method,
    name ? "Mcp-Name" : NULL, name, NULL
  };
  g_autofree char *body = g_strdup_printf (
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"%s\",\"params\":{%s%s\"_meta\":{"
      "\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\","
      "\"io.modelcontextprotocol/clientCapabilities\":{}}}}",
      method, params ? params : "", params ? "," : "");
  guint status = 0;
  JsonNode *node = cf_harness_request (fx.daemon, "POST", "/mcp", body, headers, &status, NULL);

  g_assert_cmpuint (status, ==, 200);
  return node;
}

static GHashTable *
names_of (JsonArray  *array,
          const char *member)
{
  GHashTable *names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint i = 0; i < json_array_get_length (array); i++)
    g_hash_table_add (names, g_strdup (json_object_get_string_member (
                                         json_array_get_object_element (array, i), member)));
  return names;
}

/* The error of calling tool @name, with @name written as "NAME". */
static char *
call_error (const char *token,
            const char *name)
{
  g_autofree char *params = g_strdup_printf ("\"name\":\"%s\",\"arguments\":{}", name);
  g_autoptr(JsonNode) node = mcp (token, "tools/call", name, params);
  JsonObject *error = cf_json_object_get_object (json_node_get_object (node), "error");
  g_autoptr(GString) text = NULL;
  g_autoptr(JsonNode) copy = NULL;

  if (error == NULL)
    return NULL;
  copy = cf_json_node_deep_copy (json_object_get_member (json_node_get_object (node), "error"));
  text = g_string_new (NULL);
  g_string_append (text, text_of (copy));
  g_string_replace (text, name, "NAME", 0);
  return g_strdup (text->str);
}

static char *
get_error (const char *token,
           const char *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/tools/%s", id);
  guint status = 0;
  g_autoptr(JsonNode) node = call ("GET", path, NULL, token, &status);
  g_autoptr(GString) text = NULL;

  if (status == 200)
    return NULL;
  g_assert_cmpuint (status, ==, 404);
  text = g_string_new (text_of (node));
  g_string_replace (text, id, "ID", 0);
  return g_strdup (text->str);
}

static void
test_visibility (void)
{
  g_autofree char *alice = session (ALICE);
  g_autofree char *team = create_team (alice, "{\"name\":\"Visible\"}");
  char *ids[3] = { NULL, NULL, NULL };
  g_autofree char *member_body = g_strdup_printf ("{\"email\":\"%s\"}", BOB);
  g_autofree char *members_path = g_strdup_printf ("/teams/%s/members", team);
  g_autofree char *bob_teams = g_strdup_printf ("[\"%s\"]", team);
  const char *visibilities[] = { "public", "team", "private" };
  Viewer viewers[] = {
    { "public-only token", mint (BOB, FALSE, NULL, NULL, NULL), { TRUE, FALSE, FALSE } },
    { "public-only token ([])", mint (BOB, FALSE, NULL, "[]", NULL), { TRUE, FALSE, FALSE } },
    { "team-scoped token", mint (BOB, FALSE, NULL, bob_teams, NULL), { TRUE, TRUE, FALSE } },
    { "admin bypass", mint (ADMIN, TRUE, NULL, "null", NULL), { TRUE, TRUE, FALSE } },
    { "private owner", session (ALICE), { TRUE, TRUE, TRUE } },
    { "non-owner, team member", session (BOB), { TRUE, TRUE, FALSE } },
    { "non-owner, outsider", session (CAROL), { TRUE, FALSE, FALSE } },
  };
  g_autofree char *unknown_call = NULL;
  g_autofree char *unknown_get = NULL;

  ok_call ("POST", members_path, member_body, alice, 201);
  for (guint t = 0; t < 3; t++)
    {
      g_autofree char *body = g_strdup_printf (
          "{\"tool\":{\"name\":\"%s\",\"url\":\"http://127.0.0.1:9/none\","
          "\"integration_type\":\"REST\",\"request_type\":\"POST\",\"input_schema\":{"
          "\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}},"
          "\"required\":[\"q\"]}},\"team_id\":\"%s\",\"visibility\":\"%s\"}",
          tool_names[t], team, visibilities[t]);
      guint status = 0;
      g_autoptr(JsonNode) node = call ("POST", "/v1/tools", body, alice, &status);
      JsonObject *tool = expect (node, status, 201, body);

      ids[t] = g_strdup (json_object_get_string_member (tool, "id"));
      /* The creator owns it, in the team it named. */
      g_assert_cmpstr (cf_json_object_get_string (tool, "ownerEmail"), ==, ALICE);
      g_assert_cmpstr (cf_json_object_get_string (tool, "teamId"), ==, team);
      g_assert_cmpstr (cf_json_object_get_string (tool, "visibility"), ==, visibilities[t]);
    }

  for (guint v = 0; v < G_N_ELEMENTS (viewers); v++)
    {
      Viewer *viewer = &viewers[v];
      guint status = 0;
      g_autoptr(JsonNode) rest = call ("GET", "/v1/tools", NULL, viewer->token, &status);
      g_autoptr(JsonNode) listed = mcp (viewer->token, "tools/list", NULL, NULL);
      g_autoptr(GHashTable) rest_names = NULL;
      g_autoptr(GHashTable) mcp_names = NULL;
      JsonObject *result;

      g_test_message ("%s", viewer->name);
      g_assert_cmpuint (status, ==, 200);
      rest_names = names_of (json_node_get_array (rest), "name");
      result = cf_json_object_get_object (json_node_get_object (listed), "result");
      g_assert_nonnull (result);
      mcp_names = names_of (cf_json_object_get_array (result, "tools"), "name");
      g_clear_pointer (&unknown_call, g_free);
      g_clear_pointer (&unknown_get, g_free);
      unknown_call = call_error (viewer->token, "no-such-tool");
      unknown_get = get_error (viewer->token, "no-such-id");
      g_assert_nonnull (unknown_call);

      for (guint t = 0; t < 3; t++)
        {
          g_autofree char *call_err = call_error (viewer->token, tool_names[t]);
          g_autofree char *get_err = get_error (viewer->token, ids[t]);
          gboolean sees = viewer->sees[t];

          if (g_hash_table_contains (rest_names, tool_names[t]) != sees ||
              g_hash_table_contains (mcp_names, tool_names[t]) != sees)
            g_error ("%s: %s listed %d/%d, expected %d", viewer->name, tool_names[t],
                     g_hash_table_contains (rest_names, tool_names[t]),
                     g_hash_table_contains (mcp_names, tool_names[t]), sees);
          if (sees)
            {
              /* Visible: the call runs (and fails on its missing argument
               * as a tool error, not a protocol one). */
              g_assert_null (call_err);
              g_assert_null (get_err);
            }
          else
            {
              /* Hidden: word for word what an unknown name gets. */
              g_assert_cmpstr (call_err, ==, unknown_call);
              g_assert_cmpstr (get_err, ==, unknown_get);
            }
        }
    }

  /* Hidden means unchangeable too. */
  {
    g_autofree char *carol = session (CAROL);
    g_autofree char *path = g_strdup_printf ("/v1/tools/%s", ids[2]);

    expect_error ("PUT", path, "{\"description\":\"mine now\"}", carol, 404);
    expect_error ("DELETE", path, NULL, carol, 404);
    /* Seen is not writable: only the owner, or a role in the item's team. */
    {
      g_autofree char *pub_path = g_strdup_printf ("/v1/tools/%s", ids[0]);
      g_autofree char *team_path = g_strdup_printf ("/v1/tools/%s", ids[1]);
      g_autofree char *bob = session (BOB);

      expect_error ("PUT", pub_path, "{\"description\":\"mine now\"}", carol, 403);
      expect_error ("DELETE", pub_path, NULL, carol, 403);
      ok_call ("PUT", team_path, "{\"description\":\"edited by a developer\"}", bob, 200);
      /* A developer does not delete. */
      expect_error ("DELETE", team_path, NULL, bob, 403);
      ok_call ("PUT", pub_path, "{\"description\":\"by its owner\"}", alice, 200);
    }
    /* And nobody creates in a team it is not in. */
    {
      g_autofree char *body = g_strdup_printf (
          "{\"tool\":{\"name\":\"intruder\",\"url\":\"http://127.0.0.1:9/none\"},"
          "\"team_id\":\"%s\"}", team);

      expect_error ("POST", "/v1/tools", body, carol, 403);
    }
  }

  /* A token scoped to fewer permissions than the roles: MCP says which. */
  {
    g_autofree char *narrow = mint (BOB, FALSE, NULL, bob_teams, "[\"tools.read\"]");
    g_autoptr(JsonNode) node = mcp (narrow, "tools/call", "pub-tool",
                                    "\"name\":\"pub-tool\",\"arguments\":{}");
    JsonObject *error = cf_json_object_get_object (json_node_get_object (node), "error");
    gint64 code = 0;

    g_assert_nonnull (error);
    g_assert_true (cf_json_object_get_int (error, "code", &code));
    g_assert_cmpint (code, ==, -32003);
    g_assert_cmpstr (cf_json_object_get_string (error, "message"), ==,
                     "Insufficient permissions. Required: tools.execute");
  }

  for (guint v = 0; v < G_N_ELEMENTS (viewers); v++)
    g_free (viewers[v].token);
  for (guint t = 0; t < G_N_ELEMENTS (ids); t++)
    g_free (ids[t]);
}

/* Teams */

static JsonObject *
find_personal (JsonNode *list)
{
  JsonArray *teams = cf_json_object_get_array (json_node_get_object (list), "teams");

  for (guint i = 0; teams != NULL && i < json_array_get_length (teams); i++)
    {
      JsonObject *team = json_array_get_object_element (teams, i);

      if (json_object_get_boolean_member (team, "is_personal"))
        return team;
    }
  return NULL;
}

static void
test_teams (void)
{
  g_autofree char *alice = session (ALICE);
  g_autofree char *bob = session (BOB);
  g_autofree char *carol = session (CAROL);
  g_autofree char *team = NULL;
  g_autofree char *path = NULL;
  g_autofree char *members = NULL;
  g_autofree char *personal_path = NULL;
  g_autoptr(JsonNode) list = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object;
  const char *fields[] = {
    "id", "name", "slug", "description", "created_by", "is_personal", "visibility",
    "max_members", "member_count", "created_at", "updated_at", "is_active",
  };
  guint status = 0;

  /* Bad input */
  expect_error ("POST", "/teams", "{}", alice, 422);
  expect_error ("POST", "/teams", "{\"name\":\"\"}", alice, 422);
  expect_error ("POST", "/teams", "{\"name\":7}", alice, 422);
  expect_error ("POST", "/teams", "{\"name\":\"x\",\"visibility\":\"secret\"}", alice, 422);
  expect_error ("POST", "/teams", "{\"name\":\"x\",\"max_members\":0}", alice, 422);
  expect_error ("POST", "/teams", "{\"name\":\"x\",\"slug\":\"Not A Slug\"}", alice, 422);
  expect_error ("POST", "/teams", "[1]", alice, 422);
  expect_error ("POST", "/teams", "not json", alice, 400);
  expect_error ("GET", "/teams/" NONE_ID, NULL, alice, 404);
  expect_error ("PUT", "/teams/" NONE_ID, "{\"name\":\"y\"}", alice, 404);
  expect_error ("PATCH", "/teams", NULL, alice, 405);
  expect_error ("GET", "/teams/a/b/c/d", NULL, alice, 404);

  /* Create: ContextForge's TeamResponse, private by default. */
  node = call ("POST", "/v1/teams", "{\"name\":\"Crew\",\"slug\":\"crew\",\"max_members\":2,"
               "\"description\":\"The crew\"}", alice, &status);
  object = expect (node, status, 201, "create");
  for (guint i = 0; i < G_N_ELEMENTS (fields); i++)
    g_assert_true (json_object_has_member (object, fields[i]));
  g_assert_cmpstr (json_object_get_string_member (object, "visibility"), ==, "private");
  g_assert_cmpstr (json_object_get_string_member (object, "created_by"), ==, ALICE);
  g_assert_cmpint (json_object_get_int_member (object, "member_count"), ==, 1);
  g_assert_false (json_object_get_boolean_member (object, "is_personal"));
  team = g_strdup (json_object_get_string_member (object, "id"));
  path = g_strdup_printf ("/teams/%s", team);
  members = g_strdup_printf ("/teams/%s/members", team);
  expect_error ("POST", "/teams", "{\"name\":\"Other\",\"slug\":\"crew\"}", alice, 409);

  /* Private: hidden from outsiders as if unknown, changed only by owners. */
  expect_error ("GET", path, NULL, carol, 404);
  ok_call ("GET", path, NULL, alice, 200);
  expect_error ("PUT", path, "{\"name\":\"Mine\"}", carol, 404);
  ok_call ("PUT", path, "{\"name\":\"Crew 2\",\"visibility\":\"public\"}", alice, 200);
  ok_call ("GET", path, NULL, carol, 200);
  expect_error ("PUT", path, "{\"name\":\"Mine\"}", carol, 403);
  g_clear_pointer (&node, json_node_unref);
  node = call ("GET", "/teams/discover", NULL, carol, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (strstr (text_of (node), "Crew 2") != NULL);

  /* Members, up to max_members */
  {
    g_autofree char *add_bob = g_strdup_printf ("{\"email\":\"%s\"}", BOB);
    g_autofree char *add_carol = g_strdup_printf ("{\"email\":\"%s\"}", CAROL);
    g_autofree char *bob_path = g_strdup_printf ("%s/%s", members, BOB);

    ok_call ("POST", members, add_bob, alice, 201);
    expect_error ("POST", members, add_bob, alice, 409);
    expect_error ("POST", members, add_carol, alice, 409);
    expect_error ("POST", members, "{\"email\":\"ghost@example.com\"}", alice, 404);
    expect_error ("POST", members, "{\"email\":\"x@example.com\",\"role\":\"boss\"}", alice,
                  422);
    expect_error ("POST", members, add_carol, bob, 403);
    g_clear_pointer (&node, json_node_unref);
    node = call ("GET", members, NULL, bob, &status);
    g_assert_cmpuint (status, ==, 200);
    g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 2);
    expect_error ("GET", members, NULL, carol, 403);
    expect_error ("PUT", bob_path, "{\"role\":\"boss\"}", alice, 422);
    ok_call ("PUT", bob_path, "{\"role\":\"owner\"}", alice, 200);
    ok_call ("PUT", bob_path, "{\"role\":\"member\"}", alice, 200);
    {
      g_autofree char *alice_path = g_strdup_printf ("%s/%s", members, ALICE);
      g_autofree char *leave = g_strdup_printf ("/teams/%s/leave", team);

      /* The last owner stays. */
      expect_error ("PUT", alice_path, "{\"role\":\"member\"}", alice, 400);
      expect_error ("DELETE", leave, NULL, alice, 400);
      ok_call ("DELETE", leave, NULL, bob, 200);
      expect_error ("DELETE", leave, NULL, bob, 404);
    }
  }

  /* Personal teams: one each, never deleted, never joined. */
  list = call ("GET", "/teams", NULL, alice, &status);
  g_assert_cmpuint (status, ==, 200);
  object = find_personal (list);
  g_assert_nonnull (object);
  g_assert_cmpstr (json_object_get_string_member (object, "created_by"), ==, ALICE);
  g_assert_cmpstr (json_object_get_string_member (object, "visibility"), ==, "private");
  personal_path = g_strdup_printf ("/teams/%s", json_object_get_string_member (object, "id"));
  expect_error ("DELETE", personal_path, NULL, alice, 400);
  expect_error ("GET", personal_path, NULL, carol, 404);
  expect_error ("PUT", personal_path, "{\"visibility\":\"public\"}", alice, 400);
  {
    g_autofree char *personal_members = g_strconcat (personal_path, "/members", NULL);
    g_autofree char *personal_invites = g_strconcat (personal_path, "/invitations", NULL);
    g_autofree char *add_bob = g_strdup_printf ("{\"email\":\"%s\"}", BOB);

    expect_error ("POST", personal_members, add_bob, alice, 400);
    expect_error ("POST", personal_invites, add_bob, alice, 400);
  }

  /* Delete */
  expect_error ("DELETE", path, NULL, carol, 403);
  ok_call ("DELETE", path, NULL, alice, 200);
  expect_error ("GET", path, NULL, alice, 404);
}

static char *
invite (const char  *token,
        const char  *team,
        const char  *email,
        char       **out_id)
{
  g_autofree char *path = g_strdup_printf ("/teams/%s/invitations", team);
  g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\"}", email);
  guint status = 0;
  g_autoptr(JsonNode) node = call ("POST", path, body, token, &status);
  JsonObject *invitation = expect (node, status, 201, "invite");

  g_assert_cmpstr (json_object_get_string_member (invitation, "email"), ==, email);
  g_assert_false (json_object_get_boolean_member (invitation, "is_expired"));
  if (out_id != NULL)
    *out_id = g_strdup (json_object_get_string_member (invitation, "id"));
  return g_strdup (json_object_get_string_member (invitation, "token"));
}

static void
test_invitations (void)
{
  g_autofree char *alice = session (ALICE);
  g_autofree char *bob = session (BOB);
  g_autofree char *carol = session (CAROL);
  g_autofree char *team = create_team (alice, "{\"name\":\"Guild\"}");
  g_autofree char *list_path = g_strdup_printf ("/teams/%s/invitations", team);
  g_autofree char *cancel_id = NULL;
  g_autofree char *token = invite (alice, team, CAROL, NULL);
  g_autofree char *cancelled = invite (alice, team, BOB, &cancel_id);
  g_autofree char *accept = g_strdup_printf ("/teams/invitations/%s/accept", token);
  g_autofree char *accept_cancelled = g_strdup_printf ("/teams/invitations/%s/accept",
                                                       cancelled);
  g_autofree char *cancel = g_strdup_printf ("/teams/invitations/%s", cancel_id);
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;

  g_assert_cmpuint (strlen (token), ==, 64);
  expect_error ("POST", list_path, "{\"email\":\"no-at-sign\"}", alice, 422);
  expect_error ("POST", list_path, "{}", alice, 422);
  expect_error ("POST", list_path, "{\"email\":\"x@example.com\"}", carol, 404);

  /* The list never shows a token again; only its hash is kept. */
  node = call ("GET", list_path, NULL, alice, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 2);
  g_assert_null (strstr (text_of (node), token));
  g_assert_false (json_object_has_member (
                    json_array_get_object_element (json_node_get_array (node), 0), "token"));

  /* Wrong token, wrong user, then the right one, once. */
  expect_error ("POST", "/teams/invitations/0123456789abcdef/accept", NULL, carol, 404);
  expect_error ("POST", accept, NULL, bob, 403);
  ok_call ("POST", accept, NULL, carol, 200);
  expect_error ("POST", accept, NULL, carol, 404);
  ok_call ("GET", list_path, NULL, alice, 200);

  /* A cancelled invitation cannot be used. */
  expect_error ("DELETE", cancel, NULL, carol, 403);
  ok_call ("DELETE", cancel, NULL, alice, 200);
  expect_error ("DELETE", cancel, NULL, alice, 404);
  expect_error ("POST", accept_cancelled, NULL, bob, 404);
}

static void
test_rbac_routes (void)
{
  g_autofree char *carol = session (CAROL);
  g_autofree char *roles_path = g_strdup_printf ("/rbac/users/%s/roles", CAROL);
  g_autofree char *assign = NULL;
  g_autofree char *role_path = NULL;
  g_autofree char *check = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object;
  guint status = 0;

  expect_error ("POST", "/rbac/roles", "{\"name\":\"auditor\",\"scope\":\"global\","
                "\"permissions\":[\"tools.fly\"]}", fx.admin_token, 422);
  expect_error ("POST", "/rbac/roles", "{\"name\":\"auditor\",\"scope\":\"cosmic\","
                "\"permissions\":[]}", fx.admin_token, 422);
  expect_error ("POST", "/rbac/roles", "{\"name\":\"auditor\",\"scope\":\"global\"}",
                fx.admin_token, 422);
  node = call ("POST", "/rbac/roles", "{\"name\":\"auditor\",\"scope\":\"global\","
               "\"permissions\":[\"logs:read\"],\"inherits_from\":\"viewer\"}",
               fx.admin_token, &status);
  object = expect (node, status, 201, "role");
  g_assert_false (json_object_get_boolean_member (object, "is_system_role"));
  role_path = g_strdup_printf ("/rbac/roles/%s", json_object_get_string_member (object, "id"));
  expect_error ("POST", "/rbac/roles", "{\"name\":\"auditor\",\"scope\":\"global\","
                "\"permissions\":[]}", fx.admin_token, 409);
  expect_error ("PUT", "/rbac/roles/developer", "{\"permissions\":[\"*\"]}", fx.admin_token,
                400);
  expect_error ("DELETE", "/rbac/roles/developer", NULL, fx.admin_token, 400);
  expect_error ("GET", "/rbac/roles/" NONE_ID, NULL, fx.admin_token, 404);

  /* Carol cannot audit yet, then can, through the role. */
  check = g_strdup_printf ("{\"user_email\":\"%s\",\"permission\":\"logs:read\"}", CAROL);
  g_clear_pointer (&node, json_node_unref);
  node = call ("POST", "/rbac/permissions/check", check, fx.admin_token, &status);
  object = expect (node, status, 200, "check");
  g_assert_false (json_object_get_boolean_member (object, "granted"));
  expect_error ("POST", roles_path, "{\"role_id\":\"auditor\",\"scope\":\"team\","
                "\"scope_id\":\"x\"}", fx.admin_token, 422);
  expect_error ("POST", roles_path, "{\"role_id\":\"developer\",\"scope\":\"team\"}",
                fx.admin_token, 422);
  expect_error ("POST", roles_path, "{\"role_id\":\"nobody\"}", fx.admin_token, 404);
  expect_error ("POST", "/rbac/users/ghost@example.com/roles", "{\"role_id\":\"auditor\"}",
                fx.admin_token, 404);
  ok_call ("POST", roles_path, "{\"role_id\":\"auditor\",\"scope\":\"global\"}",
           fx.admin_token, 201);
  g_clear_pointer (&node, json_node_unref);
  node = call ("POST", "/rbac/permissions/check", check, fx.admin_token, &status);
  object = expect (node, status, 200, "check");
  g_assert_true (json_object_get_boolean_member (object, "granted"));

  g_clear_pointer (&node, json_node_unref);
  node = call ("GET", "/rbac/my/permissions", NULL, carol, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (strstr (text_of (node), "\"logs:read\"") != NULL);
  g_clear_pointer (&node, json_node_unref);
  node = call ("GET", "/rbac/my/roles", NULL, carol, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (strstr (text_of (node), "\"auditor\"") != NULL);
  ok_call ("GET", "/rbac/permissions/available", NULL, carol, 200);
  expect_error ("GET", "/rbac/roles", NULL, carol, 403);

  /* An assignment with expires_at grants until then, and nothing after:
   * a time that is not ISO 8601, or already past, is refused. */
  expect_error ("POST", roles_path, "{\"role_id\":\"auditor\",\"expires_at\":\"soon\"}",
                fx.admin_token, 422);
  expect_error ("POST", roles_path, "{\"role_id\":\"auditor\","
                "\"expires_at\":\"2001-01-01T00:00:00Z\"}", fx.admin_token, 422);
  {
    g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
    g_autoptr(GDateTime) soon = g_date_time_add_seconds (now, 3);
    g_autofree char *when = g_date_time_format_iso8601 (soon);
    g_autofree char *lapsing = g_strdup_printf ("{\"role_id\":\"auditor\","
                                                "\"expires_at\":\"%s\"}", when);
    gint64 deadline;
    gboolean granted = TRUE;

    g_clear_pointer (&node, json_node_unref);
    node = call ("POST", roles_path, lapsing, fx.admin_token, &status);
    object = expect (node, status, 201, "assignment");
    g_assert_nonnull (json_object_get_string_member (object, "expires_at"));
    g_clear_pointer (&node, json_node_unref);
    node = call ("POST", "/rbac/permissions/check", check, fx.admin_token, &status);
    object = expect (node, status, 200, "check");
    g_assert_true (json_object_get_boolean_member (object, "granted"));
    /* Bounded: the assignment lapses three seconds after it was made. */
    deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;
    while (granted && g_get_monotonic_time () < deadline)
      {
        g_usleep (200 * 1000);
        g_clear_pointer (&node, json_node_unref);
        node = call ("POST", "/rbac/permissions/check", check, fx.admin_token, &status);
        object = expect (node, status, 200, "check");
        granted = json_object_get_boolean_member (object, "granted");
      }
    g_assert_false (granted);
    g_clear_pointer (&node, json_node_unref);
    node = call ("GET", "/rbac/my/permissions", NULL, carol, &status);
    g_assert_cmpuint (status, ==, 200);
    g_assert_true (strstr (text_of (node), "\"logs:read\"") == NULL);
    /* Assigned again without one, it holds. */
    ok_call ("POST", roles_path, "{\"role_id\":\"auditor\",\"scope\":\"global\"}",
             fx.admin_token, 201);
    g_clear_pointer (&node, json_node_unref);
    node = call ("POST", "/rbac/permissions/check", check, fx.admin_token, &status);
    object = expect (node, status, 200, "check");
    g_assert_true (json_object_get_boolean_member (object, "granted"));
  }

  /* Deleting the role takes its assignments. */
  ok_call ("DELETE", role_path, NULL, fx.admin_token, 200);
  g_clear_pointer (&node, json_node_unref);
  node = call ("POST", "/rbac/permissions/check", check, fx.admin_token, &status);
  object = expect (node, status, 200, "check");
  g_assert_false (json_object_get_boolean_member (object, "granted"));
}

/* Join requests: asked for a public team only, once at a time; the
 * owner lists, approves (the user joins) or rejects; the user may
 * withdraw. */
static void
test_join_requests (void)
{
  g_autofree char *alice = session (ALICE);
  g_autofree char *bob = session (BOB);
  g_autofree char *carol = session (CAROL);
  g_autofree char *open = create_team (alice, "{\"name\":\"Open Guild\","
                                             "\"visibility\":\"public\"}");
  g_autofree char *closed = create_team (alice, "{\"name\":\"Closed Guild\"}");
  g_autofree char *join_open = g_strdup_printf ("/teams/%s/join", open);
  g_autofree char *join_closed = g_strdup_printf ("/teams/%s/join", closed);
  g_autofree char *list = g_strdup_printf ("/teams/%s/join-requests", open);
  g_autofree char *members = g_strdup_printf ("/teams/%s/members", open);
  g_autofree char *request_path = NULL;
  g_autofree char *approve = NULL;
  g_autofree char *carol_path = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *object;
  guint status = 0;

  expect_error ("POST", join_closed, NULL, bob, 404);
  expect_error ("POST", join_open, "{\"message\":5}", bob, 422);
  expect_error ("POST", join_open, NULL, alice, 409);
  node = call ("POST", join_open, "{\"message\":\"let me in\"}", bob, &status);
  object = expect (node, status, 201, "join request");
  g_assert_cmpstr (json_object_get_string_member (object, "status"), ==, "pending");
  g_assert_cmpstr (json_object_get_string_member (object, "user_email"), ==, BOB);
  request_path = g_strdup_printf ("%s/%s", list, json_object_get_string_member (object, "id"));
  approve = g_strdup_printf ("%s/approve", request_path);
  expect_error ("POST", join_open, NULL, bob, 409);

  /* Only the owner sees and settles them. */
  expect_error ("GET", list, NULL, bob, 403);
  expect_error ("POST", approve, NULL, carol, 403);
  expect_error ("DELETE", request_path, NULL, carol, 403);
  g_clear_pointer (&node, json_node_unref);
  node = call ("GET", list, NULL, alice, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 1);
  g_assert_cmpstr (json_object_get_string_member (
                     json_array_get_object_element (json_node_get_array (node), 0), "message"),
                   ==, "let me in");

  g_clear_pointer (&node, json_node_unref);
  node = call ("POST", approve, NULL, alice, &status);
  object = expect (node, status, 200, "approval");
  g_assert_cmpstr (json_object_get_string_member (object, "user_email"), ==, BOB);
  g_assert_cmpstr (json_object_get_string_member (object, "role"), ==, "member");
  expect_error ("POST", approve, NULL, alice, 404);
  g_clear_pointer (&node, json_node_unref);
  node = call ("GET", members, NULL, bob, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (strstr (text_of (node), BOB));
  expect_error ("POST", join_open, NULL, bob, 409);

  /* Carol asks, then thinks better of it. */
  g_clear_pointer (&node, json_node_unref);
  node = call ("POST", join_open, NULL, carol, &status);
  object = expect (node, status, 201, "join request");
  carol_path = g_strdup_printf ("%s/%s", list, json_object_get_string_member (object, "id"));
  ok_call ("DELETE", carol_path, NULL, carol, 200);
  expect_error ("DELETE", carol_path, NULL, carol, 404);
  g_clear_pointer (&node, json_node_unref);
  node = call ("GET", list, NULL, alice, &status);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (node)), ==, 0);
}

/* Last: it restarts the daemon to age an invitation in the database. */
static void
test_invitation_expiry (void)
{
  g_autofree char *alice = session (ALICE);
  g_autofree char *bob = session (BOB);
  g_autofree char *team = create_team (alice, "{\"name\":\"Short-lived\"}");
  g_autofree char *token = invite (alice, team, BOB, NULL);
  g_autofree char *accept = g_strdup_printf ("/teams/invitations/%s/accept", token);
  g_autofree char *sql = g_strdup_printf (
      "UPDATE email_team_invitations SET expires_at = '2000-01-01T00:00:00Z'"
      " WHERE team_id = '%s'", team);

  g_assert_cmpint (cf_daemon_harness_stop (fx.daemon), ==, 0);
  cf_daemon_harness_free (fx.daemon);
  exec_sql (sql);
  start_daemon ();
  expect_error ("POST", accept, NULL, bob, 400);
}

/* Without AUTH_REQUIRED the anonymous caller keeps full local access,
 * but the team routes, which act for a user, refuse it clearly. */
static void
test_anonymous (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-tenancy-anon-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  const char *env[] = { "AUTH_REQUIRED", "false", "JWT_SECRET_KEY", SECRET, NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autoptr(JsonNode) tool = NULL;
  g_autoptr(JsonNode) teams = NULL;
  g_autoptr(JsonNode) refused = NULL;
  g_autoptr(JsonNode) roles = NULL;
  guint status = 0;

  tool = cf_harness_request (d, "POST", "/v1/tools",
                             "{\"tool\":{\"name\":\"local\",\"url\":\"http://127.0.0.1:9/x\"},"
                             "\"visibility\":\"private\"}", NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 201);
  g_clear_pointer (&tool, json_node_unref);
  tool = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (tool)), ==, 1);
  teams = cf_harness_request (d, "GET", "/teams", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  refused = cf_harness_request (d, "POST", "/teams", "{\"name\":\"x\"}", NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  g_assert_nonnull (cf_json_object_get_string (json_node_get_object (refused), "detail"));
  roles = cf_harness_request (d, "GET", "/rbac/roles", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpuint (json_array_get_length (json_node_get_array (roles)), ==, 5);
  /* A clean exit: under the sanitizers, no leak either. */
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

int
main (int   argc,
      char *argv[])
{
  const char *users[G_N_ELEMENTS (matrix_users) + 4];
  g_autoptr(CfStore) store = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *login = NULL;
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;
  int result;

  g_test_init (&argc, &argv, NULL);

  fx.dir = g_dir_make_tmp ("cf-tenancy-XXXXXX", NULL);
  fx.db = g_build_filename (fx.dir, "gateway.db", NULL);
  /* The schema, then the users, then the daemon, which gives each its
   * personal team and default roles at start. */
  store = cf_store_new (fx.db, &error);
  g_assert_no_error (error);
  cf_store_close (store);
  g_clear_object (&store);
  for (guint i = 0; i < G_N_ELEMENTS (matrix_users); i++)
    users[i] = matrix_users[i][0];
  users[G_N_ELEMENTS (matrix_users)] = ALICE;
  users[G_N_ELEMENTS (matrix_users) + 1] = BOB;
  users[G_N_ELEMENTS (matrix_users) + 2] = CAROL;
  users[G_N_ELEMENTS (matrix_users) + 3] = NULL;
  insert_users (users);

  fx.jwt = cf_jwt_new_hmac (SECRET, strlen (SECRET), &error);
  g_assert_no_error (error);
  start_daemon ();

  /* The admin logs in: that waits until the bootstrap created it. */
  node = cf_harness_request (fx.daemon, "POST", "/auth/login",
                             "{\"email\":\"" ADMIN "\",\"password\":\"" ADMIN_PASSWORD "\"}",
                             NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  fx.admin_token = g_strdup (json_object_get_string_member (json_node_get_object (node),
                                                            "access_token"));

  g_test_add_func ("/tenancy/role-matrix", test_role_matrix);
  g_test_add_func ("/tenancy/visibility", test_visibility);
  g_test_add_func ("/tenancy/teams", test_teams);
  g_test_add_func ("/tenancy/invitations", test_invitations);
  g_test_add_func ("/tenancy/join-requests", test_join_requests);
  g_test_add_func ("/tenancy/rbac", test_rbac_routes);
  g_test_add_func ("/tenancy/anonymous", test_anonymous);
  g_test_add_func ("/tenancy/invitation-expiry", test_invitation_expiry);
  result = g_test_run ();

  if (cf_daemon_harness_stop (fx.daemon) != 0)
    result = 1;
  cf_daemon_harness_free (fx.daemon);
  g_clear_object (&fx.jwt);
  g_free (fx.admin_token);
  g_free (fx.db);
  g_free (fx.dir);
  text_of (NULL);
  return result;
}
