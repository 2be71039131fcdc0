/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cf-admin-application.h"
#include "cf-remote-dialog.h"
#include "../cf-test-bus.h"

/* The admin app, in-process, under Xvfb, against the real daemon: a
 * private session bus activates it from the service file generated into
 * the build tree, as tests/integration/test-dbus.c does. The test drives
 * the app through its widgets, found by their names: it adds the fixture
 * server as a stdio gateway, waits for its tools, tries two of them,
 * composes a server, and takes a screenshot of every page. */

#define WAIT_LIMIT_S 60

typedef struct {
  GTestDBus          *dbus;
  char               *dir;
  CfAdminApplication *app;
  GtkWindow          *window;
} Fixture;

/* Waiting, bounded in time */

typedef gboolean (*Condition) (Fixture  *f,
                               gpointer  data);

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

static void
wait_until (Fixture     *f,
            Condition    condition,
            gpointer     data,
            const char  *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, on_tick, NULL);

  while (!condition (f, data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
}

static gboolean
time_passed (Fixture  *f,
             gpointer  data)
{
  return g_get_monotonic_time () >= *(gint64 *) data;
}

/* Lets the window lay out and draw: a short settle, bounded by itself. */
static void
settle (Fixture *f,
        guint    msec)
{
  gint64 until = g_get_monotonic_time () + msec * 1000;

  wait_until (f, time_passed, &until, "the window to settle");
}

/* Finding widgets */

typedef gboolean (*Match) (GtkWidget  *widget,
                           const char *text);

static GtkWidget *
find (GtkWidget  *root,
      Match       match,
      const char *text)
{
  if (match (root, text))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find (child, match, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
name_is (GtkWidget  *widget,
         const char *name)
{
  return g_strcmp0 (gtk_widget_get_name (widget), name) == 0;
}

static gboolean
name_matches (GtkWidget  *widget,
              const char *pattern)
{
  return g_pattern_match_simple (pattern, gtk_widget_get_name (widget));
}

static gboolean
label_contains (GtkWidget  *widget,
                const char *text)
{
  return GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
         strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL;
}

static GtkWidget *
lookup (Fixture    *f,
        const char *name)
{
  return find (GTK_WIDGET (f->window), name_is, name);
}

static GtkWidget *
get (Fixture    *f,
     const char *name)
{
  GtkWidget *widget = lookup (f, name);

  if (widget == NULL)
    g_error ("No widget named %s", name);
  return widget;
}

/* The gateway prefixes its upstreams' tools with the gateway's name:
 * patterns such as "try-*echo" find them whatever the prefix. */
static GtkWidget *
get_matching (Fixture    *f,
              const char *pattern)
{
  GtkWidget *widget = find (GTK_WIDGET (f->window), name_matches, pattern);

  if (widget == NULL)
    g_error ("No widget named like %s", pattern);
  return widget;
}

typedef struct {
  Match       match;
  const char *text;
  GtkWidget  *found;
} Wanted;

static gboolean
has_widget (Fixture  *f,
            gpointer  data)
{
  Wanted *wanted = data;

  wanted->found = find (GTK_WIDGET (f->window), wanted->match, wanted->text);
  return wanted->found != NULL;
}

static GtkWidget *
wait_for (Fixture    *f,
          Match       match,
          const char *text)
{
  Wanted wanted = { match, text, NULL };

  wait_until (f, has_widget, &wanted, text);
  return wanted.found;
}

static gboolean
row_subtitle_has (Fixture  *f,
                  gpointer  data)
{
  const char * const *want = data;
  GtkWidget *row = lookup (f, want[0]);

  return row != NULL && ADW_IS_ACTION_ROW (row) &&
         strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) ?: "", want[1]) != NULL;
}

static void
wait_for_subtitle (Fixture    *f,
                   const char *row,
                   const char *text)
{
  const char *want[] = { row, text };

  wait_until (f, row_subtitle_has, want, text);
}

static gboolean
label_is (Fixture  *f,
          gpointer  data)
{
  const char * const *want = data;
  GtkWidget *label = lookup (f, want[0]);

  return label != NULL && g_strcmp0 (gtk_label_get_text (GTK_LABEL (label)), want[1]) == 0;
}

static void
wait_for_label (Fixture    *f,
                const char *name,
                const char *text)
{
  const char *want[] = { name, text };

  wait_until (f, label_is, want, text);
}

/* Acting */

static void
show_page (Fixture    *f,
           const char *page)
{
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (get (f, "stack")), page);
  settle (f, 300);
}

static void
type_into_widget (GtkWidget  *widget,
                  const char *text)
{
  gtk_editable_set_text (GTK_EDITABLE (widget), text);
}

static void
type_into (Fixture    *f,
           const char *name,
           const char *text)
{
  type_into_widget (get (f, name), text);
}

static gboolean
row_shown (Fixture    *f,
           const char *pattern)
{
  GtkWidget *row = find (GTK_WIDGET (f->window), name_matches, pattern);

  return row != NULL && gtk_widget_get_child_visible (row) && gtk_widget_get_mapped (row);
}

/* The list is built again on CatalogChanged: look the button up anew. */
static gboolean
try_add_is (Fixture  *f,
            gpointer  data)
{
  GtkWidget *button = find (GTK_WIDGET (f->window), name_matches, "try-*add");
  GtkWidget *toggle = find (GTK_WIDGET (f->window), name_matches, "enable-*add");

  return button != NULL && toggle != NULL &&
         gtk_widget_get_sensitive (button) == GPOINTER_TO_INT (data) &&
         gtk_switch_get_active (GTK_SWITCH (toggle)) == GPOINTER_TO_INT (data);
}

static gboolean
only_add_shown (Fixture  *f,
                gpointer  data)
{
  return row_shown (f, "tool-*add") && !row_shown (f, "tool-*echo");
}

static gboolean
both_shown (Fixture  *f,
            gpointer  data)
{
  return row_shown (f, "tool-*add") && row_shown (f, "tool-*echo");
}

static void
click (GtkWidget *button)
{
  g_assert_true (GTK_IS_BUTTON (button));
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* Screenshots */

static gboolean
is_toast (GtkWidget  *widget,
          const char *unused)
{
  return g_str_equal (G_OBJECT_TYPE_NAME (widget), "AdwToastWidget");
}

static gboolean
is_button (GtkWidget  *widget,
           const char *unused)
{
  return GTK_IS_BUTTON (widget);
}

/* Closes the toast on show, if any, once: it then animates away, and the
 * next in the queue follows it. libadwaita 1.2 crashes when a toast is
 * closed while it is still sliding in, so each gets a second first. */
static gboolean
no_toasts_left (Fixture  *f,
                gpointer  data)
{
  GtkWidget *toast = find (GTK_WIDGET (f->window), is_toast, NULL);
  gint64 now = g_get_monotonic_time ();
  gint64 *seen;
  GtkWidget *close;

  if (toast == NULL)
    return TRUE;
  seen = g_object_get_data (G_OBJECT (toast), "cf-test-seen");
  if (seen == NULL)
    {
      seen = g_new (gint64, 1);
      *seen = now;
      g_object_set_data_full (G_OBJECT (toast), "cf-test-seen", seen, g_free);
    }
  close = find (toast, is_button, NULL);
  if (close != NULL && *seen != 0 && now - *seen > G_USEC_PER_SEC)
    {
      *seen = 0;   /* closed */
      g_signal_emit_by_name (close, "clicked");
    }
  return FALSE;
}

static void
save_png (GdkTexture *texture,
          const char *dir,
          const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);

  g_assert_cmpint (g_mkdir_with_parents (dir, 0755), ==, 0);
  g_assert_true (gdk_texture_save_to_png (texture, path));
  g_test_message ("Saved %s", path);
}

static void
screenshot (Fixture    *f,
            const char *name)
{
  GtkWidget *window = GTK_WIDGET (f->window);
  int width = gtk_widget_get_width (window);
  int height = gtk_widget_get_height (window);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (g_getenv ("G_TEST_BUILDDIR"), "screenshots", NULL);
  const char *source_dir = g_getenv ("CF_SCREENSHOT_SOURCE_DIR");

  g_assert_cmpint (width, >, 0);
  wait_until (f, no_toasts_left, NULL, "the toasts to go");
  settle (f, 300);
  gdk_paintable_snapshot (paintable, snapshot, width, height);
  node = gtk_snapshot_free_to_node (snapshot);
  g_assert_nonnull (node);
  texture = gsk_renderer_render_texture (gtk_native_get_renderer (GTK_NATIVE (window)), node,
                                         &GRAPHENE_RECT_INIT (0, 0, width, height));
  g_assert_cmpint (gdk_texture_get_width (texture), ==, width);
  save_png (texture, dir, name);
  if (g_strcmp0 (g_getenv ("CF_UPDATE_SCREENSHOTS"), "1") == 0 && source_dir != NULL)
    save_png (texture, source_dir, name);
}

static gboolean
has_window (Fixture  *f,
            gpointer  data)
{
  f->window = gtk_application_get_active_window (GTK_APPLICATION (f->app));
  return f->window != NULL && gtk_widget_get_mapped (GTK_WIDGET (f->window));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *db = NULL;
  g_autofree char *db_url = NULL;
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("cf-admin-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (f->dir, "gateway.db", NULL);
  db_url = g_strconcat ("sqlite:///", db, NULL);

  /* The activated daemon inherits this environment through the bus. */
  g_setenv ("DATABASE_URL", db_url, TRUE);
  g_setenv ("PORT", "0", TRUE);
  g_setenv ("HEALTH_CHECK_INTERVAL", "1", TRUE);
  g_unsetenv ("HOST");
  g_unsetenv ("LOG_LEVEL");

  f->dbus = cf_test_bus_start ();

  f->app = cf_admin_application_new ();
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->app);
  /* The daemon and its stdio upstream go with the bus. */
  g_test_dbus_down (f->dbus);
  g_clear_object (&f->dbus);
  cf_test_remove_database (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* The test */

static void
add_fixture_gateway (Fixture *f)
{
  g_autofree char *quoted = g_shell_quote (g_getenv ("CF_TEST_FIXTURE"));
  g_autofree char *command = g_strconcat (quoted, " --stdio --bench", NULL);

  show_page (f, "gateways");
  wait_for (f, label_contains, "No Gateways Yet");

  /* A gateway without a name is refused before it leaves the app. */
  type_into (f, "gateway-target", command);
  click (get (f, "add-gateway-button"));
  wait_for (f, label_contains, "Give the gateway a name");

  type_into (f, "gateway-name", "fixture");
  click (get (f, "add-gateway-button"));
  wait_for_subtitle (f, "gateway-fixture", "Reachable · 2 tools");
  g_assert_cmpstr (gtk_editable_get_text (GTK_EDITABLE (get (f, "gateway-name"))), ==, "");

  /* Refreshing says so and keeps the tools. */
  click (get (f, "refresh-fixture"));
  wait_for (f, label_contains, "Refreshing “fixture”…");
  wait_for_subtitle (f, "gateway-fixture", "Reachable · 2 tools");

  /* The server's own message comes back as a toast. */
  type_into (f, "gateway-name", "fixture");
  type_into (f, "gateway-target", command);
  click (get (f, "add-gateway-button"));
  wait_for (f, label_contains, "Could not add the gateway: ");
  wait_for (f, label_contains, "fixture");
  type_into (f, "gateway-name", "");
  type_into (f, "gateway-target", "");
  settle (f, 200);
  screenshot (f, "gateways.png");
}

static void
try_tools (Fixture *f)
{
  show_page (f, "tools");

  /* Numbers go as numbers; a word in a number field stays in the app. */
  click (wait_for (f, name_matches, "try-*add"));
  type_into_widget (wait_for (f, name_is, "arg-a"), "two");
  type_into (f, "arg-b", "3");
  click (get (f, "run-button"));
  wait_for (f, label_contains, "Check the arguments: a: ");
  type_into (f, "arg-a", "2");
  click (get (f, "run-button"));
  wait_for_label (f, "result-label", "5");

  click (wait_for (f, name_matches, "try-*echo"));
  type_into_widget (wait_for (f, name_is, "arg-text"), "Hello from the admin app");
  click (get (f, "run-button"));
  wait_for_label (f, "result-label", "Hello from the admin app");
  g_assert_false (gtk_widget_has_css_class (get (f, "result-label"), "error"));

  /* The search keeps what matches. */
  type_into (f, "tools-search", "adds two");
  wait_until (f, only_add_shown, NULL, "the search to keep only add");
  type_into (f, "tools-search", "");
  wait_until (f, both_shown, NULL, "the search to be cleared");
  settle (f, 300);
  screenshot (f, "tools.png");
}

static void
compose_server (Fixture *f)
{
  show_page (f, "servers");
  wait_for (f, label_contains, "No Virtual Servers Yet");
  type_into (f, "server-name", "picked");
  type_into (f, "server-description", "Echo and add, for the demo");
  gtk_check_button_set_active (GTK_CHECK_BUTTON (wait_for (f, name_matches, "pick-*echo")), TRUE);
  gtk_check_button_set_active (GTK_CHECK_BUTTON (get_matching (f, "pick-*add")), TRUE);
  click (get (f, "compose-button"));
  wait_for_subtitle (f, "server-picked", "2 tools");
  wait_for_subtitle (f, "server-picked", "/servers/");
  settle (f, 300);
  screenshot (f, "servers.png");
}

static gboolean
teams_loaded (Fixture  *f,
              gpointer  data)
{
  const char *page = gtk_stack_get_visible_child_name (GTK_STACK (get (f, "teams-stack")));

  return g_strcmp0 (page, "loading") != 0;
}

static void
show_teams (Fixture *f)
{
  show_page (f, "teams");
  wait_until (f, teams_loaded, NULL, "the teams page");
  if (g_str_equal (gtk_stack_get_visible_child_name (GTK_STACK (get (f, "teams-stack"))),
                   "error"))
    g_error ("The teams page failed: %s",
             adw_status_page_get_description (ADW_STATUS_PAGE (get (f, "teams-error"))));
  if (g_str_equal (gtk_stack_get_visible_child_name (GTK_STACK (get (f, "teams-stack"))),
                   "unavailable"))
    {
      /* A gateway without the teams and tokens methods says so. */
      wait_for (f, label_contains, "No Teams or Tokens Here Yet");
    }
  else
    {
      type_into (f, "team-name", "Research");
      click (get (f, "create-team-button"));
      wait_for (f, label_contains, "Team created");
      wait_for (f, label_contains, "Research");
      type_into (f, "token-name", "ci");
      click (get (f, "create-token-button"));
      wait_for (f, label_contains, "it will not be shown again");
      wait_for_subtitle (f, "token-row-ci", "never used");
    }
  settle (f, 300);
  screenshot (f, "teams.png");
  if (lookup (f, "revoke-ci") != NULL)
    {
      click (get (f, "revoke-ci"));
      wait_for_subtitle (f, "token-row-ci", "Revoked");
      g_assert_null (lookup (f, "revoke-ci"));
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
is_set (Fixture  *f,
        gpointer  data)
{
  return *(char **) data != NULL;
}

static void
show_overview (Fixture *f)
{
  GtkWidget *url_row;
  const char *endpoint;
  g_autofree char *copied = NULL;

  show_page (f, "overview");
  wait_for_label (f, "count-gateways", "1");
  wait_for_label (f, "count-tools", "2");
  wait_for_label (f, "count-servers", "1");
  wait_for_label (f, "health-label", "Healthy");
  url_row = get (f, "url-row");
  endpoint = adw_action_row_get_subtitle (ADW_ACTION_ROW (url_row));
  g_assert_true (g_str_has_prefix (endpoint, "http://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (endpoint, "/mcp"));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (get (f, "claude-snippet"))), endpoint));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (get (f, "claude-snippet"))),
                            "\"mcpServers\""));
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (get (f, "vscode-snippet"))), endpoint));

  /* The copy button puts the endpoint on the clipboard. */
  click (get (f, "copy-url-button"));
  gdk_clipboard_read_text_async (gtk_widget_get_clipboard (url_row), NULL, on_clipboard_text,
                                 &copied);
  wait_until (f, is_set, &copied, "the clipboard");
  g_assert_cmpstr (copied, ==, endpoint);
  wait_for (f, label_contains, "Copied to the clipboard");
  screenshot (f, "overview.png");
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
has_dialog (Fixture  *f,
            gpointer  data)
{
  return find_dialog () != NULL;
}

static GtkWidget *
find_message_dialog (void)
{
  g_autoptr(GListModel) toplevels = gtk_window_get_toplevels ();

  g_object_ref (toplevels);
  for (guint i = 0; i < g_list_model_get_n_items (toplevels); i++)
    {
      g_autoptr(GObject) window = g_list_model_get_item (toplevels, i);

      if (ADW_IS_MESSAGE_DIALOG (window) && gtk_widget_get_visible (GTK_WIDGET (window)) &&
          g_object_get_data (window, "cf-test-answered") == NULL)
        return GTK_WIDGET (window);
    }
  return NULL;
}

static gboolean
has_message_dialog (Fixture  *f,
                    gpointer  data)
{
  return find_message_dialog () != NULL;
}

/* Answers the dialog the last click opened. */
static void
respond (Fixture    *f,
         const char *response)
{
  GtkWidget *dialog;

  wait_until (f, has_message_dialog, NULL, "a dialog");
  dialog = find_message_dialog ();
  g_object_set_data (G_OBJECT (dialog), "cf-test-answered", GINT_TO_POINTER (TRUE));
  /* As its button does: answer, then close. */
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), response);
  gtk_window_close (GTK_WINDOW (dialog));
  settle (f, 200);
}

static gboolean
has_two_windows (Fixture  *f,
                 gpointer  data)
{
  return g_list_length (gtk_application_get_windows (GTK_APPLICATION (f->app))) == 2;
}

typedef struct {
  GtkWidget  *root;
  Match       match;
  const char *text;
} InWindow;

static gboolean
has_widget_in (Fixture  *f,
               gpointer  data)
{
  InWindow *wanted = data;

  return find (wanted->root, wanted->match, wanted->text) != NULL;
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
connect_remote (Fixture *f)
{
  const char *endpoint = adw_action_row_get_subtitle (ADW_ACTION_ROW (get (f, "url-row")));
  g_autofree char *url = g_strndup (endpoint, strlen (endpoint) - strlen ("/mcp"));
  GtkWidget *dialog;
  GtkWidget *remote;
  GtkWidget *title;
  InWindow keyring = { NULL, label_contains, "could not be kept in the keyring" };
  InWindow refused = { NULL, label_contains, "Could not list the gateways: " };
  InWindow no_teams = { NULL, label_contains, "No Teams or Tokens Here Yet" };

  g_action_group_activate_action (G_ACTION_GROUP (f->app), "connect-remote", NULL);
  wait_until (f, has_dialog, NULL, "the remote dialog");
  dialog = find_dialog ();
  gtk_editable_set_text (GTK_EDITABLE (find (dialog, name_is, "remote-url")), url);
  gtk_editable_set_text (GTK_EDITABLE (find (dialog, name_is, "remote-token")), "not.a.token");
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), "connect");
  gtk_window_close (GTK_WINDOW (dialog));
  wait_until (f, has_two_windows, NULL, "the remote window");

  remote = gtk_application_get_windows (GTK_APPLICATION (f->app))->data;
  g_assert_true (remote != GTK_WIDGET (f->window));
  title = find (remote, is_switcher_title, NULL);
  g_assert_cmpstr (adw_view_switcher_title_get_subtitle (ADW_VIEW_SWITCHER_TITLE (title)), ==,
                   url);
  keyring.root = refused.root = no_teams.root = remote;
  wait_until (f, has_widget_in, &keyring, keyring.text);
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (find (remote, name_is, "stack")),
                                         "gateways");
  wait_until (f, has_widget_in, &refused, refused.text);
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (find (remote, name_is, "stack")),
                                         "teams");
  wait_until (f, has_widget_in, &no_teams, no_teams.text);
  gtk_window_destroy (GTK_WINDOW (remote));
}

/* The conformance fixture's tools: a failing one, and a schema with a
 * $ref, whose member takes JSON. */
static void
try_conformance_tools (Fixture *f)
{
  g_autofree char *quoted = g_shell_quote (g_getenv ("CF_TEST_FIXTURE"));
  g_autofree char *command = g_strconcat (quoted, " --stdio", NULL);

  show_page (f, "gateways");
  type_into (f, "gateway-name", "conformance");
  type_into (f, "gateway-target", command);
  click (get (f, "add-gateway-button"));
  wait_for_subtitle (f, "gateway-conformance", "Reachable");

  show_page (f, "tools");
  click (wait_for (f, name_matches, "try-*test?error?handling"));
  wait_for (f, label_contains, "This tool takes no arguments.");
  click (get (f, "run-button"));
  wait_for_label (f, "result-label", "This tool intentionally returns an error for testing");
  g_assert_true (gtk_widget_has_css_class (get (f, "result-label"), "error"));
  wait_for (f, label_contains, "The Tool Reported an Error");

  click (wait_for (f, name_matches, "try-*json?schema?2020?12?tool"));
  type_into_widget (wait_for (f, name_is, "arg-address"), "{\"city\": ");
  type_into (f, "arg-name", "Ada");
  click (get (f, "run-button"));
  wait_for (f, label_contains, "Check the arguments: address: ");
  type_into (f, "arg-address", "{\"city\": \"London\"}");
  click (get (f, "run-button"));
  wait_for (f, label_contains, "JSON Schema 2020-12 tool called with: ");
  g_assert_nonnull (strstr (gtk_label_get_text (GTK_LABEL (get (f, "result-label"))), "London"));
  g_assert_false (gtk_widget_has_css_class (get (f, "result-label"), "error"));

  show_page (f, "gateways");
  click (get (f, "remove-conformance"));
  respond (f, "remove");
  wait_for (f, label_contains, "Removed “conformance”");
}

/* Removing the gateway takes its tools with it. */
static void
remove_gateway (Fixture *f)
{
  /* Turned off, a tool cannot be tried; turned on again, it can. Last,
   * as the catalog renames a tool that is turned off, for now. */
  show_page (f, "tools");
  gtk_switch_set_active (GTK_SWITCH (get_matching (f, "enable-*add")), FALSE);
  wait_until (f, try_add_is, GINT_TO_POINTER (FALSE), "add to be turned off");
  gtk_switch_set_active (GTK_SWITCH (get_matching (f, "enable-*add")), TRUE);
  wait_until (f, try_add_is, GINT_TO_POINTER (TRUE), "add to be turned on");

  show_page (f, "gateways");
  /* Asked first: cancelling keeps it. */
  click (get (f, "remove-fixture"));
  respond (f, "cancel");
  wait_for_subtitle (f, "gateway-fixture", "Reachable");
  click (get (f, "remove-fixture"));
  respond (f, "remove");
  wait_for (f, label_contains, "Removed “fixture”");
  wait_for (f, label_contains, "No Gateways Yet");
  show_page (f, "tools");
  wait_for (f, label_contains, "No Tools Yet");
  show_page (f, "overview");
  wait_for_label (f, "count-tools", "0");
}

/* Runs inside g_application_run(), as the app runs for people; closing
 * the window ends it. */
static void
drive (gpointer data)
{
  Fixture *f = data;

  wait_until (f, has_window, NULL, "the window");
  add_fixture_gateway (f);
  try_tools (f);
  compose_server (f);
  show_teams (f);
  show_overview (f);
  connect_remote (f);
  try_conformance_tools (f);
  remove_gateway (f);
  gtk_window_destroy (f->window);
  f->window = NULL;
}

static void
on_activate (GApplication *app,
             Fixture      *f)
{
  g_idle_add_once (drive, f);
}

static void
test_drive (Fixture       *f,
            gconstpointer  data)
{
  g_signal_connect_after (f->app, "activate", G_CALLBACK (on_activate), f);
  g_assert_cmpint (g_application_run (G_APPLICATION (f->app), 0, NULL), ==, 0);
  g_assert_null (f->window);
}

static void
remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFile) child = g_file_get_child (file, g_file_info_get_name (info));

      remove_tree (child);
      g_object_unref (info);
    }
  g_file_delete (file, NULL, NULL);
}

/* Not G_TEST_OPTION_ISOLATE_DIRS: it hides the system's data dirs too,
 * where GTK finds the MIME database that tells it an icon is SVG. The
 * user's own directories, which the daemon writes to, are the test's. */
static char *
isolate_home (void)
{
  g_autoptr(GError) error = NULL;
  char *home = g_dir_make_tmp ("cf-admin-home-XXXXXX", &error);
  static const struct {
    const char *variable;
    const char *dir;
  } dirs[] = {
    { "HOME", "home" },
    { "XDG_CONFIG_HOME", "config" },
    { "XDG_DATA_HOME", "data" },
    { "XDG_CACHE_HOME", "cache" },
    { "XDG_RUNTIME_DIR", "runtime" },
  };

  g_assert_no_error (error);
  for (guint i = 0; i < G_N_ELEMENTS (dirs); i++)
    {
      g_autofree char *path = g_build_filename (home, dirs[i].dir, NULL);

      g_assert_cmpint (g_mkdir_with_parents (path, 0700), ==, 0);
      g_setenv (dirs[i].variable, path, TRUE);
    }
  return home;
}

int
main (int   argc,
      char *argv[])
{
  g_autofree char *home = isolate_home ();
  g_autoptr(GFile) home_file = g_file_new_for_path (home);
  int status;

  g_test_init (&argc, &argv, NULL);
  gtk_init ();

  g_test_add ("/admin/drive", Fixture, NULL, fixture_set_up, test_drive, fixture_tear_down);

  status = g_test_run ();
  remove_tree (home_file);
  return status;
}
