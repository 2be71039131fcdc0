/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-call"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-client-private.h"
#include "cf-mcp-era.h"

/* One request in flight, from the moment it is sent until its response,
 * its failure, its timeout or its cancellation, whichever comes first:
 * the call's task returns exactly once, and everything that arrives for
 * it afterwards is dropped. */

CfUpstreamCall *
cf_upstream_call_ref (CfUpstreamCall *call)
{
  g_atomic_ref_count_inc (&call->ref_count);
  return call;
}

void
cf_upstream_call_unref (CfUpstreamCall *call)
{
  if (!g_atomic_ref_count_dec (&call->ref_count))
    return;

  /* A call is only ever dropped once it is over. */
  g_assert (call->task == NULL);
  g_clear_pointer (&call->method, g_free);
  g_clear_pointer (&call->params, json_object_unref);
  g_clear_pointer (&call->meta, json_object_unref);
  g_clear_pointer (&call->arguments, g_bytes_unref);
  g_clear_pointer (&call->version, g_free);
  g_clear_pointer (&call->text, g_bytes_unref);
  g_clear_pointer (&call->progress_token, json_node_unref);
  g_clear_pointer (&call->result_members, g_bytes_unref);
  g_clear_object (&call->io_cancellable);
  g_clear_object (&call->cancellable);
  g_free (call);
}

gboolean
cf_upstream_call_is_done (CfUpstreamCall *call)
{
  return call->task == NULL;
}

/**
 * cf_upstream_call_get_io_cancellable:
 * @call: a call
 *
 * For a transport whose I/O takes a #GCancellable (libsoup's): it is
 * cancelled once the call is over (on HTTP, closing the response stream).
 * Made when first asked for: a call that nobody asks it of costs no
 * cancellable and no signal.
 *
 * Returns: (transfer none): the cancellable, already cancelled if the
 *   call is over
 */
GCancellable *
cf_upstream_call_get_io_cancellable (CfUpstreamCall *call)
{
  if (call->io_cancellable == NULL)
    {
      call->io_cancellable = g_cancellable_new ();
      if (cf_upstream_call_is_done (call))
        g_cancellable_cancel (call->io_cancellable);
    }
  return call->io_cancellable;
}

/**
 * cf_upstream_call_set_io_abort:
 * @call: a call that is not over
 * @func: (nullable): called once, when the call is over, to stop the
 *   transport's I/O for it; %NULL to take a function back
 * @data: its data
 *
 * The cheap form of cf_upstream_call_get_io_cancellable(), for a
 * transport that stops its I/O itself. One function at a time.
 */
void
cf_upstream_call_set_io_abort (CfUpstreamCall          *call,
                               CfUpstreamCallAbortFunc  func,
                               gpointer                 data)
{
  g_return_if_fail (func == NULL || call->io_abort == NULL);

  call->io_abort = func;
  call->io_abort_data = data;
}

/* Deadlines. A client's calls wait in one queue, earliest deadline first,
 * and one timer source wakes for the first of them: a call costs no
 * GSource of its own (made, attached, looked at on every turn of the main
 * loop while the call is out, destroyed). */

static void call_abort (CfUpstreamCall *call,
                        const GError   *error);

static gboolean
call_timer_dispatch (GSource     *source,
                     GSourceFunc  callback,
                     gpointer     user_data)
{
  return callback (user_data);
}

static GSourceFuncs call_timer_funcs = {
  .dispatch = call_timer_dispatch,
};

static void
untime_call (CfUpstreamCall *call)
{
  if (call->timed_link.data == NULL)
    return;
  g_queue_unlink (&call->client->timed_calls, &call->timed_link);
  call->timed_link.data = NULL;
}

static gboolean
on_call_timer (gpointer user_data)
{
  CfMcpClient *self = user_data;
  gint64 now = g_source_get_time (self->call_timer);
  CfUpstreamCall *call;

  while ((call = g_queue_peek_head (&self->timed_calls)) != NULL && call->deadline <= now)
    {
      g_autoptr(CfUpstreamCall) hold = cf_upstream_call_ref (call);
      g_autoptr(GError) error = NULL;

      untime_call (call);
      error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_TIMED_OUT,
                           "The upstream did not answer %s in time", call->method);
      call_abort (call, error);
    }
  /* Calls that ended before their deadline only leave the timer early. */
  g_source_set_ready_time (self->call_timer, call != NULL ? call->deadline : -1);
  return G_SOURCE_CONTINUE;
}

static void
time_call (CfUpstreamCall *call,
           guint           timeout_ms)
{
  CfMcpClient *self = call->client;
  GList *before = self->timed_calls.tail;
  gint64 ready;

  call->deadline = g_get_monotonic_time () + (gint64) timeout_ms * 1000;
  call->timed_link.data = call;
  /* From the end: deadlines mostly come in order. */
  while (before != NULL && ((CfUpstreamCall *) before->data)->deadline > call->deadline)
    before = before->prev;
  if (before == NULL)
    g_queue_push_head_link (&self->timed_calls, &call->timed_link);
  else
    g_queue_insert_after_link (&self->timed_calls, before, &call->timed_link);

  if (self->call_timer == NULL)
    {
      self->call_timer = g_source_new (&call_timer_funcs, sizeof (GSource));
      g_source_set_callback (self->call_timer, on_call_timer, self, NULL);
      g_source_set_static_name (self->call_timer, "[cf] upstream call deadlines");
      g_source_attach (self->call_timer, NULL);
    }
  ready = g_source_get_ready_time (self->call_timer);
  if (ready < 0 || ready > call->deadline)
    g_source_set_ready_time (self->call_timer, call->deadline);
}

/* Ends the call's bookkeeping; returns its task if it was still open. */
static GTask *
call_finish (CfUpstreamCall *call)
{
  GTask *task = g_steal_pointer (&call->task);

  if (task == NULL)
    return NULL;

  untime_call (call);
  if (call->cancelled_id != 0)
    g_cancellable_disconnect (call->cancellable, call->cancelled_id);
  call->cancelled_id = 0;
  if (call->io_cancellable != NULL)
    g_cancellable_cancel (call->io_cancellable);
  if (call->io_abort != NULL)
    {
      CfUpstreamCallAbortFunc abort_io = g_steal_pointer (&call->io_abort);

      abort_io (g_steal_pointer (&call->io_abort_data));
    }
  if (call->transport != NULL)
    cf_upstream_transport_forget (call->transport, call);
  g_clear_object (&call->transport);
  return task;
}

/* A response's id is the client's own, also when the upstream sent an
 * error without one. */
static JsonNode *
with_own_id (CfUpstreamCall *call,
             JsonNode       *response)
{
  JsonObject *object = json_node_get_object (response);
  JsonNode *id = json_object_get_member (object, "id");
  JsonObject *copy;

  if (cf_json_node_is_integer (id) && json_node_get_int (id) == call->id)
    return json_node_ref (response);

  copy = cf_json_object_shallow_copy (object, "id");
  json_object_set_int_member (copy, "id", call->id);
  return cf_json_node_new_object (copy);
}

/**
 * cf_upstream_call_complete:
 * @call: the call
 * @response: its response, a JSON-RPC result or error
 */
void
cf_upstream_call_complete (CfUpstreamCall *call,
                           JsonNode       *response)
{
  g_autoptr(CfUpstreamCall) hold = cf_upstream_call_ref (call);
  g_autoptr(GTask) task = call_finish (call);

  if (task != NULL)
    g_task_return_pointer (task, with_own_id (call, response), (GDestroyNotify) json_node_unref);
}

#define MAX_ENVELOPE_MEMBERS 4
#define MAX_RESULT_MEMBERS 32

/* Whether the era adapter reads or sets @member (the relay reads _meta
 * too): such members are parsed; the others pass through as they are. */
static gboolean
is_own_member (const CfJsonMember *member)
{
  const char * const *names = cf_mcp_era_get_shaped_members ();

  for (guint i = 0; names[i] != NULL; i++)
    if (cf_json_member_is (member, names[i]))
      return TRUE;
  return FALSE;
}

/* Whether @members[@i]'s name comes earlier in @members */
static gboolean
is_repeated (const CfJsonMember *members,
             guint               i)
{
  for (guint j = 0; j < i; j++)
    if (members[j].name_length == members[i].name_length &&
        memcmp (members[j].name, members[i].name, members[i].name_length) == 0)
      return TRUE;
  return FALSE;
}

/* Whether the _meta @member holds nothing but the upstream's serverInfo,
 * which no one downstream sees: the client talks to the gateway, whose
 * serverInfo the era adapter puts there instead. */
static gboolean
is_only_server_info (const CfJsonMember *member)
{
  CfJsonMember inner[1];
  guint n;

  return cf_json_scan_object (member->value, member->value_length, inner, 1, &n) && n == 1 &&
         cf_json_member_is (&inner[0], "io.modelcontextprotocol/serverInfo");
}

/* The response of a call none of whose result's members is in the tree:
 * the same sealed node for every such call (the id is the call's own). */
static JsonNode *
passthrough_response (void)
{
  static JsonNode *response;

  if (g_once_init_enter (&response))
    {
      JsonObject *envelope = json_object_new ();
      JsonNode *node;

      json_object_set_string_member (envelope, "jsonrpc", "2.0");
      json_object_set_object_member (envelope, "result", json_object_new ());
      node = cf_json_node_new_object (envelope);
      json_node_seal (node);
      g_once_init_leave (&response, node);
    }
  return response;
}

/**
 * cf_upstream_call_complete_text:
 * @call: a tools/call
 * @text: its response, as the upstream sent it
 * @length: the length of @text
 *
 * Completes @call with a response that is a plain, complete result
 * (JSON-RPC 2.0, the call's own id, a result object without repeated or
 * escaped member names, no resultType but "complete") without parsing
 * all of it: the few members the gateway reads are parsed, the others
 * (content, structuredContent, isError, ...) are checked and kept as
 * text, which cf_mcp_client_request_finish_passthrough() hands on. A
 * _meta that holds only the upstream's serverInfo is left out (the relay
 * would drop that serverInfo anyway), and so is resultType "complete",
 * the default, which the era adapter writes again where the client's
 * era has it: most results then have no member in the tree at all.
 *
 * Returns: %TRUE if @call was completed; %FALSE, having done nothing,
 *   when @text is anything else (the caller parses it as usual)
 */
gboolean
cf_upstream_call_complete_text (CfUpstreamCall *call,
                                const char     *text,
                                gsize           length)
{
  CfJsonMember envelope[MAX_ENVELOPE_MEMBERS];
  CfJsonMember members[MAX_RESULT_MEMBERS];
  const CfJsonMember *result = NULL;
  gboolean has_version = FALSE, has_id = FALSE, complete = FALSE;
  char id_text[CF_JSON_INT_SIZE];
  gsize id_length;
  guint n, n_members;
  g_autoptr(JsonObject) own = NULL;
  g_autoptr(GString) rest = NULL;
  JsonObject *envelope_object;

  /* The envelope and the result's members, in one pass */
  if (call->task == NULL || !g_str_equal (call->method, "tools/call") ||
      !cf_json_scan_object_nested (text, length, "result", envelope, MAX_ENVELOPE_MEMBERS, &n,
                                   members, MAX_RESULT_MEMBERS, &n_members))
    return FALSE;
  id_length = cf_json_format_int (id_text, call->id);
  for (guint i = 0; i < n; i++)
    {
      const CfJsonMember *m = &envelope[i];

      if (cf_json_member_is (m, "jsonrpc") && !has_version)
        has_version = m->value_length == 5 && memcmp (m->value, "\"2.0\"", 5) == 0;
      else if (cf_json_member_is (m, "id") && !has_id)
        has_id = m->value_length == id_length &&
                 memcmp (m->value, id_text, m->value_length) == 0;
      else if (cf_json_member_is (m, "result") && result == NULL && m->value[0] == '{')
        result = m;
      else
        return FALSE;
    }
  if (!has_version || !has_id || result == NULL)
    return FALSE;

  rest = g_string_sized_new (result->value_length);
  for (guint i = 0; i < n_members; i++)
    {
      const CfJsonMember *m = &members[i];
      const char *from = m->name - 1;

      if (m->name_escaped || is_repeated (members, i))
        return FALSE;
      if (cf_json_member_is (m, "_meta") && is_only_server_info (m))
        continue;
      if (cf_json_member_is (m, "resultType") &&
          m->value_length == 10 && memcmp (m->value, "\"complete\"", 10) == 0)
        {
          complete = TRUE;
          continue;
        }
      if (is_own_member (m))
        {
          g_autofree char *name = g_strndup (m->name, m->name_length);

          if (own == NULL)
            own = json_object_new ();
          json_object_set_member (own, name, cf_json_member_parse (m));
          continue;
        }
      if (rest->len > 0)
        g_string_append_c (rest, ',');
      g_string_append_len (rest, from, m->value + m->value_length - from);
    }
  /* Another kind of result (input_required) is read by the relay. */
  if (own != NULL && json_object_has_member (own, "resultType"))
    return FALSE;

  call->result_members = g_string_free_to_bytes (g_steal_pointer (&rest));
  call->result_complete = complete;
  if (own == NULL)
    {
      g_autoptr(CfUpstreamCall) hold = cf_upstream_call_ref (call);
      g_autoptr(GTask) task = call_finish (call);

      g_task_return_pointer (task, json_node_ref (passthrough_response ()),
                             (GDestroyNotify) json_node_unref);
      return TRUE;
    }
  envelope_object = json_object_new ();
  json_object_set_string_member (envelope_object, "jsonrpc", "2.0");
  json_object_set_int_member (envelope_object, "id", call->id);
  json_object_set_object_member (envelope_object, "result", g_steal_pointer (&own));
  {
    g_autoptr(JsonNode) response = cf_json_node_new_object (envelope_object);

    cf_upstream_call_complete (call, response);
  }
  return TRUE;
}

/**
 * cf_upstream_call_fail_valist:
 * @call: the call
 * @code: a #CfMcpClientError
 * @format: the message's format
 * @args: its arguments
 *
 * cf_upstream_call_fail() with a %CF_MCP_CLIENT_ERROR made here.
 */
void
cf_upstream_call_fail_valist (CfUpstreamCall *call,
                              int             code,
                              const char     *format,
                              va_list         args)
{
  g_autoptr(GError) error = g_error_new_valist (CF_MCP_CLIENT_ERROR, code, format, args);

  cf_upstream_call_fail (call, error);
}

void
cf_upstream_call_fail (CfUpstreamCall *call,
                       const GError   *error)
{
  g_autoptr(CfUpstreamCall) hold = cf_upstream_call_ref (call);
  g_autoptr(GTask) task = call_finish (call);

  if (task != NULL)
    g_task_return_error (task, g_error_copy (error));
}

static gboolean
is_progress (JsonObject *object)
{
  return g_strcmp0 (cf_json_object_get_string (object, "method"),
                    "notifications/progress") == 0 &&
         !json_object_has_member (object, "id");
}

/* Puts the caller's progress token back where the wire had ours. */
static JsonNode *
restore_progress_token (CfUpstreamCall *call,
                        JsonNode       *message)
{
  JsonObject *object = json_node_get_object (message);
  JsonObject *params = cf_json_object_get_object (object, "params");
  JsonObject *copy;

  if (call->progress_token == NULL || params == NULL || !is_progress (object))
    return json_node_ref (message);

  copy = cf_json_object_shallow_copy (params, "progressToken");
  json_object_set_member (copy, "progressToken", json_node_copy (call->progress_token));
  return cf_jsonrpc_build_notification ("notifications/progress", copy);
}

/**
 * cf_upstream_call_deliver:
 * @call: the call
 * @message: a notification or a server-to-client request that arrived
 *   for @call before its response
 *
 * Passes @message to the caller's message function. A server-to-client
 * request the caller has no function for goes to the client's
 * "notification" signal instead, where it can still be answered.
 */
void
cf_upstream_call_deliver (CfUpstreamCall *call,
                          JsonNode       *message)
{
  g_autoptr(CfUpstreamCall) hold = cf_upstream_call_ref (call);
  g_autoptr(JsonNode) delivered = NULL;

  if (call->task == NULL || !JSON_NODE_HOLDS_OBJECT (message))
    return;

  delivered = restore_progress_token (call, message);
  if (call->on_message != NULL)
    call->on_message (call->client, delivered, call->on_message_data);
  else if (json_object_has_member (json_node_get_object (message), "id"))
    cf_upstream_transport_emit_message (call->transport, delivered);
}

/* Cancellation and timeouts */

/* Gives up on @call; the upstream hears of it unless the call was part of
 * the handshake (`initialize` must not be cancelled) or closing the
 * response stream is the cancellation (2026-07-28 over HTTP). */
static void
call_abort (CfUpstreamCall *call,
            const GError   *error)
{
  CfUpstreamTransport *transport = call->transport;

  if (call->task == NULL)
    return;

  if (!call->internal && transport != NULL && !cf_upstream_transport_is_closed (transport) &&
      !(cf_upstream_transport_is_stream_per_request (transport) &&
        cf_upstream_transport_get_era (transport) == CF_MCP_ERA_MODERN))
    {
      JsonObject *params = json_object_new ();

      json_object_set_int_member (params, "requestId", call->id);
      json_object_set_string_member (params, "reason", error->message);
      cf_upstream_transport_post (transport,
                                  cf_jsonrpc_build_notification ("notifications/cancelled",
                                                                 params));
    }
  cf_upstream_call_fail (call, error);
}

static gboolean
on_cancel_idle (gpointer user_data)
{
  CfUpstreamCall *call = user_data;
  g_autoptr(GError) error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                                 "The request was cancelled");

  call_abort (call, error);
  return G_SOURCE_REMOVE;
}

/* Runs in whichever thread cancelled: the work is left to the call's
 * own context, where disconnecting from the cancellable is also safe. */
static void
on_cancelled (GCancellable *cancellable,
              gpointer      user_data)
{
  CfUpstreamCall *call = user_data;
  g_autoptr(GSource) source = g_idle_source_new ();
  GMainContext *context = call->task ? g_task_get_context (call->task) : NULL;

  g_source_set_callback (source, on_cancel_idle, cf_upstream_call_ref (call),
                         (GDestroyNotify) cf_upstream_call_unref);
  g_source_set_static_name (source, "[cf] upstream call cancelled");
  g_source_attach (source, context);
}

/**
 * cf_mcp_client_cancel:
 * @self: the client
 * @user_data: the data a request's callback was given
 *
 * Cancels the requests in flight whose callback takes @user_data, as
 * cancelling their #GCancellable would (in an idle, never from within
 * this call): for a caller that tracks its requests itself and gives
 * them no cancellable, which costs a signal connection per request.
 */
void
cf_mcp_client_cancel (CfMcpClient *self,
                      gpointer     user_data)
{
  g_autoptr(GPtrArray) calls = NULL;

  g_return_if_fail (CF_IS_MCP_CLIENT (self));

  if (self->transport == NULL)
    return;
  calls = cf_upstream_transport_dup_calls (self->transport);
  for (guint i = 0; i < calls->len; i++)
    {
      CfUpstreamCall *call = g_ptr_array_index (calls, i);

      if (call->user_data == user_data && !cf_upstream_call_is_done (call))
        on_cancelled (NULL, call);
    }
}

/* The compact JSON of the client's constant `_meta` members of a
 * 2026-07-28 request, after the version: its info and capabilities. */
static const char *
modern_meta_tail (void)
{
  static char *tail;
  static gsize once;

  if (g_once_init_enter (&once))
    {
      g_autoptr(JsonNode) info_node = cf_json_node_new_object (_cf_mcp_client_info ());
      g_autoptr(JsonNode) capabilities_node =
        cf_json_node_new_object (_cf_mcp_client_capabilities ());
      GString *out = g_string_new (NULL);

      g_string_append (out, ",\"" META_CLIENT_INFO "\":");
      cf_json_append (out, info_node);
      g_string_append (out, ",\"" META_CAPABILITIES "\":");
      cf_json_append (out, capabilities_node);
      tail = g_string_free (out, FALSE);
      g_once_init_leave (&once, 1);
    }
  return tail;
}

static void
append_member (GString    *out,
               gboolean   *first,
               const char *name)
{
  if (!*first)
    g_string_append_c (out, ',');
  *first = FALSE;
  cf_json_append_string (out, name);
  g_string_append_c (out, ':');
}

/* The request's _meta: kept apart, or in its params */
static JsonObject *
call_meta (CfUpstreamCall *call)
{
  return call->meta ?: cf_json_object_get_object (call->params, "_meta");
}

/* Writes the call's `_meta`: the caller's, with the call's id for its
 * progress token, and a 2026-07-28 request's members. */
static void
append_meta (GString        *out,
             gboolean       *first,
             CfUpstreamCall *call,
             JsonObject     *meta,
             const char     *modern_version)
{
  gboolean first_in_meta = TRUE;
  JsonObjectIter iter;
  const char *name;
  JsonNode *value;

  if ((meta == NULL || json_object_get_size (meta) == 0) && modern_version == NULL)
    return;
  append_member (out, first, "_meta");
  g_string_append_c (out, '{');
  if (meta != NULL)
    {
      json_object_iter_init_ordered (&iter, meta);
      while (json_object_iter_next_ordered (&iter, &name, &value))
        {
          /* The version and its companions are the call's own. */
          if (modern_version != NULL &&
              (g_str_equal (name, META_VERSION) || g_str_equal (name, META_CLIENT_INFO) ||
               g_str_equal (name, META_CAPABILITIES)))
            continue;
          append_member (out, &first_in_meta, name);
          if (g_str_equal (name, "progressToken"))
            {
              g_clear_pointer (&call->progress_token, json_node_unref);
              call->progress_token = json_node_copy (value);
              cf_json_append_int (out, call->id);
            }
          else
            cf_json_append (out, value);
        }
    }
  if (modern_version != NULL)
    {
      append_member (out, &first_in_meta, META_VERSION);
      cf_json_append_string (out, modern_version);
      g_string_append (out, modern_meta_tail ());
    }
  g_string_append_c (out, '}');
}

/**
 * _cf_upstream_call_build_text:
 * @call: a call with its id, method and params
 * @modern_version: (nullable): the 2026-07-28-era version whose `_meta`
 *   the request carries
 *
 * Writes the request straight from the caller's params, which are left
 * alone (they may be sealed, parsed from a downstream request): no tree
 * of the request is made, so the arguments of a relayed call are
 * written once, here; or copied, when the caller passed them as text
 * (cf_mcp_client_call_tool_async()). A progress token is swapped for the
 * call's id (and kept in @call), which is what routes progress on a
 * shared channel.
 *
 * Returns: (transfer full): the request's compact JSON, NUL-terminated
 *   past its size
 */
GBytes *
_cf_upstream_call_build_text (CfUpstreamCall *call,
                              const char     *modern_version)
{
  GString *out = g_string_sized_new (256);
  JsonObject *params = call->params;

  g_string_append (out, "{\"jsonrpc\":\"2.0\",\"id\":");
  cf_json_append_int (out, call->id);
  g_string_append (out, ",\"method\":");
  cf_json_append_string (out, call->method);
  if (params != NULL || call->meta != NULL || call->arguments != NULL ||
      modern_version != NULL)
    {
      gboolean first = TRUE;

      g_string_append (out, ",\"params\":{");
      if (params != NULL)
        first = !cf_json_append_members (out, params, "_meta", FALSE);
      if (call->arguments != NULL)
        {
          gsize length;
          const char *text = g_bytes_get_data (call->arguments, &length);

          g_string_append (out, first ? "\"arguments\":" : ",\"arguments\":");
          g_string_append_len (out, text, length);
          first = FALSE;
        }
      append_meta (out, &first, call, call_meta (call), modern_version);
      g_string_append_c (out, '}');
    }
  g_string_append_c (out, '}');
  return g_string_free_to_bytes (out);
}

/**
 * _cf_mcp_client_start_call:
 * @self: the client
 * @transport: where to send it
 * @method: the method
 * @params: (transfer full) (nullable): its params
 * @meta: (transfer full) (nullable): its `_meta`, when @params hold none
 * @arguments: (transfer full) (nullable): a tools/call's arguments as
 *   JSON object text, checked already, when @params holds none
 * @modern_version: (nullable): the 2026-07-28-era version whose `_meta`
 *   the request carries, %NULL for a legacy request
 * @internal: a handshake request
 * @timeout_ms: the timeout, 0 for none
 * @on_message: (nullable): receives what arrives before the response
 * @on_message_data: closure data for @on_message
 * @cancellable: (nullable): cancels the request
 * @callback: called with the response; finish with
 *   cf_mcp_client_request_finish()
 * @user_data: closure data for @callback
 *
 * Sends one request.
 */
void
_cf_mcp_client_start_call (CfMcpClient            *self,
                           CfUpstreamTransport    *transport,
                           const char             *method,
                           JsonObject             *params,
                           JsonObject             *meta,
                           GBytes                 *arguments,
                           const char             *modern_version,
                           gboolean                internal,
                           guint                   timeout_ms,
                           CfMcpClientMessageFunc  on_message,
                           gpointer                on_message_data,
                           GCancellable           *cancellable,
                           GAsyncReadyCallback     callback,
                           gpointer                user_data)
{
  g_autoptr(CfUpstreamCall) call = g_new0 (CfUpstreamCall, 1);

  g_atomic_ref_count_init (&call->ref_count);
  call->id = self->next_id++;
  call->method = g_strdup (method);
  call->internal = !!internal;
  call->subscription = g_str_equal (method, "subscriptions/listen");
  call->client = self;
  call->on_message = on_message;
  call->on_message_data = on_message_data;
  call->user_data = user_data;
  call->transport = g_object_ref (transport);
  call->params = params;
  call->meta = meta;
  call->arguments = arguments;
  call->version = g_strdup (modern_version ?: cf_json_object_get_string (call_meta (call),
                                                                        META_VERSION));
  call->text = _cf_upstream_call_build_text (call, modern_version);
  call->task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (call->task, cf_mcp_client_request_async);
  /* The handshake reads the HTTP status of a failed probe from here. */
  g_task_set_task_data (call->task, cf_upstream_call_ref (call),
                        (GDestroyNotify) cf_upstream_call_unref);

  if (g_task_return_error_if_cancelled (call->task))
    {
      g_clear_object (&call->task);
      g_clear_object (&call->transport);
      return;
    }

  if (cancellable != NULL)
    {
      call->cancellable = g_object_ref (cancellable);
      call->cancelled_id = g_cancellable_connect (cancellable, G_CALLBACK (on_cancelled),
                                                  cf_upstream_call_ref (call),
                                                  (GDestroyNotify) cf_upstream_call_unref);
    }
  if (timeout_ms > 0)
    time_call (call, timeout_ms);

  cf_upstream_transport_send_request (transport, call);
}
