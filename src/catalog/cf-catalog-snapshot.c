/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog-snapshot"

#include "config.h"

#include "cf-catalog-snapshot.h"
#include "cf-json.h"

/**
 * CfCatalogSnapshot:
 *
 * An immutable view of everything the gateway can expose, with the indexes
 * the request path needs (by id, by exposed name, by URI, templates and
 * prompt templates compiled once). Requests hold a reference while they
 * run; a change builds a new snapshot and swaps it in, so the request path
 * never locks and never touches SQL.
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
};

typedef struct {
  CfUriTemplate *template;
  JsonObject    *resource;
} ResourceTemplate;

static void
resource_template_free (ResourceTemplate *rt)
{
  cf_uri_template_unref (rt->template);
  json_object_unref (rt->resource);
  g_free (rt);
}

static void
snapshot_clear (CfCatalogSnapshot *self)
{
  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      g_clear_pointer (&self->lists[k], g_ptr_array_unref);
      g_clear_pointer (&self->by_id[k], g_hash_table_unref);
      g_clear_pointer (&self->by_name[k], g_hash_table_unref);
      g_clear_pointer (&self->by_original_name[k], g_hash_table_unref);
    }
  g_clear_pointer (&self->resources_by_uri, g_hash_table_unref);
  g_clear_pointer (&self->resource_templates, g_ptr_array_unref);
  g_clear_pointer (&self->prompt_templates, g_hash_table_unref);
  g_clear_pointer (&self->server_members, g_hash_table_unref);
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
  JsonObject *x = *(JsonObject **) a, *y = *(JsonObject **) b;
  int c = g_strcmp0 (cf_json_object_get_string (x, "name"), cf_json_object_get_string (y, "name"));

  return c != 0 ? c : g_strcmp0 (cf_json_object_get_string (x, "id"),
                                 cf_json_object_get_string (y, "id"));
}

/* An original name maps to its entity only while it is unambiguous; a
 * clash maps it to NULL, so that neither wins by accident. */
static void
index_original_name (GHashTable *table,
                     const char *original,
                     JsonObject *entity)
{
  if (original == NULL)
    return;
  if (g_hash_table_contains (table, original))
    g_hash_table_replace (table, (gpointer) original, NULL);
  else
    g_hash_table_insert (table, (gpointer) original, entity);
}

static void
index_members (CfCatalogSnapshot *self,
               JsonObject        *server)
{
  static const char *members[] = { "associatedTools", "associatedResources", "associatedPrompts" };
  const char *server_id = cf_json_object_get_string (server, "id");

  for (guint m = 0; m < G_N_ELEMENTS (members); m++)
    {
      JsonArray *ids = cf_json_object_get_array (server, members[m]);

      for (guint i = 0; ids != NULL && i < json_array_get_length (ids); i++)
        g_hash_table_add (self->server_members,
                          g_strdup_printf ("%s\n%u\n%s", server_id, m,
                                           json_array_get_string_element (ids, i)));
    }
}

static void
index_resource (CfCatalogSnapshot *self,
                JsonObject        *resource)
{
  const char *template = cf_json_object_get_string (resource, "uriTemplate");
  CfUriTemplate *compiled;
  ResourceTemplate *rt;

  if (template == NULL)
    {
      g_hash_table_insert (self->resources_by_uri,
                           (gpointer) cf_json_object_get_string (resource, "uri"), resource);
      return;
    }
  compiled = cf_uri_template_new (template, NULL);
  if (compiled == NULL)
    {
      g_warning ("Resource %s has an invalid URI template", cf_json_object_get_string (resource, "id"));
      return;
    }
  rt = g_new0 (ResourceTemplate, 1);
  rt->template = compiled;
  rt->resource = json_object_ref (resource);
  g_ptr_array_add (self->resource_templates, rt);
}

static void
index_prompt (CfCatalogSnapshot *self,
              JsonObject        *prompt)
{
  g_autoptr(GError) error = NULL;
  CfPromptTemplate *template;

  template = cf_prompt_template_new (cf_json_object_get_string (prompt, "template") ?: "", &error);
  if (template == NULL)
    g_warning ("Prompt %s has an invalid template: %s",
               cf_json_object_get_string (prompt, "id"), error->message);
  else
    g_hash_table_insert (self->prompt_templates,
                         (gpointer) cf_json_object_get_string (prompt, "id"), template);
}

/**
 * cf_catalog_snapshot_new:
 * @entities: an array of %CF_N_ENTITY_KINDS arrays of #JsonObject, one per
 *   kind; the objects are referenced, never modified
 *
 * Returns: (transfer full): a new snapshot
 */
CfCatalogSnapshot *
cf_catalog_snapshot_new (GPtrArray * const *entities)
{
  static guint64 next_serial;
  CfCatalogSnapshot *self = g_atomic_rc_box_new0 (CfCatalogSnapshot);

  self->serial = ++next_serial;
  self->resources_by_uri = g_hash_table_new (g_str_hash, g_str_equal);
  self->resource_templates = g_ptr_array_new_with_free_func ((GDestroyNotify) resource_template_free);
  self->prompt_templates = g_hash_table_new_full (g_str_hash, g_str_equal, NULL,
                                                  (GDestroyNotify) cf_prompt_template_unref);
  self->server_members = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, NULL);

  for (guint k = 0; k < CF_N_ENTITY_KINDS; k++)
    {
      GPtrArray *list = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

      for (guint i = 0; entities[k] != NULL && i < entities[k]->len; i++)
        g_ptr_array_add (list, json_object_ref (entities[k]->pdata[i]));
      /* Deterministic order: clients cache lists and LLM prompts cache
       * better when the order never moves. */
      g_ptr_array_sort (list, compare_by_name);

      self->lists[k] = list;
      self->by_id[k] = g_hash_table_new (g_str_hash, g_str_equal);
      self->by_name[k] = g_hash_table_new (g_str_hash, g_str_equal);
      self->by_original_name[k] = g_hash_table_new (g_str_hash, g_str_equal);

      for (guint i = 0; i < list->len; i++)
        {
          JsonObject *entity = list->pdata[i];

          g_hash_table_insert (self->by_id[k],
                               (gpointer) cf_json_object_get_string (entity, "id"), entity);
          g_hash_table_insert (self->by_name[k],
                               (gpointer) cf_json_object_get_string (entity, "name"), entity);
          index_original_name (self->by_original_name[k],
                               cf_json_object_get_string (entity, "originalName"), entity);
          if (k == CF_ENTITY_RESOURCE)
            index_resource (self, entity);
          else if (k == CF_ENTITY_PROMPT)
            index_prompt (self, entity);
          else if (k == CF_ENTITY_SERVER)
            index_members (self, entity);
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
 * cf_catalog_snapshot_list:
 *
 * Returns: (transfer none) (element-type JsonObject): the entities of
 *   @kind, ordered by name
 */
GPtrArray *
cf_catalog_snapshot_list (CfCatalogSnapshot *self,
                          CfEntityKind       kind)
{
  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);
  return self->lists[kind];
}

JsonObject *
cf_catalog_snapshot_lookup (CfCatalogSnapshot *self,
                            CfEntityKind       kind,
                            const char        *id)
{
  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);
  return id != NULL ? g_hash_table_lookup (self->by_id[kind], id) : NULL;
}

/**
 * cf_catalog_snapshot_find_by_name:
 *
 * Finds an entity by its exposed name, or failing that by its original
 * name when only one entity has it.
 *
 * Returns: (transfer none) (nullable): the entity
 */
JsonObject *
cf_catalog_snapshot_find_by_name (CfCatalogSnapshot *self,
                                  CfEntityKind       kind,
                                  const char        *name)
{
  JsonObject *entity;

  g_return_val_if_fail (kind < CF_N_ENTITY_KINDS, NULL);

  if (name == NULL)
    return NULL;
  entity = g_hash_table_lookup (self->by_name[kind], name);
  if (entity == NULL)
    entity = g_hash_table_lookup (self->by_original_name[kind], name);
  return entity;
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
  JsonObject *resource = g_hash_table_lookup (self->resources_by_uri, uri);

  if (out_variables != NULL)
    *out_variables = NULL;
  if (resource != NULL)
    return resource;

  for (guint i = 0; i < self->resource_templates->len; i++)
    {
      ResourceTemplate *rt = self->resource_templates->pdata[i];
      GHashTable *variables = cf_uri_template_match (rt->template, uri);

      if (variables == NULL)
        continue;
      if (out_variables != NULL)
        *out_variables = variables;
      else
        g_hash_table_unref (variables);
      return rt->resource;
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
