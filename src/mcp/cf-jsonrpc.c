/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-jsonrpc"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-jsonrpc.h"

G_DEFINE_QUARK (cf-jsonrpc-error-quark, cf_jsonrpc_error)

/* An object read from text (a request's params, their _meta): where
 * each member lies, and its value once it was asked for. Kept apart from
 * the message, at its size: small blocks are malloc's fast ones. */
typedef struct {
  guint n;
  struct {
    CfJsonMember text;
    JsonNode    *value;
  } members[];
} LazyObject;

/* %NULL when a name has an escape */
static LazyObject *
lazy_object_new_from_members (const CfJsonMember *found,
                              guint               n)
{
  LazyObject *object;

  for (guint i = 0; i < n; i++)
    if (found[i].name_escaped)
      return NULL;
  object = g_malloc (sizeof (LazyObject) + n * sizeof object->members[0]);
  object->n = n;
  for (guint i = 0; i < n; i++)
    {
      object->members[i].text = found[i];
      object->members[i].value = NULL;
    }
  return object;
}

/* %NULL unless @text is an object of at most %CF_JSONRPC_MAX_PARAMS
 * members with plain names */
static LazyObject *
lazy_object_new (const char *text,
                 gsize       length)
{
  CfJsonMember found[CF_JSONRPC_MAX_PARAMS];
  guint n;

  if (length == 0 || text[0] != '{' ||
      !cf_json_scan_object (text, length, found, G_N_ELEMENTS (found), &n))
    return NULL;
  return lazy_object_new_from_members (found, n);
}

static void
lazy_object_free (LazyObject *object)
{
  for (guint i = 0; i < object->n; i++)
    g_clear_pointer (&object->members[i].value, json_node_unref);
  g_free (object);
}

/* The last member called @name, as a tree keeps it */
static gboolean
lazy_object_find (LazyObject *object,
                  const char *name,
                  guint      *index)
{
  for (guint i = object->n; i > 0; i--)
    if (cf_json_member_is (&object->members[i - 1].text, name))
      {
        *index = i - 1;
        return TRUE;
      }
  return FALSE;
}

static JsonNode *
lazy_object_get (LazyObject *object,
                 guint       index)
{
  if (object->members[index].value == NULL)
    {
      const CfJsonMember *m = &object->members[index].text;

      /* Checked already when the message was read */
      object->members[index].value = cf_json_member_parse (m);
    }
  return object->members[index].value;
}

static void
cf_jsonrpc_message_clear (CfJsonrpcMessage *self)
{
  g_clear_pointer (&self->node, json_node_unref);
  g_clear_pointer (&self->params, json_object_unref);
  cf_json_parsed_members_clear (self->members, self->n_members);
  g_clear_pointer (&self->lazy_params, lazy_object_free);
  g_clear_pointer (&self->lazy_meta, lazy_object_free);
  g_clear_pointer (&self->text, g_bytes_unref);
}

CfJsonrpcMessage *
cf_jsonrpc_message_ref (CfJsonrpcMessage *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
cf_jsonrpc_message_unref (CfJsonrpcMessage *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify) cf_jsonrpc_message_clear);
}

static gboolean
invalid (GError    **error,
         int         code,
         const char *message)
{
  g_set_error_literal (error, CF_JSONRPC_ERROR, code, message);
  return FALSE;
}

static gboolean
valid_id (JsonNode *id)
{
  /* MCP forbids null ids; JSON-RPC forbids fractional ones. */
  return cf_json_node_is_string (id) || cf_json_node_is_integer (id);
}

/* A message's members: those of its tree's object, or those it read
 * from text (the last of a repeated name, as the tree keeps it). */
static const CfJsonParsedMember *
text_member (CfJsonrpcMessage *self,
             const char       *name)
{
  gsize length = strlen (name);

  for (guint i = self->n_members; i > 0; i--)
    {
      const CfJsonParsedMember *m = &self->members[i - 1];

      if (m->name_length == length && memcmp (m->name, name, length) == 0)
        return m;
    }
  return NULL;
}

static JsonNode *
member (CfJsonrpcMessage *self,
        JsonObject       *object,
        const char       *name)
{
  const CfJsonParsedMember *m;

  if (object != NULL)
    return json_object_get_member (object, name);
  m = text_member (self, name);
  return m != NULL ? m->value : NULL;
}

/* The members of a message's params, as its envelope's scan found them
 * (%NULL: more than are kept apart) */
typedef struct {
  CfJsonMember members[CF_JSONRPC_MAX_PARAMS];
  guint        n;
} ScannedParams;

/* Reads the params of a message read from text: where each member lies,
 * to be parsed when asked for; or the whole tree, when they are too many
 * to keep apart or a name has an escape. */
static gboolean
read_params (CfJsonrpcMessage         *self,
             const CfJsonParsedMember *params,
             const ScannedParams      *scanned)
{
  g_autoptr(JsonNode) tree = NULL;

  if (params->text[0] != '{')
    return FALSE;
  if (scanned != NULL)
    self->lazy_params = lazy_object_new_from_members (scanned->members, scanned->n);
  if (self->lazy_params != NULL)
    return TRUE;
  tree = cf_json_parse (params->text, params->text_length, NULL);
  if (tree == NULL)
    return FALSE;
  json_node_seal (tree);
  self->params = json_object_ref (json_node_get_object (tree));
  return TRUE;
}

static gboolean
parse_members (CfJsonrpcMessage    *self,
               JsonObject          *object,
               const ScannedParams *scanned,
               GError             **error)
{
  JsonNode *method = member (self, object, "method");
  JsonNode *params = member (self, object, "params");
  const CfJsonParsedMember *params_text = object == NULL ? text_member (self, "params") : NULL;
  JsonNode *id = member (self, object, "id");
  JsonNode *version = member (self, object, "jsonrpc");
  JsonNode *result = member (self, object, "result");
  JsonNode *failure = member (self, object, "error");

  if (!cf_json_node_is_string (version) || g_strcmp0 (json_node_get_string (version), "2.0") != 0)
    return invalid (error, CF_JSONRPC_INVALID_REQUEST,
                    "Invalid Request: \"jsonrpc\" must be \"2.0\"");

  if (method != NULL)
    {
      if (!cf_json_node_is_string (method) || *json_node_get_string (method) == '\0')
        return invalid (error, CF_JSONRPC_INVALID_REQUEST,
                        "Invalid Request: \"method\" must be a non-empty string");
      if (id != NULL && !valid_id (id))
        return invalid (error, CF_JSONRPC_INVALID_REQUEST,
                        "Invalid Request: \"id\" must be a string or an integer");
      if (params != NULL && !JSON_NODE_HOLDS_OBJECT (params))
        return invalid (error, CF_JSONRPC_INVALID_PARAMS,
                        "Invalid params: \"params\" must be an object");
      if (params_text != NULL && !read_params (self, params_text, scanned))
        return invalid (error, CF_JSONRPC_INVALID_PARAMS,
                        "Invalid params: \"params\" must be an object");

      self->kind = id != NULL ? CF_JSONRPC_KIND_REQUEST : CF_JSONRPC_KIND_NOTIFICATION;
      self->method = json_node_get_string (method);
      if (params != NULL)
        self->params = json_object_ref (json_node_get_object (params));
      self->id = id;
      return TRUE;
    }

  if (result != NULL)
    {
      if (!valid_id (id))
        return invalid (error, CF_JSONRPC_INVALID_REQUEST,
                        "Invalid Request: a response needs a string or integer \"id\"");
      self->kind = CF_JSONRPC_KIND_RESULT;
      self->result = result;
      self->id = id;
      return TRUE;
    }

  if (failure != NULL)
    {
      JsonObject *err = JSON_NODE_HOLDS_OBJECT (failure) ? json_node_get_object (failure) : NULL;
      gint64 code;

      if (err == NULL || !cf_json_object_get_int (err, "code", &code) ||
          cf_json_object_get_string (err, "message") == NULL)
        return invalid (error, CF_JSONRPC_INVALID_REQUEST,
                        "Invalid Request: \"error\" needs an integer code and a message");
      self->kind = CF_JSONRPC_KIND_ERROR;
      self->error = err;
      self->id = id != NULL && valid_id (id) ? id : NULL;
      return TRUE;
    }

  return invalid (error, CF_JSONRPC_INVALID_REQUEST,
                  "Invalid Request: neither a request, a notification nor a response");
}

/**
 * cf_jsonrpc_message_new:
 * @node: a parsed JSON value
 * @error: return location for a %CF_JSONRPC_ERROR
 *
 * Validates @node as one JSON-RPC 2.0 message.
 *
 * Returns: (transfer full) (nullable): the message, or %NULL with @error
 *   set to %CF_JSONRPC_INVALID_REQUEST or %CF_JSONRPC_INVALID_PARAMS
 */
CfJsonrpcMessage *
cf_jsonrpc_message_new (JsonNode  *node,
                        GError   **error)
{
  g_autoptr(CfJsonrpcMessage) self = NULL;

  g_return_val_if_fail (node != NULL, NULL);

  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      invalid (error, CF_JSONRPC_INVALID_REQUEST,
               "Invalid Request: a JSON-RPC message must be an object");
      return NULL;
    }

  self = g_atomic_rc_box_new0 (CfJsonrpcMessage);
  self->node = json_node_ref (node);
  if (!parse_members (self, json_node_get_object (node), NULL, error))
    return NULL;

  return g_steal_pointer (&self);
}

/**
 * cf_jsonrpc_message_new_from_bytes:
 * @bytes: the text of one message
 *
 * Reads and validates one JSON-RPC 2.0 message from text without making a
 * tree of its envelope: one scan finds its members and those of its
 * params (cf_json_scan_object_nested()); the envelope's few values are
 * read on their own (cf_json_member_parse()), and the params' members
 * are parsed when they are asked for (cf_jsonrpc_message_get_param()), or
 * passed on as they were written (cf_jsonrpc_message_dup_param_text()).
 * The message keeps @bytes. Cheaper by several objects per message than
 * cf_json_parse() and cf_jsonrpc_message_new(), which answer everything
 * this leaves to them.
 *
 * Returns: (transfer full) (nullable): the message; %NULL when @bytes
 *   is not a valid message of at most %CF_JSONRPC_MAX_MEMBERS members and
 *   %CF_JSONRPC_MAX_PARAMS params with plain names, "params" once (a
 *   batch, bad JSON, an invalid message...): the caller reads it the
 *   other way, which tells why
 */
CfJsonrpcMessage *
cf_jsonrpc_message_new_from_bytes (GBytes *bytes)
{
  g_autoptr(CfJsonrpcMessage) self = NULL;
  CfJsonMember envelope[CF_JSONRPC_MAX_MEMBERS];
  ScannedParams params;
  const ScannedParams *scanned = &params;
  gboolean has_params = FALSE;
  gsize length;
  const char *data;
  guint n;

  g_return_val_if_fail (bytes != NULL, NULL);

  data = g_bytes_get_data (bytes, &length);
  if (length == 0)
    return NULL;
  if (!cf_json_scan_object_nested (data, length, "params", envelope, G_N_ELEMENTS (envelope), &n,
                                   params.members, G_N_ELEMENTS (params.members), &params.n))
    {
      /* More params than are kept apart (or no message at all): the
       * envelope alone, and then the params as a tree. */
      if (!cf_json_scan_object (data, length, envelope, G_N_ELEMENTS (envelope), &n))
        return NULL;
      scanned = NULL;
    }

  self = g_atomic_rc_box_new0 (CfJsonrpcMessage);
  self->text = g_bytes_ref (bytes);
  for (guint i = 0; i < n; i++)
    {
      const CfJsonMember *m = &envelope[i];
      CfJsonParsedMember *kept = &self->members[self->n_members];
      gboolean is_params = cf_json_member_is (m, "params");

      /* The scan read the first params only, a tree keeps the last. */
      if (m->name_escaped || (is_params && has_params))
        return NULL;
      has_params |= is_params;
      kept->name = m->name;
      kept->name_length = m->name_length;
      kept->text = m->value;
      kept->text_length = m->value_length;
      kept->value = is_params ? NULL : cf_json_member_parse (m);
      self->n_members++;
    }
  if (!parse_members (self, NULL, scanned, NULL))
    return NULL;
  return g_steal_pointer (&self);
}

/**
 * cf_jsonrpc_message_get_params:
 * @self: a request or notification
 *
 * The whole params object, made from its members the first time it is
 * asked for when the message was read from text. Readers of a member or
 * two ask for it alone (cf_jsonrpc_message_get_param()).
 *
 * Returns: (transfer none) (nullable): the params, immutable; %NULL when
 *   the message has none
 */
JsonObject *
cf_jsonrpc_message_get_params (CfJsonrpcMessage *self)
{
  g_return_val_if_fail (self != NULL, NULL);

  if (self->params == NULL && self->lazy_params != NULL)
    {
      LazyObject *lazy = self->lazy_params;
      JsonObject *params = json_object_new ();

      for (guint i = 0; i < lazy->n; i++)
        {
          const CfJsonMember *m = &lazy->members[i].text;
          g_autofree char *name = g_strndup (m->name, m->name_length);
          JsonNode *value = lazy_object_get (lazy, i);

          if (value != NULL)
            json_object_set_member (params, name, json_node_ref (value));
        }
      json_object_seal (params);
      self->params = params;
    }
  return self->params;
}

/**
 * cf_jsonrpc_message_get_param:
 * @self: a request or notification
 * @name: a member of its params
 *
 * Returns: (transfer none) (nullable): the member's value, immutable;
 *   %NULL when the params have no such member
 */
JsonNode *
cf_jsonrpc_message_get_param (CfJsonrpcMessage *self,
                              const char       *name)
{
  guint index;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->params != NULL)
    return json_object_get_member (self->params, name);
  if (self->lazy_params == NULL || !lazy_object_find (self->lazy_params, name, &index))
    return NULL;
  return lazy_object_get (self->lazy_params, index);
}

/**
 * cf_jsonrpc_message_get_param_string:
 * @self: a request or notification
 * @name: a member of its params
 *
 * Returns: (transfer none) (nullable): the member's value if it is a
 *   string
 */
const char *
cf_jsonrpc_message_get_param_string (CfJsonrpcMessage *self,
                                     const char       *name)
{
  JsonNode *value = cf_jsonrpc_message_get_param (self, name);

  return cf_json_node_is_string (value) ? json_node_get_string (value) : NULL;
}

/**
 * cf_jsonrpc_message_get_param_object:
 * @self: a request or notification
 * @name: a member of its params
 *
 * Returns: (transfer none) (nullable): the member's value if it is an
 *   object
 */
JsonObject *
cf_jsonrpc_message_get_param_object (CfJsonrpcMessage *self,
                                     const char       *name)
{
  JsonNode *value = cf_jsonrpc_message_get_param (self, name);

  return cf_json_node_is_object (value) ? json_node_get_object (value) : NULL;
}

/**
 * cf_jsonrpc_message_dup_param_text:
 * @self: a request or notification
 * @name: a member of its params
 *
 * The member's value as JSON text, to be passed on: as the client wrote
 * it when the message was read from text (sharing the message's bytes,
 * nothing is parsed or copied), written from the tree otherwise.
 *
 * Returns: (transfer full) (nullable): the value's text; %NULL when the
 *   params have no such member
 */
GBytes *
cf_jsonrpc_message_dup_param_text (CfJsonrpcMessage *self,
                                   const char       *name)
{
  const CfJsonMember *member;
  const char *data;
  guint index;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  if (self->params != NULL)
    {
      JsonNode *value = json_object_get_member (self->params, name);

      return value != NULL ? cf_json_to_bytes (value) : NULL;
    }
  if (self->lazy_params == NULL || !lazy_object_find (self->lazy_params, name, &index))
    return NULL;
  member = &((LazyObject *) self->lazy_params)->members[index].text;
  data = g_bytes_get_data (self->text, NULL);
  return g_bytes_new_from_bytes (self->text, member->value - data, member->value_length);
}

/* The params' _meta read from text, or %NULL when the message has a tree
 * (or the _meta is too big to read lazily, or is no object) */
static LazyObject *
lazy_meta (CfJsonrpcMessage *self)
{
  guint index;

  if (!self->meta_read && self->lazy_params != NULL &&
      lazy_object_find (self->lazy_params, "_meta", &index))
    {
      const CfJsonMember *m = &((LazyObject *) self->lazy_params)->members[index].text;

      self->lazy_meta = lazy_object_new (m->value, m->value_length);
    }
  self->meta_read = TRUE;
  return self->lazy_meta;
}

/**
 * cf_jsonrpc_message_get_meta:
 * @self: a request or notification
 * @name: a member of its params' `_meta`
 *
 * Reads one member of `_meta`, which MCP puts in every kind of params
 * and a 2026-07-28 request fills on every call, without the rest of it:
 * from text, `_meta` is read member by member as params are.
 *
 * Returns: (transfer none) (nullable): the member's value, immutable;
 *   %NULL without `_meta`, when it is no object, or without the member
 */
JsonNode *
cf_jsonrpc_message_get_meta (CfJsonrpcMessage *self,
                             const char       *name)
{
  LazyObject *meta;
  guint index;

  g_return_val_if_fail (self != NULL, NULL);
  g_return_val_if_fail (name != NULL, NULL);

  meta = lazy_meta (self);
  if (meta == NULL)
    {
      JsonObject *object = cf_jsonrpc_message_get_param_object (self, "_meta");

      return object != NULL ? json_object_get_member (object, name) : NULL;
    }
  if (!lazy_object_find (meta, name, &index))
    return NULL;
  return lazy_object_get (meta, index);
}

/**
 * cf_jsonrpc_message_get_meta_string:
 * @self: a request or notification
 * @name: a member of its params' `_meta`
 *
 * Returns: (transfer none) (nullable): the member's value if it is a
 *   string
 */
const char *
cf_jsonrpc_message_get_meta_string (CfJsonrpcMessage *self,
                                    const char       *name)
{
  JsonNode *value = cf_jsonrpc_message_get_meta (self, name);

  return cf_json_node_is_string (value) ? json_node_get_string (value) : NULL;
}

/**
 * cf_jsonrpc_message_meta_is_object:
 * @self: a request or notification
 * @name: a member of its params' `_meta`
 *
 * Whether the member is an object, told without parsing it when the
 * message was read from text.
 */
gboolean
cf_jsonrpc_message_meta_is_object (CfJsonrpcMessage *self,
                                   const char       *name)
{
  LazyObject *meta;
  guint index;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (name != NULL, FALSE);

  meta = lazy_meta (self);
  if (meta == NULL)
    return cf_json_node_is_object (cf_jsonrpc_message_get_meta (self, name));
  return lazy_object_find (meta, name, &index) && meta->members[index].text.value[0] == '{';
}

/**
 * cf_jsonrpc_peek_id:
 * @node: any JSON value
 *
 * Finds a usable id in a message that failed validation, so that the error
 * response can still name the request.
 *
 * Returns: (transfer none) (nullable): the id
 */
JsonNode *
cf_jsonrpc_peek_id (JsonNode *node)
{
  JsonNode *id;

  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return NULL;
  id = json_object_get_member (json_node_get_object (node), "id");
  return valid_id (id) ? id : NULL;
}

static JsonObject *
new_envelope (JsonNode *id)
{
  JsonObject *object = json_object_new ();

  json_object_set_string_member (object, "jsonrpc", "2.0");
  if (id != NULL)
    json_object_set_member (object, "id", json_node_copy (id));
  return object;
}

/**
 * cf_jsonrpc_build_result:
 * @id: the request id
 * @result: (transfer full): the result object
 *
 * Returns: (transfer full): a response message
 */
JsonNode *
cf_jsonrpc_build_result (JsonNode   *id,
                         JsonObject *result)
{
  JsonObject *object = new_envelope (id);

  json_object_set_object_member (object, "result", result);
  return cf_json_node_new_object (object);
}

/**
 * cf_jsonrpc_begin_result:
 * @id: (nullable): the request id
 * @size_hint: how many bytes the result's members will take, about
 *
 * Starts a response written as text, for a result whose members are
 * mostly serialized already: what follows are the result's members, as
 * in an object without its braces, then cf_jsonrpc_end_result().
 *
 * Returns: (transfer full): the response so far
 */
GString *
cf_jsonrpc_begin_result (JsonNode *id,
                         gsize     size_hint)
{
  GString *out = g_string_sized_new (size_hint + 256);

  g_string_append (out, "{\"jsonrpc\":\"2.0\"");
  if (id != NULL)
    {
      g_string_append (out, ",\"id\":");
      cf_json_append (out, id);
    }
  g_string_append (out, ",\"result\":{");
  return out;
}

/**
 * cf_jsonrpc_end_result:
 * @out: (transfer full): a response from cf_jsonrpc_begin_result(), its
 *   result's members written
 *
 * Returns: (transfer full): the serialized response
 */
GBytes *
cf_jsonrpc_end_result (GString *out)
{
  g_string_append (out, "}}");
  return g_string_free_to_bytes (out);
}

/* A response whose result begins with @text, serialized already: the
 * value of @member, or (no @member) members as a list ("a":1,"b":2),
 * possibly empty. The members of @result follow. */
static GBytes *
build_spliced (JsonNode   *id,
               JsonObject *result,
               const char *member,
               GBytes     *text)
{
  g_autoptr(JsonObject) owned = result;
  gsize text_length = 0;
  const char *text_data = g_bytes_get_data (text, &text_length);
  GString *out = cf_jsonrpc_begin_result (id, text_length);

  if (member != NULL)
    {
      g_string_append_c (out, '"');
      g_string_append (out, member);
      g_string_append (out, "\":");
    }
  g_string_append_len (out, text_data, text_length);
  /* The rest of the result, written straight after it. */
  cf_json_append_members (out, result, NULL, member != NULL || text_length > 0);
  return cf_jsonrpc_end_result (out);
}

/**
 * cf_jsonrpc_build_result_spliced:
 * @id: the request id
 * @result: (transfer full): the result object, without @member
 * @member: the name of one more member of the result: letters only
 * @value: the serialized JSON value of @member
 *
 * A response one of whose result's members is already serialized: @value
 * is written as it is, never parsed again.
 *
 * Returns: (transfer full): the serialized response
 */
GBytes *
cf_jsonrpc_build_result_spliced (JsonNode   *id,
                                 JsonObject *result,
                                 const char *member,
                                 GBytes     *value)
{
  g_return_val_if_fail (strpbrk (member, "\"\\") == NULL, NULL);

  return build_spliced (id, result, member, value);
}

/**
 * cf_jsonrpc_build_result_with_members:
 * @id: the request id
 * @result: (transfer full): some of the result's members
 * @members: the others, serialized as in an object without its braces
 *   ("a":1,"b":2), possibly none; no name in both
 *
 * A response part of whose result passes through as it was written.
 *
 * Returns: (transfer full): the serialized response
 */
GBytes *
cf_jsonrpc_build_result_with_members (JsonNode   *id,
                                      JsonObject *result,
                                      GBytes     *members)
{
  return build_spliced (id, result, NULL, members);
}

/**
 * cf_jsonrpc_build_error:
 * @id: (nullable): the request id, %NULL when it could not be read
 * @code: a #CfJsonrpcCode or an application code
 * @message: a short description
 * @data: (transfer full) (nullable): extra data
 *
 * Returns: (transfer full): an error response; its "id" is null when @id is
 *   %NULL, as JSON-RPC requires
 */
JsonNode *
cf_jsonrpc_build_error (JsonNode   *id,
                        int         code,
                        const char *message,
                        JsonNode   *data)
{
  JsonObject *object = new_envelope (id);
  JsonObject *error = json_object_new ();

  if (id == NULL)
    json_object_set_null_member (object, "id");
  json_object_set_int_member (error, "code", code);
  json_object_set_string_member (error, "message", message);
  if (data != NULL)
    json_object_set_member (error, "data", data);
  json_object_set_object_member (object, "error", error);
  return cf_json_node_new_object (object);
}

/**
 * cf_jsonrpc_build_error_from_gerror:
 * @id: (nullable): the request id
 * @error: an error; %CF_JSONRPC_ERROR codes are used as they are, any other
 *   domain becomes an internal error
 *
 * Returns: (transfer full): an error response
 */
JsonNode *
cf_jsonrpc_build_error_from_gerror (JsonNode     *id,
                                    const GError *error)
{
  int code = CF_JSONRPC_INTERNAL_ERROR;

  if (error->domain == CF_JSONRPC_ERROR)
    code = error->code;
  else if (error->domain == CF_JSON_ERROR)
    code = CF_JSONRPC_PARSE_ERROR;

  return cf_jsonrpc_build_error (id, code, error->message, NULL);
}

/**
 * cf_jsonrpc_build_notification:
 * @method: the notification method
 * @params: (transfer full) (nullable): its params
 *
 * Returns: (transfer full): a notification message
 */
JsonNode *
cf_jsonrpc_build_notification (const char *method,
                               JsonObject *params)
{
  return cf_jsonrpc_build_request (NULL, method, params);
}

/**
 * cf_jsonrpc_build_request:
 * @id: (nullable): the id; %NULL builds a notification
 * @method: the method
 * @params: (transfer full) (nullable): its params
 *
 * Returns: (transfer full): a request message
 */
JsonNode *
cf_jsonrpc_build_request (JsonNode   *id,
                          const char *method,
                          JsonObject *params)
{
  JsonObject *object = new_envelope (id);

  json_object_set_string_member (object, "method", method);
  if (params != NULL)
    json_object_set_object_member (object, "params", params);
  return cf_json_node_new_object (object);
}
