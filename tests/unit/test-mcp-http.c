/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-mcp-http"

#include "config.h"

#include <string.h>

#include "../fixture/cf-fixture-tools.h"
#include "cf-http-server.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-era.h"
#include "cf-mcp-request.h"
#include "cf-mcp-server.h"
#include "cf-streamable-http.h"
#include "cf-test-util.h"

/* The Streamable HTTP transport end to end, in one process: the fixture's
 * MCP server behind CfHttpServer on 127.0.0.1, and a SoupSession client
 * on the same main loop. */

#define MODERN "2026-07-28"
#define META_FOR(version, caps) \
  "{\"io.modelcontextprotocol/protocolVersion\":\"" version "\"," \
  "\"io.modelcontextprotocol/clientCapabilities\":" caps "}"
#define META META_FOR (MODERN, "{}")
#define SIMPLE_TEXT "This is a simple text response for testing."

typedef struct {
  CfMcpServer      *server;
  CfHttpServer     *http;
  CfStreamableHttp *transport;
  CfTestClient     *client;
  guint             port;
} Fixture;

/* Headers a 2026-07-28 request mirrors from its body. */
typedef struct {
  const char *v[9];
} Headers;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->server = cf_mcp_server_new ("cf-test", "1.0");
  cf_fixture_install (f->server);
  f->http = cf_http_server_new ();
  f->transport = cf_streamable_http_new (f->server);
  cf_streamable_http_mount (f->transport, f->http, "/mcp");
  cf_http_server_listen (f->http, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  f->port = cf_http_server_get_port (f->http);
  g_assert_cmpuint (f->port, >, 0);
  f->client = cf_test_client_new (f->port);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  /* Listen streams hold their server: shutdown is what lets it go. */
  cf_mcp_server_shutdown (f->server);
  cf_streamable_http_close_streams (f->transport);
  g_clear_pointer (&f->client, cf_test_client_free);
  cf_test_wait_until (cf_test_http_is_idle, f->http, 2000);
  cf_test_spin (20);
  g_clear_object (&f->transport);
  g_clear_object (&f->http);
  g_assert_finalize_object (f->server);
}

/* Requests */

static char *
legacy_body (gint64      id,
             const char *method,
             const char *params)
{
  if (params == NULL)
    return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ","
                            "\"method\":\"%s\"}", id, method);
  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ","
                          "\"method\":\"%s\",\"params\":%s}", id, method, params);
}

/* @members: params members besides _meta, or %NULL; @meta: the _meta. */
static char *
modern_body (gint64      id,
             const char *method,
             const char *members,
             const char *meta)
{
  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%" G_GINT64_FORMAT ",\"method\":\"%s\","
                          "\"params\":{%s%s\"_meta\":%s}}", id, method,
                          members ? members : "", members ? "," : "", meta ? meta : META);
}

static Headers
modern_headers (const char *method,
                const char *name)
{
  Headers h = { { "MCP-Protocol-Version", MODERN, "Mcp-Method", method,
                  name ? "Mcp-Name" : NULL, name, NULL } };

  return h;
}

static CfTestReply *
post (Fixture            *f,
      const char         *body,
      const char         *session_id,
      const char * const *headers)
{
  CfTestCall call = { .body = body, .session_id = session_id, .headers = headers };

  return cf_test_client_call (f->client, &call);
}

static CfTestReply *
legacy_call (Fixture    *f,
             const char *session_id,
             gint64      id,
             const char *method,
             const char *params)
{
  g_autofree char *body = legacy_body (id, method, params);

  return post (f, body, session_id, NULL);
}

/* A 2026-07-28 request with correct headers; @name is what Mcp-Name must
 * carry, if the method has one. */
static CfTestReply *
modern_call (Fixture    *f,
             gint64      id,
             const char *method,
             const char *name,
             const char *members,
             const char *meta)
{
  g_autofree char *body = modern_body (id, method, members, meta);
  Headers h = modern_headers (method, name);

  return post (f, body, NULL, h.v);
}

static JsonObject *
reply_object (CfTestReply *reply)
{
  g_assert_nonnull (reply->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (reply->json));
  return json_node_get_object (reply->json);
}

static JsonObject *
assert_ok (CfTestReply *reply)
{
  g_assert_cmpuint (reply->status, ==, 200);
  return cf_test_assert_result (reply->json);
}

static JsonObject *
assert_rpc_error (CfTestReply *reply,
                  guint        status,
                  int          code)
{
  g_assert_cmpuint (reply->status, ==, status);
  g_assert_cmpstr (reply->content_type, ==, "application/json");
  return cf_test_assert_error (reply->json, code);
}

static void
assert_id_null (CfTestReply *reply)
{
  JsonNode *id = json_object_get_member (reply_object (reply), "id");

  g_assert_nonnull (id);
  g_assert_true (JSON_NODE_HOLDS_NULL (id));
}

static void
assert_id (CfTestReply *reply,
           gint64       expected)
{
  JsonNode *id = json_object_get_member (reply_object (reply), "id");

  g_assert_nonnull (id);
  g_assert_true (JSON_NODE_HOLDS_VALUE (id));
  g_assert_cmpint (json_node_get_int (id), ==, expected);
}

static void
assert_ping (Fixture *f)
{
  g_autoptr(CfTestReply) reply = legacy_call (f, NULL, 4242, "ping", NULL);
  JsonObject *result = assert_ok (reply);

  assert_id (reply, 4242);
  g_assert_cmpuint (json_object_get_size (result), ==, 0);
}

static void
assert_cache_hints (JsonObject *result)
{
  const char *scope = json_object_get_string_member (result, "cacheScope");

  g_assert_cmpstr (json_object_get_string_member (result, "resultType"), ==, "complete");
  g_assert_true (json_object_has_member (result, "ttlMs"));
  g_assert_cmpint (json_object_get_int_member (result, "ttlMs"), >=, 0);
  g_assert_true (g_strcmp0 (scope, "public") == 0 || g_strcmp0 (scope, "private") == 0);
}

/* Runs initialize and returns the session id. */
static char *
initialize (Fixture    *f,
            const char *version,
            const char *capabilities)
{
  g_autofree char *params = NULL;
  g_autoptr(CfTestReply) reply = NULL;
  g_autoptr(CfTestReply) initialized = NULL;
  JsonObject *result;

  params = g_strdup_printf ("{\"protocolVersion\":\"%s\",\"capabilities\":%s,"
                            "\"clientInfo\":{\"name\":\"test\",\"version\":\"1\"}}",
                            version, capabilities ? capabilities : "{}");
  reply = legacy_call (f, NULL, 1, "initialize", params);
  result = assert_ok (reply);
  g_assert_nonnull (reply->session_id);
  g_assert_cmpuint (strlen (reply->session_id), >=, 16);
  g_assert_nonnull (json_object_get_string_member (result, "protocolVersion"));

  initialized = post (f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
                      reply->session_id, NULL);
  g_assert_cmpuint (initialized->status, ==, 202);
  return g_strdup (reply->session_id);
}

/* 1. JSON-RPC error paths */

static void
test_parse_error (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(CfTestReply) reply = post (f, "{\"jsonrpc\":\"2.0\",\"id\":1,", NULL, NULL);

  assert_rpc_error (reply, 400, CF_JSONRPC_PARSE_ERROR);
  assert_id_null (reply);
  assert_ping (f);
}

typedef struct {
  const char *description;
  const char *body;
  guint       status;
  int         code;
  gboolean    id_null;
} ErrorRow;

static void
run_error_rows (Fixture        *f,
                const ErrorRow *rows,
                gsize           n_rows)
{
  for (gsize i = 0; i < n_rows; i++)
    {
      g_autoptr(CfTestReply) reply = NULL;

      g_test_message ("row: %s", rows[i].description);
      reply = post (f, rows[i].body, NULL, NULL);
      assert_rpc_error (reply, rows[i].status, rows[i].code);
      if (rows[i].id_null)
        assert_id_null (reply);
      else
        assert_id (reply, 7);
      assert_ping (f);
    }
}

static void
test_invalid_request (Fixture       *f,
                      gconstpointer  data)
{
  static const ErrorRow rows[] = {
    { "a number", "42", 400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "a string", "\"ping\"", 400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "null", "null", 400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "jsonrpc 1.0", "{\"jsonrpc\":\"1.0\",\"id\":7,\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, FALSE },
    { "jsonrpc missing", "{\"id\":7,\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, FALSE },
    { "jsonrpc a number", "{\"jsonrpc\":2.0,\"id\":7,\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, FALSE },
    { "id null", "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "id a float", "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "id a boolean", "{\"jsonrpc\":\"2.0\",\"id\":true,\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "id an object", "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "id an array", "{\"jsonrpc\":\"2.0\",\"id\":[7],\"method\":\"ping\"}",
      400, CF_JSONRPC_INVALID_REQUEST, TRUE },
    { "method a number", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":42}",
      400, CF_JSONRPC_INVALID_REQUEST, FALSE },
    { "method empty", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"\"}",
      400, CF_JSONRPC_INVALID_REQUEST, FALSE },
    { "no method, result or error", "{\"jsonrpc\":\"2.0\",\"id\":7}",
      400, CF_JSONRPC_INVALID_REQUEST, FALSE },
  };

  run_error_rows (f, rows, G_N_ELEMENTS (rows));
}

static void
test_params_not_object (Fixture       *f,
                        gconstpointer  data)
{
  static const ErrorRow rows[] = {
    { "params a string", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":\"x\"}",
      400, CF_JSONRPC_INVALID_PARAMS, FALSE },
    { "params an array", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":[1]}",
      400, CF_JSONRPC_INVALID_PARAMS, FALSE },
    { "params a number", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":1}",
      400, CF_JSONRPC_INVALID_PARAMS, FALSE },
    { "params null", "{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":\"ping\",\"params\":null}",
      400, CF_JSONRPC_INVALID_PARAMS, FALSE },
  };

  run_error_rows (f, rows, G_N_ELEMENTS (rows));
}

static void
test_method_not_found (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(CfTestReply) legacy = legacy_call (f, NULL, 7, "no/such", NULL);
  g_autoptr(CfTestReply) modern = modern_call (f, 8, "no/such", NULL, NULL, NULL);
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) in_session = legacy_call (f, session, 9, "no/such", NULL);

  assert_rpc_error (legacy, 200, CF_JSONRPC_METHOD_NOT_FOUND);
  assert_id (legacy, 7);
  assert_rpc_error (modern, 404, CF_JSONRPC_METHOD_NOT_FOUND);
  assert_id (modern, 8);
  assert_rpc_error (in_session, 200, CF_JSONRPC_METHOD_NOT_FOUND);
  assert_id (in_session, 9);
}

static void
test_invalid_params (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) loud = legacy_call (f, session, 7, "logging/setLevel",
                                             "{\"level\":\"loud\"}");
  g_autoptr(CfTestReply) missing = legacy_call (f, session, 8, "logging/setLevel", "{}");
  g_autoptr(CfTestReply) fine = legacy_call (f, session, 9, "logging/setLevel",
                                             "{\"level\":\"info\"}");
  g_autoptr(CfTestReply) modern = modern_call (
      f, 10, "tools/list", NULL, NULL,
      "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\","
      "\"io.modelcontextprotocol/clientCapabilities\":{},"
      "\"io.modelcontextprotocol/logLevel\":\"loud\"}");

  assert_rpc_error (loud, 200, CF_JSONRPC_INVALID_PARAMS);
  assert_id (loud, 7);
  assert_rpc_error (missing, 200, CF_JSONRPC_INVALID_PARAMS);
  assert_ok (fine);
  assert_rpc_error (modern, 400, CF_JSONRPC_INVALID_PARAMS);
}

static void
assert_unsupported (CfTestReply *reply,
                    const char  *requested,
                    gboolean     all_versions)
{
  JsonObject *error = assert_rpc_error (reply, 400, CF_JSONRPC_UNSUPPORTED_VERSION);
  JsonObject *details;
  JsonArray *supported;
  gboolean has_modern = FALSE;

  g_assert_true (json_object_has_member (error, "data"));
  details = json_object_get_object_member (error, "data");
  g_assert_cmpstr (json_object_get_string_member (details, "requested"), ==, requested);
  supported = json_object_get_array_member (details, "supported");
  g_assert_nonnull (supported);
  g_assert_cmpuint (json_array_get_length (supported), ==, all_versions ? 5 : 1);
  for (guint i = 0; i < json_array_get_length (supported); i++)
    if (g_strcmp0 (json_array_get_string_element (supported, i), MODERN) == 0)
      has_modern = TRUE;
  g_assert_true (has_modern);
}

static void
test_unsupported_version (Fixture       *f,
                          gconstpointer  data)
{
  g_autofree char *body = modern_body (7, "tools/list", NULL,
                                       META_FOR ("1900-01-01", "{}"));
  const char *headers[] = { "MCP-Protocol-Version", "1900-01-01",
                            "Mcp-Method", "tools/list", NULL };
  g_autoptr(CfTestReply) reply = post (f, body, NULL, headers);
  g_autofree char *legacy_meta = modern_body (8, "tools/list", NULL,
                                              META_FOR ("2025-06-18", "{}"));
  const char *legacy_headers[] = { "MCP-Protocol-Version", "2025-06-18",
                                   "Mcp-Method", "tools/list", NULL };
  g_autoptr(CfTestReply) legacy = post (f, legacy_meta, NULL, legacy_headers);

  assert_unsupported (reply, "1900-01-01", TRUE);
  assert_id (reply, 7);
  /* A legacy version in _meta is no 2026-07-28 request either. */
  assert_unsupported (legacy, "2025-06-18", TRUE);
}

typedef struct {
  const char *description;
  const char *method;
  const char *members;
  const char *version_header;
  const char *method_header;
  const char *name_header;
  guint       status;
  int         code;
} HeaderRow;

static void
test_header_mismatch (Fixture       *f,
                      gconstpointer  data)
{
  static const char call_simple[] = "\"name\":\"test_simple_text\",\"arguments\":{}";
  static const char read_static[] = "\"uri\":\"test://static-text\"";
  static const char get_prompt[] = "\"name\":\"test_simple_prompt\"";
  const HeaderRow rows[] = {
    { "all headers right", "tools/call", call_simple, MODERN, "tools/call",
      "test_simple_text", 200, 0 },
    { "MCP-Protocol-Version missing", "tools/call", call_simple, NULL, "tools/call",
      "test_simple_text", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "MCP-Protocol-Version differs from _meta", "tools/call", call_simple, "2025-11-25",
      "tools/call", "test_simple_text", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "Mcp-Method missing", "tools/call", call_simple, MODERN, NULL,
      "test_simple_text", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "Mcp-Method differs", "tools/call", call_simple, MODERN, "tools/list",
      "test_simple_text", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "Mcp-Name missing", "tools/call", call_simple, MODERN, "tools/call",
      NULL, 400, CF_JSONRPC_HEADER_MISMATCH },
    { "Mcp-Name differs", "tools/call", call_simple, MODERN, "tools/call",
      "test_image_content", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "Mcp-Name in base64, right", "tools/call", call_simple, MODERN, "tools/call",
      "=?base64?dGVzdF9zaW1wbGVfdGV4dA==?=", 200, 0 },
    { "Mcp-Name in base64, wrong", "tools/call", call_simple, MODERN, "tools/call",
      "=?base64?dGVzdF9pbWFnZV9jb250ZW50?=", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "Mcp-Name in base64, invalid", "tools/call", call_simple, MODERN, "tools/call",
      "=?base64?!!!!?=", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "resources/read Mcp-Name is the uri", "resources/read", read_static, MODERN,
      "resources/read", "test://static-text", 200, 0 },
    { "resources/read Mcp-Name differs", "resources/read", read_static, MODERN,
      "resources/read", "test://static-binary", 400, CF_JSONRPC_HEADER_MISMATCH },
    { "prompts/get Mcp-Name right", "prompts/get", get_prompt, MODERN,
      "prompts/get", "test_simple_prompt", 200, 0 },
    { "prompts/get Mcp-Name differs", "prompts/get", get_prompt, MODERN,
      "prompts/get", "test_prompt_with_image", 400, CF_JSONRPC_HEADER_MISMATCH },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *body = modern_body (7, rows[i].method, rows[i].members, NULL);
      const char *headers[7] = { NULL };
      guint n = 0;
      g_autoptr(CfTestReply) reply = NULL;

      g_test_message ("row: %s", rows[i].description);
      if (rows[i].version_header != NULL)
        {
          headers[n++] = "MCP-Protocol-Version";
          headers[n++] = rows[i].version_header;
        }
      if (rows[i].method_header != NULL)
        {
          headers[n++] = "Mcp-Method";
          headers[n++] = rows[i].method_header;
        }
      if (rows[i].name_header != NULL)
        {
          headers[n++] = "Mcp-Name";
          headers[n++] = rows[i].name_header;
        }
      reply = post (f, body, NULL, headers);
      if (rows[i].code != 0)
        assert_rpc_error (reply, rows[i].status, rows[i].code);
      else if (g_str_equal (rows[i].method, "tools/call"))
        g_assert_cmpstr (cf_test_first_text (assert_ok (reply)), ==, SIMPLE_TEXT);
      else
        assert_ok (reply);
      assert_id (reply, 7);
    }
}

static void
test_missing_client_capabilities (Fixture       *f,
                                  gconstpointer  data)
{
  g_autoptr(CfTestReply) reply = modern_call (
      f, 7, "tools/list", NULL, NULL,
      "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\"}");
  g_autoptr(CfTestReply) not_object = modern_call (
      f, 8, "tools/list", NULL, NULL,
      "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\","
      "\"io.modelcontextprotocol/clientCapabilities\":[]}");

  assert_rpc_error (reply, 400, CF_JSONRPC_INVALID_PARAMS);
  assert_id (reply, 7);
  assert_rpc_error (not_object, 400, CF_JSONRPC_INVALID_PARAMS);
}

static void
test_legacy_bad_version_header (Fixture       *f,
                                gconstpointer  data)
{
  const char *bad[] = { "MCP-Protocol-Version", "1999-01-01", NULL };
  const char *other_legacy[] = { "MCP-Protocol-Version", "2025-03-26", NULL };
  const char *modern_header[] = { "MCP-Protocol-Version", MODERN, NULL };
  g_autofree char *ping = legacy_body (7, "ping", NULL);
  g_autofree char *session = initialize (f, "2025-06-18", NULL);
  g_autoptr(CfTestReply) sessionless = post (f, ping, NULL, bad);
  g_autoptr(CfTestReply) in_session = post (f, ping, session, bad);
  g_autoptr(CfTestReply) tolerated = post (f, ping, session, other_legacy);
  g_autoptr(CfTestReply) no_meta = post (f, ping, NULL, modern_header);

  assert_rpc_error (sessionless, 400, CF_JSONRPC_INVALID_REQUEST);
  assert_rpc_error (in_session, 400, CF_JSONRPC_INVALID_REQUEST);
  assert_ok (tolerated);
  /* Claiming 2026-07-28 in the header without _meta is refused too. */
  assert_rpc_error (no_meta, 400, CF_JSONRPC_INVALID_PARAMS);
}

/* 2. Session lifecycle */

static void
test_session_lifecycle (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) listed = legacy_call (f, session, 2, "tools/list", NULL);
  g_autoptr(CfTestReply) unknown = legacy_call (f, "0123456789abcdef0123456789abcdef",
                                                3, "tools/list", NULL);
  CfTestCall delete_call = { .method = "DELETE", .session_id = session };
  CfTestCall delete_bare = { .method = "DELETE" };
  g_autoptr(CfTestReply) deleted = NULL;
  g_autoptr(CfTestReply) after = NULL;
  g_autoptr(CfTestReply) deleted_again = NULL;
  g_autoptr(CfTestReply) no_header = NULL;

  g_assert_cmpuint (cf_mcp_server_get_n_sessions (f->server), ==, 1);
  assert_ok (listed);
  g_assert_cmpstr (listed->session_id, ==, session);
  assert_rpc_error (unknown, 404, CF_JSONRPC_INVALID_REQUEST);

  deleted = cf_test_client_call (f->client, &delete_call);
  g_assert_cmpuint (deleted->status, >=, 200);
  g_assert_cmpuint (deleted->status, <, 300);
  g_assert_cmpuint (cf_mcp_server_get_n_sessions (f->server), ==, 0);

  after = legacy_call (f, session, 4, "tools/list", NULL);
  assert_rpc_error (after, 404, CF_JSONRPC_INVALID_REQUEST);
  deleted_again = cf_test_client_call (f->client, &delete_call);
  g_assert_cmpuint (deleted_again->status, ==, 404);
  no_header = cf_test_client_call (f->client, &delete_bare);
  g_assert_cmpuint (no_header->status, ==, 400);
}

static void
test_session_get_stream (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  CfTestCall get = { .method = "GET", .accept = "text/event-stream", .session_id = session };
  CfTestCall get_bare = { .method = "GET", .accept = "text/event-stream" };
  CfTestCall get_unknown = { .method = "GET", .accept = "text/event-stream",
                             .session_id = "nope" };
  CfTestCall get_json = { .method = "GET", .accept = "application/json",
                          .session_id = session };
  g_autoptr(CfTestSse) sse = cf_test_client_open_sse (f->client, &get);
  g_autoptr(CfTestReply) bare = NULL;
  g_autoptr(CfTestReply) unknown = NULL;
  g_autoptr(CfTestReply) json_only = NULL;
  JsonObject *event;

  g_assert_cmpuint (cf_test_sse_get_status (sse), ==, 200);
  g_assert_cmpstr (cf_test_sse_get_content_type (sse), ==, "text/event-stream");

  cf_mcp_server_notify_list_changed (f->server, "tools");
  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  event = json_node_get_object (cf_test_sse_get_event (sse, 0));
  g_assert_cmpstr (json_object_get_string_member (event, "method"), ==,
                   "notifications/tools/list_changed");
  g_assert_false (json_object_has_member (event, "id"));

  bare = cf_test_client_call (f->client, &get_bare);
  g_assert_cmpuint (bare->status, ==, 400);
  unknown = cf_test_client_call (f->client, &get_unknown);
  g_assert_cmpuint (unknown->status, ==, 404);
  json_only = cf_test_client_call (f->client, &get_json);
  g_assert_cmpuint (json_only->status, ==, 406);
}

static void
test_session_notification (Fixture       *f,
                           gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) cancelled = post (
      f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
      "\"params\":{\"requestId\":99}}", session, NULL);
  g_autoptr(CfTestReply) sessionless = post (
      f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/whatever\"}", NULL, NULL);

  g_assert_cmpuint (cancelled->status, ==, 202);
  g_assert_cmpuint (g_bytes_get_size (cancelled->body), ==, 0);
  g_assert_cmpuint (sessionless->status, ==, 202);
  g_assert_cmpuint (g_bytes_get_size (sessionless->body), ==, 0);
}

static void
test_session_stray_response (Fixture       *f,
                             gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) result = post (
      f, "{\"jsonrpc\":\"2.0\",\"id\":\"cf-999\",\"result\":{}}", session, NULL);
  g_autoptr(CfTestReply) error = post (
      f, "{\"jsonrpc\":\"2.0\",\"id\":12,\"error\":{\"code\":-1,\"message\":\"no\"}}",
      session, NULL);

  g_assert_cmpuint (result->status, ==, 202);
  g_assert_cmpuint (g_bytes_get_size (result->body), ==, 0);
  g_assert_cmpuint (error->status, ==, 202);
  g_assert_cmpuint (g_bytes_get_size (error->body), ==, 0);
  assert_ping (f);
}

static void
test_session_negotiation (Fixture       *f,
                          gconstpointer  data)
{
  static const struct {
    const char *requested;
    const char *negotiated;
  } rows[] = {
    { "2025-06-18", "2025-06-18" },
    { "2025-03-26", "2025-03-26" },
    { "2024-11-05", "2024-11-05" },
    { "2025-11-25", "2025-11-25" },
    { "2099-01-01", "2025-11-25" },
    { MODERN, "2025-11-25" },
    { "not-a-date", "2025-11-25" },
  };
  g_autoptr(CfTestReply) missing = legacy_call (f, NULL, 2, "initialize", "{\"capabilities\":{}}");

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *params = g_strdup_printf ("{\"protocolVersion\":\"%s\","
                                                 "\"capabilities\":{},\"clientInfo\":"
                                                 "{\"name\":\"t\",\"version\":\"1\"}}",
                                                 rows[i].requested);
      g_autoptr(CfTestReply) reply = legacy_call (f, NULL, 1, "initialize", params);
      JsonObject *result;

      g_test_message ("row: %s", rows[i].requested);
      result = assert_ok (reply);
      g_assert_cmpstr (json_object_get_string_member (result, "protocolVersion"), ==,
                       rows[i].negotiated);
      g_assert_nonnull (reply->session_id);
      g_assert_cmpstr (json_object_get_string_member (
          json_object_get_object_member (result, "serverInfo"), "name"), ==, "cf-test");
      g_assert_true (json_object_has_member (result, "capabilities"));
    }

  assert_rpc_error (missing, 400, CF_JSONRPC_INVALID_PARAMS);
}

static void
test_session_modern_only (Fixture       *f,
                          gconstpointer  data)
{
  const char * const versions[] = { MODERN, NULL };
  g_autoptr(CfTestReply) init = NULL;
  g_autoptr(CfTestReply) discover = NULL;
  CfTestCall get = { .method = "GET", .accept = "text/event-stream" };
  g_autoptr(CfTestReply) stream = NULL;
  JsonArray *supported;

  cf_mcp_server_set_versions (f->server, versions);
  init = legacy_call (f, NULL, 1, "initialize",
                      "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                      "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}");
  assert_unsupported (init, "2025-11-25", FALSE);
  g_assert_null (init->session_id);
  g_assert_cmpuint (cf_mcp_server_get_n_sessions (f->server), ==, 0);

  discover = modern_call (f, 2, "server/discover", NULL, NULL, NULL);
  supported = json_object_get_array_member (assert_ok (discover), "supportedVersions");
  g_assert_cmpuint (json_array_get_length (supported), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (supported, 0), ==, MODERN);

  stream = cf_test_client_call (f->client, &get);
  g_assert_cmpuint (stream->status, ==, 405);
}

static void
test_session_limits (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *first = initialize (f, "2025-11-25", NULL);
  g_autofree char *second = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) refused = NULL;
  g_autoptr(CfTestReply) expired = NULL;
  g_autoptr(CfTestReply) alive = NULL;
  CfTestCall get = { .method = "GET", .accept = "text/event-stream", .session_id = second };
  g_autoptr(CfTestSse) sse = NULL;

  g_assert_cmpstr (first, !=, second);
  cf_mcp_server_set_max_sessions (f->server, 2);
  refused = legacy_call (f, NULL, 1, "initialize",
                         "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},"
                         "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}");
  assert_rpc_error (refused, 503, CF_JSONRPC_INTERNAL_ERROR);
  g_assert_null (refused->session_id);

  /* An idle session expires; one with its stream open does not. */
  sse = cf_test_client_open_sse (f->client, &get);
  g_assert_cmpuint (cf_test_sse_get_status (sse), ==, 200);
  g_assert_cmpuint (cf_mcp_server_expire_sessions (f->server, 0), ==, 1);
  g_assert_cmpuint (cf_mcp_server_get_n_sessions (f->server), ==, 1);
  expired = legacy_call (f, first, 2, "ping", NULL);
  assert_rpc_error (expired, 404, CF_JSONRPC_INVALID_REQUEST);
  alive = legacy_call (f, second, 3, "ping", NULL);
  assert_ok (alive);
}

/* 2026-07-28 requests carry no session: a stale header is ignored. */
static void
test_session_ignored_by_modern (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *body = modern_body (1, "tools/list", NULL, NULL);
  Headers h = modern_headers ("tools/list", NULL);
  g_autoptr(CfTestReply) reply = post (f, body, "0123456789abcdef0123456789abcdef", h.v);

  assert_cache_hints (assert_ok (reply));
  g_assert_null (reply->session_id);
  g_assert_cmpuint (cf_mcp_server_get_n_sessions (f->server), ==, 0);
}

static void
test_session_routes (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *ping = legacy_body (1, "ping", NULL);
  CfTestCall put = { .method = "PUT", .body = ping };
  CfTestCall sub_path = { .path = "/mcp/extra", .body = ping };
  CfTestCall trailing = { .path = "/mcp/", .body = ping };
  CfTestCall elsewhere = { .path = "/other", .body = ping };
  g_autoptr(CfTestReply) put_reply = cf_test_client_call (f->client, &put);
  g_autoptr(CfTestReply) sub_reply = cf_test_client_call (f->client, &sub_path);
  g_autoptr(CfTestReply) trailing_reply = cf_test_client_call (f->client, &trailing);
  g_autoptr(CfTestReply) elsewhere_reply = cf_test_client_call (f->client, &elsewhere);

  assert_rpc_error (put_reply, 405, CF_JSONRPC_INVALID_REQUEST);
  g_assert_cmpuint (sub_reply->status, ==, 404);
  assert_ok (trailing_reply);
  g_assert_cmpuint (elsewhere_reply->status, ==, 404);
}

/* 3. The 2026-07-28 era */

static void
test_modern_discover (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(CfTestReply) reply = modern_call (f, 1, "server/discover", NULL, NULL, NULL);
  JsonObject *result = assert_ok (reply);
  JsonArray *versions = json_object_get_array_member (result, "supportedVersions");
  JsonObject *capabilities = json_object_get_object_member (result, "capabilities");
  JsonObject *meta = json_object_get_object_member (result, "_meta");
  JsonObject *info;

  g_assert_cmpuint (json_array_get_length (versions), ==, 5);
  g_assert_cmpstr (json_array_get_string_element (versions, 0), ==, MODERN);
  g_assert_nonnull (capabilities);
  g_assert_true (json_object_has_member (capabilities, "tools"));
  g_assert_true (json_object_has_member (capabilities, "resources"));
  /* 2026-07-28 replaced resources/subscribe with subscriptions/listen. */
  g_assert_false (json_object_has_member (json_object_get_object_member (capabilities,
                                                                         "resources"),
                                          "subscribe"));
  assert_cache_hints (result);
  g_assert_nonnull (meta);
  info = json_object_get_object_member (meta, "io.modelcontextprotocol/serverInfo");
  g_assert_nonnull (info);
  g_assert_cmpstr (json_object_get_string_member (info, "name"), ==, "cf-test");
  g_assert_cmpstr (json_object_get_string_member (info, "version"), ==, "1.0");
}

static gboolean
legacy_can_subscribe (Fixture *f)
{
  g_autoptr(CfTestReply) reply = legacy_call (f, NULL, 1, "initialize",
                                              "{\"protocolVersion\":\"2025-11-25\","
                                              "\"capabilities\":{},\"clientInfo\":"
                                              "{\"name\":\"t\",\"version\":\"1\"}}");
  JsonObject *capabilities = json_object_get_object_member (assert_ok (reply), "capabilities");
  JsonObject *resources = json_object_get_object_member (capabilities, "resources");

  g_assert_nonnull (resources);
  return json_object_has_member (resources, "subscribe") &&
         json_object_get_boolean_member (resources, "subscribe");
}

/* What a 2026-07-28 client is told must not change what a legacy client
 * is told later. */
static void
test_modern_capabilities_isolated (Fixture       *f,
                                   gconstpointer  data)
{
  g_autoptr(CfTestReply) discover = NULL;

  g_assert_true (legacy_can_subscribe (f));
  discover = modern_call (f, 2, "server/discover", NULL, NULL, NULL);
  assert_ok (discover);
  g_assert_true (legacy_can_subscribe (f));
}

static void
test_modern_cache_hints (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(CfTestReply) modern = modern_call (f, 1, "tools/list", NULL, NULL, NULL);
  g_autoptr(CfTestReply) legacy = legacy_call (f, NULL, 2, "tools/list", NULL);
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) in_session = legacy_call (f, session, 3, "tools/list", NULL);
  JsonObject *result;

  result = assert_ok (modern);
  assert_cache_hints (result);
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "tools")),
                    ==, 14);

  for (guint i = 0; i < 2; i++)
    {
      result = assert_ok (i == 0 ? legacy : in_session);
      g_assert_false (json_object_has_member (result, "resultType"));
      g_assert_false (json_object_has_member (result, "ttlMs"));
      g_assert_false (json_object_has_member (result, "cacheScope"));
      g_assert_cmpuint (json_array_get_length (json_object_get_array_member (result, "tools")),
                        ==, 14);
    }
}

static void
test_modern_legacy_methods (Fixture       *f,
                            gconstpointer  data)
{
  static const struct {
    const char *method;
    const char *members;
  } rows[] = {
    { "ping", NULL },
    { "logging/setLevel", "\"level\":\"info\"" },
    { "resources/subscribe", "\"uri\":\"test://watched-resource\"" },
    { "resources/unsubscribe", "\"uri\":\"test://watched-resource\"" },
    { "initialize", "\"protocolVersion\":\"" MODERN "\",\"capabilities\":{}" },
  };
  g_autofree char *session = NULL;
  g_autoptr(CfTestReply) discover = NULL;

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(CfTestReply) reply = NULL;

      g_test_message ("row: %s", rows[i].method);
      reply = modern_call (f, 7, rows[i].method, NULL, rows[i].members, NULL);
      assert_rpc_error (reply, 404, CF_JSONRPC_METHOD_NOT_FOUND);
      assert_id (reply, 7);
    }

  /* And the other way round. */
  session = initialize (f, "2025-11-25", NULL);
  discover = legacy_call (f, session, 8, "server/discover", NULL);
  assert_rpc_error (discover, 200, CF_JSONRPC_METHOD_NOT_FOUND);
}

static void
test_modern_logging (Fixture       *f,
                     gconstpointer  data)
{
  static const char *expected[] = {
    "Tool execution started", "Tool processing data", "Tool execution completed"
  };
  static const char members[] = "\"name\":\"test_tool_with_logging\",\"arguments\":{}";
  g_autoptr(CfTestReply) debug = modern_call (
      f, 1, "tools/call", "test_tool_with_logging", members,
      "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\","
      "\"io.modelcontextprotocol/clientCapabilities\":{},"
      "\"io.modelcontextprotocol/logLevel\":\"debug\"}");
  g_autoptr(CfTestReply) silent = modern_call (f, 2, "tools/call", "test_tool_with_logging",
                                               members, NULL);
  g_autoptr(CfTestReply) above = modern_call (
      f, 3, "tools/call", "test_tool_with_logging", members,
      "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\","
      "\"io.modelcontextprotocol/clientCapabilities\":{},"
      "\"io.modelcontextprotocol/logLevel\":\"error\"}");
  JsonObject *result;

  g_assert_cmpuint (debug->status, ==, 200);
  g_assert_cmpstr (debug->content_type, ==, "text/event-stream");
  g_assert_cmpuint (debug->events->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *event = json_node_get_object (g_ptr_array_index (debug->events, i));
      JsonObject *params = json_object_get_object_member (event, "params");

      g_assert_cmpstr (json_object_get_string_member (event, "method"), ==,
                       "notifications/message");
      g_assert_false (json_object_has_member (event, "id"));
      g_assert_cmpstr (json_object_get_string_member (params, "level"), ==, "info");
      g_assert_cmpstr (json_object_get_string_member (params, "data"), ==, expected[i]);
    }
  result = cf_test_assert_result (g_ptr_array_index (debug->events, 3));
  assert_id (debug, 1);
  g_assert_cmpstr (cf_test_first_text (result), ==, "Tool with logging executed successfully");
  g_assert_cmpstr (json_object_get_string_member (result, "resultType"), ==, "complete");

  for (guint i = 0; i < 2; i++)
    {
      CfTestReply *reply = i == 0 ? silent : above;

      g_assert_cmpstr (reply->content_type, ==, "application/json");
      g_assert_cmpuint (reply->events->len, ==, 0);
      g_assert_cmpstr (cf_test_first_text (assert_ok (reply)), ==,
                       "Tool with logging executed successfully");
    }
}

static void
test_modern_mrtr (Fixture       *f,
                  gconstpointer  data)
{
  static const char meta[] = META_FOR (MODERN, "{\"sampling\":{}}");
  g_autoptr(CfTestReply) first = modern_call (
      f, 1, "tools/call", "test_sampling",
      "\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"hello\"}", meta);
  g_autoptr(CfTestReply) second = NULL;
  g_autoptr(GList) keys = NULL;
  g_autofree char *members = NULL;
  JsonObject *result, *requests, *request, *params, *message;
  const char *key;

  result = assert_ok (first);
  g_assert_cmpstr (json_object_get_string_member (result, "resultType"), ==, "input_required");
  g_assert_false (json_object_has_member (result, "content"));
  requests = json_object_get_object_member (result, "inputRequests");
  g_assert_nonnull (requests);
  g_assert_cmpuint (json_object_get_size (requests), ==, 1);
  keys = json_object_get_members (requests);
  key = keys->data;
  request = json_object_get_object_member (requests, key);
  g_assert_cmpstr (json_object_get_string_member (request, "method"), ==,
                   "sampling/createMessage");
  params = json_object_get_object_member (request, "params");
  message = json_array_get_object_element (json_object_get_array_member (params, "messages"), 0);
  g_assert_cmpstr (json_object_get_string_member (
      json_object_get_object_member (message, "content"), "text"), ==, "hello");

  members = g_strdup_printf ("\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"hello\"},"
                             "\"inputResponses\":{\"%s\":{\"role\":\"assistant\","
                             "\"content\":{\"type\":\"text\",\"text\":\"hi\"},"
                             "\"model\":\"m\"}}", key);
  second = modern_call (f, 2, "tools/call", "test_sampling", members, meta);
  result = assert_ok (second);
  g_assert_cmpstr (json_object_get_string_member (result, "resultType"), ==, "complete");
  g_assert_cmpstr (cf_test_first_text (result), ==, "LLM response: hi");
}

static void
test_modern_missing_capability (Fixture       *f,
                                gconstpointer  data)
{
  g_autoptr(CfTestReply) reply = modern_call (
      f, 1, "tools/call", "test_sampling",
      "\"name\":\"test_sampling\",\"arguments\":{\"prompt\":\"hello\"}", NULL);
  JsonObject *error = assert_rpc_error (reply, 400, CF_JSONRPC_MISSING_CLIENT_CAPABILITY);
  JsonObject *details = json_object_get_object_member (error, "data");
  JsonArray *required;

  g_assert_nonnull (details);
  required = json_object_get_array_member (details, "requiredCapabilities");
  g_assert_nonnull (required);
  g_assert_cmpuint (json_array_get_length (required), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (required, 0), ==, "sampling");
  assert_id (reply, 1);
}

static gint64
subscription_id (JsonObject *event)
{
  JsonObject *params = json_object_get_object_member (event, "params");
  JsonObject *meta = json_object_get_object_member (params, "_meta");

  g_assert_nonnull (meta);
  g_assert_true (json_object_has_member (meta, "io.modelcontextprotocol/subscriptionId"));
  return json_object_get_int_member (meta, "io.modelcontextprotocol/subscriptionId");
}

static void
test_modern_listen (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *body = modern_body (77, "subscriptions/listen",
                                       "\"notifications\":{\"toolsListChanged\":true}", NULL);
  Headers h = modern_headers ("subscriptions/listen", NULL);
  CfTestCall call = { .body = body, .headers = h.v };
  CfTestCall json_call = { .body = body, .headers = h.v, .accept = "application/json" };
  g_autoptr(CfTestSse) sse = cf_test_client_open_sse (f->client, &call);
  g_autoptr(CfTestReply) json_only = NULL;
  JsonObject *event;

  g_assert_cmpuint (cf_test_sse_get_status (sse), ==, 200);
  g_assert_cmpstr (cf_test_sse_get_content_type (sse), ==, "text/event-stream");
  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  event = json_node_get_object (cf_test_sse_get_event (sse, 0));
  g_assert_cmpstr (json_object_get_string_member (event, "method"), ==,
                   "notifications/subscriptions/acknowledged");
  g_assert_cmpint (subscription_id (event), ==, 77);

  /* Not subscribed to prompts: only the second tools change may follow. */
  cf_mcp_server_notify_list_changed (f->server, "prompts");
  cf_mcp_server_notify_list_changed (f->server, "tools");
  g_assert_true (cf_test_sse_wait (sse, 2, CF_TEST_TIMEOUT_MS));
  event = json_node_get_object (cf_test_sse_get_event (sse, 1));
  g_assert_cmpstr (json_object_get_string_member (event, "method"), ==,
                   "notifications/tools/list_changed");
  g_assert_cmpint (subscription_id (event), ==, 77);
  cf_test_spin (100);
  g_assert_cmpuint (cf_test_sse_get_n_events (sse), ==, 2);
  g_assert_false (cf_test_sse_is_closed (sse));

  json_only = cf_test_client_call (f->client, &json_call);
  cf_test_assert_error (json_only->json, CF_JSONRPC_INVALID_REQUEST);
}

/* Legacy server-to-client requests travel on the request's own SSE
 * stream, and the answer comes back in a POST of the same session. */
static void
test_legacy_sampling (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-06-18", "{\"sampling\":{}}");
  g_autofree char *body = legacy_body (5, "tools/call", "{\"name\":\"test_sampling\","
                                       "\"arguments\":{\"prompt\":\"hello\"}}");
  CfTestCall call = { .body = body, .session_id = session };
  g_autoptr(CfTestSse) sse = cf_test_client_open_sse (f->client, &call);
  g_autoptr(CfTestReply) answer = NULL;
  g_autofree char *answer_body = NULL;
  g_autofree char *id = NULL;
  JsonObject *request;

  g_assert_cmpuint (cf_test_sse_get_status (sse), ==, 200);
  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  request = json_node_get_object (cf_test_sse_get_event (sse, 0));
  g_assert_cmpstr (json_object_get_string_member (request, "method"), ==,
                   "sampling/createMessage");
  id = json_to_string (json_object_get_member (request, "id"), FALSE);

  answer_body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":"
                                 "\"assistant\",\"content\":{\"type\":\"text\","
                                 "\"text\":\"hi\"},\"model\":\"m\"}}", id);
  answer = post (f, answer_body, session, NULL);
  g_assert_cmpuint (answer->status, ==, 202);

  g_assert_true (cf_test_sse_wait (sse, 2, CF_TEST_TIMEOUT_MS));
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (cf_test_sse_get_event (sse, 1))),
                   ==, "LLM response: hi");
}

/* Only the session that was asked may answer a server-to-client request:
 * the ids are sequential and easy to guess. */
static void
test_legacy_sampling_foreign_answer (Fixture       *f,
                                     gconstpointer  data)
{
  g_autofree char *victim = initialize (f, "2025-06-18", "{\"sampling\":{}}");
  g_autofree char *intruder = initialize (f, "2025-06-18", NULL);
  g_autofree char *body = legacy_body (5, "tools/call", "{\"name\":\"test_sampling\","
                                       "\"arguments\":{\"prompt\":\"hello\"}}");
  CfTestCall call = { .body = body, .session_id = victim };
  g_autoptr(CfTestSse) sse = cf_test_client_open_sse (f->client, &call);
  g_autoptr(CfTestReply) spoof = NULL;
  g_autoptr(CfTestReply) answer = NULL;
  g_autofree char *id = NULL;
  g_autofree char *spoof_body = NULL;
  g_autofree char *answer_body = NULL;

  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  id = json_to_string (json_object_get_member (
      json_node_get_object (cf_test_sse_get_event (sse, 0)), "id"), FALSE);

  spoof_body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":"
                                "\"assistant\",\"content\":{\"type\":\"text\","
                                "\"text\":\"spoofed\"},\"model\":\"m\"}}", id);
  spoof = post (f, spoof_body, intruder, NULL);
  cf_test_spin (200);
  g_assert_cmpuint (cf_test_sse_get_n_events (sse), ==, 1);

  answer_body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%s,\"result\":{\"role\":"
                                 "\"assistant\",\"content\":{\"type\":\"text\","
                                 "\"text\":\"hi\"},\"model\":\"m\"}}", id);
  answer = post (f, answer_body, victim, NULL);
  g_assert_true (cf_test_sse_wait (sse, 2, CF_TEST_TIMEOUT_MS));
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (cf_test_sse_get_event (sse, 1))),
                   ==, "LLM response: hi");
}

static void
test_legacy_progress (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) reply = legacy_call (
      f, session, 5, "tools/call",
      "{\"name\":\"test_tool_with_progress\",\"_meta\":{\"progressToken\":\"tok\"}}");
  g_autoptr(CfTestReply) quiet = legacy_call (f, session, 6, "tools/call",
                                              "{\"name\":\"test_tool_with_progress\"}");

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (reply->content_type, ==, "text/event-stream");
  g_assert_cmpuint (reply->events->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    {
      JsonObject *event = json_node_get_object (g_ptr_array_index (reply->events, i));
      JsonObject *params = json_object_get_object_member (event, "params");

      g_assert_cmpstr (json_object_get_string_member (event, "method"), ==,
                       "notifications/progress");
      g_assert_cmpstr (json_object_get_string_member (params, "progressToken"), ==, "tok");
      g_assert_cmpfloat (json_object_get_double_member (params, "progress"), ==, i * 50.0);
      g_assert_cmpfloat (json_object_get_double_member (params, "total"), ==, 100.0);
    }
  g_assert_cmpstr (cf_test_first_text (cf_test_assert_result (reply->json)), ==,
                   "Tool with progress executed successfully");

  /* Without a progress token nothing precedes the result. */
  g_assert_cmpstr (quiet->content_type, ==, "application/json");
  assert_ok (quiet);
}

static gboolean
sse_has_result (gpointer user_data)
{
  CfTestSse *sse = user_data;

  for (guint i = 0; i < cf_test_sse_get_n_events (sse); i++)
    if (json_object_has_member (json_node_get_object (cf_test_sse_get_event (sse, i)), "id"))
      return TRUE;
  return cf_test_sse_is_closed (sse);
}

/* A cancelled request gets no response, as the spec asks; its stream just
 * ends. */
static void
test_legacy_cancel (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autofree char *body = legacy_body (5, "tools/call", "{\"name\":\"test_tool_with_logging\"}");
  CfTestCall call = { .body = body, .session_id = session };
  g_autoptr(CfTestSse) sse = cf_test_client_open_sse (f->client, &call);
  g_autoptr(CfTestReply) cancelled = NULL;
  guint n_events;

  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  cancelled = post (f, "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/cancelled\","
                       "\"params\":{\"requestId\":5,\"reason\":\"test\"}}", session, NULL);
  g_assert_cmpuint (cancelled->status, ==, 202);

  cf_test_wait_until (sse_has_result, sse, 1000);
  n_events = cf_test_sse_get_n_events (sse);
  g_assert_cmpuint (n_events, <, 4);
  for (guint i = 0; i < n_events; i++)
    g_assert_false (json_object_has_member (json_node_get_object (cf_test_sse_get_event (sse, i)),
                                            "id"));
  assert_ping (f);
}

/* A client that goes away mid-stream cancels its request; nothing leaks
 * and the server goes on. */
static void
test_modern_client_gone (Fixture       *f,
                         gconstpointer  data)
{
  g_autofree char *body = modern_body (
      1, "tools/call", "\"name\":\"test_tool_with_logging\"",
      "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\","
      "\"io.modelcontextprotocol/clientCapabilities\":{},"
      "\"io.modelcontextprotocol/logLevel\":\"info\"}");
  Headers h = modern_headers ("tools/call", "test_tool_with_logging");
  CfTestCall call = { .body = body, .headers = h.v };
  CfTestSse *sse = cf_test_client_open_sse (f->client, &call);

  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  cf_test_sse_free (sse);

  g_assert_true (cf_test_wait_until (cf_test_http_is_idle, f->http, CF_TEST_TIMEOUT_MS));
  cf_test_spin (200);
  assert_ping (f);
}

typedef struct {
  CfMcpRequest *request;
  guint         n_cancel_func;
  gboolean      cancelled;
} Hanging;

static void
on_hanging_cancelled (GCancellable *cancellable,
                      Hanging      *hanging)
{
  /* The request's function first, then its cancellable */
  g_assert_cmpuint (hanging->n_cancel_func, ==, 1);
  hanging->cancelled = TRUE;
}

static void
on_hanging_cancel_func (CfMcpRequest *request,
                        gpointer      user_data)
{
  Hanging *hanging = user_data;

  g_assert_true (request == hanging->request);
  hanging->n_cancel_func++;
}



/* Watches with its function only: no cancellable until asked for. */
static void
hang_lightly (CfMcpRequest *request,
              gpointer      user_data)
{
  Hanging *hanging = user_data;

  hanging->request = g_object_ref (request);
  cf_mcp_request_set_cancel_func (request, on_hanging_cancel_func, hanging);
}

/* Watches with its function and its cancellable. */
static void
hang (CfMcpRequest *request,
      gpointer      user_data)
{
  hang_lightly (request, user_data);
  g_signal_connect (cf_mcp_request_get_cancellable (request), "cancelled",
                    G_CALLBACK (on_hanging_cancelled), user_data);
}

static gboolean
is_cancel_func_called (gpointer user_data)
{
  return ((Hanging *) user_data)->n_cancel_func > 0;
}

static gboolean
has_request (gpointer user_data)
{
  return ((Hanging *) user_data)->request != NULL;
}

/* A client that hangs up on a plain JSON POST cancels its request: the
 * handler's cancellable fires, and the request is over. */
static void
test_modern_client_gone_cancels (Fixture       *f,
                                 gconstpointer  data)
{
  g_autofree char *body = modern_body (4, "test/hang", NULL, NULL);
  g_autofree char *head = g_strdup_printf ("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Accept: application/json, text/event-stream\r\n"
                                           "MCP-Protocol-Version: " MODERN "\r\n"
                                           "Mcp-Method: test/hang\r\n"
                                           "Content-Length: %zu\r\n\r\n",
                                           f->port, strlen (body));
  g_autoptr(GSocketConnection) connection = NULL;
  Hanging hanging = { 0 };

  cf_mcp_server_add_method (f->server, "test/hang", hang, &hanging, NULL);
  connection = cf_test_connect (f->port);
  cf_test_send_raw (connection, head, strlen (head));
  cf_test_send_raw (connection, body, strlen (body));
  g_assert_true (cf_test_wait_until (has_request, &hanging, CF_TEST_TIMEOUT_MS));
  g_assert_false (cf_mcp_request_is_done (hanging.request));
  g_assert_false (hanging.cancelled);

  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_assert_true (cf_test_wait_flag (&hanging.cancelled, CF_TEST_TIMEOUT_MS));
  g_assert_true (cf_mcp_request_is_done (hanging.request));
  g_assert_cmpuint (hanging.n_cancel_func, ==, 1);
  g_assert_true (g_cancellable_is_cancelled (cf_mcp_request_get_cancellable (hanging.request)));

  g_signal_handlers_disconnect_by_data (cf_mcp_request_get_cancellable (hanging.request),
                                        &hanging);
  g_clear_object (&hanging.request);
  g_assert_true (cf_test_wait_until (cf_test_http_is_idle, f->http, CF_TEST_TIMEOUT_MS));
  assert_ping (f);

  /* A handler with the function only: a cancellable asked for after the
   * fact is cancelled already. */
  {
    g_autofree char *light = modern_body (6, "test/hang-lightly", NULL, NULL);
    g_autofree char *light_head = g_strdup_printf (
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: " MODERN "\r\n"
        "Mcp-Method: test/hang-lightly\r\nContent-Length: %zu\r\n\r\n", f->port,
        strlen (light));
    g_autoptr(GSocketConnection) light_connection = cf_test_connect (f->port);

    hanging = (Hanging) { 0 };
    cf_mcp_server_add_method (f->server, "test/hang-lightly", hang_lightly, &hanging, NULL);
    cf_test_send_raw (light_connection, light_head, strlen (light_head));
    cf_test_send_raw (light_connection, light, strlen (light));
    g_assert_true (cf_test_wait_until (has_request, &hanging, CF_TEST_TIMEOUT_MS));
    g_io_stream_close (G_IO_STREAM (light_connection), NULL, NULL);
    g_assert_true (cf_test_wait_until (is_cancel_func_called, &hanging, CF_TEST_TIMEOUT_MS));
    g_assert_cmpuint (hanging.n_cancel_func, ==, 1);
    g_assert_true (g_cancellable_is_cancelled (cf_mcp_request_get_cancellable (hanging.request)));
    g_clear_object (&hanging.request);
  }

  /* A next request sent before the answer is no hang-up: it waits its
   * turn and is answered after the first. */
  {
    g_autofree char *list = modern_body (5, "tools/list", NULL, NULL);
    g_autofree char *list_head = g_strdup_printf (
        "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
        "Accept: application/json, text/event-stream\r\nMCP-Protocol-Version: " MODERN "\r\n"
        "Mcp-Method: tools/list\r\nContent-Length: %zu\r\n\r\n", f->port, strlen (list));
    g_autofree char *both = g_strconcat (head, body, list_head, list, NULL);
    g_autoptr(GString) answers = NULL;
    gboolean closed = TRUE;

    hanging = (Hanging) { 0 };
    g_clear_object (&connection);
    connection = cf_test_connect (f->port);
    cf_test_send_raw (connection, both, strlen (both));
    g_assert_true (cf_test_wait_until (has_request, &hanging, CF_TEST_TIMEOUT_MS));
    cf_test_spin (100);
    g_assert_false (hanging.cancelled);
    g_assert_false (cf_mcp_request_is_done (hanging.request));

    cf_mcp_request_return (hanging.request, json_object_new ());
    g_assert_cmpuint (hanging.n_cancel_func, ==, 0);
    answers = cf_test_read_raw (connection, 500, &closed);
    g_assert_false (closed);
    g_assert_nonnull (strstr (answers->str, "\"id\":4"));
    g_assert_nonnull (strstr (answers->str, "\"id\":5"));
    g_assert_true (strstr (answers->str, "\"id\":4") < strstr (answers->str, "\"id\":5"));
    g_signal_handlers_disconnect_by_data (cf_mcp_request_get_cancellable (hanging.request),
                                          &hanging);
    g_clear_object (&hanging.request);
  }
}

static void
test_modern_listen_client_gone (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *body = modern_body (9, "subscriptions/listen",
                                       "\"notifications\":{\"toolsListChanged\":true}", NULL);
  Headers h = modern_headers ("subscriptions/listen", NULL);
  CfTestCall call = { .body = body, .headers = h.v };
  CfTestSse *sse = cf_test_client_open_sse (f->client, &call);

  g_assert_true (cf_test_sse_wait (sse, 1, CF_TEST_TIMEOUT_MS));
  cf_test_sse_free (sse);
  cf_test_spin (100);

  /* The next write finds the client gone and drops the listener. */
  cf_mcp_server_notify_list_changed (f->server, "tools");
  g_assert_true (cf_test_wait_until (cf_test_http_is_idle, f->http, CF_TEST_TIMEOUT_MS));
  cf_mcp_server_notify_list_changed (f->server, "tools");
  assert_ping (f);
}

/* 4. Two eras against one server at once */

static void
test_mixed_eras (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-03-26", NULL);
  g_autofree char *l1 = legacy_body (11, "tools/list", NULL);
  g_autofree char *l2 = legacy_body (12, "tools/call", "{\"name\":\"test_simple_text\"}");
  g_autofree char *l3 = legacy_body (13, "ping", NULL);
  g_autofree char *m1 = modern_body (21, "tools/list", NULL, NULL);
  g_autofree char *m2 = modern_body (22, "tools/call", "\"name\":\"test_simple_text\"", NULL);
  g_autofree char *m3 = modern_body (23, "server/discover", NULL, NULL);
  Headers h1 = modern_headers ("tools/list", NULL);
  Headers h2 = modern_headers ("tools/call", "test_simple_text");
  Headers h3 = modern_headers ("server/discover", NULL);
  const CfTestCall calls[] = {
    { .body = l1, .session_id = session },
    { .body = m1, .headers = h1.v },
    { .body = l2, .session_id = session },
    { .body = m2, .headers = h2.v },
    { .body = l3, .session_id = session },
    { .body = m3, .headers = h3.v },
  };
  static const gint64 ids[] = { 11, 21, 12, 22, 13, 23 };
  CfTestPending *pending[G_N_ELEMENTS (calls)];

  for (guint round = 0; round < 3; round++)
    {
      for (gsize i = 0; i < G_N_ELEMENTS (calls); i++)
        pending[i] = cf_test_client_start (f->client, &calls[i]);

      for (gsize i = 0; i < G_N_ELEMENTS (calls); i++)
        {
          g_autoptr(CfTestReply) reply = cf_test_pending_finish (pending[i]);
          JsonObject *result = assert_ok (reply);
          gboolean modern = i % 2 == 1;

          assert_id (reply, ids[i]);
          g_assert_cmpint (json_object_has_member (result, "resultType"), ==, modern);
          if (!modern)
            g_assert_cmpstr (reply->session_id, ==, session);
          else
            g_assert_null (reply->session_id);
          if (i == 2 || i == 3)
            g_assert_cmpstr (cf_test_first_text (result), ==, SIMPLE_TEXT);
        }
    }
}

/* 5. Batches */

static void
test_batch_legacy (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-03-26", NULL);
  g_autoptr(CfTestReply) reply = post (
      f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", session, NULL);
  g_autoptr(CfTestReply) notes = post (
      f, "[{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}]", session, NULL);
  JsonArray *responses;
  gboolean seen[3] = { FALSE };

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (reply->json));
  responses = json_node_get_array (reply->json);
  g_assert_cmpuint (json_array_get_length (responses), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonNode *element = json_array_get_element (responses, i);
      gint64 id = json_object_get_int_member (json_node_get_object (element), "id");

      cf_test_assert_result (element);
      g_assert_true (id == 1 || id == 2);
      seen[id] = TRUE;
    }
  g_assert_true (seen[1] && seen[2]);

  g_assert_cmpuint (notes->status, ==, 202);
}

/* Messages that precede the answers of a batch stream out first; the
 * answers come last, as one array. */
static void
test_batch_streaming (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-03-26", NULL);
  g_autoptr(CfTestReply) reply = post (
      f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\","
      "\"params\":{\"name\":\"test_tool_with_logging\"}},"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", session, NULL);
  JsonArray *responses;

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_cmpstr (reply->content_type, ==, "text/event-stream");
  g_assert_cmpuint (reply->events->len, ==, 4);
  for (guint i = 0; i < 3; i++)
    g_assert_cmpstr (json_object_get_string_member (
        json_node_get_object (g_ptr_array_index (reply->events, i)), "method"), ==,
        "notifications/message");
  g_assert_true (JSON_NODE_HOLDS_ARRAY (reply->json));
  responses = json_node_get_array (reply->json);
  g_assert_cmpuint (json_array_get_length (responses), ==, 2);
  for (guint i = 0; i < 2; i++)
    cf_test_assert_result (json_array_get_element (responses, i));
}

static void
test_batch_rejected (Fixture       *f,
                     gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-11-25", NULL);
  g_autoptr(CfTestReply) reply = post (
      f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"},"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", session, NULL);

  assert_rpc_error (reply, 400, CF_JSONRPC_INVALID_REQUEST);
  assert_id_null (reply);
}

static void
test_batch_empty (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-03-26", NULL);
  g_autoptr(CfTestReply) reply = post (f, "[]", session, NULL);

  assert_rpc_error (reply, 400, CF_JSONRPC_INVALID_REQUEST);
  assert_id_null (reply);
  assert_ping (f);
}

static void
test_batch_initialize (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-03-26", NULL);
  g_autoptr(CfTestReply) reply = post (
      f, "[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"initialize\",\"params\":"
      "{\"protocolVersion\":\"2025-03-26\",\"capabilities\":{},"
      "\"clientInfo\":{\"name\":\"t\",\"version\":\"1\"}}},"
      "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"ping\"}]", session, NULL);
  JsonArray *responses;
  guint n_sessions = cf_mcp_server_get_n_sessions (f->server);

  g_assert_cmpuint (reply->status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (reply->json));
  responses = json_node_get_array (reply->json);
  g_assert_cmpuint (json_array_get_length (responses), ==, 2);
  for (guint i = 0; i < 2; i++)
    {
      JsonNode *element = json_array_get_element (responses, i);
      gint64 id = json_object_get_int_member (json_node_get_object (element), "id");

      if (id == 1)
        cf_test_assert_error (element, CF_JSONRPC_INVALID_REQUEST);
      else
        cf_test_assert_result (element);
    }
  g_assert_cmpuint (n_sessions, ==, 1);
  g_assert_cmpstr (reply->session_id, ==, session);
}

static char *
ping_batch (guint n)
{
  GString *body = g_string_new ("[");

  for (guint i = 0; i < n; i++)
    g_string_append_printf (body, "%s{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"ping\"}",
                            i ? "," : "", i);
  g_string_append_c (body, ']');
  return g_string_free (body, FALSE);
}

static void
test_batch_huge (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *session = initialize (f, "2025-03-26", NULL);
  g_autofree char *huge = ping_batch (10000);
  g_autofree char *over = ping_batch (101);
  g_autofree char *limit = ping_batch (100);
  g_autoptr(CfTestReply) reply = post (f, huge, session, NULL);
  g_autoptr(CfTestReply) over_reply = NULL;
  g_autoptr(CfTestReply) limit_reply = NULL;
  JsonObject *error;

  error = assert_rpc_error (reply, 413, CF_JSONRPC_INVALID_REQUEST);
  g_assert_nonnull (strstr (json_object_get_string_member (error, "message"), "10000"));
  assert_id_null (reply);
  assert_ping (f);

  over_reply = post (f, over, session, NULL);
  assert_rpc_error (over_reply, 413, CF_JSONRPC_INVALID_REQUEST);
  limit_reply = post (f, limit, session, NULL);
  g_assert_cmpuint (limit_reply->status, ==, 200);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (limit_reply->json));
  g_assert_cmpuint (json_array_get_length (json_node_get_array (limit_reply->json)), ==, 100);
}

/* 6. Hostile input */

typedef struct {
  const char *description;
  const char *body;
  gsize       length;
  const char *content_type;
  const char *accept;
  gboolean    expect_continue;
  guint       status;
  int         code;
  const char *detail;
} BadRow;

static void
run_bad_row (Fixture      *f,
             const BadRow *row,
             GString      *failures)
{
  CfTestCall call = {
    .body = row->body,
    .length = row->length,
    .content_type = row->content_type,
    .accept = row->accept,
    .expect_continue = row->expect_continue,
  };
  g_autoptr(CfTestReply) reply = NULL;

  g_test_message ("row: %s", row->description);
  reply = cf_test_client_call (f->client, &call);
  if (reply->status != row->status)
    {
      g_string_append_printf (failures, "[%s: status %u, expected %u] ", row->description,
                              reply->status, row->status);
      assert_ping (f);
      return;
    }
  if (row->code != 0)
    cf_test_assert_error (reply->json, row->code);
  if (row->detail != NULL)
    {
      g_autofree char *text = g_strndup (g_bytes_get_data (reply->body, NULL),
                                         g_bytes_get_size (reply->body));

      g_assert_nonnull (strstr (text, row->detail));
    }
  assert_ping (f);
}

static char *
repeat (const char *unit,
        guint       n)
{
  GString *text = g_string_sized_new (strlen (unit) * n);

  for (guint i = 0; i < n; i++)
    g_string_append (text, unit);
  return g_string_free (text, FALSE);
}

static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  static const char nul_body[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}\0";
  g_autofree char *deep_arrays = repeat ("[", 100000);
  g_autofree char *deep_objects = repeat ("{\"a\":", 100000);
  g_autofree char *huge = g_malloc (10 * 1024 * 1024);
  g_autofree char *just_over = NULL;
  gsize limit = 4 * 1024 * 1024;
  g_autoptr(GString) failures = g_string_new (NULL);
  const BadRow rows[] = {
    { "malformed JSON", "{\"jsonrpc\":\"2.0\",,}", 0, NULL, NULL, FALSE,
      400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "truncated JSON", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi", 0, NULL, NULL, FALSE,
      400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "trailing garbage", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"} x", 0, NULL,
      NULL, FALSE, 400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "empty body", "", 0, NULL, NULL, FALSE, 400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "only whitespace", " \r\n\t ", 0, NULL, NULL, FALSE, 400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "a 10 MB body", huge, 10 * 1024 * 1024, NULL, NULL, TRUE, 413, 0, "Payload Too Large" },
    { "one byte over the limit", NULL, 0, NULL, NULL, TRUE, 413, 0, "Payload Too Large" },
    { "Content-Type text/plain", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      "text/plain", NULL, FALSE, 415, CF_JSONRPC_INVALID_REQUEST, NULL },
    { "no Content-Type", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      "", NULL, FALSE, 415, CF_JSONRPC_INVALID_REQUEST, NULL },
    { "Content-Type with charset", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      "application/json; charset=utf-8", NULL, FALSE, 200, 0, NULL },
    { "Accept text/html only", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      NULL, "text/html", FALSE, 406, CF_JSONRPC_INVALID_REQUEST, NULL },
    { "Accept application/json only", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      NULL, "application/json", FALSE, 200, 0, NULL },
    { "Accept */*", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      NULL, "*/*", FALSE, 200, 0, NULL },
    { "Accept text/event-stream only", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      NULL, "text/event-stream", FALSE, 200, 0, "data: " },
    { "params a string", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":\"x\"}",
      0, NULL, NULL, FALSE, 400, CF_JSONRPC_INVALID_PARAMS, NULL },
    { "id an object", "{\"jsonrpc\":\"2.0\",\"id\":{},\"method\":\"ping\"}", 0, NULL, NULL,
      FALSE, 400, CF_JSONRPC_INVALID_REQUEST, NULL },
    { "100,000 nested arrays", deep_arrays, 0, NULL, NULL, FALSE,
      400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "100,000 nested objects", deep_objects, 0, NULL, NULL, FALSE,
      400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "invalid UTF-8 in a string",
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xff\xfe\"}}", 0,
      NULL, NULL, FALSE, 400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "overlong UTF-8 in a string",
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\",\"params\":{\"x\":\"\xc0\xaf\"}}", 0,
      NULL, NULL, FALSE, 400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "a NUL byte after the document", nul_body, sizeof nul_body - 1, NULL, NULL, FALSE,
      400, CF_JSONRPC_PARSE_ERROR, NULL },
    { "an escaped NUL in a method", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"pi\\u0000ng\"}",
      0, NULL, NULL, FALSE, 200, CF_JSONRPC_METHOD_NOT_FOUND, NULL },
    /* Media types are case-insensitive (RFC 9110, 8.3.1). */
    { "Content-Type in upper case", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      "Application/JSON", NULL, FALSE, 200, 0, NULL },
    { "Accept in upper case", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}", 0,
      NULL, "Application/JSON", FALSE, 200, 0, NULL },
    /* Only one JSON text per body: a second one must not be ignored. */
    { "two documents", "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}{}", 0, NULL,
      NULL, FALSE, 400, CF_JSONRPC_PARSE_ERROR, NULL },
  };
  BadRow over;

  cf_http_server_set_max_body (f->http, limit);
  g_assert_cmpuint (cf_http_server_get_max_body (f->http), ==, limit);
  memset (huge, ' ', 10 * 1024 * 1024);
  just_over = g_malloc (limit + 1);
  memset (just_over, ' ', limit + 1);

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      if (rows[i].body != NULL)
        {
          run_bad_row (f, &rows[i], failures);
          continue;
        }
      over = rows[i];
      over.body = just_over;
      over.length = limit + 1;
      run_bad_row (f, &over, failures);
    }

  /* Every row ran; now report all that went wrong at once. */
  g_assert_cmpstr (failures->str, ==, "");
}

/* The declared length alone must get the answer: the body is never read.
 * With Expect: 100-continue the client waits for that verdict; without it
 * the server must still answer (and close) before the body arrives. */
static void
assert_refused_unread (Fixture    *f,
                       const char *expect)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *head = g_strdup_printf ("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Accept: application/json\r\n%s"
                                           "Content-Length: %d\r\n\r\n",
                                           f->port, expect, 10 * 1024 * 1024);
  g_autoptr(GString) answer = NULL;
  gboolean closed = FALSE;

  cf_test_send_raw (connection, head, strlen (head));
  answer = cf_test_read_raw (connection, 2000, &closed);
  g_test_message ("answer (closed: %d): %s", closed, answer->str);
  g_assert_true (g_str_has_prefix (answer->str, "HTTP/1.1 413"));
  g_assert_nonnull (strstr (answer->str, "Payload Too Large"));
  g_assert_true (closed);
  assert_ping (f);
}

static void
test_body_limit_expect_continue (Fixture       *f,
                                 gconstpointer  data)
{
  assert_refused_unread (f, "Expect: 100-continue\r\n");
}

/* Without Expect: 100-continue, libsoup reads the declared body to keep
 * the connection in step; the gateway discards it (it is not kept in
 * memory), answers 413 and closes. */
static void
test_body_limit_unread (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  gsize size = 10 * 1024 * 1024;
  g_autofree char *head = g_strdup_printf ("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                                           "Content-Type: application/json\r\n"
                                           "Accept: application/json\r\n"
                                           "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n",
                                           f->port, size);
  g_autofree char *chunk = g_malloc (64 * 1024);
  g_autoptr(GString) answer = NULL;
  gboolean closed = FALSE;

  memset (chunk, ' ', 64 * 1024);
  cf_test_send_raw (connection, head, strlen (head));
  for (gsize sent = 0; sent < size; sent += 64 * 1024)
    cf_test_send_raw (connection, chunk, MIN (64 * 1024, size - sent));
  answer = cf_test_read_raw (connection, 5000, &closed);
  g_assert_true (g_str_has_prefix (answer->str, "HTTP/1.1 413"));
  g_assert_nonnull (strstr (answer->str, "Payload Too Large"));
  assert_ping (f);
}

typedef struct {
  const char *description;
  const char *host;
  const char *origin;
  guint       status;
} HostRow;

static char *
with_port (const char *text,
           guint       port)
{
  g_autofree char *number = g_strdup_printf ("%u", port);
  GString *result;

  if (text == NULL)
    return NULL;
  result = g_string_new (text);
  g_string_replace (result, "{port}", number, 0);
  return g_string_free (result, FALSE);
}

static void
test_host_origin (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GString) failures = g_string_new (NULL);
  const HostRow rows[] = {
    { "Host evil.example.com", "evil.example.com", NULL, 403 },
    { "Host evil.example.com with port", "evil.example.com:{port}", NULL, 403 },
    { "Host a loopback lookalike", "127.0.0.1.evil.example.com:{port}", NULL, 403 },
    { "Host localhost lookalike", "localhost.evil.example.com:{port}", NULL, 403 },
    { "Origin evil.example.com", "127.0.0.1:{port}", "http://evil.example.com", 403 },
    { "Origin evil.example.com, same port", "127.0.0.1:{port}",
      "http://evil.example.com:{port}", 403 },
    { "Origin not a URL", "127.0.0.1:{port}", "evil", 403 },
    { "no Origin, Host 127.0.0.1", "127.0.0.1:{port}", NULL, 200 },
    { "Host localhost", "localhost:{port}", NULL, 200 },
    { "Host [::1]", "[::1]:{port}", NULL, 200 },
    { "Origin 127.0.0.1", "127.0.0.1:{port}", "http://127.0.0.1:{port}", 200 },
    { "Origin localhost", "localhost:{port}", "http://localhost:{port}", 200 },
    { "Origin [::1]", "[::1]:{port}", "http://[::1]:{port}", 200 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *host = with_port (rows[i].host, f->port);
      g_autofree char *origin = with_port (rows[i].origin, f->port);
      const char *headers[] = { "Host", host, origin ? "Origin" : NULL, origin, NULL };
      g_autofree char *body = legacy_body (3, "ping", NULL);
      g_autoptr(CfTestReply) reply = NULL;

      g_test_message ("row: %s", rows[i].description);
      reply = post (f, body, NULL, headers);
      if (reply->status != rows[i].status)
        {
          g_string_append_printf (failures, "[%s: status %u, expected %u] ",
                                  rows[i].description, reply->status, rows[i].status);
          assert_ping (f);
          continue;
        }
      if (rows[i].status == 403)
        {
          JsonObject *object = reply_object (reply);

          g_assert_nonnull (strstr (json_object_get_string_member (object, "detail"),
                                    "Forbidden"));
        }
      else
        assert_ok (reply);
      assert_ping (f);
    }

  g_assert_cmpstr (failures->str, ==, "");
}

/* 7. Slow clients */

typedef struct {
  GSocketConnection *connection;
  GString           *answer;
  gboolean           closed;
} Stalled;

static Stalled
stall (Fixture    *f,
       const char *text)
{
  Stalled stalled = { cf_test_connect (f->port), NULL, FALSE };

  cf_test_send_raw (stalled.connection, text, strlen (text));
  return stalled;
}

static void
test_slow_loris (Fixture       *f,
                 gconstpointer  data)
{
  g_autofree char *slow_body = NULL;
  Stalled stalled[2];
  gint64 start, elapsed;

  cf_http_server_set_header_timeout (f->http, 1);
  slow_body = g_strdup_printf ("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                               "Content-Type: application/json\r\n"
                               "Content-Length: 100\r\n\r\n{\"jsonrpc\"", f->port);
  start = g_get_monotonic_time ();
  stalled[0] = stall (f, "POST /mcp HTT");
  stalled[1] = stall (f, slow_body);

  /* Stalled clients do not hold up the others. */
  assert_ping (f);
  g_assert_cmpint (g_get_monotonic_time () - start, <, G_USEC_PER_SEC);

  for (guint i = 0; i < G_N_ELEMENTS (stalled); i++)
    {
      gint64 left = 3 * G_USEC_PER_SEC - (g_get_monotonic_time () - start);

      stalled[i].answer = cf_test_read_raw (stalled[i].connection, MAX (left, 0) / 1000,
                                            &stalled[i].closed);
    }
  elapsed = g_get_monotonic_time () - start;

  for (guint i = 0; i < G_N_ELEMENTS (stalled); i++)
    {
      g_test_message ("stalled %u closed: %d, answer: %s", i, stalled[i].closed,
                      stalled[i].answer->str);
      g_assert_true (stalled[i].closed);
      g_assert_true (stalled[i].answer->len == 0 ||
                     strstr (stalled[i].answer->str, "408") != NULL);
      g_string_free (stalled[i].answer, TRUE);
      g_object_unref (stalled[i].connection);
    }
  g_assert_cmpint (elapsed, <, 3 * G_USEC_PER_SEC);
  g_assert_cmpint (elapsed, >=, G_USEC_PER_SEC / 2);
  assert_ping (f);
}

/* What the era adapter writes as text for a relayed result is what it
 * adds to the same result as a tree, member for member and only once. */
static void
test_era_shaped_text (void)
{
  static const struct {
    CfMcpEra    era;
    const char *method;
    gint64      ttl_ms;
    gboolean    private_scope;
  } cases[] = {
    { CF_MCP_ERA_LEGACY, "tools/call", 0, FALSE },
    { CF_MCP_ERA_LEGACY, "resources/read", 5000, TRUE },
    { CF_MCP_ERA_MODERN, "tools/call", 0, FALSE },
    { CF_MCP_ERA_MODERN, "resources/read", 5000, TRUE },
    { CF_MCP_ERA_MODERN, "tools/list", -1, FALSE },
  };
  static const char *passed[] = { "", "\"content\":[{\"type\":\"text\",\"text\":\"a\"}]" };
  g_autoptr(CfMcpServer) server = cf_mcp_server_new ("Gateway \"Q\"", "1.0");
  g_autoptr(JsonNode) info = cf_json_node_new_object (json_object_ref (cf_mcp_server_get_info (server)));
  g_autofree char *info_text = cf_json_to_string (info, NULL);

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    for (guint j = 0; j < G_N_ELEMENTS (passed); j++)
      {
        g_autofree char *tree_text = g_strdup_printf ("{%s}", passed[j]);
        g_autoptr(JsonNode) tree = cf_json_parse (tree_text, -1, NULL);
        g_autoptr(GString) text = g_string_new ("{");
        g_autoptr(JsonNode) written = NULL;
        JsonObject *shaped;
        const char *second;

        g_test_message ("case %u, %s", i, passed[j]);
        shaped = cf_mcp_era_shape_result (cases[i].era, cases[i].method,
                                          json_object_ref (json_node_get_object (tree)),
                                          cases[i].ttl_ms, cases[i].private_scope,
                                          cf_mcp_server_get_info (server));
        json_object_unref (shaped);

        g_string_append (text, passed[j]);
        cf_mcp_era_append_shaped_members (cases[i].era, cases[i].method, cases[i].ttl_ms,
                                          cases[i].private_scope, info_text, text,
                                          passed[j][0] != '\0');
        g_string_append_c (text, '}');
        written = cf_json_parse (text->str, text->len, NULL);
        g_assert_nonnull (written);
        g_assert_true (json_node_equal (tree, written));
        /* No member twice: a parser would keep only one of them. */
        second = strstr (text->str, "\"resultType\"");
        g_assert_true (second == NULL || strstr (second + 1, "\"resultType\"") == NULL);
        g_assert_cmpint (cases[i].era == CF_MCP_ERA_MODERN, ==, second != NULL);
      }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add ("/mcp-http/" path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("errors/parse", test_parse_error);
  ADD ("errors/invalid-request", test_invalid_request);
  ADD ("errors/params-not-object", test_params_not_object);
  ADD ("errors/method-not-found", test_method_not_found);
  ADD ("errors/invalid-params", test_invalid_params);
  ADD ("errors/unsupported-version", test_unsupported_version);
  ADD ("errors/header-mismatch", test_header_mismatch);
  ADD ("errors/missing-client-capabilities", test_missing_client_capabilities);
  ADD ("errors/legacy-bad-version-header", test_legacy_bad_version_header);
  ADD ("session/lifecycle", test_session_lifecycle);
  ADD ("session/get-stream", test_session_get_stream);
  ADD ("session/notification", test_session_notification);
  ADD ("session/stray-response", test_session_stray_response);
  ADD ("session/negotiation", test_session_negotiation);
  ADD ("session/modern-only", test_session_modern_only);
  ADD ("session/limits", test_session_limits);
  ADD ("session/ignored-by-modern", test_session_ignored_by_modern);
  ADD ("session/routes", test_session_routes);
  ADD ("modern/discover", test_modern_discover);
  ADD ("modern/capabilities-isolated", test_modern_capabilities_isolated);
  ADD ("modern/cache-hints", test_modern_cache_hints);
  ADD ("modern/legacy-methods", test_modern_legacy_methods);
  ADD ("modern/logging", test_modern_logging);
  ADD ("modern/mrtr", test_modern_mrtr);
  ADD ("modern/missing-capability", test_modern_missing_capability);
  ADD ("modern/listen", test_modern_listen);
  ADD ("modern/client-gone", test_modern_client_gone);
  ADD ("modern/client-gone-cancels", test_modern_client_gone_cancels);
  ADD ("modern/listen-client-gone", test_modern_listen_client_gone);
  ADD ("legacy/sampling", test_legacy_sampling);
  ADD ("legacy/progress", test_legacy_progress);
  ADD ("legacy/cancel", test_legacy_cancel);
  ADD ("legacy/sampling-foreign-answer", test_legacy_sampling_foreign_answer);
  ADD ("mixed/eras", test_mixed_eras);
  ADD ("batch/legacy", test_batch_legacy);
  ADD ("batch/rejected", test_batch_rejected);
  ADD ("batch/empty", test_batch_empty);
  ADD ("batch/initialize", test_batch_initialize);
  ADD ("batch/huge", test_batch_huge);
  ADD ("batch/streaming", test_batch_streaming);
  ADD ("input/bad", test_bad_input);
  ADD ("input/body-limit-expect-continue", test_body_limit_expect_continue);
  ADD ("input/body-limit-unread", test_body_limit_unread);
  ADD ("input/host-origin", test_host_origin);
  ADD ("input/slow-loris", test_slow_loris);

#undef ADD

  g_test_add_func ("/mcp-http/modern/shaped-text", test_era_shaped_text);

  return g_test_run ();
}
