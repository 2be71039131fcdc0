/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-admin-rest-backend"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>
#include <string.h>

#include "cf-admin-rest-backend.h"

/**
 * CfAdminRestBackend:
 *
 * A gateway elsewhere, over its REST API (/v1) and /rpc, with a bearer
 * token. It answers the D-Bus interface's methods with the same
 * dictionaries, built from REST's JSON; methods REST has no counterpart
 * for fail with %G_IO_ERROR_NOT_SUPPORTED. Nothing tells it when the
 * catalog changes: its pages show what was there when they loaded.
 */
struct _CfAdminRestBackend
{
  GObject      parent_instance;

  SoupSession *session;
  char        *base_url;
  char        *token;
};

static void backend_iface_init (CfAdminBackendInterface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfAdminRestBackend, cf_admin_rest_backend, G_TYPE_OBJECT,
                               G_IMPLEMENT_INTERFACE (CF_TYPE_ADMIN_BACKEND, backend_iface_init))

/* One method: its requests, sent together, and what makes the reply
 * out of their answers. */
typedef GVariant *(*ReplyFunc) (CfAdminRestBackend *self,
                                JsonNode          **answers,
                                GError            **error);

typedef struct {
  ReplyFunc  reply;
  JsonNode **answers;
  guint      n_requests;
  guint      pending;
  GError    *error;
} Call;

static void
call_free (Call *call)
{
  for (guint i = 0; i < call->n_requests; i++)
    g_clear_pointer (&call->answers[i], json_node_unref);
  g_free (call->answers);
  g_clear_error (&call->error);
  g_free (call);
}

/* Dictionaries, as the D-Bus interface has them */

static const char *
member_string (JsonObject *object,
               const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return "";
  return json_node_get_string (node);
}

static gboolean
member_bool (JsonObject *object,
             const char *member)
{
  JsonNode *node = json_object_get_member (object, member);

  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return TRUE;
  return json_node_get_boolean (node);
}

static GVariant *
member_strv (JsonObject *object,
             const char *member)
{
  JsonNode *node = json_object_get_member (object, member);
  GVariantBuilder builder;

  g_variant_builder_init (&builder, G_VARIANT_TYPE_STRING_ARRAY);
  if (node != NULL && JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (JSON_NODE_HOLDS_VALUE (element) &&
              json_node_get_value_type (element) == G_TYPE_STRING)
            g_variant_builder_add (&builder, "s", json_node_get_string (element));
        }
    }
  return g_variant_builder_end (&builder);
}

static void
add_string (GVariantBuilder *builder,
            const char      *key,
            JsonObject      *object,
            const char      *member)
{
  g_variant_builder_add (builder, "{sv}", key,
                         g_variant_new_string (member_string (object, member)));
}

static void
add_bool (GVariantBuilder *builder,
          const char      *key,
          JsonObject      *object,
          const char      *member)
{
  g_variant_builder_add (builder, "{sv}", key,
                         g_variant_new_boolean (member_bool (object, member)));
}

/* Returns: (transfer none) (nullable): the list in a REST answer */
static JsonArray *
list_of (JsonNode *answer)
{
  if (answer != NULL && JSON_NODE_HOLDS_ARRAY (answer))
    return json_node_get_array (answer);
  if (answer != NULL && JSON_NODE_HOLDS_OBJECT (answer) &&
      json_object_has_member (json_node_get_object (answer), "items") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (json_node_get_object (answer), "items")))
    return json_object_get_array_member (json_node_get_object (answer), "items");
  return NULL;
}

static guint
count_of (JsonNode *answer)
{
  JsonArray *list = list_of (answer);

  return list ? json_array_get_length (list) : 0;
}

static guint
count_with (JsonArray  *list,
            const char *member,
            const char *value)
{
  guint n = 0;

  for (guint i = 0; list != NULL && i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);

      if (JSON_NODE_HOLDS_OBJECT (node) &&
          g_strcmp0 (member_string (json_node_get_object (node), member), value) == 0)
        n++;
    }
  return n;
}

typedef void (*DescribeFunc) (CfAdminRestBackend *self,
                              JsonObject         *entity,
                              JsonNode          **answers,
                              GVariantBuilder    *builder);

static GVariant *
describe_all (CfAdminRestBackend  *self,
              JsonNode           **answers,
              DescribeFunc         describe,
              GError             **error)
{
  JsonArray *list = list_of (answers[0]);
  GVariantBuilder all;

  if (list == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The gateway answered with something other than a list"));
      return NULL;
    }
  g_variant_builder_init (&all, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      GVariantBuilder entry;

      if (!JSON_NODE_HOLDS_OBJECT (node))
        continue;
      g_variant_builder_init (&entry, G_VARIANT_TYPE_VARDICT);
      add_string (&entry, "id", json_node_get_object (node), "id");
      add_string (&entry, "name", json_node_get_object (node), "name");
      add_bool (&entry, "enabled", json_node_get_object (node), "enabled");
      describe (self, json_node_get_object (node), answers, &entry);
      g_variant_builder_add_value (&all, g_variant_builder_end (&entry));
    }
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&all));
}

static void
describe_gateway (CfAdminRestBackend *self,
                  JsonObject         *gateway,
                  JsonNode          **answers,
                  GVariantBuilder    *builder)
{
  add_string (builder, "url", gateway, "url");
  add_string (builder, "transport", gateway, "transport");
  add_string (builder, "command", gateway, "command");
  g_variant_builder_add (builder, "{sv}", "args", member_strv (gateway, "args"));
  add_string (builder, "status-message", gateway, "statusMessage");
  add_bool (builder, "reachable", gateway, "reachable");
  g_variant_builder_add (builder, "{sv}", "tool-count",
                         g_variant_new_uint32 (count_with (list_of (answers[1]), "gatewayId",
                                                           member_string (gateway, "id"))));
}

static void
describe_tool (CfAdminRestBackend *self,
               JsonObject         *tool,
               JsonNode          **answers,
               GVariantBuilder    *builder)
{
  add_string (builder, "original-name", tool, "originalName");
  add_string (builder, "description", tool, "description");
  add_string (builder, "integration-type", tool, "integrationType");
  add_string (builder, "gateway-id", tool, "gatewayId");
  add_bool (builder, "reachable", tool, "reachable");
}

static char *
server_url (CfAdminRestBackend *self,
            const char         *id)
{
  return g_strdup_printf ("%s/servers/%s/mcp", self->base_url, id);
}

static void
describe_server (CfAdminRestBackend *self,
                 JsonObject         *server,
                 JsonNode          **answers,
                 GVariantBuilder    *builder)
{
  g_autofree char *url = server_url (self, member_string (server, "id"));

  add_string (builder, "description", server, "description");
  g_variant_builder_add (builder, "{sv}", "url", g_variant_new_string (url));
  g_variant_builder_add (builder, "{sv}", "tools", member_strv (server, "associatedTools"));
}

/* Discovery: GET /v1/discovery answers its status, with the peers it
 * found under "peers" (or as a list of its own). */

static JsonArray *
peers_of (JsonNode *answer)
{
  JsonArray *list = list_of (answer);
  JsonNode *peers;

  if (list != NULL)
    return list;
  if (answer == NULL || !JSON_NODE_HOLDS_OBJECT (answer))
    return NULL;
  peers = json_object_get_member (json_node_get_object (answer), "peers");
  return peers != NULL && JSON_NODE_HOLDS_ARRAY (peers) ? json_node_get_array (peers) : NULL;
}

static GVariant *
describe_peer (JsonObject *peer)
{
  static const struct {
    const char *key;
    const char *member;
  } strings[] = {
    { "id", "id" }, { "name", "name" }, { "display-name", "displayName" },
    { "host", "host" }, { "url", "url" }, { "protocol", "protocol" },
    { "version", "version" }, { "auth", "auth" }, { "first-seen", "firstSeen" },
    { "last-seen", "lastSeen" }, { "gateway-id", "gatewayId" },
  };
  JsonNode *port = json_object_get_member (peer, "port");
  JsonNode *registered = json_object_get_member (peer, "registered");
  gint64 number = 0;
  GVariantBuilder entry;

  g_variant_builder_init (&entry, G_VARIANT_TYPE_VARDICT);
  for (guint i = 0; i < G_N_ELEMENTS (strings); i++)
    add_string (&entry, strings[i].key, peer, strings[i].member);
  if (port != NULL && JSON_NODE_HOLDS_VALUE (port) &&
      json_node_get_value_type (port) == G_TYPE_INT64)
    number = json_node_get_int (port);
  g_variant_builder_add (&entry, "{sv}", "port",
                         g_variant_new_uint32 (number > 0 && number <= G_MAXUINT16
                                               ? (guint32) number : 0));
  g_variant_builder_add (&entry, "{sv}", "addresses", member_strv (peer, "addresses"));
  g_variant_builder_add (&entry, "{sv}", "registered",
                         g_variant_new_boolean (registered != NULL &&
                                                JSON_NODE_HOLDS_VALUE (registered) &&
                                                json_node_get_value_type (registered) ==
                                                G_TYPE_BOOLEAN &&
                                                json_node_get_boolean (registered)));
  return g_variant_builder_end (&entry);
}

static GVariant *
reply_nearby (CfAdminRestBackend  *self,
              JsonNode           **answers,
              GError             **error)
{
  JsonArray *peers = peers_of (answers[0]);
  GVariantBuilder all;

  if (peers == NULL)
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The gateway answered with something other than a list"));
      return NULL;
    }
  g_variant_builder_init (&all, G_VARIANT_TYPE ("aa{sv}"));
  for (guint i = 0; i < json_array_get_length (peers); i++)
    {
      JsonNode *node = json_array_get_element (peers, i);

      if (JSON_NODE_HOLDS_OBJECT (node))
        g_variant_builder_add_value (&all, describe_peer (json_node_get_object (node)));
    }
  return g_variant_new ("(@aa{sv})", g_variant_builder_end (&all));
}

static GVariant *
reply_discovery (CfAdminRestBackend  *self,
                 JsonNode           **answers,
                 GError             **error)
{
  JsonObject *status;
  JsonNode *enabled;
  GVariantBuilder builder;

  if (answers[0] == NULL || !JSON_NODE_HOLDS_OBJECT (answers[0]))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The gateway did not say how discovery goes"));
      return NULL;
    }
  status = json_node_get_object (answers[0]);
  enabled = json_object_get_member (status, "enabled");
  g_variant_builder_init (&builder, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&builder, "{sv}", "enabled",
                         g_variant_new_boolean (enabled != NULL && JSON_NODE_HOLDS_VALUE (enabled) &&
                                                json_node_get_value_type (enabled) ==
                                                G_TYPE_BOOLEAN &&
                                                json_node_get_boolean (enabled)));
  add_string (&builder, "state", status, "state");
  add_string (&builder, "message", status, "message");
  add_string (&builder, "id", status, "id");
  add_string (&builder, "published-name", status, "publishedName");
  return g_variant_new ("(@a{sv})", g_variant_builder_end (&builder));
}

/* Replies */

static GVariant *
reply_nothing (CfAdminRestBackend  *self,
               JsonNode           **answers,
               GError             **error)
{
  return g_variant_new ("()");
}

static GVariant *
reply_id (CfAdminRestBackend  *self,
          JsonNode           **answers,
          GError             **error)
{
  if (answers[0] == NULL || !JSON_NODE_HOLDS_OBJECT (answers[0]))
    {
      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                           _("The gateway did not say what it created"));
      return NULL;
    }
  return g_variant_new ("(s)", member_string (json_node_get_object (answers[0]), "id"));
}

static GVariant *
reply_server (CfAdminRestBackend  *self,
              JsonNode           **answers,
              GError             **error)
{
  g_autoptr(GVariant) id = reply_id (self, answers, error);
  g_autofree char *url = NULL;
  const char *text;

  if (id == NULL)
    return NULL;
  g_variant_ref_sink (id);
  g_variant_get (id, "(&s)", &text);
  url = server_url (self, text);
  return g_variant_new ("(ss)", text, url);
}

static GVariant *
reply_json (CfAdminRestBackend  *self,
            JsonNode           **answers,
            GError             **error)
{
  g_autofree char *json = answers[0] ? json_to_string (answers[0], FALSE) : g_strdup ("{}");

  return g_variant_new ("(s)", json);
}

static GVariant *
reply_gateways (CfAdminRestBackend  *self,
                JsonNode           **answers,
                GError             **error)
{
  return describe_all (self, answers, describe_gateway, error);
}

static GVariant *
reply_tools (CfAdminRestBackend  *self,
             JsonNode           **answers,
             GError             **error)
{
  return describe_all (self, answers, describe_tool, error);
}

static GVariant *
reply_servers (CfAdminRestBackend  *self,
               JsonNode           **answers,
               GError             **error)
{
  return describe_all (self, answers, describe_server, error);
}

/* A JSON-RPC answer from /rpc: its result, or its error as ours. */
static GVariant *
reply_tool_call (CfAdminRestBackend  *self,
                 JsonNode           **answers,
                 GError             **error)
{
  JsonObject *response = answers[0] && JSON_NODE_HOLDS_OBJECT (answers[0])
                         ? json_node_get_object (answers[0]) : NULL;
  JsonNode *result = response ? json_object_get_member (response, "result") : NULL;
  JsonNode *failure = response ? json_object_get_member (response, "error") : NULL;
  g_autofree char *json = NULL;

  if (result == NULL)
    {
      const char *message = failure && JSON_NODE_HOLDS_OBJECT (failure)
                            ? member_string (json_node_get_object (failure), "message") : "";

      g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                           *message ? message : _("The tool call had no answer"));
      return NULL;
    }
  json = json_to_string (result, FALSE);
  return g_variant_new ("(s)", json);
}

static GVariant *
reply_status (CfAdminRestBackend  *self,
              JsonNode           **answers,
              GError             **error)
{
  JsonArray *gateways = list_of (answers[0]);
  guint unreachable = 0;
  GVariantBuilder status;

  for (guint i = 0; gateways != NULL && i < json_array_get_length (gateways); i++)
    {
      JsonNode *node = json_array_get_element (gateways, i);

      if (JSON_NODE_HOLDS_OBJECT (node) && member_bool (json_node_get_object (node), "enabled") &&
          !member_bool (json_node_get_object (node), "reachable"))
        unreachable++;
    }
  g_variant_builder_init (&status, G_VARIANT_TYPE_VARDICT);
  g_variant_builder_add (&status, "{sv}", "listen-url", g_variant_new_string (self->base_url));
  g_variant_builder_add (&status, "{sv}", "health",
                         g_variant_new_string (unreachable > 0 ? "degraded" : "healthy"));
  g_variant_builder_add (&status, "{sv}", "gateways", g_variant_new_uint32 (count_of (answers[0])));
  g_variant_builder_add (&status, "{sv}", "gateways-unreachable",
                         g_variant_new_uint32 (unreachable));
  g_variant_builder_add (&status, "{sv}", "tools", g_variant_new_uint32 (count_of (answers[1])));
  g_variant_builder_add (&status, "{sv}", "servers", g_variant_new_uint32 (count_of (answers[2])));
  g_variant_builder_add (&status, "{sv}", "resources",
                         g_variant_new_uint32 (count_of (answers[3])));
  g_variant_builder_add (&status, "{sv}", "prompts", g_variant_new_uint32 (count_of (answers[4])));
  if (answers[5] != NULL && JSON_NODE_HOLDS_OBJECT (answers[5]))
    {
      JsonObject *version = json_node_get_object (answers[5]);
      JsonNode *app = json_object_get_member (version, "app");

      if (app != NULL && JSON_NODE_HOLDS_OBJECT (app))
        g_variant_builder_add (&status, "{sv}", "version",
                               g_variant_new_string (member_string (json_node_get_object (app),
                                                                    "version")));
    }
  return g_variant_new ("(@a{sv})", g_variant_builder_end (&status));
}

/* Requests */

typedef struct {
  const char *http_method;
  char       *path;
  char       *body;     /* JSON, or NULL */
} Request;

static void
request_clear (Request *request)
{
  g_free (request->path);
  g_free (request->body);
}

static void
add_request (GArray     *requests,
             const char *http_method,
             char       *path,
             char       *body)
{
  Request request = { http_method, path, body };

  g_array_append_val (requests, request);
}

static char *
escape (const char *id)
{
  return g_uri_escape_string (id, NULL, TRUE);
}

static char *
state_path (const char *collection,
            GVariant   *parameters)
{
  const char *id = NULL;
  gboolean enabled = FALSE;
  g_autofree char *escaped = NULL;

  g_variant_get (parameters, "(&sb)", &id, &enabled);
  escaped = escape (id);
  return g_strdup_printf ("/v1/%s/%s/state?activate=%s", collection, escaped,
                          enabled ? "true" : "false");
}

/* Returns: @prefix, the first parameter as a path segment, @suffix */
static char *
id_path (const char *prefix,
         GVariant   *parameters,
         const char *suffix)
{
  const char *id = NULL;
  g_autofree char *escaped = NULL;

  g_variant_get_child (parameters, 0, "&s", &id);
  escaped = escape (id);
  return g_strconcat (prefix, escaped, suffix, NULL);
}

static char *
first_string (GVariant *parameters)
{
  char *text = NULL;

  g_variant_get_child (parameters, 0, "s", &text);
  return text;
}

static char *
tool_call_body (GVariant *parameters)
{
  const char *name = NULL;
  const char *arguments = NULL;
  g_autoptr(JsonNode) args = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  g_variant_get (parameters, "(&s&s)", &name, &arguments);
  args = json_from_string (*arguments ? arguments : "{}", NULL);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "jsonrpc");
  json_builder_add_string_value (builder, "2.0");
  json_builder_set_member_name (builder, "id");
  json_builder_add_int_value (builder, 1);
  json_builder_set_member_name (builder, "method");
  json_builder_add_string_value (builder, "tools/call");
  json_builder_set_member_name (builder, "params");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  json_builder_set_member_name (builder, "arguments");
  json_builder_add_value (builder, args ? json_node_copy (args) : json_node_new (JSON_NODE_NULL));
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static char *
discovery_body (GVariant *parameters)
{
  gboolean enabled = FALSE;

  g_variant_get (parameters, "(b)", &enabled);
  return g_strdup_printf ("{\"enabled\": %s}", enabled ? "true" : "false");
}

/* RegisterNearbyGateway's settings are the body; "" is none. */
static char *
second_string_or_object (GVariant *parameters)
{
  const char *settings = NULL;

  g_variant_get_child (parameters, 1, "&s", &settings);
  return g_strdup (*settings != '\0' ? settings : "{}");
}

static char *
server_body (GVariant *parameters)
{
  const char *name = NULL;
  const char *description = NULL;
  g_autofree const char **tools = NULL;
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  g_variant_get (parameters, "(&s&s^a&s)", &name, &description, &tools);
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "server");
  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, "name");
  json_builder_add_string_value (builder, name);
  if (*description != '\0')
    {
      json_builder_set_member_name (builder, "description");
      json_builder_add_string_value (builder, description);
    }
  json_builder_set_member_name (builder, "associatedTools");
  json_builder_begin_array (builder);
  for (guint i = 0; tools[i] != NULL; i++)
    json_builder_add_string_value (builder, tools[i]);
  json_builder_end_array (builder);
  json_builder_end_object (builder);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

/* Lists show disabled entities too, as D-Bus does, up to REST's
 * largest page. */
#define ALL "?include_inactive=true&limit=500"

/* Returns: the function that makes the reply, or %NULL when REST has no
 * such method; @requests gets what to send */
static ReplyFunc
plan (const char *method,
      GVariant   *parameters,
      GArray     *requests)
{
  static const char * const status_paths[] = {
    "/v1/gateways" ALL, "/v1/tools" ALL, "/v1/servers" ALL, "/v1/resources" ALL,
    "/v1/prompts" ALL, "/version",
  };

  if (g_str_equal (method, "GetStatus"))
    {
      for (guint i = 0; i < G_N_ELEMENTS (status_paths); i++)
        add_request (requests, "GET", g_strdup (status_paths[i]), NULL);
      return reply_status;
    }
  if (g_str_equal (method, "ListGateways"))
    {
      add_request (requests, "GET", g_strdup ("/v1/gateways" ALL), NULL);
      add_request (requests, "GET", g_strdup ("/v1/tools" ALL), NULL);
      return reply_gateways;
    }
  if (g_str_equal (method, "ListTools"))
    return add_request (requests, "GET", g_strdup ("/v1/tools" ALL), NULL), reply_tools;
  if (g_str_equal (method, "ListServers"))
    return add_request (requests, "GET", g_strdup ("/v1/servers" ALL), NULL), reply_servers;
  if (g_str_equal (method, "AddGateway"))
    return add_request (requests, "POST", g_strdup ("/v1/gateways"),
                        first_string (parameters)),
           reply_id;
  if (g_str_equal (method, "RemoveGateway"))
    return add_request (requests, "DELETE", id_path ("/v1/gateways/", parameters, NULL), NULL),
           reply_nothing;
  if (g_str_equal (method, "RefreshGateway"))
    return add_request (requests, "POST", id_path ("/v1/gateways/", parameters, "/tools/refresh"),
                        NULL), reply_nothing;
  if (g_str_equal (method, "SetGatewayEnabled"))
    return add_request (requests, "POST", state_path ("gateways", parameters), NULL),
           reply_nothing;
  if (g_str_equal (method, "GetTool"))
    return add_request (requests, "GET", id_path ("/v1/tools/", parameters, NULL), NULL), reply_json;
  if (g_str_equal (method, "SetToolEnabled"))
    return add_request (requests, "POST", state_path ("tools", parameters), NULL), reply_nothing;
  if (g_str_equal (method, "CallTool"))
    return add_request (requests, "POST", g_strdup ("/rpc"), tool_call_body (parameters)),
           reply_tool_call;
  if (g_str_equal (method, "ComposeServer"))
    return add_request (requests, "POST", g_strdup ("/v1/servers"), server_body (parameters)),
           reply_server;
  if (g_str_equal (method, "SetServerEnabled"))
    return add_request (requests, "POST", state_path ("servers", parameters), NULL),
           reply_nothing;
  if (g_str_equal (method, "DeleteServer"))
    return add_request (requests, "DELETE", id_path ("/v1/servers/", parameters, NULL), NULL),
           reply_nothing;
  if (g_str_equal (method, "GetDiscovery"))
    return add_request (requests, "GET", g_strdup ("/v1/discovery"), NULL), reply_discovery;
  if (g_str_equal (method, "SetDiscoveryEnabled"))
    return add_request (requests, "PUT", g_strdup ("/v1/discovery"), discovery_body (parameters)),
           reply_nothing;
  if (g_str_equal (method, "ListNearbyGateways"))
    return add_request (requests, "GET", g_strdup ("/v1/discovery"), NULL), reply_nearby;
  if (g_str_equal (method, "RegisterNearbyGateway"))
    return add_request (requests, "POST", id_path ("/v1/discovery/", parameters, "/register"),
                        second_string_or_object (parameters)),
           reply_id;
  return NULL;
}

/* The REST error body: ContextForge's {"detail": ...}, a string or a
 * list of problems with a "msg" each. */
static char *
error_message (JsonNode *body,
               guint     status)
{
  JsonNode *detail = NULL;

  if (body != NULL && JSON_NODE_HOLDS_OBJECT (body))
    detail = json_object_get_member (json_node_get_object (body), "detail");
  if (detail != NULL && JSON_NODE_HOLDS_VALUE (detail) &&
      json_node_get_value_type (detail) == G_TYPE_STRING)
    return g_strdup (json_node_get_string (detail));
  if (detail != NULL && JSON_NODE_HOLDS_ARRAY (detail))
    {
      JsonArray *problems = json_node_get_array (detail);
      g_autoptr(GString) text = g_string_new (NULL);

      for (guint i = 0; i < json_array_get_length (problems); i++)
        {
          JsonNode *problem = json_array_get_element (problems, i);

          if (!JSON_NODE_HOLDS_OBJECT (problem))
            continue;
          if (text->len > 0)
            g_string_append (text, "; ");
          g_string_append (text, member_string (json_node_get_object (problem), "msg"));
        }
      if (text->len > 0)
        return g_string_free (g_steal_pointer (&text), FALSE);
    }
  /* Translators: %u is an HTTP status code */
  return g_strdup_printf (_("The gateway answered HTTP %u"), status);
}

typedef struct {
  GTask *task;
  guint  index;
} Sent;

static void
finish_call (GTask *task)
{
  CfAdminRestBackend *self = g_task_get_source_object (task);
  Call *call = g_task_get_task_data (task);
  GError *error = NULL;
  GVariant *reply;

  if (call->error != NULL)
    {
      g_task_return_error (task, g_steal_pointer (&call->error));
      return;
    }
  reply = call->reply (self, call->answers, &error);
  if (reply == NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, g_variant_ref_sink (reply), (GDestroyNotify) g_variant_unref);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Sent *sent = user_data;
  g_autoptr(GTask) task = sent->task;
  Call *call = g_task_get_task_data (task);
  SoupMessage *message = soup_session_get_async_result_message (SOUP_SESSION (source), result);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                               &error);
  guint status = message ? soup_message_get_status (message) : 0;
  g_autoptr(JsonNode) body = NULL;
  g_autofree char *text = NULL;
  gsize size = 0;
  const char *data = bytes ? g_bytes_get_data (bytes, &size) : NULL;

  if (bytes != NULL && size > 0)
    {
      text = g_strndup (data, size);
      body = json_from_string (text, NULL);
    }
  if (bytes == NULL && call->error == NULL)
    call->error = g_steal_pointer (&error);
  else if (status >= 400 && call->error == NULL)
    {
      g_autofree char *reason = error_message (body, status);
      int code = status == SOUP_STATUS_NOT_FOUND ? G_IO_ERROR_NOT_FOUND
                 : status == SOUP_STATUS_UNAUTHORIZED || status == SOUP_STATUS_FORBIDDEN
                 ? G_IO_ERROR_PERMISSION_DENIED : G_IO_ERROR_FAILED;

      call->error = g_error_new_literal (G_IO_ERROR, code, reason);
    }
  call->answers[sent->index] = g_steal_pointer (&body);
  g_free (sent);
  if (--call->pending == 0)
    finish_call (task);
}

static void
rest_call_async (CfAdminBackend      *backend,
                 const char          *method,
                 GVariant            *parameters,
                 GCancellable        *cancellable,
                 GAsyncReadyCallback  callback,
                 gpointer             user_data)
{
  CfAdminRestBackend *self = CF_ADMIN_REST_BACKEND (backend);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GArray) requests = g_array_new (FALSE, TRUE, sizeof (Request));
  g_autoptr(GVariant) sunk = parameters ? g_variant_ref_sink (parameters) : NULL;
  Call *call;

  g_task_set_source_tag (task, rest_call_async);
  g_array_set_clear_func (requests, (GDestroyNotify) request_clear);
  call = g_new0 (Call, 1);
  g_task_set_task_data (task, call, (GDestroyNotify) call_free);
  call->reply = plan (method, sunk, requests);
  if (call->reply == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                               _("The gateway’s REST API has no counterpart to %s"), method);
      return;
    }
  call->n_requests = call->pending = requests->len;
  call->answers = g_new0 (JsonNode *, requests->len);
  for (guint i = 0; i < requests->len; i++)
    {
      Request *request = &g_array_index (requests, Request, i);
      g_autofree char *uri = g_strconcat (self->base_url, request->path, NULL);
      g_autoptr(SoupMessage) message = soup_message_new (request->http_method, uri);
      g_autofree char *bearer = g_strconcat ("Bearer ", self->token, NULL);
      Sent *sent = g_new0 (Sent, 1);

      if (message == NULL)
        {
          g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT,
                                   _("Not a URL: %s"), uri);
          g_free (sent);
          return;
        }
      if (self->token != NULL && *self->token != '\0')
        soup_message_headers_replace (soup_message_get_request_headers (message),
                                      "Authorization", bearer);
      if (request->body != NULL)
        {
          g_autoptr(GBytes) body = g_bytes_new (request->body, strlen (request->body));

          soup_message_set_request_body_from_bytes (message, "application/json", body);
        }
      sent->task = g_object_ref (task);
      sent->index = i;
      soup_session_send_and_read_async (self->session, message, G_PRIORITY_DEFAULT,
                                        cancellable, on_sent, sent);
    }
}

static GVariant *
rest_call_finish (CfAdminBackend  *backend,
                  GAsyncResult    *result,
                  GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, backend), NULL);

  return g_task_propagate_pointer (G_TASK (result), error);
}

static char *
rest_describe (CfAdminBackend *backend)
{
  return g_strdup (CF_ADMIN_REST_BACKEND (backend)->base_url);
}

static void
backend_iface_init (CfAdminBackendInterface *iface)
{
  iface->call_async = rest_call_async;
  iface->call_finish = rest_call_finish;
  iface->describe = rest_describe;
}

static void
cf_admin_rest_backend_finalize (GObject *object)
{
  CfAdminRestBackend *self = (CfAdminRestBackend *) object;

  g_clear_object (&self->session);
  g_clear_pointer (&self->base_url, g_free);
  g_clear_pointer (&self->token, g_free);

  G_OBJECT_CLASS (cf_admin_rest_backend_parent_class)->finalize (object);
}

static void
cf_admin_rest_backend_class_init (CfAdminRestBackendClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_admin_rest_backend_finalize;
}

static void
cf_admin_rest_backend_init (CfAdminRestBackend *self)
{
  self->session = soup_session_new_with_options ("timeout", 300, NULL);
}

/**
 * cf_admin_rest_backend_new:
 * @base_url: the gateway, such as "https://gateway.example.com"
 * @token: (nullable): a bearer token for it
 *
 * Returns: (transfer full): a new #CfAdminBackend
 */
CfAdminBackend *
cf_admin_rest_backend_new (const char *base_url,
                           const char *token)
{
  CfAdminRestBackend *self;
  gsize len;

  g_return_val_if_fail (base_url != NULL, NULL);

  self = g_object_new (CF_TYPE_ADMIN_REST_BACKEND, NULL);
  len = strlen (base_url);
  while (len > 0 && base_url[len - 1] == '/')
    len--;
  self->base_url = g_strndup (base_url, len);
  self->token = g_strdup (token);
  return CF_ADMIN_BACKEND (self);
}
