/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "cf-http-exchange.h"

G_BEGIN_DECLS

#define CF_TYPE_HTTP_SERVER (cf_http_server_get_type ())
G_DECLARE_FINAL_TYPE (CfHttpServer, cf_http_server, CF, HTTP_SERVER, GObject)

/**
 * CfHttpHandler:
 * @server: the #CfHttpServer
 * @msg: the request, already past the middleware chain
 * @path: the request path
 * @query: (nullable): the decoded query
 * @user_data: closure data
 *
 * Serves one route. It may pause @msg and answer later.
 */
typedef void (*CfHttpHandler) (CfHttpServer      *server,
                               SoupServerMessage *msg,
                               const char        *path,
                               GHashTable        *query,
                               gpointer           user_data);

/**
 * CfHttpExchangeHandler:
 * @server: the #CfHttpServer
 * @exchange: the request, already past the middleware chain
 * @path: the request path
 * @query: (nullable): the decoded query
 * @user_data: closure data
 *
 * Serves one route on either HTTP/1.1 implementation. It may pause
 * @exchange and answer later.
 */
typedef void (*CfHttpExchangeHandler) (CfHttpServer   *server,
                                       CfHttpExchange *exchange,
                                       const char     *path,
                                       GHashTable     *query,
                                       gpointer        user_data);

/**
 * CfHttpMiddleware:
 * @server: the #CfHttpServer
 * @exchange: the request
 * @user_data: closure data
 *
 * One step of the chain every request passes before its route handler.
 *
 * Returns: %TRUE to go on, %FALSE when the step answered @exchange itself
 */
typedef gboolean (*CfHttpMiddleware) (CfHttpServer   *server,
                                      CfHttpExchange *exchange,
                                      gpointer        user_data);

CfHttpServer *cf_http_server_new                 (void);
SoupServer   *cf_http_server_get_soup_server     (CfHttpServer       *self);
void          cf_http_server_add_route           (CfHttpServer       *self,
                                                  const char         *path,
                                                  CfHttpHandler       handler,
                                                  gpointer            user_data);
void          cf_http_server_add_exchange_route  (CfHttpServer       *self,
                                                  const char         *path,
                                                  CfHttpExchangeHandler handler,
                                                  gpointer            user_data);
void          cf_http_server_add_native_endpoint (CfHttpServer       *self,
                                                  const char         *pattern);
void          cf_http_server_add_middleware      (CfHttpServer       *self,
                                                  const char         *name,
                                                  CfHttpMiddleware    middleware,
                                                  gpointer            user_data);
void          cf_http_server_add_middleware_before (CfHttpServer     *self,
                                                  const char         *before,
                                                  const char         *name,
                                                  CfHttpMiddleware    middleware,
                                                  gpointer            user_data);
void          cf_http_server_add_response_header (CfHttpServer       *self,
                                                  const char         *name,
                                                  const char         *value);
void          cf_http_server_set_allowed_hosts   (CfHttpServer       *self,
                                                  const char * const *hosts);
void          cf_http_server_set_allowed_origins (CfHttpServer       *self,
                                                  const char * const *origins);
void          cf_http_server_set_max_body        (CfHttpServer       *self,
                                                  gsize               max_body);
gsize         cf_http_server_get_max_body        (CfHttpServer       *self);
void          cf_http_server_set_header_timeout  (CfHttpServer       *self,
                                                  guint               seconds);
gboolean      cf_http_server_listen              (CfHttpServer       *self,
                                                  const char         *host,
                                                  guint               port,
                                                  GError            **error);
guint         cf_http_server_get_port            (CfHttpServer       *self);
char         *cf_http_server_get_url             (CfHttpServer       *self);
void          cf_http_server_disconnect          (CfHttpServer       *self);
guint         cf_http_server_get_n_active        (CfHttpServer       *self);

gboolean      cf_http_host_is_allowed            (CfHttpServer       *self,
                                                  const char         *host_header);

GSocket      *cf_http_message_get_socket         (SoupServerMessage  *msg);

void          cf_http_respond_json               (SoupServerMessage  *msg,
                                                  guint               status,
                                                  JsonNode           *body);
void          cf_http_respond_json_bytes         (SoupServerMessage  *msg,
                                                  guint               status,
                                                  GBytes             *body);
void          cf_http_respond_object             (SoupServerMessage  *msg,
                                                  guint               status,
                                                  JsonObject         *body);
void          cf_http_respond_rpc_error          (SoupServerMessage  *msg,
                                                  guint               status,
                                                  int                 code,
                                                  const char         *message);
void          cf_http_respond_error              (SoupServerMessage  *msg,
                                                  guint               status,
                                                  const char         *detail);

G_END_DECLS
