/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

/* LAN discovery with real gateways and a real avahi-daemon, on private
 * test hosts only (tests/discovery/netns-host.sh, two-hosts.sh): never
 * on the machine's own network.
 *
 *   test-discovery --tap one-host    inside netns-host.sh
 *   test-discovery --tap two-hosts   inside two-hosts.sh (on host b)
 *   test-discovery --tap off         anywhere: discovery without Avahi
 */

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "Discovery-Test-Password-1!"
#define SECRET "discovery-test-jwt-secret-that-is-long-enough-0123456789"
#define WAIT_S 30

typedef struct {
  char *dir;
} Fixture;

static Fixture fx;

static char *
db_in_dir (const char *name)
{
  return g_build_filename (fx.dir, name, NULL);
}

static JsonObject *
get_object (CfDaemonHarness *daemon,
            const char      *path,
            const char      *token)
{
  guint status = 0;
  g_autoptr(JsonNode) node = cf_harness_call (daemon, "GET", path, NULL, token, &status, NULL);

  g_assert_cmpuint (status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* The peer of @daemon's discovery list whose mDNS name is @name, once
 * it appears (or disappears, with @present FALSE); bounded. */
static JsonObject *
wait_for_peer (CfDaemonHarness *daemon,
               const char      *name,
               gboolean         present)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) status = get_object (daemon, "/v1/discovery", NULL);
      JsonArray *peers = json_object_get_array_member (status, "peers");
      JsonObject *found = NULL;

      for (guint i = 0; i < json_array_get_length (peers); i++)
        {
          JsonObject *peer = json_array_get_object_element (peers, i);

          if (g_strcmp0 (cf_json_object_get_string (peer, "name"), name) == 0)
            found = peer;
        }
      if (present && found != NULL)
        return json_object_ref (found);
      if (!present && found == NULL)
        return NULL;
      g_usleep (200 * 1000);
    }
  g_error ("Gateway \"%s\" did not %s within %d s", name, present ? "appear" : "go away", WAIT_S);
  return NULL;
}

static void
wait_for_state (CfDaemonHarness *daemon,
                const char      *state)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) status = get_object (daemon, "/v1/discovery", NULL);

      if (g_strcmp0 (cf_json_object_get_string (status, "state"), state) == 0)
        return;
      g_usleep (200 * 1000);
    }
  g_error ("Discovery did not reach the state %s within %d s", state, WAIT_S);
}

static char *
login (CfDaemonHarness *daemon)
{
  guint status = 0;
  g_autoptr(JsonNode) node = cf_harness_request (daemon, "POST", "/auth/login",
                                                 "{\"email\":\"" ADMIN "\",\"password\":\""
                                                 ADMIN_PASSWORD "\"}",
                                                 NULL, &status, NULL);

  g_assert_cmpuint (status, ==, 200);
  return g_strdup (json_object_get_string_member (json_node_get_object (node), "access_token"));
}

/* A stdio upstream (the fixture server) on @daemon: tools to call
 * through the gateways that federate it. */
static void
add_fixture_upstream (CfDaemonHarness *daemon,
                      const char      *token)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"fixture\",\"transport\":\"STDIO\","
                                           "\"command\":\"%s\",\"args\":[\"--stdio\"]}",
                                           g_getenv ("CF_TEST_FIXTURE"));
  guint status = 0;
  g_autoptr(JsonNode) node = cf_harness_call (daemon, "POST", "/v1/gateways", body, token,
                                              &status, NULL);

  g_assert_cmpuint (status, ==, 201);
}

/* The name under which @daemon exposes a federated tool whose original
 * name ends in @suffix, from the gateway @gateway_id; bounded wait. (A
 * gateway's tool names are slugs: test_simple_text, federated, becomes
 * fixture-test-simple-text.) */
static char *
wait_for_tool (CfDaemonHarness *daemon,
               const char      *gateway_id,
               const char      *suffix)
{
  g_autofree char *path = g_strdup_printf ("/v1/tools?gateway_id=%s", gateway_id);
  gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) list = cf_harness_request (daemon, "GET", path, NULL, NULL, NULL, NULL);
      JsonArray *tools = JSON_NODE_HOLDS_ARRAY (list) ? json_node_get_array (list) : NULL;

      for (guint i = 0; tools != NULL && i < json_array_get_length (tools); i++)
        {
          JsonObject *tool = json_array_get_object_element (tools, i);
          const char *original = cf_json_object_get_string (tool, "originalName");

          if (original != NULL && g_str_has_suffix (original, suffix))
            return g_strdup (cf_json_object_get_string (tool, "name"));
        }
      g_usleep (200 * 1000);
    }
  {
    g_autofree char *gateway_path = g_strdup_printf ("/v1/gateways/%s", gateway_id);
    g_autoptr(JsonNode) gateway = cf_harness_request (daemon, "GET", gateway_path, NULL, NULL,
                                                      NULL, NULL);
    g_autofree char *text = gateway ? cf_json_to_string (gateway, FALSE) : NULL;

    g_error ("No tool ending in %s came from gateway %s within %d s: %s", suffix, gateway_id,
             WAIT_S, text);
  }
  return NULL;
}

/* tools/call of the fixture's test_simple_text over plain JSON-RPC (/rpc) */
static void
assert_simple_text (CfDaemonHarness *daemon,
                    const char      *tool)
{
  g_autofree char *body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                           "\"params\":{\"name\":\"%s\",\"arguments\":{}}}", tool);
  g_autoptr(JsonNode) response = cf_harness_request (daemon, "POST", "/rpc", body, NULL, NULL,
                                                     NULL);
  JsonObject *result = cf_harness_rpc_result (response);

  g_assert_nonnull (result);
  g_assert_cmpstr (cf_harness_first_text (result), ==,
                   "This is a simple text response for testing.");
}

static guint
post (CfDaemonHarness *daemon,
      const char      *path,
      const char      *body,
      JsonNode       **out)
{
  guint status = 0;
  JsonNode *node = cf_harness_request (daemon, "POST", path, body, NULL, &status, NULL);

  if (out != NULL)
    *out = node;
  else if (node != NULL)
    json_node_unref (node);
  return status;
}

static gboolean
problem_names (JsonNode   *node,
               const char *field)
{
  JsonArray *detail = cf_json_object_get_array (json_node_get_object (node), "detail");

  for (guint i = 0; detail != NULL && i < json_array_get_length (detail); i++)
    {
      JsonArray *loc = cf_json_object_get_array (json_array_get_object_element (detail, i), "loc");

      if (loc != NULL && json_array_get_length (loc) > 1 &&
          g_strcmp0 (json_array_get_string_element (loc, 1), field) == 0)
        return TRUE;
    }
  return FALSE;
}

/* One host: A announces itself on the LAN interface with authentication
 * on; B (loopback only, SSRF guard at its defaults) finds it, registers
 * it with a token after being told it needs one, and calls A's tools
 * through it. Then: a loop is refused, a name collision renames, an
 * avahi-daemon restart is survived, and A's withdrawal is seen. */
static void
test_one_host (void)
{
  const char *address = g_getenv ("CF_TEST_HOST_ADDRESS");
  g_autofree char *db_a = db_in_dir ("a.db");
  g_autofree char *db_b = db_in_dir ("b.db");
  g_autofree char *db_c = db_in_dir ("c.db");
  const char *env_a[] = {
    "HOST", address, "FEDERATION_DISCOVERY", "true",
    "FEDERATION_DISCOVERY_NAME", "Test Gateway A", NULL
  };
  const char *env_b[] = {
    "FEDERATION_DISCOVERY", "true", "FEDERATION_DISCOVERY_NAME", "Test Gateway B",
    "SSRF_ALLOW_LOCALHOST", "false", NULL
  };
  const char *env_c[] = {
    "HOST", address, "FEDERATION_DISCOVERY", "true",
    "FEDERATION_DISCOVERY_NAME", "Test Gateway A", NULL
  };
  CfDaemonHarness *a, *b, *c;
  g_autofree char *token = NULL;
  g_autofree char *peer_path = NULL;
  g_autofree char *register_path = NULL;
  g_autofree char *body = NULL;
  g_autofree char *tool = NULL;
  g_autofree char *loop_body = NULL;
  g_autoptr(JsonObject) a_status = NULL;
  g_autoptr(JsonObject) b_status = NULL;
  g_autoptr(JsonObject) c_status = NULL;
  g_autoptr(JsonObject) peer = NULL;
  g_autoptr(JsonObject) again = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(JsonNode) created = NULL;
  g_autoptr(GUri) a_uri = NULL;
  const char *gateway_id;
  const char *peer_id;
  gint64 deadline;

  if (address == NULL || g_getenv ("CF_TEST_AVAHI_COMMAND") == NULL)
    {
      g_test_skip ("Not on a private test host (run under tests/discovery/netns-host.sh)");
      return;
    }

  a = cf_daemon_harness_start_auth (db_a, ADMIN_PASSWORD, SECRET, env_a);
  token = login (a);
  add_fixture_upstream (a, token);
  b = cf_daemon_harness_start (db_b, env_b);

  /* A announces itself; B, listening on loopback only, announces nothing
   * and says why, but browses. */
  a_status = get_object (a, "/v1/discovery", token);
  g_assert_true (json_object_get_boolean_member (a_status, "enabled"));
  wait_for_state (b, "running");
  b_status = get_object (b, "/v1/discovery", NULL);
  g_assert_nonnull (strstr (json_object_get_string_member (b_status, "message"), "loopback"));
  g_assert_true (cf_json_object_get_string (b_status, "publishedName") == NULL);

  peer = wait_for_peer (b, "Test Gateway A", TRUE);
  a_uri = g_uri_parse (a->url, G_URI_FLAGS_NONE, NULL);
  peer_id = json_object_get_string_member (peer, "id");
  g_assert_cmpstr (peer_id, ==, json_object_get_string_member (a_status, "id"));
  g_assert_cmpint (json_object_get_int_member (peer, "port"), ==, g_uri_get_port (a_uri));
  g_assert_cmpstr (json_object_get_string_member (peer, "auth"), ==, "bearer");
  g_assert_cmpstr (json_object_get_string_member (peer, "protocol"), ==, "2026-07-28");
  g_assert_cmpstr (json_object_get_string_member (peer, "path"), ==, "/mcp");
  g_assert_false (json_object_get_boolean_member (peer, "registered"));
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (peer, "addresses"),
                                                  0), ==, address);
  g_assert_cmpstr (cf_json_object_get_string (cf_json_object_get_object (peer, "txt"), "id"), ==,
                   peer_id);
  /* Nobody lists itself. */
  g_clear_pointer (&a_status, json_object_unref);
  a_status = get_object (a, "/v1/discovery", token);
  g_assert_cmpstr (json_object_get_string_member (a_status, "publishedName"), ==,
                   "Test Gateway A");
  for (guint i = 0; i < json_array_get_length (json_object_get_array_member (a_status, "peers")); i++)
    g_assert_cmpstr (json_object_get_string_member (
                       json_array_get_object_element (json_object_get_array_member (a_status, "peers"), i),
                       "id"), !=, peer_id);

  peer_path = g_strdup_printf ("/v1/discovery/%s", peer_id);
  again = get_object (b, peer_path, NULL);
  g_assert_cmpstr (json_object_get_string_member (again, "url"), ==,
                   json_object_get_string_member (peer, "url"));

  /* Bad inputs: an unknown peer, a URL of one's own, no credentials for
   * a peer that wants them. */
  g_assert_cmpuint (post (b, "/v1/discovery/0123456789abcdef/register", "{}", NULL), ==, 404);
  register_path = g_strdup_printf ("/v1/discovery/%s/register", peer_id);
  g_assert_cmpuint (post (b, register_path, "{\"url\":\"http://10.9.9.9/mcp\"}", &node), ==, 422);
  g_assert_true (problem_names (node, "url"));
  g_clear_pointer (&node, json_node_unref);
  g_assert_cmpuint (post (b, register_path, "{}", &node), ==, 422);
  g_assert_true (problem_names (node, "auth_token"));
  g_clear_pointer (&node, json_node_unref);
  g_assert_cmpuint (post (b, register_path, "[1]", NULL), ==, 422);
  /* Not registered by any of that. */
  g_clear_pointer (&again, json_object_unref);
  again = get_object (b, peer_path, NULL);
  g_assert_false (json_object_get_boolean_member (again, "registered"));

  /* With the token: registered, though A's address is a private one the
   * SSRF guard refuses by default. */
  body = g_strdup_printf ("{\"auth_type\":\"bearer\",\"auth_token\":\"%s\"}", token);
  g_assert_cmpuint (post (b, register_path, body, &created), ==, 201);
  gateway_id = cf_json_object_get_string (json_node_get_object (created), "id");
  g_assert_cmpstr (cf_json_object_get_string (json_node_get_object (created), "discoveredAddress"),
                   ==, address);
  g_assert_cmpuint (post (b, register_path, body, NULL), ==, 409);
  tool = wait_for_tool (b, gateway_id, "simple-text");
  assert_simple_text (b, tool);
  g_clear_pointer (&again, json_object_unref);
  again = get_object (b, peer_path, NULL);
  g_assert_true (json_object_get_boolean_member (again, "registered"));
  g_assert_cmpstr (json_object_get_string_member (again, "gatewayId"), ==, gateway_id);

  /* A loop: A federating B, which federates A, is refused. */
  loop_body = g_strdup_printf ("{\"name\":\"loop-to-b\",\"url\":\"%s/mcp\","
                               "\"transport\":\"STREAMABLEHTTP\"}", b->url);
  g_clear_pointer (&node, json_node_unref);
  node = cf_harness_call (a, "POST", "/v1/gateways", loop_body, token, NULL, NULL);
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *path = g_strdup_printf ("/v1/gateways/%s",
                                               cf_json_object_get_string (json_node_get_object (node),
                                                                          "id"));
      g_autoptr(JsonObject) loop = get_object (a, path, token);
      const char *message = cf_json_object_get_string (loop, "statusMessage");

      if (message != NULL && strstr (message, "Federation loop") != NULL)
        {
          g_assert_false (json_object_get_boolean_member (loop, "reachable"));
          break;
        }
      g_usleep (200 * 1000);
    }
  g_assert_cmpint (g_get_monotonic_time (), <, deadline);
  /* And B's tools from A still work. */
  assert_simple_text (b, tool);

  /* A second gateway announcing the same name is renamed, as Avahi does. */
  c = cf_daemon_harness_start_auth (db_c, ADMIN_PASSWORD, SECRET, env_c);
  c_status = NULL;
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *c_token = login (c);

      g_clear_pointer (&c_status, json_object_unref);
      c_status = get_object (c, "/v1/discovery", c_token);
      if (cf_json_object_get_string (c_status, "publishedName") != NULL)
        break;
      g_usleep (200 * 1000);
    }
  g_assert_cmpstr (cf_json_object_get_string (c_status, "publishedName"), ==, "Test Gateway A #2");
  g_clear_pointer (&again, json_object_unref);
  again = wait_for_peer (b, "Test Gateway A", TRUE);

  /* avahi-daemon goes away: a state, not a failure; it comes back, and so
   * do the peers. */
  g_assert_true (g_spawn_command_line_sync ("avahi-daemon -k", NULL, NULL, NULL, NULL));
  wait_for_state (b, "no-daemon");
  wait_for_peer (b, "Test Gateway A", FALSE);
  g_assert_true (g_spawn_command_line_sync (g_getenv ("CF_TEST_AVAHI_COMMAND"), NULL, NULL, NULL,
                                            NULL));
  wait_for_state (b, "running");
  g_clear_pointer (&again, json_object_unref);
  again = wait_for_peer (b, "Test Gateway A", TRUE);
  g_assert_cmpstr (json_object_get_string_member (again, "id"), ==, peer_id);
  g_assert_true (json_object_get_boolean_member (again, "registered"));

  /* A stops: its goodbye takes it off B's list. C stays. */
  g_assert_cmpint (cf_daemon_harness_stop (a), ==, 0);
  g_clear_pointer (&again, json_object_unref);
  deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
  while (g_get_monotonic_time () < deadline)
    {
      g_autofree char *gone = g_strdup_printf ("/v1/discovery/%s", peer_id);
      guint status = 0;
      g_autoptr(JsonNode) answer = cf_harness_request (b, "GET", gone, NULL, NULL, &status, NULL);

      if (status == 404)
        break;
      g_usleep (200 * 1000);
    }
  g_assert_cmpint (g_get_monotonic_time (), <, deadline);
  again = wait_for_peer (b, "Test Gateway A #2", TRUE);
  /* Renamed on the wire, not in what it calls itself. */
  g_assert_cmpstr (json_object_get_string_member (again, "displayName"), ==, "Test Gateway A");

  g_assert_cmpint (cf_daemon_harness_stop (c), ==, 0);
  g_assert_cmpint (cf_daemon_harness_stop (b), ==, 0);
  cf_daemon_harness_free (a);
  cf_daemon_harness_free (b);
  cf_daemon_harness_free (c);
}

/* Two hosts joined by a veth pair: A on host a (no authentication) is
 * found from B on host b across the link, registered with no question
 * asked, and used; a gateway with A's id on its allowlist registers it
 * unasked; A's withdrawal reaches B. */
static void
test_two_hosts (void)
{
  const char *on_peer = g_getenv ("CF_TEST_ON_PEER");
  const char *peer_address = g_getenv ("CF_TEST_PEER_ADDRESS");
  g_autofree char *db_a = db_in_dir ("host-a.db");
  g_autofree char *db_b = db_in_dir ("host-b.db");
  const char *env_a[] = {
    CF_HARNESS_WRAPPER, on_peer, "HOST", peer_address, "FEDERATION_DISCOVERY", "true",
    "FEDERATION_DISCOVERY_NAME", "Gateway on host a", NULL
  };
  const char *env_b[] = {
    "FEDERATION_DISCOVERY", "true", "SSRF_ALLOW_LOCALHOST", "false", NULL
  };
  CfDaemonHarness *a, *b;
  g_autoptr(GSubprocess) trick_address = NULL;
  g_autoptr(GSubprocess) trick_service = NULL;
  g_autoptr(JsonObject) peer = NULL;
  g_autoptr(JsonNode) created = NULL;
  g_autofree char *register_path = NULL;
  g_autofree char *tool = NULL;
  const char *gateway_id;

  if (on_peer == NULL || peer_address == NULL)
    {
      g_test_skip ("Not on the two test hosts (run under tests/discovery/two-hosts.sh)");
      return;
    }

  /* A record from host a that claims a gateway on loopback: b must not
   * list it (it would have b dial itself). Announced before A starts, so
   * that it has been resolved by the time A is seen. */
  {
    const char *address[] = { on_peer, "avahi-publish", "-a", "-R", "loopback-trick.local",
                              "127.0.0.1", NULL };
    const char *service[] = { on_peer, "avahi-publish", "-s", "-H", "loopback-trick.local",
                              "Loopback trick", "_mcp._tcp", "4444", "id=loopbacktrick", NULL };
    g_autoptr(GError) error = NULL;

    trick_address = cf_harness_spawnv (address, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
    g_assert_no_error (error);
    trick_service = cf_harness_spawnv (service, G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                G_SUBPROCESS_FLAGS_STDERR_SILENCE, &error);
    g_assert_no_error (error);
  }
  a = cf_daemon_harness_start (db_a, env_a);
  g_assert_true (g_str_has_prefix (a->url, "http://"));
  add_fixture_upstream (a, NULL);
  b = cf_daemon_harness_start (db_b, env_b);

  peer = wait_for_peer (b, "Gateway on host a", TRUE);
  g_assert_cmpstr (json_object_get_string_member (peer, "host"), ==, "host-a.local");
  {
    g_autoptr(JsonObject) status = get_object (b, "/v1/discovery", NULL);
    JsonArray *peers = json_object_get_array_member (status, "peers");

    for (guint i = 0; i < json_array_get_length (peers); i++)
      g_assert_cmpstr (json_object_get_string_member (json_array_get_object_element (peers, i),
                                                      "name"), !=, "Loopback trick");
  }
  cf_harness_stop_process (trick_service);
  cf_harness_stop_process (trick_address);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (peer, "addresses"),
                                                  0), ==, peer_address);
  g_assert_cmpstr (json_object_get_string_member (peer, "auth"), ==, "none");

  register_path = g_strdup_printf ("/v1/discovery/%s/register",
                                   json_object_get_string_member (peer, "id"));
  g_assert_cmpuint (post (b, register_path, "{\"name\":\"host-a\"}", &created), ==, 201);
  gateway_id = cf_json_object_get_string (json_node_get_object (created), "id");
  tool = wait_for_tool (b, gateway_id, "simple-text");
  g_assert_true (g_str_has_prefix (tool, "host-a"));
  assert_simple_text (b, tool);

  /* A gateway told to trust A's id registers it by itself. */
  {
    const char *peer_id = json_object_get_string_member (peer, "id");
    const char *env_c[] = {
      "FEDERATION_DISCOVERY", "true", "SSRF_ALLOW_LOCALHOST", "false",
      "FEDERATION_DISCOVERY_ALLOWLIST", peer_id, NULL
    };
    g_autofree char *db_c = db_in_dir ("host-b-allowlist.db");
    CfDaemonHarness *c = cf_daemon_harness_start (db_c, env_c);
    gint64 deadline = g_get_monotonic_time () + WAIT_S * G_USEC_PER_SEC;
    const char *auto_id = NULL;
    g_autoptr(JsonNode) gateways = NULL;
    g_autofree char *auto_tool = NULL;

    while (auto_id == NULL && g_get_monotonic_time () < deadline)
      {
        JsonArray *list;

        g_clear_pointer (&gateways, json_node_unref);
        gateways = cf_harness_request (c, "GET", "/v1/gateways", NULL, NULL, NULL, NULL);
        list = json_node_get_array (gateways);
        for (guint i = 0; i < json_array_get_length (list); i++)
          {
            JsonObject *gateway = json_array_get_object_element (list, i);

            if (g_strcmp0 (cf_json_object_get_string (gateway, "discoveredPeerId"), peer_id) == 0)
              auto_id = cf_json_object_get_string (gateway, "id");
          }
        if (auto_id == NULL)
          g_usleep (200 * 1000);
      }
    g_assert_nonnull (auto_id);
    auto_tool = wait_for_tool (c, auto_id, "simple-text");
    assert_simple_text (c, auto_tool);
    g_assert_cmpint (cf_daemon_harness_stop (c), ==, 0);
    cf_daemon_harness_free (c);
  }

  g_assert_cmpint (cf_daemon_harness_stop (a), ==, 0);
  wait_for_peer (b, "Gateway on host a", FALSE);

  g_assert_cmpint (cf_daemon_harness_stop (b), ==, 0);
  cf_daemon_harness_free (a);
  cf_daemon_harness_free (b);
}

/* Without Avahi: off by default, then turned on with no system bus to
 * reach (a state that says so, not a failure), and bad inputs. */
static void
test_off (void)
{
  g_autofree char *db = db_in_dir ("off.db");
  const char *env[] = {
    "DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/contextforge-test-bus", NULL
  };
  CfDaemonHarness *daemon = cf_daemon_harness_start (db, env);
  g_autoptr(JsonObject) status = get_object (daemon, "/v1/discovery", NULL);
  g_autoptr(JsonNode) node = NULL;
  guint code = 0;

  g_assert_false (json_object_get_boolean_member (status, "enabled"));
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "off");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (status, "peers")), ==, 0);
  g_assert_cmpuint (strlen (json_object_get_string_member (status, "id")), ==, 32);

  node = cf_harness_request (daemon, "PUT", "/v1/discovery", "{\"enabled\":\"yes\"}", NULL, &code,
                             NULL);
  g_assert_cmpuint (code, ==, 422);
  g_clear_pointer (&node, json_node_unref);
  node = cf_harness_request (daemon, "PUT", "/v1/discovery", "{\"enabled\":", NULL, &code, NULL);
  g_assert_cmpuint (code, ==, 400);
  g_clear_pointer (&node, json_node_unref);
  node = cf_harness_request (daemon, "GET", "/v1/discovery/nobody", NULL, NULL, &code, NULL);
  g_assert_cmpuint (code, ==, 404);
  g_clear_pointer (&node, json_node_unref);
  g_assert_cmpuint (post (daemon, "/v1/discovery/nobody/register", "{}", NULL), ==, 404);

  node = cf_harness_request (daemon, "PUT", "/v1/discovery", "{\"enabled\":true}", NULL, &code,
                             NULL);
  g_assert_cmpuint (code, ==, 200);
  g_assert_true (cf_json_object_get_bool (json_node_get_object (node), "enabled", FALSE));
  wait_for_state (daemon, "no-daemon");
  /* Still serving. */
  g_clear_pointer (&status, json_object_unref);
  status = get_object (daemon, "/health", NULL);
  g_clear_pointer (&node, json_node_unref);
  node = cf_harness_request (daemon, "PUT", "/v1/discovery", "{\"enabled\":false}", NULL, &code,
                             NULL);
  g_assert_cmpuint (code, ==, 200);
  g_clear_pointer (&status, json_object_unref);
  status = get_object (daemon, "/v1/discovery", NULL);
  g_assert_cmpstr (json_object_get_string_member (status, "state"), ==, "off");

  g_assert_cmpint (cf_daemon_harness_stop (daemon), ==, 0);
  cf_daemon_harness_free (daemon);
}

int
main (int   argc,
      char *argv[])
{
  g_autoptr(GError) error = NULL;
  const char *mode;
  int result;

  g_test_init (&argc, &argv, NULL);
  mode = argc > 1 ? argv[1] : "off";
  fx.dir = g_dir_make_tmp ("cf-discovery-XXXXXX", &error);
  g_assert_no_error (error);

  if (g_str_equal (mode, "one-host"))
    g_test_add_func ("/discovery/one-host", test_one_host);
  else if (g_str_equal (mode, "two-hosts"))
    g_test_add_func ("/discovery/two-hosts", test_two_hosts);
  else
    g_test_add_func ("/discovery/off", test_off);
  result = g_test_run ();

  {
    const char *rm[] = { "rm", "-rf", fx.dir, NULL };

    g_spawn_sync (NULL, (char **) rm, NULL, G_SPAWN_SEARCH_PATH, NULL, NULL, NULL, NULL, NULL,
                  NULL);
  }
  g_free (fx.dir);
  return result;
}
