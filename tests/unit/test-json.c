/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include <math.h>
#include <string.h>

#include "cf-json.h"
#include "cf-jsonrpc.h"

/* The oracle: cf_json_parse as it was before the hand-written parser,
 * json_parser behind a UTF-8 check and a nesting/trailing-data scan. */
static gboolean
oracle_check_depth (const char  *data,
                    gsize        length,
                    CfJsonError *code)
{
  guint depth = 0;
  gboolean in_string = FALSE, seen_value = FALSE, closed = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      if (closed && c != ' ' && c != '\t' && c != '\r' && c != '\n')
        {
          *code = CF_JSON_ERROR_SYNTAX;
          return FALSE;
        }
      if (in_string)
        {
          if (c == '\\')
            i++;
          else if (c == '"')
            in_string = FALSE;
          continue;
        }
      switch (c)
        {
        case '"':
          in_string = seen_value = TRUE;
          break;
        case '[':
        case '{':
          seen_value = TRUE;
          if (++depth > CF_JSON_MAX_DEPTH)
            {
              *code = CF_JSON_ERROR_DEPTH;
              return FALSE;
            }
          break;
        case ']':
        case '}':
          if (depth > 0 && --depth == 0)
            closed = TRUE;
          break;
        case ' ': case '\t': case '\r': case '\n':
          break;
        default:
          seen_value = TRUE;
        }
    }
  if (!seen_value)
    {
      *code = CF_JSON_ERROR_EMPTY;
      return FALSE;
    }
  return TRUE;
}

static JsonNode *
oracle_parse (const char  *data,
              gsize        length,
              CfJsonError *code)
{
  g_autoptr(JsonParser) parser = NULL;

  if (!g_utf8_validate_len (data, length, NULL))
    {
      *code = CF_JSON_ERROR_ENCODING;
      return NULL;
    }
  if (!oracle_check_depth (data, length, code))
    return NULL;
  parser = json_parser_new_immutable ();
  if (!json_parser_load_from_data (parser, data, length, NULL))
    {
      *code = CF_JSON_ERROR_SYNTAX;
      return NULL;
    }
  if (json_parser_get_root (parser) == NULL)
    {
      *code = CF_JSON_ERROR_EMPTY;
      return NULL;
    }
  return json_parser_steal_root (parser);
}

static char *
oracle_to_string (JsonNode *node)
{
  g_autoptr(JsonGenerator) generator = json_generator_new ();

  json_generator_set_root (generator, node);
  return json_generator_to_data (generator, NULL);
}

/* An independent strict RFC 8259 recognizer, with this project's extra
 * rules: no lone surrogates, numbers within double range,
 * at most CF_JSON_MAX_DEPTH levels, an optional leading BOM. */
typedef struct {
  const guchar *p, *end;
  guint depth;
} Recognizer;

static gboolean rec_value (Recognizer *r);

static void
rec_ws (Recognizer *r)
{
  while (r->p < r->end && strchr (" \t\r\n", *r->p) != NULL && *r->p != '\0')
    r->p++;
}

static int
rec_hex4 (Recognizer *r)
{
  char buf[5] = { 0 };
  char *endp = NULL;

  if (r->end - r->p < 4)
    return -1;
  memcpy (buf, r->p, 4);
  for (int i = 0; i < 4; i++)
    if (!g_ascii_isxdigit (buf[i]))
      return -1;
  r->p += 4;
  return (int) strtol (buf, &endp, 16);
}

static gboolean
rec_string (Recognizer *r)
{
  const guchar *run;

  if (r->p >= r->end || *r->p != '"')
    return FALSE;
  r->p++;
  run = r->p;
  while (r->p < r->end)
    {
      guchar c = *r->p;

      if (c == '"')
        {
          if (!g_utf8_validate_len ((const char *) run, r->p - run, NULL))
            return FALSE;
          r->p++;
          return TRUE;
        }
      if (c < 0x20)
        return FALSE;
      if (c == '\\')
        {
          int u;

          r->p++;
          if (r->p >= r->end)
            return FALSE;
          c = *r->p++;
          if (strchr ("\"\\/bfnrt", c) != NULL && c != '\0')
            continue;
          if (c != 'u' || (u = rec_hex4 (r)) < 0 || (u >= 0xDC00 && u <= 0xDFFF))
            return FALSE;
          if (u >= 0xD800 && u <= 0xDBFF)
            {
              int low;

              if (r->end - r->p < 2 || r->p[0] != '\\' || r->p[1] != 'u')
                return FALSE;
              r->p += 2;
              low = rec_hex4 (r);
              if (low < 0xDC00 || low > 0xDFFF)
                return FALSE;
            }
          continue;
        }
      r->p++;
    }
  return FALSE;
}

static gboolean
rec_number (Recognizer *r)
{
  const guchar *start = r->p;
  g_autofree char *text = NULL;

  if (r->p < r->end && *r->p == '-')
    r->p++;
  if (r->p >= r->end || !g_ascii_isdigit (*r->p))
    return FALSE;
  if (*r->p == '0')
    r->p++;
  else
    while (r->p < r->end && g_ascii_isdigit (*r->p))
      r->p++;
  if (r->p < r->end && *r->p == '.')
    {
      r->p++;
      if (r->p >= r->end || !g_ascii_isdigit (*r->p))
        return FALSE;
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        r->p++;
    }
  if (r->p < r->end && (*r->p == 'e' || *r->p == 'E'))
    {
      r->p++;
      if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
        r->p++;
      if (r->p >= r->end || !g_ascii_isdigit (*r->p))
        return FALSE;
      while (r->p < r->end && g_ascii_isdigit (*r->p))
        r->p++;
    }
  text = g_strndup ((const char *) start, r->p - start);
  return isfinite (g_ascii_strtod (text, NULL));
}

static gboolean
rec_word (Recognizer *r,
          const char *word)
{
  gsize len = strlen (word);

  if ((gsize) (r->end - r->p) < len || memcmp (r->p, word, len) != 0)
    return FALSE;
  r->p += len;
  return TRUE;
}

static gboolean
rec_value (Recognizer *r)
{
  gboolean ok = TRUE;
  gboolean object;

  rec_ws (r);
  if (r->p >= r->end)
    return FALSE;
  switch (*r->p)
    {
    case '"': return rec_string (r);
    case 't': return rec_word (r, "true");
    case 'f': return rec_word (r, "false");
    case 'n': return rec_word (r, "null");
    case '[': case '{': break;
    default: return rec_number (r);
    }
  object = *r->p == '{';
  if (++r->depth > CF_JSON_MAX_DEPTH)
    return FALSE;
  r->p++;
  rec_ws (r);
  if (r->p < r->end && *r->p == (object ? '}' : ']'))
    {
      r->p++;
      r->depth--;
      return TRUE;
    }
  for (;;)
    {
      if (object)
        {
          rec_ws (r);
          if (!rec_string (r))
            return FALSE;
          rec_ws (r);
          if (r->p >= r->end || *r->p++ != ':')
            return FALSE;
        }
      if (!rec_value (r))
        return FALSE;
      rec_ws (r);
      if (r->p >= r->end)
        return FALSE;
      if (*r->p == ',')
        {
          r->p++;
          continue;
        }
      ok = *r->p++ == (object ? '}' : ']');
      break;
    }
  r->depth--;
  return ok;
}

static gboolean
strict_accepts (const char *data,
                gsize       length)
{
  Recognizer r = { (const guchar *) data, (const guchar *) data + length, 0 };

  if (length >= 3 && memcmp (data, "\xEF\xBB\xBF", 3) == 0)
    r.p += 3;
  if (!rec_value (&r))
    return FALSE;
  rec_ws (&r);
  return r.p == r.end;
}

/* Tree comparison: types, values (doubles bit for bit), member order,
 * sealing (with CHECK_SEALED). ALLOW_WRAPPED: json-glib wraps integers beyond gint64 where
 * the new parser gives a double. */
enum {
  ALLOW_WRAPPED = 1 << 0,
  CHECK_SEALED = 1 << 1,
};

static gboolean
nodes_equal (JsonNode *expected,
             JsonNode *actual,
             guint     flags,
             GString  *why)
{
  if (JSON_NODE_TYPE (expected) != JSON_NODE_TYPE (actual))
    {
      g_string_append_printf (why, "node types %s and %s differ",
                              json_node_type_name (expected), json_node_type_name (actual));
      return FALSE;
    }
  if ((flags & CHECK_SEALED) &&
      json_node_is_immutable (expected) != json_node_is_immutable (actual))
    {
      g_string_append (why, "sealing differs");
      return FALSE;
    }

  switch (JSON_NODE_TYPE (expected))
    {
    case JSON_NODE_NULL:
      return TRUE;

    case JSON_NODE_ARRAY:
      {
        JsonArray *a = json_node_get_array (expected);
        JsonArray *b = json_node_get_array (actual);

        if (json_array_get_length (a) != json_array_get_length (b))
          {
            g_string_append (why, "array lengths differ");
            return FALSE;
          }
        for (guint i = 0; i < json_array_get_length (a); i++)
          if (!nodes_equal (json_array_get_element (a, i), json_array_get_element (b, i),
                            flags, why))
            {
              g_string_append_printf (why, " in element %u", i);
              return FALSE;
            }
        return TRUE;
      }

    case JSON_NODE_OBJECT:
      {
        JsonObjectIter ia, ib;
        const char *na, *nb;
        JsonNode *ma, *mb;

        if (json_object_get_size (json_node_get_object (expected)) !=
            json_object_get_size (json_node_get_object (actual)))
          {
            g_string_append (why, "object sizes differ");
            return FALSE;
          }
        json_object_iter_init_ordered (&ia, json_node_get_object (expected));
        json_object_iter_init_ordered (&ib, json_node_get_object (actual));
        while (json_object_iter_next_ordered (&ia, &na, &ma))
          {
            g_assert_true (json_object_iter_next_ordered (&ib, &nb, &mb));
            if (strcmp (na, nb) != 0)
              {
                g_string_append_printf (why, "member \"%s\" where \"%s\" was expected", nb, na);
                return FALSE;
              }
            if (!nodes_equal (ma, mb, flags, why))
              {
                g_string_append_printf (why, " in member \"%s\"", na);
                return FALSE;
              }
          }
        return TRUE;
      }

    case JSON_NODE_VALUE:
    default:
      break;
    }

  if (json_node_get_value_type (expected) != json_node_get_value_type (actual))
    {
      if ((flags & ALLOW_WRAPPED) && json_node_get_value_type (expected) == G_TYPE_INT64 &&
          json_node_get_value_type (actual) == G_TYPE_DOUBLE &&
          fabs (json_node_get_double (actual)) >= 9223372036854775807.0)
        return TRUE;
      g_string_append_printf (why, "value types %s and %s differ",
                              g_type_name (json_node_get_value_type (expected)),
                              g_type_name (json_node_get_value_type (actual)));
      return FALSE;
    }
  switch (json_node_get_value_type (expected))
    {
    case G_TYPE_INT64:
      if (json_node_get_int (expected) == json_node_get_int (actual))
        return TRUE;
      break;
    case G_TYPE_DOUBLE:
      {
        double a = json_node_get_double (expected), b = json_node_get_double (actual);

        if (memcmp (&a, &b, sizeof a) == 0)
          return TRUE;
        break;
      }
    case G_TYPE_BOOLEAN:
      if (json_node_get_boolean (expected) == json_node_get_boolean (actual))
        return TRUE;
      break;
    case G_TYPE_STRING:
      if (g_strcmp0 (json_node_get_string (expected), json_node_get_string (actual)) == 0)
        return TRUE;
      break;
    default:
      g_assert_not_reached ();
    }
  g_string_append (why, "values differ");
  return FALSE;
}

/* Where json_generator's output is not JSON, cf_json_to_string differs on
 * purpose: doubles printed with an exponent or not finite, and U+001F. */
static gboolean
has_generator_quirk (JsonNode *node)
{
  switch (JSON_NODE_TYPE (node))
    {
    case JSON_NODE_ARRAY:
      {
        JsonArray *array = json_node_get_array (node);

        for (guint i = 0; i < json_array_get_length (array); i++)
          if (has_generator_quirk (json_array_get_element (array, i)))
            return TRUE;
        return FALSE;
      }
    case JSON_NODE_OBJECT:
      {
        JsonObjectIter iter;
        const char *name;
        JsonNode *member;

        json_object_iter_init_ordered (&iter, json_node_get_object (node));
        while (json_object_iter_next_ordered (&iter, &name, &member))
          if (strchr (name, 0x1f) != NULL || has_generator_quirk (member))
            return TRUE;
        return FALSE;
      }
    case JSON_NODE_VALUE:
      if (json_node_get_value_type (node) == G_TYPE_STRING)
        return strchr (json_node_get_string (node), 0x1f) != NULL;
      if (json_node_get_value_type (node) == G_TYPE_DOUBLE)
        {
          char buf[G_ASCII_DTOSTR_BUF_SIZE];
          double value = json_node_get_double (node);

          return !isfinite (value) ||
                 strchr (g_ascii_dtostr (buf, sizeof buf, value), 'e') != NULL;
        }
      return FALSE;
    case JSON_NODE_NULL:
    default:
      return FALSE;
    }
}

/* The serializer against json_generator, and its output read back. */
static void
check_serializer (JsonNode *node)
{
  g_autofree char *mine = NULL;
  g_autofree char *theirs = oracle_to_string (node);
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) why = g_string_new (NULL);
  gsize length = 0;

  mine = cf_json_to_string (node, &length);
  g_assert_cmpuint (length, ==, strlen (mine));
  if (!has_generator_quirk (node))
    g_assert_cmpstr (mine, ==, theirs);

  again = cf_json_parse (mine, length, &error);
  g_assert_no_error (error);
  if (!nodes_equal (node, again, 0, why))
    g_error ("serialised %.300s read back differently: %s", mine, why->str);
}

typedef struct {
  guint inputs;
  guint accepted;
  guint rejected_by_both;
  guint stricter;
} DiffStats;

/* Parses @data with both, and checks that they agree: the new parser
 * accepts exactly what the strict recognizer accepts, builds json-glib's
 * tree for it, and fails with json-glib's error code, except where
 * json-glib was lenient (the recognizer says no). */
/* The scanner agrees with the parser: it accepts exactly the objects
 * the parser accepts, and each member it finds reads, on its own, as
 * the tree's member of that name. */
#define SCAN_ROOM 4096

static void
assert_same_members (const CfJsonMember *a,
                     const CfJsonMember *b,
                     guint               n)
{
  for (guint i = 0; i < n; i++)
    {
      g_assert_true (a[i].name == b[i].name);
      g_assert_cmpuint (a[i].name_length, ==, b[i].name_length);
      g_assert_true (a[i].name_escaped == b[i].name_escaped);
      g_assert_true (a[i].value == b[i].value);
      g_assert_cmpuint (a[i].value_length, ==, b[i].value_length);
    }
}

/* The nested scan agrees with two plain ones: the same members, and the
 * members of the first object-valued member as a scan of its value finds
 * them. */
static void
check_scan_nested (const char         *data,
                   gsize               length,
                   gboolean            scanned,
                   const CfJsonMember *members,
                   guint               n)
{
  g_autofree CfJsonMember *outer = g_new (CfJsonMember, SCAN_ROOM);
  g_autofree CfJsonMember *inner = g_new (CfJsonMember, SCAN_ROOM);
  g_autofree CfJsonMember *plain = g_new (CfJsonMember, SCAN_ROOM);
  g_autofree char *name = NULL;
  const CfJsonMember *nested = NULL;
  guint n_outer = G_MAXUINT, n_inner = G_MAXUINT, n_plain = 0;

  for (guint i = 0; scanned && i < n && nested == NULL; i++)
    if (!members[i].name_escaped && members[i].value[0] == '{')
      nested = &members[i];
  name = nested ? g_strndup (nested->name, nested->name_length) : g_strdup ("a");
  if (cf_json_scan_object_nested (data, length, name, outer, SCAN_ROOM, &n_outer, inner,
                                  SCAN_ROOM, &n_inner) != scanned)
    g_error ("the nested scan disagrees with the scan on %.*s", (int) MIN (length, 200), data);
  if (!scanned)
    {
      g_assert_cmpuint (n_outer, ==, 0);
      g_assert_cmpuint (n_inner, ==, 0);
      return;
    }
  g_assert_cmpuint (n_outer, ==, n);
  assert_same_members (outer, members, n);
  if (nested == NULL)
    {
      for (guint i = 0; i < n; i++)
        g_assert_false (cf_json_member_is (&members[i], "a") && members[i].value[0] == '{');
      g_assert_cmpuint (n_inner, ==, 0);
      return;
    }
  g_assert_true (cf_json_scan_object (nested->value, nested->value_length, plain, SCAN_ROOM,
                                      &n_plain));
  g_assert_cmpuint (n_inner, ==, n_plain);
  assert_same_members (inner, plain, n_inner);
}

static void
check_scan (const char *data,
            gsize       length,
            JsonNode   *tree)
{
  g_autofree CfJsonMember *members = g_new (CfJsonMember, SCAN_ROOM);
  guint n = G_MAXUINT;
  gboolean scanned = cf_json_scan_object (data, length, members, SCAN_ROOM, &n);
  JsonObject *object = tree != NULL && JSON_NODE_HOLDS_OBJECT (tree)
                       ? json_node_get_object (tree) : NULL;

  if (scanned != (object != NULL))
    g_error ("the scanner %s what the parser %s: %.*s", scanned ? "accepts" : "refuses",
             object != NULL ? "reads as an object" : "refuses or reads otherwise",
             (int) MIN (length, 200), data);
  check_scan_nested (data, length, scanned, members, n);
  if (!scanned)
    {
      g_assert_cmpuint (n, ==, 0);
      return;
    }

  g_assert_cmpuint (n, >=, json_object_get_size (object));
  for (guint i = 0; i < n; i++)
    {
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) value = cf_json_parse (members[i].value, members[i].value_length,
                                                 &error);
      g_autofree char *name = NULL;
      g_autoptr(GString) why = g_string_new (NULL);
      gboolean later = FALSE;

      g_assert_no_error (error);
      if (members[i].name_escaped)
        continue;
      name = g_strndup (members[i].name, members[i].name_length);
      g_assert_true (cf_json_member_is (&members[i], name));
      /* A repeated name takes its last value */
      for (guint j = i + 1; j < n; j++)
        later |= cf_json_member_is (&members[j], name);
      if (!later && !nodes_equal (json_object_get_member (object, name), value, 0, why))
        g_error ("member %s scanned differs for %.*s: %s", name, (int) MIN (length, 200), data,
                 why->str);
    }
}

/* No more members than there is room for; names with escapes are
 * marked, so that no one compares them as written. */
static gboolean
scan_text (const char   *text,
           CfJsonMember *members,
           guint         room,
           guint        *n)
{
  return cf_json_scan_object (text, strlen (text), members, room, n);
}

static void
test_scan_object (void)
{
  CfJsonMember members[2];
  guint n = 7;

  g_assert_true (scan_text (" {\"a\" : [1, {\"x\":\"}\"}] ,\"b\":null}\n", members, 2, &n));
  g_assert_cmpuint (n, ==, 2);
  g_assert_true (cf_json_member_is (&members[0], "a"));
  g_assert_false (cf_json_member_is (&members[0], "ab"));
  g_assert_false (cf_json_member_is (&members[0], ""));
  g_assert_cmpmem (members[0].value, members[0].value_length, "[1, {\"x\":\"}\"}]", 14);
  g_assert_cmpmem (members[1].value, members[1].value_length, "null", 4);
  g_assert_false (scan_text ("{\"a\":1,\"b\":2,\"c\":3}", members, 2, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (scan_text ("{}", members, 0, &n));
  g_assert_cmpuint (n, ==, 0);
  g_assert_true (scan_text ("{\"\\u0061\":1}", members, 2, &n));
  g_assert_true (members[0].name_escaped);
  g_assert_false (cf_json_member_is (&members[0], "a"));
  g_assert_false (scan_text ("[1]", members, 2, &n));
  g_assert_false (scan_text ("{\"a\":1} x", members, 2, &n));
  g_assert_false (scan_text ("{\"a\":1e999}", members, 2, &n));
  g_assert_false (scan_text ("{\"a\":\"\\ud800\"}", members, 2, &n));
  {
    static const char *refused[] = {
      "", "  ", "\"x\"", "{", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":[1,}", "{\"a\":\"\xff\"}",
    };

    for (guint i = 0; i < G_N_ELEMENTS (refused); i++)
      {
        g_test_message ("%s", refused[i]);
        g_assert_false (scan_text (refused[i], members, 2, &n));
        g_assert_cmpuint (n, ==, 0);
      }
  }

  /* Each member's value read on its own, a plain string without the
   * parser: the same node as the parser makes, sealed. */
  {
    static const char *values[] = {
      "\"plain\"", "\"\"", "\"\\u00e9\\n\"", "\"\xc3\xa9t\xc3\xa9\"", "12.5", "[1,{}]", "null",
      "{\"x\":\"y\"}", "true", "0", "-0", "-12", "123456789012345678", "1234567890123456789",
      "-9223372036854775808", "1e3", "-1.5",
    };

    for (guint i = 0; i < G_N_ELEMENTS (values); i++)
      {
        g_autofree char *text = g_strdup_printf ("{\"v\":%s}", values[i]);
        g_autoptr(JsonNode) read = NULL;
        g_autoptr(JsonNode) parsed = cf_json_parse (values[i], -1, NULL);

        g_assert_true (scan_text (text, members, 2, &n));
        read = cf_json_member_parse (&members[0]);
        g_assert_nonnull (read);
        g_assert_true (json_node_is_immutable (read));
        g_assert_true (json_node_equal (read, parsed));
      }
  }
}

/* Strings and names longer than the parser's stack buffer, escapes
 * across the point where it moves to the heap, in a tree and as members. */
static void
test_long_strings (void)
{
  g_autoptr(GString) value = g_string_new (NULL);
  g_autoptr(GString) text = g_string_new ("{\"");
  g_autoptr(GString) name = g_string_new (NULL);
  g_autoptr(JsonNode) tree = NULL;
  g_autoptr(GError) error = NULL;
  CfJsonMember members[2];
  g_autoptr(JsonNode) first = NULL;
  guint n = 0;

  for (guint i = 0; i < 300; i++)
    g_string_append_c (name, 'a' + i % 26);
  for (guint i = 0; i < 5000; i++)
    g_string_append (value, i % 7 == 0 ? "\xc3\xa9" : "x");
  g_string_append (text, name->str);
  g_string_append (text, "\":\"");
  for (guint i = 0; i < 5000; i++)
    g_string_append (text, i % 7 == 0 ? "\\u00e9" : "x");
  g_string_append (text, "\",\"b\":[\"");
  g_string_append (text, value->str);
  g_string_append (text, "\"]}");

  tree = cf_json_parse (text->str, text->len, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (json_object_get_string_member (json_node_get_object (tree), name->str), ==,
                   value->str);
  g_assert_cmpstr (json_array_get_string_element (
                       json_object_get_array_member (json_node_get_object (tree), "b"), 0), ==,
                   value->str);
  g_assert_true (cf_json_scan_object (text->str, text->len, members, 2, &n));
  g_assert_cmpuint (n, ==, 2);
  first = cf_json_member_parse (&members[0]);
  g_assert_cmpstr (json_node_get_string (first), ==, value->str);
}

static void
test_scan_object_nested (void)
{
  CfJsonMember members[3], inner[2];
  guint n = 7, n_inner = 7;
  const char *text = "{\"jsonrpc\":\"2.0\",\"result\" : { \"a\":{\"b\":[1]},\"c\":\"}\"} ,\"id\":1}";

  g_assert_true (cf_json_scan_object_nested (text, strlen (text), "result", members, 3, &n,
                                             inner, 2, &n_inner));
  g_assert_cmpuint (n, ==, 3);
  g_assert_cmpuint (n_inner, ==, 2);
  g_assert_cmpmem (members[1].value, members[1].value_length,
                   "{ \"a\":{\"b\":[1]},\"c\":\"}\"}", 24);
  g_assert_true (cf_json_member_is (&inner[0], "a"));
  g_assert_cmpmem (inner[0].value, inner[0].value_length, "{\"b\":[1]}", 9);
  g_assert_cmpmem (inner[1].value, inner[1].value_length, "\"}\"", 3);
  g_assert_cmpmem (members[2].value, members[2].value_length, "1", 1);

  /* Too many members inside, or outside */
  g_assert_false (cf_json_scan_object_nested (text, strlen (text), "result", members, 3, &n,
                                              inner, 1, &n_inner));
  g_assert_cmpuint (n_inner, ==, 0);
  g_assert_false (cf_json_scan_object_nested (text, strlen (text), "result", members, 2, &n,
                                              inner, 2, &n_inner));
  /* No such member, one that is not an object, one written with an
   * escape: no inner members, the rest as a scan */
  g_assert_true (cf_json_scan_object_nested (text, strlen (text), "error", members, 3, &n,
                                             inner, 2, &n_inner));
  g_assert_cmpuint (n_inner, ==, 0);
  g_assert_true (cf_json_scan_object_nested (text, strlen (text), "id", members, 3, &n,
                                             inner, 2, &n_inner));
  g_assert_cmpuint (n_inner, ==, 0);
  text = "{\"r\\u0065sult\":{\"a\":1},\"result\":{\"b\":2},\"result\":{}}";
  g_assert_true (cf_json_scan_object_nested (text, strlen (text), "result", members, 3, &n,
                                             inner, 2, &n_inner));
  g_assert_cmpuint (n_inner, ==, 1);
  g_assert_true (cf_json_member_is (&inner[0], "b"));
  /* Cut short anywhere, in a buffer of exactly that size (the sanitizer
   * sees a read past it): refused. */
  {
    static const char whole[] = "{\"jsonrpc\":\"2.0\",\"result\":{\"a\":{\"b\":1}},\"id\":1}";

    for (gsize cut = 0; cut < sizeof whole - 1; cut++)
      {
        g_autofree char *part = g_memdup2 (whole, MAX (cut, 1));

        g_assert_false (cf_json_scan_object_nested (part, cut, "result", members, 3, &n,
                                                    inner, 2, &n_inner));
        g_assert_false (cf_json_scan_object (part, cut, members, 3, &n));
      }
  }
  /* Broken inside the nested object, or after it */
  text = "{\"result\":{\"a\":tru}}";
  g_assert_false (cf_json_scan_object_nested (text, strlen (text), "result", members, 3, &n,
                                              inner, 2, &n_inner));
  text = "{\"result\":{\"a\":1}";
  g_assert_false (cf_json_scan_object_nested (text, strlen (text), "result", members, 3, &n,
                                              inner, 2, &n_inner));
  g_assert_cmpuint (n, ==, 0);
}

static void
differential (const char *data,
              gsize       length,
              DiffStats  *stats)
{
  g_autoptr(JsonNode) mine = NULL;
  g_autoptr(JsonNode) theirs = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(GString) why = g_string_new (NULL);
  CfJsonError oracle_code = CF_JSON_ERROR_SYNTAX;
  gboolean strict = strict_accepts (data, length);

  stats->inputs++;
  mine = cf_json_parse (data, length, &error);
  theirs = oracle_parse (data, length, &oracle_code);
  check_scan (data, length, mine);

  if (strict != (mine != NULL))
    g_error ("the parser %s what a strict reading %s: %.*s (%s)",
             mine != NULL ? "accepts" : "refuses", strict ? "accepts" : "refuses",
             (int) MIN (length, 200), data, error != NULL ? error->message : "");

  if (mine != NULL)
    {
      stats->accepted++;
      if (theirs == NULL)
        g_error ("json-glib refuses what the parser accepts: %.*s",
                 (int) MIN (length, 200), data);
      /* json-glib cuts strings at "\u0000", where the parser puts U+FFFD */
      if (g_strstr_len (data, length, "\\u0000") == NULL &&
          !nodes_equal (theirs, mine, ALLOW_WRAPPED | CHECK_SEALED, why))
        g_error ("trees differ for %.*s: %s", (int) MIN (length, 200), data, why->str);
      check_serializer (mine);
      return;
    }

  g_assert_nonnull (error);
  g_assert_true (error->domain == CF_JSON_ERROR);
  if (theirs == NULL)
    {
      stats->rejected_by_both++;
      /* json-glib found no value in a comment-only text. */
      if (oracle_code == CF_JSON_ERROR_EMPTY && error->code == CF_JSON_ERROR_SYNTAX)
        return;
      if ((int) oracle_code != error->code)
        g_error ("error code %d where json-glib gave %d for %.*s (%s)", error->code,
                 oracle_code, (int) MIN (length, 200), data, error->message);
    }
  else
    {
      stats->stricter++;
      g_assert_cmpint (error->code, ==, CF_JSON_ERROR_SYNTAX);
    }
}

/* -- table tests -- */

typedef struct {
  const char *input;
  const char *output;     /* cf_json_to_string of the result */
  GType       value_type; /* for a scalar root; 0 otherwise */
} ValidCase;

static const ValidCase valid_cases[] = {
  { "1", "1", G_TYPE_INT64 },
  { " \t\r\n1\n", "1", G_TYPE_INT64 },
  { "-0", "0", G_TYPE_INT64 },
  { "-0.0", "-0.0", G_TYPE_DOUBLE },
  { "0", "0", G_TYPE_INT64 },
  { "1.5e3", "1500.0", G_TYPE_DOUBLE },
  { "1E2", "100.0", G_TYPE_DOUBLE },
  { "1e-400", "0.0", G_TYPE_DOUBLE },
  { "0.1e-2", "0.001", G_TYPE_DOUBLE },
  { "12.50", "12.5", G_TYPE_DOUBLE },
  { "1e21", "1e+21", G_TYPE_DOUBLE },
  { "0.1", "0.10000000000000001", G_TYPE_DOUBLE },
  { "9223372036854775807", "9223372036854775807", G_TYPE_INT64 },
  { "-9223372036854775808", "-9223372036854775808", G_TYPE_INT64 },
  { "9223372036854775808", "9.2233720368547758e+18", G_TYPE_DOUBLE },
  { "-9223372036854775809", "-9.2233720368547758e+18", G_TYPE_DOUBLE },
  { "123456789012345678901234567890", "1.2345678901234568e+29", G_TYPE_DOUBLE },
  { "true", "true", G_TYPE_BOOLEAN },
  { "false", "false", G_TYPE_BOOLEAN },
  { "null", "null", 0 },
  { "\"\"", "\"\"", G_TYPE_STRING },
  { "\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"", "\"\\\"\\\\/\\b\\f\\n\\r\\t\"", G_TYPE_STRING },
  { "\"\\u00e9\\u20AC\"", "\"\xc3\xa9\xe2\x82\xac\"", G_TYPE_STRING },
  { "\"\\ud83d\\ude00\"", "\"\xf0\x9f\x98\x80\"", G_TYPE_STRING },
  /* json-glib cut the string at "\u0000"; it becomes U+FFFD */
  { "\"a\\u0000b\"", "\"a\xef\xbf\xbd" "b\"", G_TYPE_STRING },
  { "\"\\u0001\\u001b\\u007f\\u001f\"", "\"\\u0001\\u001b\\u007f\\u001f\"", G_TYPE_STRING },
  { "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"", G_TYPE_STRING },
  { "\xef\xbb\xbf{}", "{}", 0 },
  { "[]", "[]", 0 },
  { "{}", "{}", 0 },
  { "[ [ ] , { } ]", "[[],{}]", 0 },
  { "{\"a\":1,\"a\":2,\"b\":3}", "{\"a\":2,\"b\":3}", 0 },
  { "{\"b\":1,\"a\":2,\"b\":3}", "{\"b\":3,\"a\":2}", 0 },
  { "{\"\":1}", "{\"\":1}", 0 },
  { "{\"k\\n\":\"v\\u0008\"}", "{\"k\\n\":\"v\\b\"}", 0 },
  { "{ \"z\" : [1, 2.5, \"x\", null, true] , \"a\" : {} }",
    "{\"z\":[1,2.5,\"x\",null,true],\"a\":{}}", 0 },
};

typedef struct {
  const char  *input;
  gssize       length;
  CfJsonError  code;
} InvalidCase;

static const InvalidCase invalid_cases[] = {
  { "", 0, CF_JSON_ERROR_EMPTY },
  { " \t\r\n ", -1, CF_JSON_ERROR_EMPTY },
  { "\xef\xbb\xbf ", -1, CF_JSON_ERROR_EMPTY },
  { "01", -1, CF_JSON_ERROR_SYNTAX },
  { "+1", -1, CF_JSON_ERROR_SYNTAX },
  { "1.", -1, CF_JSON_ERROR_SYNTAX },
  { ".5", -1, CF_JSON_ERROR_SYNTAX },
  { "1.e5", -1, CF_JSON_ERROR_SYNTAX },
  { "1e", -1, CF_JSON_ERROR_SYNTAX },
  { "1e+", -1, CF_JSON_ERROR_SYNTAX },
  { "-", -1, CF_JSON_ERROR_SYNTAX },
  { "- 1", -1, CF_JSON_ERROR_SYNTAX },
  { "--1", -1, CF_JSON_ERROR_SYNTAX },
  { "0x10", -1, CF_JSON_ERROR_SYNTAX },
  { "1E400", -1, CF_JSON_ERROR_SYNTAX },
  { "-1E400", -1, CF_JSON_ERROR_SYNTAX },
  { "NaN", -1, CF_JSON_ERROR_SYNTAX },
  { "Infinity", -1, CF_JSON_ERROR_SYNTAX },
  { "-Infinity", -1, CF_JSON_ERROR_SYNTAX },
  { "True", -1, CF_JSON_ERROR_SYNTAX },
  { "nul", -1, CF_JSON_ERROR_SYNTAX },
  { "nulll", -1, CF_JSON_ERROR_SYNTAX },
  { "1 2", -1, CF_JSON_ERROR_SYNTAX },
  { "{} {}", -1, CF_JSON_ERROR_SYNTAX },
  { "[1] x", -1, CF_JSON_ERROR_SYNTAX },
  { "[1,]", -1, CF_JSON_ERROR_SYNTAX },
  { "[,1]", -1, CF_JSON_ERROR_SYNTAX },
  { "{\"a\":1,}", -1, CF_JSON_ERROR_SYNTAX },
  { "[1 2]", -1, CF_JSON_ERROR_SYNTAX },
  { "{\"a\" 1}", -1, CF_JSON_ERROR_SYNTAX },
  { "{\"a\":1 \"b\":2}", -1, CF_JSON_ERROR_SYNTAX },
  { "{a:1}", -1, CF_JSON_ERROR_SYNTAX },
  { "{1:1}", -1, CF_JSON_ERROR_SYNTAX },
  { "{'a':1}", -1, CF_JSON_ERROR_SYNTAX },
  { "'x'", -1, CF_JSON_ERROR_SYNTAX },
  { "/* c */ 1", -1, CF_JSON_ERROR_SYNTAX },
  { "1 /* c */", -1, CF_JSON_ERROR_SYNTAX },
  { "/* c */", -1, CF_JSON_ERROR_SYNTAX },
  { "// c\n1", -1, CF_JSON_ERROR_SYNTAX },
  { "\f1", -1, CF_JSON_ERROR_SYNTAX },
  { "\v1", -1, CF_JSON_ERROR_SYNTAX },
  { "[1]\f", -1, CF_JSON_ERROR_SYNTAX },
  { "\"a\x01" "b\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"a\x1f" "b\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"tab\t\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\ud83d\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\ude00\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\ud83dx\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\ud83d\\u0041\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\ud83d\\ud83d\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\'\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\a\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\v\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\U0041\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\u12\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\uzzzz\"", -1, CF_JSON_ERROR_SYNTAX },
  { "\"unterminated", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\\", -1, CF_JSON_ERROR_SYNTAX },
  { "[", -1, CF_JSON_ERROR_SYNTAX },
  { "{", -1, CF_JSON_ERROR_SYNTAX },
  { "{\"a\"", -1, CF_JSON_ERROR_SYNTAX },
  { "{\"a\":", -1, CF_JSON_ERROR_SYNTAX },
  /* kept from the old nesting scan: a lone closer counts as no value */
  { "]", -1, CF_JSON_ERROR_EMPTY },
  { " } ", -1, CF_JSON_ERROR_EMPTY },
  { "]x", -1, CF_JSON_ERROR_SYNTAX },
  { ",", -1, CF_JSON_ERROR_SYNTAX },
  { ":", -1, CF_JSON_ERROR_SYNTAX },
  { "\"\x80\"", -1, CF_JSON_ERROR_ENCODING },
  { "\xa0 1", -1, CF_JSON_ERROR_ENCODING },
  { "\"\xed\xa0\xbd\"", -1, CF_JSON_ERROR_ENCODING },
  { "\"\xc0\xaf\"", -1, CF_JSON_ERROR_ENCODING },
  { "[1, 2] \xff", -1, CF_JSON_ERROR_ENCODING },
  /* bad UTF-8 later in the text wins over an earlier syntax error */
  { "[x, \"\xff\"]", -1, CF_JSON_ERROR_ENCODING },
  { "\"a\0b\"", 5, CF_JSON_ERROR_ENCODING },
};

static void
test_valid_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (valid_cases); i++)
    {
      const ValidCase *c = &valid_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = cf_json_parse (c->input, -1, &error);
      g_autofree char *text = NULL;
      g_autofree char *shown = g_strescape (c->input, NULL);

      g_test_message ("valid case %" G_GSIZE_FORMAT ": %s", i, shown);
      g_assert_no_error (error);
      g_assert_nonnull (node);
      g_assert_true (json_node_is_immutable (node));
      if (c->value_type != 0)
        g_assert_cmpstr (g_type_name (json_node_get_value_type (node)), ==,
                         g_type_name (c->value_type));
      text = cf_json_to_string (node, NULL);
      g_assert_cmpstr (text, ==, c->output);
    }
}

static void
test_invalid_table (void)
{
  for (gsize i = 0; i < G_N_ELEMENTS (invalid_cases); i++)
    {
      const InvalidCase *c = &invalid_cases[i];
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autofree char *shown = g_strescape (c->input, NULL);

      g_test_message ("invalid case %" G_GSIZE_FORMAT ": %s", i, shown);
      node = cf_json_parse (c->input, c->length, &error);
      g_assert_null (node);
      g_assert_error (error, CF_JSON_ERROR, (gint) c->code);
      if (c->code == CF_JSON_ERROR_SYNTAX)
        g_assert_true (g_str_has_prefix (error->message, "Malformed JSON: "));
    }

  /* NULL with no length is an empty body */
  {
    g_autoptr(GError) error = NULL;

    g_assert_null (cf_json_parse (NULL, 0, &error));
    g_assert_error (error, CF_JSON_ERROR, CF_JSON_ERROR_EMPTY);
  }
}

static void
test_encoding_offset (void)
{
  static const struct { const char *text; gsize offset; } cases[] = {
    { "\"ab\xff\"", 3 },
    { "[\"\xc3\xa9\", \"\xe2\x82\"]", 8 },
    { "{\"k\":1} \x80", 8 },
    { "\xf5", 0 },
  };

  for (gsize i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      g_autofree char *expected = g_strdup_printf ("Invalid UTF-8 at byte %" G_GSIZE_FORMAT,
                                                   cases[i].offset);

      g_assert_null (cf_json_parse (cases[i].text, -1, &error));
      g_assert_error (error, CF_JSON_ERROR, CF_JSON_ERROR_ENCODING);
      g_assert_cmpstr (error->message, ==, expected);
    }
}

static void
test_depth (void)
{
  for (guint depth = CF_JSON_MAX_DEPTH - 1; depth <= CF_JSON_MAX_DEPTH + 1; depth++)
    {
      for (guint kind = 0; kind < 2; kind++)
        {
          g_autoptr(GString) text = g_string_new (NULL);
          g_autoptr(GError) error = NULL;
          g_autoptr(JsonNode) node = NULL;

          for (guint i = 0; i < depth; i++)
            g_string_append (text, kind == 0 ? "[" : "{\"k\":");
          g_string_append (text, "1");
          for (guint i = 0; i < depth; i++)
            g_string_append_c (text, kind == 0 ? ']' : '}');

          node = cf_json_parse (text->str, text->len, &error);
          if (depth <= CF_JSON_MAX_DEPTH)
            {
              g_assert_no_error (error);
              g_assert_nonnull (node);
            }
          else
            g_assert_error (error, CF_JSON_ERROR, CF_JSON_ERROR_DEPTH);
        }
    }

  /* A hostile depth with no end, and depth after a syntax error (the old
   * scan reported DEPTH there too). */
  {
    g_autofree char *deep = g_strnfill (100000, '[');
    g_autofree char *late = g_strconcat ("[x", deep, NULL);
    g_autoptr(GError) error = NULL;
    g_autoptr(GError) error2 = NULL;

    g_assert_null (cf_json_parse (deep, -1, &error));
    g_assert_error (error, CF_JSON_ERROR, CF_JSON_ERROR_DEPTH);
    g_assert_null (cf_json_parse (late, -1, &error2));
    g_assert_error (error2, CF_JSON_ERROR, CF_JSON_ERROR_DEPTH);
  }
}

static void
test_not_terminated (void)
{
  /* The text need not end in NUL: a number or literal at the very end of
   * the buffer must not be read past. */
  static const char *texts[] = { "123", "-0.5e3", "true", "null", "\"x\"", "[1]" };

  for (gsize i = 0; i < G_N_ELEMENTS (texts); i++)
    {
      gsize len = strlen (texts[i]);
      g_autofree char *copy = g_malloc (len);
      g_autoptr(GError) error = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error2 = NULL;

      memcpy (copy, texts[i], len);
      node = cf_json_parse (copy, len, &error);
      g_assert_no_error (error);
      g_assert_nonnull (node);
      /* and one byte short is either another value or an error */
      g_clear_pointer (&node, json_node_unref);
      node = cf_json_parse (copy, len - 1, &error2);
      if (node == NULL)
        g_assert_nonnull (error2);
    }
}

static void
test_sealed (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse ("{\"a\":[{\"b\":1}],\"c\":\"d\"}", -1, &error);
  JsonObject *root;
  JsonArray *array;

  g_assert_no_error (error);
  root = json_node_get_object (node);
  g_assert_true (json_node_is_immutable (node));
  g_assert_true (json_object_is_immutable (root));
  array = json_object_get_array_member (root, "a");
  g_assert_true (json_array_is_immutable (array));
  g_assert_true (json_node_is_immutable (json_array_get_element (array, 0)));
  g_assert_true (json_node_is_immutable (json_object_get_member (root, "c")));
}

/* Trees built through the API, with values no parser produces. */
static void
test_serializer_built (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (7);
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;
  g_autofree char *text = NULL;
  char all[128];

  for (int i = 1; i < 128; i++)
    all[i - 1] = (char) i;
  all[127] = '\0';

  json_builder_begin_object (builder);
  json_builder_set_member_name (builder, all);
  json_builder_add_string_value (builder, all);
  json_builder_set_member_name (builder, "doubles");
  json_builder_begin_array (builder);
  for (guint i = 0; i < 2000; i++)
    {
      guint64 bits = ((guint64) g_rand_int (rand) << 32) | g_rand_int (rand);
      double value;

      memcpy (&value, &bits, sizeof value);
      if (!isfinite (value))
        value = g_rand_double_range (rand, -1e6, 1e6);
      json_builder_add_double_value (builder, value);
      json_builder_add_double_value (builder, (double) (gint64) g_rand_int_range (rand, -100000, 100000));
      json_builder_add_double_value (builder, g_rand_double (rand));
    }
  json_builder_add_double_value (builder, -0.0);
  json_builder_add_double_value (builder, G_MAXDOUBLE);
  json_builder_add_double_value (builder, G_MINDOUBLE);
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "ints");
  json_builder_begin_array (builder);
  json_builder_add_int_value (builder, G_MININT64);
  json_builder_add_int_value (builder, G_MAXINT64);
  json_builder_add_int_value (builder, 0);
  for (guint i = 0; i < 200; i++)
    json_builder_add_int_value (builder, (gint64) (((guint64) g_rand_int (rand) << 32) | g_rand_int (rand)));
  json_builder_end_array (builder);
  json_builder_set_member_name (builder, "empty");
  json_builder_begin_object (builder);
  json_builder_end_object (builder);
  json_builder_set_member_name (builder, "null");
  json_builder_add_null_value (builder);
  json_builder_set_member_name (builder, "bool");
  json_builder_add_boolean_value (builder, FALSE);
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);

  check_serializer (root);

  /* The documented differences, each on its own. */
  {
    g_autoptr(JsonNode) node = json_node_alloc ();

    json_node_init_double (node, 1e100);
    text = cf_json_to_string (node, NULL);
    g_assert_cmpstr (text, ==, "1e+100");
    g_clear_pointer (&text, g_free);
    json_node_set_double (node, INFINITY);
    text = cf_json_to_string (node, NULL);
    g_assert_cmpstr (text, ==, "null");
    g_clear_pointer (&text, g_free);
    json_node_set_double (node, NAN);
    text = cf_json_to_string (node, NULL);
    g_assert_cmpstr (text, ==, "null");
    g_clear_pointer (&text, g_free);
    json_node_set_string (node, "a\x1f");
    text = cf_json_to_string (node, NULL);
    g_assert_cmpstr (text, ==, "\"a\\u001f\"");
    g_clear_pointer (&text, g_free);
  }
}

/* -- random documents -- */

static void gen_value (GRand *rand, GString *out, guint depth);

static void
gen_ws (GRand   *rand,
        GString *out)
{
  static const char *ws[] = { "", "", "", " ", "\n", "\t", "\r\n  " };

  g_string_append (out, ws[g_rand_int_range (rand, 0, G_N_ELEMENTS (ws))]);
}

static void
gen_string (GRand   *rand,
            GString *out)
{
  static const char *pieces[] = {
    "a", "b", "hello", " ", "\\\"", "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t",
    "\\u0041", "\\u0000", "\\u00e9", "\\u20ac", "\\uD83D\\uDE00", "\\u001f", "\\u007f", "\\u0001",
    "\xc3\xa9", "\xe2\x82\xac", "\xf0\x9f\x98\x80", "\xe2\x80\xa8", "\x7f", "{", "]", ":", ",",
  };
  guint n = g_rand_int_range (rand, 0, 8);

  g_string_append_c (out, '"');
  for (guint i = 0; i < n; i++)
    g_string_append (out, pieces[g_rand_int_range (rand, 0, G_N_ELEMENTS (pieces))]);
  g_string_append_c (out, '"');
}

static void
gen_number (GRand   *rand,
            GString *out)
{
  static const char *fixed[] = {
    "0", "-0", "1", "-1", "9223372036854775807", "-9223372036854775808",
    "9223372036854775808", "18446744073709551616", "0.5", "-0.0", "1e10", "1E-10",
    "2.5e+3", "123456789.123456789", "1e308", "5e-324", "1e-400", "0.1",
  };

  switch (g_rand_int_range (rand, 0, 4))
    {
    case 0:
      g_string_append (out, fixed[g_rand_int_range (rand, 0, G_N_ELEMENTS (fixed))]);
      break;
    case 1:
      g_string_append_printf (out, "%d", (int) g_rand_int (rand));
      break;
    case 2:
      g_string_append_printf (out, "%s%u.%u", g_rand_boolean (rand) ? "-" : "",
                              g_rand_int_range (rand, 0, 100000), g_rand_int (rand));
      break;
    default:
      g_string_append_printf (out, "%u%se%s%d", g_rand_int_range (rand, 1, 10),
                              g_rand_boolean (rand) ? ".25" : "",
                              g_rand_boolean (rand) ? "-" : "+",
                              g_rand_int_range (rand, 0, 300));
      break;
    }
}

static void
gen_value (GRand   *rand,
           GString *out,
           guint    depth)
{
  guint kind = g_rand_int_range (rand, 0, depth < 6 ? 8 : 5);

  gen_ws (rand, out);
  switch (kind)
    {
    case 0: g_string_append (out, "true"); break;
    case 1: g_string_append (out, g_rand_boolean (rand) ? "false" : "null"); break;
    case 2: gen_string (rand, out); break;
    case 3:
    case 4: gen_number (rand, out); break;
    case 5:
    case 6:
      {
        guint n = g_rand_int_range (rand, 0, 5);
        static const char *keys[] = { "\"a\"", "\"b\"", "\"id\"", "\"\"", "\"\\u00e9\"", "\"a\"" };

        g_string_append_c (out, '{');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            gen_ws (rand, out);
            if (g_rand_boolean (rand))
              g_string_append (out, keys[g_rand_int_range (rand, 0, G_N_ELEMENTS (keys))]);
            else
              gen_string (rand, out);
            gen_ws (rand, out);
            g_string_append_c (out, ':');
            gen_value (rand, out, depth + 1);
          }
        gen_ws (rand, out);
        g_string_append_c (out, '}');
        break;
      }
    default:
      {
        guint n = g_rand_int_range (rand, 0, 5);

        g_string_append_c (out, '[');
        for (guint i = 0; i < n; i++)
          {
            if (i > 0)
              g_string_append_c (out, ',');
            gen_value (rand, out, depth + 1);
          }
        gen_ws (rand, out);
        g_string_append_c (out, ']');
        break;
      }
    }
  gen_ws (rand, out);
}

/* One random edit: a byte replaced, inserted or deleted. */
static void
mutate (GRand   *rand,
        GString *text)
{
  static const char interesting[] = "\"\\{}[],:0123456789-+.eEtrufalsn \t\n\x01\x1f\x7f\x80\xc3\xff/u'x";
  guint op = g_rand_int_range (rand, 0, 3);
  gsize at = text->len == 0 ? 0 : g_rand_int_range (rand, 0, text->len);
  char c = g_rand_boolean (rand)
           ? interesting[g_rand_int_range (rand, 0, sizeof interesting - 1)]
           : (char) g_rand_int_range (rand, 1, 256);

  if (op == 0 && text->len > 0)
    text->str[at] = c;
  else if (op == 1 || text->len == 0)
    g_string_insert_c (text, at, c);
  else
    g_string_erase (text, at, 1);
}

static void
test_differential_random (void)
{
  g_autoptr(GRand) rand = g_rand_new_with_seed (20261122);
  DiffStats stats = { 0 };

  for (guint i = 0; i < 3000; i++)
    {
      g_autoptr(GString) text = g_string_new (NULL);

      gen_value (rand, text, 0);
      differential (text->str, text->len, &stats);
      for (guint m = 0; m < 8; m++)
        {
          g_autoptr(GString) copy = g_string_new_len (text->str, text->len);
          guint edits = g_rand_int_range (rand, 1, 4);

          for (guint e = 0; e < edits; e++)
            mutate (rand, copy);
          differential (copy->str, copy->len, &stats);
        }
    }

  g_test_message ("random: %u inputs, %u accepted, %u refused by both, %u refused only by the strict parser",
                  stats.inputs, stats.accepted, stats.rejected_by_both, stats.stricter);
  g_assert_cmpuint (stats.accepted, >, 3000);
  g_assert_cmpuint (stats.rejected_by_both, >, 1000);
}

static void
collect_json_files (const char *dir,
                    GPtrArray  *files,
                    guint       level)
{
  g_autoptr(GDir) d = g_dir_open (dir, 0, NULL);
  const char *name;

  if (d == NULL || level > 12 || files->len >= 5000)
    return;
  while ((name = g_dir_read_name (d)) != NULL && files->len < 5000)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);

      if (g_file_test (path, G_FILE_TEST_IS_SYMLINK))
        continue;
      if (g_file_test (path, G_FILE_TEST_IS_DIR))
        collect_json_files (path, files, level + 1);
      else if (g_str_has_suffix (name, ".json"))
        g_ptr_array_add (files, g_steal_pointer (&path));
    }
}

/* The repository's own JSON (tests/, including the npm peers' packages)
 * and the MCP schemas, each read by both parsers, then mutated. */
static void
test_differential_corpus (void)
{
  g_autoptr(GPtrArray) files = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(GRand) rand = g_rand_new_with_seed (42);
  const char *srcdir = g_getenv ("G_TEST_SRCDIR");
  const char *spec = g_getenv ("CF_TEST_MCP_SPEC_DIR");
  DiffStats stats = { 0 };
  guint schemas = 0;

  if (srcdir == NULL)
    {
      g_test_skip ("G_TEST_SRCDIR is not set");
      return;
    }
  collect_json_files (srcdir, files, 0);
  if (spec == NULL)
    spec = "/work/shared/mcp-spec";
  if (g_file_test (spec, G_FILE_TEST_IS_DIR))
    {
      guint before = files->len;

      collect_json_files (spec, files, 0);
      schemas = files->len - before;
    }
  else
    g_test_message ("no MCP spec directory at %s", spec);
  g_ptr_array_sort (files, (GCompareFunc) g_strcmp0);

  for (guint i = 0; i < files->len; i++)
    {
      g_autofree char *data = NULL;
      gsize length = 0;
      g_autoptr(GError) error = NULL;

      if (!g_file_get_contents (files->pdata[i], &data, &length, &error))
        g_error ("%s: %s", (char *) files->pdata[i], error->message);
      differential (data, length, &stats);

      if (length <= 8192)
        for (guint m = 0; m < 4; m++)
          {
            g_autoptr(GString) copy = g_string_new_len (data, length);

            mutate (rand, copy);
            differential (copy->str, copy->len, &stats);
          }
    }

  g_test_message ("corpus: %u files (%u from the MCP spec), %u inputs, %u accepted, "
                  "%u refused by both, %u refused only by the strict parser",
                  files->len, schemas, stats.inputs, stats.accepted,
                  stats.rejected_by_both, stats.stricter);
  g_assert_cmpuint (files->len, >, 0);
}

/* A shallow copy keeps the order, leaves the skipped member out, and
 * setting or removing its members leaves the original as it was. */
static void
test_shallow_copy (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse ("{\"b\":1,\"_meta\":{\"x\":true},\"a\":{\"k\":[1,2]}}",
                                            -1, &error);
  JsonObject *original;
  g_autoptr(JsonObject) copy = NULL;
  g_autoptr(JsonObject) skipped = NULL;
  g_autofree char *text = NULL;

  g_assert_no_error (error);
  original = json_node_get_object (node);
  copy = cf_json_object_shallow_copy (original, NULL);
  text = cf_json_object_to_string (copy);
  g_assert_cmpstr (text, ==, "{\"b\":1,\"_meta\":{\"x\":true},\"a\":{\"k\":[1,2]}}");
  /* The values are shared, not copied. */
  g_assert_true (json_object_get_object_member (copy, "a") ==
                 json_object_get_object_member (original, "a"));

  json_object_remove_member (copy, "b");
  json_object_set_string_member (copy, "_meta", "replaced");
  json_object_set_int_member (copy, "c", 3);
  g_clear_pointer (&text, g_free);
  text = cf_json_object_to_string (original);
  g_assert_cmpstr (text, ==, "{\"b\":1,\"_meta\":{\"x\":true},\"a\":{\"k\":[1,2]}}");

  skipped = cf_json_object_shallow_copy (original, "_meta");
  g_clear_pointer (&text, g_free);
  text = cf_json_object_to_string (skipped);
  g_assert_cmpstr (text, ==, "{\"b\":1,\"a\":{\"k\":[1,2]}}");
  g_clear_pointer (&skipped, json_object_unref);
  skipped = cf_json_object_shallow_copy (original, "absent");
  g_assert_cmpuint (json_object_get_size (skipped), ==, 3);

  /* The copy outlives the original's tree. */
  g_clear_pointer (&node, json_node_unref);
  g_clear_pointer (&text, g_free);
  text = cf_json_object_to_string (copy);
  g_assert_cmpstr (text, ==, "{\"_meta\":\"replaced\",\"a\":{\"k\":[1,2]},\"c\":3}");
}

/* A response put together from a serialized member parses to the very
 * response built as a tree, whatever the id and the rest of the result. */
static void
test_result_spliced (void)
{
  static const char *ids[] = { "7", "\"a\\\"b\"", NULL };
  static const char *rests[] = { "{}", "{\"nextCursor\":\"Yw==\",\"ttlMs\":0}" };
  const char *value = "[{\"name\":\"echo\",\"inputSchema\":{\"type\":\"object\"}},{\"name\":\"\\u00e9\"}]";

  for (guint i = 0; i < G_N_ELEMENTS (ids); i++)
    for (guint r = 0; r < G_N_ELEMENTS (rests); r++)
      {
        g_autoptr(JsonNode) id = ids[i] ? cf_json_parse (ids[i], -1, NULL) : NULL;
        g_autoptr(JsonNode) rest = cf_json_parse (rests[r], -1, NULL);
        g_autoptr(JsonNode) full = cf_json_parse (rests[r], -1, NULL);
        g_autoptr(GBytes) bytes = g_bytes_new_static (value, strlen (value));
        g_autoptr(GBytes) spliced = NULL;
        g_autoptr(JsonNode) expected = NULL;
        g_autoptr(JsonNode) got = NULL;
        g_autoptr(GError) error = NULL;
        gsize length = 0;
        const char *text;

        json_object_set_member (json_node_get_object (full), "tools",
                                cf_json_parse (value, -1, NULL));
        expected = cf_jsonrpc_build_result (id, json_object_ref (json_node_get_object (full)));
        spliced = cf_jsonrpc_build_result_spliced (id, json_object_ref (json_node_get_object (rest)),
                                                   "tools", bytes);
        text = g_bytes_get_data (spliced, &length);
        got = cf_json_parse (text, length, &error);
        g_assert_no_error (error);
        g_assert_true (json_node_equal (got, expected));
      }
}

/* A result part of whose members pass through as text: the response is
 * byte for byte what the tree would give, with or without members on
 * either side. */
static void
test_result_with_members (void)
{
  static const struct {
    const char *members;
    const char *rest;
    const char *response;
  } cases[] = {
    { "", "{}", "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{}}" },
    { "\"a\":[1]", "{}", "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":[1]}}" },
    { "", "{\"b\":\"\\u0001\"}",
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"b\":\"\\u0001\"}}" },
    { "\"a\":[1]", "{\"b\":2,\"c\":{}}",
      "{\"jsonrpc\":\"2.0\",\"id\":7,\"result\":{\"a\":[1],\"b\":2,\"c\":{}}}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonNode) id = cf_json_parse ("7", -1, NULL);
      g_autoptr(JsonNode) rest = cf_json_parse (cases[i].rest, -1, NULL);
      g_autoptr(GBytes) members = g_bytes_new_static (cases[i].members,
                                                      strlen (cases[i].members));
      g_autoptr(GBytes) response = cf_jsonrpc_build_result_with_members (
        id, json_object_ref (json_node_get_object (rest)), members);
      g_autofree char *text = g_strndup (g_bytes_get_data (response, NULL),
                                         g_bytes_get_size (response));

      g_assert_cmpstr (text, ==, cases[i].response);
    }
}

/* A message read from text is the message read from its tree; what the
 * text reading leaves out, the tree reading refuses. */
static void
test_jsonrpc_from_text (void)
{
  static const char *valid[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":{\"name\":\"x\"}}",
    "{\"method\":\"ping\",\"jsonrpc\":\"2.0\",\"id\":\"a\"}",
    "{\"jsonrpc\":\"2.0\",\"method\":\"notifications/initialized\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"result\":null}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":-1,\"message\":\"m\"}}",
    "{\"jsonrpc\":\"1.0\",\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"a\",\"method\":\"b\"}",
  };
  static const char *invalid[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":1.5,\"method\":\"x\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":null,\"method\":\"x\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"x\",\"params\":[1]}",
    "{\"jsonrpc\":2,\"id\":1,\"method\":\"x\"}",
    "{\"id\":1,\"method\":\"x\"}",
    "{\"jsonrpc\":\"2.0\",\"id\":3,\"error\":{\"code\":\"x\",\"message\":\"m\"}}",
    "{\"jsonrpc\":\"2.0\",\"id\":{},\"result\":{}}",
    "{\"jsonrpc\":\"2.0\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (valid); i++)
    {
      g_autoptr(JsonNode) node = cf_json_parse (valid[i], -1, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(CfJsonrpcMessage) tree = cf_jsonrpc_message_new (node, &error);
      g_autoptr(GBytes) bytes = g_bytes_new_static (valid[i], strlen (valid[i]));
      g_autoptr(CfJsonrpcMessage) text = cf_jsonrpc_message_new_from_bytes (bytes);
      JsonObject *text_params, *tree_params;

      g_test_message ("%s", valid[i]);
      g_assert_no_error (error);
      g_assert_nonnull (text);
      g_assert_null (text->node);
      g_assert_cmpint (text->kind, ==, tree->kind);
      g_assert_cmpstr (text->method, ==, tree->method);
      g_assert_true ((text->id == NULL) == (tree->id == NULL));
      if (tree->id != NULL)
        g_assert_true (json_node_equal (text->id, tree->id));
      /* Members asked for one by one, then the whole object */
      g_assert_cmpstr (cf_jsonrpc_message_get_param_string (text, "name"), ==,
                       cf_jsonrpc_message_get_param_string (tree, "name"));
      g_assert_true ((cf_jsonrpc_message_get_param_object (text, "arguments") == NULL) ==
                     (cf_jsonrpc_message_get_param_object (tree, "arguments") == NULL));
      text_params = cf_jsonrpc_message_get_params (text);
      tree_params = cf_jsonrpc_message_get_params (tree);
      g_assert_true ((text_params == NULL) == (tree_params == NULL));
      if (tree_params != NULL)
        {
          g_assert_true (json_object_equal (text_params, tree_params));
          g_assert_true (json_object_is_immutable (text_params));
        }
      g_assert_true ((text->result == NULL) == (tree->result == NULL));
      g_assert_true ((text->error == NULL) == (tree->error == NULL));
    }
  for (guint i = 0; i < G_N_ELEMENTS (invalid); i++)
    {
      g_autoptr(JsonNode) node = cf_json_parse (invalid[i], -1, NULL);
      g_autoptr(GError) error = NULL;
      g_autoptr(CfJsonrpcMessage) tree = cf_jsonrpc_message_new (node, &error);
      g_autoptr(GBytes) bytes = g_bytes_new_static (invalid[i], strlen (invalid[i]));

      g_test_message ("%s", invalid[i]);
      g_assert_null (tree);
      g_assert_error (error, CF_JSONRPC_ERROR, error->code);
      g_assert_null (cf_jsonrpc_message_new_from_bytes (bytes));
    }
  {
    g_autoptr(GBytes) empty = g_bytes_new_static ("", 0);

    g_assert_null (cf_jsonrpc_message_new_from_bytes (empty));
  }
}

/* A request's params read from text: each member parsed when asked for,
 * passed on as the client wrote it; the whole tree when the members are
 * too many to keep or a name has an escape. */
static void
test_jsonrpc_params_text (void)
{
  static const char request[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"tools/call\",\"params\":"
    "{\"name\":\"old\",\"arguments\":{ \"t\" : \"\\u00e9\" },\"name\":\"x\",\"n\":null}}";
  static const char escaped[] =
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"n\\u0061me\":\"y\"}}";
  g_autoptr(GBytes) bytes = g_bytes_new_static (request, sizeof request - 1);
  g_autoptr(CfJsonrpcMessage) message = cf_jsonrpc_message_new_from_bytes (bytes);
  g_autoptr(GBytes) arguments = NULL;
  g_autoptr(GBytes) missing = NULL;
  g_autoptr(GString) many = g_string_new ("{\"jsonrpc\":\"2.0\",\"method\":\"m\",\"params\":{");
  g_autoptr(CfJsonrpcMessage) big = NULL;
  g_autoptr(CfJsonrpcMessage) named = NULL;
  g_autoptr(GBytes) big_bytes = NULL;
  g_autoptr(GBytes) escaped_bytes = g_bytes_new_static (escaped, sizeof escaped - 1);

  g_assert_nonnull (message);
  /* The last of a repeated name, as a tree keeps it */
  g_assert_cmpstr (cf_jsonrpc_message_get_param_string (message, "name"), ==, "x");
  g_assert_true (JSON_NODE_HOLDS_NULL (cf_jsonrpc_message_get_param (message, "n")));
  g_assert_null (cf_jsonrpc_message_get_param (message, "absent"));
  g_assert_null (cf_jsonrpc_message_get_param_string (message, "arguments"));
  arguments = cf_jsonrpc_message_dup_param_text (message, "arguments");
  g_assert_cmpmem (g_bytes_get_data (arguments, NULL), g_bytes_get_size (arguments),
                   "{ \"t\" : \"\\u00e9\" }", 18);
  missing = cf_jsonrpc_message_dup_param_text (message, "absent");
  g_assert_null (missing);
  g_assert_cmpstr (cf_json_object_get_string (cf_jsonrpc_message_get_param_object (message,
                                                                                   "arguments"),
                                              "t"), ==, "\u00e9");
  g_assert_cmpuint (json_object_get_size (cf_jsonrpc_message_get_params (message)), ==, 3);

  for (guint i = 0; i < CF_JSONRPC_MAX_PARAMS + 1; i++)
    g_string_append_printf (many, "%s\"m%u\":%u", i > 0 ? "," : "", i, i);
  g_string_append (many, "}}");
  big_bytes = g_bytes_new (many->str, many->len);
  big = cf_jsonrpc_message_new_from_bytes (big_bytes);
  g_assert_nonnull (big);
  g_assert_cmpint (json_node_get_int (cf_jsonrpc_message_get_param (big, "m16")), ==, 16);
  g_assert_cmpuint (json_object_get_size (cf_jsonrpc_message_get_params (big)), ==, 17);
  {
    g_autoptr(GBytes) written = cf_jsonrpc_message_dup_param_text (big, "m3");

    g_assert_cmpmem (g_bytes_get_data (written, NULL), g_bytes_get_size (written), "3", 1);
  }

  named = cf_jsonrpc_message_new_from_bytes (escaped_bytes);
  g_assert_nonnull (named);
  g_assert_cmpstr (cf_jsonrpc_message_get_param_string (named, "name"), ==, "y");

  /* params twice: left to the tree, which keeps the last */
  {
    static const char twice[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\","
                                "\"params\":{\"a\":1},\"params\":{\"b\":2}}";
    g_autoptr(GBytes) twice_bytes = g_bytes_new_static (twice, sizeof twice - 1);
    g_autoptr(CfJsonrpcMessage) from_text = cf_jsonrpc_message_new_from_bytes (twice_bytes);
    g_autoptr(JsonNode) tree = cf_json_parse (twice, -1, NULL);
    g_autoptr(CfJsonrpcMessage) from_tree = cf_jsonrpc_message_new (tree, NULL);

    g_assert_null (from_text);
    g_assert_nonnull (from_tree);
    g_assert_null (cf_jsonrpc_message_get_param (from_tree, "a"));
    g_assert_cmpint (json_node_get_int (cf_jsonrpc_message_get_param (from_tree, "b")), ==, 2);
  }
}

/* _meta read member by member, from text and from a tree alike */
static void
test_jsonrpc_meta (void)
{
  static const char *requests[] = {
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"_meta\":{\"v\":\"1\","
    "\"caps\":{\"x\":{}},\"v\":\"2\",\"token\":5,\"list\":[]}}}",
    /* an escaped name in _meta: read whole */
    "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"_meta\":{\"\\u0076\":\"2\","
    "\"caps\":{\"x\":{}},\"token\":5,\"list\":[]}}}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (requests); i++)
    {
      g_autoptr(GBytes) bytes = g_bytes_new_static (requests[i], strlen (requests[i]));
      g_autoptr(JsonNode) node = cf_json_parse (requests[i], -1, NULL);
      g_autoptr(CfJsonrpcMessage) text = cf_jsonrpc_message_new_from_bytes (bytes);
      g_autoptr(CfJsonrpcMessage) tree = cf_jsonrpc_message_new (node, NULL);
      CfJsonrpcMessage *both[] = { text, tree };

      for (guint j = 0; j < G_N_ELEMENTS (both); j++)
        {
          CfJsonrpcMessage *message = both[j];

          g_test_message ("%s, %s", requests[i], j == 0 ? "text" : "tree");
          g_assert_nonnull (message);
          g_assert_cmpstr (cf_jsonrpc_message_get_meta_string (message, "v"), ==, "2");
          g_assert_null (cf_jsonrpc_message_get_meta_string (message, "token"));
          g_assert_cmpint (json_node_get_int (cf_jsonrpc_message_get_meta (message, "token")), ==,
                           5);
          g_assert_true (cf_jsonrpc_message_meta_is_object (message, "caps"));
          g_assert_false (cf_jsonrpc_message_meta_is_object (message, "list"));
          g_assert_false (cf_jsonrpc_message_meta_is_object (message, "token"));
          g_assert_false (cf_jsonrpc_message_meta_is_object (message, "absent"));
          g_assert_null (cf_jsonrpc_message_get_meta (message, "absent"));
        }
    }

  /* No _meta, or one that is no object */
  {
    static const char request[] =
      "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\",\"params\":{\"_meta\":[1]}}";
    static const char bare[] = "{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"m\"}";
    g_autoptr(GBytes) bytes = g_bytes_new_static (request, sizeof request - 1);
    g_autoptr(GBytes) bare_bytes = g_bytes_new_static (bare, sizeof bare - 1);
    g_autoptr(CfJsonrpcMessage) message = cf_jsonrpc_message_new_from_bytes (bytes);
    g_autoptr(CfJsonrpcMessage) without = cf_jsonrpc_message_new_from_bytes (bare_bytes);

    g_assert_null (cf_jsonrpc_message_get_meta (message, "0"));
    g_assert_false (cf_jsonrpc_message_meta_is_object (message, "0"));
    g_assert_null (cf_jsonrpc_message_get_meta (without, "v"));
    g_assert_null (cf_jsonrpc_message_get_params (without));
    g_assert_null (cf_jsonrpc_message_get_param (without, "name"));
  }
}

/* Integers in decimal, as printf writes them, at both ends of gint64. */
static void
test_format_int (void)
{
  static const gint64 values[] = { 0, 7, -1, 10, 42, -9000, G_MAXINT64, G_MININT64 };
  g_autoptr(GString) out = g_string_new ("x");

  for (guint i = 0; i < G_N_ELEMENTS (values); i++)
    {
      char buf[CF_JSON_INT_SIZE];
      g_autofree char *expected = g_strdup_printf ("%" G_GINT64_FORMAT, values[i]);
      gsize length = cf_json_format_int (buf, values[i]);

      g_assert_cmpmem (buf, length, expected, strlen (expected));
      g_string_truncate (out, 1);
      cf_json_append_int (out, values[i]);
      g_assert_cmpstr (out->str + 1, ==, expected);
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/json/valid", test_valid_table);
  g_test_add_func ("/json/invalid", test_invalid_table);
  g_test_add_func ("/json/encoding-offset", test_encoding_offset);
  g_test_add_func ("/json/depth", test_depth);
  g_test_add_func ("/json/not-terminated", test_not_terminated);
  g_test_add_func ("/json/sealed", test_sealed);
  g_test_add_func ("/json/shallow-copy", test_shallow_copy);
  g_test_add_func ("/json/result-spliced", test_result_spliced);
  g_test_add_func ("/json/result-with-members", test_result_with_members);
  g_test_add_func ("/json/scan-object", test_scan_object);
  g_test_add_func ("/json/scan-object-nested", test_scan_object_nested);
  g_test_add_func ("/json/long-strings", test_long_strings);
  g_test_add_func ("/json/format-int", test_format_int);
  g_test_add_func ("/json/jsonrpc-from-text", test_jsonrpc_from_text);
  g_test_add_func ("/json/jsonrpc-params-text", test_jsonrpc_params_text);
  g_test_add_func ("/json/jsonrpc-meta", test_jsonrpc_meta);
  g_test_add_func ("/json/serializer-built", test_serializer_built);
  g_test_add_func ("/json/differential-random", test_differential_random);
  g_test_add_func ("/json/differential-corpus", test_differential_corpus);

  return g_test_run ();
}
