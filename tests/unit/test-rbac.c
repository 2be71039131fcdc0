/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <glib/gstdio.h>

#include "cf-json.h"
#include "cf-rbac.h"
#include "cf-store-teams.h"
#include "cf-teams-http.h"
#include "cf-teams.h"

/* The RBAC check (layer 2) and the team resolution (layer 1) against a
 * hand-built snapshot: users, teams, members, roles and assignments as the
 * store returns them. */

#define ADMIN "admin@example.com"
#define DEV "dev@example.com"
#define VIEWER "viewer@example.com"
#define NOBODY "nobody@example.com"
#define GONE "gone@example.com"

static char *
role_permissions_json (const CfRbacSystemRole *role)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
  JsonArray *array = json_array_new ();

  for (guint i = 0; role->permissions[i] != NULL; i++)
    json_array_add_string_element (array, role->permissions[i]);
  json_node_take_array (node, array);
  return cf_json_to_string (node, NULL);
}

static void
add_user (JsonArray  *users,
          const char *email,
          gboolean    is_admin,
          gboolean    is_active)
{
  JsonObject *row = json_object_new ();

  json_object_set_string_member (row, "email", email);
  json_object_set_int_member (row, "is_admin", is_admin);
  json_object_set_int_member (row, "is_active", is_active);
  json_array_add_object_element (users, row);
}

static void
add_team (JsonArray  *teams,
          const char *id,
          const char *creator,
          gboolean    personal)
{
  JsonObject *row = json_object_new ();

  json_object_set_string_member (row, "id", id);
  json_object_set_string_member (row, "name", id);
  json_object_set_string_member (row, "slug", id);
  json_object_set_string_member (row, "created_by", creator);
  json_object_set_int_member (row, "is_personal", personal);
  json_object_set_string_member (row, "visibility", "private");
  json_object_set_int_member (row, "is_active", 1);
  json_array_add_object_element (teams, row);
}

static void
add_member (JsonArray  *members,
            const char *team,
            const char *email,
            const char *role)
{
  JsonObject *row = json_object_new ();

  json_object_set_string_member (row, "team_id", team);
  json_object_set_string_member (row, "user_email", email);
  json_object_set_string_member (row, "role", role);
  json_array_add_object_element (members, row);
}

static void
add_assignment (JsonArray  *assignments,
                const char *email,
                const char *role,
                const char *team)
{
  JsonObject *row = json_object_new ();
  static guint n;
  g_autofree char *id = g_strdup_printf ("a%u", ++n);

  json_object_set_string_member (row, "id", id);
  json_object_set_string_member (row, "user_email", email);
  json_object_set_string_member (row, "role_id", role);
  json_object_set_string_member (row, "scope", team ? "team" : "global");
  if (team != NULL)
    json_object_set_string_member (row, "scope_id", team);
  json_object_set_int_member (row, "is_active", 1);
  json_array_add_object_element (assignments, row);
}

/* admin: platform_admin. dev: developer in team-a, member of team-a and
 * team-b (no role in b). viewer: platform_viewer, viewer in team-b. gone:
 * inactive. A custom role "auditor" inherits viewer and adds logs:read. */
static CfAccess *
build_access (void)
{
  g_autoptr(JsonObject) state = json_object_new ();
  JsonArray *users = json_array_new ();
  JsonArray *teams = json_array_new ();
  JsonArray *members = json_array_new ();
  JsonArray *roles = json_array_new ();
  JsonArray *assignments = json_array_new ();
  const CfRbacSystemRole *system;
  JsonObject *custom;
  guint n;

  add_user (users, ADMIN, TRUE, TRUE);
  add_user (users, DEV, FALSE, TRUE);
  add_user (users, VIEWER, FALSE, TRUE);
  add_user (users, GONE, FALSE, FALSE);
  add_team (teams, "personal-admin", ADMIN, TRUE);
  add_team (teams, "team-a", DEV, FALSE);
  add_team (teams, "team-b", VIEWER, FALSE);
  add_member (members, "personal-admin", ADMIN, "owner");
  add_member (members, "team-a", DEV, "owner");
  add_member (members, "team-b", DEV, "member");
  add_member (members, "team-b", VIEWER, "owner");
  add_member (members, "team-b", GONE, "member");

  system = cf_rbac_get_system_roles (&n);
  for (guint i = 0; i < n; i++)
    {
      JsonObject *row = json_object_new ();
      g_autofree char *permissions = role_permissions_json (&system[i]);

      json_object_set_string_member (row, "id", system[i].name);
      json_object_set_string_member (row, "name", system[i].name);
      json_object_set_string_member (row, "scope", system[i].scope);
      json_object_set_string_member (row, "permissions", permissions);
      json_object_set_int_member (row, "is_active", 1);
      json_object_set_int_member (row, "is_system_role", 1);
      json_array_add_object_element (roles, row);
    }
  custom = json_object_new ();
  json_object_set_string_member (custom, "id", "auditor-id");
  json_object_set_string_member (custom, "name", "auditor");
  json_object_set_string_member (custom, "scope", "global");
  json_object_set_string_member (custom, "permissions", "[\"logs:read\",\"admin.*\"]");
  json_object_set_string_member (custom, "inherits_from", "viewer");
  json_object_set_int_member (custom, "is_active", 1);
  json_array_add_object_element (roles, custom);

  add_assignment (assignments, ADMIN, "platform_admin", NULL);
  add_assignment (assignments, DEV, "developer", "team-a");
  add_assignment (assignments, VIEWER, "platform_viewer", NULL);
  add_assignment (assignments, VIEWER, "viewer", "team-b");
  add_assignment (assignments, GONE, "platform_admin", NULL);

  json_object_set_array_member (state, "users", users);
  json_object_set_array_member (state, "teams", teams);
  json_object_set_array_member (state, "members", members);
  json_object_set_array_member (state, "invitations", json_array_new ());
  json_object_set_array_member (state, "roles", roles);
  json_object_set_array_member (state, "user_roles", assignments);
  return cf_access_new (state);
}

/* A verified token's identity: @teams is NULL for no claim, "null" for a
 * null claim, else a JSON list; @permissions a JSON list or NULL. */
static CfIdentity *
token (const char *email,
       const char *token_use,
       gboolean    is_admin,
       const char *teams,
       const char *permissions)
{
  g_autoptr(JsonObject) claims = json_object_new ();
  JsonObject *user = json_object_new ();
  g_autoptr(GError) error = NULL;
  CfIdentity *identity;

  json_object_set_string_member (claims, "sub", email);
  json_object_set_string_member (claims, "token_use", token_use);
  json_object_set_string_member (user, "email", email);
  json_object_set_boolean_member (user, "is_admin", is_admin);
  json_object_set_object_member (claims, "user", user);
  if (teams != NULL)
    json_object_set_member (claims, "teams", cf_json_parse (teams, -1, NULL));
  if (permissions != NULL)
    {
      JsonObject *scopes = json_object_new ();

      json_object_set_member (scopes, "permissions", cf_json_parse (permissions, -1, NULL));
      json_object_set_object_member (claims, "scopes", scopes);
    }
  identity = cf_identity_new_from_claims (claims, &error);
  g_assert_no_error (error);
  return identity;
}

static void
test_permission_strings (void)
{
  const CfRbacSystemRole *roles;
  guint n;
  const char *granted[] = { "tools.*", "prompts.read", NULL };

  roles = cf_rbac_get_system_roles (&n);
  g_assert_cmpuint (n, ==, 5);
  for (guint i = 0; i < n; i++)
    for (guint p = 0; roles[i].permissions[p] != NULL; p++)
      g_assert_true (cf_rbac_permission_is_valid (roles[i].permissions[p]));
  g_assert_nonnull (cf_rbac_find_system_role ("developer"));
  g_assert_null (cf_rbac_find_system_role ("root"));

  g_assert_true (cf_rbac_permission_is_valid ("tools.execute"));
  g_assert_true (cf_rbac_permission_is_valid ("admin.*"));
  g_assert_true (cf_rbac_permission_is_valid ("*"));
  g_assert_false (cf_rbac_permission_is_valid ("tools.fly"));
  g_assert_false (cf_rbac_permission_is_valid ("nothing.*"));
  g_assert_false (cf_rbac_permission_is_valid (".*"));
  g_assert_false (cf_rbac_permission_is_valid (""));

  g_assert_true (cf_rbac_permissions_grant (granted, "tools.delete"));
  g_assert_true (cf_rbac_permissions_grant (granted, "prompts.read"));
  g_assert_false (cf_rbac_permissions_grant (granted, "prompts.execute"));
  g_assert_false (cf_rbac_permissions_grant (granted, "toolsx.read"));
  g_assert_false (cf_rbac_permissions_grant (NULL, "tools.read"));
}

static void
test_check_roles (void)
{
  g_autoptr(CfAccess) access = build_access ();
  g_autoptr(CfIdentity) admin = token (ADMIN, "session", TRUE, NULL, "[\"*\"]");
  g_autoptr(CfIdentity) dev = token (DEV, "session", FALSE, NULL, "[\"*\"]");
  g_autoptr(CfIdentity) viewer = token (VIEWER, "session", FALSE, NULL, "[]");
  g_autoptr(CfIdentity) nobody = token (NOBODY, "session", TRUE, NULL, NULL);
  g_autoptr(CfIdentity) gone = token (GONE, "session", TRUE, NULL, NULL);
  g_autoptr(CfIdentity) anonymous = cf_identity_new_anonymous ();
  g_autoptr(CfIdentity) basic = cf_identity_new_basic ("admin");

  /* The DB admin has everything; anonymous and Basic too. */
  g_assert_true (cf_rbac_check (access, admin, "admin.system_config", NULL));
  g_assert_true (cf_rbac_check (access, anonymous, "admin.system_config", NULL));
  g_assert_true (cf_rbac_check (access, basic, "teams.delete", "team-a"));
  g_assert_true (cf_rbac_check (NULL, dev, "admin.system_config", NULL));
  g_assert_true (cf_rbac_check (access, NULL, "admin.system_config", NULL));

  /* A developer in team-a: its permissions there, none in team-b where it
   * is a member without a role; with no team, any team counts. */
  g_assert_true (cf_rbac_check (access, dev, "tools.execute", "team-a"));
  g_assert_false (cf_rbac_check (access, dev, "tools.execute", "team-b"));
  g_assert_true (cf_rbac_check (access, dev, "tools.create", NULL));
  g_assert_false (cf_rbac_check (access, dev, "tools.delete", NULL));
  g_assert_false (cf_rbac_check (access, dev, "teams.create", NULL));
  g_assert_false (cf_rbac_check (access, dev, "admin.system_config", NULL));

  /* platform_viewer reads everywhere; viewer in team-b reads there. */
  g_assert_true (cf_rbac_check (access, viewer, "tools.read", "team-a"));
  g_assert_false (cf_rbac_check (access, viewer, "tools.execute", "team-b"));
  g_assert_true (cf_rbac_check (access, viewer, "teams.create", NULL));

  /* The token's claims never grant: unknown or inactive users have
   * nothing, whatever their token says. */
  g_assert_false (cf_rbac_check (access, nobody, "tools.read", NULL));
  g_assert_false (cf_rbac_check (access, gone, "tools.read", NULL));
}

static void
test_check_token_scopes (void)
{
  g_autoptr(CfAccess) access = build_access ();
  g_autoptr(CfIdentity) narrow = token (DEV, "api", FALSE, "[\"team-a\"]",
                                        "[\"tools.read\"]");
  g_autoptr(CfIdentity) wildcard = token (DEV, "api", FALSE, "[\"team-a\"]", "[\"tools.*\"]");
  g_autoptr(CfIdentity) wide = token (DEV, "api", FALSE, "[\"team-a\"]", "[\"admin.*\"]");
  g_autoptr(CfIdentity) admin_public = token (ADMIN, "api", TRUE, NULL, NULL);
  g_autoptr(CfIdentity) admin_empty = token (ADMIN, "api", TRUE, "[]", NULL);
  g_autoptr(CfIdentity) admin_null = token (ADMIN, "api", TRUE, "null", NULL);
  g_autoptr(CfIdentity) admin_team = token (ADMIN, "api", TRUE, "[\"personal-admin\"]", NULL);

  /* Token permissions narrow the roles... */
  g_assert_true (cf_rbac_check (access, narrow, "tools.read", NULL));
  g_assert_false (cf_rbac_check (access, narrow, "tools.execute", NULL));
  g_assert_true (cf_rbac_check (access, wildcard, "tools.execute", NULL));
  g_assert_false (cf_rbac_check (access, wildcard, "prompts.read", NULL));
  /* ...and never widen them. */
  g_assert_false (cf_rbac_check (access, wide, "admin.system_config", NULL));

  /* Public-only tokens never get admin.*, even an admin's. */
  g_assert_false (cf_rbac_check (access, admin_public, "admin.system_config", NULL));
  g_assert_false (cf_rbac_check (access, admin_empty, "admin.user_management", NULL));
  g_assert_true (cf_rbac_check (access, admin_public, "tools.read", NULL));
  g_assert_true (cf_rbac_check (access, admin_null, "admin.system_config", NULL));
  g_assert_true (cf_rbac_check (access, admin_team, "admin.system_config", NULL));
}

static void
test_check_inheritance (void)
{
  g_autoptr(CfAccess) access = NULL;
  g_autoptr(JsonObject) state = NULL;
  g_autoptr(CfIdentity) auditor = NULL;
  g_autoptr(CfAccess) base = build_access ();
  JsonArray *assignments;
  g_auto(GStrv) permissions = NULL;

  /* The same tables, with the auditor role given to the viewer user. */
  state = cf_json_object_deep_copy (cf_access_get_state (base));
  assignments = cf_json_object_get_array (state, "user_roles");
  add_assignment (assignments, VIEWER, "auditor-id", NULL);
  access = cf_access_new (state);
  auditor = token (VIEWER, "session", FALSE, NULL, NULL);

  g_assert_true (cf_rbac_check (access, auditor, "logs:read", NULL));
  g_assert_true (cf_rbac_check (access, auditor, "admin.export", NULL));
  /* Inherited from viewer, which it names by name. */
  g_assert_true (cf_rbac_check (access, auditor, "gateways.read", "team-a"));
  g_assert_nonnull (cf_access_lookup_role (access, "auditor"));
  g_assert_true (cf_access_lookup_role (access, "auditor") ==
                 cf_access_lookup_role (access, "auditor-id"));

  permissions = cf_access_get_permissions (access, VIEWER, "team-b");
  g_assert_true (g_strv_contains ((const char * const *) permissions, "logs:read"));
  g_assert_true (g_strv_contains ((const char * const *) permissions, "tools.read"));
  g_assert_false (g_strv_contains ((const char * const *) permissions, "tools.execute"));
  g_clear_pointer (&permissions, g_strfreev);
  permissions = cf_access_get_permissions (access, NOBODY, NULL);
  g_assert_null (permissions[0]);
}

static void
test_snapshot_lookups (void)
{
  g_autoptr(CfAccess) access = build_access ();
  g_autoptr(GPtrArray) teams = cf_access_list_user_teams (access, DEV);
  g_autoptr(GPtrArray) members = cf_access_list_members (access, "team-b");
  g_autoptr(GPtrArray) roles = cf_access_list_user_roles (access, VIEWER);

  g_assert_cmpstr (cf_access_get_personal_team (access, ADMIN), ==, "personal-admin");
  g_assert_null (cf_access_get_personal_team (access, DEV));
  g_assert_cmpstr (cf_access_get_member_role (access, "team-b", VIEWER), ==, "owner");
  g_assert_cmpstr (cf_access_get_member_role (access, "team-b", DEV), ==, "member");
  g_assert_null (cf_access_get_member_role (access, "team-a", VIEWER));
  g_assert_null (cf_access_get_member_role (access, "team-z", VIEWER));
  g_assert_cmpuint (teams->len, ==, 2);
  g_assert_cmpuint (members->len, ==, 3);
  g_assert_cmpuint (cf_access_get_member_count (access, "team-b"), ==, 3);
  g_assert_cmpuint (roles->len, ==, 2);
  g_assert_true (cf_access_user_is_admin (access, ADMIN));
  g_assert_false (cf_access_user_is_admin (access, GONE));
  g_assert_nonnull (cf_access_find_team_by_slug (access, "team-a"));
  g_assert_null (cf_access_lookup_team (access, NULL));
}

/* Each token kind against each visibility. */
typedef struct {
  const char *name;
  const char *email;
  const char *token_use;
  gboolean    is_admin;
  const char *teams;
  /* what it sees of: public, team-a item, team-b item, dev's private,
   * admin's private */
  gboolean    sees[5];
} Case;

static void
test_viewer_matrix (void)
{
  static const Case cases[] = {
    { "public-only (no teams)", DEV, "api", FALSE, NULL, { TRUE, FALSE, FALSE, FALSE, FALSE } },
    { "public-only ([])", DEV, "api", FALSE, "[]", { TRUE, FALSE, FALSE, FALSE, FALSE } },
    { "null, not admin", DEV, "api", FALSE, "null", { TRUE, FALSE, FALSE, FALSE, FALSE } },
    { "team-scoped", DEV, "api", FALSE, "[\"team-a\"]", { TRUE, TRUE, FALSE, TRUE, FALSE } },
    { "team not a member of", VIEWER, "api", FALSE, "[\"team-a\"]",
      { TRUE, FALSE, FALSE, FALSE, FALSE } },
    { "admin bypass", ADMIN, "api", TRUE, "null", { TRUE, TRUE, TRUE, FALSE, TRUE } },
    { "admin claim, not DB admin", DEV, "api", TRUE, "null", { TRUE, FALSE, FALSE, FALSE, FALSE } },
    { "session", DEV, "session", FALSE, NULL, { TRUE, TRUE, TRUE, TRUE, FALSE } },
    { "session narrowed", DEV, "session", FALSE, "[\"team-b\"]",
      { TRUE, FALSE, TRUE, TRUE, FALSE } },
    { "session of an admin", ADMIN, "session", TRUE, NULL, { TRUE, TRUE, TRUE, FALSE, TRUE } },
    { "session claims admin", DEV, "session", TRUE, NULL, { TRUE, TRUE, TRUE, TRUE, FALSE } },
    { "unknown user", NOBODY, "session", FALSE, NULL, { TRUE, FALSE, FALSE, FALSE, FALSE } },
  };
  static const char * const items[][3] = {
    { "public", "team-a", ADMIN },
    { "team", "team-a", ADMIN },
    { "team", "team-b", VIEWER },
    { "private", "team-a", DEV },
    { "private", "personal-admin", ADMIN },
  };
  g_autoptr(CfAccess) access = build_access ();

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    {
      g_autoptr(CfIdentity) identity = token (cases[c].email, cases[c].token_use,
                                              cases[c].is_admin, cases[c].teams, NULL);
      g_auto(CfViewer) viewer = { 0 };

      cf_viewer_init (&viewer, access, identity);
      for (guint i = 0; i < G_N_ELEMENTS (items); i++)
        {
          gboolean sees = cf_viewer_sees (&viewer, items[i][0], items[i][1], items[i][2]);

          if (sees != cases[c].sees[i])
            g_error ("%s: item %u (%s of %s): expected %d", cases[c].name, i, items[i][0],
                     items[i][1], cases[c].sees[i]);
        }
    }
}

static void
test_viewer_special (void)
{
  g_autoptr(CfAccess) access = build_access ();
  g_autoptr(CfIdentity) anonymous = cf_identity_new_anonymous ();
  g_autoptr(CfIdentity) basic = cf_identity_new_basic ("admin");
  g_auto(CfViewer) all = { 0 };
  g_auto(CfViewer) none = { 0 };
  g_auto(CfViewer) bypass = { 0 };
  g_autoptr(JsonObject) entity = json_object_new ();

  cf_viewer_init (&all, access, anonymous);
  g_assert_true (all.all);
  g_assert_true (cf_viewer_sees (&all, "private", NULL, ADMIN));
  cf_viewer_init (&none, NULL, basic);
  g_assert_true (none.all);
  cf_viewer_init (&bypass, access, basic);
  g_assert_true (bypass.bypass);
  g_assert_true (cf_viewer_sees (&bypass, "team", "team-b", VIEWER));
  g_assert_false (cf_viewer_sees (&bypass, "private", "team-b", VIEWER));
  /* Unknown visibilities are private; a missing one is public. */
  g_assert_false (cf_viewer_sees (&bypass, "secret", "team-b", VIEWER));
  g_assert_true (cf_viewer_sees (&bypass, NULL, NULL, NULL));

  json_object_set_string_member (entity, "visibility", "private");
  json_object_set_string_member (entity, "ownerEmail", "ADMIN@example.com");
  g_assert_true (cf_viewer_sees_entity (&all, entity));
  g_assert_false (cf_viewer_sees_entity (&bypass, entity));
}

static void
test_route_table (void)
{
  const CfRbacRoute *routes;
  const CfRbacRoute *route;
  guint n;

  routes = cf_rbac_get_routes (&n);
  g_assert_cmpuint (n, >, 50);
  for (guint i = 0; i < n; i++)
    g_assert_true (routes[i].permission == NULL ||
                   cf_rbac_permission_is_valid (routes[i].permission));

  route = cf_rbac_find_route ("GET", "/v1/tools");
  g_assert_cmpstr (route->permission, ==, "tools.read");
  route = cf_rbac_find_route ("HEAD", "/v1/tools/");
  g_assert_cmpstr (route->permission, ==, "tools.read");
  route = cf_rbac_find_route ("POST", "/v1/tools/abc/state");
  g_assert_cmpstr (route->permission, ==, "tools.update");
  route = cf_rbac_find_route ("GET", "/teams/discover");
  g_assert_cmpstr (route->permission, ==, "teams.read");
  route = cf_rbac_find_route ("POST", "/v1/teams/invitations/tok/accept");
  g_assert_cmpstr (route->permission, ==, "teams.join");
  route = cf_rbac_find_route ("DELETE", "/teams/invitations/x");
  g_assert_cmpstr (route->permission, ==, "teams.manage_members");
  route = cf_rbac_find_route ("POST", "/servers/s1/mcp");
  g_assert_cmpstr (route->permission, ==, "servers.use");
  route = cf_rbac_find_route ("GET", "/rbac/my/roles");
  g_assert_nonnull (route);
  g_assert_null (route->permission);
  g_assert_null (cf_rbac_find_route ("POST", "/mcp"));
  g_assert_null (cf_rbac_find_route ("GET", "/health"));
  g_assert_null (cf_rbac_find_route ("GET", "/v1/tools//state"));
  g_assert_null (cf_rbac_find_route ("PATCH", "/v1/tools"));
}

/* The table searched row by row, literal rows first, as the guard once
 * did: what the indexed search must agree with. */
static const CfRbacRoute *
reference_find (const char *method,
                const char *path)
{
  g_autofree char *trimmed = g_str_has_prefix (path, "/v1/") ? g_strdup (path + 3)
                                                              : g_strdup (path);
  gsize length = strlen (trimmed);
  const CfRbacRoute *routes;
  guint n;

  routes = cf_rbac_get_routes (&n);
  if (length > 1 && trimmed[length - 1] == '/')
    trimmed[length - 1] = '\0';
  if (g_str_equal (method, "HEAD"))
    method = "GET";
  for (guint pass = 0; pass < 2; pass++)
    for (guint i = 0; i < n; i++)
      if ((strstr (routes[i].pattern, "{}") == NULL) == (pass == 0) &&
          cf_rbac_route_matches (&routes[i], method, trimmed))
        return &routes[i];
  return NULL;
}

/* Every row's pattern, filled in several ways, with every method, with
 * and without /v1 and a trailing slash, and near misses: the indexed
 * search finds the row a search of the whole table finds. */
static void
test_route_index (void)
{
  static const char * const methods[] = { "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH" };
  static const char * const fillers[] = { "x1", "discover", "invitations", "my", "" };
  const CfRbacRoute *routes;
  guint n, checked = 0;

  routes = cf_rbac_get_routes (&n);
  for (guint i = 0; i < n; i++)
    for (guint f = 0; f < G_N_ELEMENTS (fillers); f++)
      {
        g_auto(GStrv) parts = g_strsplit (routes[i].pattern, "{}", -1);
        g_autofree char *filled = g_strjoinv (fillers[f], parts);
        const char *variants[] = {
          filled,
          g_strconcat ("/v1", filled, NULL),
          g_strconcat (filled, "/", NULL),
          g_strconcat (filled, "/extra", NULL),
          g_strconcat (filled, "x", NULL),
          g_strndup (filled, strlen (filled) - 1),
        };

        for (guint v = 0; v < G_N_ELEMENTS (variants); v++)
          {
            for (guint m = 0; m < G_N_ELEMENTS (methods); m++)
              {
                g_assert_true (cf_rbac_find_route (methods[m], variants[v]) ==
                               reference_find (methods[m], variants[v]));
                checked++;
              }
            if (v > 0)
              g_free ((char *) variants[v]);
          }
      }
  g_assert_null (cf_rbac_find_route ("GET", ""));
  g_assert_null (cf_rbac_find_route ("GET", "tools"));
  g_assert_true (cf_rbac_find_route ("GET", "/a-very-long-first-segment-beyond-the-buffer/x") ==
                 NULL);
  g_test_message ("%u lookups agree", checked);
}

/* The store's tenancy writes: all or nothing, the size limit and the
 * one-time invitation enforced by the statements themselves. */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static JsonObject *
apply (CfStore    *store,
       GPtrArray  *writes,
       GError    **error)
{
  g_autoptr(GAsyncResult) result = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;

  cf_store_tenancy_apply_async (store, writes, NULL, store_result, &result);
  while (result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (result);
  return cf_store_tenancy_apply_finish (store, result, error);
}

static JsonObject *
insert_user (CfStore    *store,
             const char *email)
{
  g_autoptr(GAsyncResult) result = NULL;
  gint64 deadline = g_get_monotonic_time () + 10 * G_USEC_PER_SEC;
  g_autoptr(GError) error = NULL;
  JsonObject *row;

  cf_store_user_insert_async (store, email, "not-a-hash", NULL, FALSE, FALSE, NULL,
                              store_result, &result);
  while (result == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (result);
  row = cf_store_user_insert_finish (store, result, &error);
  g_assert_no_error (error);
  return row;
}

static GPtrArray *
writes_new (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) cf_store_tenancy_write_free);
}

static void
test_store_writes (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-rbac-XXXXXX", NULL);
  g_autofree char *path = g_build_filename (dir, "gateway.db", NULL);
  g_autofree char *wal = g_strconcat (path, "-wal", NULL);
  g_autofree char *shm = g_strconcat (path, "-shm", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfStore) store = cf_store_new (path, &error);
  g_autoptr(JsonObject) u1 = NULL;
  g_autoptr(JsonObject) u2 = NULL;
  g_autoptr(JsonObject) state = NULL;
  g_autoptr(CfAccess) access = NULL;
  g_autoptr(GPtrArray) writes = NULL;

  g_assert_no_error (error);
  u1 = insert_user (store, "one@example.com");
  u2 = insert_user (store, "two@example.com");

  /* A team of one, with its owner: the second member does not fit. */
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_INSERT, "t1", "Solo", "solo",
                                                       NULL, "one@example.com", "0", "private",
                                                       "1"));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_MEMBER_ADD, "t1",
                                                       "one@example.com", "owner", NULL));
  state = apply (store, writes, &error);
  g_assert_no_error (error);
  access = cf_access_new (state);
  g_assert_cmpuint (cf_access_get_member_count (access, "t1"), ==, 1);

  g_clear_pointer (&writes, g_ptr_array_unref);
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_MEMBER_ADD, "t1",
                                                       "two@example.com", "member", NULL));
  g_assert_null (apply (store, writes, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);

  /* All or nothing: the team that came first in a failed batch is not
   * there afterwards. */
  g_clear_pointer (&writes, g_ptr_array_unref);
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_INSERT, "t2", "Pair", "pair",
                                                       NULL, "two@example.com", "0", "public",
                                                       NULL));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_UPDATE, "missing", "x", "x",
                                                       NULL, "private", NULL));
  g_assert_null (apply (store, writes, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);
  g_clear_pointer (&state, json_object_unref);
  state = apply (store, NULL, &error);
  g_assert_no_error (error);
  g_clear_pointer (&access, cf_access_unref);
  access = cf_access_new (state);
  g_assert_null (cf_access_lookup_team (access, "t2"));

  /* A slug is unique. */
  g_clear_pointer (&writes, g_ptr_array_unref);
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_INSERT, "t3", "Solo again",
                                                       "solo", NULL, "two@example.com", "0",
                                                       "private", NULL));
  g_assert_null (apply (store, writes, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT);
  g_clear_error (&error);

  /* An invitation closes once. */
  g_clear_pointer (&writes, g_ptr_array_unref);
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_INVITATION_INSERT, "i1", "t1",
                                                       "two@example.com", "member",
                                                       "one@example.com", "hash-1",
                                                       "2999-01-01T00:00:00Z"));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_INVITATION_CLOSE, "i1"));
  g_clear_pointer (&state, json_object_unref);
  state = apply (store, writes, &error);
  g_assert_no_error (error);
  g_clear_pointer (&writes, g_ptr_array_unref);
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_INVITATION_CLOSE, "i1"));
  g_assert_null (apply (store, writes, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND);
  g_clear_error (&error);

  /* Deleting the team takes its members and roles. */
  g_clear_pointer (&writes, g_ptr_array_unref);
  writes = writes_new ();
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_ROLE_PUT, "r1", "r1", NULL, "team",
                                                       "[\"tools.read\"]", NULL, "0", NULL));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, "a1",
                                                       "one@example.com", "r1", "team", "t1",
                                                       NULL, NULL));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_DELETE, "t1"));
  g_clear_pointer (&state, json_object_unref);
  state = apply (store, writes, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (json_array_get_length (cf_json_object_get_array (state, "members")), ==, 0);
  g_assert_cmpuint (json_array_get_length (cf_json_object_get_array (state, "user_roles")), ==,
                    0);
  g_assert_cmpuint (json_array_get_length (cf_json_object_get_array (state, "roles")), ==, 1);

  cf_store_close (store);
  g_unlink (path);
  g_unlink (wal);
  g_unlink (shm);
  g_rmdir (dir);
}

/* A personal team's slug comes from the email and never collides. */
static void
test_unique_slug (void)
{
  g_autoptr(CfAccess) access = build_access ();
  g_autoptr(GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autofree char *first = cf_teams_unique_slug (access, taken, "team a");
  g_autofree char *second = cf_teams_unique_slug (access, taken, "Team A");
  g_autofree char *empty = cf_teams_unique_slug (access, NULL, "!!!");
  g_autofree char *hash = cf_teams_hash_token ("abc");

  g_assert_cmpstr (first, ==, "team-a-2");
  g_assert_cmpstr (second, ==, "team-a-3");
  g_assert_cmpstr (empty, ==, "team");
  g_assert_cmpstr (hash, ==, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/rbac/permission-strings", test_permission_strings);
  g_test_add_func ("/rbac/check/roles", test_check_roles);
  g_test_add_func ("/rbac/check/token-scopes", test_check_token_scopes);
  g_test_add_func ("/rbac/check/inheritance", test_check_inheritance);
  g_test_add_func ("/rbac/snapshot", test_snapshot_lookups);
  g_test_add_func ("/rbac/viewer/matrix", test_viewer_matrix);
  g_test_add_func ("/rbac/viewer/special", test_viewer_special);
  g_test_add_func ("/rbac/routes", test_route_table);
  g_test_add_func ("/rbac/routes/index", test_route_index);
  g_test_add_func ("/rbac/store/writes", test_store_writes);
  g_test_add_func ("/rbac/teams/unique-slug", test_unique_slug);

  return g_test_run ();
}
