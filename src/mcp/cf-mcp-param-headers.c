/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-mcp-param-headers"

#include "config.h"

#include <math.h>
#include <string.h>

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-era.h"
#include "cf-mcp-param-headers.h"

/*
 * 2026-07-28 lets a tool mark arguments to be mirrored into HTTP headers
 * (`x-mcp-header` in the argument's schema), so that load balancers and
 * firewalls can route on them without reading the body. A client must
 * send them; a server that reads the body must check them against it.
 * The gateway is both: this file holds the rules once.
 *
 * An annotation counts only on a property reached from the schema's root
 * by `properties` keys alone; anywhere else (under items, oneOf, $ref...)
 * it makes the whole tool definition invalid, as does a name that is not
 * an HTTP token, a duplicate name, or a type other than string, integer
 * or boolean.
 */

#define HEADER_PREFIX "Mcp-Param-"

/* JavaScript's safe integers: the spec's bound for mirrored integers. */
#define MAX_SAFE_INTEGER 9007199254740991.0

typedef enum {
  PARAM_STRING,
  PARAM_INTEGER,
  PARAM_BOOLEAN,
} ParamType;

typedef struct {
  char      *header;
  char     **path;
  ParamType  type;
} Param;

struct _CfMcpParamHeaders {
  gatomicrefcount  ref_count;
  GArray          *params;
};

static void
param_clear (gpointer data)
{
  Param *param = data;

  g_free (param->header);
  g_strfreev (param->path);
}

/* Schema keywords whose values are instance data, not schemas: an
 * `x-mcp-header` inside them is a value, not an annotation. */
static const char * const data_keywords[] = {
  "const", "enum", "default", "examples", "example", NULL
};

/* Schema keywords holding a map from names to schemas. */
static const char * const schema_map_keywords[] = {
  "patternProperties", "$defs", "definitions", "dependentSchemas", NULL
};

static gboolean
is_tchar (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("!#$%&'*+-.^_`|~", c) != NULL);
}

static gboolean
is_token (const char *name)
{
  if (*name == '\0')
    return FALSE;
  for (const char *p = name; *p; p++)
    if (!is_tchar (*p))
      return FALSE;
  return TRUE;
}

static gboolean
type_from_name (const char *name,
                ParamType  *type)
{
  if (g_strcmp0 (name, "string") == 0)
    *type = PARAM_STRING;
  else if (g_strcmp0 (name, "integer") == 0)
    *type = PARAM_INTEGER;
  else if (g_strcmp0 (name, "boolean") == 0)
    *type = PARAM_BOOLEAN;
  else
    return FALSE;
  return TRUE;
}

/* The property's primitive type: "type" names one of string, integer or
 * boolean, or is a list of one of them and "null". */
static gboolean
property_type (JsonObject *property,
               ParamType  *type)
{
  JsonNode *node = json_object_get_member (property, "type");
  JsonArray *types;
  guint primitives = 0;

  if (node == NULL)
    return FALSE;
  if (JSON_NODE_HOLDS_VALUE (node))
    return type_from_name (cf_json_object_get_string (property, "type"), type);
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return FALSE;

  types = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (types); i++)
    {
      JsonNode *element = json_array_get_element (types, i);
      const char *name = JSON_NODE_HOLDS_VALUE (element) &&
                         json_node_get_value_type (element) == G_TYPE_STRING
                         ? json_node_get_string (element) : NULL;

      if (g_strcmp0 (name, "null") == 0)
        continue;
      if (!type_from_name (name, type))
        return FALSE;
      primitives++;
    }
  return primitives == 1;
}

typedef struct {
  GArray     *params;
  GHashTable *names;
  GPtrArray  *path;
  GError     *error;
} Compile;

static void scan_schema (Compile    *compile,
                         JsonObject *schema,
                         gboolean    reachable);

static void
scan_node (Compile  *compile,
           JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    scan_schema (compile, json_node_get_object (node), FALSE);
  else if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *array = json_node_get_array (node);

      for (guint i = 0; compile->error == NULL && i < json_array_get_length (array); i++)
        scan_node (compile, json_array_get_element (array, i));
    }
}

static char *
path_string (GPtrArray *path)
{
  GString *text = g_string_new (NULL);

  for (guint i = 0; i < path->len; i++)
    g_string_append_printf (text, "%s%s", i > 0 ? "." : "", (char *) path->pdata[i]);
  return g_string_free (text, FALSE);
}

static void
record (Compile    *compile,
        JsonObject *property,
        gboolean    reachable)
{
  JsonNode *node = json_object_get_member (property, "x-mcp-header");
  g_autofree char *where = path_string (compile->path);
  const char *name;
  g_autofree char *folded = NULL;
  Param param = { 0 };

  if (!reachable || compile->path->len == 0)
    {
      g_set_error (&compile->error, CF_JSONRPC_ERROR, CF_JSONRPC_INVALID_PARAMS,
                   "x-mcp-header at '%s' is not on a property reached through properties alone",
                   *where ? where : "(root)");
      return;
    }
  name = JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
         ? json_node_get_string (node) : NULL;
  if (name == NULL || !is_token (name))
    {
      g_set_error (&compile->error, CF_JSONRPC_ERROR, CF_JSONRPC_INVALID_PARAMS,
                   "x-mcp-header of '%s' must be a non-empty HTTP token", where);
      return;
    }
  folded = g_ascii_strdown (name, -1);
  if (g_hash_table_contains (compile->names, folded))
    {
      g_set_error (&compile->error, CF_JSONRPC_ERROR, CF_JSONRPC_INVALID_PARAMS,
                   "x-mcp-header '%s' of '%s' is used twice", name, where);
      return;
    }
  if (!property_type (property, &param.type))
    {
      g_set_error (&compile->error, CF_JSONRPC_ERROR, CF_JSONRPC_INVALID_PARAMS,
                   "x-mcp-header of '%s' needs type string, integer or boolean", where);
      return;
    }

  g_hash_table_add (compile->names, g_steal_pointer (&folded));
  param.header = g_strconcat (HEADER_PREFIX, name, NULL);
  param.path = g_new0 (char *, compile->path->len + 1);
  for (guint i = 0; i < compile->path->len; i++)
    param.path[i] = g_strdup (compile->path->pdata[i]);
  g_array_append_val (compile->params, param);
}

static void
scan_schema (Compile    *compile,
             JsonObject *schema,
             gboolean    reachable)
{
  /* Members in document order (json-glib 1.6's iterator has none), so
   * that headers go out in the order the schema lists them. */
  g_autoptr(GList) members = NULL;

  if (json_object_has_member (schema, "x-mcp-header"))
    {
      record (compile, schema, reachable);
      if (compile->error != NULL)
        return;
    }

  members = json_object_get_members (schema);
  for (GList *l = members; compile->error == NULL && l != NULL; l = l->next)
    {
      const char *member = l->data;
      JsonNode *value = json_object_get_member (schema, member);

      if (g_strv_contains (data_keywords, member))
        continue;
      if ((g_str_equal (member, "properties") || g_strv_contains (schema_map_keywords, member)) &&
          JSON_NODE_HOLDS_OBJECT (value))
        {
          gboolean through_properties = reachable && g_str_equal (member, "properties");
          JsonObject *map = json_node_get_object (value);
          g_autoptr(GList) keys = json_object_get_members (map);

          for (GList *k = keys; compile->error == NULL && k != NULL; k = k->next)
            {
              JsonNode *sub = json_object_get_member (map, k->data);

              if (!JSON_NODE_HOLDS_OBJECT (sub))
                continue;
              g_ptr_array_add (compile->path, k->data);
              scan_schema (compile, json_node_get_object (sub), through_properties);
              g_ptr_array_remove_index (compile->path, compile->path->len - 1);
            }
          continue;
        }
      scan_node (compile, value);
    }
}

/**
 * cf_mcp_param_headers_compile:
 * @input_schema: (nullable): a tool's `inputSchema`
 * @error: set when the annotations make the tool definition invalid
 *
 * Returns: (transfer full) (nullable): the tool's mirrored parameters, or
 *   %NULL when it has none (without @error) or its annotations are
 *   invalid (with @error, saying what is wrong)
 */
CfMcpParamHeaders *
cf_mcp_param_headers_compile (JsonObject  *input_schema,
                              GError     **error)
{
  g_autoptr(GHashTable) names = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);
  g_autoptr(GPtrArray) path = g_ptr_array_new ();
  g_autoptr(GArray) params = g_array_new (FALSE, FALSE, sizeof (Param));
  Compile compile = { params, names, path, NULL };
  CfMcpParamHeaders *self;

  g_array_set_clear_func (params, param_clear);
  if (input_schema == NULL)
    return NULL;

  scan_schema (&compile, input_schema, TRUE);
  if (compile.error != NULL)
    {
      g_propagate_error (error, compile.error);
      return NULL;
    }
  if (params->len == 0)
    return NULL;

  self = g_new0 (CfMcpParamHeaders, 1);
  g_atomic_ref_count_init (&self->ref_count);
  self->params = g_steal_pointer (&params);
  return self;
}

CfMcpParamHeaders *
cf_mcp_param_headers_ref (CfMcpParamHeaders *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cf_mcp_param_headers_unref (CfMcpParamHeaders *self)
{
  g_return_if_fail (self != NULL);

  if (g_atomic_ref_count_dec (&self->ref_count))
    {
      g_array_unref (self->params);
      g_free (self);
    }
}

/**
 * cf_mcp_param_headers_get_size:
 * @self: compiled annotations
 *
 * Returns: how many parameters are mirrored
 */
guint
cf_mcp_param_headers_get_size (CfMcpParamHeaders *self)
{
  g_return_val_if_fail (self != NULL, 0);

  return self->params->len;
}

/**
 * cf_mcp_param_headers_table_new:
 *
 * Returns: (transfer full): an empty table from tool names to their
 *   #CfMcpParamHeaders, which it owns
 */
GHashTable *
cf_mcp_param_headers_table_new (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) cf_mcp_param_headers_unref);
}

/* The argument at @path, or %NULL when absent or JSON null. */
static JsonNode *
value_at (JsonObject  *arguments,
          char       **path)
{
  JsonObject *object = arguments;
  JsonNode *node = NULL;

  for (guint i = 0; path[i] != NULL; i++)
    {
      if (object == NULL)
        return NULL;
      node = json_object_get_member (object, path[i]);
      if (node == NULL)
        return NULL;
      object = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
    }
  return node != NULL && !JSON_NODE_HOLDS_NULL (node) ? node : NULL;
}

/* The argument's text as the header carries it before encoding, or %NULL
 * when its value cannot be mirrored (an object, an array, a fraction, an
 * integer beyond the safe range). */
static char *
value_text (JsonNode *node)
{
  GType type;

  if (!JSON_NODE_HOLDS_VALUE (node))
    return NULL;
  type = json_node_get_value_type (node);
  if (type == G_TYPE_STRING)
    return g_strdup (json_node_get_string (node));
  if (type == G_TYPE_BOOLEAN)
    return g_strdup (json_node_get_boolean (node) ? "true" : "false");
  if (type == G_TYPE_INT64)
    {
      gint64 v = json_node_get_int (node);

      return fabs ((double) v) <= MAX_SAFE_INTEGER ? g_strdup_printf ("%" G_GINT64_FORMAT, v) : NULL;
    }
  if (type == G_TYPE_DOUBLE)
    {
      double v = json_node_get_double (node);

      return isfinite (v) && v == floor (v) && fabs (v) <= MAX_SAFE_INTEGER
             ? g_strdup_printf ("%.0f", v) : NULL;
    }
  return NULL;
}

/**
 * cf_mcp_param_headers_foreach:
 * @self: compiled annotations
 * @arguments: (nullable): a tools/call's `arguments`
 * @func: called with each header to send and its encoded value
 * @user_data: data for @func
 *
 * Calls @func for each mirrored parameter that has a value in
 * @arguments; absent and null ones send no header.
 */
void
cf_mcp_param_headers_foreach (CfMcpParamHeaders    *self,
                              JsonObject           *arguments,
                              CfMcpParamHeaderFunc  func,
                              gpointer              user_data)
{
  g_return_if_fail (self != NULL);
  g_return_if_fail (func != NULL);

  for (guint i = 0; arguments != NULL && i < self->params->len; i++)
    {
      Param *param = &g_array_index (self->params, Param, i);
      JsonNode *node = value_at (arguments, param->path);
      g_autofree char *text = node != NULL ? value_text (node) : NULL;
      g_autofree char *encoded = NULL;

      if (text == NULL)
        continue;
      encoded = cf_mcp_encode_header_value (text);
      func (param->header, encoded, user_data);
    }
}

static gboolean
mismatch (GError    **error,
          const char *format,
          ...) G_GNUC_PRINTF (2, 3);

static gboolean
mismatch (GError    **error,
          const char *format,
          ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_set_error (error, CF_JSONRPC_ERROR, CF_JSONRPC_HEADER_MISMATCH, "Header mismatch: %s", text);
  return FALSE;
}

/* Integers compare as numbers ("42.0" matches 42), the rest as text. */
static gboolean
values_match (JsonNode   *node,
              const char *body_text,
              const char *header_text)
{
  char *end = NULL;
  double number;

  if (g_str_equal (body_text, header_text))
    return TRUE;
  if (json_node_get_value_type (node) != G_TYPE_INT64 &&
      json_node_get_value_type (node) != G_TYPE_DOUBLE)
    return FALSE;
  if (*header_text == '\0' || g_ascii_isspace (*header_text))
    return FALSE;
  number = g_ascii_strtod (header_text, &end);
  return *end == '\0' && isfinite (number) && number == g_ascii_strtod (body_text, NULL);
}

/**
 * cf_mcp_param_headers_validate:
 * @self: compiled annotations
 * @arguments: (nullable): a tools/call's `arguments`
 * @lookup: finds a received header's value
 * @lookup_data: data for @lookup
 * @error: a %CF_JSONRPC_HEADER_MISMATCH error saying which header is
 *   wrong
 *
 * Checks the received `Mcp-Param-*` headers against the body: a value in
 * the body needs its header, with the same value once decoded; a header
 * without a value in the body does not match it either; values must be
 * visible ASCII, space or tab.
 *
 * Returns: whether the headers match the body
 */
gboolean
cf_mcp_param_headers_validate (CfMcpParamHeaders      *self,
                               JsonObject             *arguments,
                               CfMcpHeaderLookupFunc   lookup,
                               gpointer                lookup_data,
                               GError                **error)
{
  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (lookup != NULL, FALSE);

  for (guint i = 0; i < self->params->len; i++)
    {
      Param *param = &g_array_index (self->params, Param, i);
      JsonNode *node = arguments != NULL ? value_at (arguments, param->path) : NULL;
      const char *header = lookup (param->header, lookup_data);
      g_autofree char *body_text = NULL;
      g_autofree char *decoded = NULL;

      if (node == NULL)
        {
          if (header != NULL)
            return mismatch (error, "%s header is set but the body has no value for it",
                             param->header);
          continue;
        }
      body_text = value_text (node);
      if (body_text == NULL)
        return mismatch (error, "the body value mirrored in %s is not a string, integer or boolean",
                         param->header);
      if (header == NULL)
        return mismatch (error, "required header %s is missing", param->header);
      if (!cf_mcp_header_value_is_valid (header))
        return mismatch (error, "%s header holds invalid characters", param->header);
      decoded = cf_mcp_decode_header_value (header);
      if (decoded == NULL)
        return mismatch (error, "%s header holds an invalid base64 value", param->header);
      if (!values_match (node, body_text, decoded))
        return mismatch (error, "%s header value '%s' does not match body value '%s'",
                         param->header, decoded, body_text);
    }
  return TRUE;
}

/**
 * cf_mcp_header_value_is_valid:
 * @value: a received header value
 *
 * Returns: whether @value holds only what RFC 9110 allows in a field
 *   value: visible ASCII, space and horizontal tab
 */
gboolean
cf_mcp_header_value_is_valid (const char *value)
{
  for (const guchar *p = (const guchar *) value; *p; p++)
    if (!((*p >= 0x20 && *p <= 0x7E) || *p == '\t'))
      return FALSE;
  return TRUE;
}

static gboolean
is_plain_header_value (const char *value)
{
  gsize len = strlen (value);

  if (len > 0 && (g_ascii_isspace (value[0]) || g_ascii_isspace (value[len - 1])))
    return FALSE;
  if (!cf_mcp_header_value_is_valid (value) || strchr (value, '\t') != NULL)
    return FALSE;
  return !(g_str_has_prefix (value, "=?base64?") && g_str_has_suffix (value, "?="));
}

/**
 * cf_mcp_encode_header_value:
 * @value: a UTF-8 value to mirror into Mcp-Name or Mcp-Param-*
 *
 * Returns: (transfer full): @value, or its `=?base64?...?=` form when it
 *   cannot travel as a plain header value (non-ASCII, control characters,
 *   leading or trailing white space, or the sentinel form itself)
 */
char *
cf_mcp_encode_header_value (const char *value)
{
  g_autofree char *encoded = NULL;

  if (is_plain_header_value (value))
    return g_strdup (value);
  encoded = g_base64_encode ((const guchar *) value, strlen (value));
  return g_strconcat ("=?base64?", encoded, "?=", NULL);
}
