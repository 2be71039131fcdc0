/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-http-session"

#include "config.h"

#include "cf-json.h"
#include "cf-sse-parser.h"
#include "cf-upstream-http-private.h"

/* What only a legacy HTTP session has: the GET stream, on which the
 * upstream sends what no request asked for, and the DELETE that ends
 * the session.
 *
 * An upstream may close the GET stream to poll (2025-11-25 transports,
 * "Listening for Messages from the Server"): if it gave the stream an
 * event id, the stream is opened again after its `retry` delay, with
 * `Last-Event-ID`. */

#define DELETE_TIMEOUT_MS 5000
/* The GET stream is not reopened more often than this, whatever `retry`
 * says: it is polled for the life of the session, and `retry: 0` must not
 * turn that into a busy loop. */
#define MIN_REOPEN_MS 250
/* Reopening stops after this many failures in a row. */
#define MAX_REOPEN_FAILURES 2

/* The legacy GET stream */

typedef struct {
  CfUpstreamHttp *self;
  SoupMessage    *msg;
  GInputStream   *body;
  CfSseParser    *sse;
  char           *last_event_id;
  gint64          retry_ms;
  guint           n_failures;
} Listen;

static void
listen_free (Listen *listen)
{
  if (listen->body != NULL)
    g_input_stream_close_async (listen->body, G_PRIORITY_DEFAULT, NULL, NULL, NULL);
  g_clear_object (&listen->body);
  g_clear_pointer (&listen->last_event_id, g_free);
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
  g_autoptr(JsonNode) node = NULL;

  if (_cf_upstream_http_is_priming (data, length))
    return TRUE;
  node = cf_json_parse (data, length, &error);
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
static void on_listen_sent (GObject      *source,
                            GAsyncResult *result,
                            gpointer      user_data);

static gboolean
listen_is_over (Listen *listen)
{
  return g_cancellable_is_cancelled (listen->self->cancellable) ||
         cf_upstream_transport_is_closed (CF_UPSTREAM_TRANSPORT (listen->self)) ||
         listen->self->session_id == NULL;
}

static void
listen_open (Listen *listen)
{
  g_clear_object (&listen->msg);
  listen->msg = _cf_upstream_http_new_get (listen->self, listen->last_event_id);
  soup_session_send_async (listen->self->session, listen->msg, G_PRIORITY_DEFAULT,
                           listen->self->cancellable, on_listen_sent, listen);
}

static gboolean
on_reopen_due (gpointer user_data)
{
  Listen *listen = user_data;

  if (listen_is_over (listen))
    listen_free (listen);
  else
    listen_open (listen);
  return G_SOURCE_REMOVE;
}

/* The GET stream ended (@failed: or could not be opened); it is opened
 * again if the upstream made it resumable. Takes @listen. */
static void
listen_lost (Listen   *listen,
             gboolean  failed)
{
  g_autoptr(Listen) owned = listen;

  if (listen->sse != NULL)
    {
      const char *id = cf_sse_parser_get_last_event_id (listen->sse);

      if (id != NULL)
        {
          g_free (listen->last_event_id);
          listen->last_event_id = g_strdup (id);
        }
      if (cf_sse_parser_get_retry (listen->sse) >= 0)
        listen->retry_ms = cf_sse_parser_get_retry (listen->sse);
      g_clear_pointer (&listen->sse, cf_sse_parser_free);
    }
  if (failed)
    listen->n_failures++;

  if (listen_is_over (listen) || !_cf_upstream_http_can_resume_from (listen->last_event_id))
    return;
  if (listen->n_failures > MAX_REOPEN_FAILURES)
    {
      cf_upstream_transport_warn (CF_UPSTREAM_TRANSPORT (listen->self),
                                  "gave up reopening the GET stream after %u failures",
                                  listen->n_failures);
      return;
    }
  g_debug ("Reopening the GET stream after event %s", listen->last_event_id);
  _cf_upstream_http_call_later (MAX (listen->retry_ms, MIN_REOPEN_MS),
                                listen->self->cancellable, on_reopen_due,
                                g_steal_pointer (&owned));
}

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
      listen_lost (g_steal_pointer (&listen), FALSE);
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
  /* Whatever the answer, the requests held back for it can go. */
  _cf_upstream_http_release_requests (listen->self);
  if (listen->body == NULL)
    {
      g_debug ("No GET stream: %s", error->message);
      listen_lost (g_steal_pointer (&listen), TRUE);
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
      g_clear_object (&listen->body);
      if (status != SOUP_STATUS_METHOD_NOT_ALLOWED)
        listen_lost (g_steal_pointer (&listen), TRUE);
      return;
    }

  listen->n_failures = 0;

  listen->sse = cf_sse_parser_new (cf_upstream_transport_get_max_message (
                                     CF_UPSTREAM_TRANSPORT (listen->self)),
                                   on_listen_event, listen);
  listen_read_next (g_steal_pointer (&listen));
}

/**
 * _cf_upstream_http_listen:
 *
 * Once a legacy session is up, opens its GET stream for what the upstream
 * sends unasked. Requests wait until the upstream has answered it.
 */
void
_cf_upstream_http_listen (CfUpstreamTransport *transport)
{
  CfUpstreamHttp *self = CF_UPSTREAM_HTTP (transport);
  Listen *listen;

  if (cf_upstream_transport_get_era (transport) != CF_MCP_ERA_LEGACY || self->session_id == NULL)
    return;

  listen = g_new0 (Listen, 1);
  listen->self = g_object_ref (self);
  listen->retry_ms = DEFAULT_RETRY_MS;
  _cf_upstream_http_hold_requests (self);
  listen_open (listen);
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
