/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template-builtins"

#include "cf-prompt-template-private.h"

#include <string.h>

/* Jinja's tests ("x is defined"), the dict and str methods prompt authors
 * reach for, and range(). */

static gboolean
set_bool (JsonNode **result,
          gboolean   value)
{
  *result = cf_value_new_bool (value);
  return TRUE;
}

static gboolean
method_items (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  g_autoptr(GList) members = NULL;
  JsonArray *items;

  if (cf_value_kind (input) != CF_VALUE_DICT)
    return cf_value_type_error (error, "'%s' object has no items()", cf_value_type_name (input));

  members = json_object_get_members (json_node_get_object (input));
  items = json_array_sized_new (g_list_length (members));
  for (GList *l = members; l != NULL; l = l->next)
    {
      JsonArray *pair = json_array_sized_new (2);

      json_array_add_string_element (pair, l->data);
      json_array_add_element (pair, json_node_ref (json_object_get_member (
                                                     json_node_get_object (input), l->data)));
      json_array_add_array_element (items, pair);
    }
  *result = cf_value_new_array (items);
  return TRUE;
}

static gboolean
method_keys (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  if (cf_value_kind (input) != CF_VALUE_DICT)
    return cf_value_type_error (error, "'%s' object has no keys()", cf_value_type_name (input));
  *result = cf_value_new_array (cf_value_to_array (input, error));
  return TRUE;
}

static gboolean
method_values (CfRender  *render,
               JsonNode  *input,
               JsonNode **args,
               JsonNode **result,
               GError   **error)
{
  g_autoptr(GList) values = NULL;
  JsonArray *items;

  if (cf_value_kind (input) != CF_VALUE_DICT)
    return cf_value_type_error (error, "'%s' object has no values()", cf_value_type_name (input));

  values = json_object_get_values (json_node_get_object (input));
  items = json_array_sized_new (g_list_length (values));
  for (GList *l = values; l != NULL; l = l->next)
    json_array_add_element (items, json_node_ref (l->data));
  *result = cf_value_new_array (items);
  return TRUE;
}

static gboolean
method_get (CfRender  *render,
            JsonNode  *input,
            JsonNode **args,
            JsonNode **result,
            GError   **error)
{
  JsonNode *member = NULL;

  if (cf_value_kind (input) != CF_VALUE_DICT)
    return cf_value_type_error (error, "'%s' object has no get()", cf_value_type_name (input));

  if (cf_value_kind (args[0]) == CF_VALUE_STRING)
    member = json_object_get_member (json_node_get_object (input), json_node_get_string (args[0]));
  if (member == NULL)
    member = args[1];
  *result = member != NULL ? json_node_ref (member) : cf_value_new_null ();
  return TRUE;
}

static gboolean
affix_matches (JsonNode  *input,
               JsonNode  *affix,
               gboolean   suffix,
               JsonNode **result,
               GError   **error)
{
  const char *str, *end;

  if (cf_value_kind (input) != CF_VALUE_STRING || cf_value_kind (affix) != CF_VALUE_STRING)
    return cf_value_type_error (error, "startswith() and endswith() compare strings, not '%s'", cf_value_type_name (cf_value_kind (input) != CF_VALUE_STRING ? input : affix));

  str = json_node_get_string (input);
  end = json_node_get_string (affix);
  return set_bool (result, suffix ? g_str_has_suffix (str, end) : g_str_has_prefix (str, end));
}

static gboolean
method_startswith (CfRender  *render,
                   JsonNode  *input,
                   JsonNode **args,
                   JsonNode **result,
                   GError   **error)
{
  return affix_matches (input, args[0], FALSE, result, error);
}

static gboolean
method_endswith (CfRender  *render,
                 JsonNode  *input,
                 JsonNode **args,
                 JsonNode **result,
                 GError   **error)
{
  return affix_matches (input, args[0], TRUE, result, error);
}

static gboolean
add_item (JsonArray  *items,
          const char *start,
          const char *end,
          GError    **error)
{
  g_autofree char *item = g_strndup (start, end - start);

  json_array_add_string_element (items, item);
  return cf_value_check_items (json_array_get_length (items), error);
}

static gboolean
split_words (JsonArray  *items,
             const char *str,
             GError    **error)
{
  const char *p = str;

  for (;;)
    {
      const char *word;

      while (g_ascii_isspace (*p))
        p++;
      if (*p == '\0')
        return TRUE;
      for (word = p; *p != '\0' && !g_ascii_isspace (*p); p++)
        ;
      if (!add_item (items, word, p, error))
        return FALSE;
    }
}

static gboolean
split_on (JsonArray  *items,
          const char *str,
          const char *sep,
          GError    **error)
{
  const char *p = str, *hit;

  for (; (hit = strstr (p, sep)) != NULL; p = hit + strlen (sep))
    if (!add_item (items, p, hit, error))
      return FALSE;
  return add_item (items, p, p + strlen (p), error);
}

/* str.split(sep=None): on whitespace runs, or on each @sep. */
static gboolean
method_split (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  g_autoptr(JsonArray) items = json_array_new ();
  const char *sep;
  gboolean ok;

  if (cf_value_kind (input) != CF_VALUE_STRING ||
      (args[0] != NULL && cf_value_kind (args[0]) != CF_VALUE_STRING))
    return cf_value_type_error (error, "split() works on strings, not '%s'", cf_value_type_name (input));

  sep = args[0] != NULL ? json_node_get_string (args[0]) : NULL;
  if (sep != NULL && *sep == '\0')
    return cf_value_type_error (error, "split() needs a non-empty separator");
  if (sep == NULL)
    ok = split_words (items, json_node_get_string (input), error);
  else
    ok = split_on (items, json_node_get_string (input), sep, error);
  if (!ok)
    return FALSE;

  *result = cf_value_new_array (g_steal_pointer (&items));
  return TRUE;
}

/* How many values range() yields; unsigned so that no span overflows. */
static guint64
range_length (gint64 start,
              gint64 stop,
              gint64 step)
{
  guint64 span, stride;

  if (step > 0 ? start >= stop : start <= stop)
    return 0;
  span = step > 0 ? (guint64) stop - (guint64) start : (guint64) start - (guint64) stop;
  stride = step > 0 ? (guint64) step : -(guint64) step;
  return (span - 1) / stride + 1;
}

static gboolean
global_range (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  gint64 start, stop, step;
  guint64 count;
  JsonArray *items;

  if (!cf_value_int_arg (args[0], 0, &start, error) || !cf_value_int_arg (args[1], 0, &stop, error) ||
      !cf_value_int_arg (args[2], 1, &step, error))
    return FALSE;
  if (args[1] == NULL)
    {
      stop = start;
      start = 0;
    }
  if (step == 0)
    return cf_value_type_error (error, "range() step must not be zero");

  count = range_length (start, stop, step);
  if (!cf_value_check_items (MIN (count, G_MAXUINT), error))
    return FALSE;

  items = json_array_sized_new (count);
  for (guint64 i = 0; i < count; i++)
    json_array_add_int_element (items, (gint64) ((guint64) start + i * (guint64) step));
  *result = cf_value_new_array (items);
  return TRUE;
}

static gboolean
test_defined (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  return set_bool (result, input != NULL);
}

static gboolean
test_undefined (CfRender  *render,
                JsonNode  *input,
                JsonNode **args,
                JsonNode **result,
                GError   **error)
{
  return set_bool (result, input == NULL);
}

static gboolean
test_none (CfRender  *render,
           JsonNode  *input,
           JsonNode **args,
           JsonNode **result,
           GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_NONE);
}

static gboolean
test_string (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_STRING);
}

static gboolean
test_number (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  return set_bool (result, cf_value_is_number (input));
}

static gboolean
test_integer (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_INT);
}

static gboolean
test_float (CfRender  *render,
            JsonNode  *input,
            JsonNode **args,
            JsonNode **result,
            GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_FLOAT);
}

static gboolean
test_boolean (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_BOOL);
}

static gboolean
test_true (CfRender  *render,
           JsonNode  *input,
           JsonNode **args,
           JsonNode **result,
           GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_BOOL && json_node_get_boolean (input));
}

static gboolean
test_false (CfRender  *render,
            JsonNode  *input,
            JsonNode **args,
            JsonNode **result,
            GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_BOOL && !json_node_get_boolean (input));
}

static gboolean
test_mapping (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  return set_bool (result, cf_value_kind (input) == CF_VALUE_DICT);
}

static gboolean
test_iterable (CfRender  *render,
               JsonNode  *input,
               JsonNode **args,
               JsonNode **result,
               GError   **error)
{
  CfValueKind kind = cf_value_kind (input);

  return set_bool (result,
                   kind == CF_VALUE_STRING || kind == CF_VALUE_LIST || kind == CF_VALUE_DICT);
}

static gboolean
divisible (JsonNode  *input,
           gint64     divisor,
           gint64     remainder,
           JsonNode **result,
           GError   **error)
{
  if (!cf_value_is_integer (input))
    return cf_value_type_error (error, "this test needs an integer, not '%s'", cf_value_type_name (input));
  if (divisor == 0)
    return cf_value_type_error (error, "divisibleby(0) divides by zero");
  if (divisor == -1)
    return set_bool (result, remainder == 0);
  return set_bool (result, ABS (cf_value_get_int (input) % divisor) == remainder);
}

static gboolean
test_even (CfRender  *render,
           JsonNode  *input,
           JsonNode **args,
           JsonNode **result,
           GError   **error)
{
  return divisible (input, 2, 0, result, error);
}

static gboolean
test_odd (CfRender  *render,
          JsonNode  *input,
          JsonNode **args,
          JsonNode **result,
          GError   **error)
{
  return divisible (input, 2, 1, result, error);
}

static gboolean
test_divisibleby (CfRender  *render,
                  JsonNode  *input,
                  JsonNode **args,
                  JsonNode **result,
                  GError   **error)
{
  gint64 divisor;

  return cf_value_int_arg (args[0], 1, &divisor, error) && divisible (input, divisor, 0, result, error);
}

const CfCallable cf_template_tests[] = {
  { "boolean", test_boolean, 0, TRUE },
  { "defined", test_defined, 0, TRUE },
  { "divisibleby", test_divisibleby, 1, FALSE, { "num" } },
  { "even", test_even },
  { "false", test_false, 0, TRUE },
  { "float", test_float, 0, TRUE },
  { "integer", test_integer, 0, TRUE },
  { "iterable", test_iterable, 0, TRUE },
  { "mapping", test_mapping, 0, TRUE },
  { "none", test_none, 0, TRUE },
  { "number", test_number, 0, TRUE },
  { "odd", test_odd },
  { "sequence", test_iterable, 0, TRUE },
  { "string", test_string, 0, TRUE },
  { "true", test_true, 0, TRUE },
  { "undefined", test_undefined, 0, TRUE },
  { NULL },
};

const CfCallable cf_template_methods[] = {
  { "endswith", method_endswith, 1, FALSE, { "suffix" } },
  { "get", method_get, 1, FALSE, { "key", "default" } },
  { "items", method_items },
  { "keys", method_keys },
  { "split", method_split, 0, FALSE, { "sep" } },
  { "startswith", method_startswith, 1, FALSE, { "prefix" } },
  { "values", method_values },
  { NULL },
};

const CfCallable cf_template_globals[] = {
  { "range", global_range, 1, FALSE, { "start", "stop", "step" } },
  { NULL },
};

