/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-prompt-template.h"

G_BEGIN_DECLS

/* Sandbox limits. Templates come from users, so every resource a template can
 * spend (output, loop turns, C stack, CPU) has a ceiling that ends in
 * CF_TEMPLATE_ERROR_LIMIT rather than in a crash or a stuck request. */
#define CF_TEMPLATE_MAX_OUTPUT     (1024 * 1024)
#define CF_TEMPLATE_MAX_ITERATIONS 100000
#define CF_TEMPLATE_MAX_ITEMS      100000
#define CF_TEMPLATE_MAX_NESTING    64
#define CF_TEMPLATE_MAX_HEIGHT     256
#define CF_TEMPLATE_MAX_WORK       ((gsize) 256 * 1024 * 1024)
#define CF_TEMPLATE_EVAL_COST      32

typedef enum {
  CF_VALUE_UNDEFINED,
  CF_VALUE_NONE,
  CF_VALUE_BOOL,
  CF_VALUE_INT,
  CF_VALUE_FLOAT,
  CF_VALUE_STRING,
  CF_VALUE_LIST,
  CF_VALUE_DICT,
} CfValueKind;

typedef enum {
  CF_OP_ADD,
  CF_OP_SUB,
  CF_OP_MUL,
  CF_OP_DIV,
  CF_OP_FLOORDIV,
  CF_OP_MOD,
  CF_OP_CONCAT,
  CF_OP_AND,
  CF_OP_OR,
  CF_OP_EQ,
  CF_OP_NE,
  CF_OP_LT,
  CF_OP_GT,
  CF_OP_LE,
  CF_OP_GE,
  CF_OP_IN,
  CF_OP_NOT_IN,
  CF_OP_NEG,
  CF_OP_POS,
  CF_OP_NOT,
} CfOp;

/* One rendering: @frames holds the scopes of set and for, innermost last,
 * as hash tables from name to value (%NULL for a set to undefined). */
typedef struct _CfRender CfRender;

/* Filters, tests, methods and range() share one calling convention: @input
 * is %NULL when undefined, @args holds one slot per declared parameter
 * (%NULL when not given) and @result is an undefined value when left %NULL. */
typedef gboolean (*CfCallFunc) (CfRender  *render,
                                JsonNode  *input,
                                JsonNode **args,
                                JsonNode **result,
                                GError   **error);

typedef enum {
  CF_CALLABLE_FILTER,
  CF_CALLABLE_TEST,
  CF_CALLABLE_METHOD,
  CF_CALLABLE_GLOBAL,
} CfCallableKind;

#define CF_CALLABLE_MAX_PARAMS 4

typedef struct {
  const char *name;
  CfCallFunc  func;
  guint       n_required;
  gboolean    accepts_undefined;
  const char *params[CF_CALLABLE_MAX_PARAMS + 1];
} CfCallable;

typedef enum {
  CF_EXPR_LITERAL,
  CF_EXPR_NAME,
  CF_EXPR_ATTR,
  CF_EXPR_INDEX,
  CF_EXPR_SLICE,
  CF_EXPR_LIST,
  CF_EXPR_UNARY,
  CF_EXPR_BINARY,
  CF_EXPR_COND,
  CF_EXPR_CALL,
} CfExprKind;

typedef struct _CfExpr CfExpr;

/* a, b and c are the operands in reading order: ATTR (a), INDEX (a[b]),
 * SLICE (a[b:c]), UNARY (op a), BINARY (a op b), COND (a if b else c) and
 * CALL (the input, %NULL for range()). */
struct _CfExpr
{
  CfExprKind        kind;
  CfOp              op;
  guint             line;
  guint             height;
  gboolean          negate;
  char             *name;
  JsonNode         *value;
  CfExpr           *a;
  CfExpr           *b;
  CfExpr           *c;
  const CfCallable *callable;
  GPtrArray        *args;
};

typedef enum {
  CF_STMT_TEXT,
  CF_STMT_OUTPUT,
  CF_STMT_IF,
  CF_STMT_FOR,
  CF_STMT_SET,
} CfStmtKind;

typedef struct {
  CfExpr    *cond;
  GPtrArray *body;
} CfBranch;

/* IF keeps its elif/else chain flat in @branches (an else has no cond) so
 * that a long chain costs no stack; FOR uses @expr, @targets, @body and
 * @orelse; SET uses @targets[0] and @expr. */
typedef struct {
  CfStmtKind  kind;
  guint       line;
  char       *text;
  CfExpr     *expr;
  char       *targets[2];
  GPtrArray  *body;
  GPtrArray  *orelse;
  GPtrArray  *branches;
} CfStmt;

typedef enum {
  CF_TOKEN_EOF,
  CF_TOKEN_TEXT,
  CF_TOKEN_VAR_BEGIN,
  CF_TOKEN_VAR_END,
  CF_TOKEN_BLOCK_BEGIN,
  CF_TOKEN_BLOCK_END,
  CF_TOKEN_NAME,
  CF_TOKEN_STRING,
  CF_TOKEN_INT,
  CF_TOKEN_FLOAT,
  CF_TOKEN_OP,
} CfTokenKind;

typedef struct {
  CfTokenKind kind;
  guint       line;
  char       *text;
  gint64      ival;
  double      fval;
} CfToken;

/* cf-prompt-template-lexer.c */
GArray           *cf_template_tokenize         (const char      *source,
                                                GError         **error);

/* cf-prompt-template-parser.c */
GPtrArray        *cf_template_parse            (const char      *source,
                                                GError         **error);

/* cf-prompt-template-filters.c */
const CfCallable *cf_callable_lookup           (CfCallableKind   kind,
                                                const char      *name);

/* cf-prompt-template-builtins.c */
extern const CfCallable cf_template_tests[];
extern const CfCallable cf_template_methods[];
extern const CfCallable cf_template_globals[];

struct _CfRender
{
  GString    *out;
  GPtrArray  *frames;
  JsonObject *arguments;
  CfExpr     *undefined_at;
  guint       error_line;
  guint       iterations;
  gsize       work;
};

/* cf-prompt-template.c */
gboolean          cf_render_charge             (CfRender        *render,
                                                gsize            units,
                                                GError         **error);

/* cf-prompt-template-eval.c */
gboolean          cf_render_eval               (CfRender        *render,
                                                CfExpr          *expr,
                                                JsonNode       **out,
                                                GError         **error);
gboolean          cf_render_undefined_error    (CfRender        *render,
                                                GError         **error);

/* cf-prompt-template-value.c */
CfValueKind       cf_value_kind                (JsonNode        *node);
const char       *cf_value_type_name           (JsonNode        *node);
JsonNode         *cf_value_new_string          (const char      *str);
JsonNode         *cf_value_new_int             (gint64           value);
JsonNode         *cf_value_new_double          (double           value);
JsonNode         *cf_value_new_bool            (gboolean         value);
JsonNode         *cf_value_new_null            (void);
JsonNode         *cf_value_new_array           (JsonArray       *array);
void              cf_value_unref               (gpointer         node);
gboolean          cf_value_truthy              (JsonNode        *node);
gboolean          cf_value_is_number           (JsonNode        *node);
gboolean          cf_value_is_integer          (JsonNode        *node);
gint64            cf_value_get_int             (JsonNode        *node);
double            cf_value_get_double          (JsonNode        *node);
gboolean          cf_value_check_length        (gsize            length,
                                                GError         **error);
gboolean          cf_value_check_items         (guint            n_items,
                                                GError         **error);
gboolean          cf_value_type_error          (GError         **error,
                                                const char      *format,
                                                ...) G_GNUC_PRINTF (2, 3);
gboolean          cf_value_int_arg             (JsonNode        *arg,
                                                gint64           fallback,
                                                gint64          *out,
                                                GError         **error);
gboolean          cf_value_to_string           (JsonNode        *node,
                                                GString         *out,
                                                GError         **error);
char             *cf_value_dup_string          (JsonNode        *node,
                                                GError         **error);
gboolean          cf_value_to_json             (JsonNode        *node,
                                                GString         *out,
                                                GError         **error);
JsonArray        *cf_value_to_array            (JsonNode        *node,
                                                GError         **error);
gboolean          cf_value_equal               (CfRender        *render,
                                                JsonNode        *a,
                                                JsonNode        *b,
                                                guint            depth,
                                                gboolean        *equal,
                                                GError         **error);
gboolean          cf_value_compare             (JsonNode        *a,
                                                JsonNode        *b,
                                                int             *order,
                                                GError         **error);
gboolean          cf_value_contains            (CfRender        *render,
                                                JsonNode        *container,
                                                JsonNode        *item,
                                                gboolean        *found,
                                                GError         **error);

G_END_DECLS
