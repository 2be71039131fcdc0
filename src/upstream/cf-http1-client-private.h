/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-http1-client.h"
#include "cf-fd-source.h"
#include "cf-idle-watch.h"

G_BEGIN_DECLS

/* The client's state, shared by cf-http1-client.c (connections, the
 * requests' course, sending and the public API) and -response.c
 * (receiving: the head parsed, the body framed). */

typedef struct _Conn Conn;

struct _CfHttp1Client
{
  gatomicrefcount     ref_count;
  GSocketConnectable *address;
  char               *host;
  GMainContext       *context;
  GSocketClient      *socket_client;
  CfIdleWatch        *watch;
  guint               park_delay_ms;
  GQueue              idle;
  GQueue              pending;
  guint               max_conns;
  guint               n_open;
  gsize               max_header;
  guint               n_connects;
  /* Where a read lands before it joins a request's input: a buffer of
   * READ_SIZE grown and freed with every request cost glibc a
   * consolidation of its fast bins per call. */
  guint8             *scratch;
  /* Where a request is written before it is copied out at its size */
  GString            *out;
};

struct _Conn
{
  CfHttp1Client     *client;
  GSocketConnection *connection;
  GSocket           *socket;
  /* NULL while the connection is parked in the client's idle watch */
  CfFdSource        *source;
  CfIdleSocket       idle;
  CfHttp1Request    *request;
  guint              n_served;
};

typedef enum {
  STATE_QUEUED,
  STATE_CONNECTING,
  STATE_SENDING,
  STATE_HEAD,
  STATE_LENGTH,
  STATE_CHUNK_SIZE,
  STATE_CHUNK_DATA,
  STATE_CHUNK_END,
  STATE_TRAILER,
  STATE_UNTIL_CLOSE,
  STATE_DONE,
} State;

struct _CfHttp1Request
{
  gatomicrefcount  ref_count;
  CfHttp1Client   *client;
  Conn            *conn;
  GBytes          *out;
  gsize            out_sent;
  CfHttp1Callbacks callbacks;
  gpointer         user_data;
  GCancellable    *connecting;
  GByteArray      *in;
  gsize            in_pos;
  State            state;
  guint64          remaining;
  guint64          body_total;
  gsize            max_body;
  guint            busy;
  gboolean         got_response_bytes;
  gboolean         reused;
  gboolean         retried;
  gboolean         keep_alive;
  gboolean         stopped;
  gboolean         ended;
};

/* Requests (cf-http1-client.c) */
void     _cf_http1_request_end    (CfHttp1Request *request,
                                   gboolean        reusable);
void     _cf_http1_request_done   (CfHttp1Request *request,
                                   const GError   *error);
void     _cf_http1_request_fail   (CfHttp1Request *request,
                                   int             code,
                                   const char     *format,
                                   ...) G_GNUC_PRINTF (3, 4);
gboolean _cf_http1_retry_if_stale (CfHttp1Request *request);

/* Receiving (cf-http1-client-response.c) */
void     _cf_http1_receive_some   (CfHttp1Request *request);

G_END_DECLS
