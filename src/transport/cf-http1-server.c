/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http1-server"
#define _GNU_SOURCE /* accept4(), memmem() */

#include "config.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "cf-fd-source.h"
#include "cf-http-header.h"
#include "cf-http-server-private.h"
#include "cf-json.h"

/**
 * CfHttp1Server:
 *
 * The HTTP/1.1 server in front of libsoup's. It owns the listening
 * sockets, and for every request looks at (peeks, without consuming) the
 * request head: a POST with a Content-Length body to one of the native
 * endpoints (`/mcp` and the like) it reads and answers itself, with one
 * #GSource per connection and no per-request sources, streams or
 * signals; anything else (another path or method, a chunked body,
 * `Expect`, an upgrade, HTTP/1.0, a head not yet complete, a field value
 * above ASCII) leaves the connection, untouched, to libsoup through
 * soup_server_accept_iostream(), for good. A head that breaks RFC 9112,
 * or whose body could be delimited two ways, is answered 400 here,
 * whatever its route.
 *
 * What it serves, it serves as libsoup would: the same middleware chain
 * and handlers (through #CfHttpExchange), keep-alive and pipelined
 * requests in order, `Connection: close`, chunked responses for SSE, a
 * 408 for a client that leaves a connection idle or a body unfinished
 * for longer than the header timeout.
 */

/* A request head it serves fits in what one peek sees. */
#define HEAD_MAX (16 * 1024)
#define HEADERS_MAX 100
/* Connections accepted per wake-up of a listener */
#define ACCEPT_BATCH 64
#define LISTEN_BACKLOG 1024
/* How long a listener out of descriptors waits before it tries again */
#define ACCEPT_PAUSE_MS 100
/* The most of a response buffer an idle connection keeps */
#define KEPT_OUT (64 * 1024)
/* How long a closing connection's last words are read and dropped */
#define DRAIN_S 2

typedef struct _Conn Conn;
typedef struct _Listener Listener;

struct _CfHttp1Server
{
  CfHttpServer *owner;
  GPtrArray    *listeners;
  GList        *conns;
  /* The connections handed to libsoup, by the client's address: libsoup
   * gives no socket for them (soup_server_message_get_socket()). A new
   * connection can come from the address of one libsoup has not let go
   * of yet: the newer is found, and each entry lives as long as its
   * connection (handed_over_all owns them). */
  GHashTable   *handed_over;
  GHashTable   *handed_over_all;
  /* Where heads are peeked at: one for all connections, so that an idle
   * one holds no buffer. */
  guint8        scratch[HEAD_MAX];
  char          date[64];
  gint64        date_second;
};

struct _Listener
{
  CfHttp1Server  *server;
  GSocket        *socket;
  CfFdSource     *source;
  gboolean        starved;
};

typedef enum {
  CONN_IDLE,
  CONN_BODY,
  CONN_BUSY,
  CONN_WRITING,
  CONN_STREAMING,
  CONN_DRAINING,
} ConnState;

typedef struct {
  gsize name;
  gsize name_length;
  gsize value;
  gsize value_length;
} Span;

#define CF_TYPE_HTTP1_EXCHANGE (cf_http1_exchange_get_type ())
G_DECLARE_FINAL_TYPE (CfHttp1Exchange, cf_http1_exchange, CF, HTTP1_EXCHANGE, CfHttpExchange)

struct _Conn
{
  CfHttp1Server   *server;
  GList            link;
  int              fd;
  CfFdSource      *source;
  ConnState        state;
  GByteArray      *in;
  gsize            head_length;
  gsize            want;
  GString         *out;
  gsize            out_sent;
  CfHttp1Exchange *exchange;
  GSocketAddress  *local;
  GSocketAddress  *remote;
  guint            keep_alive : 1;
  guint            dispatching : 1;
  guint            closed : 1;
  guint            end_after_flush : 1;
};

struct _CfHttp1Exchange
{
  CfHttpExchange  parent_instance;

  /* Weak: the connection owns its exchange. */
  Conn           *conn;
  GBytes         *body;
  GBytes         *response;
  guint           paused : 1;
  guint           sent : 1;
};

G_DEFINE_FINAL_TYPE (CfHttp1Exchange, cf_http1_exchange, CF_TYPE_HTTP_EXCHANGE)

static void conn_ready (gpointer data, GIOCondition revents, gboolean expired);
static void conn_close (Conn *conn);
static void conn_send_response (Conn *conn);
static void conn_flush (Conn *conn);

static void
conn_set_deadline (Conn *conn)
{
  guint seconds = _cf_http_server_get_header_timeout (conn->server->owner);

  cf_fd_source_set_deadline (conn->source, g_get_monotonic_time () + seconds * G_USEC_PER_SEC);
}

/* The exchange */

static Conn *
exchange_conn (CfHttpExchange *exchange)
{
  return ((CfHttp1Exchange *) exchange)->conn;
}

static GBytes *
http1_get_request_body (CfHttpExchange *exchange)
{
  return g_bytes_ref (((CfHttp1Exchange *) exchange)->body);
}

static GSocketAddress *
conn_address (Conn            *conn,
              GSocketAddress **address,
              gboolean         local)
{
  struct sockaddr_storage storage;
  socklen_t length = sizeof storage;
  int res;

  if (*address != NULL || conn->closed)
    return *address;
  res = local ? getsockname (conn->fd, (struct sockaddr *) &storage, &length)
              : getpeername (conn->fd, (struct sockaddr *) &storage, &length);
  if (res == 0)
    *address = g_socket_address_new_from_native (&storage, length);
  return *address;
}

static GSocketAddress *
http1_get_remote_address (CfHttpExchange *exchange)
{
  Conn *conn = exchange_conn (exchange);

  return conn ? conn_address (conn, &conn->remote, FALSE) : NULL;
}

static GSocketAddress *
http1_get_local_address (CfHttpExchange *exchange)
{
  Conn *conn = exchange_conn (exchange);

  return conn ? conn_address (conn, &conn->local, TRUE) : NULL;
}

static void
http1_set_response (CfHttpExchange *exchange,
                    guint           status,
                    GBytes         *body)
{
  CfHttp1Exchange *self = (CfHttp1Exchange *) exchange;

  g_clear_pointer (&self->response, g_bytes_unref);
  if (body != NULL)
    self->response = g_bytes_ref (body);
}

static void
http1_pause (CfHttpExchange *exchange)
{
  ((CfHttp1Exchange *) exchange)->paused = TRUE;
}

static void
http1_unpause (CfHttpExchange *exchange)
{
  CfHttp1Exchange *self = (CfHttp1Exchange *) exchange;
  Conn *conn = self->conn;

  self->paused = FALSE;
  /* While the handler runs, the response goes out when it returns. */
  if (conn != NULL && !conn->dispatching && conn->state == CONN_BUSY && !self->sent)
    conn_send_response (conn);
}

/* Status line, the response's headers and ours. */
static void
append_head (Conn           *conn,
             CfHttpExchange *exchange,
             guint           status,
             gboolean        chunked,
             gsize           length)
{
  CfHttp1Server *server = conn->server;
  SoupMessageHeaders *headers = cf_http_exchange_get_response_headers (exchange);
  SoupMessageHeadersIter iter;
  const char *name, *value;
  const char *phrase = cf_http_status_phrase (status);
  GPtrArray *fixed;
  const char *fixed_head = _cf_http_server_get_fixed_head (server->owner, &fixed);
  guint64 replaced = 0;
  gint64 second = g_get_real_time () / G_USEC_PER_SEC;
  GString *out = conn->out;

  if (second != server->date_second)
    {
      /* An HTTP-date is in English whatever the locale (the daemon sets
       * its own): not strftime()'s %a and %b. */
      static const char days[][4] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
      static const char months[][4] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                        "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
      time_t now = (time_t) second;
      struct tm tm;

      gmtime_r (&now, &tm);
      g_snprintf (server->date, sizeof server->date, "%s, %02d %s %04d %02d:%02d:%02d GMT",
                  days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
                  tm.tm_hour, tm.tm_min, tm.tm_sec);
      server->date_second = second;
    }

  g_string_append_len (out, "HTTP/1.1 ", 9);
  cf_json_append_int (out, status);
  g_string_append_c (out, ' ');
  g_string_append (out, phrase ? phrase : "Unknown");
  g_string_append_len (out, "\r\n", 2);
  g_string_append (out, "Date: ");
  g_string_append (out, server->date);
  g_string_append (out, "\r\nServer: " PACKAGE_NAME "/" PACKAGE_VERSION "\r\n");

  soup_message_headers_iter_init (&iter, headers);
  while (soup_message_headers_iter_next (&iter, &name, &value))
    {
      if (cf_http_name_equal (name, "Content-Length") ||
          cf_http_name_equal (name, "Transfer-Encoding"))
        continue;
      if (cf_http_name_equal (name, "Connection"))
        {
          if (soup_header_contains (value, "close"))
            conn->keep_alive = FALSE;
          continue;
        }
      for (guint i = 0; i + 1 < fixed->len; i += 2)
        if (cf_http_name_equal (name, g_ptr_array_index (fixed, i)))
          replaced |= G_GUINT64_CONSTANT (1) << (i / 2);
      g_string_append (out, name);
      g_string_append_len (out, ": ", 2);
      g_string_append (out, value);
      g_string_append_len (out, "\r\n", 2);
    }
  /* The server's fixed headers, but for those the response set itself. */
  if (replaced == 0)
    g_string_append (out, fixed_head);
  else
    for (guint i = 0; i + 1 < fixed->len; i += 2)
      if (!(replaced & (G_GUINT64_CONSTANT (1) << (i / 2))))
        g_string_append_printf (out, "%s: %s\r\n", (char *) g_ptr_array_index (fixed, i),
                                (char *) g_ptr_array_index (fixed, i + 1));

  if (chunked)
    g_string_append (out, "Transfer-Encoding: chunked\r\n");
  else if (status != SOUP_STATUS_NO_CONTENT && status != SOUP_STATUS_NOT_MODIFIED)
    {
      g_string_append_len (out, "Content-Length: ", 16);
      cf_json_append_int (out, (gint64) length);
      g_string_append_len (out, "\r\n", 2);
    }
  if (!conn->keep_alive)
    g_string_append (out, "Connection: close\r\n");
  g_string_append_len (out, "\r\n", 2);
}

static void
http1_begin_stream (CfHttpExchange *exchange)
{
  CfHttp1Exchange *self = (CfHttp1Exchange *) exchange;
  Conn *conn = self->conn;

  if (conn == NULL || self->sent)
    return;
  self->sent = TRUE;
  conn->state = CONN_STREAMING;
  append_head (conn, exchange, cf_http_exchange_get_status (exchange), TRUE, 0);
  conn_flush (conn);
}

static void
http1_write (CfHttpExchange *exchange,
             const char     *data,
             gsize           length)
{
  CfHttp1Exchange *self = (CfHttp1Exchange *) exchange;
  Conn *conn = self->conn;

  if (conn == NULL || conn->state != CONN_STREAMING || length == 0)
    return;
  g_string_append_printf (conn->out, "%" G_GSIZE_MODIFIER "x\r\n", length);
  g_string_append_len (conn->out, data, length);
  g_string_append_len (conn->out, "\r\n", 2);
  conn_flush (conn);
}

static void
http1_end_stream (CfHttpExchange *exchange)
{
  CfHttp1Exchange *self = (CfHttp1Exchange *) exchange;
  Conn *conn = self->conn;

  if (conn == NULL || conn->state != CONN_STREAMING || conn->end_after_flush)
    return;
  g_string_append_len (conn->out, "0\r\n\r\n", 5);
  conn->end_after_flush = TRUE;
  conn_flush (conn);
}

static void
cf_http1_exchange_finalize (GObject *object)
{
  CfHttp1Exchange *self = (CfHttp1Exchange *) object;

  g_clear_pointer (&self->body, g_bytes_unref);
  g_clear_pointer (&self->response, g_bytes_unref);

  G_OBJECT_CLASS (cf_http1_exchange_parent_class)->finalize (object);
}

static void
cf_http1_exchange_class_init (CfHttp1ExchangeClass *klass)
{
  CfHttpExchangeClass *exchange_class = CF_HTTP_EXCHANGE_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cf_http1_exchange_finalize;
  exchange_class->get_request_body = http1_get_request_body;
  exchange_class->get_remote_address = http1_get_remote_address;
  exchange_class->get_local_address = http1_get_local_address;
  exchange_class->set_response = http1_set_response;
  exchange_class->pause = http1_pause;
  exchange_class->unpause = http1_unpause;
  exchange_class->begin_stream = http1_begin_stream;
  exchange_class->write = http1_write;
  exchange_class->end_stream = http1_end_stream;
}

static void
cf_http1_exchange_init (CfHttp1Exchange *self)
{
}

/* Connections */

static void
conn_free (Conn *conn)
{
  g_clear_object (&conn->local);
  g_clear_object (&conn->remote);
  g_clear_pointer (&conn->in, g_byte_array_unref);
  g_string_free (conn->out, TRUE);
  g_free (conn);
}

/* The exchange is over: answered, or its connection gone. */
static void
conn_end_exchange (Conn *conn)
{
  g_autoptr(CfHttp1Exchange) exchange = g_steal_pointer (&conn->exchange);

  if (exchange == NULL)
    return;
  exchange->conn = NULL;
  _cf_http_server_count_active (conn->server->owner, -1);
  _cf_http_exchange_emit_finished (CF_HTTP_EXCHANGE (exchange));
}

static void
conn_detach (Conn *conn)
{
  conn->closed = TRUE;
  conn->server->conns = g_list_remove_link (conn->server->conns, &conn->link);
  g_clear_pointer (&conn->source, cf_fd_source_free);
}

static void
conn_close (Conn *conn)
{
  if (conn->closed)
    return;
  conn_detach (conn);
  close (conn->fd);
  conn->fd = -1;
  conn_end_exchange (conn);
  if (!conn->dispatching)
    conn_free (conn);
}

/* Our side is done: what the client still sends is read and dropped
 * until it closes too, or for a few seconds at most, so that the close
 * does not reset the connection under the response. */
static void
conn_drain (Conn *conn)
{
  shutdown (conn->fd, SHUT_WR);
  conn->state = CONN_DRAINING;
  cf_fd_source_set_events (conn->source, G_IO_IN);
  cf_fd_source_set_deadline (conn->source, g_get_monotonic_time () + DRAIN_S * G_USEC_PER_SEC);
}

static void
conn_wait_request (Conn *conn)
{
  /* An idle connection keeps no request, and no large response buffer. */
  g_clear_pointer (&conn->in, g_byte_array_unref);
  if (conn->out->allocated_len > KEPT_OUT)
    {
      g_string_free (conn->out, TRUE);
      conn->out = g_string_sized_new (1024);
    }
  conn->state = CONN_IDLE;
  conn->end_after_flush = FALSE;
  cf_fd_source_set_events (conn->source, G_IO_IN);
  conn_set_deadline (conn);
}

/* Everything queued is sent. */
static void
conn_sent (Conn *conn)
{
  g_string_truncate (conn->out, 0);
  conn->out_sent = 0;
  cf_fd_source_set_events (conn->source, 0);

  if (conn->state == CONN_STREAMING && !conn->end_after_flush)
    return;
  conn_end_exchange (conn);
  if (conn->closed)
    return;
  if (!conn->keep_alive)
    {
      conn_drain (conn);
      return;
    }
  conn_wait_request (conn);
}

static void
conn_flush (Conn *conn)
{
  while (conn->out_sent < conn->out->len)
    {
      gssize sent = send (conn->fd, conn->out->str + conn->out_sent,
                          conn->out->len - conn->out_sent, MSG_NOSIGNAL);

      if (sent < 0 && errno == EINTR)
        continue;
      if (sent < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        {
          cf_fd_source_set_events (conn->source, G_IO_OUT);
          if (conn->state != CONN_STREAMING)
            conn->state = CONN_WRITING;
          return;
        }
      if (sent < 0)
        {
          g_debug ("Closing a connection whose client is gone: %s", g_strerror (errno));
          conn_close (conn);
          return;
        }
      conn->out_sent += sent;
    }
  conn_sent (conn);
}

static void
conn_send_response (Conn *conn)
{
  CfHttp1Exchange *exchange = conn->exchange;
  gsize length = exchange->response ? g_bytes_get_size (exchange->response) : 0;
  guint status = cf_http_exchange_get_status (CF_HTTP_EXCHANGE (exchange));

  exchange->sent = TRUE;
  if (status == 0)
    {
      /* Nobody answered: as libsoup does, a 500. */
      status = SOUP_STATUS_INTERNAL_SERVER_ERROR;
      length = 0;
    }
  if (status == SOUP_STATUS_NO_CONTENT || status == SOUP_STATUS_NOT_MODIFIED)
    length = 0;
  conn->state = CONN_WRITING;
  append_head (conn, CF_HTTP_EXCHANGE (exchange), status, FALSE, length);
  if (length > 0)
    g_string_append_len (conn->out, g_bytes_get_data (exchange->response, NULL), length);
  conn_flush (conn);
}

/* Writes a whole error response where no exchange answers (a deadline,
 * a request it cannot read safely), and closes. */
static void
conn_refuse (Conn       *conn,
             const char *status_line,
             const char *detail)
{
  g_autofree char *response = _cf_http_raw_response (status_line, detail);

  (void) !send (conn->fd, response, strlen (response), MSG_NOSIGNAL);
  conn_drain (conn);
}

typedef struct {
  CfHttp1Server     *server;
  GSocketConnection *connection;
  char              *key;
} HandedOver;

static void
handed_over_free (gpointer data)
{
  HandedOver *entry = data;

  g_free (entry->key);
  g_free (entry);
}

static void
on_handed_over_gone (gpointer  data,
                     GObject  *where_the_object_was)
{
  HandedOver *entry = data;
  CfHttp1Server *self = entry->server;

  if (g_hash_table_lookup (self->handed_over, entry->key) == entry)
    g_hash_table_remove (self->handed_over, entry->key);
  g_hash_table_remove (self->handed_over_all, entry);
}

static void
remember_handed_over (CfHttp1Server     *self,
                      GSocketConnection *connection,
                      GSocketAddress    *remote)
{
  HandedOver *entry;

  if (remote == NULL)
    return;
  entry = g_new0 (HandedOver, 1);
  entry->server = self;
  entry->connection = connection;
  entry->key = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  g_object_weak_ref (G_OBJECT (connection), on_handed_over_gone, entry);
  g_hash_table_add (self->handed_over_all, entry);
  g_hash_table_replace (self->handed_over, entry->key, entry);
}

/**
 * _cf_http1_server_find_socket:
 * @self: a #CfHttp1Server
 * @remote: (nullable): a client's address
 *
 * Returns: (transfer none) (nullable): the socket of the connection from
 *   @remote that was handed to libsoup
 */
GSocket *
_cf_http1_server_find_socket (CfHttp1Server  *self,
                              GSocketAddress *remote)
{
  g_autofree char *key = NULL;
  HandedOver *entry;

  if (remote == NULL)
    return NULL;
  key = g_socket_connectable_to_string (G_SOCKET_CONNECTABLE (remote));
  entry = g_hash_table_lookup (self->handed_over, key);
  return entry ? g_socket_connection_get_socket (entry->connection) : NULL;
}

/* The connection is libsoup's from here on, untouched: nothing of it has
 * been consumed. */
static void
conn_hand_over (Conn *conn)
{
  CfHttp1Server *server = conn->server;
  g_autoptr(GError) error = NULL;
  g_autoptr(GSocket) socket = NULL;
  g_autoptr(GSocketConnection) connection = NULL;
  GSocketAddress *local = conn_address (conn, &conn->local, TRUE);
  GSocketAddress *remote = conn_address (conn, &conn->remote, FALSE);
  int fd = conn->fd;

  conn_detach (conn);
  conn->fd = -1;
  socket = g_socket_new_from_fd (fd, &error);
  if (socket == NULL)
    {
      g_warning ("Could not hand a connection over: %s", error->message);
      close (fd);
      conn_free (conn);
      return;
    }
  connection = g_socket_connection_factory_create_connection (socket);
  /* libsoup may serve a request already there before it returns. */
  remember_handed_over (server, connection, remote);
  if (!soup_server_accept_iostream (cf_http_server_get_soup_server (server->owner),
                                    G_IO_STREAM (connection), local, remote, &error))
    g_warning ("Could not hand a connection over: %s", error->message);
  conn_free (conn);
}

static gboolean
is_tchar (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
span_is (const char *data,
         const Span *span,
         const char *name)
{
  return span->name_length == strlen (name) &&
         g_ascii_strncasecmp (data + span->name, name, span->name_length) == 0;
}

#define HEAD_LIBSOUP (-1)
#define HEAD_BAD (-2)

/* Reads a peeked head. Returns the number of header fields of a request
 * to serve; HEAD_BAD, with @problem set, for a head that breaks RFC 9112
 * or whose body cannot be delimited safely (§6.3), which is answered 400
 * here, whoever it was for, so that nothing can be smuggled behind it;
 * or HEAD_LIBSOUP. */
static int
parse_head (Conn        *conn,
            const char  *data,
            gsize        head_length,
            Span        *spans,
            gsize       *target_end,
            guint64     *content_length,
            gboolean    *keep_alive,
            const char **problem)
{
  const char *end = data + head_length;
  const char *p = data, *method, *target, *query, *path_end;
  gboolean have_host = FALSE, have_length = FALSE, have_encoding = FALSE, chunked = FALSE;
  gboolean ours = TRUE, framing_ok = TRUE;
  int n = 0;

  *problem = "Bad Request: malformed request head";

  /* method SP request-target SP HTTP/1.x CRLF; another version is
   * libsoup's to refuse. */
  method = p;
  while (p < end && is_tchar (*p))
    p++;
  if (p == method || p >= end || *p != ' ')
    return HEAD_BAD;
  ours = p - method == 4 && memcmp (method, "POST", 4) == 0;
  target = ++p;
  while (p < end && *p > ' ' && *p < 0x7f)
    p++;
  if (p == target || end - p < 11 || memcmp (p, " HTTP/", 6) != 0)
    return HEAD_BAD;
  if (memcmp (p, " HTTP/1.", 8) != 0 || p[9] != '\r' || p[10] != '\n' ||
      (p[8] != '0' && p[8] != '1'))
    return HEAD_LIBSOUP;
  /* Origin form, nothing to decode, HTTP/1.1 */
  ours = ours && *target == '/' && memchr (target, '%', p - target) == NULL &&
         memchr (target, '#', p - target) == NULL && p[8] == '1';
  *target_end = p - data;
  query = memchr (target, '?', p - target);
  path_end = query ? query : p;
  p += 11;

  *keep_alive = TRUE;
  while (p < end - 2)
    {
      const char *name = p, *colon, *value, *line_end;

      /* A line folded onto the one before starts with a blank: no name. */
      while (p < end && is_tchar (*p))
        p++;
      if (p == name || p >= end || *p != ':')
        return HEAD_BAD;
      if (n == HEADERS_MAX)
        return HEAD_LIBSOUP;
      colon = p++;
      while (p < end && (*p == ' ' || *p == '\t'))
        p++;
      value = p;
      /* Visible ASCII, blanks, and obs-text, which only libsoup takes; no
       * other control byte, no CR or LF but the line's end. */
      for (; p < end && *p != '\r'; p++)
        {
          guchar c = *p;

          if (c >= 0x80)
            ours = FALSE;
          else if ((c < ' ' && c != '\t') || c == 0x7f)
            return HEAD_BAD;
        }
      if (end - p < 2 || p[1] != '\n')
        return HEAD_BAD;
      line_end = p;
      while (line_end > value && (line_end[-1] == ' ' || line_end[-1] == '\t'))
        line_end--;
      spans[n] = (Span) { name - data, colon - name, value - data, line_end - value };
      p += 2;

      if (span_is (data, &spans[n], "Content-Length"))
        {
          /* Digits only, at most 15 of them (no overflow); one length, or
           * the same one repeated */
          gboolean digits = value < line_end && line_end - value <= 15;
          guint64 length = 0;

          for (const char *d = value; digits && d < line_end; d++)
            {
              digits = g_ascii_isdigit (*d);
              length = length * 10 + (guint64) (*d - '0');
            }
          if (!digits || (have_length && length != *content_length))
            framing_ok = FALSE;
          *content_length = length;
          have_length = TRUE;
        }
      else if (span_is (data, &spans[n], "Transfer-Encoding"))
        {
          g_autofree char *codings = g_strndup (value, line_end - value);
          g_autofree char *last = NULL;
          const char *comma = strrchr (codings, ',');

          last = g_strstrip (g_strdup (comma ? comma + 1 : codings));
          chunked = g_ascii_strcasecmp (last, "chunked") == 0;
          have_encoding = TRUE;
        }
      else if (span_is (data, &spans[n], "Host"))
        {
          ours = ours && !have_host;
          have_host = TRUE;
        }
      else if (span_is (data, &spans[n], "Expect") || span_is (data, &spans[n], "Upgrade"))
        ours = FALSE;
      else if (span_is (data, &spans[n], "Connection"))
        {
          g_autofree char *tokens = g_strndup (value, line_end - value);

          if (soup_header_contains (tokens, "close"))
            *keep_alive = FALSE;
          if (soup_header_contains (tokens, "upgrade"))
            ours = FALSE;
        }
      n++;
    }
  if (p != end - 2)
    return HEAD_BAD;

  /* A chunked body must end with chunked, and a length beside it is an
   * attempt to have two parties read two different bodies. */
  *problem = "Bad Request: ambiguous Content-Length or chunking";
  if ((have_encoding && (!chunked || have_length)) || !framing_ok)
    return HEAD_BAD;

  if (!ours || !have_host || !have_length || have_encoding ||
      *content_length > cf_http_server_get_max_body (conn->server->owner) ||
      !_cf_http_server_takes (conn->server->owner, target, path_end - target))
    return HEAD_LIBSOUP;
  return n;
}

static void
conn_dispatch (Conn       *conn,
               const Span *spans,
               int         n_spans,
               gsize       target_end)
{
  char *data = (char *) conn->in->data;
  g_autoptr(SoupMessageHeaders) response = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  /* The header fields for the exchange, pointers and text in one block:
   * most requests never need them as SoupMessageHeaders. */
  const char **fields = g_malloc (2 * n_spans * sizeof (char *) + conn->head_length);
  char *head = (char *) (fields + 2 * n_spans);
  CfHttp1Exchange *exchange;
  char *query;

  /* The head is ours now: terminate its strings in place. */
  for (int i = 0; i < n_spans; i++)
    {
      data[spans[i].name + spans[i].name_length] = '\0';
      data[spans[i].value + spans[i].value_length] = '\0';
    }
  memcpy (head, data, conn->head_length);
  for (int i = 0; i < n_spans; i++)
    {
      fields[2 * i] = head + spans[i].name;
      fields[2 * i + 1] = head + spans[i].value;
    }
  data[target_end] = '\0';
  query = strchr (data + 5, '?');
  if (query != NULL)
    *query++ = '\0';

  exchange = g_object_new (CF_TYPE_HTTP1_EXCHANGE, NULL);
  exchange->conn = conn;
  exchange->body = g_bytes_new (data + conn->head_length, conn->want - conn->head_length);
  _cf_http_exchange_set_request_fields (CF_HTTP_EXCHANGE (exchange), SOUP_METHOD_POST, data + 5,
                                        query, fields, n_spans, response);
  conn->exchange = exchange;
  conn->state = CONN_BUSY;
  /* Readable now means the client hung up (or sent its next request). */
  cf_fd_source_set_events (conn->source, G_IO_IN);
  cf_fd_source_set_deadline (conn->source, 0);
  _cf_http_server_count_active (conn->server->owner, 1);

  conn->dispatching = TRUE;
  _cf_http_server_serve (conn->server->owner, CF_HTTP_EXCHANGE (exchange));
  conn->dispatching = FALSE;

  if (conn->closed)
    {
      conn_free (conn);
      return;
    }
  if (conn->exchange == exchange && !exchange->paused && !exchange->sent)
    conn_send_response (conn);
}

/* Reads what is left of the body: never past it, so that a pipelined
 * request stays in the socket for its turn. */
static gboolean
conn_read_body (Conn *conn)
{
  if (conn->in == NULL)
    conn->in = g_byte_array_sized_new (conn->want);
  while (conn->in->len < conn->want)
    {
      gsize have = conn->in->len;
      gssize got;

      g_byte_array_set_size (conn->in, conn->want);
      got = recv (conn->fd, conn->in->data + have, conn->want - have, 0);
      g_byte_array_set_size (conn->in, have + MAX (got, 0));
      if (got < 0 && errno == EINTR)
        continue;
      if (got < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return FALSE;
      if (got <= 0)
        {
          conn_close (conn);
          return FALSE;
        }
    }
  return TRUE;
}

static void
conn_read_request (Conn *conn)
{
  Span spans[HEADERS_MAX];
  gsize target_end = 0;
  guint64 content_length = 0;
  gboolean keep_alive = TRUE;
  const guint8 *terminator;
  const char *problem = NULL;
  gssize peeked;
  int n_spans;

  do
    peeked = recv (conn->fd, conn->server->scratch, HEAD_MAX, MSG_PEEK);
  while (peeked < 0 && errno == EINTR);
  if (peeked < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
    return;
  if (peeked <= 0)
    {
      conn_close (conn);
      return;
    }

  terminator = memmem (conn->server->scratch, peeked, "\r\n\r\n", 4);
  if (terminator == NULL)
    {
      conn_hand_over (conn);
      return;
    }
  conn->head_length = terminator + 4 - conn->server->scratch;
  n_spans = parse_head (conn, (const char *) conn->server->scratch, conn->head_length, spans,
                        &target_end, &content_length, &keep_alive, &problem);
  if (n_spans == HEAD_BAD)
    {
      g_info ("Refused a request: %s", problem);
      conn_refuse (conn, "400 Bad Request", problem);
      return;
    }
  if (n_spans < 0)
    {
      conn_hand_over (conn);
      return;
    }

  /* Take what was peeked of this request: the same bytes. */
  conn->want = conn->head_length + content_length;
  g_clear_pointer (&conn->in, g_byte_array_unref);
  conn->keep_alive = keep_alive;
  conn->state = CONN_BODY;
  if (conn_read_body (conn))
    conn_dispatch (conn, spans, n_spans, target_end);
  else if (!conn->closed)
    {
      /* The rest of the body comes later; the head is read again then. */
      cf_fd_source_set_events (conn->source, G_IO_IN);
      conn_set_deadline (conn);
    }
}

static void
conn_ready (gpointer     data,
            GIOCondition revents,
            gboolean     expired)
{
  Conn *conn = data;

  if (conn->state == CONN_DRAINING)
    {
      char scratch[4096];
      gssize got = expired ? 0 : recv (conn->fd, scratch, sizeof scratch, 0);

      if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
        conn_close (conn);
      return;
    }
  if (expired)
    {
      g_message ("Closing a connection that did not send its request in time");
      conn_refuse (conn, "408 Request Timeout",
                   "Request Timeout: the request was not sent in time");
      return;
    }

  switch (conn->state)
    {
    case CONN_IDLE:
      conn_read_request (conn);
      break;
    case CONN_BODY:
      if (conn_read_body (conn))
        {
          Span spans[HEADERS_MAX];
          gsize target_end = 0;
          guint64 content_length = 0;
          gboolean keep_alive = TRUE;
          const char *problem = NULL;
          int n_spans = parse_head (conn, (const char *) conn->in->data, conn->head_length,
                                    spans, &target_end, &content_length, &keep_alive, &problem);

          /* The head was taken once; it reads the same again. */
          g_assert (n_spans >= 0);
          conn_dispatch (conn, spans, n_spans, target_end);
        }
      break;
    case CONN_WRITING:
    case CONN_STREAMING:
      if (revents & (G_IO_ERR | G_IO_HUP))
        conn_close (conn);
      else
        conn_flush (conn);
      break;
    case CONN_BUSY:
    default:
      /* Not reading while the handler works, but a client that hangs up
       * (a reset, or the end of its stream) cancels its request, as
       * nginx's proxy does. A next request sent early stays in the socket
       * for its turn, unwatched till then. */
      if (revents & (G_IO_ERR | G_IO_HUP))
        conn_close (conn);
      else if (revents & G_IO_IN)
        {
          char byte;
          gssize got = recv (conn->fd, &byte, 1, MSG_PEEK);

          if (got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            conn_close (conn);
          else if (got > 0)
            cf_fd_source_set_events (conn->source, 0);
        }
      break;
    }
}

static void
on_accept (gpointer     data,
           GIOCondition revents,
           gboolean     expired)
{
  Listener *listener = data;
  CfHttp1Server *server = listener->server;
  int listen_fd = g_socket_get_fd (listener->socket);

  if (expired)
    {
      cf_fd_source_set_deadline (listener->source, 0);
      cf_fd_source_set_events (listener->source, G_IO_IN);
      return;
    }

  for (guint i = 0; i < ACCEPT_BATCH; i++)
    {
      int fd = accept4 (listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
      int one = 1;
      Conn *conn;

      if (fd < 0 && (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM))
        {
          /* The connection waits in the backlog; a listener that stayed
           * readable meanwhile would spin the main loop. */
          if (!listener->starved)
            g_message ("Cannot accept connections (%s): trying again every %d ms",
                       g_strerror (errno), ACCEPT_PAUSE_MS);
          listener->starved = TRUE;
          cf_fd_source_set_events (listener->source, 0);
          cf_fd_source_set_deadline (listener->source,
                                     g_get_monotonic_time () + ACCEPT_PAUSE_MS * 1000);
          return;
        }
      if (fd < 0)
        {
          if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
            g_debug ("accept: %s", g_strerror (errno));
          return;
        }
      listener->starved = FALSE;
      /* Responses go out in one send each; SSE events must not wait for
       * an acknowledgement. */
      setsockopt (fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);

      conn = g_new0 (Conn, 1);
      conn->server = server;
      conn->fd = fd;
      conn->link.data = conn;
      conn->out = g_string_sized_new (1024);
      conn->source = cf_fd_source_new (fd, "[cf-http1-server] connection", NULL, conn_ready, conn);
      server->conns = g_list_insert_before_link (server->conns, server->conns, &conn->link);
      conn_wait_request (conn);
    }
}

/* The server */

CfHttp1Server *
_cf_http1_server_new (CfHttpServer *owner)
{
  CfHttp1Server *self = g_new0 (CfHttp1Server, 1);

  self->owner = owner;
  self->listeners = g_ptr_array_new ();
  self->handed_over = g_hash_table_new (g_str_hash, g_str_equal);
  self->handed_over_all = g_hash_table_new_full (NULL, NULL, handed_over_free, NULL);
  return self;
}

static void
listener_free (Listener *listener)
{
  g_clear_pointer (&listener->source, cf_fd_source_free);
  g_socket_close (listener->socket, NULL);
  g_object_unref (listener->socket);
  g_free (listener);
}

void
_cf_http1_server_disconnect (CfHttp1Server *self)
{
  for (guint i = 0; i < self->listeners->len; i++)
    listener_free (g_ptr_array_index (self->listeners, i));
  g_ptr_array_set_size (self->listeners, 0);
}

void
_cf_http1_server_free (CfHttp1Server *self)
{
  GHashTableIter iter;
  HandedOver *entry;

  _cf_http1_server_disconnect (self);
  g_ptr_array_unref (self->listeners);
  while (self->conns != NULL)
    conn_close (self->conns->data);
  g_hash_table_iter_init (&iter, self->handed_over_all);
  while (g_hash_table_iter_next (&iter, (gpointer *) &entry, NULL))
    g_object_weak_unref (G_OBJECT (entry->connection), on_handed_over_gone, entry);
  g_hash_table_unref (self->handed_over);
  g_hash_table_unref (self->handed_over_all);
  g_free (self);
}

gboolean
_cf_http1_server_listen (CfHttp1Server   *self,
                         GSocketAddress  *address,
                         GError         **error)
{
  g_autoptr(GSocket) socket = NULL;
  Listener *listener;

  socket = g_socket_new (g_socket_address_get_family (address), G_SOCKET_TYPE_STREAM,
                         G_SOCKET_PROTOCOL_TCP, error);
  if (socket == NULL)
    return FALSE;
  g_socket_set_blocking (socket, FALSE);
  g_socket_set_listen_backlog (socket, LISTEN_BACKLOG);
  if (!g_socket_bind (socket, address, TRUE, error) || !g_socket_listen (socket, error))
    return FALSE;

  listener = g_new0 (Listener, 1);
  listener->server = self;
  listener->socket = g_steal_pointer (&socket);
  listener->source = cf_fd_source_new (g_socket_get_fd (listener->socket),
                                       "[cf-http1-server] listener", NULL, on_accept, listener);
  cf_fd_source_set_events (listener->source, G_IO_IN);
  g_ptr_array_add (self->listeners, listener);
  return TRUE;
}

/**
 * _cf_http1_server_get_address:
 *
 * Returns: (transfer full) (nullable): the first listener's address
 */
GSocketAddress *
_cf_http1_server_get_address (CfHttp1Server *self)
{
  Listener *listener;

  if (self->listeners->len == 0)
    return NULL;
  listener = g_ptr_array_index (self->listeners, 0);
  return g_socket_get_local_address (listener->socket, NULL);
}
