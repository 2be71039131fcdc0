/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cf-admin-application.h"
#include "cf-gui-test.h"
#include "cf-remote-dialog.h"
#include "../cf-test-bus.h"

/* The admin app, in-process, under Xvfb, against the real daemon: a
 * private session bus activates it from the service file generated into
 * the build tree, as tests/integration/test-dbus.c does. The test drives
 * the app through its widgets, found by their names: it adds the fixture
 * server as a stdio gateway, waits for its tools, tries two of them,
 * composes a server, and takes a screenshot of every page. */

typedef struct {
  GTestDBus *dbus;
  char      *dir;
  CfGuiTest  gui;
} Fixture;

/* Waiting for what the window shows */

static gboolean
row_subtitle_has (CfGuiTest *t,
                  gpointer   data)
{
  const char * const *want = data;
  GtkWidget *row = cf_gui_test_lookup (t, want[0]);

  return row != NULL && ADW_IS_ACTION_ROW (row) &&
         strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) ?: "", want[1]) != NULL;
}

static void
wait_for_subtitle (CfGuiTest  *t,
                   const char *row,
                   const char *text)
{
  const char *want[] = { row, text };

  cf_gui_test_wait_until (t, row_subtitle_has, want, text);
}

static gboolean
label_is (CfGuiTest *t,
          gpointer   data)
{
  const char * const *want = data;
  GtkWidget *label = cf_gui_test_lookup (t, want[0]);

  return label != NULL && g_strcmp0 (gtk_label_get_text (GTK_LABEL (label)), want[1]) == 0;
}

static void
wait_for_label (CfGuiTest  *t,
                const char *name,
                const char *text)
{
  const char *want[] = { name, text };

  cf_gui_test_wait_until (t, label_is, want, text);
}

/* Acting */

static void
type_into_widget (GtkWidget  *widget,
                  const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (widget), text);
}

static void
type_into (CfGuiTest  *t,
           const char *name,
           const char *text)
{
  type_into_widget (cf_gui_test_get (t, name), text);
}

static gboolean
row_shown (CfGuiTest  *t,
           const char *pattern)
{
  GtkWidget *row = cf_gui_test_find (GTK_WIDGET (t->window), cf_gui_test_name_matches, pattern);

  return row != NULL && gtk_widget_get_child_visible (row) && gtk_widget_get_mapped (row);
}

/* The list is built again on CatalogChanged: look the button up anew. */
static gboolean
try_add_is (CfGuiTest *t,
            gpointer   data)
{
  GtkWidget *button =
      cf_gui_test_find (GTK_WIDGET (t->window), cf_gui_test_name_matches, "try-*add");
  GtkWidget *toggle =
      cf_gui_test_find (GTK_WIDGET (t->window), cf_gui_test_name_matches, "enable-*add");

  return button != NULL && toggle != NULL &&
         gtk_widget_get_sensitive (button) == GPOINTER_TO_INT (data) &&
         gtk_switch_get_active (GTK_SWITCH (toggle)) == GPOINTER_TO_INT (data);
}

static gboolean
only_add_shown (CfGuiTest *t,
                gpointer   data)
{
  return row_shown (t, "tool-*add") && !row_shown (t, "tool-*echo");
}

static gboolean
both_shown (CfGuiTest *t,
            gpointer   data)
{
  return row_shown (t, "tool-*add") && row_shown (t, "tool-*echo");
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *db_url = NULL;

  f->dir = cf_test_make_database ("cf-admin-XXXXXX", &db_url);

  /* The activated daemon inherits this environment through the bus. */
  g_setenv ("DATABASE_URL", db_url, TRUE);
  g_setenv ("PORT", "0", TRUE);
  g_setenv ("HEALTH_CHECK_INTERVAL", "1", TRUE);
  g_unsetenv ("HOST");
  g_unsetenv ("LOG_LEVEL");

  f->dbus = cf_test_bus_start ();

  f->gui.app = cf_admin_application_new ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->gui.app);
  /* The daemon and its stdio upstream go with the bus. */
  cf_test_bus_stop (g_steal_pointer (&f->dbus));
  cf_test_remove_database (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* The test */

static void
add_fixture_gateway (CfGuiTest *t)
{
  g_autofree char *quoted = g_shell_quote (g_getenv ("CF_TEST_FIXTURE"));
  g_autofree char *command = g_strconcat (quoted, " --stdio --bench", NULL);

  cf_gui_test_show_page (t, "gateways");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "No Gateways Yet");

  /* A gateway without a name is refused before it leaves the app. */
  type_into (t, "gateway-target", command);
  cf_gui_test_click (cf_gui_test_get (t, "add-gateway-button"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Give the gateway a name");

  type_into (t, "gateway-name", "fixture");
  cf_gui_test_click (cf_gui_test_get (t, "add-gateway-button"));
  wait_for_subtitle (t, "gateway-fixture", "Reachable · 2 tools");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (cf_gui_test_get (t, "gateway-name"))), ==,
                   "");

  /* Refreshing says so and keeps the tools. */
  cf_gui_test_click (cf_gui_test_get (t, "refresh-fixture"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Refreshing “fixture”…");
  wait_for_subtitle (t, "gateway-fixture", "Reachable · 2 tools");

  /* The server's own message comes back as a toast. */
  type_into (t, "gateway-name", "fixture");
  type_into (t, "gateway-target", command);
  cf_gui_test_click (cf_gui_test_get (t, "add-gateway-button"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Could not add the gateway: ");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "fixture");
  type_into (t, "gateway-name", "");
  type_into (t, "gateway-target", "");
  cf_gui_test_settle (t, 200);
  cf_gui_test_screenshot (t, "gateways.png");
}

static void
try_tools (CfGuiTest *t)
{
  cf_gui_test_show_page (t, "tools");

  /* Numbers go as numbers; a word in a number field stays in the app. */
  cf_gui_test_click (cf_gui_test_wait_for (t, cf_gui_test_name_matches, "try-*add"));
  type_into_widget (cf_gui_test_wait_for (t, cf_gui_test_name_is, "arg-a"), "two");
  type_into (t, "arg-b", "3");
  cf_gui_test_click (cf_gui_test_get (t, "run-button"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Check the arguments: a: ");
  type_into (t, "arg-a", "2");
  cf_gui_test_click (cf_gui_test_get (t, "run-button"));
  wait_for_label (t, "result-label", "5");

  cf_gui_test_click (cf_gui_test_wait_for (t, cf_gui_test_name_matches, "try-*echo"));
  type_into_widget (cf_gui_test_wait_for (t, cf_gui_test_name_is, "arg-text"),
                    "Hello from the admin app");
  cf_gui_test_click (cf_gui_test_get (t, "run-button"));
  wait_for_label (t, "result-label", "Hello from the admin app");
  g_assert_false (gtk_widget_has_css_class (cf_gui_test_get (t, "result-label"), "error"));

  /* The search keeps what matches. */
  type_into (t, "tools-search", "adds two");
  cf_gui_test_wait_until (t, only_add_shown, NULL, "the search to keep only add");
  type_into (t, "tools-search", "");
  cf_gui_test_wait_until (t, both_shown, NULL, "the search to be cleared");
  cf_gui_test_settle (t, 300);
  cf_gui_test_screenshot (t, "tools.png");
}

static void
compose_server (CfGuiTest *t)
{
  cf_gui_test_show_page (t, "servers");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "No Virtual Servers Yet");
  type_into (t, "server-name", "picked");
  type_into (t, "server-description", "Echo and add, for the demo");
  gtk_check_button_set_active (
      GTK_CHECK_BUTTON (cf_gui_test_wait_for (t, cf_gui_test_name_matches, "pick-*echo")), TRUE);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (cf_gui_test_get_matching (t, "pick-*add")), TRUE);
  cf_gui_test_click (cf_gui_test_get (t, "compose-button"));
  wait_for_subtitle (t, "server-picked", "2 tools");
  wait_for_subtitle (t, "server-picked", "/servers/");
  cf_gui_test_settle (t, 300);
  cf_gui_test_screenshot (t, "servers.png");
}

static gboolean
teams_loaded (CfGuiTest *t,
              gpointer   data)
{
  const char *page =
      gtk_stack_get_visible_child_name (GTK_STACK (cf_gui_test_get (t, "teams-stack")));

  return g_strcmp0 (page, "loading") != 0;
}

static void
show_teams (CfGuiTest *t)
{
  GtkStack *stack;
  GtkWidget *error;

  cf_gui_test_show_page (t, "teams");
  cf_gui_test_wait_until (t, teams_loaded, NULL, "the teams page");
  stack = GTK_STACK (cf_gui_test_get (t, "teams-stack"));
  if (g_str_equal (gtk_stack_get_visible_child_name (stack), "error"))
    {
      error = cf_gui_test_get (t, "teams-error");
      g_error ("The teams page failed: %s",
               adw_status_page_get_description (ADW_STATUS_PAGE (error)));
    }
  if (g_str_equal (gtk_stack_get_visible_child_name (stack), "unavailable"))
    {
      /* A gateway without the teams and tokens methods says so. */
      cf_gui_test_wait_for (t, cf_gui_test_label_contains, "No Teams or Tokens Here Yet");
    }
  else
    {
      type_into (t, "team-name", "Research");
      cf_gui_test_click (cf_gui_test_get (t, "create-team-button"));
      cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Team created");
      cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Research");
      type_into (t, "token-name", "ci");
      cf_gui_test_click (cf_gui_test_get (t, "create-token-button"));
      cf_gui_test_wait_for (t, cf_gui_test_label_contains, "it will not be shown again");
      wait_for_subtitle (t, "token-row-ci", "never used");
    }
  cf_gui_test_settle (t, 300);
  cf_gui_test_screenshot (t, "teams.png");
  if (cf_gui_test_lookup (t, "revoke-ci") != NULL)
    {
      cf_gui_test_click (cf_gui_test_get (t, "revoke-ci"));
      wait_for_subtitle (t, "token-row-ci", "Revoked");
      g_assert_null (cf_gui_test_lookup (t, "revoke-ci"));
    }
}

static void
on_clipboard_text (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  char **text = user_data;

  *text = gdk_clipboard_read_text_finish (GDK_CLIPBOARD (source), result, NULL);
  if (*text == NULL)
    *text = g_strdup ("");
}

static gboolean
is_set (CfGuiTest *t,
        gpointer   data)
{
  return *(char **) data != NULL;
}

static void
show_overview (CfGuiTest *t)
{
  GtkWidget *url_row;
  const char *endpoint;
  g_autofree char *copied = NULL;

  cf_gui_test_show_page (t, "overview");
  wait_for_label (t, "count-gateways", "1");
  wait_for_label (t, "count-tools", "2");
  wait_for_label (t, "count-servers", "1");
  wait_for_label (t, "health-label", "Healthy");
  url_row = cf_gui_test_get (t, "url-row");
  endpoint = adw_action_row_get_subtitle (ADW_ACTION_ROW (url_row));
  g_assert_true (g_str_has_prefix (endpoint, "http://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (endpoint, "/mcp"));
  g_assert_nonnull (
      strstr (gtk_label_get_text (GTK_LABEL (cf_gui_test_get (t, "claude-snippet"))), endpoint));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (cf_gui_test_get (t, "claude-snippet"))),
                            "\"mcpServers\""));
  g_assert_nonnull (
      strstr (gtk_label_get_text (GTK_LABEL (cf_gui_test_get (t, "vscode-snippet"))), endpoint));

  /* The copy button puts the endpoint on the clipboard. */
  cf_gui_test_click (cf_gui_test_get (t, "copy-url-button"));
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (url_row), NULL, on_clipboard_text,
                                 &copied);
  cf_gui_test_wait_until (t, is_set, &copied, "the clipboard");
  g_assert_cmpstr (copied, ==, endpoint);
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Copied to the clipboard");
  cf_gui_test_screenshot (t, "overview.png");
}

/* Connecting to a gateway over REST */

static GtkWidget *
find_dialog (void)
{
  g_autoptr(GListModel) toplevels = gtk_window_get_toplevels ();

  g_object_ref (toplevels);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (CF_IS_REMOTE_DIALOG (window))
        return GTK_WIDGET (window);
    }
  return NULL;
}

static gboolean
has_dialog (CfGuiTest *t,
            gpointer   data)
{
  return find_dialog () != NULL;
}

static gboolean
has_two_windows (CfGuiTest *t,
                 gpointer   data)
{
  return g_list_length (gtk_application_get_windows (GTK_APPLICATION (t->app))) == 2;
}

typedef struct {
  GtkWidget      *root;
  CfGuiTestMatch  match;
  const char     *text;
} InWindow;

static gboolean
has_widget_in (CfGuiTest *t,
               gpointer   data)
{
  InWindow *wanted = data;

  return cf_gui_test_find (wanted->root, wanted->match, wanted->text) != NULL;
}

static gboolean
is_switcher_title (GtkWidget  *widget,
                   const char *unused)
{
  return ADW_IS_VIEW_SWITCHER_TITLE (widget);
}

/* A second window on the same daemon, over REST: the keyring of the
 * private bus is missing, which the window says, and the token is not
 * one the gateway signed, which every page says in the server's words. */
static void
connect_remote (CfGuiTest *t)
{
  const char *endpoint =
      adw_action_row_get_subtitle (ADW_ACTION_ROW (cf_gui_test_get (t, "url-row")));
  g_autofree char *url = g_strndup (endpoint, strlen (endpoint) - strlen ("/mcp"));
  GtkWidget *dialog;
  GtkWidget *remote;
  GtkWidget *title;
  InWindow keyring = { NULL, cf_gui_test_label_contains, "could not be kept in the keyring" };
  InWindow refused = { NULL, cf_gui_test_label_contains, "Could not list the gateways: " };
  InWindow no_teams = { NULL, cf_gui_test_label_contains, "No Teams or Tokens Here Yet" };

  g_action_group_activate_action (G_ACTION_GROUP (t->app), "connect-remote", NULL);
  cf_gui_test_wait_until (t, has_dialog, NULL, "the remote dialog");
  dialog = find_dialog ();
  type_into_widget (cf_gui_test_find (dialog, cf_gui_test_name_is, "remote-url"), url);
  type_into_widget (cf_gui_test_find (dialog, cf_gui_test_name_is, "remote-token"), "not.a.token");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "connect");
  gtk_window_close (GTK_WINDOW (dialog));
  cf_gui_test_wait_until (t, has_two_windows, NULL, "the remote window");

  remote = gtk_application_get_windows (GTK_APPLICATION (t->app))->data;
  g_assert_true (remote != GTK_WIDGET (t->window));
  title = cf_gui_test_find (remote, is_switcher_title, NULL);
  g_assert_cmpstr (adw_view_switcher_title_get_subtitle (ADW_VIEW_SWITCHER_TITLE (title)), ==,
                   url);
  keyring.root = refused.root = no_teams.root = remote;
  cf_gui_test_wait_until (t, has_widget_in, &keyring, keyring.text);
  adw_view_stack_set_visible_child_name (
      ADW_VIEW_STACK (cf_gui_test_find (remote, cf_gui_test_name_is, "stack")), "gateways");
  cf_gui_test_wait_until (t, has_widget_in, &refused, refused.text);
  adw_view_stack_set_visible_child_name (
      ADW_VIEW_STACK (cf_gui_test_find (remote, cf_gui_test_name_is, "stack")), "teams");
  cf_gui_test_wait_until (t, has_widget_in, &no_teams, no_teams.text);
  gtk_window_destroy (GTK_WINDOW (remote));
}

/* The conformance fixture's tools: a failing one, and a schema with a
 * $ref, whose member takes JSON. */
static void
try_conformance_tools (CfGuiTest *t)
{
  g_autofree char *quoted = g_shell_quote (g_getenv ("CF_TEST_FIXTURE"));
  g_autofree char *command = g_strconcat (quoted, " --stdio", NULL);

  cf_gui_test_show_page (t, "gateways");
  type_into (t, "gateway-name", "conformance");
  type_into (t, "gateway-target", command);
  cf_gui_test_click (cf_gui_test_get (t, "add-gateway-button"));
  wait_for_subtitle (t, "gateway-conformance", "Reachable");

  cf_gui_test_show_page (t, "tools");
  cf_gui_test_click (
      cf_gui_test_wait_for (t, cf_gui_test_name_matches, "try-*test?error?handling"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "This tool takes no arguments.");
  cf_gui_test_click (cf_gui_test_get (t, "run-button"));
  wait_for_label (t, "result-label", "This tool intentionally returns an error for testing");
  g_assert_true (gtk_widget_has_css_class (cf_gui_test_get (t, "result-label"), "error"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "The Tool Reported an Error");

  cf_gui_test_click (
      cf_gui_test_wait_for (t, cf_gui_test_name_matches, "try-*json?schema?2020?12?tool"));
  type_into_widget (cf_gui_test_wait_for (t, cf_gui_test_name_is, "arg-address"), "{\"city\": ");
  type_into (t, "arg-name", "Ada");
  cf_gui_test_click (cf_gui_test_get (t, "run-button"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Check the arguments: address: ");
  type_into (t, "arg-address", "{\"city\": \"London\"}");
  cf_gui_test_click (cf_gui_test_get (t, "run-button"));
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "JSON Schema 2020-12 tool called with: ");
  g_assert_nonnull (
      strstr (gtk_label_get_text (GTK_LABEL (cf_gui_test_get (t, "result-label"))), "London"));
  g_assert_false (gtk_widget_has_css_class (cf_gui_test_get (t, "result-label"), "error"));

  cf_gui_test_show_page (t, "gateways");
  cf_gui_test_click (cf_gui_test_get (t, "remove-conformance"));
  cf_gui_test_respond (t, "remove");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Removed “conformance”");
}

/* Removing the gateway takes its tools with it. */
static void
remove_gateway (CfGuiTest *t)
{
  /* Turned off, a tool cannot be tried; turned on again, it can. Last,
   * as the catalog renames a tool that is turned off, for now. */
  cf_gui_test_show_page (t, "tools");
  gtk_switch_set_active (GTK_SWITCH (cf_gui_test_get_matching (t, "enable-*add")), FALSE);
  cf_gui_test_wait_until (t, try_add_is, GINT_TO_POINTER (FALSE), "add to be turned off");
  gtk_switch_set_active (GTK_SWITCH (cf_gui_test_get_matching (t, "enable-*add")), TRUE);
  cf_gui_test_wait_until (t, try_add_is, GINT_TO_POINTER (TRUE), "add to be turned on");

  cf_gui_test_show_page (t, "gateways");
  /* Asked first: cancelling keeps it. */
  cf_gui_test_click (cf_gui_test_get (t, "remove-fixture"));
  cf_gui_test_respond (t, "cancel");
  wait_for_subtitle (t, "gateway-fixture", "Reachable");
  cf_gui_test_click (cf_gui_test_get (t, "remove-fixture"));
  cf_gui_test_respond (t, "remove");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Removed “fixture”");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "No Gateways Yet");
  cf_gui_test_show_page (t, "tools");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "No Tools Yet");
  cf_gui_test_show_page (t, "overview");
  wait_for_label (t, "count-tools", "0");
}

/* Runs inside g_application_run(), as the app runs for people; closing
 * the window ends it. */
static void
drive (CfGuiTest *t,
       gpointer   data)
{
  add_fixture_gateway (t);
  try_tools (t);
  compose_server (t);
  show_teams (t);
  show_overview (t);
  connect_remote (t);
  try_conformance_tools (t);
  remove_gateway (t);
}

static void
test_drive (Fixture       *f,
            gconstpointer  data)
{
  cf_gui_test_run (&f->gui, drive, NULL);
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = cf_gui_test_isolate_home ();
  g_autoptr(GFile) home_file = g_file_new_for_path (home);
  int status;

  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  g_test_add ("/admin/drive", Fixture, NULL, fixture_set_up, test_drive, fixture_tear_down);

  status = g_test_run ();
  cf_gui_test_remove_tree (home_file);
  return status;
}
