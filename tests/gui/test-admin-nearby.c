/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <adwaita.h>
#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

#include "cf-admin-application.h"
#include "cf-daemon-harness.h"
#include "cf-gui-test.h"
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

#define HOST_ADDRESS "10.77.0.1"
#define ADMIN_PASSWORD "Nearby-Admin-Test-Password-1!"

typedef struct {
  GTestDBus          *dbus;
  char               *dir;
  GSubprocess        *peer;         /* announces itself, no authentication */
  char               *peer_url;
  GSubprocess        *locked_peer;  /* announces itself, wants a bearer token */
  char               *locked_url;
  CfGuiTest           gui;
  GDBusConnection    *bus;
  guint               subscription;
  GHashTable         *appeared;     /* the ids NearbyGatewayAppeared told */
} Fixture;

/* The register dialog */

/* Answers the dialog the last click opened, after typing @token into
 * its token field when it has one. */
static void
respond (CfGuiTest  *t,
         const char *response,
         const char *token)
{
  GtkWidget *dialog;
  GtkWidget *token_row;

  cf_gui_test_wait_until (t, cf_gui_test_has_message_dialog, NULL, "a dialog");
  dialog = cf_gui_test_find_message_dialog ();
  token_row = cf_gui_test_find (dialog, cf_gui_test_name_is, "registration-token");
  if (token != NULL)
    {
      g_assert_nonnull (token_row);
      gtk_editable_set_text (GTK_EDITABLE (token_row), token);
    }
  cf_gui_test_respond (t, response);
}

static gboolean
dialog_has_token_field (void)
{
  GtkWidget *dialog = cf_gui_test_find_message_dialog ();

  return dialog != NULL &&
         cf_gui_test_find (dialog, cf_gui_test_name_is, "registration-token") != NULL;
}

/* The peer's row: the one whose URL (its tooltip) is @url */

typedef struct {
  const char *url;
  GtkWidget  *row;
} PeerWanted;

static gboolean
is_peer_at (GtkWidget  *widget,
            const char *url)
{
  return ADW_IS_ACTION_ROW (widget) &&
         g_pattern_match_simple ("peer-*", gtk_widget_get_name (widget)) &&
         g_strcmp0 (gtk_widget_get_tooltip_text (widget), url) == 0;
}

static GtkWidget *
find_peer (GtkWidget  *root,
           const char *url)
{
  return cf_gui_test_find (root, is_peer_at, url);
}

static gboolean
has_peer (CfGuiTest *t,
          gpointer   data)
{
  PeerWanted *wanted = data;

  wanted->row = find_peer (GTK_WIDGET (t->window), wanted->url);
  return wanted->row != NULL && gtk_widget_get_mapped (wanted->row);
}

static GtkWidget *
wait_for_peer (CfGuiTest  *t,
               const char *url)
{
  PeerWanted wanted = { url, NULL };
  g_autofree char *what = g_strdup_printf ("the page to list %s", url);

  cf_gui_test_wait_until (t, has_peer, &wanted, what);
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
peer_is_registered (CfGuiTest *t,
                    gpointer   data)
{
  GtkWidget *row = find_peer (GTK_WIDGET (t->window), data);

  return row != NULL && gtk_widget_get_mapped (row) &&
         cf_gui_test_find (row, is_registered_tag, NULL) != NULL &&
         cf_gui_test_find (row, is_register_button, NULL) == NULL;
}

static gboolean
no_peer_listed (CfGuiTest *t,
                gpointer   data)
{
  GtkWidget *stack = cf_gui_test_get (t, "nearby-list");

  return find_peer (GTK_WIDGET (t->window), data) == NULL && !gtk_widget_get_mapped (stack);
}

/* D-Bus, as any client sees the daemon */

static GVariant *
call_daemon (const char *method)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GDBusConnection) bus = g_bus_get_sync (G_BUS_TYPE_SESSION, NULL, &error);

  g_assert_no_error (error);
  return cf_test_bus_list (bus, method);
}

/* Returns: (transfer full) (nullable): the entry of @method's list whose
 * url is @url */
static GVariant *
entry_at (const char *method,
          const char *url)
{
  g_autoptr(GVariant) entries = call_daemon (method);

  return cf_test_find_entry (entries, "url", url);
}

static guint
count_gateways_at (const char *url)
{
  g_autoptr(GVariant) gateways = call_daemon ("ListGateways");

  return cf_test_count_entries (gateways, "url", url);
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
  g_autofree char *db_url = NULL;
  g_autoptr(GError) error = NULL;

  f->dir = cf_test_make_database ("cf-nearby-XXXXXX", &db_url);

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
  f->gui.app = cf_admin_application_new ();
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
  g_clear_object (&f->gui.app);
  g_dbus_connection_signal_unsubscribe (f->bus, f->subscription);
  g_clear_object (&f->bus);
  g_clear_pointer (&f->appeared, g_hash_table_unref);
  cf_test_bus_stop (g_steal_pointer (&f->dbus));
  stop_peer (&f->peer);
  stop_peer (&f->locked_peer);
  g_clear_pointer (&f->peer_url, g_free);
  g_clear_pointer (&f->locked_url, g_free);
  cf_test_remove_database (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* The test */

static gboolean
discovery_running (CfGuiTest *t,
                   gpointer   data)
{
  GtkWidget *row = cf_gui_test_lookup (t, "discovery-row");
  GtkWidget *toggle = cf_gui_test_lookup (t, "discovery-switch");

  return row != NULL && toggle != NULL && gtk_switch_get_active (GTK_SWITCH (toggle)) ==
         GPOINTER_TO_INT (data) &&
         gtk_widget_get_sensitive (toggle) &&
         strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)) ?: "",
                 data ? "Looking for gateways" : "Off") != NULL;
}

/* Runs inside g_application_run(), as the app runs for people; closing
 * the window ends it. */
static void
drive_nearby (CfGuiTest *t,
              gpointer   data)
{
  Fixture *f = data;
  GtkWidget *row;

  cf_gui_test_show_page (t, "nearby");
  cf_gui_test_wait_until (t, discovery_running, GINT_TO_POINTER (TRUE), "discovery to run");
  row = wait_for_peer (t, f->peer_url);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                            "no authentication"));
  row = wait_for_peer (t, f->locked_url);
  g_assert_nonnull (strstr (adw_action_row_get_subtitle (ADW_ACTION_ROW (row)),
                            "bearer token"));
  g_assert_cmpuint (count_gateways_at (f->peer_url), ==, 0);
  assert_nearby_entry (f, f->peer_url, "none", FALSE);
  assert_nearby_entry (f, f->locked_url, "bearer", FALSE);

  /* The peer that wants a token: the dialog asks for one; without it,
   * the gateway says what is missing, and nothing is registered. */
  cf_gui_test_click (cf_gui_test_find (wait_for_peer (t, f->locked_url), is_register_button, NULL));
  cf_gui_test_wait_until (t, cf_gui_test_has_message_dialog, NULL, "the register dialog");
  g_assert_true (dialog_has_token_field ());
  respond (t, "register", "");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Could not register the gateway: ");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "auth_token");
  g_assert_cmpuint (count_gateways_at (f->locked_url), ==, 0);

  /* The open peer: no token asked; cancelling registers nothing. */
  cf_gui_test_click (cf_gui_test_find (wait_for_peer (t, f->peer_url), is_register_button, NULL));
  cf_gui_test_wait_until (t, cf_gui_test_has_message_dialog, NULL, "the register dialog");
  g_assert_false (dialog_has_token_field ());
  respond (t, "cancel", NULL);
  g_assert_cmpuint (count_gateways_at (f->peer_url), ==, 0);

  cf_gui_test_click (cf_gui_test_find (wait_for_peer (t, f->peer_url), is_register_button, NULL));
  respond (t, "register", NULL);
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Registered “");
  cf_gui_test_wait_until (t, peer_is_registered, f->peer_url, "the peer to show as registered");
  g_assert_cmpuint (count_gateways_at (f->peer_url), ==, 1);
  assert_nearby_entry (f, f->peer_url, "none", TRUE);
  /* One registered, one not. */
  wait_for_peer (t, f->locked_url);
  cf_gui_test_settle (t, 300);
  cf_gui_test_screenshot (t, "nearby.png");

  /* With the token its administrator gave, the locked peer registers. */
  {
    g_autofree char *token = peer_token (f->locked_url);

    row = wait_for_peer (t, f->locked_url);
    cf_gui_test_click (cf_gui_test_find (row, is_register_button, NULL));
    respond (t, "register", token);
    cf_gui_test_wait_until (t, peer_is_registered, f->locked_url,
                            "the locked peer to show as registered");
    g_assert_cmpuint (count_gateways_at (f->locked_url), ==, 1);
    assert_nearby_entry (f, f->locked_url, "bearer", TRUE);
  }

  /* Off: the list empties and says why; on again, the peer comes back,
   * registered. */
  gtk_switch_set_active (GTK_SWITCH (cf_gui_test_get (t, "discovery-switch")), FALSE);
  cf_gui_test_wait_until (t, discovery_running, GINT_TO_POINTER (FALSE), "discovery to stop");
  cf_gui_test_wait_until (t, no_peer_listed, f->peer_url, "the list to empty");
  cf_gui_test_wait_for (t, cf_gui_test_label_contains, "Discovery is off");
  gtk_switch_set_active (GTK_SWITCH (cf_gui_test_get (t, "discovery-switch")), TRUE);
  cf_gui_test_wait_until (t, discovery_running, GINT_TO_POINTER (TRUE), "discovery to run again");
  cf_gui_test_wait_until (t, peer_is_registered, f->peer_url, "the peer to come back registered");
}

static void
test_nearby (Fixture       *f,
             gconstpointer  data)
{
  cf_gui_test_run (&f->gui, drive_nearby, f);
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
  g_autofree char *home = cf_gui_test_isolate_home ();
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
  cf_gui_test_remove_tree (home_file);
  return status;
}
