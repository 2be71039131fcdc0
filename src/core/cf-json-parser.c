/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-json"

#include "config.h"

#include <math.h>
#include <string.h>

#include "cf-json-private.h"

/* A single-pass, strict RFC 8259 parser that builds json-glib trees, and
 * a direct serializer for them. They replace json_parser (GScanner based,
 * about 200 instructions per byte) and json_generator on the hot path.
 *
 * Compared with json-glib 1.6, the parser is stricter: it refuses comments,
 * single-quoted strings, unknown escapes ("\a", "\'", "\U0041"), malformed
 * "\u" escapes, raw control characters in strings, leading zeros, a
 * leading or trailing '.', hexadecimal numbers, a '-' apart from its
 * number, lone UTF-16 surrogates (json-glib either fails or emits invalid
 * UTF-8 for them), and numbers too large for a double (json-glib gives infinity, which it then
 * prints as "inf.0"). Integers outside gint64 become doubles where json-glib
 * wraps them around. A leading UTF-8 byte order mark is skipped, as
 * json-glib does (RFC 8259 section 8.1 allows it). "\u0000" cannot be held
 * in a json-glib string: json-glib silently cut the string there; it
 * becomes U+FFFD instead, so that "ping\u0000x" is neither cut to "ping"
 * nor refused (a relayed upstream result may well contain one).
 *
 * The serializer prints exactly what json_generator prints, except where
 * that is not JSON: a double whose shortest form has an exponent is printed
 * as "1e+21", not "1e+21.0"; NaN and infinities as null, not "nan.0"; and
 * U+001F escaped as "\u001f" where json-glib leaves it raw. */

/* Where strings are unescaped before json-glib copies them: on the stack
 * (the parser's caller's) until a string outgrows it. */
typedef struct {
  char  *str;
  gsize  len;
  gsize  allocated_len;
  char   stack[256];
} Scratch;

typedef struct {
  const guchar *start;
  const guchar *p;
  const guchar *end;
  Scratch      *scratch;
  guint         depth;
  CfJsonError   code;
  const char   *message;
  gsize         offset;
} Parser;

static JsonNode *parse_value (Parser *parser);

/* g_string_append_len and g_string_append_c are not inline in GLib 2.74;
 * these skip the call while the buffer has room. */
static inline void
buf_append (GString    *out,
            const char *data,
            gsize       len)
{
  if (G_LIKELY (out->len + len < out->allocated_len))
    {
      memcpy (out->str + out->len, data, len);
      out->len += len;
      out->str[out->len] = '\0';
    }
  else
    g_string_append_len (out, data, len);
}

static inline void
buf_append_c (GString *out,
              char     c)
{
  if (G_LIKELY (out->len + 1 < out->allocated_len))
    {
      out->str[out->len++] = c;
      out->str[out->len] = '\0';
    }
  else
    g_string_append_c (out, c);
}

static void
scratch_init (Scratch *scratch)
{
  scratch->str = scratch->stack;
  scratch->len = 0;
  scratch->allocated_len = sizeof scratch->stack;
  scratch->str[0] = '\0';
}

static void
scratch_clear (Scratch *scratch)
{
  if (scratch->str != scratch->stack)
    g_free (scratch->str);
  scratch->str = NULL;
}

static void
scratch_grow (Scratch *scratch,
              gsize    needed)
{
  gsize size = MAX (scratch->allocated_len * 2, needed);

  if (scratch->str == scratch->stack)
    {
      scratch->str = g_malloc (size);
      memcpy (scratch->str, scratch->stack, scratch->len + 1);
    }
  else
    scratch->str = g_realloc (scratch->str, size);
  scratch->allocated_len = size;
}

static inline void
scratch_append (Scratch    *scratch,
                const char *data,
                gsize       len)
{
  if (G_UNLIKELY (scratch->len + len >= scratch->allocated_len))
    scratch_grow (scratch, scratch->len + len + 1);
  memcpy (scratch->str + scratch->len, data, len);
  scratch->len += len;
  scratch->str[scratch->len] = '\0';
}

static inline void
scratch_append_c (Scratch *scratch,
                  char     c)
{
  scratch_append (scratch, &c, 1);
}

static inline void
scratch_truncate (Scratch *scratch,
                  gsize    len)
{
  scratch->len = len;
  scratch->str[len] = '\0';
}

static gboolean
fail_at (Parser       *parser,
         const guchar *at,
         CfJsonError   code,
         const char   *message)
{
  if (parser->message == NULL)
    {
      parser->code = code;
      parser->message = message;
      parser->offset = (gsize) (at - parser->start);
    }
  return FALSE;
}

#define FAIL(parser, at, message) \
  (fail_at ((parser), (at), CF_JSON_ERROR_SYNTAX, (message)), NULL)

static inline void
skip_ws (Parser *parser)
{
  const guchar *p = parser->p;
  const guchar *end = parser->end;

  while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' || *p == '\t'))
    p++;
  parser->p = p;
}

static inline int
hex_value (guchar c)
{
  if (c >= '0' && c <= '9')
    return c - '0';
  c |= 0x20;
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  return -1;
}

static gboolean
read_hex4 (Parser       *parser,
           const guchar *p,
           gunichar     *out)
{
  gunichar value = 0;

  if (parser->end - p < 4)
    return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "truncated \\u escape");
  for (int i = 0; i < 4; i++)
    {
      int digit = hex_value (p[i]);

      if (digit < 0)
        return fail_at (parser, p + i, CF_JSON_ERROR_SYNTAX,
                        "invalid hexadecimal digit in \\u escape");
      value = (value << 4) | (gunichar) digit;
    }
  *out = value;
  return TRUE;
}

/* Length of the well-formed UTF-8 sequence at @p (lead byte >= 0x80), or 0:
 * the same rules as g_utf8_validate (no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static inline gsize
utf8_sequence_length (const guchar *p,
                      const guchar *end)
{
  guchar c = p[0];
  gsize avail = (gsize) (end - p);

  if (c >= 0xC2 && c <= 0xDF)
    return avail >= 2 && (p[1] & 0xC0) == 0x80 ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF)
    {
      guchar lo = 0x80, hi = 0xBF;

      if (c == 0xE0)
        lo = 0xA0;
      else if (c == 0xED)
        hi = 0x9F;
      if (avail < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xC0) != 0x80)
        return 0;
      return 3;
    }
  if (c >= 0xF0 && c <= 0xF4)
    {
      guchar lo = 0x80, hi = 0xBF;

      if (c == 0xF0)
        lo = 0x90;
      else if (c == 0xF4)
        hi = 0x8F;
      if (avail < 4 || p[1] < lo || p[1] > hi ||
          (p[2] & 0xC0) != 0x80 || (p[3] & 0xC0) != 0x80)
        return 0;
      return 4;
    }
  return 0;
}

/* Bytes that end a run of plain string content: '"', '\\', controls and
 * everything non-ASCII. */
static const guchar string_stop[256] = {
  [0x00 ... 0x1F] = 1,
  ['"'] = 1,
  ['\\'] = 1,
  [0x80 ... 0xFF] = 1,
};

/* Parses the string at parser->p (just after the opening quote) and
 * appends its bytes and a NUL to the scratch buffer; with no scratch
 * buffer (a scan), only checks it. */
static gboolean
parse_string (Parser *parser)
{
  const guchar *p = parser->p;
  const guchar *end = parser->end;
  Scratch *out = parser->scratch;

  for (;;)
    {
      const guchar *run = p;

      while (p < end && !string_stop[*p])
        p++;
      if (p > run && out != NULL)
        scratch_append (out, (const char *) run, p - run);
      if (p >= end)
        return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "unterminated string");

      if (*p == '"')
        {
          if (out != NULL)
            scratch_append_c (out, '\0');
          parser->p = p + 1;
          return TRUE;
        }

      if (*p == '\\')
        {
          gunichar c;
          char utf8[4];
          char simple = 0;

          if (p + 1 >= end)
            return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "unterminated string");
          switch (p[1])
            {
            case '"': simple = '"'; break;
            case '\\': simple = '\\'; break;
            case '/': simple = '/'; break;
            case 'b': simple = '\b'; break;
            case 'f': simple = '\f'; break;
            case 'n': simple = '\n'; break;
            case 'r': simple = '\r'; break;
            case 't': simple = '\t'; break;
            case 'u':
              break;
            default:
              return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "invalid escape in string");
            }
          if (simple != 0)
            {
              if (out != NULL)
                scratch_append_c (out, simple);
              p += 2;
              continue;
            }

          if (!read_hex4 (parser, p + 2, &c))
            return FALSE;
          if (c >= 0xDC00 && c <= 0xDFFF)
            return fail_at (parser, p, CF_JSON_ERROR_SYNTAX,
                            "unpaired UTF-16 low surrogate in \\u escape");
          if (c >= 0xD800 && c <= 0xDBFF)
            {
              gunichar low;

              if (end - p < 12 || p[6] != '\\' || p[7] != 'u')
                return fail_at (parser, p, CF_JSON_ERROR_SYNTAX,
                                "unpaired UTF-16 high surrogate in \\u escape");
              if (!read_hex4 (parser, p + 8, &low))
                return FALSE;
              if (low < 0xDC00 || low > 0xDFFF)
                return fail_at (parser, p, CF_JSON_ERROR_SYNTAX,
                                "unpaired UTF-16 high surrogate in \\u escape");
              c = 0x10000 + ((c - 0xD800) << 10) + (low - 0xDC00);
              p += 12;
            }
          else
            {
              /* json-glib strings end at a NUL: json_parser cut the string
               * there, so "ping\u0000x" read as "ping". Keep the text
               * whole and distinct instead. */
              if (c == 0)
                c = 0xFFFD;
              p += 6;
            }
          if (out != NULL)
            scratch_append (out, utf8, g_unichar_to_utf8 (c, utf8));
          continue;
        }

      if (*p < 0x20)
        return fail_at (parser, p, CF_JSON_ERROR_SYNTAX,
                        "unescaped control character in string");

      {
        gsize n = utf8_sequence_length (p, end);

        if (n == 0)
          return fail_at (parser, p, CF_JSON_ERROR_ENCODING, "invalid UTF-8");
        if (out != NULL)
          scratch_append (out, (const char *) p, n);
        p += n;
      }
    }
}

typedef struct {
  gboolean is_integer;
  gint64   integer;
  double   real;
} Number;

/* Reads the number at parser->p, as parse_number() takes it. */
static gboolean
read_number (Parser *parser,
             Number *number)
{
  const guchar *start = parser->p;
  const guchar *p = start;
  const guchar *end = parser->end;
  gboolean negative = FALSE;
  gboolean is_integer = TRUE;
  guint64 magnitude = 0;
  gboolean overflow = FALSE;

  if (*p == '-')
    {
      negative = TRUE;
      p++;
    }
  if (p >= end || *p < '0' || *p > '9')
    return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "expected a digit");
  if (*p == '0')
    {
      p++;
      if (p < end && *p >= '0' && *p <= '9')
        return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "leading zero in number");
    }
  else
    {
      while (p < end && *p >= '0' && *p <= '9')
        {
          guint digit = *p - '0';

          if (magnitude > (G_MAXUINT64 - digit) / 10)
            overflow = TRUE;
          else
            magnitude = magnitude * 10 + digit;
          p++;
        }
    }
  if (p < end && *p == '.')
    {
      is_integer = FALSE;
      p++;
      if (p >= end || *p < '0' || *p > '9')
        return fail_at (parser, p, CF_JSON_ERROR_SYNTAX,
                        "expected a digit after the decimal point");
      while (p < end && *p >= '0' && *p <= '9')
        p++;
    }
  if (p < end && (*p == 'e' || *p == 'E'))
    {
      is_integer = FALSE;
      p++;
      if (p < end && (*p == '+' || *p == '-'))
        p++;
      if (p >= end || *p < '0' || *p > '9')
        return fail_at (parser, p, CF_JSON_ERROR_SYNTAX, "expected a digit in the exponent");
      while (p < end && *p >= '0' && *p <= '9')
        p++;
    }

  if (is_integer && !overflow &&
      (negative ? magnitude <= (guint64) G_MAXINT64 + 1 : magnitude <= G_MAXINT64))
    {
      number->is_integer = TRUE;
      number->integer = negative ? (gint64) (0 - magnitude) : (gint64) magnitude;
    }
  else
    {
      /* g_ascii_strtod needs a terminated copy: the text need not end here. */
      gsize len = (gsize) (p - start);
      char stack_buf[64];
      char *buf = len < sizeof stack_buf ? stack_buf : g_malloc (len + 1);
      double value;

      memcpy (buf, start, len);
      buf[len] = '\0';
      value = g_ascii_strtod (buf, NULL);
      if (buf != stack_buf)
        g_free (buf);
      if (value > G_MAXDOUBLE || value < -G_MAXDOUBLE)
        return fail_at (parser, start, CF_JSON_ERROR_SYNTAX, "number out of range");
      number->is_integer = FALSE;
      number->real = value;
    }

  parser->p = p;
  return TRUE;
}

static JsonNode *
parse_number (Parser *parser)
{
  Number number;
  JsonNode *node;

  if (!read_number (parser, &number))
    return NULL;
  node = json_node_alloc ();
  if (number.is_integer)
    json_node_init_int (node, number.integer);
  else
    json_node_init_double (node, number.real);
  return node;
}

static gboolean
parse_literal (Parser     *parser,
               const char *word,
               gsize       len)
{
  if ((gsize) (parser->end - parser->p) < len || memcmp (parser->p, word, len) != 0)
    return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX, "unexpected character");
  parser->p += len;
  return TRUE;
}

static JsonNode *
parse_array (Parser *parser)
{
  JsonArray *array = json_array_new ();
  JsonNode *node;

  parser->p++;
  skip_ws (parser);
  if (parser->p < parser->end && *parser->p == ']')
    {
      parser->p++;
      goto done;
    }

  for (;;)
    {
      JsonNode *element = parse_value (parser);

      if (element == NULL)
        {
          json_array_unref (array);
          return NULL;
        }
      json_array_add_element (array, element);
      skip_ws (parser);
      if (parser->p >= parser->end)
        {
          json_array_unref (array);
          return FAIL (parser, parser->p, "unterminated array");
        }
      if (*parser->p == ',')
        {
          parser->p++;
          continue;
        }
      if (*parser->p == ']')
        {
          parser->p++;
          break;
        }
      json_array_unref (array);
      return FAIL (parser, parser->p, "expected ',' or ']' in array");
    }

done:
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_take_array (node, array);
  return node;
}

static JsonNode *
parse_object (Parser *parser)
{
  JsonObject *object = json_object_new ();
  JsonNode *node;

  parser->p++;
  skip_ws (parser);
  if (parser->p < parser->end && *parser->p == '}')
    {
      parser->p++;
      goto done;
    }

  for (;;)
    {
      gsize key_offset = parser->scratch->len;
      JsonNode *member;

      skip_ws (parser);
      if (parser->p >= parser->end || *parser->p != '"')
        {
          json_object_unref (object);
          return FAIL (parser, parser->p, "expected a string as member name");
        }
      parser->p++;
      if (!parse_string (parser))
        {
          json_object_unref (object);
          return NULL;
        }
      skip_ws (parser);
      if (parser->p >= parser->end || *parser->p != ':')
        {
          json_object_unref (object);
          return FAIL (parser, parser->p, "expected ':' after member name");
        }
      parser->p++;

      member = parse_value (parser);
      if (member == NULL)
        {
          json_object_unref (object);
          return NULL;
        }
      /* A repeated name keeps its first place and takes the last value,
       * as with json_parser. */
      json_object_set_member (object, parser->scratch->str + key_offset, member);
      scratch_truncate (parser->scratch, key_offset);

      skip_ws (parser);
      if (parser->p >= parser->end)
        {
          json_object_unref (object);
          return FAIL (parser, parser->p, "unterminated object");
        }
      if (*parser->p == ',')
        {
          parser->p++;
          continue;
        }
      if (*parser->p == '}')
        {
          parser->p++;
          break;
        }
      json_object_unref (object);
      return FAIL (parser, parser->p, "expected ',' or '}' in object");
    }

done:
  node = json_node_new (JSON_NODE_OBJECT);
  json_node_take_object (node, object);
  return node;
}

static JsonNode *
parse_value (Parser *parser)
{
  JsonNode *node;

  skip_ws (parser);
  if (parser->p >= parser->end)
    return FAIL (parser, parser->p, "unexpected end of data, expected a value");

  switch (*parser->p)
    {
    case '{':
    case '[':
      if (++parser->depth > CF_JSON_MAX_DEPTH)
        {
          fail_at (parser, parser->p, CF_JSON_ERROR_DEPTH, "nesting too deep");
          return NULL;
        }
      node = *parser->p == '{' ? parse_object (parser) : parse_array (parser);
      parser->depth--;
      return node;

    case '"':
      {
        gsize offset = parser->scratch->len;

        parser->p++;
        if (!parse_string (parser))
          return NULL;
        node = json_node_alloc ();
        json_node_init_string (node, parser->scratch->str + offset);
        scratch_truncate (parser->scratch, offset);
        return node;
      }

    case '-':
    case '0' ... '9':
      return parse_number (parser);

    case 't':
      if (!parse_literal (parser, "true", 4))
        return NULL;
      return json_node_init_boolean (json_node_alloc (), TRUE);

    case 'f':
      if (!parse_literal (parser, "false", 5))
        return NULL;
      return json_node_init_boolean (json_node_alloc (), FALSE);

    case 'n':
      if (!parse_literal (parser, "null", 4))
        return NULL;
      return json_node_init_null (json_node_alloc ());

    default:
      return FAIL (parser, parser->p, "unexpected character, expected a value");
    }
}

/**
 * cf_json_parser_parse:
 * @data: the text
 * @length: its length in bytes
 * @out_code: (out): the kind of failure
 * @out_message: (out) (transfer full): a description of the failure
 *
 * Parses exactly one JSON value surrounded by optional whitespace and seals
 * the tree. On failure @out_code is %CF_JSON_ERROR_EMPTY for no value at
 * all, %CF_JSON_ERROR_DEPTH, %CF_JSON_ERROR_ENCODING for bad UTF-8 inside a
 * string, or %CF_JSON_ERROR_SYNTAX; cf_json_parse() decides which error a
 * caller sees.
 *
 * Returns: (transfer full) (nullable): the sealed root node
 */
JsonNode *
cf_json_parser_parse (const char  *data,
                      gsize        length,
                      CfJsonError *out_code,
                      char       **out_message)
{
  Parser parser = { 0 };
  Scratch scratch;
  JsonNode *root;

  parser.start = (const guchar *) data;
  parser.p = parser.start;
  parser.end = parser.start + length;

  scratch_init (&scratch);
  parser.scratch = &scratch;

  if (length >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    parser.p += 3;
  skip_ws (&parser);
  if (parser.p >= parser.end)
    {
      scratch_clear (&scratch);
      *out_code = CF_JSON_ERROR_EMPTY;
      *out_message = g_strdup ("Empty body: expected a JSON value");
      return NULL;
    }

  root = parse_value (&parser);
  if (root != NULL)
    {
      skip_ws (&parser);
      if (parser.p < parser.end)
        {
          fail_at (&parser, parser.p, CF_JSON_ERROR_SYNTAX,
                   "unexpected data after the value");
          json_node_unref (root);
          root = NULL;
        }
    }
  scratch_clear (&scratch);

  if (root == NULL)
    {
      *out_code = parser.code;
      *out_message = g_strdup_printf ("%s at byte %" G_GSIZE_FORMAT,
                                      parser.message, parser.offset);
      return NULL;
    }

  json_node_seal (root);
  return root;
}

/* Scanner: the parser's checks, without a tree */

static gboolean scan_value (Parser *parser);

/* Checks the members or elements of the object or array at parser->p,
 * up to its closing bracket. */
static gboolean
scan_container (Parser *parser)
{
  gboolean object = *parser->p == '{';
  char close = object ? '}' : ']';

  parser->p++;
  skip_ws (parser);
  if (parser->p < parser->end && *parser->p == close)
    {
      parser->p++;
      return TRUE;
    }

  for (;;)
    {
      if (object)
        {
          skip_ws (parser);
          if (parser->p >= parser->end || *parser->p != '"')
            return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX,
                            "expected a string as member name");
          parser->p++;
          if (!parse_string (parser))
            return FALSE;
          skip_ws (parser);
          if (parser->p >= parser->end || *parser->p != ':')
            return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX,
                            "expected ':' after member name");
          parser->p++;
        }
      if (!scan_value (parser))
        return FALSE;
      skip_ws (parser);
      if (parser->p >= parser->end)
        return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX,
                        object ? "unterminated object" : "unterminated array");
      if (*parser->p == ',')
        {
          parser->p++;
          continue;
        }
      if (*parser->p == close)
        {
          parser->p++;
          return TRUE;
        }
      return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX,
                      object ? "expected ',' or '}' in object" : "expected ',' or ']' in array");
    }
}

static gboolean
scan_value (Parser *parser)
{
  Number number;
  gboolean ok;

  skip_ws (parser);
  if (parser->p >= parser->end)
    return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX,
                    "unexpected end of data, expected a value");

  switch (*parser->p)
    {
    case '{':
    case '[':
      if (++parser->depth > CF_JSON_MAX_DEPTH)
        return fail_at (parser, parser->p, CF_JSON_ERROR_DEPTH, "nesting too deep");
      ok = scan_container (parser);
      parser->depth--;
      return ok;
    case '"':
      parser->p++;
      return parse_string (parser);
    case '-':
    case '0' ... '9':
      return read_number (parser, &number);
    case 't':
      return parse_literal (parser, "true", 4);
    case 'f':
      return parse_literal (parser, "false", 5);
    case 'n':
      return parse_literal (parser, "null", 4);
    default:
      return fail_at (parser, parser->p, CF_JSON_ERROR_SYNTAX,
                      "unexpected character, expected a value");
    }
}

/* Reads the members of the one object @data holds, for
 * cf_json_parse_members() and cf_json_scan_object(): @visit takes each
 * member's value from @parser (parsing or scanning it) and returns FALSE
 * to stop. Returns TRUE if the whole text is that object, well formed,
 * and every member was visited. */
typedef gboolean (*MemberVisit) (Parser       *parser,
                                 const guchar *name,
                                 gsize         name_length,
                                 gpointer      user_data);

/* Walks the members of the object at parser->p (its '{') to just past its
 * '}'. */
static gboolean
walk_members (Parser      *parser,
              MemberVisit  visit,
              gpointer     user_data)
{
  parser->p++;
  skip_ws (parser);
  if (parser->p < parser->end && *parser->p == '}')
    {
      parser->p++;
      return TRUE;
    }
  for (;;)
    {
      const guchar *name;
      gsize name_length;

      skip_ws (parser);
      if (parser->p >= parser->end || *parser->p != '"')
        return FALSE;
      name = ++parser->p;
      if (!parse_string (parser))
        return FALSE;
      if (parser->scratch != NULL)
        scratch_truncate (parser->scratch, 0);
      name_length = parser->p - 1 - name;
      skip_ws (parser);
      if (parser->p >= parser->end || *parser->p != ':')
        return FALSE;
      parser->p++;
      skip_ws (parser);
      if (!visit (parser, name, name_length, user_data))
        return FALSE;
      skip_ws (parser);
      if (parser->p < parser->end && *parser->p == ',')
        {
          parser->p++;
          continue;
        }
      if (parser->p < parser->end && *parser->p == '}')
        {
          parser->p++;
          return TRUE;
        }
      return FALSE;
    }
}

static gboolean
walk_object (Parser      *parser,
             const char  *data,
             gsize        length,
             MemberVisit  visit,
             gpointer     user_data)
{
  parser->start = (const guchar *) data;
  parser->p = parser->start;
  parser->end = parser->start + length;

  if (length >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    parser->p += 3;
  skip_ws (parser);
  if (parser->p >= parser->end || *parser->p != '{')
    return FALSE;
  parser->depth = 1;
  if (!walk_members (parser, visit, user_data))
    return FALSE;
  skip_ws (parser);
  return parser->p >= parser->end;
}

/**
 * cf_json_parsed_members_clear:
 * @members: members kept by a reader
 * @n_members: how many
 *
 * Drops the members' values.
 */
void
cf_json_parsed_members_clear (CfJsonParsedMember *members,
                              guint               n_members)
{
  for (guint i = 0; i < n_members; i++)
    g_clear_pointer (&members[i].value, json_node_unref);
}

typedef struct {
  CfJsonMember *members;
  guint         max_members;
  guint         n;
} ScannedMembers;

/* Records a member whose value starts at parser->p: %NULL when there is
 * no room left. */
static CfJsonMember *
add_member (ScannedMembers *scanned,
            Parser         *parser,
            const guchar   *name,
            gsize           name_length)
{
  CfJsonMember *member;

  if (scanned->n == scanned->max_members)
    return NULL;
  member = &scanned->members[scanned->n++];
  member->name = (const char *) name;
  member->name_length = name_length;
  member->name_escaped = memchr (name, '\\', name_length) != NULL;
  member->value = (const char *) parser->p;
  return member;
}

static gboolean
scan_member (Parser       *parser,
             const guchar *name,
             gsize         name_length,
             gpointer      user_data)
{
  CfJsonMember *member = add_member (user_data, parser, name, name_length);

  if (member == NULL || !scan_value (parser))
    return FALSE;
  member->value_length = (const char *) parser->p - member->value;
  return TRUE;
}

/**
 * cf_json_scan_object:
 * @data: the text
 * @length: its length in bytes
 * @members: (out caller-allocates) (array length=max_members): where the
 *   object's members go, in their order
 * @max_members: how many fit in @members
 * @n_members: (out): how many there are
 *
 * Checks, as cf_json_parse() would, that @data is one JSON value, and
 * says where the members of that value, an object, lie in @data: no
 * tree is built and nothing is copied. A relay uses it to pass on what
 * it need not look into as the upstream wrote it.
 *
 * Returns: %TRUE if @data is a well-formed object of at most
 *   @max_members members; %FALSE otherwise (cf_json_parse() says why)
 */
gboolean
cf_json_scan_object (const char   *data,
                     gsize         length,
                     CfJsonMember *members,
                     guint         max_members,
                     guint        *n_members)
{
  Parser parser = { 0 };
  ScannedMembers scanned = { members, max_members, 0 };

  *n_members = 0;
  if (!walk_object (&parser, data, length, scan_member, &scanned))
    return FALSE;
  *n_members = scanned.n;
  return TRUE;
}

typedef struct {
  ScannedMembers  outer;
  const char     *name;
  gsize           name_length;
  ScannedMembers  inner;
  gboolean        found;
} NestedScan;

static gboolean
scan_nested_member (Parser       *parser,
                    const guchar *name,
                    gsize         name_length,
                    gpointer      user_data)
{
  NestedScan *scan = user_data;
  CfJsonMember *member;
  gboolean ok;

  /* At the end of the text (a member without a value) the plain scan
   * says so. */
  if (scan->found || parser->p >= parser->end || *parser->p != '{' ||
      name_length != scan->name_length || memcmp (name, scan->name, name_length) != 0)
    return scan_member (parser, name, name_length, &scan->outer);

  member = add_member (&scan->outer, parser, name, name_length);
  if (member == NULL || ++parser->depth > CF_JSON_MAX_DEPTH)
    return FALSE;
  scan->found = TRUE;
  ok = walk_members (parser, scan_member, &scan->inner);
  parser->depth--;
  if (!ok)
    return FALSE;
  member->value_length = (const char *) parser->p - member->value;
  return TRUE;
}

/**
 * cf_json_scan_object_nested:
 * @data: the text
 * @length: its length in bytes
 * @name: the name of one member, as written (no escapes)
 * @members: (out caller-allocates) (array length=max_members): where the
 *   object's members go, in their order
 * @max_members: how many fit in @members
 * @n_members: (out): how many there are
 * @inner: (out caller-allocates) (array length=max_inner): where the
 *   members of @name's value go
 * @max_inner: how many fit in @inner
 * @n_inner: (out): how many there are: 0 also when no member @name holds
 *   an object (the caller has its value in @members)
 *
 * cf_json_scan_object() for an object and the members of one of its own
 * members, the first @name that holds an object, in one pass: a relay
 * that reads a response's envelope and its result does not scan the
 * result twice.
 *
 * Returns: %TRUE if @data is a well-formed object of at most
 *   @max_members members, and @name's object has at most @max_inner
 */
gboolean
cf_json_scan_object_nested (const char   *data,
                            gsize         length,
                            const char   *name,
                            CfJsonMember *members,
                            guint         max_members,
                            guint        *n_members,
                            CfJsonMember *inner,
                            guint         max_inner,
                            guint        *n_inner)
{
  Parser parser = { 0 };
  NestedScan scan = {
    { members, max_members, 0 }, name, strlen (name), { inner, max_inner, 0 }, FALSE
  };

  *n_members = 0;
  *n_inner = 0;
  if (!walk_object (&parser, data, length, scan_nested_member, &scan))
    return FALSE;
  *n_members = scan.outer.n;
  *n_inner = scan.inner.n;
  return TRUE;
}

/* Serializer */

/* 0: copy; 1: escape as \u00xx; other: the letter after the backslash. */
static const char escape_table[256] = {
  [0x00 ... 0x07] = 1,
  ['\b'] = 'b',
  ['\t'] = 't',
  ['\n'] = 'n',
  [0x0B] = 1,
  ['\f'] = 'f',
  ['\r'] = 'r',
  [0x0E ... 0x1F] = 1,
  ['"'] = '"',
  ['\\'] = '\\',
  [0x7F] = 1,
};

/**
 * cf_json_writer_append_string:
 *
 * Appends @str as a JSON string, quoted and escaped.
 */
void
cf_json_writer_append_string (GString    *out,
                              const char *str)
{
  const guchar *p = (const guchar *) str;

  buf_append_c (out, '"');
  for (;;)
    {
      const guchar *run = p;

      while (*p != '\0' && escape_table[*p] == 0)
        p++;
      if (p > run)
        buf_append (out, (const char *) run, p - run);
      if (*p == '\0')
        break;
      if (escape_table[*p] == 1)
        {
          static const char hex[] = "0123456789abcdef";
          char buf[6] = { '\\', 'u', '0', '0', hex[*p >> 4], hex[*p & 0xF] };

          buf_append (out, buf, 6);
        }
      else
        {
          char buf[2] = { '\\', escape_table[*p] };

          buf_append (out, buf, 2);
        }
      p++;
    }
  buf_append_c (out, '"');
}

static void
append_int (GString *out,
            gint64   value)
{
  char buf[CF_JSON_INT_SIZE];

  buf_append (out, buf, cf_json_format_int (buf, value));
}

/**
 * cf_json_format_int:
 * @buf: (out caller-allocates): at least %CF_JSON_INT_SIZE bytes
 * @value: an integer
 *
 * Writes @value's decimal digits (and sign) to @buf, as a JSON integer is
 * written (the form of an HTTP status code and length too), not
 * terminated: printf's machinery costs far more on a hot path.
 *
 * Returns: how many bytes were written
 */
gsize
cf_json_format_int (char   *buf,
                    gint64  value)
{
  char digits[CF_JSON_INT_SIZE];
  char *q = digits + sizeof digits;
  guint64 magnitude = value < 0 ? 0 - (guint64) value : (guint64) value;
  gsize length;

  do
    {
      *--q = (char) ('0' + magnitude % 10);
      magnitude /= 10;
    }
  while (magnitude != 0);
  if (value < 0)
    *--q = '-';
  length = digits + sizeof digits - q;
  memcpy (buf, q, length);
  return length;
}

static void
append_double (GString *out,
               double   value)
{
  char buf[G_ASCII_DTOSTR_BUF_SIZE];

  if (!isfinite (value))
    {
      buf_append (out, "null", 4);
      return;
    }
  g_ascii_dtostr (buf, sizeof buf, value);
  buf_append (out, buf, strlen (buf));
  /* json_generator keeps doubles recognisable by adding ".0" to a plain
   * integer form; an exponent already makes one. */
  if (strpbrk (buf, ".e") == NULL)
    buf_append (out, ".0", 2);
}

/**
 * cf_json_writer_append:
 * @out: the buffer
 * @node: a node
 *
 * Appends @node as compact JSON, as json_generator prints it (see the top
 * of this file for the exceptions).
 */
void
cf_json_writer_append (GString  *out,
                       JsonNode *node)
{
  if (node == NULL)
    {
      buf_append (out, "null", 4);
      return;
    }

  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_OBJECT:
      {
        JsonObject *object = json_node_get_object (node);
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;
        gboolean first = TRUE;

        if (object == NULL)
          {
            buf_append (out, "null", 4);
            return;
          }
        buf_append_c (out, '{');
        json_object_iter_init_ordered (&iter, object);
        while (json_object_iter_next_ordered (&iter, &name, &member))
          {
            if (!first)
              buf_append_c (out, ',');
            first = FALSE;
            cf_json_writer_append_string (out, name);
            buf_append_c (out, ':');
            cf_json_writer_append (out, member);
          }
        buf_append_c (out, '}');
        return;
      }

    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);
        guint length;

        if (array == NULL)
          {
            buf_append (out, "null", 4);
            return;
          }
        length = json_array_get_length (array);
        buf_append_c (out, '[');
        for (guint i = 0; i < length; i++)
          {
            if (i > 0)
              buf_append_c (out, ',');
            cf_json_writer_append (out, json_array_get_element (array, i));
          }
        buf_append_c (out, ']');
        return;
      }

    case JSON_NODE_NULL:
      buf_append (out, "null", 4);
      return;

    case JSON_NODE_VALUE:
    default:
      break;
    }

  switch (json_node_get_value_type (node))
    {
    case G_TYPE_INT64:
      append_int (out, json_node_get_int (node));
      break;
    case G_TYPE_DOUBLE:
      append_double (out, json_node_get_double (node));
      break;
    case G_TYPE_BOOLEAN:
      if (json_node_get_boolean (node))
        buf_append (out, "true", 4);
      else
        buf_append (out, "false", 5);
      break;
    case G_TYPE_STRING:
      {
        const char *str = json_node_get_string (node);

        if (str == NULL)
          buf_append (out, "null", 4);
        else
          cf_json_writer_append_string (out, str);
        break;
      }
    default:
      /* An uninitialised value: json_generator crashes on it. */
      buf_append (out, "null", 4);
      break;
    }
}
