/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gui-test"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "cf-gui-test.h"

#define WAIT_LIMIT_S 60

/* Running the app */

typedef struct {
  CfGuiTest     *test;
  CfGuiTestFunc  drive;
  gpointer       data;
} Run;

static gboolean
has_window (CfGuiTest *test,
            gpointer   data)
{
  test->window = gtk_application_get_active_window (GTK_APPLICATION (test->app));
  return test->window != NULL && gtk_widget_get_mapped (GTK_WIDGET (test->window));
}

static void
on_idle (gpointer data)
{
  Run *run = data;

  cf_gui_test_wait_until (run->test, has_window, NULL, "the window");
  run->drive (run->test, run->data);
  gtk_window_destroy (run->test->window);
  run->test->window = NULL;
}

static void
on_activate (GApplication *app,
             Run          *run)
{
  g_idle_add_once (on_idle, run);
}

/**
 * cf_gui_test_run:
 * @test: the test, its app made
 * @drive: what to do once the window is shown
 * @data: passed to @drive
 *
 * Runs the app as it runs for people, inside g_application_run(), and
 * @drive in it; then closes the window, which ends the app. Asserts
 * that the app exits with 0.
 */
void
cf_gui_test_run (CfGuiTest     *test,
                 CfGuiTestFunc  drive,
                 gpointer       data)
{
  Run run = { test, drive, data };
  gulong handler;

  handler = g_signal_connect_after (test->app, "activate", G_CALLBACK (on_activate), &run);
  g_assert_cmpint (g_application_run (G_APPLICATION (test->app), 0, NULL), ==, 0);
  g_signal_handler_disconnect (test->app, handler);
  g_assert_null (test->window);
}

/* Waiting, bounded in time */

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

/**
 * cf_gui_test_wait_until:
 * @test: the test
 * @condition: what ends the wait
 * @data: passed to @condition
 * @what: what is awaited, for the message on timeout
 *
 * Runs the main loop until @condition holds; fails the test after a
 * minute. A tick every 50 ms gives the loop a turn where nothing else
 * would wake it.
 */
void
cf_gui_test_wait_until (CfGuiTest          *test,
                        CfGuiTestCondition  condition,
                        gpointer            data,
                        const char         *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;
  guint tick = g_timeout_add (50, on_tick, NULL);

  while (!condition (test, data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
}

static gboolean
time_passed (CfGuiTest *test,
             gpointer   data)
{
  return g_get_monotonic_time () >= *(gint64 *) data;
}

/**
 * cf_gui_test_settle:
 * @test: the test
 * @msec: how long
 *
 * Lets the window lay out and draw: a short settle, bounded by itself.
 */
void
cf_gui_test_settle (CfGuiTest *test,
                    guint      msec)
{
  gint64 until = g_get_monotonic_time () + msec * 1000;

  cf_gui_test_wait_until (test, time_passed, &until, "the window to settle");
}

/* Finding widgets */

/**
 * cf_gui_test_find:
 * @root: where to look
 * @match: what to look for
 * @text: (nullable): passed to @match
 *
 * Returns: (transfer none) (nullable): the first widget of the tree at
 *   @root, depth first, that @match accepts
 */
GtkWidget *
cf_gui_test_find (GtkWidget      *root,
                  CfGuiTestMatch  match,
                  const char     *text)
{
  if (match (root, text))
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = cf_gui_test_find (child, match, text);

      if (found != NULL)
        return found;
    }
  return NULL;
}

/**
 * cf_gui_test_name_is:
 * @widget: a widget
 * @name: a widget name
 *
 * A #CfGuiTestMatch.
 *
 * Returns: whether @widget is named @name
 */
gboolean
cf_gui_test_name_is (GtkWidget  *widget,
                     const char *name)
{
  return g_strcmp0 (gtk_widget_get_name (widget), name) == 0;
}

/**
 * cf_gui_test_name_matches:
 * @widget: a widget
 * @pattern: a g_pattern_match_simple() pattern
 *
 * A #CfGuiTestMatch.
 *
 * Returns: whether @widget's name matches @pattern
 */
gboolean
cf_gui_test_name_matches (GtkWidget  *widget,
                          const char *pattern)
{
  return g_pattern_match_simple (pattern, gtk_widget_get_name (widget));
}

/**
 * cf_gui_test_label_contains:
 * @widget: a widget
 * @text: the text to find
 *
 * A #CfGuiTestMatch.
 *
 * Returns: whether @widget is a label on screen whose text contains @text
 */
gboolean
cf_gui_test_label_contains (GtkWidget  *widget,
                            const char *text)
{
  return GTK_IS_LABEL (widget) && gtk_widget_get_mapped (widget) &&
         strstr (gtk_label_get_text (GTK_LABEL (widget)), text) != NULL;
}

/**
 * cf_gui_test_lookup:
 * @test: the test, its window shown
 * @name: a widget name
 *
 * Returns: (transfer none) (nullable): the window's widget named @name
 */
GtkWidget *
cf_gui_test_lookup (CfGuiTest  *test,
                    const char *name)
{
  return cf_gui_test_find (GTK_WIDGET (test->window), cf_gui_test_name_is, name);
}

/**
 * cf_gui_test_get:
 * @test: the test, its window shown
 * @name: a widget name
 *
 * Fails the test where the window has no such widget.
 *
 * Returns: (transfer none): the window's widget named @name
 */
GtkWidget *
cf_gui_test_get (CfGuiTest  *test,
                 const char *name)
{
  GtkWidget *widget = cf_gui_test_lookup (test, name);

  if (widget == NULL)
    g_error ("No widget named %s", name);
  return widget;
}

/**
 * cf_gui_test_get_matching:
 * @test: the test, its window shown
 * @pattern: a g_pattern_match_simple() pattern
 *
 * The gateway prefixes its upstreams' tools with the gateway's name:
 * patterns such as "try-*echo" find them whatever the prefix. Fails the
 * test where the window has no such widget.
 *
 * Returns: (transfer none): the window's first widget named like @pattern
 */
GtkWidget *
cf_gui_test_get_matching (CfGuiTest  *test,
                          const char *pattern)
{
  GtkWidget *widget = cf_gui_test_find (GTK_WIDGET (test->window), cf_gui_test_name_matches,
                                        pattern);

  if (widget == NULL)
    g_error ("No widget named like %s", pattern);
  return widget;
}

typedef struct {
  CfGuiTestMatch  match;
  const char     *text;
  GtkWidget      *found;
} Wanted;

static gboolean
has_widget (CfGuiTest *test,
            gpointer   data)
{
  Wanted *wanted = data;

  wanted->found = cf_gui_test_find (GTK_WIDGET (test->window), wanted->match, wanted->text);
  return wanted->found != NULL;
}

/**
 * cf_gui_test_wait_for:
 * @test: the test, its window shown
 * @match: what to look for
 * @text: passed to @match, and named on timeout
 *
 * Waits, bounded in time, for the window to have a widget @match accepts.
 *
 * Returns: (transfer none): the widget
 */
GtkWidget *
cf_gui_test_wait_for (CfGuiTest      *test,
                      CfGuiTestMatch  match,
                      const char     *text)
{
  Wanted wanted = { match, text, NULL };

  cf_gui_test_wait_until (test, has_widget, &wanted, text);
  return wanted.found;
}

/* Acting */

/**
 * cf_gui_test_show_page:
 * @test: the test, its window shown
 * @page: the name of a page of the window's view stack
 *
 * Shows @page, and lets it settle.
 */
void
cf_gui_test_show_page (CfGuiTest  *test,
                       const char *page)
{
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (cf_gui_test_get (test, "stack")),
                                         page);
  cf_gui_test_settle (test, 300);
}

/**
 * cf_gui_test_click:
 * @button: a button, which must be sensitive
 *
 * Clicks @button.
 */
void
cf_gui_test_click (GtkWidget *button)
{
  g_assert_true (GTK_IS_BUTTON (button));
  g_assert_true (gtk_widget_is_sensitive (button));
  g_signal_emit_by_name (button, "clicked");
}

/* Dialogs */

/**
 * cf_gui_test_find_message_dialog:
 *
 * Returns: (transfer none) (nullable): a message dialog on screen that
 *   cf_gui_test_respond() has not answered yet
 */
GtkWidget *
cf_gui_test_find_message_dialog (void)
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

/**
 * cf_gui_test_has_message_dialog:
 * @test: the test
 * @data: unused
 *
 * A #CfGuiTestCondition.
 *
 * Returns: whether cf_gui_test_find_message_dialog() finds one
 */
gboolean
cf_gui_test_has_message_dialog (CfGuiTest *test,
                                gpointer   data)
{
  return cf_gui_test_find_message_dialog () != NULL;
}

/**
 * cf_gui_test_respond:
 * @test: the test
 * @response: the response id
 *
 * Answers the dialog the last click opened, once it is shown, as its
 * button does: answers, then closes it.
 */
void
cf_gui_test_respond (CfGuiTest  *test,
                     const char *response)
{
  GtkWidget *dialog;

  cf_gui_test_wait_until (test, cf_gui_test_has_message_dialog, NULL, "a dialog");
  dialog = cf_gui_test_find_message_dialog ();
  g_object_set_data (G_OBJECT (dialog), "cf-test-answered", GINT_TO_POINTER (TRUE));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), response);
  gtk_window_close (GTK_WINDOW (dialog));
  cf_gui_test_settle (test, 200);
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
no_toasts_left (CfGuiTest *test,
                gpointer   data)
{
  GtkWidget *toast = cf_gui_test_find (GTK_WIDGET (test->window), is_toast, NULL);
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
  close = cf_gui_test_find (toast, is_button, NULL);
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

/**
 * cf_gui_test_screenshot:
 * @test: the test, its window shown
 * @name: the file name, such as "tools.png"
 *
 * Saves the window, once its toasts are gone, under `screenshots` in
 * `G_TEST_BUILDDIR`; with `CF_UPDATE_SCREENSHOTS=1`, in
 * `CF_SCREENSHOT_SOURCE_DIR` too.
 */
void
cf_gui_test_screenshot (CfGuiTest  *test,
                        const char *name)
{
  GtkWidget *window = GTK_WIDGET (test->window);
  int width = gtk_widget_get_width (window);
  int height = gtk_widget_get_height (window);
  g_autoptr(GdkPaintable) paintable = gtk_widget_paintable_new (window);
  GtkSnapshot *snapshot = gtk_snapshot_new ();
  g_autoptr(GskRenderNode) node = NULL;
  g_autoptr(GdkTexture) texture = NULL;
  g_autofree char *dir = g_build_filename (g_getenv ("G_TEST_BUILDDIR"), "screenshots", NULL);
  const char *source_dir = g_getenv ("CF_SCREENSHOT_SOURCE_DIR");

  g_assert_cmpint (width, >, 0);
  cf_gui_test_wait_until (test, no_toasts_left, NULL, "the toasts to go");
  cf_gui_test_settle (test, 300);
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

/* The test's home */

/**
 * cf_gui_test_isolate_home:
 *
 * Makes the user's own directories, which the daemon writes to, the
 * test's: `HOME` and the XDG config, data, cache and runtime dirs, in a
 * new temporary folder. Not %G_TEST_OPTION_ISOLATE_DIRS: it hides the
 * system's data dirs too, where GTK finds the MIME database that tells
 * it an icon is SVG.
 *
 * Returns: (transfer full): the folder, for cf_gui_test_remove_tree()
 */
char *
cf_gui_test_isolate_home (void)
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

/**
 * cf_gui_test_remove_tree:
 * @file: a folder or a file
 *
 * Removes @file and, without following links, all that is below it.
 */
void
cf_gui_test_remove_tree (GFile *file)
{
  g_autoptr(GFileEnumerator) children = NULL;
  GFileInfo *info;

  children = g_file_enumerate_children (file, G_FILE_ATTRIBUTE_STANDARD_NAME,
                                        G_FILE_QUERY_INFO_NOFOLLOW_SYMLINKS, NULL, NULL);
  while (children != NULL &&
         (info = g_file_enumerator_next_file (children, NULL, NULL)) != NULL)
    {
      g_autoptr(GFile) child = g_file_get_child (file, g_file_info_get_name (info));

      cf_gui_test_remove_tree (child);
      g_object_unref (info);
    }
  g_file_delete (file, NULL, NULL);
}
