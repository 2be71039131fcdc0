/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-http1-server"

#include "config.h"

#include <locale.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "../fixture/cf-fixture-tools.h"
#include "cf-http-header.h"
#include "cf-http-server.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-server.h"
#include "cf-streamable-http.h"
#include "cf-test-util.h"

/* The gateway's own HTTP/1.1 server, which serves the MCP endpoints' POSTs
 * and leaves every other connection to libsoup, over raw sockets on
 * 127.0.0.1: the fixture's MCP server at /mcp, and a route only libsoup
 * serves at /v1. Which of the two answered shows in libsoup's
 * "request-read" signal, which only libsoup emits. */

#define MODERN "2026-07-28"
#define META "{\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\"," \
             "\"io.modelcontextprotocol/clientCapabilities\":{}}"
#define READ_MS 5000

typedef struct {
  CfMcpServer      *server;
  CfHttpServer     *http;
  CfStreamableHttp *transport;
  guint             port;
  guint             soup_requests;
  guint             routed;
} Fixture;

typedef struct {
  guint               status;
  SoupMessageHeaders *headers;
  GString            *body;
} Response;

static void
response_free (Response *response)
{
  soup_message_headers_unref (response->headers);
  g_string_free (response->body, TRUE);
  g_free (response);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Response, response_free)

static void
on_request_read (SoupServer        *soup,
                 SoupServerMessage *msg,
                 Fixture           *f)
{
  f->soup_requests++;
}

static void
on_v1 (CfHttpServer      *http,
       SoupServerMessage *msg,
       const char        *path,
       GHashTable        *query,
       gpointer           user_data)
{
  Fixture *f = user_data;
  g_autoptr(JsonNode) body = cf_test_parse ("{\"ok\":true}");

  f->routed++;
  cf_http_respond_json (msg, SOUP_STATUS_OK, body);
}

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
  cf_http_server_add_route (f->http, "/v1", on_v1, f);
  cf_http_server_set_max_body (f->http, 4096);
  g_signal_connect (cf_http_server_get_soup_server (f->http), "request-read",
                    G_CALLBACK (on_request_read), f);
  g_assert_true (cf_http_server_listen (f->http, "127.0.0.1", 0, &error));
  g_assert_no_error (error);
  f->port = cf_http_server_get_port (f->http);
  g_assert_cmpuint (f->port, >, 0);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  cf_mcp_server_shutdown (f->server);
  cf_streamable_http_close_streams (f->transport);
  cf_test_wait_until (cf_test_http_is_idle, f->http, 2000);
  cf_test_spin (20);
  g_clear_object (&f->transport);
  g_clear_object (&f->http);
  g_assert_finalize_object (f->server);
}

/* Requests and responses, byte for byte */

static char *
post_text (Fixture    *f,
           const char *path,
           const char *extra_headers,
           const char *body)
{
  return g_strdup_printf ("POST %s HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n"
                          "Content-Type: application/json\r\n"
                          "Accept: application/json, text/event-stream\r\n"
                          "%sContent-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                          path, f->port, extra_headers ? extra_headers : "", strlen (body), body);
}

/* A stateless tools/call of test_simple_text */
#define CALL_HEADERS "MCP-Protocol-Version: " MODERN "\r\nMcp-Method: tools/call\r\n" \
                     "Mcp-Name: test_simple_text\r\n"

static char *
call_body (guint id)
{
  return g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"tools/call\","
                          "\"params\":{\"name\":\"test_simple_text\",\"arguments\":{},"
                          "\"_meta\":" META "}}", id);
}

static char *
call_text (Fixture *f,
           guint    id)
{
  g_autofree char *body = call_body (id);

  return post_text (f, "/mcp", CALL_HEADERS, body);
}

/* A tools/call of test_tool_with_logging at debug level: its answer is an
 * SSE stream of three log messages, 50 ms apart, then the result. */
static char *
logging_call_text (Fixture *f,
                   guint    id)
{
  g_autofree char *body = g_strdup_printf (
      "{\"jsonrpc\":\"2.0\",\"id\":%u,\"method\":\"tools/call\",\"params\":{"
      "\"name\":\"test_tool_with_logging\",\"arguments\":{},\"_meta\":{"
      "\"io.modelcontextprotocol/protocolVersion\":\"" MODERN "\","
      "\"io.modelcontextprotocol/clientCapabilities\":{},"
      "\"io.modelcontextprotocol/logLevel\":\"debug\"}}}", id);

  return post_text (f, "/mcp", "MCP-Protocol-Version: " MODERN "\r\nMcp-Method: tools/call\r\n"
                    "Mcp-Name: test_tool_with_logging\r\n", body);
}

/* Decodes a chunked body; %FALSE while it is not all there. */
static gboolean
dechunk (const char *data,
         gsize       length,
         GString    *body,
         gsize      *used)
{
  gsize at = 0;

  for (guint i = 0; i < 10000; i++)
    {
      const char *line_end = g_strstr_len (data + at, length - at, "\r\n");
      guint64 size;

      if (line_end == NULL)
        return FALSE;
      size = g_ascii_strtoull (data + at, NULL, 16);
      at = line_end + 2 - data;
      if (size == 0)
        {
          if (length - at < 2)
            return FALSE;
          *used = at + 2;
          return TRUE;
        }
      if (length - at < size + 2)
        return FALSE;
      g_string_append_len (body, data + at, size);
      at += size + 2;
    }
  g_assert_not_reached ();
}

/* Takes the first whole response off @data. */
static Response *
take_response (GString *data)
{
  const char *end = g_strstr_len (data->str, data->len, "\r\n\r\n");
  g_autoptr(Response) response = NULL;
  gsize head_length, used = 0;

  if (end == NULL)
    return NULL;
  head_length = end + 4 - data->str;
  response = g_new0 (Response, 1);
  response->headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  response->body = g_string_new (NULL);
  g_assert_true (soup_headers_parse_response (data->str, head_length, response->headers, NULL,
                                              &response->status, NULL));
  if (soup_message_headers_get_encoding (response->headers) == SOUP_ENCODING_CHUNKED)
    {
      if (!dechunk (data->str + head_length, data->len - head_length, response->body, &used))
        return NULL;
    }
  else
    {
      goffset length = soup_message_headers_get_content_length (response->headers);

      if (data->len - head_length < (gsize) length)
        return NULL;
      g_string_append_len (response->body, data->str + head_length, length);
      used = length;
    }
  g_string_erase (data, 0, head_length + used);
  return g_steal_pointer (&response);
}

/* Reads until @n responses are whole, or @closed says the server closed
 * the connection first. */
static GPtrArray *
read_responses (GSocketConnection *connection,
                guint              n,
                gboolean          *closed)
{
  GPtrArray *responses = g_ptr_array_new_with_free_func ((GDestroyNotify) response_free);
  g_autoptr(GString) data = g_string_new (NULL);
  gint64 deadline = g_get_monotonic_time () + READ_MS * 1000;
  gboolean gone = FALSE;

  while (responses->len < n && !gone && g_get_monotonic_time () < deadline)
    {
      g_autoptr(GString) more = cf_test_read_raw (connection, 30, &gone);
      Response *response;

      g_string_append_len (data, more->str, more->len);
      while (responses->len < n && (response = take_response (data)) != NULL)
        g_ptr_array_add (responses, response);
    }
  if (closed != NULL)
    *closed = gone;
  return responses;
}

static Response *
read_one (GSocketConnection *connection)
{
  g_autoptr(GPtrArray) responses = read_responses (connection, 1, NULL);

  g_assert_cmpuint (responses->len, ==, 1);
  return g_ptr_array_steal_index (responses, 0);
}

/* Sends @text, a whole request, and reads its response. */
static Response *
round_trip (GSocketConnection *connection,
            const char        *text)
{
  cf_test_send_raw (connection, text, strlen (text));
  return read_one (connection);
}

static JsonObject *
body_object (Response *response)
{
  g_autoptr(JsonNode) node = cf_test_parse (response->body->str);

  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/* The answer of call_text () */
static void
assert_pong (Response *response,
             gint64    id)
{
  g_autoptr(JsonObject) object = NULL;

  g_test_message ("response %u: %s", response->status, response->body->str);
  g_assert_cmpuint (response->status, ==, 200);
  object = body_object (response);
  g_assert_cmpstr (soup_message_headers_get_content_type (response->headers, NULL), ==,
                   "application/json");
  g_assert_cmpint (json_object_get_int_member (object, "id"), ==, id);
  g_assert_cmpstr (cf_test_first_text (json_object_get_object_member (object, "result")), ==,
                   "This is a simple text response for testing.");
}

/* Tests */

/* A POST to /mcp is ours, with libsoup's headers and the chain's; a GET
 * to /v1 on another connection is libsoup's. */
static void
test_native (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GSocketConnection) mcp = cf_test_connect (f->port);
  g_autoptr(GSocketConnection) rest = cf_test_connect (f->port);
  g_autofree char *request = call_text (f, 7);
  g_autofree char *get = g_strdup_printf ("GET /v1/x HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                                          f->port);
  g_autoptr(Response) pong = NULL;
  g_autoptr(Response) ok = NULL;

  pong = round_trip (mcp, request);
  assert_pong (pong, 7);
  /* A minted request id: the process's random prefix, then a counter. */
  g_assert_true (g_regex_match_simple ("^[0-9a-f]{16,24}$",
                                       soup_message_headers_get_one (pong->headers, "X-Request-ID"),
                                       0, 0));
  {
    g_autoptr(Response) again = round_trip (mcp, request);

    assert_pong (again, 7);
    g_assert_cmpstr (soup_message_headers_get_one (again->headers, "X-Request-ID"), !=,
                     soup_message_headers_get_one (pong->headers, "X-Request-ID"));
    g_assert_true (strncmp (soup_message_headers_get_one (again->headers, "X-Request-ID"),
                            soup_message_headers_get_one (pong->headers, "X-Request-ID"), 8) == 0);
  }
  g_assert_nonnull (soup_message_headers_get_one (pong->headers, "Date"));
  g_assert_cmpstr (soup_message_headers_get_one (pong->headers, "Server"), ==,
                   PACKAGE_NAME "/" PACKAGE_VERSION);
  g_assert_cmpuint (f->soup_requests, ==, 0);

  ok = round_trip (rest, get);
  g_assert_cmpuint (ok->status, ==, 200);
  g_assert_cmpuint (f->routed, ==, 1);
  g_assert_cmpuint (f->soup_requests, ==, 1);
  g_assert_true (cf_test_wait_until (cf_test_http_is_idle, f->http, 2000));
}

/* The native server's request headers are the fields it parsed: looked
 * up without case, the last of repeated ones wins (as libsoup answers),
 * and they become SoupMessageHeaders, all of them, when asked for. */
static void
on_fields (CfHttpServer   *http,
           CfHttpExchange *exchange,
           const char     *path,
           GHashTable     *query,
           gpointer        user_data)
{
  Fixture *f = user_data;
  const char *repeat = cf_http_exchange_get_header (exchange, "x-REPEAT");
  g_autoptr(GBytes) body = g_bytes_new_static ("{}", 2);
  SoupMessageHeaders *headers;

  f->routed++;
  g_assert_cmpstr (repeat, ==, "two");
  g_assert_cmpstr (cf_http_exchange_get_header (exchange, "x-spaced"), ==, "a  b");
  g_assert_null (cf_http_exchange_get_header (exchange, "X-Missing"));
  headers = cf_http_exchange_get_request_headers (exchange);
  g_assert_cmpstr (soup_message_headers_get_list (headers, "X-Repeat"), ==, "one, two");
  g_assert_cmpstr (soup_message_headers_get_one (headers, "Host"), !=, NULL);
  /* The same answers once they exist. */
  g_assert_cmpstr (cf_http_exchange_get_header (exchange, "X-Repeat"), ==, "two");
  g_assert_true (cf_http_exchange_get_request_headers (exchange) == headers);
  cf_http_exchange_respond_json_bytes (exchange, SOUP_STATUS_OK, body);
}

/* A tools/call POST to /mcp with @content_type */
static char *
call_typed (Fixture    *f,
            const char *content_type,
            const char *body)
{
  return g_strdup_printf ("POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: %s\r\n"
                          "Accept: application/json, text/event-stream\r\n" CALL_HEADERS
                          "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s",
                          f->port, content_type, strlen (body), body);
}

static void
test_header_fields (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *request = post_text (f, "/fields", "X-Repeat: one\r\nx-spaced:   a  b  \r\n"
                                        "X-Repeat: two\r\n", "{}");
  g_autofree char *with_charset = NULL;
  g_autofree char *not_json = NULL;
  g_autofree char *body = call_body (5);
  g_autoptr(Response) fields = NULL;
  g_autoptr(Response) charset = NULL;
  g_autoptr(Response) refused = NULL;

  cf_http_server_add_exchange_route (f->http, "/fields", on_fields, f);
  cf_http_server_add_native_endpoint (f->http, "/fields");
  fields = round_trip (connection, request);
  g_assert_cmpuint (fields->status, ==, 200);
  g_assert_cmpuint (f->routed, ==, 1);

  /* The MCP endpoint reads the media type without its parameters. */
  with_charset = call_typed (f, "Application/JSON ; charset=utf-8", body);
  charset = round_trip (connection, with_charset);
  assert_pong (charset, 5);
  not_json = call_typed (f, "application/jsonx", body);
  refused = round_trip (connection, not_json);
  g_assert_cmpuint (refused->status, ==, 415);
  g_assert_cmpuint (f->soup_requests, ==, 0);
}

/* Keep-alive and pipelining: three requests, two in one write, answered
 * in order on the one connection. */
static void
test_pipelined (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *one = call_text (f, 1);
  g_autofree char *two = call_text (f, 2);
  g_autofree char *three = call_text (f, 3);
  g_autofree char *both = g_strconcat (one, two, NULL);
  g_autoptr(GPtrArray) first = NULL;
  g_autoptr(GPtrArray) second = NULL;
  gboolean closed = TRUE;

  cf_test_send_raw (connection, both, strlen (both));
  first = read_responses (connection, 2, &closed);
  g_assert_false (closed);
  g_assert_cmpuint (first->len, ==, 2);
  assert_pong (g_ptr_array_index (first, 0), 1);
  assert_pong (g_ptr_array_index (first, 1), 2);

  cf_test_send_raw (connection, three, strlen (three));
  second = read_responses (connection, 1, &closed);
  g_assert_cmpuint (second->len, ==, 1);
  assert_pong (g_ptr_array_index (second, 0), 3);
  g_assert_cmpuint (f->soup_requests, ==, 0);
}

/* A body that comes in pieces after its head, a byte at a time at the
 * end. */
static void
test_split_body (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *request = call_text (f, 11);
  const char *body = strstr (request, "\r\n\r\n") + 4;
  gsize head = body - request, length = strlen (request);
  g_autoptr(Response) pong = NULL;

  cf_test_send_raw (connection, request, head);
  cf_test_spin (50);
  cf_test_send_raw (connection, body, 10);
  cf_test_spin (50);
  for (gsize at = head + 10; at < length; at++)
    cf_test_send_raw (connection, request + at, 1);
  pong = read_one (connection);
  assert_pong (pong, 11);
  g_assert_cmpuint (f->soup_requests, ==, 0);
}

/* What the server does not take goes to libsoup, connection and all,
 * and is served there: a head that comes in pieces, a chunked body, a
 * GET after a POST on one connection. */
static void
test_hand_over (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(GSocketConnection) slow = cf_test_connect (f->port);
  g_autoptr(GSocketConnection) chunked = cf_test_connect (f->port);
  g_autoptr(GSocketConnection) mixed = cf_test_connect (f->port);
  g_autofree char *request = call_text (f, 21);
  g_autofree char *body = call_body (22);
  g_autofree char *chunked_text = g_strdup_printf (
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:%u\r\nContent-Type: application/json\r\n"
      "Accept: application/json\r\n" CALL_HEADERS
      "Transfer-Encoding: chunked\r\n\r\n%" G_GSIZE_MODIFIER "x\r\n%s\r\n0\r\n\r\n",
      f->port, strlen (body), body);
  g_autofree char *first = call_text (f, 23);
  g_autofree char *get = g_strdup_printf ("GET /v1/y HTTP/1.1\r\nHost: 127.0.0.1:%u\r\n\r\n",
                                          f->port);
  g_autofree char *last = call_text (f, 24);
  g_autoptr(Response) pong = NULL;
  g_autoptr(Response) chunked_pong = NULL;
  g_autoptr(Response) first_pong = NULL;
  g_autoptr(Response) ok = NULL;
  g_autoptr(Response) last_pong = NULL;

  cf_test_send_raw (slow, request, 20);
  cf_test_spin (50);
  cf_test_send_raw (slow, request + 20, strlen (request) - 20);
  pong = read_one (slow);
  assert_pong (pong, 21);
  g_assert_cmpuint (f->soup_requests, ==, 1);

  chunked_pong = round_trip (chunked, chunked_text);
  assert_pong (chunked_pong, 22);
  g_assert_cmpuint (f->soup_requests, ==, 2);

  /* Ours, then libsoup's for good: the POST after the GET too. */
  first_pong = round_trip (mixed, first);
  assert_pong (first_pong, 23);
  g_assert_cmpuint (f->soup_requests, ==, 2);
  ok = round_trip (mixed, get);
  g_assert_cmpuint (ok->status, ==, 200);
  last_pong = round_trip (mixed, last);
  assert_pong (last_pong, 24);
  g_assert_cmpuint (f->soup_requests, ==, 4);
}

/* Connection: close is honoured and said back. */
static void
test_connection_close (Fixture       *f,
                       gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *body = call_body (31);
  g_autofree char *request = post_text (f, "/mcp",
                                        CALL_HEADERS "Connection: close\r\n", body);
  g_autoptr(GPtrArray) responses = NULL;
  gboolean closed = FALSE;

  cf_test_send_raw (connection, request, strlen (request));
  responses = read_responses (connection, 1, &closed);
  g_assert_cmpuint (responses->len, ==, 1);
  assert_pong (g_ptr_array_index (responses, 0), 31);
  g_assert_true (soup_message_headers_header_contains (
      ((Response *) g_ptr_array_index (responses, 0))->headers, "Connection", "close"));
  if (!closed)
    {
      g_autoptr(GString) rest = cf_test_read_raw (connection, 2000, &closed);

      g_assert_cmpuint (rest->len, ==, 0);
    }
  g_assert_true (closed);
  g_assert_cmpuint (f->soup_requests, ==, 0);
}

/* A response streamed as SSE goes out chunked, and the connection serves
 * the next request after it. */
static void
test_stream (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *request = logging_call_text (f, 41);
  g_autofree char *next = call_text (f, 42);
  g_autoptr(Response) stream = NULL;
  g_autoptr(Response) pong = NULL;
  g_auto(GStrv) events = NULL;

  stream = round_trip (connection, request);
  g_assert_cmpuint (stream->status, ==, 200);
  g_assert_cmpstr (soup_message_headers_get_content_type (stream->headers, NULL), ==,
                   "text/event-stream");
  g_assert_cmpint (soup_message_headers_get_encoding (stream->headers), ==,
                   SOUP_ENCODING_CHUNKED);
  events = g_strsplit (stream->body->str, "\n\n", -1);
  /* The open comment, three log messages, the result, and "" after it. */
  g_assert_cmpuint (g_strv_length (events), ==, 6);
  g_assert_nonnull (strstr (events[1], "Tool execution started"));
  g_assert_nonnull (strstr (events[4], "\"id\":41"));
  g_assert_nonnull (strstr (events[4], "\"result\""));

  pong = round_trip (connection, next);
  assert_pong (pong, 42);
  g_assert_cmpuint (f->soup_requests, ==, 0);
}

/* The client goes away in the middle of a streamed answer: the call is
 * let go, and the server carries on. */
static void
test_client_gone (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
  g_autofree char *request = logging_call_text (f, 51);
  g_autoptr(GSocketConnection) other = NULL;
  g_autofree char *ping = call_text (f, 52);
  g_autoptr(Response) pong = NULL;
  g_autoptr(GString) start = NULL;
  gboolean closed = FALSE;

  cf_test_send_raw (connection, request, strlen (request));
  start = cf_test_read_raw (connection, 20, &closed);
  g_assert_cmpuint (cf_http_server_get_n_active (f->http), ==, 1);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  g_assert_true (cf_test_wait_until (cf_test_http_is_idle, f->http, 2000));

  other = cf_test_connect (f->port);
  pong = round_trip (other, ping);
  assert_pong (pong, 52);
}

/* Bad input: each gets its error, from us or from libsoup, and the
 * server goes on serving. A request whose body could be read two ways
 * is refused here, whichever route it is for, and its connection closed:
 * nothing can be smuggled behind it. */
static void
test_bad_input (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *big = g_strnfill (5000, ' ');
  g_autofree char *call = call_body (61);
  g_autofree char *odd_name = g_strdup_printf (
      "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Name: caf\xc3\xa9\r\n"
      "Content-Type: application/json\r\n" CALL_HEADERS
      "Content-Length: %" G_GSIZE_FORMAT "\r\n\r\n%s", strlen (call), call);
  struct {
    const char *text;
    guint       status;
    gboolean    closes;
  } rows[] = {
    /* Ours: not JSON, not JSON, a Host it does not serve. */
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 9\r\n\r\n{\"jsonrpc", 400, FALSE },
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: text/plain\r\n"
      "Content-Length: 2\r\n\r\n{}", 415, FALSE },
    { "POST /mcp HTTP/1.1\r\nHost: evil.example\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}", 403, FALSE },
    /* Framing, refused here: two lengths, a length and chunking, a last
     * coding that is not chunked, a length that is no number; on any
     * route. */
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 400, TRUE },
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 2\r\n"
      "Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400, TRUE },
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
      400, TRUE },
    { "POST /v1/z HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: -1\r\n\r\n", 400, TRUE },
    /* Malformed heads, refused here: a control byte, a bare CR, a bare
     * LF, a folded line, no colon, a name above ASCII. */
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Odd: a\001b\r\n"
      "Content-Length: 2\r\n\r\n{}", 400, TRUE },
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Odd: a\rb\r\n"
      "Content-Length: 2\r\n\r\n{}", 400, TRUE },
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\nX-Odd: b\r\n"
      "Content-Length: 2\r\n\r\n{}", 400, TRUE },
    { "GET /v1/q HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Folded: a\r\n b\r\n\r\n", 400, TRUE },
    { "GET /v1/q HTTP/1.1\r\nHost: 127.0.0.1\r\nNo colon here\r\n\r\n", 400, TRUE },
    { "GET /v1/q HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Caf\xc3\xa9: 1\r\n\r\n", 400, TRUE },
    { "GET /v1/\xc3\xa9 HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", 400, TRUE },
    /* libsoup's: a length over the limit, no Host. */
    { "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 5000\r\n\r\n", 413, FALSE },
    { "POST /mcp HTTP/1.1\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\n\r\n{}", 400, FALSE },
    /* And a byte above ASCII in a header, which libsoup serves. */
    { odd_name, 200, FALSE },
  };

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
      g_autoptr(GPtrArray) responses = NULL;
      Response *response;
      gboolean closed = FALSE;

      g_test_message ("row %u", i);
      cf_test_send_raw (connection, rows[i].text, strlen (rows[i].text));
      if (rows[i].status == 413)
        cf_test_send_raw (connection, big, 5000);
      responses = read_responses (connection, 1, &closed);
      g_assert_cmpuint (responses->len, ==, 1);
      response = g_ptr_array_index (responses, 0);
      g_assert_cmpuint (response->status, ==, rows[i].status);
      if (rows[i].closes)
        {
          g_autoptr(GString) rest = closed ? NULL : cf_test_read_raw (connection, 2000, &closed);

          g_assert_true (closed);
          g_assert_true (soup_message_headers_header_contains (response->headers, "Connection",
                                                               "close"));
        }
    }

  {
    g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
    g_autofree char *request = post_text (f, "/mcp", CALL_HEADERS, call);
    g_autoptr(Response) pong = NULL;

    pong = round_trip (connection, request);
    assert_pong (pong, 61);
  }
}

/* A connection left idle, and a body left unfinished, get a 408 and are
 * closed, by our own server. */
static void
test_timeouts (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GSocketConnection) idle = NULL;
  g_autoptr(GSocketConnection) unfinished = NULL;
  g_autofree char *request = call_text (f, 71);
  g_autoptr(GString) idle_answer = NULL;
  g_autoptr(GString) unfinished_answer = NULL;
  gboolean idle_closed = FALSE, unfinished_closed = FALSE;

  cf_http_server_set_header_timeout (f->http, 1);
  idle = cf_test_connect (f->port);
  unfinished = cf_test_connect (f->port);
  cf_test_send_raw (unfinished, request, strlen (request) - 5);

  idle_answer = cf_test_read_raw (idle, 3000, &idle_closed);
  unfinished_answer = cf_test_read_raw (unfinished, 1000, &unfinished_closed);
  g_assert_true (idle_closed);
  g_assert_true (unfinished_closed);
  g_assert_true (g_str_has_prefix (idle_answer->str, "HTTP/1.1 408 "));
  g_assert_true (g_str_has_prefix (unfinished_answer->str, "HTTP/1.1 408 "));
  g_assert_cmpuint (f->soup_requests, ==, 0);
}

static GString *
mutate (const char *good)
{
  static const char noise[] = "\r\n:\t \0\x7f\x80\xff%#?/0123456789-,;";
  GString *text = g_string_new (good);
  guint edits = g_test_rand_int_range (1, 4);

  for (guint e = 0; e < edits && text->len > 0; e++)
    {
      guint at = g_test_rand_int_range (0, text->len);
      char byte = noise[g_test_rand_int_range (0, sizeof noise - 1)];

      switch (g_test_rand_int_range (0, 4))
        {
        case 0:
          text->str[at] = byte;
          break;
        case 1:
          g_string_insert_c (text, at, byte);
          break;
        case 2:
          {
            gsize span = g_test_rand_int_range (1, 8);

            g_string_erase (text, at, MIN (span, text->len - at));
          }
          break;
        default:
          g_string_truncate (text, at);
          break;
        }
    }
  return text;
}

/* Mutated requests, a hundred connections at a time: whatever comes back
 * is a response, the server holds no request once the clients are gone,
 * and it serves a good request after all of them. */
static void
test_mutations (Fixture       *f,
                gconstpointer  data)
{
  g_autofree char *good = call_text (f, 81);
  guint answered = 0;

  for (guint batch = 0; batch < 3; batch++)
    {
      GSocketConnection *connections[100];
      gint64 deadline;

      for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
        {
          g_autoptr(GString) text = mutate (good);

          connections[i] = cf_test_connect (f->port);
          cf_test_send_raw (connections[i], text->str, text->len);
        }
      deadline = g_get_monotonic_time () + G_USEC_PER_SEC / 2;
      for (guint i = 0; i < G_N_ELEMENTS (connections); i++)
        {
          gint64 left = MAX (deadline - g_get_monotonic_time (), 0) / 1000;
          g_autoptr(GString) answer = NULL;
          gboolean closed = FALSE;

          answer = cf_test_read_raw (connections[i], MAX (left, 5), &closed);
          if (answer->len > 0)
            {
              if (!g_str_has_prefix (answer->str, "HTTP/1."))
                {
                  g_autofree char *shown = g_strescape (answer->str, NULL);

                  g_test_message ("answer: %s", shown);
                }
              /* libsoup answers a version it cannot read in HTTP/1.0. */
              g_assert_true (g_str_has_prefix (answer->str, "HTTP/1."));
              answered++;
            }
          g_io_stream_close (G_IO_STREAM (connections[i]), NULL, NULL);
          g_object_unref (connections[i]);
        }
    }
  g_test_message ("%u of 300 mutations answered", answered);
  g_assert_cmpuint (answered, >, 0);
  g_assert_true (cf_test_wait_until (cf_test_http_is_idle, f->http, 2000));

  {
    g_autoptr(GSocketConnection) connection = cf_test_connect (f->port);
    g_autoptr(Response) pong = NULL;

    pong = round_trip (connection, good);
    assert_pong (pong, 81);
  }
}

static gint64
cpu_time_us (void)
{
  struct rusage usage;

  g_assert_cmpint (getrusage (RUSAGE_SELF, &usage), ==, 0);
  return (usage.ru_utime.tv_sec + usage.ru_stime.tv_sec) * G_USEC_PER_SEC +
         usage.ru_utime.tv_usec + usage.ru_stime.tv_usec;
}

/* Out of descriptors, the server neither spins nor drops what waits in
 * its backlog: it pauses accepting, and serves once descriptors are
 * back. */
static void
test_out_of_descriptors (Fixture       *f,
                         gconstpointer  data)
{
  g_autoptr(GPtrArray) clients = g_ptr_array_new_with_free_func (g_object_unref);
  g_autofree char *request = call_text (f, 91);
  g_autoptr(GSocketConnection) waiting = NULL;
  g_autoptr(Response) pong = NULL;
  struct rlimit saved, tight;
  gint64 cpu_before, wall_before, cpu_used, wall_used;
  int probe;

  g_assert_cmpint (getrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  /* The lowest free descriptor, plus room for a few connections. */
  probe = dup (0);
  g_assert_cmpint (probe, >=, 0);
  close (probe);
  tight = saved;
  tight.rlim_cur = probe + 6;
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &tight), ==, 0);

  /* Client ends and the server's accepted ends use up the descriptors. */
  for (guint i = 0; i < 8; i++)
    {
      g_autoptr(GSocketClient) client = g_socket_client_new ();
      g_autoptr(GSocketAddress) address = g_inet_socket_address_new_from_string ("127.0.0.1",
                                                                                f->port);
      GSocketConnection *connection = g_socket_client_connect (client,
                                                               G_SOCKET_CONNECTABLE (address),
                                                               NULL, NULL);

      if (connection == NULL)
        break;
      g_ptr_array_add (clients, connection);
      cf_test_spin (10);
    }
  g_assert_cmpuint (clients->len, >, 0);
  waiting = g_object_ref (g_ptr_array_index (clients, clients->len - 1));

  cpu_before = cpu_time_us ();
  wall_before = g_get_monotonic_time ();
  cf_test_spin (400);
  cpu_used = cpu_time_us () - cpu_before;
  wall_used = g_get_monotonic_time () - wall_before;
  g_test_message ("%" G_GINT64_FORMAT " us of CPU in %" G_GINT64_FORMAT " us", cpu_used,
                  wall_used);
  /* A spinning loop would use all of it. */
  g_assert_cmpint (cpu_used, <, wall_used / 4);

  /* Descriptors back: the connection that waited is served. */
  g_assert_cmpint (setrlimit (RLIMIT_NOFILE, &saved), ==, 0);
  g_ptr_array_remove_range (clients, 0, clients->len - 1);
  pong = round_trip (waiting, request);
  assert_pong (pong, 91);
}

/* The Date of a response is an HTTP-date (RFC 9110, 5.6.7) in English
 * whatever the process's locale, which the daemon takes from its
 * environment: checked under German, built with localedef for the test
 * (skipped where the locale sources are not installed). */
static void
test_date_locale (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *dir = g_dir_make_tmp ("test-http1-locale-XXXXXX", NULL);
  g_autofree char *target = g_build_filename (dir, "de_DE.UTF-8", NULL);
  const char *argv[] = { "localedef", "-i", "de_DE", "-f", "UTF-8", target, NULL };
  g_autoptr(GSocketConnection) connection = NULL;
  g_autofree char *request = call_text (f, 95);
  g_autofree char *saved = g_strdup (setlocale (LC_TIME, NULL));
  g_autoptr(Response) pong = NULL;
  g_autoptr(GDateTime) date = NULL;
  const char *value;
  int status = -1;

  g_assert_nonnull (dir);
  if (!g_spawn_sync (NULL, (char **) argv, NULL, G_SPAWN_SEARCH_PATH |
                     G_SPAWN_STDOUT_TO_DEV_NULL | G_SPAWN_STDERR_TO_DEV_NULL,
                     NULL, NULL, NULL, NULL, &status, NULL) ||
      !g_file_test (target, G_FILE_TEST_IS_DIR))
    {
      g_test_skip ("localedef cannot build de_DE.UTF-8 here");
      return;
    }
  g_setenv ("LOCPATH", dir, TRUE);
  g_assert_nonnull (setlocale (LC_TIME, "de_DE.UTF-8"));

  connection = cf_test_connect (f->port);
  pong = round_trip (connection, request);
  setlocale (LC_TIME, saved);
  g_unsetenv ("LOCPATH");

  assert_pong (pong, 95);
  value = soup_message_headers_get_one (pong->headers, "Date");
  g_test_message ("Date: %s", value);
  date = soup_date_time_new_from_http_string (value);
  g_assert_nonnull (date);
  g_assert_true (g_regex_match_simple ("^(Mon|Tue|Wed|Thu|Fri|Sat|Sun), [0-9]{2} "
                                       "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) "
                                       "[0-9]{4} [0-9]{2}:[0-9]{2}:[0-9]{2} GMT$", value, 0, 0));
  g_assert_cmpint (ABS (g_date_time_to_unix (date) - g_get_real_time () / G_USEC_PER_SEC), <=, 5);
  cf_test_remove_tree (dir);
}

/* cf_http_name_equal() answers as g_ascii_strcasecmp() does, for every
 * pair of bytes and for names that differ late, by case only, or by a
 * byte whose 0x20 bit is all that differs but is no letter. */
static void
test_name_equal (void)
{
  static const char *names[] = {
    "Content-Length", "content-length", "CONTENT-LENGTH", "Content-Lengtz", "Content_Length",
    "Content-Length ", "Content-Lengt", "", "Mcp-Session-Id", "MCP-SESSION-ID", "@", "`", "[",
    "{", "^", "~", "_", "\x7f", "\xc3\xa9", "\xe3\x89",
  };

  for (guint a = 1; a < 256; a++)
    for (guint b = 1; b < 256; b++)
      {
        char x[2] = { (char) a, '\0' }, y[2] = { (char) b, '\0' };

        if (cf_http_name_equal (x, y) != (g_ascii_strcasecmp (x, y) == 0))
          g_error ("bytes %02x and %02x", a, b);
      }
  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    for (guint j = 0; j < G_N_ELEMENTS (names); j++)
      {
        g_test_message ("\"%s\" and \"%s\"", names[i], names[j]);
        g_assert_true (cf_http_name_equal (names[i], names[j]) ==
                       (g_ascii_strcasecmp (names[i], names[j]) == 0));
      }
}

static void
add (const char *path,
     void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  add ("/http1-server/native", test_native);
  add ("/http1-server/pipelined", test_pipelined);
  add ("/http1-server/header-fields", test_header_fields);
  add ("/http1-server/split-body", test_split_body);
  add ("/http1-server/hand-over", test_hand_over);
  add ("/http1-server/connection-close", test_connection_close);
  add ("/http1-server/stream", test_stream);
  add ("/http1-server/client-gone", test_client_gone);
  add ("/http1-server/bad-input", test_bad_input);
  add ("/http1-server/timeouts", test_timeouts);
  add ("/http1-server/mutations", test_mutations);
  add ("/http1-server/out-of-descriptors", test_out_of_descriptors);
  add ("/http1-server/date-locale", test_date_locale);
  g_test_add_func ("/http1-server/name-equal", test_name_equal);

  return g_test_run ();
}
