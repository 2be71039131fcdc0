/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-teams-page"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>

#include "cf-admin-util.h"
#include "cf-teams-page.h"

/**
 * CfTeamsPage:
 *
 * Teams and API tokens: create, delete or revoke them, and see a new
 * token once. Gateways before the identity work do not know these
 * methods; the page then says so instead.
 */
struct _CfTeamsPage
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;
  char           *new_token;

  GtkStack       *stack;
  AdwStatusPage  *error_page;
  AdwPreferencesGroup *reveal_group;
  AdwActionRow   *reveal_row;
  AdwEntryRow    *team_name_row;
  AdwEntryRow    *token_name_row;
  GtkSpinButton  *token_days;
  GtkListBox     *teams_list;
  GtkListBox     *tokens_list;
};

G_DEFINE_FINAL_TYPE (CfTeamsPage, cf_teams_page, ADW_TYPE_BIN)

static void refresh (CfTeamsPage *self);

static void
handle_error (CfTeamsPage  *self,
              const char   *what,
              const GError *error)
{
  if (cf_admin_error_is_cancelled (error))
    return;
  if (cf_admin_error_is_unknown_method (error))
    gtk_stack_set_visible_child_name (self->stack, "unavailable");
  else
    cf_admin_toast_error (GTK_WIDGET (self), what, error);
}

/* Returns: (transfer full) (nullable): the reply, or NULL once the error is handled */
static GVariant *
finish (CfTeamsPage  *self,
        GObject      *source,
        GAsyncResult *result,
        const char   *what)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  if (reply == NULL)
    handle_error (self, what, error);
  return g_steal_pointer (&reply);
}

/* @days: how long a token lasts, or 0 for a team */
static char *
settings_with_name (const char *name,
                    int         days)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonGenerator) generator = json_generator_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  if (days > 0)
    {
      json_builder_set_member_name (builder, "expires_in_days");
      json_builder_add_int_value (builder, days);
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  json_generator_set_root (generator, root);
  return json_generator_to_data (generator, NULL);
}

static void
on_changed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  CfTeamsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);

  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    handle_error (self, _("Could not make the change"), error);
  refresh (self);
}

/* Teams */

static void
on_delete_team (GtkButton   *button,
                CfTeamsPage *self)
{
  cf_admin_backend_call_async (self->backend, "DeleteTeam",
                               g_variant_new ("(s)", g_object_get_data (G_OBJECT (button), "id")),
                               self->cancellable, on_changed, self);
}

static GtkWidget *
team_row (GVariant *team,
          gpointer  user_data)
{
  CfTeamsPage *self = user_data;
  const char *name = cf_admin_lookup_string (team, "name");
  const char *description = cf_admin_lookup_string (team, "description");
  guint members = cf_admin_lookup_uint (team, "member-count");
  g_autofree char *escaped = g_markup_escape_text (name, -1);
  g_autofree char *count = g_strdup_printf (g_dngettext (GETTEXT_PACKAGE, "%u member",
                                                         "%u members", members), members);
  g_autofree char *subtitle = *description != '\0'
                              ? g_markup_printf_escaped ("%s\n%s · %s", description, count,
                                                         cf_admin_lookup_string (team, "visibility"))
                              : g_markup_printf_escaped ("%s · %s", count,
                                                         cf_admin_lookup_string (team, "visibility"));
  GtkWidget *row = adw_action_row_new ();

  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), escaped);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  if (!cf_admin_lookup_bool (team, "is-personal"))
    {
      GtkWidget *remove = cf_admin_icon_button ("user-trash-symbolic", _("Delete the team"), NULL);

      cf_admin_row_add_button (ADW_ACTION_ROW (row), remove, "id",
                               cf_admin_lookup_string (team, "id"), G_CALLBACK (on_delete_team),
                               self);
    }
  return row;
}

/* An empty list hides rather than showing an empty frame. */
static void
fill (GtkListBox     *list,
      GVariant       *entries,
      CfAdminRowFunc  make_row,
      CfTeamsPage    *self)
{
  gsize n_rows = cf_admin_list_box_fill (list, entries, make_row, self);

  gtk_widget_set_visible (GTK_WIDGET (list), n_rows > 0);
}

/* Tokens */

static void
on_revoke_token (GtkButton   *button,
                 CfTeamsPage *self)
{
  cf_admin_backend_call_async (self->backend, "RevokeToken",
                               g_variant_new ("(ss)", g_object_get_data (G_OBJECT (button), "id"),
                                              _("Revoked in the admin app")),
                               self->cancellable, on_changed, self);
}

static char *
describe_token (GVariant *token)
{
  const char *expires = cf_admin_lookup_string (token, "expires-at");
  const char *last_used = cf_admin_lookup_string (token, "last-used");
  g_autofree char *state = NULL;

  if (cf_admin_lookup_bool (token, "is-revoked"))
    state = g_strdup (_("Revoked"));
  else if (!cf_admin_lookup_bool (token, "is-active"))
    state = g_strdup (_("Inactive"));
  else if (*expires != '\0')
    state = g_strdup_printf (_("Expires %s"), expires);
  else
    state = g_strdup (_("Never expires"));
  if (*last_used == '\0')
    /* Translators: a token's state, then that it was never used */
    return g_strdup_printf (_("%s · never used"), state);
  /* Translators: a token's state, then when it was last used */
  return g_strdup_printf (_("%s · last used %s"), state, last_used);
}

static GtkWidget *
token_row (GVariant *token,
           gpointer  user_data)
{
  CfTeamsPage *self = user_data;
  const char *name = cf_admin_lookup_string (token, "name");
  g_autofree char *escaped = g_markup_escape_text (name, -1);
  g_autofree char *state = describe_token (token);
  g_autofree char *subtitle = g_markup_escape_text (state, -1);
  g_autofree char *revoke_name = g_strconcat ("revoke-", name, NULL);
  g_autofree char *row_name = g_strconcat ("token-row-", name, NULL);
  GtkWidget *row = adw_action_row_new ();

  gtk_widget_set_name (row, row_name);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), escaped);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  if (!cf_admin_lookup_bool (token, "is-revoked"))
    {
      GtkWidget *revoke = gtk_button_new_with_mnemonic (_("_Revoke"));

      gtk_widget_set_name (revoke, revoke_name);
      gtk_widget_set_valign (revoke, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (revoke, "destructive-action");
      cf_admin_row_add_button (ADW_ACTION_ROW (row), revoke, "id",
                               cf_admin_lookup_string (token, "id"), G_CALLBACK (on_revoke_token),
                               self);
    }
  return row;
}

/* Loading */

static void
on_tokens (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CfTeamsPage *self = user_data;
  g_autoptr(GVariant) reply = finish (self, source, result, _("Could not list the tokens"));
  g_autoptr(GVariant) tokens = NULL;

  if (reply == NULL)
    return;
  tokens = g_variant_get_child_value (reply, 0);
  fill (self->tokens_list, tokens, token_row, self);
}

static void
on_teams (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  CfTeamsPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  g_autoptr(GVariant) teams = NULL;

  if (reply == NULL && !cf_admin_error_is_cancelled (error) &&
      !cf_admin_error_is_unknown_method (error))
    {
      /* Nothing to show without the list: say why, in the page. */
      adw_status_page_set_description (self->error_page, error->message);
      gtk_stack_set_visible_child_name (self->stack, "error");
      return;
    }
  if (reply == NULL)
    {
      handle_error (self, _("Could not list the teams"), error);
      return;
    }
  teams = g_variant_get_child_value (reply, 0);
  fill (self->teams_list, teams, team_row, self);
  gtk_stack_set_visible_child_name (self->stack, "content");
  cf_admin_backend_call_async (self->backend, "ListTokens", NULL, self->cancellable, on_tokens,
                               self);
}

static void
refresh (CfTeamsPage *self)
{
  cf_admin_backend_call_async (self->backend, "ListTeams", NULL, self->cancellable, on_teams,
                               self);
}

/* Creating */

static void
on_team_created (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  CfTeamsPage *self = user_data;
  g_autoptr(GVariant) reply = finish (self, source, result, _("Could not create the team"));

  if (reply == NULL)
    return;
  gtk_editable_set_text (GTK_EDITABLE (self->team_name_row), "");
  cf_admin_toast (GTK_WIDGET (self), _("Team created"));
  refresh (self);
}

/* Asks @method for what @name_row names; @unnamed is the toast when it names nothing. */
static void
create (CfTeamsPage         *self,
        AdwEntryRow         *name_row,
        const char          *unnamed,
        int                  days,
        const char          *method,
        GAsyncReadyCallback  callback)
{
  const char *name = gtk_editable_get_text (GTK_EDITABLE (name_row));
  g_autofree char *settings = NULL;

  if (*name == '\0')
    {
      cf_admin_toast (GTK_WIDGET (self), unnamed);
      return;
    }
  settings = settings_with_name (name, days);
  cf_admin_backend_call_async (self->backend, method, g_variant_new ("(s)", settings),
                               self->cancellable, callback, self);
}

static void
on_create_team (CfTeamsPage *self)
{
  create (self, self->team_name_row, _("Give the team a name"), 0, "CreateTeam", on_team_created);
}

static void
on_token_created (GObject      *source,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  CfTeamsPage *self = user_data;
  g_autoptr(GVariant) reply = finish (self, source, result, _("Could not create the token"));
  const char *token = NULL;

  if (reply == NULL)
    return;
  g_variant_get (reply, "(&s&s)", NULL, &token);
  g_free (self->new_token);
  self->new_token = g_strdup (token);
  adw_action_row_set_subtitle (self->reveal_row, token);
  gtk_widget_set_visible (GTK_WIDGET (self->reveal_group), TRUE);
  gtk_editable_set_text (GTK_EDITABLE (self->token_name_row), "");
  refresh (self);
}

static void
on_create_token (CfTeamsPage *self)
{
  create (self, self->token_name_row, _("Give the token a name"),
          gtk_spin_button_get_value_as_int (self->token_days), "CreateToken", on_token_created);
}

static void
on_copy_token (CfTeamsPage *self)
{
  if (self->new_token != NULL)
    cf_admin_copy (GTK_WIDGET (self), self->new_token);
}

static void
on_catalog_changed (CfAdminBackend *backend,
                    const char     *kind,
                    CfTeamsPage    *self)
{
  if (g_str_equal (kind, "teams") || g_str_equal (kind, "tokens"))
    refresh (self);
}

static void
cf_teams_page_dispose (GObject *object)
{
  CfTeamsPage *self = (CfTeamsPage *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);
  g_clear_pointer (&self->new_token, g_free);

  G_OBJECT_CLASS (cf_teams_page_parent_class)->dispose (object);
}

static void
cf_teams_page_class_init (CfTeamsPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_teams_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-teams-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, stack);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, error_page);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, reveal_group);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, reveal_row);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, team_name_row);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, token_name_row);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, token_days);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, teams_list);
  gtk_widget_class_bind_template_child (widget_class, CfTeamsPage, tokens_list);
  gtk_widget_class_bind_template_callback (widget_class, refresh);
  gtk_widget_class_bind_template_callback (widget_class, on_create_team);
  gtk_widget_class_bind_template_callback (widget_class, on_create_token);
  gtk_widget_class_bind_template_callback (widget_class, on_copy_token);
}

static void
cf_teams_page_init (CfTeamsPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_teams_page_set_backend:
 * @self: the page
 * @backend: the gateway to show
 */
void
cf_teams_page_set_backend (CfTeamsPage    *self,
                           CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_TEAMS_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect (backend, "catalog-changed", G_CALLBACK (on_catalog_changed), self);
  refresh (self);
}
