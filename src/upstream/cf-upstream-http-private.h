/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http1-client.h"
#include "cf-upstream-http.h"

G_BEGIN_DECLS

#define READ_CHUNK 65536
/* The wait before a stream is resumed when the upstream gave no `retry`
 * (the HTML standard leaves it to the client; the TypeScript SDK waits
 * one second too). */
#define DEFAULT_RETRY_MS 1000

struct _CfUpstreamHttp
{
  CfUpstreamTransport  parent_instance;

  GUri                *uri;
  char                *url;
  SoupSession         *session;
  GHashTable          *headers;
  /* Tool name → CfMcpParamHeaders (the client's, shared) */
  GHashTable          *param_headers;
  char                *session_id;
  GCancellable        *cancellable;
  GPtrArray           *held;
  guint                hold_id;
  /* The lean client of 2026-07-28 requests over plain HTTP, made at the
   * first; lean_checked once it is known whether one can be. */
  CfHttp1Client       *lean;
  gboolean             lean_checked;
  /* The request target of lean requests, and the header lines every one
   * starts with (made at the first) */
  char                *lean_path;
  char                *lean_fixed;
};

void         _cf_upstream_http_drain_and_close (GInputStream        *stream);
SoupMessage *_cf_upstream_http_new_message     (CfUpstreamHttp      *self,
                                                const char          *method);
gboolean     _cf_upstream_http_is_session_lost (SoupMessage         *msg,
                                                gboolean             with_session);
void         _cf_upstream_http_lose_session    (CfUpstreamHttp      *self);
gboolean     _cf_upstream_http_is_event_stream (SoupMessage         *msg);
gboolean     _cf_upstream_http_headers_are_event_stream (SoupMessageHeaders *headers);
gboolean     _cf_upstream_http_route_event     (CfUpstreamHttp      *self,
                                                CfUpstreamCall      *call,
                                                const char          *data,
                                                gsize                length);
void         _cf_upstream_http_listen          (CfUpstreamTransport *transport);
void         _cf_upstream_http_hold_requests   (CfUpstreamHttp      *self);
void         _cf_upstream_http_release_requests (CfUpstreamHttp     *self);
void         _cf_upstream_http_delete_session  (CfUpstreamHttp      *self);
SoupMessage *_cf_upstream_http_new_get         (CfUpstreamHttp      *self,
                                                const char          *last_event_id);
gboolean     _cf_upstream_http_is_priming      (const char          *data,
                                                gsize                length);
gboolean     _cf_upstream_http_can_resume_from (const char          *last_event_id);
GString     *_cf_upstream_http_lean_header_lines (CfUpstreamHttp   *self,
                                                  CfUpstreamCall   *call,
                                                  gboolean         *out_with_session);
gboolean     _cf_upstream_http_send_lean       (CfUpstreamHttp      *self,
                                                CfUpstreamCall      *call,
                                                gboolean             resumable);
void         _cf_upstream_http_resume_stream   (CfUpstreamHttp      *self,
                                                CfUpstreamCall      *call,
                                                const char          *last_event_id,
                                                gint64               retry_ms,
                                                const GError        *error);
void         _cf_upstream_http_call_later      (gint64               delay_ms,
                                                GCancellable        *cancellable,
                                                GSourceFunc          func,
                                                gpointer             data);

G_END_DECLS
