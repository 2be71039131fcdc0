/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-http"

#include "config.h"

#include <string.h>

#include "cf-http-header.h"
#include "cf-json.h"
#include "cf-mcp-param-headers.h"
#include "cf-sse-parser.h"
#include "cf-upstream-http-private.h"

/**
 * CfUpstreamHttp:
 *
 * The client side of Streamable HTTP: one POST per message, answered
 * with JSON or with an SSE stream of the request's own messages, read
 * as it arrives. The era shows in the headers: a 2026-07-28 request
 * mirrors its method and name into Mcp-Method and Mcp-Name; a legacy one
 * carries the session the upstream gave at `initialize`, and after the
 * handshake a GET stream receives what the upstream sends unasked.
 *
 * A legacy request's stream that ends before its response, after an
 * event with an id, is resumed as the 2025-11-25 revision asks
 * (transports, "Sending Messages to the Server" and "Resumability and
 * Redelivery"): after the `retry` delay the stream last gave, a GET with
 * `Last-Event-ID` continues it. A 2026-07-28 stream is not resumable: its
 * end is the request's end.
 */

/* After the response, the rest of a stream is read for this long, so
 * that its connection can serve the next request. */
#define DRAIN_MS 1000
/* A request's stream is resumed at most this many times in a row without
 * a message arriving: an upstream that only primes and hangs up is not
 * polled until the timeout. */
#define MAX_RESUMES 3
/* How long requests wait for the session's GET stream to open. */
#define HOLD_MS 2000
/* What an MCP POST accepts back */
#define MCP_ACCEPT "application/json, text/event-stream"


G_DEFINE_FINAL_TYPE (CfUpstreamHttp, cf_upstream_http, CF_TYPE_UPSTREAM_TRANSPORT)

/* A stream being read to its end, bounded in time */

typedef struct {
  GInputStream *stream;
  GCancellable *cancellable;
  guint         timeout_id;
} Drain;

static void
drain_free (Drain *drain)
{
  g_clear_handle_id (&drain->timeout_id, g_source_remove);
  g_input_stream_close_async (drain->stream, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_object_unref (drain->stream);
  g_object_unref (drain->cancellable);
  g_free (drain);
}

static gboolean
on_drain_timeout (gpointer user_data)
{
  Drain *drain = user_data;

  drain->timeout_id = 0;
  g_cancellable_cancel (drain->cancellable);
  return G_SOURCE_REMOVE;
}

static void
on_drained (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  Drain *drain = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      drain_free (drain);
      return;
    }
  g_input_stream_read_bytes_async (drain->stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   drain->cancellable, on_drained, drain);
}

void
_cf_upstream_http_drain_and_close (GInputStream *stream)
{
  Drain *drain = g_new0 (Drain, 1);

  drain->stream = g_object_ref (stream);
  drain->cancellable = g_cancellable_new ();
  drain->timeout_id = g_timeout_add (DRAIN_MS, on_drain_timeout, drain);
  g_input_stream_read_bytes_async (stream, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   drain->cancellable, on_drained, drain);
}

/* Resuming streams */

/**
 * _cf_upstream_http_is_priming:
 *
 * Whether an event's data is blank: the event that primes a stream for
 * resumption (an id and an empty data line) carries no message.
 */
gboolean
_cf_upstream_http_is_priming (const char *data,
                              gsize       length)
{
  for (gsize i = 0; i < length; i++)
    if (!g_ascii_isspace (data[i]))
      return FALSE;
  return TRUE;
}

/**
 * _cf_upstream_http_can_resume_from:
 *
 * Whether a stream that set @last_event_id can be resumed: an empty id
 * is a reset (nothing to send), and one with control characters cannot
 * travel in a header.
 */
gboolean
_cf_upstream_http_can_resume_from (const char *last_event_id)
{
  if (last_event_id == NULL || *last_event_id == '\0')
    return FALSE;
  for (const char *p = last_event_id; *p; p++)
    if (((guchar) *p < 0x20 && *p != '\t') || *p == 0x7F)
      return FALSE;
  return TRUE;
}

/**
 * _cf_upstream_http_call_later:
 * @delay_ms: how long to wait
 * @cancellable: cuts the wait short
 * @func: called once, after @delay_ms or as soon as @cancellable is
 *   cancelled (it checks which); it owns @data
 * @data: what @func gets
 *
 * Waits for a stream's `retry` delay without holding anything past a
 * cancellation.
 */
void
_cf_upstream_http_call_later (gint64       delay_ms,
                              GCancellable *cancellable,
                              GSourceFunc   func,
                              gpointer      data)
{
  g_autoptr(GSource) timer = g_timeout_source_new ((guint) CLAMP (delay_ms, 0, G_MAXUINT));
  g_autoptr(GSource) cancelled = g_cancellable_source_new (cancellable);

  /* A ready child dispatches its parent: the timer fires early. */
  g_source_set_dummy_callback (cancelled);
  g_source_add_child_source (timer, cancelled);
  g_source_set_callback (timer, func, data, NULL);
  g_source_attach (timer, g_main_context_get_thread_default ());
}

/* Headers */

/* Whether @value can go in a header as it is (RFC 9110 field value, no
 * edge whitespace, not mistakable for the sentinel form). */
static const char *
name_member (const char *method)
{
  if (g_strcmp0 (method, "tools/call") == 0 || g_strcmp0 (method, "prompts/get") == 0)
    return "name";
  if (g_strcmp0 (method, "resources/read") == 0)
    return "uri";
  return NULL;
}

/* Where a request's headers go: a libsoup message's headers, or the
 * header lines of the lean client. */
typedef struct {
  SoupMessageHeaders *headers;
  GString            *lines;
} HeaderSink;

static void
sink_add (const HeaderSink *sink,
          const char       *name,
          const char       *value)
{
  if (sink->headers != NULL)
    soup_message_headers_replace (sink->headers, name, value);
  else if (!cf_http1_append_header (sink->lines, name, value))
    g_debug ("Left out the header %s: its value cannot go in a header", name);
}

static void
add_param_header (const char *header,
                  const char *value,
                  gpointer    user_data)
{
  sink_add (user_data, header, value);
}

/* Whether the gateway sets the header @name itself on an MCP request: a
 * configured header of that name is not sent. */
static gboolean
is_own_header (const char *name)
{
  return g_ascii_strcasecmp (name, "Accept") == 0 ||
         g_ascii_strcasecmp (name, "MCP-Protocol-Version") == 0 ||
         g_ascii_strcasecmp (name, "Mcp-Method") == 0 ||
         g_ascii_strcasecmp (name, "Mcp-Name") == 0 ||
         g_ascii_strcasecmp (name, "Mcp-Session-Id") == 0 ||
         g_ascii_strncasecmp (name, "Mcp-Param-", 10) == 0;
}

/* What an outgoing message's headers are made of. */
typedef struct {
  const char *method;
  JsonObject *params;
  /* a tools/call's arguments as text, when they are not in @params */
  GBytes     *arguments;
  /* the version the message's own `_meta` names */
  const char *version;
} Outgoing;

/* Mcp-Method, Mcp-Name and, for a tools/call of a tool whose schema
 * marks arguments with x-mcp-header, their Mcp-Param-* mirrors. */
static void
add_modern_headers (CfUpstreamHttp   *self,
                    const HeaderSink *sink,
                    const Outgoing   *outgoing)
{
  const char *method = outgoing->method;
  JsonObject *params = outgoing->params;
  const char *member = name_member (method);
  const char *name = member ? cf_json_object_get_string (params, member) : NULL;
  CfMcpParamHeaders *mirrored;

  sink_add (sink, "Mcp-Method", method);
  if (name == NULL)
    return;

  {
    g_autofree char *value = cf_mcp_encode_header_value (name);

    sink_add (sink, "Mcp-Name", value);
  }
  mirrored = self->param_headers != NULL && g_str_equal (method, "tools/call")
             ? g_hash_table_lookup (self->param_headers, name) : NULL;
  if (mirrored != NULL)
    {
      g_autoptr(JsonNode) parsed = NULL;
      JsonObject *arguments = cf_json_object_get_object (params, "arguments");

      /* Text passed through is parsed for the few tools that ask. */
      if (arguments == NULL && outgoing->arguments != NULL)
        {
          gsize length;
          const char *text = g_bytes_get_data (outgoing->arguments, &length);

          parsed = cf_json_parse (text, length, NULL);
          arguments = cf_json_node_is_object (parsed) ? json_node_get_object (parsed) : NULL;
        }
      cf_mcp_param_headers_foreach (mirrored, arguments, add_param_header, (gpointer) sink);
    }
}

static Outgoing
outgoing_call (CfUpstreamCall *call)
{
  return (Outgoing) { call->method, call->params, call->arguments, call->version };
}

static Outgoing
outgoing_message (JsonNode *message)
{
  JsonObject *object = json_node_get_object (message);
  JsonObject *params = cf_json_object_get_object (object, "params");

  return (Outgoing) {
    cf_json_object_get_string (object, "method"),
    params,
    NULL,
    cf_json_object_get_string (cf_json_object_get_object (params, "_meta"),
                               "io.modelcontextprotocol/protocolVersion"),
  };
}

/* Whether a message goes out as a 2026-07-28 one: the handshake's probe
 * (which names its version), or anything once that era is found. */
static gboolean
is_modern (CfUpstreamHttp *self,
           const char     *own_version)
{
  CfUpstreamTransport *transport = CF_UPSTREAM_TRANSPORT (self);

  return own_version != NULL ||
         (cf_upstream_transport_get_version (transport) != NULL &&
          cf_upstream_transport_get_era (transport) == CF_MCP_ERA_MODERN);
}

/* Returns whether the message carries the session id. */
static gboolean
add_mcp_headers (CfUpstreamHttp   *self,
                 const HeaderSink *sink,
                 const Outgoing   *outgoing)
{
  CfUpstreamTransport *transport = CF_UPSTREAM_TRANSPORT (self);
  const char *method = outgoing->method;
  const char *version = outgoing->version;
  gboolean modern = is_modern (self, version);

  if (version == NULL)
    version = cf_upstream_transport_get_version (transport);
  if (version != NULL)
    sink_add (sink, "MCP-Protocol-Version", version);
  if (modern && method != NULL)
    add_modern_headers (self, sink, outgoing);
  if (!modern && self->session_id != NULL)
    {
      sink_add (sink, "Mcp-Session-Id", self->session_id);
      return TRUE;
    }
  return FALSE;
}

SoupMessage *
_cf_upstream_http_new_message (CfUpstreamHttp *self,
                               const char     *method)
{
  SoupMessage *msg = soup_message_new_from_uri (method, self->uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  GHashTableIter iter;
  gpointer name, value;

  /* libsoup sends a POST on an idle pooled connection only when it is
   * marked idempotent; otherwise every MCP call would open a new TCP
   * connection. The cost: a request on a pooled connection that dies
   * before any answer may be sent again. */
  soup_message_add_flags (msg, SOUP_MESSAGE_IDEMPOTENT);

  if (self->headers != NULL)
    {
      g_hash_table_iter_init (&iter, self->headers);
      while (g_hash_table_iter_next (&iter, &name, &value))
        if (!is_own_header (name))
          soup_message_headers_replace (headers, name, value);
    }
  return msg;
}

/* The header lines every lean request carries: the session's
 * User-Agent, the configured headers (the gateway's own MCP headers and
 * those the lean client writes left out) and Accept. Made once: they do
 * not change. */
static const char *
lean_fixed_lines (CfUpstreamHttp *self)
{
  g_autofree char *user_agent = NULL;
  GHashTableIter iter;
  gpointer name, value;

  if (self->lean_fixed != NULL)
    return self->lean_fixed;

  {
    GString *lines = g_string_new (NULL);
    gboolean own_agent = FALSE;

    if (self->headers != NULL)
      {
        g_hash_table_iter_init (&iter, self->headers);
        while (g_hash_table_iter_next (&iter, &name, &value))
          {
            if (is_own_header (name) || cf_http1_client_writes_header (name))
              continue;
            own_agent = own_agent || g_ascii_strcasecmp (name, "User-Agent") == 0;
            if (!cf_http1_append_header (lines, name, value))
              g_message ("The configured header %s of %s cannot be sent: its value holds "
                         "a line break or another control character", (char *) name, self->url);
          }
      }
    g_object_get (self->session, "user-agent", &user_agent, NULL);
    if (!own_agent && user_agent != NULL && *user_agent != '\0')
      cf_http1_append_header (lines, "User-Agent", user_agent);
    cf_http1_append_header (lines, "Accept", MCP_ACCEPT);
    self->lean_fixed = g_string_free (lines, FALSE);
  }
  return self->lean_fixed;
}

/**
 * _cf_upstream_http_lean_header_lines:
 * @call: the request the POST carries
 * @out_with_session: (out): whether they carry the session id
 *
 * The header lines of a lean POST of @call, but for its body's
 * Content-Type: what new_post() puts in a libsoup message's headers.
 *
 * Returns: (transfer full): the lines
 */
GString *
_cf_upstream_http_lean_header_lines (CfUpstreamHttp *self,
                                     CfUpstreamCall *call,
                                     gboolean       *out_with_session)
{
  Outgoing outgoing = outgoing_call (call);
  HeaderSink sink = { NULL, g_string_sized_new (512) };

  g_string_append (sink.lines, lean_fixed_lines (self));
  *out_with_session = add_mcp_headers (self, &sink, &outgoing);
  return sink.lines;
}

static SoupMessage *
new_post (CfUpstreamHttp *self,
          const Outgoing *outgoing,
          GBytes         *body,
          gboolean       *out_with_session)
{
  SoupMessage *msg = _cf_upstream_http_new_message (self, SOUP_METHOD_POST);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  HeaderSink sink = { headers, NULL };

  soup_message_headers_replace (headers, "Accept", MCP_ACCEPT);
  *out_with_session = add_mcp_headers (self, &sink, outgoing);
  soup_message_set_request_body_from_bytes (msg, "application/json", body);
  return msg;
}

/**
 * _cf_upstream_http_new_get:
 * @last_event_id: (nullable): where a resumed stream continues
 *
 * Returns: (transfer full): a GET for an SSE stream of the session
 */
SoupMessage *
_cf_upstream_http_new_get (CfUpstreamHttp *self,
                           const char     *last_event_id)
{
  SoupMessage *msg = _cf_upstream_http_new_message (self, SOUP_METHOD_GET);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  const char *version = cf_upstream_transport_get_version (CF_UPSTREAM_TRANSPORT (self));

  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  if (self->session_id != NULL)
    soup_message_headers_replace (headers, "Mcp-Session-Id", self->session_id);
  if (version != NULL)
    soup_message_headers_replace (headers, "MCP-Protocol-Version", version);
  if (last_event_id != NULL)
    soup_message_headers_replace (headers, "Last-Event-ID", last_event_id);
  return msg;
}

gboolean
_cf_upstream_http_is_session_lost (SoupMessage *msg,
                                   gboolean     with_session)
{
  return with_session && soup_message_get_status (msg) == SOUP_STATUS_NOT_FOUND;
}

void
_cf_upstream_http_lose_session (CfUpstreamHttp *self)
{
  g_autoptr(GError) error = g_error_new_literal (CF_MCP_CLIENT_ERROR,
                                                 CF_MCP_CLIENT_ERROR_SESSION_LOST,
                                                 "The upstream no longer knows the session");

  g_clear_pointer (&self->session_id, g_free);
  cf_upstream_transport_lost (CF_UPSTREAM_TRANSPORT (self), error);
}

/* A session id must be visible ASCII; anything else is not kept. */
static void
keep_session_id (CfUpstreamHttp *self,
                 SoupMessage    *msg)
{
  const char *id = soup_message_headers_get_one (soup_message_get_response_headers (msg),
                                                 "Mcp-Session-Id");

  if (id == NULL || *id == '\0')
    return;
  for (const char *p = id; *p; p++)
    if (*p < 0x21 || *p > 0x7E)
      {
        cf_upstream_transport_warn (CF_UPSTREAM_TRANSPORT (self),
                                    "ignored a session id with invalid characters");
        return;
      }
  g_free (self->session_id);
  self->session_id = g_strdup (id);
}

/**
 * _cf_upstream_http_route_event:
 *
 * Hands one SSE event of @call's response stream to the call; priming
 * events are skipped, and what is not JSON is dropped with a warning.
 *
 * Returns: whether a message was routed
 */
gboolean
_cf_upstream_http_route_event (CfUpstreamHttp *self,
                               CfUpstreamCall *call,
                               const char     *data,
                               gsize           length)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (_cf_upstream_http_is_priming (data, length))
    return FALSE;
  node = cf_json_parse (data, length, &error);
  if (node == NULL)
    {
      cf_upstream_transport_warn (CF_UPSTREAM_TRANSPORT (self),
                                  "dropped an event that is not JSON: %s", error->message);
      return FALSE;
    }
  cf_upstream_transport_route_for_call (CF_UPSTREAM_TRANSPORT (self), node, call);
  return TRUE;
}

gboolean
_cf_upstream_http_headers_are_event_stream (SoupMessageHeaders *headers)
{
  return cf_http_media_type_is (soup_message_headers_get_one (headers, "Content-Type"),
                                "text/event-stream");
}

gboolean
_cf_upstream_http_is_event_stream (SoupMessage *msg)
{
  return _cf_upstream_http_headers_are_event_stream (soup_message_get_response_headers (msg));
}

/* One request's exchange */

typedef struct {
  CfUpstreamHttp *self;
  CfUpstreamCall *call;
  SoupMessage    *msg;
  GInputStream   *body;
  CfSseParser    *sse;
  GByteArray     *json;
  char           *last_event_id;
  gint64          retry_ms;
  guint           n_resumes;
  gboolean        resumable;
  gboolean        with_session;
  gboolean        answered;
} Exchange;

/* A stream that brought its response is read to its end, so that the
 * connection can be kept; any other is closed, which on 2026-07-28 is
 * how a request is cancelled. */
static void
exchange_free (Exchange *ex)
{
  if (ex->body != NULL && ex->answered && !g_cancellable_is_cancelled (ex->self->cancellable))
    _cf_upstream_http_drain_and_close (ex->body);
  else if (ex->body != NULL)
    g_input_stream_close_async (ex->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&ex->body);
  g_clear_pointer (&ex->sse, cf_sse_parser_free);
  g_clear_pointer (&ex->json, g_byte_array_unref);
  g_clear_pointer (&ex->last_event_id, g_free);
  g_clear_object (&ex->msg);
  g_clear_pointer (&ex->call, cf_upstream_call_unref);
  g_clear_object (&ex->self);
  g_free (ex);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Exchange, exchange_free)

static void
fail (Exchange   *ex,
      int         code,
      const char *format,
      ...) G_GNUC_PRINTF (3, 4);

static void
fail (Exchange   *ex,
      int         code,
      const char *format,
      ...)
{
  va_list args;

  va_start (args, format);
  cf_upstream_call_fail_valist (ex->call, code, format, args);
  va_end (args);
}

static void read_next (Exchange *ex);

static gboolean
on_event (const char *data,
          gsize       length,
          gpointer    user_data)
{
  Exchange *ex = user_data;

  if (_cf_upstream_http_route_event (ex->self, ex->call, data, length))
    ex->n_resumes = 0;
  ex->answered = cf_upstream_call_is_done (ex->call);
  return !ex->answered;
}

static void
finish_json (Exchange *ex)
{
  guint status = soup_message_get_status (ex->msg);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  /* A plain tools/call result passes through, mostly unparsed. */
  if (SOUP_STATUS_IS_SUCCESSFUL (status) &&
      cf_upstream_call_complete_text (ex->call, (const char *) ex->json->data, ex->json->len))
    {
      ex->answered = TRUE;
      return;
    }
  node = cf_json_parse ((const char *) ex->json->data, ex->json->len, &error);
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node) &&
      !json_object_has_member (json_node_get_object (node), "method"))
    cf_upstream_transport_route_for_call (CF_UPSTREAM_TRANSPORT (ex->self), node, ex->call);
  ex->answered = cf_upstream_call_is_done (ex->call);
  if (ex->answered)
    return;

  if (SOUP_STATUS_IS_SUCCESSFUL (status))
    fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream's answer to %s is no response: %s",
          ex->call->method, error ? error->message : "wrong id or kind");
  else
    fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream answered %s with HTTP %u %s",
          ex->call->method, status, soup_message_get_reason_phrase (ex->msg) ?: "");
}

static gboolean on_resume_due (gpointer user_data);

/* @ex's stream ended, or broke with @error, before its response; if the
 * upstream made it resumable, it is continued after the delay it asked
 * for. Takes @ex. */
static void
stream_lost (Exchange     *ex,
             const GError *error)
{
  g_autoptr(Exchange) owned = ex;

  if (ex->sse != NULL)
    {
      const char *id = cf_sse_parser_get_last_event_id (ex->sse);

      if (id != NULL)
        {
          g_free (ex->last_event_id);
          ex->last_event_id = g_strdup (id);
        }
      if (cf_sse_parser_get_retry (ex->sse) >= 0)
        ex->retry_ms = cf_sse_parser_get_retry (ex->sse);
      g_clear_pointer (&ex->sse, cf_sse_parser_free);
    }
  if (ex->body != NULL)
    g_input_stream_close_async (ex->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&ex->body);

  if (!ex->resumable || !_cf_upstream_http_can_resume_from (ex->last_event_id))
    {
      if (error != NULL)
        fail (ex, CF_MCP_CLIENT_ERROR_CONNECT, "Reading the upstream's answer to %s failed: %s",
              ex->call->method, error->message);
      else
        fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream ended the stream of %s before "
              "its response", ex->call->method);
    }
  else if (ex->n_resumes >= MAX_RESUMES)
    fail (ex, error ? CF_MCP_CLIENT_ERROR_CONNECT : CF_MCP_CLIENT_ERROR_PROTOCOL,
          "The upstream's stream of %s ended before its response %u times in a row%s%s",
          ex->call->method, ex->n_resumes + 1, error ? ": " : "", error ? error->message : "");
  else
    {
      g_debug ("Resuming the stream of %s after event %s in %" G_GINT64_FORMAT " ms",
               ex->call->method, ex->last_event_id, ex->retry_ms);
      _cf_upstream_http_call_later (ex->retry_ms, cf_upstream_call_get_io_cancellable (ex->call),
                                    on_resume_due, g_steal_pointer (&owned));
    }
}

static void
on_read (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Exchange) ex = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);
  gsize size = bytes ? g_bytes_get_size (bytes) : 0;
  gsize max = cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (ex->self));

  if (cf_upstream_call_is_done (ex->call))
    return;
  if (bytes == NULL && ex->sse != NULL)
    stream_lost (g_steal_pointer (&ex), error);
  else if (bytes == NULL)
    fail (ex, CF_MCP_CLIENT_ERROR_CONNECT, "Reading the upstream's answer to %s failed: %s",
          ex->call->method, error->message);
  else if (size == 0 && ex->sse != NULL)
    stream_lost (g_steal_pointer (&ex), NULL);
  else if (size == 0)
    {
      /* Closed at its end, the connection goes back to the pool before
       * the caller, answered, sends the next request. */
      g_input_stream_close (ex->body, NULL, NULL);
      g_clear_object (&ex->body);
      finish_json (ex);
    }
  else if (ex->sse != NULL)
    {
      if (!cf_sse_parser_feed (ex->sse, g_bytes_get_data (bytes, NULL), size, &error) &&
          error != NULL)
        fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "%s", error->message);
      else if (!cf_upstream_call_is_done (ex->call))
        read_next (g_steal_pointer (&ex));
    }
  else if (ex->json->len + size > max)
    fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream's answer to %s exceeds %"
          G_GSIZE_FORMAT " bytes", ex->call->method, max);
  else
    {
      g_byte_array_append (ex->json, g_bytes_get_data (bytes, NULL), size);
      read_next (g_steal_pointer (&ex));
    }
}

static void
read_next (Exchange *ex)
{
  g_input_stream_read_bytes_async (ex->body, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   cf_upstream_call_get_io_cancellable (ex->call), on_read, ex);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Exchange) ex = user_data;
  g_autoptr(GError) error = NULL;
  guint status;

  ex->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (cf_upstream_call_is_done (ex->call))
    return;
  if (ex->body == NULL)
    {
      fail (ex, CF_MCP_CLIENT_ERROR_CONNECT, "Cannot reach %s: %s", ex->self->url,
            error->message);
      return;
    }

  status = soup_message_get_status (ex->msg);
  ex->call->http_status = status;
  if (_cf_upstream_http_is_session_lost (ex->msg, ex->with_session))
    {
      _cf_upstream_http_lose_session (ex->self);
      return;
    }
  if (SOUP_STATUS_IS_SUCCESSFUL (status) && g_strcmp0 (ex->call->method, "initialize") == 0)
    keep_session_id (ex->self, ex->msg);

  if (SOUP_STATUS_IS_SUCCESSFUL (status) && _cf_upstream_http_is_event_stream (ex->msg))
    ex->sse = cf_sse_parser_new (cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (
                                                                          ex->self)),
                                 on_event, ex);
  else if (status == SOUP_STATUS_ACCEPTED || status == SOUP_STATUS_NO_CONTENT)
    {
      fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream accepted %s without answering it",
            ex->call->method);
      return;
    }
  else
    ex->json = g_byte_array_new ();
  read_next (g_steal_pointer (&ex));
}

static void
on_resumed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Exchange) ex = user_data;
  g_autoptr(GError) error = NULL;
  guint status;

  ex->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (cf_upstream_call_is_done (ex->call))
    return;
  if (ex->body == NULL)
    {
      stream_lost (g_steal_pointer (&ex), error);
      return;
    }

  status = soup_message_get_status (ex->msg);
  if (_cf_upstream_http_is_session_lost (ex->msg, ex->with_session))
    {
      _cf_upstream_http_lose_session (ex->self);
      return;
    }
  /* 405: the upstream has no GET streams, so nothing to resume with. */
  if (status != SOUP_STATUS_OK || !_cf_upstream_http_is_event_stream (ex->msg))
    {
      fail (ex, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream ended the stream of %s before its "
            "response and answered its resumption with HTTP %u %s", ex->call->method, status,
            soup_message_get_reason_phrase (ex->msg) ?: "");
      return;
    }
  ex->sse = cf_sse_parser_new (cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (
                                                                        ex->self)),
                               on_event, ex);
  read_next (g_steal_pointer (&ex));
}

/**
 * _cf_upstream_http_resume_stream:
 * @call: a legacy request whose stream the lean client read
 * @last_event_id: (nullable): the id of the stream's last event
 * @retry_ms: the delay the stream asked for, or -1
 * @error: (nullable): how the stream broke, %NULL if it ended
 *
 * Takes over a request whose response stream ended or broke before its
 * response: resumed with a GET from @last_event_id, as this path resumes
 * its own, or failed when it cannot be.
 */
void
_cf_upstream_http_resume_stream (CfUpstreamHttp *self,
                                 CfUpstreamCall *call,
                                 const char     *last_event_id,
                                 gint64          retry_ms,
                                 const GError   *error)
{
  Exchange *ex = g_new0 (Exchange, 1);

  ex->self = g_object_ref (self);
  ex->call = cf_upstream_call_ref (call);
  ex->resumable = TRUE;
  ex->retry_ms = retry_ms >= 0 ? retry_ms : DEFAULT_RETRY_MS;
  ex->last_event_id = g_strdup (last_event_id);
  stream_lost (ex, error);
}

/* Continues a request's stream where it broke off, with a GET. */
static gboolean
on_resume_due (gpointer user_data)
{
  Exchange *ex = user_data;

  if (cf_upstream_call_is_done (ex->call) || cf_upstream_transport_is_closed (
        CF_UPSTREAM_TRANSPORT (ex->self)))
    {
      exchange_free (ex);
      return G_SOURCE_REMOVE;
    }

  g_clear_object (&ex->msg);
  ex->msg = _cf_upstream_http_new_get (ex->self, ex->last_event_id);
  ex->with_session = ex->self->session_id != NULL;
  ex->n_resumes++;
  soup_session_send_async (ex->self->session, ex->msg, G_PRIORITY_DEFAULT,
                           cf_upstream_call_get_io_cancellable (ex->call), on_resumed, ex);
  return G_SOURCE_REMOVE;
}

static void
send_exchange (Exchange *ex)
{
  soup_session_send_async (ex->self->session, ex->msg, G_PRIORITY_DEFAULT,
                           cf_upstream_call_get_io_cancellable (ex->call), on_sent, ex);
}

static gboolean
on_hold_timeout (gpointer user_data)
{
  CfUpstreamHttp *self = user_data;

  self->hold_id = 0;
  g_debug ("The GET stream took over %d ms to open; sending the requests", HOLD_MS);
  _cf_upstream_http_release_requests (self);
  return G_SOURCE_REMOVE;
}

/**
 * _cf_upstream_http_hold_requests:
 *
 * Keeps requests back while the session's GET stream opens, for
 * %HOLD_MS at most: an upstream may send what a request causes on that
 * stream (the TypeScript SDK sends sampling and elicitation requests
 * there), and the stream must be open to receive it.
 */
void
_cf_upstream_http_hold_requests (CfUpstreamHttp *self)
{
  if (self->held == NULL)
    self->held = g_ptr_array_new ();
  g_clear_handle_id (&self->hold_id, g_source_remove);
  self->hold_id = g_timeout_add (HOLD_MS, on_hold_timeout, self);
}

/**
 * _cf_upstream_http_release_requests:
 *
 * Sends the requests held back, now that the GET stream is open (or is
 * not coming); those whose call ended meanwhile are dropped.
 */
void
_cf_upstream_http_release_requests (CfUpstreamHttp *self)
{
  g_autoptr(GPtrArray) held = g_steal_pointer (&self->held);

  g_clear_handle_id (&self->hold_id, g_source_remove);
  for (guint i = 0; held != NULL && i < held->len; i++)
    {
      Exchange *ex = g_ptr_array_index (held, i);

      if (cf_upstream_call_is_done (ex->call))
        exchange_free (ex);
      else
        send_exchange (ex);
    }
}

static void
cf_upstream_http_send_request (CfUpstreamTransport *transport,
                               CfUpstreamCall      *call)
{
  CfUpstreamHttp *self = CF_UPSTREAM_HTTP (transport);
  Exchange *ex;

  if (self->uri == NULL)
    {
      g_autoptr(GError) error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                                             "Invalid upstream URL: %s", self->url);

      cf_upstream_call_fail (call, error);
      return;
    }

  /* A request over plain HTTP takes the lean client; a legacy stream
   * it cannot finish comes back here to be resumed. */
  if (self->held == NULL &&
      _cf_upstream_http_send_lean (self, call, !is_modern (self, call->version)))
    return;

  ex = g_new0 (Exchange, 1);
  ex->self = g_object_ref (self);
  ex->call = cf_upstream_call_ref (call);
  {
    Outgoing outgoing = outgoing_call (call);

    ex->msg = new_post (self, &outgoing, call->text, &ex->with_session);
  }
  ex->resumable = !is_modern (self, call->version);
  ex->retry_ms = DEFAULT_RETRY_MS;
  if (self->held != NULL)
    g_ptr_array_add (self->held, ex);
  else
    send_exchange (ex);
}

/* Notifications and responses */

typedef struct {
  SoupMessage *msg;
  gboolean     with_session;
} Post;

static void
post_free (Post *post)
{
  g_clear_object (&post->msg);
  g_free (post);
}

static void
on_message_sent (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfUpstreamHttp *self = g_task_get_source_object (task);
  Post *post = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  g_autoptr(GInputStream) body = soup_session_send_finish (SOUP_SESSION (source), result,
                                                           &error);
  guint status = soup_message_get_status (post->msg);

  if (body == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Cannot reach %s: %s", self->url, error->message);
      return;
    }
  _cf_upstream_http_drain_and_close (body);

  if (_cf_upstream_http_is_session_lost (post->msg, post->with_session))
    {
      _cf_upstream_http_lose_session (self);
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_SESSION_LOST,
                               "The upstream no longer knows the session");
    }
  else if (!SOUP_STATUS_IS_SUCCESSFUL (status))
    g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL,
                             "The upstream refused a message with HTTP %u", status);
  else
    g_task_return_boolean (task, TRUE);
}

static void
cf_upstream_http_send_message_async (CfUpstreamTransport *transport,
                                     JsonNode            *message,
                                     GCancellable        *cancellable,
                                     GAsyncReadyCallback  callback,
                                     gpointer             user_data)
{
  CfUpstreamHttp *self = CF_UPSTREAM_HTTP (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  Post *post;

  g_task_set_source_tag (task, cf_upstream_http_send_message_async);
  if (self->uri == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Invalid upstream URL: %s", self->url);
      return;
    }

  post = g_new0 (Post, 1);
  {
    Outgoing outgoing = outgoing_message (message);
    g_autoptr(GBytes) body = cf_json_to_bytes (message);

    post->msg = new_post (self, &outgoing, body, &post->with_session);
  }
  g_task_set_task_data (task, post, (GDestroyNotify) post_free);
  soup_session_send_async (self->session, post->msg, G_PRIORITY_DEFAULT, cancellable,
                           on_message_sent, g_steal_pointer (&task));
}

static gboolean
cf_upstream_http_send_message_finish (CfUpstreamTransport  *transport,
                                      GAsyncResult         *result,
                                      GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cf_upstream_http_shutdown (CfUpstreamTransport *transport)
{
  CfUpstreamHttp *self = CF_UPSTREAM_HTTP (transport);

  g_cancellable_cancel (self->cancellable);
  _cf_upstream_http_release_requests (self);
  if (self->session_id != NULL && self->uri != NULL)
    _cf_upstream_http_delete_session (self);
  g_clear_pointer (&self->session_id, g_free);
}

static const char *
cf_upstream_http_get_session_id (CfUpstreamTransport *transport)
{
  return CF_UPSTREAM_HTTP (transport)->session_id;
}

static void
cf_upstream_http_start_async (CfUpstreamTransport *transport,
                              GCancellable        *cancellable,
                              GAsyncReadyCallback  callback,
                              gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (transport, cancellable, callback, user_data);

  g_task_set_source_tag (task, cf_upstream_http_start_async);
  g_task_return_boolean (task, TRUE);
}

static gboolean
cf_upstream_http_start_finish (CfUpstreamTransport  *transport,
                               GAsyncResult         *result,
                               GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cf_upstream_http_finalize (GObject *object)
{
  CfUpstreamHttp *self = CF_UPSTREAM_HTTP (object);

  g_cancellable_cancel (self->cancellable);
  _cf_upstream_http_release_requests (self);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->uri, g_uri_unref);
  g_clear_pointer (&self->url, g_free);
  g_clear_object (&self->session);
  g_clear_pointer (&self->lean, cf_http1_client_unref);
  g_clear_pointer (&self->lean_path, g_free);
  g_clear_pointer (&self->lean_fixed, g_free);
  g_clear_pointer (&self->headers, g_hash_table_unref);
  g_clear_pointer (&self->param_headers, g_hash_table_unref);
  g_clear_pointer (&self->session_id, g_free);

  G_OBJECT_CLASS (cf_upstream_http_parent_class)->finalize (object);
}

static void
cf_upstream_http_class_init (CfUpstreamHttpClass *klass)
{
  CfUpstreamTransportClass *transport_class = CF_UPSTREAM_TRANSPORT_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cf_upstream_http_finalize;
  transport_class->start_async = cf_upstream_http_start_async;
  transport_class->start_finish = cf_upstream_http_start_finish;
  transport_class->send_request = cf_upstream_http_send_request;
  transport_class->send_message_async = cf_upstream_http_send_message_async;
  transport_class->send_message_finish = cf_upstream_http_send_message_finish;
  transport_class->connected = _cf_upstream_http_listen;
  transport_class->shutdown = cf_upstream_http_shutdown;
  transport_class->get_session_id = cf_upstream_http_get_session_id;
  transport_class->stream_per_request = TRUE;
}

static void
cf_upstream_http_init (CfUpstreamHttp *self)
{
  self->cancellable = g_cancellable_new ();
}

/**
 * cf_upstream_http_new:
 * @url: the MCP endpoint
 * @session: the HTTP session to send with
 * @headers: (nullable): header names and values every request carries
 *
 * Returns: (transfer full): a new transport
 */
CfUpstreamTransport *
cf_upstream_http_new (const char  *url,
                      SoupSession *session,
                      GHashTable  *headers)
{
  CfUpstreamHttp *self = g_object_new (CF_TYPE_UPSTREAM_HTTP, NULL);

  self->url = g_strdup (url);
  self->uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (self->uri != NULL && g_strcmp0 (g_uri_get_scheme (self->uri), "http") != 0 &&
      g_strcmp0 (g_uri_get_scheme (self->uri), "https") != 0)
    g_clear_pointer (&self->uri, g_uri_unref);
  self->session = g_object_ref (session);
  self->headers = headers ? g_hash_table_ref (headers) : NULL;
  return CF_UPSTREAM_TRANSPORT (self);
}

/**
 * cf_upstream_http_set_param_headers:
 * @self: the transport
 * @table: (nullable): tool name → #CfMcpParamHeaders, read at each
 *   tools/call (a reference is kept; the owner may change its contents)
 *
 * Where the transport finds which arguments of a tool it mirrors into
 * Mcp-Param-* headers on 2026-07-28 requests.
 */
void
cf_upstream_http_set_param_headers (CfUpstreamHttp *self,
                                    GHashTable     *table)
{
  g_return_if_fail (CF_IS_UPSTREAM_HTTP (self));

  if (table != NULL)
    g_hash_table_ref (table);
  g_clear_pointer (&self->param_headers, g_hash_table_unref);
  self->param_headers = table;
}
