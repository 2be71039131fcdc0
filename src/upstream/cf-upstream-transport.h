/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cf-mcp-client.h"

G_BEGIN_DECLS

typedef struct _CfUpstreamTransport CfUpstreamTransport;

/**
 * CfUpstreamCall:
 * @id: the JSON-RPC id the client chose
 * @method: the request's method
 * @params: (nullable): the caller's params, as they were given: the wire
 *   carries them with the call's own `_meta` (see @text)
 * @version: (nullable): the protocol version the request's `_meta` names,
 *   for a 2026-07-28-era request
 * @text: the request as it goes on the wire, compact JSON; its data is
 *   NUL-terminated past its size
 * @progress_token: (nullable): the caller's progress token, which the
 *   wire carries as @id instead
 * @http_status: the HTTP status of the response, 0 if none
 * @internal: a handshake probe, never cancelled by notification
 *
 * One request in flight. Transports report what arrives for it with
 * cf_upstream_call_deliver(), cf_upstream_call_complete() and
 * cf_upstream_call_fail(); the client owns timeouts and cancellation.
 */
typedef struct _CfUpstreamCall CfUpstreamCall;

/**
 * CfUpstreamCallAbortFunc:
 * @data: the data given with it
 *
 * Stops a transport's I/O for a call that is over
 * (cf_upstream_call_set_io_abort()).
 */
typedef void (*CfUpstreamCallAbortFunc) (gpointer data);

struct _CfUpstreamCall
{
  gint64                 id;
  char                  *method;
  JsonObject            *params;
  /* the request's _meta, when kept apart from @params (which then have
   * none) */
  JsonObject            *meta;
  /* a tools/call's arguments, JSON object text written as it is (and
   * then not in @params) */
  GBytes                *arguments;
  char                  *version;
  GBytes                *text;
  JsonNode              *progress_token;
  guint                  http_status;
  guint                  internal : 1;
  guint                  subscription : 1;

  /*< private >*/
  gatomicrefcount        ref_count;
  CfMcpClient           *client;
  GTask                 *task;
  CfUpstreamTransport   *transport;
  CfMcpClientMessageFunc on_message;
  gpointer               on_message_data;
  /* The caller's data for its callback (cf_mcp_client_cancel()) */
  gpointer               user_data;
  GCancellable          *cancellable;
  gulong                 cancelled_id;
  guint                  cancel_idle_id;
  /* Its place in the client's queue of deadlines (data %NULL when out) */
  gint64                 deadline;
  GList                  timed_link;
  /* The result's members passed through unparsed (complete_text), and
   * whether a resultType "complete" was left out of them */
  GBytes                *result_members;
  gboolean               result_complete;
  /* How a transport stops its I/O for the call once it is over */
  GCancellable          *io_cancellable;
  CfUpstreamCallAbortFunc io_abort;
  gpointer               io_abort_data;
};

CfUpstreamCall *cf_upstream_call_ref      (CfUpstreamCall *call);
void            cf_upstream_call_unref    (CfUpstreamCall *call);
gboolean        cf_upstream_call_is_done  (CfUpstreamCall *call);
GCancellable   *cf_upstream_call_get_io_cancellable (CfUpstreamCall *call);
void            cf_upstream_call_set_io_abort (CfUpstreamCall          *call,
                                               CfUpstreamCallAbortFunc  func,
                                               gpointer                 data);
void            cf_upstream_call_deliver  (CfUpstreamCall *call,
                                           JsonNode       *message);
void            cf_upstream_call_complete (CfUpstreamCall *call,
                                           JsonNode       *response);
gboolean        cf_upstream_call_complete_text (CfUpstreamCall *call,
                                                const char     *text,
                                                gsize           length);
void            cf_upstream_call_fail     (CfUpstreamCall *call,
                                           const GError   *error);
void            cf_upstream_call_fail_valist (CfUpstreamCall *call,
                                           int             code,
                                           const char     *format,
                                           va_list         args) G_GNUC_PRINTF (3, 0);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfUpstreamCall, cf_upstream_call_unref)

#define CF_TYPE_UPSTREAM_TRANSPORT (cf_upstream_transport_get_type ())
G_DECLARE_DERIVABLE_TYPE (CfUpstreamTransport, cf_upstream_transport,
                          CF, UPSTREAM_TRANSPORT, GObject)

/**
 * CfUpstreamRoute:
 * @CF_UPSTREAM_ROUTE_SHARED: a channel all requests share (stdio): route
 *   by id and progress token, the rest as the stdio rule says
 * @CF_UPSTREAM_ROUTE_UNSOLICITED: a channel for no request in particular
 *   (the legacy HTTP GET stream): everything goes to "message"
 */
typedef enum {
  CF_UPSTREAM_ROUTE_SHARED,
  CF_UPSTREAM_ROUTE_UNSOLICITED,
} CfUpstreamRoute;

/**
 * CfUpstreamTransportClass:
 * @start_async: starts the transport (spawns the child)
 * @start_finish: completes @start_async
 * @send_request: sends @call's message; the answer comes back through
 *   the call's functions
 * @send_message_async: sends a notification or a response
 * @send_message_finish: completes @send_message_async
 * @connected: the handshake is done (the legacy HTTP GET stream opens)
 * @shutdown: stops for good: DELETE the session, or end the child
 * @get_pid: the child's process id, if any
 * @get_session_id: the legacy HTTP session, if any
 * @stream_per_request: each request has a stream of its own, whose
 *   closing cancels it in the 2026-07-28 era
 */
struct _CfUpstreamTransportClass
{
  GObjectClass parent_class;

  void     (*start_async)         (CfUpstreamTransport  *self,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
  gboolean (*start_finish)        (CfUpstreamTransport  *self,
                                   GAsyncResult         *result,
                                   GError              **error);
  void     (*send_request)        (CfUpstreamTransport  *self,
                                   CfUpstreamCall       *call);
  void     (*send_message_async)  (CfUpstreamTransport  *self,
                                   JsonNode             *message,
                                   GCancellable         *cancellable,
                                   GAsyncReadyCallback   callback,
                                   gpointer              user_data);
  gboolean (*send_message_finish) (CfUpstreamTransport  *self,
                                   GAsyncResult         *result,
                                   GError              **error);
  void     (*connected)           (CfUpstreamTransport  *self);
  void     (*shutdown)            (CfUpstreamTransport  *self);
  GPid     (*get_pid)             (CfUpstreamTransport  *self);
  const char *(*get_session_id)   (CfUpstreamTransport  *self);

  gboolean stream_per_request;
};

void            cf_upstream_transport_start_async    (CfUpstreamTransport  *self,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean        cf_upstream_transport_start_finish   (CfUpstreamTransport  *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
void            cf_upstream_transport_send_request   (CfUpstreamTransport  *self,
                                                      CfUpstreamCall       *call);
void            cf_upstream_transport_send_message_async  (CfUpstreamTransport *self,
                                                      JsonNode             *message,
                                                      GCancellable         *cancellable,
                                                      GAsyncReadyCallback   callback,
                                                      gpointer              user_data);
gboolean        cf_upstream_transport_send_message_finish (CfUpstreamTransport *self,
                                                      GAsyncResult         *result,
                                                      GError              **error);
void            cf_upstream_transport_post           (CfUpstreamTransport  *self,
                                                      JsonNode             *message);
void            cf_upstream_transport_set_protocol   (CfUpstreamTransport  *self,
                                                      CfMcpEra              era,
                                                      const char           *version);
void            cf_upstream_transport_connected      (CfUpstreamTransport  *self);
void            cf_upstream_transport_shutdown       (CfUpstreamTransport  *self);
GPid            cf_upstream_transport_get_pid        (CfUpstreamTransport  *self);
const char     *cf_upstream_transport_get_session_id (CfUpstreamTransport  *self);
gboolean        cf_upstream_transport_is_stream_per_request (CfUpstreamTransport *self);

CfMcpEra        cf_upstream_transport_get_era        (CfUpstreamTransport  *self);
const char     *cf_upstream_transport_get_version    (CfUpstreamTransport  *self);
gboolean        cf_upstream_transport_is_closed      (CfUpstreamTransport  *self);
void            cf_upstream_transport_set_max_message (CfUpstreamTransport *self,
                                                      gsize                 max_message);
gsize           cf_upstream_transport_get_max_message (CfUpstreamTransport *self);

void            cf_upstream_transport_forget         (CfUpstreamTransport  *self,
                                                      CfUpstreamCall       *call);
guint           cf_upstream_transport_get_n_calls    (CfUpstreamTransport  *self);
GPtrArray      *cf_upstream_transport_dup_calls      (CfUpstreamTransport  *self);
void            cf_upstream_transport_lost           (CfUpstreamTransport  *self,
                                                      const GError         *error);
void            cf_upstream_transport_route          (CfUpstreamTransport  *self,
                                                      JsonNode             *node,
                                                      CfUpstreamRoute       route);
void            cf_upstream_transport_receive        (CfUpstreamTransport  *self,
                                                      const char           *data,
                                                      gsize                 length);
void            cf_upstream_transport_route_for_call (CfUpstreamTransport  *self,
                                                      JsonNode             *node,
                                                      CfUpstreamCall       *call);
void            cf_upstream_transport_emit_message   (CfUpstreamTransport  *self,
                                                      JsonNode             *message);
void            cf_upstream_transport_fail_oversized (CfUpstreamTransport  *self,
                                                      const char           *head,
                                                      gsize                 length);
void            cf_upstream_transport_warn           (CfUpstreamTransport  *self,
                                                      const char           *format,
                                                      ...) G_GNUC_PRINTF (2, 3);

G_END_DECLS
