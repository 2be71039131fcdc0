/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-upstream-http.h"

G_BEGIN_DECLS

#define READ_CHUNK 65536

struct _CfUpstreamHttp
{
  CfUpstreamTransport  parent_instance;

  GUri                *uri;
  char                *url;
  SoupSession         *session;
  GHashTable          *headers;
  char                *session_id;
  GCancellable        *cancellable;
};

void         _cf_upstream_http_drain_and_close (GInputStream        *stream);
SoupMessage *_cf_upstream_http_new_message     (CfUpstreamHttp      *self,
                                                const char          *method);
gboolean     _cf_upstream_http_is_session_lost (SoupMessage         *msg,
                                                gboolean             with_session);
void         _cf_upstream_http_lose_session    (CfUpstreamHttp      *self);
gboolean     _cf_upstream_http_is_event_stream (SoupMessage         *msg);
void         _cf_upstream_http_listen          (CfUpstreamTransport *transport);
void         _cf_upstream_http_delete_session  (CfUpstreamHttp      *self);

G_END_DECLS
