/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <gio/gio.h>
#include <glib/gstdio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "cf-json.h"
#include "../cf-test-bus.h"

/* The daemon as a D-Bus activated session service, on a private bus per
 * test: the first call starts it from the service file generated into the
 * build tree from data/org.contextforge.Gateway.service.in. Everything
 * goes over D-Bus, which needs no token; nothing here uses HTTP. */

#define BUS_NAME "org.contextforge.Gateway"
#define OBJECT_PATH "/org/contextforge/Gateway"
#define INTERFACE "org.contextforge.Gateway"
#define ERROR_PREFIX "org.contextforge.Gateway.Error."
#define CALL_TIMEOUT_MS 20000
#define WAIT_LIMIT_S 30

typedef struct {
  char     *name;
  GVariant *parameters;
} Signal;

typedef struct {
  GTestDBus       *dbus;
  GDBusConnection *bus;
  char            *dir;
  GPtrArray       *signals;
  guint            subscription;
} Fixture;

static void
signal_free (Signal *signal)
{
  g_free (signal->name);
  g_variant_unref (signal->parameters);
  g_free (signal);
}

static void
on_signal (GDBusConnection *bus,
           const char      *sender,
           const char      *path,
           const char      *iface,
           const char      *name,
           GVariant        *parameters,
           gpointer         user_data)
{
  Fixture *f = user_data;
  Signal *signal = g_new0 (Signal, 1);

  signal->name = g_strdup (name);
  signal->parameters = g_variant_ref (parameters);
  g_ptr_array_add (f->signals, signal);
}

static void
write_config_file (const char *relative,
                   const char *contents)
{
  g_autofree char *path = g_build_filename (g_get_user_config_dir (), relative, NULL);
  g_autofree char *dir = g_path_get_dirname (path);
  g_autoptr(GError) error = NULL;

  g_assert_cmpint (g_mkdir_with_parents (dir, 0700), ==, 0);
  g_file_set_contents (path, contents, -1, &error);
  g_assert_no_error (error);
}

static void
fixture_set_up (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *db_url = NULL;
  g_autoptr(GError) error = NULL;

  f->dir = cf_test_make_database ("cf-dbus-XXXXXX", &db_url);

  /* The activated daemon inherits the bus daemon's environment, which
   * GTestDBus takes from ours: the test's own directories (GLib isolates
   * them in-process only), and health checks every second, where one
   * failure marks an upstream unreachable, so that flips come quickly. */
  g_setenv ("HOME", g_get_home_dir (), TRUE);
  g_setenv ("XDG_CONFIG_HOME", g_get_user_config_dir (), TRUE);
  g_setenv ("XDG_DATA_HOME", g_get_user_data_dir (), TRUE);
  g_setenv ("XDG_CACHE_HOME", g_get_user_cache_dir (), TRUE);
  g_setenv ("DATABASE_URL", db_url, TRUE);
  if (data == NULL)
    g_setenv ("PORT", "0", TRUE);
  else
    {
      /* What the admin app writes: GSettings, from a key file here; and
       * a settings file, read at start too. */
      g_unsetenv ("PORT");
      write_config_file ("glib-2.0/settings/keyfile", data);
      write_config_file ("contextforge/gateway.env", "TOOL_TIMEOUT=9\n");
    }
  g_setenv ("HEALTH_CHECK_INTERVAL", "1", TRUE);
  g_setenv ("UNHEALTHY_THRESHOLD", "1", TRUE);
  g_unsetenv ("HOST");
  g_unsetenv ("LOG_LEVEL");
  g_unsetenv ("TOOL_TIMEOUT");

  f->dbus = cf_test_bus_start ();

  f->bus = g_dbus_connection_new_for_address_sync (g_test_dbus_get_bus_address (f->dbus),
                                                   G_DBUS_CONNECTION_FLAGS_AUTHENTICATION_CLIENT |
                                                   G_DBUS_CONNECTION_FLAGS_MESSAGE_BUS_CONNECTION,
                                                   NULL, NULL, &error);
  g_assert_no_error (error);
  f->signals = g_ptr_array_new_with_free_func ((GDestroyNotify) signal_free);
  f->subscription = g_dbus_connection_signal_subscribe (f->bus, BUS_NAME, INTERFACE, NULL,
                                                        OBJECT_PATH, NULL,
                                                        G_DBUS_SIGNAL_FLAGS_NONE, on_signal,
                                                        f, NULL);
}

static void
fixture_tear_down (Fixture       *f,
                   gconstpointer  data)
{
  g_dbus_connection_signal_unsubscribe (f->bus, f->subscription);
  g_dbus_connection_close_sync (f->bus, NULL, NULL);
  g_clear_object (&f->bus);
  /* Tearing the bus down makes the daemon exit with it, and its stdio
   * children with the daemon. */
  cf_test_bus_stop (g_steal_pointer (&f->dbus));
  g_clear_pointer (&f->signals, g_ptr_array_unref);
  cf_test_remove_database (f->dir);
  g_clear_pointer (&f->dir, g_free);
}

/* Calls */

static GVariant *
try_call (Fixture     *f,
          const char  *method,
          GVariant    *parameters,
          GError     **error)
{
  return g_dbus_connection_call_sync (f->bus, BUS_NAME, OBJECT_PATH, INTERFACE, method,
                                      parameters, NULL, G_DBUS_CALL_FLAGS_NONE,
                                      CALL_TIMEOUT_MS, NULL, error);
}

static GVariant *
call (Fixture    *f,
      const char *method,
      GVariant   *parameters)
{
  g_autoptr(GError) error = NULL;
  GVariant *reply = try_call (f, method, parameters, &error);

  g_assert_no_error (error);
  return reply;
}

/* Asserts that @method fails with the registered error @name (without
 * its prefix when it is ours) and that the message contains @words. */
static void
expect_error (Fixture    *f,
              const char *method,
              GVariant   *parameters,
              const char *name,
              const char *words)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = try_call (f, method, parameters, &error);
  g_autofree char *remote = NULL;
  g_autofree char *expected = strchr (name, '.') ? g_strdup (name)
                                                  : g_strconcat (ERROR_PREFIX, name, NULL);

  g_assert_null (reply);
  g_assert_nonnull (error);
  remote = g_dbus_error_get_remote_error (error);
  g_assert_cmpstr (remote, ==, expected);
  g_dbus_error_strip_remote_error (error);
  if (words != NULL && strstr (error->message, words) == NULL)
    g_error ("%s: \"%s\" does not say \"%s\"", method, error->message, words);
}

static GVariant *
get_status (Fixture *f)
{
  g_autoptr(GVariant) reply = call (f, "GetStatus", NULL);

  return g_variant_get_child_value (reply, 0);
}

/* Waiting, bounded in time */

static gboolean
on_tick (gpointer user_data)
{
  return G_SOURCE_CONTINUE;
}

typedef gboolean (*Condition) (Fixture  *f,
                               gpointer  data);

static void
wait_until (Fixture     *f,
            Condition    condition,
            gpointer     data,
            const char  *what)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_LIMIT_S * G_USEC_PER_SEC;
  guint tick = g_timeout_add (100, on_tick, NULL);

  while (!condition (f, data))
    {
      if (g_get_monotonic_time () > deadline)
        g_error ("Timed out waiting for %s", what);
      g_main_context_iteration (NULL, TRUE);
    }
  g_source_remove (tick);
}

typedef struct {
  const char *name;
  const char *first;       /* the first argument, a string */
  GVariant   *found;
} SignalWanted;

static gboolean
has_signal (Fixture  *f,
            gpointer  data)
{
  SignalWanted *wanted = data;

  for (guint i = 0; i < f->signals->len; i++)
    {
      Signal *signal = f->signals->pdata[i];
      const char *first = NULL;
      g_autoptr(GVariant) child = NULL;

      /* DiscoveryChanged's first argument is a dictionary. */
      if (g_variant_n_children (signal->parameters) > 0)
        child = g_variant_get_child_value (signal->parameters, 0);
      if (child != NULL && g_variant_is_of_type (child, G_VARIANT_TYPE_STRING))
        first = g_variant_get_string (child, NULL);
      if (g_str_equal (signal->name, wanted->name) &&
          (wanted->first == NULL || g_strcmp0 (first, wanted->first) == 0))
        {
          wanted->found = g_variant_ref (signal->parameters);
          g_ptr_array_remove_index (f->signals, i);
          return TRUE;
        }
    }
  return FALSE;
}

/* Returns: (transfer full): the parameters of the first signal @name
 * whose first argument is @first, taken off the list of those received */
static GVariant *
wait_signal (Fixture    *f,
             const char *name,
             const char *first)
{
  SignalWanted wanted = { name, first, NULL };
  g_autofree char *what = g_strdup_printf ("%s(%s)", name, first ?: "");

  wait_until (f, has_signal, &wanted, what);
  return wanted.found;
}

static void
expect_catalog_changed (Fixture    *f,
                        const char *kind)
{
  g_autoptr(GVariant) parameters = wait_signal (f, "CatalogChanged", kind);

  g_assert_nonnull (parameters);
}

/* Waits for the health signal of @id saying @reachable; returns its message. */
static char *
expect_health (Fixture    *f,
               const char *id,
               gboolean    reachable)
{
  for (guint i = 0; i < 10; i++)
    {
      g_autoptr(GVariant) parameters = wait_signal (f, "GatewayHealthChanged", id);
      gboolean now;
      const char *message;

      g_variant_get (parameters, "(&sb&s)", NULL, &now, &message);
      if (now == reachable)
        return g_strdup (message);
    }
  g_error ("Gateway %s never became %s", id, reachable ? "reachable" : "unreachable");
  return NULL;
}

typedef struct {
  const char *gateway_id;
  guint       at_least;
} ToolsWanted;

static gboolean
has_tools_of (Fixture  *f,
              gpointer  data)
{
  ToolsWanted *wanted = data;
  g_autoptr(GVariant) tools = cf_test_bus_list (f->bus, "ListTools");

  return cf_test_count_entries (tools, "gateway-id", wanted->gateway_id) >= wanted->at_least;
}

static gboolean
has_no_tools_of (Fixture  *f,
                 gpointer  data)
{
  ToolsWanted *wanted = data;
  g_autoptr(GVariant) tools = cf_test_bus_list (f->bus, "ListTools");

  return cf_test_count_entries (tools, "gateway-id", wanted->gateway_id) == 0;
}

/* Upstreams */

static char *
stdio_gateway_json (const char *name,
                    const char *command)
{
  g_autoptr(JsonObject) gateway = json_object_new ();
  JsonArray *args = json_array_new ();

  json_array_add_string_element (args, "--stdio");
  json_object_set_string_member (gateway, "name", name);
  json_object_set_string_member (gateway, "transport", "STDIO");
  json_object_set_string_member (gateway, "command", command);
  json_object_set_array_member (gateway, "args", args);
  json_object_set_string_member (gateway, "prefix_mode", "never");
  return cf_json_object_to_string (gateway);
}

static char *
add_gateway (Fixture    *f,
             const char *json)
{
  g_autoptr(GVariant) reply = call (f, "AddGateway", g_variant_new ("(s)", json));
  char *id = NULL;

  g_variant_get (reply, "(s)", &id);
  g_assert_cmpuint (strlen (id), ==, 32);
  return id;
}

static char *
add_fixture (Fixture    *f,
             const char *name)
{
  g_autofree char *json = stdio_gateway_json (name, g_getenv ("CF_TEST_FIXTURE"));

  return add_gateway (f, json);
}

/* Tests */

static void
test_status (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GVariant) status = get_status (f);
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) settings = NULL;
  g_autoptr(GVariant) property = NULL;
  g_autoptr(GVariant) value = NULL;
  const char *url = NULL;
  const char *text = NULL;
  guint32 n = 99;
  guint64 uptime = G_MAXUINT64;

  g_assert_true (g_variant_lookup (status, "listen-url", "&s", &url));
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  g_assert_true (g_variant_lookup (status, "version", "&s", &text));
  g_assert_cmpstr (text, ==, PACKAGE_VERSION);
  g_assert_true (g_variant_lookup (status, "health", "&s", &text));
  g_assert_cmpstr (text, ==, "healthy");
  g_assert_true (g_variant_lookup (status, "uptime", "t", &uptime));
  g_assert_cmpuint (uptime, <, 3600);
  for (guint i = 0; i < 5; i++)
    {
      static const char * const counts[] = { "tools", "resources", "prompts", "servers",
                                             "gateways" };
      n = 99;
      g_assert_true (g_variant_lookup (status, counts[i], "u", &n));
      g_assert_cmpuint (n, ==, 0);
    }

  /* The properties say the same. */
  reply = g_dbus_connection_call_sync (f->bus, BUS_NAME, OBJECT_PATH,
                                       "org.freedesktop.DBus.Properties", "Get",
                                       g_variant_new ("(ss)", INTERFACE, "ListenUrl"),
                                       G_VARIANT_TYPE ("(v)"), G_DBUS_CALL_FLAGS_NONE,
                                       CALL_TIMEOUT_MS, NULL, NULL);
  g_assert_nonnull (reply);
  g_variant_get (reply, "(v)", &property);
  g_assert_cmpstr (g_variant_get_string (property, NULL), ==, url);

  /* The settings in effect: the environment the test gave. */
  reply = (g_variant_unref (reply), call (f, "GetSettings", NULL));
  settings = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (settings, "PORT", "u", &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (g_variant_lookup (settings, "HOST", "&s", &text));
  g_assert_cmpstr (text, ==, "127.0.0.1");
  g_assert_true (g_variant_lookup (settings, "HEALTH_CHECK_INTERVAL", "u", &n));
  g_assert_cmpuint (n, ==, 1);
  g_assert_true (g_variant_lookup (settings, "DATABASE_URL", "&s", &text));
  g_assert_true (g_str_has_prefix (text, "sqlite:///"));
  g_assert_true (g_str_has_suffix (text, "/gateway.db"));
}

/* Add a stdio upstream, see its tools, disable one, compose a server of
 * two, and take it all down again. */
static void
test_stdio_upstream (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *id = NULL;
  g_autofree char *server_id = NULL;
  g_autofree char *server_url = NULL;
  g_autofree char *listen_url = NULL;
  g_autoptr(GVariant) tools = NULL;
  g_autoptr(GVariant) gateways = NULL;
  g_autoptr(GVariant) gateway = NULL;
  g_autoptr(GVariant) servers = NULL;
  g_autoptr(GVariant) server = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GPtrArray) picked = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(JsonNode) tool_json = NULL;
  g_autofree const char **member_ids = NULL;
  ToolsWanted wanted = { NULL, 1 };
  const char *text = NULL;
  guint32 n = 0;

  status = get_status (f);
  g_assert_true (g_variant_lookup (status, "listen-url", "s", &listen_url));

  id = add_fixture (f, "fixture");
  expect_catalog_changed (f, "gateway");
  expect_catalog_changed (f, "tool");
  wanted.gateway_id = id;
  wait_until (f, has_tools_of, &wanted, "the fixture's tools");

  tools = cf_test_bus_list (f->bus, "ListTools");
  n = cf_test_count_entries (tools, "gateway-id", id);
  g_assert_cmpuint (n, >=, 2);
  for (gsize i = 0; i < g_variant_n_children (tools) && picked->len < 2; i++)
    {
      g_autoptr(GVariant) tool = g_variant_get_child_value (tools, i);
      const char *tool_id = NULL;

      g_assert_true (g_variant_lookup (tool, "id", "&s", &tool_id));
      g_assert_true (cf_test_entry_bool (tool, "enabled"));
      g_assert_true (g_variant_lookup (tool, "integration-type", "&s", &text));
      g_assert_cmpstr (text, ==, "MCP");
      g_ptr_array_add (picked, g_strdup (tool_id));
    }

  gateways = cf_test_bus_list (f->bus, "ListGateways");
  g_assert_cmpuint (g_variant_n_children (gateways), ==, 1);
  gateway = cf_test_find_entry (gateways, "id", id);
  g_assert_nonnull (gateway);
  g_assert_true (g_variant_lookup (gateway, "transport", "&s", &text));
  g_assert_cmpstr (text, ==, "STDIO");
  g_assert_true (g_variant_lookup (gateway, "command", "&s", &text));
  g_assert_cmpstr (text, ==, g_getenv ("CF_TEST_FIXTURE"));
  g_assert_true (cf_test_entry_bool (gateway, "reachable"));
  g_assert_true (cf_test_entry_bool (gateway, "enabled"));
  {
    guint32 counted = 0;

    g_assert_true (g_variant_lookup (gateway, "tool-count", "u", &counted));
    g_assert_cmpuint (counted, ==, n);
  }

  /* The full tool, as REST shows it. */
  reply = call (f, "GetTool", g_variant_new ("(s)", (const char *) picked->pdata[0]));
  g_variant_get (reply, "(&s)", &text);
  tool_json = cf_json_parse (text, -1, NULL);
  g_assert_nonnull (tool_json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (tool_json));
  g_assert_cmpstr (cf_json_object_get_string (json_node_get_object (tool_json), "id"), ==,
                   picked->pdata[0]);
  g_assert_cmpstr (cf_json_object_get_string (json_node_get_object (tool_json), "gatewayId"),
                   ==, id);
  g_assert_nonnull (cf_json_object_get_object (json_node_get_object (tool_json), "inputSchema"));

  /* Disable one tool. */
  g_ptr_array_set_size (f->signals, 0);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "SetToolEnabled", g_variant_new ("(sb)", (const char *) picked->pdata[1],
                                                    FALSE));
  expect_catalog_changed (f, "tool");
  g_clear_pointer (&tools, g_variant_unref);
  tools = cf_test_bus_list (f->bus, "ListTools");
  {
    g_autoptr(GVariant) disabled = cf_test_find_entry (tools, "id", picked->pdata[1]);
    g_autoptr(GVariant) other = cf_test_find_entry (tools, "id", picked->pdata[0]);

    g_assert_false (cf_test_entry_bool (disabled, "enabled"));
    g_assert_true (cf_test_entry_bool (other, "enabled"));
  }

  /* Compose a virtual server from two tools. */
  g_ptr_array_add (picked, NULL);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "ComposeServer", g_variant_new ("(ss^as)", "picked", "Two of the fixture's",
                                                   (char **) picked->pdata));
  g_variant_get (reply, "(ss)", &server_id, &server_url);
  g_ptr_array_remove_index (picked, picked->len - 1);
  g_assert_cmpuint (strlen (server_id), ==, 32);
  {
    g_autofree char *expected = g_strdup_printf ("%s/servers/%s/mcp", listen_url, server_id);

    g_assert_cmpstr (server_url, ==, expected);
  }
  expect_catalog_changed (f, "server");
  servers = cf_test_bus_list (f->bus, "ListServers");
  server = cf_test_find_entry (servers, "id", server_id);
  g_assert_nonnull (server);
  g_assert_true (g_variant_lookup (server, "name", "&s", &text));
  g_assert_cmpstr (text, ==, "picked");
  g_assert_true (g_variant_lookup (server, "url", "&s", &text));
  g_assert_cmpstr (text, ==, server_url);
  g_assert_true (g_variant_lookup (server, "tools", "^a&s", &member_ids));
  g_assert_cmpuint (g_strv_length ((char **) member_ids), ==, 2);
  g_assert_cmpstr (member_ids[0], ==, picked->pdata[0]);
  g_assert_cmpstr (member_ids[1], ==, picked->pdata[1]);
  g_assert_true (cf_test_entry_bool (server, "enabled"));

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "SetServerEnabled", g_variant_new ("(sb)", server_id, FALSE));
  g_clear_pointer (&servers, g_variant_unref);
  g_clear_pointer (&server, g_variant_unref);
  servers = cf_test_bus_list (f->bus, "ListServers");
  server = cf_test_find_entry (servers, "id", server_id);
  g_assert_false (cf_test_entry_bool (server, "enabled"));

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "DeleteServer", g_variant_new ("(s)", server_id));
  g_clear_pointer (&servers, g_variant_unref);
  servers = cf_test_bus_list (f->bus, "ListServers");
  g_assert_cmpuint (g_variant_n_children (servers), ==, 0);
  expect_error (f, "DeleteServer", g_variant_new ("(s)", server_id), "NotFound", server_id);

  /* Refresh works while enabled; a disabled gateway has nothing to refresh. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "RefreshGateway", g_variant_new ("(s)", id));
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "SetGatewayEnabled", g_variant_new ("(sb)", id, FALSE));
  g_clear_pointer (&gateways, g_variant_unref);
  g_clear_pointer (&gateway, g_variant_unref);
  gateways = cf_test_bus_list (f->bus, "ListGateways");
  gateway = cf_test_find_entry (gateways, "id", id);
  g_assert_false (cf_test_entry_bool (gateway, "enabled"));
  expect_error (f, "RefreshGateway", g_variant_new ("(s)", id), "Conflict", "disabled");

  /* Removing the gateway takes its tools with it. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "RemoveGateway", g_variant_new ("(s)", id));
  wait_until (f, has_no_tools_of, &wanted, "the fixture's tools to go");
  g_clear_pointer (&status, g_variant_unref);
  status = get_status (f);
  g_assert_true (g_variant_lookup (status, "gateways", "u", &n));
  g_assert_cmpuint (n, ==, 0);
}

/* An upstream that cannot start is reported unreachable by signal and in
 * the status; fixing its command brings it back, also by signal. */
static void
test_health_signal (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *missing = g_build_filename (f->dir, "no-such-server", NULL);
  g_autofree char *json = stdio_gateway_json ("broken", missing);
  g_autofree char *id = add_gateway (f, json);
  g_autofree char *message = NULL;
  g_autofree char *fix = NULL;
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) gateways = NULL;
  g_autoptr(GVariant) gateway = NULL;
  ToolsWanted wanted = { id, 1 };
  const char *text = NULL;
  guint32 n = 0;

  message = expect_health (f, id, FALSE);
  g_assert_cmpstr (message, !=, "");

  status = get_status (f);
  g_assert_true (g_variant_lookup (status, "health", "&s", &text));
  g_assert_cmpstr (text, ==, "degraded");
  g_assert_true (g_variant_lookup (status, "gateways-unreachable", "u", &n));
  g_assert_cmpuint (n, ==, 1);
  gateways = cf_test_bus_list (f->bus, "ListGateways");
  gateway = cf_test_find_entry (gateways, "id", id);
  g_assert_false (cf_test_entry_bool (gateway, "reachable"));
  g_assert_true (g_variant_lookup (gateway, "status-message", "&s", &text));
  g_assert_cmpstr (text, !=, "");

  {
    g_autoptr(JsonObject) patch = json_object_new ();

    json_object_set_string_member (patch, "command", g_getenv ("CF_TEST_FIXTURE"));
    fix = cf_json_object_to_string (patch);
  }
  reply = call (f, "UpdateGateway", g_variant_new ("(ss)", id, fix));
  g_clear_pointer (&message, g_free);
  message = expect_health (f, id, TRUE);
  wait_until (f, has_tools_of, &wanted, "the repaired upstream's tools");

  g_clear_pointer (&status, g_variant_unref);
  status = get_status (f);
  g_assert_true (g_variant_lookup (status, "health", "&s", &text));
  g_assert_cmpstr (text, ==, "healthy");
}

static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  static const char * const methods_with_id[] = {
    "RemoveGateway", "RefreshGateway", "GetTool", "DeleteServer",
  };
  const char *nobody = "0123456789abcdef0123456789abcdef";
  g_autofree char *id = NULL;
  g_autoptr(GVariant) status = NULL;
  const char *health = NULL;

  /* Input that is not a gateway at all. */
  expect_error (f, "AddGateway", g_variant_new ("(s)", "{\"name\": "), "InvalidArgument",
                "not valid JSON");
  expect_error (f, "AddGateway", g_variant_new ("(s)", "[1, 2]"), "InvalidArgument",
                "JSON object");
  expect_error (f, "AddGateway", g_variant_new ("(s)", ""), "InvalidArgument", "JSON");
  /* Validation problems, each named, in one message. */
  expect_error (f, "AddGateway", g_variant_new ("(s)", "{\"name\":\"x\",\"transport\":\"STDIO\"}"),
                "InvalidArgument", "command: A STDIO gateway needs the command to run");
  expect_error (f, "AddGateway", g_variant_new ("(s)", "{\"transport\":\"PIGEON\"}"),
                "InvalidArgument", "name: Field required");
  expect_error (f, "AddGateway", g_variant_new ("(s)", "{\"transport\":\"PIGEON\"}"),
                "InvalidArgument", "transport: Input should be one of");

  /* A name is taken once. */
  id = add_gateway (f, "{\"name\":\"dup\",\"transport\":\"STDIO\",\"command\":\"true\","
                       "\"enabled\":false}");
  expect_error (f, "AddGateway",
                g_variant_new ("(s)", "{\"name\":\"dup\",\"transport\":\"STDIO\","
                                      "\"command\":\"true\",\"enabled\":false}"),
                "Conflict", "dup");
  expect_error (f, "UpdateGateway", g_variant_new ("(ss)", id, "{\"transport\":\"PIGEON\"}"),
                "InvalidArgument", "transport");
  expect_error (f, "UpdateGateway", g_variant_new ("(ss)", id, "\"enabled\""),
                "InvalidArgument", "JSON object");

  /* Ids that name nothing. */
  for (guint i = 0; i < G_N_ELEMENTS (methods_with_id); i++)
    expect_error (f, methods_with_id[i], g_variant_new ("(s)", nobody), "NotFound", nobody);
  expect_error (f, "UpdateGateway", g_variant_new ("(ss)", nobody, "{}"), "NotFound", nobody);
  expect_error (f, "SetToolEnabled", g_variant_new ("(sb)", nobody, FALSE), "NotFound", nobody);
  expect_error (f, "SetGatewayEnabled", g_variant_new ("(sb)", "", TRUE), "NotFound", NULL);
  expect_error (f, "SetServerEnabled", g_variant_new ("(sb)", nobody, TRUE), "NotFound", nobody);
  {
    const char *unknown[] = { nobody, NULL };

    expect_error (f, "ComposeServer", g_variant_new ("(ss^as)", "s", "", unknown),
                  "InvalidArgument", "associatedTools: Unknown Tool id");
  }

  /* GDBus checks the signature before the service sees the call. */
  expect_error (f, "AddGateway", g_variant_new ("(i)", 42),
                "org.freedesktop.DBus.Error.InvalidArgs", NULL);
  expect_error (f, "Explode", NULL, "org.freedesktop.DBus.Error.UnknownMethod", NULL);

  /* And the daemon is still well. */
  status = get_status (f);
  g_assert_true (g_variant_lookup (status, "health", "&s", &health));
  g_assert_cmpstr (health, ==, "healthy");
}

/* Returns: (transfer full): the CallToolResult CallTool answers */
static JsonObject *
call_tool (Fixture    *f,
           const char *name,
           const char *arguments)
{
  g_autoptr(GVariant) reply = call (f, "CallTool", g_variant_new ("(ss)", name, arguments));
  g_autoptr(JsonNode) node = NULL;
  const char *json = NULL;

  g_variant_get (reply, "(&s)", &json);
  node = cf_json_parse (json, -1, NULL);
  g_assert_nonnull (node);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static const char *
first_text (JsonObject *result)
{
  JsonArray *content = cf_json_object_get_array (result, "content");

  g_assert_nonnull (content);
  g_assert_cmpuint (json_array_get_length (content), >=, 1);
  return cf_json_object_get_string (json_array_get_object_element (content, 0), "text");
}

/* A tool called over D-Bus takes the gateway's tools/call path to the
 * upstream; its own failure is a result, the caller's mistakes errors. */
static void
test_call_tool (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *id = add_fixture (f, "fixture");
  g_autoptr(JsonObject) result = NULL;
  g_autoptr(GVariant) tools = NULL;
  g_autoptr(GVariant) tool = NULL;
  g_autoptr(GVariant) reply = NULL;
  ToolsWanted wanted = { id, 2 };
  const char *tool_id = NULL;

  wait_until (f, has_tools_of, &wanted, "the fixture's tools");

  result = call_tool (f, "test_simple_text", "{}");
  g_assert_false (cf_json_object_get_bool (result, "isError", FALSE));
  g_assert_cmpstr (first_text (result), ==, "This is a simple text response for testing.");
  g_clear_pointer (&result, json_object_unref);
  /* No arguments at all is the same as an empty object. */
  result = call_tool (f, "test_simple_text", "");
  g_assert_nonnull (first_text (result));
  g_clear_pointer (&result, json_object_unref);

  result = call_tool (f, "test_error_handling", "{}");
  g_assert_true (cf_json_object_get_bool (result, "isError", FALSE));
  g_assert_nonnull (strstr (first_text (result), "intentionally returns an error"));

  expect_error (f, "CallTool", g_variant_new ("(ss)", "test_simple_text", "{\"a\": "),
                "InvalidArgument", "JSON object");
  expect_error (f, "CallTool", g_variant_new ("(ss)", "test_simple_text", "[1]"),
                "InvalidArgument", "JSON object");
  expect_error (f, "CallTool", g_variant_new ("(ss)", "no_such_tool", "{}"), "NotFound",
                "no_such_tool");

  /* A disabled tool is not there for callers. */
  tools = cf_test_bus_list (f->bus, "ListTools");
  tool = cf_test_find_entry (tools, "name", "test_simple_text");
  g_assert_nonnull (tool);
  g_assert_true (g_variant_lookup (tool, "id", "&s", &tool_id));
  reply = call (f, "SetToolEnabled", g_variant_new ("(sb)", tool_id, FALSE));
  expect_error (f, "CallTool", g_variant_new ("(ss)", "test_simple_text", "{}"), "NotFound",
                "test_simple_text");
}

/* @method @url with @token as bearer (none if NULL) and @json as the
 * body (none if NULL); returns the status. */
static guint
http_send (const char *method,
           const char *url,
           const char *token,
           const char *json)
{
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = soup_message_new (method, url);
  g_autoptr(GBytes) body = NULL;
  g_autoptr(GError) error = NULL;

  if (token != NULL)
    {
      g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);

      soup_message_headers_replace (soup_message_get_request_headers (msg), "Authorization",
                                    bearer);
    }
  if (json != NULL)
    {
      g_autoptr(GBytes) request = g_bytes_new (json, strlen (json));

      soup_message_set_request_body_from_bytes (msg, "application/json", request);
    }
  body = soup_session_send_and_read (session, msg, NULL, &error);
  g_assert_no_error (error);
  return soup_message_get_status (msg);
}

static guint
http_status (const char *url,
             const char *token)
{
  return http_send ("GET", url, token, NULL);
}

/* Dispatches the signals that came before the answer to a call. */
static void
take_signals (Fixture *f)
{
  g_autoptr(GVariant) status = get_status (f);

  while (g_main_context_iteration (NULL, FALSE))
    ;
}

static void
forget_signals (Fixture *f)
{
  take_signals (f);
  g_ptr_array_set_size (f->signals, 0);
}

/* Teams and API tokens: listed, created and removed over the bus, with
 * the REST routes' own checks and messages; a token made here works on
 * the REST API until it is revoked here. */
static void
test_tenancy (Fixture       *f,
              gconstpointer  data)
{
  g_autoptr(GVariant) status = get_status (f);
  g_autoptr(GVariant) teams = NULL;
  g_autoptr(GVariant) tokens = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) entry = NULL;
  g_autofree char *listen_url = NULL;
  g_autofree char *tools_url = NULL;
  g_autofree char *teams_url = NULL;
  g_autofree char *tokens_url = NULL;
  g_autofree char *team_id = NULL;
  g_autofree char *token_id = NULL;
  g_autofree char *token = NULL;
  g_autofree char *personal_id = NULL;
  gboolean flag = FALSE;
  guint32 members = 0;

  g_assert_true (g_variant_lookup (status, "listen-url", "s", &listen_url));
  tools_url = g_strconcat (listen_url, "/v1/tools", NULL);
  teams_url = g_strconcat (listen_url, "/v1/teams", NULL);
  tokens_url = g_strconcat (listen_url, "/v1/tokens", NULL);
  /* The gateway asks for a token (AUTH_REQUIRED is on by default). */
  g_assert_cmpuint (http_status (tools_url, NULL), ==, 401);

  /* The platform admin's personal team is there from the start. */
  teams = cf_test_bus_list (f->bus, "ListTeams");
  for (guint i = 0; i < g_variant_n_children (teams); i++)
    {
      g_autoptr(GVariant) team = g_variant_get_child_value (teams, i);

      if (g_variant_lookup (team, "is-personal", "b", &flag) && flag)
        g_assert_true (g_variant_lookup (team, "id", "s", &personal_id));
    }
  g_assert_nonnull (personal_id);

  reply = call (f, "CreateTeam", g_variant_new ("(s)", "{\"name\": \"Research\"}"));
  g_variant_get (reply, "(s)", &team_id);
  g_assert_cmpstr (team_id, !=, "");
  g_variant_unref (wait_signal (f, "TenancyChanged", "teams"));
  g_clear_pointer (&teams, g_variant_unref);
  teams = cf_test_bus_list (f->bus, "ListTeams");
  entry = cf_test_find_entry (teams, "id", team_id);
  g_assert_nonnull (entry);
  g_assert_true (g_variant_lookup (entry, "member-count", "u", &members));
  g_assert_cmpuint (members, ==, 1);
  g_assert_true (g_variant_lookup (entry, "is-personal", "b", &flag));
  g_assert_false (flag);

  /* Bad input gets the route's own words. */
  expect_error (f, "CreateTeam", g_variant_new ("(s)", "{}"), "InvalidArgument", "name");
  expect_error (f, "CreateTeam", g_variant_new ("(s)", "[1]"), "InvalidArgument", "JSON object");
  expect_error (f, "CreateTeam", g_variant_new ("(s)", "{\"name\": \"x\", \"visibility\": 5}"),
                "InvalidArgument", NULL);
  expect_error (f, "DeleteTeam", g_variant_new ("(s)", personal_id), "InvalidArgument",
                "personal");
  expect_error (f, "DeleteTeam", g_variant_new ("(s)", "0123456789abcdef"), "NotFound", NULL);
  expect_error (f, "DeleteTeam", g_variant_new ("(s)", "../tokens"), "NotFound", NULL);
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "DeleteTeam", g_variant_new ("(s)", team_id));
  g_variant_unref (wait_signal (f, "TenancyChanged", "teams"));
  g_clear_pointer (&teams, g_variant_unref);
  g_clear_pointer (&entry, g_variant_unref);
  teams = cf_test_bus_list (f->bus, "ListTeams");
  g_assert_null (cf_test_find_entry (teams, "id", team_id));

  /* A token, shown once, that the REST API takes. */
  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "CreateToken", g_variant_new ("(s)", "{\"name\": \"ci\", "
                                                       "\"expires_in_days\": 7}"));
  g_variant_get (reply, "(ss)", &token_id, &token);
  g_assert_true (g_str_has_prefix (token, "ey"));
  g_variant_unref (wait_signal (f, "TenancyChanged", "tokens"));
  g_assert_cmpuint (http_status (tools_url, token), ==, 200);

  /* Writes made over REST are announced as well. */
  forget_signals (f);
  g_assert_cmpuint (http_send ("POST", teams_url, token, "{\"name\": \"Over REST\"}"), ==, 201);
  g_variant_unref (wait_signal (f, "TenancyChanged", "teams"));
  g_assert_cmpuint (http_send ("POST", tokens_url, token,
                               "{\"name\": \"rest-made\", \"expires_in_days\": 1}"), ==, 201);
  g_variant_unref (wait_signal (f, "TenancyChanged", "tokens"));
  /* A refused write changes nothing and says nothing. */
  g_assert_cmpuint (http_send ("POST", teams_url, token, "{}"), ==, 422);
  take_signals (f);
  {
    SignalWanted wanted = { "TenancyChanged", NULL, NULL };

    g_assert_false (has_signal (f, &wanted));
  }

  tokens = cf_test_bus_list (f->bus, "ListTokens");
  entry = cf_test_find_entry (tokens, "id", token_id);
  g_assert_nonnull (entry);
  g_assert_true (g_variant_lookup (entry, "is-revoked", "b", &flag));
  g_assert_false (flag);
  {
    g_autofree char *printed = g_variant_print (tokens, FALSE);

    /* Never shown again. */
    g_assert_null (strstr (printed, token));
  }
  /* ContextForge answers a name taken with a 422 too. */
  expect_error (f, "CreateToken", g_variant_new ("(s)", "{\"name\": \"ci\", \"expires_in_days\": 1}"),
                "InvalidArgument",
                "name");
  expect_error (f, "CreateToken", g_variant_new ("(s)", "{\"name\": \"x\", "
                                                        "\"expires_in_days\": 9999}"),
                "InvalidArgument", "expires_in_days");

  g_clear_pointer (&reply, g_variant_unref);
  reply = call (f, "RevokeToken", g_variant_new ("(ss)", token_id, "rotated"));
  g_variant_unref (wait_signal (f, "TenancyChanged", "tokens"));
  g_assert_cmpuint (http_status (tools_url, token), ==, 401);
  g_clear_pointer (&tokens, g_variant_unref);
  g_clear_pointer (&entry, g_variant_unref);
  tokens = cf_test_bus_list (f->bus, "ListTokens");
  entry = cf_test_find_entry (tokens, "id", token_id);
  g_assert_true (g_variant_lookup (entry, "is-revoked", "b", &flag));
  g_assert_true (flag);
  expect_error (f, "RevokeToken", g_variant_new ("(ss)", "0123456789abcdef", ""), "NotFound",
                NULL);
}

static void
write_env_file (const char *contents)
{
  write_config_file ("contextforge/gateway.env", contents);
}

static void
assert_names (GVariant           *names,
              const char * const *expected)
{
  g_autofree const char **got = g_variant_get_strv (names, NULL);

  if (!g_strv_equal (got, expected))
    {
      g_autofree char *got_list = g_strjoinv (",", (char **) got);
      g_autofree char *expected_list = g_strjoinv (",", (char **) expected);

      g_error ("Got the settings [%s], expected [%s]", got_list, expected_list);
    }
}

static void
test_reload (Fixture       *f,
             gconstpointer  data)
{
  static const char * const live[] = { "LOG_LEVEL", "TOOL_TIMEOUT", NULL };
  static const char * const host[] = { "HOST", NULL };
  static const char * const none[] = { NULL };
  g_autoptr(GVariant) status = NULL;
  g_autoptr(GVariant) reply = NULL;
  g_autoptr(GVariant) applied = NULL;
  g_autoptr(GVariant) restart = NULL;
  g_autoptr(GVariant) settings = NULL;
  const char *text = NULL;
  guint32 timeout = 0;

  /* Started before the file exists; then the environment still wins
   * over the file: PORT stays 0. */
  status = get_status (f);
  write_env_file ("# the gateway's settings\n"
                  "LOG_LEVEL=WARNING\n"
                  "export TOOL_TIMEOUT=\"7\"\n"
                  "HOST='127.0.0.2'\n"
                  "PORT=9\n"
                  "\n");
  reply = call (f, "Reload", NULL);
  g_variant_get (reply, "(@as@as)", &applied, &restart);
  assert_names (applied, live);
  assert_names (restart, host);

  reply = (g_variant_unref (reply), call (f, "GetSettings", NULL));
  settings = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (settings, "TOOL_TIMEOUT", "u", &timeout));
  g_assert_cmpuint (timeout, ==, 7);
  g_assert_true (g_variant_lookup (settings, "LOG_LEVEL", "&s", &text));
  g_assert_cmpstr (text, ==, "WARNING");
  g_assert_true (g_variant_lookup (settings, "HOST", "&s", &text));
  g_assert_cmpstr (text, ==, "127.0.0.1");

  /* Nothing new the second time; the host still waits for a restart. */
  g_clear_pointer (&applied, g_variant_unref);
  g_clear_pointer (&restart, g_variant_unref);
  reply = (g_variant_unref (reply), call (f, "Reload", NULL));
  g_variant_get (reply, "(@as@as)", &applied, &restart);
  assert_names (applied, none);
  assert_names (restart, host);

  /* A value that does not parse changes nothing. */
  write_env_file ("TOOL_TIMEOUT=soon\nLOG_LEVEL=DEBUG\n");
  expect_error (f, "Reload", NULL, "InvalidArgument", "TOOL_TIMEOUT=soon");
  write_env_file ("LOG_LEVEL=CHATTY\n");
  expect_error (f, "Reload", NULL, "InvalidArgument", "LOG_LEVEL=CHATTY");
  write_env_file ("TOOL_TIMEOUT=3\nthis is not a setting\n");
  expect_error (f, "Reload", NULL, "InvalidArgument", "line 2");
  write_env_file ("NAME=\"unterminated\n");
  expect_error (f, "Reload", NULL, "InvalidArgument", "line 1");

  g_clear_pointer (&settings, g_variant_unref);
  reply = (g_variant_unref (reply), call (f, "GetSettings", NULL));
  settings = g_variant_get_child_value (reply, 0);
  g_assert_true (g_variant_lookup (settings, "TOOL_TIMEOUT", "u", &timeout));
  g_assert_cmpuint (timeout, ==, 7);
  g_assert_true (g_variant_lookup (settings, "LOG_LEVEL", "&s", &text));
  g_assert_cmpstr (text, ==, "WARNING");
}

/* GSettings come below the environment: the key file's port (0, a free
 * one) applies because PORT is not set; the settings file is read at
 * start; a changed address needs a restart. */
static void
test_gsettings (Fixture       *f,
                gconstpointer  data)
{
  static const char * const host[] = { "HOST", NULL };
  static const char * const timeout[] = { "TOOL_TIMEOUT", NULL };
  g_autoptr(GVariant) reply = call (f, "GetSettings", NULL);
  g_autoptr(GVariant) settings = g_variant_get_child_value (reply, 0);
  g_autoptr(GVariant) status = get_status (f);
  g_autoptr(GVariant) applied = NULL;
  g_autoptr(GVariant) restart = NULL;
  const char *url = NULL;
  guint32 port = 4444;

  g_assert_true (g_variant_lookup (settings, "PORT", "u", &port));
  g_assert_cmpuint (port, ==, 0);
  g_assert_true (g_variant_lookup (settings, "TOOL_TIMEOUT", "u", &port));
  g_assert_cmpuint (port, ==, 9);
  g_assert_true (g_variant_lookup (status, "listen-url", "&s", &url));
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  g_assert_false (g_str_has_suffix (url, ":4444"));

  write_env_file ("HOST=127.0.0.9\n");
  reply = (g_variant_unref (reply), call (f, "Reload", NULL));
  g_variant_get (reply, "(@as@as)", &applied, &restart);
  /* TOOL_TIMEOUT left the file: back to its default. */
  assert_names (applied, timeout);
  assert_names (restart, host);
}

static void
assert_discovery_status (GVariant   *status,
                         gboolean    enabled,
                         const char *state)
{
  static const char * const strings[] = { "state", "message", "id", "published-name" };
  gboolean is_enabled = !enabled;
  const char *is_state = NULL;

  g_assert_true (g_variant_is_of_type (status, G_VARIANT_TYPE_VARDICT));
  g_assert_true (g_variant_lookup (status, "enabled", "b", &is_enabled));
  g_assert_cmpint (is_enabled, ==, enabled);
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    {
      g_autoptr(GVariant) value = g_variant_lookup_value (status, strings[i],
                                                          G_VARIANT_TYPE_STRING);

      if (value == NULL)
        g_error ("GetDiscovery has no string %s", strings[i]);
    }
  g_assert_true (g_variant_lookup (status, "state", "&s", &is_state));
  if (state != NULL)
    g_assert_cmpstr (is_state, ==, state);
}

static gboolean
discovery_state_is_not (Fixture  *f,
                        gpointer  data)
{
  g_autoptr(GVariant) reply = call (f, "GetDiscovery", NULL);
  g_autoptr(GVariant) status = g_variant_get_child_value (reply, 0);
  const char *state = NULL;

  g_variant_lookup (status, "state", "&s", &state);
  return g_strcmp0 (state, data) != 0;
}

/* LAN discovery, without Avahi: off by default, with its shape; turned
 * on, it says Avahi is missing (the test's system bus does not exist)
 * and tells so with DiscoveryChanged; peers that are not there are not
 * found, and settings that are not a JSON object are refused. */
static void
test_discovery (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GVariant) reply = call (f, "GetDiscovery", NULL);
  g_autoptr(GVariant) status = g_variant_get_child_value (reply, 0);
  g_autoptr(GVariant) peers = NULL;
  g_autoptr(GVariant) changed = NULL;
  g_autoptr(GVariant) changed_status = NULL;
  g_autoptr(GVariant) gateways = NULL;
  const char *id = NULL;
  const char *nobody = "0123456789abcdef0123456789abcdef";

  assert_discovery_status (status, FALSE, "off");
  g_assert_true (g_variant_lookup (status, "id", "&s", &id));
  g_assert_cmpstr (id, !=, "");
  peers = cf_test_bus_list (f->bus, "ListNearbyGateways");
  g_assert_true (g_variant_is_of_type (peers, G_VARIANT_TYPE ("aa{sv}")));
  g_assert_cmpuint (g_variant_n_children (peers), ==, 0);

  /* Unknown peers, whatever the settings; bad settings first. */
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, "{}"), "NotFound",
                nobody);
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, ""), "NotFound",
                nobody);
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", "", "{}"), "NotFound", NULL);
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, "{\"name\": "),
                "InvalidArgument", "not valid JSON");
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, "[1, 2]"),
                "InvalidArgument", "JSON object");
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(s)", nobody),
                "org.freedesktop.DBus.Error.InvalidArgs", NULL);
  expect_error (f, "SetDiscoveryEnabled", g_variant_new ("(s)", "yes"),
                "org.freedesktop.DBus.Error.InvalidArgs", NULL);
  gateways = cf_test_bus_list (f->bus, "ListGateways");
  g_assert_cmpuint (g_variant_n_children (gateways), ==, 0);

  /* On, without Avahi: it says so, and DiscoveryChanged tells. */
  g_ptr_array_set_size (f->signals, 0);
  g_variant_unref (call (f, "SetDiscoveryEnabled", g_variant_new ("(b)", TRUE)));
  changed = wait_signal (f, "DiscoveryChanged", NULL);
  changed_status = g_variant_get_child_value (changed, 0);
  assert_discovery_status (changed_status, TRUE, NULL);
  wait_until (f, discovery_state_is_not, (gpointer) "starting", "discovery to give up on Avahi");
  g_clear_pointer (&reply, g_variant_unref);
  g_clear_pointer (&status, g_variant_unref);
  reply = call (f, "GetDiscovery", NULL);
  status = g_variant_get_child_value (reply, 0);
  assert_discovery_status (status, TRUE, NULL);
  {
    const char *state = NULL;
    const char *message = NULL;

    g_variant_lookup (status, "state", "&s", &state);
    g_variant_lookup (status, "message", "&s", &message);
    g_assert_true (g_str_equal (state, "no-daemon") || g_str_equal (state, "failed"));
    g_assert_cmpstr (message, !=, "");
  }
  g_clear_pointer (&peers, g_variant_unref);
  peers = cf_test_bus_list (f->bus, "ListNearbyGateways");
  g_assert_cmpuint (g_variant_n_children (peers), ==, 0);
  expect_error (f, "RegisterNearbyGateway", g_variant_new ("(ss)", nobody, "{}"), "NotFound",
                nobody);

  /* Off again. */
  g_variant_unref (call (f, "SetDiscoveryEnabled", g_variant_new ("(b)", FALSE)));
  g_clear_pointer (&reply, g_variant_unref);
  g_clear_pointer (&status, g_variant_unref);
  reply = call (f, "GetDiscovery", NULL);
  status = g_variant_get_child_value (reply, 0);
  assert_discovery_status (status, FALSE, "off");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  /* A system bus that is not there: discovery turned on must not reach
   * the machine's Avahi (mDNS runs in tests/discovery's private hosts
   * only). The daemon inherits it through the test bus. */
  g_setenv ("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/cf-test-no-system-bus", TRUE);

  g_test_add ("/dbus/status", Fixture, NULL, fixture_set_up, test_status, fixture_tear_down);
  g_test_add ("/dbus/stdio-upstream", Fixture, NULL, fixture_set_up, test_stdio_upstream,
              fixture_tear_down);
  g_test_add ("/dbus/health-signal", Fixture, NULL, fixture_set_up, test_health_signal,
              fixture_tear_down);
  g_test_add ("/dbus/bad-input", Fixture, NULL, fixture_set_up, test_bad_input,
              fixture_tear_down);
  g_test_add ("/dbus/call-tool", Fixture, NULL, fixture_set_up, test_call_tool,
              fixture_tear_down);
  g_test_add ("/dbus/tenancy", Fixture, NULL, fixture_set_up, test_tenancy, fixture_tear_down);
  g_test_add ("/dbus/reload", Fixture, NULL, fixture_set_up, test_reload, fixture_tear_down);
  g_test_add ("/dbus/discovery", Fixture, NULL, fixture_set_up, test_discovery,
              fixture_tear_down);
  g_test_add ("/dbus/gsettings", Fixture,
              "[org/contextforge/Gateway]\nport=uint16 0\nlisten-address='127.0.0.1'\n",
              fixture_set_up, test_gsettings, fixture_tear_down);

  return g_test_run ();
}
