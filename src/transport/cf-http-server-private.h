/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http-server.h"

G_BEGIN_DECLS

/* The gateway's own HTTP/1.1 server (cf-http1-server.c): it owns the
 * listening sockets, serves the native endpoints' POSTs itself and hands
 * every other connection to the #CfHttpServer's #SoupServer. */
typedef struct _CfHttp1Server CfHttp1Server;

CfHttp1Server  *_cf_http1_server_new          (CfHttpServer    *owner);
void            _cf_http1_server_free         (CfHttp1Server   *self);
gboolean        _cf_http1_server_listen       (CfHttp1Server   *self,
                                               GSocketAddress  *address,
                                               GError         **error);
GSocketAddress *_cf_http1_server_get_address  (CfHttp1Server   *self);
void            _cf_http1_server_disconnect   (CfHttp1Server   *self);
GSocket        *_cf_http1_server_find_socket  (CfHttp1Server   *self,
                                               GSocketAddress  *remote);

/* What the native server asks of its owner. */
gboolean        _cf_http_server_takes         (CfHttpServer    *self,
                                               const char      *path,
                                               gsize            length);
void            _cf_http_server_serve         (CfHttpServer    *self,
                                               CfHttpExchange  *exchange);
guint           _cf_http_server_get_header_timeout (CfHttpServer *self);
const char     *_cf_http_server_get_fixed_head (CfHttpServer    *self,
                                               GPtrArray      **out_headers);
void            _cf_http_server_count_active  (CfHttpServer    *self,
                                               int              delta);
char           *_cf_http_raw_response         (const char      *status_line,
                                               const char      *detail);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfHttp1Server, _cf_http1_server_free)

G_END_DECLS
