/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-entity"

#include "config.h"

#include <string.h>

#include "cf-api-private.h"
#include "cf-json.h"

/* The CRUD every entity kind shares, driven by its #CfApiKind: list with
 * filters and cursor pages, get, create, partial update, delete, and the
 * enabled state. */

/* Returns: (transfer none) (nullable): the entity named by the path, or
 * %NULL once @request has been answered with a 404 */
JsonObject *
cf_api_lookup (CfApiRequest      *request,
               CfCatalogSnapshot *snapshot)
{
  JsonObject *entity = cf_catalog_snapshot_lookup (snapshot, request->kind->kind, request->id);

  /* Hidden is the same as unknown. */
  if (entity != NULL && !cf_api_request_sees (request, entity))
    entity = NULL;
  if (entity == NULL)
    cf_api_respond_not_found (request);
  return entity;
}

/* What responses show of @entity. A federated tool is as reachable as
 * its gateway: the health checks mark the gateway, not each tool. */
static JsonObject *
public_view (CfCatalogSnapshot *snapshot,
             CfEntityKind       kind,
             JsonObject        *entity)
{
  JsonObject *view = cf_entity_schema_public_view (kind, entity);
  const char *gateway_id = cf_json_object_get_string (entity, "gatewayId");
  JsonObject *gateway;

  if (kind == CF_ENTITY_TOOL && gateway_id != NULL && snapshot != NULL &&
      (gateway = cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_GATEWAY, gateway_id)) != NULL)
    json_object_set_boolean_member (view, "reachable",
                                    cf_json_object_get_bool (gateway, "reachable", TRUE) &&
                                    cf_json_object_get_bool (gateway, "enabled", TRUE));
  return view;
}

/**
 * cf_api_public_views:
 * @snapshot: the snapshot @entities come from
 * @kind: the kind of @entities
 * @entities: (element-type JsonObject): stored entities
 * @include_inactive: whether disabled ones are shown
 *
 * Returns: (transfer full): what responses show of @entities
 */
JsonArray *
cf_api_public_views (CfCatalogSnapshot *snapshot,
                     CfEntityKind       kind,
                     GPtrArray         *entities,
                     gboolean           include_inactive)
{
  JsonArray *views = json_array_new ();

  for (guint i = 0; i < entities->len; i++)
    if (include_inactive || cf_json_object_get_bool (entities->pdata[i], "enabled", TRUE))
      json_array_add_object_element (views, public_view (snapshot, kind, entities->pdata[i]));
  return views;
}

/* ContextForge takes `{"tool": {...}, "team_id": ..., "visibility": ...}`;
 * the top-level ownership fields win over the embedded ones. */
static void
merge_top_level (JsonObject *input,
                 JsonObject *body,
                 const char *snake,
                 const char *camel)
{
  JsonNode *node = json_object_get_member (body, snake);

  if (node == NULL && camel != NULL)
    node = json_object_get_member (body, camel);
  if (node == NULL || JSON_NODE_HOLDS_NULL (node))
    return;
  node = json_node_copy (node);
  if (camel != NULL)
    json_object_remove_member (input, camel);
  json_object_remove_member (input, snake);
  json_object_set_member (input, snake, node);
}

/* Returns: (transfer full) (nullable): the entity fields of a create or
 * update body, or %NULL once @request has been answered */
static JsonObject *
entity_input (CfApiRequest *request,
              JsonObject   *body)
{
  const char *embed = request->kind->embed;
  JsonNode *node = embed ? json_object_get_member (body, embed) : NULL;
  JsonObject *input;

  if (node == NULL)
    return json_object_ref (body);
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      cf_api_respond_problem (request, "body", embed, "dict_type",
                              "Input should be a valid dictionary");
      return NULL;
    }
  input = json_object_ref (json_node_get_object (node));
  request->embedded = embed;
  merge_top_level (input, body, "team_id", "teamId");
  merge_top_level (input, body, "visibility", NULL);
  return input;
}

/* Generic CRUD */

static void
finish_write (CfApiRequest *request,
              GAsyncResult *result,
              guint         status)
{
  CfCatalog *catalog = cf_api_request_get_catalog (request);
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) entity = NULL;

  entity = cf_catalog_write_finish (catalog, result, &problems, &error);
  if (entity == NULL)
    {
      cf_api_respond_catalog_error (request, error, problems);
      return;
    }
  snapshot = cf_api_request_get_snapshot (request);
  cf_api_respond_object (request, status, public_view (snapshot, request->kind->kind, entity));
}

static void
on_created (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfApiRequest) request = user_data;

  finish_write (request, result, SOUP_STATUS_CREATED);
}

static void
on_updated (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfApiRequest) request = user_data;

  finish_write (request, result, SOUP_STATUS_OK);
}

/* ContextForge's ownership of a new entity: its creator owns it, in the
 * team the request names (which the creator must belong to) or else the
 * creator's personal team. Without a user (no authentication required,
 * Basic) the entity has no owner, as before teams. */
gboolean
cf_api_set_ownership (CfApiRequest *request,
                      JsonObject   *input)
{
  CfIdentity *identity = cf_identity_from_message (request->msg);
  g_autoptr(CfAccess) access = NULL;
  const char *email;
  const char *team_id;

  if (request->api->teams == NULL || identity == NULL ||
      cf_identity_get_kind (identity) != CF_IDENTITY_JWT)
    return TRUE;
  access = cf_teams_get_access (request->api->teams);
  email = cf_identity_get_email (identity);
  team_id = cf_json_object_get_string (input, "team_id");
  if (team_id == NULL)
    team_id = cf_json_object_get_string (input, "teamId");
  if (team_id != NULL && !cf_access_user_is_admin (access, email) &&
      cf_access_get_member_role (access, team_id, email) == NULL)
    {
      cf_api_respond_error (request, SOUP_STATUS_FORBIDDEN, "You are not a member of that team");
      return FALSE;
    }
  if (team_id == NULL && (team_id = cf_access_get_personal_team (access, email)) != NULL)
    json_object_set_string_member (input, "team_id", team_id);
  json_object_remove_member (input, "ownerEmail");
  json_object_set_string_member (input, "owner_email", email);
  return TRUE;
}

/* Updates and deletes reach only what the caller can see, and change it
 * only as its owner or with @action (update, delete) in the entity's
 * team: a developer of one team does not edit another team's public
 * tools. Entities without a team keep the route's global check. */
static gboolean
check_writable (CfApiRequest *request,
                const char   *action)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *entity = cf_api_lookup (request, snapshot);
  CfIdentity *identity = cf_identity_from_message (request->msg);
  g_autofree char *permission = NULL;
  const char *team_id;

  if (entity == NULL)
    return FALSE;
  if (request->api->teams == NULL || identity == NULL ||
      cf_identity_get_kind (identity) != CF_IDENTITY_JWT)
    return TRUE;
  team_id = cf_json_object_get_string (entity, "teamId");
  if (team_id == NULL ||
      g_strcmp0 (cf_json_object_get_string (entity, "ownerEmail"),
                 cf_identity_get_email (identity)) == 0)
    return TRUE;
  /* "/v1/tools" -> "tools.update" */
  permission = g_strdup_printf ("%s.%s", strrchr (request->kind->path, '/') + 1, action);
  if (cf_teams_check (request->api->teams, identity, permission, team_id))
    return TRUE;
  {
    g_autofree char *detail = g_strdup_printf ("Insufficient permissions. Required: %s",
                                               permission);

    cf_api_respond_error (request, SOUP_STATUS_FORBIDDEN, detail);
  }
  return FALSE;
}

static void
handle_create (CfApiRequest *request)
{
  g_autoptr(JsonObject) body = cf_api_read_body (request, TRUE);
  g_autoptr(JsonObject) input = body ? entity_input (request, body) : NULL;

  if (input == NULL || !cf_api_set_ownership (request, input))
    return;
  cf_catalog_create_async (cf_api_request_get_catalog (request), request->kind->kind, input,
                           NULL, on_created, cf_api_request_hold (request));
}

static void
handle_update (CfApiRequest *request)
{
  g_autoptr(JsonObject) body = cf_api_read_body (request, TRUE);
  g_autoptr(JsonObject) input = NULL;

  if (body == NULL || !check_writable (request, "update"))
    return;
  input = entity_input (request, body);
  if (input == NULL)
    return;
  /* With teams, the creator stays the owner. */
  if (request->api->teams != NULL)
    {
      json_object_remove_member (input, "owner_email");
      json_object_remove_member (input, "ownerEmail");
    }
  cf_catalog_update_async (cf_api_request_get_catalog (request), request->kind->kind,
                           request->id, input, NULL, on_updated, cf_api_request_hold (request));
}

static void
handle_get (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *entity = cf_api_lookup (request, snapshot);

  if (entity != NULL)
    cf_api_respond_object (request, SOUP_STATUS_OK, public_view (snapshot, request->kind->kind,
                                                                 entity));
}

static void
on_deleted (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfApiRequest) request = user_data;
  g_autoptr(GError) error = NULL;
  JsonObject *body;
  g_autofree char *message = NULL;

  if (!cf_catalog_delete_finish (CF_CATALOG (source), result, &error))
    {
      cf_api_respond_catalog_error (request, error, NULL);
      return;
    }
  message = g_strdup_printf ("%s %s permanently deleted", request->kind->label, request->id);
  body = json_object_new ();
  json_object_set_string_member (body, "status", "success");
  json_object_set_string_member (body, "message", message);
  cf_api_respond_object (request, SOUP_STATUS_OK, body);
}

/* 200 with ContextForge's `{"status": "success", "message": ...}` rather
 * than 204: its clients read the message. */
static void
handle_delete (CfApiRequest *request)
{
  if (!check_writable (request, "delete"))
    return;
  cf_catalog_delete_async (cf_api_request_get_catalog (request), request->kind->kind,
                           request->id, NULL, on_deleted, cf_api_request_hold (request));
}

static void
on_state_set (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  g_autoptr(CfApiRequest) request = user_data;
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) entity = NULL;
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autofree char *member = NULL;
  g_autofree char *message = NULL;
  JsonObject *body;
  gboolean enabled;

  entity = cf_catalog_write_finish (CF_CATALOG (source), result, &problems, &error);
  if (entity == NULL)
    {
      cf_api_respond_catalog_error (request, error, problems);
      return;
    }
  enabled = cf_json_object_get_bool (entity, "enabled", TRUE);
  member = g_ascii_strdown (request->kind->label, -1);
  message = g_strdup_printf ("%s %s %s", request->kind->label, request->id,
                             enabled ? "activated" : "deactivated");
  body = json_object_new ();
  json_object_set_string_member (body, "status", "success");
  json_object_set_string_member (body, "message", message);
  snapshot = cf_api_request_get_snapshot (request);
  json_object_set_object_member (body, member, public_view (snapshot, request->kind->kind,
                                                            entity));
  cf_api_respond_object (request, SOUP_STATUS_OK, body);
}

/* `activate` comes from the query, as ContextForge has it, or else from a
 * `{"activate": bool}` body; absent, it activates. */
static gboolean
read_activate (CfApiRequest *request,
               gboolean     *out_activate)
{
  g_autoptr(JsonObject) body = NULL;
  JsonNode *node;

  if (cf_api_request_get_query (request, "activate") != NULL)
    return cf_api_query_get_bool (request, "activate", TRUE, out_activate);

  *out_activate = TRUE;
  if ((body = cf_api_read_body (request, FALSE)) == NULL)
    return FALSE;
  node = json_object_get_member (body, "activate");
  if (node == NULL)
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    {
      cf_api_respond_problem (request, "body", "activate", "bool_type",
                              "Input should be a valid boolean");
      return FALSE;
    }
  *out_activate = json_node_get_boolean (node);
  return TRUE;
}

static void
handle_state (CfApiRequest *request)
{
  g_autoptr(JsonObject) input = NULL;
  gboolean activate;

  if (!check_writable (request, "update") || !read_activate (request, &activate))
    return;
  input = json_object_new ();
  json_object_set_boolean_member (input, "enabled", activate);
  cf_catalog_update_async (cf_api_request_get_catalog (request), request->kind->kind,
                           request->id, input, NULL, on_state_set, cf_api_request_hold (request));
}

static void
handle_toggle (CfApiRequest *request)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (request->msg);
  g_autofree char *link = g_strdup_printf ("<%s/%s/state>; rel=\"successor-version\"",
                                           request->kind->path, request->id);

  soup_message_headers_replace (headers, "Deprecation", "true");
  soup_message_headers_replace (headers, "Link", link);
  handle_state (request);
}

/* Lists: filters and cursor pagination */

typedef struct {
  gboolean  include_inactive;
  gboolean  include_pagination;
  gint64    limit;              /* 0: everything after the cursor */
  char     *after_name;
  char     *after_id;
  GStrv     tags;
  const char *gateway_id;
  const char *visibility;
  const char *team_id;
} ListQuery;

static void
list_query_clear (ListQuery *query)
{
  g_clear_pointer (&query->after_name, g_free);
  g_clear_pointer (&query->after_id, g_free);
  g_clear_pointer (&query->tags, g_strfreev);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (ListQuery, list_query_clear)

/* Lists are ordered by name, then id (the snapshot's order), so a cursor
 * is the last (name, id) seen: it stays valid while entities come and go.
 * It travels as unpadded base64url of JSON, safe in a query string. */
static char *
encode_cursor (CfCatalogEntry *last)
{
  g_autoptr(JsonObject) position = json_object_new ();
  g_autofree char *json = NULL;
  char *cursor;

  json_object_set_string_member (position, "name", cf_catalog_entry_get_name (last) ?: "");
  json_object_set_string_member (position, "id", cf_catalog_entry_get_id (last) ?: "");
  json = cf_json_object_to_string (position);
  cursor = g_base64_encode ((const guchar *) json, strlen (json));
  g_strdelimit (cursor, "+", '-');
  g_strdelimit (cursor, "/", '_');
  if (strchr (cursor, '=') != NULL)
    *strchr (cursor, '=') = '\0';
  return cursor;
}

static gboolean
decode_cursor (const char *cursor,
               ListQuery  *query)
{
  gsize length = strlen (cursor);
  g_autoptr(GString) padded = NULL;
  g_autofree guchar *json = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonObject *position;
  gsize json_length = 0;

  if (length == 0 || length % 4 == 1 || length > 4096 ||
      strspn (cursor, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != length)
    return FALSE;
  padded = g_string_new (cursor);
  g_strdelimit (padded->str, "-", '+');
  g_strdelimit (padded->str, "_", '/');
  while (padded->len % 4 != 0)
    g_string_append_c (padded, '=');
  json = g_base64_decode (padded->str, &json_length);
  node = cf_json_parse ((const char *) json, json_length, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return FALSE;
  position = json_node_get_object (node);
  if (cf_json_object_get_string (position, "name") == NULL ||
      cf_json_object_get_string (position, "id") == NULL)
    return FALSE;
  query->after_name = g_strdup (cf_json_object_get_string (position, "name"));
  query->after_id = g_strdup (cf_json_object_get_string (position, "id"));
  return TRUE;
}

static gboolean
parse_list_query (CfApiRequest *request,
                  ListQuery    *query)
{
  const char *limit = cf_api_request_get_query (request, "limit");
  const char *cursor = cf_api_request_get_query (request, "cursor");
  const char *tags = cf_api_request_get_query (request, "tags");

  if (!cf_api_query_get_bool (request, "include_inactive", FALSE, &query->include_inactive) ||
      !cf_api_query_get_bool (request, "include_pagination", FALSE, &query->include_pagination))
    return FALSE;
  if (limit != NULL &&
      !g_ascii_string_to_signed (limit, 10, 1, CF_API_MAX_LIMIT, &query->limit, NULL))
    {
      cf_api_respond_problem (request, "query", "limit", "value_error",
                              "Input should be an integer between 1 and 500");
      return FALSE;
    }
  if (cursor != NULL && !decode_cursor (cursor, query))
    {
      cf_api_respond_problem (request, "query", "cursor", "value_error", "Invalid cursor");
      return FALSE;
    }
  if (tags != NULL)
    query->tags = g_strsplit (tags, ",", -1);
  query->gateway_id = cf_api_request_get_query (request, "gateway_id");
  query->visibility = cf_api_request_get_query (request, "visibility");
  query->team_id = cf_api_request_get_query (request, "team_id");
  return TRUE;
}

static gboolean
has_tag (JsonObject *entity,
         const char *wanted)
{
  JsonArray *tags = cf_json_object_get_array (entity, "tags");

  for (guint i = 0; tags != NULL && i < json_array_get_length (tags); i++)
    {
      JsonNode *tag = json_array_get_element (tags, i);
      const char *label = cf_json_node_is_string (tag) ? json_node_get_string (tag) : NULL;

      if (label == NULL && JSON_NODE_HOLDS_OBJECT (tag))
        label = cf_json_object_get_string (json_node_get_object (tag), "label");
      if (label != NULL && g_ascii_strcasecmp (label, wanted) == 0)
        return TRUE;
    }
  return FALSE;
}

static gboolean
matches_tags (JsonObject  *entity,
              const GStrv  tags)
{
  gboolean any_asked = FALSE;

  for (guint i = 0; tags[i] != NULL; i++)
    {
      g_autofree char *tag = g_strstrip (g_strdup (tags[i]));

      if (*tag == '\0')
        continue;
      any_asked = TRUE;
      if (has_tag (entity, tag))
        return TRUE;
    }
  return !any_asked;
}

/* The filters an entry answers without its tree; the tags need it. */
static gboolean
matches (const ListQuery *query,
         CfCatalogEntry  *entry)
{
  const char *gateway = cf_catalog_entry_get_gateway_id (entry);

  if (!query->include_inactive && !cf_catalog_entry_get_enabled (entry))
    return FALSE;
  /* "null" asks for local entities only, as in ContextForge. */
  if (query->gateway_id != NULL &&
      (g_str_equal (query->gateway_id, "null") ? gateway != NULL
                                               : g_strcmp0 (query->gateway_id, gateway) != 0))
    return FALSE;
  if (query->visibility != NULL &&
      g_strcmp0 (query->visibility, cf_catalog_entry_get_visibility (entry)) != 0)
    return FALSE;
  return query->team_id == NULL ||
         g_strcmp0 (query->team_id, cf_catalog_entry_get_team_id (entry)) == 0;
}

/* Must order exactly as the snapshot sorts its lists. */
static gboolean
is_after_cursor (const ListQuery *query,
                 CfCatalogEntry  *entry)
{
  int c;

  if (query->after_name == NULL)
    return TRUE;
  c = g_strcmp0 (cf_catalog_entry_get_name (entry), query->after_name);
  if (c == 0)
    c = g_strcmp0 (cf_catalog_entry_get_id (entry), query->after_id);
  return c > 0;
}

/* Each entity is read from its entry, and its view written out and let
 * go: a list of ten thousand keeps no trees, neither of the entities nor
 * of the response. */
static void
handle_list (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  g_auto(ListQuery) query = { 0 };
  GPtrArray *all = cf_catalog_snapshot_entries (snapshot, request->kind->kind);
  g_autoptr(GString) out = NULL;
  g_autoptr(GBytes) body = NULL;
  CfCatalogEntry *last = NULL;
  g_autofree char *next_cursor = NULL;
  guint count = 0;

  if (!parse_list_query (request, &query))
    return;

  out = g_string_new (query.include_pagination ? "{\"items\":[" : "[");
  for (guint i = 0; i < all->len; i++)
    {
      CfCatalogEntry *entry = all->pdata[i];
      g_autoptr(JsonObject) entity = NULL;
      g_autoptr(JsonNode) view = NULL;

      if (!is_after_cursor (&query, entry) || !matches (&query, entry))
        continue;
      entity = cf_catalog_entry_dup_object (entry);
      if ((query.tags != NULL && !matches_tags (entity, query.tags)) ||
          !cf_api_request_sees (request, entity))
        continue;
      if (query.limit > 0 && count == (guint) query.limit)
        {
          next_cursor = encode_cursor (last);
          break;
        }
      view = cf_json_node_new_object (public_view (snapshot, request->kind->kind, entity));
      if (count++ > 0)
        g_string_append_c (out, ',');
      cf_json_append (out, view);
      last = entry;
    }
  g_string_append_c (out, ']');

  if (query.include_pagination)
    {
      g_autoptr(JsonNode) cursor = next_cursor != NULL ? cf_json_node_new_string (next_cursor)
                                                       : json_node_new (JSON_NODE_NULL);

      g_string_append (out, ",\"nextCursor\":");
      cf_json_append (out, cursor);
      g_string_append_c (out, '}');
    }
  else if (next_cursor != NULL)
    soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                  "X-Next-Cursor", next_cursor);
  body = g_string_free_to_bytes (g_steal_pointer (&out));
  cf_api_respond_json_bytes (request, SOUP_STATUS_OK, body);
}

const CfApiRoute cf_api_entity_routes[] = {
  { "GET", "", handle_list },
  { "POST", "", handle_create },
  { "GET", "{id}", handle_get },
  { "PUT", "{id}", handle_update },
  { "DELETE", "{id}", handle_delete },
  { "POST", "{id}/state", handle_state },
  { "POST", "{id}/toggle", handle_toggle },
  { NULL, NULL, NULL },
};
