/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway"

#include "config.h"

#include "cf-gateway-private.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-server.h"

#define DEFAULT_TOOL_TIMEOUT_MS 60000
#define DEFAULT_PAGE_SIZE 1000
#define CURSOR_PREFIX "cf1:"

/**
 * CfGateway:
 *
 * What the gateway serves over MCP: the registry's tools, resources and
 * prompts from the catalog snapshot, narrowed to a virtual server when the
 * request came through `/servers/{id}/mcp`, and the routing of each call
 * to where the tool lives. Catalog changes become list_changed
 * notifications to every listening client.
 */
G_DEFINE_FINAL_TYPE (CfGateway, cf_gateway, G_TYPE_OBJECT)

static void
on_catalog_changed (CfCatalog *catalog,
                    guint      kind,
                    CfGateway *self)
{
  /* The old snapshot goes as soon as the new one is there. */
  _cf_gateway_forget_snapshot (self);
  switch (kind)
    {
    case CF_ENTITY_TOOL:
      cf_mcp_server_notify_list_changed (self->server, "tools");
      break;
    case CF_ENTITY_RESOURCE:
      cf_mcp_server_notify_list_changed (self->server, "resources");
      break;
    case CF_ENTITY_PROMPT:
      cf_mcp_server_notify_list_changed (self->server, "prompts");
      break;
    default:
      /* Servers and gateways change what every list shows. */
      cf_mcp_server_notify_list_changed (self->server, "tools");
      cf_mcp_server_notify_list_changed (self->server, "resources");
      cf_mcp_server_notify_list_changed (self->server, "prompts");
      break;
    }
}

static void
cf_gateway_dispose (GObject *object)
{
  CfGateway *self = (CfGateway *) object;

  if (self->catalog != NULL)
    g_clear_signal_handler (&self->changed_id, self->catalog);
  g_clear_object (&self->catalog);
  if (self->server != NULL)
    cf_mcp_server_set_param_headers_func (self->server, NULL, NULL, NULL);
  g_clear_object (&self->server);
  g_clear_object (&self->http);
  g_clear_object (&self->pool);
  g_clear_pointer (&self->tool_limits, cf_tool_limits_unref);
  g_clear_pointer (&self->rest_sessions, g_hash_table_unref);
  g_clear_object (&self->teams);
  g_clear_pointer (&self->param_headers, g_hash_table_unref);
  _cf_gateway_forget_snapshot (self);
  g_clear_pointer (&self->mcp_forms, g_hash_table_unref);
  g_clear_pointer (&self->tool_params, g_hash_table_unref);

  G_OBJECT_CLASS (cf_gateway_parent_class)->dispose (object);
}

static void
cf_gateway_class_init (CfGatewayClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cf_gateway_dispose;
}

static void
cf_gateway_init (CfGateway *self)
{
  self->tool_timeout_ms = DEFAULT_TOOL_TIMEOUT_MS;
  self->page_size = DEFAULT_PAGE_SIZE;
  self->http = soup_session_new_with_options ("max-conns", 256, "max-conns-per-host", 64,
                                              "user-agent", PACKAGE_NAME "/" PACKAGE_VERSION,
                                              NULL);
}

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);

  return json_object_ref (json_node_get_object (node));
}

/**
 * cf_gateway_new:
 * @catalog: the registry
 * @server: the MCP server to install the gateway's methods on
 *
 * Returns: (transfer full): the gateway
 */
CfGateway *
cf_gateway_new (CfCatalog   *catalog,
                CfMcpServer *server)
{
  CfGateway *self;

  g_return_val_if_fail (CF_IS_CATALOG (catalog), NULL);
  g_return_val_if_fail (CF_IS_MCP_SERVER (server), NULL);

  self = g_object_new (CF_TYPE_GATEWAY, NULL);
  self->catalog = g_object_ref (catalog);
  self->server = g_object_ref (server);
  self->changed_id = g_signal_connect (catalog, "changed", G_CALLBACK (on_catalog_changed), self);

  cf_mcp_server_set_capability (server, "tools", parse_object ("{\"listChanged\":true}"));
  cf_mcp_server_set_capability (server, "resources",
                                parse_object ("{\"subscribe\":true,\"listChanged\":true}"));
  cf_mcp_server_set_capability (server, "prompts", parse_object ("{\"listChanged\":true}"));
  cf_mcp_server_set_capability (server, "logging", json_object_new ());
  cf_mcp_server_set_capability (server, "completions", json_object_new ());

  _cf_gateway_install_tools (self);
  _cf_gateway_install_resources (self);
  _cf_gateway_install_prompts (self);
  _cf_gateway_install_param_headers (self);
  return self;
}

CfMcpServer *
cf_gateway_get_server (CfGateway *self)
{
  g_return_val_if_fail (CF_IS_GATEWAY (self), NULL);
  return self->server;
}

CfCatalog *
cf_gateway_get_catalog (CfGateway *self)
{
  g_return_val_if_fail (CF_IS_GATEWAY (self), NULL);
  return self->catalog;
}

void
cf_gateway_set_tool_timeout (CfGateway *self,
                             guint      msec)
{
  g_return_if_fail (CF_IS_GATEWAY (self));
  self->tool_timeout_ms = MAX (msec, 1);
}

void
cf_gateway_set_page_size (CfGateway *self,
                          guint      page_size)
{
  g_return_if_fail (CF_IS_GATEWAY (self));
  self->page_size = MAX (page_size, 1);
}

/**
 * cf_gateway_set_upstream_pool:
 * @self: a #CfGateway
 * @pool: (nullable): the connections to upstream gateways
 *
 * Calls to federated tools, resources and prompts go through @pool.
 */
void
cf_gateway_set_upstream_pool (CfGateway      *self,
                              CfUpstreamPool *pool)
{
  g_return_if_fail (CF_IS_GATEWAY (self));
  g_set_object (&self->pool, pool);
}

/**
 * cf_gateway_lookup_scope:
 * @server_id: the id in `/servers/{id}/mcp`
 * @gateway: the #CfGateway
 *
 * A #CfScopeLookupFunc: the endpoint of an enabled virtual server.
 *
 * Returns: (transfer none) (nullable): the MCP server, or %NULL
 */
CfMcpServer *
cf_gateway_lookup_scope (const char *server_id,
                         gpointer    gateway)
{
  CfGateway *self = gateway;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  JsonObject *server = cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_SERVER, server_id);

  if (server == NULL || !cf_json_object_get_bool (server, "enabled", TRUE))
    return NULL;
  return self->server;
}

/**
 * cf_gateway_set_teams:
 * @self: a #CfGateway
 * @teams: (nullable): teams and roles; %NULL serves everything to everyone
 *
 * With @teams, each MCP method checks its permission (tools.read for
 * tools/list, tools.execute for tools/call, and so on) and lists and calls
 * see only the items the caller's teams and tokens let it see.
 */
void
cf_gateway_set_teams (CfGateway *self,
                      CfTeams   *teams)
{
  g_return_if_fail (CF_IS_GATEWAY (self));
  g_set_object (&self->teams, teams);
}

typedef struct {
  CfViewer  viewer;
  CfAccess *access;
} ViewerBox;

static void
viewer_box_free (gpointer data)
{
  ViewerBox *box = data;

  cf_viewer_clear (&box->viewer);
  g_clear_pointer (&box->access, cf_access_unref);
  g_free (box);
}

static const CfViewer everything = { .all = TRUE };

/* Without teams, and for the anonymous caller (AUTH_REQUIRED=false),
 * everything is visible. */
static gboolean
sees_everything (CfGateway  *self,
                 CfIdentity *identity)
{
  return self->teams == NULL || identity == NULL || cf_identity_is_anonymous (identity);
}

/* Enabled, and in the virtual server's scope (if any). */
static gboolean
entry_offered_here (CfCatalogSnapshot *snapshot,
                    const char        *scope,
                    CfEntityKind       kind,
                    CfCatalogEntry    *entry)
{
  return cf_catalog_entry_get_enabled (entry) &&
         (scope == NULL ||
          cf_catalog_snapshot_in_scope (snapshot, scope, kind, cf_catalog_entry_get_id (entry)));
}

/* What the request may see, resolved at its first item and kept on it:
 * a list checks each item with a few hash lookups and no allocation. */
static const CfViewer *
request_viewer (CfGateway    *self,
                CfMcpRequest *request)
{
  static GQuark quark;
  CfIdentity *identity = cf_mcp_request_get_identity (request);
  ViewerBox *box;

  if (sees_everything (self, identity))
    return &everything;
  if (G_UNLIKELY (quark == 0))
    quark = g_quark_from_static_string ("cf-gateway-viewer");
  box = g_object_get_qdata (G_OBJECT (request), quark);
  if (box == NULL)
    {
      box = g_new0 (ViewerBox, 1);
      box->access = cf_teams_get_access (self->teams);
      cf_viewer_init (&box->viewer, box->access, identity);
      g_object_set_qdata_full (G_OBJECT (request), quark, box, viewer_box_free);
    }
  return &box->viewer;
}

/* Whether @viewer may see @entry */
static gboolean
viewer_sees_entry (const CfViewer *viewer,
                   CfCatalogEntry *entry)
{
  return cf_viewer_sees (viewer, cf_catalog_entry_get_visibility (entry),
                         cf_catalog_entry_get_team_id (entry),
                         cf_catalog_entry_get_owner_email (entry));
}

/* Whether the caller may see @entry here: enabled, in the virtual
 * server's scope, and visible to it. A hidden item and an unknown one get
 * the same answer from every caller of this. */
gboolean
_cf_gateway_entry_visible (CfGateway         *self,
                           CfCatalogSnapshot *snapshot,
                           CfMcpRequest      *request,
                           CfEntityKind       kind,
                           CfCatalogEntry    *entry)
{
  return entry != NULL &&
         entry_offered_here (snapshot, cf_mcp_request_get_scope (request), kind, entry) &&
         viewer_sees_entry (request_viewer (self, request), entry);
}

/* _cf_gateway_entry_visible() for @entity, a tree this snapshot made */
gboolean
_cf_gateway_visible (CfGateway         *self,
                     CfCatalogSnapshot *snapshot,
                     CfMcpRequest      *request,
                     CfEntityKind       kind,
                     JsonObject        *entity)
{
  const char *id = entity != NULL ? cf_json_object_get_string (entity, "id") : NULL;

  return _cf_gateway_entry_visible (self, snapshot, request, kind,
                                    cf_catalog_snapshot_lookup_entry (snapshot, kind, id));
}

/* What _cf_gateway_entry_visible() answers, for a caller known only by
 * its identity and endpoint: before its request exists (the era
 * adapter's header checks), so nothing is cached. */
gboolean
_cf_gateway_identity_sees (CfGateway         *self,
                           CfCatalogSnapshot *snapshot,
                           CfIdentity        *identity,
                           const char        *scope,
                           CfEntityKind       kind,
                           CfCatalogEntry    *entry)
{
  g_autoptr(CfAccess) access = NULL;
  g_auto(CfViewer) viewer = { 0 };

  if (entry == NULL || !entry_offered_here (snapshot, scope, kind, entry))
    return FALSE;
  if (sees_everything (self, identity))
    return TRUE;
  access = cf_teams_get_access (self->teams);
  cf_viewer_init (&viewer, access, identity);
  return viewer_sees_entry (&viewer, entry);
}

/* ContextForge's code for a token not allowed to do this. */
#define PERMISSION_DENIED_CODE -32003

typedef struct {
  CfGateway       *self;
  const char      *permission;
  CfMcpMethodFunc  func;
} GuardedMethod;

static void
guarded_method (CfMcpRequest *request,
                gpointer      user_data)
{
  GuardedMethod *guarded = user_data;
  g_autofree char *message = NULL;

  if (guarded->self->teams == NULL ||
      cf_teams_check (guarded->self->teams, cf_mcp_request_get_identity (request),
                      guarded->permission, NULL))
    {
      guarded->func (request, guarded->self);
      return;
    }
  message = g_strdup_printf ("Insufficient permissions. Required: %s", guarded->permission);
  cf_mcp_request_return_error (request, PERMISSION_DENIED_CODE, message, NULL);
}

/**
 * _cf_gateway_add_method:
 * @method: the MCP method
 * @permission: what a caller needs to call it
 * @func: its handler, called with @self
 *
 * Installs @func behind the check of @permission.
 */
void
_cf_gateway_add_method (CfGateway       *self,
                        const char      *method,
                        const char      *permission,
                        CfMcpMethodFunc  func)
{
  GuardedMethod *guarded = g_new0 (GuardedMethod, 1);

  guarded->self = self;
  guarded->permission = permission;
  guarded->func = func;
  cf_mcp_server_add_method (self->server, method, guarded_method, guarded, g_free);
}

/**
 * _cf_gateway_page:
 *
 * Reads the request's cursor. On an invalid cursor it answers the request
 * with Invalid Params and returns %FALSE.
 */
gboolean
_cf_gateway_page (CfGateway    *self,
                  CfMcpRequest *request,
                  guint         total,
                  guint        *start,
                  guint        *end)
{
  const char *cursor = cf_mcp_request_get_param_string (request, "cursor");
  guint64 offset = 0;

  if (cursor != NULL)
    {
      gsize len = 0;
      g_autofree char *decoded = (char *) g_base64_decode (cursor, &len);
      g_autofree char *text = g_strndup (decoded, len);

      if (!g_str_has_prefix (text, CURSOR_PREFIX) ||
          !g_ascii_string_to_unsigned (text + strlen (CURSOR_PREFIX), 10, 0, G_MAXUINT,
                                       &offset, NULL))
        {
          cf_mcp_request_return_error (request, CF_JSONRPC_INVALID_PARAMS,
                                       "Invalid params: unknown cursor", NULL);
          return FALSE;
        }
    }

  *start = MIN (offset, total);
  *end = MIN (*start + (guint64) self->page_size, total);
  return TRUE;
}

/**
 * _cf_gateway_list_page:
 * @keep: (nullable): a further filter
 *
 * The entities of @kind this request may see, and the bounds of the page
 * its cursor asks for.
 *
 * Returns: (transfer container) (nullable) (element-type CfCatalogEntry):
 *   the visible entries, or %NULL when the cursor was invalid and the
 *   request already answered
 */
GPtrArray *
_cf_gateway_list_page (CfGateway         *self,
                       CfMcpRequest      *request,
                       CfCatalogSnapshot *snapshot,
                       CfEntityKind       kind,
                       gboolean         (*keep) (CfCatalogEntry *entry),
                       guint             *start,
                       guint             *end)
{
  GPtrArray *all = cf_catalog_snapshot_entries (snapshot, kind);
  const char *scope = cf_mcp_request_get_scope (request);
  const CfViewer *viewer = request_viewer (self, request);
  g_autoptr(GPtrArray) visible = NULL;

  /* Most lists come from callers who see every item, on /mcp: they all
   * page through the same list, made once per snapshot. */
  if (keep == NULL && scope == NULL && viewer == &everything)
    {
      _cf_gateway_use_snapshot (self, snapshot);
      if (self->offered[kind] == NULL)
        {
          self->offered[kind] = g_ptr_array_new ();
          for (guint i = 0; i < all->len; i++)
            if (entry_offered_here (snapshot, NULL, kind, all->pdata[i]))
              g_ptr_array_add (self->offered[kind], all->pdata[i]);
        }
      visible = g_ptr_array_ref (self->offered[kind]);
    }
  else
    {
      visible = g_ptr_array_new ();
      for (guint i = 0; i < all->len; i++)
        {
          CfCatalogEntry *entry = all->pdata[i];

          if ((keep == NULL || keep (entry)) &&
              entry_offered_here (snapshot, scope, kind, entry) &&
              viewer_sees_entry (viewer, entry))
            g_ptr_array_add (visible, entry);
        }
    }

  if (!_cf_gateway_page (self, request, visible->len, start, end))
    return NULL;
  return g_steal_pointer (&visible);
}

/**
 * _cf_gateway_forget_snapshot:
 * @self: the gateway
 *
 * Drops what the lists built from the last snapshot, and the snapshot.
 */
void
_cf_gateway_forget_snapshot (CfGateway *self)
{
  if (self->mcp_forms != NULL)
    g_hash_table_remove_all (self->mcp_forms);
  if (self->tool_params != NULL)
    g_hash_table_remove_all (self->tool_params);
  for (guint i = 0; i < CF_N_ENTITY_KINDS; i++)
    g_clear_pointer (&self->offered[i], g_ptr_array_unref);
  g_clear_pointer (&self->cached_snapshot, cf_catalog_snapshot_unref);
}

/**
 * _cf_gateway_use_snapshot:
 * @self: the gateway
 * @snapshot: the snapshot a list is made from
 *
 * Makes @snapshot the one whose lists are kept, forgetting another's.
 * The gateway holds it, so that its entities, by which the lists are
 * kept, stay what they are.
 */
void
_cf_gateway_use_snapshot (CfGateway         *self,
                          CfCatalogSnapshot *snapshot)
{
  if (self->cached_snapshot == snapshot)
    return;
  _cf_gateway_forget_snapshot (self);
  self->cached_snapshot = cf_catalog_snapshot_ref (snapshot);
}

/**
 * _cf_gateway_named_form:
 * @entity: a tool or a prompt
 *
 * The start of a tool's or a prompt's MCP form: its name, its title (the
 * displayName of a ContextForge entity without one) and its description.
 *
 * Returns: (transfer full): a new object
 */
JsonObject *
_cf_gateway_named_form (JsonObject *entity)
{
  JsonObject *form = json_object_new ();

  _cf_gateway_copy_member (form, entity, "name", "name");
  if (json_object_has_member (entity, "title"))
    _cf_gateway_copy_member (form, entity, "title", "title");
  else
    _cf_gateway_copy_member (form, entity, "title", "displayName");
  _cf_gateway_copy_member (form, entity, "description", "description");
  return form;
}

/* The serialized MCP form of @entry, made once per snapshot: a page of
 * a thousand tools would otherwise build a thousand objects and serialize
 * them again on every call. The entity's tree is made for the form only,
 * and dropped. */
static GBytes *
mcp_form (CfGateway         *self,
          CfCatalogSnapshot *snapshot,
          CfCatalogEntry    *entry,
          CfGatewayFormFunc  form)
{
  GBytes *bytes;

  _cf_gateway_use_snapshot (self, snapshot);
  if (self->mcp_forms == NULL)
    self->mcp_forms = g_hash_table_new_full (NULL, NULL, NULL, (GDestroyNotify) g_bytes_unref);
  bytes = g_hash_table_lookup (self->mcp_forms, entry);
  if (bytes == NULL)
    {
      g_autoptr(JsonObject) entity = cf_catalog_entry_dup_object (entry);
      g_autoptr(JsonObject) object = form (entity);
      g_autoptr(JsonNode) node = cf_json_node_new_object (g_steal_pointer (&object));
      gsize length = 0;
      g_autofree char *text = cf_json_to_string (node, &length);

      /* Copied to its own size: the serializer's buffer starts at 1 KiB,
       * and ten thousand forms are kept. */
      bytes = g_bytes_new (text, length);
      g_hash_table_insert (self->mcp_forms, entry, bytes);
    }
  return bytes;
}

/**
 * _cf_gateway_tool_params:
 * @self: the gateway
 * @snapshot: the snapshot @tool is from
 * @tool: a tool's entry
 * @upstream_name: the tool's name upstream
 *
 * The params of a tools/call of @tool upstream, its name alone: one
 * sealed object per tool and snapshot, which the calls share (a relay
 * copies it only to add its _meta), instead of an object made and freed
 * for every call.
 *
 * Returns: (transfer full): the params
 */
JsonObject *
_cf_gateway_tool_params (CfGateway         *self,
                         CfCatalogSnapshot *snapshot,
                         CfCatalogEntry    *tool,
                         const char        *upstream_name)
{
  JsonObject *params;

  _cf_gateway_use_snapshot (self, snapshot);
  if (self->tool_params == NULL)
    self->tool_params = g_hash_table_new_full (NULL, NULL, NULL,
                                               (GDestroyNotify) json_object_unref);
  params = g_hash_table_lookup (self->tool_params, tool);
  if (params == NULL)
    {
      params = json_object_new ();
      json_object_set_string_member (params, "name", upstream_name);
      json_object_seal (params);
      g_hash_table_insert (self->tool_params, tool, params);
    }
  return json_object_ref (params);
}

/**
 * _cf_gateway_return_page:
 * @visible: (element-type CfCatalogEntry): the entries the request may see
 * @start: the first of the page
 * @end: past the last of the page
 * @member: the member of the result that holds the page (`tools`...)
 * @form: what the list shows of an entity
 *
 * Answers a list request with a page of @visible, and the cursor of the
 * next page. The page is put together from serialized forms, kept with
 * @snapshot.
 */
void
_cf_gateway_return_page (CfGateway         *self,
                         CfMcpRequest      *request,
                         CfCatalogSnapshot *snapshot,
                         GPtrArray         *visible,
                         guint              start,
                         guint              end,
                         const char        *member,
                         CfGatewayFormFunc  form)
{
  g_autoptr(GPtrArray) forms = g_ptr_array_sized_new (end - start);
  g_autoptr(GBytes) page = NULL;
  JsonObject *result = json_object_new ();
  gsize length = 2;
  GString *out;

  for (guint i = start; i < end; i++)
    {
      GBytes *bytes = mcp_form (self, snapshot, visible->pdata[i], form);

      g_ptr_array_add (forms, bytes);
      length += g_bytes_get_size (bytes) + 1;
    }
  out = g_string_sized_new (length);
  g_string_append_c (out, '[');
  for (guint i = 0; i < forms->len; i++)
    {
      gsize size = 0;
      const char *data = g_bytes_get_data (forms->pdata[i], &size);

      if (i > 0)
        g_string_append_c (out, ',');
      g_string_append_len (out, data, size);
    }
  g_string_append_c (out, ']');
  page = g_string_free_to_bytes (out);

  _cf_gateway_set_cursor (result, end, visible->len);
  cf_mcp_request_return_spliced (request, result, member, page);
}

void
_cf_gateway_set_cursor (JsonObject *result,
                        guint       end,
                        guint       total)
{
  g_autofree char *text = NULL;
  g_autofree char *cursor = NULL;

  if (end >= total)
    return;
  text = g_strdup_printf (CURSOR_PREFIX "%u", end);
  cursor = g_base64_encode ((const guchar *) text, strlen (text));
  json_object_set_string_member (result, "nextCursor", cursor);
}

void
_cf_gateway_copy_member (JsonObject *to,
                         JsonObject *from,
                         const char *to_member,
                         const char *from_member)
{
  JsonNode *node = json_object_get_member (from, from_member);

  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    json_object_set_member (to, to_member, json_node_copy (node));
}

/**
 * _cf_gateway_tool_error:
 * @text: what went wrong, for the model to read
 *
 * Per MCP, a tool that fails (bad arguments, an upstream that is down)
 * answers with a result flagged isError, not with a protocol error.
 *
 * Returns: (transfer full): a CallToolResult
 */
JsonObject *
_cf_gateway_tool_error (const char *text)
{
  JsonObject *result = json_object_new ();
  JsonArray *content = json_array_new ();
  JsonObject *block = json_object_new ();

  json_object_set_string_member (block, "type", "text");
  json_object_set_string_member (block, "text", text);
  json_array_add_object_element (content, block);
  json_object_set_array_member (result, "content", content);
  json_object_set_boolean_member (result, "isError", TRUE);
  return result;
}
