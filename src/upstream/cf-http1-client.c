/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http1-client"

#include "config.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "cf-http-header.h"
#include "cf-http1-client-private.h"
#include "cf-json.h"

/**
 * CfHttp1Client:
 *
 * A lean HTTP/1.1 client for one upstream's hot path: a POST, its
 * response read as it arrives, and a bounded pool of idle keep-alive
 * connections. Each connection is watched by one #GSource of its own,
 * polling its socket for what the request in progress waits for; the
 * socket is written and read without blocking, straight from and into
 * the request's buffers. No #GTask, stream or cancellable source is made
 * per request, which is most of what libsoup's client costs per call.
 *
 * The status line and headers are parsed by libsoup's own
 * soup_headers_parse_response(); the body is framed by Content-Length,
 * by the chunked coding (a strict decoder) or by the connection's end.
 * A request sent on a reused idle connection that fails before any byte
 * of its response (the server closed the connection as the request
 * went out) is sent once more on a new connection.
 *
 * A connection idle for longer than a short delay is parked in the
 * context's #CfIdleWatch: its source goes, and the watch, one source for
 * all the upstreams of the context, tells the client when the server
 * closes it. A gateway with many upstreams then pays for one source on
 * each iteration of its loop instead of one per upstream.
 *
 * Everything runs in the thread-default main context of the client's
 * creation.
 */

#define DEFAULT_MAX_HEADER (64 * 1024)
/* How long an idle connection keeps its own source: one in steady use
 * never loses it, and one left idle costs a source only this long. */
#define DEFAULT_PARK_DELAY_MS 1000
/* The buffer requests are written into */
#define KEPT_OUT 2048
#define MAX_KEPT_OUT (64 * 1024)

G_DEFINE_QUARK (cf-http1-error-quark, cf_http1_error)

static void request_unref (CfHttp1Request *request);
static void conn_ready (Conn        *conn,
                        GIOCondition revents);

/* Connections */

static void
on_conn_ready (gpointer     data,
               GIOCondition revents,
               gboolean     expired)
{
  conn_ready (data, revents);
}

static void
conn_watch (Conn        *conn,
            GIOCondition events)
{
  cf_fd_source_set_events (conn->source, events);
}

static void
conn_add_source (Conn *conn)
{
  conn->source = cf_fd_source_new (g_socket_get_fd (conn->socket), "[cf-http1-client] connection",
                                   conn->client->context, on_conn_ready, conn);
}

static void
conn_drop_source (Conn *conn)
{
  g_clear_pointer (&conn->source, cf_fd_source_free);
}

static void
on_conn_parked (CfIdleSocket *socket,
                gpointer      user_data)
{
  conn_drop_source (user_data);
}

static void idle_conn_ready (Conn *conn);

static void
on_parked_conn_ready (CfIdleSocket *socket,
                      gpointer      user_data)
{
  idle_conn_ready (user_data);
}

static Conn *
conn_new (CfHttp1Client     *client,
          GSocketConnection *connection)
{
  Conn *conn = g_new0 (Conn, 1);

  conn->client = client;
  conn->connection = connection;
  conn->socket = g_socket_connection_get_socket (connection);
  g_socket_set_blocking (conn->socket, FALSE);
  /* A request goes out in one write; with Nagle, a write after the
   * previous response's delayed ACK could wait for it. */
  g_socket_set_option (conn->socket, IPPROTO_TCP, TCP_NODELAY, 1, NULL);
  cf_idle_socket_init (&conn->idle, g_socket_get_fd (conn->socket), on_conn_parked,
                       on_parked_conn_ready, conn);
  conn_add_source (conn);
  client->n_connects++;
  return conn;
}

/* Closes a connection; the caller sees to the requests waiting for one
 * (client_dispatch()). */
static void
conn_close (Conn *conn)
{
  conn->client->n_open--;
  cf_idle_watch_remove (conn->client->watch, &conn->idle);
  conn_drop_source (conn);
  g_socket_close (conn->socket, NULL);
  g_object_unref (conn->connection);
  g_free (conn);
}

/* An idle connection taken back into use */
static Conn *
conn_take_idle (CfHttp1Client *client)
{
  Conn *conn = g_queue_pop_head (&client->idle);

  if (conn != NULL && cf_idle_watch_remove (client->watch, &conn->idle))
    conn_add_source (conn);
  return conn;
}

/* Requests */

static CfHttp1Request *
request_ref (CfHttp1Request *request)
{
  g_atomic_ref_count_inc (&request->ref_count);
  return request;
}

static void
request_unref (CfHttp1Request *request)
{
  if (!g_atomic_ref_count_dec (&request->ref_count))
    return;
  g_assert (request->conn == NULL);
  g_clear_object (&request->connecting);
  g_clear_pointer (&request->out, g_bytes_unref);
  g_clear_pointer (&request->in, g_byte_array_unref);
  cf_http1_client_unref (request->client);
  g_free (request);
}

static void connect_fresh (CfHttp1Request *request);
static void attach_conn (CfHttp1Request *request,
                         Conn           *conn);

/* Starts the requests waiting for a connection, as far as the limit
 * allows. */
static void
client_dispatch (CfHttp1Client *client)
{
  while (client->n_open < client->max_conns && client->pending.length > 0)
    connect_fresh (g_queue_pop_head (&client->pending));
}

/* Lets go of the request's connection: to the next request waiting, or
 * back to the pool, when its exchange ended cleanly and it may be
 * reused; closed otherwise. */
static void
release_conn (CfHttp1Request *request,
              gboolean        reusable)
{
  Conn *conn = g_steal_pointer (&request->conn);
  CfHttp1Client *client = request->client;
  CfHttp1Request *next;

  if (conn == NULL)
    return;
  conn->request = NULL;
  if (reusable && request->in_pos == request->in->len)
    {
      conn->n_served++;
      if ((next = g_queue_pop_head (&client->pending)) != NULL)
        {
          attach_conn (next, conn);
          return;
        }
      /* An idle connection is watched for the server closing it: by
       * its own source for a while, then by the idle watch. */
      conn_watch (conn, G_IO_IN);
      g_queue_push_head (&client->idle, conn);
      cf_idle_watch_add (client->watch, &conn->idle, client->park_delay_ms);
      return;
    }
  conn_close (conn);
  client_dispatch (client);
}

/* Ends the request: no callback follows. Drops the request's own ref. */
void
_cf_http1_request_end (CfHttp1Request *request,
                       gboolean        reusable)
{
  if (request->ended)
    return;
  request->ended = TRUE;
  if (request->state == STATE_QUEUED)
    g_queue_remove (&request->client->pending, request);
  if (request->connecting != NULL)
    g_cancellable_cancel (request->connecting);
  release_conn (request, reusable);
  request_unref (request);
}

void
_cf_http1_request_done (CfHttp1Request *request,
                        const GError   *error)
{
  gboolean reusable = error == NULL && request->keep_alive;

  if (request->ended)
    return;
  /* The connection is back in the pool before the caller hears of the
   * end, so that a request it sends then can reuse it. */
  release_conn (request, reusable);
  request->busy++;
  request->callbacks.done (request, error, request->user_data);
  request->busy--;
  _cf_http1_request_end (request, FALSE);
}

void
_cf_http1_request_fail (CfHttp1Request *request,
                        int             code,
                        const char     *format,
                        ...)
{
  g_autoptr(GError) error = NULL;
  va_list args;

  va_start (args, format);
  error = g_error_new_valist (CF_HTTP1_ERROR, code, format, args);
  va_end (args);
  _cf_http1_request_done (request, error);
}

static void start_send (CfHttp1Request *request);

/* A reused connection that fails before any byte of the response was,
 * most likely, closed by the server as the request went out: the
 * request goes once more, on a new connection. */
gboolean
_cf_http1_retry_if_stale (CfHttp1Request *request)
{
  if (!request->reused || request->retried || request->got_response_bytes)
    return FALSE;
  g_debug ("A reused connection failed before the response; sending again");
  request->retried = TRUE;
  /* In place of the connection closed: no one waiting takes it. */
  request->conn->request = NULL;
  conn_close (g_steal_pointer (&request->conn));
  connect_fresh (request);
  return TRUE;
}

static void
attach_conn (CfHttp1Request *request,
             Conn           *conn)
{
  request->conn = conn;
  conn->request = request;
  request->reused = conn->n_served > 0;
  request->out_sent = 0;
  request->in_pos = 0;
  g_byte_array_set_size (request->in, 0);
  start_send (request);
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  CfHttp1Request *request = user_data;
  g_autoptr(GError) error = NULL;
  GSocketConnection *connection = g_socket_client_connect_finish (G_SOCKET_CLIENT (source),
                                                                  result, &error);

  g_clear_object (&request->connecting);
  if (connection == NULL || request->ended)
    {
      if (connection != NULL)
        {
          g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
          g_object_unref (connection);
        }
      request->client->n_open--;
      client_dispatch (request->client);
      if (!request->ended)
        _cf_http1_request_fail (request, CF_HTTP1_ERROR_CONNECT, "%s", error->message);
    }
  else
    attach_conn (request, conn_new (request->client, connection));
  request_unref (request);
}

static void
connect_fresh (CfHttp1Request *request)
{
  request->state = STATE_CONNECTING;
  request->client->n_open++;
  request->connecting = g_cancellable_new ();
  g_socket_client_connect_async (request->client->socket_client, request->client->address,
                                 request->connecting, on_connected, request_ref (request));
}

/* Sending */

/* Writes what is left of the request; returns FALSE when it ended. */
static gboolean
send_some (CfHttp1Request *request)
{
  g_autoptr(GError) error = NULL;
  gsize size;
  const char *data = g_bytes_get_data (request->out, &size);
  gssize sent = g_socket_send (request->conn->socket, data + request->out_sent,
                               size - request->out_sent, NULL, &error);

  if (sent < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return TRUE;
  if (sent < 0)
    {
      if (!_cf_http1_retry_if_stale (request))
        _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Sending the request failed: %s",
                                error->message);
      return FALSE;
    }
  request->out_sent += sent;
  if (request->out_sent == size)
    {
      request->state = STATE_HEAD;
      conn_watch (request->conn, G_IO_IN);
    }
  return TRUE;
}

static void
start_send (CfHttp1Request *request)
{
  request->state = STATE_SENDING;
  conn_watch (request->conn, G_IO_OUT);
  send_some (request);
}

/* A connection's readiness */

static void
idle_conn_ready (Conn *conn)
{
  CfHttp1Client *client = conn->client;

  /* A server does not speak unasked: whatever this is (its close, most
   * likely), the connection is done. */
  g_queue_remove (&client->idle, conn);
  conn_close (conn);
  client_dispatch (client);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfHttp1Request, request_unref)

static void
conn_ready (Conn        *conn,
            GIOCondition revents)
{
  g_autoptr(CfHttp1Request) request = NULL;

  if (conn->request == NULL)
    {
      idle_conn_ready (conn);
      return;
    }
  request = request_ref (conn->request);
  if (request->state == STATE_SENDING)
    {
      if ((revents & (G_IO_OUT | G_IO_ERR | G_IO_HUP)) && !send_some (request))
        return;
      /* Nothing more until the response arrives. */
      return;
    }
  if (revents & (G_IO_IN | G_IO_ERR | G_IO_HUP))
    _cf_http1_receive_some (request);
}

/* Public API */

/**
 * cf_http1_client_new:
 * @address: what to connect to (a guarded address keeps the SSRF policy)
 * @host: the Host header's value
 * @max_conns: how many connections to have open at most, busy or idle;
 *   requests beyond wait for one
 *
 * Returns: (transfer full): a new client for one upstream
 */
CfHttp1Client *
cf_http1_client_new (GSocketConnectable *address,
                     const char         *host,
                     guint               max_conns)
{
  CfHttp1Client *self = g_new0 (CfHttp1Client, 1);

  g_return_val_if_fail (G_IS_SOCKET_CONNECTABLE (address), NULL);
  g_return_val_if_fail (host != NULL, NULL);

  g_atomic_ref_count_init (&self->ref_count);
  self->address = g_object_ref (address);
  self->host = g_strdup (host);
  self->context = g_main_context_ref_thread_default ();
  self->socket_client = g_socket_client_new ();
  g_socket_client_set_enable_proxy (self->socket_client, FALSE);
  g_queue_init (&self->idle);
  g_queue_init (&self->pending);
  self->max_conns = MAX (max_conns, 1);
  self->max_header = DEFAULT_MAX_HEADER;
  self->watch = cf_idle_watch_get_for_context (self->context);
  self->park_delay_ms = DEFAULT_PARK_DELAY_MS;
  self->out = g_string_sized_new (KEPT_OUT);
  return self;
}

/**
 * cf_http1_client_ref:
 *
 * Returns: (transfer full): @self
 */
CfHttp1Client *
cf_http1_client_ref (CfHttp1Client *self)
{
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

/**
 * cf_http1_client_close_idle:
 *
 * Closes every idle connection.
 */
void
cf_http1_client_close_idle (CfHttp1Client *self)
{
  Conn *conn;

  while ((conn = g_queue_pop_head (&self->idle)) != NULL)
    conn_close (conn);
}

/**
 * cf_http1_client_unref:
 *
 * Drops a reference; the last closes the idle connections. Requests in
 * progress hold their own.
 */
void
cf_http1_client_unref (CfHttp1Client *self)
{
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  cf_http1_client_close_idle (self);
  cf_idle_watch_release (self->watch);
  g_object_unref (self->socket_client);
  g_object_unref (self->address);
  g_main_context_unref (self->context);
  g_free (self->scratch);
  g_string_free (self->out, TRUE);
  g_free (self->host);
  g_free (self);
}

/**
 * cf_http1_client_set_max_header_size:
 * @size: the most bytes a response's status line and headers may take
 */
void
cf_http1_client_set_max_header_size (CfHttp1Client *self,
                                     gsize          size)
{
  self->max_header = MAX (size, 64);
}

/**
 * cf_http1_client_get_n_idle:
 *
 * Returns: how many idle connections the pool holds
 */
guint
cf_http1_client_get_n_idle (CfHttp1Client *self)
{
  return self->idle.length;
}

/**
 * cf_http1_client_set_park_delay:
 * @delay_ms: how long a connection stays idle before it is parked
 */
void
cf_http1_client_set_park_delay (CfHttp1Client *self,
                                guint          delay_ms)
{
  self->park_delay_ms = delay_ms;
}

/**
 * cf_http1_client_get_n_parked:
 *
 * Returns: how many of the idle connections are parked
 */
guint
cf_http1_client_get_n_parked (CfHttp1Client *self)
{
  guint n = 0;

  for (GList *l = self->idle.head; l != NULL; l = l->next)
    n += cf_idle_socket_is_parked (&((Conn *) l->data)->idle);
  return n;
}

/**
 * cf_http1_client_get_n_connects:
 *
 * Returns: how many connections the client has opened
 */
guint
cf_http1_client_get_n_connects (CfHttp1Client *self)
{
  return self->n_connects;
}

static GBytes *
serialise (CfHttp1Client      *self,
           const char         *path,
           const char         *header_lines,
           const char         *content_type,
           GBytes             *body)
{
  GString *out = self->out;
  GBytes *bytes;

  g_string_append (out, "POST ");
  g_string_append (out, path);
  g_string_append (out, " HTTP/1.1\r\nHost: ");
  g_string_append (out, self->host);
  g_string_append (out, "\r\n");
  if (header_lines != NULL)
    g_string_append (out, header_lines);
  g_string_append (out, "Content-Type: ");
  g_string_append (out, content_type);
  g_string_append (out, "\r\nContent-Length: ");
  cf_json_append_int (out, (gint64) g_bytes_get_size (body));
  g_string_append (out, "\r\n\r\n");
  g_string_append_len (out, g_bytes_get_data (body, NULL), g_bytes_get_size (body));
  /* Copied out at its own size; the buffer is the client's, reused (a
   * fresh one per request cost a large allocation each time). */
  bytes = g_bytes_new (out->str, out->len);
  if (out->allocated_len > MAX_KEPT_OUT)
    {
      g_string_free (out, TRUE);
      self->out = g_string_sized_new (KEPT_OUT);
    }
  else
    g_string_truncate (out, 0);
  return bytes;
}

/**
 * cf_http1_client_writes_header:
 * @name: a header name
 *
 * Returns: whether the client writes the header @name of a request
 *   itself (Host and the body's framing), so that a caller's header lines
 *   must not carry it
 */
gboolean
cf_http1_client_writes_header (const char *name)
{
  static const char * const own[] = {
    "Host", "Content-Length", "Content-Type", "Transfer-Encoding", "Connection", NULL
  };

  g_return_val_if_fail (name != NULL, FALSE);

  for (guint i = 0; own[i] != NULL; i++)
    if (cf_http_name_equal (name, own[i]))
      return TRUE;
  return FALSE;
}

/**
 * cf_http1_append_header:
 * @lines: header lines to add to
 * @name: a header name (an RFC 9110 token)
 * @value: its value
 *
 * Appends `name: value\r\n` to @lines, for cf_http1_client_post(), unless
 * @name is not a token or @value holds a CR, an LF or another control
 * character but tab, which would let it end the line (or the head) early:
 * such a header is left out.
 *
 * Returns: whether the header was appended
 */
gboolean
cf_http1_append_header (GString    *lines,
                        const char *name,
                        const char *value)
{
  /* RFC 9110's tchar */
  static const guchar token[256] = {
    ['0' ... '9'] = 1, ['A' ... 'Z'] = 1, ['a' ... 'z'] = 1,
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1,
    ['-'] = 1, ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
  };
  const guchar *p;
  gsize name_length, value_length;

  g_return_val_if_fail (lines != NULL, FALSE);
  g_return_val_if_fail (name != NULL && value != NULL, FALSE);

  for (p = (const guchar *) name; token[*p]; p++)
    ;
  name_length = p - (const guchar *) name;
  if (*p != '\0' || name_length == 0)
    return FALSE;
  for (p = (const guchar *) value; *p >= 0x20 ? *p != 0x7f : *p == '\t'; p++)
    ;
  value_length = p - (const guchar *) value;
  if (*p != '\0')
    return FALSE;
  g_string_append_len (lines, name, name_length);
  g_string_append_len (lines, ": ", 2);
  g_string_append_len (lines, value, value_length);
  g_string_append_len (lines, "\r\n", 2);
  return TRUE;
}

/**
 * cf_http1_client_post:
 * @self: the client
 * @path: the request target (path and query, already encoded)
 * @header_lines: (nullable): more request headers, as lines
 *   (`Name: value\r\n` each; see cf_http1_append_header()), none of those
 *   the client writes itself (cf_http1_client_writes_header())
 * @content_type: the body's media type
 * @body: the body
 * @callbacks: what receives the response
 * @user_data: closure data for @callbacks
 *
 * Sends a POST on an idle connection, or on a new one. The header lines
 * go out as they are.
 *
 * Returns: (transfer none): the request, valid until its end (the done
 *   callback, a callback that stops it, or cf_http1_request_cancel())
 */
CfHttp1Request *
cf_http1_client_post (CfHttp1Client          *self,
                      const char             *path,
                      const char             *header_lines,
                      const char             *content_type,
                      GBytes                 *body,
                      const CfHttp1Callbacks *callbacks,
                      gpointer                user_data)
{
  CfHttp1Request *request = g_new0 (CfHttp1Request, 1);
  Conn *conn;

  g_atomic_ref_count_init (&request->ref_count);
  request->client = cf_http1_client_ref (self);
  request->out = serialise (self, path, header_lines, content_type, body);
  request->callbacks = *callbacks;
  request->user_data = user_data;
  /* Grown as the response arrives: most are far smaller than a page */
  request->in = g_byte_array_new ();

  conn = conn_take_idle (self);
  if (conn != NULL)
    attach_conn (request, conn);
  else if (self->n_open < self->max_conns)
    connect_fresh (request);
  else
    {
      request->state = STATE_QUEUED;
      g_queue_push_tail (&self->pending, request);
    }
  return request;
}

/**
 * cf_http1_request_set_max_body:
 * @max_body: the most bytes the body may have, 0 for no limit
 *
 * Set from the head callback, it applies to that response's body.
 */
void
cf_http1_request_set_max_body (CfHttp1Request *request,
                               gsize           max_body)
{
  request->max_body = max_body;
}

/**
 * cf_http1_request_cancel:
 *
 * Ends the request at once, closing its connection (on 2026-07-28 MCP,
 * how a request is cancelled). No callback follows; callable from one.
 */
void
cf_http1_request_cancel (CfHttp1Request *request)
{
  _cf_http1_request_end (request, FALSE);
}
