/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http1-client"

#include "config.h"

#include <string.h>

#include "cf-http-header.h"
#include "cf-http1-client-private.h"

#define READ_SIZE 65536
/* A chunk-size line (with its extensions) longer than this is refused. */
#define MAX_CHUNK_LINE 1024

/* Receiving */

/* Finds the end of the head (the blank line) in @data, or returns 0. */
static gsize
find_head_end (const char *data,
               gsize       length)
{
  for (gsize i = 0; i < length; i++)
    {
      if (data[i] != '\n')
        continue;
      if (i + 1 < length && data[i + 1] == '\n')
        return i + 2;
      if (i + 2 < length && data[i + 1] == '\r' && data[i + 2] == '\n')
        return i + 3;
    }
  return 0;
}

static gboolean
parse_length (const char *value,
              guint64    *out)
{
  guint64 n = 0;

  if (value == NULL || *value == '\0')
    return FALSE;
  for (const char *p = value; *p; p++)
    {
      if (!g_ascii_isdigit (*p) || n > (G_MAXUINT64 - 9) / 10)
        return FALSE;
      n = n * 10 + (guint64) (*p - '0');
    }
  *out = n;
  return TRUE;
}

/* A response head, parsed in place: the fields point into the input
 * buffer, their ends overwritten with NULs. */
#define MAX_FIELDS 128

struct _CfHttp1Head
{
  guint               minor_version;
  guint               status;
  const char         *reason;
  const char         *fields[2 * MAX_FIELDS];
  guint               n_fields;
  SoupMessageHeaders *headers;
};

/**
 * cf_http1_head_get_header:
 * @head: a response head, during the head callback
 * @name: a header name
 *
 * Returns: (nullable): the value of the header @name (compared without
 *   case), the last one when it is repeated, as libsoup answers
 */
const char *
cf_http1_head_get_header (CfHttp1Head *head,
                          const char  *name)
{
  g_return_val_if_fail (head != NULL && name != NULL, NULL);

  return cf_http_fields_get (head->fields, head->n_fields, name);
}

/**
 * cf_http1_head_get_headers:
 * @head: a response head, during the head callback
 *
 * Returns: (transfer none): all the head's headers, made on the first
 *   call; valid during the callback
 */
SoupMessageHeaders *
cf_http1_head_get_headers (CfHttp1Head *head)
{
  g_return_val_if_fail (head != NULL, NULL);

  if (head->headers == NULL)
    head->headers = cf_http_fields_to_headers (head->fields, head->n_fields,
                                               SOUP_MESSAGE_HEADERS_RESPONSE);
  return head->headers;
}

static gboolean
is_token_char (guchar c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

/* Where the line that starts at @p ends (its LF), before @end. */
static char *
line_end (char       *p,
          const char *end)
{
  return memchr (p, '\n', end - p);
}

/* Cuts @value (up to @stop) out of its line: skips the whitespace at both
 * ends and terminates it; FALSE if it holds a control character other
 * than tab (a CR is one: only CRLF ends a line). */
static gboolean
take_value (char        *value,
            char        *stop,
            const char **out)
{
  while (value < stop && (*value == ' ' || *value == '\t'))
    value++;
  while (stop > value && (stop[-1] == ' ' || stop[-1] == '\t'))
    stop--;
  for (const guchar *p = (const guchar *) value; p < (const guchar *) stop; p++)
    if ((*p < 0x20 && *p != '\t') || *p == 0x7f)
      return FALSE;
  *stop = '\0';
  *out = value;
  return TRUE;
}

/* Parses the status line and header fields of @data (@length bytes, up to
 * and with the blank line) into @head, as RFC 9112 has them: HTTP/1.0 or
 * 1.1, a three-digit status, field names that are tokens with no space
 * before the colon. An obsolete line folding joins its line to the field
 * before, with spaces (9112, 5.2). */
static gboolean
parse_response_head (char        *data,
                     gsize        length,
                     CfHttp1Head *head)
{
  const char *end = data + length;
  char *p = data;
  char *eol = line_end (p, end);
  char *stop;

  /* HTTP/1.x SP 3DIGIT [SP reason] */
  if (eol == NULL || eol - p < 12 || memcmp (p, "HTTP/1.", 7) != 0 ||
      (p[7] != '0' && p[7] != '1') || p[8] != ' ' ||
      !g_ascii_isdigit (p[9]) || !g_ascii_isdigit (p[10]) || !g_ascii_isdigit (p[11]) ||
      (p[12] != ' ' && p[12] != '\r' && p[12] != '\n'))
    return FALSE;
  head->minor_version = p[7] - '0';
  head->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
  stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
  if (p + 12 > stop)
    return FALSE;
  if (!take_value (p + 12, stop, &head->reason))
    return FALSE;
  p = eol + 1;

  for (;;)
    {
      char *name = p, *colon;

      eol = line_end (p, end);
      if (eol == NULL)
        return FALSE;
      stop = eol > p && eol[-1] == '\r' ? eol - 1 : eol;
      if (stop == p)
        return eol + 1 == end;

      if (*p == ' ' || *p == '\t')
        {
          /* obs-fold: the previous value goes on to the end of this line */
          char *value;

          if (head->n_fields == 0)
            return FALSE;
          value = (char *) head->fields[2 * head->n_fields - 1];
          for (char *q = value + strlen (value); q < p; q++)
            *q = ' ';
          if (!take_value (value, stop, &head->fields[2 * head->n_fields - 1]))
            return FALSE;
          p = eol + 1;
          continue;
        }

      for (colon = p; colon < stop && is_token_char (*colon); colon++)
        ;
      if (colon == p || colon == stop || *colon != ':' || head->n_fields == MAX_FIELDS)
        return FALSE;
      *colon = '\0';
      head->fields[2 * head->n_fields] = name;
      if (!take_value (colon + 1, stop, &head->fields[2 * head->n_fields + 1]))
        return FALSE;
      head->n_fields++;
      p = eol + 1;
    }
}

/* The body's framing, from the head (RFC 9112, 6.3): FALSE, with
 * @out_problem, when it cannot be read. */
static gboolean
frame_body (CfHttp1Request  *request,
            CfHttp1Head     *head,
            const char     **out_problem)
{
  const char *encoding = NULL;
  const char *length = NULL;

  for (guint i = 0; i < head->n_fields; i++)
    {
      const char *name = head->fields[2 * i], *value = head->fields[2 * i + 1];

      if (cf_http_name_equal (name, "Transfer-Encoding"))
        {
          /* Only chunked is understood; two of them are one list. */
          if (encoding != NULL || g_ascii_strcasecmp (value, "chunked") != 0)
            {
              *out_problem = "Unsupported Transfer-Encoding";
              return FALSE;
            }
          encoding = value;
        }
      else if (cf_http_name_equal (name, "Content-Length"))
        {
          if (length != NULL && strcmp (length, value) != 0)
            {
              *out_problem = "Invalid Content-Length";
              return FALSE;
            }
          length = value;
        }
    }

  if (head->status == SOUP_STATUS_NO_CONTENT || head->status == SOUP_STATUS_NOT_MODIFIED)
    {
      request->state = STATE_LENGTH;
      request->remaining = 0;
    }
  else if (encoding != NULL)
    request->state = STATE_CHUNK_SIZE;
  else if (length != NULL)
    {
      if (!parse_length (length, &request->remaining))
        {
          *out_problem = "Invalid Content-Length";
          return FALSE;
        }
      request->state = STATE_LENGTH;
    }
  else
    {
      request->state = STATE_UNTIL_CLOSE;
      request->keep_alive = FALSE;
    }
  return TRUE;
}

/* Calls the head callback; returns FALSE when the request ended. */
static gboolean
deliver_head (CfHttp1Request *request,
              CfHttp1Head    *head)
{
  gboolean go_on;

  request->busy++;
  go_on = request->callbacks.head (request, head->status, head->reason, head,
                                   request->user_data);
  request->busy--;
  g_clear_pointer (&head->headers, soup_message_headers_unref);
  if (request->ended)
    return FALSE;
  if (!go_on)
    {
      request->stopped = TRUE;
      _cf_http1_request_end (request, FALSE);
      return FALSE;
    }
  return TRUE;
}

/* Parses a head at the start of the unread input; returns FALSE when it
 * is incomplete or the request ended. */
static gboolean
parse_head (CfHttp1Request *request)
{
  char *data = (char *) request->in->data + request->in_pos;
  gsize available = request->in->len - request->in_pos;
  gsize end = find_head_end (data, available);
  CfHttp1Head head;
  const char *connection;
  const char *problem = NULL;

  if (end == 0)
    {
      if (available > request->client->max_header)
        _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "The response's headers exceed %"
                                G_GSIZE_FORMAT " bytes", request->client->max_header);
      return FALSE;
    }
  if (end > request->client->max_header)
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "The response's headers exceed %"
                              G_GSIZE_FORMAT " bytes", request->client->max_header);
      return FALSE;
    }

  head.n_fields = 0;
  head.headers = NULL;
  if (!parse_response_head (data, end, &head))
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Could not parse the response's status "
                              "line and headers");
      return FALSE;
    }
  request->in_pos += end;

  /* An informational response precedes the real one. */
  if (head.status >= 100 && head.status < 200 && head.status != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return TRUE;
  if (head.status < 200)
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Unexpected HTTP %u", head.status);
      return FALSE;
    }

  connection = cf_http1_head_get_header (&head, "Connection");
  if (head.minor_version == 1)
    request->keep_alive = connection == NULL || !soup_header_contains (connection, "close");
  else
    request->keep_alive = connection != NULL && soup_header_contains (connection, "keep-alive");

  if (!frame_body (request, &head, &problem))
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "%s", problem);
      return FALSE;
    }

  if (!deliver_head (request, &head))
    return FALSE;
  if (request->state == STATE_LENGTH && request->max_body > 0 &&
      request->remaining > request->max_body)
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_TOO_LARGE, "The response's body exceeds %"
                              G_GSIZE_FORMAT " bytes", request->max_body);
      return FALSE;
    }
  return TRUE;
}

/* Passes body bytes on; returns FALSE when the request ended. After the
 * caller stopped, the rest is read only to find the body's end. */
static gboolean
deliver_body (CfHttp1Request *request,
              const char     *data,
              gsize           length)
{
  gboolean go_on;

  if (length == 0 || request->stopped)
    return TRUE;
  request->body_total += length;
  if (request->max_body > 0 && request->body_total > request->max_body)
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_TOO_LARGE, "The response's body exceeds %"
                              G_GSIZE_FORMAT " bytes", request->max_body);
      return FALSE;
    }
  request->busy++;
  go_on = request->callbacks.body (request, data, length, request->user_data);
  request->busy--;
  if (request->ended)
    return FALSE;
  if (!go_on)
    request->stopped = TRUE;
  return TRUE;
}

/* Reads one line of the chunked coding at the unread input: returns its
 * length without the line end, -1 when incomplete, -2 when too long. */
static gssize
take_line (CfHttp1Request *request,
           const char    **out_line)
{
  const char *data = (const char *) request->in->data + request->in_pos;
  gsize available = request->in->len - request->in_pos;
  const char *nl = memchr (data, '\n', MIN (available, MAX_CHUNK_LINE + 2));
  gsize length;

  if (nl == NULL)
    return available > MAX_CHUNK_LINE ? -2 : -1;
  length = nl - data;
  request->in_pos += length + 1;
  if (length > 0 && data[length - 1] == '\r')
    length--;
  *out_line = data;
  return length;
}

static gboolean
parse_chunk_size (const char *line,
                  gsize       length,
                  guint64    *out)
{
  guint64 n = 0;
  gsize i;

  for (i = 0; i < length && g_ascii_isxdigit (line[i]); i++)
    {
      if (i >= 15)
        return FALSE;
      n = n * 16 + (guint64) g_ascii_xdigit_value (line[i]);
    }
  if (i == 0)
    return FALSE;
  /* Only extensions may follow: ";name=value", optionally after blanks. */
  while (i < length && (line[i] == ' ' || line[i] == '\t'))
    i++;
  if (i < length && line[i] != ';')
    return FALSE;
  for (; i < length; i++)
    if ((guchar) line[i] < 0x20 && line[i] != '\t')
      return FALSE;
  *out = n;
  return TRUE;
}

/* The body's end: the request is done, its connection reusable. */
static void
body_complete (CfHttp1Request *request)
{
  request->state = STATE_DONE;
  if (request->stopped)
    _cf_http1_request_end (request, request->keep_alive);
  else
    _cf_http1_request_done (request, NULL);
}

/* Consumes what the input holds; returns FALSE when the request ended. */
static gboolean
process_input (CfHttp1Request *request)
{
  for (;;)
    {
      gsize available = request->in->len - request->in_pos;
      const char *data = (const char *) request->in->data + request->in_pos;
      const char *line = NULL;
      gssize length;

      switch (request->state)
        {
        case STATE_HEAD:
          if (available == 0)
            return TRUE;
          if (!parse_head (request))
            return !request->ended;
          break;

        case STATE_LENGTH:
          {
            gsize n = (gsize) MIN ((guint64) available, request->remaining);

            request->in_pos += n;
            request->remaining -= n;
            if (!deliver_body (request, data, n))
              return FALSE;
            if (request->remaining == 0)
              {
                body_complete (request);
                return FALSE;
              }
            return TRUE;
          }

        case STATE_CHUNK_SIZE:
          length = take_line (request, &line);
          if (length == -1)
            return TRUE;
          if (length == -2 || !parse_chunk_size (line, length, &request->remaining))
            {
              _cf_http1_request_fail (request, CF_HTTP1_ERROR_BODY, "Invalid chunk size line");
              return FALSE;
            }
          if (request->max_body > 0 && request->body_total + request->remaining >
              request->max_body && !request->stopped)
            {
              _cf_http1_request_fail (request, CF_HTTP1_ERROR_TOO_LARGE,
                                      "The response's body exceeds %" G_GSIZE_FORMAT " bytes",
                                      request->max_body);
              return FALSE;
            }
          request->state = request->remaining == 0 ? STATE_TRAILER : STATE_CHUNK_DATA;
          break;

        case STATE_CHUNK_DATA:
          {
            gsize n = (gsize) MIN ((guint64) available, request->remaining);

            if (n == 0)
              return TRUE;
            request->in_pos += n;
            request->remaining -= n;
            if (!deliver_body (request, data, n))
              return FALSE;
            if (request->remaining == 0)
              request->state = STATE_CHUNK_END;
            break;
          }

        case STATE_CHUNK_END:
          length = take_line (request, &line);
          if (length == -1 && available < 2)
            return TRUE;
          if (length != 0)
            {
              _cf_http1_request_fail (request, CF_HTTP1_ERROR_BODY,
                                      "A chunk does not end with CRLF");
              return FALSE;
            }
          request->state = STATE_CHUNK_SIZE;
          break;

        case STATE_TRAILER:
          length = take_line (request, &line);
          if (length == -1)
            return TRUE;
          if (length == -2)
            {
              _cf_http1_request_fail (request, CF_HTTP1_ERROR_BODY, "A trailer line is too long");
              return FALSE;
            }
          if (length == 0)
            {
              body_complete (request);
              return FALSE;
            }
          break;

        case STATE_UNTIL_CLOSE:
          request->in_pos += available;
          if (!deliver_body (request, data, available))
            return FALSE;
          return TRUE;

        case STATE_CONNECTING:
        case STATE_SENDING:
        case STATE_DONE:
        default:
          return TRUE;
        }
    }
}

/* The connection's end before the response's. */
static void
on_eof (CfHttp1Request *request)
{
  if (request->state == STATE_UNTIL_CLOSE)
    {
      request->keep_alive = FALSE;
      body_complete (request);
    }
  else if (request->state == STATE_HEAD || request->state == STATE_SENDING)
    {
      if (!_cf_http1_retry_if_stale (request))
        _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "The connection closed before the "
                                "response");
    }
  else if (request->stopped)
    _cf_http1_request_end (request, FALSE);
  else
    _cf_http1_request_fail (request, CF_HTTP1_ERROR_BODY, "The connection closed before the end of "
                            "the response");
}

void
_cf_http1_receive_some (CfHttp1Request *request)
{
  g_autoptr(GError) error = NULL;
  GByteArray *in = request->in;
  gssize got;

  /* What was consumed goes; the rest moves to the front. */
  if (request->in_pos > 0)
    {
      g_byte_array_remove_range (in, 0, request->in_pos);
      request->in_pos = 0;
    }
  if (request->client->scratch == NULL)
    request->client->scratch = g_malloc (READ_SIZE);
  got = g_socket_receive (request->conn->socket, (char *) request->client->scratch, READ_SIZE,
                          NULL, &error);
  if (got > 0)
    g_byte_array_append (in, request->client->scratch, got);

  if (got < 0 && g_error_matches (error, G_IO_ERROR, G_IO_ERROR_WOULD_BLOCK))
    return;
  if (got < 0)
    {
      if (request->state == STATE_HEAD && _cf_http1_retry_if_stale (request))
        return;
      _cf_http1_request_fail (request, request->state == STATE_HEAD ? CF_HTTP1_ERROR_HEAD :
                              CF_HTTP1_ERROR_BODY, "Reading the response failed: %s",
                              error->message);
      return;
    }
  if (got == 0)
    {
      on_eof (request);
      return;
    }
  request->got_response_bytes = TRUE;
  /* A caller that stopped reading does not wait for the rest: unless the
   * body ended within what arrived, the connection is closed. */
  if (process_input (request) && request->stopped)
    _cf_http1_request_end (request, FALSE);
}
