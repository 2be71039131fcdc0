/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/* Deeper documents are refused: the parser recurses once per level, so a
 * hostile 100,000-deep array would otherwise exhaust the stack. */
#define CF_JSON_MAX_DEPTH 128

#define CF_JSON_ERROR (cf_json_error_quark ())

/**
 * CfJsonError:
 * @CF_JSON_ERROR_SYNTAX: not well-formed JSON
 * @CF_JSON_ERROR_ENCODING: the text is not valid UTF-8
 * @CF_JSON_ERROR_DEPTH: nesting deeper than %CF_JSON_MAX_DEPTH
 * @CF_JSON_ERROR_EMPTY: no JSON value at all
 */
typedef enum {
  CF_JSON_ERROR_SYNTAX,
  CF_JSON_ERROR_ENCODING,
  CF_JSON_ERROR_DEPTH,
  CF_JSON_ERROR_EMPTY,
} CfJsonError;

GQuark       cf_json_error_quark          (void);

/**
 * CfJsonMember:
 * @name: the member's name as written, after its opening quote
 * @name_length: its length in bytes, up to the closing quote
 * @name_escaped: whether the name contains an escape (so that it cannot
 *   be compared as it is written)
 * @value: the member's value as written
 * @value_length: its length in bytes
 *
 * Where a member of a scanned object lies in its text
 * (cf_json_scan_object()).
 */
typedef struct {
  const char *name;
  gsize       name_length;
  gboolean    name_escaped;
  const char *value;
  gsize       value_length;
} CfJsonMember;

/**
 * CfJsonParsedMember:
 * @name: the member's name as written (no escapes), after its opening
 *   quote
 * @name_length: its length in bytes
 * @value: (transfer full) (nullable): its value, parsed and sealed
 *   (cf_json_member_parse()); %NULL for a member left unparsed
 * @text: the value as written
 * @text_length: its length in bytes
 *
 * A member of a scanned object that its reader keeps, its value read or
 * left as text (a JSON-RPC message's envelope).
 */
typedef struct {
  const char *name;
  gsize       name_length;
  JsonNode   *value;
  const char *text;
  gsize       text_length;
} CfJsonParsedMember;

JsonNode    *cf_json_parse                (const char  *data,
                                           gssize       length,
                                           GError     **error);
void         cf_json_parsed_members_clear (CfJsonParsedMember *members,
                                           guint               n_members);
char        *cf_json_to_string            (JsonNode    *node,
                                           gsize       *length);
GBytes      *cf_json_to_bytes             (JsonNode    *node);
void         cf_json_append               (GString     *out,
                                           JsonNode    *node);
void         cf_json_append_string        (GString     *out,
                                           const char  *string);
void         cf_json_append_int           (GString     *out,
                                           gint64       value);

/* Room for any gint64 in decimal, with its sign */
#define CF_JSON_INT_SIZE 21

gsize        cf_json_format_int           (char        *buf,
                                           gint64       value);
gboolean     cf_json_append_members       (GString     *out,
                                           JsonObject  *object,
                                           const char  *skip,
                                           gboolean     after_other);
char        *cf_json_object_to_string     (JsonObject  *object);
gboolean     cf_json_scan_object          (const char   *data,
                                           gsize         length,
                                           CfJsonMember *members,
                                           guint         max_members,
                                           guint        *n_members);
gboolean     cf_json_scan_object_nested   (const char   *data,
                                           gsize         length,
                                           const char   *name,
                                           CfJsonMember *members,
                                           guint         max_members,
                                           guint        *n_members,
                                           CfJsonMember *inner,
                                           guint         max_inner,
                                           guint        *n_inner);
JsonNode    *cf_json_member_parse         (const CfJsonMember *member);
gboolean     cf_json_member_is            (const CfJsonMember *member,
                                           const char         *name);

const char  *cf_json_object_get_string    (JsonObject  *object,
                                           const char  *member);
JsonObject  *cf_json_object_get_object    (JsonObject  *object,
                                           const char  *member);
JsonArray   *cf_json_object_get_array     (JsonObject  *object,
                                           const char  *member);
gboolean     cf_json_object_get_bool      (JsonObject  *object,
                                           const char  *member,
                                           gboolean     default_value);
gboolean     cf_json_object_get_int       (JsonObject  *object,
                                           const char  *member,
                                           gint64      *out_value);
gboolean     cf_json_node_is_string       (JsonNode    *node);
gboolean     cf_json_node_is_integer      (JsonNode    *node);
gboolean     cf_json_node_is_object       (JsonNode    *node);
JsonNode    *cf_json_node_new_object      (JsonObject  *object);
JsonNode    *cf_json_node_deep_copy       (JsonNode    *node);
JsonObject  *cf_json_object_deep_copy     (JsonObject  *object);
JsonObject  *cf_json_object_shallow_copy  (JsonObject  *object,
                                          const char  *skip);
JsonNode    *cf_json_node_new_string      (const char  *value);
char        *cf_json_node_to_id_string    (JsonNode    *node);
const char  *cf_json_node_type_name       (JsonNode    *node);

G_END_DECLS
