/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-template-lexer"

#include "cf-prompt-template-private.h"

#include <errno.h>
#include <string.h>

/* Splits a template into text and the tokens inside its tags. Whitespace
 * control and {% raw %} are settled here, so the parser never sees them. */

typedef struct {
  const char *p;
  const char *end;
  guint       line;
  gboolean    lstrip;  /* the last tag closed with '-' */
  GArray     *tokens;
} Lexer;

static gboolean
lex_error (GError    **error,
           guint       line,
           const char *message)
{
  g_set_error (error, CF_TEMPLATE_ERROR, CF_TEMPLATE_ERROR_SYNTAX, "line %u: %s", line, message);
  return FALSE;
}

static void
token_clear (gpointer data)
{
  CfToken *token = data;

  g_clear_pointer (&token->text, g_free);
}

static void
push (Lexer      *lx,
      CfTokenKind kind,
      guint       line,
      char       *text)
{
  CfToken token = { .kind = kind, .line = line, .text = text };

  g_array_append_val (lx->tokens, token);
}

static guint
count_lines (const char *p,
             const char *end)
{
  guint n = 0;

  for (; p < end; p++)
    n += *p == '\n';
  return n;
}

/* Jinja hands text out with "\n" line endings whatever the source used. */
static char *
normalize_newlines (const char *start,
                    const char *stop)
{
  GString *text = g_string_sized_new (stop - start);

  for (const char *p = start; p < stop; p++)
    {
      if (*p != '\r')
        g_string_append_c (text, *p);
      else if (p + 1 == stop || p[1] != '\n')
        g_string_append_c (text, '\n');
    }
  return g_string_free (text, FALSE);
}

static void
lex_text (Lexer      *lx,
          const char *start,
          const char *stop,
          gboolean    rstrip)
{
  guint line = lx->line;

  lx->line += count_lines (start, stop);
  if (lx->lstrip)
    while (start < stop && g_ascii_isspace (*start))
      start++;
  if (rstrip)
    while (stop > start && g_ascii_isspace (stop[-1]))
      stop--;
  lx->lstrip = FALSE;

  if (start < stop)
    push (lx, CF_TOKEN_TEXT, line, normalize_newlines (start, stop));
}

static void
skip_space (Lexer *lx)
{
  while (lx->p < lx->end && g_ascii_isspace (*lx->p))
    lx->line += *lx->p++ == '\n';
}

static gboolean
lex_name (Lexer *lx)
{
  const char *start = lx->p;

  while (g_ascii_isalnum (*lx->p) || *lx->p == '_')
    lx->p++;
  push (lx, CF_TOKEN_NAME, lx->line, g_strndup (start, lx->p - start));
  return TRUE;
}

static void
scan_digits (Lexer   *lx,
             GString *digits)
{
  for (; g_ascii_isdigit (*lx->p) || *lx->p == '_'; lx->p++)
    if (*lx->p != '_')
      g_string_append_c (digits, *lx->p);
}

static gboolean
lex_number (Lexer   *lx,
            GError **error)
{
  g_autoptr(GString) digits = g_string_new (NULL);
  gboolean is_float = FALSE;
  CfToken *token;

  scan_digits (lx, digits);
  if (lx->p[0] == '.' && g_ascii_isdigit (lx->p[1]))
    {
      g_string_append_c (digits, *lx->p++);
      scan_digits (lx, digits);
      is_float = TRUE;
    }
  if ((lx->p[0] == 'e' || lx->p[0] == 'E') &&
      (g_ascii_isdigit (lx->p[1]) ||
       ((lx->p[1] == '+' || lx->p[1] == '-') && g_ascii_isdigit (lx->p[2]))))
    {
      g_string_append_c (digits, *lx->p++);
      g_string_append_c (digits, *lx->p++);
      scan_digits (lx, digits);
      is_float = TRUE;
    }

  push (lx, is_float ? CF_TOKEN_FLOAT : CF_TOKEN_INT, lx->line, NULL);
  token = &g_array_index (lx->tokens, CfToken, lx->tokens->len - 1);
  errno = 0;
  if (is_float)
    token->fval = g_ascii_strtod (digits->str, NULL);
  else
    token->ival = g_ascii_strtoll (digits->str, NULL, 10);
  if (errno == ERANGE && !is_float)
    return lex_error (error, lx->line, "integer literal is too large");
  return TRUE;
}

static gboolean
lex_unicode_escape (Lexer   *lx,
                    int      n_digits,
                    GString *out,
                    GError **error)
{
  gunichar c = 0;

  for (int i = 0; i < n_digits; i++, lx->p++)
    {
      if (!g_ascii_isxdigit (*lx->p))
        return lex_error (error, lx->line, "truncated escape in string literal");
      c = c * 16 + g_ascii_xdigit_value (*lx->p);
    }
  if (c == 0 || !g_unichar_validate (c))
    return lex_error (error, lx->line, "invalid character escape in string literal");
  g_string_append_unichar (out, c);
  return TRUE;
}

/* The Python escapes Jinja honours; unknown ones stay as written. */
static gboolean
lex_escape (Lexer   *lx,
            GString *out,
            GError **error)
{
  char c = *lx->p++;

  switch (c)
    {
    case 'n':
      g_string_append_c (out, '\n');
      return TRUE;
    case 't':
      g_string_append_c (out, '\t');
      return TRUE;
    case 'r':
      g_string_append_c (out, '\r');
      return TRUE;
    case 'x':
      return lex_unicode_escape (lx, 2, out, error);
    case 'u':
      return lex_unicode_escape (lx, 4, out, error);
    case 'U':
      return lex_unicode_escape (lx, 8, out, error);
    case '\\':
    case '\'':
    case '"':
      g_string_append_c (out, c);
      return TRUE;
    default:
      lx->p--;
      g_string_append_c (out, '\\');
      return TRUE;
    }
}

static gboolean
lex_string (Lexer   *lx,
            GError **error)
{
  g_autoptr(GString) text = g_string_new (NULL);
  char quote = *lx->p++;
  guint line = lx->line;

  while (lx->p < lx->end && *lx->p != quote)
    {
      if (*lx->p == '\\' && lx->p + 1 < lx->end)
        {
          lx->p++;
          if (!lex_escape (lx, text, error))
            return FALSE;
          continue;
        }
      lx->line += *lx->p == '\n';
      g_string_append_c (text, *lx->p++);
    }
  if (lx->p >= lx->end)
    return lex_error (error, line, "unterminated string literal");

  lx->p++;
  push (lx, CF_TOKEN_STRING, line, g_string_free (g_steal_pointer (&text), FALSE));
  return TRUE;
}

static gboolean
lex_operator (Lexer   *lx,
              GError **error)
{
  /* Two-character operators first, so "//" never lexes as two "/". */
  static const char * const ops[] = {
    "//", "==", "!=", "<=", ">=",
    "+", "-", "*", "/", "%", "~", "<", ">", "(", ")", "[", "]", ".", ",", "|", "=", ":",
  };
  g_autofree char *message = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (ops); i++)
    {
      if (g_str_has_prefix (lx->p, ops[i]))
        {
          push (lx, CF_TOKEN_OP, lx->line, g_strdup (ops[i]));
          lx->p += strlen (ops[i]);
          return TRUE;
        }
    }

  message = g_strdup_printf ("unexpected character '%.*s'",
                             (int) (g_utf8_next_char (lx->p) - lx->p), lx->p);
  return lex_error (error, lx->line, message);
}

static gboolean
lex_token (Lexer   *lx,
           GError **error)
{
  char c = *lx->p;

  if (g_ascii_isalpha (c) || c == '_')
    return lex_name (lx);
  if (g_ascii_isdigit (c))
    return lex_number (lx, error);
  if (c == '\'' || c == '"')
    return lex_string (lx, error);
  return lex_operator (lx, error);
}

/* Consumes "}}" or "%}", with an optional leading '-'. */
static gboolean
at_tag_end (Lexer *lx,
            char   closer)
{
  gboolean strip = lx->p[0] == '-';
  const char *p = lx->p + strip;

  if (p[0] != closer || p[1] != '}')
    return FALSE;
  lx->p = p + 2;
  lx->lstrip = strip;
  return TRUE;
}

static gboolean
lex_tag_body (Lexer   *lx,
              char     closer,
              GError **error)
{
  guint line = lx->line;

  for (;;)
    {
      skip_space (lx);
      if (lx->p >= lx->end)
        return lex_error (error, line, closer == '}' ? "'{{' is never closed with '}}'"
                                                     : "'{%' is never closed with '%}'");
      if (at_tag_end (lx, closer))
        {
          push (lx, closer == '}' ? CF_TOKEN_VAR_END : CF_TOKEN_BLOCK_END, lx->line, NULL);
          return TRUE;
        }
      if (!lex_token (lx, error))
        return FALSE;
    }
}

static gboolean
lex_comment (Lexer   *lx,
             GError **error)
{
  const char *close = strstr (lx->p, "#}");

  if (close == NULL || close >= lx->end)
    return lex_error (error, lx->line, "'{#' is never closed with '#}'");

  lx->lstrip = close > lx->p && close[-1] == '-';
  lx->line += count_lines (lx->p, close);
  lx->p = close + 2;
  return TRUE;
}

static gboolean
token_is (Lexer      *lx,
          guint       from_end,
          CfTokenKind kind,
          const char *text)
{
  CfToken *token;

  if (lx->tokens->len < from_end)
    return FALSE;
  token = &g_array_index (lx->tokens, CfToken, lx->tokens->len - from_end);
  return token->kind == kind && g_strcmp0 (token->text, text) == 0;
}

/* Matches "{% endraw %}" in any of its whitespace-control spellings. */
static const char *
match_endraw (const char *p,
              gboolean   *rstrip,
              gboolean   *lstrip)
{
  p += 2;
  *rstrip = *p == '-';
  p += *rstrip;
  while (g_ascii_isspace (*p))
    p++;
  if (!g_str_has_prefix (p, "endraw"))
    return NULL;
  p += strlen ("endraw");
  while (g_ascii_isspace (*p))
    p++;
  *lstrip = *p == '-';
  p += *lstrip;
  return g_str_has_prefix (p, "%}") ? p + 2 : NULL;
}

/* Called right after "{% raw %}" was lexed: drops its tokens and keeps
 * everything up to "{% endraw %}" as text. */
static gboolean
lex_raw (Lexer   *lx,
         GError **error)
{
  guint line = g_array_index (lx->tokens, CfToken, lx->tokens->len - 3).line;

  g_array_set_size (lx->tokens, lx->tokens->len - 3);
  for (const char *p = strstr (lx->p, "{%"); p != NULL && p < lx->end; p = strstr (p + 2, "{%"))
    {
      gboolean rstrip, lstrip;
      const char *after = match_endraw (p, &rstrip, &lstrip);

      if (after == NULL)
        continue;
      lex_text (lx, lx->p, p, rstrip);
      lx->line += count_lines (p, after);
      lx->p = after;
      lx->lstrip = lstrip;
      return TRUE;
    }

  return lex_error (error, line, "'{% raw %}' is never closed with '{% endraw %}'");
}

static gboolean
lex_tag (Lexer   *lx,
         GError **error)
{
  char kind = lx->p[1];

  /* A '-' right after the opener only strips the text before the tag,
   * which lex_text() already did. */
  lx->p += lx->p[2] == '-' ? 3 : 2;
  if (kind == '#')
    return lex_comment (lx, error);

  push (lx, kind == '{' ? CF_TOKEN_VAR_BEGIN : CF_TOKEN_BLOCK_BEGIN, lx->line, NULL);
  if (!lex_tag_body (lx, kind == '{' ? '}' : '%', error))
    return FALSE;
  if (kind == '%' && token_is (lx, 3, CF_TOKEN_BLOCK_BEGIN, NULL) &&
      token_is (lx, 2, CF_TOKEN_NAME, "raw") && token_is (lx, 1, CF_TOKEN_BLOCK_END, NULL))
    return lex_raw (lx, error);
  return TRUE;
}

static const char *
find_tag (const char *p,
          const char *end)
{
  for (; p + 1 < end; p++)
    if (p[0] == '{' && (p[1] == '{' || p[1] == '%' || p[1] == '#'))
      return p;
  return NULL;
}

/* Like Jinja's default keep_trailing_newline=False. */
static const char *
source_end (const char *source)
{
  const char *end = source + strlen (source);

  if (end > source && end[-1] == '\n')
    end--;
  if (end > source && end[-1] == '\r')
    end--;
  return end;
}

/**
 * cf_template_tokenize:
 * @source: a template, valid UTF-8
 * @error: return location for a %CF_TEMPLATE_ERROR_SYNTAX error
 *
 * Returns: (transfer full): an array of #CfToken ending in %CF_TOKEN_EOF
 */
GArray *
cf_template_tokenize (const char *source,
                      GError    **error)
{
  g_autoptr(GArray) tokens = g_array_new (FALSE, TRUE, sizeof (CfToken));
  Lexer lx = { source, source_end (source), 1, FALSE, tokens };

  g_array_set_clear_func (tokens, token_clear);
  while (lx.p < lx.end)
    {
      const char *tag = find_tag (lx.p, lx.end);
      const char *stop = tag != NULL ? tag : lx.end;

      lex_text (&lx, lx.p, stop, tag != NULL && tag[2] == '-');
      lx.p = stop;
      if (tag != NULL && !lex_tag (&lx, error))
        return NULL;
    }

  push (&lx, CF_TOKEN_EOF, lx.line, NULL);
  return g_steal_pointer (&tokens);
}
