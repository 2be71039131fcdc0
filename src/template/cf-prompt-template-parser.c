/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template-parser"

#include "cf-prompt-template-private.h"

#include <string.h>

/* A recursive-descent parser with Jinja's operator precedence. Every way a
 * template can make it recurse (parentheses, unary operators, nested
 * blocks) goes through a depth counter, and every node's height is capped,
 * so neither parsing nor rendering nor freeing can exhaust the C stack. */

typedef struct {
  CfToken *tokens;
  guint    pos;
  guint    expr_depth;
  guint    block_depth;
  GError **error;
} Parser;

typedef CfExpr *(*ParseFunc) (Parser *p);

typedef struct {
  const char *text;
  CfOp        op;
} OpEntry;

static const OpEntry or_ops[] = { { "or", CF_OP_OR }, { NULL } };
static const OpEntry and_ops[] = { { "and", CF_OP_AND }, { NULL } };
static const OpEntry math1_ops[] = { { "+", CF_OP_ADD }, { "-", CF_OP_SUB }, { NULL } };
static const OpEntry concat_ops[] = { { "~", CF_OP_CONCAT }, { NULL } };
static const OpEntry math2_ops[] = {
  { "*", CF_OP_MUL }, { "/", CF_OP_DIV }, { "//", CF_OP_FLOORDIV }, { "%", CF_OP_MOD }, { NULL },
};
static const OpEntry compare_ops[] = {
  { "==", CF_OP_EQ }, { "!=", CF_OP_NE }, { "<", CF_OP_LT }, { ">", CF_OP_GT },
  { "<=", CF_OP_LE }, { ">=", CF_OP_GE }, { "in", CF_OP_IN }, { NULL },
};

static const char * const if_ends[] = { "elif", "else", "endif", NULL };
static const char * const endif_ends[] = { "endif", NULL };
static const char * const for_ends[] = { "else", "endfor", NULL };
static const char * const endfor_ends[] = { "endfor", NULL };

static CfExpr *parse_expr (Parser *p);
static CfExpr *parse_or (Parser *p);
static CfExpr *parse_unary (Parser *p,
                            gboolean with_filters);
static GPtrArray *parse_body (Parser            *p,
                              const char * const *ends,
                              const char        **found);

static void
expr_free (CfExpr *expr)
{
  if (expr == NULL)
    return;

  g_free (expr->name);
  g_clear_pointer (&expr->value, json_node_unref);
  g_clear_pointer (&expr->a, expr_free);
  g_clear_pointer (&expr->b, expr_free);
  g_clear_pointer (&expr->c, expr_free);
  g_clear_pointer (&expr->args, g_ptr_array_unref);
  g_free (expr);
}

static void
branch_free (gpointer data)
{
  CfBranch *branch = data;

  g_clear_pointer (&branch->cond, expr_free);
  g_clear_pointer (&branch->body, g_ptr_array_unref);
  g_free (branch);
}

static void
stmt_free (CfStmt *stmt)
{
  g_free (stmt->text);
  g_clear_pointer (&stmt->expr, expr_free);
  g_free (stmt->targets[0]);
  g_free (stmt->targets[1]);
  g_clear_pointer (&stmt->body, g_ptr_array_unref);
  g_clear_pointer (&stmt->orelse, g_ptr_array_unref);
  g_clear_pointer (&stmt->branches, g_ptr_array_unref);
  g_free (stmt);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfExpr, expr_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfStmt, stmt_free)

static gpointer G_GNUC_PRINTF (4, 5)
parse_error (Parser         *p,
             CfTemplateError code,
             guint           line,
             const char     *format,
             ...)
{
  g_autofree char *message = NULL;
  va_list args;

  va_start (args, format);
  message = g_strdup_vprintf (format, args);
  va_end (args);

  g_set_error (p->error, CF_TEMPLATE_ERROR, code, "line %u: %s", line, message);
  return NULL;
}

static CfToken *
peek (Parser *p)
{
  return &p->tokens[p->pos];
}

static CfToken *
peek_next (Parser *p)
{
  return peek (p)->kind == CF_TOKEN_EOF ? peek (p) : &p->tokens[p->pos + 1];
}

static CfToken *
advance (Parser *p)
{
  CfToken *token = peek (p);

  if (token->kind != CF_TOKEN_EOF)
    p->pos++;
  return token;
}

static gboolean
token_is (CfToken    *token,
          CfTokenKind kind,
          const char *text)
{
  return token->kind == kind && (text == NULL || g_strcmp0 (token->text, text) == 0);
}

static gpointer
unexpected (Parser     *p,
            CfToken    *token,
            const char *expected)
{
  static const char * const names[] = {
    "the end of the template", "text", "'{{'", "'}}'", "'{%'", "'%}'", NULL, "a string",
    "a number", "a number", NULL,
  };
  g_autofree char *got = NULL;

  if (names[token->kind] == NULL)
    got = g_strdup_printf ("'%s'", token->text);
  return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line, "expected %s, got %s", expected,
                      got != NULL ? got : names[token->kind]);
}

static gboolean
accept (Parser     *p,
        CfTokenKind kind,
        const char *text)
{
  if (!token_is (peek (p), kind, text))
    return FALSE;
  advance (p);
  return TRUE;
}

static gboolean
expect (Parser     *p,
        CfTokenKind kind,
        const char *text,
        const char *what)
{
  if (accept (p, kind, text))
    return TRUE;
  unexpected (p, peek (p), what);
  return FALSE;
}

static gboolean
enter (Parser *p)
{
  if (p->expr_depth >= CF_TEMPLATE_MAX_NESTING)
    {
      parse_error (p, CF_TEMPLATE_ERROR_LIMIT, peek (p)->line,
                   "expression nested deeper than %d levels", CF_TEMPLATE_MAX_NESTING);
      return FALSE;
    }
  p->expr_depth++;
  return TRUE;
}

static CfExpr *
leave (Parser *p,
       CfExpr *expr)
{
  p->expr_depth--;
  return expr;
}

static CfExpr *
expr_new (CfExprKind kind,
          guint      line)
{
  CfExpr *expr = g_new0 (CfExpr, 1);

  expr->kind = kind;
  expr->line = line;
  expr->height = 1;
  return expr;
}

static void
grow_height (CfExpr *expr,
             CfExpr *child)
{
  if (child != NULL)
    expr->height = MAX (expr->height, child->height + 1);
}

/* Long operator and filter chains are loops in the parser but make tall
 * trees, which the renderer walks recursively. */
static CfExpr *
expr_done (Parser *p,
           CfExpr *expr)
{
  grow_height (expr, expr->a);
  grow_height (expr, expr->b);
  grow_height (expr, expr->c);
  for (guint i = 0; expr->args != NULL && i < expr->args->len; i++)
    grow_height (expr, g_ptr_array_index (expr->args, i));

  if (expr->height <= CF_TEMPLATE_MAX_HEIGHT)
    return expr;

  expr_free (expr);
  return parse_error (p, CF_TEMPLATE_ERROR_LIMIT, peek (p)->line,
                      "expression has more than %d levels", CF_TEMPLATE_MAX_HEIGHT);
}

static CfExpr *
operator_new (Parser *p,
              CfOp    op,
              guint   line,
              CfExpr *a,
              CfExpr *b)
{
  CfExpr *expr;

  if (a == NULL || (b == NULL && op != CF_OP_NEG && op != CF_OP_POS && op != CF_OP_NOT))
    {
      expr_free (a);
      return NULL;
    }

  expr = expr_new (b != NULL ? CF_EXPR_BINARY : CF_EXPR_UNARY, line);
  expr->op = op;
  expr->a = a;
  expr->b = b;
  return expr_done (p, expr);
}

static CfExpr *
literal_new (guint     line,
             JsonNode *value)
{
  CfExpr *expr = expr_new (CF_EXPR_LITERAL, line);

  expr->value = value;
  return expr;
}

static const OpEntry *
match_op (CfToken       *token,
          const OpEntry *ops)
{
  if (token->kind != CF_TOKEN_OP && token->kind != CF_TOKEN_NAME)
    return NULL;
  for (; ops->text != NULL; ops++)
    if (g_str_equal (token->text, ops->text))
      return ops;
  return NULL;
}

static CfExpr *
parse_binary (Parser        *p,
              ParseFunc      operand,
              const OpEntry *ops)
{
  CfExpr *left = operand (p);
  const OpEntry *entry;

  while (left != NULL && (entry = match_op (peek (p), ops)) != NULL)
    {
      guint line = advance (p)->line;

      left = operator_new (p, entry->op, line, left, operand (p));
    }
  return left;
}

static gboolean
is_reserved (const char *name)
{
  static const char * const reserved[] = { "and", "or", "not", "in", "is", "if", "else", NULL };

  return g_strv_contains (reserved, name);
}

static GPtrArray *
args_new (guint n_slots)
{
  GPtrArray *args = g_ptr_array_new_full (n_slots, (GDestroyNotify) expr_free);

  g_ptr_array_set_size (args, n_slots);
  return args;
}

static int
param_slot (const CfCallable *callable,
            const char       *name)
{
  for (int i = 0; callable->params[i] != NULL; i++)
    if (g_str_equal (callable->params[i], name))
      return i;
  return -1;
}

/* Resolves one argument, positional or keyword, to its parameter slot. */
static int
parse_arg_slot (Parser           *p,
                const CfCallable *callable,
                guint            *n_positional,
                gboolean         *seen_keyword)
{
  CfToken *token = peek (p);
  int slot;

  if (token->kind == CF_TOKEN_NAME && token_is (peek_next (p), CF_TOKEN_OP, "="))
    {
      advance (p);
      advance (p);
      *seen_keyword = TRUE;
      if ((slot = param_slot (callable, token->text)) < 0)
        parse_error (p, CF_TEMPLATE_ERROR_FILTER, token->line, "'%s' has no argument '%s'",
                     callable->name, token->text);
      return slot;
    }
  if (*seen_keyword)
    {
      parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line,
                   "positional argument follows keyword argument");
      return -1;
    }

  slot = (*n_positional)++;
  if (slot >= (int) g_strv_length ((char **) callable->params))
    {
      parse_error (p, CF_TEMPLATE_ERROR_FILTER, token->line, "too many arguments for '%s'",
                   callable->name);
      return -1;
    }
  return slot;
}

static gboolean
parse_one_arg (Parser           *p,
               const CfCallable *callable,
               GPtrArray        *args,
               guint            *n_positional,
               gboolean         *seen_keyword)
{
  guint line = peek (p)->line;
  int slot = parse_arg_slot (p, callable, n_positional, seen_keyword);

  if (slot < 0)
    return FALSE;
  if (g_ptr_array_index (args, slot) != NULL)
    {
      parse_error (p, CF_TEMPLATE_ERROR_FILTER, line, "argument '%s' of '%s' given twice",
                   callable->params[slot], callable->name);
      return FALSE;
    }
  args->pdata[slot] = parse_expr (p);
  return args->pdata[slot] != NULL;
}

static GPtrArray *
parse_args (Parser           *p,
            const CfCallable *callable)
{
  g_autoptr(GPtrArray) args = args_new (g_strv_length ((char **) callable->params));
  guint n_positional = 0;
  gboolean seen_keyword = FALSE;
  guint line = peek (p)->line;

  if (accept (p, CF_TOKEN_OP, "(") && !accept (p, CF_TOKEN_OP, ")"))
    {
      do
        if (!parse_one_arg (p, callable, args, &n_positional, &seen_keyword))
          return NULL;
      while (accept (p, CF_TOKEN_OP, ","));
      if (!expect (p, CF_TOKEN_OP, ")", "')'"))
        return NULL;
    }

  for (guint i = 0; i < callable->n_required; i++)
    if (g_ptr_array_index (args, i) == NULL)
      return parse_error (p, CF_TEMPLATE_ERROR_FILTER, line, "'%s' needs the argument '%s'",
                          callable->name, callable->params[i]);
  return g_steal_pointer (&args);
}

static CfExpr *
parse_call (Parser        *p,
            CfCallableKind kind,
            CfToken       *name,
            CfExpr        *input)
{
  static const char * const kinds[] = { "filter", "test", "method", "function" };
  g_autoptr(CfExpr) expr = expr_new (CF_EXPR_CALL, name->line);

  expr->a = input;
  expr->callable = cf_callable_lookup (kind, name->text);
  if (expr->callable == NULL)
    return parse_error (p, CF_TEMPLATE_ERROR_FILTER, name->line, "no %s named '%s'", kinds[kind],
                        name->text);
  if ((expr->args = parse_args (p, expr->callable)) == NULL)
    return NULL;
  return expr_done (p, g_steal_pointer (&expr));
}

static CfExpr *
parse_list (Parser *p,
            guint   line)
{
  g_autoptr(CfExpr) expr = expr_new (CF_EXPR_LIST, line);

  expr->args = args_new (0);
  while (!accept (p, CF_TOKEN_OP, "]"))
    {
      CfExpr *item;

      if (expr->args->len > 0 && !expect (p, CF_TOKEN_OP, ",", "',' or ']'"))
        return NULL;
      if (accept (p, CF_TOKEN_OP, "]"))
        break;
      if ((item = parse_expr (p)) == NULL)
        return NULL;
      g_ptr_array_add (expr->args, item);
    }
  return expr_done (p, g_steal_pointer (&expr));
}

static CfExpr *
parse_name (Parser  *p,
            CfToken *token)
{
  const char *name = token->text;
  CfExpr *expr;

  if (g_str_equal (name, "true") || g_str_equal (name, "True"))
    return literal_new (token->line, cf_value_new_bool (TRUE));
  if (g_str_equal (name, "false") || g_str_equal (name, "False"))
    return literal_new (token->line, cf_value_new_bool (FALSE));
  if (g_str_equal (name, "none") || g_str_equal (name, "None"))
    return literal_new (token->line, cf_value_new_null ());
  if (is_reserved (name))
    return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line, "unexpected '%s'", name);
  if (token_is (peek (p), CF_TOKEN_OP, "("))
    return parse_call (p, CF_CALLABLE_GLOBAL, token, NULL);

  expr = expr_new (CF_EXPR_NAME, token->line);
  expr->name = g_strdup (name);
  return expr;
}

static CfExpr *
parse_primary (Parser *p)
{
  CfToken *token = advance (p);
  CfExpr *expr;

  switch (token->kind)
    {
    case CF_TOKEN_NAME:
      return parse_name (p, token);
    case CF_TOKEN_STRING:
      return literal_new (token->line, cf_value_new_string (token->text));
    case CF_TOKEN_INT:
      return literal_new (token->line, cf_value_new_int (token->ival));
    case CF_TOKEN_FLOAT:
      return literal_new (token->line, cf_value_new_double (token->fval));
    case CF_TOKEN_OP:
      if (g_str_equal (token->text, "["))
        return parse_list (p, token->line);
      if (!g_str_equal (token->text, "("))
        break;
      expr = parse_expr (p);
      if (expr != NULL && !expect (p, CF_TOKEN_OP, ")", "')'"))
        g_clear_pointer (&expr, expr_free);
      return expr;
    default:
      break;
    }

  return unexpected (p, token, "an expression");
}

static CfExpr *
parse_attribute (Parser *p,
                 CfExpr *object)
{
  g_autoptr(CfExpr) owned = object;
  CfToken *token = advance (p);
  CfExpr *expr;

  if (token->kind == CF_TOKEN_INT)
    {
      expr = expr_new (CF_EXPR_INDEX, token->line);
      expr->b = literal_new (token->line, cf_value_new_int (token->ival));
    }
  else if (token->kind != CF_TOKEN_NAME)
    return unexpected (p, token, "an attribute name after '.'");
  else if (token_is (peek (p), CF_TOKEN_OP, "("))
    return parse_call (p, CF_CALLABLE_METHOD, token, g_steal_pointer (&owned));
  else
    {
      expr = expr_new (CF_EXPR_ATTR, token->line);
      expr->name = g_strdup (token->text);
    }

  expr->a = g_steal_pointer (&owned);
  return expr_done (p, expr);
}

/* a[key], a[start:stop] and their open-ended forms. */
static CfExpr *
parse_subscript (Parser *p,
                 CfExpr *object)
{
  g_autoptr(CfExpr) expr = expr_new (CF_EXPR_INDEX, peek (p)->line);

  expr->a = object;
  if (!token_is (peek (p), CF_TOKEN_OP, ":") && (expr->b = parse_expr (p)) == NULL)
    return NULL;
  if (accept (p, CF_TOKEN_OP, ":"))
    {
      expr->kind = CF_EXPR_SLICE;
      if (!token_is (peek (p), CF_TOKEN_OP, "]") && (expr->c = parse_expr (p)) == NULL)
        return NULL;
    }
  if (!expect (p, CF_TOKEN_OP, "]", "']'"))
    return NULL;
  return expr_done (p, g_steal_pointer (&expr));
}

static CfExpr *
parse_postfix (Parser *p,
               CfExpr *expr)
{
  while (expr != NULL)
    {
      CfToken *token = peek (p);

      if (accept (p, CF_TOKEN_OP, "."))
        expr = parse_attribute (p, expr);
      else if (accept (p, CF_TOKEN_OP, "["))
        expr = parse_subscript (p, expr);
      else if (token_is (token, CF_TOKEN_OP, "("))
        {
          expr_free (expr);
          return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line,
                              "only methods and range() can be called");
        }
      else
        break;
    }
  return expr;
}

static CfExpr *
parse_filter_or_test (Parser *p,
                      CfExpr *input)
{
  gboolean test = token_is (advance (p), CF_TOKEN_NAME, "is");
  gboolean negate = test && accept (p, CF_TOKEN_NAME, "not");
  CfToken *name = advance (p);
  CfExpr *expr;

  if (name->kind != CF_TOKEN_NAME)
    {
      expr_free (input);
      return unexpected (p, name, test ? "a test name" : "a filter name");
    }

  expr = parse_call (p, test ? CF_CALLABLE_TEST : CF_CALLABLE_FILTER, name, input);
  if (expr != NULL)
    expr->negate = negate;
  return expr;
}

static CfExpr *
parse_filters (Parser *p,
               CfExpr *expr)
{
  while (expr != NULL &&
         (token_is (peek (p), CF_TOKEN_OP, "|") || token_is (peek (p), CF_TOKEN_NAME, "is")))
    expr = parse_filter_or_test (p, expr);
  return expr;
}

/* As in Jinja, "-x|f" filters the negation, and "-x.y" negates x.y. */
static CfExpr *
parse_unary (Parser  *p,
             gboolean with_filters)
{
  CfToken *token = peek (p);
  CfExpr *expr;

  if (token_is (token, CF_TOKEN_OP, "-") || token_is (token, CF_TOKEN_OP, "+"))
    {
      advance (p);
      if (!enter (p))
        return NULL;
      expr = leave (p, operator_new (p, token->text[0] == '-' ? CF_OP_NEG : CF_OP_POS,
                                     token->line, parse_unary (p, FALSE), NULL));
    }
  else
    expr = parse_primary (p);

  expr = parse_postfix (p, expr);
  return with_filters ? parse_filters (p, expr) : expr;
}

static CfExpr *
parse_unary_filtered (Parser *p)
{
  return parse_unary (p, TRUE);
}

static CfExpr *
parse_math2 (Parser *p)
{
  return parse_binary (p, parse_unary_filtered, math2_ops);
}

static CfExpr *
parse_concat (Parser *p)
{
  return parse_binary (p, parse_math2, concat_ops);
}

static CfExpr *
parse_math1 (Parser *p)
{
  return parse_binary (p, parse_concat, math1_ops);
}

/* Returns how many tokens the comparison operator ahead spans, 0 if none. */
static guint
peek_compare (Parser *p,
              CfOp   *op)
{
  const OpEntry *entry = match_op (peek (p), compare_ops);

  if (entry != NULL)
    {
      *op = entry->op;
      return 1;
    }
  if (token_is (peek (p), CF_TOKEN_NAME, "not") && token_is (peek_next (p), CF_TOKEN_NAME, "in"))
    {
      *op = CF_OP_NOT_IN;
      return 2;
    }
  return 0;
}

/* Python chains comparisons (a < b < c); rather than silently reading that
 * as (a < b) < c, refuse it. */
static CfExpr *
parse_compare (Parser *p)
{
  CfExpr *expr = parse_math1 (p);
  guint n_tokens, line = peek (p)->line;
  CfOp op;

  if (expr == NULL || (n_tokens = peek_compare (p, &op)) == 0)
    return expr;
  p->pos += n_tokens;

  expr = operator_new (p, op, line, expr, parse_math1 (p));
  if (expr != NULL && peek_compare (p, &op) > 0)
    {
      expr_free (expr);
      return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, line,
                          "chained comparisons are not supported");
    }
  return expr;
}

static CfExpr *
parse_not (Parser *p)
{
  guint line = peek (p)->line;

  if (!accept (p, CF_TOKEN_NAME, "not"))
    return parse_compare (p);
  if (!enter (p))
    return NULL;
  return leave (p, operator_new (p, CF_OP_NOT, line, parse_not (p), NULL));
}

static CfExpr *
parse_and (Parser *p)
{
  return parse_binary (p, parse_not, and_ops);
}

static CfExpr *
parse_or (Parser *p)
{
  return parse_binary (p, parse_and, or_ops);
}

/* "a if b else c"; without an else the result is "", not undefined, so
 * that {{ 'x' if flag }} prints nothing instead of failing. */
static CfExpr *
parse_condition (Parser *p,
                 CfExpr *value)
{
  g_autoptr(CfExpr) expr = expr_new (CF_EXPR_COND, advance (p)->line);

  expr->a = value;
  if ((expr->b = parse_or (p)) == NULL)
    return NULL;
  if (accept (p, CF_TOKEN_NAME, "else") && (expr->c = parse_expr (p)) == NULL)
    return NULL;
  if (expr->c == NULL)
    expr->c = literal_new (expr->line, cf_value_new_string (""));
  return expr_done (p, g_steal_pointer (&expr));
}

static CfExpr *
parse_expr (Parser *p)
{
  CfExpr *expr;

  if (!enter (p))
    return NULL;
  expr = parse_or (p);
  while (expr != NULL && token_is (peek (p), CF_TOKEN_NAME, "if"))
    expr = parse_condition (p, expr);
  return leave (p, expr);
}

/* The iterable of a for loop has no inline if: Jinja reads a trailing
 * "if" there as a loop filter, which is not supported. */
static CfExpr *
parse_iterable (Parser *p)
{
  if (!enter (p))
    return NULL;
  return leave (p, parse_or (p));
}

static CfStmt *
stmt_new (CfStmtKind kind,
          guint      line)
{
  CfStmt *stmt = g_new0 (CfStmt, 1);

  stmt->kind = kind;
  stmt->line = line;
  return stmt;
}

static GPtrArray *
parse_nested_body (Parser            *p,
                   const char * const *ends,
                   const char        **found)
{
  GPtrArray *body;

  if (p->block_depth >= CF_TEMPLATE_MAX_NESTING)
    return parse_error (p, CF_TEMPLATE_ERROR_LIMIT, peek (p)->line,
                        "blocks nested deeper than %d levels", CF_TEMPLATE_MAX_NESTING);
  p->block_depth++;
  body = parse_body (p, ends, found);
  p->block_depth--;
  return body;
}

static char *
parse_target (Parser *p)
{
  CfToken *token = advance (p);

  if (token->kind != CF_TOKEN_NAME || is_reserved (token->text))
    return unexpected (p, token, "a variable name");
  return g_strdup (token->text);
}

static gboolean
parse_end (Parser *p)
{
  return expect (p, CF_TOKEN_BLOCK_END, NULL, "'%}'");
}

static CfBranch *
add_branch (CfStmt *stmt)
{
  CfBranch *branch = g_new0 (CfBranch, 1);

  g_ptr_array_add (stmt->branches, branch);
  return branch;
}

static CfStmt *
parse_if (Parser *p,
          guint   line)
{
  g_autoptr(CfStmt) stmt = stmt_new (CF_STMT_IF, line);
  const char *found = "elif";
  CfBranch *branch;

  stmt->branches = g_ptr_array_new_with_free_func (branch_free);
  while (g_str_equal (found, "elif"))
    {
      branch = add_branch (stmt);
      if ((branch->cond = parse_expr (p)) == NULL || !parse_end (p))
        return NULL;
      if ((branch->body = parse_nested_body (p, if_ends, &found)) == NULL)
        return NULL;
    }
  if (g_str_equal (found, "else"))
    {
      branch = add_branch (stmt);
      if (!parse_end (p) || (branch->body = parse_nested_body (p, endif_ends, &found)) == NULL)
        return NULL;
    }
  return parse_end (p) ? g_steal_pointer (&stmt) : NULL;
}

static CfStmt *
parse_for (Parser *p,
           guint   line)
{
  g_autoptr(CfStmt) stmt = stmt_new (CF_STMT_FOR, line);
  const char *found;

  if ((stmt->targets[0] = parse_target (p)) == NULL)
    return NULL;
  if (accept (p, CF_TOKEN_OP, ",") && (stmt->targets[1] = parse_target (p)) == NULL)
    return NULL;
  if (!expect (p, CF_TOKEN_NAME, "in", "'in'"))
    return NULL;
  if ((stmt->expr = parse_iterable (p)) == NULL || !parse_end (p))
    return NULL;
  if ((stmt->body = parse_nested_body (p, for_ends, &found)) == NULL)
    return NULL;
  if (g_str_equal (found, "else") &&
      (!parse_end (p) || (stmt->orelse = parse_nested_body (p, endfor_ends, &found)) == NULL))
    return NULL;
  return parse_end (p) ? g_steal_pointer (&stmt) : NULL;
}

static CfStmt *
parse_set (Parser *p,
           guint   line)
{
  g_autoptr(CfStmt) stmt = stmt_new (CF_STMT_SET, line);

  if ((stmt->targets[0] = parse_target (p)) == NULL)
    return NULL;
  if (!expect (p, CF_TOKEN_OP, "=", "'=' (only {% set name = value %} is supported)"))
    return NULL;
  if ((stmt->expr = parse_expr (p)) == NULL || !parse_end (p))
    return NULL;
  return g_steal_pointer (&stmt);
}

static CfStmt *
parse_statement (Parser *p)
{
  static const char * const closers[] = { "elif", "else", "endif", "endfor", "endraw", NULL };
  CfToken *token = advance (p);

  if (token_is (token, CF_TOKEN_NAME, "if"))
    return parse_if (p, token->line);
  if (token_is (token, CF_TOKEN_NAME, "for"))
    return parse_for (p, token->line);
  if (token_is (token, CF_TOKEN_NAME, "set"))
    return parse_set (p, token->line);

  if (token->kind != CF_TOKEN_NAME)
    return unexpected (p, token, "a tag name");
  if (g_strv_contains (closers, token->text))
    return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line, "unexpected '%s'", token->text);
  return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line, "unknown or unsupported tag '%s'",
                      token->text);
}

static CfStmt *
parse_output (Parser *p,
              guint   line)
{
  g_autoptr(CfStmt) stmt = stmt_new (CF_STMT_OUTPUT, line);

  if ((stmt->expr = parse_expr (p)) == NULL)
    return NULL;
  if (!expect (p, CF_TOKEN_VAR_END, NULL, "'}}'"))
    return NULL;
  return g_steal_pointer (&stmt);
}

static CfStmt *
parse_text (CfToken *token)
{
  CfStmt *stmt = stmt_new (CF_STMT_TEXT, token->line);

  stmt->text = g_steal_pointer (&token->text);
  return stmt;
}

/* Returns TRUE when the tag ahead closes the current body. */
static gboolean
at_body_end (Parser            *p,
             const char * const *ends,
             const char        **found)
{
  CfToken *name = peek (p);

  if (ends == NULL || name->kind != CF_TOKEN_NAME || !g_strv_contains (ends, name->text))
    return FALSE;
  *found = advance (p)->text;
  return TRUE;
}

static GPtrArray *
parse_body (Parser            *p,
            const char * const *ends,
            const char        **found)
{
  g_autoptr(GPtrArray) body = g_ptr_array_new_with_free_func ((GDestroyNotify) stmt_free);

  for (;;)
    {
      CfToken *token = advance (p);
      CfStmt *stmt;

      if (token->kind == CF_TOKEN_EOF && ends == NULL)
        return g_steal_pointer (&body);
      if (token->kind == CF_TOKEN_EOF)
        return parse_error (p, CF_TEMPLATE_ERROR_SYNTAX, token->line,
                            "unexpected end of template, expected '{%% %s %%}'",
                            ends[g_strv_length ((char **) ends) - 1]);
      if (token->kind == CF_TOKEN_BLOCK_BEGIN && at_body_end (p, ends, found))
        return g_steal_pointer (&body);

      if (token->kind == CF_TOKEN_TEXT)
        stmt = parse_text (token);
      else if (token->kind == CF_TOKEN_VAR_BEGIN)
        stmt = parse_output (p, token->line);
      else
        stmt = parse_statement (p);

      if (stmt == NULL)
        return NULL;
      g_ptr_array_add (body, stmt);
    }
}

static gboolean
validate_utf8 (const char *source,
               GError    **error)
{
  const char *end;
  guint line = 1;

  if (g_utf8_validate (source, -1, &end))
    return TRUE;

  for (const char *p = source; p < end; p++)
    line += *p == '\n';
  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_SYNTAX,
               "line %u: the template is not valid UTF-8", line);
  return FALSE;
}

/**
 * cf_template_parse:
 * @source: the template text
 * @error: return location for a #CfTemplateError
 *
 * Returns: (transfer full) (element-type CfStmt): the top-level statements
 */
GPtrArray *
cf_template_parse (const char *source,
                   GError    **error)
{
  g_autoptr(GArray) tokens = NULL;
  Parser p = { .error = error };

  if (!validate_utf8 (source, error))
    return NULL;
  if ((tokens = cf_template_tokenize (source, error)) == NULL)
    return NULL;

  p.tokens = &g_array_index (tokens, CfToken, 0);
  return parse_body (&p, NULL, NULL);
}
