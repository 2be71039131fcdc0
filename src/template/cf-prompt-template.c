/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template"

#include "cf-prompt-template-private.h"

#include <string.h>

/* Prompt templates are the sandboxed Jinja subset ContextForge prompts use.
 * cf_prompt_template_new() parses once; each render walks the tree against
 * the arguments. Unlike Jinja's default, printing an undefined value is an
 * error: that is how a missing prompt argument gets reported. */

struct _CfPromptTemplate
{
  GPtrArray *body;
  GStrv      variables;
};

static gboolean render_body (CfRender  *render,
                             GPtrArray *body,
                             GError   **error);

G_DEFINE_QUARK (cf-template-error-quark, cf_template_error)

gboolean
cf_render_charge (CfRender *render,
                  gsize     units,
                  GError  **error)
{
  render->work += units;
  if (render->work <= CF_TEMPLATE_MAX_WORK)
    return TRUE;

  g_set_error_literal (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_LIMIT,
                       "the template needs too much work to render");
  return FALSE;
}

static void
push_frame (CfRender *render)
{
  /* Keys are names owned by the template, which outlives the render. */
  g_ptr_array_add (render->frames,
                   g_hash_table_new_full (g_str_hash, g_str_equal, NULL, cf_value_unref));
}

static void
pop_frame (CfRender *render)
{
  g_ptr_array_set_size (render->frames, render->frames->len - 1);
}

static GHashTable *
top_frame (CfRender *render)
{
  return g_ptr_array_index (render->frames, render->frames->len - 1);
}

static gboolean
render_text (CfRender *render,
             CfStmt   *stmt,
             GError  **error)
{
  g_string_append (render->out, stmt->text);
  return cf_value_check_length (render->out->len, error) &&
         cf_render_charge (render, strlen (stmt->text), error);
}

static gboolean
render_output (CfRender *render,
               CfStmt   *stmt,
               GError  **error)
{
  g_autoptr(JsonNode) value = NULL;
  gsize before = render->out->len;

  if (!cf_render_eval (render, stmt->expr, &value, error))
    return FALSE;
  if (value == NULL)
    return cf_render_undefined_error (render, error);
  return cf_value_to_string (value, render->out, error) &&
         cf_render_charge (render, render->out->len - before, error);
}

static gboolean
render_if (CfRender *render,
           CfStmt   *stmt,
           GError  **error)
{
  for (guint i = 0; i < stmt->branches->len; i++)
    {
      CfBranch *branch = g_ptr_array_index (stmt->branches, i);
      g_autoptr(JsonNode) condition = NULL;

      if (branch->cond != NULL && !cf_render_eval (render, branch->cond, &condition, error))
        return FALSE;
      if (branch->cond == NULL || cf_value_truthy (condition))
        return render_body (render, branch->body, error);
    }
  return TRUE;
}

static gboolean
render_set (CfRender *render,
            CfStmt   *stmt,
            GError  **error)
{
  JsonNode *value;

  if (!cf_render_eval (render, stmt->expr, &value, error))
    return FALSE;
  g_hash_table_replace (top_frame (render), stmt->targets[0], value);
  return TRUE;
}

static JsonNode *
loop_object (JsonArray *items,
             guint      i)
{
  guint n = json_array_get_length (items);
  JsonObject *loop = json_object_new ();
  JsonNode *node;

  json_object_set_int_member (loop, "index", i + 1);
  json_object_set_int_member (loop, "index0", i);
  json_object_set_int_member (loop, "revindex", n - i);
  json_object_set_int_member (loop, "revindex0", n - i - 1);
  json_object_set_boolean_member (loop, "first", i == 0);
  json_object_set_boolean_member (loop, "last", i == n - 1);
  json_object_set_int_member (loop, "length", n);
  if (i > 0)
    json_object_set_member (loop, "previtem", json_node_ref (json_array_get_element (items, i - 1)));
  if (i + 1 < n)
    json_object_set_member (loop, "nextitem", json_node_ref (json_array_get_element (items, i + 1)));

  node = json_node_init_object (json_node_alloc (), loop);
  json_object_unref (loop);
  return node;
}

/* "for k, v in pairs" unpacks two-item lists, such as dict.items() gives. */
static gboolean
bind_targets (GHashTable *frame,
              CfStmt     *stmt,
              JsonNode   *item,
              GError    **error)
{
  JsonArray *pair;

  if (stmt->targets[1] == NULL)
    {
      g_hash_table_insert (frame, stmt->targets[0], json_node_ref (item));
      return TRUE;
    }

  if (cf_value_kind (item) != CF_VALUE_LIST ||
      json_array_get_length (pair = json_node_get_array (item)) != 2)
    return cf_value_type_error (error, "cannot unpack a '%s' into two names",
                                cf_value_type_name (item));
  g_hash_table_insert (frame, stmt->targets[0], json_node_ref (json_array_get_element (pair, 0)));
  g_hash_table_insert (frame, stmt->targets[1], json_node_ref (json_array_get_element (pair, 1)));
  return TRUE;
}

/* Each turn starts from a cleared frame: as in Jinja, a set inside the
 * loop neither leaks out nor carries over to the next turn. */
static gboolean
render_iteration (CfRender  *render,
                  CfStmt    *stmt,
                  JsonArray *items,
                  guint      i,
                  GError   **error)
{
  GHashTable *frame = top_frame (render);

  if (++render->iterations > CF_TEMPLATE_MAX_ITERATIONS)
    {
      g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_LIMIT,
                   "loops ran more than %d times", CF_TEMPLATE_MAX_ITERATIONS);
      return FALSE;
    }

  g_hash_table_remove_all (frame);
  if (!bind_targets (frame, stmt, json_array_get_element (items, i), error))
    return FALSE;
  g_hash_table_insert (frame, (gpointer) "loop", loop_object (items, i));
  return render_body (render, stmt->body, error);
}

static gboolean
render_for (CfRender *render,
            CfStmt   *stmt,
            GError  **error)
{
  g_autoptr(JsonNode) iterable = NULL;
  g_autoptr(JsonArray) items = NULL;
  gboolean ok = TRUE;

  if (!cf_render_eval (render, stmt->expr, &iterable, error))
    return FALSE;
  if (iterable == NULL)
    return cf_render_undefined_error (render, error);
  if ((items = cf_value_to_array (iterable, error)) == NULL)
    return FALSE;

  if (json_array_get_length (items) == 0)
    return stmt->orelse == NULL || render_body (render, stmt->orelse, error);

  push_frame (render);
  for (guint i = 0; ok && i < json_array_get_length (items); i++)
    ok = render_iteration (render, stmt, items, i, error);
  pop_frame (render);
  return ok;
}

static gboolean
render_stmt (CfRender *render,
             CfStmt   *stmt,
             GError  **error)
{
  switch (stmt->kind)
    {
    case CF_STMT_TEXT:
      return render_text (render, stmt, error);
    case CF_STMT_OUTPUT:
      return render_output (render, stmt, error);
    case CF_STMT_IF:
      return render_if (render, stmt, error);
    case CF_STMT_FOR:
      return render_for (render, stmt, error);
    case CF_STMT_SET:
    default:
      return render_set (render, stmt, error);
    }
}

static gboolean
render_body (CfRender  *render,
             GPtrArray *body,
             GError   **error)
{
  for (guint i = 0; i < body->len; i++)
    {
      CfStmt *stmt = g_ptr_array_index (body, i);

      if (!render_stmt (render, stmt, error))
        {
          if (render->error_line == 0)
            render->error_line = stmt->line;
          return FALSE;
        }
    }
  return TRUE;
}

/* Finding the variables a template reads from its arguments: a static
 * walk that tracks which names set and for have declared in scope. */
typedef struct {
  GPtrArray  *scopes;
  GHashTable *found;
} VariableWalk;

static gboolean
is_declared (VariableWalk *walk,
             const char   *name)
{
  for (guint i = 0; i < walk->scopes->len; i++)
    if (g_hash_table_contains (g_ptr_array_index (walk->scopes, i), name))
      return TRUE;
  return g_str_equal (name, "loop");
}

static void
declare (VariableWalk *walk,
         const char   *name)
{
  if (name != NULL)
    g_hash_table_add (g_ptr_array_index (walk->scopes, walk->scopes->len - 1), (gpointer) name);
}

static void
walk_expr (VariableWalk *walk,
           CfExpr       *expr)
{
  if (expr == NULL)
    return;

  if (expr->kind == CF_EXPR_NAME && !is_declared (walk, expr->name))
    g_hash_table_add (walk->found, expr->name);
  walk_expr (walk, expr->a);
  walk_expr (walk, expr->b);
  walk_expr (walk, expr->c);
  for (guint i = 0; expr->args != NULL && i < expr->args->len; i++)
    walk_expr (walk, g_ptr_array_index (expr->args, i));
}

static void walk_body (VariableWalk *walk,
                       GPtrArray    *body);

static void
walk_for (VariableWalk *walk,
          CfStmt       *stmt)
{
  walk_expr (walk, stmt->expr);

  g_ptr_array_add (walk->scopes, g_hash_table_new (g_str_hash, g_str_equal));
  declare (walk, stmt->targets[0]);
  declare (walk, stmt->targets[1]);
  walk_body (walk, stmt->body);
  g_ptr_array_set_size (walk->scopes, walk->scopes->len - 1);

  if (stmt->orelse != NULL)
    walk_body (walk, stmt->orelse);
}

static void
walk_stmt (VariableWalk *walk,
           CfStmt       *stmt)
{
  switch (stmt->kind)
    {
    case CF_STMT_OUTPUT:
      walk_expr (walk, stmt->expr);
      break;
    case CF_STMT_SET:
      walk_expr (walk, stmt->expr);
      declare (walk, stmt->targets[0]);
      break;
    case CF_STMT_IF:
      for (guint i = 0; i < stmt->branches->len; i++)
        {
          CfBranch *branch = g_ptr_array_index (stmt->branches, i);

          walk_expr (walk, branch->cond);
          walk_body (walk, branch->body);
        }
      break;
    case CF_STMT_FOR:
      walk_for (walk, stmt);
      break;
    case CF_STMT_TEXT:
    default:
      break;
    }
}

static void
walk_body (VariableWalk *walk,
           GPtrArray    *body)
{
  for (guint i = 0; i < body->len; i++)
    walk_stmt (walk, g_ptr_array_index (body, i));
}

static GStrv
collect_variables (GPtrArray *body)
{
  g_autoptr(GPtrArray) scopes = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  g_autoptr(GHashTable) found = g_hash_table_new (g_str_hash, g_str_equal);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GList) names = NULL;
  VariableWalk walk = { scopes, found };

  g_ptr_array_add (scopes, g_hash_table_new (g_str_hash, g_str_equal));
  walk_body (&walk, body);

  names = g_list_sort (g_hash_table_get_keys (found), (GCompareFunc) strcmp);
  for (GList *l = names; l != NULL; l = l->next)
    g_strv_builder_add (builder, l->data);
  return g_strv_builder_end (builder);
}

/**
 * cf_prompt_template_new:
 * @source: the Jinja template text
 * @error: return location for a #CfTemplateError
 *
 * Parses @source. Syntax errors are %CF_TEMPLATE_ERROR_SYNTAX and name the
 * line; an unknown filter or test is %CF_TEMPLATE_ERROR_FILTER; nesting
 * deeper than the sandbox allows is %CF_TEMPLATE_ERROR_LIMIT.
 *
 * Returns: (transfer full) (nullable): the template, or %NULL with @error set
 */
CfPromptTemplate *
cf_prompt_template_new (const char *source,
                        GError    **error)
{
  g_autoptr(GPtrArray) body = NULL;
  CfPromptTemplate *self;

  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((body = cf_template_parse (source, error)) == NULL)
    return NULL;

  self = g_atomic_rc_box_new0 (CfPromptTemplate);
  self->variables = collect_variables (body);
  self->body = g_steal_pointer (&body);
  return self;
}

/**
 * cf_prompt_template_ref:
 * @self: a #CfPromptTemplate
 *
 * Returns: (transfer full): @self
 */
CfPromptTemplate *
cf_prompt_template_ref (CfPromptTemplate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

static void
cf_prompt_template_clear (gpointer data)
{
  CfPromptTemplate *self = data;

  g_clear_pointer (&self->body, g_ptr_array_unref);
  g_clear_pointer (&self->variables, g_strfreev);
}

/**
 * cf_prompt_template_unref:
 * @self: (transfer full): a #CfPromptTemplate
 */
void
cf_prompt_template_unref (CfPromptTemplate *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, cf_prompt_template_clear);
}

/**
 * cf_prompt_template_render:
 * @self: a #CfPromptTemplate
 * @arguments: (nullable): the prompt arguments
 * @error: return location for a #CfTemplateError
 *
 * Renders the template. Printing an undefined variable fails with
 * %CF_TEMPLATE_ERROR_UNDEFINED naming it; a type error in a filter or
 * operator is %CF_TEMPLATE_ERROR_FILTER; more than 1 MiB of output, 100000
 * loop turns or an excessive amount of work is %CF_TEMPLATE_ERROR_LIMIT.
 * Messages start with the line. A template may be rendered from several
 * threads at once.
 *
 * Returns: (transfer full) (nullable): the rendered UTF-8 text
 */
char *
cf_prompt_template_render (CfPromptTemplate *self,
                           JsonObject       *arguments,
                           GError          **error)
{
  g_autoptr(GString) out = g_string_new (NULL);
  g_autoptr(GPtrArray) frames = g_ptr_array_new_with_free_func ((GDestroyNotify) g_hash_table_unref);
  CfRender render = { .out = out, .frames = frames, .arguments = arguments };

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  push_frame (&render);
  if (!render_body (&render, self->body, error))
    {
      g_prefix_error (error, "line %u: ", render.error_line);
      return NULL;
    }
  return g_string_free (g_steal_pointer (&out), FALSE);
}

/**
 * cf_prompt_template_get_variables:
 * @self: a #CfPromptTemplate
 *
 * Lists the names the template reads from its arguments, so that callers
 * can check them against a prompt's declared arguments. Names bound by
 * set or for, and loop, are left out.
 *
 * Returns: (transfer full): the names, sorted and unique
 */
GStrv
cf_prompt_template_get_variables (CfPromptTemplate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_strdupv (self->variables);
}
