/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template-filters"

#include "cf-prompt-template-private.h"

#include <errno.h>
#include <math.h>
#include <string.h>

/* Jinja's built-in filters. Each returns what Jinja (so Python) would, and
 * keeps its result under the sandbox size limits. */

/* Takes ownership of @str, which is %NULL when producing it failed. */
static gboolean
take_string (JsonNode **result,
             char      *str,
             GError   **error)
{
  g_autofree char *owned = str;

  if (owned == NULL || !cf_value_check_length (strlen (owned), error))
    return FALSE;
  *result = cf_value_new_string (owned);
  return TRUE;
}

static char *
arg_string (JsonNode   *arg,
            const char *fallback,
            GError    **error)
{
  return arg != NULL ? cf_value_dup_string (arg, error) : g_strdup (fallback);
}

static gboolean
filter_default (CfRender  *render,
                JsonNode  *input,
                JsonNode **args,
                JsonNode **result,
                GError   **error)
{
  gboolean boolean = args[1] != NULL && cf_value_truthy (args[1]);

  if (input != NULL && (!boolean || cf_value_truthy (input)))
    *result = json_node_ref (input);
  else
    *result = args[0] != NULL ? json_node_ref (args[0]) : cf_value_new_string ("");
  return TRUE;
}

static gboolean
filter_upper (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);

  return str != NULL && take_string (result, g_utf8_strup (str, -1), error);
}

static gboolean
filter_lower (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);

  return str != NULL && take_string (result, g_utf8_strdown (str, -1), error);
}

static gboolean
is_strip_char (gunichar    c,
               const char *chars)
{
  return chars == NULL ? g_unichar_isspace (c) : g_utf8_strchr (chars, -1, c) != NULL;
}

/* str.strip(): whitespace by default, else any of @chars. */
static char *
strip (const char *str,
       const char *chars)
{
  const char *start = str, *end = str + strlen (str);

  while (*start != '\0' && is_strip_char (g_utf8_get_char (start), chars))
    start = g_utf8_next_char (start);
  while (end > start)
    {
      const char *prev = g_utf8_prev_char (end);

      if (!is_strip_char (g_utf8_get_char (prev), chars))
        break;
      end = prev;
    }
  return g_strndup (start, end - start);
}

static gboolean
filter_trim (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  g_autofree char *chars = NULL;

  if (str == NULL || (args[0] != NULL && (chars = cf_value_dup_string (args[0], error)) == NULL))
    return FALSE;
  return take_string (result, strip (str, chars), error);
}

static void
append_unichar_cased (GString *out,
                      gunichar c,
                      gboolean upper)
{
  g_string_append_unichar (out, upper ? g_unichar_toupper (c) : g_unichar_tolower (c));
}

/* Jinja starts a word after whitespace or one of "-([{<". */
static gboolean
filter_title (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  g_autoptr(GString) out = g_string_new (NULL);
  gboolean word_start = TRUE;

  if (str == NULL)
    return FALSE;
  for (const char *p = str; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean separator = g_unichar_isspace (c) || (c < 0x80 && strchr ("-([{<", (int) c));

      if (separator)
        g_string_append_unichar (out, c);
      else
        append_unichar_cased (out, c, word_start);
      word_start = separator;
    }
  return take_string (result, g_string_free (g_steal_pointer (&out), FALSE), error);
}

static gboolean
filter_capitalize (CfRender  *render,
                   JsonNode  *input,
                   JsonNode **args,
                   JsonNode **result,
                   GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  g_autofree char *rest = NULL;
  g_autoptr(GString) out = g_string_new (NULL);

  if (str == NULL)
    return FALSE;
  if (*str != '\0')
    {
      append_unichar_cased (out, g_utf8_get_char (str), TRUE);
      rest = g_utf8_strdown (g_utf8_next_char (str), -1);
      g_string_append (out, rest);
    }
  return take_string (result, g_string_free (g_steal_pointer (&out), FALSE), error);
}

static gboolean
filter_length (CfRender  *render,
               JsonNode  *input,
               JsonNode **args,
               JsonNode **result,
               GError   **error)
{
  switch (cf_value_kind (input))
    {
    case CF_VALUE_STRING:
      *result = cf_value_new_int (g_utf8_strlen (json_node_get_string (input), -1));
      return TRUE;
    case CF_VALUE_LIST:
      *result = cf_value_new_int (json_array_get_length (json_node_get_array (input)));
      return TRUE;
    case CF_VALUE_DICT:
      *result = cf_value_new_int (json_object_get_size (json_node_get_object (input)));
      return TRUE;
    default:
      return cf_value_type_error (error, "object of type '%s' has no length", cf_value_type_name (input));
    }
}

static gboolean
filter_join (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  g_autoptr(JsonArray) items = cf_value_to_array (input, error);
  g_autofree char *separator = arg_string (args[0], "", error);
  g_autoptr(GString) out = g_string_new (NULL);

  if (items == NULL || separator == NULL)
    return FALSE;
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      if (i > 0)
        g_string_append (out, separator);
      if (!cf_value_to_string (json_array_get_element (items, i), out, error))
        return FALSE;
    }
  return take_string (result, g_string_free (g_steal_pointer (&out), FALSE), error);
}

/* Python's "ab".replace("", "-") is "-a-b-". */
static char *
replace_empty (const char *str,
               const char *new,
               gint64      count,
               GError    **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = str;

  for (; count != 0; count--)
    {
      g_string_append (out, new);
      if (*p == '\0' || !cf_value_check_length (out->len, error))
        break;
      g_string_append_len (out, p, g_utf8_next_char (p) - p);
      p = g_utf8_next_char (p);
    }
  g_string_append (out, p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static char *
replace (const char *str,
         const char *old,
         const char *new,
         gint64      count,
         GError    **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  const char *p = str, *hit;

  if (*old == '\0')
    return replace_empty (str, new, count, error);

  for (; count != 0 && (hit = strstr (p, old)) != NULL; count--)
    {
      g_string_append_len (out, p, hit - p);
      g_string_append (out, new);
      p = hit + strlen (old);
      if (!cf_value_check_length (out->len, error))
        return NULL;
    }
  g_string_append (out, p);
  return g_string_free (g_steal_pointer (&out), FALSE);
}

static gboolean
filter_replace (CfRender  *render,
                JsonNode  *input,
                JsonNode **args,
                JsonNode **result,
                GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  g_autofree char *old = NULL, *new = NULL;
  gint64 count;

  if (str == NULL || (old = cf_value_dup_string (args[0], error)) == NULL ||
      (new = cf_value_dup_string (args[1], error)) == NULL || !cf_value_int_arg (args[2], -1, &count, error))
    return FALSE;
  return take_string (result, replace (str, old, new, count, error), error);
}

static gboolean
pick (JsonNode  *input,
      gboolean   last,
      JsonNode **result,
      GError   **error)
{
  g_autoptr(JsonArray) items = cf_value_to_array (input, error);
  guint n;

  if (items == NULL)
    return FALSE;
  if ((n = json_array_get_length (items)) > 0)
    *result = json_node_ref (json_array_get_element (items, last ? n - 1 : 0));
  return TRUE;
}

static gboolean
filter_first (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  return pick (input, FALSE, result, error);
}

static gboolean
filter_last (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  return pick (input, TRUE, result, error);
}

static gboolean
parse_double (const char *str,
              double     *out)
{
  g_autofree char *copy = g_strstrip (g_strdup (str));
  char *end;

  *out = g_ascii_strtod (copy, &end);
  return *copy != '\0' && *end == '\0';
}

static gboolean
double_to_int (double  value,
               gint64 *out)
{
  if (!isfinite (value) || fabs (value) >= 9.2e18)
    return FALSE;
  *out = (gint64) value;
  return TRUE;
}

/* Jinja's int: int(value), else int(float(value)), else the default. */
static gboolean
to_int (JsonNode *input,
        gint64   *out)
{
  g_autofree char *copy = NULL;
  double value;
  char *end;

  if (cf_value_is_integer (input))
    *out = cf_value_get_int (input);
  else if (cf_value_kind (input) == CF_VALUE_FLOAT)
    return double_to_int (json_node_get_double (input), out);
  else if (cf_value_kind (input) != CF_VALUE_STRING)
    return FALSE;
  else
    {
      copy = g_strstrip (g_strdup (json_node_get_string (input)));
      errno = 0;
      *out = g_ascii_strtoll (copy, &end, 10);
      if (*copy == '\0' || *end != '\0' || errno != 0)
        return parse_double (copy, &value) && double_to_int (value, out);
    }
  return TRUE;
}

static gboolean
filter_int (CfRender  *render,
            JsonNode  *input,
            JsonNode **args,
            JsonNode **result,
            GError   **error)
{
  gint64 value;

  if (to_int (input, &value))
    *result = cf_value_new_int (value);
  else
    *result = args[0] != NULL ? json_node_ref (args[0]) : cf_value_new_int (0);
  return TRUE;
}

static gboolean
filter_float (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  double value;

  if (cf_value_is_number (input))
    *result = cf_value_new_double (cf_value_get_double (input));
  else if (cf_value_kind (input) == CF_VALUE_STRING &&
           parse_double (json_node_get_string (input), &value))
    *result = cf_value_new_double (value);
  else
    *result = args[0] != NULL ? json_node_ref (args[0]) : cf_value_new_double (0.0);
  return TRUE;
}

static gboolean
filter_string (CfRender  *render,
               JsonNode  *input,
               JsonNode **args,
               JsonNode **result,
               GError   **error)
{
  return take_string (result, cf_value_dup_string (input, error), error);
}

static gboolean
filter_tojson (CfRender  *render,
               JsonNode  *input,
               JsonNode **args,
               JsonNode **result,
               GError   **error)
{
  g_autoptr(GString) out = g_string_new (NULL);

  if (!cf_value_to_json (input, out, error))
    return FALSE;
  return take_string (result, g_string_free (g_steal_pointer (&out), FALSE), error);
}

/* markupsafe's escape(), entity for entity. */
static gboolean
filter_escape (CfRender  *render,
               JsonNode  *input,
               JsonNode **args,
               JsonNode **result,
               GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  g_autoptr(GString) out = g_string_new (NULL);

  if (str == NULL)
    return FALSE;
  for (const char *p = str; *p != '\0'; p++)
    {
      switch (*p)
        {
        case '&': g_string_append (out, "&amp;"); break;
        case '<': g_string_append (out, "&lt;"); break;
        case '>': g_string_append (out, "&gt;"); break;
        case '"': g_string_append (out, "&#34;"); break;
        case '\'': g_string_append (out, "&#39;"); break;
        default: g_string_append_c (out, *p); break;
        }
    }
  return take_string (result, g_string_free (g_steal_pointer (&out), FALSE), error);
}

static gboolean
filter_safe (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  *result = json_node_ref (input);
  return TRUE;
}

static char *
truncate_string (const char *str,
                 gint64      length,
                 gboolean    killwords,
                 const char *end)
{
  const char *cut = g_utf8_offset_to_pointer (str, length - g_utf8_strlen (end, -1));
  const char *space;

  if (!killwords && (space = g_strrstr_len (str, cut - str, " ")) != NULL)
    cut = space;
  return g_strdup_printf ("%.*s%s", (int) (cut - str), str, end);
}

/* Jinja's truncate(length=255, killwords=False, end='...', leeway=5). */
static gboolean
filter_truncate (CfRender  *render,
                 JsonNode  *input,
                 JsonNode **args,
                 JsonNode **result,
                 GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  g_autofree char *end = NULL;
  gint64 length, leeway;

  if (str == NULL || !cf_value_int_arg (args[0], 255, &length, error) ||
      (end = arg_string (args[2], "...", error)) == NULL || !cf_value_int_arg (args[3], 5, &leeway, error))
    return FALSE;
  if (length < g_utf8_strlen (end, -1) || leeway < 0)
    return cf_value_type_error (error, "truncate needs length >= len(end) and leeway >= 0");

  if (g_utf8_strlen (str, -1) <= length + leeway)
    return take_string (result, g_steal_pointer (&str), error);
  return take_string (result,
                      truncate_string (str, length, args[1] != NULL && cf_value_truthy (args[1]),
                                       end),
                      error);
}

static gboolean
filter_list (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  JsonArray *items = cf_value_to_array (input, error);

  if (items == NULL)
    return FALSE;
  *result = cf_value_new_array (items);
  return TRUE;
}

static gboolean
filter_reverse (CfRender  *render,
                JsonNode  *input,
                JsonNode **args,
                JsonNode **result,
                GError   **error)
{
  g_autoptr(JsonArray) items = NULL;
  JsonArray *reversed;

  if (cf_value_kind (input) == CF_VALUE_STRING)
    return take_string (result, g_utf8_strreverse (json_node_get_string (input), -1), error);
  if ((items = cf_value_to_array (input, error)) == NULL)
    return FALSE;

  reversed = json_array_sized_new (json_array_get_length (items));
  for (guint i = json_array_get_length (items); i-- > 0;)
    json_array_add_element (reversed, json_node_ref (json_array_get_element (items, i)));
  *result = cf_value_new_array (reversed);
  return TRUE;
}

static gboolean
filter_wordcount (CfRender  *render,
                  JsonNode  *input,
                  JsonNode **args,
                  JsonNode **result,
                  GError   **error)
{
  g_autofree char *str = cf_value_dup_string (input, error);
  gboolean in_word = FALSE;
  gint64 count = 0;

  if (str == NULL)
    return FALSE;
  for (const char *p = str; *p != '\0'; p = g_utf8_next_char (p))
    {
      gunichar c = g_utf8_get_char (p);
      gboolean word = g_unichar_isalnum (c) || c == '_';

      count += word && !in_word;
      in_word = word;
    }
  *result = cf_value_new_int (count);
  return TRUE;
}

/* Python's round() rounds the exact binary value half to even, which is
 * what printf's correctly rounded "%.*f" does. */
static double
round_common (double  value,
              gint64  precision)
{
  g_autofree char *text = NULL;
  double factor;

  if (precision > 20 || !isfinite (value))
    return value;
  if (precision >= 0)
    {
      text = g_strdup_printf ("%.*f", (int) precision, value);
      return g_ascii_strtod (text, NULL);
    }
  factor = pow (10, (double) -precision);
  return nearbyint (value / factor) * factor;
}

static gboolean
filter_round (CfRender  *render,
              JsonNode  *input,
              JsonNode **args,
              JsonNode **result,
              GError   **error)
{
  g_autofree char *method = arg_string (args[1], "common", error);
  double value, factor;
  gint64 precision;

  if (method == NULL || !cf_value_int_arg (args[0], 0, &precision, error))
    return FALSE;
  if (!cf_value_is_number (input))
    return cf_value_type_error (error, "round needs a number, not '%s'", cf_value_type_name (input));

  value = cf_value_get_double (input);
  factor = pow (10, (double) CLAMP (precision, -400, 400));
  if (g_str_equal (method, "common") && cf_value_is_integer (input) && precision >= 0)
    *result = cf_value_new_int (cf_value_get_int (input));
  else if (g_str_equal (method, "common"))
    *result = cf_value_new_double (round_common (value, precision));
  else if (g_str_equal (method, "ceil"))
    *result = cf_value_new_double (ceil (value * factor) / factor);
  else if (g_str_equal (method, "floor"))
    *result = cf_value_new_double (floor (value * factor) / factor);
  else
    return cf_value_type_error (error, "round's method must be common, ceil or floor");
  return TRUE;
}

static gboolean
filter_abs (CfRender  *render,
            JsonNode  *input,
            JsonNode **args,
            JsonNode **result,
            GError   **error)
{
  if (cf_value_kind (input) == CF_VALUE_FLOAT)
    *result = cf_value_new_double (fabs (json_node_get_double (input)));
  else if (!cf_value_is_integer (input))
    return cf_value_type_error (error, "abs needs a number, not '%s'", cf_value_type_name (input));
  else if (cf_value_get_int (input) == G_MININT64)
    return cf_value_type_error (error, "abs overflows an integer");
  else
    *result = cf_value_new_int (ABS (cf_value_get_int (input)));
  return TRUE;
}

typedef struct {
  JsonNode *item;
  JsonNode *key;
  char     *folded;
  guint     index;
} SortItem;

static void
sort_item_clear (gpointer data)
{
  g_free (((SortItem *) data)->folded);
}

static int
sort_item_compare (gconstpointer a,
                   gconstpointer b,
                   gpointer      user_data)
{
  const SortItem *x = a, *y = b;
  gboolean reverse = GPOINTER_TO_INT (user_data);
  int order = 0;

  if (x->folded != NULL)
    order = strcmp (x->folded, y->folded);
  else
    cf_value_compare (x->key, y->key, &order, NULL);

  /* Equal keys keep their order either way: Python's sort is stable. */
  if (order == 0)
    return x->index < y->index ? -1 : 1;
  return reverse ? -order : order;
}

static gboolean
sort_key (JsonNode   *item,
          const char *attribute,
          JsonNode  **key,
          GError    **error)
{
  *key = item;
  if (attribute != NULL && cf_value_kind (item) == CF_VALUE_DICT)
    *key = json_object_get_member (json_node_get_object (item), attribute);
  else if (attribute != NULL)
    *key = NULL;

  if (*key == NULL)
    return cf_value_type_error (error, "cannot sort a '%s' by a missing attribute", cf_value_type_name (item));
  return TRUE;
}

/* Fills @sorted with the items and their keys. Every key must compare with
 * the first one, which refuses the mixes Python could not order either. */
static gboolean
sort_keys (JsonArray  *items,
           const char *attribute,
           gboolean    case_sensitive,
           GArray     *sorted,
           GError    **error)
{
  for (guint i = 0; i < json_array_get_length (items); i++)
    {
      SortItem entry = { json_array_get_element (items, i), NULL, NULL, i };
      int order;

      if (!sort_key (entry.item, attribute, &entry.key, error))
        return FALSE;
      if (sorted->len > 0 &&
          !cf_value_compare (g_array_index (sorted, SortItem, 0).key, entry.key, &order, error))
        return FALSE;
      if (!case_sensitive && cf_value_kind (entry.key) == CF_VALUE_STRING)
        entry.folded = g_utf8_strdown (json_node_get_string (entry.key), -1);
      g_array_append_val (sorted, entry);
    }
  return TRUE;
}

/* Jinja's sort(reverse=False, case_sensitive=False, attribute=None). */
static gboolean
filter_sort (CfRender  *render,
             JsonNode  *input,
             JsonNode **args,
             JsonNode **result,
             GError   **error)
{
  g_autoptr(JsonArray) items = cf_value_to_array (input, error);
  g_autoptr(GArray) sorted = g_array_new (FALSE, FALSE, sizeof (SortItem));
  g_autofree char *attribute = NULL;
  gboolean reverse = args[0] != NULL && cf_value_truthy (args[0]);
  gboolean case_sensitive = args[1] != NULL && cf_value_truthy (args[1]);
  JsonArray *out;
  guint n;

  g_array_set_clear_func (sorted, sort_item_clear);
  if (items == NULL || (args[2] != NULL && (attribute = cf_value_dup_string (args[2], error)) == NULL))
    return FALSE;

  n = json_array_get_length (items);
  if (!cf_render_charge (render, (gsize) n * g_bit_storage (n), error) ||
      !sort_keys (items, attribute, case_sensitive, sorted, error))
    return FALSE;
  g_array_sort_with_data (sorted, sort_item_compare, GINT_TO_POINTER (reverse));

  out = json_array_sized_new (n);
  for (guint i = 0; i < n; i++)
    json_array_add_element (out, json_node_ref (g_array_index (sorted, SortItem, i).item));
  *result = cf_value_new_array (out);
  return TRUE;
}

/* Sorted by name; aliases share an implementation. */
static const CfCallable filters[] = {
  { "abs", filter_abs },
  { "capitalize", filter_capitalize },
  { "count", filter_length },
  { "d", filter_default, 0, TRUE, { "default_value", "boolean" } },
  { "default", filter_default, 0, TRUE, { "default_value", "boolean" } },
  { "e", filter_escape },
  { "escape", filter_escape },
  { "first", filter_first },
  { "float", filter_float, 0, FALSE, { "default" } },
  { "int", filter_int, 0, FALSE, { "default" } },
  { "join", filter_join, 0, FALSE, { "d" } },
  { "last", filter_last },
  { "length", filter_length },
  { "list", filter_list },
  { "lower", filter_lower },
  { "replace", filter_replace, 2, FALSE, { "old", "new", "count" } },
  { "reverse", filter_reverse },
  { "round", filter_round, 0, FALSE, { "precision", "method" } },
  { "safe", filter_safe },
  { "sort", filter_sort, 0, FALSE, { "reverse", "case_sensitive", "attribute" } },
  { "string", filter_string },
  { "title", filter_title },
  { "tojson", filter_tojson },
  { "trim", filter_trim, 0, FALSE, { "chars" } },
  { "truncate", filter_truncate, 0, FALSE, { "length", "killwords", "end", "leeway" } },
  { "upper", filter_upper },
  { "wordcount", filter_wordcount },
  { NULL },
};

/* str methods that Jinja filters already provide. */
static const char * const method_filters[][2] = {
  { "capitalize", "capitalize" },
  { "lower", "lower" },
  { "replace", "replace" },
  { "strip", "trim" },
  { "title", "title" },
  { "upper", "upper" },
};

static const CfCallable *
find (const CfCallable *table,
      const char       *name)
{
  for (const CfCallable *c = table; c->name != NULL; c++)
    if (g_str_equal (c->name, name))
      return c;
  return NULL;
}

const CfCallable *
cf_callable_lookup (CfCallableKind kind,
                    const char    *name)
{
  switch (kind)
    {
    case CF_CALLABLE_FILTER:
      return find (filters, name);
    case CF_CALLABLE_TEST:
      return find (cf_template_tests, name);
    case CF_CALLABLE_GLOBAL:
      return find (cf_template_globals, name);
    case CF_CALLABLE_METHOD:
    default:
      break;
    }

  for (guint i = 0; i < G_N_ELEMENTS (method_filters); i++)
    if (g_str_equal (method_filters[i][0], name))
      return find (filters, method_filters[i][1]);
  return find (cf_template_methods, name);
}
