/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-server-builtins"

#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-request-private.h"
#include "cf-mcp-server-private.h"
#include "cf-mcp-session.h"
#include "cf-mcp-stream.h"
#include "cf-mcp-version.h"

#define DISCOVER_TTL_MS 60000

/* The methods every MCP server has, whatever it serves: ping, logging,
 * discovery, subscriptions. */

static void
reply_empty (CfMcpRequest *request)
{
  cf_mcp_request_return (request, json_object_new ());
}

static void
builtin_set_level (CfMcpServer  *self,
                   CfMcpRequest *request)
{
  const char *level = cf_mcp_request_get_param_string (request, "level");
  CfMcpLogLevel value = cf_mcp_log_level_from_string (level);
  CfMcpSession *session = cf_mcp_request_get_session (request);

  if (value == CF_MCP_LOG_LEVEL_NONE)
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"level\" must be one of debug, info, "
                                   "notice, warning, error, critical, alert, emergency", NULL);
      return;
    }
  if (session != NULL)
    cf_mcp_session_set_log_level (session, value);
  reply_empty (request);
}

static void
builtin_discover (CfMcpServer  *self,
                  CfMcpRequest *request)
{
  JsonObject *result = json_object_new ();
  JsonArray *versions = json_array_new ();

  for (guint i = 0; self->versions[i] != NULL; i++)
    json_array_add_string_element (versions, self->versions[i]);
  json_object_set_array_member (result, "supportedVersions", versions);
  json_object_set_object_member (result, "capabilities",
                                 cf_mcp_server_build_capabilities (self, CF_MCP_ERA_MODERN));
  if (self->instructions != NULL)
    json_object_set_string_member (result, "instructions", self->instructions);
  cf_mcp_request_set_cache_hint (request, DISCOVER_TTL_MS, FALSE);
  cf_mcp_request_return (request, result);
}

JsonObject *
_cf_mcp_subscription_meta (CfMcpRequest *request)
{
  JsonObject *meta = json_object_new ();

  json_object_set_member (meta, "io.modelcontextprotocol/subscriptionId",
                          json_node_copy (cf_mcp_request_get_id (request)));
  return meta;
}

static JsonObject *
accepted_filter (CfMcpServer *self,
                 JsonObject  *requested)
{
  static const struct { const char *flag; const char *capability; } flags[] = {
    { "toolsListChanged", "tools" },
    { "promptsListChanged", "prompts" },
    { "resourcesListChanged", "resources" },
  };
  JsonObject *accepted = json_object_new ();
  JsonArray *uris = cf_json_object_get_array (requested, "resourceSubscriptions");

  for (guint i = 0; i < G_N_ELEMENTS (flags); i++)
    if (cf_json_object_get_bool (requested, flags[i].flag, FALSE) &&
        json_object_has_member (self->capabilities, flags[i].capability))
      json_object_set_boolean_member (accepted, flags[i].flag, TRUE);

  if (uris != NULL && json_object_has_member (self->capabilities, "resources"))
    {
      JsonArray *kept = json_array_new ();

      for (guint i = 0; i < json_array_get_length (uris); i++)
        if (cf_json_node_is_string (json_array_get_element (uris, i)))
          json_array_add_string_element (kept, json_array_get_string_element (uris, i));
      json_object_set_array_member (accepted, "resourceSubscriptions", kept);
    }
  return accepted;
}

static void
builtin_listen (CfMcpServer  *self,
                CfMcpRequest *request)
{
  JsonObject *requested = cf_mcp_request_get_param_object (request, "notifications");
  Listener *listener;
  JsonObject *ack;

  if (requested == NULL)
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"notifications\" must be an object", NULL);
      return;
    }

  listener = g_new0 (Listener, 1);
  listener->request = g_object_ref (request);
  listener->filter = accepted_filter (self, requested);

  ack = json_object_new ();
  json_object_set_object_member (ack, "_meta", _cf_mcp_subscription_meta (request));
  json_object_set_object_member (ack, "notifications", json_object_ref (listener->filter));
  if (!cf_mcp_request_notify (request, "notifications/subscriptions/acknowledged", ack))
    {
      _cf_mcp_listener_free (listener);
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_REQUEST,
                                   "subscriptions/listen needs a streaming response: "
                                   "accept text/event-stream", NULL);
      return;
    }

  _cf_mcp_request_set_keep_open (request, TRUE);
  g_ptr_array_add (self->listeners, listener);
}

static gboolean
builtin_subscription (CfMcpServer  *self,
                      CfMcpRequest *request,
                      gboolean      subscribe)
{
  const char *uri = cf_mcp_request_get_param_string (request, "uri");
  CfMcpSession *session = cf_mcp_request_get_session (request);

  if (uri == NULL)
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"uri\" must be a string", NULL);
      return FALSE;
    }
  if (session != NULL && subscribe)
    cf_mcp_session_subscribe (session, uri);
  else if (session != NULL)
    cf_mcp_session_unsubscribe (session, uri);
  return TRUE;
}

/* Returns TRUE if the method was handled here. */
gboolean
_cf_mcp_server_dispatch_builtin (CfMcpServer  *self,
                  CfMcpRequest *request)
{
  const char *method = cf_mcp_request_get_method (request);

  if (g_str_equal (method, "ping"))
    reply_empty (request);
  else if (g_str_equal (method, "logging/setLevel"))
    builtin_set_level (self, request);
  else if (g_str_equal (method, "server/discover"))
    builtin_discover (self, request);
  else if (g_str_equal (method, "subscriptions/listen"))
    builtin_listen (self, request);
  else if (g_str_equal (method, "resources/subscribe") ||
           g_str_equal (method, "resources/unsubscribe"))
    {
      /* Record the subscription, then let a registered handler (a gateway
       * forwarding it upstream) have its say. */
      if (builtin_subscription (self, request, g_str_equal (method, "resources/subscribe")) &&
          !cf_mcp_server_has_method (self, method))
        reply_empty (request);
      return !cf_mcp_server_has_method (self, method) || cf_mcp_request_is_done (request);
    }
  else
    return FALSE;

  return TRUE;
}

