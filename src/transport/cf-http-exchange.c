/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http-exchange"

#include "config.h"

#include "cf-http-exchange.h"
#include "cf-http-header.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"

/**
 * CfHttpExchange:
 *
 * One HTTP request and its response, as the middleware chain and the MCP
 * endpoints see it. libsoup carries most requests (#SoupServerMessage,
 * wrapped by cf_http_exchange_for_message()); the gateway's own
 * HTTP/1.1 server carries the hot MCP POSTs without libsoup's
 * per-request machinery. Both keep the response headers in
 * #SoupMessageHeaders; the native server's request headers stay the
 * fields it parsed until someone asks for them as #SoupMessageHeaders.
 *
 * The response goes out when whoever serves the exchange returns without
 * pausing it, or, once paused, on cf_http_exchange_unpause(). A streamed
 * response (SSE) sends its head on cf_http_exchange_begin_stream() and
 * each piece on cf_http_exchange_write().
 *
 * #CfHttpExchange::finished is emitted once, when the response is sent or
 * the connection is gone, whichever comes first.
 */
typedef struct {
  const char         *method;
  char               *path;
  char               *query;
  SoupMessageHeaders *request_headers;
  /* Or, from the native server until request_headers is asked for: names
   * and values in turn, in one block with their text */
  const char        **fields;
  guint               n_fields;
  SoupMessageHeaders *response_headers;
  guint               status;
  gboolean            finished;
  CfHttpExchangeFunc  finished_func;
  gpointer            finished_data;
} CfHttpExchangePrivate;

G_DEFINE_TYPE_WITH_PRIVATE (CfHttpExchange, cf_http_exchange, G_TYPE_OBJECT)

enum {
  SIGNAL_FINISHED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
cf_http_exchange_finalize (GObject *object)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (CF_HTTP_EXCHANGE (object));

  g_clear_pointer (&priv->path, g_free);
  g_clear_pointer (&priv->query, g_free);
  g_clear_pointer (&priv->request_headers, soup_message_headers_unref);
  g_clear_pointer (&priv->fields, g_free);
  g_clear_pointer (&priv->response_headers, soup_message_headers_unref);

  G_OBJECT_CLASS (cf_http_exchange_parent_class)->finalize (object);
}

static void
cf_http_exchange_class_init (CfHttpExchangeClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_http_exchange_finalize;

  /**
   * CfHttpExchange::finished:
   *
   * The response is sent, or the connection is gone.
   */
  signals[SIGNAL_FINISHED] = g_signal_new ("finished", G_TYPE_FROM_CLASS (klass),
                                           G_SIGNAL_RUN_LAST, 0, NULL, NULL, NULL,
                                           G_TYPE_NONE, 0);
}

static void
cf_http_exchange_init (CfHttpExchange *self)
{
}

/**
 * _cf_http_exchange_set_request:
 * @self: a new exchange
 * @method: the method, as an interned string (%SOUP_METHOD_POST, ...)
 * @path: the request path
 * @query: (nullable): the raw query, without its `?`
 * @request_headers: the request's headers
 * @response_headers: the response's headers, to be filled
 */
void
_cf_http_exchange_set_request (CfHttpExchange     *self,
                               const char         *method,
                               const char         *path,
                               const char         *query,
                               SoupMessageHeaders *request_headers,
                               SoupMessageHeaders *response_headers)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  priv->method = method;
  priv->path = g_strdup (path);
  priv->query = g_strdup (query);
  priv->request_headers = soup_message_headers_ref (request_headers);
  priv->response_headers = soup_message_headers_ref (response_headers);
}

/**
 * _cf_http_exchange_set_request_fields:
 * @fields: (transfer full): header names and values in turn, @n_fields
 *   of each, in one g_malloc() block that holds their text too
 *
 * _cf_http_exchange_set_request() for a server that parsed the head
 * itself: the fields answer cf_http_exchange_get_header(), and become
 * #SoupMessageHeaders only if someone asks for those.
 */
void
_cf_http_exchange_set_request_fields (CfHttpExchange     *self,
                                      const char         *method,
                                      const char         *path,
                                      const char         *query,
                                      const char        **fields,
                                      guint               n_fields,
                                      SoupMessageHeaders *response_headers)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  priv->method = method;
  priv->path = g_strdup (path);
  priv->query = g_strdup (query);
  priv->fields = fields;
  priv->n_fields = n_fields;
  priv->response_headers = soup_message_headers_ref (response_headers);
}

/**
 * _cf_http_exchange_emit_finished:
 *
 * For implementations: the exchange is over. Only the first call counts.
 */
void
_cf_http_exchange_emit_finished (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);
  g_autoptr(CfHttpExchange) hold = NULL;

  if (priv->finished)
    return;
  priv->finished = TRUE;
  hold = g_object_ref (self);
  if (priv->finished_func != NULL)
    {
      CfHttpExchangeFunc func = g_steal_pointer (&priv->finished_func);

      func (self, g_steal_pointer (&priv->finished_data));
    }
  g_signal_emit (self, signals[SIGNAL_FINISHED], 0);
}

/**
 * cf_http_exchange_set_finished_func:
 * @self: an exchange
 * @func: (nullable): called once, before #CfHttpExchange::finished;
 *   %NULL to take a function back
 * @user_data: data for @func
 *
 * For what answers the exchange (one at a time): the cheap form of a
 * ::finished handler, which costs a signal connection per request.
 */
void
cf_http_exchange_set_finished_func (CfHttpExchange     *self,
                                    CfHttpExchangeFunc  func,
                                    gpointer            user_data)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  g_return_if_fail (CF_IS_HTTP_EXCHANGE (self));
  g_return_if_fail (func == NULL || priv->finished_func == NULL);

  priv->finished_func = func;
  priv->finished_data = user_data;
}

/**
 * cf_http_exchange_get_method:
 *
 * Returns: the method, interned: compare it with %SOUP_METHOD_POST and
 *   the like by pointer
 */
const char *
cf_http_exchange_get_method (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  return priv->method;
}

const char *
cf_http_exchange_get_path (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  return priv->path;
}

/**
 * cf_http_exchange_get_query:
 *
 * Returns: (nullable): the raw query string, without its `?`
 */
const char *
cf_http_exchange_get_query (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  return priv->query;
}

/**
 * cf_http_exchange_get_request_headers:
 *
 * Returns: (transfer none): the request's headers
 */
SoupMessageHeaders *
cf_http_exchange_get_request_headers (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  if (priv->request_headers == NULL)
    priv->request_headers = cf_http_fields_to_headers (priv->fields, priv->n_fields,
                                                       SOUP_MESSAGE_HEADERS_REQUEST);
  return priv->request_headers;
}

/**
 * cf_http_exchange_get_response_headers:
 *
 * Returns: (transfer none): the response's headers, to add to
 */
SoupMessageHeaders *
cf_http_exchange_get_response_headers (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  return priv->response_headers;
}

/**
 * cf_http_exchange_get_header:
 * @self: a #CfHttpExchange
 * @name: a header name
 *
 * Returns: (nullable): the request header's value
 */
const char *
cf_http_exchange_get_header (CfHttpExchange *self,
                             const char     *name)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  if (priv->request_headers != NULL)
    return soup_message_headers_get_one (priv->request_headers, name);
  return cf_http_fields_get (priv->fields, priv->n_fields, name);
}

/**
 * cf_http_exchange_get_request_body:
 *
 * Returns: (transfer full): the whole request body, empty when there is
 *   none
 */
GBytes *
cf_http_exchange_get_request_body (CfHttpExchange *self)
{
  g_return_val_if_fail (CF_IS_HTTP_EXCHANGE (self), NULL);
  return CF_HTTP_EXCHANGE_GET_CLASS (self)->get_request_body (self);
}

/**
 * cf_http_exchange_get_remote_address:
 *
 * Returns: (transfer none) (nullable): the client's address
 */
GSocketAddress *
cf_http_exchange_get_remote_address (CfHttpExchange *self)
{
  g_return_val_if_fail (CF_IS_HTTP_EXCHANGE (self), NULL);
  return CF_HTTP_EXCHANGE_GET_CLASS (self)->get_remote_address (self);
}

/**
 * cf_http_exchange_get_local_address:
 *
 * Returns: (transfer none) (nullable): the address the request came in on
 */
GSocketAddress *
cf_http_exchange_get_local_address (CfHttpExchange *self)
{
  g_return_val_if_fail (CF_IS_HTTP_EXCHANGE (self), NULL);
  return CF_HTTP_EXCHANGE_GET_CLASS (self)->get_local_address (self);
}

guint
cf_http_exchange_get_status (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);
  SoupServerMessage *msg = cf_http_exchange_get_message (self);

  /* Routes that libsoup alone serves set the status on the message. */
  return msg != NULL ? soup_server_message_get_status (msg) : priv->status;
}

/**
 * cf_http_exchange_set_status:
 * @self: a #CfHttpExchange
 * @status: an HTTP status
 *
 * Sets the status of a response without a body, such as 204.
 */
void
cf_http_exchange_set_status (CfHttpExchange *self,
                             guint           status)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  priv->status = status;
  CF_HTTP_EXCHANGE_GET_CLASS (self)->set_response (self, status, NULL);
}

/**
 * cf_http_exchange_respond_json_bytes:
 * @self: a #CfHttpExchange
 * @status: an HTTP status
 * @body: serialized JSON
 */
void
cf_http_exchange_respond_json_bytes (CfHttpExchange *self,
                                     guint           status,
                                     GBytes         *body)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  priv->status = status;
  soup_message_headers_replace (priv->response_headers, "Content-Type", "application/json");
  CF_HTTP_EXCHANGE_GET_CLASS (self)->set_response (self, status, body);
}

void
cf_http_exchange_respond_json (CfHttpExchange *self,
                               guint           status,
                               JsonNode       *body)
{
  g_autoptr(GBytes) bytes = cf_json_to_bytes (body);

  cf_http_exchange_respond_json_bytes (self, status, bytes);
}

/**
 * cf_http_error_body:
 * @detail: what went wrong
 *
 * Returns: (transfer full): ContextForge's error body, `{"detail": ...}`
 */
JsonNode *
cf_http_error_body (const char *detail)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "detail", detail);
  return cf_json_node_new_object (body);
}

/**
 * cf_http_status_phrase:
 * @status: an HTTP status
 *
 * Returns: the reason phrase of @status: libsoup's, which has none for
 *   429
 */
const char *
cf_http_status_phrase (guint status)
{
  return status == 429 ? "Too Many Requests" : soup_status_get_phrase (status);
}

/**
 * cf_http_exchange_respond_error:
 * @self: a #CfHttpExchange
 * @status: an HTTP status
 * @detail: what went wrong
 *
 * Answers with ContextForge's error body shape, `{"detail": ...}`.
 */
void
cf_http_exchange_respond_error (CfHttpExchange *self,
                                guint           status,
                                const char     *detail)
{
  g_autoptr(JsonNode) body = cf_http_error_body (detail);

  cf_http_exchange_respond_json (self, status, body);
}

/**
 * cf_http_exchange_respond_rpc_error:
 * @self: a #CfHttpExchange
 * @status: an HTTP status
 * @code: the JSON-RPC error code
 * @message: the error's message
 *
 * Answers with a JSON-RPC error response (id null) as the body.
 */
void
cf_http_exchange_respond_rpc_error (CfHttpExchange *self,
                                    guint           status,
                                    int             code,
                                    const char     *message)
{
  g_autoptr(JsonNode) body = cf_jsonrpc_build_error (NULL, code, message, NULL);

  cf_http_exchange_respond_json (self, status, body);
}

/**
 * cf_http_exchange_pause:
 *
 * Holds the response back: it goes out on cf_http_exchange_unpause().
 */
void
cf_http_exchange_pause (CfHttpExchange *self)
{
  g_return_if_fail (CF_IS_HTTP_EXCHANGE (self));
  CF_HTTP_EXCHANGE_GET_CLASS (self)->pause (self);
}

/**
 * cf_http_exchange_unpause:
 *
 * Sends the response as it stands; does nothing once the exchange is
 * finished.
 */
void
cf_http_exchange_unpause (CfHttpExchange *self)
{
  g_return_if_fail (CF_IS_HTTP_EXCHANGE (self));
  CF_HTTP_EXCHANGE_GET_CLASS (self)->unpause (self);
}

/**
 * cf_http_exchange_begin_stream:
 *
 * Sends the status and headers set so far; the body follows, chunked, in
 * cf_http_exchange_write() calls until cf_http_exchange_end_stream(). The
 * exchange must be paused.
 */
void
cf_http_exchange_begin_stream (CfHttpExchange *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (self);

  if (priv->status == 0)
    priv->status = SOUP_STATUS_OK;
  CF_HTTP_EXCHANGE_GET_CLASS (self)->begin_stream (self);
}

void
cf_http_exchange_write (CfHttpExchange *self,
                        const char     *data,
                        gsize           length)
{
  g_return_if_fail (CF_IS_HTTP_EXCHANGE (self));
  CF_HTTP_EXCHANGE_GET_CLASS (self)->write (self, data, length);
}

void
cf_http_exchange_end_stream (CfHttpExchange *self)
{
  g_return_if_fail (CF_IS_HTTP_EXCHANGE (self));
  CF_HTTP_EXCHANGE_GET_CLASS (self)->end_stream (self);
}

/* libsoup's side */

#define CF_TYPE_SOUP_EXCHANGE (cf_soup_exchange_get_type ())
G_DECLARE_FINAL_TYPE (CfSoupExchange, cf_soup_exchange, CF, SOUP_EXCHANGE, CfHttpExchange)

struct _CfSoupExchange
{
  CfHttpExchange     parent_instance;

  /* Weak: the message owns its exchange. */
  SoupServerMessage *msg;
};

G_DEFINE_FINAL_TYPE (CfSoupExchange, cf_soup_exchange, CF_TYPE_HTTP_EXCHANGE)

#define EXCHANGE_KEY "cf-http-exchange"

static GBytes *
soup_get_request_body (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  if (self->msg == NULL)
    return g_bytes_new (NULL, 0);
  return soup_message_body_flatten (soup_server_message_get_request_body (self->msg));
}

static GSocketAddress *
soup_get_remote_address (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  return self->msg ? soup_server_message_get_remote_address (self->msg) : NULL;
}

static GSocketAddress *
soup_get_local_address (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  return self->msg ? soup_server_message_get_local_address (self->msg) : NULL;
}

static void
soup_set_response (CfHttpExchange *exchange,
                   guint           status,
                   GBytes         *body)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;
  SoupMessageBody *response;

  if (self->msg == NULL)
    return;
  soup_server_message_set_status (self->msg, status, cf_http_status_phrase (status));
  response = soup_server_message_get_response_body (self->msg);
  soup_message_body_truncate (response);
  if (body != NULL)
    soup_message_body_append_bytes (response, body);
}

static void
soup_pause (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  if (self->msg != NULL)
    soup_server_message_pause (self->msg);
}

static void
soup_unpause (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  if (self->msg != NULL)
    soup_server_message_unpause (self->msg);
}

static void
soup_begin_stream (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  if (self->msg == NULL)
    return;
  if (soup_server_message_get_status (self->msg) == 0)
    soup_server_message_set_status (self->msg, SOUP_STATUS_OK, NULL);
  soup_message_headers_set_encoding (soup_server_message_get_response_headers (self->msg),
                                     SOUP_ENCODING_CHUNKED);
  soup_message_body_set_accumulate (soup_server_message_get_response_body (self->msg), FALSE);
}

static void
soup_write (CfHttpExchange *exchange,
            const char     *data,
            gsize           length)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  if (self->msg == NULL)
    return;
  soup_message_body_append (soup_server_message_get_response_body (self->msg),
                            SOUP_MEMORY_COPY, data, length);
  soup_server_message_unpause (self->msg);
}

static void
soup_end_stream (CfHttpExchange *exchange)
{
  CfSoupExchange *self = (CfSoupExchange *) exchange;

  if (self->msg == NULL)
    return;
  soup_message_body_complete (soup_server_message_get_response_body (self->msg));
  soup_server_message_unpause (self->msg);
}

/* The message is gone after "finished"; on server shutdown libsoup emits
 * only "disconnected". */
static void
on_message_done (SoupServerMessage *msg,
                 CfSoupExchange    *self)
{
  CfHttpExchangePrivate *priv = cf_http_exchange_get_instance_private (CF_HTTP_EXCHANGE (self));

  priv->status = soup_server_message_get_status (msg);
  g_signal_handlers_disconnect_by_data (msg, self);
  g_clear_weak_pointer (&self->msg);
  _cf_http_exchange_emit_finished (CF_HTTP_EXCHANGE (self));
}

static void
cf_soup_exchange_dispose (GObject *object)
{
  CfSoupExchange *self = (CfSoupExchange *) object;

  if (self->msg != NULL)
    g_signal_handlers_disconnect_by_data (self->msg, self);
  g_clear_weak_pointer (&self->msg);

  G_OBJECT_CLASS (cf_soup_exchange_parent_class)->dispose (object);
}

static void
cf_soup_exchange_class_init (CfSoupExchangeClass *klass)
{
  CfHttpExchangeClass *exchange_class = CF_HTTP_EXCHANGE_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_soup_exchange_dispose;
  exchange_class->get_request_body = soup_get_request_body;
  exchange_class->get_remote_address = soup_get_remote_address;
  exchange_class->get_local_address = soup_get_local_address;
  exchange_class->set_response = soup_set_response;
  exchange_class->pause = soup_pause;
  exchange_class->unpause = soup_unpause;
  exchange_class->begin_stream = soup_begin_stream;
  exchange_class->write = soup_write;
  exchange_class->end_stream = soup_end_stream;
}

static void
cf_soup_exchange_init (CfSoupExchange *self)
{
}

/**
 * cf_http_exchange_for_message:
 * @msg: a request libsoup carries
 *
 * The exchange of @msg, made on the first call: @msg keeps it for its
 * life, and cf_http_exchange_get_for_message() finds it again.
 *
 * Returns: (transfer none): the exchange of @msg
 */
CfHttpExchange *
cf_http_exchange_for_message (SoupServerMessage *msg)
{
  CfSoupExchange *self;
  GUri *uri;

  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), NULL);

  self = g_object_get_data (G_OBJECT (msg), EXCHANGE_KEY);
  if (self != NULL)
    return CF_HTTP_EXCHANGE (self);

  self = g_object_new (CF_TYPE_SOUP_EXCHANGE, NULL);
  g_set_weak_pointer (&self->msg, msg);
  uri = soup_server_message_get_uri (msg);
  _cf_http_exchange_set_request (CF_HTTP_EXCHANGE (self), soup_server_message_get_method (msg),
                                 g_uri_get_path (uri), g_uri_get_query (uri),
                                 soup_server_message_get_request_headers (msg),
                                 soup_server_message_get_response_headers (msg));
  g_signal_connect (msg, "finished", G_CALLBACK (on_message_done), self);
  g_signal_connect (msg, "disconnected", G_CALLBACK (on_message_done), self);
  g_object_set_data_full (G_OBJECT (msg), EXCHANGE_KEY, self, g_object_unref);
  return CF_HTTP_EXCHANGE (self);
}

/**
 * cf_http_exchange_get_for_message:
 * @msg: a request libsoup carries
 *
 * Returns: (transfer none) (nullable): the exchange made for @msg by
 *   cf_http_exchange_for_message()
 */
CfHttpExchange *
cf_http_exchange_get_for_message (SoupServerMessage *msg)
{
  g_return_val_if_fail (SOUP_IS_SERVER_MESSAGE (msg), NULL);
  return g_object_get_data (G_OBJECT (msg), EXCHANGE_KEY);
}

/**
 * cf_http_exchange_get_message:
 *
 * Returns: (transfer none) (nullable): the #SoupServerMessage carrying
 *   @self, if libsoup carries it and it is not finished
 */
SoupServerMessage *
cf_http_exchange_get_message (CfHttpExchange *self)
{
  g_return_val_if_fail (CF_IS_HTTP_EXCHANGE (self), NULL);
  return CF_IS_SOUP_EXCHANGE (self) ? CF_SOUP_EXCHANGE (self)->msg : NULL;
}
