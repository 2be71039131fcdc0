/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-uri-template"

#include "cf-uri-template.h"
#include "cf-prompt-template.h"

#include <string.h>

/* RFC 6570 URI templates, levels 1 to 3 plus the level 4 prefix modifier.
 * Values are strings only, so the explode modifier is accepted and has no
 * effect. Matching, the inverse of expansion, is what resolves a resource
 * URI to a resource template: it compiles the template to a GRegex, except
 * for a trailing {?...}{&...} run, which matches the URI's query string in
 * any order. */

typedef struct {
  char        op;
  const char *first;
  const char *sep;
  gboolean    named;
  gboolean    allow_reserved;
  const char *if_empty;
} Operator;

/* RFC 6570, appendix A */
static const Operator operators[] = {
  { '\0', "", ",", FALSE, FALSE, "" },
  { '+', "", ",", FALSE, TRUE, "" },
  { '#', "#", ",", FALSE, TRUE, "" },
  { '.', ".", ".", FALSE, FALSE, "" },
  { '/', "/", "/", FALSE, FALSE, "" },
  { ';', ";", ";", TRUE, FALSE, "" },
  { '?', "?", "&", TRUE, FALSE, "=" },
  { '&', "&", "&", TRUE, FALSE, "=" },
};

typedef struct {
  char    *name;
  guint    prefix;
  gboolean explode;
} VarSpec;

/* A literal (with @literal set) or an expression. */
typedef struct {
  char           *literal;
  const Operator *op;
  GArray         *vars;
} Part;

typedef struct {
  const VarSpec  *var;
  const Operator *op;
} Capture;

struct _CfUriTemplate
{
  char      *source;
  GPtrArray *parts;
  GStrv      variables;
  GRegex    *regex;
  GArray    *captures;
  guint      query_start;
};

static void
var_spec_clear (gpointer data)
{
  g_free (((VarSpec *) data)->name);
}

static void
part_free (gpointer data)
{
  Part *part = data;

  g_free (part->literal);
  g_clear_pointer (&part->vars, g_array_unref);
  g_free (part);
}

static gpointer
syntax_error (GError    **error,
              const char *source,
              const char *at,
              const char *message)
{
  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_SYNTAX, "column %ld: %s",
               (long) (at - source) + 1, message);
  return NULL;
}

static gboolean
is_unreserved (char c)
{
  return g_ascii_isalnum (c) || (c != '\0' && strchr ("-._~", c) != NULL);
}

static gboolean
is_reserved (char c)
{
  return c != '\0' && strchr (":/?#[]@!$&'()*+,;=", c) != NULL;
}

static gboolean
is_pct_encoded (const char *p)
{
  return p[0] == '%' && g_ascii_isxdigit (p[1]) && g_ascii_isxdigit (p[2]);
}

/* varname = varchar *( ["."] varchar ), varchar = ALPHA / DIGIT / "_" / pct-encoded */
static const char *
scan_varname (const char *p)
{
  const char *start = p;

  for (;;)
    {
      if (g_ascii_isalnum (*p) || *p == '_')
        p++;
      else if (is_pct_encoded (p))
        p += 3;
      else if (*p == '.' && p > start &&
               (g_ascii_isalnum (p[1]) || p[1] == '_' || is_pct_encoded (p + 1)))
        p++;
      else
        return p;
    }
}

/* varspec = varname [ ":" max-length / "*" ] */
static const char *
parse_varspec (const char *source,
               const char *p,
               GArray     *vars,
               GError    **error)
{
  const char *end = scan_varname (p);
  VarSpec spec = { NULL, 0, FALSE };
  guint64 prefix;

  if (end == p)
    return syntax_error (error, source, p, "expected a variable name");

  spec.name = g_strndup (p, end - p);
  if (*end == '*')
    {
      spec.explode = TRUE;
      end++;
    }
  else if (*end == ':' && g_ascii_isdigit (end[1]) && end[1] != '0')
    {
      prefix = g_ascii_strtoull (end + 1, (char **) &end, 10);
      if (prefix > 9999)
        {
          g_free (spec.name);
          return syntax_error (error, source, p, "a prefix is at most 9999");
        }
      spec.prefix = prefix;
    }

  g_array_append_val (vars, spec);
  return end;
}

static const Operator *
find_operator (char c)
{
  for (guint i = 1; i < G_N_ELEMENTS (operators); i++)
    if (operators[i].op == c)
      return &operators[i];
  return &operators[0];
}

/* Parses the inside of one "{...}", from @p up to @close. */
static Part *
parse_expression (const char *source,
                  const char *p,
                  const char *close,
                  GError    **error)
{
  g_autoptr(GArray) vars = g_array_new (FALSE, FALSE, sizeof (VarSpec));
  const Operator *op = find_operator (*p);
  Part *part;

  g_array_set_clear_func (vars, var_spec_clear);
  if (*p != '\0' && strchr ("=,!@|", *p) != NULL)
    return syntax_error (error, source, p, "operator reserved for future use");
  if (op->op != '\0')
    p++;

  do
    if ((p = parse_varspec (source, p, vars, error)) == NULL)
      return NULL;
  while (*p == ',' && p++);

  if (p != close)
    return syntax_error (error, source, p, "unexpected character in expression");

  part = g_new0 (Part, 1);
  part->op = op;
  part->vars = g_steal_pointer (&vars);
  return part;
}

static void
add_literal (GPtrArray  *parts,
             const char *start,
             const char *end)
{
  Part *part;

  if (start == end)
    return;
  part = g_new0 (Part, 1);
  part->literal = g_strndup (start, end - start);
  g_ptr_array_add (parts, part);
}

static GPtrArray *
parse_template (const char *source,
                GError    **error)
{
  g_autoptr(GPtrArray) parts = g_ptr_array_new_with_free_func (part_free);
  const char *p = source;

  for (;;)
    {
      const char *open = strpbrk (p, "{}"), *close;
      Part *part;

      if (open == NULL)
        {
          add_literal (parts, p, p + strlen (p));
          return g_steal_pointer (&parts);
        }
      if (*open == '}')
        return syntax_error (error, source, open, "'}' without '{'");

      add_literal (parts, p, open);
      close = strpbrk (open + 1, "{}");
      if (close == NULL || *close == '{')
        return syntax_error (error, source, open, "'{' is never closed");
      if ((part = parse_expression (source, open + 1, close, error)) == NULL)
        return NULL;
      g_ptr_array_add (parts, part);
      p = close + 1;
    }
}

/* Unreserved characters pass; with @allow_reserved, so do reserved ones and
 * percent-encoded triplets. Everything else is percent-encoded as UTF-8. */
static void
append_encoded (GString    *out,
                const char *value,
                gsize       length,
                gboolean    allow_reserved)
{
  for (const char *p = value; p < value + length; p++)
    {
      /* A triplet's '%' passes here and its hex digits as unreserved. */
      if (is_unreserved (*p) || (allow_reserved && (is_reserved (*p) || is_pct_encoded (p))))
        g_string_append_c (out, *p);
      else
        g_string_append_printf (out, "%%%02X", (guchar) *p);
    }
}

/* The byte length of the first @prefix characters of @value. */
static gsize
prefix_length (const char *value,
               guint       prefix)
{
  gsize length = strlen (value);

  if (prefix == 0 || !g_utf8_validate (value, length, NULL))
    return prefix == 0 ? length : MIN (length, prefix);
  if ((gsize) g_utf8_strlen (value, length) <= prefix)
    return length;
  return g_utf8_offset_to_pointer (value, prefix) - value;
}

static void
expand_expression (const Part *part,
                   GHashTable *variables,
                   GString    *out)
{
  gboolean first = TRUE;

  for (guint i = 0; i < part->vars->len; i++)
    {
      const VarSpec *spec = &g_array_index (part->vars, VarSpec, i);
      const char *value = variables != NULL ? g_hash_table_lookup (variables, spec->name) : NULL;

      if (value == NULL)
        continue;

      g_string_append (out, first ? part->op->first : part->op->sep);
      first = FALSE;
      if (part->op->named)
        {
          g_string_append (out, spec->name);
          g_string_append (out, *value == '\0' ? part->op->if_empty : "=");
        }
      append_encoded (out, value, prefix_length (value, spec->prefix), part->op->allow_reserved);
    }
}

/* The characters one variable's value may span when matching. A lone
 * {var} may hold commas; {+var} may cross '/'. */
static const char *
value_class (const Operator *op,
             gboolean        single)
{
  switch (op->op)
    {
    case '\0':
      return single ? "[^/?#]*" : "[^/?#,]*";
    case '+':
    case '#':
      return single ? ".*" : "[^,]*";
    case '.':
      return "[^/?#.]*";
    case '/':
      return "[^/?#]*";
    case ';':
      return "[^/?#;]*";
    default:
      return "[^&#]*";
    }
}

static const char *
separator_pattern (const Operator *op,
                   gboolean        first)
{
  switch (op->op)
    {
    case '\0':
    case '+':
      return first ? "" : ",";
    case '#':
      return "[#,]";
    case '.':
      return "\\.";
    case '?':
      return "[?&]";
    default:
      return op->sep;
    }
}

/* Each variable gets one capture group; an undefined variable leaves its
 * separator out too, so everything after the first is optional. Named
 * operators capture "name=value" and drop the name later. */
static void
append_expression_pattern (GString *pattern,
                           Part    *part,
                           GArray  *captures)
{
  gboolean single = part->vars->len == 1;

  for (guint i = 0; i < part->vars->len; i++)
    {
      const VarSpec *spec = &g_array_index (part->vars, VarSpec, i);
      const char *value = value_class (part->op, single);
      gboolean optional = i > 0 || *part->op->first != '\0';
      Capture capture = { spec, part->op };
      g_autofree char *name = g_regex_escape_string (spec->name, -1);

      g_string_append_printf (pattern, "%s%s(", optional ? "(?:" : "",
                              separator_pattern (part->op, i == 0));
      if (part->op->named)
        g_string_append_printf (pattern, "%s(?:=%s)?", name, value);
      else
        g_string_append (pattern, value);
      g_string_append (pattern, optional ? "))?" : ")");
      g_array_append_val (captures, capture);
    }
}

static GRegex *
compile_pattern (CfUriTemplate *self,
                 GError       **error)
{
  g_autoptr(GString) pattern = g_string_new ("\\A");

  for (guint i = 0; i < self->query_start; i++)
    {
      Part *part = g_ptr_array_index (self->parts, i);
      g_autofree char *literal = NULL;

      if (part->literal == NULL)
        {
          append_expression_pattern (pattern, part, self->captures);
          continue;
        }
      literal = g_regex_escape_string (part->literal, -1);
      g_string_append (pattern, literal);
    }
  g_string_append (pattern, "\\z");

  return g_regex_new (pattern->str, G_REGEX_DOTALL, 0, error);
}

/* Where a trailing run of {?...} and {&...} starts, which matches the
 * query string in any order; the parts' length if there is none. A literal
 * '?' before it means the query is partly fixed, so then the whole
 * template matches in order. */
static guint
find_query_start (GPtrArray *parts)
{
  guint start = parts->len;

  while (start > 0)
    {
      Part *part = g_ptr_array_index (parts, start - 1);

      if (part->literal != NULL || (part->op->op != '?' && part->op->op != '&'))
        break;
      start--;
    }
  while (start < parts->len && ((Part *) g_ptr_array_index (parts, start))->op->op != '?')
    start++;

  for (guint i = 0; i < start; i++)
    {
      Part *part = g_ptr_array_index (parts, i);

      if (part->literal != NULL && strchr (part->literal, '?') != NULL)
        return parts->len;
    }
  return start;
}

static GStrv
collect_variables (GPtrArray *parts)
{
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);

  for (guint i = 0; i < parts->len; i++)
    {
      Part *part = g_ptr_array_index (parts, i);

      for (guint j = 0; part->vars != NULL && j < part->vars->len; j++)
        {
          const char *name = g_array_index (part->vars, VarSpec, j).name;

          if (g_hash_table_add (seen, (gpointer) name))
            g_strv_builder_add (builder, name);
        }
    }
  return g_strv_builder_end (builder);
}

static void
cf_uri_template_clear (gpointer data)
{
  CfUriTemplate *self = data;

  g_clear_pointer (&self->source, g_free);
  g_clear_pointer (&self->parts, g_ptr_array_unref);
  g_clear_pointer (&self->variables, g_strfreev);
  g_clear_pointer (&self->regex, g_regex_unref);
  g_clear_pointer (&self->captures, g_array_unref);
}

/**
 * cf_uri_template_new:
 * @source: an RFC 6570 URI template
 * @error: return location for a #GError
 *
 * Parses @source. An unbalanced brace, an empty or malformed expression,
 * or an operator RFC 6570 reserves fails with %CF_TEMPLATE_ERROR_SYNTAX,
 * the message giving the column.
 *
 * Returns: (transfer full) (nullable): the template, or %NULL with @error set
 */
CfUriTemplate *
cf_uri_template_new (const char *source,
                     GError    **error)
{
  g_autoptr(GPtrArray) parts = NULL;
  CfUriTemplate *self;

  g_return_val_if_fail (source != NULL, NULL);
  g_return_val_if_fail (error == NULL || *error == NULL, NULL);

  if ((parts = parse_template (source, error)) == NULL)
    return NULL;

  self = g_atomic_rc_box_new0 (CfUriTemplate);
  self->source = g_strdup (source);
  self->variables = collect_variables (parts);
  self->query_start = find_query_start (parts);
  self->parts = g_steal_pointer (&parts);
  self->captures = g_array_new (FALSE, FALSE, sizeof (Capture));
  if ((self->regex = compile_pattern (self, error)) == NULL)
    {
      g_atomic_rc_box_release_full (self, cf_uri_template_clear);
      return NULL;
    }
  return self;
}

/**
 * cf_uri_template_ref:
 * @self: a #CfUriTemplate
 *
 * Returns: (transfer full): @self
 */
CfUriTemplate *
cf_uri_template_ref (CfUriTemplate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_atomic_rc_box_acquire (self);
}

/**
 * cf_uri_template_unref:
 * @self: (transfer full): a #CfUriTemplate
 */
void
cf_uri_template_unref (CfUriTemplate *self)
{
  g_return_if_fail (self != NULL);

  g_atomic_rc_box_release_full (self, cf_uri_template_clear);
}

/**
 * cf_uri_template_get_source:
 * @self: a #CfUriTemplate
 *
 * Returns: (transfer none): the template text
 */
const char *
cf_uri_template_get_source (CfUriTemplate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return self->source;
}

/**
 * cf_uri_template_get_variables:
 * @self: a #CfUriTemplate
 *
 * Returns: (transfer full): the variable names, each once, in the order
 *   they first appear
 */
GStrv
cf_uri_template_get_variables (CfUriTemplate *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  return g_strdupv (self->variables);
}

/**
 * cf_uri_template_expand:
 * @self: a #CfUriTemplate
 * @variables: (nullable) (element-type utf8 utf8): the values by name
 *
 * Expands the template as RFC 6570 does. A variable missing from
 * @variables is undefined and leaves its expression, separator included,
 * out; an empty string is defined.
 *
 * Returns: (transfer full): the URI
 */
char *
cf_uri_template_expand (CfUriTemplate *self,
                        GHashTable    *variables)
{
  GString *out;

  g_return_val_if_fail (self != NULL, NULL);

  out = g_string_new (NULL);
  for (guint i = 0; i < self->parts->len; i++)
    {
      Part *part = g_ptr_array_index (self->parts, i);

      if (part->literal != NULL)
        append_encoded (out, part->literal, strlen (part->literal), TRUE);
      else
        expand_expression (part, variables, out);
    }
  return g_string_free (out, FALSE);
}

/* Records a percent-decoded value; a variable bound twice must agree. */
static gboolean
bind (GHashTable *values,
      const char *name,
      const char *raw,
      gsize       length)
{
  g_autofree char *encoded = g_strndup (raw, length);
  g_autofree char *decoded = g_uri_unescape_string (encoded, NULL);
  const char *previous;

  if (decoded == NULL || !g_utf8_validate (decoded, -1, NULL))
    return FALSE;
  previous = g_hash_table_lookup (values, name);
  if (previous != NULL)
    return g_str_equal (previous, decoded);

  g_hash_table_insert (values, g_strdup (name), g_steal_pointer (&decoded));
  return TRUE;
}

/* Strips the "name" or "name=" that named operators put before a value. */
static const char *
skip_name (const Capture *capture,
           const char    *raw)
{
  if (!capture->op->named)
    return raw;
  raw += strlen (capture->var->name);
  return *raw == '=' ? raw + 1 : raw;
}

static gboolean
bind_captures (CfUriTemplate *self,
               GMatchInfo    *info,
               const char    *uri,
               GHashTable    *values)
{
  for (guint i = 0; i < self->captures->len; i++)
    {
      const Capture *capture = &g_array_index (self->captures, Capture, i);
      const char *raw;
      int start, end;

      if (!g_match_info_fetch_pos (info, i + 1, &start, &end) || start < 0)
        continue;
      raw = skip_name (capture, uri + start);
      if (!bind (values, capture->var->name, raw, uri + end - raw))
        return FALSE;
    }
  return TRUE;
}

static gboolean
is_query_variable (CfUriTemplate *self,
                   const char    *name,
                   gsize          length)
{
  for (guint i = self->query_start; i < self->parts->len; i++)
    {
      Part *part = g_ptr_array_index (self->parts, i);

      for (guint j = 0; j < part->vars->len; j++)
        {
          const char *var = g_array_index (part->vars, VarSpec, j).name;

          if (strlen (var) == length && strncmp (var, name, length) == 0)
            return TRUE;
        }
    }
  return FALSE;
}

/* Binds the template's query variables from "a=1&b=2", in any order; any
 * may be missing and unknown parameters are ignored. */
static gboolean
bind_query (CfUriTemplate *self,
            const char    *query,
            GHashTable    *values)
{
  g_auto(GStrv) pairs = g_strsplit (query, "&", -1);

  for (guint i = 0; pairs[i] != NULL; i++)
    {
      const char *eq = strchr (pairs[i], '=');
      gsize name_length = eq != NULL ? (gsize) (eq - pairs[i]) : strlen (pairs[i]);
      g_autofree char *name = g_strndup (pairs[i], name_length);
      const char *value = eq != NULL ? eq + 1 : "";

      if (is_query_variable (self, name, name_length) &&
          !bind (values, name, value, strlen (value)))
        return FALSE;
    }
  return TRUE;
}

/**
 * cf_uri_template_match:
 * @self: a #CfUriTemplate
 * @uri: a URI
 *
 * Finds values that expand the template to @uri. {var} does not cross
 * '/', {+var} may; a trailing {?a,b} accepts the query parameters in any
 * order, each optional. Values come back percent-decoded.
 *
 * Returns: (transfer full) (nullable) (element-type utf8 utf8): the values
 *   by name, or %NULL when @uri does not match
 */
GHashTable *
cf_uri_template_match (CfUriTemplate *self,
                       const char    *uri)
{
  g_autoptr(GHashTable) values = NULL;
  g_autoptr(GMatchInfo) info = NULL;
  g_autofree char *head = NULL;
  g_autofree char *query = NULL;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (uri != NULL, NULL);

  if (!g_utf8_validate (uri, -1, NULL))
    return NULL;

  head = g_strdup (uri);
  if (self->query_start < self->parts->len && strchr (head, '?') != NULL)
    {
      query = g_strdup (strchr (head, '?') + 1);
      *strchr (head, '?') = '\0';
      query[strcspn (query, "#")] = '\0';
    }

  if (!g_regex_match (self->regex, head, 0, &info))
    return NULL;

  values = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  if (!bind_captures (self, info, head, values) ||
      (query != NULL && !bind_query (self, query, values)))
    return NULL;
  return g_steal_pointer (&values);
}
