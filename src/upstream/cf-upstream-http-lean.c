/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-http"

#include "config.h"

#include <string.h>

#include "cf-http-header.h"
#include "cf-json.h"
#include "cf-sse-parser.h"
#include "cf-upstream-http-private.h"

/* The hot path of CfUpstreamHttp: a request over plain HTTP with no
 * proxy goes through a #CfHttp1Client, which costs a fraction of
 * libsoup's client per call. Its answer is handled as the libsoup path
 * handles it (on_sent, on_read and finish_json in cf-upstream-http.c),
 * with the same errors. A legacy (2025-era) response stream that ends or
 * breaks before its response is handed to the libsoup path, which
 * resumes it with a GET from its last event id; a 2026-07-28 stream is
 * not resumable. Cancelling a request closes its connection, which is
 * 2026-07-28's cancellation over HTTP (a legacy request's cancellation
 * is a notification, sent as before). */


typedef struct {
  CfUpstreamHttp *self;
  CfUpstreamCall *call;
  CfHttp1Request *request;
  CfSseParser    *sse;
  GByteArray     *json;
  guint           status;
  char           *reason;
  guint           in_callback;
  gboolean        with_session;
  gboolean        resumable;
} Lean;

static void
lean_free (Lean *lean)
{
  if (lean->call->io_abort_data == lean)
    cf_upstream_call_set_io_abort (lean->call, NULL, NULL);
  g_clear_pointer (&lean->sse, cf_sse_parser_free);
  g_clear_pointer (&lean->json, g_byte_array_unref);
  g_clear_pointer (&lean->reason, g_free);
  cf_upstream_call_unref (lean->call);
  g_object_unref (lean->self);
  g_free (lean);
}

static void
lean_fail (Lean       *lean,
           int         code,
           const char *format,
           ...) G_GNUC_PRINTF (3, 4);

static void
lean_fail (Lean       *lean,
           int         code,
           const char *format,
           ...)
{
  va_list args;

  va_start (args, format);
  lean->in_callback++;
  cf_upstream_call_fail_valist (lean->call, code, format, args);
  lean->in_callback--;
  va_end (args);
}

static gboolean
lean_on_event (const char *data,
               gsize       length,
               gpointer    user_data)
{
  Lean *lean = user_data;

  _cf_upstream_http_route_event (lean->self, lean->call, data, length);
  return !cf_upstream_call_is_done (lean->call);
}

/* Returns whether to read the body; when not, @lean is freed. */
static gboolean
lean_on_head (CfHttp1Request     *request,
              guint               status,
              const char         *reason,
              CfHttp1Head        *head,
              gpointer            user_data)
{
  Lean *lean = user_data;
  CfUpstreamTransport *transport = CF_UPSTREAM_TRANSPORT (lean->self);

  lean->call->http_status = status;
  lean->status = status;
  lean->reason = g_strdup (reason);
  if (lean->with_session && status == SOUP_STATUS_NOT_FOUND)
    {
      lean->in_callback++;
      _cf_upstream_http_lose_session (lean->self);
      lean->in_callback--;
    }
  else if (SOUP_STATUS_IS_SUCCESSFUL (status) &&
           cf_http_media_type_is (cf_http1_head_get_header (head, "Content-Type"),
                                  "text/event-stream"))
    {
      lean->sse = cf_sse_parser_new (cf_upstream_transport_get_max_message (transport),
                                     lean_on_event, lean);
      return TRUE;
    }
  else if (status == SOUP_STATUS_ACCEPTED || status == SOUP_STATUS_NO_CONTENT)
    lean_fail (lean, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream accepted %s without "
               "answering it", lean->call->method);
  else
    {
      lean->json = g_byte_array_new ();
      cf_http1_request_set_max_body (request, cf_upstream_transport_get_max_message (transport));
      return TRUE;
    }
  lean_free (lean);
  return FALSE;
}

/* Returns whether to read on; when not, @lean is freed. */
static gboolean
lean_on_body (CfHttp1Request *request,
              const char     *data,
              gsize           length,
              gpointer        user_data)
{
  Lean *lean = user_data;
  g_autoptr(GError) error = NULL;

  if (lean->json != NULL)
    {
      g_byte_array_append (lean->json, (const guint8 *) data, length);
      return TRUE;
    }

  lean->in_callback++;
  if (!cf_sse_parser_feed (lean->sse, data, length, &error) && error != NULL)
    lean_fail (lean, CF_MCP_CLIENT_ERROR_PROTOCOL, "%s", error->message);
  lean->in_callback--;
  if (!cf_upstream_call_is_done (lean->call))
    return TRUE;
  /* Answered: the connection is kept if the stream ended with it. */
  lean_free (lean);
  return FALSE;
}

static void
finish_json (Lean *lean)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;
  gboolean passed;

  /* A plain tools/call result passes through, mostly unparsed. */
  lean->in_callback++;
  passed = SOUP_STATUS_IS_SUCCESSFUL (lean->status) &&
           cf_upstream_call_complete_text (lean->call, (const char *) lean->json->data,
                                           lean->json->len);
  lean->in_callback--;
  if (passed)
    return;

  node = cf_json_parse ((const char *) lean->json->data, lean->json->len, &error);
  lean->in_callback++;
  if (node != NULL && JSON_NODE_HOLDS_OBJECT (node) &&
      !json_object_has_member (json_node_get_object (node), "method"))
    cf_upstream_transport_route_for_call (CF_UPSTREAM_TRANSPORT (lean->self), node, lean->call);
  lean->in_callback--;
  if (cf_upstream_call_is_done (lean->call))
    return;

  if (SOUP_STATUS_IS_SUCCESSFUL (lean->status))
    lean_fail (lean, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream's answer to %s is no "
               "response: %s", lean->call->method, error ? error->message : "wrong id or kind");
  else
    lean_fail (lean, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream answered %s with HTTP %u %s",
               lean->call->method, lean->status, lean->reason ?: "");
}

static void
lean_on_done (CfHttp1Request *request,
              const GError   *error,
              gpointer        user_data)
{
  Lean *lean = user_data;
  gsize max = cf_upstream_transport_get_max_message (CF_UPSTREAM_TRANSPORT (lean->self));

  if (lean->sse != NULL && lean->resumable &&
      (error == NULL || error->code == CF_HTTP1_ERROR_BODY))
    {
      lean->in_callback++;
      _cf_upstream_http_resume_stream (lean->self, lean->call,
                                       cf_sse_parser_get_last_event_id (lean->sse),
                                       cf_sse_parser_get_retry (lean->sse), error);
      lean->in_callback--;
    }
  else if (error != NULL && error->code == CF_HTTP1_ERROR_TOO_LARGE)
    lean_fail (lean, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream's answer to %s exceeds %"
               G_GSIZE_FORMAT " bytes", lean->call->method, max);
  else if (error != NULL && (error->code == CF_HTTP1_ERROR_CONNECT ||
                             error->code == CF_HTTP1_ERROR_HEAD))
    lean_fail (lean, CF_MCP_CLIENT_ERROR_CONNECT, "Cannot reach %s: %s", lean->self->url,
               error->message);
  else if (error != NULL)
    lean_fail (lean, CF_MCP_CLIENT_ERROR_CONNECT, "Reading the upstream's answer to %s "
               "failed: %s", lean->call->method, error->message);
  else if (lean->sse != NULL)
    lean_fail (lean, CF_MCP_CLIENT_ERROR_PROTOCOL, "The upstream ended the stream of %s "
               "before its response", lean->call->method);
  else
    finish_json (lean);
  lean_free (lean);
}

static const CfHttp1Callbacks lean_callbacks = {
  lean_on_head,
  lean_on_body,
  lean_on_done,
};

/* The call is over elsewhere (a timeout, a cancellation, the transport's
 * end): its request is cancelled, closing the connection. When the call
 * ends from one of the callbacks above, they see to it themselves. */
static void
lean_on_call_over (gpointer user_data)
{
  Lean *lean = user_data;

  /* Over from within one of our callbacks: that one frees the request. */
  if (lean->in_callback > 0)
    return;
  cf_http1_request_cancel (lean->request);
  lean_free (lean);
}

static gboolean
proxy_in_environment (void)
{
  static const char * const names[] = {
    "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_getenv (names[i]) != NULL)
      return TRUE;
  return FALSE;
}

/* The lean client, when the transport can have one: plain http, no
 * proxy. It connects to the session's remote connectable when there is
 * one (the SSRF guard), to the URL's host otherwise. */
static CfHttp1Client *
get_lean_client (CfUpstreamHttp *self)
{
  g_autoptr(GSocketConnectable) address = NULL;
  g_autofree char *host = NULL;
  const char *name, *query;
  guint max_conns = 0;
  int port;

  if (self->lean_checked)
    return self->lean;
  self->lean_checked = TRUE;
  /* CF_LEAN_HTTP1=0 keeps every request on libsoup: a way out, and the
   * other half of a comparison. */
  if (g_strcmp0 (g_getenv ("CF_LEAN_HTTP1"), "0") == 0 ||
      g_strcmp0 (g_uri_get_scheme (self->uri), "http") != 0 || proxy_in_environment () ||
      g_uri_get_host (self->uri) == NULL || *g_uri_get_host (self->uri) == '\0')
    return NULL;

  name = g_uri_get_host (self->uri);
  port = g_uri_get_port (self->uri);
  g_object_get (self->session, "remote-connectable", &address, NULL);
  if (address == NULL)
    address = g_network_address_new (name, port > 0 ? port : 80);
  host = g_strdup_printf ("%s%s%s", strchr (name, ':') ? "[" : "", name,
                          strchr (name, ':') ? "]" : "");
  if (port > 0 && port != 80)
    {
      char *with_port = g_strdup_printf ("%s:%d", host, port);

      g_free (host);
      host = with_port;
    }
  /* As many connections as the session would open to the upstream */
  g_object_get (self->session, "max-conns-per-host", &max_conns, NULL);
  query = g_uri_get_query (self->uri);
  self->lean_path = g_strconcat (*g_uri_get_path (self->uri) ? g_uri_get_path (self->uri) : "/",
                                 query ? "?" : "", query ? query : "", NULL);
  self->lean = cf_http1_client_new (address, host, max_conns);
  g_debug ("Requests to %s take the lean HTTP/1.1 client", self->url);
  return self->lean;
}

/**
 * _cf_upstream_http_send_lean:
 * @call: a request
 * @resumable: whether its response stream may be resumed (a legacy one)
 *
 * Sends @call with the lean client, if the transport can have one.
 *
 * Returns: %FALSE, having done nothing, when it cannot
 */
gboolean
_cf_upstream_http_send_lean (CfUpstreamHttp *self,
                             CfUpstreamCall *call,
                             gboolean        resumable)
{
  CfHttp1Client *client;
  g_autoptr(GString) lines = NULL;
  Lean *lean;

  if (g_strcmp0 (call->method, "initialize") == 0 || (client = get_lean_client (self)) == NULL)
    return FALSE;
  if (cf_upstream_call_is_done (call))
    return TRUE;

  lean = g_new0 (Lean, 1);
  lean->self = g_object_ref (self);
  lean->call = cf_upstream_call_ref (call);
  lean->resumable = resumable;
  lines = _cf_upstream_http_lean_header_lines (self, call, &lean->with_session);
  lean->request = cf_http1_client_post (client, self->lean_path, lines->str, "application/json",
                                        call->text, &lean_callbacks, lean);
  cf_upstream_call_set_io_abort (call, lean_on_call_over, lean);
  return TRUE;
}
