/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-store"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-store-private.h"

/*
 * One table of fields per entity kind drives everything: validation of a
 * put, the generated SQL, binding, and decoding a row back into JSON. A new
 * field is one line here plus a column in a migration.
 */

typedef enum {
  FIELD_STRING,
  FIELD_INT,
  FIELD_BOOL,
  FIELD_OBJECT,
  FIELD_ARRAY,
  FIELD_BASE64,
} FieldType;

typedef enum {
  FIELD_OPTIONAL,
  FIELD_REQUIRED,
  FIELD_DEFAULT,
} FieldPresence;

typedef struct
{
  const char    *member;
  const char    *column;
  FieldType      type;
  FieldPresence  presence;
  const char    *default_string;
  gint64         default_int;
  /* Few distinct values: a load shares one node per value */
  gboolean       shared;
} Field;

typedef struct
{
  const char         *table;
  const Field        *fields;
  guint               n_fields;
  const CfStoreAssoc *assocs;
  guint               n_assocs;
} KindInfo;

typedef enum {
  VALUE_NULL,
  VALUE_INT,
  VALUE_TEXT,
  VALUE_BLOB,
} ValueKind;

typedef struct {
  ValueKind kind;
  gint64    number;
  /* A text or blob: where it lies in the row's data */
  gsize     offset;
  gsize     length;
} Value;

/* A row is three allocations whatever its width: a sync writes tens of
 * thousands at once, and they are all alive until the write is done. */
struct _CfStoreRow
{
  CfEntityKind   kind;
  /* One per field, in table order */
  Value         *values;
  /* The texts (each NUL-terminated) and blobs, back to back */
  GString       *data;
  GStrv          assoc_ids[CF_STORE_N_ASSOCS];
};

#define OPT(m, c, t)    { m, c, t, FIELD_OPTIONAL, NULL, 0, FALSE }
#define REQ(m, c, t)    { m, c, t, FIELD_REQUIRED, NULL, 0, FALSE }
#define OPT_SHARED(m, c, t) { m, c, t, FIELD_OPTIONAL, NULL, 0, TRUE }
#define REQ_SHARED(m, c, t) { m, c, t, FIELD_REQUIRED, NULL, 0, TRUE }
#define DEF_STR(m, c, d) { m, c, FIELD_STRING, FIELD_DEFAULT, d, 0, TRUE }
#define DEF_INT(m, c, t, d) { m, c, t, FIELD_DEFAULT, NULL, d, TRUE }

/* The id must come first: statements bind it as ?1. */
#define ID_FIELD \
  REQ ("id", "id", FIELD_STRING)

#define OWNERSHIP_FIELDS \
  OPT_SHARED ("teamId", "team_id", FIELD_STRING), \
  OPT_SHARED ("ownerEmail", "owner_email", FIELD_STRING), \
  DEF_STR ("visibility", "visibility", "public")

#define AUDIT_FIELDS \
  REQ_SHARED ("createdAt", "created_at", FIELD_STRING), \
  REQ_SHARED ("updatedAt", "updated_at", FIELD_STRING), \
  DEF_INT ("version", "version", FIELD_INT, 1)

static const Field tool_fields[] = {
  ID_FIELD,
  REQ ("name", "name", FIELD_STRING),
  OPT ("originalName", "original_name", FIELD_STRING),
  OPT ("customName", "custom_name", FIELD_STRING),
  OPT ("displayName", "display_name", FIELD_STRING),
  OPT ("title", "title", FIELD_STRING),
  OPT ("description", "description", FIELD_STRING),
  OPT ("url", "url", FIELD_STRING),
  DEF_STR ("integrationType", "integration_type", "REST"),
  OPT_SHARED ("requestType", "request_type", FIELD_STRING),
  OPT ("headers", "headers", FIELD_OBJECT),
  OPT ("inputSchema", "input_schema", FIELD_OBJECT),
  OPT ("outputSchema", "output_schema", FIELD_OBJECT),
  OPT ("annotations", "annotations", FIELD_OBJECT),
  OPT ("jsonpathFilter", "jsonpath_filter", FIELD_STRING),
  OPT ("auth", "auth", FIELD_OBJECT),
  OPT_SHARED ("gatewayId", "gateway_id", FIELD_STRING),
  DEF_INT ("enabled", "enabled", FIELD_BOOL, TRUE),
  DEF_INT ("reachable", "reachable", FIELD_BOOL, TRUE),
  OPT ("tags", "tags", FIELD_ARRAY),
  OWNERSHIP_FIELDS,
  OPT ("timeoutMs", "timeout_ms", FIELD_INT),
  AUDIT_FIELDS,
};

static const Field resource_fields[] = {
  ID_FIELD,
  REQ ("uri", "uri", FIELD_STRING),
  REQ ("name", "name", FIELD_STRING),
  OPT ("description", "description", FIELD_STRING),
  OPT ("title", "title", FIELD_STRING),
  OPT ("mimeType", "mime_type", FIELD_STRING),
  OPT ("uriTemplate", "uri_template", FIELD_STRING),
  OPT ("text", "text_content", FIELD_STRING),
  OPT ("blob", "binary_content", FIELD_BASE64),
  OPT ("size", "size", FIELD_INT),
  DEF_INT ("enabled", "enabled", FIELD_BOOL, TRUE),
  OPT ("tags", "tags", FIELD_ARRAY),
  OPT_SHARED ("gatewayId", "gateway_id", FIELD_STRING),
  OWNERSHIP_FIELDS,
  AUDIT_FIELDS,
};

static const Field prompt_fields[] = {
  ID_FIELD,
  REQ ("name", "name", FIELD_STRING),
  OPT ("originalName", "original_name", FIELD_STRING),
  OPT ("customName", "custom_name", FIELD_STRING),
  OPT ("displayName", "display_name", FIELD_STRING),
  OPT ("title", "title", FIELD_STRING),
  OPT ("description", "description", FIELD_STRING),
  OPT ("template", "template", FIELD_STRING),
  OPT ("arguments", "arguments", FIELD_ARRAY),
  DEF_INT ("enabled", "enabled", FIELD_BOOL, TRUE),
  OPT ("tags", "tags", FIELD_ARRAY),
  OPT_SHARED ("gatewayId", "gateway_id", FIELD_STRING),
  OWNERSHIP_FIELDS,
  AUDIT_FIELDS,
};

static const Field server_fields[] = {
  ID_FIELD,
  REQ ("name", "name", FIELD_STRING),
  OPT ("description", "description", FIELD_STRING),
  OPT ("icon", "icon", FIELD_STRING),
  DEF_INT ("enabled", "enabled", FIELD_BOOL, TRUE),
  OPT ("tags", "tags", FIELD_ARRAY),
  OWNERSHIP_FIELDS,
  AUDIT_FIELDS,
};

static const Field gateway_fields[] = {
  ID_FIELD,
  REQ ("name", "name", FIELD_STRING),
  OPT ("slug", "slug", FIELD_STRING),
  OPT ("url", "url", FIELD_STRING),
  OPT ("description", "description", FIELD_STRING),
  OPT ("transport", "transport", FIELD_STRING),
  OPT ("capabilities", "capabilities", FIELD_OBJECT),
  DEF_INT ("enabled", "enabled", FIELD_BOOL, TRUE),
  DEF_INT ("reachable", "reachable", FIELD_BOOL, TRUE),
  OPT ("authType", "auth_type", FIELD_STRING),
  OPT ("authValue", "auth_value", FIELD_STRING),
  OPT ("passthroughHeaders", "passthrough_headers", FIELD_ARRAY),
  OPT ("tags", "tags", FIELD_ARRAY),
  OWNERSHIP_FIELDS,
  OPT ("lastSeen", "last_seen", FIELD_STRING),
  OPT ("command", "command", FIELD_STRING),
  OPT ("args", "args", FIELD_ARRAY),
  OPT ("env", "env", FIELD_OBJECT),
  OPT ("cwd", "cwd", FIELD_STRING),
  DEF_STR ("prefixMode", "prefix_mode", "always"),
  OPT ("statusMessage", "status_message", FIELD_STRING),
  OPT ("discoveredPeerId", "discovered_peer_id", FIELD_STRING),
  OPT ("discoveredAddress", "discovered_address", FIELD_STRING),
  DEF_INT ("toolCount", "tool_count", FIELD_INT, 0),
  DEF_STR ("stdioSharing", "stdio_sharing", "shared"),
  DEF_INT ("stdioPoolSize", "stdio_pool_size", FIELD_INT, 4),
  DEF_INT ("maxConcurrency", "max_concurrency", FIELD_INT, 0),
  AUDIT_FIELDS,
};

#define ASSOC(member, table, column) \
  { member, \
    "DELETE FROM " table " WHERE server_id = ?1", \
    /* OR IGNORE folds duplicate ids; it does not cover foreign keys. */ \
    "INSERT OR IGNORE INTO " table " (server_id, " column ") VALUES (?1, ?2)", \
    "SELECT " column " FROM " table " WHERE server_id = ?1 ORDER BY rowid" }

static const CfStoreAssoc server_assocs[CF_STORE_N_ASSOCS] = {
  ASSOC ("associatedTools", "server_tool_association", "tool_id"),
  ASSOC ("associatedResources", "server_resource_association", "resource_id"),
  ASSOC ("associatedPrompts", "server_prompt_association", "prompt_id"),
};

static const KindInfo kinds[CF_N_ENTITY_KINDS] = {
  [CF_ENTITY_TOOL] = { "tools", tool_fields, G_N_ELEMENTS (tool_fields), NULL, 0 },
  [CF_ENTITY_RESOURCE] = { "resources", resource_fields, G_N_ELEMENTS (resource_fields), NULL, 0 },
  [CF_ENTITY_PROMPT] = { "prompts", prompt_fields, G_N_ELEMENTS (prompt_fields), NULL, 0 },
  [CF_ENTITY_SERVER] = { "servers", server_fields, G_N_ELEMENTS (server_fields),
                         server_assocs, G_N_ELEMENTS (server_assocs) },
  [CF_ENTITY_GATEWAY] = { "gateways", gateway_fields, G_N_ELEMENTS (gateway_fields), NULL, 0 },
};

static const char * const type_names[] = {
  [FIELD_STRING] = "a string",
  [FIELD_INT] = "an integer",
  [FIELD_BOOL] = "a boolean",
  [FIELD_OBJECT] = "an object",
  [FIELD_ARRAY] = "an array",
  [FIELD_BASE64] = "a base64 string",
};

static char *
build_upsert_sql (const KindInfo *info)
{
  GString *sql = g_string_new (NULL);

  g_string_append_printf (sql, "INSERT INTO %s (", info->table);
  for (guint i = 0; i < info->n_fields; i++)
    g_string_append_printf (sql, "%s%s", i ? ", " : "", info->fields[i].column);

  g_string_append (sql, ") VALUES (");
  for (guint i = 0; i < info->n_fields; i++)
    g_string_append_printf (sql, "%s?%u", i ? ", " : "", i + 1);

  /* Not INSERT OR REPLACE: replacing deletes the old row first, which
   * would cascade to a server's associations and a gateway's tools. */
  g_string_append (sql, ") ON CONFLICT (id) DO UPDATE SET ");
  for (guint i = 1; i < info->n_fields; i++)
    g_string_append_printf (sql, "%s%s = excluded.%s", i > 1 ? ", " : "",
                            info->fields[i].column, info->fields[i].column);

  return g_string_free (sql, FALSE);
}

static char *
build_select_sql (const KindInfo *info)
{
  GString *sql = g_string_new ("SELECT ");

  for (guint i = 0; i < info->n_fields; i++)
    g_string_append_printf (sql, "%s%s", i ? ", " : "", info->fields[i].column);
  g_string_append_printf (sql, " FROM %s ORDER BY created_at, id", info->table);

  return g_string_free (sql, FALSE);
}

char *
cf_store_kind_build_sql (CfEntityKind kind,
                         CfStoreSql   which)
{
  const KindInfo *info = &kinds[kind];

  switch (which)
    {
    case CF_STORE_SQL_UPSERT:
      return build_upsert_sql (info);
    case CF_STORE_SQL_SELECT_ALL:
      return build_select_sql (info);
    case CF_STORE_SQL_DELETE:
      return g_strdup_printf ("DELETE FROM %s WHERE id = ?1", info->table);
    case CF_STORE_N_SQL:
    default:
      g_assert_not_reached ();
    }
}

guint
cf_store_kind_get_n_assocs (CfEntityKind kind)
{
  return kinds[kind].n_assocs;
}

const CfStoreAssoc *
cf_store_kind_get_assoc (CfEntityKind kind,
                         guint        i)
{
  g_assert (i < kinds[kind].n_assocs);

  return &kinds[kind].assocs[i];
}

static gboolean
set_invalid (GError     **error,
             CfEntityKind kind,
             const char  *member,
             const char  *problem)
{
  g_set_error (error, CF_STORE_ERROR, CF_STORE_ERROR_INVALID,
               "%s field “%s” %s", cf_entity_kind_to_string (kind), member, problem);
  return FALSE;
}

static gboolean
is_base64 (const char *text)
{
  gsize len = strlen (text);
  gsize body = len;

  /* g_base64_decode() accepts anything and skips what it does not know;
   * silently storing other bytes than the caller sent is worse. */
  if (len % 4 != 0)
    return FALSE;
  while (body > 0 && len - body < 2 && text[body - 1] == '=')
    body--;
  for (gsize i = 0; i < body; i++)
    if (!g_ascii_isalnum (text[i]) && text[i] != '+' && text[i] != '/')
      return FALSE;
  return TRUE;
}

static gboolean
node_has_type (JsonNode  *node,
               FieldType  type)
{
  switch (type)
    {
    case FIELD_OBJECT:
      return JSON_NODE_HOLDS_OBJECT (node);
    case FIELD_ARRAY:
      return JSON_NODE_HOLDS_ARRAY (node);
    case FIELD_INT:
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_INT64;
    case FIELD_BOOL:
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_BOOLEAN;
    case FIELD_STRING:
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
             && g_utf8_validate (json_node_get_string (node), -1, NULL);
    case FIELD_BASE64:
      return JSON_NODE_HOLDS_VALUE (node) && json_node_get_value_type (node) == G_TYPE_STRING
             && is_base64 (json_node_get_string (node));
    default:
      g_assert_not_reached ();
    }
}

static void
set_data (CfStoreRow *row,
          Value      *value,
          ValueKind   kind,
          const char *data,
          gsize       length)
{
  value->kind = kind;
  value->offset = row->data->len;
  value->length = length;
  g_string_append_len (row->data, data, length);
  g_string_append_c (row->data, '\0');
}

static void
set_text (CfStoreRow *row,
          Value      *value,
          const char *text)
{
  set_data (row, value, VALUE_TEXT, text, strlen (text));
}

static void
set_int (Value  *value,
         gint64  number)
{
  value->kind = VALUE_INT;
  value->number = number;
}

static void
node_to_value (CfStoreRow *row,
               Value      *value,
               JsonNode   *node,
               FieldType   type)
{
  g_autofree guchar *data = NULL;
  gsize len;

  switch (type)
    {
    case FIELD_STRING:
      set_text (row, value, json_node_get_string (node));
      break;
    case FIELD_INT:
      set_int (value, json_node_get_int (node));
      break;
    case FIELD_BOOL:
      set_int (value, json_node_get_boolean (node));
      break;
    case FIELD_OBJECT:
    case FIELD_ARRAY:
      value->kind = VALUE_TEXT;
      value->offset = row->data->len;
      cf_json_append (row->data, node);
      value->length = row->data->len - value->offset;
      g_string_append_c (row->data, '\0');
      break;
    case FIELD_BASE64:
      data = g_base64_decode (json_node_get_string (node), &len);
      set_data (row, value, VALUE_BLOB, (const char *) data, len);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
field_default (CfStoreRow  *row,
               Value       *value,
               const Field *field)
{
  if (field->presence != FIELD_DEFAULT)
    value->kind = VALUE_NULL;
  else if (field->type == FIELD_STRING)
    set_text (row, value, field->default_string);
  else
    set_int (value, field->default_int);
}

static gboolean
field_to_value (CfStoreRow   *row,
                const Field  *field,
                JsonObject   *entity,
                Value        *value,
                GError      **error)
{
  JsonNode *node = json_object_get_member (entity, field->member);
  g_autofree char *problem = NULL;

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    {
      if (field->presence == FIELD_REQUIRED)
        return set_invalid (error, row->kind, field->member, "is required");
      field_default (row, value, field);
    }
  else if (!node_has_type (node, field->type))
    {
      problem = g_strdup_printf ("must be %s", type_names[field->type]);
      return set_invalid (error, row->kind, field->member, problem);
    }
  else
    {
      node_to_value (row, value, node, field->type);
    }
  return TRUE;
}

static gboolean
member_to_ids (CfEntityKind   kind,
               JsonObject    *entity,
               const char    *member,
               GStrv         *ids,
               GError       **error)
{
  JsonNode *node = json_object_get_member (entity, member);
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonArray *array;

  /* Absent means none: a put always replaces the whole association set. */
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      if (!JSON_NODE_HOLDS_ARRAY (node))
        return set_invalid (error, kind, member, "must be an array of ids");
      array = json_node_get_array (node);
      for (guint i = 0; i < json_array_get_length (array); i++)
        {
          JsonNode *element = json_array_get_element (array, i);

          if (!JSON_NODE_HOLDS_VALUE (element)
              || json_node_get_value_type (element) != G_TYPE_STRING)
            return set_invalid (error, kind, member, "must be an array of ids");
          g_strv_builder_add (builder, json_node_get_string (element));
        }
    }

  *ids = g_strv_builder_end (builder);
  return TRUE;
}

static gboolean
is_entity_id (const char *id)
{
  /* uuid4().hex, as ContextForge generates them. */
  if (strlen (id) != 32)
    return FALSE;
  for (guint i = 0; i < 32; i++)
    if (!g_ascii_isxdigit (id[i]))
      return FALSE;
  return TRUE;
}

static gboolean
has_value (JsonObject *entity,
           const char *member)
{
  JsonNode *node = json_object_get_member (entity, member);

  return node != NULL && !JSON_NODE_HOLDS_NULL (node);
}

static gboolean
check_row (CfStoreRow  *row,
           JsonObject  *entity,
           GError     **error)
{
  if (!is_entity_id (cf_store_row_get_id (row)))
    return set_invalid (error, row->kind, "id", "must be 32 hexadecimal digits");

  /* The table has a CHECK too, but this is the caller's mistake, not a
   * conflict with other rows. */
  if (row->kind == CF_ENTITY_RESOURCE && has_value (entity, "text") && has_value (entity, "blob"))
    return set_invalid (error, row->kind, "blob", "cannot be set together with “text”");

  return TRUE;
}

/**
 * cf_store_row_new_from_json:
 * @kind: the entity kind
 * @entity: the entity in the REST API's shape
 * @error: return location for a %CF_STORE_ERROR_INVALID error
 *
 * Checks @entity and copies its fields into column values, applying the
 * schema's defaults. Unknown members are ignored.
 *
 * Returns: (transfer full) (nullable): the row, or %NULL on error
 */
CfStoreRow *
cf_store_row_new_from_json (CfEntityKind   kind,
                            JsonObject    *entity,
                            GError       **error)
{
  const KindInfo *info = &kinds[kind];
  g_autoptr(CfStoreRow) row = g_new0 (CfStoreRow, 1);

  row->kind = kind;
  row->values = g_new0 (Value, info->n_fields);
  row->data = g_string_sized_new (1024);

  for (guint i = 0; i < info->n_fields; i++)
    if (!field_to_value (row, &info->fields[i], entity, &row->values[i], error))
      return NULL;

  for (guint i = 0; i < info->n_assocs; i++)
    if (!member_to_ids (kind, entity, info->assocs[i].member, &row->assoc_ids[i], error))
      return NULL;

  if (!check_row (row, entity, error))
    return NULL;

  /* A sync queues thousands of rows at once: each keeps what it holds,
   * not the GString's power of two (2 KiB for a typical tool). Values
   * are offsets, so moving the text is safe. */
  row->data->str = g_realloc (row->data->str, row->data->len + 1);
  row->data->allocated_len = row->data->len + 1;

  return g_steal_pointer (&row);
}

void
cf_store_row_free (CfStoreRow *row)
{
  if (row == NULL)
    return;

  g_free (row->values);
  if (row->data != NULL)
    g_string_free (row->data, TRUE);
  for (guint i = 0; i < CF_STORE_N_ASSOCS; i++)
    g_strfreev (row->assoc_ids[i]);
  g_free (row);
}

CfEntityKind
cf_store_row_get_kind (CfStoreRow *row)
{
  return row->kind;
}

const char *
cf_store_row_get_id (CfStoreRow *row)
{
  g_assert (row->values[0].kind == VALUE_TEXT);

  return row->data->str + row->values[0].offset;
}

const char * const *
cf_store_row_get_assoc_ids (CfStoreRow *row,
                            guint       i)
{
  g_assert (i < kinds[row->kind].n_assocs);

  return (const char * const *) row->assoc_ids[i];
}

static int
bind_value (sqlite3_stmt *stmt,
            int           pos,
            CfStoreRow   *row,
            const Value  *value)
{
  const char *data = row->data->str + value->offset;

  switch (value->kind)
    {
    case VALUE_NULL:
      return sqlite3_bind_null (stmt, pos);
    case VALUE_INT:
      return sqlite3_bind_int64 (stmt, pos, value->number);
    case VALUE_TEXT:
      return sqlite3_bind_text64 (stmt, pos, data, value->length, SQLITE_STATIC, SQLITE_UTF8);
    case VALUE_BLOB:
      /* An empty blob is still a blob, not NULL: a zero-length resource. */
      if (value->length == 0)
        return sqlite3_bind_zeroblob (stmt, pos, 0);
      return sqlite3_bind_blob64 (stmt, pos, data, value->length, SQLITE_STATIC);
    default:
      g_assert_not_reached ();
    }
}

/**
 * cf_store_row_bind:
 * @row: a row
 * @stmt: the kind's upsert statement
 *
 * Binds every field as ?1..?N. The values are bound without copying, so
 * @row must outlive the statement's next step.
 *
 * Returns: an SQLite result code
 */
int
cf_store_row_bind (CfStoreRow   *row,
                   sqlite3_stmt *stmt)
{
  for (guint i = 0; i < kinds[row->kind].n_fields; i++)
    {
      int rc = bind_value (stmt, i + 1, row, &row->values[i]);

      if (rc != SQLITE_OK)
        return rc;
    }
  return SQLITE_OK;
}

static void
set_json_member (JsonObject   *entity,
                 const Field  *field,
                 const char   *text)
{
  g_autoptr(GError) error = NULL;
  JsonNode *node = cf_json_parse (text, -1, &error);

  /* The column has a json_valid() CHECK; this only trips on a database
   * edited by hand with checks off. Losing one field beats losing the row. */
  if (node == NULL)
    {
      g_warning ("Ignoring unreadable JSON in column %s: %s", field->column, error->message);
      return;
    }
  json_object_set_member (entity, field->member, node);
}

/* The node of a shared field's value, made once per load: a catalog
 * synced from upstreams repeats each gateway's id, owner, flags and
 * timestamps over every entity it gave. Sealed, so that no holder can
 * change it under the others. */
static JsonNode *
shared_node (GHashTable   *shared,
             const Field  *field,
             sqlite3_stmt *stmt,
             int           col)
{
  g_autofree char *key = NULL;
  JsonNode *node;

  if (field->type == FIELD_STRING)
    key = g_strconcat ("s", (const char *) sqlite3_column_text (stmt, col), NULL);
  else
    key = g_strdup_printf ("%c%" G_GINT64_FORMAT, field->type == FIELD_BOOL ? 'b' : 'i',
                           (gint64) sqlite3_column_int64 (stmt, col));
  node = g_hash_table_lookup (shared, key);
  if (node == NULL)
    {
      node = json_node_alloc ();
      if (field->type == FIELD_STRING)
        json_node_init_string (node, key + 1);
      else if (field->type == FIELD_BOOL)
        json_node_init_boolean (node, sqlite3_column_int64 (stmt, col) != 0);
      else
        json_node_init_int (node, sqlite3_column_int64 (stmt, col));
      json_node_seal (node);
      g_hash_table_insert (shared, g_steal_pointer (&key), node);
    }
  return json_node_ref (node);
}

static void
column_to_member (JsonObject   *entity,
                  const Field  *field,
                  sqlite3_stmt *stmt,
                  int           col,
                  GHashTable   *shared)
{
  const char *text;
  g_autofree char *encoded = NULL;

  if (shared != NULL && field->shared && field->type <= FIELD_BOOL)
    {
      json_object_set_member (entity, field->member, shared_node (shared, field, stmt, col));
      return;
    }

  switch (field->type)
    {
    case FIELD_STRING:
      text = (const char *) sqlite3_column_text (stmt, col);
      json_object_set_string_member (entity, field->member, text);
      break;
    case FIELD_INT:
      json_object_set_int_member (entity, field->member, sqlite3_column_int64 (stmt, col));
      break;
    case FIELD_BOOL:
      json_object_set_boolean_member (entity, field->member, sqlite3_column_int64 (stmt, col) != 0);
      break;
    case FIELD_OBJECT:
    case FIELD_ARRAY:
      set_json_member (entity, field, (const char *) sqlite3_column_text (stmt, col));
      break;
    case FIELD_BASE64:
      /* sqlite3_column_blob() before _bytes(), as SQLite asks. */
      text = sqlite3_column_blob (stmt, col);
      encoded = g_base64_encode ((const guchar *) text, sqlite3_column_bytes (stmt, col));
      json_object_set_string_member (entity, field->member, encoded);
      break;
    default:
      g_assert_not_reached ();
    }
}

/**
 * cf_store_entity_new_from_stmt:
 * @kind: the entity kind
 * @stmt: the kind's select statement, positioned on a row
 * @shared: (nullable): the nodes of shared fields' values made so far,
 *   by value (see cf_store_entity_new_shared_table())
 *
 * Decodes the current row into the REST API's shape; NULL columns are
 * omitted. Associations are the caller's business.
 *
 * Returns: (transfer full): a new entity
 */
JsonObject *
cf_store_entity_new_from_stmt (CfEntityKind  kind,
                               sqlite3_stmt *stmt,
                               GHashTable   *shared)
{
  const KindInfo *info = &kinds[kind];
  JsonObject *entity = json_object_new ();

  for (guint i = 0; i < info->n_fields; i++)
    if (sqlite3_column_type (stmt, i) != SQLITE_NULL)
      column_to_member (entity, &info->fields[i], stmt, i, shared);

  return entity;
}

/**
 * cf_store_entity_new_shared_table:
 *
 * Returns: (transfer full): a table for cf_store_entity_new_from_stmt()
 *   to share the nodes of a load's repeated values in
 */
GHashTable *
cf_store_entity_new_shared_table (void)
{
  return g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                (GDestroyNotify) json_node_unref);
}
