/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog-snapshot"

#include "config.h"

#include <string.h>

#include "cf-catalog-snapshot.h"
#include "cf-json.h"

/**
 * CfCatalogEntry:
 *
 * One entity as a snapshot keeps it: its JSON text, the members the
 * indexes and list filters read, what a tools/call reads of a tool (its
 * required argument names, whether a call may be retried), and what is
 * compiled from it (a resource's URI template, a prompt's template, a
 * virtual server's associations). An entry never changes, so successive
 * snapshots share the entries that a change did not touch.
 *
 * A json-glib tree costs about five times its text (a hash table, a list
 * and a node per member, each a separate allocation): ten thousand tools
 * held as trees took some 50 MB of heap, held as entries about 8 MB.
 * Trees are made from the text when someone asks for an entity's
 * #JsonObject: cf_catalog_snapshot_get_entity() keeps them as long as the
 * snapshot that made them, cf_catalog_entry_dup_object() not at all.
 */

typedef enum {
  FIELD_ID,
  FIELD_NAME,
  FIELD_ORIGINAL_NAME,
  FIELD_GATEWAY_ID,
  FIELD_URI,
  FIELD_URI_TEMPLATE,
  FIELD_VISIBILITY,
  FIELD_TEAM_ID,
  FIELD_OWNER_EMAIL,
  FIELD_INTEGRATION_TYPE,
  N_FIELDS
} Field;

static const char * const field_members[N_FIELDS] = {
  [FIELD_ID] = "id",
  [FIELD_NAME] = "name",
  [FIELD_ORIGINAL_NAME] = "originalName",
  [FIELD_GATEWAY_ID] = "gatewayId",
  [FIELD_URI] = "uri",
  [FIELD_URI_TEMPLATE] = "uriTemplate",
  [FIELD_VISIBILITY] = "visibility",
  [FIELD_TEAM_ID] = "teamId",
  [FIELD_OWNER_EMAIL] = "ownerEmail",
  [FIELD_INTEGRATION_TYPE] = "integrationType",
};

#define NO_FIELD G_MAXUINT32
#define N_ASSOCIATIONS 3

static const char * const association_members[N_ASSOCIATIONS] = {
  "associatedTools", "associatedResources", "associatedPrompts",
};

struct _CfCatalogEntry
{
  gatomicrefcount  ref;
  guint8           kind;
  guint            enabled : 1;
  /* A tool's: whether a call may be sent twice (its annotations'
   * idempotentHint or readOnlyHint) */
  guint            idempotent : 1;
  /* A tool's input schema's required names: a NULL-terminated array of
   * pointers into data, at this offset; NO_FIELD for other kinds */
  guint32          required_offset;
  guint32          json_offset;
  guint32          json_length;
  /* Offsets into data, or NO_FIELD where the member is not a string */
  guint32          fields[N_FIELDS];
  /* A resource's CfUriTemplate, a prompt's CfPromptTemplate, or a
   * virtual server's associations: N_ASSOCIATIONS string vectors */
  gpointer         compiled;
  /* The fields' strings, each NUL-terminated, a tool's required names
   * and the array pointing at them, then the JSON text: everything a
   * tool needs is this one block, which matters when ten thousand are
   * made while a sync's trees are freed around them (small blocks
   * apart from it would keep those pages from going back). */
  char             data[];
};

static inline const char *
entry_field (CfCatalogEntry *entry,
             Field           field)
{
  return entry->fields[field] == NO_FIELD ? NULL : entry->data + entry->fields[field];
}

static gpointer
compile_entry (CfEntityKind  kind,
               JsonObject   *entity)
{
  g_autoptr(GError) error = NULL;

  if (kind == CF_ENTITY_RESOURCE)
    {
      const char *template = cf_json_object_get_string (entity, "uriTemplate");
      CfUriTemplate *compiled;

      if (template == NULL)
        return NULL;
      compiled = cf_uri_template_new (template, NULL);
      if (compiled == NULL)
        g_warning ("Resource %s has an invalid URI template",
                   cf_json_object_get_string (entity, "id"));
      return compiled;
    }
  if (kind == CF_ENTITY_PROMPT)
    {
      CfPromptTemplate *compiled;

      compiled = cf_prompt_template_new (cf_json_object_get_string (entity, "template") ?: "",
                                         &error);
      if (compiled == NULL)
        g_warning ("Prompt %s has an invalid template: %s",
                   cf_json_object_get_string (entity, "id"), error->message);
      return compiled;
    }
  if (kind == CF_ENTITY_SERVER)
    {
      GStrv *associations = g_new0 (GStrv, N_ASSOCIATIONS);

      for (guint m = 0; m < N_ASSOCIATIONS; m++)
        {
          JsonArray *ids = cf_json_object_get_array (entity, association_members[m]);
          guint n = ids != NULL ? json_array_get_length (ids) : 0;
          GStrvBuilder *builder = g_strv_builder_new ();

          for (guint i = 0; i < n; i++)
            {
              const char *id = json_array_get_string_element (ids, i);

              if (id != NULL)
                g_strv_builder_add (builder, id);
            }
          associations[m] = g_strv_builder_end (builder);
          g_strv_builder_unref (builder);
        }
      return associations;
    }
  return NULL;
}

/**
 * cf_catalog_entry_new:
 * @kind: what @entity is
 * @entity: a stored entity; only read
 *
 * Returns: (transfer full): the entry holding @entity
 */
CfCatalogEntry *
cf_catalog_entry_new (CfEntityKind  kind,
                      JsonObject   *entity)
{
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GString) text = g_string_sized_new (1024);
  g_autoptr(GPtrArray) required = g_ptr_array_new ();
  const gsize base = G_STRUCT_OFFSET (CfCatalogEntry, data);
  const char *values[N_FIELDS];
  guint32 offsets[N_FIELDS];
  gsize strings = 0;
  gsize array = NO_FIELD;
  gsize json;
  CfCatalogEntry *entry;
  char *at;

  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);
  g_return_val_if_fail (entity != NULL, NULL);

  node = cf_json_node_new_object (json_object_ref (entity));
  cf_json_append (text, node);
  for (guint f = 0; f < N_FIELDS; f++)
    {
      values[f] = cf_json_object_get_string (entity, field_members[f]);
      offsets[f] = values[f] != NULL ? (guint32) strings : NO_FIELD;
      if (values[f] != NULL)
        strings += strlen (values[f]) + 1;
    }
  json = strings;
  if (kind == CF_ENTITY_TOOL)
    {
      JsonArray *names = cf_json_object_get_array (cf_json_object_get_object (entity,
                                                                              "inputSchema"),
                                                   "required");

      for (guint i = 0; names != NULL && i < json_array_get_length (names); i++)
        {
          JsonNode *name = json_array_get_element (names, i);

          if (cf_json_node_is_string (name))
            {
              g_ptr_array_add (required, (gpointer) json_node_get_string (name));
              strings += strlen (json_node_get_string (name)) + 1;
            }
        }
      /* The array of pointers, aligned as pointers are */
      array = (base + strings + sizeof (gpointer) - 1) / sizeof (gpointer) * sizeof (gpointer) -
              base;
      json = array + (required->len + 1) * sizeof (gpointer);
    }
  g_return_val_if_fail (json + text->len < G_MAXUINT32, NULL);

  entry = g_malloc (base + json + text->len + 1);
  g_atomic_ref_count_init (&entry->ref);
  entry->kind = kind;
  entry->enabled = cf_json_object_get_bool (entity, "enabled", TRUE);
  entry->idempotent = FALSE;
  entry->required_offset = array;
  entry->json_offset = json;
  entry->json_length = text->len;
  memcpy (entry->fields, offsets, sizeof offsets);
  at = entry->data;
  for (guint f = 0; f < N_FIELDS; f++)
    if (values[f] != NULL)
      at = g_stpcpy (at, values[f]) + 1;
  if (kind == CF_ENTITY_TOOL)
    {
      JsonObject *annotations = cf_json_object_get_object (entity, "annotations");
      const char **pointers = (const char **) (gpointer) (entry->data + array);

      for (guint i = 0; i < required->len; i++)
        {
          pointers[i] = at;
          at = g_stpcpy (at, required->pdata[i]) + 1;
        }
      pointers[required->len] = NULL;
      entry->idempotent = cf_json_object_get_bool (annotations, "idempotentHint", FALSE) ||
                          cf_json_object_get_bool (annotations, "readOnlyHint", FALSE);
    }
  memcpy (entry->data + json, text->str, text->len + 1);
  entry->compiled = compile_entry (kind, entity);
  return entry;
}

CfCatalogEntry *
cf_catalog_entry_ref (CfCatalogEntry *entry)
{
  g_atomic_ref_count_inc (&entry->ref);
  return entry;
}

void
cf_catalog_entry_unref (CfCatalogEntry *entry)
{
  if (!g_atomic_ref_count_dec (&entry->ref))
    return;
  if (entry->compiled != NULL)
    {
      if (entry->kind == CF_ENTITY_RESOURCE)
        cf_uri_template_unref (entry->compiled);
      else if (entry->kind == CF_ENTITY_PROMPT)
        cf_prompt_template_unref (entry->compiled);
      else if (entry->kind == CF_ENTITY_SERVER)
        {
          GStrv *associations = entry->compiled;

          for (guint m = 0; m < N_ASSOCIATIONS; m++)
            g_strfreev (associations[m]);
          g_free (associations);
        }
    }
  g_free (entry);
}

/**
 * cf_catalog_entry_get_json:
 * @length: (out) (optional): the length of the text
 *
 * Returns: (transfer none): the entity as compact JSON text
 */
const char *
cf_catalog_entry_get_json (CfCatalogEntry *entry,
                           gsize          *length)
{
  if (length != NULL)
    *length = entry->json_length;
  return entry->data + entry->json_offset;
}

/**
 * cf_catalog_entry_dup_object:
 *
 * Parses the entry's text again: for who reads an entity once and lets it
 * go, such as a list that serializes every item.
 *
 * Returns: (transfer full): a new tree of the entity
 */
JsonObject *
cf_catalog_entry_dup_object (CfCatalogEntry *entry)
{
  g_autoptr(GError) error = NULL;
  gsize length = 0;
  const char *text = cf_catalog_entry_get_json (entry, &length);
  g_autoptr(JsonNode) node = cf_json_parse (text, length, &error);

  /* The text is what cf_json_append() wrote: it parses. */
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    g_error ("A catalog entry does not parse back: %s", error ? error->message : "not an object");
  return json_node_dup_object (node);
}

const char *
cf_catalog_entry_get_id (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_ID);
}

const char *
cf_catalog_entry_get_name (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_NAME);
}

const char *
cf_catalog_entry_get_original_name (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_ORIGINAL_NAME);
}

const char *
cf_catalog_entry_get_integration_type (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_INTEGRATION_TYPE);
}

/**
 * cf_catalog_entry_get_required_arguments:
 * @entry: a tool's entry
 *
 * Returns: (transfer none) (array zero-terminated=1): the names its
 *   input schema requires, as strings
 */
const char * const *
cf_catalog_entry_get_required_arguments (CfCatalogEntry *entry)
{
  static const char * const none[] = { NULL };

  g_return_val_if_fail (entry->kind == CF_ENTITY_TOOL, none);
  return (const char * const *) (gpointer) (entry->data + entry->required_offset);
}

/**
 * cf_catalog_entry_is_idempotent:
 * @entry: a tool's entry
 *
 * Returns: whether a call of the tool may be sent twice: its annotations
 *   say it is idempotent, or read-only
 */
gboolean
cf_catalog_entry_is_idempotent (CfCatalogEntry *entry)
{
  g_return_val_if_fail (entry->kind == CF_ENTITY_TOOL, FALSE);
  return entry->idempotent;
}

const char *
cf_catalog_entry_get_gateway_id (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_GATEWAY_ID);
}

const char *
cf_catalog_entry_get_uri (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_URI);
}

const char *
cf_catalog_entry_get_uri_template (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_URI_TEMPLATE);
}

const char *
cf_catalog_entry_get_visibility (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_VISIBILITY);
}

const char *
cf_catalog_entry_get_team_id (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_TEAM_ID);
}

const char *
cf_catalog_entry_get_owner_email (CfCatalogEntry *entry)
{
  return entry_field (entry, FIELD_OWNER_EMAIL);
}

gboolean
cf_catalog_entry_get_enabled (CfCatalogEntry *entry)
{
  return entry->enabled;
}

/**
 * CfCatalogSnapshot:
 *
 * An immutable view of everything the gateway can expose, with the indexes
 * the request path needs (by id, by exposed name, by URI, templates and
 * prompt templates compiled once). Requests hold a reference while they
 * run; a change builds a new snapshot and swaps it in, so the request path
 * never locks on the catalog and never touches SQL.
 */
struct _CfCatalogSnapshot
{
  GPtrArray  *lists[CF_N_ENTITY_KINDS];
  GHashTable *by_id[CF_N_ENTITY_KINDS];
  GHashTable *by_name[CF_N_ENTITY_KINDS];
  GHashTable *by_original_name[CF_N_ENTITY_KINDS];
  GHashTable *resources_by_uri;
  GPtrArray  *resource_templates;
  GHashTable *prompt_templates;
  GHashTable *server_members;
  guint64     serial;

  /* The trees made so far, by entry, and whole lists of them by kind:
   * made on demand, kept until the snapshot goes. */
  GMutex      lock;
  GHashTable *objects;
  GPtrArray  *object_lists[CF_N_ENTITY_KINDS];
};

static void
snapshot_clear (CfCatalogSnapshot *self)
{
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      g_clear_pointer (&self->lists[k], g_ptr_array_unref);
      g_clear_pointer (&self->by_id[k], g_hash_table_unref);
      g_clear_pointer (&self->by_name[k], g_hash_table_unref);
      g_clear_pointer (&self->by_original_name[k], g_hash_table_unref);
      g_clear_pointer (&self->object_lists[k], g_ptr_array_unref);
    }
  g_clear_pointer (&self->resources_by_uri, g_hash_table_unref);
  g_clear_pointer (&self->resource_templates, g_ptr_array_unref);
  g_clear_pointer (&self->prompt_templates, g_hash_table_unref);
  g_clear_pointer (&self->server_members, g_hash_table_unref);
  g_clear_pointer (&self->objects, g_hash_table_unref);
  g_mutex_clear (&self->lock);
}

CfCatalogSnapshot *
cf_catalog_snapshot_ref (CfCatalogSnapshot *self)
{
  return g_atomic_rc_box_acquire (self);
}

void
cf_catalog_snapshot_unref (CfCatalogSnapshot *self)
{
  g_atomic_rc_box_release_full (self, (GDestroyNotify) snapshot_clear);
}

static int
compare_by_name (gconstpointer a,
                 gconstpointer b)
{
  CfCatalogEntry *x = *(CfCatalogEntry **) a, *y = *(CfCatalogEntry **) b;
  int c = g_strcmp0 (entry_field (x, FIELD_NAME), entry_field (y, FIELD_NAME));

  return c != 0 ? c : g_strcmp0 (entry_field (x, FIELD_ID), entry_field (y, FIELD_ID));
}

/* An original name maps to its entity only while it is unambiguous; a
 * clash maps it to NULL, so that neither wins by accident. */
static void
index_original_name (GHashTable     *table,
                     CfCatalogEntry *entry)
{
  const char *original = entry_field (entry, FIELD_ORIGINAL_NAME);

  if (original == NULL)
    return;
  if (g_hash_table_contains (table, original))
    g_hash_table_replace (table, (gpointer) original, NULL);
  else
    g_hash_table_insert (table, (gpointer) original, entry);
}

static void
index_members (CfCatalogSnapshot *self,
               CfCatalogEntry    *server)
{
  GStrv *associations = server->compiled;
  const char *server_id = entry_field (server, FIELD_ID);

  for (guint m = 0; m < N_ASSOCIATIONS; m++)
    for (guint i = 0; associations[m][i] != NULL; i++)
      g_hash_table_add (self->server_members,
                        g_strdup_printf ("%s\n%u\n%s", server_id, m, associations[m][i]));
}

static void
index_resource (CfCatalogSnapshot *self,
                CfCatalogEntry    *resource)
{
  if (entry_field (resource, FIELD_URI_TEMPLATE) == NULL)
    g_hash_table_insert (self->resources_by_uri,
                         (gpointer) entry_field (resource, FIELD_URI), resource);
  else if (resource->compiled != NULL)
    g_ptr_array_add (self->resource_templates, resource);
}

/**
 * cf_catalog_snapshot_new:
 * @entries: an array of %CF_N_ENTITY_KINDS arrays of #CfCatalogEntry, one
 *   per kind, or %NULL for none; the entries are referenced
 *
 * Returns: (transfer full): a new snapshot
 */
CfCatalogSnapshot *
cf_catalog_snapshot_new (GPtrArray * const *entries)
{
  static guint64 next_serial;
  CfCatalogSnapshot *self = g_atomic_rc_box_new0 (CfCatalogSnapshot);

  self->serial = ++next_serial;
  g_mutex_init (&self->lock);
  self->resources_by_uri = g_hash_table_new (g_str_hash, g_str_equal);
  self->resource_templates = g_ptr_array_new ();
  self->prompt_templates = g_hash_table_new (g_str_hash, g_str_equal);
  self->server_members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      guint n = entries[k] != NULL ? entries[k]->len : 0;
      GPtrArray *list = g_ptr_array_new_full (n, (GDestroyNotify) cf_catalog_entry_unref);

      for (guint i = 0; i < n; i++)
        g_ptr_array_add (list, cf_catalog_entry_ref (entries[k]->pdata[i]));
      /* Deterministic order: clients cache lists and LLM prompts cache
       * better when the order never moves. */
      g_ptr_array_sort (list, compare_by_name);

      self->lists[k] = list;
      self->by_id[k] = g_hash_table_new (g_str_hash, g_str_equal);
      self->by_name[k] = g_hash_table_new (g_str_hash, g_str_equal);
      self->by_original_name[k] = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < list->len; i++)
        {
          CfCatalogEntry *entry = list->pdata[i];

          g_hash_table_insert (self->by_id[k], (gpointer) entry_field (entry, FIELD_ID), entry);
          g_hash_table_insert (self->by_name[k], (gpointer) entry_field (entry, FIELD_NAME), entry);
          index_original_name (self->by_original_name[k], entry);
          if (k == CF_ENTITY_RESOURCE)
            index_resource (self, entry);
          else if (k == CF_ENTITY_PROMPT && entry->compiled != NULL)
            g_hash_table_insert (self->prompt_templates,
                                 (gpointer) entry_field (entry, FIELD_ID), entry->compiled);
          else if (k == CF_ENTITY_SERVER)
            index_members (self, entry);
        }
    }

  return self;
}

guint64
cf_catalog_snapshot_get_serial (CfCatalogSnapshot *self)
{
  return self->serial;
}

/**
 * cf_catalog_snapshot_entries:
 *
 * Returns: (transfer none) (element-type CfCatalogEntry): the entries of
 *   @kind, ordered by name
 */
GPtrArray *
cf_catalog_snapshot_entries (CfCatalogSnapshot *self,
                             CfEntityKind       kind)
{
  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);
  return self->lists[kind];
}

/**
 * cf_catalog_snapshot_lookup_entry:
 *
 * Returns: (transfer none) (nullable): the entry of @kind with @id
 */
CfCatalogEntry *
cf_catalog_snapshot_lookup_entry (CfCatalogSnapshot *self,
                                  CfEntityKind       kind,
                                  const char        *id)
{
  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);
  return id != NULL ? g_hash_table_lookup (self->by_id[kind], id) : NULL;
}

static JsonObject *
entity_locked (CfCatalogSnapshot *self,
               CfCatalogEntry    *entry)
{
  JsonObject *object;

  if (self->objects == NULL)
    self->objects = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) json_object_unref);
  object = g_hash_table_lookup (self->objects, entry);
  if (object == NULL)
    {
      object = cf_catalog_entry_dup_object (entry);
      g_hash_table_insert (self->objects, entry, object);
    }
  return object;
}

/**
 * cf_catalog_snapshot_get_entity:
 * @entry: (nullable): an entry of this snapshot
 *
 * The entity of @entry as a tree, made once and kept with the snapshot.
 * Whoever reads every entity of a long list once should prefer
 * cf_catalog_entry_dup_object(), which keeps nothing.
 *
 * Returns: (transfer none) (nullable): the entity
 */
JsonObject *
cf_catalog_snapshot_get_entity (CfCatalogSnapshot *self,
                                CfCatalogEntry    *entry)
{
  JsonObject *object;

  if (entry == NULL)
    return NULL;
  g_mutex_lock (&self->lock);
  object = entity_locked (self, entry);
  g_mutex_unlock (&self->lock);
  return object;
}

/**
 * cf_catalog_snapshot_list:
 *
 * Every entity of @kind as a tree, all of them made and kept with the
 * snapshot: meant for the short lists (gateways, servers). Long ones are
 * better walked with cf_catalog_snapshot_entries().
 *
 * Returns: (transfer none) (element-type JsonObject): the entities of
 *   @kind, ordered by name
 */
GPtrArray *
cf_catalog_snapshot_list (CfCatalogSnapshot *self,
                          CfEntityKind       kind)
{
  GPtrArray *objects;

  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);

  g_mutex_lock (&self->lock);
  objects = self->object_lists[kind];
  if (objects == NULL)
    {
      GPtrArray *entries = self->lists[kind];

      objects = g_ptr_array_sized_new (entries->len);
      for (guint i = 0; i < entries->len; i++)
        g_ptr_array_add (objects, entity_locked (self, entries->pdata[i]));
      self->object_lists[kind] = objects;
    }
  g_mutex_unlock (&self->lock);
  return objects;
}

JsonObject *
cf_catalog_snapshot_lookup (CfCatalogSnapshot *self,
                            CfEntityKind       kind,
                            const char        *id)
{
  return cf_catalog_snapshot_get_entity (self, cf_catalog_snapshot_lookup_entry (self, kind, id));
}

/**
 * cf_catalog_snapshot_find_entry_by_name:
 *
 * Finds an entity by its exposed name, or failing that by its original
 * name when only one entity has it.
 *
 * Returns: (transfer none) (nullable): the entry
 */
CfCatalogEntry *
cf_catalog_snapshot_find_entry_by_name (CfCatalogSnapshot *self,
                                        CfEntityKind       kind,
                                        const char        *name)
{
  CfCatalogEntry *entry;

  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);

  if (name == NULL)
    return NULL;
  entry = g_hash_table_lookup (self->by_name[kind], name);
  if (entry == NULL)
    entry = g_hash_table_lookup (self->by_original_name[kind], name);
  return entry;
}

/**
 * cf_catalog_snapshot_find_by_name:
 *
 * The entity of cf_catalog_snapshot_find_entry_by_name(), as a tree kept
 * with the snapshot.
 *
 * Returns: (transfer none) (nullable): the entity
 */
JsonObject *
cf_catalog_snapshot_find_by_name (CfCatalogSnapshot *self,
                                  CfEntityKind       kind,
                                  const char        *name)
{
  return cf_catalog_snapshot_get_entity (self,
                                         cf_catalog_snapshot_find_entry_by_name (self, kind, name));
}

/**
 * cf_catalog_snapshot_find_resource:
 * @self: a snapshot
 * @uri: the URI to read
 * @out_variables: (out) (optional) (transfer full): for a templated
 *   resource, the values of its variables
 *
 * Returns: (transfer none) (nullable): the resource serving @uri
 */
JsonObject *
cf_catalog_snapshot_find_resource (CfCatalogSnapshot  *self,
                                   const char         *uri,
                                   GHashTable        **out_variables)
{
  CfCatalogEntry *resource = g_hash_table_lookup (self->resources_by_uri, uri);

  if (out_variables != NULL)
    *out_variables = NULL;
  if (resource != NULL)
    return cf_catalog_snapshot_get_entity (self, resource);

  for (guint i = 0; i < self->resource_templates->len; i++)
    {
      CfCatalogEntry *entry = self->resource_templates->pdata[i];
      GHashTable *variables = cf_uri_template_match (entry->compiled, uri);

      if (variables == NULL)
        continue;
      if (out_variables != NULL)
        *out_variables = variables;
      else
        g_hash_table_unref (variables);
      return cf_catalog_snapshot_get_entity (self, entry);
    }
  return NULL;
}

CfPromptTemplate *
cf_catalog_snapshot_get_prompt_template (CfCatalogSnapshot *self,
                                         const char        *prompt_id)
{
  return g_hash_table_lookup (self->prompt_templates, prompt_id);
}

/**
 * cf_catalog_snapshot_in_scope:
 * @self: a snapshot
 * @server_id: (nullable): a virtual server, or %NULL for the whole catalog
 * @kind: tool, resource or prompt
 * @entity_id: the entity
 *
 * Returns: whether the virtual server exposes the entity
 */
gboolean
cf_catalog_snapshot_in_scope (CfCatalogSnapshot *self,
                              const char        *server_id,
                              CfEntityKind       kind,
                              const char        *entity_id)
{
  g_autofree char *key = NULL;
  guint member;

  if (server_id == NULL)
    return TRUE;
  switch (kind)
    {
    case CF_ENTITY_TOOL:
      member = 0;
      break;
    case CF_ENTITY_RESOURCE:
      member = 1;
      break;
    case CF_ENTITY_PROMPT:
      member = 2;
      break;
    default:
      return FALSE;
    }
  key = g_strdup_printf ("%s\n%u\n%s", server_id, member, entity_id);
  return g_hash_table_contains (self->server_members, key);
}
