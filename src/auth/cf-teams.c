/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams"

#include "config.h"

#include "cf-json.h"
#include "cf-slug.h"
#include "cf-teams.h"

/**
 * CfTeams:
 *
 * Teams and roles as a service: it seeds the system roles, gives every
 * user a personal team (ContextForge's AUTO_CREATE_PERSONAL_TEAMS), and
 * keeps the #CfAccess snapshot that requests check against. Every write
 * goes to the store as one transaction, which reads the tables back; the
 * new snapshot replaces the old one on the main thread, so a request
 * never waits on SQL to learn what it may do.
 */
struct _CfTeams
{
  GObject   parent_instance;

  CfStore  *store;
  CfAccess *access;
  guint     expiry_id;
};

G_DEFINE_FINAL_TYPE (CfTeams, cf_teams, G_TYPE_OBJECT)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
cf_teams_finalize (GObject *object)
{
  CfTeams *self = (CfTeams *) object;

  g_clear_handle_id (&self->expiry_id, g_source_remove);
  g_clear_object (&self->store);
  g_clear_pointer (&self->access, cf_access_unref);

  G_OBJECT_CLASS (cf_teams_parent_class)->finalize (object);
}

static void
cf_teams_class_init (CfTeamsClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_teams_finalize;

  /**
   * CfTeams::changed:
   *
   * Teams, memberships, invitations, join requests or role assignments
   * were written, by whichever route or interface.
   */
  signals[CHANGED] = g_signal_new ("changed",
                                   G_TYPE_FROM_CLASS (klass),
                                   G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
}

static void
cf_teams_init (CfTeams *self)
{
}

/**
 * cf_teams_new:
 * @store: the database
 *
 * Returns: (transfer full): the service; call cf_teams_start() before use
 */
CfTeams *
cf_teams_new (CfStore *store)
{
  CfTeams *self;

  g_return_val_if_fail (CF_IS_STORE (store), NULL);

  self = g_object_new (CF_TYPE_TEAMS, NULL);
  self->store = g_object_ref (store);
  return self;
}

/**
 * cf_teams_new_id:
 *
 * Returns: (transfer full): a new random id (a version 4 UUID)
 */
char *
cf_teams_new_id (void)
{
  return g_uuid_string_random ();
}

/**
 * cf_teams_hash_token:
 * @token: an invitation token
 *
 * Returns: (transfer full): its SHA-256, hex, as the table keeps it
 */
char *
cf_teams_hash_token (const char *token)
{
  return g_compute_checksum_for_string (G_CHECKSUM_SHA256, token, -1);
}

/**
 * cf_teams_unique_slug:
 * @access: the snapshot
 * @taken_slugs: (nullable): slugs also taken, by writes not yet applied;
 *   the new slug is added to it
 * @text: what to make the slug of
 *
 * Returns: (transfer full): a slug of @text no team has, with a number
 *   after it when needed
 */
char *
cf_teams_unique_slug (CfAccess   *access,
                      GHashTable *taken_slugs,
                      const char *text)
{
  g_autofree char *base = cf_slugify (text, NULL);
  char *slug;

  if (base == NULL || *base == '\0')
    {
      g_free (base);
      base = g_strdup ("team");
    }
  slug = g_strdup (base);
  for (guint n = 2; cf_access_find_team_by_slug (access, slug) != NULL ||
                    (taken_slugs != NULL && g_hash_table_contains (taken_slugs, slug)); n++)
    {
      g_free (slug);
      slug = g_strdup_printf ("%s-%u", base, n);
    }
  if (taken_slugs != NULL)
    g_hash_table_add (taken_slugs, g_strdup (slug));
  return slug;
}

/**
 * cf_teams_add_user_writes:
 * @access: the snapshot
 * @writes: (element-type CfStoreTenancyWrite): where to add the writes
 * @taken_slugs: (nullable): see cf_teams_unique_slug()
 * @email: the user
 * @full_name: (nullable): the user's name, for the team's
 * @is_admin: whether the user is a platform admin
 *
 * What a new user gets, as ContextForge gives it: a private personal team
 * it owns, `team_admin` on it, and `platform_admin` (admins) or
 * `platform_viewer` (everyone else).
 */
void
cf_teams_add_user_writes (CfAccess   *access,
                          GPtrArray  *writes,
                          GHashTable *taken_slugs,
                          const char *email,
                          const char *full_name,
                          gboolean    is_admin)
{
  g_autofree char *team_id = cf_teams_new_id ();
  g_autofree char *global_id = cf_teams_new_id ();
  g_autofree char *team_role_id = cf_teams_new_id ();
  g_autofree char *slug = cf_teams_unique_slug (access, taken_slugs, email);
  g_autofree char *name = g_strdup_printf ("%s's Team",
                                           full_name && *full_name ? full_name : email);
  g_autofree char *description = g_strdup_printf ("Personal team of %s", email);

  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_TEAM_INSERT, team_id, name, slug,
                                                       description, email, "1", "private",
                                                       NULL));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_MEMBER_ADD, team_id, email,
                                                       "owner", NULL));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, global_id, email,
                                                       is_admin ? "platform_admin"
                                                                : "platform_viewer",
                                                       "global", NULL, "system", NULL));
  g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_USER_ROLE_ADD, team_role_id,
                                                       email, "team_admin", "team", team_id,
                                                       "system", NULL));
}

static GPtrArray *
new_writes (void)
{
  return g_ptr_array_new_with_free_func ((GDestroyNotify) cf_store_tenancy_write_free);
}

/* The system roles as they should be; an unchanged one is not rewritten. */
static void
add_seed_writes (CfAccess  *access,
                 GPtrArray *writes)
{
  const CfRbacSystemRole *roles;
  guint n_roles;

  roles = cf_rbac_get_system_roles (&n_roles);
  for (guint i = 0; i < n_roles; i++)
    {
      g_autoptr(JsonNode) array = json_node_new (JSON_NODE_ARRAY);
      g_autofree char *permissions = NULL;
      JsonObject *row = cf_access_lookup_role (access, roles[i].name);
      JsonArray *list = json_array_new ();

      for (guint p = 0; roles[i].permissions[p] != NULL; p++)
        json_array_add_string_element (list, roles[i].permissions[p]);
      json_node_take_array (array, list);
      permissions = cf_json_to_string (array, NULL);
      if (row != NULL &&
          g_strcmp0 (cf_json_object_get_string (row, "permissions"), permissions) == 0 &&
          g_strcmp0 (cf_json_object_get_string (row, "scope"), roles[i].scope) == 0 &&
          g_strcmp0 (cf_json_object_get_string (row, "description"),
                     roles[i].description) == 0)
        continue;
      g_ptr_array_add (writes, cf_store_tenancy_write_new (CF_STORE_ROLE_PUT, roles[i].name,
                                                           roles[i].name, roles[i].description,
                                                           roles[i].scope, permissions, NULL,
                                                           "1", "system"));
    }
}

static void
add_missing_users (CfAccess  *access,
                   GPtrArray *writes)
{
  g_autoptr(GHashTable) taken = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  JsonArray *users = cf_json_object_get_array (cf_access_get_state (access), "users");

  for (guint i = 0; users != NULL && i < json_array_get_length (users); i++)
    {
      JsonObject *user = json_array_get_object_element (users, i);
      const char *email = cf_json_object_get_string (user, "email");
      gint64 is_admin = 0;

      if (cf_access_get_personal_team (access, email) != NULL)
        continue;
      cf_json_object_get_int (user, "is_admin", &is_admin);
      cf_teams_add_user_writes (access, writes, taken, email,
                                cf_json_object_get_string (user, "full_name"), is_admin != 0);
    }
}

/* Startup: a blocking wait on a private context */

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static JsonObject *
apply_sync (CfTeams    *self,
            GPtrArray  *writes,
            GError    **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;

  g_main_context_push_thread_default (context);
  cf_store_tenancy_apply_async (self->store, writes, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  g_main_context_pop_thread_default (context);
  return cf_store_tenancy_apply_finish (self->store, result, error);
}

static void replace_access (CfTeams    *self,
                            JsonObject *state);

static gboolean
on_assignment_lapsed (gpointer user_data)
{
  CfTeams *self = user_data;
  g_autoptr(JsonObject) state = json_object_ref (cf_access_get_state (self->access));

  self->expiry_id = 0;
  replace_access (self, state);
  return G_SOURCE_REMOVE;
}

/* A role assignment that lapses is left out of the next snapshot: one is
 * built then, from the same tables. */
static void
replace_access (CfTeams    *self,
                JsonObject *state)
{
  gint64 next;

  g_clear_pointer (&self->access, cf_access_unref);
  self->access = cf_access_new (state);
  g_clear_handle_id (&self->expiry_id, g_source_remove);
  next = cf_access_get_next_expiry (self->access);
  if (next > 0)
    {
      gint64 delay_ms = (next - g_get_real_time ()) / 1000 + 1;

      self->expiry_id = g_timeout_add ((guint) CLAMP (delay_ms, 1, G_MAXINT32),
                                       on_assignment_lapsed, self);
    }
}

/**
 * cf_teams_start:
 * @self: a #CfTeams
 * @error: return location for a #GError
 *
 * Reads the tables, seeds the system roles (again only when their
 * definition changed) and gives each user without one a personal team and
 * the default roles. It blocks, as the rest of the daemon's start does.
 *
 * Returns: whether the service can serve
 */
gboolean
cf_teams_start (CfTeams  *self,
                GError  **error)
{
  g_autoptr(JsonObject) state = NULL;
  g_autoptr(GPtrArray) writes = new_writes ();
  g_autoptr(CfAccess) before = NULL;

  g_return_val_if_fail (CF_IS_TEAMS (self), FALSE);

  state = apply_sync (self, NULL, error);
  if (state == NULL)
    return FALSE;
  /* Roles first: the users' assignments refer to them. */
  before = cf_access_new (state);
  add_seed_writes (before, writes);
  add_missing_users (before, writes);
  if (writes->len > 0)
    {
      g_clear_pointer (&state, json_object_unref);
      state = apply_sync (self, writes, error);
      if (state == NULL)
        return FALSE;
    }
  replace_access (self, state);
  return TRUE;
}

/**
 * cf_teams_get_access:
 *
 * Returns: (transfer full) (nullable): the current snapshot, %NULL before
 *   cf_teams_start()
 */
CfAccess *
cf_teams_get_access (CfTeams *self)
{
  g_return_val_if_fail (CF_IS_TEAMS (self), NULL);
  return self->access ? cf_access_ref (self->access) : NULL;
}

/**
 * cf_teams_check:
 * @self: (nullable): a #CfTeams; %NULL allows everything
 * @identity: (nullable): the caller
 * @permission: a permission string
 * @team_id: (nullable): the team the action is in
 *
 * cf_rbac_check() against the current snapshot: what the token routes and
 * other callers outside the route table use.
 *
 * Returns: whether @identity has @permission
 */
gboolean
cf_teams_check (CfTeams    *self,
                CfIdentity *identity,
                const char *permission,
                const char *team_id)
{
  if (self == NULL)
    return TRUE;
  g_return_val_if_fail (CF_IS_TEAMS (self), FALSE);
  return cf_rbac_check (self->access, identity, permission, team_id);
}

static void
on_applied (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfTeams *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) state = cf_store_tenancy_apply_finish (CF_STORE (source), result,
                                                               &error);

  if (state == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  replace_access (self, state);
  if (g_task_get_task_data (task) != NULL)
    g_signal_emit (self, signals[CHANGED], 0);
  g_task_return_pointer (task, cf_access_ref (self->access), (GDestroyNotify) cf_access_unref);
}

/**
 * cf_teams_apply_async:
 * @self: a #CfTeams
 * @writes: (element-type CfStoreTenancyWrite): the writes, all or none
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * Writes, then replaces the snapshot with the tables as they are after.
 */
void
cf_teams_apply_async (CfTeams             *self,
                      GPtrArray           *writes,
                      GCancellable        *cancellable,
                      GAsyncReadyCallback  callback,
                      gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (CF_IS_TEAMS (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_teams_apply_async);
  /* Whether this writes anything, rather than only reads the tables. */
  g_task_set_task_data (task, GUINT_TO_POINTER (writes != NULL && writes->len > 0), NULL);
  cf_store_tenancy_apply_async (self->store, writes, cancellable, on_applied, task);
}

/**
 * cf_teams_apply_finish:
 *
 * Returns: (transfer full) (nullable): the new snapshot, or %NULL with the
 *   store's error (nothing was written then)
 */
CfAccess *
cf_teams_apply_finish (CfTeams       *self,
                       GAsyncResult  *result,
                       GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_user_read (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfTeams *self = g_task_get_source_object (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfAccess) access = cf_teams_apply_finish (self, result, &error);
  g_autoptr(GPtrArray) writes = NULL;
  const char *email = g_task_get_task_data (task);
  GCancellable *cancellable;
  JsonObject *user;
  gint64 is_admin = 0;

  if (access == NULL)
    {
      g_task_return_error (task, g_steal_pointer (&error));
      return;
    }
  user = cf_access_lookup_user (access, email);
  if (user == NULL || cf_access_get_personal_team (access, email) != NULL)
    {
      g_task_return_boolean (task, user != NULL);
      return;
    }
  cf_json_object_get_int (user, "is_admin", &is_admin);
  writes = new_writes ();
  cf_teams_add_user_writes (access, writes, NULL, email,
                            cf_json_object_get_string (user, "full_name"), is_admin != 0);
  cancellable = g_task_get_cancellable (task);
  cf_teams_apply_async (self, writes, cancellable, on_user_read, g_steal_pointer (&task));
}

/**
 * cf_teams_ensure_user_async:
 * @self: a #CfTeams
 * @email: a user just created
 * @cancellable: (nullable): a #GCancellable
 * @callback: called in the thread-default main context of the caller
 * @user_data: data for @callback
 *
 * The hook for whatever creates users once the daemon runs: gives @email
 * its personal team and default roles unless it has them already.
 */
void
cf_teams_ensure_user_async (CfTeams             *self,
                            const char          *email,
                            GCancellable        *cancellable,
                            GAsyncReadyCallback  callback,
                            gpointer             user_data)
{
  GTask *task;

  g_return_if_fail (CF_IS_TEAMS (self));
  g_return_if_fail (email != NULL);

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_teams_ensure_user_async);
  g_task_set_task_data (task, g_strdup (email), g_free);
  /* Re-read first: the user row was written after our last snapshot. */
  cf_teams_apply_async (self, NULL, cancellable, on_user_read, task);
}

/**
 * cf_teams_ensure_user_finish:
 *
 * Returns: %TRUE when the user exists and has its personal team
 */
gboolean
cf_teams_ensure_user_finish (CfTeams       *self,
                             GAsyncResult  *result,
                             GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
