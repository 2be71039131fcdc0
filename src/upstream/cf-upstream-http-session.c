/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-http-session"

#include "config.h"

#include "cf-json.h"
#include "cf-sse-parser.h"
#include "cf-upstream-http-private.h"

/* What only a legacy HTTP session has: the GET stream, on which the
 * upstream sends what no request asked for, and the DELETE that ends
 * the session. */

#define DELETE_TIMEOUT_MS 5000

/* The legacy GET stream */

typedef struct {
  CfUpstreamHttp *self;
  SoupMessage    *msg;
  GInputStream   *body;
  CfSseParser    *sse;
} Listen;

static void
listen_free (Listen *listen)
{
  g_clear_object (&listen->body);
  g_clear_pointer (&listen->sse, cf_sse_parser_free);
  g_clear_object (&listen->msg);
  g_clear_object (&listen->self);
  g_free (listen);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Listen, listen_free)

static gboolean
on_listen_event (const char *data,
                 gsize       length,
                 gpointer    user_data)
{
  Listen *listen = user_data;
  CfUpstreamTransport *transport = CF_UPSTREAM_TRANSPORT (listen->self);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse (data, length, &error);

  if (node == NULL)
    cf_upstream_transport_warn (transport, "dropped an event that is not JSON: %s",
                                error->message);
  else
    cf_upstream_transport_route (transport, node, CF_UPSTREAM_ROUTE_UNSOLICITED);
  return !cf_upstream_transport_is_closed (transport);
}

static void on_listen_read (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data);

static void
listen_read_next (Listen *listen)
{
  g_input_stream_read_bytes_async (listen->body, READ_CHUNK, G_PRIORITY_DEFAULT,
                                   listen->self->cancellable, on_listen_read, listen);
}

static void
on_listen_read (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Listen) listen = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    {
      g_debug ("The upstream's GET stream ended: %s", error ? error->message : "end of stream");
      return;
    }
  if (!cf_sse_parser_feed (listen->sse, g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes),
                           &error))
    {
      if (error != NULL)
        cf_upstream_transport_warn (CF_UPSTREAM_TRANSPORT (listen->self),
                                    "closed the GET stream: %s", error->message);
      return;
    }
  listen_read_next (g_steal_pointer (&listen));
}

static void
on_listen_sent (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(Listen) listen = user_data;
  g_autoptr(GError) error = NULL;
  guint status;

  listen->body = soup_session_send_finish (SOUP_SESSION (source), result, &error);
  if (listen->body == NULL)
    {
      g_debug ("No GET stream: %s", error->message);
      return;
    }
  status = soup_message_get_status (listen->msg);
  if (_cf_upstream_http_is_session_lost (listen->msg, TRUE))
    {
      _cf_upstream_http_lose_session (listen->self);
      return;
    }
  /* 405 says the upstream has no such stream, which it may. */
  if (status != SOUP_STATUS_OK || !_cf_upstream_http_is_event_stream (listen->msg))
    {
      g_debug ("No GET stream: HTTP %u", status);
      _cf_upstream_http_drain_and_close (listen->body);
      return;
    }

  listen->sse = cf_sse_parser_new (cf_upstream_transport_get_max_message (
                                     CF_UPSTREAM_TRANSPORT (listen->self)),
                                   on_listen_event, listen);
  listen_read_next (g_steal_pointer (&listen));
}

/**
 * _cf_upstream_http_listen:
 *
 * Once a legacy session is up, opens its GET stream for what the upstream
 * sends unasked.
 */
void
_cf_upstream_http_listen (CfUpstreamTransport *transport)
{
  CfUpstreamHttp *self = CF_UPSTREAM_HTTP (transport);
  const char *version = cf_upstream_transport_get_version (transport);
  SoupMessageHeaders *headers;
  Listen *listen;

  if (cf_upstream_transport_get_era (transport) != CF_MCP_ERA_LEGACY || self->session_id == NULL)
    return;

  listen = g_new0 (Listen, 1);
  listen->self = g_object_ref (self);
  listen->msg = _cf_upstream_http_new_message (self, SOUP_METHOD_GET);
  headers = soup_message_get_request_headers (listen->msg);
  soup_message_headers_replace (headers, "Accept", "text/event-stream");
  soup_message_headers_replace (headers, "Mcp-Session-Id", self->session_id);
  if (version != NULL)
    soup_message_headers_replace (headers, "MCP-Protocol-Version", version);
  soup_session_send_async (self->session, listen->msg, G_PRIORITY_DEFAULT, self->cancellable,
                           on_listen_sent, listen);
}

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GCancellable) cancellable = user_data;
  g_autoptr(GBytes) body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                              NULL);

  g_cancellable_cancel (cancellable);
}

static gboolean
on_delete_timeout (gpointer user_data)
{
  g_cancellable_cancel (user_data);
  return G_SOURCE_REMOVE;
}

/* Ends the session, bounded in time: nobody waits for the answer. */
void
_cf_upstream_http_delete_session (CfUpstreamHttp *self)
{
  g_autoptr(SoupMessage) msg = _cf_upstream_http_new_message (self, SOUP_METHOD_DELETE);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  const char *version = cf_upstream_transport_get_version (CF_UPSTREAM_TRANSPORT (self));
  GCancellable *cancellable = g_cancellable_new ();

  soup_message_headers_replace (headers, "Mcp-Session-Id", self->session_id);
  if (version != NULL)
    soup_message_headers_replace (headers, "MCP-Protocol-Version", version);
  g_timeout_add_full (G_PRIORITY_DEFAULT, DELETE_TIMEOUT_MS, on_delete_timeout,
                      g_object_ref (cancellable), g_object_unref);
  soup_session_send_and_read_async (self->session, msg, G_PRIORITY_DEFAULT, cancellable,
                                    on_deleted, cancellable);
}
