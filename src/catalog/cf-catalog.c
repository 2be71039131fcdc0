/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog"

#include "config.h"

#include <string.h>

#include "cf-catalog.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-random.h"
#include "cf-slug.h"

/**
 * CfCatalog:
 *
 * The registry's single write path: REST and D-Bus both create, update and
 * delete entities here. A change is validated, checked against the current
 * snapshot for conflicts and dangling references, persisted by the store
 * (off the main thread), and only then swapped into a new snapshot, after
 * which #CfCatalog::changed fires. Readers take the snapshot and never wait.
 */
struct _CfCatalog
{
  GObject            parent_instance;

  CfStore           *store;
  CfCatalogSnapshot *snapshot;
  char              *separator;
  GQueue             pending;
  gboolean           busy;
};

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

G_DEFINE_FINAL_TYPE (CfCatalog, cf_catalog, G_TYPE_OBJECT)
G_DEFINE_QUARK (cf-catalog-error-quark, cf_catalog_error)

static const char * const kind_labels[] = {
  [CF_ENTITY_TOOL] = "Tool",
  [CF_ENTITY_RESOURCE] = "Resource",
  [CF_ENTITY_PROMPT] = "Prompt",
  [CF_ENTITY_SERVER] = "Server",
  [CF_ENTITY_GATEWAY] = "Gateway",
};

static void
cf_catalog_finalize (GObject *object)
{
  CfCatalog *self = (CfCatalog *) object;

  g_clear_object (&self->store);
  g_clear_pointer (&self->snapshot, cf_catalog_snapshot_unref);
  g_clear_pointer (&self->separator, g_free);

  G_OBJECT_CLASS (cf_catalog_parent_class)->finalize (object);
}

static void
cf_catalog_class_init (CfCatalogClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_catalog_finalize;

  /**
   * CfCatalog::changed:
   * @catalog: the catalog
   * @kind: the #CfEntityKind that changed
   *
   * A new snapshot is in place.
   */
  signals[CHANGED] = g_signal_new ("changed", G_TYPE_FROM_CLASS (klass), G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL, G_TYPE_NONE, 1, G_TYPE_UINT);
}

static void
cf_catalog_init (CfCatalog *self)
{
  GPtrArray *empty[CF_N_ENTITY_KINDS] = { NULL };

  g_queue_init (&self->pending);
  self->snapshot = cf_catalog_snapshot_new (empty);
  self->separator = g_strdup (CF_SLUG_DEFAULT_SEPARATOR);
}

/**
 * cf_catalog_new:
 * @store: (nullable): where changes persist; %NULL keeps them in memory
 *
 * Returns: (transfer full): an empty catalog; call cf_catalog_load()
 */
CfCatalog *
cf_catalog_new (CfStore *store)
{
  CfCatalog *self = g_object_new (CF_TYPE_CATALOG, NULL);

  self->store = store ? g_object_ref (store) : NULL;
  return self;
}

void
cf_catalog_set_separator (CfCatalog  *self,
                          const char *separator)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (cf_slug_separator_is_valid (separator));

  g_free (self->separator);
  self->separator = g_strdup (separator);
}

/**
 * cf_catalog_load:
 *
 * Reads every entity from the store into the first snapshot. It runs once,
 * before the gateway serves.
 */
gboolean
cf_catalog_load (CfCatalog  *self,
                 GError    **error)
{
  GPtrArray *lists[CF_N_ENTITY_KINDS] = { NULL };
  gboolean ok = TRUE;

  g_return_val_if_fail (CF_IS_CATALOG (self), FALSE);

  if (self->store == NULL)
    return TRUE;

  for (guint k = 0; k < CF_N_ENTITY_KINDS && ok; k++)
    {
      lists[k] = cf_store_load_sync (self->store, k, error);
      ok = lists[k] != NULL;
    }

  if (ok)
    {
      g_clear_pointer (&self->snapshot, cf_catalog_snapshot_unref);
      self->snapshot = cf_catalog_snapshot_new (lists);
    }
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    g_clear_pointer (&lists[k], g_ptr_array_unref);
  return ok;
}

/**
 * cf_catalog_get_snapshot:
 *
 * Returns: (transfer full): the current snapshot
 */
CfCatalogSnapshot *
cf_catalog_get_snapshot (CfCatalog *self)
{
  g_return_val_if_fail (CF_IS_CATALOG (self), NULL);
  return cf_catalog_snapshot_ref (self->snapshot);
}

/* Snapshot surgery */

typedef enum {
  EDIT_PUT,
  EDIT_DELETE,
} EditKind;

static const char * const association_members[] = {
  [CF_ENTITY_TOOL] = "associatedTools",
  [CF_ENTITY_RESOURCE] = "associatedResources",
  [CF_ENTITY_PROMPT] = "associatedPrompts",
};

/* The store cascades deletions in SQL; the snapshot must mirror that: a
 * deleted gateway takes what it federated, and virtual servers lose the
 * associations of whatever went. */
static JsonObject *
without_removed (JsonObject  *server,
                 GHashTable **removed)
{
  JsonObject *result = NULL;

  for (guint k = CF_ENTITY_TOOL; k <= CF_ENTITY_PROMPT; k++)
    {
      JsonArray *ids = cf_json_object_get_array (server, association_members[k]);
      JsonArray *kept;

      if (ids == NULL || g_hash_table_size (removed[k]) == 0)
        continue;
      kept = json_array_new ();
      for (guint i = 0; i < json_array_get_length (ids); i++)
        if (!g_hash_table_contains (removed[k], json_array_get_string_element (ids, i)))
          json_array_add_string_element (kept, json_array_get_string_element (ids, i));
      if (json_array_get_length (kept) == json_array_get_length (ids))
        {
          json_array_unref (kept);
          continue;
        }
      if (result == NULL)
        result = cf_json_object_deep_copy (server);
      json_object_set_array_member (result, association_members[k], kept);
    }
  return result != NULL ? result : json_object_ref (server);
}

static void
collect_removed (CfCatalogSnapshot *snapshot,
                 CfEntityKind       kind,
                 const char        *id,
                 GHashTable       **removed)
{
  g_hash_table_add (removed[kind], (gpointer) id);
  if (kind != CF_ENTITY_GATEWAY)
    return;
  for (guint k = CF_ENTITY_TOOL; k <= CF_ENTITY_PROMPT; k++)
    {
      GPtrArray *list = cf_catalog_snapshot_list (snapshot, k);

      for (guint i = 0; i < list->len; i++)
        if (g_strcmp0 (cf_json_object_get_string (list->pdata[i], "gatewayId"), id) == 0)
          g_hash_table_add (removed[k], (gpointer) cf_json_object_get_string (list->pdata[i], "id"));
    }
}

static void
apply_edit (CfCatalog    *self,
            CfEntityKind  kind,
            EditKind      edit,
            JsonObject   *entity,
            const char   *id)
{
  GPtrArray *lists[CF_N_ENTITY_KINDS];
  GHashTable *removed[CF_N_ENTITY_KINDS];
  gboolean touched[CF_N_ENTITY_KINDS] = { FALSE };
  CfCatalogSnapshot *old = self->snapshot;

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    removed[k] = g_hash_table_new (g_str_hash, g_str_equal);
  /* A put replaces the entity with the same id. */
  if (edit == EDIT_DELETE)
    collect_removed (old, kind, id, removed);
  else
    g_hash_table_add (removed[kind], (gpointer) id);

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      GPtrArray *source = cf_catalog_snapshot_list (old, k);

      lists[k] = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
      for (guint i = 0; i < source->len; i++)
        {
          JsonObject *item = source->pdata[i];
          JsonObject *kept;

          if (g_hash_table_contains (removed[k], cf_json_object_get_string (item, "id")))
            {
              touched[k] = TRUE;
              continue;
            }
          kept = k == CF_ENTITY_SERVER && edit == EDIT_DELETE
                 ? without_removed (item, removed) : json_object_ref (item);
          touched[k] |= kept != item;
          g_ptr_array_add (lists[k], kept);
        }
    }
  if (edit == EDIT_PUT)
    {
      g_ptr_array_add (lists[kind], json_object_ref (entity));
      touched[kind] = TRUE;
    }

  self->snapshot = cf_catalog_snapshot_new (lists);
  cf_catalog_snapshot_unref (old);
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      g_ptr_array_unref (lists[k]);
      g_hash_table_unref (removed[k]);
    }

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    if (touched[k])
      g_signal_emit (self, signals[CHANGED], 0, k);
}

/* Validation beyond field types */

static gboolean
is_http_url (const char *url)
{
  g_autoptr(GUri) uri = url ? g_uri_parse (url, G_URI_FLAGS_NONE, NULL) : NULL;

  return uri != NULL && g_uri_get_host (uri) != NULL && *g_uri_get_host (uri) != '\0' &&
         (g_strcmp0 (g_uri_get_scheme (uri), "http") == 0 ||
          g_strcmp0 (g_uri_get_scheme (uri), "https") == 0);
}

static void
check_tool (JsonObject *tool,
            JsonArray  *problems)
{
  const char *type = cf_json_object_get_string (tool, "integrationType");
  JsonObject *schema = cf_json_object_get_object (tool, "inputSchema");

  if (g_strcmp0 (type, "REST") != 0)
    cf_entity_schema_add_problem (problems, "integrationType", "value_error",
                                  "Only REST tools can be created directly; MCP tools come "
                                  "from registered gateways");
  else if (!is_http_url (cf_json_object_get_string (tool, "url")))
    cf_entity_schema_add_problem (problems, "url", "value_error",
                                  "A REST tool needs an http or https URL");
  if (schema != NULL && g_strcmp0 (cf_json_object_get_string (schema, "type"), "object") != 0)
    cf_entity_schema_add_problem (problems, "inputSchema", "value_error",
                                  "An input schema must have \"type\": \"object\"");
}

/* Strict: g_base64_decode() accepts anything and guesses. */
static gboolean
is_base64 (const char *text)
{
  gsize n = 0, padding = 0;

  for (const char *p = text; *p; p++)
    {
      if (*p == '\n' || *p == '\r')
        continue;
      if (*p == '=')
        padding++;
      else if (padding > 0 || !(g_ascii_isalnum (*p) || *p == '+' || *p == '/'))
        return FALSE;
      n++;
    }
  return n % 4 == 0 && padding <= 2;
}

static void
check_resource (JsonObject *resource,
                JsonArray  *problems)
{
  const char *uri = cf_json_object_get_string (resource, "uri");
  const char *template = cf_json_object_get_string (resource, "uriTemplate");
  const char *blob = cf_json_object_get_string (resource, "blob");
  g_autoptr(GError) error = NULL;

  if (template != NULL)
    {
      g_autoptr(CfUriTemplate) compiled = cf_uri_template_new (template, &error);

      if (compiled == NULL)
        cf_entity_schema_add_problem (problems, "uriTemplate", "value_error", error->message);
    }
  else if (uri != NULL && !g_uri_is_valid (uri, G_URI_FLAGS_NONE, NULL))
    cf_entity_schema_add_problem (problems, "uri", "value_error", "Not a valid absolute URI");

  if (blob != NULL && cf_json_object_get_string (resource, "text") != NULL)
    cf_entity_schema_add_problem (problems, "blob", "value_error",
                                  "Give text content or a base64 blob, not both");
  else if (blob != NULL && !is_base64 (blob))
    cf_entity_schema_add_problem (problems, "blob", "value_error",
                                  "Binary content must be valid base64");
  else if (blob == NULL && cf_json_object_get_string (resource, "text") == NULL)
    cf_entity_schema_add_problem (problems, "content", "missing",
                                  "Field required: give text content or a base64 blob");
}

static void
derive_prompt_arguments (JsonObject       *prompt,
                         CfPromptTemplate *template)
{
  g_auto(GStrv) variables = cf_prompt_template_get_variables (template);
  JsonArray *arguments = json_array_new ();

  for (guint i = 0; variables[i] != NULL; i++)
    {
      JsonObject *argument = json_object_new ();

      json_object_set_string_member (argument, "name", variables[i]);
      json_object_set_boolean_member (argument, "required", TRUE);
      json_array_add_object_element (arguments, argument);
    }
  json_object_set_array_member (prompt, "arguments", arguments);
}

static void
check_prompt (JsonObject *prompt,
              JsonArray  *problems)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfPromptTemplate) template = NULL;
  JsonArray *arguments = cf_json_object_get_array (prompt, "arguments");

  template = cf_prompt_template_new (cf_json_object_get_string (prompt, "template") ?: "", &error);
  if (template == NULL)
    {
      cf_entity_schema_add_problem (problems, "template", "value_error", error->message);
      return;
    }
  if (arguments == NULL)
    {
      derive_prompt_arguments (prompt, template);
      return;
    }
  for (guint i = 0; i < json_array_get_length (arguments); i++)
    {
      JsonNode *node = json_array_get_element (arguments, i);

      if (!JSON_NODE_HOLDS_OBJECT (node) ||
          cf_json_object_get_string (json_node_get_object (node), "name") == NULL)
        cf_entity_schema_add_problem (problems, "arguments", "value_error",
                                      "Each argument needs a string \"name\"");
    }
}

static void
check_server (CfCatalogSnapshot *snapshot,
              JsonObject        *server,
              JsonArray         *problems)
{
  static const struct { const char *member; CfEntityKind kind; } members[] = {
    { "associatedTools", CF_ENTITY_TOOL },
    { "associatedResources", CF_ENTITY_RESOURCE },
    { "associatedPrompts", CF_ENTITY_PROMPT },
  };

  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    {
      JsonArray *ids = cf_json_object_get_array (server, members[m].member);

      for (guint i = 0; ids != NULL && i < json_array_get_length (ids); i++)
        {
          const char *id = json_array_get_string_element (ids, i);

          if (cf_catalog_snapshot_lookup (snapshot, members[m].kind, id) == NULL)
            {
              g_autofree char *msg = g_strdup_printf ("Unknown %s id: %s",
                                                      kind_labels[members[m].kind], id);
              cf_entity_schema_add_problem (problems, members[m].member, "value_error", msg);
            }
        }
    }
}

static void
check_gateway (JsonObject *gateway,
               JsonArray  *problems)
{
  if (g_strcmp0 (cf_json_object_get_string (gateway, "transport"), "STDIO") != 0 &&
      !is_http_url (cf_json_object_get_string (gateway, "url")))
    cf_entity_schema_add_problem (problems, "url", "value_error",
                                  "A gateway needs an http or https URL");
}

/* Defaults and derived fields */

static void
set_default (JsonObject *entity,
             const char *member,
             JsonNode   *value)
{
  if (!json_object_has_member (entity, member) ||
      JSON_NODE_HOLDS_NULL (json_object_get_member (entity, member)))
    json_object_set_member (entity, member, value);
  else
    json_node_unref (value);
}

static JsonNode *
bool_node (gboolean value)
{
  JsonNode *node = json_node_new (JSON_NODE_VALUE);

  json_node_set_boolean (node, value);
  return node;
}

static JsonNode *
object_node (const char *json)
{
  return cf_json_parse (json, -1, NULL);
}

static void
apply_defaults (CfEntityKind  kind,
                JsonObject   *entity)
{
  set_default (entity, "enabled", bool_node (TRUE));
  set_default (entity, "visibility", cf_json_node_new_string ("public"));
  set_default (entity, "tags", object_node ("[]"));

  switch (kind)
    {
    case CF_ENTITY_TOOL:
      set_default (entity, "integrationType", cf_json_node_new_string ("REST"));
      set_default (entity, "requestType", cf_json_node_new_string ("POST"));
      set_default (entity, "inputSchema", object_node ("{\"type\":\"object\",\"properties\":{}}"));
      set_default (entity, "reachable", bool_node (TRUE));
      break;
    case CF_ENTITY_SERVER:
      set_default (entity, "associatedTools", object_node ("[]"));
      set_default (entity, "associatedResources", object_node ("[]"));
      set_default (entity, "associatedPrompts", object_node ("[]"));
      break;
    case CF_ENTITY_GATEWAY:
      set_default (entity, "transport", cf_json_node_new_string ("SSE"));
      set_default (entity, "reachable", bool_node (TRUE));
      break;
    default:
      break;
    }
}

/* Tools and prompts are exposed under ContextForge's slug of their
 * (custom) name; resources, servers and gateways keep theirs. */
static void
derive_names (CfCatalog    *self,
              CfEntityKind  kind,
              JsonObject   *entity,
              JsonObject   *input,
              JsonArray    *problems)
{
  const char *given = cf_json_object_get_string (input, "name");
  const char *custom;
  g_autofree char *slug = NULL;

  if (kind == CF_ENTITY_GATEWAY && given != NULL)
    {
      slug = cf_slugify (given, self->separator);
      json_object_set_string_member (entity, "slug", slug);
      return;
    }
  if (kind != CF_ENTITY_TOOL && kind != CF_ENTITY_PROMPT)
    return;

  if (given != NULL)
    json_object_set_string_member (entity, "originalName", given);
  custom = cf_json_object_get_string (entity, "customName");
  slug = cf_slugify (custom ?: cf_json_object_get_string (entity, "originalName") ?: "",
                     self->separator);
  if (*slug == '\0')
    cf_entity_schema_add_problem (problems, "name", "value_error",
                                  "The name must contain at least one letter or digit");
  json_object_set_string_member (entity, "name", slug);
}

static void
compute_size (JsonObject *resource)
{
  const char *text = cf_json_object_get_string (resource, "text");
  const char *blob = cf_json_object_get_string (resource, "blob");
  gsize size = 0;

  if (blob != NULL)
    g_free (g_base64_decode (blob, &size));
  else if (text != NULL)
    size = strlen (text);
  json_object_set_int_member (resource, "size", size);
}

static void
check_entity (CfCatalog         *self,
              CfCatalogSnapshot *snapshot,
              CfEntityKind       kind,
              JsonObject        *entity,
              JsonArray         *problems)
{
  switch (kind)
    {
    case CF_ENTITY_TOOL:
      check_tool (entity, problems);
      break;
    case CF_ENTITY_RESOURCE:
      check_resource (entity, problems);
      compute_size (entity);
      break;
    case CF_ENTITY_PROMPT:
      check_prompt (entity, problems);
      break;
    case CF_ENTITY_SERVER:
      check_server (snapshot, entity, problems);
      break;
    case CF_ENTITY_GATEWAY:
      check_gateway (entity, problems);
      break;
    default:
      g_assert_not_reached ();
    }
}

/* Returns the member that clashes, or NULL. */
static const char *
find_conflict (CfCatalogSnapshot *snapshot,
               CfEntityKind       kind,
               JsonObject        *entity)
{
  const char *id = cf_json_object_get_string (entity, "id");
  const char *key = kind == CF_ENTITY_RESOURCE ? "uri" : "name";
  const char *value = cf_json_object_get_string (entity, key);
  GPtrArray *list = cf_catalog_snapshot_list (snapshot, kind);

  for (guint i = 0; i < list->len; i++)
    {
      JsonObject *other = list->pdata[i];

      if (g_strcmp0 (cf_json_object_get_string (other, "id"), id) == 0)
        continue;
      if (g_strcmp0 (cf_json_object_get_string (other, key), value) == 0)
        return key;
    }
  return NULL;
}

/* Writes

   One write runs at a time, validated against the snapshot current when
   it starts, so that concurrent updates never merge from the same stale
   entity and conflicts are judged against what is really there. */

typedef enum {
  OP_CREATE,
  OP_UPDATE,
  OP_DELETE,
} Op;

typedef struct {
  CfEntityKind  kind;
  Op            op;
  EditKind      edit;
  char         *id;
  JsonObject   *input;
  JsonObject   *entity;
  JsonArray    *problems;
} WriteData;

static void run_pending (CfCatalog *self);

static void
write_data_free (WriteData *data)
{
  g_clear_pointer (&data->input, json_object_unref);
  g_clear_pointer (&data->entity, json_object_unref);
  g_clear_pointer (&data->problems, json_array_unref);
  g_clear_pointer (&data->id, g_free);
  g_free (data);
}

static char *
now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format_iso8601 (now);
}

/* Call after the task has returned. */
static void
write_done (CfCatalog *self,
            GTask     *task)
{
  self->busy = FALSE;
  g_object_unref (task);
  run_pending (self);
}

static void
write_failed (CfCatalog  *self,
              GTask      *task,
              int         code,
              const char *format,
              ...) G_GNUC_PRINTF (4, 5);

static void
write_failed (CfCatalog  *self,
              GTask      *task,
              int         code,
              const char *format,
              ...)
{
  va_list args;

  va_start (args, format);
  g_task_return_error (task, g_error_new_valist (CF_CATALOG_ERROR, code, format, args));
  va_end (args);
  write_done (self, task);
}

static void
on_stored (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  GTask *task = user_data;
  CfCatalog *self = g_task_get_source_object (task);
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(GError) error = NULL;
  gboolean ok;

  if (data->edit == EDIT_DELETE)
    ok = cf_store_delete_finish (CF_STORE (source), result, &error);
  else
    ok = cf_store_put_finish (CF_STORE (source), result, &error);

  if (!ok && g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT))
    write_failed (self, task, CF_CATALOG_ERROR_CONFLICT, "%s conflicts with an existing one: %s",
                  kind_labels[data->kind], error->message);
  else if (!ok && g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                  kind_labels[data->kind], data->id);
  else if (!ok)
    write_failed (self, task, CF_CATALOG_ERROR_STORE, "The change could not be saved: %s",
                  error->message);
  else
    {
      apply_edit (self, data->kind, data->edit, data->entity, data->id);
      g_task_return_boolean (task, TRUE);
      write_done (self, task);
    }
}

static void
persist (CfCatalog *self,
         GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);

  if (self->store == NULL)
    {
      apply_edit (self, data->kind, data->edit, data->entity, data->id);
      g_task_return_boolean (task, TRUE);
      write_done (self, task);
    }
  else if (data->edit == EDIT_DELETE)
    cf_store_delete_async (self->store, data->kind, data->id, NULL, on_stored, task);
  else
    cf_store_put_async (self->store, data->kind, data->entity, NULL, on_stored, task);
}

static void
check_gateway_reference (CfCatalogSnapshot *snapshot,
                         JsonObject        *entity,
                         JsonArray         *problems)
{
  const char *gateway = cf_json_object_get_string (entity, "gatewayId");

  if (gateway != NULL && cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_GATEWAY, gateway) == NULL)
    {
      g_autofree char *msg = g_strdup_printf ("Unknown gateway id: %s", gateway);
      cf_entity_schema_add_problem (problems, "gatewayId", "value_error", msg);
    }
}

static void
validate_and_persist (CfCatalog  *self,
                      GTask      *task,
                      JsonObject *input)
{
  WriteData *data = g_task_get_task_data (task);
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self);
  const char *conflict;

  derive_names (self, data->kind, data->entity, input, data->problems);
  apply_defaults (data->kind, data->entity);
  check_entity (self, snapshot, data->kind, data->entity, data->problems);
  if (data->kind != CF_ENTITY_SERVER && data->kind != CF_ENTITY_GATEWAY)
    check_gateway_reference (snapshot, data->entity, data->problems);

  if (json_array_get_length (data->problems) > 0)
    {
      write_failed (self, task, CF_CATALOG_ERROR_INVALID, "%s failed validation",
                    kind_labels[data->kind]);
      return;
    }

  conflict = find_conflict (snapshot, data->kind, data->entity);
  if (conflict != NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_CONFLICT, "%s %s already exists: %s",
                    kind_labels[data->kind], conflict,
                    cf_json_object_get_string (data->entity, conflict));
      return;
    }

  persist (self, task);
}

/* Ids are 32 hex digits, as ContextForge's uuid4().hex; a client may give
 * a UUID in its dashed form, which is stored without the dashes. */
static char *
normalize_id (const char *id)
{
  GString *out = g_string_new (NULL);

  for (const char *p = id; *p; p++)
    {
      if (*p == '-')
        continue;
      if (!g_ascii_isxdigit (*p))
        return (g_string_free (out, TRUE), NULL);
      g_string_append_c (out, g_ascii_tolower (*p));
    }
  if (out->len != 32)
    return (g_string_free (out, TRUE), NULL);
  return g_string_free (out, FALSE);
}

static void
prepare_create (CfCatalog *self,
                GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  g_autofree char *now = now_iso8601 ();
  g_autofree char *id = NULL;
  const char *given;

  data->entity = cf_entity_schema_normalize (data->kind, data->input, CF_SCHEMA_CREATE,
                                             data->problems);
  given = cf_json_object_get_string (data->entity, "id");
  if (given != NULL && (id = normalize_id (given)) == NULL)
    cf_entity_schema_add_problem (data->problems, "id", "value_error",
                                  "An id is a UUID or 32 hex digits");
  else if (id != NULL && cf_catalog_snapshot_lookup (self->snapshot, data->kind, id) != NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_CONFLICT, "%s id already exists: %s",
                    kind_labels[data->kind], id);
      return;
    }
  if (id == NULL)
    id = cf_random_hex (16);

  json_object_set_string_member (data->entity, "id", id);
  data->id = g_strdup (id);
  json_object_set_string_member (data->entity, "createdAt", now);
  json_object_set_string_member (data->entity, "updatedAt", now);
  json_object_set_int_member (data->entity, "version", 1);

  validate_and_persist (self, task, data->input);
}

static JsonObject *
merge (JsonObject *base,
       JsonObject *patch)
{
  g_autoptr(GList) members = json_object_get_members (patch);
  JsonObject *merged = cf_json_object_deep_copy (base);

  for (GList *l = members; l != NULL; l = l->next)
    json_object_set_member (merged, l->data,
                            cf_json_node_deep_copy (json_object_get_member (patch, l->data)));
  return merged;
}

/* Fields that follow from others are dropped when those change, so that
 * validation derives them afresh. */
static void
drop_stale (CfEntityKind  kind,
            JsonObject   *merged,
            JsonObject   *patch)
{
  if (kind == CF_ENTITY_PROMPT && json_object_has_member (patch, "template") &&
      !json_object_has_member (patch, "arguments"))
    json_object_remove_member (merged, "arguments");
  if (kind == CF_ENTITY_RESOURCE && json_object_has_member (patch, "text") &&
      !json_object_has_member (patch, "blob"))
    json_object_remove_member (merged, "blob");
  if (kind == CF_ENTITY_RESOURCE && json_object_has_member (patch, "blob") &&
      !json_object_has_member (patch, "text"))
    json_object_remove_member (merged, "text");
}

static void
prepare_update (CfCatalog *self,
                GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);
  JsonObject *existing = cf_catalog_snapshot_lookup (self->snapshot, data->kind, data->id);
  g_autoptr(JsonObject) patch = NULL;
  g_autofree char *now = now_iso8601 ();
  gint64 version = 1;

  if (existing == NULL)
    {
      write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                    kind_labels[data->kind], data->id);
      return;
    }

  patch = cf_entity_schema_normalize (data->kind, data->input, CF_SCHEMA_UPDATE, data->problems);
  json_object_remove_member (patch, "id");
  data->entity = merge (existing, patch);
  drop_stale (data->kind, data->entity, patch);
  cf_json_object_get_int (existing, "version", &version);
  json_object_set_int_member (data->entity, "version", version + 1);
  json_object_set_string_member (data->entity, "updatedAt", now);
  if (json_object_has_member (patch, "customName") && !json_object_has_member (patch, "name"))
    json_object_set_string_member (patch, "name",
                                   cf_json_object_get_string (existing, "originalName") ?: "");

  validate_and_persist (self, task, patch);
}

static void
prepare_delete (CfCatalog *self,
                GTask     *task)
{
  WriteData *data = g_task_get_task_data (task);

  if (cf_catalog_snapshot_lookup (self->snapshot, data->kind, data->id) == NULL)
    write_failed (self, task, CF_CATALOG_ERROR_NOT_FOUND, "%s not found: %s",
                  kind_labels[data->kind], data->id);
  else
    persist (self, task);
}

static void
run_pending (CfCatalog *self)
{
  GTask *task;

  if (self->busy || (task = g_queue_pop_head (&self->pending)) == NULL)
    return;

  self->busy = TRUE;
  switch (((WriteData *) g_task_get_task_data (task))->op)
    {
    case OP_CREATE:
      prepare_create (self, task);
      break;
    case OP_UPDATE:
      prepare_update (self, task);
      break;
    case OP_DELETE:
      prepare_delete (self, task);
      break;
    default:
      g_assert_not_reached ();
    }
}

static void
queue_write (CfCatalog           *self,
             Op                   op,
             CfEntityKind         kind,
             const char          *id,
             JsonObject          *input,
             GCancellable        *cancellable,
             GAsyncReadyCallback  callback,
             gpointer             user_data,
             gpointer             source_tag)
{
  GTask *task = g_task_new (self, cancellable, callback, user_data);
  WriteData *data = g_new0 (WriteData, 1);

  g_task_set_source_tag (task, source_tag);
  data->kind = kind;
  data->op = op;
  data->edit = op == OP_DELETE ? EDIT_DELETE : EDIT_PUT;
  data->id = g_strdup (id);
  data->input = input ? json_object_ref (input) : NULL;
  data->problems = json_array_new ();
  g_task_set_task_data (task, data, (GDestroyNotify) write_data_free);

  g_queue_push_tail (&self->pending, task);
  run_pending (self);
}

/**
 * cf_catalog_create_async:
 * @self: a #CfCatalog
 * @kind: what to create
 * @input: the fields, snake_case or camelCase, as a client sent them
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 */
void
cf_catalog_create_async (CfCatalog           *self,
                         CfEntityKind         kind,
                         JsonObject          *input,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (input != NULL);

  queue_write (self, OP_CREATE, kind, NULL, input, cancellable, callback, user_data,
               cf_catalog_create_async);
}

/**
 * cf_catalog_update_async:
 * @self: a #CfCatalog
 * @kind: what to update
 * @id: the entity's id
 * @input: the fields to change; others keep their values
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 */
void
cf_catalog_update_async (CfCatalog           *self,
                         CfEntityKind         kind,
                         const char          *id,
                         JsonObject          *input,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (id != NULL);
  g_return_if_fail (input != NULL);

  queue_write (self, OP_UPDATE, kind, id, input, cancellable, callback, user_data,
               cf_catalog_update_async);
}

/**
 * cf_catalog_write_finish:
 * @self: a #CfCatalog
 * @result: the result
 * @out_problems: (out) (optional) (transfer full): for
 *   %CF_CATALOG_ERROR_INVALID, the validation problems
 * @error: return location for a #CfCatalogError
 *
 * Returns: (transfer full): the entity as stored
 */
JsonObject *
cf_catalog_write_finish (CfCatalog     *self,
                         GAsyncResult  *result,
                         JsonArray    **out_problems,
                         GError       **error)
{
  WriteData *data;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  data = g_task_get_task_data (G_TASK (result));
  if (out_problems != NULL)
    *out_problems = data->problems ? json_array_ref (data->problems) : NULL;
  if (!g_task_propagate_boolean (G_TASK (result), error))
    return NULL;
  return json_object_ref (data->entity);
}

/**
 * cf_catalog_delete_async:
 * @self: a #CfCatalog
 * @kind: what to delete
 * @id: its id
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 *
 * Deleting a gateway deletes what it federated; deleting a tool, resource
 * or prompt removes it from the virtual servers that expose it.
 */
void
cf_catalog_delete_async (CfCatalog           *self,
                         CfEntityKind         kind,
                         const char          *id,
                         GCancellable        *cancellable,
                         GAsyncReadyCallback  callback,
                         gpointer             user_data)
{
  g_return_if_fail (CF_IS_CATALOG (self));
  g_return_if_fail (kind < CF_N_ENTITY_KINDS);
  g_return_if_fail (id != NULL);

  queue_write (self, OP_DELETE, kind, id, NULL, cancellable, callback, user_data,
               cf_catalog_delete_async);
}

gboolean
cf_catalog_delete_finish (CfCatalog     *self,
                          GAsyncResult  *result,
                          GError       **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), FALSE);
  return g_task_propagate_boolean (G_TASK (result), error);
}
