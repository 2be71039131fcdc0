/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define CF_TYPE_HTTP_EXCHANGE (cf_http_exchange_get_type ())
G_DECLARE_DERIVABLE_TYPE (CfHttpExchange, cf_http_exchange, CF, HTTP_EXCHANGE, GObject)

/**
 * CfHttpExchangeClass:
 * @get_request_body: the whole request body
 * @get_remote_address: the peer's address
 * @get_local_address: the address the request came in on
 * @set_response: sets the status and the whole body, none for %NULL
 * @pause: holds the response back until @unpause
 * @unpause: sends what the response has so far
 * @begin_stream: sends the status and headers; the body follows in
 *   @write calls, chunked
 * @write: sends a piece of a streamed body
 * @end_stream: ends a streamed body
 *
 * One request and its response, whichever HTTP/1.1 implementation
 * carries them: libsoup's, or the gateway's own for the MCP endpoints.
 */
struct _CfHttpExchangeClass
{
  GObjectClass parent_class;

  GBytes         *(*get_request_body)   (CfHttpExchange *self);
  GSocketAddress *(*get_remote_address) (CfHttpExchange *self);
  GSocketAddress *(*get_local_address)  (CfHttpExchange *self);
  void            (*set_response)       (CfHttpExchange *self,
                                         guint           status,
                                         GBytes         *body);
  void            (*pause)              (CfHttpExchange *self);
  void            (*unpause)            (CfHttpExchange *self);
  void            (*begin_stream)       (CfHttpExchange *self);
  void            (*write)              (CfHttpExchange *self,
                                         const char     *data,
                                         gsize           length);
  void            (*end_stream)         (CfHttpExchange *self);

  gpointer padding[8];
};

CfHttpExchange     *cf_http_exchange_for_message         (SoupServerMessage  *msg);
CfHttpExchange     *cf_http_exchange_get_for_message     (SoupServerMessage  *msg);
SoupServerMessage  *cf_http_exchange_get_message         (CfHttpExchange     *self);

const char         *cf_http_exchange_get_method          (CfHttpExchange     *self);
const char         *cf_http_exchange_get_path            (CfHttpExchange     *self);
const char         *cf_http_exchange_get_query           (CfHttpExchange     *self);
SoupMessageHeaders *cf_http_exchange_get_request_headers (CfHttpExchange     *self);
SoupMessageHeaders *cf_http_exchange_get_response_headers (CfHttpExchange    *self);
const char         *cf_http_exchange_get_header          (CfHttpExchange     *self,
                                                          const char         *name);
GBytes             *cf_http_exchange_get_request_body    (CfHttpExchange     *self);
GSocketAddress     *cf_http_exchange_get_remote_address  (CfHttpExchange     *self);
GSocketAddress     *cf_http_exchange_get_local_address   (CfHttpExchange     *self);
guint               cf_http_exchange_get_status          (CfHttpExchange     *self);

void                cf_http_exchange_set_status          (CfHttpExchange     *self,
                                                          guint               status);
void                cf_http_exchange_respond_json_bytes  (CfHttpExchange     *self,
                                                          guint               status,
                                                          GBytes             *body);
void                cf_http_exchange_respond_json        (CfHttpExchange     *self,
                                                          guint               status,
                                                          JsonNode           *body);
void                cf_http_exchange_respond_error       (CfHttpExchange     *self,
                                                          guint               status,
                                                          const char         *detail);
void                cf_http_exchange_respond_rpc_error   (CfHttpExchange     *self,
                                                          guint               status,
                                                          int                 code,
                                                          const char         *message);
void                cf_http_exchange_pause               (CfHttpExchange     *self);
void                cf_http_exchange_unpause             (CfHttpExchange     *self);
void                cf_http_exchange_begin_stream        (CfHttpExchange     *self);
void                cf_http_exchange_write               (CfHttpExchange     *self,
                                                          const char         *data,
                                                          gsize               length);
void                cf_http_exchange_end_stream          (CfHttpExchange     *self);

/**
 * CfHttpExchangeFunc:
 * @exchange: the exchange
 * @user_data: the data given with the function
 */
typedef void (*CfHttpExchangeFunc) (CfHttpExchange *exchange,
                                    gpointer        user_data);

void                cf_http_exchange_set_finished_func   (CfHttpExchange     *self,
                                                          CfHttpExchangeFunc  func,
                                                          gpointer            user_data);

JsonNode           *cf_http_error_body                   (const char         *detail);
const char         *cf_http_status_phrase                (guint               status);

/* For implementations. */
void                _cf_http_exchange_set_request        (CfHttpExchange     *self,
                                                          const char         *method,
                                                          const char         *path,
                                                          const char         *query,
                                                          SoupMessageHeaders *request_headers,
                                                          SoupMessageHeaders *response_headers);
void                _cf_http_exchange_set_request_fields (CfHttpExchange     *self,
                                                          const char         *method,
                                                          const char         *path,
                                                          const char         *query,
                                                          const char        **fields,
                                                          guint               n_fields,
                                                          SoupMessageHeaders *response_headers);
void                _cf_http_exchange_emit_finished      (CfHttpExchange     *self);

G_END_DECLS
