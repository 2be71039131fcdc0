/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template-value"

#include "cf-prompt-template-private.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Template values are JsonNodes, so arguments flow in without a copy; %NULL
 * stands for Jinja's undefined. Printing follows Python's str() and repr(),
 * because that is what a Jinja template prints. */

typedef enum {
  DUMP_STR,
  DUMP_REPR,
  DUMP_JSON,
} DumpMode;

static gboolean
too_deep (GError **error)
{
  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_LIMIT,
               "a value is nested deeper than %d levels", CF_TEMPLATE_MAX_NESTING);
  return FALSE;
}

static gboolean dump (JsonNode *node,
                      DumpMode  mode,
                      guint     depth,
                      GString  *out,
                      GError  **error);

CfValueKind
cf_value_kind (JsonNode *node)
{
  if (node == NULL)
    return CF_VALUE_UNDEFINED;

  switch (json_node_get_node_type (node))
    {
    case JSON_NODE_OBJECT:
      return CF_VALUE_DICT;
    case JSON_NODE_ARRAY:
      return CF_VALUE_LIST;
    case JSON_NODE_NULL:
      return CF_VALUE_NONE;
    case JSON_NODE_VALUE:
    default:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_BOOLEAN:
      return CF_VALUE_BOOL;
    case G_TYPE_INT64:
      return CF_VALUE_INT;
    case G_TYPE_DOUBLE:
      return CF_VALUE_FLOAT;
    case G_TYPE_STRING:
      return CF_VALUE_STRING;
    default:
      return CF_VALUE_NONE;
    }
}

const char *
cf_value_type_name (JsonNode *node)
{
  static const char * const names[] = {
    "undefined", "NoneType", "bool", "int", "float", "str", "list", "dict",
  };

  return names[cf_value_kind (node)];
}

JsonNode *
cf_value_new_string (const char *str)
{
  return json_node_init_string (json_node_alloc (), str);
}

JsonNode *
cf_value_new_int (gint64 value)
{
  return json_node_init_int (json_node_alloc (), value);
}

JsonNode *
cf_value_new_double (double value)
{
  return json_node_init_double (json_node_alloc (), value);
}

JsonNode *
cf_value_new_bool (gboolean value)
{
  return json_node_init_boolean (json_node_alloc (), value);
}

JsonNode *
cf_value_new_null (void)
{
  return json_node_init_null (json_node_alloc ());
}

/* Takes ownership of @array. */
JsonNode *
cf_value_new_array (JsonArray *array)
{
  JsonNode *node = json_node_init_array (json_node_alloc (), array);

  json_array_unref (array);
  return node;
}

/* A GDestroyNotify that tolerates the %NULL of an undefined value. */
void
cf_value_unref (gpointer node)
{
  if (node != NULL)
    json_node_unref (node);
}

gboolean
cf_value_truthy (JsonNode *node)
{
  switch (cf_value_kind (node))
    {
    case CF_VALUE_BOOL:
      return json_node_get_boolean (node);
    case CF_VALUE_INT:
      return json_node_get_int (node) != 0;
    case CF_VALUE_FLOAT:
      return json_node_get_double (node) != 0.0;
    case CF_VALUE_STRING:
      return *json_node_get_string (node) != '\0';
    case CF_VALUE_LIST:
      return json_array_get_length (json_node_get_array (node)) > 0;
    case CF_VALUE_DICT:
      return json_object_get_size (json_node_get_object (node)) > 0;
    case CF_VALUE_UNDEFINED:
    case CF_VALUE_NONE:
    default:
      return FALSE;
    }
}

/* Python's bool is an int, so arithmetic and comparison accept it too. */
gboolean
cf_value_is_number (JsonNode *node)
{
  CfValueKind kind = cf_value_kind (node);

  return kind == CF_VALUE_INT || kind == CF_VALUE_FLOAT || kind == CF_VALUE_BOOL;
}

gboolean
cf_value_is_integer (JsonNode *node)
{
  CfValueKind kind = cf_value_kind (node);

  return kind == CF_VALUE_INT || kind == CF_VALUE_BOOL;
}

gint64
cf_value_get_int (JsonNode *node)
{
  if (cf_value_kind (node) == CF_VALUE_BOOL)
    return json_node_get_boolean (node) ? 1 : 0;
  return json_node_get_int (node);
}

double
cf_value_get_double (JsonNode *node)
{
  if (cf_value_kind (node) == CF_VALUE_FLOAT)
    return json_node_get_double (node);
  return (double) cf_value_get_int (node);
}

gboolean
cf_value_check_length (gsize    length,
                       GError **error)
{
  if (length <= CF_TEMPLATE_MAX_OUTPUT)
    return TRUE;

  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_LIMIT,
               "a string grew past the limit of %d bytes", CF_TEMPLATE_MAX_OUTPUT);
  return FALSE;
}

gboolean
cf_value_check_items (guint    n_items,
                      GError **error)
{
  if (n_items <= CF_TEMPLATE_MAX_ITEMS)
    return TRUE;

  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_LIMIT,
               "a list grew past the limit of %d items", CF_TEMPLATE_MAX_ITEMS);
  return FALSE;
}

/* Sets a CF_TEMPLATE_ERROR_FILTER error; always returns %FALSE. */
gboolean
cf_value_type_error (GError    **error,
                     const char *format,
                     ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error_literal (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_FILTER, message);
  return FALSE;
}

/* An optional integer argument of a filter or test. */
gboolean
cf_value_int_arg (JsonNode *arg,
                  gint64    fallback,
                  gint64   *out,
                  GError  **error)
{
  if (arg != NULL && !cf_value_is_integer (arg))
    return cf_value_type_error (error, "an integer argument is needed, not '%s'",
                                cf_value_type_name (arg));
  *out = arg != NULL ? cf_value_get_int (arg) : fallback;
  return TRUE;
}

/* Finds the fewest significant digits that read back as @value, which is
 * how Python picks the digits of repr(float). @value is finite and >= 0. */
static int
shortest_digits (double  value,
                 char   *digits)
{
  char buf[64];
  const char *exp;
  int precision, n = 0;

  for (precision = 1; precision < 17; precision++)
    {
      g_snprintf (buf, sizeof buf, "%.*e", precision - 1, value);
      if (g_ascii_strtod (buf, NULL) == value)
        break;
    }
  g_snprintf (buf, sizeof buf, "%.*e", precision - 1, value);

  exp = strchr (buf, 'e');
  for (const char *p = buf; p < exp; p++)
    if (g_ascii_isdigit (*p))
      digits[n++] = *p;
  while (n > 1 && digits[n - 1] == '0')
    n--;
  digits[n] = '\0';

  return atoi (exp + 1);
}

static void
format_positional (const char *digits,
                   int         exponent,
                   GString    *out)
{
  int n = strlen (digits);

  if (exponent < 0)
    {
      g_string_append (out, "0.");
      for (int i = -1; i > exponent; i--)
        g_string_append_c (out, '0');
      g_string_append (out, digits);
      return;
    }

  for (int i = 0; i <= exponent; i++)
    g_string_append_c (out, i < n ? digits[i] : '0');
  g_string_append_c (out, '.');
  g_string_append (out, n > exponent + 1 ? digits + exponent + 1 : "0");
}

static void
format_double (double   value,
               GString *out)
{
  char digits[32];
  int exponent;

  if (isnan (value))
    {
      g_string_append (out, "nan");
      return;
    }
  if (signbit (value))
    g_string_append_c (out, '-');
  value = fabs (value);
  if (isinf (value))
    {
      g_string_append (out, "inf");
      return;
    }

  exponent = shortest_digits (value, digits);
  if (exponent >= -4 && exponent < 16)
    {
      format_positional (digits, exponent, out);
      return;
    }

  g_string_append_c (out, digits[0]);
  if (digits[1] != '\0')
    g_string_append_printf (out, ".%s", digits + 1);
  g_string_append_printf (out, "e%c%02d", exponent < 0 ? '-' : '+', ABS (exponent));
}

static void
dump_repr_string (const char *str,
                  GString    *out)
{
  char quote = (strchr (str, '\'') && !strchr (str, '"')) ? '"' : '\'';

  g_string_append_c (out, quote);
  for (const char *p = str; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '\\' || c == (gunichar) quote)
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x100 && !g_unichar_isprint (c))
        g_string_append_printf (out, "\\x%02x", c);
      else if (!g_unichar_isprint (c))
        g_string_append_printf (out, c < 0x10000 ? "\\u%04x" : "\\U%08x", c);
      else
        g_string_append_len (out, p, g_utf8_next_char (p) - p);
    }
  g_string_append_c (out, quote);
}

static void
dump_json_unichar (gunichar  c,
                   GString  *out)
{
  if (c >= 0x10000)
    {
      c -= 0x10000;
      g_string_append_printf (out, "\\u%04x\\u%04x", 0xd800 + (c >> 10), 0xdc00 + (c & 0x3ff));
      return;
    }
  g_string_append_printf (out, "\\u%04x", c);
}

/* Jinja's tojson is json.dumps() with ASCII-only output, plus escapes that
 * keep the result safe inside HTML. */
static void
dump_json_string (const char *str,
                  GString    *out)
{
  g_string_append_c (out, '"');
  for (const char *p = str; *p; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);

      if (c == '"' || c == '\\')
        g_string_append_printf (out, "\\%c", (char) c);
      else if (c == '\n')
        g_string_append (out, "\\n");
      else if (c == '\r')
        g_string_append (out, "\\r");
      else if (c == '\t')
        g_string_append (out, "\\t");
      else if (c < 0x20 || c > 0x7e || strchr ("<>&'", (char) c))
        dump_json_unichar (c, out);
      else
        g_string_append_c (out, (char) c);
    }
  g_string_append_c (out, '"');
}

static void
dump_double (double    value,
             DumpMode  mode,
             GString  *out)
{
  if (mode == DUMP_JSON && isnan (value))
    g_string_append (out, "NaN");
  else if (mode == DUMP_JSON && isinf (value))
    g_string_append (out, value > 0 ? "Infinity" : "-Infinity");
  else
    format_double (value, out);
}

static gboolean
dump_list (JsonArray *array,
           DumpMode   mode,
           guint      depth,
           GString   *out,
           GError   **error)
{
  guint n = json_array_get_length (array);

  g_string_append_c (out, '[');
  for (guint i = 0; i < n; i++)
    {
      if (i > 0)
        g_string_append (out, ", ");
      if (!dump (json_array_get_element (array, i), mode, depth + 1, out, error))
        return FALSE;
    }
  g_string_append_c (out, ']');
  return TRUE;
}

static gboolean
dump_dict (JsonObject *object,
           DumpMode    mode,
           guint       depth,
           GString    *out,
           GError    **error)
{
  g_autoptr(GList) members = json_object_get_members (object);

  /* json.dumps(sort_keys=True) in Jinja; insertion order in repr() */
  if (mode == DUMP_JSON)
    members = g_list_sort (members, (GCompareFunc) strcmp);

  g_string_append_c (out, '{');
  for (GList *l = members; l != NULL; l = l->next)
    {
      if (l != members)
        g_string_append (out, ", ");
      if (mode == DUMP_JSON)
        dump_json_string (l->data, out);
      else
        dump_repr_string (l->data, out);
      g_string_append (out, ": ");
      if (!dump (json_object_get_member (object, l->data), mode, depth + 1, out, error))
        return FALSE;
    }
  g_string_append_c (out, '}');
  return TRUE;
}

static void
dump_scalar (JsonNode *node,
             DumpMode  mode,
             GString  *out)
{
  gboolean json = mode == DUMP_JSON;

  switch (cf_value_kind (node))
    {
    case CF_VALUE_BOOL:
      g_string_append (out, json_node_get_boolean (node) ? (json ? "true" : "True")
                                                         : (json ? "false" : "False"));
      break;
    case CF_VALUE_INT:
      g_string_append_printf (out, "%" G_GINT64_FORMAT, json_node_get_int (node));
      break;
    case CF_VALUE_FLOAT:
      dump_double (json_node_get_double (node), mode, out);
      break;
    case CF_VALUE_STRING:
      if (mode == DUMP_STR)
        g_string_append (out, json_node_get_string (node));
      else if (json)
        dump_json_string (json_node_get_string (node), out);
      else
        dump_repr_string (json_node_get_string (node), out);
      break;
    case CF_VALUE_NONE:
    default:
      g_string_append (out, json ? "null" : "None");
      break;
    }
}

static gboolean
dump (JsonNode *node,
      DumpMode  mode,
      guint     depth,
      GString  *out,
      GError  **error)
{
  gboolean ok = TRUE;

  /* Arguments are foreign JSON of any depth; the C stack is not. */
  if (depth > CF_TEMPLATE_MAX_NESTING)
    return too_deep (error);

  switch (cf_value_kind (node))
    {
    case CF_VALUE_UNDEFINED:
      g_set_error_literal (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_UNDEFINED,
                           "an undefined value cannot be printed");
      return FALSE;
    case CF_VALUE_LIST:
      ok = dump_list (json_node_get_array (node), mode == DUMP_JSON ? mode : DUMP_REPR,
                      depth, out, error);
      break;
    case CF_VALUE_DICT:
      ok = dump_dict (json_node_get_object (node), mode == DUMP_JSON ? mode : DUMP_REPR,
                      depth, out, error);
      break;
    default:
      dump_scalar (node, mode, out);
      break;
    }

  return ok && cf_value_check_length (out->len, error);
}

/* Appends str(@node) to @out, failing once @out passes the output limit. */
gboolean
cf_value_to_string (JsonNode *node,
                    GString  *out,
                    GError  **error)
{
  return dump (node, DUMP_STR, 0, out, error);
}

char *
cf_value_dup_string (JsonNode *node,
                     GError  **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (cf_value_kind (node) == CF_VALUE_STRING)
    return g_strdup (json_node_get_string (node));
  if (!cf_value_to_string (node, out, error))
    return NULL;
  return g_string_free (g_steal_pointer (&out), FALSE);
}

gboolean
cf_value_to_json (JsonNode *node,
                  GString  *out,
                  GError  **error)
{
  return dump (node, DUMP_JSON, 0, out, error);
}

static JsonArray *
string_to_array (const char *str,
                 GError    **error)
{
  g_autoptr(JsonArray) array = NULL;

  if (!cf_value_check_items (g_utf8_strlen (str, -1), error))
    return NULL;

  array = json_array_new ();
  for (const char *p = str; *p; p = g_utf8_next_char (p))
    {
      g_autofree char *c = g_strndup (p, g_utf8_next_char (p) - p);

      json_array_add_string_element (array, c);
    }
  return g_steal_pointer (&array);
}

static JsonArray *
dict_keys (JsonObject *object)
{
  g_autoptr(GList) members = json_object_get_members (object);
  JsonArray *array = json_array_sized_new (g_list_length (members));

  for (GList *l = members; l != NULL; l = l->next)
    json_array_add_string_element (array, l->data);
  return array;
}

/* JsonArray and JsonObject count references without atomics, and the
 * same arguments may be rendered on several threads: so a render takes
 * references on nodes (atomic) and never on containers it did not make. */
static JsonArray *
copy_array (JsonArray *array)
{
  guint n = json_array_get_length (array);
  JsonArray *copy = json_array_sized_new (n);

  for (guint i = 0; i < n; i++)
    json_array_add_element (copy, json_node_ref (json_array_get_element (array, i)));
  return copy;
}

/* What a Python for-loop sees: list items, dict keys, or characters, in a
 * new array. */
JsonArray *
cf_value_to_array (JsonNode *node,
                   GError  **error)
{
  switch (cf_value_kind (node))
    {
    case CF_VALUE_LIST:
      return copy_array (json_node_get_array (node));
    case CF_VALUE_DICT:
      return dict_keys (json_node_get_object (node));
    case CF_VALUE_STRING:
      return string_to_array (json_node_get_string (node), error);
    default:
      g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_FILTER,
                   "'%s' object is not iterable", cf_value_type_name (node));
      return NULL;
    }
}

static gboolean
equal_lists (CfRender  *render,
             JsonArray *a,
             JsonArray *b,
             guint      depth,
             gboolean  *equal,
             GError   **error)
{
  guint n = json_array_get_length (a);

  *equal = n == json_array_get_length (b);
  for (guint i = 0; *equal && i < n; i++)
    {
      if (!cf_value_equal (render, json_array_get_element (a, i),
                           json_array_get_element (b, i), depth + 1, equal, error))
        return FALSE;
    }
  return TRUE;
}

static gboolean
equal_dicts (CfRender   *render,
             JsonObject *a,
             JsonObject *b,
             guint       depth,
             gboolean   *equal,
             GError    **error)
{
  g_autoptr(GList) members = json_object_get_members (a);

  *equal = json_object_get_size (a) == json_object_get_size (b);
  for (GList *l = members; *equal && l != NULL; l = l->next)
    {
      JsonNode *other = json_object_get_member (b, l->data);

      *equal = other != NULL;
      if (*equal && !cf_value_equal (render, json_object_get_member (a, l->data), other,
                                     depth + 1, equal, error))
        return FALSE;
    }
  return TRUE;
}

/* Python ==: 1 == 1.0 == True, containers compare by value. */
gboolean
cf_value_equal (CfRender  *render,
                JsonNode  *a,
                JsonNode  *b,
                guint      depth,
                gboolean  *equal,
                GError   **error)
{
  CfValueKind ka = cf_value_kind (a), kb = cf_value_kind (b);

  if (depth > CF_TEMPLATE_MAX_NESTING)
    return too_deep (error);
  if (!cf_render_charge (render, 1, error))
    return FALSE;

  *equal = FALSE;
  if (cf_value_is_integer (a) && cf_value_is_integer (b))
    *equal = cf_value_get_int (a) == cf_value_get_int (b);
  else if (cf_value_is_number (a) && cf_value_is_number (b))
    *equal = cf_value_get_double (a) == cf_value_get_double (b);
  else if (ka != kb)
    *equal = FALSE;
  else if (ka == CF_VALUE_STRING)
    *equal = g_str_equal (json_node_get_string (a), json_node_get_string (b));
  else if (ka == CF_VALUE_LIST)
    return equal_lists (render, json_node_get_array (a), json_node_get_array (b), depth, equal,
                        error);
  else if (ka == CF_VALUE_DICT)
    return equal_dicts (render, json_node_get_object (a), json_node_get_object (b), depth, equal,
                        error);
  else
    *equal = TRUE;

  return TRUE;
}

/* Python ordering: numbers with numbers and strings with strings; UTF-8
 * byte order is code point order, which is what Python compares. */
gboolean
cf_value_compare (JsonNode *a,
                  JsonNode *b,
                  int      *order,
                  GError  **error)
{
  if (cf_value_is_integer (a) && cf_value_is_integer (b))
    {
      gint64 x = cf_value_get_int (a), y = cf_value_get_int (b);

      *order = (x > y) - (x < y);
      return TRUE;
    }
  if (cf_value_is_number (a) && cf_value_is_number (b))
    {
      double x = cf_value_get_double (a), y = cf_value_get_double (b);

      *order = (x > y) - (x < y);
      return TRUE;
    }
  if (cf_value_kind (a) == CF_VALUE_STRING && cf_value_kind (b) == CF_VALUE_STRING)
    {
      *order = strcmp (json_node_get_string (a), json_node_get_string (b));
      *order = (*order > 0) - (*order < 0);
      return TRUE;
    }

  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_FILTER,
               "'%s' and '%s' cannot be ordered", cf_value_type_name (a), cf_value_type_name (b));
  return FALSE;
}

static gboolean
list_contains (CfRender  *render,
               JsonArray *array,
               JsonNode  *item,
               gboolean  *found,
               GError   **error)
{
  guint n = json_array_get_length (array);

  *found = FALSE;
  for (guint i = 0; !*found && i < n; i++)
    {
      if (!cf_value_equal (render, json_array_get_element (array, i), item, 0, found, error))
        return FALSE;
    }
  return TRUE;
}

/* Python's `in`: substring, list membership or dict key. */
gboolean
cf_value_contains (CfRender  *render,
                   JsonNode  *container,
                   JsonNode  *item,
                   gboolean  *found,
                   GError   **error)
{
  switch (cf_value_kind (container))
    {
    case CF_VALUE_STRING:
      if (cf_value_kind (item) != CF_VALUE_STRING)
        break;
      *found = strstr (json_node_get_string (container), json_node_get_string (item)) != NULL;
      return TRUE;
    case CF_VALUE_LIST:
      return list_contains (render, json_node_get_array (container), item, found, error);
    case CF_VALUE_DICT:
      *found = cf_value_kind (item) == CF_VALUE_STRING &&
               json_object_has_member (json_node_get_object (container),
                                       json_node_get_string (item));
      return TRUE;
    default:
      break;
    }

  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_FILTER,
               "'in' cannot test a '%s' inside a '%s'", cf_value_type_name (item),
               cf_value_type_name (container));
  return FALSE;
}
