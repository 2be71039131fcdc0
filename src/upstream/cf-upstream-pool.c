/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-slug.h"
#include "cf-upstream-pool.h"

#define MAX_BACKOFF_S 300
#define RESYNC_DELAY_MS 300

/**
 * CfUpstreamPool:
 *
 * One live connection per enabled upstream gateway in the catalog. A
 * gateway is connected when it appears or its connection settings change,
 * its whole catalog (every page) is synced into the registry, and its
 * status (reachable, counts, last error) is written back. A failed or
 * lost connection is retried with exponential backoff; list_changed from
 * the upstream triggers a resync. The request path only looks up the
 * connected client of a gateway.
 */
struct _CfUpstreamPool
{
  GObject     parent_instance;

  CfCatalog  *catalog;
  char       *separator;
  GHashTable *upstreams;
  gulong      changed_id;
  guint       timeout_ms;
  gboolean    started;
};

typedef struct {
  CfUpstreamPool *pool;
  char           *gateway_id;
  char           *fingerprint;
  CfMcpClient    *client;
  GCancellable   *cancellable;
  guint           retry_id;
  guint           resync_id;
  guint           attempts;
  gboolean        connected;
  gboolean        syncing;
} Upstream;

G_DEFINE_FINAL_TYPE (CfUpstreamPool, cf_upstream_pool, G_TYPE_OBJECT)

static void connect_upstream (Upstream *up);

static void
upstream_free (Upstream *up)
{
  g_cancellable_cancel (up->cancellable);
  g_clear_handle_id (&up->retry_id, g_source_remove);
  g_clear_handle_id (&up->resync_id, g_source_remove);
  if (up->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (up->client, up);
      cf_mcp_client_close (up->client);
    }
  g_clear_object (&up->client);
  g_clear_object (&up->cancellable);
  g_free (up->gateway_id);
  g_free (up->fingerprint);
  g_free (up);
}

/* What, when changed, needs a new connection. */
static char *
fingerprint (JsonObject *gateway)
{
  static const char *members[] = {
    "name", "url", "transport", "command", "args", "env", "cwd", "prefixMode", "authType",
    "authValue", "enabled",
  };
  g_autoptr(GString) out = g_string_new (NULL);

  for (guint i = 0; i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *node = json_object_get_member (gateway, members[i]);
      g_autofree char *text = node ? cf_json_to_string (node, NULL) : g_strdup ("-");

      g_string_append_printf (out, "%s=%s\n", members[i], text);
    }
  return g_strdup (out->str);
}

static JsonObject *
current_gateway (Upstream *up)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (up->pool->catalog);
  JsonObject *gateway = cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_GATEWAY, up->gateway_id);

  return gateway ? json_object_ref (gateway) : NULL;
}

static char *
now_iso8601 (void)
{
  g_autoptr(GDateTime) now = g_date_time_new_now_utc ();

  return g_date_time_format_iso8601 (now);
}

static void
on_status_written (GObject      *source,
                   GAsyncResult *result,
                   gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) entity = cf_catalog_write_finish (CF_CATALOG (source), result, NULL,
                                                          &error);

  if (entity == NULL && !g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_NOT_FOUND))
    g_warning ("Cannot record an upstream's status: %s", error->message);
}

static void
write_status (Upstream   *up,
              gboolean    reachable,
              const char *message,
              gint64      tool_count)
{
  g_autoptr(JsonObject) status = json_object_new ();

  json_object_set_boolean_member (status, "reachable", reachable);
  json_object_set_string_member (status, "statusMessage", message);
  if (reachable)
    {
      g_autofree char *now = now_iso8601 ();
      JsonObject *caps = cf_mcp_client_get_server_capabilities (up->client);

      json_object_set_string_member (status, "lastSeen", now);
      if (caps != NULL)
        json_object_set_object_member (status, "capabilities", cf_json_object_deep_copy (caps));
    }
  if (tool_count >= 0)
    json_object_set_int_member (status, "toolCount", tool_count);
  cf_catalog_set_status_async (up->pool->catalog, CF_ENTITY_GATEWAY, up->gateway_id, status,
                               NULL, on_status_written, NULL);
}

/* Entities from an upstream's listings */

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

static void
copy_member (JsonObject *to,
             JsonObject *from,
             const char *member)
{
  JsonNode *node = json_object_get_member (from, member);

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    json_object_set_member (to, member, cf_json_node_deep_copy (node));
}

static JsonObject *
base_entity (JsonObject   *gateway,
             CfEntityKind  kind,
             const char   *key,
             const char   *now)
{
  JsonObject *entity = json_object_new ();
  g_autofree char *id = entity_id (cf_json_object_get_string (gateway, "id"), kind, key);

  json_object_set_string_member (entity, "id", id);
  json_object_set_string_member (entity, "gatewayId", cf_json_object_get_string (gateway, "id"));
  json_object_set_boolean_member (entity, "enabled", TRUE);
  copy_member (entity, gateway, "visibility");
  copy_member (entity, gateway, "teamId");
  copy_member (entity, gateway, "ownerEmail");
  json_object_set_string_member (entity, "createdAt", now);
  json_object_set_string_member (entity, "updatedAt", now);
  json_object_set_int_member (entity, "version", 1);
  return entity;
}

static GPtrArray *
tool_entities (CfUpstreamPool    *self,
               CfCatalogSnapshot *snapshot,
               JsonObject        *gateway,
               JsonArray         *tools,
               const char        *now)
{
  GPtrArray *entities = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

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
      exposed = exposed_name (self, snapshot, gateway, CF_ENTITY_TOOL, name);
      entity = base_entity (gateway, CF_ENTITY_TOOL, name, now);
      json_object_set_string_member (entity, "name", exposed);
      json_object_set_string_member (entity, "originalName", name);
      json_object_set_string_member (entity, "integrationType", "MCP");
      json_object_set_string_member (entity, "requestType",
                                     cf_json_object_get_string (gateway, "transport") ?: "");
      json_object_set_boolean_member (entity, "reachable", TRUE);
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
  for (guint i = 0; items != NULL && i < json_array_get_length (items); i++)
    {
      JsonNode *node = json_array_get_element (items, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *uri = cf_json_object_get_string (item, templates ? "uriTemplate" : "uri");
      JsonObject *entity;

      if (uri == NULL)
        continue;
      entity = base_entity (gateway, CF_ENTITY_RESOURCE, uri, now);
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
      entity = base_entity (gateway, CF_ENTITY_PROMPT, name, now);
      json_object_set_string_member (entity, "name", exposed);
      json_object_set_string_member (entity, "originalName", name);
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
  write_status (up, up->connected, message, -1);
  sync_free (sync);
}

static gboolean
capability_for (Upstream   *up,
                const char *listing)
{
  JsonObject *caps = cf_mcp_client_get_server_capabilities (up->client);
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
  g_autoptr(JsonObject) gateway = current_gateway (up);
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  g_autofree char *now = now_iso8601 ();
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
                             cf_mcp_client_get_protocol_version (up->client), tools->len,
                             resources->len, prompts->len);
  write_status (up, TRUE, message, tools->len);
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
  cf_mcp_client_list_all_async (up->client, listings[sync->step], up->cancellable,
                                on_listed, sync);
}

static void
start_sync (Upstream *up)
{
  Sync *sync;

  if (!up->connected || up->syncing)
    return;
  up->syncing = TRUE;
  sync = g_new0 (Sync, 1);
  sync->up = up;
  sync_next (sync);
}

/* Connection */

static gboolean
on_retry (gpointer user_data)
{
  Upstream *up = user_data;

  up->retry_id = 0;
  connect_upstream (up);
  return G_SOURCE_REMOVE;
}

static void
schedule_retry (Upstream   *up,
                const char *why)
{
  guint delay = MIN (1u << MIN (up->attempts, 9u), MAX_BACKOFF_S);

  up->attempts++;
  g_message ("Gateway %s unreachable (%s); retrying in %u s", up->gateway_id, why, delay);
  write_status (up, FALSE, why, -1);
  g_clear_handle_id (&up->retry_id, g_source_remove);
  up->retry_id = g_timeout_add_seconds (delay, on_retry, up);
}

static gboolean
on_resync (gpointer user_data)
{
  Upstream *up = user_data;

  up->resync_id = 0;
  start_sync (up);
  return G_SOURCE_REMOVE;
}

static void
on_notification (CfMcpClient *client,
                 JsonNode    *message,
                 Upstream    *up)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");

  /* Coalesce bursts of list changes into one resync. */
  if (method != NULL && g_str_has_suffix (method, "/list_changed") && up->resync_id == 0)
    up->resync_id = g_timeout_add (RESYNC_DELAY_MS, on_resync, up);
}

static void
on_client_closed (CfMcpClient *client,
                  Upstream    *up)
{
  up->connected = FALSE;
  schedule_retry (up, "the connection closed");
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;

  if (!cf_mcp_client_connect_finish (CF_MCP_CLIENT (source), result, &error))
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        schedule_retry (up, error->message);
      return;
    }
  up->connected = TRUE;
  up->attempts = 0;
  start_sync (up);
}

static CfMcpClient *
new_client (JsonObject  *gateway,
            GError     **error)
{
  const char *transport = cf_json_object_get_string (gateway, "transport");

  if (g_strcmp0 (transport, "STDIO") == 0)
    {
      g_autoptr(GPtrArray) argv = g_ptr_array_new ();
      g_autoptr(GPtrArray) env = g_ptr_array_new_with_free_func (g_free);
      JsonArray *args = cf_json_object_get_array (gateway, "args");
      JsonObject *vars = cf_json_object_get_object (gateway, "env");
      g_autoptr(GList) names = vars ? json_object_get_members (vars) : NULL;

      g_ptr_array_add (argv, (char *) cf_json_object_get_string (gateway, "command"));
      for (guint i = 0; args != NULL && i < json_array_get_length (args); i++)
        g_ptr_array_add (argv, (char *) json_array_get_string_element (args, i));
      g_ptr_array_add (argv, NULL);
      for (GList *l = names; l != NULL; l = l->next)
        g_ptr_array_add (env, g_strdup_printf ("%s=%s", (char *) l->data,
                                               cf_json_object_get_string (vars, l->data)));
      g_ptr_array_add (env, NULL);
      return cf_mcp_client_new_stdio ((const char * const *) argv->pdata,
                                      (const char * const *) env->pdata,
                                      cf_json_object_get_string (gateway, "cwd"));
    }
  if (g_strcmp0 (transport, "STREAMABLEHTTP") == 0 || g_strcmp0 (transport, "SSE") == 0)
    return cf_mcp_client_new_http (cf_json_object_get_string (gateway, "url"), NULL, NULL);

  g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
               "The %s transport is not supported yet", transport ? transport : "(none)");
  return NULL;
}

static void
connect_upstream (Upstream *up)
{
  g_autoptr(JsonObject) gateway = current_gateway (up);
  g_autoptr(GError) error = NULL;

  if (gateway == NULL)
    return;
  if (up->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (up->client, up);
      cf_mcp_client_close (up->client);
      g_clear_object (&up->client);
    }
  up->connected = FALSE;
  up->client = new_client (gateway, &error);
  if (up->client == NULL)
    {
      write_status (up, FALSE, error->message, -1);
      return;
    }
  cf_mcp_client_set_timeout (up->client, up->pool->timeout_ms);
  g_signal_connect (up->client, "notification", G_CALLBACK (on_notification), up);
  g_signal_connect (up->client, "closed", G_CALLBACK (on_client_closed), up);
  cf_mcp_client_connect_async (up->client, up->cancellable, on_connected, up);
}

/* Reconciling with the catalog */

static void
reconcile (CfUpstreamPool *self)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  GPtrArray *gateways = cf_catalog_snapshot_list (snapshot, CF_ENTITY_GATEWAY);
  g_autoptr(GHashTable) wanted = g_hash_table_new (g_str_hash, g_str_equal);
  GHashTableIter iter;
  Upstream *up;

  for (guint i = 0; i < gateways->len; i++)
    {
      JsonObject *gateway = gateways->pdata[i];
      const char *id = cf_json_object_get_string (gateway, "id");
      g_autofree char *print = NULL;

      if (!cf_json_object_get_bool (gateway, "enabled", TRUE))
        continue;
      g_hash_table_add (wanted, (gpointer) id);
      print = fingerprint (gateway);
      up = g_hash_table_lookup (self->upstreams, id);
      if (up != NULL && g_str_equal (up->fingerprint, print))
        continue;

      /* New, or its connection settings changed: connect afresh. */
      up = g_new0 (Upstream, 1);
      up->pool = self;
      up->gateway_id = g_strdup (id);
      up->fingerprint = g_steal_pointer (&print);
      up->cancellable = g_cancellable_new ();
      g_hash_table_replace (self->upstreams, g_strdup (id), up);
      connect_upstream (up);
    }

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    if (!g_hash_table_contains (wanted, up->gateway_id))
      g_hash_table_iter_remove (&iter);
}

static void
on_catalog_changed (CfCatalog      *catalog,
                    guint           kind,
                    CfUpstreamPool *self)
{
  if (kind == CF_ENTITY_GATEWAY && self->started)
    reconcile (self);
}

static void
cf_upstream_pool_dispose (GObject *object)
{
  CfUpstreamPool *self = (CfUpstreamPool *) object;

  cf_upstream_pool_stop (self);
  if (self->catalog != NULL)
    g_clear_signal_handler (&self->changed_id, self->catalog);
  g_clear_object (&self->catalog);

  G_OBJECT_CLASS (cf_upstream_pool_parent_class)->dispose (object);
}

static void
cf_upstream_pool_finalize (GObject *object)
{
  CfUpstreamPool *self = (CfUpstreamPool *) object;

  g_clear_pointer (&self->upstreams, g_hash_table_unref);
  g_clear_pointer (&self->separator, g_free);

  G_OBJECT_CLASS (cf_upstream_pool_parent_class)->finalize (object);
}

static void
cf_upstream_pool_class_init (CfUpstreamPoolClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);

  object_class->dispose = cf_upstream_pool_dispose;
  object_class->finalize = cf_upstream_pool_finalize;
}

static void
cf_upstream_pool_init (CfUpstreamPool *self)
{
  self->upstreams = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                           (GDestroyNotify) upstream_free);
  self->timeout_ms = 60000;
}

/**
 * cf_upstream_pool_new:
 * @catalog: the registry whose gateways to connect
 * @separator: GATEWAY_TOOL_NAME_SEPARATOR
 *
 * Returns: (transfer full): a pool; call cf_upstream_pool_start()
 */
CfUpstreamPool *
cf_upstream_pool_new (CfCatalog  *catalog,
                      const char *separator)
{
  CfUpstreamPool *self = g_object_new (CF_TYPE_UPSTREAM_POOL, NULL);

  self->catalog = g_object_ref (catalog);
  self->separator = g_strdup (separator ? separator : CF_SLUG_DEFAULT_SEPARATOR);
  self->changed_id = g_signal_connect (catalog, "changed", G_CALLBACK (on_catalog_changed), self);
  return self;
}

void
cf_upstream_pool_set_timeout (CfUpstreamPool *self,
                              guint           msec)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));
  self->timeout_ms = MAX (msec, 1);
}

void
cf_upstream_pool_start (CfUpstreamPool *self)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  self->started = TRUE;
  reconcile (self);
}

/**
 * cf_upstream_pool_stop:
 *
 * Closes every connection; stdio children are stopped.
 */
void
cf_upstream_pool_stop (CfUpstreamPool *self)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  self->started = FALSE;
  g_hash_table_remove_all (self->upstreams);
}

/**
 * cf_upstream_pool_get_client:
 *
 * Returns: (transfer none) (nullable): the connected client of a gateway
 */
CfMcpClient *
cf_upstream_pool_get_client (CfUpstreamPool *self,
                             const char     *gateway_id)
{
  Upstream *up;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), NULL);

  up = gateway_id ? g_hash_table_lookup (self->upstreams, gateway_id) : NULL;
  return up != NULL && up->connected ? up->client : NULL;
}

/**
 * cf_upstream_pool_refresh:
 *
 * Re-syncs a gateway's catalog now, or reconnects it if it is down.
 *
 * Returns: %FALSE if the pool has no such gateway
 */
gboolean
cf_upstream_pool_refresh (CfUpstreamPool *self,
                          const char     *gateway_id)
{
  Upstream *up;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), FALSE);

  up = g_hash_table_lookup (self->upstreams, gateway_id);
  if (up == NULL)
    return FALSE;
  if (up->connected)
    start_sync (up);
  else
    {
      g_clear_handle_id (&up->retry_id, g_source_remove);
      connect_upstream (up);
    }
  return TRUE;
}
