/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-rbac"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-rbac.h"

/*
 * ContextForge's RBAC (docs/docs/manage/rbac.md, db.py `Permissions`) and
 * its two enforcement layers: the viewer (layer 1, which items a request
 * may see) and cf_rbac_check() (layer 2, what it may do). Everything here
 * reads a CfAccess snapshot: no SQL on a request's path.
 */

/* The permission strings of db.py `Permissions`. */
static const char * const all_permissions[] = {
  "users.create", "users.read", "users.update", "users.delete", "users.invite",
  "teams.create", "teams.read", "teams.update", "teams.delete", "teams.join",
  "teams.manage_members",
  "tools.create", "tools.read", "tools.update", "tools.delete", "tools.execute",
  "tools.preview", "tools.manage_plugins", "plugins.read",
  "resources.create", "resources.read", "resources.update", "resources.delete",
  "resources.share",
  "gateways.create", "gateways.read", "gateways.update", "gateways.delete",
  "prompts.create", "prompts.read", "prompts.update", "prompts.delete", "prompts.execute",
  "servers.create", "servers.read", "servers.use", "servers.update", "servers.delete",
  "servers.manage",
  "a2a.create", "a2a.read", "a2a.update", "a2a.delete", "a2a.invoke",
  "llm.read", "llm.invoke",
  "tokens.create", "tokens.read", "tokens.update", "tokens.revoke",
  "tags.read", "tags.create", "tags.update", "tags.delete",
  "admin.system_config", "admin.user_management", "admin.security_audit", "admin.compliance",
  "admin.overview", "admin.dashboard", "admin.events", "admin.grpc", "admin.plugins",
  "admin.metrics", "admin.export", "admin.import",
  "admin.sso_providers:create", "admin.sso_providers:read", "admin.sso_providers:update",
  "admin.sso_providers:delete", "admin.oauth_clients:read", "admin.oauth_clients:delete",
  "logs:read", "metrics:read", "audit:read", "security:read",
  "*",
  NULL
};

static const char * const platform_admin_permissions[] = { "*", NULL };

/* Manages its team, its members and everything in it. */
static const char * const team_admin_permissions[] = {
  "teams.read", "teams.update", "teams.delete", "teams.join", "teams.manage_members",
  "tools.create", "tools.read", "tools.update", "tools.delete", "tools.execute",
  "tools.preview",
  "resources.create", "resources.read", "resources.update", "resources.delete",
  "resources.share",
  "prompts.create", "prompts.read", "prompts.update", "prompts.delete", "prompts.execute",
  "servers.create", "servers.read", "servers.use", "servers.update", "servers.delete",
  "servers.manage",
  "gateways.create", "gateways.read", "gateways.update", "gateways.delete",
  "a2a.create", "a2a.read", "a2a.update", "a2a.delete", "a2a.invoke",
  "tokens.create", "tokens.read", "tokens.update", "tokens.revoke",
  "tags.read", "tags.create", "tags.update",
  NULL
};

/* Builds and runs things in its team, but deletes nothing and manages
 * nobody. */
static const char * const developer_permissions[] = {
  "teams.read", "teams.join",
  "tools.create", "tools.read", "tools.update", "tools.execute", "tools.preview",
  "resources.create", "resources.read", "resources.update",
  "prompts.create", "prompts.read", "prompts.update", "prompts.execute",
  "servers.read", "servers.use",
  "gateways.read",
  "a2a.read", "a2a.invoke",
  "tokens.create", "tokens.read",
  "tags.read",
  NULL
};

/* Reads its team's items. */
static const char * const viewer_permissions[] = {
  "teams.read", "tools.read", "resources.read", "prompts.read", "servers.read",
  "gateways.read", "a2a.read", "tags.read",
  NULL
};

/* Reads across the platform. Every user may also create and join teams,
 * as ContextForge's ALLOW_TEAM_CREATION (default true) lets them. */
static const char * const platform_viewer_permissions[] = {
  "teams.read", "teams.create", "teams.join",
  "tools.read", "resources.read", "prompts.read", "servers.read", "gateways.read",
  "a2a.read", "tags.read", "admin.dashboard",
  NULL
};

static const CfRbacSystemRole system_roles[] = {
  { "platform_admin", "Platform administrator: every permission everywhere", "global",
    platform_admin_permissions },
  { "team_admin", "Manages a team, its members and its items", "team", team_admin_permissions },
  { "developer", "Creates, updates and runs a team's items", "team", developer_permissions },
  { "viewer", "Reads a team's items", "team", viewer_permissions },
  { "platform_viewer", "Reads the whole platform", "global", platform_viewer_permissions },
};

/**
 * cf_rbac_get_system_roles:
 * @n_roles: (out): how many
 *
 * Returns: (array length=n_roles) (transfer none): the seeded roles
 */
const CfRbacSystemRole *
cf_rbac_get_system_roles (guint *n_roles)
{
  *n_roles = G_N_ELEMENTS (system_roles);
  return system_roles;
}

const CfRbacSystemRole *
cf_rbac_find_system_role (const char *name)
{
  for (guint i = 0; i < G_N_ELEMENTS (system_roles); i++)
    if (g_strcmp0 (system_roles[i].name, name) == 0)
      return &system_roles[i];
  return NULL;
}

/**
 * cf_rbac_get_all_permissions:
 *
 * Returns: (transfer none): every permission string a role may hold
 */
const char * const *
cf_rbac_get_all_permissions (void)
{
  return all_permissions;
}

/**
 * cf_rbac_permission_is_valid:
 * @permission: a string
 *
 * Returns: whether @permission is a known permission, or a
 *   `resource.*` wildcard over a known resource
 */
gboolean
cf_rbac_permission_is_valid (const char *permission)
{
  gsize length;

  if (permission == NULL)
    return FALSE;
  if (g_strv_contains (all_permissions, permission))
    return TRUE;
  length = strlen (permission);
  if (length < 3 || !g_str_has_suffix (permission, ".*"))
    return FALSE;
  for (guint i = 0; all_permissions[i] != NULL; i++)
    if (strncmp (all_permissions[i], permission, length - 1) == 0)
      return TRUE;
  return FALSE;
}

/* Whether a set (a hash set of strings) grants @permission: the string
 * itself, `*`, or its resource's wildcard. */
static gboolean
set_grants (GHashTable *set,
            const char *permission)
{
  const char *dot;
  char prefix[64];

  if (set == NULL)
    return FALSE;
  if (g_hash_table_contains (set, "*") || g_hash_table_contains (set, permission))
    return TRUE;
  dot = strchr (permission, '.');
  if (dot == NULL || (gsize) (dot - permission) + 3 > sizeof prefix)
    return FALSE;
  memcpy (prefix, permission, dot - permission + 1);
  prefix[dot - permission + 1] = '*';
  prefix[dot - permission + 2] = '\0';
  return g_hash_table_contains (set, prefix);
}

/**
 * cf_rbac_permissions_grant:
 * @granted: (array zero-terminated=1) (nullable): permission strings
 * @permission: the permission asked for
 *
 * Returns: whether @granted holds @permission, `*` or `resource.*`
 */
gboolean
cf_rbac_permissions_grant (const char * const *granted,
                           const char         *permission)
{
  const char *dot = strchr (permission, '.');

  for (guint i = 0; granted != NULL && granted[i] != NULL; i++)
    {
      const char *g = granted[i];

      if (g_str_equal (g, "*") || g_str_equal (g, permission))
        return TRUE;
      if (dot != NULL && g_str_has_suffix (g, ".*") &&
          strlen (g) == (gsize) (dot - permission) + 2 &&
          strncmp (g, permission, dot - permission + 1) == 0)
        return TRUE;
    }
  return FALSE;
}

/* The snapshot */

typedef struct {
  JsonObject *row;
  gboolean    is_admin;
  gboolean    is_active;
  const char *personal_team;
  /* team id -> member role ("owner" or "member"), strings of the rows */
  GHashTable *teams;
  /* permission sets */
  GHashTable *global;
  GHashTable *any;
  /* team id -> permission set */
  GHashTable *by_team;
  /* (element-type JsonObject): the user's role assignments */
  GPtrArray  *assignments;
} User;

typedef struct {
  JsonObject *row;
  GPtrArray  *members;   /* (element-type JsonObject): member rows */
} Team;

struct _CfAccess
{
  gatomicrefcount  ref_count;
  JsonObject      *state;
  GHashTable      *users;       /* email -> User */
  GHashTable      *teams;       /* id -> Team */
  GHashTable      *slugs;       /* slug -> team row */
  GHashTable      *roles;       /* id and name -> role row */
  GHashTable      *role_perms;  /* role id -> GStrv, inheritance resolved */
  gint64           next_expiry; /* when the next assignment lapses, µs; 0: none */
};

static void
user_free (gpointer data)
{
  User *user = data;

  g_clear_pointer (&user->teams, g_hash_table_unref);
  g_clear_pointer (&user->global, g_hash_table_unref);
  g_clear_pointer (&user->any, g_hash_table_unref);
  g_clear_pointer (&user->by_team, g_hash_table_unref);
  g_clear_pointer (&user->assignments, g_ptr_array_unref);
  g_free (user);
}

static void
team_free (gpointer data)
{
  Team *team = data;

  g_clear_pointer (&team->members, g_ptr_array_unref);
  g_free (team);
}

static GHashTable *
new_set (void)
{
  return g_hash_table_new (g_str_hash, g_str_equal);
}

static JsonArray *
state_array (JsonObject *state,
             const char *member)
{
  return cf_json_object_get_array (state, member);
}

static gboolean
row_flag (JsonObject *row,
          const char *column)
{
  gint64 value = 0;

  return cf_json_object_get_int (row, column, &value) && value != 0;
}

static User *
ensure_user (CfAccess   *self,
             const char *email)
{
  User *user = g_hash_table_lookup (self->users, email);

  if (user == NULL)
    {
      user = g_new0 (User, 1);
      user->teams = new_set ();
      user->global = new_set ();
      user->any = new_set ();
      user->by_team = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                             (GDestroyNotify) g_hash_table_unref);
      user->assignments = g_ptr_array_new ();
      g_hash_table_insert (self->users, (gpointer) email, user);
    }
  return user;
}

/* A role's permissions and those of the roles it inherits from, at most a
 * few levels deep, so that a cycle cannot loop. */
static void
collect_permissions (CfAccess   *self,
                     JsonObject *role,
                     GPtrArray  *out,
                     guint       depth)
{
  g_autoptr(JsonNode) node = NULL;
  const char *text = cf_json_object_get_string (role, "permissions");
  const char *parent_id = cf_json_object_get_string (role, "inherits_from");
  JsonObject *parent;

  if (depth > 8 || !row_flag (role, "is_active"))
    return;
  node = text ? cf_json_parse (text, -1, NULL) : NULL;
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          const char *permission = json_array_get_string_element (array, i);

          if (permission != NULL)
            g_ptr_array_add (out, g_strdup (permission));
        }
    }
  if (parent_id != NULL && (parent = g_hash_table_lookup (self->roles, parent_id)) != NULL)
    collect_permissions (self, parent, out, depth + 1);
}

static void
add_all (GHashTable         *set,
         const char * const *permissions)
{
  for (guint i = 0; permissions != NULL && permissions[i] != NULL; i++)
    g_hash_table_add (set, (gpointer) permissions[i]);
}

/**
 * cf_access_new:
 * @state: the tables, as cf_store_tenancy_apply_finish() gives them
 *
 * Returns: (transfer full): the snapshot, which keeps a reference on @state
 */
/* Whether a role assignment's expires_at has passed at @now; the earliest
 * one still to come is kept, for cf_access_get_next_expiry(). */
static gboolean
lapsed (CfAccess   *self,
        JsonObject *assignment,
        gint64      now)
{
  const char *text = cf_json_object_get_string (assignment, "expires_at");
  g_autoptr(GDateTime) expires = NULL;
  gint64 when;

  if (text == NULL)
    return FALSE;
  expires = g_date_time_new_from_iso8601 (text, NULL);
  /* One the store holds but no one can read grants nothing. */
  if (expires == NULL)
    return TRUE;
  when = g_date_time_to_unix (expires) * G_USEC_PER_SEC + g_date_time_get_microsecond (expires);
  if (when <= now)
    return TRUE;
  if (self->next_expiry == 0 || when < self->next_expiry)
    self->next_expiry = when;
  return FALSE;
}

CfAccess *
cf_access_new (JsonObject *state)
{
  CfAccess *self = g_new0 (CfAccess, 1);
  JsonArray *array;
  gint64 now;

  g_atomic_ref_count_init (&self->ref_count);
  self->state = json_object_ref (state);
  self->users = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, user_free);
  self->teams = g_hash_table_new_full (g_str_hash, g_str_equal, NULL, team_free);
  self->slugs = g_hash_table_new (g_str_hash, g_str_equal);
  self->roles = g_hash_table_new (g_str_hash, g_str_equal);
  self->role_perms = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                            (GDestroyNotify) g_strfreev);

  array = state_array (state, "users");
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);
      User *user = ensure_user (self, json_object_get_string_member (row, "email"));

      user->row = row;
      user->is_admin = row_flag (row, "is_admin");
      user->is_active = row_flag (row, "is_active");
    }

  array = state_array (state, "teams");
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);
      Team *team = g_new0 (Team, 1);
      const char *creator = cf_json_object_get_string (row, "created_by");
      User *user;

      team->row = row;
      team->members = g_ptr_array_new ();
      g_hash_table_insert (self->teams, (gpointer) cf_json_object_get_string (row, "id"), team);
      g_hash_table_insert (self->slugs, (gpointer) cf_json_object_get_string (row, "slug"), row);
      if (row_flag (row, "is_personal") && creator != NULL &&
          (user = g_hash_table_lookup (self->users, creator)) != NULL)
        user->personal_team = cf_json_object_get_string (row, "id");
    }

  array = state_array (state, "members");
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);
      const char *team_id = cf_json_object_get_string (row, "team_id");
      Team *team = g_hash_table_lookup (self->teams, team_id);
      User *user = g_hash_table_lookup (self->users, cf_json_object_get_string (row,
                                                                               "user_email"));

      if (team == NULL || user == NULL ||
          !row_flag (team->row, "is_active"))
        continue;
      g_ptr_array_add (team->members, row);
      g_hash_table_insert (user->teams, (gpointer) team_id,
                           (gpointer) cf_json_object_get_string (row, "role"));
    }

  array = state_array (state, "roles");
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);

      g_hash_table_insert (self->roles, (gpointer) cf_json_object_get_string (row, "id"), row);
      g_hash_table_insert (self->roles, (gpointer) cf_json_object_get_string (row, "name"), row);
    }
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);
      GPtrArray *permissions = g_ptr_array_new ();

      collect_permissions (self, row, permissions, 0);
      g_ptr_array_add (permissions, NULL);
      g_hash_table_insert (self->role_perms, (gpointer) cf_json_object_get_string (row, "id"),
                           g_ptr_array_free (permissions, FALSE));
    }

  array = state_array (state, "user_roles");
  now = g_get_real_time ();
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);
      User *user = g_hash_table_lookup (self->users, cf_json_object_get_string (row,
                                                                               "user_email"));
      const char *scope_id = cf_json_object_get_string (row, "scope_id");
      const char * const *permissions = g_hash_table_lookup (self->role_perms,
                                                             cf_json_object_get_string (row,
                                                                                        "role_id"));
      GHashTable *set;

      if (user == NULL || lapsed (self, row, now))
        continue;
      g_ptr_array_add (user->assignments, row);
      add_all (user->any, permissions);
      if (scope_id == NULL)
        {
          add_all (user->global, permissions);
          continue;
        }
      set = g_hash_table_lookup (user->by_team, scope_id);
      if (set == NULL)
        {
          set = new_set ();
          g_hash_table_insert (user->by_team, (gpointer) scope_id, set);
        }
      add_all (set, permissions);
    }
  return self;
}

CfAccess *
cf_access_ref (CfAccess *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cf_access_unref (CfAccess *self)
{
  if (self == NULL || !g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_hash_table_unref (self->users);
  g_hash_table_unref (self->teams);
  g_hash_table_unref (self->slugs);
  g_hash_table_unref (self->roles);
  g_hash_table_unref (self->role_perms);
  json_object_unref (self->state);
  g_free (self);
}

/**
 * cf_access_get_next_expiry:
 * @self: a snapshot
 *
 * Role assignments past their `expires_at` grant nothing; the snapshot is
 * built once, so it must be built again when the next one lapses.
 *
 * Returns: when the next role assignment lapses, in g_get_real_time()'s
 *   microseconds, or 0 when none will
 */
gint64
cf_access_get_next_expiry (CfAccess *self)
{
  g_return_val_if_fail (self != NULL, 0);
  return self->next_expiry;
}

/**
 * cf_access_get_state:
 *
 * Returns: (transfer none): the tables the snapshot was built from
 */
JsonObject *
cf_access_get_state (CfAccess *self)
{
  return self->state;
}

/* Returns: (transfer none) (nullable): the email_users row */
JsonObject *
cf_access_lookup_user (CfAccess   *self,
                       const char *email)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;

  return user ? user->row : NULL;
}

gboolean
cf_access_user_is_admin (CfAccess   *self,
                         const char *email)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;

  return user != NULL && user->row != NULL && user->is_active && user->is_admin;
}

/* Returns: (transfer none) (nullable): the email_teams row */
JsonObject *
cf_access_lookup_team (CfAccess   *self,
                       const char *team_id)
{
  Team *team = team_id ? g_hash_table_lookup (self->teams, team_id) : NULL;

  return team ? team->row : NULL;
}

JsonObject *
cf_access_find_team_by_slug (CfAccess   *self,
                             const char *slug)
{
  return slug ? g_hash_table_lookup (self->slugs, slug) : NULL;
}

/* Returns: (nullable): the id of @email's personal team */
const char *
cf_access_get_personal_team (CfAccess   *self,
                             const char *email)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;

  return user ? user->personal_team : NULL;
}

/* Returns: (nullable): "owner" or "member", %NULL for a non-member */
const char *
cf_access_get_member_role (CfAccess   *self,
                           const char *team_id,
                           const char *email)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;

  return user && team_id ? g_hash_table_lookup (user->teams, team_id) : NULL;
}

guint
cf_access_get_member_count (CfAccess   *self,
                            const char *team_id)
{
  Team *team = team_id ? g_hash_table_lookup (self->teams, team_id) : NULL;

  return team ? team->members->len : 0;
}

/* Returns: (transfer container) (element-type JsonObject): member rows */
GPtrArray *
cf_access_list_members (CfAccess   *self,
                        const char *team_id)
{
  Team *team = team_id ? g_hash_table_lookup (self->teams, team_id) : NULL;
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; team != NULL && i < team->members->len; i++)
    g_ptr_array_add (out, team->members->pdata[i]);
  return out;
}

/* Returns: (transfer container) (element-type JsonObject): the team rows
 * @email is a member of, by name */
GPtrArray *
cf_access_list_user_teams (CfAccess   *self,
                           const char *email)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;
  JsonArray *teams = state_array (self->state, "teams");
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; user != NULL && teams != NULL && i < json_array_get_length (teams); i++)
    {
      JsonObject *row = json_array_get_object_element (teams, i);

      if (g_hash_table_contains (user->teams, cf_json_object_get_string (row, "id")))
        g_ptr_array_add (out, row);
    }
  return out;
}

/* Returns: (transfer none) (nullable): the roles row */
JsonObject *
cf_access_lookup_role (CfAccess   *self,
                       const char *id_or_name)
{
  return id_or_name ? g_hash_table_lookup (self->roles, id_or_name) : NULL;
}

/* Returns: (transfer container) (element-type JsonObject): @email's
 * active assignments */
GPtrArray *
cf_access_list_user_roles (CfAccess   *self,
                           const char *email)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;
  GPtrArray *out = g_ptr_array_new ();

  for (guint i = 0; user != NULL && i < user->assignments->len; i++)
    g_ptr_array_add (out, user->assignments->pdata[i]);
  return out;
}

static JsonObject *
find_row (CfAccess   *self,
          const char *table,
          const char *column,
          const char *value)
{
  JsonArray *array = state_array (self->state, table);

  for (guint i = 0; value != NULL && array != NULL && i < json_array_get_length (array); i++)
    {
      JsonObject *row = json_array_get_object_element (array, i);

      if (g_strcmp0 (cf_json_object_get_string (row, column), value) == 0)
        return row;
    }
  return NULL;
}

/* Returns: (transfer none) (nullable): the active invitation whose
 * @column is @value */
JsonObject *
cf_access_find_invitation (CfAccess   *self,
                           const char *column,
                           const char *value)
{
  return find_row (self, "invitations", column, value);
}

/* Returns: (transfer none) (nullable): the pending join request whose
 * @column is @value */
JsonObject *
cf_access_find_join_request (CfAccess   *self,
                             const char *column,
                             const char *value)
{
  return find_row (self, "join_requests", column, value);
}

static GHashTable *
permission_set (User       *user,
                const char *team_id)
{
  return team_id != NULL ? g_hash_table_lookup (user->by_team, team_id) : user->any;
}

static int
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

/**
 * cf_access_get_permissions:
 * @email: a user
 * @team_id: (nullable): a team, or %NULL for all the user's roles
 *
 * Returns: (transfer full): the sorted permissions @email's roles grant,
 *   globally and in @team_id (or in any team)
 */
GStrv
cf_access_get_permissions (CfAccess   *self,
                           const char *email,
                           const char *team_id)
{
  User *user = email ? g_hash_table_lookup (self->users, email) : NULL;
  g_autoptr(GPtrArray) out = g_ptr_array_new ();
  g_autoptr(GHashTable) seen = new_set ();
  GHashTable *sets[2] = { NULL, NULL };
  GHashTableIter iter;
  gpointer key;

  if (user == NULL)
    return g_new0 (char *, 1);
  if (user->is_admin)
    g_hash_table_add (seen, "*");
  sets[0] = user->global;
  sets[1] = permission_set (user, team_id);
  for (guint s = 0; s < G_N_ELEMENTS (sets); s++)
    {
      if (sets[s] == NULL)
        continue;
      g_hash_table_iter_init (&iter, sets[s]);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        g_hash_table_add (seen, key);
    }
  g_hash_table_iter_init (&iter, seen);
  while (g_hash_table_iter_next (&iter, &key, NULL))
    g_ptr_array_add (out, g_strdup (key));
  g_ptr_array_sort (out, compare_strings);
  g_ptr_array_add (out, NULL);
  return (GStrv) g_ptr_array_free (g_steal_pointer (&out), FALSE);
}

/* Token kinds */

static gboolean
is_session (CfIdentity *identity)
{
  return g_strcmp0 (cf_identity_get_token_use (identity), "session") == 0;
}

/* An API or legacy token that sees public items only: no `teams`, an
 * empty list, or `null` without admin rights. */
static gboolean
is_public_only_token (CfAccess   *access,
                      CfIdentity *identity)
{
  const char * const *teams = NULL;
  CfIdentityTeams shape;

  if (cf_identity_get_kind (identity) != CF_IDENTITY_JWT || is_session (identity))
    return FALSE;
  shape = cf_identity_get_teams (identity, &teams);
  switch (shape)
    {
    case CF_IDENTITY_TEAMS_ABSENT:
      return TRUE;
    case CF_IDENTITY_TEAMS_NULL:
      return !(cf_identity_is_admin (identity) &&
               cf_access_user_is_admin (access, cf_identity_get_email (identity)));
    case CF_IDENTITY_TEAMS_LIST:
    default:
      return teams[0] == NULL;
    }
}

/**
 * cf_rbac_check:
 * @access: (nullable): the snapshot; %NULL allows everything (no tenancy)
 * @identity: (nullable): the caller; %NULL or anonymous (AUTH_REQUIRED
 *   off) has every permission, as does HTTP Basic with the configured
 *   admin credentials
 * @permission: the permission asked for
 * @team_id: (nullable): the team the action is in; %NULL takes every role
 *   of the user, global and in any team
 *
 * Layer 2 of ContextForge's enforcement. The user's roles (from @access,
 * never from the token) must grant @permission; a DB admin has every
 * permission. A token's own `scopes.permissions`, when not empty, narrows
 * that further, and a public-only token never gets `admin.*`.
 *
 * Returns: whether @identity may
 */
gboolean
cf_rbac_check (CfAccess   *access,
               CfIdentity *identity,
               const char *permission,
               const char *team_id)
{
  const char * const *scoped;
  const char *email;
  User *user;
  gboolean granted;

  g_return_val_if_fail (permission != NULL, FALSE);

  if (access == NULL || identity == NULL)
    return TRUE;
  switch (cf_identity_get_kind (identity))
    {
    case CF_IDENTITY_ANONYMOUS:
    case CF_IDENTITY_BASIC:
      return TRUE;
    case CF_IDENTITY_JWT:
    default:
      break;
    }

  email = cf_identity_get_email (identity);
  user = email ? g_hash_table_lookup (access->users, email) : NULL;
  if (user == NULL || user->row == NULL || !user->is_active)
    return FALSE;
  if (g_str_has_prefix (permission, "admin.") && is_public_only_token (access, identity))
    return FALSE;

  granted = user->is_admin || set_grants (user->global, permission) ||
            set_grants (permission_set (user, team_id), permission);
  if (!granted)
    return FALSE;

  scoped = cf_identity_get_permissions (identity);
  if (scoped != NULL && scoped[0] != NULL && !cf_rbac_permissions_grant (scoped, permission))
    return FALSE;
  return TRUE;
}

/* The viewer */

/**
 * cf_viewer_init:
 * @viewer: (out caller-allocates): the viewer to fill
 * @access: (nullable): the snapshot; %NULL sees everything
 * @identity: (nullable): the caller
 *
 * ContextForge's team resolution (`normalize_token_teams`,
 * `resolve_session_teams`):
 * - no identity, or anonymous (AUTH_REQUIRED off): everything, as the
 *   gateway has always served a local user;
 * - HTTP Basic (the configured admin): admin bypass;
 * - session tokens: the user's teams from @access, narrowed by a `teams`
 *   list in the token; admin bypass when the DB says admin and the token
 *   does not narrow;
 * - API and legacy tokens: no `teams` or `[]`: public only; `null`: admin
 *   bypass for an admin (token and DB), public only otherwise; a list:
 *   those teams the user still belongs to (any, for an admin), public
 *   items and the user's own private ones.
 * Private items stay their owner's, even under the bypass.
 */
void
cf_viewer_init (CfViewer   *viewer,
                CfAccess   *access,
                CfIdentity *identity)
{
  const char * const *claimed = NULL;
  CfIdentityTeams shape;
  const char *email;
  User *user;
  gboolean admin;

  memset (viewer, 0, sizeof *viewer);
  if (access == NULL || identity == NULL ||
      cf_identity_get_kind (identity) == CF_IDENTITY_ANONYMOUS)
    {
      viewer->all = TRUE;
      return;
    }
  email = cf_identity_get_email (identity);
  viewer->email = email;
  if (cf_identity_get_kind (identity) == CF_IDENTITY_BASIC)
    {
      viewer->bypass = TRUE;
      return;
    }

  user = email ? g_hash_table_lookup (access->users, email) : NULL;
  if (user != NULL && (user->row == NULL || !user->is_active))
    user = NULL;
  admin = user != NULL && user->is_admin;
  shape = cf_identity_get_teams (identity, &claimed);

  if (is_session (identity))
    {
      if (shape != CF_IDENTITY_TEAMS_LIST)
        {
          viewer->bypass = admin;
          viewer->teams = user ? g_hash_table_ref (user->teams) : NULL;
          return;
        }
    }
  else if (shape == CF_IDENTITY_TEAMS_NULL && admin && cf_identity_is_admin (identity))
    {
      viewer->bypass = TRUE;
      return;
    }
  else if (shape != CF_IDENTITY_TEAMS_LIST || claimed[0] == NULL)
    {
      viewer->public_only = TRUE;
      return;
    }

  /* A list: those teams, as far as the user still belongs to them. */
  viewer->teams = new_set ();
  for (guint i = 0; claimed[i] != NULL; i++)
    if (admin || (user != NULL && g_hash_table_contains (user->teams, claimed[i])))
      g_hash_table_add (viewer->teams, (gpointer) claimed[i]);
}

void
cf_viewer_clear (CfViewer *viewer)
{
  g_clear_pointer (&viewer->teams, g_hash_table_unref);
}

/**
 * cf_viewer_sees:
 * @viewer: a viewer
 * @visibility: (nullable): "public", "team" or "private"; %NULL is public
 * @team_id: (nullable): the item's team
 * @owner_email: (nullable): the item's owner
 *
 * Returns: whether @viewer may see the item
 */
gboolean
cf_viewer_sees (const CfViewer *viewer,
                const char     *visibility,
                const char     *team_id,
                const char     *owner_email)
{
  gboolean own;

  if (viewer->all || visibility == NULL || g_str_equal (visibility, "public"))
    return TRUE;
  if (viewer->public_only)
    return FALSE;
  own = viewer->email != NULL && owner_email != NULL &&
        g_ascii_strcasecmp (viewer->email, owner_email) == 0;
  /* A team item is its team's, whoever created it. */
  if (g_str_equal (visibility, "team"))
    return viewer->bypass ||
           (team_id != NULL && viewer->teams != NULL &&
            g_hash_table_contains (viewer->teams, team_id));
  /* "private", and anything unknown, is the owner's alone. */
  return own;
}

/**
 * cf_viewer_sees_entity:
 * @viewer: a viewer
 * @entity: a catalog entity (`visibility`, `teamId`, `ownerEmail`)
 *
 * Returns: whether @viewer may see @entity
 */
gboolean
cf_viewer_sees_entity (const CfViewer *viewer,
                       JsonObject     *entity)
{
  const char *visibility;

  if (viewer->all)
    return TRUE;
  /* The other members are read only when the answer needs them. */
  visibility = cf_json_object_get_string (entity, "visibility");
  if (visibility == NULL || g_str_equal (visibility, "public"))
    return TRUE;
  if (viewer->public_only)
    return FALSE;
  if (viewer->bypass && g_str_equal (visibility, "team"))
    return TRUE;
  return cf_viewer_sees (viewer, visibility, cf_json_object_get_string (entity, "teamId"),
                         cf_json_object_get_string (entity, "ownerEmail"));
}
