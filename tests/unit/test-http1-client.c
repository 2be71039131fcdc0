/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <string.h>

#include "../integration/cf-daemon-harness.h"
#include "cf-http1-client.h"
#include "cf-json.h"
#include "cf-mcp-client.h"
#include "cf-test-mcp-client.h"
#include "cf-test-util.h"

/* The lean HTTP/1.1 client of the relayed hot path, against real
 * loopback servers: a SoupServer in this process, a raw socket server
 * in a thread (for what a well-behaved server never sends), and the C
 * fixture server, spoken to directly and through CfMcpClient. */

/* One request's outcome */

typedef struct {
  gboolean  done;
  gboolean  got_head;
  guint     status;
  char     *content_type;
  char     *folded;
  GString  *body;
  GError   *error;
  gsize     max_body;
} Outcome;

static void
outcome_clear (Outcome *o)
{
  g_clear_pointer (&o->content_type, g_free);
  g_clear_pointer (&o->folded, g_free);
  if (o->body != NULL)
    g_string_free (o->body, TRUE);
  o->body = NULL;
  g_clear_error (&o->error);
}

static gboolean
on_head (CfHttp1Request     *request,
         guint               status,
         const char         *reason,
         CfHttp1Head        *head,
         gpointer            user_data)
{
  Outcome *o = user_data;

  g_assert_false (o->got_head);
  o->got_head = TRUE;
  o->status = status;
  /* As libsoup reads it, from headers made of the head's fields. */
  o->content_type = g_strdup (soup_message_headers_get_content_type (
                                cf_http1_head_get_headers (head), NULL));
  o->folded = g_strdup (cf_http1_head_get_header (head, "X-Folded"));
  g_assert_cmpstr (cf_http1_head_get_header (head, "content-type"), ==,
                   soup_message_headers_get_one (cf_http1_head_get_headers (head),
                                                 "Content-Type"));
  if (o->max_body > 0)
    cf_http1_request_set_max_body (request, o->max_body);
  return TRUE;
}

static gboolean
on_body (CfHttp1Request *request,
         const char     *data,
         gsize           length,
         gpointer        user_data)
{
  Outcome *o = user_data;

  g_assert_true (o->got_head);
  g_string_append_len (o->body, data, length);
  return TRUE;
}

static void
on_done (CfHttp1Request *request,
         const GError   *error,
         gpointer        user_data)
{
  Outcome *o = user_data;

  g_assert_false (o->done);
  o->done = TRUE;
  o->error = error ? g_error_copy (error) : NULL;
}

static const CfHttp1Callbacks callbacks = { on_head, on_body, on_done };

static CfHttp1Request *
start_post (CfHttp1Client *client,
            Outcome       *o,
            const char    *path,
            const char    *body)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  memset (o, 0, sizeof *o);
  o->body = g_string_new (NULL);
  g_assert_true (cf_http1_append_header (lines, "Accept", "application/json, text/event-stream"));
  g_assert_true (cf_http1_append_header (lines, "X-Test", "lean"));
  return cf_http1_client_post (client, path, lines->str, "application/json", bytes, &callbacks, o);
}

static void
post_and_wait (CfHttp1Client *client,
               Outcome       *o,
               const char    *path,
               const char    *body)
{
  start_post (client, o, path, body);
  g_assert_true (cf_test_wait_flag (&o->done, CF_TEST_TIMEOUT_MS));
}

/* Posts {} to @path on @client and expects an answer */
static void
post_ok (CfHttp1Client *client,
         const char    *path)
{
  Outcome o;

  post_and_wait (client, &o, path, "{}");
  g_assert_no_error (o.error);
  outcome_clear (&o);
}

static CfHttp1Client *
client_for_port (guint port)
{
  g_autoptr(GSocketConnectable) address = g_network_address_new ("127.0.0.1", port);
  g_autofree char *host = g_strdup_printf ("127.0.0.1:%u", port);

  return cf_http1_client_new (address, host, 4);
}

/* An in-process SoupServer */

typedef struct {
  SoupServer *server;
  guint       port;
  GHashTable *remote_ports;
  guint       n_requests;
  char       *last_x_test;
  char       *last_host;
  char       *last_body;
} Soup;

static void
soup_handler (SoupServer        *server,
              SoupServerMessage *msg,
              const char        *path,
              GHashTable        *query,
              gpointer           user_data)
{
  Soup *s = user_data;
  SoupMessageHeaders *request_headers = soup_server_message_get_request_headers (msg);
  SoupMessageHeaders *response_headers = soup_server_message_get_response_headers (msg);
  SoupMessageBody *request_body = soup_server_message_get_request_body (msg);
  SoupMessageBody *body = soup_server_message_get_response_body (msg);
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  g_autoptr(GBytes) flat = soup_message_body_flatten (request_body);

  s->n_requests++;
  g_hash_table_add (s->remote_ports, GUINT_TO_POINTER (g_inet_socket_address_get_port (
                                                         G_INET_SOCKET_ADDRESS (remote))));
  g_free (s->last_x_test);
  s->last_x_test = g_strdup (soup_message_headers_get_one (request_headers, "X-Test"));
  g_free (s->last_host);
  s->last_host = g_strdup (soup_message_headers_get_one (request_headers, "Host"));
  g_free (s->last_body);
  s->last_body = g_strndup (g_bytes_get_data (flat, NULL), g_bytes_get_size (flat));

  if (g_str_equal (path, "/json"))
    {
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_server_message_set_response (msg, "application/json", SOUP_MEMORY_COPY,
                                      "{\"answer\":42}", 13);
    }
  else if (g_str_equal (path, "/chunked"))
    {
      soup_message_headers_set_encoding (response_headers, SOUP_ENCODING_CHUNKED);
      soup_message_headers_set_content_type (response_headers, "application/json", NULL);
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, "{\"parts\":", 9);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, "[1,2,3]", 7);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, "}", 1);
      soup_message_body_complete (body);
    }
  else if (g_str_equal (path, "/sse"))
    {
      soup_message_headers_set_encoding (response_headers, SOUP_ENCODING_CHUNKED);
      soup_message_headers_set_content_type (response_headers, "text/event-stream", NULL);
      soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, "data: {\"a\":1}\n\n", 15);
      soup_message_body_append (body, SOUP_MEMORY_STATIC, "data: {\"b\":2}\n\n", 15);
      soup_message_body_complete (body);
    }
  else
    soup_server_message_set_status (msg, SOUP_STATUS_NOT_FOUND, NULL);
}

static void
soup_start (Soup *s)
{
  g_autoptr(GError) error = NULL;

  memset (s, 0, sizeof *s);
  s->server = soup_server_new (NULL, NULL);
  s->remote_ports = g_hash_table_new (NULL, NULL);
  soup_server_add_handler (s->server, NULL, soup_handler, s, NULL);
  soup_server_listen_local (s->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  s->port = cf_test_server_get_port (s->server);
}

static void
soup_stop (Soup *s)
{
  soup_server_disconnect (s->server);
  g_clear_object (&s->server);
  g_hash_table_unref (s->remote_ports);
  g_free (s->last_x_test);
  g_free (s->last_host);
  g_free (s->last_body);
}

/* Header lines: a value that could end the line, or a name that is not a
 * token, is left out. */
static void
test_header_lines (void)
{
  g_autoptr(GString) lines = g_string_new (NULL);

  g_assert_true (cf_http1_append_header (lines, "X-Ok", "a\tb ~"));
  g_assert_true (cf_http1_append_header (lines, "X-Empty", ""));
  g_assert_false (cf_http1_append_header (lines, "X-Split", "a\r\nX-Injected: 1"));
  g_assert_false (cf_http1_append_header (lines, "X-Lf", "a\nb"));
  g_assert_false (cf_http1_append_header (lines, "X-Bell", "a\007"));
  g_assert_false (cf_http1_append_header (lines, "X-Del", "a\177"));
  g_assert_false (cf_http1_append_header (lines, "Bad Name", "v"));
  g_assert_false (cf_http1_append_header (lines, "Bad:Name", "v"));
  g_assert_false (cf_http1_append_header (lines, "", "v"));
  g_assert_false (cf_http1_append_header (lines, "N\xc3\xa9", "v"));
  g_assert_false (cf_http1_append_header (lines, "X(", "v"));
  g_assert_true (cf_http1_append_header (lines, "!#$%&'*+-.^_`|~09Az", "\xc3\xa9t\xc3\xa9"));
  g_assert_cmpstr (lines->str, ==, "X-Ok: a\tb ~\r\nX-Empty: \r\n"
                                   "!#$%&'*+-.^_`|~09Az: \xc3\xa9t\xc3\xa9\r\n");
}

static void
test_soup_json_keep_alive (void)
{
  Soup s;
  g_autoptr(CfHttp1Client) client = NULL;
  g_autofree char *host = NULL;

  soup_start (&s);
  client = client_for_port (s.port);
  host = g_strdup_printf ("127.0.0.1:%u", s.port);
  for (guint i = 0; i < 5; i++)
    {
      Outcome o;

      post_and_wait (client, &o, "/json", "{\"q\":1}");
      g_assert_no_error (o.error);
      g_assert_cmpuint (o.status, ==, 200);
      g_assert_cmpstr (o.content_type, ==, "application/json");
      g_assert_cmpstr (o.body->str, ==, "{\"answer\":42}");
      outcome_clear (&o);
    }
  g_assert_cmpuint (s.n_requests, ==, 5);
  g_assert_cmpstr (s.last_x_test, ==, "lean");
  g_assert_cmpstr (s.last_host, ==, host);
  g_assert_cmpstr (s.last_body, ==, "{\"q\":1}");
  /* One connection served them all, seen from both ends. */
  g_assert_cmpuint (g_hash_table_size (s.remote_ports), ==, 1);
  g_assert_cmpuint (cf_http1_client_get_n_connects (client), ==, 1);
  g_assert_cmpuint (cf_http1_client_get_n_idle (client), ==, 1);
  g_clear_pointer (&client, cf_http1_client_unref);
  soup_stop (&s);
}

static gboolean
all_done (gpointer user_data)
{
  Outcome *outcomes = user_data;

  for (guint i = 0; i < 6; i++)
    if (!outcomes[i].done)
      return FALSE;
  return TRUE;
}

/* Requests beyond the connection limit wait for a connection; a waiting
 * request that is cancelled is dropped. */
static void
test_soup_connection_limit (void)
{
  Soup s;
  Outcome outcomes[6];
  Outcome cancelled;
  CfHttp1Request *request;
  g_autoptr(GSocketConnectable) address = NULL;
  g_autoptr(CfHttp1Client) client = NULL;
  g_autofree char *host = NULL;

  soup_start (&s);
  address = g_network_address_new ("127.0.0.1", s.port);
  host = g_strdup_printf ("127.0.0.1:%u", s.port);
  client = cf_http1_client_new (address, host, 2);
  for (guint i = 0; i < 3; i++)
    start_post (client, &outcomes[i], "/json", "{}");
  request = start_post (client, &cancelled, "/json", "{\"cancelled\":true}");
  for (guint i = 3; i < 6; i++)
    start_post (client, &outcomes[i], "/json", "{}");
  cf_http1_request_cancel (request);
  g_assert_true (cf_test_wait_until (all_done, outcomes, CF_TEST_TIMEOUT_MS));
  for (guint i = 0; i < 6; i++)
    {
      g_assert_no_error (outcomes[i].error);
      g_assert_cmpstr (outcomes[i].body->str, ==, "{\"answer\":42}");
      outcome_clear (&outcomes[i]);
    }
  g_assert_false (cancelled.done);
  outcome_clear (&cancelled);
  g_assert_cmpuint (s.n_requests, ==, 6);
  g_assert_cmpuint (g_hash_table_size (s.remote_ports), ==, 2);
  g_assert_cmpuint (cf_http1_client_get_n_connects (client), ==, 2);
  g_assert_cmpuint (cf_http1_client_get_n_idle (client), ==, 2);
  g_clear_pointer (&client, cf_http1_client_unref);
  soup_stop (&s);
}

static void
test_soup_chunked (void)
{
  Soup s;
  Outcome o;
  g_autoptr(CfHttp1Client) client = NULL;

  soup_start (&s);
  client = client_for_port (s.port);
  post_and_wait (client, &o, "/chunked", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "{\"parts\":[1,2,3]}");
  outcome_clear (&o);
  /* The chunked body ended cleanly: its connection is reused. */
  post_and_wait (client, &o, "/chunked", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "{\"parts\":[1,2,3]}");
  outcome_clear (&o);
  g_assert_cmpuint (g_hash_table_size (s.remote_ports), ==, 1);
  g_clear_pointer (&client, cf_http1_client_unref);
  soup_stop (&s);
}

static void
test_soup_sse_and_404 (void)
{
  Soup s;
  Outcome o;
  g_autoptr(CfHttp1Client) client = NULL;

  soup_start (&s);
  client = client_for_port (s.port);
  post_and_wait (client, &o, "/sse", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.content_type, ==, "text/event-stream");
  g_assert_cmpstr (o.body->str, ==, "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n");
  outcome_clear (&o);
  post_and_wait (client, &o, "/nowhere", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.status, ==, 404);
  outcome_clear (&o);
  g_clear_pointer (&client, cf_http1_client_unref);
  soup_stop (&s);
}

/* A raw server in a thread: each request read gets the next step */

typedef enum {
  ANSWER,
  ANSWER_AND_CLOSE,
  ANSWER_THEN_CLOSE_ON_RELEASE,
  CLOSE_UNANSWERED,
  HOLD,
} Action;

typedef struct {
  Action      action;
  const char *response;
} Step;

typedef struct {
  GSocket    *listener;
  guint       port;
  GThread    *thread;
  const Step *steps;
  guint       n_steps;
  gint        n_connections;
  gint        n_requests;
  gint        saw_client_close;
  gint        release;
  gint        stop;
} Raw;

/* Reads one request (head and Content-Length body); FALSE at its end. */
static gboolean
raw_read_request (GSocket *socket)
{
  g_autoptr(GString) in = g_string_new (NULL);
  char buffer[4096];
  const char *end;
  const char *length;
  gsize want;

  while ((end = strstr (in->str, "\r\n\r\n")) == NULL)
    {
      gssize got = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (got <= 0 || in->len > 1024 * 1024)
        return FALSE;
      g_string_append_len (in, buffer, got);
    }
  length = strstr (in->str, "Content-Length: ");
  g_assert_nonnull (length);
  want = (end - in->str) + 4 + g_ascii_strtoull (length + 16, NULL, 10);
  while (in->len < want)
    {
      gssize got = g_socket_receive (socket, buffer, sizeof buffer, NULL, NULL);

      if (got <= 0)
        return FALSE;
      g_string_append_len (in, buffer, got);
    }
  return TRUE;
}

static void
raw_send (GSocket    *socket,
          const char *data)
{
  gsize length = strlen (data);
  gsize sent = 0;

  while (sent < length)
    {
      gssize n = g_socket_send (socket, data + sent, length - sent, NULL, NULL);

      if (n <= 0)
        return;
      sent += n;
    }
}

static gpointer
raw_thread (gpointer user_data)
{
  Raw *r = user_data;
  gint64 deadline = g_get_monotonic_time () + 20 * G_USEC_PER_SEC;

  while (!g_atomic_int_get (&r->stop) && g_get_monotonic_time () < deadline &&
         (guint) g_atomic_int_get (&r->n_requests) < r->n_steps)
    {
      g_autoptr(GSocket) socket = NULL;

      if (!g_socket_condition_timed_wait (r->listener, G_IO_IN, 100000, NULL, NULL))
        continue;
      socket = g_socket_accept (r->listener, NULL, NULL);
      if (socket == NULL)
        continue;
      g_socket_set_blocking (socket, TRUE);
      g_socket_set_timeout (socket, 10);
      g_atomic_int_inc (&r->n_connections);
      while ((guint) g_atomic_int_get (&r->n_requests) < r->n_steps && raw_read_request (socket))
        {
          const Step *step = &r->steps[g_atomic_int_get (&r->n_requests)];
          char byte;

          g_atomic_int_inc (&r->n_requests);
          if (step->action == CLOSE_UNANSWERED)
            break;
          if (step->action == HOLD)
            {
              if (g_socket_receive (socket, &byte, 1, NULL, NULL) == 0)
                g_atomic_int_set (&r->saw_client_close, 1);
              break;
            }
          raw_send (socket, step->response);
          if (step->action == ANSWER_AND_CLOSE)
            break;
          if (step->action == ANSWER_THEN_CLOSE_ON_RELEASE)
            {
              while (!g_atomic_int_get (&r->release) && !g_atomic_int_get (&r->stop) &&
                     g_get_monotonic_time () < deadline)
                g_usleep (1000);
              break;
            }
        }
      g_socket_close (socket, NULL);
    }
  return NULL;
}

static void
raw_start (Raw        *r,
           const Step *steps,
           guint       n_steps)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GError) error = NULL;

  memset (r, 0, sizeof *r);
  r->steps = steps;
  r->n_steps = n_steps;
  r->listener = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM,
                              G_SOCKET_PROTOCOL_TCP, &error);
  g_assert_no_error (error);
  g_socket_bind (r->listener, address, TRUE, &error);
  g_assert_no_error (error);
  g_socket_listen (r->listener, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (r->listener, &error);
  g_assert_no_error (error);
  r->port = g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound));
  r->thread = g_thread_new ("raw-server", raw_thread, r);
}

static void
raw_stop (Raw *r)
{
  g_atomic_int_set (&r->stop, 1);
  g_thread_join (r->thread);
  g_socket_close (r->listener, NULL);
  g_object_unref (r->listener);
}

#define OK_JSON "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n" \
  "Content-Length: 2\r\n\r\n{}"

/* Posts once to a raw server playing @steps; returns the outcome. */
static void
raw_post (const Step *steps,
          guint       n_steps,
          gsize       max_body,
          Outcome    *o,
          Raw        *r)
{
  g_autoptr(CfHttp1Client) client = NULL;

  raw_start (r, steps, n_steps);
  client = client_for_port (r->port);
  cf_http1_client_set_max_header_size (client, 1024);
  memset (o, 0, sizeof *o);
  start_post (client, o, "/mcp", "{}");
  o->max_body = max_body;
  g_assert_true (cf_test_wait_flag (&o->done, CF_TEST_TIMEOUT_MS));
  g_clear_pointer (&client, cf_http1_client_unref);
  raw_stop (r);
}

static void
test_raw_until_close (void)
{
  static const Step steps[] = {
    { ANSWER_AND_CLOSE, "HTTP/1.0 200 OK\r\nContent-Type: application/json\r\n\r\n{\"x\":true}" },
  };
  Raw r;
  Outcome o;

  raw_post (steps, G_N_ELEMENTS (steps), 0, &o, &r);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "{\"x\":true}");
  outcome_clear (&o);
}

/* Heads as RFC 9112 lets a client read them: bare LF line ends, no space
 * after the colon, media type parameters, an obsolete line folding, the
 * same Content-Length twice, Transfer-Encoding over Content-Length. */
static void
test_raw_head_forms (void)
{
  static const Step folded[] = {
    { ANSWER_AND_CLOSE, "HTTP/1.1 200 OK\nContent-Type:application/json ; charset=utf-8\n"
                        "X-Folded: a\n \t b\nContent-Length: 2\nContent-Length: 2\n\n{}" },
  };
  static const Step both[] = {
    { ANSWER_AND_CLOSE, "HTTP/1.1 200 Fine\r\nContent-Length: 99\r\n"
                        "Transfer-Encoding: Chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n" },
  };
  Raw r;
  Outcome o;

  raw_post (folded, G_N_ELEMENTS (folded), 0, &o, &r);
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.status, ==, 200);
  g_assert_cmpstr (o.content_type, ==, "application/json");
  g_assert_cmpstr (o.folded, ==, "a  \t b");
  g_assert_cmpstr (o.body->str, ==, "{}");
  outcome_clear (&o);

  raw_post (both, G_N_ELEMENTS (both), 0, &o, &r);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "{}");
  outcome_clear (&o);
}

static void
test_raw_informational (void)
{
  static const Step steps[] = {
    { ANSWER, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 4\r\n"
      "Content-Type: application/json\r\nX-Trailing: ok\r\n\r\n[1] " },
  };
  Raw r;
  Outcome o;

  raw_post (steps, G_N_ELEMENTS (steps), 0, &o, &r);
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.status, ==, 200);
  g_assert_cmpstr (o.body->str, ==, "[1] ");
  outcome_clear (&o);
}

static void
assert_fails (const char *response,
              gsize       max_body,
              int         code)
{
  const Step steps[] = { { ANSWER_AND_CLOSE, response } };
  Raw r;
  Outcome o;

  raw_post (steps, G_N_ELEMENTS (steps), max_body, &o, &r);
  g_assert_error (o.error, CF_HTTP1_ERROR, code);
  outcome_clear (&o);
}

static void
test_raw_malformed (void)
{
  g_autoptr(GString) huge = g_string_new ("HTTP/1.1 200 OK\r\n");

  /* Status lines and heads that are not HTTP/1.x */
  assert_fails ("HTTP/9 OK\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("SSH-2.0-OpenSSH\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 abc Nope\r\nContent-Length: 0\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 12x\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 101 Switching Protocols\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  /* Fields that are not name: value, or whose value could split the line */
  assert_fails ("HTTP/1.1 200 OK\r\nBad Name: x\r\nContent-Length: 0\r\n\r\n", 0,
                CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\nX-Space : x\r\nContent-Length: 0\r\n\r\n", 0,
                CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\nNo-Colon\r\nContent-Length: 0\r\n\r\n", 0,
                CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\nX-Cr: a\rb\r\nContent-Length: 0\r\n\r\n", 0,
                CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\n folded-first: x\r\nContent-Length: 0\r\n\r\n", 0,
                CF_HTTP1_ERROR_HEAD);
  /* Framing that cannot be trusted */
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\n{}", 0,
                CF_HTTP1_ERROR_HEAD);
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
                "Transfer-Encoding: gzip\r\n\r\n", 0, CF_HTTP1_ERROR_HEAD);
  /* A head that never ends within the limit */
  for (guint i = 0; i < 100; i++)
    g_string_append_printf (huge, "X-Filler-%u: %s\r\n", i, "0123456789012345678901234567");
  g_string_append (huge, "Content-Length: 0\r\n\r\n");
  assert_fails (huge->str, 0, CF_HTTP1_ERROR_HEAD);
  /* The connection's end before the head's */
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Len", 0, CF_HTTP1_ERROR_HEAD);
}

static void
test_raw_bad_body (void)
{
  /* Broken chunked coding */
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", 0,
                CF_HTTP1_ERROR_BODY);
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
                0, CF_HTTP1_ERROR_BODY);
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "ffffffffffffffffff\r\n", 0, CF_HTTP1_ERROR_BODY);
  /* A body cut short */
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc", 0, CF_HTTP1_ERROR_BODY);
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", 0,
                CF_HTTP1_ERROR_BODY);
  /* Bodies over the limit, whatever their framing */
  assert_fails ("HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n", 10,
                CF_HTTP1_ERROR_TOO_LARGE);
  assert_fails ("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                "4\r\nabcd\r\n4\r\nefgh\r\n4\r\nijkl\r\n0\r\n\r\n", 10, CF_HTTP1_ERROR_TOO_LARGE);
  assert_fails ("HTTP/1.0 200 OK\r\n\r\n0123456789abcdef", 10, CF_HTTP1_ERROR_TOO_LARGE);
}

static void
test_raw_chunk_extensions_and_trailers (void)
{
  static const Step steps[] = {
    { ANSWER, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
      "3;name=value\r\nabc\r\n1\r\nd\r\n0\r\nX-Trailer: yes\r\n\r\n" },
  };
  Raw r;
  Outcome o;

  raw_post (steps, G_N_ELEMENTS (steps), 0, &o, &r);
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "abcd");
  outcome_clear (&o);
}

/* A reused connection that the server closes as the request arrives:
 * the request goes again on a new connection, once. */
static void
test_raw_stale_retry (void)
{
  static const Step steps[] = {
    { ANSWER, OK_JSON },
    { CLOSE_UNANSWERED, NULL },
    { ANSWER, OK_JSON },
  };
  Raw r;
  Outcome o;
  g_autoptr(CfHttp1Client) client = NULL;

  raw_start (&r, steps, G_N_ELEMENTS (steps));
  client = client_for_port (r.port);
  post_ok (client, "/mcp");
  g_assert_cmpuint (cf_http1_client_get_n_idle (client), ==, 1);
  post_and_wait (client, &o, "/mcp", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "{}");
  outcome_clear (&o);
  g_clear_pointer (&client, cf_http1_client_unref);
  raw_stop (&r);
  g_assert_cmpint (r.n_connections, ==, 2);
  g_assert_cmpint (r.n_requests, ==, 3);
}

/* On a new connection, the same is an error: there is no retry. */
static void
test_raw_fresh_close (void)
{
  static const Step steps[] = { { CLOSE_UNANSWERED, NULL } };
  Raw r;
  Outcome o;

  raw_post (steps, G_N_ELEMENTS (steps), 0, &o, &r);
  g_assert_error (o.error, CF_HTTP1_ERROR, CF_HTTP1_ERROR_HEAD);
  g_assert_cmpint (r.n_connections, ==, 1);
  g_assert_cmpint (r.n_requests, ==, 1);
  outcome_clear (&o);
}

static gboolean
no_idle (gpointer user_data)
{
  return cf_http1_client_get_n_idle (user_data) == 0;
}

/* A server that closes a kept-alive connection while it is idle: the
 * pool lets it go, and the next request opens another. */
static void
test_raw_idle_closed (void)
{
  static const Step steps[] = {
    { ANSWER_AND_CLOSE, OK_JSON },
    { ANSWER, OK_JSON },
  };
  Raw r;
  g_autoptr(CfHttp1Client) client = NULL;

  raw_start (&r, steps, G_N_ELEMENTS (steps));
  client = client_for_port (r.port);
  post_ok (client, "/mcp");
  g_assert_true (cf_test_wait_until (no_idle, client, CF_TEST_TIMEOUT_MS));
  post_ok (client, "/mcp");
  g_clear_pointer (&client, cf_http1_client_unref);
  raw_stop (&r);
  g_assert_cmpint (r.n_connections, ==, 2);
}

static gboolean
one_parked (gpointer user_data)
{
  return cf_http1_client_get_n_parked (user_data) == 1;
}

/* A connection left idle is parked in the context's idle watch, which
 * gives it back unharmed when it is used again, and notices when the
 * server closes it while parked. */
static void
test_raw_parked (void)
{
  static const Step steps[] = {
    { ANSWER, OK_JSON },
    { ANSWER_THEN_CLOSE_ON_RELEASE, OK_JSON },
    { ANSWER, OK_JSON },
  };
  Raw r;
  Outcome o;
  g_autoptr(CfHttp1Client) client = NULL;

  raw_start (&r, steps, G_N_ELEMENTS (steps));
  client = client_for_port (r.port);
  cf_http1_client_set_park_delay (client, 20);
  post_ok (client, "/mcp");
  g_assert_cmpuint (cf_http1_client_get_n_idle (client), ==, 1);
  g_assert_true (cf_test_wait_until (one_parked, client, CF_TEST_TIMEOUT_MS));

  /* Taken back from the watch: the same connection */
  post_and_wait (client, &o, "/mcp", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.body->str, ==, "{}");
  outcome_clear (&o);
  g_assert_cmpuint (cf_http1_client_get_n_connects (client), ==, 1);
  g_assert_true (cf_test_wait_until (one_parked, client, CF_TEST_TIMEOUT_MS));

  /* The server closes it while it is parked */
  g_atomic_int_set (&r.release, 1);
  g_assert_true (cf_test_wait_until (no_idle, client, CF_TEST_TIMEOUT_MS));
  post_ok (client, "/mcp");
  g_assert_cmpuint (cf_http1_client_get_n_connects (client), ==, 2);
  g_clear_pointer (&client, cf_http1_client_unref);
  raw_stop (&r);
  g_assert_cmpint (r.n_connections, ==, 2);
  g_assert_cmpint (r.n_requests, ==, 3);
}

/* Clients of one context share its watch; connections parked by one
 * are unaffected by the other's going. */
static void
test_soup_parked_two_clients (void)
{
  Soup s;
  Outcome o;
  g_autoptr(CfHttp1Client) first = NULL;
  g_autoptr(CfHttp1Client) second = NULL;

  soup_start (&s);
  first = client_for_port (s.port);
  second = client_for_port (s.port);
  cf_http1_client_set_park_delay (first, 10);
  cf_http1_client_set_park_delay (second, 10);
  post_and_wait (first, &o, "/json", "{}");
  g_assert_no_error (o.error);
  outcome_clear (&o);
  post_and_wait (second, &o, "/json", "{}");
  g_assert_no_error (o.error);
  outcome_clear (&o);
  g_assert_true (cf_test_wait_until (one_parked, first, CF_TEST_TIMEOUT_MS));
  g_assert_true (cf_test_wait_until (one_parked, second, CF_TEST_TIMEOUT_MS));
  g_clear_pointer (&first, cf_http1_client_unref);
  post_and_wait (second, &o, "/json", "{}");
  g_assert_no_error (o.error);
  g_assert_cmpuint (o.status, ==, 200);
  outcome_clear (&o);
  g_assert_cmpuint (cf_http1_client_get_n_connects (second), ==, 1);
  g_clear_pointer (&second, cf_http1_client_unref);
  soup_stop (&s);
}

static gboolean
int_is_set (gpointer user_data)
{
  return g_atomic_int_get ((gint *) user_data) != 0;
}

/* Cancelling a request closes its connection, and nothing is called. */
static void
test_raw_cancel (void)
{
  static const Step steps[] = { { HOLD, NULL } };
  Raw r;
  Outcome o;
  CfHttp1Request *request;
  g_autoptr(CfHttp1Client) client = NULL;

  raw_start (&r, steps, G_N_ELEMENTS (steps));
  client = client_for_port (r.port);
  request = start_post (client, &o, "/mcp", "{}");
  g_assert_true (cf_test_wait_until (int_is_set, &r.n_requests, CF_TEST_TIMEOUT_MS));
  cf_http1_request_cancel (request);
  g_assert_true (cf_test_wait_until (int_is_set, &r.saw_client_close, CF_TEST_TIMEOUT_MS));
  cf_test_spin (50);
  g_assert_false (o.done);
  g_assert_false (o.got_head);
  g_assert_cmpuint (cf_http1_client_get_n_idle (client), ==, 0);
  g_clear_pointer (&client, cf_http1_client_unref);
  raw_stop (&r);
  outcome_clear (&o);
}

/* Cancelled while connecting, too. */
static void
test_cancel_connecting (void)
{
  Soup s;
  Outcome o;
  CfHttp1Request *request;
  g_autoptr(CfHttp1Client) client = NULL;

  soup_start (&s);
  client = client_for_port (s.port);
  request = start_post (client, &o, "/json", "{}");
  cf_http1_request_cancel (request);
  cf_test_spin (100);
  g_assert_false (o.done);
  g_assert_cmpuint (s.n_requests, ==, 0);
  g_clear_pointer (&client, cf_http1_client_unref);
  soup_stop (&s);
  outcome_clear (&o);
}

static void
test_refused (void)
{
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GSocketAddress) address = g_inet_socket_address_new (loopback, 0);
  g_autoptr(GSocketAddress) bound = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(CfHttp1Client) client = NULL;
  g_autoptr(GError) error = NULL;
  Outcome o;

  /* A port bound a moment ago, where nothing listens now */
  socket = g_socket_new (G_SOCKET_FAMILY_IPV4, G_SOCKET_TYPE_STREAM, G_SOCKET_PROTOCOL_TCP,
                         &error);
  g_assert_no_error (error);
  g_socket_bind (socket, address, TRUE, &error);
  g_assert_no_error (error);
  bound = g_socket_get_local_address (socket, &error);
  g_assert_no_error (error);
  g_socket_close (socket, NULL);
  client = client_for_port (g_inet_socket_address_get_port (G_INET_SOCKET_ADDRESS (bound)));
  post_and_wait (client, &o, "/mcp", "{}");
  g_assert_error (o.error, CF_HTTP1_ERROR, CF_HTTP1_ERROR_CONNECT);
  g_assert_false (o.got_head);
  outcome_clear (&o);
}

/* The C fixture server */

typedef struct {
  GSubprocess *process;
  char        *url;
  guint        port;
} Fixture;

static void
fixture_start (Fixture *f)
{
  g_autofree char *path = cf_test_fixture_server_path ();
  const char *argv[] = { path, "--port=0", NULL };
  g_autoptr(GUri) uri = NULL;

  f->process = cf_harness_spawn (argv, &f->url);
  uri = g_uri_parse (f->url, G_URI_FLAGS_NONE, NULL);
  g_assert_nonnull (uri);
  f->port = g_uri_get_port (uri);
}

static void
fixture_stop (Fixture *f)
{
  if (f->process != NULL)
    cf_harness_stop_process (f->process);
  g_clear_object (&f->process);
  g_clear_pointer (&f->url, g_free);
}

#define MODERN_META "\"_meta\":{\"io.modelcontextprotocol/protocolVersion\":\"2026-07-28\"," \
  "\"io.modelcontextprotocol/clientCapabilities\":{}}"

static void
fixture_post (CfHttp1Client *client,
              Outcome       *o,
              const char    *tool,
              const char    *params)
{
  g_autoptr(GString) lines = g_string_new (NULL);
  g_autofree char *body = g_strdup_printf ("{\"jsonrpc\":\"2.0\",\"id\":7,\"method\":"
                                           "\"tools/call\",\"params\":{\"name\":\"%s\","
                                           "%s" MODERN_META "}}", tool, params);
  g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));

  memset (o, 0, sizeof *o);
  o->body = g_string_new (NULL);
  cf_http1_append_header (lines, "Accept", "application/json, text/event-stream");
  cf_http1_append_header (lines, "MCP-Protocol-Version", "2026-07-28");
  cf_http1_append_header (lines, "Mcp-Method", "tools/call");
  cf_http1_append_header (lines, "Mcp-Name", tool);
  cf_http1_client_post (client, "/mcp", lines->str, "application/json", bytes, &callbacks, o);
  g_assert_true (cf_test_wait_flag (&o->done, CF_TEST_TIMEOUT_MS));
}

static void
test_fixture_direct (void)
{
  Fixture f = { 0 };
  g_autoptr(CfHttp1Client) client = NULL;
  Outcome o;

  fixture_start (&f);
  client = client_for_port (f.port);
  for (guint i = 0; i < 5; i++)
    {
      fixture_post (client, &o, "test_simple_text", "\"arguments\":{},");
      g_assert_no_error (o.error);
      g_assert_cmpuint (o.status, ==, 200);
      g_assert_nonnull (strstr (o.body->str, "\"result\""));
      g_assert_nonnull (strstr (o.body->str, "\"id\":7"));
      outcome_clear (&o);
    }
  g_assert_cmpuint (cf_http1_client_get_n_connects (client), ==, 1);

  /* With a progress token, the answer is a stream of events. */
  fixture_post (client, &o, "test_tool_with_progress", "\"arguments\":{},");
  g_assert_no_error (o.error);
  g_assert_nonnull (strstr (o.body->str, "\"result\""));
  outcome_clear (&o);
  g_clear_pointer (&client, cf_http1_client_unref);
  fixture_stop (&f);
}

/* Through CfMcpClient: the transport takes the lean client for the
 * fixture's 2026-07-28 era, and reports its failures as the libsoup path
 * does. */
static void
test_fixture_mcp_client (void)
{
  Fixture f = { 0 };
  g_autoptr(CfMcpClient) client = NULL;
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(GError) error = NULL;
  CfTestOp op;

  fixture_start (&f);
  client = cf_mcp_client_new_http (f.url, NULL, NULL);
  g_assert_true (cf_test_connect_client (client, &error));
  g_assert_no_error (error);
  g_assert_cmpint (cf_mcp_client_get_era (client), ==, CF_MCP_ERA_MODERN);

  for (guint i = 0; i < 3; i++)
    {
      cf_test_op_call_tool (&op, client, "test_simple_text");
      cf_test_op_wait (&op);
      g_assert_no_error (op.error);
      cf_test_assert_result (op.response);
      cf_test_op_clear (&op);
    }

  /* A streamed answer, with its progress notifications */
  cf_test_op_init (&op);
  cf_test_op_request (&op, client, "tools/call",
                      "{\"name\":\"test_tool_with_progress\",\"arguments\":{},"
                      "\"_meta\":{\"progressToken\":\"p1\"}}");
  cf_test_op_wait (&op);
  g_assert_no_error (op.error);
  cf_test_assert_result (op.response);
  g_assert_cmpuint (op.messages->len, >=, 1);
  cf_test_op_clear (&op);

  /* Cancelled mid-stream: the call ends, and the next one works. */
  cf_test_op_init (&op);
  cf_test_op_start (&op, client, "tools/call",
                    "{\"name\":\"test_tool_with_progress\",\"arguments\":{}}", cancellable);
  cf_test_spin (20);
  g_cancellable_cancel (cancellable);
  cf_test_op_wait (&op);
  g_assert_nonnull (op.error);
  cf_test_op_clear (&op);
  cf_test_op_call_tool (&op, client, "test_simple_text");
  cf_test_op_wait (&op);
  g_assert_no_error (op.error);
  cf_test_op_clear (&op);

  /* The upstream gone: a connection error, as from libsoup */
  fixture_stop (&f);
  cf_test_op_call_tool (&op, client, "test_simple_text");
  cf_test_op_wait (&op);
  g_assert_error (op.error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT);
  cf_test_op_clear (&op);

  cf_mcp_client_close (client);
}

typedef struct {
  gboolean  done;
  GError   *error;
  JsonNode *response;
  GBytes   *members;
} Passthrough;

static void
on_passthrough (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  Passthrough *p = user_data;

  p->response = cf_mcp_client_request_finish_passthrough (CF_MCP_CLIENT (source), result,
                                                          &p->members, &p->error);
  p->done = TRUE;
}

/* The fixture's own answer to @tool, read from the wire: its result,
 * without a _meta that holds only the fixture's serverInfo. */
static JsonNode *
direct_result (CfHttp1Client *http,
               const char    *tool)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) response = NULL;
  JsonObject *result;
  JsonObject *meta;
  Outcome o;

  fixture_post (http, &o, tool, "\"arguments\":{},");
  g_assert_no_error (o.error);
  g_assert_cmpstr (o.content_type, ==, "application/json");
  response = cf_json_parse (o.body->str, o.body->len, &error);
  g_assert_no_error (error);
  outcome_clear (&o);
  result = cf_json_object_get_object (json_node_get_object (response), "result");
  g_assert_nonnull (result);
  result = cf_json_object_shallow_copy (result, NULL);
  meta = cf_json_object_get_object (result, "_meta");
  if (meta != NULL && json_object_get_size (meta) == 1 &&
      json_object_has_member (meta, "io.modelcontextprotocol/serverInfo"))
    json_object_remove_member (result, "_meta");
  return cf_json_node_new_object (result);
}

/* A plain tools/call result passes through a relay mostly unparsed; the
 * client's ordinary finish still gives all of it as a tree. */
static void
test_fixture_passthrough (void)
{
  static const char * const tools[] = {
    "test_simple_text", "test_multiple_content_types", "test_error_handling",
  };
  Fixture f = { 0 };
  g_autoptr(CfMcpClient) client = NULL;
  g_autoptr(CfHttp1Client) http = NULL;
  g_autoptr(GError) error = NULL;

  fixture_start (&f);
  http = client_for_port (f.port);
  client = cf_mcp_client_new_http (f.url, NULL, NULL);
  g_assert_true (cf_test_connect_client (client, &error));
  g_assert_no_error (error);

  for (guint i = 0; i < G_N_ELEMENTS (tools); i++)
    {
      g_autoptr(JsonNode) expected = direct_result (http, tools[i]);
      g_autofree char *params = g_strdup_printf ("{\"name\":\"%s\",\"arguments\":{}}",
                                                 tools[i]);
      Passthrough p = { 0 };
      JsonObject *own;
      CfTestOp op;
      gsize length;
      const char *text;

      /* The whole result, as a tree */
      cf_test_op_call_tool (&op, client, tools[i]);
      g_assert_no_error (op.error);
      g_assert_true (json_node_equal (expected,
                                      json_object_get_member (json_node_get_object (op.response),
                                                              "result")));
      g_assert_true (json_object_has_member (json_node_get_object (op.response), "id"));
      cf_test_op_clear (&op);

      /* In two parts, for a relay */
      cf_mcp_client_request_async (client, "tools/call", cf_test_parse_object (params), NULL, NULL,
                                   NULL, on_passthrough, &p);
      g_assert_true (cf_test_wait_flag (&p.done, CF_TEST_TIMEOUT_MS));
      g_assert_no_error (p.error);
      g_assert_nonnull (p.members);
      own = cf_json_object_get_object (json_node_get_object (p.response), "result");
      g_assert_nonnull (own);
      /* resultType "complete" and the fixture's serverInfo are left out:
       * nothing of the result is in the tree. */
      g_assert_cmpuint (json_object_get_size (own), ==, 0);
      g_assert_true (json_object_is_immutable (own));
      text = g_bytes_get_data (p.members, &length);
      g_assert_true (g_str_has_prefix (text, "\"content\":["));
      g_assert_null (memchr (text, '\0', length));
      g_clear_pointer (&p.response, json_node_unref);
      g_clear_pointer (&p.members, g_bytes_unref);
    }

  cf_mcp_client_close (client);
  g_clear_pointer (&http, cf_http1_client_unref);
  fixture_stop (&f);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/http1/header-lines", test_header_lines);
  g_test_add_func ("/http1/soup/json-keep-alive", test_soup_json_keep_alive);
  g_test_add_func ("/http1/soup/connection-limit", test_soup_connection_limit);
  g_test_add_func ("/http1/soup/chunked", test_soup_chunked);
  g_test_add_func ("/http1/soup/sse-and-404", test_soup_sse_and_404);
  g_test_add_func ("/http1/raw/until-close", test_raw_until_close);
  g_test_add_func ("/http1/raw/informational", test_raw_informational);
  g_test_add_func ("/http1/raw/malformed", test_raw_malformed);
  g_test_add_func ("/http1/raw/head-forms", test_raw_head_forms);
  g_test_add_func ("/http1/raw/bad-body", test_raw_bad_body);
  g_test_add_func ("/http1/raw/chunk-extensions", test_raw_chunk_extensions_and_trailers);
  g_test_add_func ("/http1/raw/stale-retry", test_raw_stale_retry);
  g_test_add_func ("/http1/raw/fresh-close", test_raw_fresh_close);
  g_test_add_func ("/http1/raw/idle-closed", test_raw_idle_closed);
  g_test_add_func ("/http1/raw/parked", test_raw_parked);
  g_test_add_func ("/http1/soup/parked-two-clients", test_soup_parked_two_clients);
  g_test_add_func ("/http1/raw/cancel", test_raw_cancel);
  g_test_add_func ("/http1/cancel-connecting", test_cancel_connecting);
  g_test_add_func ("/http1/refused", test_refused);
  g_test_add_func ("/http1/fixture/direct", test_fixture_direct);
  g_test_add_func ("/http1/fixture/mcp-client", test_fixture_mcp_client);
  g_test_add_func ("/http1/fixture/passthrough", test_fixture_passthrough);
  return g_test_run ();
}
