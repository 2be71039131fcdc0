/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway-tools"

#include "config.h"

#include "cf-gateway-private.h"
#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-server.h"
#include "cf-rest-tool.h"
#include "cf-tool-limits.h"
#include "cf-upstream-credentials.h"

/* tools/list and tools/call of the gateway. */

/* The JSON-RPC code of a call a per-tool limit refused: HTTP's 429, as
 * the 2026-07-28 revision asks new codes to lie outside the JSON-RPC
 * reserved range (-32768 to -32000). Its data says which limit and when
 * to come back (retryAfterMs, and retryAfter in seconds as HTTP's
 * Retry-After has it). */
#define TOOL_LIMIT_ERROR_CODE 429
/* Guarded REST sessions kept for reuse, one per scheme, host and port. */
#define MAX_REST_SESSIONS 64
#define REST_CONNS_PER_HOST 64
/* Arguments a call's required names are looked up in without a tree */
#define MAX_SCANNED_ARGUMENTS 32

static JsonObject *
tool_for_mcp (JsonObject *entity)
{
  JsonObject *tool = _cf_gateway_named_form (entity);

  _cf_gateway_copy_member (tool, entity, "inputSchema", "inputSchema");
  _cf_gateway_copy_member (tool, entity, "outputSchema", "outputSchema");
  _cf_gateway_copy_member (tool, entity, "annotations", "annotations");
  return tool;
}

static void
tools_list (CfMcpRequest *request,
            gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  g_autoptr(GPtrArray) visible = NULL;
  guint start, end;

  visible = _cf_gateway_list_page (self, request, snapshot, CF_ENTITY_TOOL, NULL, &start, &end);
  if (visible != NULL)
    _cf_gateway_return_page (self, request, snapshot, visible, start, end, "tools",
                             tool_for_mcp);
}

/* Per MCP, a call with bad arguments is a tool error the model can read
 * and correct, not a protocol error. */
static char *
missing_arguments (CfCatalogEntry *tool,
                   CfMcpRequest   *request,
                   GBytes         *arguments)
{
  const char * const *required = cf_catalog_entry_get_required_arguments (tool);
  CfJsonMember members[MAX_SCANNED_ARGUMENTS];
  JsonObject *object = NULL;
  g_autoptr(GString) missing = NULL;
  guint n = 0;

  if (required[0] == NULL)
    return NULL;
  /* The names are read from the text; the tree is made only for many
   * arguments, or escaped names. */
  if (arguments != NULL &&
      !cf_json_scan_object (g_bytes_get_data (arguments, NULL), g_bytes_get_size (arguments),
                            members, G_N_ELEMENTS (members), &n))
    object = cf_mcp_request_get_param_object (request, "arguments");
  for (guint i = 0; object == NULL && i < n; i++)
    if (members[i].name_escaped)
      object = cf_mcp_request_get_param_object (request, "arguments");

  missing = g_string_new (NULL);
  for (guint i = 0; required[i] != NULL; i++)
    {
      gboolean found = FALSE;

      if (object != NULL)
        found = json_object_has_member (object, required[i]);
      for (guint j = 0; object == NULL && j < n && !found; j++)
        found = cf_json_member_is (&members[j], required[i]);
      if (!found)
        g_string_append_printf (missing, "%s%s", missing->len ? ", " : "", required[i]);
    }
  return missing->len > 0 ? g_string_free (g_steal_pointer (&missing), FALSE) : NULL;
}

static void
on_rest_called (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(CfMcpRequest) request = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *answer = cf_rest_tool_call_finish (result, &error);

  if (answer == NULL)
    cf_mcp_request_return_error (request, CF_JSONRPC_INTERNAL_ERROR,
                                 "The tool call was cancelled", NULL);
  else
    cf_mcp_request_return (request, answer);
}

/* Per-tool limits */

/**
 * cf_gateway_set_tool_limits:
 * @self: a #CfGateway
 * @limits: (nullable): TOOL_RATE_LIMIT and TOOL_CONCURRENT_LIMIT; %NULL
 *   limits nothing
 *
 * Per-token and per-user limits will join these once identities exist.
 */
void
cf_gateway_set_tool_limits (CfGateway    *self,
                            CfToolLimits *limits)
{
  g_return_if_fail (CF_IS_GATEWAY (self));

  if (limits != NULL)
    cf_tool_limits_ref (limits);
  g_clear_pointer (&self->tool_limits, cf_tool_limits_unref);
  self->tool_limits = limits;
}

static void
refuse_call (CfMcpRequest *request,
             const char   *name,
             CfToolLimit   limit,
             guint         retry_after_ms,
             CfToolLimits *limits)
{
  JsonObject *data = json_object_new ();
  g_autofree char *message = NULL;

  json_object_set_string_member (data, "tool", name);
  json_object_set_int_member (data, "retryAfterMs", retry_after_ms);
  json_object_set_int_member (data, "retryAfter", (retry_after_ms + 999) / 1000);
  if (limit == CF_TOOL_LIMIT_RATE)
    {
      json_object_set_string_member (data, "limit", "rate");
      json_object_set_int_member (data, "maxCalls", cf_tool_limits_get_per_minute (limits));
      json_object_set_int_member (data, "windowMs", 60000);
      message = g_strdup_printf ("Rate limit exceeded for tool %s: %u calls per minute; "
                                 "retry in %u ms", name, cf_tool_limits_get_per_minute (limits),
                                 retry_after_ms);
    }
  else
    {
      json_object_set_string_member (data, "limit", "concurrency");
      json_object_set_int_member (data, "maxConcurrent", cf_tool_limits_get_concurrent (limits));
      message = g_strdup_printf ("Too many calls of tool %s at once: at most %u run together; "
                                 "retry later", name, cf_tool_limits_get_concurrent (limits));
    }
  cf_mcp_request_return_error (request, TOOL_LIMIT_ERROR_CODE, message,
                               cf_json_node_new_object (data));
}

/* Takes a place for the call; the place is given back when the request
 * is finalized, however it ends. */
static gboolean
admit (CfGateway      *self,
       CfMcpRequest   *request,
       CfCatalogEntry *tool,
       const char     *name)
{
  CfToolLimit limit;
  guint retry_after_ms;
  CfToolSlot *slot;

  if (self->tool_limits == NULL)
    return TRUE;
  slot = cf_tool_limits_acquire (self->tool_limits, cf_catalog_entry_get_id (tool),
                                 g_get_monotonic_time (), &limit, &retry_after_ms);
  if (slot == NULL)
    {
      refuse_call (request, name, limit, retry_after_ms, self->tool_limits);
      return FALSE;
    }
  g_object_set_data_full (G_OBJECT (request), "cf-tool-slot", slot,
                          (GDestroyNotify) cf_tool_slot_release);
  return TRUE;
}

/* REST tools */

/* A session that connects to @url's host only where the SSRF policy
 * allows, kept per scheme, host and port for keep-alive. */
static SoupSession *
rest_session (CfGateway  *self,
              const char *url)
{
  CfSsrfPolicy *policy = cf_catalog_get_ssrf_policy (self->catalog);
  g_autoptr(GUri) uri = url ? g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL) : NULL;
  g_autofree char *key = NULL;
  SoupSession *session;

  if (policy == NULL || !cf_ssrf_policy_get_enabled (policy) || uri == NULL ||
      g_uri_get_host (uri) == NULL)
    return self->http;
  key = g_strdup_printf ("%s://%s:%d", g_uri_get_scheme (uri), g_uri_get_host (uri),
                         g_uri_get_port (uri));
  if ((session = g_hash_table_lookup (self->rest_sessions, key)) != NULL)
    return session;
  session = cf_guarded_session_new (url, policy, REST_CONNS_PER_HOST, NULL);
  if (session == NULL)
    return self->http;
  if (g_hash_table_size (self->rest_sessions) >= MAX_REST_SESSIONS)
    g_hash_table_remove_all (self->rest_sessions);
  g_hash_table_insert (self->rest_sessions, g_steal_pointer (&key), session);
  return session;
}

/* The tool as the REST call sends it: its own headers plus its sealed
 * credentials, opened here and nowhere else. */
static JsonObject *
with_credentials (CfGateway   *self,
                  JsonObject  *tool,
                  GError     **error)
{
  JsonObject *auth = cf_json_object_get_object (tool, "auth");
  const char *sealed = cf_json_object_get_string (auth, "authValue");
  JsonObject *own = cf_json_object_get_object (tool, "headers");
  g_autoptr(GHashTable) credentials = NULL;
  g_autoptr(GList) members = NULL;
  JsonObject *headers;
  JsonObject *copy;
  GHashTableIter iter;
  gpointer name, value;

  if (sealed == NULL)
    return json_object_ref (tool);
  credentials = cf_upstream_credentials_open (cf_catalog_get_secret_store (self->catalog), sealed,
                                              error);
  if (credentials == NULL)
    return NULL;

  headers = own ? cf_json_object_deep_copy (own) : json_object_new ();
  g_hash_table_iter_init (&iter, credentials);
  while (g_hash_table_iter_next (&iter, &name, &value))
    json_object_set_string_member (headers, name, value);
  copy = json_object_new ();
  members = json_object_get_members (tool);
  for (GList *l = members; l != NULL; l = l->next)
    if (!g_str_equal (l->data, "headers"))
      json_object_set_member (copy, l->data, json_node_ref (json_object_get_member (tool,
                                                                                    l->data)));
  json_object_set_object_member (copy, "headers", headers);
  return copy;
}

static void
call_rest (CfGateway    *self,
           CfMcpRequest *request,
           JsonObject   *tool,
           JsonObject   *arguments)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) sent = with_credentials (self, tool, &error);

  if (sent == NULL)
    {
      g_autofree char *text = g_strdup_printf ("The tool's credentials cannot be used: %s",
                                               error->message);
      cf_mcp_request_return (request, _cf_gateway_tool_error (text));
      return;
    }
  cf_rest_tool_call_async (rest_session (self, cf_json_object_get_string (tool, "url")), sent,
                           arguments, self->tool_timeout_ms,
                           cf_mcp_request_get_cancellable (request), on_rest_called,
                           g_object_ref (request));
}

static void
tools_call (CfMcpRequest *request,
            gpointer      user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  const char *name = cf_mcp_request_get_param_string (request, "name");
  /* Passed upstream as the client wrote them: no tree on the way. */
  g_autoptr(GBytes) arguments = cf_mcp_request_dup_param_text (request, "arguments");
  CfCatalogEntry *tool;
  g_autofree char *missing = NULL;
  g_autofree char *text = NULL;

  if (name == NULL)
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"name\" must be a string", NULL);
      return;
    }
  /* Checked JSON: a value that starts with n is null. */
  if (arguments != NULL && *(const char *) g_bytes_get_data (arguments, NULL) == 'n')
    g_clear_pointer (&arguments, g_bytes_unref);
  if (arguments != NULL && *(const char *) g_bytes_get_data (arguments, NULL) != '{')
    {
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                   "Invalid params: \"arguments\" must be an object", NULL);
      return;
    }

  /* Everything a call reads of its tool is in its entry: no tree. */
  tool = cf_catalog_snapshot_find_entry_by_name (snapshot, CF_ENTITY_TOOL, name);
  if (!_cf_gateway_entry_visible (self, snapshot, request, CF_ENTITY_TOOL, tool))
    {
      text = g_strdup_printf ("Unknown tool: %s", name);
      cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS, text, NULL);
      return;
    }

  missing = missing_arguments (tool, request, arguments);
  if (missing != NULL)
    {
      text = g_strdup_printf ("Missing required argument(s) for %s: %s", name, missing);
      cf_mcp_request_return (request, _cf_gateway_tool_error (text));
      return;
    }

  if (!admit (self, request, tool, name))
    return;

  if (g_strcmp0 (cf_catalog_entry_get_integration_type (tool), "REST") == 0)
    {
      g_autoptr(JsonObject) entity = cf_catalog_entry_dup_object (tool);

      call_rest (self, request, entity, cf_mcp_request_get_param_object (request, "arguments"));
      return;
    }

  /* Upstream, the tool goes by its original name. A call may be sent
   * twice when the upstream said so through the tool's annotations (a
   * read-only tool changes nothing either). */
  _cf_gateway_relay_tool (self, request, cf_catalog_entry_get_gateway_id (tool),
                          _cf_gateway_tool_params (self, snapshot, tool,
                                                   cf_catalog_entry_get_original_name (tool) ?: name),
                          g_steal_pointer (&arguments), cf_catalog_entry_is_idempotent (tool));
}

void
_cf_gateway_install_tools (CfGateway *self)
{
  self->rest_sessions = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_object_unref);
  _cf_gateway_add_method (self, "tools/list", "tools.read", tools_list);
  _cf_gateway_add_method (self, "tools/call", "tools.execute", tools_call);
}
