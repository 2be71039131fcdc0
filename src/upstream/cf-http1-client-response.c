/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http1-client"

#include "config.h"

#include <string.h>

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

/* Calls the head callback; returns FALSE when the request ended. */
static gboolean
deliver_head (CfHttp1Request     *request,
              guint               status,
              const char         *reason,
              SoupMessageHeaders *headers)
{
  gboolean go_on;

  request->busy++;
  go_on = request->callbacks.head (request, status, reason, headers, request->user_data);
  request->busy--;
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
  const char *data = (const char *) request->in->data + request->in_pos;
  gsize available = request->in->len - request->in_pos;
  gsize end = find_head_end (data, available);
  g_autoptr(SoupMessageHeaders) headers = NULL;
  g_autofree char *reason = NULL;
  SoupHTTPVersion version;
  SoupEncoding encoding;
  guint status;

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

  headers = soup_message_headers_new (SOUP_MESSAGE_HEADERS_RESPONSE);
  if (!soup_headers_parse_response (data, (int) end, headers, &version, &status, &reason))
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Could not parse the response's status "
                              "line and headers");
      return FALSE;
    }
  request->in_pos += end;

  /* An informational response precedes the real one. */
  if (status >= 100 && status < 200 && status != SOUP_STATUS_SWITCHING_PROTOCOLS)
    return TRUE;
  if (status < 200)
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Unexpected HTTP %u", status);
      return FALSE;
    }

  if (version == SOUP_HTTP_1_1)
    request->keep_alive = !soup_message_headers_header_contains (headers, "Connection",
                                                                 "close");
  else
    request->keep_alive = soup_message_headers_header_contains (headers, "Connection",
                                                                "keep-alive");

  encoding = soup_message_headers_get_encoding (headers);
  if (status == SOUP_STATUS_NO_CONTENT || status == SOUP_STATUS_NOT_MODIFIED)
    {
      request->state = STATE_LENGTH;
      request->remaining = 0;
    }
  else if (encoding == SOUP_ENCODING_CHUNKED)
    request->state = STATE_CHUNK_SIZE;
  else if (encoding == SOUP_ENCODING_CONTENT_LENGTH)
    {
      if (!parse_length (soup_message_headers_get_one (headers, "Content-Length"),
                         &request->remaining))
        {
          _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Invalid Content-Length");
          return FALSE;
        }
      request->state = STATE_LENGTH;
    }
  else if (encoding == SOUP_ENCODING_EOF)
    {
      request->state = STATE_UNTIL_CLOSE;
      request->keep_alive = FALSE;
    }
  else
    {
      _cf_http1_request_fail (request, CF_HTTP1_ERROR_HEAD, "Unsupported Transfer-Encoding");
      return FALSE;
    }

  if (!deliver_head (request, status, reason, headers))
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
