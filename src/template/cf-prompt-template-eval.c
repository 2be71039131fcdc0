/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template-eval"

#include "cf-prompt-template-private.h"

#include <math.h>
#include <string.h>

/* Evaluates expressions with Python's semantics, as Jinja does: values are
 * JsonNodes, %NULL is undefined, and every evaluation is charged to the
 * render's work budget. */

static gboolean
charge_value (CfRender *render,
              JsonNode *node,
              GError  **error)
{
  switch (cf_value_kind (node))
    {
    case CF_VALUE_STRING:
      return cf_render_charge (render, strlen (json_node_get_string (node)), error);
    case CF_VALUE_LIST:
      return cf_render_charge (render, json_array_get_length (json_node_get_array (node)), error);
    case CF_VALUE_DICT:
      return cf_render_charge (render, json_object_get_size (json_node_get_object (node)), error);
    default:
      return TRUE;
    }
}

static void
describe_expr (CfExpr  *expr,
               GString *out)
{
  switch (expr->kind)
    {
    case CF_EXPR_NAME:
      g_string_append (out, expr->name);
      break;
    case CF_EXPR_ATTR:
      describe_expr (expr->a, out);
      g_string_append_printf (out, ".%s", expr->name);
      break;
    case CF_EXPR_INDEX:
      describe_expr (expr->a, out);
      g_string_append_c (out, '[');
      describe_expr (expr->b, out);
      g_string_append_c (out, ']');
      break;
    case CF_EXPR_CALL:
      if (expr->a != NULL)
        describe_expr (expr->a, out);
      g_string_append_printf (out, "|%s", expr->callable->name);
      break;
    case CF_EXPR_LITERAL:
      if (!cf_value_to_json (expr->value, out, NULL))
        g_string_append (out, "...");
      break;
    case CF_EXPR_LIST:
      g_string_append (out, "[...]");
      break;
    default:
      g_string_append (out, "(...)");
      break;
    }
}

/* Names the expression that last came out undefined: a missing argument
 * "x", or a missing member "x.y" of an argument that exists. */
gboolean
cf_render_undefined_error (CfRender *render,
                           GError  **error)
{
  g_autoptr(GString) name = g_string_new (NULL);

  if (render->undefined_at != NULL)
    describe_expr (render->undefined_at, name);
  else
    g_string_append (name, "value");

  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_UNDEFINED, "'%s' is undefined",
               name->str);
  return FALSE;
}

static JsonNode *
lookup (CfRender   *render,
        const char *name)
{
  for (guint i = render->frames->len; i-- > 0;)
    {
      gpointer value;

      /* A stored NULL is a set to an undefined value: it still shadows. */
      if (g_hash_table_lookup_extended (g_ptr_array_index (render->frames, i), name, NULL, &value))
        return value != NULL ? json_node_ref (value) : NULL;
    }

  if (render->arguments != NULL && json_object_has_member (render->arguments, name))
    return json_node_ref (json_object_get_member (render->arguments, name));
  return NULL;
}

static gboolean
eval_name (CfRender  *render,
           CfExpr    *expr,
           JsonNode **out,
           GError   **error)
{
  if ((*out = lookup (render, expr->name)) == NULL)
    render->undefined_at = expr;
  return TRUE;
}

/* Attributes of an undefined value are undefined too (Jinja would fail
 * here), so "x.y is defined" and "x.y|default" work on a missing x. */
static gboolean
eval_attr (CfRender  *render,
           CfExpr    *expr,
           JsonNode **out,
           GError   **error)
{
  g_autoptr(JsonNode) object = NULL;
  JsonNode *member = NULL;

  if (!cf_render_eval (render, expr->a, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;

  if (cf_value_kind (object) == CF_VALUE_DICT)
    member = json_object_get_member (json_node_get_object (object), expr->name);
  if (member != NULL)
    *out = json_node_ref (member);
  else
    render->undefined_at = expr;
  return TRUE;
}

static JsonNode *
string_index (const char *str,
              gint64      index)
{
  glong length = g_utf8_strlen (str, -1);
  g_autofree char *item = NULL;
  const char *start;

  if (index < 0)
    index += length;
  if (index < 0 || index >= length)
    return NULL;

  start = g_utf8_offset_to_pointer (str, index);
  item = g_strndup (start, g_utf8_next_char (start) - start);
  return cf_value_new_string (item);
}

static JsonNode *
list_index (JsonArray *array,
            gint64     index)
{
  gint64 length = json_array_get_length (array);

  if (index < 0)
    index += length;
  if (index < 0 || index >= length)
    return NULL;
  return json_node_ref (json_array_get_element (array, index));
}

/* object[key]; anything Python would raise on is undefined, as in Jinja. */
static JsonNode *
item_at (JsonNode *object,
         JsonNode *key)
{
  JsonNode *member;

  switch (cf_value_kind (object))
    {
    case CF_VALUE_DICT:
      if (cf_value_kind (key) != CF_VALUE_STRING)
        return NULL;
      member = json_object_get_member (json_node_get_object (object), json_node_get_string (key));
      return member != NULL ? json_node_ref (member) : NULL;
    case CF_VALUE_LIST:
      if (!cf_value_is_integer (key))
        return NULL;
      return list_index (json_node_get_array (object), cf_value_get_int (key));
    case CF_VALUE_STRING:
      if (!cf_value_is_integer (key))
        return NULL;
      return string_index (json_node_get_string (object), cf_value_get_int (key));
    default:
      return NULL;
    }
}

static gboolean
eval_index (CfRender  *render,
            CfExpr    *expr,
            JsonNode **out,
            GError   **error)
{
  g_autoptr(JsonNode) object = NULL;
  g_autoptr(JsonNode) key = NULL;

  if (!cf_render_eval (render, expr->a, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;
  if (!cf_render_eval (render, expr->b, &key, error))
    return FALSE;
  if (key == NULL)
    return cf_render_undefined_error (render, error);

  if ((*out = item_at (object, key)) == NULL)
    render->undefined_at = expr;
  return TRUE;
}

static gint64
clamp_index (gint64 index,
             gint64 length)
{
  if (index < 0)
    index += length;
  return CLAMP (index, 0, length);
}

static gboolean
slice_bound (CfRender *render,
             CfExpr   *expr,
             gint64    fallback,
             gint64    length,
             gint64   *out,
             GError  **error)
{
  g_autoptr(JsonNode) value = NULL;

  *out = fallback;
  if (expr == NULL)
    return TRUE;
  if (!cf_render_eval (render, expr, &value, error))
    return FALSE;
  if (value == NULL)
    return cf_render_undefined_error (render, error);
  if (cf_value_kind (value) == CF_VALUE_NONE)
    return TRUE;
  if (!cf_value_is_integer (value))
    return cf_value_type_error (error, "slice indices must be integers, not '%s'",
                                cf_value_type_name (value));

  *out = clamp_index (cf_value_get_int (value), length);
  return TRUE;
}

static JsonNode *
slice_list (JsonArray *array,
            gint64     start,
            gint64     stop)
{
  JsonArray *slice = json_array_sized_new (stop - start);

  for (gint64 i = start; i < stop; i++)
    json_array_add_element (slice, json_node_ref (json_array_get_element (array, i)));
  return cf_value_new_array (slice);
}

static JsonNode *
slice_string (const char *str,
              gint64      start,
              gint64      stop)
{
  const char *from = g_utf8_offset_to_pointer (str, start);
  g_autofree char *slice = g_strndup (from, g_utf8_offset_to_pointer (from, stop - start) - from);

  return cf_value_new_string (slice);
}

/* a[start:stop] on a string or a list, with Python's clamping. */
static gboolean
eval_slice (CfRender  *render,
            CfExpr    *expr,
            JsonNode **out,
            GError   **error)
{
  g_autoptr(JsonNode) object = NULL;
  CfValueKind kind;
  gint64 length, start, stop;

  if (!cf_render_eval (render, expr->a, &object, error))
    return FALSE;
  if (object == NULL)
    return TRUE;

  kind = cf_value_kind (object);
  if (kind == CF_VALUE_STRING)
    length = g_utf8_strlen (json_node_get_string (object), -1);
  else if (kind == CF_VALUE_LIST)
    length = json_array_get_length (json_node_get_array (object));
  else
    return cf_value_type_error (error, "a '%s' cannot be sliced", cf_value_type_name (object));

  if (!slice_bound (render, expr->b, 0, length, &start, error) ||
      !slice_bound (render, expr->c, length, length, &stop, error))
    return FALSE;

  stop = MAX (start, stop);
  if (kind == CF_VALUE_STRING)
    *out = slice_string (json_node_get_string (object), start, stop);
  else
    *out = slice_list (json_node_get_array (object), start, stop);
  return TRUE;
}

static gboolean
eval_list (CfRender  *render,
           CfExpr    *expr,
           JsonNode **out,
           GError   **error)
{
  g_autoptr(JsonArray) array = json_array_sized_new (expr->args->len);

  for (guint i = 0; i < expr->args->len; i++)
    {
      JsonNode *item;

      if (!cf_render_eval (render, g_ptr_array_index (expr->args, i), &item, error))
        return FALSE;
      if (item == NULL)
        return cf_render_undefined_error (render, error);
      json_array_add_element (array, item);
    }

  *out = cf_value_new_array (g_steal_pointer (&array));
  return TRUE;
}

static gboolean
eval_unary (CfRender  *render,
            CfExpr    *expr,
            JsonNode **out,
            GError   **error)
{
  g_autoptr(JsonNode) value = NULL;
  gboolean negate = expr->op == CF_OP_NEG;

  if (!cf_render_eval (render, expr->a, &value, error))
    return FALSE;
  if (expr->op == CF_OP_NOT)
    *out = cf_value_new_bool (!cf_value_truthy (value));
  else if (value == NULL)
    return cf_render_undefined_error (render, error);
  else if (cf_value_kind (value) == CF_VALUE_FLOAT)
    *out = cf_value_new_double (negate ? -json_node_get_double (value)
                                       : json_node_get_double (value));
  else if (!cf_value_is_integer (value))
    return cf_value_type_error (error, "bad operand type for unary %s: '%s'", negate ? "-" : "+",
                                cf_value_type_name (value));
  else if (negate && cf_value_get_int (value) == G_MININT64)
    return cf_value_type_error (error, "integer overflow");
  else
    *out = cf_value_new_int (negate ? -cf_value_get_int (value) : cf_value_get_int (value));
  return TRUE;
}

static const char *
op_symbol (CfOp op)
{
  static const char * const symbols[] = {
    "+", "-", "*", "/", "//", "%", "~", "and", "or", "==", "!=", "<", ">", "<=", ">=", "in",
    "not in", "-", "+", "not",
  };

  return symbols[op];
}

static gboolean
overflow_error (GError **error)
{
  g_set_error_literal (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_LIMIT,
                       "integer overflow");
  return FALSE;
}

/* Python's // and % round toward negative infinity. */
static gboolean
arith_int (CfOp      op,
           gint64    a,
           gint64    b,
           JsonNode **out,
           GError   **error)
{
  gint64 r = 0;

  if ((op == CF_OP_FLOORDIV || op == CF_OP_MOD) && b == 0)
    return cf_value_type_error (error, "division by zero");

  if ((op == CF_OP_ADD && __builtin_add_overflow (a, b, &r)) ||
      (op == CF_OP_SUB && __builtin_sub_overflow (a, b, &r)) ||
      (op == CF_OP_MUL && __builtin_mul_overflow (a, b, &r)) ||
      (op == CF_OP_FLOORDIV && a == G_MININT64 && b == -1))
    return overflow_error (error);

  if (op == CF_OP_FLOORDIV)
    r = a / b - (a % b != 0 && (a < 0) != (b < 0));
  else if (op == CF_OP_MOD)
    {
      r = b == -1 ? 0 : a % b;
      r += (r != 0 && (r < 0) != (b < 0)) ? b : 0;
    }

  *out = cf_value_new_int (r);
  return TRUE;
}

static gboolean
arith_double (CfOp      op,
              double    a,
              double    b,
              JsonNode **out,
              GError   **error)
{
  double r;

  if ((op == CF_OP_DIV || op == CF_OP_FLOORDIV || op == CF_OP_MOD) && b == 0)
    return cf_value_type_error (error, "division by zero");

  switch (op)
    {
    case CF_OP_ADD:
      r = a + b;
      break;
    case CF_OP_SUB:
      r = a - b;
      break;
    case CF_OP_MUL:
      r = a * b;
      break;
    case CF_OP_FLOORDIV:
      r = floor (a / b);
      break;
    case CF_OP_MOD:
      r = fmod (a, b);
      r += (r != 0 && (r < 0) != (b < 0)) ? b : 0;
      break;
    case CF_OP_DIV:
    default:
      r = a / b;
      break;
    }

  *out = cf_value_new_double (r);
  return TRUE;
}

static gboolean
concat_lists (JsonArray *a,
              JsonArray *b,
              JsonNode **out,
              GError   **error)
{
  guint na = json_array_get_length (a), nb = json_array_get_length (b);
  JsonArray *joined;

  if (!cf_value_check_items (MIN ((guint64) na + nb, G_MAXUINT), error))
    return FALSE;

  joined = json_array_sized_new (na + nb);
  for (guint i = 0; i < na + nb; i++)
    json_array_add_element (joined, json_node_ref (json_array_get_element (i < na ? a : b,
                                                                           i < na ? i : i - na)));
  *out = cf_value_new_array (joined);
  return TRUE;
}

static gboolean
repeat_string (const char *str,
               gint64      times,
               JsonNode  **out,
               GError    **error)
{
  gsize length = strlen (str);
  g_autoptr(GString) repeated = g_string_new (NULL);

  if (length > 0 && times > (gint64) (CF_TEMPLATE_MAX_OUTPUT / length))
    return cf_value_check_length (G_MAXSIZE, error);
  for (gint64 i = 0; i < times; i++)
    g_string_append_len (repeated, str, length);

  *out = cf_value_new_string (repeated->str);
  return TRUE;
}

/* Numbers as Python does them, plus str + str, list + list and str * int. */
static gboolean
eval_arith (CfOp      op,
            JsonNode *a,
            JsonNode *b,
            JsonNode **out,
            GError   **error)
{
  CfValueKind ka = cf_value_kind (a), kb = cf_value_kind (b);
  g_autofree char *joined = NULL;

  if (op == CF_OP_ADD && ka == CF_VALUE_STRING && kb == CF_VALUE_STRING)
    {
      joined = g_strconcat (json_node_get_string (a), json_node_get_string (b), NULL);
      if (!cf_value_check_length (strlen (joined), error))
        return FALSE;
      *out = cf_value_new_string (joined);
      return TRUE;
    }
  if (op == CF_OP_ADD && ka == CF_VALUE_LIST && kb == CF_VALUE_LIST)
    return concat_lists (json_node_get_array (a), json_node_get_array (b), out, error);
  if (op == CF_OP_MUL && ka == CF_VALUE_STRING && cf_value_is_integer (b))
    return repeat_string (json_node_get_string (a), cf_value_get_int (b), out, error);
  if (op == CF_OP_MUL && kb == CF_VALUE_STRING && cf_value_is_integer (a))
    return repeat_string (json_node_get_string (b), cf_value_get_int (a), out, error);

  if (!cf_value_is_number (a) || !cf_value_is_number (b))
    return cf_value_type_error (error, "unsupported operand types for %s: '%s' and '%s'",
                                op_symbol (op), cf_value_type_name (a), cf_value_type_name (b));
  if (op != CF_OP_DIV && cf_value_is_integer (a) && cf_value_is_integer (b))
    return arith_int (op, cf_value_get_int (a), cf_value_get_int (b), out, error);
  return arith_double (op, cf_value_get_double (a), cf_value_get_double (b), out, error);
}

static gboolean
eval_concat (JsonNode  *a,
             JsonNode  *b,
             JsonNode **out,
             GError   **error)
{
  g_autoptr(GString) joined = g_string_new (NULL);

  if (!cf_value_to_string (a, joined, error) || !cf_value_to_string (b, joined, error))
    return FALSE;
  *out = cf_value_new_string (joined->str);
  return TRUE;
}

static gboolean
eval_compare (CfRender  *render,
              CfOp       op,
              JsonNode  *a,
              JsonNode  *b,
              JsonNode **out,
              GError   **error)
{
  gboolean result = FALSE;
  int order = 0;

  if (op == CF_OP_EQ || op == CF_OP_NE)
    {
      if (!cf_value_equal (render, a, b, 0, &result, error))
        return FALSE;
      result = result == (op == CF_OP_EQ);
    }
  else if (op == CF_OP_IN || op == CF_OP_NOT_IN)
    {
      if (!cf_value_contains (render, b, a, &result, error))
        return FALSE;
      result = result == (op == CF_OP_IN);
    }
  else if (!cf_value_compare (a, b, &order, error))
    return FALSE;
  else
    result = (op == CF_OP_LT && order < 0) || (op == CF_OP_GT && order > 0) ||
             (op == CF_OP_LE && order <= 0) || (op == CF_OP_GE && order >= 0);

  *out = cf_value_new_bool (result);
  return TRUE;
}

/* Python's and/or yield an operand, not a boolean. */
static gboolean
eval_logic (CfRender  *render,
            CfExpr    *expr,
            JsonNode **out,
            GError   **error)
{
  if (!cf_render_eval (render, expr->a, out, error))
    return FALSE;
  if (cf_value_truthy (*out) == (expr->op == CF_OP_OR))
    return TRUE;

  g_clear_pointer (out, cf_value_unref);
  return cf_render_eval (render, expr->b, out, error);
}

/* Evaluates one operand; only == and != accept an undefined one. */
static gboolean
eval_operand (CfRender  *render,
              CfExpr    *expr,
              gboolean   undefined_ok,
              JsonNode **out,
              GError   **error)
{
  if (!cf_render_eval (render, expr, out, error))
    return FALSE;
  if (*out == NULL && !undefined_ok)
    return cf_render_undefined_error (render, error);
  return charge_value (render, *out, error);
}

static gboolean
eval_binary (CfRender  *render,
             CfExpr    *expr,
             JsonNode **out,
             GError   **error)
{
  gboolean equality = expr->op == CF_OP_EQ || expr->op == CF_OP_NE;
  g_autoptr(JsonNode) a = NULL;
  g_autoptr(JsonNode) b = NULL;

  if (expr->op == CF_OP_AND || expr->op == CF_OP_OR)
    return eval_logic (render, expr, out, error);
  if (!eval_operand (render, expr->a, equality, &a, error) ||
      !eval_operand (render, expr->b, equality, &b, error))
    return FALSE;

  switch (expr->op)
    {
    case CF_OP_CONCAT:
      return eval_concat (a, b, out, error);
    case CF_OP_ADD:
    case CF_OP_SUB:
    case CF_OP_MUL:
    case CF_OP_DIV:
    case CF_OP_FLOORDIV:
    case CF_OP_MOD:
      return eval_arith (expr->op, a, b, out, error);
    default:
      return eval_compare (render, expr->op, a, b, out, error);
    }
}

static gboolean
eval_condition (CfRender  *render,
                CfExpr    *expr,
                JsonNode **out,
                GError   **error)
{
  g_autoptr(JsonNode) condition = NULL;

  if (!cf_render_eval (render, expr->b, &condition, error))
    return FALSE;
  return cf_render_eval (render, cf_value_truthy (condition) ? expr->a : expr->c, out, error);
}

static gboolean
eval_args (CfRender  *render,
           CfExpr    *expr,
           GPtrArray *values,
           GError   **error)
{
  for (guint i = 0; i < expr->args->len; i++)
    {
      CfExpr *arg = g_ptr_array_index (expr->args, i);
      JsonNode *value = NULL;

      if (arg != NULL && !eval_operand (render, arg, FALSE, &value, error))
        return FALSE;
      g_ptr_array_add (values, value);
    }
  return TRUE;
}

static gboolean
eval_call (CfRender  *render,
           CfExpr    *expr,
           JsonNode **out,
           GError   **error)
{
  const CfCallable *callable = expr->callable;
  g_autoptr(JsonNode) input = NULL;
  g_autoptr(GPtrArray) args = g_ptr_array_new_with_free_func (cf_value_unref);
  gboolean value;

  if (expr->a != NULL &&
      !eval_operand (render, expr->a, callable->accepts_undefined, &input, error))
    return FALSE;
  if (!eval_args (render, expr, args, error) ||
      !callable->func (render, input, (JsonNode **) args->pdata, out, error))
    return FALSE;

  if (expr->negate)
    {
      value = cf_value_truthy (*out);
      g_clear_pointer (out, cf_value_unref);
      *out = cf_value_new_bool (!value);
    }
  if (*out == NULL)
    render->undefined_at = expr;
  return TRUE;
}

static gboolean
eval_kind (CfRender  *render,
           CfExpr    *expr,
           JsonNode **out,
           GError   **error)
{
  switch (expr->kind)
    {
    case CF_EXPR_LITERAL:
      *out = json_node_ref (expr->value);
      return TRUE;
    case CF_EXPR_NAME:
      return eval_name (render, expr, out, error);
    case CF_EXPR_ATTR:
      return eval_attr (render, expr, out, error);
    case CF_EXPR_INDEX:
      return eval_index (render, expr, out, error);
    case CF_EXPR_SLICE:
      return eval_slice (render, expr, out, error);
    case CF_EXPR_LIST:
      return eval_list (render, expr, out, error);
    case CF_EXPR_UNARY:
      return eval_unary (render, expr, out, error);
    case CF_EXPR_BINARY:
      return eval_binary (render, expr, out, error);
    case CF_EXPR_COND:
      return eval_condition (render, expr, out, error);
    case CF_EXPR_CALL:
    default:
      return eval_call (render, expr, out, error);
    }
}

/* Values that were computed rather than looked up cost their size: that
 * bounds the time a template can spend building and scanning strings. */
static gboolean
charge_result (CfRender *render,
               CfExpr   *expr,
               JsonNode *value,
               GError  **error)
{
  switch (expr->kind)
    {
    case CF_EXPR_SLICE:
    case CF_EXPR_LIST:
    case CF_EXPR_BINARY:
    case CF_EXPR_CALL:
      return charge_value (render, value, error);
    default:
      return TRUE;
    }
}

/**
 * cf_render_eval:
 * @render: the render in progress
 * @expr: the expression
 * @out: (out) (transfer full) (nullable): the value, %NULL when undefined
 * @error: return location for a #CfTemplateError
 *
 * Returns: %FALSE on error, with the line of the innermost failing
 *   expression recorded in @render
 */
gboolean
cf_render_eval (CfRender  *render,
                CfExpr    *expr,
                JsonNode **out,
                GError   **error)
{
  *out = NULL;
  if (cf_render_charge (render, CF_TEMPLATE_EVAL_COST, error) &&
      eval_kind (render, expr, out, error) && charge_result (render, expr, *out, error))
    return TRUE;

  g_clear_pointer (out, cf_value_unref);
  if (render->error_line == 0)
    render->error_line = expr->line;
  return FALSE;
}
