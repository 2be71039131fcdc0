/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <signal.h>
#include <sqlite3.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"
#include "cf-jwt.h"

/* Authentication as a client of the contextforge-gateway binary meets it:
 * 401s that say where to find the authorization server, the RFC 9728
 * documents, login and the token's use on REST and MCP, logout, lockout,
 * the bootstrap admin's one-time password, Basic, other algorithms, bad
 * settings, and the official MCP SDK's client with and without a token. */

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "Integration-Admin-Password-1!"
#define SECRET "integration-secret-0123456789abcdef0123456789"
#define PRM "/.well-known/oauth-protected-resource"
#define INITIALIZE \
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{" \
  "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}," \
  "\"clientInfo\":{\"name\":\"test-auth\",\"version\":\"1\"}}}"
#define NODE_TIMEOUT_S 60
#define STDERR_TIMEOUT_S 60

static char *
temp_dir (void)
{
  char *dir = g_dir_make_tmp ("cf-auth-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return dir;
}

static char *
temp_db (void)
{
  g_autofree char *dir = temp_dir ();

  return g_build_filename (dir, "gateway.db", NULL);
}

/* A daemon with authentication on, a known admin password and a known
 * signing secret; @more: further name, value pairs. */
static CfDaemonHarness *
start_with_auth (const char         *db,
                 const char * const *more)
{
  return cf_daemon_harness_start_auth (db, ADMIN_PASSWORD, SECRET, more);
}

static JsonNode *
login_response (CfDaemonHarness *d,
                const char      *route,
                const char      *email,
                const char      *password,
                guint           *status)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *text = NULL;

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "email");
  json_builder_add_string_value (builder, email);
  json_builder_set_member_name (builder, "password");
  json_builder_add_string_value (builder, password);
  json_builder_end_object (builder);
  body = json_builder_get_root (builder);
  text = cf_json_to_string (body, NULL);
  return cf_harness_request (d, "POST", route, text, NULL, status, NULL);
}

static char *
login (CfDaemonHarness *d,
       const char      *password)
{
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  response = login_response (d, "/auth/email/login", ADMIN, password, &status);
  if (status != 200)
    g_error ("login answered %u: %s", status, response ? cf_json_to_string (response, NULL) : "");
  return g_strdup (json_object_get_string_member (json_node_get_object (response),
                                                  "access_token"));
}

static const char *
detail (JsonNode *body)
{
  g_assert_nonnull (body);
  return json_object_get_string_member (json_node_get_object (body), "detail");
}

static void
assert_challenge (CfDaemonHarness    *d,
                  SoupMessageHeaders *headers,
                  const char         *suffix,
                  gboolean            invalid_token)
{
  const char *challenge = soup_message_headers_get_list (headers, "WWW-Authenticate");
  g_autofree char *expected = g_strdup_printf ("Bearer resource_metadata=\"%s" PRM "%s\"",
                                               d->url, suffix);

  g_assert_nonnull (challenge);
  if (!g_str_has_prefix (challenge, expected))
    g_error ("WWW-Authenticate: %s; expected it to start with %s", challenge, expected);
  g_assert_true ((strstr (challenge, "error=\"invalid_token\"") != NULL) == invalid_token);
}

static void
test_unauthorized (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = start_with_auth (db, NULL);
  static const struct {
    const char *method;
    const char *path;
    const char *body;
    const char *suffix;
  } routes[] = {
    { "GET", "/v1/tools", NULL, "" },
    { "POST", "/v1/tools", "{\"tool\":{\"name\":\"x\",\"url\":\"http://127.0.0.1:9/\"}}", "" },
    { "GET", "/version", NULL, "" },
    { "GET", "/auth/email/me", NULL, "" },
    { "POST", "/mcp", INITIALIZE, "/mcp" },
    { "POST", "/rpc", INITIALIZE, "/rpc" },
    { "POST", "/servers/abc/mcp", INITIALIZE, "/servers/abc/mcp" },
    { "GET", "/sse", NULL, "/sse" },
  };
  static const char * const open_paths[] = { "/health", "/ready", PRM, NULL };
  guint status = 0;

  for (guint i = 0; i < G_N_ELEMENTS (routes); i++)
    {
      g_autoptr(SoupMessageHeaders) headers = NULL;
      g_autoptr(JsonNode) body = cf_harness_request (d, routes[i].method, routes[i].path,
                                                     routes[i].body, NULL, &status, &headers);

      g_test_message ("%s %s", routes[i].method, routes[i].path);
      g_assert_cmpuint (status, ==, 401);
      g_assert_cmpstr (detail (body), ==, "Not authenticated");
      g_assert_cmpstr (soup_message_headers_get_content_type (headers, NULL), ==,
                       "application/json");
      assert_challenge (d, headers, routes[i].suffix, FALSE);
    }

  /* A credential that is there but wrong says why. */
  {
    const char *bad[] = { "Bearer abc.def.ghi", "Bearer ", "Token x", "Basic YWRtaW46Y2hhbmdlbWU=" };

    for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
      {
        const char *headers_in[] = { "Authorization", bad[i], NULL };
        g_autoptr(SoupMessageHeaders) headers = NULL;
        g_autoptr(JsonNode) body = cf_harness_request (d, "GET", "/v1/tools", NULL, headers_in,
                                                       &status, &headers);

        g_assert_cmpuint (status, ==, 401);
        assert_challenge (d, headers, "", TRUE);
        g_assert_nonnull (detail (body));
      }
  }

  for (guint i = 0; open_paths[i] != NULL; i++)
    {
      g_autoptr(JsonNode) body = cf_harness_request (d, "GET", open_paths[i], NULL, NULL, &status,
                                                     NULL);

      g_assert_cmpuint (status, !=, 401);
      g_assert_cmpuint (status, <, 500);
    }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
assert_metadata (CfDaemonHarness *d,
                 const char      *suffix)
{
  g_autofree char *path = g_strconcat (PRM, suffix, NULL);
  g_autofree char *resource = g_strconcat (d->url, suffix, NULL);
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autoptr(JsonNode) body = NULL;
  JsonObject *metadata;
  JsonArray *servers;
  guint status = 0;

  body = cf_harness_request (d, "GET", path, NULL, NULL, &status, &headers);
  g_assert_cmpuint (status, ==, 200);
  metadata = json_node_get_object (body);
  g_assert_cmpstr (json_object_get_string_member (metadata, "resource"), ==, resource);
  servers = json_object_get_array_member (metadata, "authorization_servers");
  g_assert_cmpuint (json_array_get_length (servers), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (servers, 0), ==, d->url);
  g_assert_cmpstr (json_array_get_string_element (
                     json_object_get_array_member (metadata, "bearer_methods_supported"), 0),
                   ==, "header");
  g_assert_nonnull (soup_message_headers_get_one (headers, "Cache-Control"));
}

static void
test_well_known (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *token = login (d, ADMIN_PASSWORD);
  g_autofree char *scoped = NULL;
  g_autoptr(JsonNode) server = NULL;
  guint status = 0;
  static const char * const missing[] = {
    PRM "/servers/no-such-server/mcp", PRM "/v1/tools", PRM "/mcp/extra", "/.well-known/robots.txt",
    "/.well-known/oauth-authorization-server", NULL
  };

  assert_metadata (d, "");
  assert_metadata (d, "/mcp");
  assert_metadata (d, "/sse");

  /* Each virtual server is a protected resource of its own. */
  server = cf_harness_call (d, "POST", "/v1/servers", "{\"server\":{\"name\":\"scoped\"}}",
                            token, &status, NULL);
  g_assert_cmpuint (status, ==, 201);
  scoped = g_strdup_printf ("/servers/%s/mcp",
                            json_object_get_string_member (json_node_get_object (server), "id"));
  assert_metadata (d, scoped);

  for (guint i = 0; missing[i] != NULL; i++)
    {
      g_autoptr(JsonNode) body = cf_harness_request (d, "GET", missing[i], NULL, NULL, &status,
                                                     NULL);

      g_test_message ("%s", missing[i]);
      g_assert_cmpuint (status, ==, 404);
    }
  {
    g_autoptr(JsonNode) body = cf_harness_request (d, "POST", PRM, "{}", NULL, &status, NULL);

    g_assert_cmpuint (status, ==, 405);
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_login_flow (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autoptr(JsonNode) response = NULL;
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autofree char *token = NULL;
  g_autofree char *second = NULL;
  JsonObject *object;
  JsonObject *user;
  guint status = 0;

  /* Bad requests, then bad credentials. */
  response = cf_harness_request (d, "POST", "/auth/email/login", "{\"email\":\"" ADMIN "\"}",
                                 NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 422);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (
                       json_array_get_object_element (json_object_get_array_member (
                           json_node_get_object (response), "detail"), 0), "loc"), 1),
                   ==, "password");
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_request (d, "POST", "/auth/email/login", "[not json", NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 422);
  g_clear_pointer (&response, json_node_unref);
  response = login_response (d, "/auth/email/login", "admin", ADMIN_PASSWORD, &status);
  g_assert_cmpuint (status, ==, 422);
  g_clear_pointer (&response, json_node_unref);
  response = login_response (d, "/auth/email/login", ADMIN, "Wrong-Password-Here-1!", &status);
  g_assert_cmpuint (status, ==, 401);
  g_assert_cmpstr (detail (response), ==, "Invalid email or password");
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_request (d, "GET", "/auth/email/login", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 405);
  g_clear_pointer (&response, json_node_unref);

  /* ContextForge's AuthenticationResponse. */
  response = login_response (d, "/auth/email/login", ADMIN, ADMIN_PASSWORD, &status);
  g_assert_cmpuint (status, ==, 200);
  object = json_node_get_object (response);
  token = g_strdup (json_object_get_string_member (object, "access_token"));
  g_assert_cmpstr (json_object_get_string_member (object, "token_type"), ==, "bearer");
  g_assert_cmpint (json_object_get_int_member (object, "expires_in"), ==, 1200);
  user = json_object_get_object_member (object, "user");
  g_assert_cmpstr (json_object_get_string_member (user, "email"), ==, ADMIN);
  g_assert_true (json_object_get_boolean_member (user, "is_admin"));
  g_clear_pointer (&response, json_node_unref);

  /* /auth/login also takes the address as "username". */
  response = cf_harness_request (d, "POST", "/auth/login",
                                 "{\"username\":\"" ADMIN "\",\"password\":\"" ADMIN_PASSWORD "\"}",
                                 NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  second = g_strdup (json_object_get_string_member (json_node_get_object (response),
                                                    "access_token"));
  g_clear_pointer (&response, json_node_unref);

  /* The token opens REST... */
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, token, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (response));
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_call (d, "GET", "/auth/email/me", NULL, token, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (response), "email"), ==,
                   ADMIN);
  g_assert_false (json_object_has_member (json_node_get_object (response), "password_hash"));
  g_clear_pointer (&response, json_node_unref);

  /* ...and MCP, session and all. */
  response = cf_harness_call (d, "POST", "/mcp", INITIALIZE, token, &status, &headers);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (cf_harness_rpc_result (response));
  g_assert_nonnull (soup_message_headers_get_one (headers, "Mcp-Session-Id"));
  g_clear_pointer (&response, json_node_unref);
  {
    g_autofree char *bearer = g_strconcat ("Bearer ", token, NULL);
    const char *more[] = { "Authorization", bearer,
                           "Mcp-Session-Id", soup_message_headers_get_one (headers, "Mcp-Session-Id"),
                           "MCP-Protocol-Version", "2025-11-25", NULL };

    response = cf_harness_request (d, "POST", "/mcp",
                                   "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/list\"}",
                                   more, &status, NULL);
    g_assert_cmpuint (status, ==, 200);
    g_assert_nonnull (cf_harness_rpc_result (response));
    g_clear_pointer (&response, json_node_unref);
  }

  /* Changing the password: the old one must be right, the new one strong. */
  response = cf_harness_call (d, "POST", "/auth/email/change-password",
                              "{\"old_password\":\"Wrong-Password-Here-1!\","
                              "\"new_password\":\"A-New-Admin-Password-12345!\"}",
                              token, &status, NULL);
  g_assert_cmpuint (status, ==, 401);
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_call (d, "POST", "/auth/email/change-password",
                              "{\"old_password\":\"" ADMIN_PASSWORD "\",\"new_password\":\"weak\"}",
                              token, &status, NULL);
  g_assert_cmpuint (status, ==, 400);
  g_clear_pointer (&response, json_node_unref);

  /* Logout revokes that one token, for good. */
  response = cf_harness_call (d, "POST", "/auth/logout", NULL, token, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  g_clear_pointer (&headers, soup_message_headers_unref);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, token, &status, &headers);
  g_assert_cmpuint (status, ==, 401);
  g_assert_cmpstr (detail (response), ==, "Token has been revoked");
  assert_challenge (d, headers, "", TRUE);
  g_clear_pointer (&response, json_node_unref);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);

  d = start_with_auth (db, NULL);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, token, &status, NULL);
  g_assert_cmpuint (status, ==, 401);
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, second, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static char *
sqlite_single (const char *db_path,
               const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *text = NULL;

  g_assert_cmpint (sqlite3_open (db_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (sqlite3_step (stmt) == SQLITE_ROW && sqlite3_column_text (stmt, 0) != NULL)
    text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}

static void
test_lockout (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *failures = NULL;
  g_autofree char *locked = NULL;
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  /* ContextForge's default: five failures in a row. */
  for (guint i = 0; i < 5; i++)
    {
      g_autoptr(JsonNode) failed = login_response (d, "/auth/email/login", ADMIN,
                                                   "Wrong-Password-Here-1!", &status);

      g_assert_cmpuint (status, ==, 401);
    }
  response = login_response (d, "/auth/email/login", ADMIN, ADMIN_PASSWORD, &status);
  g_assert_cmpuint (status, ==, 401);
  g_assert_cmpstr (detail (response), ==, "Invalid email or password");
  failures = sqlite_single (db, "SELECT failed_login_attempts FROM email_users");
  locked = sqlite_single (db, "SELECT locked_until FROM email_users");
  g_assert_cmpstr (failures, ==, "5");
  g_assert_nonnull (locked);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* The bootstrap admin's generated password */

typedef struct {
  GDataInputStream *lines;
  char             *line;
  gboolean          done;
} LineRead;

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  LineRead *read = user_data;

  read->line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                          NULL, NULL);
  read->done = TRUE;
}


/* The next line, NULL at the end; fails the test after @timeout_s. */
static char *
read_line (GDataInputStream *lines,
           guint             timeout_s)
{
  LineRead read = { lines, NULL, FALSE };
  gboolean expired = FALSE;
  guint deadline = g_timeout_add_seconds (timeout_s, cf_harness_set_flag, &expired);

  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, &read);
  while (!read.done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  g_assert_true (read.done);
  return read.line;
}

typedef struct {
  CfDaemonHarness  *daemon;
  GDataInputStream *err;
} Spawned;

/* Started by hand, to read its standard error. */
static void
spawn_reading_stderr (const char *db,
                      Spawned    *out)
{
  const char *binary = g_getenv ("CF_TEST_GATEWAY");
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  CfDaemonHarness *d = g_new0 (CfDaemonHarness, 1);

  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_unsetenv (launcher, "PLATFORM_ADMIN_PASSWORD");
  g_subprocess_launcher_setenv (launcher, "AUTH_REQUIRED", "true", TRUE);
  g_subprocess_launcher_setenv (launcher, "JWT_SECRET_KEY", SECRET, TRUE);
  d->process = g_subprocess_launcher_spawn (launcher, &error, binary, "--daemon", "--no-dbus",
                                            "--port", "0", "--db", db, NULL);
  g_assert_no_error (error);
  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (d->process));
  d->url = read_line (lines, STDERR_TIMEOUT_S);
  g_assert_nonnull (d->url);
  g_assert_true (g_str_has_prefix (d->url, "http://127.0.0.1:"));
  d->db_path = g_strdup (db);
  d->http = soup_session_new_with_options ("timeout", 30, NULL);
  out->daemon = d;
  out->err = g_data_input_stream_new (g_subprocess_get_stderr_pipe (d->process));
}

/* Everything the daemon writes on stderr until it exits. */
static char *
stop_reading_stderr (Spawned *spawned)
{
  g_autoptr(GString) rest = g_string_new (NULL);
  char *line;

  g_subprocess_send_signal (spawned->daemon->process, SIGTERM);
  while ((line = read_line (spawned->err, STDERR_TIMEOUT_S)) != NULL)
    {
      g_string_append_printf (rest, "%s\n", line);
      g_free (line);
    }
  g_subprocess_wait (spawned->daemon->process, NULL, NULL);
  g_assert_cmpint (g_subprocess_get_exit_status (spawned->daemon->process), ==, 0);
  g_clear_object (&spawned->err);
  cf_daemon_harness_free (g_steal_pointer (&spawned->daemon));
  return g_string_free (g_steal_pointer (&rest), FALSE);
}

static void
test_bootstrap_password (void)
{
  g_autofree char *db = temp_db ();
  g_autofree char *password = NULL;
  g_autofree char *token = NULL;
  g_autofree char *rest = NULL;
  g_autofree char *second_run = NULL;
  g_autoptr(JsonNode) response = NULL;
  g_autoptr(SoupMessageHeaders) headers = NULL;
  const char *new_password = "Chosen-Admin-Password-2026!";
  g_autofree char *change_body = NULL;
  Spawned spawned = { NULL, NULL };
  guint status = 0;
  char *line;

  spawn_reading_stderr (db, &spawned);
  /* The announcement, then the password on a line of its own. */
  while ((line = read_line (spawned.err, STDERR_TIMEOUT_S)) != NULL)
    {
      gboolean announced = strstr (line, "with the generated password") != NULL;

      g_free (line);
      if (announced)
        break;
    }
  password = read_line (spawned.err, STDERR_TIMEOUT_S);
  g_assert_nonnull (password);
  g_strstrip (password);
  g_assert_cmpuint (strlen (password), >=, 22);

  /* The bootstrap admin must change it before /auth/email/login issues a
   * token; /auth/login does, for the change itself. */
  response = login_response (spawned.daemon, "/auth/email/login", ADMIN, password, &status);
  g_assert_cmpuint (status, ==, 403);
  g_clear_pointer (&response, json_node_unref);
  {
    g_autofree char *body = g_strdup_printf ("{\"email\":\"%s\",\"password\":\"%s\"}", ADMIN,
                                             password);

    response = cf_harness_request (spawned.daemon, "POST", "/auth/email/login", body, NULL,
                                   &status, &headers);
    g_assert_cmpuint (status, ==, 403);
    g_assert_cmpstr (soup_message_headers_get_one (headers, "X-Password-Change-Required"), ==,
                     "true");
    g_clear_pointer (&response, json_node_unref);
  }
  response = login_response (spawned.daemon, "/auth/login", ADMIN, password, &status);
  g_assert_cmpuint (status, ==, 200);
  token = g_strdup (json_object_get_string_member (json_node_get_object (response),
                                                   "access_token"));
  g_clear_pointer (&response, json_node_unref);
  change_body = g_strdup_printf ("{\"old_password\":\"%s\",\"new_password\":\"%s\"}",
                                 password, new_password);
  response = cf_harness_call (spawned.daemon, "POST", "/auth/email/change-password", change_body,
                              token, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  response = login_response (spawned.daemon, "/auth/email/login", ADMIN, new_password, &status);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);

  /* Printed once: not again on this run, nor on the next. */
  rest = stop_reading_stderr (&spawned);
  g_assert_null (strstr (rest, password));
  spawn_reading_stderr (db, &spawned);
  response = login_response (spawned.daemon, "/auth/email/login", ADMIN, new_password, &status);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  second_run = stop_reading_stderr (&spawned);
  g_assert_null (strstr (second_run, "generated password"));
  g_assert_null (strstr (second_run, password));
}

static void
test_anonymous (void)
{
  g_autofree char *db = temp_db ();
  /* The harness's default: AUTH_REQUIRED=false. */
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  response = cf_harness_request (d, "GET", "/v1/tools", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_request (d, "POST", "/mcp", INITIALIZE, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  /* A bad token is still refused, and the anonymous user has no profile. */
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, "not-a-token", &status, NULL);
  g_assert_cmpuint (status, ==, 401);
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_request (d, "GET", "/auth/email/me", NULL, NULL, &status, NULL);
  g_assert_cmpuint (status, ==, 401);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_basic (void)
{
  g_autofree char *db = temp_db ();
  const char *env[] = { "API_ALLOW_BASIC_AUTH", "true", "BASIC_AUTH_USER", "ops",
                        "BASIC_AUTH_PASSWORD", "Basic-Password-1!", NULL };
  CfDaemonHarness *d = start_with_auth (db, env);
  g_autofree char *good = g_base64_encode ((const guchar *) "ops:Basic-Password-1!", 21);
  g_autofree char *bad = g_base64_encode ((const guchar *) "ops:basic-password-1!", 21);
  g_autofree char *good_header = g_strconcat ("Basic ", good, NULL);
  g_autofree char *bad_header = g_strconcat ("Basic ", bad, NULL);
  const char *good_auth[] = { "Authorization", good_header, NULL };
  const char *bad_auth[] = { "Authorization", bad_header, NULL };
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  response = cf_harness_request (d, "GET", "/v1/tools", NULL, good_auth, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_request (d, "GET", "/v1/tools", NULL, bad_auth, &status, &headers);
  g_assert_cmpuint (status, ==, 401);
  g_assert_nonnull (strstr (soup_message_headers_get_list (headers, "WWW-Authenticate"),
                            "Basic realm="));

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
expect_refusal (const char         *db,
                const char * const *env,
                const char         *message)
{
  const char *binary = g_getenv ("CF_TEST_GATEWAY");
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (
      G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_setenv (launcher, "JWT_SECRET_KEY", SECRET, TRUE);
  for (guint i = 0; env[i] != NULL; i += 2)
    g_subprocess_launcher_setenv (launcher, env[i], env[i + 1], TRUE);
  process = g_subprocess_launcher_spawn (launcher, &error, binary, "--daemon", "--no-dbus",
                                         "--port", "0", "--db", db, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, &out, &err, &error);
  g_assert_no_error (error);
  g_assert_cmpint (g_subprocess_get_exit_status (process), ==, 1);
  if (strstr (err, message) == NULL)
    g_error ("expected \"%s\" from the gateway, got: %s", message, err);
  g_assert_cmpstr (out, ==, "");
}

static void
test_bad_settings (void)
{
  g_autofree char *db = temp_db ();
  const char *none[] = { "JWT_ALGORITHM", "none", NULL };
  const char *hs512[] = { "JWT_ALGORITHM", "HS512", NULL };
  const char *rs_no_keys[] = { "JWT_ALGORITHM", "RS256", NULL };
  const char *missing_key[] = { "JWT_ALGORITHM", "ES256", "JWT_PUBLIC_KEY_PATH", "/nonexistent.pem",
                                NULL };
  const char *short_secret[] = { "JWT_SECRET_KEY", "changeme", NULL };
  const char *weak_admin[] = { "PLATFORM_ADMIN_PASSWORD", "changeme", NULL };
  const char *basic[] = { "API_ALLOW_BASIC_AUTH", "true", NULL };
  const char *required[] = { "AUTH_REQUIRED", "perhaps", NULL };
  const char *production[] = { "ENVIRONMENT", "production", "JWT_SECRET_KEY", "",
                               "AUTH_ENCRYPTION_SECRET",
                               "q3X0mYtX4m3iQmHk9w2c1Zt8gY6o0bQf7S9aR2uV5xE=", NULL };

  expect_refusal (db, none, "JWT_ALGORITHM=none");
  expect_refusal (db, hs512, "JWT_ALGORITHM=HS512");
  expect_refusal (db, rs_no_keys, "JWT_PUBLIC_KEY_PATH");
  expect_refusal (db, missing_key, "/nonexistent.pem");
  expect_refusal (db, short_secret, "at least 32 bytes");
  expect_refusal (db, weak_admin, "PLATFORM_ADMIN_PASSWORD");
  expect_refusal (db, basic, "BASIC_AUTH_PASSWORD");
  expect_refusal (db, required, "AUTH_REQUIRED=perhaps");
  expect_refusal (db, production, "JWT_SECRET_KEY");
}

/* Other algorithms, from key files */

static void
write_pem (const char     *path,
           gnutls_datum_t *datum)
{
  g_autoptr(GError) error = NULL;

  g_file_set_contents (path, (const char *) datum->data, datum->size, &error);
  g_assert_no_error (error);
  gnutls_free (datum->data);
}

static void
generate_key_files (gnutls_pk_algorithm_t  pk,
                    unsigned int           bits,
                    const char            *private_path,
                    const char            *public_path)
{
  gnutls_privkey_t key;
  gnutls_x509_privkey_t x509;
  gnutls_pubkey_t pub;
  gnutls_datum_t datum;

  g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (key, pk, bits, 0), ==, 0);
  g_assert_cmpint (gnutls_privkey_export_x509 (key, &x509), ==, 0);
  g_assert_cmpint (gnutls_x509_privkey_export2 (x509, GNUTLS_X509_FMT_PEM, &datum), ==, 0);
  write_pem (private_path, &datum);
  g_assert_cmpint (gnutls_pubkey_init (&pub), ==, 0);
  g_assert_cmpint (gnutls_pubkey_import_privkey (pub, key, 0, 0), ==, 0);
  g_assert_cmpint (gnutls_pubkey_export2 (pub, GNUTLS_X509_FMT_PEM, &datum), ==, 0);
  write_pem (public_path, &datum);
  gnutls_pubkey_deinit (pub);
  gnutls_x509_privkey_deinit (x509);
  gnutls_privkey_deinit (key);
}

/* An HS256 token whose HMAC key is the gateway's public key. */
static char *
forge_with_public_key (const char *token,
                       const char *public_path)
{
  g_autofree char *pem = NULL;
  g_autofree char *header = cf_base64url_encode ((const guint8 *) "{\"alg\":\"HS256\"}", 15);
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);
  g_autofree char *input = g_strconcat (header, ".", parts[1], NULL);
  g_autofree char *signature = NULL;
  gsize length = 0;
  guint8 digest[32];

  g_assert_true (g_file_get_contents (public_path, &pem, &length, NULL));
  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA256, pem, length, input, strlen (input),
                                     digest), ==, 0);
  signature = cf_base64url_encode (digest, sizeof digest);
  return g_strconcat (input, ".", signature, NULL);
}

static void
run_with_keys (const char            *algorithm,
               gnutls_pk_algorithm_t  pk,
               unsigned int           bits,
               gboolean               with_public)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  g_autofree char *private_path = g_build_filename (dir, "jwt.key", NULL);
  g_autofree char *public_path = g_build_filename (dir, "jwt.pub", NULL);
  const char *env[] = { "JWT_ALGORITHM", algorithm, "JWT_PRIVATE_KEY_PATH", private_path,
                        with_public ? "JWT_PUBLIC_KEY_PATH" : NULL, public_path, NULL };
  CfDaemonHarness *d;
  g_autofree char *token = NULL;
  g_autofree char *header = NULL;
  g_autofree char *forged = NULL;
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;
  gsize length = 0;

  generate_key_files (pk, bits, private_path, public_path);
  d = start_with_auth (db, env);
  token = login (d, ADMIN_PASSWORD);
  header = (char *) cf_base64url_decode (token, strchr (token, '.') - token, &length);
  g_assert_nonnull (strstr (header, algorithm));
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, token, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_clear_pointer (&response, json_node_unref);

  forged = forge_with_public_key (token, public_path);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, forged, &status, NULL);
  g_assert_cmpuint (status, ==, 401);
  g_assert_nonnull (strstr (detail (response), "algorithm"));

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_es256 (void)
{
  run_with_keys ("ES256", GNUTLS_PK_ECDSA, GNUTLS_CURVE_TO_BITS (GNUTLS_ECC_CURVE_SECP256R1), TRUE);
}

static void
test_rs256 (void)
{
  /* The private key alone: the gateway derives the public one. */
  run_with_keys ("RS256", GNUTLS_PK_RSA, 2048, FALSE);
}

/* The official SDK's client */

typedef struct {
  char     *out;
  char     *err;
  gboolean  done;
} Communicated;

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Communicated *c = user_data;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->out, &c->err, NULL);
  c->done = TRUE;
}

static char *
npm_path (const char *relative)
{
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  char *path;

  g_assert_nonnull (npm_dir);
  path = g_build_filename (npm_dir, "node_modules", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/npm` (the README's test command does)",
             path);
  return path;
}

static void
test_sdk_client (void)
{
  g_autofree char *db = temp_db ();
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *token = login (d, ADMIN_PASSWORD);
  g_autofree char *node = npm_path (".bin/node");
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "integration", "auth-client.mjs",
                                                   NULL);
  g_autofree char *endpoint = g_strconcat (d->url, "/mcp", NULL);
  g_autofree char *metadata_url = g_strconcat (d->url, PRM "/mcp", NULL);
  const char *argv[] = { node, script, d->url, token, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(JsonNode) tool = NULL;
  g_autoptr(JsonNode) report = NULL;
  g_autoptr(GError) error = NULL;
  Communicated c = { NULL, NULL, FALSE };
  gboolean expired = FALSE;
  guint deadline;
  JsonObject *seen;
  JsonObject *anonymous;
  guint status = 0;

  tool = cf_harness_call (d, "POST", "/v1/tools",
                          "{\"tool\":{\"name\":\"lookup\",\"url\":\"http://127.0.0.1:9/\"}}",
                          token, &status, NULL);
  g_assert_cmpuint (status, ==, 201);

  process = cf_harness_spawnv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated, &c);
  deadline = g_timeout_add_seconds (NODE_TIMEOUT_S, cf_harness_set_flag, &expired);
  while (!c.done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  else
    g_subprocess_force_exit (process);
  g_assert_true (c.done);
  g_subprocess_wait (process, NULL, NULL);
  if (g_subprocess_get_exit_status (process) != 0)
    g_error ("auth-client.mjs failed:\n%s", c.err);

  report = cf_json_parse (c.out, -1, &error);
  g_assert_no_error (error);
  seen = json_node_get_object (report);
  /* Without a token: 401, and the challenge the SDK parses... */
  g_assert_cmpint (json_object_get_int_member (seen, "status"), ==, 401);
  g_assert_cmpstr (json_object_get_string_member (seen, "resourceMetadataUrl"), ==, metadata_url);
  /* ...leads to a valid document, by the header and by discovery... */
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (seen, "metadata"),
                                                  "resource"), ==, endpoint);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (seen,
                                                                                 "discovered"),
                                                  "resource"), ==, endpoint);
  g_assert_cmpstr (json_object_get_string_member (seen, "selectedResource"), ==, endpoint);
  /* ...the SDK client fails with 401 without the token, works with it. */
  anonymous = json_object_get_object_member (seen, "anonymous");
  g_assert_false (json_object_get_boolean_member (anonymous, "connected"));
  g_assert_cmpint (json_object_get_int_member (anonymous, "code"), ==, 401);
  g_assert_cmpstr (json_array_get_string_element (json_object_get_array_member (seen, "tools"), 0),
                   ==, "lookup");

  g_free (c.out);
  g_free (c.err);
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/auth/unauthorized", test_unauthorized);
  g_test_add_func ("/auth/well-known", test_well_known);
  g_test_add_func ("/auth/login-flow", test_login_flow);
  g_test_add_func ("/auth/lockout", test_lockout);
  g_test_add_func ("/auth/bootstrap-password", test_bootstrap_password);
  g_test_add_func ("/auth/anonymous", test_anonymous);
  g_test_add_func ("/auth/basic", test_basic);
  g_test_add_func ("/auth/bad-settings", test_bad_settings);
  g_test_add_func ("/auth/es256", test_es256);
  g_test_add_func ("/auth/rs256", test_rs256);
  g_test_add_func ("/auth/sdk-client", test_sdk_client);

  return g_test_run ();
}
