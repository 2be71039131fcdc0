/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "cf-admin-rest-backend.h"
#include "cf-daemon-harness.h"
#include "../cf-test-bus.h"

/* The admin app's REST backend against a real daemon with authentication
 * on: the same method vocabulary as D-Bus, answered from /v1 and /rpc
 * with a bearer token. */

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "Admin-App-Test-Password-1!"
#define SECRET "admin-app-test-secret-0123456789abcdef012345"
#define WAIT_LIMIT_S 30

typedef struct {
  CfDaemonHarness *daemon;
  char            *dir;
  char            *token;
  CfAdminBackend  *backend;
} Fixture;

static char *
login (CfDaemonHarness *d)
{
  g_autofree char *body = g_strdup_printf ("{\"email\": \"%s\", \"password\": \"%s\"}", ADMIN,
                                           ADMIN_PASSWORD);
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  response = cf_harness_request (d, "POST", "/auth/email/login", body, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  return g_strdup (json_object_get_string_member (json_node_get_object (response),
                                                  "access_token"));
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  const char *env[] = {
    "AUTH_REQUIRED", "true",
    "PLATFORM_ADMIN_PASSWORD", ADMIN_PASSWORD,
    "ADMIN_REQUIRE_PASSWORD_CHANGE_ON_BOOTSTRAP", "false",
    "JWT_SECRET_KEY", SECRET,
    NULL,
  };
  g_autoptr(GError) error = NULL;
  g_autofree char *db = NULL;

  f->dir = g_dir_make_tmp ("cf-rest-backend-XXXXXX", &error);
  g_assert_no_error (error);
  db = g_build_filename (f->dir, "gateway.db", NULL);
  f->daemon = cf_daemon_harness_start (db, env);
  f->token = login (f->daemon);
  f->backend = cf_admin_rest_backend_new (f->daemon->url, f->token);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_clear_object (&f->backend);
  g_clear_pointer (&f->token, g_free);
  cf_daemon_harness_stop (f->daemon);
  cf_daemon_harness_free (f->daemon);
  cf_test_remove_database (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* Calls, waited for within bounds */

static void
on_called (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  GError *error = NULL;
  GVariant *reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result, &error);

  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, reply, (GDestroyNotify) g_variant_unref);
  g_object_unref (task);
}

static GVariant *
try_call (CfAdminBackend  *backend,
          const char      *method,
          GVariant        *parameters,
          GError         **error)
{
  g_autoptr(GTask) task = g_task_new (NULL, NULL, NULL, NULL);
  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (WAIT_LIMIT_S, cf_harness_set_flag, &expired);

  cf_admin_backend_call_async (backend, method, parameters, NULL, on_called,
                               g_object_ref (task));
  while (!g_task_get_completed (task) && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (expired)
    g_error ("%s did not answer", method);
  g_source_remove (deadline);
  return g_task_propagate_pointer (task, error);
}

static GVariant *
call (Fixture    *f,
      const char *method,
      GVariant   *parameters)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = try_call (f->backend, method, parameters, &error);

  g_assert_no_error (error);
  g_assert_nonnull (reply);
  return reply;
}

static GVariant *
list (Fixture    *f,
      const char *method)
{
  g_autoptr(GVariant) reply = call (f, method, NULL);

  return g_variant_get_child_value (reply, 0);
}

static void
wait_for_tools (Fixture    *f,
                const char *gateway_id,
                guint       n)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;

  for (;;)
    {
      g_autoptr(GVariant) tools = list (f, "ListTools");

      if (cf_test_count_entries (tools, "gateway-id", gateway_id) >= n)
        return;
      if (g_get_monotonic_time () > deadline)
        g_error ("The gateway's tools never came");
      g_usleep (G_USEC_PER_SEC / 10);
    }
}

static void
expect_error (Fixture    *f,
              const char *method,
              GVariant   *parameters,
              int         code,
              const char *words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = try_call (f->backend, method, parameters, &error);

  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, code);
  if (words != NULL && strstr (error->message, words) == NULL)
    g_error ("%s: \"%s\" does not say \"%s\"", method, error->message, words);
}

/* The tests */

static char *
fixture_settings (void)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, "fixture");
  json_builder_set_member_name (builder, "transport");
  json_builder_add_string_value (builder, "STDIO");
  json_builder_set_member_name (builder, "command");
  json_builder_add_string_value (builder, g_getenv ("CF_TEST_FIXTURE"));
  json_builder_set_member_name (builder, "args");
  json_builder_begin_array (builder);
  json_builder_add_string_value (builder, "--stdio");
  json_builder_add_string_value (builder, "--bench");
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static void
test_catalog (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *settings = fixture_settings ();
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) tools = NULL;
  g_autoptr(GVariant) gateways = NULL;
  g_autoptr(GVariant) gateway = NULL;
  g_autoptr(GVariant) echo = NULL;
  g_autoptr(GVariant) servers = NULL;
  g_autoptr(JsonNode) json = NULL;
  g_autofree char *id = NULL;
  g_autofree char *server_id = NULL;
  g_autofree char *server_url = NULL;
  const char *echo_id = NULL;
  const char *echo_name = NULL;
  const char *text = NULL;
  guint32 n = 99;

  reply = call (f, "GetStatus", NULL);
  status = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (status, "listen-url", "&s", &text));
  g_assert_cmpstr (text, ==, f->daemon->url);
  g_assert_true (g_variant_lookup (status, "gateways", "u", &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (g_variant_lookup (status, "version", "&s", &text));
  g_assert_cmpstr (text, ==, PACKAGE_VERSION);
  g_clear_pointer (&reply, g_variant_unref);

  reply = call (f, "AddGateway", g_variant_new ("(s)", settings));
  g_variant_get (reply, "(s)", &id);
  g_assert_cmpuint (strlen (id), ==, 32);
  wait_for_tools (f, id, 2);

  gateways = list (f, "ListGateways");
  gateway = cf_test_find_entry (gateways, "id", id);
  g_assert_nonnull (gateway);
  g_assert_true (g_variant_lookup (gateway, "transport", "&s", &text));
  g_assert_cmpstr (text, ==, "STDIO");
  g_assert_true (g_variant_lookup (gateway, "tool-count", "u", &n));
  g_assert_cmpuint (n, ==, 2);

  /* Try a tool, as the app's form does. */
  tools = list (f, "ListTools");
  for (gsize i = 0; i < g_variant_n_children (tools) && echo == NULL; i++)
    {
      g_autoptr(GVariant) tool = g_variant_get_child_value (tools, i);

      if (g_variant_lookup (tool, "original-name", "&s", &text) && g_str_equal (text, "echo"))
        echo = g_steal_pointer (&tool);
    }
  g_assert_nonnull (echo);
  g_assert_true (g_variant_lookup (echo, "id", "&s", &echo_id));
  g_assert_true (g_variant_lookup (echo, "name", "&s", &echo_name));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "GetTool", g_variant_new ("(s)", echo_id));
  g_variant_get (reply, "(&s)", &text);
  json = json_from_string (text, NULL);
  g_assert_nonnull (json);
  g_assert_true (json_object_has_member (json_node_get_object (json), "inputSchema"));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "CallTool", g_variant_new ("(ss)", echo_name, "{\"text\": \"over REST\"}"));
  g_variant_get (reply, "(&s)", &text);
  g_assert_nonnull (strstr (text, "over REST"));
  expect_error (f, "CallTool", g_variant_new ("(ss)", "no_such_tool", "{}"), G_IO_ERROR_FAILED,
                "no_such_tool");

  /* Turn it off and compose a server of it. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "SetToolEnabled", g_variant_new ("(sb)", echo_id, FALSE));
  g_clear_pointer (&tools, g_variant_unref);
  tools = list (f, "ListTools");
  {
    g_autoptr(GVariant) off = cf_test_find_entry (tools, "id", echo_id);

    g_assert_false (cf_test_entry_bool (off, "enabled"));
  }
  {
    const char *picked[] = { echo_id, NULL };

    g_clear_pointer (&reply, g_variant_unref);
    reply = call (f, "ComposeServer", g_variant_new ("(ss^as)", "picked", "", picked));
    g_variant_get (reply, "(ss)", &server_id, &server_url);
    g_assert_true (g_str_has_prefix (server_url, f->daemon->url));
    g_assert_true (g_str_has_suffix (server_url, "/mcp"));
  }
  servers = list (f, "ListServers");
  g_assert_cmpuint (cf_test_count_entries (servers, "id", server_id), ==, 1);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "DeleteServer", g_variant_new ("(s)", server_id));
  expect_error (f, "DeleteServer", g_variant_new ("(s)", server_id), G_IO_ERROR_NOT_FOUND, NULL);

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "RemoveGateway", g_variant_new ("(s)", id));
  g_clear_pointer (&gateways, g_variant_unref);
  gateways = list (f, "ListGateways");
  g_assert_cmpuint (g_variant_n_children (gateways), ==, 0);
}

static void
test_errors (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(CfAdminBackend) stranger = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = NULL;

  /* The server's own words for bad input. */
  expect_error (f, "AddGateway", g_variant_new ("(s)", "{\"transport\": \"PIGEON\"}"),
                G_IO_ERROR_FAILED, NULL);
  /* No teams over REST here: the page says so, as for an old daemon. */
  reply = try_call (f->backend, "ListTeams", NULL, &error);
  g_assert_null (reply);
  g_assert_true (cf_admin_error_is_unknown_method (error));
  g_clear_error (&error);

  /* A token the gateway did not sign. */
  stranger = cf_admin_rest_backend_new (f->daemon->url, "abc.def.ghi");
  reply = try_call (stranger, "ListTools", NULL, &error);
  g_assert_null (reply);
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_PERMISSION_DENIED);
}

/* Discovery over REST: its state, turned on and off (the daemon's system
 * bus does not exist, so Avahi is never reached), no peers, and the
 * server's words for a peer it does not know. */
static void
test_discovery (Fixture       *f,
                gconstpointer  data)
{
  const char *nobody = "0123456789abcdef0123456789abcdef";
  g_autoptr(GVariant) reply = call (f, "GetDiscovery", NULL);
  g_autoptr(GVariant) status = g_variant_get_child_value (reply, 0);
  g_autoptr(GVariant) peers = list (f, "ListNearbyGateways");
  g_autoptr(GError) error = NULL;
  gboolean enabled = TRUE;
  const char *text = NULL;

  g_assert_true (g_variant_lookup (status, "enabled", "b", &enabled));
  g_assert_false (enabled);
  g_assert_true (g_variant_lookup (status, "state", "&s", &text));
  g_assert_cmpstr (text, ==, "off");
  g_assert_true (g_variant_lookup (status, "id", "&s", &text));
  g_assert_cmpstr (text, !=, "");
  g_assert_true (g_variant_lookup (status, "published-name", "&s", &text));
  g_assert_cmpuint (g_variant_n_children (peers), ==, 0);

  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, "{}"),
                G_IO_ERROR_NOT_FOUND, NULL);
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, ""),
                G_IO_ERROR_NOT_FOUND, NULL);
  g_clear_pointer (&reply, g_variant_unref);
  reply = try_call (f->backend, "RegisterNearbyGateway",
                    g_variant_new ("(ss)", nobody, "{\"name\": "), &error);
  g_assert_null (reply);
  g_assert_nonnull (error);
  g_assert_cmpstr (error->message, !=, "");
  g_clear_error (&error);

  g_variant_unref (call (f, "SetDiscoveryEnabled", g_variant_new ("(b)", TRUE)));
  reply = call (f, "GetDiscovery", NULL);
  g_clear_pointer (&status, g_variant_unref);
  status = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (status, "enabled", "b", &enabled));
  g_assert_true (enabled);
  g_assert_true (g_variant_lookup (status, "state", "&s", &text));
  g_assert_cmpstr (text, !=, "off");

  g_variant_unref (call (f, "SetDiscoveryEnabled", g_variant_new ("(b)", FALSE)));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "GetDiscovery", NULL);
  g_clear_pointer (&status, g_variant_unref);
  status = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (status, "enabled", "b", &enabled));
  g_assert_false (enabled);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* The daemon inherits a system bus that is not there: turned on,
   * discovery never reaches the machine's Avahi. */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/cf-test-no-system-bus", TRUE);

  g_test_add ("/admin-rest/catalog", Fixture, NULL, fixture_set_up, test_catalog,
              fixture_tear_down);
  g_test_add ("/admin-rest/errors", Fixture, NULL, fixture_set_up, test_errors,
              fixture_tear_down);
  g_test_add ("/admin-rest/discovery", Fixture, NULL, fixture_set_up, test_discovery,
              fixture_tear_down);

  return g_test_run ();
}
