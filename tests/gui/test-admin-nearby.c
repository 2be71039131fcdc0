/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cf-admin-application.h"
#include "cf-daemon-harness.h"
#include "../cf-test-bus.h"

/* The admin app's Nearby page against real LAN discovery. It runs on a
 * private test host (tests/discovery/netns-host.sh): a network of its
 * own whose LAN interface is 10.77.0.1, a private system bus and its own
 * avahi-daemon. A second gateway there announces itself over mDNS; the
 * daemon under test, activated on a private session bus as in
 * test-admin.c, finds it; the test waits for the page to list it, takes
 * the screenshot, registers it through the page's dialog, and checks
 * the registration over D-Bus. A peer that asks for a bearer token gets
 * the dialog's token field: registering it without one brings the
 * gateway's own message back as a toast, and with its admin's token it
 * registers. Turned off, the list empties; on again, the peers return. */

#define WAIT_LIMIT_S 60
#define HOST_ADDRESS "10.77.0.1"
#define ADMIN_PASSWORD "Nearby-Admin-Test-Password-1!"

typedef struct {
  GTestDBus          *dbus;
  char               *dir;
  GSubprocess        *peer;         /* announces itself, no authentication */
  char               *peer_url;
  GSubprocess        *locked_peer;  /* announces itself, wants a bearer token */
  char               *locked_url;
  CfAdminApplication *app;
  GtkWindow          *window;
  GDBusConnection    *bus;
  guint               subscription;
  GHashTable         *appeared;     /* the ids NearbyGatewayAppeared told */
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

static void
show_page (Fixture    *f,
           const char *page)
{
  adw_view_stack_set_visible_child_name (ADW_VIEW_STACK (get (f, "stack")), page);
  settle (f, 300);
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

/* Answers the dialog the last click opened, after typing @token into
 * its token field when it has one. */
static void
respond (Fixture    *f,
         const char *response,
         const char *token)
{
  GtkWidget *dialog;
  GtkWidget *token_row;

  wait_until (f, has_message_dialog, NULL, "a dialog");
  dialog = find_message_dialog ();
  token_row = find (dialog, name_is, "registration-token");
  if (token != NULL)
    {
      g_assert_nonnull (token_row);
      gtk_editable_set_text (GTK_EDITABLE (token_row), token);
    }
  g_object_set_data (G_OBJECT (dialog), "cf-test-answered", GINT_TO_POINTER (TRUE));
  adw_message_dialog_response (ADW_MESSAGE_DIALOG (dialog), response);
  gtk_window_close (GTK_WINDOW (dialog));
  settle (f, 200);
}

static gboolean
dialog_has_token_field (void)
{
  GtkWidget *dialog = find_message_dialog ();

  return dialog != NULL && find (dialog, name_is, "registration-token") != NULL;
}

/* The peer's row: the one whose URL (its tooltip) is @url */

typedef struct {
  const char *url;
  GtkWidget  *row;
} PeerWanted;

static GtkWidget *
find_peer (GtkWidget  *root,
           const char *url)
{
  if (ADW_IS_ACTION_ROW (root) && g_pattern_match_simple ("peer-*", gtk_widget_get_name (root)) &&
      g_strcmp0 (gtk_widget_get_tooltip_text (root), url) == 0)
    return root;
  for (GtkWidget *child = gtk_widget_get_first_child (root); child != NULL;
       child = gtk_widget_get_next_sibling (child))
    {
      GtkWidget *found = find_peer (child, url);

      if (found != NULL)
        return found;
    }
  return NULL;
}

static gboolean
has_peer (Fixture  *f,
          gpointer  data)
{
  PeerWanted *wanted = data;

  wanted->row = find_peer (GTK_WIDGET (f->window), wanted->url);
  return wanted->row != NULL && gtk_widget_get_mapped (wanted->row);
}

static GtkWidget *
wait_for_peer (Fixture    *f,
               const char *url)
{
  PeerWanted wanted = { url, NULL };
  g_autofree char *what = g_strdup_printf ("the page to list %s", url);

  wait_until (f, has_peer, &wanted, what);
  return wanted.row;
}

static gboolean
is_register_button (GtkWidget  *widget,
                    const char *unused)
{
  return GTK_IS_BUTTON (widget) && g_pattern_match_simple ("register-*",
                                                           gtk_widget_get_name (widget));
}

static gboolean
is_registered_tag (GtkWidget  *widget,
                   const char *unused)
{
  return GTK_IS_LABEL (widget) && g_pattern_match_simple ("registered-*",
                                                          gtk_widget_get_name (widget));
}

static gboolean
peer_is_registered (Fixture  *f,
                    gpointer  data)
{
  GtkWidget *row = find_peer (GTK_WIDGET (f->window), data);

  return row != NULL && gtk_widget_get_mapped (row) && find (row, is_registered_tag, NULL) != NULL &&
         find (row, is_register_button, NULL) == NULL;
}

static gboolean
no_peer_listed (Fixture  *f,
                gpointer  data)
{
  GtkWidget *stack = get (f, "nearby-list");

  return find_peer (GTK_WIDGET (f->window), data) == NULL && !gtk_widget_get_mapped (stack);
}

/* D-Bus, as any client sees the daemon */

static GVariant *
call_daemon (const char *method)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_autoptr(GVariant) reply = NULL;

  g_assert_no_error (error);
  reply = g_dbus_connection_call_sync (bus, "org.contextforge.Gateway",
                                       "/org/contextforge/Gateway", "org.contextforge.Gateway",
                                       method, NULL, G_VARIANT_TYPE ("(aa{sv})"),
                                       G_DBUS_CALL_FLAGS_NONE, 20000, NULL, &error);
  g_assert_no_error (error);
  return g_variant_get_child_value (reply, 0);
}

/* Returns: (transfer full) (nullable): the entry of @method's list whose
 * url is @url */
static GVariant *
entry_at (const char *method,
          const char *url)
{
  g_autoptr(GVariant) entries = call_daemon (method);
  GVariantIter iter;
  GVariant *entry;

  g_variant_iter_init (&iter, entries);
  while ((entry = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *at = NULL;

      if (g_variant_lookup (entry, "url", "&s", &at) && g_strcmp0 (at, url) == 0)
        return entry;
      g_variant_unref (entry);
    }
  return NULL;
}

static guint
count_gateways_at (const char *url)
{
  g_autoptr(GVariant) gateways = call_daemon ("ListGateways");
  GVariantIter iter;
  GVariant *gateway;
  guint n = 0;

  g_variant_iter_init (&iter, gateways);
  while ((gateway = g_variant_iter_next_value (&iter)) != NULL)
    {
      const char *at = NULL;

      if (g_variant_lookup (gateway, "url", "&s", &at) && g_strcmp0 (at, url) == 0)
        n++;
      g_variant_unref (gateway);
    }
  return n;
}

static void
on_appeared (GDBusConnection *bus,
             const char      *sender,
             const char      *path,
             const char      *iface,
             const char      *name,
             GVariant        *parameters,
             gpointer         user_data)
{
  Fixture *f = user_data;
  const char *id = NULL;

  g_variant_get (parameters, "(&s)", &id);
  g_hash_table_add (f->appeared, g_strdup (id));
}

/* ListNearbyGateways' entry for a peer, as the page shows it, and the
 * NearbyGatewayAppeared that told about it. */
static void
assert_nearby_entry (Fixture    *f,
                     const char *url,
                     const char *auth,
                     gboolean    registered)
{
  g_autoptr(GVariant) peer = entry_at ("ListNearbyGateways", url);
  g_autofree const char **addresses = NULL;
  g_autofree char *at_port = NULL;
  const char *text = NULL;
  gboolean is_registered = !registered;
  guint32 port = 0;

  g_assert_nonnull (peer);
  g_assert_true (g_variant_lookup (peer, "id", "&s", &text));
  if (!g_hash_table_contains (f->appeared, text))
    g_error ("No NearbyGatewayAppeared(%s) for %s", text, url);
  g_assert_true (g_variant_lookup (peer, "auth", "&s", &text));
  g_assert_cmpstr (text, ==, auth);
  g_assert_true (g_variant_lookup (peer, "port", "u", &port));
  g_assert_cmpuint (port, >, 0);
  at_port = g_strdup_printf (":%u/", port);
  g_assert_nonnull (strstr (url, at_port));
  g_assert_true (g_variant_lookup (peer, "addresses", "^a&s", &addresses));
  g_assert_true (g_strv_contains (addresses, HOST_ADDRESS));
  g_assert_true (g_variant_lookup (peer, "registered", "b", &is_registered));
  g_assert_cmpint (is_registered, ==, registered);
  g_assert_true (g_variant_lookup (peer, "gateway-id", "&s", &text));
  if (registered)
    {
      g_autoptr(GVariant) gateway = entry_at ("ListGateways", url);
      const char *id = NULL;

      g_assert_nonnull (gateway);
      g_assert_true (g_variant_lookup (gateway, "id", "&s", &id));
      g_assert_cmpstr (text, ==, id);
    }
  else
    g_assert_cmpstr (text, ==, "");
}

/* The peers */

/* Returns: (transfer full): a bearer token for the locked peer, as its
 * administrator would hand one out: its admin's login. */
static char *
peer_token (const char *mcp_url)
{
  g_autofree char *base = g_strndup (mcp_url, strlen (mcp_url) - strlen ("/mcp"));
  g_autofree char *uri = g_strconcat (base, "/auth/email/login", NULL);
  g_autoptr(SoupSession) session = soup_session_new_with_options ("timeout", 30, NULL);
  g_autoptr(SoupMessage) message = soup_message_new ("POST", uri);
  static const char body[] =
    "{\"email\": \"admin@example.com\", \"password\": \"" ADMIN_PASSWORD "\"}";
  g_autoptr(GBytes) request = g_bytes_new_static (body, strlen (body));
  g_autoptr(GBytes) response = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;
  const char *token;

  soup_message_set_request_body_from_bytes (message, "application/json", request);
  response = soup_session_send_and_read (session, message, NULL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (soup_message_get_status (message), ==, 200);
  text = g_strndup (g_bytes_get_data (response, NULL), g_bytes_get_size (response));
  answer = json_from_string (text, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (answer));
  token = json_object_get_string_member_with_default (json_node_get_object (answer),
                                                      "access_token", NULL);
  g_assert_nonnull (token);
  return g_strdup (token);
}

/* Returns: (transfer full): a gateway on the test host that announces
 * itself; @out_url: its MCP endpoint, as discovery lists it */
static GSubprocess *
start_peer (Fixture     *f,
            const char  *label,
            const char  *name,
            gboolean     auth,
            char       **out_url)
{
  g_autofree char *name_env = g_strconcat ("FEDERATION_DISCOVERY_NAME=", name, NULL);
  g_autofree char *home = g_build_filename (f->dir, label, NULL);
  g_autofree char *db = g_build_filename (home, "gateway.db", NULL);
  g_autofree char *db_env = g_strconcat ("DATABASE_URL=sqlite:///", db, NULL);
  g_autofree char *home_env = g_strconcat ("HOME=", home, NULL);
  g_autofree char *config_env = g_strconcat ("XDG_CONFIG_HOME=", home, "/config", NULL);
  g_autofree char *data_env = g_strconcat ("XDG_DATA_HOME=", home, "/data", NULL);
  g_autofree char *line = NULL;
  const char *argv[] = {
    "env", "-u", "DBUS_SESSION_BUS_ADDRESS",
    "FEDERATION_DISCOVERY=true", name_env, "HOST=" HOST_ADDRESS, "PORT=0",
    "SSRF_ALLOW_LOCALHOST=true", "TOOL_RATE_LIMIT=0", db_env, home_env, config_env, data_env,
    auth ? "AUTH_REQUIRED=true" : "AUTH_REQUIRED=false",
    "PLATFORM_ADMIN_PASSWORD=" ADMIN_PASSWORD,
    "ADMIN_REQUIRE_PASSWORD_CHANGE_ON_BOOTSTRAP=false",
    "JWT_SECRET_KEY=nearby-test-secret-that-is-long-enough-0123456789",
    g_getenv ("CF_TEST_GATEWAY"), "--daemon", "--no-dbus", NULL,
  };
  GSubprocess *peer;

  g_assert_cmpint (g_mkdir_with_parents (home, 0700), ==, 0);
  peer = cf_harness_spawn (argv, &line);
  g_assert_true (g_str_has_prefix (line, "http://" HOST_ADDRESS ":"));
  *out_url = g_strconcat (line, "/mcp", NULL);
  g_test_message ("The %s peer listens at %s", label, line);
  return peer;
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *db = NULL;
  g_autofree char *db_url = NULL;
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("cf-nearby-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (f->dir, "gateway.db", NULL);
  db_url = g_strconcat ("sqlite:///", db, NULL);

  f->peer = start_peer (f, "open", "Lab Gateway", FALSE, &f->peer_url);
  f->locked_peer = start_peer (f, "locked", "Build Server", TRUE, &f->locked_url);

  /* The activated daemon inherits this environment through the bus. */
  g_setenv ("DATABASE_URL", db_url, TRUE);
  g_setenv ("PORT", "0", TRUE);
  g_setenv ("FEDERATION_DISCOVERY", "true", TRUE);
  g_setenv ("FEDERATION_DISCOVERY_NAME", "Admin Test Gateway", TRUE);
  g_unsetenv ("HOST");
  g_unsetenv ("LOG_LEVEL");

  f->dbus = cf_test_bus_start ();
  f->bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);
  g_assert_no_error (error);
  f->appeared = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  f->subscription = g_dbus_connection_signal_subscribe (f->bus, "org.contextforge.Gateway",
                                                        "org.contextforge.Gateway",
                                                        "NearbyGatewayAppeared",
                                                        "/org/contextforge/Gateway", NULL,
                                                        G_DBUS_SIGNAL_FLAGS_NONE, on_appeared,
                                                        f, NULL);
  f->app = cf_admin_application_new ();
}

static void
stop_peer (GSubprocess **peer)
{
  if (*peer != NULL && g_subprocess_get_identifier (*peer) != NULL)
    cf_harness_stop_process (*peer);
  g_clear_object (peer);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->app);
  g_dbus_connection_signal_unsubscribe (f->bus, f->subscription);
  g_clear_object (&f->bus);
  g_clear_pointer (&f->appeared, g_hash_table_unref);
  g_test_dbus_down (f->dbus);
  g_clear_object (&f->dbus);
  stop_peer (&f->peer);
  stop_peer (&f->locked_peer);
  g_clear_pointer (&f->peer_url, g_free);
  g_clear_pointer (&f->locked_url, g_free);
  cf_test_remove_database (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* The test */

static gboolean
discovery_running (Fixture  *f,
                   gpointer  data)
{
  GtkWidget *row = lookup (f, "discovery-row");
  GtkWidget *toggle = lookup (f, "discovery-switch");

  return row != NULL && toggle != NULL && gtk_switch_get_active (GTK_SWITCH (toggle)) ==
         GPOINTER_TO_INT (data) &&
         gtk_widget_get_sensitive (toggle) &&
         strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) ?: "",
                 data ? "Looking for gateways" : "Off") != NULL;
}

static void
drive_nearby (Fixture *f)
{
  GtkWidget *row;

  show_page (f, "nearby");
  wait_until (f, discovery_running, GINT_TO_POINTER (TRUE), "discovery to run");
  row = wait_for_peer (f, f->peer_url);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                            "no authentication"));
  row = wait_for_peer (f, f->locked_url);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                            "bearer token"));
  g_assert_cmpuint (count_gateways_at (f->peer_url), ==, 0);
  assert_nearby_entry (f, f->peer_url, "none", FALSE);
  assert_nearby_entry (f, f->locked_url, "bearer", FALSE);

  /* The peer that wants a token: the dialog asks for one; without it,
   * the gateway says what is missing, and nothing is registered. */
  click (find (wait_for_peer (f, f->locked_url), is_register_button, NULL));
  wait_until (f, has_message_dialog, NULL, "the register dialog");
  g_assert_true (dialog_has_token_field ());
  respond (f, "register", "");
  wait_for (f, label_contains, "Could not register the gateway: ");
  wait_for (f, label_contains, "auth_token");
  g_assert_cmpuint (count_gateways_at (f->locked_url), ==, 0);

  /* The open peer: no token asked; cancelling registers nothing. */
  click (find (wait_for_peer (f, f->peer_url), is_register_button, NULL));
  wait_until (f, has_message_dialog, NULL, "the register dialog");
  g_assert_false (dialog_has_token_field ());
  respond (f, "cancel", NULL);
  g_assert_cmpuint (count_gateways_at (f->peer_url), ==, 0);

  click (find (wait_for_peer (f, f->peer_url), is_register_button, NULL));
  respond (f, "register", NULL);
  wait_for (f, label_contains, "Registered “");
  wait_until (f, peer_is_registered, f->peer_url, "the peer to show as registered");
  g_assert_cmpuint (count_gateways_at (f->peer_url), ==, 1);
  assert_nearby_entry (f, f->peer_url, "none", TRUE);
  /* One registered, one not. */
  wait_for_peer (f, f->locked_url);
  settle (f, 300);
  screenshot (f, "nearby.png");

  /* With the token its administrator gave, the locked peer registers. */
  {
    g_autofree char *token = peer_token (f->locked_url);

    click (find (wait_for_peer (f, f->locked_url), is_register_button, NULL));
    respond (f, "register", token);
    wait_until (f, peer_is_registered, f->locked_url, "the locked peer to show as registered");
    g_assert_cmpuint (count_gateways_at (f->locked_url), ==, 1);
    assert_nearby_entry (f, f->locked_url, "bearer", TRUE);
  }

  /* Off: the list empties and says why; on again, the peer comes back,
   * registered. */
  gtk_switch_set_active (GTK_SWITCH (get (f, "discovery-switch")), FALSE);
  wait_until (f, discovery_running, GINT_TO_POINTER (FALSE), "discovery to stop");
  wait_until (f, no_peer_listed, f->peer_url, "the list to empty");
  wait_for (f, label_contains, "Discovery is off");
  gtk_switch_set_active (GTK_SWITCH (get (f, "discovery-switch")), TRUE);
  wait_until (f, discovery_running, GINT_TO_POINTER (TRUE), "discovery to run again");
  wait_until (f, peer_is_registered, f->peer_url, "the peer to come back registered");
}

static void
drive (gpointer data)
{
  Fixture *f = data;

  wait_until (f, has_window, NULL, "the window");
  drive_nearby (f);
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
test_nearby (Fixture       *f,
             gconstpointer  data)
{
  g_signal_connect_after (f->app, "activate", G_CALLBACK (on_activate), f);
  g_assert_cmpint (g_application_run (G_APPLICATION (f->app), 0, NULL), ==, 0);
  g_assert_null (f->window);
}

static void
test_nearby_skipped (void)
{
  g_test_skip ("Runs on the private test host of tests/discovery/netns-host.sh only");
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

  /* mDNS only ever goes out on the private test host's own network. */
  if (g_strcmp0 (g_getenv ("CF_TEST_HOST_ADDRESS"), HOST_ADDRESS) == 0 &&
      g_getenv ("DBUS_SYSTEM_BUS_ADDRESS") != NULL)
    g_test_add ("/admin/nearby", Fixture, NULL, fixture_set_up, test_nearby, fixture_tear_down);
  else
    g_test_add_func ("/admin/nearby", test_nearby_skipped);

  status = g_test_run ();
  remove_tree (home_file);
  return status;
}
