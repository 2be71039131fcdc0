/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-server-notify"

#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-request-private.h"
#include "cf-mcp-server-private.h"
#include "cf-mcp-session.h"
#include "cf-mcp-stream.h"
#include "cf-mcp-version.h"

/* Change notifications to listening clients, and the end of listen
 * streams at shutdown. */

static gboolean
listener_wants (Listener   *listener,
                const char *flag,
                const char *uri)
{
  JsonArray *uris;

  if (flag != NULL)
    return cf_json_object_get_bool (listener->filter, flag, FALSE);

  uris = cf_json_object_get_array (listener->filter, "resourceSubscriptions");
  for (guint i = 0; uris != NULL && i < json_array_get_length (uris); i++)
    if (g_strcmp0 (json_array_get_string_element (uris, i), uri) == 0)
      return TRUE;
  return FALSE;
}

static void
notify_listeners (CfMcpServer *self,
                  const char  *method,
                  const char  *flag,
                  const char  *uri)
{
  /* Notifying may close a stream and drop the listener: walk a copy. */
  g_autoptr(GPtrArray) requests = g_ptr_array_new_with_free_func (g_object_unref);

  for (guint i = 0; i < self->listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (self->listeners, i);

      if (listener_wants (listener, flag, uri))
        g_ptr_array_add (requests, g_object_ref (listener->request));
    }

  for (guint i = 0; i < requests->len; i++)
    {
      JsonObject *params = json_object_new ();

      json_object_set_object_member (params, "_meta", _cf_mcp_subscription_meta (requests->pdata[i]));
      if (uri != NULL)
        json_object_set_string_member (params, "uri", uri);
      cf_mcp_request_notify (requests->pdata[i], method, params);
    }
}

/**
 * cf_mcp_server_notify_list_changed:
 * @self: a #CfMcpServer
 * @kind: "tools", "resources" or "prompts"
 *
 * Tells every client that listens that a list changed: legacy sessions on
 * their standalone stream, 2026-07-28 clients on their listen streams.
 */
void
cf_mcp_server_notify_list_changed (CfMcpServer *self,
                                   const char  *kind)
{
  g_autofree char *method = NULL;
  g_autofree char *flag = NULL;
  g_autoptr(JsonNode) message = NULL;
  GHashTableIter iter;
  CfMcpSession *session;

  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (kind != NULL);

  method = g_strdup_printf ("notifications/%s/list_changed", kind);
  flag = g_strdup_printf ("%sListChanged", kind);
  message = cf_jsonrpc_build_notification (method, NULL);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    if (cf_mcp_session_get_stream (session) != NULL)
      cf_mcp_session_send (session, message);
  /* Connections whose client initialised a legacy session; 2026-07-28
   * clients hear of changes on their subscriptions instead. */
  for (guint i = 0; i < self->connections->len; i++)
    {
      session = g_ptr_array_index (self->connections, i);
      if (cf_mcp_session_get_stream (session) != NULL &&
          cf_mcp_session_get_protocol_version (session) != NULL)
        cf_mcp_session_send (session, message);
    }

  notify_listeners (self, method, flag, NULL);
}

static void
send_updated (CfMcpSession *session,
              const char   *uri)
{
  JsonObject *params;
  g_autoptr(JsonNode) message = NULL;

  if (!cf_mcp_session_is_subscribed (session, uri))
    return;
  params = json_object_new ();
  json_object_set_string_member (params, "uri", uri);
  message = cf_jsonrpc_build_notification ("notifications/resources/updated", params);
  cf_mcp_session_send (session, message);
}

void
cf_mcp_server_notify_resource_updated (CfMcpServer *self,
                                       const char  *uri)
{
  GHashTableIter iter;
  CfMcpSession *session;

  g_return_if_fail (CF_IS_MCP_SERVER (self));
  g_return_if_fail (uri != NULL);

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    send_updated (session, uri);
  for (guint i = 0; i < self->connections->len; i++)
    send_updated (g_ptr_array_index (self->connections, i), uri);

  notify_listeners (self, "notifications/resources/updated", NULL, uri);
}

void
_cf_mcp_server_request_done (CfMcpServer  *self,
                             CfMcpRequest *request)
{
  for (guint i = 0; i < self->listeners->len; i++)
    {
      Listener *listener = g_ptr_array_index (self->listeners, i);

      if (listener->request == request)
        {
          g_ptr_array_remove_index_fast (self->listeners, i);
          return;
        }
    }
}

/**
 * cf_mcp_server_shutdown:
 * @self: a #CfMcpServer
 *
 * Ends every listen stream with its final response, as the spec asks for
 * a graceful closure, and cancels the work of every session.
 */
void
cf_mcp_server_shutdown (CfMcpServer *self)
{
  GHashTableIter iter;
  CfMcpSession *session;

  g_return_if_fail (CF_IS_MCP_SERVER (self));

  while (self->listeners->len > 0)
    {
      Listener *listener = g_ptr_array_index (self->listeners, self->listeners->len - 1);
      g_autoptr(CfMcpRequest) request = g_object_ref (listener->request);
      JsonObject *result;

      if (cf_mcp_request_is_done (request))
        {
          g_ptr_array_remove_index (self->listeners, self->listeners->len - 1);
          continue;
        }
      result = json_object_new ();
      json_object_set_object_member (result, "_meta", _cf_mcp_subscription_meta (request));
      cf_mcp_request_return (request, result);
    }

  g_hash_table_iter_init (&iter, self->sessions);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &session))
    cf_mcp_session_cancel_all (session);
}
