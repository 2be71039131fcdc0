/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

#define CF_HTTP1_ERROR (cf_http1_error_quark ())

/**
 * CfHttp1Error:
 * @CF_HTTP1_ERROR_CONNECT: no connection could be made
 * @CF_HTTP1_ERROR_HEAD: the response's status line or headers are
 *   missing, malformed or too large, or the connection failed before them
 * @CF_HTTP1_ERROR_BODY: reading the body failed, or its framing is broken
 * @CF_HTTP1_ERROR_TOO_LARGE: the body exceeds the request's limit
 */
typedef enum {
  CF_HTTP1_ERROR_CONNECT,
  CF_HTTP1_ERROR_HEAD,
  CF_HTTP1_ERROR_BODY,
  CF_HTTP1_ERROR_TOO_LARGE,
} CfHttp1Error;

typedef struct _CfHttp1Client CfHttp1Client;
typedef struct _CfHttp1Request CfHttp1Request;

/**
 * CfHttp1Head:
 *
 * A response's head as the client parsed it, during the head callback:
 * header lookups are answered from its fields, and #SoupMessageHeaders
 * made only for a caller that asks for them.
 */
typedef struct _CfHttp1Head CfHttp1Head;

/**
 * CfHttp1HeadFunc:
 * @request: the request
 * @status: the response's status code
 * @reason: the reason phrase
 * @head: the response's head, valid during the call
 * @user_data: closure data
 *
 * Receives a response's status and headers (never a 1xx). Returns
 * %FALSE to stop: the request ends with no further callback.
 */
typedef gboolean (*CfHttp1HeadFunc) (CfHttp1Request     *request,
                                     guint               status,
                                     const char         *reason,
                                     CfHttp1Head        *head,
                                     gpointer            user_data);

/**
 * CfHttp1BodyFunc:
 * @request: the request
 * @data: the next bytes of the (decoded) body
 * @length: how many
 * @user_data: closure data
 *
 * Returns %FALSE to stop: the request ends with no further callback
 * (its connection is kept if the body was already read to its end).
 */
typedef gboolean (*CfHttp1BodyFunc) (CfHttp1Request *request,
                                     const char     *data,
                                     gsize           length,
                                     gpointer        user_data);

/**
 * CfHttp1DoneFunc:
 * @request: the request
 * @error: (nullable): why it failed; %NULL when the body ended
 * @user_data: closure data
 *
 * Called once at the end of a request that was neither stopped by a
 * callback nor cancelled.
 */
typedef void (*CfHttp1DoneFunc) (CfHttp1Request *request,
                                 const GError   *error,
                                 gpointer        user_data);

/**
 * CfHttp1Callbacks:
 * @head: receives the status and headers
 * @body: receives the body as it arrives
 * @done: receives the end
 */
typedef struct {
  CfHttp1HeadFunc head;
  CfHttp1BodyFunc body;
  CfHttp1DoneFunc done;
} CfHttp1Callbacks;

GQuark          cf_http1_error_quark        (void);

CfHttp1Client  *cf_http1_client_new         (GSocketConnectable     *address,
                                             const char             *host,
                                             guint                   max_conns);
CfHttp1Client  *cf_http1_client_ref         (CfHttp1Client          *self);
void            cf_http1_client_unref       (CfHttp1Client          *self);
void            cf_http1_client_set_max_header_size (CfHttp1Client  *self,
                                                     gsize           size);
guint           cf_http1_client_get_n_idle  (CfHttp1Client          *self);
guint           cf_http1_client_get_n_connects (CfHttp1Client       *self);
void            cf_http1_client_set_park_delay (CfHttp1Client       *self,
                                                guint                delay_ms);
guint           cf_http1_client_get_n_parked   (CfHttp1Client       *self);
void            cf_http1_client_close_idle  (CfHttp1Client          *self);

const char     *cf_http1_head_get_header    (CfHttp1Head            *head,
                                             const char             *name);
SoupMessageHeaders *cf_http1_head_get_headers (CfHttp1Head          *head);
gboolean        cf_http1_client_writes_header (const char           *name);
gboolean        cf_http1_append_header      (GString                *lines,
                                             const char             *name,
                                             const char             *value);
CfHttp1Request *cf_http1_client_post        (CfHttp1Client          *self,
                                             const char             *path,
                                             const char             *header_lines,
                                             const char             *content_type,
                                             GBytes                 *body,
                                             const CfHttp1Callbacks *callbacks,
                                             gpointer                user_data);
void            cf_http1_request_set_max_body (CfHttp1Request       *request,
                                               gsize                 max_body);
void            cf_http1_request_cancel     (CfHttp1Request         *request);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfHttp1Client, cf_http1_client_unref)

G_END_DECLS
