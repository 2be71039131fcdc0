/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-dbus-service-entities"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-dbus-service-private.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-stream.h"

/* The upstream gateways, tools and virtual servers of
 * `org.contextforge.Gateway`. Every write is a cf_catalog_*_async() call
 * with the same input REST would pass, so the schema, the checks and the
 * error messages are the catalog's own. */

/* Writes */

typedef GVariant *(*ReplyFunc) (CfDbusService *self,
                                JsonObject    *entity);

typedef struct {
  CfDbusService         *self;
  GDBusMethodInvocation *invocation;    /* answered exactly once */
  ReplyFunc              reply;
} Call;

static Call *
call_new (CfDbusService         *self,
          GDBusMethodInvocation *invocation,
          ReplyFunc              reply)
{
  Call *call = g_new0 (Call, 1);

  call->self = g_object_ref (self);
  call->invocation = invocation;
  call->reply = reply;
  return call;
}

static void
call_free (Call *call)
{
  g_assert (call->invocation == NULL);
  g_object_unref (call->self);
  g_free (call);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Call, call_free)

static GVariant *
reply_nothing (CfDbusService *self,
               JsonObject    *entity)
{
  return NULL;
}

static GVariant *
reply_id (CfDbusService *self,
          JsonObject    *entity)
{
  return g_variant_new ("(s)", cf_json_object_get_string (entity, "id"));
}

static char *
server_url (CfDbusService *self,
            const char    *id)
{
  return g_strdup_printf ("%s/servers/%s/mcp", cf_daemon_get_listen_url (self->daemon) ?: "", id);
}

static GVariant *
reply_server (CfDbusService *self,
              JsonObject    *entity)
{
  const char *id = cf_json_object_get_string (entity, "id");
  g_autofree char *url = server_url (self, id);

  return g_variant_new ("(ss)", id, url);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) entity = NULL;

  entity = cf_catalog_write_finish (CF_CATALOG (source), result, &problems, &error);
  if (entity == NULL)
    _cf_dbus_service_return_error (g_steal_pointer (&call->invocation), error, problems);
  else
    g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation),
                                           call->reply (call->self, entity));
}

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Call) call = user_data;
  g_autoptr(GError) error = NULL;

  if (!cf_catalog_delete_finish (CF_CATALOG (source), result, &error))
    _cf_dbus_service_return_error (g_steal_pointer (&call->invocation), error, NULL);
  else
    g_dbus_method_invocation_return_value (g_steal_pointer (&call->invocation), NULL);
}

static CfCatalog *
catalog_of (CfDbusService *self)
{
  return cf_gateway_get_catalog (self->gateway);
}

static void
create (CfDbusService         *self,
        GDBusMethodInvocation *invocation,
        CfEntityKind           kind,
        JsonObject            *input,
        ReplyFunc              reply)
{
  cf_catalog_create_async (catalog_of (self), kind, input, NULL, on_written,
                           call_new (self, invocation, reply));
}

static void
update (CfDbusService         *self,
        GDBusMethodInvocation *invocation,
        CfEntityKind           kind,
        const char            *id,
        JsonObject            *input)
{
  cf_catalog_update_async (catalog_of (self), kind, id, input, NULL, on_written,
                           call_new (self, invocation, reply_nothing));
}

/* The same body as REST's `PUT {id}/state` makes. */
static void
set_enabled (CfDbusService         *self,
             GDBusMethodInvocation *invocation,
             CfEntityKind           kind,
             const char            *id,
             gboolean               enabled)
{
  g_autoptr(JsonObject) input = json_object_new ();

  json_object_set_boolean_member (input, "enabled", enabled);
  update (self, invocation, kind, id, input);
}

static void
remove_entity (CfDbusService         *self,
        GDBusMethodInvocation *invocation,
        CfEntityKind           kind,
        const char            *id)
{
  cf_catalog_delete_async (catalog_of (self), kind, id, NULL, on_deleted,
                           call_new (self, invocation, reply_nothing));
}

/* Returns: (transfer full) (nullable): @json as an object, or %NULL once
 * @invocation has been answered */
JsonObject *
_cf_dbus_service_parse_settings (GDBusMethodInvocation *invocation,
                                 const char            *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, &error);

  if (node == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT,
                                             _("The settings are not valid JSON: %s"),
                                             error ? error->message : "");
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                     CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT,
                                                     _("The settings must be a JSON object"));
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

/* Dictionaries for the lists */

static void
add_strv (GVariantBuilder *builder,
          const char      *key,
          JsonObject      *entity,
          const char      *member)
{
  JsonArray *array = cf_json_object_get_array (entity, member);
  GVariantBuilder strings;

  g_variant_builder_init (&strings, G_VARIANT_TYPE_STRING_ARRAY);
  for (guint i = 0; array != NULL && i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);

      if (cf_json_node_is_string (node))
        g_variant_builder_add (&strings, "s", json_node_get_string (node));
    }
  g_variant_builder_add (builder, "{sv}", key, g_variant_builder_end (&strings));
}

typedef void (*DescribeFunc) (CfDbusService     *self,
                              CfCatalogSnapshot *snapshot,
                              JsonObject        *entity,
                              GVariantBuilder   *builder);

static GVariant *
describe_all (CfDbusService *self,
              CfEntityKind   kind,
              DescribeFunc   describe)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (catalog_of (self));
  GPtrArray *entries = cf_catalog_snapshot_entries (snapshot, kind);
  GVariantBuilder all;

  /* Each tree is made for its description and let go. */
  g_variant_builder_init (&all, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < entries->len; i++)
    {
      g_autoptr(JsonObject) entity = cf_catalog_entry_dup_object (entries->pdata[i]);
      GVariantBuilder entry;

      g_variant_builder_init (&entry, G_VARIANT_TYPE_VARDICT);
      _cf_dbus_service_add_string (&entry, "id", entity, "id");
      _cf_dbus_service_add_string (&entry, "name", entity, "name");
      _cf_dbus_service_add_bool (&entry, "enabled", entity, "enabled", TRUE);
      describe (self, snapshot, entity, &entry);
      g_variant_builder_add_value (&all, g_variant_builder_end (&entry));
    }
  return g_variant_builder_end (&all);
}

/* Upstream gateways */

static guint
count_tools_of (CfCatalogSnapshot *snapshot,
                const char        *gateway_id)
{
  GPtrArray *tools = cf_catalog_snapshot_entries (snapshot, CF_ENTITY_TOOL);
  guint n = 0;

  for (guint i = 0; i < tools->len; i++)
    if (g_strcmp0 (cf_catalog_entry_get_gateway_id (tools->pdata[i]), gateway_id) == 0)
      n++;
  return n;
}

static void
describe_gateway (CfDbusService     *self,
                  CfCatalogSnapshot *snapshot,
                  JsonObject        *gateway,
                  GVariantBuilder   *builder)
{
  _cf_dbus_service_add_string (builder, "url", gateway, "url");
  _cf_dbus_service_add_string (builder, "transport", gateway, "transport");
  _cf_dbus_service_add_string (builder, "command", gateway, "command");
  add_strv (builder, "args", gateway, "args");
  _cf_dbus_service_add_string (builder, "status-message", gateway, "statusMessage");
  _cf_dbus_service_add_bool (builder, "reachable", gateway, "reachable", TRUE);
  g_variant_builder_add (builder, "{sv}", "tool-count",
                         g_variant_new_uint32 (count_tools_of (
                             snapshot, cf_json_object_get_string (gateway, "id"))));
}

static gboolean
handle_list_gateways (CfDbusGateway         *skeleton,
                      GDBusMethodInvocation *invocation,
                      CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    cf_dbus_gateway_complete_list_gateways (skeleton, invocation,
                                            describe_all (self, CF_ENTITY_GATEWAY,
                                                          describe_gateway));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_add_gateway (CfDbusGateway         *skeleton,
                    GDBusMethodInvocation *invocation,
                    const char            *settings,
                    CfDbusService         *self)
{
  g_autoptr(JsonObject) input = NULL;

  if (_cf_dbus_service_check_ready (self, invocation) &&
      (input = _cf_dbus_service_parse_settings (invocation, settings)) != NULL)
    create (self, invocation, CF_ENTITY_GATEWAY, input, reply_id);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_update_gateway (CfDbusGateway         *skeleton,
                       GDBusMethodInvocation *invocation,
                       const char            *id,
                       const char            *settings,
                       CfDbusService         *self)
{
  g_autoptr(JsonObject) input = NULL;

  if (_cf_dbus_service_check_ready (self, invocation) &&
      (input = _cf_dbus_service_parse_settings (invocation, settings)) != NULL)
    update (self, invocation, CF_ENTITY_GATEWAY, id, input);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_remove_gateway (CfDbusGateway         *skeleton,
                       GDBusMethodInvocation *invocation,
                       const char            *id,
                       CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    remove_entity (self, invocation, CF_ENTITY_GATEWAY, id);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_gateway_enabled (CfDbusGateway         *skeleton,
                            GDBusMethodInvocation *invocation,
                            const char            *id,
                            gboolean               enabled,
                            CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    set_enabled (self, invocation, CF_ENTITY_GATEWAY, id, enabled);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* As REST's `POST /v1/gateways/{id}/tools/refresh`: the sync runs in the
 * background and the gateway's status fields say how it went. */
static gboolean
handle_refresh_gateway (CfDbusGateway         *skeleton,
                        GDBusMethodInvocation *invocation,
                        const char            *id,
                        CfDbusService         *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  CfDbusServiceError code;
  const char *message;

  if (!_cf_dbus_service_check_ready (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;

  snapshot = cf_catalog_get_snapshot (catalog_of (self));
  if (cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_GATEWAY, id) == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_NOT_FOUND,
                                             _("Gateway not found: %s"), id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  if (self->pool != NULL && cf_upstream_pool_refresh (self->pool, id))
    {
      cf_dbus_gateway_complete_refresh_gateway (skeleton, invocation);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  code = self->pool == NULL ? CF_DBUS_SERVICE_ERROR_FAILED : CF_DBUS_SERVICE_ERROR_CONFLICT;
  message = self->pool == NULL ? _("Upstream connections are not running")
                               : _("The gateway is disabled: enable it to connect");
  g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR, code,
                                                 message);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Tools */

static void
describe_tool (CfDbusService     *self,
               CfCatalogSnapshot *snapshot,
               JsonObject        *tool,
               GVariantBuilder   *builder)
{
  _cf_dbus_service_add_string (builder, "original-name", tool, "originalName");
  _cf_dbus_service_add_string (builder, "description", tool, "description");
  _cf_dbus_service_add_string (builder, "integration-type", tool, "integrationType");
  _cf_dbus_service_add_string (builder, "gateway-id", tool, "gatewayId");
  _cf_dbus_service_add_bool (builder, "reachable", tool, "reachable", TRUE);
}

static gboolean
handle_list_tools (CfDbusGateway         *skeleton,
                   GDBusMethodInvocation *invocation,
                   CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    cf_dbus_gateway_complete_list_tools (skeleton, invocation,
                                         describe_all (self, CF_ENTITY_TOOL, describe_tool));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_get_tool (CfDbusGateway         *skeleton,
                 GDBusMethodInvocation *invocation,
                 const char            *id,
                 CfDbusService         *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autoptr(JsonObject) view = NULL;
  g_autofree char *json = NULL;
  JsonObject *tool;

  if (!_cf_dbus_service_check_ready (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;

  snapshot = cf_catalog_get_snapshot (catalog_of (self));
  tool = cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_TOOL, id);
  if (tool == NULL)
    {
      g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_NOT_FOUND,
                                             _("Tool not found: %s"), id);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }
  view = cf_entity_schema_public_view (CF_ENTITY_TOOL, tool);
  json = cf_json_object_to_string (view);
  cf_dbus_gateway_complete_get_tool (skeleton, invocation, json);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_tool_enabled (CfDbusGateway         *skeleton,
                         GDBusMethodInvocation *invocation,
                         const char            *id,
                         gboolean               enabled,
                         CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    set_enabled (self, invocation, CF_ENTITY_TOOL, id, enabled);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* CallTool: one tools/call dispatched to the gateway's own MCP server, as
 * a session-less client would send it, answered through this stream. */

#define CF_TYPE_TOOL_CALL_STREAM (cf_tool_call_stream_get_type ())
G_DECLARE_FINAL_TYPE (CfToolCallStream, cf_tool_call_stream, CF, TOOL_CALL_STREAM, GObject)

struct _CfToolCallStream
{
  GObject                parent_instance;
  GDBusMethodInvocation *invocation;    /* answered exactly once */
};

static void tool_call_stream_iface_init (CfMcpStreamInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfToolCallStream, cf_tool_call_stream, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_MCP_STREAM,
                                                      tool_call_stream_iface_init))

/* Progress and log notifications have nowhere to go on D-Bus. */
static gboolean
tool_call_stream_send (CfMcpStream *stream,
                       JsonNode    *message)
{
  return TRUE;
}

static void
return_jsonrpc_error (GDBusMethodInvocation *invocation,
                      JsonObject            *error)
{
  const char *message = cf_json_object_get_string (error, "message");
  gint64 code = json_object_get_int_member_with_default (error, "code", 0);

  g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                 code == CF_JSONRPC_INVALID_PARAMS
                                                   ? CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT
                                                   : CF_DBUS_SERVICE_ERROR_FAILED,
                                                 message ?: _("The tool call failed"));
}

static void
tool_call_stream_finish (CfMcpStream *stream,
                         JsonNode    *message,
                         guint        status)
{
  CfToolCallStream *self = (CfToolCallStream *) stream;
  GDBusMethodInvocation *invocation = g_steal_pointer (&self->invocation);
  JsonObject *response;
  JsonObject *result;
  g_autofree char *json = NULL;

  g_return_if_fail (invocation != NULL);

  response = message != NULL && JSON_NODE_HOLDS_OBJECT (message)
             ? json_node_get_object (message) : NULL;
  result = response != NULL ? cf_json_object_get_object (response, "result") : NULL;
  if (result == NULL)
    {
      JsonObject *error = response != NULL ? cf_json_object_get_object (response, "error") : NULL;

      if (error != NULL)
        return_jsonrpc_error (invocation, error);
      else
        g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                       CF_DBUS_SERVICE_ERROR_FAILED,
                                                       _("The tool call had no answer"));
      return;
    }
  json = cf_json_object_to_string (result);
  g_dbus_method_invocation_return_value (invocation, g_variant_new ("(s)", json));
}

static void
tool_call_stream_iface_init (CfMcpStreamInterface *iface)
{
  iface->send = tool_call_stream_send;
  iface->finish = tool_call_stream_finish;
}

static void
cf_tool_call_stream_dispose (GObject *object)
{
  CfToolCallStream *self = (CfToolCallStream *) object;

  /* The server dropped the request unanswered. */
  if (self->invocation != NULL)
    g_dbus_method_invocation_return_error_literal (g_steal_pointer (&self->invocation),
                                                   CF_DBUS_SERVICE_ERROR,
                                                   CF_DBUS_SERVICE_ERROR_FAILED,
                                                   _("The tool call had no answer"));
  G_OBJECT_CLASS (cf_tool_call_stream_parent_class)->dispose (object);
}

static void
cf_tool_call_stream_class_init (CfToolCallStreamClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cf_tool_call_stream_dispose;
}

static void
cf_tool_call_stream_init (CfToolCallStream *self)
{
}

/* Returns: (transfer full) (nullable): @json as arguments, or %NULL once
 * @invocation has been answered; "" means none */
static JsonNode *
parse_arguments (GDBusMethodInvocation *invocation,
                 const char            *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (*json == '\0')
    return cf_json_node_new_object (json_object_new ());
  node = cf_json_parse (json, -1, &error);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_dbus_method_invocation_return_error_literal (invocation, CF_DBUS_SERVICE_ERROR,
                                                     CF_DBUS_SERVICE_ERROR_INVALID_ARGUMENT,
                                                     _("The arguments must be a JSON object"));
      return NULL;
    }
  return g_steal_pointer (&node);
}

static gboolean
handle_call_tool (CfDbusGateway         *skeleton,
                  GDBusMethodInvocation *invocation,
                  const char            *name,
                  const char            *arguments_json,
                  CfDbusService         *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autoptr(JsonNode) arguments = NULL;
  g_autoptr(JsonNode) request = NULL;
  g_autoptr(CfToolCallStream) stream = NULL;
  CfMcpTransportContext context = { NULL, };
  JsonObject *tool;
  JsonObject *object;
  JsonObject *params;

  if (!_cf_dbus_service_check_ready (self, invocation) ||
      (arguments = parse_arguments (invocation, arguments_json)) == NULL)
    return G_DBUS_METHOD_INVOCATION_HANDLED;

  snapshot = cf_catalog_get_snapshot (catalog_of (self));
  tool = cf_catalog_snapshot_find_by_name (snapshot, CF_ENTITY_TOOL, name);
  if (tool == NULL || !cf_json_object_get_bool (tool, "enabled", TRUE))
    {
      g_dbus_method_invocation_return_error (invocation, CF_DBUS_SERVICE_ERROR,
                                             CF_DBUS_SERVICE_ERROR_NOT_FOUND,
                                             _("Tool not found: %s"), name);
      return G_DBUS_METHOD_INVOCATION_HANDLED;
    }

  params = json_object_new ();
  json_object_set_string_member (params, "name", name);
  json_object_set_member (params, "arguments", g_steal_pointer (&arguments));
  object = json_object_new ();
  json_object_set_string_member (object, "jsonrpc", "2.0");
  json_object_set_int_member (object, "id", 1);
  json_object_set_string_member (object, "method", "tools/call");
  json_object_set_object_member (object, "params", params);
  request = json_node_init_object (json_node_alloc (), object);
  json_object_unref (object);

  stream = g_object_new (CF_TYPE_TOOL_CALL_STREAM, NULL);
  stream->invocation = invocation;
  cf_mcp_server_dispatch (cf_gateway_get_server (self->gateway), &context, request,
                          CF_MCP_STREAM (stream));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* Virtual servers */

static void
describe_server (CfDbusService     *self,
                 CfCatalogSnapshot *snapshot,
                 JsonObject        *server,
                 GVariantBuilder   *builder)
{
  g_autofree char *url = server_url (self, cf_json_object_get_string (server, "id"));

  _cf_dbus_service_add_string (builder, "description", server, "description");
  g_variant_builder_add (builder, "{sv}", "url", g_variant_new_string (url));
  add_strv (builder, "tools", server, "associatedTools");
}

static gboolean
handle_list_servers (CfDbusGateway         *skeleton,
                     GDBusMethodInvocation *invocation,
                     CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    cf_dbus_gateway_complete_list_servers (skeleton, invocation,
                                           describe_all (self, CF_ENTITY_SERVER,
                                                         describe_server));
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

/* The body REST's `POST /v1/servers` takes inside its "server" member. */
static gboolean
handle_compose_server (CfDbusGateway         *skeleton,
                       GDBusMethodInvocation *invocation,
                       const char            *name,
                       const char            *description,
                       const char * const    *tool_ids,
                       CfDbusService         *self)
{
  g_autoptr(JsonObject) input = NULL;
  JsonArray *tools;

  if (!_cf_dbus_service_check_ready (self, invocation))
    return G_DBUS_METHOD_INVOCATION_HANDLED;

  input = json_object_new ();
  tools = json_array_new ();
  for (guint i = 0; tool_ids[i] != NULL; i++)
    json_array_add_string_element (tools, tool_ids[i]);
  json_object_set_string_member (input, "name", name);
  if (*description != '\0')
    json_object_set_string_member (input, "description", description);
  json_object_set_array_member (input, "associatedTools", tools);
  create (self, invocation, CF_ENTITY_SERVER, input, reply_server);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_set_server_enabled (CfDbusGateway         *skeleton,
                           GDBusMethodInvocation *invocation,
                           const char            *id,
                           gboolean               enabled,
                           CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    set_enabled (self, invocation, CF_ENTITY_SERVER, id, enabled);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

static gboolean
handle_delete_server (CfDbusGateway         *skeleton,
                      GDBusMethodInvocation *invocation,
                      const char            *id,
                      CfDbusService         *self)
{
  if (_cf_dbus_service_check_ready (self, invocation))
    remove_entity (self, invocation, CF_ENTITY_SERVER, id);
  return G_DBUS_METHOD_INVOCATION_HANDLED;
}

void
_cf_dbus_service_init_entities (CfDbusService *self)
{
  static const struct {
    const char *signal;
    GCallback   handler;
  } handlers[] = {
    { "handle-list-gateways", G_CALLBACK (handle_list_gateways) },
    { "handle-add-gateway", G_CALLBACK (handle_add_gateway) },
    { "handle-update-gateway", G_CALLBACK (handle_update_gateway) },
    { "handle-remove-gateway", G_CALLBACK (handle_remove_gateway) },
    { "handle-set-gateway-enabled", G_CALLBACK (handle_set_gateway_enabled) },
    { "handle-refresh-gateway", G_CALLBACK (handle_refresh_gateway) },
    { "handle-list-tools", G_CALLBACK (handle_list_tools) },
    { "handle-get-tool", G_CALLBACK (handle_get_tool) },
    { "handle-set-tool-enabled", G_CALLBACK (handle_set_tool_enabled) },
    { "handle-call-tool", G_CALLBACK (handle_call_tool) },
    { "handle-list-servers", G_CALLBACK (handle_list_servers) },
    { "handle-compose-server", G_CALLBACK (handle_compose_server) },
    { "handle-set-server-enabled", G_CALLBACK (handle_set_server_enabled) },
    { "handle-delete-server", G_CALLBACK (handle_delete_server) },
  };

  for (guint i = 0; i < G_N_ELEMENTS (handlers); i++)
    g_signal_connect (self->skeleton, handlers[i].signal, handlers[i].handler, self);
}
