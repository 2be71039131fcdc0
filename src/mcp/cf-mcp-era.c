/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-era"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-mcp-era.h"
#include "cf-mcp-server.h"
#include "cf-mcp-session.h"
#include "cf-mcp-version.h"

/* Every protocol-era difference on the server side lives in this file: how
 * a request's version and capabilities are found, which methods exist in
 * which era, and how results are shaped on the way out. Handlers never
 * look at versions. */

#define META_VERSION      "io.modelcontextprotocol/protocolVersion"
#define META_CAPABILITIES "io.modelcontextprotocol/clientCapabilities"
#define META_LOG_LEVEL    "io.modelcontextprotocol/logLevel"
#define META_SERVER_INFO  "io.modelcontextprotocol/serverInfo"

static const char * const legacy_only_methods[] = {
  "initialize", "ping", "logging/setLevel", "resources/subscribe",
  "resources/unsubscribe", NULL
};

static const char * const modern_only_methods[] = {
  "server/discover", "subscriptions/listen", NULL
};

static const char * const cacheable_methods[] = {
  "server/discover", "tools/list", "prompts/list", "resources/list",
  "resources/templates/list", "resources/read", NULL
};

static gboolean
fail (GError    **error,
      guint      *status,
      guint       http_status,
      int         code,
      const char *format,
      ...) G_GNUC_PRINTF (5, 6);

static gboolean
fail (GError    **error,
      guint      *status,
      guint       http_status,
      int         code,
      const char *format,
      ...)
{
  va_list args;

  va_start (args, format);
  if (error != NULL)
    *error = g_error_new_valist (CF_JSONRPC_ERROR, code, format, args);
  va_end (args);
  *status = http_status;
  return FALSE;
}

/**
 * cf_mcp_decode_header_value:
 * @value: a header value, possibly in the `=?base64?...?=` sentinel form
 *
 * Returns: (transfer full) (nullable): the decoded value, or %NULL if the
 *   sentinel form holds invalid base64 or invalid UTF-8
 */
char *
cf_mcp_decode_header_value (const char *value)
{
  gsize len = strlen (value);
  g_autofree char *inner = NULL;
  g_autofree guchar *decoded = NULL;
  gsize decoded_len = 0;

  if (len < 11 || !g_str_has_prefix (value, "=?base64?") || !g_str_has_suffix (value, "?="))
    return g_strdup (value);

  inner = g_strndup (value + 9, len - 11);
  for (const char *p = inner; *p; p++)
    if (!g_ascii_isalnum (*p) && *p != '+' && *p != '/' && *p != '=')
      return NULL;

  decoded = g_base64_decode (inner, &decoded_len);
  if (!g_utf8_validate_len ((const char *) decoded, decoded_len, NULL) ||
      memchr (decoded, '\0', decoded_len) != NULL)
    return NULL;

  return g_strndup ((const char *) decoded, decoded_len);
}

JsonNode *
cf_mcp_era_unsupported_data (CfMcpServer *server,
                             const char  *requested)
{
  JsonObject *data = json_object_new ();
  JsonArray *supported = json_array_new ();
  const char * const *versions = cf_mcp_server_get_versions (server);

  for (guint i = 0; versions[i] != NULL; i++)
    json_array_add_string_element (supported, versions[i]);
  json_object_set_array_member (data, "supported", supported);
  json_object_set_string_member (data, "requested", requested ? requested : "");
  return cf_json_node_new_object (data);
}

static gboolean
check_header (const char  *header_name,
              const char  *header,
              const char  *body_value,
              guint       *status,
              GError     **error)
{
  g_autofree char *decoded = NULL;

  if (header == NULL)
    return fail (error, status, 400, CF_JSONRPC_HEADER_MISMATCH,
                 "Header mismatch: required header %s is missing", header_name);

  decoded = cf_mcp_decode_header_value (header);
  if (decoded == NULL)
    return fail (error, status, 400, CF_JSONRPC_HEADER_MISMATCH,
                 "Header mismatch: %s header holds an invalid base64 value", header_name);

  if (g_strcmp0 (decoded, body_value) != 0)
    return fail (error, status, 400, CF_JSONRPC_HEADER_MISMATCH,
                 "Header mismatch: %s header value '%s' does not match body value '%s'",
                 header_name, decoded, body_value ? body_value : "");
  return TRUE;
}

/* The Mcp-Param-* mirrors of a tools/call's arguments, as the tool's
 * schema asks for them. */
static gboolean
check_param_headers (CfMcpServer           *server,
                     CfMcpTransportContext *context,
                     CfJsonrpcMessage      *message,
                     guint                 *status,
                     GError               **error)
{
  CfMcpParamHeaders *headers;

  if (context->header_lookup == NULL || !g_str_equal (message->method, "tools/call"))
    return TRUE;
  headers = cf_mcp_server_lookup_param_headers (server,
                                                cf_jsonrpc_message_get_param_string (message, "name"),
                                                context->scope, context->identity);
  if (headers == NULL)
    return TRUE;
  if (cf_mcp_param_headers_validate (headers,
                                     cf_jsonrpc_message_get_param_object (message, "arguments"),
                                     context->header_lookup, context->header_lookup_data,
                                     error))
    return TRUE;
  *status = 400;
  return FALSE;
}

static const char *
name_source (CfJsonrpcMessage *message)
{
  if (g_str_equal (message->method, "tools/call") || g_str_equal (message->method, "prompts/get"))
    return "name";
  if (g_str_equal (message->method, "resources/read"))
    return "uri";
  return NULL;
}

static gboolean
resolve_modern (CfMcpServer           *server,
                CfMcpTransportContext *context,
                CfJsonrpcMessage      *message,
                CfMcpRequestInfo      *info,
                guint                 *status,
                GError               **error)
{
  const char *version = cf_jsonrpc_message_get_meta_string (message, META_VERSION);
  const char *level = cf_jsonrpc_message_get_meta_string (message, META_LOG_LEVEL);
  const char *name_member = name_source (message);

  if (version == NULL)
    return fail (error, status, 400, CF_JSONRPC_INVALID_PARAMS,
                 "Invalid params: _meta." META_VERSION " must be a string");

  if (!cf_mcp_server_supports_version (server, version) ||
      cf_mcp_version_get_era (version) != CF_MCP_ERA_MODERN)
    return fail (error, status, 400, CF_JSONRPC_UNSUPPORTED_VERSION,
                 "Unsupported protocol version");

  if (context->validate_headers)
    {
      if (!check_header ("MCP-Protocol-Version", context->protocol_version_header,
                         version, status, error) ||
          !check_header ("Mcp-Method", context->method_header, message->method, status, error))
        return FALSE;
      if (name_member != NULL &&
          !check_header ("Mcp-Name", context->name_header,
                         cf_jsonrpc_message_get_param_string (message, name_member),
                         status, error))
        return FALSE;
      if (!check_param_headers (server, context, message, status, error))
        return FALSE;
    }

  /* Read when the request needs them (cf_mcp_request_get_client_capabilities()) */
  if (!cf_jsonrpc_message_meta_is_object (message, META_CAPABILITIES))
    return fail (error, status, 400, CF_JSONRPC_INVALID_PARAMS,
                 "Invalid params: _meta." META_CAPABILITIES " must be an object");

  info->log_level = cf_mcp_log_level_from_string (level);
  if (level != NULL && info->log_level == CF_MCP_LOG_LEVEL_NONE)
    return fail (error, status, 400, CF_JSONRPC_INVALID_PARAMS,
                 "Invalid params: unknown log level '%s'", level);

  info->version = version;
  info->era = CF_MCP_ERA_MODERN;
  return TRUE;
}

static gboolean
check_legacy_header (CfMcpServer           *server,
                     CfMcpTransportContext *context,
                     guint                 *status,
                     GError               **error)
{
  const char *header = context->protocol_version_header;

  if (header == NULL)
    return TRUE;

  /* A client may keep sending the version it first tried; any legacy
   * version we serve is fine. */
  if (!cf_mcp_server_supports_version (server, header) ||
      cf_mcp_version_get_era (header) != CF_MCP_ERA_LEGACY)
    return fail (error, status, 400, CF_JSONRPC_INVALID_REQUEST,
                 "Bad Request: unsupported MCP-Protocol-Version '%s'", header);
  return TRUE;
}

/**
 * cf_mcp_era_resolve:
 * @server: the server
 * @context: what the transport knows
 * @message: a request
 * @info: (out caller-allocates): the era-neutral facts
 * @http_status: (out): an HTTP status for the error, when one is returned
 * @error: return location for a %CF_JSONRPC_ERROR
 *
 * Finds which protocol revision a request speaks and validates what that
 * revision requires (headers mirroring the body, `_meta` fields, the
 * negotiated session version).
 */
gboolean
cf_mcp_era_resolve (CfMcpServer           *server,
                    CfMcpTransportContext *context,
                    CfJsonrpcMessage      *message,
                    CfMcpRequestInfo      *info,
                    guint                 *http_status,
                    GError               **error)
{
  CfMcpSession *session = context->session;
  const char *header = context->protocol_version_header;

  memset (info, 0, sizeof *info);
  info->log_level = CF_MCP_LOG_LEVEL_NONE;
  *http_status = 200;

  if (cf_jsonrpc_message_get_meta (message, META_VERSION) != NULL)
    return resolve_modern (server, context, message, info, http_status, error);

  if (g_str_equal (message->method, "initialize"))
    {
      info->era = CF_MCP_ERA_LEGACY;
      return TRUE;
    }

  if (session != NULL && cf_mcp_session_get_protocol_version (session) != NULL)
    {
      if (!check_legacy_header (server, context, http_status, error))
        return FALSE;
      info->version = cf_mcp_session_get_protocol_version (session);
      info->era = CF_MCP_ERA_LEGACY;
      info->client_capabilities = cf_mcp_session_get_client_capabilities (session);
      info->log_level = cf_mcp_session_get_log_level (session);
      return TRUE;
    }

  /* No session and no _meta: a legacy client without a session (servers
   * may run session-less), unless the headers say it is modern. */
  if (header != NULL && cf_mcp_version_get_era (header) == CF_MCP_ERA_MODERN)
    return fail (error, http_status, 400, CF_JSONRPC_INVALID_PARAMS,
                 "Invalid params: _meta." META_VERSION " is required");
  if (!check_legacy_header (server, context, http_status, error))
    return FALSE;

  info->version = header ? header : cf_mcp_server_get_default_legacy_version (server);
  if (info->version == NULL)
    return fail (error, http_status, 400, CF_JSONRPC_INVALID_PARAMS,
                 "Invalid params: _meta." META_VERSION " is required");
  info->era = CF_MCP_ERA_LEGACY;
  return TRUE;
}

gboolean
cf_mcp_era_method_allowed (CfMcpEra    era,
                           const char *method)
{
  if (era == CF_MCP_ERA_MODERN)
    return !g_strv_contains (legacy_only_methods, method);
  return !g_strv_contains (modern_only_methods, method);
}

/**
 * cf_mcp_era_error_status:
 *
 * Returns: the HTTP status an error response carries in @era
 */
guint
cf_mcp_era_error_status (CfMcpEra era,
                         int      code)
{
  if (era != CF_MCP_ERA_MODERN)
    return 200;

  switch (code)
    {
    case CF_JSONRPC_METHOD_NOT_FOUND:
      return 404;
    case CF_JSONRPC_HEADER_MISMATCH:
    case CF_JSONRPC_MISSING_CLIENT_CAPABILITY:
    case CF_JSONRPC_UNSUPPORTED_VERSION:
      return 400;
    default:
      return 200;
    }
}

static void
add_server_info (JsonObject *result,
                 JsonObject *server_info)
{
  JsonObject *meta = cf_json_object_get_object (result, "_meta");

  if (meta == NULL)
    {
      meta = json_object_new ();
      json_object_set_object_member (result, "_meta", meta);
    }
  if (!json_object_has_member (meta, META_SERVER_INFO))
    json_object_set_object_member (meta, META_SERVER_INFO, json_object_ref (server_info));
}

/* Every member of a result that cf_mcp_era_shape_result() reads, sets or
 * removes (_meta for the server's serverInfo) */
static const char * const shaped_members[] = {
  "resultType", "ttlMs", "cacheScope", "_meta", NULL,
};

/**
 * cf_mcp_era_get_shaped_members:
 *
 * The members of a result the era adapter reads, sets or removes: a relay
 * that passes a result's other members through as text must hold these
 * in the tree it hands to cf_mcp_era_shape_result().
 *
 * Returns: (transfer none) (array zero-terminated=1): their names
 */
const char * const *
cf_mcp_era_get_shaped_members (void)
{
  return shaped_members;
}

/**
 * cf_mcp_era_shape_result:
 * @era: the request's era
 * @method: the request's method
 * @result: (transfer full): what the handler returned
 * @ttl_ms: the cache lifetime for cacheable results
 * @private_scope: whether the result varies per caller
 * @server_info: the server's name and version
 *
 * Returns: (transfer full): @result as @era expects it
 */
JsonObject *
cf_mcp_era_shape_result (CfMcpEra    era,
                         const char *method,
                         JsonObject *result,
                         gint64      ttl_ms,
                         gboolean    private_scope,
                         JsonObject *server_info)
{
  const char *type;

  if (era == CF_MCP_ERA_LEGACY)
    {
      json_object_remove_member (result, "resultType");
      json_object_remove_member (result, "ttlMs");
      json_object_remove_member (result, "cacheScope");
      return result;
    }

  if (!json_object_has_member (result, "resultType"))
    json_object_set_string_member (result, "resultType", "complete");
  type = cf_json_object_get_string (result, "resultType");

  if (g_strcmp0 (type, "complete") == 0 && g_strv_contains (cacheable_methods, method))
    {
      if (!json_object_has_member (result, "ttlMs"))
        json_object_set_int_member (result, "ttlMs", MAX (ttl_ms, 0));
      if (!json_object_has_member (result, "cacheScope"))
        json_object_set_string_member (result, "cacheScope",
                                       private_scope ? "private" : "public");
    }

  add_server_info (result, server_info);
  return result;
}

/**
 * cf_mcp_era_append_shaped_members:
 * @era: the request's era
 * @method: the request's method
 * @ttl_ms: the cache lifetime for cacheable results
 * @private_scope: whether the result varies per caller
 * @server_info: the server's serverInfo object, serialized
 * @out: a result being written, up to the end of its last member
 * @separate: whether @out holds a member of the result already
 *
 * What cf_mcp_era_shape_result() adds to a result that has none of the
 * shaped members (cf_mcp_era_get_shaped_members()), written as text: for
 * a relayed result that passes through unparsed, no tree is made just to
 * add resultType and serverInfo.
 */
void
cf_mcp_era_append_shaped_members (CfMcpEra    era,
                                  const char *method,
                                  gint64      ttl_ms,
                                  gboolean    private_scope,
                                  const char *server_info,
                                  GString    *out,
                                  gboolean    separate)
{
  if (era == CF_MCP_ERA_LEGACY)
    return;

  if (separate)
    g_string_append_c (out, ',');
  g_string_append (out, "\"resultType\":\"complete\"");
  if (g_strv_contains (cacheable_methods, method))
    g_string_append_printf (out, ",\"ttlMs\":%" G_GINT64_FORMAT ",\"cacheScope\":\"%s\"",
                            MAX (ttl_ms, 0), private_scope ? "private" : "public");
  g_string_append (out, ",\"_meta\":{\"" META_SERVER_INFO "\":");
  g_string_append (out, server_info);
  g_string_append_c (out, '}');
}
