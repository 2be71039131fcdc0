/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <glib/gstdio.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

/* The gateway binary's security settings, end to end: upstream
 * credentials reach an upstream that demands them (the C fixture with
 * --require-bearer / --require-header) and never appear in a response or
 * in the database file; the SSRF guard refuses loopback and private
 * upstreams unless allowed; REST responses carry security headers and
 * CORS for listed origins only; per-tool rate and concurrency limits
 * answer with retry information; a weak AUTH_ENCRYPTION_SECRET stops a
 * production gateway. */

#define WAIT_US (20 * G_USEC_PER_SEC)
#define STRONG_SECRET "Vq3xZ8tR1mK6pL0sB7nW2cY9dF4gH5jA="
#define FIXTURE_TOOLS 14

static char *
temp_db (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-security-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return g_build_filename (dir, "gateway.db", NULL);
}

static void
remove_db (const char *db)
{
  g_autofree char *dir = g_path_get_dirname (db);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;

  while (listing != NULL && (name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_remove (path);
    }
  g_rmdir (dir);
}

/* The fixture over HTTP, with extra options; returns its /mcp URL. */
static GSubprocess *
spawn_fixture (const char * const *options,
               char              **out_url)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();

  g_ptr_array_add (argv, (char *) g_getenv ("CF_TEST_FIXTURE"));
  g_ptr_array_add (argv, "--port");
  g_ptr_array_add (argv, "0");
  for (guint i = 0; options != NULL && options[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) options[i]);
  g_ptr_array_add (argv, NULL);
  return cf_harness_spawn ((const char * const *) argv->pdata, out_url);
}

static char *
base_of (const char *mcp_url)
{
  g_assert_true (g_str_has_suffix (mcp_url, "/mcp"));
  return g_strndup (mcp_url, strlen (mcp_url) - strlen ("/mcp"));
}

static JsonObject *
get_entity (CfDaemonHarness *d,
            const char      *collection,
            const char      *id)
{
  g_autofree char *path = g_strdup_printf ("/v1/%s/%s", collection, id);
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;

  node = cf_harness_request (d, "GET", path, NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  return json_object_ref (json_node_get_object (node));
}

/* Waits, bounded, until the gateway says it is unreachable; returns its
 * status message. */
static char *
wait_unreachable (CfDaemonHarness *d,
                  const char      *id)
{
  gint64 deadline = g_get_monotonic_time () + WAIT_US;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonObject) gateway = get_entity (d, "gateways", id);
      const char *message = json_object_get_string_member_with_default (gateway,
                                                                        "statusMessage", "");

      if (!json_object_get_boolean_member_with_default (gateway, "reachable", TRUE) ||
          strstr (message, "retrying") != NULL)
        return g_strdup (message);
      g_usleep (100 * 1000);
    }
  g_error ("gateway %s stayed reachable", id);
}

static JsonNode *
rpc (CfDaemonHarness *d,
     const char      *tool,
     const char      *arguments)
{
  g_autofree char *body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
                                           "\"params\":{\"name\":\"%s\",\"arguments\":%s}}",
                                           tool, arguments ? arguments : "{}");
  guint status = 0;
  JsonNode *reply = cf_harness_request (d, "POST", "/rpc", body, NULL, &status, NULL);

  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (reply);
  return reply;
}

static void
assert_simple_text (CfDaemonHarness *d)
{
  g_autoptr(JsonNode) reply = rpc (d, "test_simple_text", NULL);

  g_assert_cmpstr (cf_harness_first_text (cf_harness_rpc_result (reply)), ==,
                   "This is a simple text response for testing.");
}

static void
assert_no_secret_in (const char *text,
                     const char *secret,
                     const char *where)
{
  if (text != NULL && strstr (text, secret) != NULL)
    g_error ("%s shows the secret %s", where, secret);
}

/* Every file of the database is scanned for the secret in clear and in
 * base64, as Basic carries it. */
static void
assert_not_in_database (const char *db,
                        const char *secret)
{
  g_autofree char *encoded = g_base64_encode ((const guchar *) secret, strlen (secret));

  cf_harness_assert_not_in_database (db, secret);
  cf_harness_assert_not_in_database (db, encoded);
}

typedef struct {
  const char *name;
  const char *auth_type;
  const char *fixture_option[3];
  const char *auth;
  const char *secret;
} CredentialCase;

/* A gateway's credentials are what lets the gateway in, on each network
 * transport; without them the upstream answers 401. */
static void
test_credentials_reach_upstream (void)
{
  static const CredentialCase cases[] = {
    { "bearer", "bearer", { "--require-bearer", "t0k3n-bearer-123", NULL },
      "\"auth_type\":\"bearer\",\"auth_token\":\"t0k3n-bearer-123\"", "t0k3n-bearer-123" },
    /* alice:s3cr3t-basic-pw */
    { "basic", "basic", { "--require-header", "Authorization: Basic YWxpY2U6czNjcjN0LWJhc2ljLXB3", NULL },
      "\"auth_type\":\"basic\",\"auth_username\":\"alice\","
      "\"auth_password\":\"s3cr3t-basic-pw\"", "s3cr3t-basic-pw" },
    { "headers", "authheaders", { "--require-header", "X-API-Key: k3y-custom-header-9", NULL },
      "\"auth_type\":\"authheaders\",\"auth_headers\":[{\"key\":\"X-API-Key\","
      "\"value\":\"k3y-custom-header-9\"}]", "k3y-custom-header-9" },
  };
  static const char *transports[] = { "STREAMABLEHTTP", "SSE", "WEBSOCKET" };
  g_autofree char *db = temp_db ();
  const char *env[] = { "AUTH_ENCRYPTION_SECRET", STRONG_SECRET, NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autoptr(GPtrArray) fixtures = g_ptr_array_new_with_free_func (g_object_unref);
  g_autoptr(GPtrArray) secrets = g_ptr_array_new ();

  for (guint c = 0; c < G_N_ELEMENTS (cases); c++)
    for (guint t = 0; t < G_N_ELEMENTS (transports); t++)
      {
        g_autofree char *url = NULL;
        GSubprocess *fixture = spawn_fixture (cases[c].fixture_option, &url);
        g_autofree char *base = base_of (url);
        g_autofree char *upstream = t == 0 ? g_strconcat (base, "/mcp", NULL) :
                                    t == 1 ? g_strconcat (base, "/sse", NULL) :
                                    g_strconcat ("ws://", base + strlen ("http://"), "/ws", NULL);
        g_autofree char *body = g_strdup_printf ("{\"name\":\"%s-%s\",\"url\":\"%s\","
                                                 "\"transport\":\"%s\",\"prefix_mode\":\"never\","
                                                 "%s}", cases[c].name, transports[t], upstream,
                                                 transports[t], cases[c].auth);
        g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
        const char *id = json_object_get_string_member (gateway, "id");
        g_autoptr(JsonObject) fetched = NULL;
        g_autofree char *created_text = cf_json_object_to_string (gateway);
        g_autofree char *fetched_text = NULL;
        g_autoptr(JsonNode) deleted = NULL;
        g_autofree char *path = g_strdup_printf ("/v1/gateways/%s", id);
        guint status = 0;

        g_ptr_array_add (fixtures, fixture);
        g_ptr_array_add (secrets, (gpointer) cases[c].secret);

        cf_harness_wait_for_tools (d, id, FIXTURE_TOOLS);
        assert_simple_text (d);

        fetched = get_entity (d, "gateways", id);
        fetched_text = cf_json_object_to_string (fetched);
        assert_no_secret_in (created_text, cases[c].secret, "POST /v1/gateways");
        assert_no_secret_in (fetched_text, cases[c].secret, "GET /v1/gateways/{id}");
        g_assert_cmpstr (json_object_get_string_member (fetched, "authValue"), ==, "*****");
        g_assert_cmpstr (json_object_get_string_member (fetched, "authType"), ==,
                         cases[c].auth_type);
        g_assert_false (json_object_has_member (fetched, "authToken"));
        g_assert_false (json_object_has_member (fetched, "authPassword"));

        /* Tool names repeat across cases: one gateway at a time. */
        deleted = cf_harness_request (d, "DELETE", path, NULL, NULL, &status, NULL);
        g_assert_cmpuint (status, ==, 200);
      }

  {
    g_autoptr(JsonNode) list = cf_harness_request (d, "GET", "/v1/gateways", NULL, NULL, NULL,
                                                   NULL);
    g_autofree char *text = cf_json_to_string (list, NULL);

    for (guint i = 0; i < secrets->len; i++)
      assert_no_secret_in (text, secrets->pdata[i], "GET /v1/gateways");
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  for (guint i = 0; i < secrets->len; i++)
    assert_not_in_database (db, secrets->pdata[i]);
  for (guint i = 0; i < fixtures->len; i++)
    g_subprocess_force_exit (fixtures->pdata[i]);
  remove_db (db);
}

/* Wrong credentials are the upstream's 401, shown in the gateway's
 * status; the gateway restarted under another AUTH_ENCRYPTION_SECRET
 * cannot open what it stored and says so, without crashing. */
static void
test_wrong_credentials (void)
{
  const char *options[] = { "--require-bearer", "the-right-token", NULL };
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = spawn_fixture (options, &url);
  g_autofree char *db = temp_db ();
  const char *env[] = { "AUTH_ENCRYPTION_SECRET", STRONG_SECRET, NULL };
  const char *other_env[] = { "AUTH_ENCRYPTION_SECRET", "Another-key-entirely-9f8e7d6c5b4a3210", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *wrong = g_strdup_printf ("{\"name\":\"wrong\",\"url\":\"%s\","
                                            "\"transport\":\"STREAMABLEHTTP\","
                                            "\"auth_type\":\"bearer\",\"auth_token\":\"a-wrong-one\"}",
                                            url);
  g_autofree char *right = g_strdup_printf ("{\"name\":\"right\",\"url\":\"%s\","
                                            "\"transport\":\"STREAMABLEHTTP\",\"prefix_mode\":\"never\","
                                            "\"auth_type\":\"bearer\",\"auth_token\":\"the-right-token\"}",
                                            url);
  g_autoptr(JsonObject) refused = cf_harness_create (d, "gateways", wrong);
  g_autoptr(JsonObject) accepted = cf_harness_create (d, "gateways", right);
  g_autofree char *message = wait_unreachable (d, json_object_get_string_member (refused, "id"));
  g_autofree char *after_restart = NULL;

  g_assert_nonnull (strstr (message, "401"));
  assert_no_secret_in (message, "a-wrong-one", "statusMessage");
  cf_harness_wait_for_tools (d, json_object_get_string_member (accepted, "id"), FIXTURE_TOOLS);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);

  d = cf_daemon_harness_start (db, other_env);
  after_restart = wait_unreachable (d, json_object_get_string_member (accepted, "id"));
  g_assert_nonnull (strstr (after_restart, "AUTH_ENCRYPTION_SECRET"));
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (fixture);
  remove_db (db);
}


/* A REST endpoint in a thread of its own (the harness's requests are
 * synchronous on the main context): records the credentials it is sent. */
typedef struct {
  GMainContext *context;
  GMainLoop    *loop;
  SoupServer   *server;
  GThread      *thread;
  GMutex        lock;
  GCond         ready;
  guint         port;
  char         *authorization;
  char         *api_key;
  guint         requests;
} RestEndpoint;

static void
on_rest_request (SoupServer        *server,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *query,
                 gpointer           user_data)
{
  RestEndpoint *rest = user_data;
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (msg);

  g_mutex_lock (&rest->lock);
  rest->requests++;
  g_free (rest->authorization);
  rest->authorization = g_strdup (soup_message_headers_get_one (headers, "Authorization"));
  g_free (rest->api_key);
  rest->api_key = g_strdup (soup_message_headers_get_one (headers, "X-Static"));
  g_mutex_unlock (&rest->lock);
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_STATIC,
                                    "{\"answer\":42}", strlen ("{\"answer\":42}"));
}

static gpointer
rest_run (gpointer user_data)
{
  RestEndpoint *rest = user_data;
  g_autoptr(GError) error = NULL;
  GSList *uris;

  g_main_context_push_thread_default (rest->context);
  rest->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (rest->server, NULL, on_rest_request, rest, NULL);
  soup_server_listen_local (rest->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (rest->server);
  g_mutex_lock (&rest->lock);
  rest->port = g_uri_get_port (uris->data);
  g_cond_signal (&rest->ready);
  g_mutex_unlock (&rest->lock);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
  g_main_loop_run (rest->loop);
  g_clear_object (&rest->server);
  g_main_context_pop_thread_default (rest->context);
  return NULL;
}

static void
rest_start (RestEndpoint *rest)
{
  g_mutex_init (&rest->lock);
  g_cond_init (&rest->ready);
  rest->context = g_main_context_new ();
  rest->loop = g_main_loop_new (rest->context, FALSE);
  rest->thread = g_thread_new ("rest-endpoint", rest_run, rest);
  g_mutex_lock (&rest->lock);
  while (rest->port == 0)
    g_cond_wait (&rest->ready, &rest->lock);
  g_mutex_unlock (&rest->lock);
}

static gboolean
quit_loop (gpointer user_data)
{
  g_main_loop_quit (user_data);
  return G_SOURCE_REMOVE;
}

static void
rest_stop (RestEndpoint *rest)
{
  g_main_context_invoke (rest->context, quit_loop, rest->loop);
  g_thread_join (rest->thread);
  g_main_loop_unref (rest->loop);
  g_main_context_unref (rest->context);
  g_free (rest->authorization);
  g_free (rest->api_key);
  g_mutex_clear (&rest->lock);
  g_cond_clear (&rest->ready);
}

/* A REST tool's credentials go with its own headers to its URL, and are
 * kept sealed like a gateway's. */
static void
test_rest_tool_credentials (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "AUTH_ENCRYPTION_SECRET", STRONG_SECRET, NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  RestEndpoint rest = { 0 };
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) tool = NULL;
  g_autoptr(JsonObject) fetched = NULL;
  g_autoptr(JsonNode) reply = NULL;
  g_autofree char *created_text = NULL;
  g_autofree char *fetched_text = NULL;
  JsonObject *result;

  rest_start (&rest);
  body = g_strdup_printf ("{\"tool\":{\"name\":\"answer\",\"url\":\"http://127.0.0.1:%u/api\","
                          "\"request_type\":\"POST\",\"headers\":{\"X-Static\":\"plain\"},"
                          "\"auth\":{\"auth_type\":\"bearer\",\"token\":\"r3st-t0ken-77\"}}}",
                          rest.port);
  tool = cf_harness_create (d, "tools", body);
  created_text = cf_json_object_to_string (tool);
  assert_no_secret_in (created_text, "r3st-t0ken-77", "POST /v1/tools");

  reply = rpc (d, "answer", "{\"q\":1}");
  result = cf_harness_rpc_result (reply);
  g_assert_false (json_object_get_boolean_member_with_default (result, "isError", FALSE));
  g_assert_cmpstr (cf_harness_first_text (result), ==, "{\"answer\":42}");
  g_mutex_lock (&rest.lock);
  g_assert_cmpuint (rest.requests, ==, 1);
  g_assert_cmpstr (rest.authorization, ==, "Bearer r3st-t0ken-77");
  g_assert_cmpstr (rest.api_key, ==, "plain");
  g_mutex_unlock (&rest.lock);

  fetched = get_entity (d, "tools", json_object_get_string_member (tool, "id"));
  fetched_text = cf_json_object_to_string (fetched);
  assert_no_secret_in (fetched_text, "r3st-t0ken-77", "GET /v1/tools/{id}");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (fetched, "auth"),
                                                  "authValue"), ==, "*****");

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  assert_not_in_database (db, "r3st-t0ken-77");
  rest_stop (&rest);
  remove_db (db);
}

static JsonArray *
post_problems (CfDaemonHarness *d,
               const char      *collection,
               const char      *body)
{
  g_autofree char *path = g_strconcat ("/v1/", collection, NULL);
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;

  node = cf_harness_request (d, "POST", path, body, NULL, &status, NULL);
  if (status != 422)
    g_error ("POST %s %s answered %u", path, body, status);
  return json_array_ref (json_object_get_array_member (json_node_get_object (node), "detail"));
}

static void
assert_url_refused (CfDaemonHarness *d,
                    const char      *collection,
                    const char      *body,
                    const char      *expected)
{
  g_autoptr(JsonArray) problems = post_problems (d, collection, body);
  JsonObject *problem = json_array_get_object_element (problems, 0);
  JsonArray *loc = json_object_get_array_member (problem, "loc");
  const char *msg = json_object_get_string_member (problem, "msg");

  /* ["body", "url"], or ["body", "tool", "url"] for an embedded body. */
  g_assert_cmpstr (json_array_get_string_element (loc, json_array_get_length (loc) - 1), ==, "url");
  if (strstr (msg, expected) == NULL || strstr (msg, "SSRF") == NULL)
    g_error ("%s: \"%s\" does not say \"%s\"", body, msg, expected);
}

/* The gateway's own defaults, as a production deployment has them. */
static void
test_ssrf_registration (void)
{
  static const struct { const char *host; const char *says; } blocked[] = {
    { "127.0.0.1", "SSRF_ALLOW_LOCALHOST=true" },
    { "localhost", "loopback" },
    { "[::1]", "loopback" },
    { "0.0.0.0", "loopback" },
    { "10.1.2.3", "SSRF_ALLOW_PRIVATE_NETWORKS=true" },
    { "172.16.0.9", "private network" },
    { "192.168.1.20", "private network" },
    { "169.254.10.1", "link-local" },
    { "[fc00::1]", "private network" },
    { "[fd12::1]", "private network" },
    { "169.254.169.254", "cloud metadata" },
  };
  g_autofree char *db = temp_db ();
  const char *env[] = { "SSRF_ALLOW_LOCALHOST", "false", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);

  for (guint i = 0; i < G_N_ELEMENTS (blocked); i++)
    {
      g_autofree char *gateway = g_strdup_printf ("{\"name\":\"g%u\",\"url\":\"http://%s:8000/mcp\","
                                                  "\"transport\":\"STREAMABLEHTTP\"}", i,
                                                  blocked[i].host);
      g_autofree char *ws = g_strdup_printf ("{\"name\":\"w%u\",\"url\":\"ws://%s:8000/ws\","
                                             "\"transport\":\"WEBSOCKET\"}", i, blocked[i].host);
      g_autofree char *tool = g_strdup_printf ("{\"tool\":{\"name\":\"t%u\","
                                               "\"url\":\"http://%s/api\"}}", i, blocked[i].host);

      assert_url_refused (d, "gateways", gateway, blocked[i].says);
      assert_url_refused (d, "gateways", ws, blocked[i].says);
      assert_url_refused (d, "tools", tool, blocked[i].says);
    }
  /* A public address and a name pass the registration check. */
  json_object_unref (cf_harness_create (d, "tools",
                                        "{\"tool\":{\"name\":\"pub\",\"url\":\"https://93.184.216.34/\"}}"));

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  remove_db (db);
}

/* A name that passes registration but resolves to loopback is refused
 * when the gateway connects: the host's own name, where /etc/hosts maps
 * it to a loopback address (no DNS query leaves the machine). */
static void
test_ssrf_name_resolving_to_loopback (void)
{
  const char *name = g_get_host_name ();
  g_autoptr(GResolver) resolver = g_resolver_get_default ();
  g_autolist(GInetAddress) addresses = NULL;
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = NULL;
  g_autofree char *db = NULL;
  const char *env[] = { "SSRF_ALLOW_LOCALHOST", "false", NULL };
  CfDaemonHarness *d;
  g_autofree char *body = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autofree char *message = NULL;
  const char *port;

  addresses = g_resolver_lookup_by_name (resolver, name, NULL, NULL);
  for (GList *l = addresses; l != NULL; l = l->next)
    if (!g_inet_address_get_is_loopback (l->data))
      {
        g_test_skip ("the host name does not resolve to loopback only here");
        return;
      }
  if (addresses == NULL)
    {
      g_test_skip ("the host name does not resolve here");
      return;
    }

  fixture = spawn_fixture (NULL, &url);
  port = strrchr (url, ':') + 1;
  db = temp_db ();
  d = cf_daemon_harness_start (db, env);
  body = g_strdup_printf ("{\"name\":\"rebind\",\"url\":\"http://%s:%.*s/mcp\","
                          "\"transport\":\"STREAMABLEHTTP\"}", name,
                          (int) strcspn (port, "/"), port);
  gateway = cf_harness_create (d, "gateways", body);
  message = wait_unreachable (d, json_object_get_string_member (gateway, "id"));
  g_assert_nonnull (strstr (message, "resolves to 127."));
  g_assert_nonnull (strstr (message, "SSRF_ALLOW_LOCALHOST=true"));

  /* A REST tool by that name: refused when called, nothing sent. */
  {
    g_autofree char *tool_body = g_strdup_printf ("{\"tool\":{\"name\":\"rebound\","
                                                  "\"url\":\"http://%s:%.*s/api\"}}", name,
                                                  (int) strcspn (port, "/"), port);
    g_autoptr(JsonObject) tool = cf_harness_create (d, "tools", tool_body);
    g_autoptr(JsonNode) reply = rpc (d, "rebound", NULL);
    JsonObject *result = cf_harness_rpc_result (reply);

    g_assert_nonnull (tool);
    g_assert_true (json_object_get_boolean_member (result, "isError"));
    g_assert_nonnull (strstr (cf_harness_first_text (result), "resolves to 127."));
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (fixture);
  remove_db (db);
}

static const char *
header (SoupMessageHeaders *headers,
        const char         *name)
{
  return soup_message_headers_get_one (headers, name);
}

static void
test_headers_and_cors (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "ALLOWED_ORIGINS", "https://console.example.com,http://localhost:5173",
                        NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  const char *allowed[] = { "Origin", "https://console.example.com", NULL };
  const char *preflight[] = { "Origin", "http://localhost:5173",
                              "Access-Control-Request-Method", "POST",
                              "Access-Control-Request-Headers", "content-type", NULL };
  const char *unlisted[] = { "Origin", "http://localhost:3000", NULL };
  const char *unlisted_preflight[] = { "Origin", "http://localhost:3000",
                                       "Access-Control-Request-Method", "POST", NULL };
  g_autoptr(SoupMessageHeaders) plain = NULL;
  g_autoptr(SoupMessageHeaders) cors = NULL;
  g_autoptr(SoupMessageHeaders) options = NULL;
  g_autoptr(SoupMessageHeaders) mcp_options = NULL;
  g_autoptr(SoupMessageHeaders) other = NULL;
  g_autoptr(SoupMessageHeaders) other_options = NULL;
  g_autoptr(JsonNode) n1 = NULL, n2 = NULL, n3 = NULL, n4 = NULL, n5 = NULL, n6 = NULL;
  guint status = 0;

  n1 = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, &plain);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (header (plain, "X-Content-Type-Options"), ==, "nosniff");
  g_assert_cmpstr (header (plain, "X-Frame-Options"), ==, "DENY");
  g_assert_nonnull (header (plain, "Referrer-Policy"));
  g_assert_nonnull (strstr (header (plain, "Content-Security-Policy"), "default-src 'none'"));
  g_assert_null (header (plain, "Access-Control-Allow-Origin"));

  n2 = cf_harness_request (d, "GET", "/v1/tools", NULL, allowed, &status, &cors);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (header (cors, "Access-Control-Allow-Origin"), ==, "https://console.example.com");

  n3 = cf_harness_request (d, "OPTIONS", "/v1/gateways", NULL, preflight, &status, &options);
  g_assert_cmpuint (status, ==, 204);
  g_assert_cmpstr (header (options, "Access-Control-Allow-Origin"), ==, "http://localhost:5173");
  g_assert_nonnull (strstr (header (options, "Access-Control-Allow-Methods"), "POST"));
  n4 = cf_harness_request (d, "OPTIONS", "/mcp", NULL, preflight, &status, &mcp_options);
  g_assert_cmpuint (status, ==, 204);
  g_assert_nonnull (strstr (header (mcp_options, "Access-Control-Allow-Headers"), "Mcp-Session-Id"));

  n5 = cf_harness_request (d, "GET", "/v1/tools", NULL, unlisted, &status, &other);
  g_assert_cmpuint (status, ==, 200);
  g_assert_null (header (other, "Access-Control-Allow-Origin"));
  n6 = cf_harness_request (d, "OPTIONS", "/v1/tools", NULL, unlisted_preflight, &status,
                           &other_options);
  g_assert_cmpuint (status, ==, 403);
  g_assert_null (header (other_options, "Access-Control-Allow-Origin"));
  g_assert_cmpstr (header (other_options, "X-Frame-Options"), ==, "DENY");

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  remove_db (db);
}

static JsonObject *
rpc_error (JsonNode *reply)
{
  JsonObject *object = json_node_get_object (reply);

  if (!json_object_has_member (object, "error"))
    g_error ("expected an error: %s", cf_json_to_string (reply, NULL));
  return json_object_get_object_member (object, "error");
}

static void
test_rate_limit (void)
{
  g_autofree char *url = NULL;
  g_autoptr(GSubprocess) fixture = spawn_fixture (NULL, &url);
  g_autofree char *db = temp_db ();
  const char *env[] = { "TOOL_RATE_LIMIT", "3", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *body = g_strdup_printf ("{\"name\":\"f\",\"url\":\"%s\","
                                           "\"transport\":\"STREAMABLEHTTP\","
                                           "\"prefix_mode\":\"never\"}", url);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  g_autoptr(JsonNode) limited = NULL;
  g_autoptr(JsonNode) other_tool = NULL;
  JsonObject *error, *data;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), FIXTURE_TOOLS);
  for (guint i = 0; i < 3; i++)
    assert_simple_text (d);
  limited = rpc (d, "test_simple_text", NULL);
  error = rpc_error (limited);
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, 429);
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "test_simple_text"));
  data = json_object_get_object_member (error, "data");
  g_assert_cmpstr (json_object_get_string_member (data, "limit"), ==, "rate");
  g_assert_cmpint (json_object_get_int_member (data, "maxCalls"), ==, 3);
  /* 3 per minute: the next call is some 20 s away. */
  g_assert_cmpint (json_object_get_int_member (data, "retryAfterMs"), >, 10000);
  g_assert_cmpint (json_object_get_int_member (data, "retryAfterMs"), <=, 20000);
  g_assert_cmpint (json_object_get_int_member (data, "retryAfter"), >=, 10);
  /* Another tool has its own budget. */
  other_tool = rpc (d, "test_image_content", NULL);
  cf_harness_rpc_result (other_tool);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  g_subprocess_force_exit (fixture);
  remove_db (db);
}

static void
test_concurrency_limit (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "TOOL_CONCURRENT_LIMIT", "1", "TOOL_RATE_LIMIT", "0", NULL };
  CfDaemonHarness *d = cf_daemon_harness_start (db, env);
  g_autofree char *body = g_strdup_printf ("{\"name\":\"faults\",\"transport\":\"STDIO\","
                                           "\"command\":\"%s\",\"args\":[\"--stdio\",\"--faults\"],"
                                           "\"prefix_mode\":\"never\"}",
                                           g_getenv ("CF_TEST_FIXTURE"));
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  CfHarnessPost *bg;
  g_autoptr(JsonNode) refused = NULL;
  g_autoptr(JsonNode) finished = NULL;
  g_autoptr(JsonNode) again = NULL;
  JsonObject *error, *data;
  gint64 deadline;

  cf_harness_wait_for_tools (d, json_object_get_string_member (gateway, "id"), 7);
  {
    g_autofree char *url = g_strconcat (d->url, "/rpc", NULL);

    bg = cf_harness_post_start (url, "{\"jsonrpc\":\"2.0\",\"id\":9,\"method\":\"tools/call\","
                                "\"params\":{\"name\":\"sleep\",\"arguments\":{\"ms\":5000}}}",
                                NULL);
  }

  /* Wait (bounded) until the slow call runs upstream, as the fixture's
   * stats tool tells (another tool: its limit is its own); meanwhile
   * the next call of the same tool is refused. */
  deadline = g_get_monotonic_time () + WAIT_US;
  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) stats = rpc (d, "stats", NULL);

      if (atoi (cf_harness_first_text (cf_harness_rpc_result (stats))) >= 1)
        break;
      g_usleep (20 * 1000);
    }
  refused = rpc (d, "sleep", "{\"ms\":1}");
  error = rpc_error (refused);
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, 429);
  data = json_object_get_object_member (error, "data");
  g_assert_cmpstr (json_object_get_string_member (data, "limit"), ==, "concurrency");
  g_assert_cmpint (json_object_get_int_member (data, "maxConcurrent"), ==, 1);
  g_assert_cmpint (json_object_get_int_member (data, "retryAfterMs"), >, 0);

  cf_harness_post_join (bg);
  finished = cf_json_parse (bg->text, -1, NULL);
  g_assert_nonnull (finished);
  cf_harness_rpc_result (finished);
  /* The place is given back when the call ends. */
  again = rpc (d, "sleep", "{\"ms\":1}");
  cf_harness_rpc_result (again);

  cf_harness_post_free (bg);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  remove_db (db);
}


static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  char **line = user_data;

  *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                     NULL, NULL);
  if (*line == NULL)
    *line = g_strdup ("");
}

/* Reads @process's standard error, bounded in time, until a line holds
 * @until or the stream ends; returns what was read. */
static char *
read_stderr (GSubprocess *process,
             const char  *until)
{
  g_autoptr(GDataInputStream) lines =
    g_data_input_stream_new (g_subprocess_get_stderr_pipe (process));
  g_autoptr(GString) text = g_string_new (NULL);
  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (WAIT_US / G_USEC_PER_SEC, cf_harness_set_flag, &expired);

  while (!expired)
    {
      g_autofree char *line = NULL;

      g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, &line);
      while (line == NULL && !expired)
        g_main_context_iteration (NULL, TRUE);
      if (line == NULL || *line == '\0')
        break;
      g_string_append_printf (text, "%s\n", line);
      if (until != NULL && strstr (line, until) != NULL)
        break;
    }
  g_assert_false (expired);
  g_source_remove (deadline);
  return g_string_free (g_steal_pointer (&text), FALSE);
}

/* A failed assertion must not leave a gateway behind. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* Starts the binary with @env on top of the test's, its standard error
 * piped. */
static GSubprocess *
spawn_gateway (const char * const *env,
               const char         *db)
{
  g_autoptr(GSubprocessLauncher) launcher =
    g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GError) error = NULL;
  GSubprocess *process;

  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  for (guint i = 0; env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, g_getenv ("CF_TEST_GATEWAY"),
                                         "--daemon", "--no-dbus", "--port", "0", "--db", db,
                                         NULL);
  g_assert_no_error (error);
  return process;
}

/* Runs the binary to its end; returns its exit status and standard error. */
static int
run_gateway (const char * const  *env,
             const char          *db,
             char               **out_stderr)
{
  g_autoptr(GSubprocess) process = spawn_gateway (env, db);
  g_autoptr(GError) error = NULL;

  *out_stderr = read_stderr (process, NULL);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

static void
test_production_refuses_weak_secret (void)
{
  static const char *weak[] = { "changeme", "my-test-key", "short-but-not-a-placeholder", NULL };
  g_autofree char *db = temp_db ();
  g_autofree char *unset_stderr = NULL;
  const char *unset_env[] = { "ENVIRONMENT", "production", "AUTH_REQUIRED", "false", NULL };

  for (guint i = 0; weak[i] != NULL; i++)
    {
      const char *env[] = { "ENVIRONMENT", "production", "AUTH_ENCRYPTION_SECRET", weak[i],
                            "AUTH_REQUIRED", "false", NULL };
      g_autofree char *err = NULL;

      g_assert_cmpint (run_gateway (env, db, &err), ==, 1);
      g_assert_nonnull (strstr (err, "AUTH_ENCRYPTION_SECRET"));
      g_assert_nonnull (strstr (err, "openssl rand -base64 32"));
      assert_no_secret_in (err, weak[i], "the refusal");
    }
  g_assert_cmpint (run_gateway (unset_env, db, &unset_stderr), ==, 1);
  g_assert_nonnull (strstr (unset_stderr, "AUTH_ENCRYPTION_SECRET is not set"));
  remove_db (db);
}

/* Development starts with a weak secret, and says so. */
static void
test_development_warns (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "ENVIRONMENT", "development", "AUTH_ENCRYPTION_SECRET", "changeme",
                        "AUTH_REQUIRED", "false", NULL };
  g_autoptr(GSubprocess) process = spawn_gateway (env, db);
  g_autofree char *err = read_stderr (process, "AUTH_ENCRYPTION_SECRET");
  g_autoptr(GError) error = NULL;

  g_assert_nonnull (strstr (err, "warning"));
  g_assert_nonnull (strstr (err, "placeholder"));
  g_assert_nonnull (strstr (err, "openssl rand -base64 32"));
  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  remove_db (db);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/security/credentials/reach-upstream", test_credentials_reach_upstream);
  g_test_add_func ("/security/credentials/wrong", test_wrong_credentials);
  g_test_add_func ("/security/credentials/rest-tool", test_rest_tool_credentials);
  g_test_add_func ("/security/ssrf/registration", test_ssrf_registration);
  g_test_add_func ("/security/ssrf/name-resolving-to-loopback",
                   test_ssrf_name_resolving_to_loopback);
  g_test_add_func ("/security/headers-and-cors", test_headers_and_cors);
  g_test_add_func ("/security/limits/rate", test_rate_limit);
  g_test_add_func ("/security/limits/concurrency", test_concurrency_limit);
  g_test_add_func ("/security/secret/production-refuses-weak", test_production_refuses_weak_secret);
  g_test_add_func ("/security/secret/development-warns", test_development_warns);

  return g_test_run ();
}
