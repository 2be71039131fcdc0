/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-entity-schema"

#include "config.h"

#include <string.h>

#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-secret-store.h"

/* What a client may write into each kind of entity: the canonical
 * camelCase field, the snake_case alias ContextForge's *Create models
 * accept, its JSON type, and the rules for its value. REST and D-Bus both
 * go through cf_entity_schema_normalize(), so both validate alike. */

typedef enum {
  T_STRING,
  T_BOOL,
  T_INT,
  T_OBJECT,
  T_ARRAY,
  T_STRING_ARRAY,
} FieldType;

enum {
  REQUIRED = 1 << 0,
  NULLABLE = 1 << 1,
  UPPER    = 1 << 2,   /* stored upper-cased: enum values match case-insensitively */
};

typedef struct {
  const char         *name;
  const char         *alias;
  FieldType           type;
  guint               flags;
  gsize               max_length;
  const char * const *choices;
} FieldSpec;

static const char * const integration_types[] = { "REST", "MCP", "A2A", NULL };
static const char * const request_types[] = {
  "GET", "POST", "PUT", "DELETE", "PATCH", "SSE", "STDIO", "STREAMABLEHTTP", NULL
};
static const char * const visibilities[] = { "public", "team", "private", NULL };
static const char * const transports[] = { "SSE", "STREAMABLEHTTP", "STDIO", "WEBSOCKET", NULL };
static const char * const prefix_modes[] = { "always", "conditional", "never", NULL };
static const char * const sharing_modes[] = { "shared", "per-session", "pool", NULL };
static const char * const auth_types[] = {
  "basic", "bearer", "authheaders", "oauth", "query_param", "none", NULL
};

#define COMMON_FIELDS \
  { "tags", NULL, T_STRING_ARRAY, 0, 255, NULL }, \
  { "teamId", "team_id", T_STRING, NULLABLE, 64, NULL }, \
  { "ownerEmail", "owner_email", T_STRING, NULLABLE, 255, NULL }, \
  { "visibility", NULL, T_STRING, 0, 16, visibilities }, \
  { "enabled", "is_active", T_BOOL, 0, 0, NULL }

static const FieldSpec tool_fields[] = {
  { "name", NULL, T_STRING, REQUIRED, 255, NULL },
  { "customName", "custom_name", T_STRING, NULLABLE, 255, NULL },
  { "displayName", "display_name", T_STRING, NULLABLE, 255, NULL },
  { "title", NULL, T_STRING, NULLABLE, 255, NULL },
  { "description", NULL, T_STRING, NULLABLE, 8192, NULL },
  { "url", NULL, T_STRING, NULLABLE, 2048, NULL },
  { "integrationType", "integration_type", T_STRING, UPPER, 16, integration_types },
  { "requestType", "request_type", T_STRING, UPPER, 16, request_types },
  { "headers", NULL, T_OBJECT, NULLABLE, 0, NULL },
  { "inputSchema", "input_schema", T_OBJECT, 0, 0, NULL },
  { "outputSchema", "output_schema", T_OBJECT, NULLABLE, 0, NULL },
  { "annotations", NULL, T_OBJECT, NULLABLE, 0, NULL },
  { "jsonpathFilter", "jsonpath_filter", T_STRING, NULLABLE, 4096, NULL },
  { "auth", NULL, T_OBJECT, NULLABLE, 0, NULL },
  { "gatewayId", "gateway_id", T_STRING, NULLABLE, 64, NULL },
  { "timeoutMs", "timeout_ms", T_INT, NULLABLE, 0, NULL },
  COMMON_FIELDS,
};

static const FieldSpec resource_fields[] = {
  { "uri", NULL, T_STRING, REQUIRED, 2048, NULL },
  { "name", NULL, T_STRING, REQUIRED, 255, NULL },
  { "title", NULL, T_STRING, NULLABLE, 255, NULL },
  { "description", NULL, T_STRING, NULLABLE, 8192, NULL },
  { "mimeType", "mime_type", T_STRING, NULLABLE, 255, NULL },
  { "uriTemplate", "uri_template", T_STRING, NULLABLE, 2048, NULL },
  { "text", "content", T_STRING, NULLABLE, 0, NULL },
  { "blob", NULL, T_STRING, NULLABLE, 0, NULL },
  { "gatewayId", "gateway_id", T_STRING, NULLABLE, 64, NULL },
  COMMON_FIELDS,
};

static const FieldSpec prompt_fields[] = {
  { "name", NULL, T_STRING, REQUIRED, 255, NULL },
  { "customName", "custom_name", T_STRING, NULLABLE, 255, NULL },
  { "displayName", "display_name", T_STRING, NULLABLE, 255, NULL },
  { "title", NULL, T_STRING, NULLABLE, 255, NULL },
  { "description", NULL, T_STRING, NULLABLE, 8192, NULL },
  { "template", NULL, T_STRING, REQUIRED, 65536, NULL },
  { "arguments", NULL, T_ARRAY, 0, 0, NULL },
  { "gatewayId", "gateway_id", T_STRING, NULLABLE, 64, NULL },
  COMMON_FIELDS,
};

static const FieldSpec server_fields[] = {
  { "id", NULL, T_STRING, 0, 64, NULL },
  { "name", NULL, T_STRING, REQUIRED, 255, NULL },
  { "description", NULL, T_STRING, NULLABLE, 8192, NULL },
  { "icon", NULL, T_STRING, NULLABLE, 2048, NULL },
  { "associatedTools", "associated_tools", T_STRING_ARRAY, 0, 64, NULL },
  { "associatedResources", "associated_resources", T_STRING_ARRAY, 0, 64, NULL },
  { "associatedPrompts", "associated_prompts", T_STRING_ARRAY, 0, 64, NULL },
  COMMON_FIELDS,
};

static const FieldSpec gateway_fields[] = {
  { "name", NULL, T_STRING, REQUIRED, 255, NULL },
  { "url", NULL, T_STRING, NULLABLE, 2048, NULL },
  { "description", NULL, T_STRING, NULLABLE, 8192, NULL },
  { "transport", NULL, T_STRING, UPPER, 16, transports },
  { "authType", "auth_type", T_STRING, NULLABLE, 16, auth_types },
  /* Credentials in clear: the catalog seals them into authValue and
   * never stores these (cf-catalog-credentials.c). */
  { "authUsername", "auth_username", T_STRING, NULLABLE, 255, NULL },
  { "authPassword", "auth_password", T_STRING, NULLABLE, 4096, NULL },
  { "authToken", "auth_token", T_STRING, NULLABLE, 8192, NULL },
  { "authHeaderKey", "auth_header_key", T_STRING, NULLABLE, 255, NULL },
  { "authHeaderValue", "auth_header_value", T_STRING, NULLABLE, 8192, NULL },
  { "authHeaders", "auth_headers", T_ARRAY, NULLABLE, 0, NULL },
  { "passthroughHeaders", "passthrough_headers", T_STRING_ARRAY, 0, 255, NULL },
  { "command", NULL, T_STRING, NULLABLE, 4096, NULL },
  { "args", NULL, T_STRING_ARRAY, 0, 4096, NULL },
  { "env", NULL, T_OBJECT, NULLABLE, 0, NULL },
  { "cwd", NULL, T_STRING, NULLABLE, 4096, NULL },
  { "prefixMode", "prefix_mode", T_STRING, 0, 16, prefix_modes },
  { "stdioSharing", "stdio_sharing", T_STRING, 0, 16, sharing_modes },
  { "stdioPoolSize", "stdio_pool_size", T_INT, 0, 0, NULL },
  { "maxConcurrency", "max_concurrency", T_INT, 0, 0, NULL },
  COMMON_FIELDS,
};

typedef struct {
  const FieldSpec *fields;
  gsize            n_fields;
} KindSchema;

static const KindSchema schemas[CF_N_ENTITY_KINDS] = {
  [CF_ENTITY_TOOL] = { tool_fields, G_N_ELEMENTS (tool_fields) },
  [CF_ENTITY_RESOURCE] = { resource_fields, G_N_ELEMENTS (resource_fields) },
  [CF_ENTITY_PROMPT] = { prompt_fields, G_N_ELEMENTS (prompt_fields) },
  [CF_ENTITY_SERVER] = { server_fields, G_N_ELEMENTS (server_fields) },
  [CF_ENTITY_GATEWAY] = { gateway_fields, G_N_ELEMENTS (gateway_fields) },
};

/**
 * cf_entity_schema_add_problem:
 * @problems: the list to append to
 * @field: the offending field, by its canonical camelCase name
 * @type: a short machine-readable kind of problem
 * @message: what is wrong, for a person
 *
 * Appends one problem in the shape of FastAPI's 422 `detail` items.
 */
void
cf_entity_schema_add_problem (JsonArray  *problems,
                              const char *field,
                              const char *type,
                              const char *message)
{
  JsonObject *problem = json_object_new ();
  JsonArray *loc = json_array_new ();

  json_array_add_string_element (loc, "body");
  if (field != NULL)
    json_array_add_string_element (loc, field);
  json_object_set_array_member (problem, "loc", loc);
  json_object_set_string_member (problem, "msg", message);
  json_object_set_string_member (problem, "type", type);
  json_array_add_object_element (problems, problem);
}

static gboolean
check_string (const FieldSpec *spec,
              const char      *value,
              JsonArray       *problems)
{
  g_autofree char *msg = NULL;

  if (spec->max_length > 0 && strlen (value) > spec->max_length)
    {
      msg = g_strdup_printf ("String should have at most %" G_GSIZE_FORMAT " characters",
                             spec->max_length);
      cf_entity_schema_add_problem (problems, spec->name, "string_too_long", msg);
      return FALSE;
    }
  if (spec->choices != NULL)
    {
      for (guint i = 0; spec->choices[i] != NULL; i++)
        if (g_ascii_strcasecmp (spec->choices[i], value) == 0)
          return TRUE;
      {
        g_autofree char *list = g_strjoinv ("', '", (GStrv) spec->choices);
        msg = g_strdup_printf ("Input should be one of '%s'", list);
      }
      cf_entity_schema_add_problem (problems, spec->name, "enum", msg);
      return FALSE;
    }
  return TRUE;
}

static gboolean
check_type (const FieldSpec *spec,
            JsonNode        *node,
            JsonArray       *problems)
{
  static const char *type_names[] = {
    "a valid string", "a valid boolean", "a valid integer", "a valid object",
    "a valid list", "a list of strings",
  };
  gboolean ok = FALSE;

  switch (spec->type)
    {
    case T_STRING:
      ok = cf_json_node_is_string (node) && check_string (spec, json_node_get_string (node),
                                                          problems);
      if (!ok && cf_json_node_is_string (node))
        return FALSE;
      break;
    case T_BOOL:
      ok = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
      break;
    case T_INT:
      ok = cf_json_node_is_integer (node) && json_node_get_int (node) >= 0;
      break;
    case T_OBJECT:
      ok = JSON_NODE_HOLDS_OBJECT (node);
      break;
    case T_ARRAY:
      ok = JSON_NODE_HOLDS_ARRAY (node);
      break;
    case T_STRING_ARRAY:
      ok = JSON_NODE_HOLDS_ARRAY (node);
      for (guint i = 0; ok && i < json_array_get_length (json_node_get_array (node)); i++)
        ok = cf_json_node_is_string (json_array_get_element (json_node_get_array (node), i));
      break;
    default:
      g_assert_not_reached ();
    }

  if (!ok)
    {
      g_autofree char *msg = g_strdup_printf ("Input should be %s", type_names[spec->type]);
      cf_entity_schema_add_problem (problems, spec->name, "type_error", msg);
    }
  return ok;
}

static const FieldSpec *
find_spec (const KindSchema *schema,
           const char       *member)
{
  for (gsize i = 0; i < schema->n_fields; i++)
    if (g_str_equal (schema->fields[i].name, member) ||
        g_strcmp0 (schema->fields[i].alias, member) == 0)
      return &schema->fields[i];
  return NULL;
}

static JsonNode *
canonical_value (const FieldSpec *spec,
                 JsonNode        *node)
{
  if (spec->flags & UPPER && cf_json_node_is_string (node))
    {
      g_autofree char *upper = g_ascii_strup (json_node_get_string (node), -1);
      return cf_json_node_new_string (upper);
    }
  if (spec->choices != NULL && cf_json_node_is_string (node))
    {
      for (guint i = 0; spec->choices[i] != NULL; i++)
        if (g_ascii_strcasecmp (spec->choices[i], json_node_get_string (node)) == 0)
          return cf_json_node_new_string (spec->choices[i]);
    }
  return cf_json_node_deep_copy (node);
}

/**
 * cf_entity_schema_normalize:
 * @kind: the entity kind
 * @input: what the client sent, snake_case or camelCase
 * @mode: whether all required fields must be present
 * @problems: where problems are appended
 *
 * Returns: (transfer full): the known fields under their camelCase names;
 *   the caller checks @problems for emptiness
 */
JsonObject *
cf_entity_schema_normalize (CfEntityKind  kind,
                            JsonObject   *input,
                            CfSchemaMode  mode,
                            JsonArray    *problems)
{
  const KindSchema *schema = &schemas[kind];
  JsonObject *out = json_object_new ();
  g_autoptr(GList) members = json_object_get_members (input);

  for (GList *l = members; l != NULL; l = l->next)
    {
      const FieldSpec *spec = find_spec (schema, l->data);
      JsonNode *node = json_object_get_member (input, l->data);

      if (spec == NULL)
        continue;
      if (JSON_NODE_HOLDS_NULL (node))
        {
          if (spec->flags & NULLABLE)
            json_object_set_null_member (out, spec->name);
          else
            cf_entity_schema_add_problem (problems, spec->name, "type_error",
                                          "Input should not be null");
          continue;
        }
      if (check_type (spec, node, problems))
        json_object_set_member (out, spec->name, canonical_value (spec, node));
    }

  /* A required field that was given but had a bad type is reported
   * already; only a field given under neither name is missing. */
  if (mode == CF_SCHEMA_CREATE)
    for (gsize i = 0; i < schema->n_fields; i++)
      {
        const FieldSpec *spec = &schema->fields[i];

        if (spec->flags & REQUIRED && !json_object_has_member (input, spec->name) &&
            (spec->alias == NULL || !json_object_has_member (input, spec->alias)))
          cf_entity_schema_add_problem (problems, spec->name, "missing", "Field required");
      }

  return out;
}

/**
 * cf_entity_schema_public_view:
 * @kind: the entity kind
 * @entity: a stored entity
 *
 * Returns: (transfer full): @entity as API responses show it: secrets
 *   masked, binary content summarised rather than inlined
 */
JsonObject *
cf_entity_schema_public_view (CfEntityKind  kind,
                              JsonObject   *entity)
{
  JsonObject *view = cf_json_object_deep_copy (entity);
  JsonObject *auth = cf_json_object_get_object (view, "auth");

  if (kind == CF_ENTITY_GATEWAY && json_object_has_member (view, "authValue"))
    json_object_set_string_member (view, "authValue", CF_SECRET_MASK);
  if (kind == CF_ENTITY_TOOL && auth != NULL)
    {
      /* The type is no secret; whatever else the object holds may be. */
      JsonObject *masked = json_object_new ();

      if (cf_json_object_get_string (auth, "authType") != NULL)
        json_object_set_string_member (masked, "authType",
                                       cf_json_object_get_string (auth, "authType"));
      json_object_set_string_member (masked, "authValue", CF_SECRET_MASK);
      json_object_set_object_member (view, "auth", masked);
    }
  return view;
}
