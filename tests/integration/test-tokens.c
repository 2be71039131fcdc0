/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <sqlite3.h>
#include <string.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"
#include "cf-jwt.h"

/* API tokens against a real gateway over loopback: creation through
 * /v1/tokens and its use on REST and MCP, listing (the token and its
 * hash never shown again), revocation, forged and expired tokens, the
 * IP, time window, server and usage restrictions, the per-identity rate
 * limit, the usage log the batch timer writes, bad requests, RS256, and
 * the token CLI against a running gateway. */

#define ADMIN "admin@example.com"
#define ADMIN_PASSWORD "Integration-Admin-Password-1!"
#define SECRET "integration-secret-0123456789abcdef0123456789"
#define INITIALIZE \
  "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":{" \
  "\"protocolVersion\":\"2025-11-25\",\"capabilities\":{}," \
  "\"clientInfo\":{\"name\":\"test-tokens\",\"version\":\"1\"}}}"
#define PING "{\"jsonrpc\":\"2.0\",\"id\":42,\"method\":\"ping\"}"
/* Bounded waits: the registry polls every 0.5 s, usage is written every
 * second. */
#define WAIT_S 10
#define POLL_MS 100

static char *
temp_dir (void)
{
  char *dir = g_dir_make_tmp ("cf-tokens-XXXXXX", NULL);

  g_assert_nonnull (dir);
  return dir;
}

static CfDaemonHarness *
start_with_auth (const char         *db,
                 const char * const *more)
{
  return cf_daemon_harness_start_auth (db, ADMIN_PASSWORD, SECRET, more);
}

static guint
status_of (CfDaemonHarness *d,
           const char      *method,
           const char      *path,
           const char      *body,
           const char      *token)
{
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  response = cf_harness_call (d, method, path, body, token, &status, NULL);
  return status;
}

static char *
login (CfDaemonHarness *d)
{
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  response = cf_harness_request (d, "POST", "/auth/email/login",
                                 "{\"email\":\"" ADMIN "\",\"password\":\"" ADMIN_PASSWORD "\"}",
                                 NULL, &status, NULL);
  if (status != 200)
    g_error ("login answered %u", status);
  return g_strdup (json_object_get_string_member (json_node_get_object (response),
                                                  "access_token"));
}

static const char *
detail (JsonNode *body)
{
  g_assert_nonnull (body);
  return json_object_get_string_member (json_node_get_object (body), "detail");
}

/* Creates a token; returns the response's "token" object and the raw
 * token in @out_token. */
static JsonObject *
create_token (CfDaemonHarness  *d,
              const char       *session,
              const char       *body,
              char            **out_token)
{
  g_autoptr(JsonNode) response = NULL;
  JsonObject *object;
  guint status = 0;

  response = cf_harness_call (d, "POST", "/v1/tokens", body, session, &status, NULL);
  if (status != 201)
    g_error ("POST /v1/tokens %s answered %u: %s", body, status,
             response ? cf_json_to_string (response, NULL) : "");
  object = json_node_get_object (response);
  *out_token = g_strdup (json_object_get_string_member (object, "access_token"));
  return json_object_ref (json_object_get_object_member (object, "token"));
}

/* The 422 of a bad create request, and the field it names. */
static void
expect_invalid (CfDaemonHarness *d,
                const char      *session,
                const char      *method,
                const char      *path,
                const char      *body,
                const char      *field)
{
  g_autoptr(JsonNode) response = NULL;
  JsonArray *details;
  JsonArray *loc;
  guint status = 0;

  response = cf_harness_call (d, method, path, body, session, &status, NULL);
  if (status != 422)
    g_error ("%s %s %s answered %u, not 422", method, path, body, status);
  details = json_object_get_array_member (json_node_get_object (response), "detail");
  g_assert_cmpuint (json_array_get_length (details), ==, 1);
  loc = json_object_get_array_member (json_array_get_object_element (details, 0), "loc");
  g_assert_cmpstr (json_array_get_string_element (loc, 0), ==, "body");
  if (field != NULL)
    g_assert_cmpstr (json_array_get_string_element (loc, json_array_get_length (loc) - 1), ==,
                     field);
  g_assert_nonnull (json_object_get_string_member (json_array_get_object_element (details, 0),
                                                   "msg"));
}

static JsonObject *
payload_of (const char *token)
{
  g_auto(GStrv) parts = g_strsplit (token, ".", -1);
  g_autofree guint8 *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  gsize length = 0;

  g_assert_cmpuint (g_strv_length (parts), ==, 3);
  json = cf_base64url_decode (parts[1], strlen (parts[1]), &length);
  g_assert_nonnull (json);
  node = cf_json_parse ((const char *) json, length, NULL);
  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static char *
sign (JsonObject *claims)
{
  g_autoptr(CfJwt) jwt = cf_jwt_new_hmac (SECRET, strlen (SECRET), NULL);
  g_autoptr(GError) error = NULL;
  char *token = cf_jwt_sign (jwt, claims, &error);

  g_assert_no_error (error);
  return token;
}

static char *
hash_hex (const char *token)
{
  guint8 digest[32];
  GString *out = g_string_new (NULL);

  g_assert_cmpint (gnutls_hash_fast (GNUTLS_DIG_SHA256, token, strlen (token), digest), ==, 0);
  for (guint i = 0; i < sizeof digest; i++)
    g_string_append_printf (out, "%02x", digest[i]);
  return g_string_free (out, FALSE);
}

static gint64
db_count (const char *db,
          const char *sql,
          const char *param)
{
  sqlite3 *handle = NULL;
  sqlite3_stmt *stmt = NULL;
  gint64 count = -1;

  g_assert_cmpint (sqlite3_open_v2 (db, &handle, SQLITE_OPEN_READONLY, NULL), ==, SQLITE_OK);
  sqlite3_busy_timeout (handle, 5000);
  g_assert_cmpint (sqlite3_prepare_v2 (handle, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  if (param != NULL)
    sqlite3_bind_text (stmt, 1, param, -1, SQLITE_TRANSIENT);
  if (sqlite3_step (stmt) == SQLITE_ROW)
    count = sqlite3_column_int64 (stmt, 0);
  sqlite3_finalize (stmt);
  sqlite3_close (handle);
  return count;
}

/* Waits, bounded, until @sql counts at least @at_least. */
static gint64
wait_count (const char *db,
            const char *sql,
            const char *param,
            gint64      at_least)
{
  gint64 count = 0;

  for (guint i = 0; i < WAIT_S * 1000 / POLL_MS; i++)
    {
      count = db_count (db, sql, param);
      if (count >= at_least)
        break;
      g_usleep (POLL_MS * 1000);
    }
  return count;
}

/* Waits, bounded, until a request answers @expected. */
static guint
wait_status (CfDaemonHarness *d,
             const char      *path,
             const char      *token,
             guint            expected)
{
  guint status = 0;

  for (guint i = 0; i < WAIT_S * 1000 / POLL_MS; i++)
    {
      status = status_of (d, "GET", path, NULL, token);
      if (status == expected)
        break;
      g_usleep (POLL_MS * 1000);
    }
  return status;
}

/* Create, use, list, read, update, usage, revoke */

static void
test_lifecycle (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autofree char *token = NULL;
  g_autofree char *hash = NULL;
  g_autofree char *text = NULL;
  g_autofree char *path = NULL;
  g_autofree char *usage_path = NULL;
  g_autoptr(JsonObject) created = NULL;
  g_autoptr(JsonObject) claims = NULL;
  g_autoptr(JsonNode) response = NULL;
  JsonObject *scopes;
  JsonArray *permissions;
  JsonObject *object;
  const char *id;
  const char *jti;
  guint status = 0;
  gboolean servers_use = FALSE;

  created = create_token (d, session,
                          "{\"name\":\"ci\",\"description\":\"for CI\",\"expires_in_days\":7,"
                          "\"scope\":{\"permissions\":[\"tools.read\"]},\"tags\":[\"ci\"]}",
                          &token);
  id = json_object_get_string_member (created, "id");
  g_assert_nonnull (id);
  g_assert_cmpstr (json_object_get_string_member (created, "name"), ==, "ci");
  g_assert_cmpstr (json_object_get_string_member (created, "user_email"), ==, ADMIN);
  g_assert_true (json_object_get_boolean_member (created, "is_active"));
  g_assert_false (json_object_get_boolean_member (created, "is_revoked"));
  g_assert_nonnull (json_object_get_string_member (created, "expires_at"));
  g_assert_false (json_object_has_member (created, "token_hash"));
  g_assert_false (json_object_has_member (created, "access_token"));

  /* The claims ContextForge's API tokens carry. */
  claims = payload_of (token);
  g_assert_cmpstr (json_object_get_string_member (claims, "token_use"), ==, "api");
  g_assert_cmpstr (json_object_get_string_member (claims, "sub"), ==, ADMIN);
  g_assert_true (json_object_has_member (claims, "exp"));
  g_assert_true (json_object_has_member (claims, "iat"));
  g_assert_true (json_object_has_member (claims, "teams"));
  g_assert_true (JSON_NODE_HOLDS_NULL (json_object_get_member (claims, "teams")));
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (claims, "user"),
                                                  "email"), ==, ADMIN);
  scopes = json_object_get_object_member (claims, "scopes");
  permissions = json_object_get_array_member (scopes, "permissions");
  for (guint i = 0; i < json_array_get_length (permissions); i++)
    servers_use |= g_str_equal (json_array_get_string_element (permissions, i), "servers.use");
  g_assert_true (servers_use);
  jti = json_object_get_string_member (claims, "jti");
  g_assert_nonnull (jti);

  /* It works on REST and on MCP. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 200);
  response = cf_harness_call (d, "POST", "/mcp", INITIALIZE, token, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (cf_harness_rpc_result (response));
  g_clear_pointer (&response, json_node_unref);

  /* Only the hash is stored, and neither it nor the token is shown again. */
  hash = hash_hex (token);
  g_assert_cmpint (db_count (db, "SELECT COUNT (*) FROM email_api_tokens WHERE token_hash = ?1",
                             hash), ==, 1);
  response = cf_harness_call (d, "GET", "/v1/tokens", NULL, session, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  text = cf_json_to_string (response, NULL);
  g_assert_null (strstr (text, token));
  g_assert_null (strstr (text, hash));
  g_assert_null (strstr (text, "token_hash"));
  object = json_node_get_object (response);
  g_assert_cmpint (json_object_get_int_member (object, "total"), ==, 1);
  g_clear_pointer (&response, json_node_unref);
  g_clear_pointer (&text, g_free);
  /* The unversioned alias. */
  g_assert_cmpuint (status_of (d, "GET", "/tokens", NULL, session), ==, 200);

  path = g_strconcat ("/v1/tokens/", id, NULL);
  response = cf_harness_call (d, "GET", path, NULL, session, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (response), "description"),
                   ==, "for CI");
  g_clear_pointer (&response, json_node_unref);

  response = cf_harness_call (d, "PUT", path,
                              "{\"description\":\"renamed\",\"tags\":[\"a\",\"b\"]}", session,
                              &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  object = json_node_get_object (response);
  g_assert_cmpstr (json_object_get_string_member (object, "description"), ==, "renamed");
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (object, "tags")), ==, 2);
  g_clear_pointer (&response, json_node_unref);

  /* The batch timer writes the usage log and last_used. */
  g_assert_cmpint (wait_count (db, "SELECT COUNT (*) FROM token_usage_logs WHERE token_jti = ?1"
                               " AND blocked = 0 AND status_code = 200", jti, 2), >=, 2);
  g_assert_cmpint (wait_count (db, "SELECT COUNT (*) FROM email_api_tokens WHERE jti = ?1"
                               " AND last_used IS NOT NULL", jti, 1), ==, 1);
  usage_path = g_strconcat (path, "/usage", NULL);
  response = cf_harness_call (d, "GET", usage_path, NULL, session, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (response), "total_requests"),
                   >=, 2);
  g_clear_pointer (&response, json_node_unref);

  /* Revocation: 204, then 401 at once. */
  response = cf_harness_call (d, "DELETE", path, NULL, session, &status, NULL);
  g_assert_cmpuint (status, ==, 204);
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, token, &status, NULL);
  g_assert_cmpuint (status, ==, 401);
  g_assert_cmpstr (detail (response), ==, "Token has been revoked");
  g_clear_pointer (&response, json_node_unref);
  g_assert_cmpuint (status_of (d, "POST", "/mcp", PING, token), ==, 401);
  /* Health stays open to any credential. */
  g_assert_cmpuint (status_of (d, "GET", "/health", NULL, token), ==, 200);
  response = cf_harness_call (d, "GET", path, NULL, session, &status, NULL);
  object = json_node_get_object (response);
  g_assert_true (json_object_get_boolean_member (object, "is_revoked"));
  g_assert_false (json_object_get_boolean_member (object, "is_active"));
  g_assert_cmpstr (json_object_get_string_member (object, "revoked_by"), ==, ADMIN);
  g_clear_pointer (&response, json_node_unref);
  g_assert_cmpint (db_count (db, "SELECT COUNT (*) FROM token_revocations WHERE jti = ?1", jti),
                   ==, 1);

  /* Admin views. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tokens/admin/all", NULL, session), ==, 200);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* Tokens the gateway must refuse although their jti is registered. */
/* A token's permissions narrow its user's roles; a PUT that changes them
 * takes effect at once, though the signed claims still name the old
 * ones. */
static void
test_permissions_update (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autofree char *token = NULL;
  g_autofree char *path = NULL;
  g_autoptr(JsonObject) created = create_token (d, session,
                                                "{\"name\":\"narrow\",\"expires_in_days\":1,"
                                                "\"scope\":{\"permissions\":[\"tools.read\"]}}",
                                                &token);

  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 200);
  g_assert_cmpuint (status_of (d, "GET", "/v1/prompts", NULL, token), ==, 403);

  path = g_strconcat ("/v1/tokens/", json_object_get_string_member (created, "id"), NULL);
  g_assert_cmpuint (status_of (d, "PUT", path, "{\"scope\":{\"permissions\":[\"prompts.read\"]}}",
                               session), ==, 200);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 403);
  g_assert_cmpuint (status_of (d, "GET", "/v1/prompts", NULL, token), ==, 200);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_forged (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autofree char *token = NULL;
  g_autoptr(JsonObject) created = create_token (d, session,
                                                "{\"name\":\"victim\",\"expires_in_days\":1}",
                                                &token);
  g_autoptr(JsonObject) claims = payload_of (token);
  gint64 now = g_get_real_time () / G_USEC_PER_SEC;
  struct {
    const char *member;
    JsonNode   *value;
  } changes[] = {
    { "exp", NULL }, { "nbf", NULL }, { "iat", NULL }, { "aud", NULL }, { "iss", NULL },
  };
  g_autofree char *resigned = NULL;
  g_autofree char *tampered = NULL;
  g_autofree char *none = NULL;
  g_autofree char *unknown = NULL;
  g_autoptr(JsonObject) stranger = NULL;

  /* The genuine article works, and a copy re-signed with the secret too. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 200);
  resigned = sign (claims);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, resigned), ==, 200);

  changes[0].value = json_node_init_int (json_node_alloc (), now - 3600);
  changes[1].value = json_node_init_int (json_node_alloc (), now + 3600);
  changes[2].value = json_node_init_int (json_node_alloc (), now + 3600);
  changes[3].value = json_node_init_string (json_node_alloc (), "someone-else");
  changes[4].value = json_node_init_string (json_node_alloc (), "not-the-gateway");
  for (guint i = 0; i < G_N_ELEMENTS (changes); i++)
    {
      g_autoptr(JsonObject) copy = cf_json_object_deep_copy (claims);
      g_autofree char *forged = NULL;

      json_object_set_member (copy, changes[i].member, changes[i].value);
      forged = sign (copy);
      if (status_of (d, "GET", "/v1/tools", NULL, forged) != 401)
        g_error ("a token with a changed %s was accepted", changes[i].member);
      g_assert_cmpuint (status_of (d, "POST", "/mcp", PING, forged), ==, 401);
    }

  /* A changed payload under the old signature. */
  {
    g_auto(GStrv) parts = g_strsplit (token, ".", -1);
    g_autoptr(JsonObject) copy = cf_json_object_deep_copy (claims);
    g_autofree char *json = NULL;
    g_autofree char *payload = NULL;

    json_object_set_string_member (copy, "sub", "mallory@example.com");
    json = cf_json_object_to_string (copy);
    payload = cf_base64url_encode ((const guint8 *) json, strlen (json));
    tampered = g_strconcat (parts[0], ".", payload, ".", parts[2], NULL);
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, tampered), ==, 401);
    g_clear_pointer (&tampered, g_free);
    /* A flipped signature byte. */
    parts[2][4] = parts[2][4] == 'A' ? 'B' : 'A';
    tampered = g_strjoinv (".", parts);
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, tampered), ==, 401);
    /* alg none, no signature. */
    {
      g_autofree char *header = cf_base64url_encode ((const guint8 *) "{\"alg\":\"none\"}", 14);

      none = g_strconcat (header, ".", parts[1], ".", NULL);
      g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, none), ==, 401);
    }
  }

  /* Well signed, but never issued: not in the registry. */
  stranger = cf_json_object_deep_copy (claims);
  json_object_set_string_member (stranger, "jti", "00000000-0000-4000-8000-000000000000");
  unknown = sign (stranger);
  {
    g_autoptr(JsonNode) response = NULL;
    guint status = 0;

    response = cf_harness_call (d, "GET", "/v1/tools", NULL, unknown, &status, NULL);
    g_assert_cmpuint (status, ==, 401);
    g_assert_cmpstr (detail (response), ==, "API token not found");
  }
  /* A session token with the same claims but token_use "session" is a
   * session, not subject to the registry. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, session), ==, 200);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* Requests that must get a 422 naming their fault. */
static void
test_bad_requests (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autofree char *token = NULL;
  g_autofree char *path = NULL;
  g_autoptr(JsonObject) created = NULL;
  g_autoptr(JsonNode) response = NULL;
  guint status = 0;

  expect_invalid (d, session, "POST", "/v1/tokens", "{}", "name");
  expect_invalid (d, session, "POST", "/v1/tokens", "not json", NULL);
  expect_invalid (d, session, "POST", "/v1/tokens", "[1]", NULL);
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":\"\",\"expires_in_days\":1}",
                  "name");
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":5,\"expires_in_days\":1}", "name");
  /* REQUIRE_TOKEN_EXPIRATION is on by default. */
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":\"x\"}", "expires_in_days");
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":\"x\",\"expires_in_days\":0}",
                  "expires_in_days");
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":\"x\",\"expires_in_days\":366}",
                  "expires_in_days");
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":\"x\",\"expires_in_days\":\"3\"}",
                  "expires_in_days");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"ip_restrictions\":"
                  "[\"10.0.0.1/8\"]}}", "ip_restrictions");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"ip_restrictions\":"
                  "[\"example.com\"]}}", "ip_restrictions");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"time_restrictions\":"
                  "{\"start_time\":\"25:00\",\"end_time\":\"26:00\"}}}", "time_restrictions");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"time_restrictions\":"
                  "{\"timezone\":\"Nowhere/Special\"}}}", "time_restrictions");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"server_id\":\"no-such\"}}",
                  "server_id");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"usage_limits\":"
                  "{\"requests_per_hour\":-1}}}", "requests_per_hour");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":{\"permissions\":\"*\"}}",
                  "permissions");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"scope\":[]}", "scope");
  expect_invalid (d, session, "POST", "/v1/tokens",
                  "{\"name\":\"x\",\"expires_in_days\":1,\"is_active\":\"yes\"}", "is_active");

  created = create_token (d, session, "{\"name\":\"dup\",\"expires_in_days\":1}", &token);
  expect_invalid (d, session, "POST", "/v1/tokens", "{\"name\":\"dup\",\"expires_in_days\":1}",
                  "name");
  path = g_strconcat ("/v1/tokens/", json_object_get_string_member (created, "id"), NULL);
  expect_invalid (d, session, "PUT", path, "{\"name\":\"\"}", "name");
  expect_invalid (d, session, "PUT", path, "{\"scope\":{\"ip_restrictions\":[\"1.2.3.4/40\"]}}",
                  "ip_restrictions");

  /* Unknown ids, methods, paths, and no credential. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tokens/no-such-token", NULL, session), ==, 404);
  g_assert_cmpuint (status_of (d, "DELETE", "/v1/tokens/no-such-token", NULL, session), ==, 404);
  g_assert_cmpuint (status_of (d, "PATCH", path, "{}", session), ==, 405);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tokens/a/b/c", NULL, session), ==, 404);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tokens", NULL, NULL), ==, 401);
  response = cf_harness_call (d, "GET", "/v1/tokens/x/usage?days=0", NULL, session, &status, NULL);
  g_assert_cmpuint (status, ==, 422);
  g_clear_pointer (&response, json_node_unref);
  /* Team tokens need a team the caller belongs to (or platform admin:
   * then the team must exist). */
  response = cf_harness_call (d, "POST", "/v1/tokens/teams/no-such-team",
                              "{\"name\":\"t\",\"expires_in_days\":1}", token, &status, NULL);
  g_assert_cmpuint (status, >=, 400);
  g_assert_cmpuint (status, <, 500);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* Team tokens: made by a team owner, scoped to the team by the teams
 * claim, listed per team; and the platform admin's revocation route. */
static void
test_team_tokens (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autofree char *team_id = NULL, *team_path = NULL, *token = NULL, *admin_path = NULL;
  g_autoptr(JsonNode) response = NULL;
  g_autoptr(JsonObject) claims = NULL;
  JsonObject *object;
  JsonArray *teams;
  guint status = 0;

  response = cf_harness_call (d, "POST", "/teams", "{\"name\":\"Token Team\"}", session, &status,
                              NULL);
  g_assert_cmpuint (status, ==, 201);
  team_id = g_strdup (json_object_get_string_member (json_node_get_object (response), "id"));
  g_clear_pointer (&response, json_node_unref);

  team_path = g_strconcat ("/v1/tokens/teams/", team_id, NULL);
  response = cf_harness_call (d, "POST", team_path,
                              "{\"name\":\"team-token\",\"expires_in_days\":1}", session, &status,
                              NULL);
  g_assert_cmpuint (status, ==, 201);
  object = json_node_get_object (response);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (object, "token"),
                                                  "team_id"), ==, team_id);
  token = g_strdup (json_object_get_string_member (object, "access_token"));
  admin_path = g_strconcat ("/v1/tokens/admin/",
                            json_object_get_string_member (json_object_get_object_member (object,
                                                                                          "token"),
                                                           "id"), NULL);
  g_clear_pointer (&response, json_node_unref);
  claims = payload_of (token);
  teams = json_object_get_array_member (claims, "teams");
  g_assert_cmpuint (json_array_get_length (teams), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (teams, 0), ==, team_id);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 200);

  response = cf_harness_call (d, "GET", team_path, NULL, session, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (response), "total"), ==, 1);
  g_clear_pointer (&response, json_node_unref);

  /* The platform admin's route revokes it. */
  g_assert_cmpuint (status_of (d, "DELETE", admin_path, NULL, session), ==, 204);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 401);
  /* An API token without admin.user_management cannot use the admin
   * routes. */
  {
    g_autofree char *plain = NULL;
    g_autoptr(JsonObject) created = create_token (d, session,
                                                  "{\"name\":\"plain\",\"expires_in_days\":1,"
                                                  "\"scope\":{\"permissions\":[\"tools.read\"]}}",
                                                  &plain);

    g_assert_cmpuint (status_of (d, "GET", "/v1/tokens/admin/all", NULL, plain), ==, 403);
  }

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* HH:MM of @time shifted by @minutes. */
static char *
hhmm (GDateTime *time,
      int        minutes)
{
  g_autoptr(GDateTime) shifted = g_date_time_add_minutes (time, minutes);

  return g_date_time_format (shifted, "%H:%M");
}

static char *
scoped_token (CfDaemonHarness *d,
              const char      *session,
              const char      *name,
              const char      *scope)
{
  g_autofree char *body = g_strdup_printf ("{\"name\":\"%s\",\"expires_in_days\":1,"
                                           "\"scope\":%s}", name, scope);
  g_autofree char *token = NULL;
  g_autoptr(JsonObject) created = create_token (d, session, body, &token);

  return g_steal_pointer (&token);
}

static void
test_restrictions (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autoptr(GTimeZone) tokyo = g_time_zone_new_identifier ("Asia/Tokyo");
  g_autoptr(GDateTime) now = g_date_time_new_now (tokyo);
  g_autofree char *from = hhmm (now, -60), *to = hhmm (now, 60);
  g_autofree char *later_from = hhmm (now, 120), *later_to = hhmm (now, 180);
  g_autoptr(GDateTime) window_start = g_date_time_add_minutes (now, -60);
  /* A window that runs past midnight counts from the day it began. */
  static const char * const days[] = { "mon", "tue", "wed", "thu", "fri", "sat", "sun" };
  const char *today = days[g_date_time_get_day_of_week (window_start) - 1];
  g_autofree char *inside = NULL, *outside = NULL, *scope = NULL;
  g_autofree char *local_ip = NULL, *far_ip = NULL, *v6 = NULL;
  g_autofree char *limited = NULL, *scoped = NULL, *server_id = NULL;
  g_autofree char *scoped_mcp = NULL, *scoped_v1 = NULL, *other_mcp = NULL;
  g_autoptr(JsonNode) response = NULL;
  SoupMessageHeaders *headers = NULL;
  JsonObject *error;
  guint status = 0;

  g_assert_nonnull (tokyo);

  /* IP: loopback allowed, a private network not. */
  local_ip = scoped_token (d, session, "local", "{\"ip_restrictions\":[\"127.0.0.1/32\"]}");
  far_ip = scoped_token (d, session, "far", "{\"ip_restrictions\":[\"10.0.0.0/8\"]}");
  v6 = scoped_token (d, session, "v6", "{\"ip_restrictions\":[\"::1/128\"]}");
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, local_ip), ==, 200);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, far_ip, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  g_assert_nonnull (strstr (detail (response), "IP address"));
  g_clear_pointer (&response, json_node_unref);
  /* The gateway listens on 127.0.0.1 only: an IPv6-only token is out. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, v6), ==, 403);

  /* Time windows in Tokyo time: one around now, one later today. */
  scope = g_strdup_printf ("{\"time_restrictions\":{\"start_time\":\"%s\",\"end_time\":\"%s\","
                           "\"timezone\":\"Asia/Tokyo\",\"days\":[\"%s\"]}}", from, to, today);
  inside = scoped_token (d, session, "inside", scope);
  g_clear_pointer (&scope, g_free);
  scope = g_strdup_printf ("{\"time_restrictions\":{\"start_time\":\"%s\",\"end_time\":\"%s\","
                           "\"timezone\":\"Asia/Tokyo\"}}", later_from, later_to);
  outside = scoped_token (d, session, "outside", scope);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, inside), ==, 200);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, outside, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  g_assert_nonnull (strstr (detail (response), "time"));
  g_clear_pointer (&response, json_node_unref);

  /* Server restriction: its own server's endpoints only. */
  response = cf_harness_call (d, "POST", "/v1/servers", "{\"server\":{\"name\":\"scoped\"}}",
                              session, &status, NULL);
  g_assert_cmpuint (status, ==, 201);
  server_id = g_strdup (json_object_get_string_member (json_node_get_object (response), "id"));
  g_clear_pointer (&response, json_node_unref);
  g_clear_pointer (&scope, g_free);
  scope = g_strdup_printf ("{\"server_id\":\"%s\",\"permissions\":[\"servers.use\","
                           "\"servers.read\",\"tools.read\",\"tools.execute\"]}", server_id);
  scoped = scoped_token (d, session, "scoped", scope);
  scoped_mcp = g_strdup_printf ("/servers/%s/mcp", server_id);
  scoped_v1 = g_strdup_printf ("/v1/servers/%s", server_id);
  other_mcp = g_strdup ("/servers/another-server/mcp");
  response = cf_harness_call (d, "POST", scoped_mcp, INITIALIZE, scoped, &status, NULL);
  g_assert_cmpuint (status, ==, 200);
  g_assert_nonnull (cf_harness_rpc_result (response));
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_call (d, "GET", scoped_v1, NULL, scoped, &status, NULL);
  if (status != 200)
    g_error ("GET %s answered %u: %s", scoped_v1, status, detail (response));
  g_clear_pointer (&response, json_node_unref);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, scoped, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  g_assert_cmpstr (detail (response), ==, "Token not authorized for this server");
  g_clear_pointer (&response, json_node_unref);
  g_assert_cmpuint (status_of (d, "POST", other_mcp, PING, scoped), ==, 403);
  response = cf_harness_call (d, "POST", "/mcp", PING, scoped, &status, NULL);
  g_assert_cmpuint (status, ==, 403);
  error = json_object_get_object_member (json_node_get_object (response), "error");
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, -32003);
  g_assert_cmpint (json_object_get_int_member (json_node_get_object (response), "id"), ==, 42);
  g_clear_pointer (&response, json_node_unref);

  /* Usage limits: the fourth request of three an hour is refused. */
  limited = scoped_token (d, session, "limited", "{\"usage_limits\":{\"requests_per_hour\":3}}");
  for (guint i = 0; i < 3; i++)
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, limited), ==, 200);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, limited, &status, &headers);
  g_assert_cmpuint (status, ==, 429);
  g_assert_nonnull (soup_message_headers_get_one (headers, "Retry-After"));
  g_assert_cmpint (g_ascii_strtoll (soup_message_headers_get_one (headers, "Retry-After"), NULL,
                                    10), >, 0);
  g_assert_nonnull (strstr (detail (response), "limit"));
  g_clear_pointer (&response, json_node_unref);
  g_clear_pointer (&headers, soup_message_headers_unref);
  response = cf_harness_call (d, "POST", "/mcp", PING, limited, &status, &headers);
  g_assert_cmpuint (status, ==, 429);
  g_assert_nonnull (soup_message_headers_get_one (headers, "Retry-After"));
  error = json_object_get_object_member (json_node_get_object (response), "error");
  g_assert_cmpint (json_object_get_int_member (error, "code"), ==, 429);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (error, "data"),
                                               "retryAfter"), >, 0);
  g_clear_pointer (&response, json_node_unref);
  g_clear_pointer (&headers, soup_message_headers_unref);

  /* The refusals are logged as blocked. */
  g_assert_cmpint (wait_count (db, "SELECT COUNT (*) FROM token_usage_logs WHERE blocked = 1"
                               " AND block_reason LIKE ?1", "%limit%", 2), >=, 2);
  g_assert_cmpint (wait_count (db, "SELECT COUNT (*) FROM token_usage_logs WHERE blocked = 1"
                               " AND block_reason LIKE ?1", "%IP%", 2), >=, 2);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_user_rate_limit (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  const char *env[] = { "USER_RATE_LIMIT", "5", NULL };
  CfDaemonHarness *d = start_with_auth (db, env);
  g_autofree char *session = login (d);
  g_autoptr(JsonNode) response = NULL;
  SoupMessageHeaders *headers = NULL;
  guint status = 0;
  guint refused = 0;

  for (guint i = 0; i < 5; i++)
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, session), ==, 200);
  response = cf_harness_call (d, "GET", "/v1/tools", NULL, session, &status, &headers);
  g_assert_cmpuint (status, ==, 429);
  g_assert_nonnull (soup_message_headers_get_one (headers, "Retry-After"));
  g_assert_nonnull (detail (response));
  g_clear_pointer (&headers, soup_message_headers_unref);
  g_clear_pointer (&response, json_node_unref);
  /* Also on MCP, as a JSON-RPC error. */
  response = cf_harness_call (d, "POST", "/mcp", PING, session, &status, NULL);
  g_assert_cmpuint (status, ==, 429);
  g_assert_cmpint (json_object_get_int_member (json_object_get_object_member (
                     json_node_get_object (response), "error"), "code"), ==, 429);
  g_clear_pointer (&response, json_node_unref);
  /* Open paths carry no identity and stay open. */
  g_assert_cmpuint (status_of (d, "GET", "/health", NULL, NULL), ==, 200);
  /* Another login of the same user shares the budget. */
  {
    g_autofree char *again = login (d);

    refused = status_of (d, "GET", "/v1/tools", NULL, again);
  }
  g_assert_cmpuint (refused, ==, 429);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

static void
test_bad_setting (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  const char *binary = g_getenv ("CF_TEST_GATEWAY");
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_SILENCE |
                                                                       G_SUBPROCESS_FLAGS_STDERR_PIPE);
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *err = NULL;

  g_subprocess_launcher_setenv (launcher, "USER_RATE_LIMIT", "lots", TRUE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  process = g_subprocess_launcher_spawn (launcher, &error, binary, "--daemon", "--no-dbus",
                                         "--port", "0", "--db", db, NULL);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, NULL, &err, &error);
  g_assert_no_error (error);
  g_assert_false (g_subprocess_get_successful (process));
  g_assert_nonnull (strstr (err, "USER_RATE_LIMIT"));
}

/* RS256: API tokens are signed with the private key, and an HS256 token
 * keyed with the public key (algorithm confusion) is refused. */

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
generate_rsa_files (const char *private_path,
                    const char *public_path)
{
  gnutls_privkey_t key;
  gnutls_x509_privkey_t x509;
  gnutls_pubkey_t pub;
  gnutls_datum_t datum;

  g_assert_cmpint (gnutls_privkey_init (&key), ==, 0);
  g_assert_cmpint (gnutls_privkey_generate (key, GNUTLS_PK_RSA, 2048, 0), ==, 0);
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

static void
test_rs256 (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  g_autofree char *private_path = g_build_filename (dir, "jwt.key", NULL);
  g_autofree char *public_path = g_build_filename (dir, "jwt.pub", NULL);
  const char *env[] = { "JWT_ALGORITHM", "RS256", "JWT_PRIVATE_KEY_PATH", private_path,
                        "JWT_PUBLIC_KEY_PATH", public_path, NULL };
  CfDaemonHarness *d;
  g_autofree char *session = NULL, *token = NULL, *header = NULL, *forged = NULL;
  g_autofree char *pem = NULL, *input = NULL, *signature = NULL, *hs_header = NULL;
  g_autoptr(JsonObject) created = NULL;
  g_auto(GStrv) parts = NULL;
  guint8 digest[32];
  gsize length = 0;

  generate_rsa_files (private_path, public_path);
  d = start_with_auth (db, env);
  session = login (d);
  created = create_token (d, session, "{\"name\":\"rsa\",\"expires_in_days\":1}", &token);
  header = (char *) cf_base64url_decode (token, strchr (token, '.') - token, &length);
  g_assert_nonnull (strstr (header, "RS256"));
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, token), ==, 200);

  parts = g_strsplit (token, ".", -1);
  hs_header = cf_base64url_encode ((const guint8 *) "{\"alg\":\"HS256\"}", 15);
  input = g_strconcat (hs_header, ".", parts[1], NULL);
  g_assert_true (g_file_get_contents (public_path, &pem, &length, NULL));
  g_assert_cmpint (gnutls_hmac_fast (GNUTLS_MAC_SHA256, pem, length, input, strlen (input),
                                     digest), ==, 0);
  signature = cf_base64url_encode (digest, sizeof digest);
  forged = g_strconcat (input, ".", signature, NULL);
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, forged), ==, 401);
  g_assert_cmpuint (status_of (d, "POST", "/mcp", PING, forged), ==, 401);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* npm `jose` on the other side: it verifies the gateway's API token, and
 * the gateway accepts an API token jose signed with the same claims. */

static const char jose_script[] =
  "import { pathToFileURL } from 'node:url';\n"
  "import { join } from 'node:path';\n"
  "const [npm, secret, token] = process.argv.slice(1);\n"
  "const jose = await import(pathToFileURL(join(npm, 'node_modules/jose/dist/webapi/index.js')).href);\n"
  "const key = new TextEncoder().encode(secret);\n"
  "const { payload } = await jose.jwtVerify(token, key, { algorithms: ['HS256'],\n"
  "  issuer: 'mcpgateway', audience: 'mcpgateway-api' });\n"
  "const minted = await new jose.SignJWT(payload).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })\n"
  "  .sign(key);\n"
  "console.log(JSON.stringify({ token_use: payload.token_use, minted }));\n";

static void
test_jose (void)
{
  const char *npm = g_getenv ("CF_TEST_NPM_DIR");
  g_autofree char *node = npm ? g_build_filename (npm, "node_modules", ".bin", "node", NULL) : NULL;
  g_autofree char *jose = npm ? g_build_filename (npm, "node_modules", "jose", "package.json",
                                                  NULL) : NULL;
  g_autofree char *dir = NULL, *db = NULL, *session = NULL, *token = NULL;
  g_autofree char *out = NULL, *err = NULL;
  g_autoptr(JsonObject) created = NULL;
  g_autoptr(JsonNode) answer = NULL;
  g_autoptr(GError) error = NULL;
  CfDaemonHarness *d;
  JsonObject *object;
  int status = -1;

  if (node == NULL || !g_file_test (node, G_FILE_TEST_IS_EXECUTABLE) ||
      !g_file_test (jose, G_FILE_TEST_EXISTS))
    {
      g_test_skip ("npm jose is not installed in CF_TEST_NPM_DIR");
      return;
    }
  dir = temp_dir ();
  db = g_build_filename (dir, "gateway.db", NULL);
  d = start_with_auth (db, NULL);
  session = login (d);
  created = create_token (d, session, "{\"name\":\"jose\",\"expires_in_days\":1}", &token);

  {
    const char *argv[] = { node, "--input-type=module", "-e", jose_script, npm, SECRET, token,
                           NULL };

    g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_DEFAULT, NULL, NULL, &out, &err, &status,
                  &error);
  }
  g_assert_no_error (error);
  if (!g_spawn_check_wait_status (status, NULL))
    g_error ("jose refused the gateway's API token: %s", err);
  answer = cf_json_parse (out, -1, NULL);
  g_assert_nonnull (answer);
  object = json_node_get_object (answer);
  g_assert_cmpstr (json_object_get_string_member (object, "token_use"), ==, "api");
  /* jose's token carries the registered jti: the gateway takes it. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL,
                               json_object_get_string_member (object, "minted")), ==, 200);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* WebSocket clients may pass the token as ?token= on the upgrade. */

typedef struct {
  SoupWebsocketConnection *ws;
  gboolean                 done;
} WsWait;

static void
on_ws_connected (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  WsWait *wait = user_data;

  wait->ws = soup_session_websocket_connect_finish (SOUP_SESSION (source), result, NULL);
  wait->done = TRUE;
}

static guint
ws_status (CfDaemonHarness *d,
           const char      *path_and_query)
{
  g_autofree char *url = g_strconcat ("ws", d->url + strlen ("http"), path_and_query, NULL);
  g_autoptr(SoupSession) session = soup_session_new ();
  g_autoptr(SoupMessage) msg = soup_message_new ("GET", url);
  const char *protocols[] = { "mcp", NULL };
  WsWait wait = { NULL, FALSE };
  guint status;

  soup_session_websocket_connect_async (session, msg, NULL, (char **) protocols,
                                        G_PRIORITY_DEFAULT, NULL, on_ws_connected, &wait);
  g_assert_true (cf_harness_wait_for (&wait.done, WAIT_S));
  status = soup_message_get_status (msg);
  if (wait.ws != NULL)
    {
      soup_websocket_connection_close (wait.ws, SOUP_WEBSOCKET_CLOSE_NORMAL, NULL);
      g_object_unref (wait.ws);
    }
  return status;
}

static void
test_websocket_query (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *session = login (d);
  g_autofree char *token = NULL, *with = NULL, *escaped = NULL;
  g_autoptr(JsonObject) created = create_token (d, session,
                                                "{\"name\":\"ws\",\"expires_in_days\":1}",
                                                &token);

  escaped = g_uri_escape_string (token, NULL, FALSE);
  with = g_strconcat ("/ws?token=", escaped, NULL);
  g_assert_cmpuint (ws_status (d, with), ==, SOUP_STATUS_SWITCHING_PROTOCOLS);
  g_assert_cmpuint (ws_status (d, "/ws"), ==, 401);
  g_assert_cmpuint (ws_status (d, "/ws?token=not-a-token"), ==, 401);
  /* Only the WebSocket upgrade reads the query. */
  g_clear_pointer (&with, g_free);
  with = g_strconcat ("/v1/tools?token=", escaped, NULL);
  g_assert_cmpuint (status_of (d, "GET", with, NULL, NULL), ==, 401);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* The CLI */

static int
run_cli (const char          *db,
         const char * const  *args,
         char               **out,
         char               **err)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *config_dir = temp_dir ();
  g_auto(GStrv) env = g_get_environ ();
  g_autoptr(GError) error = NULL;
  int status = -1;

  env = g_environ_setenv (env, "JWT_SECRET_KEY", SECRET, TRUE);
  env = g_environ_setenv (env, "XDG_CONFIG_HOME", config_dir, TRUE);
  g_ptr_array_add (argv, (char *) g_getenv ("CF_TEST_GATEWAY"));
  g_ptr_array_add (argv, "token");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  if (db != NULL)
    {
      g_ptr_array_add (argv, "--db");
      g_ptr_array_add (argv, (char *) db);
    }
  g_ptr_array_add (argv, NULL);
  g_spawn_sync (NULL, (char **) argv->pdata, env, G_SPAWN_DEFAULT, NULL, NULL, out, err, &status,
                &error);
  g_assert_no_error (error);
  return WIFEXITED (status) ? WEXITSTATUS (status) : -1;
}

static void
test_cli (void)
{
  g_autofree char *dir = temp_dir ();
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = start_with_auth (db, NULL);
  g_autofree char *out = NULL, *err = NULL, *token = NULL, *jti = NULL, *session = login (d);
  g_autoptr(JsonNode) list = NULL;
  JsonArray *items;
  JsonObject *item;

  /* Create: the token alone on stdout, then it works on the running
   * gateway once its registry catches up (bounded). */
  g_assert_cmpint (run_cli (db, (const char * const[]) { "create", "--user", ADMIN, "--name",
                                                         "from-cli", "--expires-in-days", "2",
                                                         "--permission", "tools.read",
                                                         "--ip", "127.0.0.0/8", NULL },
                            &out, &err), ==, 0);
  token = g_strstrip (g_strdup (out));
  g_assert_cmpuint (strlen (token), >, 20);
  g_assert_null (strchr (token, '\n'));
  g_assert_cmpuint (wait_status (d, "/v1/tools", token, 200), ==, 200);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* List: JSON, with the jti, without the token or its hash. */
  g_assert_cmpint (run_cli (db, (const char * const[]) { "list", "--user", ADMIN, NULL }, &out,
                            &err), ==, 0);
  list = cf_json_parse (out, -1, NULL);
  g_assert_nonnull (list);
  items = json_node_get_array (list);
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  item = json_array_get_object_element (items, 0);
  g_assert_cmpstr (json_object_get_string_member (item, "name"), ==, "from-cli");
  jti = g_strdup (json_object_get_string_member (item, "jti"));
  g_assert_null (strstr (out, token));
  g_assert_null (strstr (out, "token_hash"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  /* The gateway lists it too. */
  g_assert_cmpuint (status_of (d, "GET", "/v1/tokens", NULL, session), ==, 200);

  /* Revoke by jti: the running gateway refuses the token, bounded. */
  g_assert_cmpint (run_cli (db, (const char * const[]) { "revoke", jti, "--reason", "test", NULL },
                            &out, &err), ==, 0);
  g_assert_nonnull (strstr (out, "\"is_revoked\":true"));
  g_assert_cmpuint (wait_status (d, "/v1/tools", token, 401), ==, 401);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);

  /* Restrictions survive the registry's reload from the database. */
  {
    g_autofree char *far = NULL;

    g_assert_cmpint (run_cli (db, (const char * const[]) { "create", "--user", ADMIN, "--name",
                                                           "far", "--expires-in-days", "1",
                                                           "--ip", "10.0.0.0/8", NULL },
                              &out, &err), ==, 0);
    far = g_strstrip (g_strdup (out));
    g_assert_cmpuint (wait_status (d, "/v1/tools", far, 403), ==, 403);
    g_clear_pointer (&out, g_free);
    g_clear_pointer (&err, g_free);
  }
  /* And a restart. */
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  d = start_with_auth (db, NULL);
  {
    g_autofree char *restricted = NULL;
    g_autoptr(JsonObject) created = create_token (d, session,
                                                  "{\"name\":\"kept\",\"expires_in_days\":1,"
                                                  "\"scope\":{\"ip_restrictions\":[\"10.0.0.0/8\"],"
                                                  "\"usage_limits\":{\"requests_per_day\":1}}}",
                                                  &restricted);

    g_autofree char *counted = NULL;
    g_autoptr(JsonObject) created_counted = create_token (d, session,
                                                          "{\"name\":\"counted\","
                                                          "\"expires_in_days\":1,\"scope\":"
                                                          "{\"usage_limits\":"
                                                          "{\"requests_per_hour\":2}}}",
                                                          &counted);

    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, restricted), ==, 403);
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, counted), ==, 200);
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, counted), ==, 200);
    /* The usage buffered at stop is written, and counted again at start. */
    g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
    cf_daemon_harness_free (d);
    d = start_with_auth (db, NULL);
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, restricted), ==, 403);
    g_assert_cmpuint (status_of (d, "GET", "/v1/tools", NULL, counted), ==, 429);
  }

  /* Bad input: a message and a non-zero status. */
  g_assert_cmpint (run_cli (db, (const char * const[]) { "create", "--user", ADMIN, NULL }, &out,
                            &err), ==, 2);
  g_assert_nonnull (strstr (err, "--name"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (db, (const char * const[]) { "create", "--user", ADMIN, "--name", "x",
                                                         "--expires-in-days", "1", "--ip",
                                                         "300.0.0.1", NULL }, &out, &err), ==, 2);
  g_assert_nonnull (strstr (err, "ip_restrictions"));
  g_assert_cmpstr (out, ==, "");
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (db, (const char * const[]) { "create", "--user", "nobody@example.com",
                                                         "--name", "x", "--expires-in-days", "1",
                                                         NULL }, &out, &err), ==, 1);
  g_assert_nonnull (strstr (err, "nobody@example.com"));
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (db, (const char * const[]) { "revoke", "no-such-token", NULL }, &out,
                            &err), ==, 1);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (db, (const char * const[]) { "frobnicate", NULL }, &out, &err), ==, 2);
  g_clear_pointer (&out, g_free);
  g_clear_pointer (&err, g_free);
  g_assert_cmpint (run_cli (NULL, (const char * const[]) { "list", "--db",
                                                           "/nonexistent/dir/gw.db", NULL },
                            &out, &err), ==, 1);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/tokens/lifecycle", test_lifecycle);
  g_test_add_func ("/tokens/permissions-update", test_permissions_update);
  g_test_add_func ("/tokens/forged", test_forged);
  g_test_add_func ("/tokens/bad-requests", test_bad_requests);
  g_test_add_func ("/tokens/team", test_team_tokens);
  g_test_add_func ("/tokens/restrictions", test_restrictions);
  g_test_add_func ("/tokens/user-rate-limit", test_user_rate_limit);
  g_test_add_func ("/tokens/bad-setting", test_bad_setting);
  g_test_add_func ("/tokens/rs256", test_rs256);
  g_test_add_func ("/tokens/jose", test_jose);
  g_test_add_func ("/tokens/websocket-query", test_websocket_query);
  g_test_add_func ("/tokens/cli", test_cli);

  return g_test_run ();
}
