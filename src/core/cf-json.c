/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-json"

#include "config.h"

#include <string.h>

#include "cf-json-private.h"

G_DEFINE_QUARK (cf-json-error-quark, cf_json_error)

/* One pass over the text, outside string literals: nesting and a second
 * value after a closed one. Only run to classify a failed parse. */
static gboolean
check_depth (const char *data,
             gsize       length,
             GError    **error)
{
  guint depth = 0;
  gboolean in_string = FALSE;
  gboolean seen_value = FALSE;
  gboolean closed = FALSE;

  for (gsize i = 0; i < length; i++)
    {
      char c = data[i];

      /* json-glib stops at the end of the first value and ignores the
       * rest; a second document smuggled after it must not pass. */
      if (closed && c != ' ' && c != '\t' && c != '\r' && c != '\n')
        {
          g_set_error (error, CF_JSON_ERROR, CF_JSON_ERROR_SYNTAX,
                       "Malformed JSON: unexpected data after the value at byte %" G_GSIZE_FORMAT,
                       i);
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
          in_string = TRUE;
          seen_value = TRUE;
          break;
        case '[':
        case '{':
          seen_value = TRUE;
          if (++depth > CF_JSON_MAX_DEPTH)
            {
              g_set_error (error, CF_JSON_ERROR, CF_JSON_ERROR_DEPTH,
                           "JSON nesting exceeds %d levels", CF_JSON_MAX_DEPTH);
              return FALSE;
            }
          break;
        case ']':
        case '}':
          if (depth > 0 && --depth == 0)
            closed = TRUE;
          break;
        case ' ':
        case '\t':
        case '\r':
        case '\n':
          break;
        default:
          seen_value = TRUE;
          break;
        }
    }

  if (!seen_value)
    {
      g_set_error_literal (error, CF_JSON_ERROR, CF_JSON_ERROR_EMPTY,
                           "Empty body: expected a JSON value");
      return FALSE;
    }

  return TRUE;
}

/**
 * cf_json_parse:
 * @data: the JSON text (need not be NUL-terminated)
 * @length: its length, or -1 if NUL-terminated
 * @error: return location for a #CfJsonError
 *
 * Parses untrusted JSON strictly (RFC 8259; see cf-json-parser.c for where
 * that differs from json-glib): the text must be valid UTF-8 and nest at
 * most %CF_JSON_MAX_DEPTH levels. The tree is sealed (immutable), as from
 * json_parser_new_immutable(): deep-copy it before changing it.
 *
 * Returns: (transfer full): the root node, or %NULL with @error set
 */
JsonNode *
cf_json_parse (const char  *data,
               gssize       length,
               GError     **error)
{
  g_autofree char *message = NULL;
  CfJsonError code = CF_JSON_ERROR_SYNTAX;
  const char *end = NULL;
  JsonNode *root;

  g_return_val_if_fail (data != NULL || length == 0, NULL);

  if (length < 0)
    length = strlen (data);

  root = cf_json_parser_parse (data, length, &code, &message);
  if (root != NULL)
    return root;

  /* The single pass stops at the first fault; report the same error as
   * the checks that used to run over the whole text first: bad UTF-8
   * anywhere, then nesting or a second value, then syntax. */
  if (!g_utf8_validate_len (data, length, &end))
    {
      g_set_error (error, CF_JSON_ERROR, CF_JSON_ERROR_ENCODING,
                   "Invalid UTF-8 at byte %" G_GSIZE_FORMAT,
                   (gsize) (end - data));
      return NULL;
    }

  if (code == CF_JSON_ERROR_EMPTY)
    {
      g_set_error_literal (error, CF_JSON_ERROR, CF_JSON_ERROR_EMPTY,
                           "Empty body: expected a JSON value");
      return NULL;
    }

  if (!check_depth (data, length, error))
    return NULL;

  if (code == CF_JSON_ERROR_DEPTH)
    g_set_error (error, CF_JSON_ERROR, CF_JSON_ERROR_DEPTH,
                 "JSON nesting exceeds %d levels", CF_JSON_MAX_DEPTH);
  else
    g_set_error (error, CF_JSON_ERROR, CF_JSON_ERROR_SYNTAX,
                 "Malformed JSON: %s", message);
  return NULL;
}

/* Text is written into a buffer kept by each thread, then copied out at
 * its own size: a fresh buffer per message cost a large allocation each
 * time, and glibc consolidates its fast bins on every allocation of a
 * KiB or more, which made the small ones around it slow. */
#define SCRATCH_SIZE 4096
#define SCRATCH_KEPT (64 * 1024)

static void
free_scratch (gpointer data)
{
  g_string_free (data, TRUE);
}

static GPrivate scratch_key = G_PRIVATE_INIT (free_scratch);

/* Writing calls nothing outside this file, so a thread's buffer is never
 * taken twice at once. */
static GString *
take_scratch (void)
{
  GString *out = g_private_get (&scratch_key);

  if (out == NULL)
    {
      out = g_string_sized_new (SCRATCH_SIZE);
      g_private_set (&scratch_key, out);
    }
  return out;
}

static void
give_back_scratch (GString *out)
{
  if (out->allocated_len > SCRATCH_KEPT)
    g_private_replace (&scratch_key, g_string_sized_new (SCRATCH_SIZE));
  else
    g_string_truncate (out, 0);
}

/**
 * cf_json_to_string:
 * @node: a node
 * @length: (out) (optional): the length of the result
 *
 * Serializes @node as compact JSON, byte for byte as json_generator does
 * except where json-glib's output is not JSON (see cf-json-parser.c).
 *
 * Returns: (transfer full): the text
 */
char *
cf_json_to_string (JsonNode *node,
                   gsize    *length)
{
  GString *out;
  char *text;

  g_return_val_if_fail (node != NULL, NULL);

  out = take_scratch ();
  cf_json_writer_append (out, node);
  if (length != NULL)
    *length = out->len;
  text = g_strndup (out->str, out->len);
  give_back_scratch (out);
  return text;
}

/**
 * cf_json_append:
 * @out: where to write
 * @node: a node
 *
 * Appends @node to @out as cf_json_to_string() writes it.
 */
void
cf_json_append (GString  *out,
                JsonNode *node)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (node != NULL);

  cf_json_writer_append (out, node);
}

/**
 * cf_json_append_string:
 * @out: where to write
 * @string: a UTF-8 string
 *
 * Appends @string as a JSON string, quoted and escaped as
 * cf_json_append() writes strings.
 */
void
cf_json_append_string (GString    *out,
                       const char *string)
{
  g_return_if_fail (out != NULL);
  g_return_if_fail (string != NULL);

  cf_json_writer_append_string (out, string);
}

/**
 * cf_json_append_int:
 * @out: where to write
 * @value: an integer
 *
 * Appends @value's decimal digits, as cf_json_format_int() writes them.
 */
void
cf_json_append_int (GString *out,
                    gint64   value)
{
  char buf[CF_JSON_INT_SIZE];

  g_return_if_fail (out != NULL);

  g_string_append_len (out, buf, cf_json_format_int (buf, value));
}

/**
 * cf_json_append_members:
 * @out: where to write
 * @object: an object
 * @skip: (nullable): a member to leave out
 * @after_other: whether members are written before these (a comma goes
 *   first, if @object has any)
 *
 * Appends @object's members as cf_json_append() writes them inside its
 * braces (`"a":1,"b":2`), for a caller that writes the object's other
 * members itself.
 *
 * Returns: whether any member has been written now, before or here (so,
 *   the next one's @after_other)
 */
gboolean
cf_json_append_members (GString    *out,
                        JsonObject *object,
                        const char *skip,
                        gboolean    after_other)
{
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  g_return_val_if_fail (out != NULL, after_other);
  g_return_val_if_fail (object != NULL, after_other);

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    {
      if (skip != NULL && strcmp (name, skip) == 0)
        continue;
      if (after_other)
        g_string_append_c (out, ',');
      after_other = TRUE;
      cf_json_writer_append_string (out, name);
      g_string_append_c (out, ':');
      cf_json_writer_append (out, member);
    }
  return after_other;
}

GBytes *
cf_json_to_bytes (JsonNode *node)
{
  GString *out;
  GBytes *bytes;

  g_return_val_if_fail (node != NULL, NULL);

  out = take_scratch ();
  cf_json_writer_append (out, node);
  bytes = g_bytes_new (out->str, out->len);
  give_back_scratch (out);
  return bytes;
}

char *
cf_json_object_to_string (JsonObject *object)
{
  g_autoptr(JsonNode) node = NULL;

  g_return_val_if_fail (object != NULL, NULL);

  node = json_node_new (JSON_NODE_OBJECT);
  json_node_set_object (node, object);
  return cf_json_to_string (node, NULL);
}

/**
 * cf_json_member_is:
 * @member: a member from cf_json_scan_object()
 * @name: a name without escapes
 *
 * Returns: whether @member is called @name
 */
gboolean
cf_json_member_is (const CfJsonMember *member,
                   const char         *name)
{
  return !member->name_escaped && strncmp (member->name, name, member->name_length) == 0 &&
         name[member->name_length] == '\0';
}

/* Whether @text is an integer of at most 18 digits: a gint64 for sure */
static gboolean
is_short_integer (const char *text,
                  gsize       length)
{
  gsize i = length > 0 && text[0] == '-' ? 1 : 0;

  if (length <= i || length - i > 18)
    return FALSE;
  for (; i < length; i++)
    if (!g_ascii_isdigit (text[i]))
      return FALSE;
  return TRUE;
}

/**
 * cf_json_member_parse:
 * @member: a member from cf_json_scan_object(), whose value was checked
 *
 * Reads one scanned member's value: a string without escapes (names,
 * versions, most ids) or an integer of up to 18 digits is made into a
 * node directly, anything else is parsed.
 *
 * Returns: (transfer full) (nullable): the value, sealed; %NULL only if
 *   it was not valid JSON after all
 */
JsonNode *
cf_json_member_parse (const CfJsonMember *member)
{
  JsonNode *node;

  if (member->value_length >= 2 && member->value[0] == '"' &&
      memchr (member->value, '\\', member->value_length) == NULL &&
      g_utf8_validate_len (member->value + 1, member->value_length - 2, NULL))
    {
      g_autofree char *text = g_strndup (member->value + 1, member->value_length - 2);

      node = cf_json_node_new_string (text);
    }
  else if (is_short_integer (member->value, member->value_length))
    {
      /* An integer that fits (ids, counts): checked JSON has no leading
       * zeros. */
      node = json_node_init_int (json_node_alloc (),
                                 g_ascii_strtoll (member->value, NULL, 10));
    }
  else
    node = cf_json_parse (member->value, member->value_length, NULL);
  if (node != NULL)
    json_node_seal (node);
  return node;
}

/* The accessors below never warn on a missing member or a wrong type: they
 * read untrusted input, where both are ordinary events. */
const char *
cf_json_object_get_string (JsonObject *object,
                           const char *member)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, member);
  if (node == NULL || !cf_json_node_is_string (node))
    return NULL;
  return json_node_get_string (node);
}

JsonObject *
cf_json_object_get_object (JsonObject *object,
                           const char *member)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  return json_node_get_object (node);
}

JsonArray *
cf_json_object_get_array (JsonObject *object,
                          const char *member)
{
  JsonNode *node;

  if (object == NULL)
    return NULL;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  return json_node_get_array (node);
}

gboolean
cf_json_object_get_bool (JsonObject *object,
                         const char *member,
                         gboolean    default_value)
{
  JsonNode *node;

  if (object == NULL)
    return default_value;
  node = json_object_get_member (object, member);
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return default_value;
  return json_node_get_boolean (node);
}

gboolean
cf_json_object_get_int (JsonObject *object,
                        const char *member,
                        gint64     *out_value)
{
  JsonNode *node;

  if (object == NULL)
    return FALSE;
  node = json_object_get_member (object, member);
  if (node == NULL || !cf_json_node_is_integer (node))
    return FALSE;
  if (out_value != NULL)
    *out_value = json_node_get_int (node);
  return TRUE;
}

gboolean
cf_json_node_is_string (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_STRING;
}

gboolean
cf_json_node_is_integer (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_INT64;
}

gboolean
cf_json_node_is_object (JsonNode *node)
{
  return node != NULL && JSON_NODE_HOLDS_OBJECT (node);
}

/**
 * cf_json_node_new_object:
 * @object: (transfer full): an object
 *
 * Returns: (transfer full): a node holding @object
 */
JsonNode *
cf_json_node_new_object (JsonObject *object)
{
  JsonNode *node = json_node_new (JSON_NODE_OBJECT);

  json_node_take_object (node, object);
  return node;
}

/**
 * cf_json_node_deep_copy:
 * @node: a node
 *
 * json_node_copy() shares the objects and arrays it contains; this copies
 * them too, for callers that go on to modify the copy.
 *
 * Returns: (transfer full): an independent copy of @node
 */
JsonNode *
cf_json_node_deep_copy (JsonNode *node)
{
  if (JSON_NODE_HOLDS_OBJECT (node))
    return cf_json_node_new_object (cf_json_object_deep_copy (json_node_get_object (node)));

  if (JSON_NODE_HOLDS_ARRAY (node))
    {
      JsonArray *source = json_node_get_array (node);
      JsonArray *copy = json_array_sized_new (json_array_get_length (source));
      JsonNode *result = json_node_new (JSON_NODE_ARRAY);

      for (guint i = 0; i < json_array_get_length (source); i++)
        json_array_add_element (copy, cf_json_node_deep_copy (json_array_get_element (source, i)));
      json_node_take_array (result, copy);
      return result;
    }

  return json_node_copy (node);
}

/**
 * cf_json_object_deep_copy:
 *
 * Returns: (transfer full): an independent copy of @object
 */
JsonObject *
cf_json_object_deep_copy (JsonObject *object)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  /* In the members' order: a relayed object must read as it came. */
  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    json_object_set_member (copy, name, cf_json_node_deep_copy (member));
  return copy;
}

/**
 * cf_json_object_shallow_copy:
 * @object: an object
 * @skip: (nullable): a member to leave out
 *
 * A new object with @object's members but @skip, in their order, each
 * sharing its value with @object: setting or removing a member of the
 * copy leaves @object as it is, changing a shared value inside does not.
 * For a relay that adjusts the top level of what it passes on, this
 * costs a fraction of cf_json_object_deep_copy().
 *
 * Returns: (transfer full): the copy
 */
JsonObject *
cf_json_object_shallow_copy (JsonObject *object,
                             const char *skip)
{
  JsonObject *copy = json_object_new ();
  JsonObjectIter iter;
  const char *name;
  JsonNode *member;

  json_object_iter_init_ordered (&iter, object);
  while (json_object_iter_next_ordered (&iter, &name, &member))
    if (skip == NULL || strcmp (name, skip) != 0)
      json_object_set_member (copy, name, json_node_ref (member));
  return copy;
}

JsonNode *
cf_json_node_new_string (const char *value)
{
  JsonNode *node = json_node_alloc ();

  json_node_init_string (node, value);
  return node;
}

/* A request id as a hash key: strings and integers must not collide. */
char *
cf_json_node_to_id_string (JsonNode *node)
{
  if (cf_json_node_is_string (node))
    return g_strconcat ("s:", json_node_get_string (node), NULL);
  if (cf_json_node_is_integer (node))
    {
      char *key = g_malloc (2 + CF_JSON_INT_SIZE + 1);
      gsize length = cf_json_format_int (key + 2, json_node_get_int (node));

      key[0] = 'i';
      key[1] = ':';
      key[2 + length] = '\0';
      return key;
    }
  return NULL;
}

const char *
cf_json_node_type_name (JsonNode *node)
{
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return "null";
  if (JSON_NODE_HOLDS_OBJECT (node))
    return "object";
  if (JSON_NODE_HOLDS_ARRAY (node))
    return "array";
  switch (json_node_get_value_type (node))
    {
    case G_TYPE_STRING:
      return "string";
    case G_TYPE_BOOLEAN:
      return "boolean";
    case G_TYPE_INT64:
      return "integer";
    default:
      return "number";
    }
}
