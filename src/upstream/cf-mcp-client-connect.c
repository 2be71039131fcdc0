/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-client-connect"

#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client-private.h"
#include "cf-mcp-version.h"

/* The handshake, and with it the era. A 2026-07-28 `server/discover`
 * goes first: a DiscoverResult, or an error only a modern server gives,
 * means the modern era; anything else (an HTTP 400, 404 or 405 without
 * such an error, a legacy JSON-RPC error, silence on a shared channel
 * such as stdio) means a legacy server, which gets `initialize` and
 * `notifications/initialized` (transports.md, "Backward Compatibility",
 * in both revisions). The 2024-11-05 HTTP+SSE transport is legacy by
 * definition and goes straight to `initialize`.
 *
 * Starting the transport may wait on the network (an SSE stream's
 * endpoint event, a WebSocket handshake): it is bounded by the client's
 * timeout and by the cancellable, and given up by dropping the
 * transport. */

typedef struct {
  CfUpstreamTransport *transport;
  GPtrArray           *tried;
  GCancellable        *cancellable;
  gulong               cancelled_id;
  guint                start_timeout_id;
  /* The transport's start is over, or was given up on. */
  gboolean             started;
  /* initialize answered that only 2026-07-28 is spoken, after the probe
   * had given up on a slow start: the probe was tried again. */
  gboolean             reprobed;
} Connect;

static void
stop_start_guards (Connect *data)
{
  g_clear_handle_id (&data->start_timeout_id, g_source_remove);
  if (data->cancelled_id != 0)
    g_cancellable_disconnect (data->cancellable, data->cancelled_id);
  data->cancelled_id = 0;
}

static void
connect_free (Connect *data)
{
  stop_start_guards (data);
  g_clear_object (&data->cancellable);
  g_clear_object (&data->transport);
  g_clear_pointer (&data->tried, g_ptr_array_unref);
  g_free (data);
}

static void probe (GTask      *task,
                   const char *version);

static CfMcpClient *
task_client (GTask *task)
{
  return g_task_get_source_object (task);
}

static Connect *
task_connect (GTask *task)
{
  return g_task_get_task_data (task);
}

/* Fails the handshake; the transport it started goes with it. */
static void
fail_connect (GTask  *task,
              GError *error)
{
  CfMcpClient *self = task_client (task);

  if (self->transport == task_connect (task)->transport)
    {
      _cf_mcp_client_drop_transport (self);
      _cf_mcp_client_reset (self);
    }
  g_task_return_error (task, error);
}

static void
fail_connect_printf (GTask      *task,
                      int         code,
                      const char *format,
                      ...) G_GNUC_PRINTF (3, 4);

static void
fail_connect_printf (GTask      *task,
                      int         code,
                      const char *format,
                      ...)
{
  va_list args;
  GError *error;

  va_start (args, format);
  error = g_error_new_valist (CF_MCP_CLIENT_ERROR, code, format, args);
  va_end (args);
  fail_connect (task, error);
}

/* Whether the client closed, or connected again, during the handshake. */
static gboolean
superseded (GTask *task)
{
  if (task_client (task)->transport == task_connect (task)->transport)
    return FALSE;
  g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                           "The connection was closed before the handshake ended");
  return TRUE;
}

static void
succeed (GTask *task)
{
  CfMcpClient *self = task_client (task);

  cf_upstream_transport_connected (self->transport);
  self->connected = TRUE;
  g_task_return_boolean (task, TRUE);
}

static void
keep_server_facts (CfMcpClient *self,
                   JsonObject  *result,
                   JsonObject  *server_info)
{
  JsonObject *capabilities = cf_json_object_get_object (result, "capabilities");
  const char *instructions = cf_json_object_get_string (result, "instructions");

  self->server_capabilities = capabilities ? cf_json_object_deep_copy (capabilities)
                                           : json_object_new ();
  self->server_info = server_info ? cf_json_object_deep_copy (server_info) : NULL;
  self->instructions = g_strdup (instructions);
}

/* The legacy handshake */

static void
on_initialized_sent (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  GError *error = NULL;

  if (superseded (task))
    return;
  if (!cf_upstream_transport_send_message_finish (CF_UPSTREAM_TRANSPORT (source), result,
                                                  &error))
    {
      fail_connect (task, error);
      return;
    }
  succeed (task);
}

static const char *first_modern (JsonArray *versions,
                                 GPtrArray *tried);

/* A server slow to start is taken for legacy when the probe times out;
 * if it then refuses initialize for speaking 2026-07-28 only, it is
 * probed again, now that it is up. */
static gboolean
reprobe_after_refusal (GTask      *task,
                       JsonObject *error)
{
  Connect *data = task_connect (task);
  gint64 code = 0;
  const char *modern;

  cf_json_object_get_int (error, "code", &code);
  if (data->reprobed || code != CF_JSONRPC_UNSUPPORTED_VERSION)
    return FALSE;
  modern = first_modern (cf_json_object_get_array (cf_json_object_get_object (error, "data"),
                                                   "supported"), NULL);
  if (modern == NULL)
    return FALSE;
  data->reprobed = TRUE;
  g_debug ("The upstream refused initialize for %s: probing it again", modern);
  probe (task, modern);
  return TRUE;
}

static gboolean
accept_initialize_result (GTask      *task,
                          JsonObject *response)
{
  CfMcpClient *self = task_client (task);
  JsonObject *error = cf_json_object_get_object (response, "error");
  JsonObject *result = cf_json_object_get_object (response, "result");
  const char *version = cf_json_object_get_string (result, "protocolVersion");

  if (error != NULL && reprobe_after_refusal (task, error))
    return FALSE;
  if (error != NULL || result == NULL)
    {
      fail_connect_printf (task, CF_MCP_CLIENT_ERROR_PROTOCOL,
                            "The upstream refused initialize: %s",
                            cf_json_object_get_string (error, "message") ?: "no result");
      return FALSE;
    }
  if (!cf_mcp_version_is_known (version) ||
      cf_mcp_version_get_era (version) != CF_MCP_ERA_LEGACY)
    {
      fail_connect_printf (task, CF_MCP_CLIENT_ERROR_PROTOCOL,
                            "The upstream negotiated protocol version %s, which the gateway "
                            "does not speak", version ? version : "(none)");
      return FALSE;
    }

  self->era = CF_MCP_ERA_LEGACY;
  self->protocol_version = g_strdup (version);
  keep_server_facts (self, result, cf_json_object_get_object (result, "serverInfo"));
  cf_upstream_transport_set_protocol (self->transport, CF_MCP_ERA_LEGACY, version);
  return TRUE;
}

static void
on_initialize (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfMcpClient *self = task_client (task);
  GError *error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (self, result, &error);
  g_autoptr(JsonNode) initialized = NULL;
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (superseded (task))
    {
      g_clear_error (&error);
      return;
    }
  if (response == NULL)
    {
      fail_connect (task, error);
      return;
    }
  if (!accept_initialize_result (task, json_node_get_object (response)))
    return;

  initialized = cf_jsonrpc_build_notification ("notifications/initialized", NULL);
  cf_upstream_transport_send_message_async (self->transport, initialized, cancellable,
                                            on_initialized_sent, g_steal_pointer (&task));
}

static void
initialize (GTask *task)
{
  CfMcpClient *self = task_client (task);
  JsonObject *params = json_object_new ();

  json_object_set_string_member (params, "protocolVersion", CF_MCP_VERSION_LATEST_LEGACY);
  json_object_set_object_member (params, "capabilities", _cf_mcp_client_capabilities ());
  json_object_set_object_member (params, "clientInfo", _cf_mcp_client_info ());
  _cf_mcp_client_start_call (self, self->transport, "initialize", params, NULL, NULL, NULL, TRUE,
                             self->timeout_ms, NULL, NULL, g_task_get_cancellable (task),
                             on_initialize, g_object_ref (task));
}

/* The modern probe */

static const char *
first_modern (JsonArray *versions,
              GPtrArray *skip)
{
  for (guint i = 0; versions != NULL && i < json_array_get_length (versions); i++)
    {
      JsonNode *node = json_array_get_element (versions, i);
      const char *version = cf_json_node_is_string (node) ? json_node_get_string (node) : NULL;

      if (cf_mcp_version_is_known (version) &&
          cf_mcp_version_get_era (version) == CF_MCP_ERA_MODERN &&
          (skip == NULL || !g_ptr_array_find_with_equal_func (skip, version, g_str_equal, NULL)))
        return version;
    }
  return NULL;
}

static gboolean
contains (JsonArray  *versions,
          const char *version)
{
  for (guint i = 0; versions != NULL && i < json_array_get_length (versions); i++)
    {
      JsonNode *node = json_array_get_element (versions, i);

      if (cf_json_node_is_string (node) && g_strcmp0 (version, json_node_get_string (node)) == 0)
        return TRUE;
    }
  return FALSE;
}

static void
become_modern (GTask      *task,
               const char *version,
               JsonObject *result)
{
  CfMcpClient *self = task_client (task);
  JsonObject *meta = cf_json_object_get_object (result, "_meta");

  self->era = CF_MCP_ERA_MODERN;
  self->protocol_version = g_strdup (version);
  keep_server_facts (self, result, cf_json_object_get_object (meta, META_SERVER_INFO));
  cf_upstream_transport_set_protocol (self->transport, CF_MCP_ERA_MODERN, version);
  succeed (task);
}

static void
on_discover_result (GTask      *task,
                    const char *tried,
                    JsonObject *result)
{
  JsonArray *supported = cf_json_object_get_array (result, "supportedVersions");
  const char *version = contains (supported, tried) ? tried : first_modern (supported, NULL);

  /* Only legacy versions (or no list at all): not a modern server. */
  if (version == NULL)
    initialize (task);
  else
    become_modern (task, version, result);
}

static void
on_discover_error (GTask      *task,
                   const char *tried,
                   JsonObject *error)
{
  gint64 code = 0;
  JsonObject *data = cf_json_object_get_object (error, "data");
  const char *retry;

  cf_json_object_get_int (error, "code", &code);
  switch (code)
    {
    case CF_JSONRPC_UNSUPPORTED_VERSION:
      retry = first_modern (cf_json_object_get_array (data, "supported"),
                            task_connect (task)->tried);
      if (retry != NULL)
        probe (task, retry);
      else
        initialize (task);
      break;

    case CF_JSONRPC_HEADER_MISMATCH:
      fail_connect_printf (task, CF_MCP_CLIENT_ERROR_PROTOCOL,
                            "The upstream rejected the request headers: %s",
                            cf_json_object_get_string (error, "message") ?: "");
      break;

    case CF_JSONRPC_MISSING_CLIENT_CAPABILITY:
      /* Modern all the same; it did not say what it offers. */
      become_modern (task, tried, NULL);
      break;

    default:
      initialize (task);
      break;
    }
}

/* A channel all requests share (stdio, WebSocket), where a legacy server
 * may not answer a method it does not know at all. */
static gboolean
is_shared_channel (CfMcpClient *self)
{
  return !cf_upstream_transport_is_stream_per_request (self->transport);
}

/* Whether a probe that failed at the transport level found a legacy
 * server: an HTTP status legacy servers give to a request they do not
 * know, or silence on a shared channel. */
static gboolean
failure_means_legacy (CfMcpClient    *self,
                      CfUpstreamCall *call,
                      const GError   *error)
{
  if (is_shared_channel (self))
    return g_error_matches (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT);
  return g_error_matches (error, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_PROTOCOL) &&
         (call->http_status == SOUP_STATUS_BAD_REQUEST ||
          call->http_status == SOUP_STATUS_NOT_FOUND ||
          call->http_status == SOUP_STATUS_METHOD_NOT_ALLOWED);
}

static void
on_probe_failed (GTask          *task,
                 CfUpstreamCall *call,
                 GError         *error)
{
  CfMcpClient *self = task_client (task);

  if (failure_means_legacy (self, call, error))
    {
      g_error_free (error);
      initialize (task);
    }
  else if (call->http_status != 0 && !SOUP_STATUS_IS_SUCCESSFUL (call->http_status))
    {
      fail_connect_printf (task, CF_MCP_CLIENT_ERROR_CONNECT, "%s", error->message);
      g_error_free (error);
    }
  else
    fail_connect (task, error);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfMcpClient *self = task_client (task);
  CfUpstreamCall *call = g_task_get_task_data (G_TASK (result));
  GPtrArray *tried = task_connect (task)->tried;
  const char *version = g_ptr_array_index (tried, tried->len - 1);
  GError *error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (self, result, &error);
  JsonObject *object;

  if (superseded (task))
    {
      g_clear_error (&error);
      return;
    }
  if (response == NULL)
    {
      on_probe_failed (task, call, error);
      return;
    }

  object = json_node_get_object (response);
  if (cf_json_object_get_object (object, "result") != NULL)
    on_discover_result (task, version, cf_json_object_get_object (object, "result"));
  else
    on_discover_error (task, version, cf_json_object_get_object (object, "error"));
}

static void
probe (GTask      *task,
       const char *version)
{
  CfMcpClient *self = task_client (task);
  guint timeout = self->timeout_ms;

  if (is_shared_channel (self) && (timeout == 0 || timeout > CF_MCP_CLIENT_PROBE_TIMEOUT_MS))
    timeout = CF_MCP_CLIENT_PROBE_TIMEOUT_MS;

  g_ptr_array_add (task_connect (task)->tried, g_strdup (version));
  _cf_mcp_client_start_call (self, self->transport, "server/discover", NULL, NULL, NULL, version,
                             TRUE,
                             timeout, NULL, NULL, g_task_get_cancellable (task),
                             on_probed, g_object_ref (task));
}

/* Starting the transport */

static void
on_started (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  Connect *data = task_connect (task);
  GError *error = NULL;
  gboolean ok = cf_upstream_transport_start_finish (CF_UPSTREAM_TRANSPORT (source), result,
                                                    &error);

  /* Given up on: the handshake has failed already. */
  if (data->started)
    {
      g_clear_error (&error);
      return;
    }
  data->started = TRUE;
  stop_start_guards (data);

  if (superseded (task))
    g_clear_error (&error);
  else if (!ok)
    fail_connect (task, error);
  else if (task_client (task)->kind == CF_UPSTREAM_KIND_SSE)
    initialize (task);
  else
    probe (task, CF_MCP_VERSION_LATEST);
}

/* Fails the handshake while the transport is still starting; dropping
 * the transport ends its start, whose result is then ignored. */
static void
abandon_start (GTask  *task,
               GError *error)
{
  Connect *data = task_connect (task);

  if (data->started)
    {
      g_error_free (error);
      return;
    }
  data->started = TRUE;
  stop_start_guards (data);
  fail_connect (task, error);
}

static gboolean
on_start_timeout (gpointer user_data)
{
  GTask *task = user_data;
  CfMcpClient *self = task_client (task);

  task_connect (task)->start_timeout_id = 0;
  abandon_start (task, g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT,
                                    "The upstream did not open the connection within %u ms",
                                    self->timeout_ms));
  return G_SOURCE_REMOVE;
}

static gboolean
on_cancel_idle (gpointer user_data)
{
  abandon_start (user_data, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "The connection was cancelled"));
  return G_SOURCE_REMOVE;
}

/* Runs in whichever thread cancelled; the work is left to the task's
 * context, where disconnecting from the cancellable is also safe. */
static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  GTask *task = user_data;
  g_autoptr(GSource) source = g_idle_source_new ();

  g_source_set_callback (source, on_cancel_idle, g_object_ref (task), g_object_unref);
  g_source_set_static_name (source, "[cf] upstream connect cancelled");
  g_source_attach (source, g_task_get_context (task));
}

static void
start_transport (GTask *task)
{
  CfMcpClient *self = task_client (task);
  Connect *data = task_connect (task);
  GCancellable *cancellable = g_task_get_cancellable (task);

  if (self->timeout_ms > 0)
    data->start_timeout_id = g_timeout_add_full (G_PRIORITY_DEFAULT, self->timeout_ms,
                                                 on_start_timeout, g_object_ref (task),
                                                 g_object_unref);
  if (cancellable != NULL)
    {
      data->cancellable = g_object_ref (cancellable);
      data->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled),
                                                  g_object_ref (task), g_object_unref);
    }
  cf_upstream_transport_start_async (data->transport, cancellable, on_started,
                                     g_object_ref (task));
}

/**
 * cf_mcp_client_connect_async:
 * @self: the client
 * @cancellable: (nullable): cancels the handshake
 * @callback: called when the handshake is done
 * @user_data: closure data
 *
 * Starts a fresh connection (spawning the child, for stdio; opening the
 * event stream or the WebSocket) and finds the upstream's protocol era.
 * A previous connection is closed first. Opening the connection is
 * bounded by the client's timeout, as each request of the handshake is.
 */
void
cf_mcp_client_connect_async (CfMcpClient         *self,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(CfUpstreamTransport) transport = NULL;
  Connect *data;

  g_return_if_fail (CF_IS_MCP_CLIENT (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_mcp_client_connect_async);

  _cf_mcp_client_reset (self);
  transport = _cf_mcp_client_new_transport (self);
  _cf_mcp_client_set_transport (self, transport);

  data = g_new0 (Connect, 1);
  data->transport = g_object_ref (transport);
  data->tried = g_ptr_array_new_with_free_func (g_free);
  g_task_set_task_data (task, data, (GDestroyNotify) connect_free);

  start_transport (task);
}

/**
 * cf_mcp_client_connect_finish:
 * @self: the client
 * @result: the result
 * @error: return location for a %CF_MCP_CLIENT_ERROR
 *
 * Returns: whether the client is connected
 */
gboolean
cf_mcp_client_connect_finish (CfMcpClient   *self,
                              GAsyncResult  *result,
                              GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  g_return_val_if_fail (g_task_get_source_tag (G_TASK (result)) == cf_mcp_client_connect_async,
                        FALSE);

  return g_task_propagate_boolean (G_TASK (result), error);
}
