/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-slug.h"
#include "cf-upstream-credentials.h"
#include "cf-upstream-pool-private.h"

/* The pool: syncing an upstream's catalog into the registry. */

static char *
entity_id (const char   *gateway_id,
           CfEntityKind  kind,
           const char   *key)
{
  g_autofree char *seed = g_strdup_printf ("%s\n%d\n%s", gateway_id, kind, key);
  g_autofree char *digest = g_compute_checksum_for_string (G_CHECKSUM_SHA256, seed, -1);

  return g_strndup (digest, 32);
}

static char *
exposed_name (CfUpstreamPool    *self,
              CfCatalogSnapshot *snapshot,
              JsonObject        *gateway,
              CfEntityKind       kind,
              const char        *original)
{
  const char *mode = cf_json_object_get_string (gateway, "prefixMode") ?: "always";
  g_autofree char *prefix = cf_slugify (cf_json_object_get_string (gateway, "name"),
                                        self->separator);
  g_autofree char *slug = cf_slugify (original, self->separator);
  JsonObject *holder;

  if (g_str_equal (mode, "never"))
    return g_strdup (original);
  if (g_str_equal (mode, "conditional"))
    {
      holder = cf_catalog_snapshot_find_by_name (snapshot, kind, original);
      if (holder == NULL || g_strcmp0 (cf_json_object_get_string (holder, "gatewayId"),
                                       cf_json_object_get_string (gateway, "id")) == 0)
        return g_strdup (original);
    }
  /* ContextForge's rule: slug of the gateway, separator, slug of the name. */
  return g_strconcat (prefix, self->separator, slug, NULL);
}

/* Shares the member's value: what an upstream listed is dropped once it
 * is synced, and the catalog never changes an entity in place. A sealed
 * node (the parser seals what it reads) is shared itself. */
static void
copy_member (JsonObject *to,
             JsonObject *from,
             const char *member)
{
  JsonNode *node = json_object_get_member (from, member);

  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  json_object_set_member (to, member,
                          json_node_is_immutable (node) ? json_node_ref (node)
                                                        : json_node_copy (node));
}

/* The members every entity of @kind in one sync has in common, sealed:
 * each entity references these nodes instead of holding its own copies
 * (ten thousand tools, ten thousand copies of the same ids, flags and
 * timestamps). */
static JsonObject *
shared_members (JsonObject   *gateway,
                CfEntityKind  kind,
                const char   *now)
{
  JsonObject *shared = json_object_new ();

  json_object_set_string_member (shared, "gatewayId", cf_json_object_get_string (gateway, "id"));
  json_object_set_boolean_member (shared, "enabled", TRUE);
  copy_member (shared, gateway, "visibility");
  copy_member (shared, gateway, "teamId");
  copy_member (shared, gateway, "ownerEmail");
  json_object_set_string_member (shared, "createdAt", now);
  json_object_set_string_member (shared, "updatedAt", now);
  json_object_set_int_member (shared, "version", 1);
  if (kind == CF_ENTITY_TOOL)
    {
      json_object_set_string_member (shared, "integrationType", "MCP");
      json_object_set_string_member (shared, "requestType",
                                     cf_json_object_get_string (gateway, "transport") ?: "");
      json_object_set_boolean_member (shared, "reachable", TRUE);
    }
  json_object_seal (shared);
  return shared;
}

static JsonObject *
base_entity (JsonObject   *shared,
             CfEntityKind  kind,
             const char   *key)
{
  JsonObject *entity = json_object_new ();
  g_autofree char *id = entity_id (cf_json_object_get_string (shared, "gatewayId"), kind, key);
  JsonObjectIter iter;
  const char *member;
  JsonNode *node;

  json_object_set_string_member (entity, "id", id);
  json_object_iter_init_ordered (&iter, shared);
  while (json_object_iter_next_ordered (&iter, &member, &node))
    json_object_set_member (entity, member, json_node_ref (node));
  return entity;
}

/* The exposed name, and the original one: the same node when they are
 * the same. */
static void
set_names (JsonObject *entity,
           const char *exposed,
           const char *original)
{
  JsonNode *name = json_node_init_string (json_node_alloc (), exposed);

  json_node_seal (name);
  json_object_set_member (entity, "name", name);
  if (g_str_equal (exposed, original))
    json_object_set_member (entity, "originalName", json_node_ref (name));
  else
    json_object_set_string_member (entity, "originalName", original);
}

static GPtrArray *
tool_entities (CfUpstreamPool    *self,
               CfCatalogSnapshot *snapshot,
               JsonObject        *gateway,
               JsonArray         *tools,
               const char        *now)
{
  GPtrArray *entities = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonObject) shared = shared_members (gateway, CF_ENTITY_TOOL, now);

  for (guint i = 0; i < json_array_get_length (tools); i++)
    {
      JsonNode *node = json_array_get_element (tools, i);
      JsonObject *tool = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = cf_json_object_get_string (tool, "name");
      g_autofree char *exposed = NULL;
      JsonObject *entity;

      if (name == NULL || cf_json_object_get_object (tool, "inputSchema") == NULL)
        {
          g_warning ("Skipping an upstream tool without a name or an input schema");
          continue;
        }
      /* The gateway runs no tasks: a tool that can only run as one
       * would fail every call, so it is not offered. */
      if (g_strcmp0 (cf_json_object_get_string (cf_json_object_get_object (tool, "execution"),
                                                "taskSupport"), "required") == 0)
        {
          g_message ("Gateway %s: not offering tool %s, which requires task-based execution",
                     cf_json_object_get_string (gateway, "name"), name);
          continue;
        }
      exposed = exposed_name (self, snapshot, gateway, CF_ENTITY_TOOL, name);
      entity = base_entity (shared, CF_ENTITY_TOOL, name);
      set_names (entity, exposed, name);
      copy_member (entity, tool, "title");
      copy_member (entity, tool, "description");
      copy_member (entity, tool, "inputSchema");
      copy_member (entity, tool, "outputSchema");
      copy_member (entity, tool, "annotations");
      g_ptr_array_add (entities, entity);
    }
  return entities;
}

static void
add_resources (GPtrArray  *entities,
               JsonObject *gateway,
               JsonArray  *items,
               gboolean    templates,
               const char *now)
{
  g_autoptr(JsonObject) shared = shared_members (gateway, CF_ENTITY_RESOURCE, now);

  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *uri = cf_json_object_get_string (item, templates ? "uriTemplate" : "uri");
      JsonObject *entity;

      if (uri == NULL)
        continue;
      entity = base_entity (shared, CF_ENTITY_RESOURCE, uri);
      json_object_set_string_member (entity, "uri", uri);
      if (templates)
        json_object_set_string_member (entity, "uriTemplate", uri);
      json_object_set_string_member (entity, "name", cf_json_object_get_string (item, "name") ?: uri);
      copy_member (entity, item, "title");
      copy_member (entity, item, "description");
      copy_member (entity, item, "mimeType");
      copy_member (entity, item, "size");
      g_ptr_array_add (entities, entity);
    }
}

static GPtrArray *
prompt_entities (CfUpstreamPool    *self,
                 CfCatalogSnapshot *snapshot,
                 JsonObject        *gateway,
                 JsonArray         *prompts,
                 const char        *now)
{
  GPtrArray *entities = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(JsonObject) shared = shared_members (gateway, CF_ENTITY_PROMPT, now);

  for (guint i = 0; prompts != NULL && i < json_array_get_length (prompts); i++)
    {
      JsonNode *node = json_array_get_element (prompts, i);
      JsonObject *prompt = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = cf_json_object_get_string (prompt, "name");
      g_autofree char *exposed = NULL;
      JsonObject *entity;

      if (name == NULL)
        continue;
      exposed = exposed_name (self, snapshot, gateway, CF_ENTITY_PROMPT, name);
      entity = base_entity (shared, CF_ENTITY_PROMPT, name);
      set_names (entity, exposed, name);
      copy_member (entity, prompt, "title");
      copy_member (entity, prompt, "description");
      copy_member (entity, prompt, "arguments");
      g_ptr_array_add (entities, entity);
    }
  return entities;
}

/* Sync: every listing, every page, then one catalog sync per kind. */

typedef struct {
  Upstream   *up;
  JsonArray  *tools;
  JsonArray  *resources;
  JsonArray  *templates;
  JsonArray  *prompts;
  guint       step;
  gint64      tool_count;
} Sync;

static const char * const listings[] = {
  "tools/list", "resources/list", "resources/templates/list", "prompts/list",
};

static void sync_next (Sync *sync);

static void
sync_free (Sync *sync)
{
  g_clear_pointer (&sync->tools, json_array_unref);
  g_clear_pointer (&sync->resources, json_array_unref);
  g_clear_pointer (&sync->templates, json_array_unref);
  g_clear_pointer (&sync->prompts, json_array_unref);
  g_free (sync);
}

static void
sync_failed (Sync         *sync,
             const GError *error)
{
  Upstream *up = sync->up;
  g_autofree char *message = g_strdup_printf ("Sync failed: %s", error->message);

  g_warning ("Gateway %s: %s", up->gateway_id, message);
  up->syncing = FALSE;
  _cf_upstream_pool_write_status (up, up->reachable, message, -1);
  sync_free (sync);
}

static gboolean
capability_for (Upstream   *up,
                const char *listing)
{
  JsonObject *caps = cf_mcp_client_get_server_capabilities (up->primary->client);
  const char *capability = g_str_has_prefix (listing, "tools") ? "tools"
                           : g_str_has_prefix (listing, "prompts") ? "prompts" : "resources";

  return caps != NULL && json_object_has_member (caps, capability);
}

static void
on_synced_kind (GObject      *source,
                GAsyncResult *result,
                gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_auto(GStrv) skipped = cf_catalog_sync_finish (CF_CATALOG (source), result, &error);

  if (skipped == NULL)
    g_warning ("Cannot sync an upstream's entities: %s", error->message);
  for (guint i = 0; skipped != NULL && skipped[i] != NULL; i++)
    g_warning ("Skipped upstream entity %s: the name is taken", skipped[i]);
}

static void
commit_sync (Sync *sync)
{
  Upstream *up = sync->up;
  CfUpstreamPool *self = up->pool;
  g_autoptr(JsonObject) gateway = _cf_upstream_pool_current_gateway (up);
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  g_autofree char *now = _cf_upstream_pool_now_iso8601 ();
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GPtrArray) resources = NULL;
  g_autoptr(GPtrArray) prompts = NULL;
  g_autofree char *message = NULL;

  up->syncing = FALSE;
  if (gateway == NULL)
    return;

  tools = tool_entities (self, snapshot, gateway, sync->tools, now);
  resources = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  add_resources (resources, gateway, sync->resources, FALSE, now);
  add_resources (resources, gateway, sync->templates, TRUE, now);
  prompts = prompt_entities (self, snapshot, gateway, sync->prompts, now);

  cf_catalog_sync_async (self->catalog, CF_ENTITY_TOOL, up->gateway_id, tools, NULL,
                         on_synced_kind, NULL);
  cf_catalog_sync_async (self->catalog, CF_ENTITY_RESOURCE, up->gateway_id, resources, NULL,
                         on_synced_kind, NULL);
  cf_catalog_sync_async (self->catalog, CF_ENTITY_PROMPT, up->gateway_id, prompts, NULL,
                         on_synced_kind, NULL);

  message = g_strdup_printf ("Connected (MCP %s): %u tools, %u resources, %u prompts",
                             cf_mcp_client_get_protocol_version (up->primary->client),
                             tools->len,
                             resources->len, prompts->len);
  _cf_upstream_pool_write_status (up, TRUE, message, tools->len);
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Sync *sync = user_data;
  g_autoptr(GError) error = NULL;
  JsonArray *items = cf_mcp_client_list_all_finish (CF_MCP_CLIENT (source), result, &error);

  /* Cancelled: the upstream is gone, and sync->up with it. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      sync_free (sync);
      return;
    }
  if (items == NULL)
    {
      sync_failed (sync, error);
      return;
    }
  switch (sync->step)
    {
    case 0: sync->tools = items; break;
    case 1: sync->resources = items; break;
    case 2: sync->templates = items; break;
    default: sync->prompts = items; break;
    }
  sync->step++;
  sync_next (sync);
}

static void
sync_next (Sync *sync)
{
  Upstream *up = sync->up;

  while (sync->step < G_N_ELEMENTS (listings) && !capability_for (up, listings[sync->step]))
    sync->step++;
  if (sync->step == G_N_ELEMENTS (listings))
    {
      commit_sync (sync);
      sync_free (sync);
      return;
    }
  cf_mcp_client_list_all_async (up->primary->client, listings[sync->step], up->cancellable,
                                on_listed, sync);
}

void
_cf_upstream_pool_start_sync (Upstream *up)
{
  Sync *sync;

  if (!up->primary->connected || up->syncing)
    return;
  up->syncing = TRUE;
  sync = g_new0 (Sync, 1);
  sync->up = up;
  sync_next (sync);
}
