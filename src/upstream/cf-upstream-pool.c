/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-pool"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-json.h"
#include "cf-slug.h"
#include "cf-upstream-credentials.h"
#include "cf-upstream-pool.h"

#define MAX_BACKOFF_S 300
#define RESYNC_DELAY_MS 300
/* A connection that dies sooner than this after connecting counts as a
 * crash loop: the next attempt backs off instead of starting at once. */
#define STABLE_CONNECTION_S 10
/* After an extra connection fails to start, a pool serves from the
 * connections it has for this long before trying another. */
#define SPAWN_BACKOFF_S 5
/* Keep-alive connections per upstream HTTP session, as CfMcpClient's own. */
#define CONNS_PER_UPSTREAM 16

/**
 * CfUpstreamPool:
 *
 * The gateway's connections to its upstream servers. Each enabled
 * gateway in the catalog has a primary connection: it is made when the
 * gateway appears or its connection settings change, syncs the
 * upstream's whole catalog (every page) into the registry, answers the
 * periodic health checks, and is retried with exponential backoff when
 * it fails. A connection that was up and dies is restarted at once.
 *
 * Calls borrow a connection with cf_upstream_pool_acquire_async(), which
 * applies the gateway's sharing policy and concurrency limit:
 *
 * - `shared`: every call uses the primary connection (MCP multiplexes
 *   requests on one session);
 * - `per-session`: each downstream legacy session gets a connection of
 *   its own (a stdio child, or an upstream session), closed when the
 *   downstream session ends or has been idle for the idle timeout;
 *   requests without a session use the primary;
 * - `pool`: up to stdioPoolSize connections; a call takes an idle one,
 *   or one is started for it while there is room, or it shares the least
 *   busy. Extra connections idle for the idle timeout are closed.
 *
 * With maxConcurrency set, calls beyond it wait, in order, for a slot.
 * A call waits for a connection that is being (re)made, up to the call
 * timeout; once an upstream has failed UNHEALTHY_THRESHOLD consecutive
 * checks it is marked unreachable and calls fail at once with the last
 * error, until a check or reconnection succeeds.
 */
struct _CfUpstreamPool
{
  GObject     parent_instance;

  CfCatalog  *catalog;
  char       *separator;
  GHashTable *upstreams;
  gulong      changed_id;
  guint       timeout_ms;
  guint       health_interval_s;
  guint       health_timeout_s;
  int         unhealthy_threshold;
  guint       idle_s;
  guint       health_id;
  guint       reap_id;
  gboolean    started;
};

typedef enum {
  SHARING_SHARED,
  SHARING_PER_SESSION,
  SHARING_POOL,
} Sharing;

typedef struct _Upstream Upstream;
typedef struct _Member Member;
typedef struct _Acquire Acquire;

/* One connection to an upstream: the primary, or an extra one. */
struct _Member
{
  guint         ref_count;
  Upstream     *up;           /* NULL once the upstream is gone */
  CfMcpClient  *client;
  CfMcpSession *owner;        /* per-session: the session it serves (weak) */
  gint64        connected_at;
  gint64        last_used;
  guint         in_flight;
  gboolean      connected;
  gboolean      connecting;
  gboolean      orphaned;     /* its session ended while calls were out */
};

struct _Upstream
{
  CfUpstreamPool *pool;
  char           *gateway_id;
  char           *name;
  char           *fingerprint;
  Member         *primary;
  GPtrArray      *extras;
  GQueue          waiters;
  GCancellable   *cancellable;
  GCancellable   *probe;
  GCancellable   *listen;
  Sharing         sharing;
  guint           pool_size;
  guint           max_concurrency;
  guint           in_flight;
  guint           retry_id;
  guint           resync_id;
  guint           probe_timeout_id;
  guint           attempts;
  guint           failures;
  gint64          spawn_blocked_until;
  char           *last_error;
  gboolean        reachable;
  gboolean        syncing;
};

struct _CfUpstreamLease
{
  Member      *member;
  CfMcpClient *client;
};

struct _Acquire
{
  Upstream     *up;
  GTask        *task;
  CfMcpSession *session;
  GCancellable *cancellable;
  gulong        cancelled_id;
  guint         timeout_id;
  guint         cancel_idle_id;
};

G_DEFINE_FINAL_TYPE (CfUpstreamPool, cf_upstream_pool, G_TYPE_OBJECT)

G_DEFINE_QUARK (cf-upstream-pool-error-quark, cf_upstream_pool_error)

static void connect_upstream (Upstream *up);
static void process_waiters  (Upstream *up);
static void schedule_resync  (Upstream *up);
static void acquire_fail     (Acquire  *acquire,
                              GError   *error);

/* Members */

static Member *
member_new (Upstream     *up,
            CfMcpSession *owner);

static Member *
member_ref (Member *m)
{
  m->ref_count++;
  return m;
}

static void
on_owner_gone (gpointer  data,
               GObject  *where_the_object_was);

/* Closes the connection; the member may live on in leases. */
static void
member_close (Member *m)
{
  if (m->owner != NULL)
    {
      g_object_weak_unref (G_OBJECT (m->owner), on_owner_gone, m);
      m->owner = NULL;
    }
  if (m->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (m->client, m);
      cf_mcp_client_close (m->client);
      g_clear_object (&m->client);
    }
  m->connected = FALSE;
  m->connecting = FALSE;
  m->up = NULL;
}

static void
member_unref (Member *m)
{
  if (--m->ref_count > 0)
    return;
  member_close (m);
  g_free (m);
}

/* The upstream's extras array owns a reference to each extra. */
static void
member_discard (Member *m)
{
  member_close (m);
  member_unref (m);
}

static void
remove_extra (Upstream *up,
              Member   *m)
{
  g_ptr_array_remove (up->extras, m);
}

static void
on_owner_gone (gpointer  data,
               GObject  *where_the_object_was)
{
  Member *m = data;
  Upstream *up = m->up;

  /* The weak reference is gone with the session. */
  m->owner = NULL;
  if (up == NULL)
    return;
  if (m->in_flight > 0)
    m->orphaned = TRUE;
  else
    remove_extra (up, m);
}

static void
upstream_free (Upstream *up)
{
  g_autoptr(GError) gone = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_REMOVED,
                                        "The upstream server %s was removed or reconfigured",
                                        up->name);
  Acquire *acquire;

  while ((acquire = g_queue_pop_head (&up->waiters)) != NULL)
    acquire_fail (acquire, g_error_copy (gone));

  g_cancellable_cancel (up->cancellable);
  if (up->probe != NULL)
    g_cancellable_cancel (up->probe);
  if (up->listen != NULL)
    g_cancellable_cancel (up->listen);
  g_clear_handle_id (&up->retry_id, g_source_remove);
  g_clear_handle_id (&up->resync_id, g_source_remove);
  g_clear_handle_id (&up->probe_timeout_id, g_source_remove);
  g_clear_pointer (&up->extras, g_ptr_array_unref);
  g_clear_pointer (&up->primary, member_discard);
  g_clear_object (&up->cancellable);
  g_clear_object (&up->probe);
  g_clear_object (&up->listen);
  g_free (up->gateway_id);
  g_free (up->name);
  g_free (up->fingerprint);
  g_free (up->last_error);
  g_free (up);
}

/* What, when changed, needs new connections. */
static char *
fingerprint (JsonObject *gateway)
{
  static const char *members[] = {
    "name", "url", "transport", "command", "args", "env", "cwd", "prefixMode", "authType",
    "authValue", "enabled", "stdioSharing", "stdioPoolSize", "maxConcurrency",
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
  CfMcpClient *client = up->primary->client;

  json_object_set_boolean_member (status, "reachable", reachable);
  json_object_set_string_member (status, "statusMessage", message);
  if (reachable && up->primary->connected && client != NULL)
    {
      g_autofree char *now = now_iso8601 ();
      JsonObject *caps = cf_mcp_client_get_server_capabilities (client);

      json_object_set_string_member (status, "lastSeen", now);
      if (caps != NULL)
        json_object_set_object_member (status, "capabilities", cf_json_object_deep_copy (caps));
    }
  if (tool_count >= 0)
    json_object_set_int_member (status, "toolCount", tool_count);
  cf_catalog_set_status_async (up->pool->catalog, CF_ENTITY_GATEWAY, up->gateway_id, status,
                               NULL, on_status_written, NULL);
}

/* Health bookkeeping: consecutive failures of connections and probes. */

static gboolean
is_unreachable (Upstream *up)
{
  int threshold = up->pool->unhealthy_threshold;

  return threshold > 0 && up->failures >= (guint) threshold;
}

static void
record_failure (Upstream   *up,
                const char *why)
{
  gboolean was_unreachable = is_unreachable (up);

  g_free (up->last_error);
  up->last_error = g_strdup (why);
  up->failures++;
  if (is_unreachable (up) && !was_unreachable)
    {
      g_autofree char *message = g_strdup_printf ("Unreachable after %u failed attempts: %s",
                                                  up->failures, why);

      g_warning ("Gateway %s (%s): %s", up->name, up->gateway_id, message);
      up->reachable = FALSE;
      write_status (up, FALSE, message, -1);
      /* Waiting calls fail now rather than at their timeout. */
      process_waiters (up);
    }
}

static void
record_success (Upstream *up)
{
  gboolean was_unreachable = !up->reachable;

  up->failures = 0;
  up->reachable = TRUE;
  g_clear_pointer (&up->last_error, g_free);
  if (was_unreachable)
    {
      g_message ("Gateway %s (%s) is reachable again", up->name, up->gateway_id);
      write_status (up, TRUE, "Reachable again", -1);
    }
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
  write_status (up, up->reachable, message, -1);
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
                             cf_mcp_client_get_protocol_version (up->primary->client),
                             tools->len,
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
  cf_mcp_client_list_all_async (up->primary->client, listings[sync->step], up->cancellable,
                                on_listed, sync);
}

static void
start_sync (Upstream *up)
{
  Sync *sync;

  if (!up->primary->connected || up->syncing)
    return;
  up->syncing = TRUE;
  sync = g_new0 (Sync, 1);
  sync->up = up;
  sync_next (sync);
}

/* Connections */

/* The headers the gateway's credentials stand for, and a session that
 * connects only where the SSRF policy allows. */
static gboolean
network_setup (CfUpstreamPool  *self,
               JsonObject      *gateway,
               SoupSession    **out_session,
               GHashTable     **out_headers,
               GError         **error)
{
  const char *sealed = cf_json_object_get_string (gateway, "authValue");
  GError *local = NULL;

  *out_headers = NULL;
  if (sealed != NULL &&
      (*out_headers = cf_upstream_credentials_open (cf_catalog_get_secret_store (self->catalog),
                                                    sealed, error)) == NULL)
    return FALSE;
  *out_session = cf_guarded_session_new (cf_json_object_get_string (gateway, "url"),
                                         cf_catalog_get_ssrf_policy (self->catalog),
                                         CONNS_PER_UPSTREAM, &local);
  if (local != NULL)
    {
      g_clear_pointer (out_headers, g_hash_table_unref);
      g_propagate_error (error, local);
      return FALSE;
    }
  return TRUE;
}

static CfMcpClient *
new_client (CfUpstreamPool  *self,
            JsonObject      *gateway,
            GError         **error)
{
  const char *transport = cf_json_object_get_string (gateway, "transport");
  const char *url = cf_json_object_get_string (gateway, "url");
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(GHashTable) headers = NULL;

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
  if (g_strcmp0 (transport, "STREAMABLEHTTP") != 0 && g_strcmp0 (transport, "SSE") != 0 &&
      g_strcmp0 (transport, "WEBSOCKET") != 0)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_SUPPORTED,
                   "The %s transport is not supported yet", transport ? transport : "(none)");
      return NULL;
    }
  /* The catalog checked that these have a URL of the right scheme. */
  if (!network_setup (self, gateway, &session, &headers, error))
    return NULL;
  if (g_strcmp0 (transport, "STREAMABLEHTTP") == 0)
    return cf_mcp_client_new_http (url, session, headers);
  if (g_strcmp0 (transport, "SSE") == 0)
    return cf_mcp_client_new_sse (url, session, headers);
  return cf_mcp_client_new_websocket (url, session, headers);
}

static gboolean
on_retry (gpointer user_data)
{
  Upstream *up = user_data;

  up->retry_id = 0;
  connect_upstream (up);
  return G_SOURCE_REMOVE;
}

/* The first attempt after a stable connection died is immediate; then
 * 1, 2, 4… seconds, at most the health check interval, so that an
 * upstream that comes back is found within one interval. */
static void
schedule_retry (Upstream   *up,
                const char *why)
{
  guint cap = MIN (MAX_BACKOFF_S, MAX (up->pool->health_interval_s, 1u));
  guint delay = up->attempts == 0 ? 0 : MIN (1u << MIN (up->attempts - 1, 9u), cap);
  g_autofree char *message = NULL;

  up->attempts++;
  if (delay > 0)
    g_message ("Gateway %s (%s): %s; retrying in %u s", up->name, up->gateway_id, why, delay);
  message = delay > 0 ? g_strdup_printf ("%s; retrying in %u s", why, delay)
                      : g_strdup_printf ("%s; reconnecting", why);
  write_status (up, !is_unreachable (up), message, -1);
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
                 Member      *m)
{
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");
  Upstream *up = m->up;

  if (up != NULL && method != NULL && g_str_has_suffix (method, "/list_changed"))
    schedule_resync (up);
}

/* 2026-07-28 upstreams tell of list changes on a subscription only. */

static void start_listening (Upstream *up);

static void
schedule_resync (Upstream *up)
{
  /* Coalesce bursts of list changes into one resync. */
  if (up->resync_id == 0)
    up->resync_id = g_timeout_add (RESYNC_DELAY_MS, on_resync, up);
}

static void
on_listen_message (CfMcpClient *client,
                   JsonNode    *message,
                   gpointer     user_data)
{
  Upstream *up = user_data;
  JsonObject *object = JSON_NODE_HOLDS_OBJECT (message) ? json_node_get_object (message) : NULL;
  const char *method = cf_json_object_get_string (object, "method");

  if (method != NULL && g_str_has_suffix (method, "/list_changed"))
    schedule_resync (up);
}

static void
on_listen_ended (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (CF_MCP_CLIENT (source), result,
                                                               &error);

  /* Cancelled: the upstream is gone or reconnecting, which listens anew. */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  g_clear_object (&up->listen);
  if (!up->primary->connected || CF_MCP_CLIENT (source) != up->primary->client)
    return;
  if (error != NULL)
    g_debug ("Gateway %s: subscription ended: %s", up->gateway_id, error->message);
  /* Ended by the upstream: listen again, and catch up on what may have
   * changed meanwhile. */
  start_listening (up);
  schedule_resync (up);
}

static void
start_listening (Upstream *up)
{
  CfMcpClient *client = up->primary->client;
  JsonObject *caps = cf_mcp_client_get_server_capabilities (client);
  static const char * const kinds[] = { "tools", "prompts", "resources" };
  JsonObject *params, *filter;

  if (cf_mcp_client_get_era (client) != CF_MCP_ERA_MODERN || up->listen != NULL)
    return;
  filter = json_object_new ();
  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    if (cf_json_object_get_bool (cf_json_object_get_object (caps, kinds[i]), "listChanged",
                                 FALSE))
      {
        g_autofree char *flag = g_strdup_printf ("%sListChanged", kinds[i]);

        json_object_set_boolean_member (filter, flag, TRUE);
      }
  if (json_object_get_size (filter) == 0)
    {
      json_object_unref (filter);
      return;
    }
  params = json_object_new ();
  json_object_set_object_member (params, "notifications", filter);
  up->listen = g_cancellable_new ();
  cf_mcp_client_request_async (client, "subscriptions/listen", params, on_listen_message, up,
                               up->listen, on_listen_ended, up);
}

static void
on_primary_closed (CfMcpClient *client,
                   Member      *m)
{
  Upstream *up = m->up;
  gboolean stable = g_get_monotonic_time () - m->connected_at >=
                    STABLE_CONNECTION_S * G_USEC_PER_SEC;

  m->connected = FALSE;
  if (up == NULL)
    return;
  if (up->listen != NULL)
    {
      g_cancellable_cancel (up->listen);
      g_clear_object (&up->listen);
    }
  if (stable)
    up->attempts = 0;
  schedule_retry (up, "the connection closed");
}

static void
on_primary_connected (GObject      *source,
                      GAsyncResult *result,
                      gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;

  if (!cf_mcp_client_connect_finish (CF_MCP_CLIENT (source), result, &error))
    {
      if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
        return;
      up->primary->connecting = FALSE;
      record_failure (up, error->message);
      schedule_retry (up, error->message);
      return;
    }
  up->primary->connecting = FALSE;
  up->primary->connected = TRUE;
  up->primary->connected_at = g_get_monotonic_time ();
  record_success (up);
  start_sync (up);
  start_listening (up);
  process_waiters (up);
}

static void
connect_upstream (Upstream *up)
{
  g_autoptr(JsonObject) gateway = current_gateway (up);
  g_autoptr(GError) error = NULL;
  Member *m = up->primary;

  if (gateway == NULL)
    return;
  if (up->listen != NULL)
    {
      g_cancellable_cancel (up->listen);
      g_clear_object (&up->listen);
    }
  if (m->client != NULL)
    {
      g_signal_handlers_disconnect_by_data (m->client, m);
      cf_mcp_client_close (m->client);
      g_clear_object (&m->client);
    }
  m->connected = FALSE;
  m->client = new_client (up->pool, gateway, &error);
  if (m->client == NULL)
    {
      /* A setting no retry can fix: unreachable until reconfigured. */
      up->failures = G_MAXUINT / 2;
      up->reachable = FALSE;
      g_free (up->last_error);
      up->last_error = g_strdup (error->message);
      write_status (up, FALSE, error->message, -1);
      process_waiters (up);
      return;
    }
  m->connecting = TRUE;
  cf_mcp_client_set_timeout (m->client, up->pool->timeout_ms);
  g_signal_connect (m->client, "notification", G_CALLBACK (on_notification), m);
  g_signal_connect (m->client, "closed", G_CALLBACK (on_primary_closed), m);
  cf_mcp_client_connect_async (m->client, up->cancellable, on_primary_connected, up);
}

/* Extra connections: pooled or per-session. */

static void
on_extra_closed (CfMcpClient *client,
                 Member      *m)
{
  Upstream *up = m->up;

  /* The next call that needs one starts a new connection. */
  m->connected = FALSE;
  if (up != NULL && m->in_flight == 0)
    remove_extra (up, m);
  else if (up != NULL)
    m->orphaned = TRUE;
}

static void
on_extra_connected (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Member *m = user_data;
  Upstream *up = m->up;
  g_autoptr(GError) error = NULL;
  gboolean ok = cf_mcp_client_connect_finish (CF_MCP_CLIENT (source), result, &error);

  if (up == NULL)
    {
      member_unref (m);
      return;
    }
  m->connecting = FALSE;
  if (ok)
    {
      m->connected = TRUE;
      m->connected_at = m->last_used = g_get_monotonic_time ();
    }
  else
    {
      GList *l = up->waiters.head;

      g_warning ("Gateway %s (%s): an extra connection failed: %s", up->name, up->gateway_id,
                 error->message);
      up->spawn_blocked_until = g_get_monotonic_time () + SPAWN_BACKOFF_S * G_USEC_PER_SEC;
      /* Calls waiting for this very connection fail with its error. */
      while (l != NULL)
        {
          Acquire *acquire = l->data;
          GList *next = l->next;

          if (m->owner != NULL && acquire->session == m->owner)
            {
              g_queue_delete_link (&up->waiters, l);
              acquire_fail (acquire, g_error_copy (error));
            }
          l = next;
        }
      remove_extra (up, m);
    }
  process_waiters (up);
  member_unref (m);
}

static Member *
member_new (Upstream     *up,
            CfMcpSession *owner)
{
  Member *m = g_new0 (Member, 1);

  m->ref_count = 1;
  m->up = up;
  m->last_used = g_get_monotonic_time ();
  if (owner != NULL)
    {
      m->owner = owner;
      g_object_weak_ref (G_OBJECT (owner), on_owner_gone, m);
    }
  return m;
}

static Member *
spawn_extra (Upstream     *up,
             CfMcpSession *owner)
{
  g_autoptr(JsonObject) gateway = current_gateway (up);
  g_autoptr(GError) error = NULL;
  Member *m;

  if (gateway == NULL)
    return NULL;
  m = member_new (up, owner);
  m->client = new_client (up->pool, gateway, &error);
  if (m->client == NULL)
    {
      member_discard (m);
      return NULL;
    }
  m->connecting = TRUE;
  cf_mcp_client_set_timeout (m->client, up->pool->timeout_ms);
  g_signal_connect (m->client, "closed", G_CALLBACK (on_extra_closed), m);
  g_ptr_array_add (up->extras, m);
  cf_mcp_client_connect_async (m->client, up->cancellable, on_extra_connected, member_ref (m));
  return m;
}

/* Leases and the calls waiting for one */

static void
acquire_free (Acquire *acquire)
{
  if (acquire->cancelled_id != 0)
    g_cancellable_disconnect (acquire->cancellable, acquire->cancelled_id);
  g_clear_handle_id (&acquire->timeout_id, g_source_remove);
  g_clear_handle_id (&acquire->cancel_idle_id, g_source_remove);
  g_clear_object (&acquire->cancellable);
  g_clear_object (&acquire->session);
  g_clear_object (&acquire->task);
  g_free (acquire);
}

/* The caller has taken @acquire off the queue. */
static void
acquire_fail (Acquire *acquire,
              GError  *error)
{
  g_task_return_error (acquire->task, error);
  acquire_free (acquire);
}

static CfUpstreamLease *
lend (Member *m)
{
  CfUpstreamLease *lease = g_new0 (CfUpstreamLease, 1);

  lease->member = member_ref (m);
  lease->client = g_object_ref (m->client);
  m->in_flight++;
  m->last_used = g_get_monotonic_time ();
  m->up->in_flight++;
  return lease;
}

/* Lends @m to @acquire. The task is returned by the caller, once it is
 * done walking the queue: its callback may acquire or release again. */
static GTask *
grant (Acquire *acquire,
       Member  *m)
{
  CfUpstreamLease *lease = lend (m);
  GTask *task = g_steal_pointer (&acquire->task);

  g_task_set_task_data (task, lease, NULL);
  acquire_free (acquire);
  return task;
}

static Member *
find_owned (Upstream     *up,
            CfMcpSession *session)
{
  for (guint i = 0; i < up->extras->len; i++)
    {
      Member *m = up->extras->pdata[i];

      if (m->owner == session && !m->orphaned)
        return m;
    }
  return NULL;
}

/* The connection a call should use now, or %NULL if it must wait. */
static Member *
choose_member (Upstream     *up,
               CfMcpSession *session)
{
  Member *best = NULL;
  gboolean starting = FALSE;
  guint n = 1;

  if (up->sharing == SHARING_PER_SESSION && session != NULL)
    {
      Member *m = find_owned (up, session);

      if (m == NULL)
        m = spawn_extra (up, session);
      return m != NULL && m->connected ? m : NULL;
    }
  if (up->sharing != SHARING_POOL)
    return up->primary->connected ? up->primary : NULL;

  /* A pool: an idle connection, else a new one while there is room,
   * else the least busy. */
  if (up->primary->connected)
    best = up->primary;
  for (guint i = 0; i < up->extras->len; i++)
    {
      Member *m = up->extras->pdata[i];

      if (m->orphaned)
        continue;
      n++;
      starting |= m->connecting;
      if (m->connected && (best == NULL || m->in_flight < best->in_flight))
        best = m;
    }
  if (best != NULL && best->in_flight == 0)
    return best;
  if (!starting && n < up->pool_size && up->primary->connected &&
      g_get_monotonic_time () >= up->spawn_blocked_until && spawn_extra (up, NULL) != NULL)
    return NULL;
  if (starting)
    return NULL;
  return best;
}

static void
process_waiters (Upstream *up)
{
  g_autoptr(GPtrArray) granted = g_ptr_array_new ();
  g_autoptr(GPtrArray) failed = g_ptr_array_new ();
  g_autoptr(GError) unreachable = NULL;
  GList *l = up->waiters.head;

  while (l != NULL)
    {
      Acquire *acquire = l->data;
      GList *next = l->next;
      Member *m;

      if (is_unreachable (up))
        {
          g_queue_delete_link (&up->waiters, l);
          g_ptr_array_add (failed, g_steal_pointer (&acquire->task));
          acquire_free (acquire);
        }
      else if (up->max_concurrency > 0 && up->in_flight >= up->max_concurrency)
        break;   /* in order: nobody overtakes the head */
      else if ((m = choose_member (up, acquire->session)) != NULL)
        {
          g_queue_delete_link (&up->waiters, l);
          g_ptr_array_add (granted, grant (acquire, m));
        }
      l = next;
    }

  /* Callbacks run last, on a consistent queue. */
  if (failed->len > 0)
    unreachable = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_UNREACHABLE,
                               "The upstream server %s is unreachable: %s", up->name,
                               up->last_error ? up->last_error : "unknown error");
  for (guint i = 0; i < failed->len; i++)
    {
      g_autoptr(GTask) task = failed->pdata[i];

      g_task_return_error (task, g_error_copy (unreachable));
    }
  for (guint i = 0; i < granted->len; i++)
    {
      g_autoptr(GTask) task = granted->pdata[i];

      g_task_return_pointer (task, g_task_get_task_data (task),
                             (GDestroyNotify) cf_upstream_lease_release);
    }
}

static gboolean
on_acquire_timeout (gpointer user_data)
{
  Acquire *acquire = user_data;
  Upstream *up = acquire->up;
  gboolean busy = up->max_concurrency > 0 && up->in_flight >= up->max_concurrency;
  GError *error;

  acquire->timeout_id = 0;
  g_queue_remove (&up->waiters, acquire);
  if (busy)
    error = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_TIMED_OUT,
                         "Timed out waiting for a free slot on the upstream server %s "
                         "(%u calls in flight)", up->name, up->in_flight);
  else
    error = g_error_new (CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_TIMED_OUT,
                         "Timed out waiting for the upstream server %s to connect%s%s",
                         up->name, up->last_error ? ": " : "",
                         up->last_error ? up->last_error : "");
  acquire_fail (acquire, error);
  return G_SOURCE_REMOVE;
}

static gboolean
on_acquire_cancelled_idle (gpointer user_data)
{
  Acquire *acquire = user_data;

  acquire->cancel_idle_id = 0;
  g_queue_remove (&acquire->up->waiters, acquire);
  acquire_fail (acquire, g_error_new_literal (G_IO_ERROR, G_IO_ERROR_CANCELLED,
                                              "The call was cancelled"));
  return G_SOURCE_REMOVE;
}

/* GCancellable does not allow disconnecting from inside its handler. */
static void
on_acquire_cancelled (GCancellable *cancellable,
                      Acquire      *acquire)
{
  if (acquire->cancel_idle_id == 0)
    acquire->cancel_idle_id = g_idle_add (on_acquire_cancelled_idle, acquire);
}

/**
 * cf_upstream_pool_acquire_async:
 * @self: the pool
 * @gateway_id: the upstream gateway
 * @session: (nullable): the downstream legacy session the call is for
 * @cancellable: (nullable): cancels the wait
 * @callback: called with the lease, or an error
 * @user_data: for @callback
 *
 * Borrows a connection to an upstream for one call (and the questions
 * it asks back), following the gateway's sharing policy and concurrency
 * limit. Fails at once when the upstream is unknown or unreachable, and
 * after the call timeout when no connection becomes available.
 */
void
cf_upstream_pool_acquire_async (CfUpstreamPool      *self,
                                const char          *gateway_id,
                                CfMcpSession        *session,
                                GCancellable        *cancellable,
                                GAsyncReadyCallback  callback,
                                gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (self, NULL, callback, user_data);
  Upstream *up;
  Acquire *acquire;

  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));
  g_task_set_source_tag (task, cf_upstream_pool_acquire_async);

  up = gateway_id ? g_hash_table_lookup (self->upstreams, gateway_id) : NULL;
  if (up == NULL)
    {
      g_task_return_new_error (task, CF_UPSTREAM_POOL_ERROR, CF_UPSTREAM_POOL_ERROR_UNKNOWN,
                               "The upstream server of this item is not connected");
      return;
    }
  if (g_task_return_error_if_cancelled (task))
    return;

  acquire = g_new0 (Acquire, 1);
  acquire->up = up;
  acquire->task = g_steal_pointer (&task);
  acquire->session = session ? g_object_ref (session) : NULL;
  acquire->timeout_id = g_timeout_add (self->timeout_ms, on_acquire_timeout, acquire);
  if (cancellable != NULL)
    {
      acquire->cancellable = g_object_ref (cancellable);
      acquire->cancelled_id = g_cancellable_connect (cancellable,
                                                     G_CALLBACK (on_acquire_cancelled),
                                                     acquire, NULL);
    }
  g_queue_push_tail (&up->waiters, acquire);
  process_waiters (up);
}

/**
 * cf_upstream_pool_try_acquire:
 * @self: the pool
 * @gateway_id: the upstream gateway
 * @session: (nullable): the downstream legacy session the call is for
 *
 * The fast path of cf_upstream_pool_acquire_async(): lends a connection
 * at once when one is free and nobody is waiting, without a task or a
 * main loop iteration.
 *
 * Returns: (transfer full) (nullable): the lease, or %NULL if the call
 *   must wait (or fail): use cf_upstream_pool_acquire_async() then
 */
CfUpstreamLease *
cf_upstream_pool_try_acquire (CfUpstreamPool *self,
                              const char     *gateway_id,
                              CfMcpSession   *session)
{
  Upstream *up;
  Member *m;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), NULL);

  up = gateway_id ? g_hash_table_lookup (self->upstreams, gateway_id) : NULL;
  if (up == NULL || up->waiters.length > 0 || is_unreachable (up) ||
      (up->max_concurrency > 0 && up->in_flight >= up->max_concurrency))
    return NULL;
  m = choose_member (up, session);
  if (m == NULL)
    return NULL;

  return lend (m);
}

/**
 * cf_upstream_pool_acquire_finish:
 *
 * Returns: (transfer full): the lease; give it back with
 *   cf_upstream_lease_release()
 */
CfUpstreamLease *
cf_upstream_pool_acquire_finish (CfUpstreamPool  *self,
                                 GAsyncResult    *result,
                                 GError         **error)
{
  g_return_val_if_fail (g_task_is_valid (result, self), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

/**
 * cf_upstream_lease_get_client:
 *
 * Returns: (transfer none): the connection lent
 */
CfMcpClient *
cf_upstream_lease_get_client (CfUpstreamLease *lease)
{
  g_return_val_if_fail (lease != NULL, NULL);
  return lease->client;
}

/**
 * cf_upstream_lease_release:
 *
 * Gives a connection back: a waiting call may take it.
 */
void
cf_upstream_lease_release (CfUpstreamLease *lease)
{
  Member *m;
  Upstream *up;

  if (lease == NULL)
    return;
  m = lease->member;
  up = m->up;
  m->in_flight--;
  m->last_used = g_get_monotonic_time ();
  if (up != NULL)
    {
      up->in_flight--;
      if (m->orphaned && m->in_flight == 0)
        remove_extra (up, m);
      process_waiters (up);
    }
  member_unref (m);
  g_object_unref (lease->client);
  g_free (lease);
}

/* Health checks and idle connections */

static void
end_probe (Upstream *up)
{
  g_clear_handle_id (&up->probe_timeout_id, g_source_remove);
  g_clear_object (&up->probe);
}

static void
on_probed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Upstream *up = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) response = cf_mcp_client_request_finish (CF_MCP_CLIENT (source), result,
                                                               &error);
  JsonObject *object = response && JSON_NODE_HOLDS_OBJECT (response)
                       ? json_node_get_object (response) : NULL;

  /* Cancelled: the upstream is gone, or the probe timed out (counted). */
  if (g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    return;
  end_probe (up);
  if (object != NULL && json_object_has_member (object, "result"))
    record_success (up);
  else
    {
      JsonObject *failure = cf_json_object_get_object (object, "error");
      g_autofree char *why = g_strdup_printf ("Health check failed: %s",
                                              error ? error->message
                                              : cf_json_object_get_string (failure, "message")
                                              ?: "the check was answered with an error");
      record_failure (up, why);
    }
}

static gboolean
on_probe_timeout (gpointer user_data)
{
  Upstream *up = user_data;
  g_autofree char *why = g_strdup_printf ("Health check timed out after %u s",
                                          up->pool->health_timeout_s);

  up->probe_timeout_id = 0;
  g_cancellable_cancel (up->probe);
  end_probe (up);
  record_failure (up, why);
  return G_SOURCE_REMOVE;
}

static void
probe (Upstream *up)
{
  guint timeout_s = MIN (up->pool->health_timeout_s, up->pool->health_interval_s);

  if (!up->primary->connected || up->probe != NULL)
    return;
  up->probe = g_cancellable_new ();
  up->probe_timeout_id = g_timeout_add_seconds (MAX (timeout_s, 1u), on_probe_timeout, up);
  /* 2026-07-28 removed ping; server/discover is its cheapest request. */
  cf_mcp_client_request_async (up->primary->client,
                               cf_mcp_client_get_era (up->primary->client) == CF_MCP_ERA_MODERN
                               ? "server/discover" : "ping",
                               NULL, NULL, NULL, up->probe, on_probed, up);
}

static gboolean
on_health_check (gpointer user_data)
{
  CfUpstreamPool *self = user_data;
  GHashTableIter iter;
  Upstream *up;

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    probe (up);
  return G_SOURCE_CONTINUE;
}

static gboolean
on_reap (gpointer user_data)
{
  CfUpstreamPool *self = user_data;
  gint64 cutoff = g_get_monotonic_time () - (gint64) self->idle_s * G_USEC_PER_SEC;
  GHashTableIter iter;
  Upstream *up;

  g_hash_table_iter_init (&iter, self->upstreams);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &up))
    for (guint i = up->extras->len; i > 0; i--)
      {
        Member *m = up->extras->pdata[i - 1];

        if (m->in_flight == 0 && !m->connecting && m->last_used < cutoff)
          g_ptr_array_remove_index (up->extras, i - 1);
      }
  return G_SOURCE_CONTINUE;
}

static void
restart_timers (CfUpstreamPool *self)
{
  g_clear_handle_id (&self->health_id, g_source_remove);
  g_clear_handle_id (&self->reap_id, g_source_remove);
  if (!self->started)
    return;
  self->health_id = g_timeout_add_seconds (self->health_interval_s, on_health_check, self);
  self->reap_id = g_timeout_add_seconds (CLAMP (self->idle_s / 4, 1u, 30u), on_reap, self);
}

/* Reconciling with the catalog */

static Sharing
parse_sharing (const char *text)
{
  if (g_strcmp0 (text, "per-session") == 0)
    return SHARING_PER_SESSION;
  if (g_strcmp0 (text, "pool") == 0)
    return SHARING_POOL;
  return SHARING_SHARED;
}

static Upstream *
upstream_new (CfUpstreamPool *self,
              JsonObject     *gateway,
              char           *print)
{
  Upstream *up = g_new0 (Upstream, 1);
  gint64 n;

  up->pool = self;
  up->gateway_id = g_strdup (cf_json_object_get_string (gateway, "id"));
  up->name = g_strdup (cf_json_object_get_string (gateway, "name") ?: up->gateway_id);
  up->fingerprint = print;
  up->cancellable = g_cancellable_new ();
  up->reachable = TRUE;
  up->sharing = parse_sharing (cf_json_object_get_string (gateway, "stdioSharing"));
  up->pool_size = cf_json_object_get_int (gateway, "stdioPoolSize", &n) && n > 0 ? n : 1;
  up->max_concurrency = cf_json_object_get_int (gateway, "maxConcurrency", &n) && n > 0 ? n : 0;
  up->primary = member_new (up, NULL);
  up->extras = g_ptr_array_new_with_free_func ((GDestroyNotify) member_discard);
  g_queue_init (&up->waiters);
  return up;
}

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
      up = upstream_new (self, gateway, g_steal_pointer (&print));
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
  self->health_interval_s = 60;
  self->health_timeout_s = 30;
  self->unhealthy_threshold = 3;
  self->idle_s = 300;
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

/**
 * cf_upstream_pool_configure:
 * @self: the pool
 * @config: the gateway's settings
 *
 * Takes the call timeout (TOOL_TIMEOUT), the health checks
 * (HEALTH_CHECK_INTERVAL, HEALTH_CHECK_TIMEOUT, UNHEALTHY_THRESHOLD) and
 * the idle timeout of extra connections (UPSTREAM_IDLE_TIMEOUT).
 */
void
cf_upstream_pool_configure (CfUpstreamPool *self,
                            const CfConfig *config)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));
  g_return_if_fail (config != NULL);

  self->timeout_ms = MAX (config->tool_timeout_ms, 1u);
  self->health_interval_s = MAX (config->health_interval_s, 1u);
  self->health_timeout_s = MAX (config->health_timeout_s, 1u);
  self->unhealthy_threshold = config->unhealthy_threshold;
  self->idle_s = MAX (config->upstream_idle_s, 1u);
  restart_timers (self);
}

void
cf_upstream_pool_start (CfUpstreamPool *self)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  self->started = TRUE;
  restart_timers (self);
  reconcile (self);
}

/**
 * cf_upstream_pool_stop:
 *
 * Closes every connection; stdio children are stopped, waiting calls
 * fail.
 */
void
cf_upstream_pool_stop (CfUpstreamPool *self)
{
  g_return_if_fail (CF_IS_UPSTREAM_POOL (self));

  self->started = FALSE;
  restart_timers (self);
  g_hash_table_remove_all (self->upstreams);
}

/**
 * cf_upstream_pool_get_n_connections:
 * @self: the pool
 * @gateway_id: an upstream gateway
 *
 * Returns: how many connections to the upstream are open or opening
 */
guint
cf_upstream_pool_get_n_connections (CfUpstreamPool *self,
                                    const char     *gateway_id)
{
  Upstream *up;
  guint n = 0;

  g_return_val_if_fail (CF_IS_UPSTREAM_POOL (self), 0);

  up = g_hash_table_lookup (self->upstreams, gateway_id);
  if (up == NULL)
    return 0;
  n = up->primary->connected || up->primary->connecting;
  for (guint i = 0; i < up->extras->len; i++)
    {
      Member *m = up->extras->pdata[i];

      n += m->connected || m->connecting;
    }
  return n;
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
  if (up->primary->connected)
    start_sync (up);
  else if (!up->primary->connecting)
    {
      g_clear_handle_id (&up->retry_id, g_source_remove);
      connect_upstream (up);
    }
  return TRUE;
}
