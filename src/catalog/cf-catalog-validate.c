/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog-validate"

#include "config.h"

#include <string.h>

#include "cf-catalog-private.h"
#include "cf-catalog.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-mcp-param-headers.h"
#include "cf-slug.h"

/* What the catalog checks and fills in beyond field types: the rules
 * between fields, defaults, derived names, references to other entities
 * and conflicts. */

static const char * const kind_labels[] = {
  [CF_ENTITY_TOOL] = "Tool",
  [CF_ENTITY_RESOURCE] = "Resource",
  [CF_ENTITY_PROMPT] = "Prompt",
  [CF_ENTITY_SERVER] = "Server",
  [CF_ENTITY_GATEWAY] = "Gateway",
};

const char *
_cf_catalog_kind_label (CfEntityKind kind)
{
  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, "Entity");
  return kind_labels[kind];
}

/* Validation beyond field types */

/* The limits match the store's CHECK constraints (0003). */
#define MAX_STDIO_POOL 64
#define MAX_CONCURRENCY 100000

static const char * const http_schemes[] = { "http", "https", NULL };
static const char * const ws_schemes[] = { "ws", "wss", NULL };

static gboolean
is_url (const char         *url,
        const char * const *schemes)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  return uri != NULL && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0' &&
         g_strv_contains (schemes, g_uri_get_scheme (uri));
}

/* A tool a gateway brought may be edited (enabled, renamed) like any
 * other, but no client may make one up or turn a tool into one. */
static void
check_tool (JsonObject *tool,
            JsonObject *input,
            JsonArray  *problems)
{
  const char *type = cf_json_object_get_string (tool, "integrationType");
  JsonObject *schema = cf_json_object_get_object (tool, "inputSchema");
  gboolean federated = cf_json_object_get_string (tool, "gatewayId") != NULL &&
                       !json_object_has_member (input, "integrationType") &&
                       !json_object_has_member (input, "integration_type");

  if (g_strcmp0 (type, "REST") != 0)
    {
      if (!federated)
        cf_entity_schema_add_problem (problems, "integrationType", "value_error",
                                      "Only REST tools can be created directly; MCP tools "
                                      "come from registered gateways");
    }
  else if (!is_url (cf_json_object_get_string (tool, "url"), http_schemes))
    cf_entity_schema_add_problem (problems, "url", "value_error",
                                  "A REST tool needs an http or https URL");
  if (schema != NULL && g_strcmp0 (cf_json_object_get_string (schema, "type"), "object") != 0)
    cf_entity_schema_add_problem (problems, "inputSchema", "value_error",
                                  "An input schema must have \"type\": \"object\"");
  else if (schema != NULL)
    {
      /* 2026-07-28 clients drop a tool whose x-mcp-header annotations
       * break the rules: say so now rather than serve it. */
      g_autoptr(GError) error = NULL;
      g_autoptr(CfMcpParamHeaders) headers = cf_mcp_param_headers_compile (schema, &error);

      if (error != NULL)
        cf_entity_schema_add_problem (problems, "inputSchema", "value_error", error->message);
    }
}

/* Strict: g_base64_decode() accepts anything and guesses. */
static gboolean
is_base64 (const char *text)
{
  gsize n = 0, padding = 0;

  for (const char *p = text; *p; p++)
    {
      if (*p == '\n' || *p == '\r')
        continue;
      if (*p == '=')
        padding++;
      else if (padding > 0 || !(g_ascii_isalnum (*p) || *p == '+' || *p == '/'))
        return FALSE;
      n++;
    }
  return n % 4 == 0 && padding <= 2;
}

static void
check_resource (JsonObject *resource,
                JsonArray  *problems)
{
  const char *uri = cf_json_object_get_string (resource, "uri");
  const char *template = cf_json_object_get_string (resource, "uriTemplate");
  const char *blob = cf_json_object_get_string (resource, "blob");
  g_autoptr(GError) error = NULL;

  if (template != NULL)
    {
      g_autoptr(CfUriTemplate) compiled = cf_uri_template_new (template, &error);

      if (compiled == NULL)
        cf_entity_schema_add_problem (problems, "uriTemplate", "value_error", error->message);
    }
  else if (uri != NULL && !g_uri_is_valid (uri, G_URI_FLAGS_NONE, NULL))
    cf_entity_schema_add_problem (problems, "uri", "value_error", "Not a valid absolute URI");

  if (blob != NULL && cf_json_object_get_string (resource, "text") != NULL)
    cf_entity_schema_add_problem (problems, "blob", "value_error",
                                  "Give text content or a base64 blob, not both");
  else if (blob != NULL && !is_base64 (blob))
    cf_entity_schema_add_problem (problems, "blob", "value_error",
                                  "Binary content must be valid base64");
  else if (blob == NULL && cf_json_object_get_string (resource, "text") == NULL)
    cf_entity_schema_add_problem (problems, "content", "missing",
                                  "Field required: give text content or a base64 blob");
}

static void
derive_prompt_arguments (JsonObject       *prompt,
                         CfPromptTemplate *template)
{
  g_auto(GStrv) variables = cf_prompt_template_get_variables (template);
  JsonArray *arguments = json_array_new ();

  for (guint i = 0; variables[i] != NULL; i++)
    {
      JsonObject *argument = json_object_new ();

      json_object_set_string_member (argument, "name", variables[i]);
      json_object_set_boolean_member (argument, "required", TRUE);
      json_array_add_object_element (arguments, argument);
    }
  json_object_set_array_member (prompt, "arguments", arguments);
}

static void
check_prompt (JsonObject *prompt,
              JsonArray  *problems)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfPromptTemplate) template = NULL;
  JsonArray *arguments = cf_json_object_get_array (prompt, "arguments");

  template = cf_prompt_template_new (cf_json_object_get_string (prompt, "template") ?: "", &error);
  if (template == NULL)
    {
      cf_entity_schema_add_problem (problems, "template", "value_error", error->message);
      return;
    }
  if (arguments == NULL)
    {
      derive_prompt_arguments (prompt, template);
      return;
    }
  for (guint i = 0; i < json_array_get_length (arguments); i++)
    {
      JsonNode *node = json_array_get_element (arguments, i);

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          cf_json_object_get_string (json_node_get_object (node), "name") == NULL)
        cf_entity_schema_add_problem (problems, "arguments", "value_error",
                                      "Each argument needs a string \"name\"");
    }
}

static void
check_server (CfCatalogSnapshot *snapshot,
              JsonObject        *server,
              JsonArray         *problems)
{
  static const struct { const char *member; CfEntityKind kind; } members[] = {
    { "associatedTools", CF_ENTITY_TOOL },
    { "associatedResources", CF_ENTITY_RESOURCE },
    { "associatedPrompts", CF_ENTITY_PROMPT },
  };

  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    {
      JsonArray *ids = cf_json_object_get_array (server, members[m].member);

      for (guint i = 0; ids != NULL && i < json_array_get_length (ids); i++)
        {
          const char *id = json_array_get_string_element (ids, i);

          if (cf_catalog_snapshot_lookup (snapshot, members[m].kind, id) == NULL)
            {
              g_autofree char *msg = g_strdup_printf ("Unknown %s id: %s",
                                                      _cf_catalog_kind_label (members[m].kind), id);
              cf_entity_schema_add_problem (problems, members[m].member, "value_error", msg);
            }
        }
    }
}

static void
check_gateway (JsonObject *gateway,
               JsonArray  *problems)
{
  JsonObject *env = cf_json_object_get_object (gateway, "env");
  gint64 pool_size = 0;
  gint64 concurrency = 0;

  if (g_strcmp0 (cf_json_object_get_string (gateway, "transport"), "STDIO") == 0)
    {
      const char *command = cf_json_object_get_string (gateway, "command");

      if (command == NULL || *command == '\0')
        cf_entity_schema_add_problem (problems, "command", "missing",
                                      "A STDIO gateway needs the command to run");
    }
  else if (g_strcmp0 (cf_json_object_get_string (gateway, "transport"), "WEBSOCKET") == 0)
    {
      if (!is_url (cf_json_object_get_string (gateway, "url"), ws_schemes))
        cf_entity_schema_add_problem (problems, "url", "value_error",
                                      "A WEBSOCKET gateway needs a ws or wss URL");
    }
  else if (!is_url (cf_json_object_get_string (gateway, "url"), http_schemes))
    cf_entity_schema_add_problem (problems, "url", "value_error",
                                  "A gateway needs an http or https URL");

  if (!cf_json_object_get_int (gateway, "stdioPoolSize", &pool_size) ||
      pool_size < 1 || pool_size > MAX_STDIO_POOL)
    cf_entity_schema_add_problem (problems, "stdioPoolSize", "value_error",
                                  "The stdio pool size must be between 1 and "
                                  G_STRINGIFY (MAX_STDIO_POOL));
  if (!cf_json_object_get_int (gateway, "maxConcurrency", &concurrency) ||
      concurrency < 0 || concurrency > MAX_CONCURRENCY)
    cf_entity_schema_add_problem (problems, "maxConcurrency", "value_error",
                                  "maxConcurrency must be between 0 (no limit) and "
                                  G_STRINGIFY (MAX_CONCURRENCY));

  if (env != NULL)
    {
      g_autoptr(GList) names = json_object_get_members (env);

      for (GList *l = names; l != NULL; l = l->next)
        if (!cf_json_node_is_string (json_object_get_member (env, l->data)))
          cf_entity_schema_add_problem (problems, "env", "type_error",
                                        "Environment values must be strings");
    }
}

/* Defaults and derived fields */

static void
set_default (JsonObject *entity,
             const char *member,
             JsonNode   *value)
{
  if (!json_object_has_member (entity, member) ||
      JSON_NODE_HOLDS_NULL (json_object_get_member (entity, member)))
    json_object_set_member (entity, member, value);
  else
    json_node_unref (value);
}

static JsonNode *
bool_node (gboolean value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_boolean (node, value);
  return node;
}

static JsonNode *
int_node (gint64 value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_int (node, value);
  return node;
}

static JsonNode *
object_node (const char *json)
{
  return cf_json_parse (json, -1, NULL);
}

static void
apply_defaults (CfEntityKind  kind,
                JsonObject   *entity)
{
  set_default (entity, "enabled", bool_node (TRUE));
  set_default (entity, "visibility", cf_json_node_new_string ("public"));
  set_default (entity, "tags", object_node ("[]"));

  switch (kind)
    {
    case CF_ENTITY_TOOL:
      set_default (entity, "integrationType", cf_json_node_new_string ("REST"));
      set_default (entity, "requestType", cf_json_node_new_string ("POST"));
      set_default (entity, "inputSchema", object_node ("{\"type\":\"object\",\"properties\":{}}"));
      set_default (entity, "reachable", bool_node (TRUE));
      break;
    case CF_ENTITY_SERVER:
      set_default (entity, "associatedTools", object_node ("[]"));
      set_default (entity, "associatedResources", object_node ("[]"));
      set_default (entity, "associatedPrompts", object_node ("[]"));
      break;
    case CF_ENTITY_GATEWAY:
      set_default (entity, "transport", cf_json_node_new_string ("SSE"));
      set_default (entity, "reachable", bool_node (TRUE));
      set_default (entity, "prefixMode", cf_json_node_new_string ("always"));
      set_default (entity, "stdioSharing", cf_json_node_new_string ("shared"));
      set_default (entity, "stdioPoolSize", int_node (4));
      set_default (entity, "maxConcurrency", int_node (0));
      break;
    default:
      break;
    }
}

/* The part of a federated item's current name before its original name
 * (as is, or slugged): "gateway-slug" plus the separator, or "" without
 * a prefix; %NULL when the name is not built that way (already custom). */
static char *
federated_prefix (JsonObject *entity,
                  const char *separator)
{
  const char *name = cf_json_object_get_string (entity, "name");
  const char *original = cf_json_object_get_string (entity, "originalName");
  g_autofree char *slug = original ? cf_slugify (original, separator) : NULL;

  if (name == NULL || original == NULL)
    return NULL;
  if (g_str_has_suffix (name, original))
    return g_strndup (name, strlen (name) - strlen (original));
  if (g_str_has_suffix (name, slug))
    return g_strndup (name, strlen (name) - strlen (slug));
  return NULL;
}

/* Tools and prompts are exposed under ContextForge's slug of their
 * (custom) name; resources, servers and gateways keep theirs. */
static void
derive_names (const char   *separator,
              CfEntityKind  kind,
              JsonObject   *entity,
              JsonObject   *input,
              JsonArray    *problems)
{
  const char *given = cf_json_object_get_string (input, "name");
  const char *custom;
  g_autofree char *slug = NULL;

  if (kind == CF_ENTITY_GATEWAY && given != NULL)
    {
      slug = cf_slugify (given, separator);
      json_object_set_string_member (entity, "slug", slug);
      return;
    }
  if (kind != CF_ENTITY_TOOL && kind != CF_ENTITY_PROMPT)
    return;

  if (given != NULL)
    json_object_set_string_member (entity, "originalName", given);
  custom = cf_json_object_get_string (entity, "customName");
  slug = cf_slugify (custom ?: cf_json_object_get_string (entity, "originalName") ?: "",
                     separator);
  if (*slug == '\0')
    {
      cf_entity_schema_add_problem (problems, "name", "value_error",
                                    "The name must contain at least one letter or digit");
      return;
    }
  if (cf_json_object_get_string (entity, "gatewayId") != NULL)
    {
      /* A federated item's name carries its gateway's prefix (as the
       * gateway's prefix mode made it at sync): an edit that names no
       * new custom name keeps it, and a custom name keeps the prefix. */
      g_autofree char *prefix = federated_prefix (entity, separator);

      if (!json_object_has_member (input, "customName") &&
          !json_object_has_member (input, "custom_name"))
        return;
      if (prefix != NULL)
        {
          g_autofree char *prefixed = g_strconcat (prefix, slug, NULL);

          json_object_set_string_member (entity, "name", prefixed);
          return;
        }
    }
  json_object_set_string_member (entity, "name", slug);
}

static void
compute_size (JsonObject *resource)
{
  const char *text = cf_json_object_get_string (resource, "text");
  const char *blob = cf_json_object_get_string (resource, "blob");
  gsize size = 0;

  if (blob != NULL)
    g_free (g_base64_decode (blob, &size));
  else if (text != NULL)
    size = strlen (text);
  json_object_set_int_member (resource, "size", size);
}

static void
check_entity (CfCatalogSnapshot *snapshot,
              CfEntityKind       kind,
              JsonObject        *entity,
              JsonObject        *input,
              JsonArray         *problems)
{
  switch (kind)
    {
    case CF_ENTITY_TOOL:
      check_tool (entity, input, problems);
      break;
    case CF_ENTITY_RESOURCE:
      check_resource (entity, problems);
      compute_size (entity);
      break;
    case CF_ENTITY_PROMPT:
      check_prompt (entity, problems);
      break;
    case CF_ENTITY_SERVER:
      check_server (snapshot, entity, problems);
      break;
    case CF_ENTITY_GATEWAY:
      check_gateway (entity, problems);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Returns the member that clashes, or NULL. */
const char *
_cf_catalog_find_conflict (CfCatalogSnapshot *snapshot,
               CfEntityKind       kind,
               JsonObject        *entity)
{
  const char *id = cf_json_object_get_string (entity, "id");
  const char *key = _cf_catalog_unique_member (kind);
  const char *value = cf_json_object_get_string (entity, key);
  GPtrArray *entries = cf_catalog_snapshot_entries (snapshot, kind);

  for (guint i = 0; i < entries->len; i++)
    {
      CfCatalogEntry *other = entries->pdata[i];

      if (g_strcmp0 (cf_catalog_entry_get_id (other), id) == 0)
        continue;
      if (g_strcmp0 (_cf_catalog_entry_key (kind, other), value) == 0)
        return key;
    }
  return NULL;
}

/* What must be unique among entities of @kind: a resource's URI, the
 * others' names. */
const char *
_cf_catalog_unique_member (CfEntityKind kind)
{
  return kind == CF_ENTITY_RESOURCE ? "uri" : "name";
}

/* The value of _cf_catalog_unique_member() in @entry */
const char *
_cf_catalog_entry_key (CfEntityKind    kind,
                       CfCatalogEntry *entry)
{
  return kind == CF_ENTITY_RESOURCE ? cf_catalog_entry_get_uri (entry)
                                    : cf_catalog_entry_get_name (entry);
}

static void
check_gateway_reference (CfCatalogSnapshot *snapshot,
                         JsonObject        *entity,
                         JsonArray         *problems)
{
  const char *gateway = cf_json_object_get_string (entity, "gatewayId");

  if (gateway != NULL && cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_GATEWAY, gateway) == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("Unknown gateway id: %s", gateway);
      cf_entity_schema_add_problem (problems, "gatewayId", "value_error", msg);
    }
}

/**
 * _cf_catalog_prepare_entity:
 * @snapshot: the snapshot to check references against
 * @kind: the kind of @entity
 * @separator: the slug separator
 * @entity: the normalised entity, completed in place
 * @input: the fields the client gave (for names)
 * @problems: where problems are appended
 */
void
_cf_catalog_prepare_entity (CfCatalogSnapshot *snapshot,
                            CfEntityKind       kind,
                            const char        *separator,
                            JsonObject        *entity,
                            JsonObject        *input,
                            JsonArray         *problems)
{
  derive_names (separator, kind, entity, input, problems);
  apply_defaults (kind, entity);
  check_entity (snapshot, kind, entity, input, problems);
  if (kind != CF_ENTITY_SERVER && kind != CF_ENTITY_GATEWAY)
    check_gateway_reference (snapshot, entity, problems);
}
