/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api"

#include "config.h"

#include <string.h>

#include "cf-api-private.h"
#include "cf-json.h"

/**
 * CfApi:
 *
 * ContextForge's REST API over the catalog: `/v1/tools`, `/v1/resources`,
 * `/v1/prompts`, `/v1/servers`, `/v1/gateways`, and `/health`, `/ready`,
 * `/version`. Every entity kind shares one generic set of CRUD routes,
 * driven by a #CfApiKind table; the per-kind files add only what differs.
 * Writes go through the catalog, the single write path, while the message
 * stays paused; reads answer from a snapshot at once.
 */

typedef struct {
  CfApi      *api;
  CfApiMount  mount;
} MountPoint;

G_DEFINE_FINAL_TYPE (CfApi, cf_api, G_TYPE_OBJECT)

static void
cf_api_finalize (GObject *object)
{
  CfApi *self = (CfApi *) object;

  g_clear_object (&self->catalog);
  g_clear_object (&self->pool);
  g_clear_object (&self->teams);
  g_clear_object (&self->discovery);
  g_clear_pointer (&self->version, g_free);
  g_clear_pointer (&self->mounts, g_ptr_array_unref);

  G_OBJECT_CLASS (cf_api_parent_class)->finalize (object);
}

static void
cf_api_class_init (CfApiClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_api_finalize;
}

static void
cf_api_init (CfApi *self)
{
  self->mounts = g_ptr_array_new_with_free_func (g_free);
}

/**
 * cf_api_new:
 * @catalog: the registry the API reads and writes
 * @version: the gateway's version, as `/version` reports it
 *
 * Returns: (transfer full): a new #CfApi
 */
CfApi *
cf_api_new (CfCatalog  *catalog,
            const char *version)
{
  CfApi *self;

  g_return_val_if_fail (CF_IS_CATALOG (catalog), NULL);

  self = g_object_new (CF_TYPE_API, NULL);
  self->catalog = g_object_ref (catalog);
  self->version = g_strdup (version ? version : PACKAGE_VERSION);
  return self;
}

/* Requests */

/* After either, libsoup has dropped the message's I/O, and unpausing it
 * would be a critical. A server shutting down only disconnects. */
static void
on_message_gone (SoupServerMessage *msg,
                 CfApiRequest      *request)
{
  request->gone = TRUE;
}

static CfApiRequest *
request_new (MountPoint        *point,
             SoupServerMessage *msg,
             GHashTable        *query,
             char              *id)
{
  CfApiRequest *request = g_rc_box_new0 (CfApiRequest);

  request->api = g_object_ref (point->api);
  request->kind = point->mount.kind;
  request->msg = g_object_ref (msg);
  request->query = query ? g_hash_table_ref (query) : NULL;
  request->id = id;
  request->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (on_message_gone), request);
  request->disconnected_id = g_signal_connect (msg, "disconnected",
                                               G_CALLBACK (on_message_gone), request);
  return request;
}

static void
request_clear (CfApiRequest *request)
{
  /* A handler that held the message and then forgot it must not leave
   * the client hanging. */
  if (request->paused && !request->answered)
    {
      g_warning ("A request to %s was dropped unanswered",
                 g_uri_get_path (soup_server_message_get_uri (request->msg)));
      cf_api_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
  g_clear_signal_handler (&request->finished_id, request->msg);
  g_clear_signal_handler (&request->disconnected_id, request->msg);
  g_clear_object (&request->msg);
  g_clear_pointer (&request->query, g_hash_table_unref);
  g_clear_pointer (&request->id, g_free);
  cf_viewer_clear (&request->viewer);
  g_clear_pointer (&request->access, cf_access_unref);
  g_clear_object (&request->api);
}

void
cf_api_request_unref (CfApiRequest *request)
{
  g_rc_box_release_full (request, (GDestroyNotify) request_clear);
}

/**
 * cf_api_request_hold:
 * @request: a request whose answer has to wait
 *
 * Pauses the message until one of the cf_api_respond functions answers.
 *
 * Returns: (transfer full): a reference for the asynchronous callback
 */
CfApiRequest *
cf_api_request_hold (CfApiRequest *request)
{
  g_return_val_if_fail (!request->answered, NULL);

  if (!request->paused)
    {
      soup_server_message_pause (request->msg);
      request->paused = TRUE;
    }
  return g_rc_box_acquire (request);
}

const char *
cf_api_request_get_query (CfApiRequest *request,
                          const char   *name)
{
  return request->query ? g_hash_table_lookup (request->query, name) : NULL;
}

CfCatalog *
cf_api_request_get_catalog (CfApiRequest *request)
{
  return request->api->catalog;
}

/* Returns: (transfer full): the catalog as it is now */
CfCatalogSnapshot *
cf_api_request_get_snapshot (CfApiRequest *request)
{
  return cf_catalog_get_snapshot (request->api->catalog);
}

/**
 * cf_api_request_sees:
 * @request: the request
 * @entity: a catalog entity
 *
 * Layer 1 of ContextForge's enforcement: whether the caller's teams and
 * token let it see @entity. Unseen entities answer as unknown ones.
 *
 * Returns: whether the caller may see @entity
 */
gboolean
cf_api_request_sees (CfApiRequest *request,
                     JsonObject   *entity)
{
  if (!request->viewer_ready)
    {
      CfIdentity *identity = cf_identity_from_message (request->msg);

      request->access = request->api->teams ? cf_teams_get_access (request->api->teams) : NULL;
      cf_viewer_init (&request->viewer, request->access, identity);
      request->viewer_ready = TRUE;
    }
  return cf_viewer_sees_entity (&request->viewer, entity);
}

/* Responses */

static void
respond (CfApiRequest *request,
         guint         status,
         JsonNode     *body,
         GBytes       *text)
{
  g_return_if_fail (!request->answered);

  request->answered = TRUE;
  /* The client went away while the catalog worked: nobody to answer. */
  if (request->gone)
    return;
  if (body != NULL)
    cf_http_respond_json (request->msg, status, body);
  else if (text != NULL)
    cf_http_respond_json_bytes (request->msg, status, text);
  else
    soup_server_message_set_status (request->msg, status, NULL);
  if (request->paused)
    {
      request->paused = FALSE;
      soup_server_message_unpause (request->msg);
    }
}

void
cf_api_respond (CfApiRequest *request,
                guint         status,
                JsonNode     *body)
{
  respond (request, status, body, NULL);
}

/* @body is JSON text, written as it is. */
void
cf_api_respond_json_bytes (CfApiRequest *request,
                           guint         status,
                           GBytes       *body)
{
  respond (request, status, NULL, body);
}

/* Takes ownership of @body. */
void
cf_api_respond_object (CfApiRequest *request,
                       guint         status,
                       JsonObject   *body)
{
  g_autoptr(JsonNode) node = cf_json_node_new_object (body);

  cf_api_respond (request, status, node);
}

/* Takes ownership of @body. */
void
cf_api_respond_array (CfApiRequest *request,
                      guint         status,
                      JsonArray    *body)
{
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);

  json_node_take_array (node, body);
  cf_api_respond (request, status, node);
}

void
cf_api_respond_error (CfApiRequest *request,
                      guint         status,
                      const char   *detail)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "detail", detail);
  cf_api_respond_object (request, status, body);
}

/* FastAPI's 422: `{"detail": [{"loc": [...], "msg": ..., "type": ...}]}`. */
void
cf_api_respond_problems (CfApiRequest *request,
                         JsonArray    *problems)
{
  JsonObject *body = json_object_new ();

  json_object_set_array_member (body, "detail", json_array_ref (problems));
  cf_api_respond_object (request, SOUP_STATUS_UNPROCESSABLE_ENTITY, body);
}

void
cf_api_respond_problem (CfApiRequest *request,
                        const char   *where,
                        const char   *field,
                        const char   *type,
                        const char   *message)
{
  g_autoptr(JsonArray) problems = json_array_new ();
  JsonObject *problem = json_object_new ();
  JsonArray *loc = json_array_new ();

  json_array_add_string_element (loc, where);
  if (field != NULL)
    json_array_add_string_element (loc, field);
  json_object_set_array_member (problem, "loc", loc);
  json_object_set_string_member (problem, "msg", message);
  json_object_set_string_member (problem, "type", type);
  json_array_add_object_element (problems, problem);
  cf_api_respond_problems (request, problems);
}

void
cf_api_respond_not_found (CfApiRequest *request)
{
  g_autofree char *detail = g_strdup_printf ("%s not found: %s",
                                             request->kind ? request->kind->label : "Entity",
                                             request->id ? request->id : "");

  cf_api_respond_error (request, SOUP_STATUS_NOT_FOUND, detail);
}

/* The catalog reports `["body", field]`; an embedded entity sits one level
 * deeper, where FastAPI would point: `["body", "tool", field]`. */
static JsonArray *
problems_in_embedded (JsonArray  *problems,
                      const char *embedded)
{
  JsonArray *moved = json_array_new ();

  for (guint i = 0; i < json_array_get_length (problems); i++)
    {
      JsonObject *problem = json_array_get_object_element (problems, i);
      JsonArray *loc = cf_json_object_get_array (problem, "loc");
      JsonObject *copy = json_object_new ();
      JsonArray *new_loc = json_array_new ();

      for (guint j = 0; loc != NULL && j < json_array_get_length (loc); j++)
        {
          json_array_add_element (new_loc, json_node_copy (json_array_get_element (loc, j)));
          if (j == 0 && g_strcmp0 (json_array_get_string_element (loc, 0), "body") == 0)
            json_array_add_string_element (new_loc, embedded);
        }
      json_object_set_array_member (copy, "loc", new_loc);
      json_object_set_string_member (copy, "msg", cf_json_object_get_string (problem, "msg"));
      json_object_set_string_member (copy, "type", cf_json_object_get_string (problem, "type"));
      json_array_add_object_element (moved, copy);
    }
  return moved;
}

void
cf_api_respond_catalog_error (CfApiRequest *request,
                              const GError *error,
                              JsonArray    *problems)
{
  if (g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_INVALID) && problems != NULL)
    {
      g_autoptr(JsonArray) shown = request->embedded
                                   ? problems_in_embedded (problems, request->embedded)
                                   : json_array_ref (problems);
      cf_api_respond_problems (request, shown);
    }
  else if (g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_CONFLICT))
    cf_api_respond_error (request, SOUP_STATUS_CONFLICT, error->message);
  else if (g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_NOT_FOUND))
    cf_api_respond_not_found (request);
  else
    {
      g_warning ("Catalog write failed: %s", error->message);
      cf_api_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
    }
}

/* Request bodies */

static gboolean
is_json_media_type (const char *type)
{
  return type != NULL &&
         (g_ascii_strcasecmp (type, "application/json") == 0 ||
          (g_ascii_strncasecmp (type, "application/", 12) == 0 &&
           g_str_has_suffix (type, "+json")));
}

/**
 * cf_api_read_body:
 * @request: the request
 * @required: whether an empty body is an error rather than `{}`
 *
 * Returns: (transfer full) (nullable): the body's JSON object, or %NULL
 *   once @request has been answered with why it is unusable
 */
JsonObject *
cf_api_read_body (CfApiRequest *request,
                  gboolean      required)
{
  SoupMessageBody *body = soup_server_message_get_request_body (request->msg);
  SoupMessageHeaders *headers = soup_server_message_get_request_headers (request->msg);
  g_autoptr(GBytes) bytes = soup_message_body_flatten (body);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (g_bytes_get_size (bytes) == 0)
    {
      if (!required)
        return json_object_new ();
      cf_api_respond_problem (request, "body", NULL, "missing", "Field required");
      return NULL;
    }
  if (!is_json_media_type (soup_message_headers_get_content_type (headers, NULL)))
    {
      cf_api_respond_error (request, SOUP_STATUS_UNSUPPORTED_MEDIA_TYPE,
                            "Unsupported Media Type: send application/json");
      return NULL;
    }
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), &error);
  if (node == NULL)
    {
      g_autofree char *detail = g_strdup_printf ("Invalid JSON: %s", error->message);
      cf_api_respond_error (request, SOUP_STATUS_BAD_REQUEST, detail);
      return NULL;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    {
      cf_api_respond_problem (request, "body", NULL, "dict_type",
                              "Input should be a valid dictionary");
      return NULL;
    }
  return json_object_ref (json_node_get_object (node));
}

/* Query parameters */

static gboolean
parse_bool (const char *value,
            gboolean   *out_value)
{
  static const char * const truthy[] = { "true", "1", "yes", "on", "t", "y", NULL };
  static const char * const falsy[] = { "false", "0", "no", "off", "f", "n", NULL };
  g_autofree char *lower = g_ascii_strdown (value, -1);

  if (g_strv_contains (truthy, lower))
    *out_value = TRUE;
  else if (g_strv_contains (falsy, lower))
    *out_value = FALSE;
  else
    return FALSE;
  return TRUE;
}

/**
 * cf_api_query_get_bool:
 * @request: the request
 * @name: the query parameter
 * @default_value: its value when absent
 * @out_value: (out): its value
 *
 * Returns: %FALSE once @request has been answered with a 422
 */
gboolean
cf_api_query_get_bool (CfApiRequest *request,
                       const char   *name,
                       gboolean      default_value,
                       gboolean     *out_value)
{
  const char *value = cf_api_request_get_query (request, name);

  *out_value = default_value;
  if (value == NULL || parse_bool (value, out_value))
    return TRUE;
  cf_api_respond_problem (request, "query", name, "bool_parsing",
                          "Input should be a valid boolean");
  return FALSE;
}

/* Routing */

/* Returns: (transfer full) (nullable): the decoded path segments below
 * @mount, or %NULL when @path is not really under it */
static GStrv
split_path (const char *mount,
            const char *path)
{
  g_autofree char *rest = NULL;
  g_auto(GStrv) raw = NULL;
  g_autoptr(GStrvBuilder) segments = g_strv_builder_new ();
  gsize length;

  if (!g_str_has_prefix (path, mount))
    return NULL;
  path += strlen (mount);
  if (*path != '\0' && *path != '/')
    return NULL;
  if (*path == '\0' || g_str_equal (path, "/"))
    return g_strv_builder_end (segments);
  /* FastAPI-style tolerance of one trailing slash, and no more. */
  rest = g_strdup (path + 1);
  length = strlen (rest);
  if (rest[length - 1] == '/')
    rest[length - 1] = '\0';
  if (*rest == '\0')
    return NULL;

  raw = g_strsplit (rest, "/", -1);
  for (guint i = 0; raw[i] != NULL; i++)
    {
      g_autofree char *segment = g_uri_unescape_string (raw[i], "/");

      if (segment == NULL || *segment == '\0')
        return NULL;
      g_strv_builder_add (segments, segment);
    }
  return g_strv_builder_end (segments);
}

static gboolean
match_pattern (const char  *pattern,
               const GStrv  segments,
               const char **out_id)
{
  g_auto(GStrv) parts = *pattern ? g_strsplit (pattern, "/", -1) : g_new0 (char *, 1);

  if (g_strv_length (parts) != g_strv_length (segments))
    return FALSE;
  *out_id = NULL;
  for (guint i = 0; parts[i] != NULL; i++)
    {
      if (g_str_equal (parts[i], "{id}"))
        *out_id = segments[i];
      else if (!g_str_equal (parts[i], segments[i]))
        return FALSE;
    }
  return TRUE;
}

static gboolean
method_matches (const char *route_method,
                const char *method)
{
  return g_str_equal (route_method, method) ||
         (g_str_equal (method, SOUP_METHOD_HEAD) && g_str_equal (route_method, SOUP_METHOD_GET));
}

static void
allow_method (GPtrArray  *allow,
              const char *method)
{
  if (g_ptr_array_find_with_equal_func (allow, method, g_str_equal, NULL))
    return;
  g_ptr_array_add (allow, (gpointer) method);
  if (g_str_equal (method, SOUP_METHOD_GET))
    allow_method (allow, SOUP_METHOD_HEAD);
}

/* Returns: (nullable): the route for @segments and @method; with none,
 * @allow lists the methods the path takes, if it exists at all */
static const CfApiRoute *
find_route (const CfApiMount  *mount,
            const GStrv        segments,
            const char        *method,
            const char       **out_id,
            GPtrArray         *allow)
{
  const CfApiRoute *tables[] = { mount->routes, mount->kind ? cf_api_entity_routes : NULL };

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    for (const CfApiRoute *route = tables[t]; route && route->method; route++)
      {
        if (!match_pattern (route->pattern, segments, out_id))
          continue;
        if (method_matches (route->method, method))
          return route;
        allow_method (allow, route->method);
      }
  return NULL;
}

static void
on_request (CfHttpServer      *http,
            SoupServerMessage *msg,
            const char        *path,
            GHashTable        *query,
            gpointer           user_data)
{
  MountPoint *point = user_data;
  g_auto(GStrv) segments = split_path (point->mount.path, path);
  g_autoptr(GPtrArray) allow = g_ptr_array_new ();
  g_autoptr(CfApiRequest) request = NULL;
  const CfApiRoute *route = NULL;
  const char *id = NULL;

  if (segments != NULL)
    route = find_route (&point->mount, segments, soup_server_message_get_method (msg), &id, allow);
  if (route == NULL && allow->len > 0)
    {
      g_autofree char *methods = NULL;

      g_ptr_array_add (allow, NULL);
      methods = g_strjoinv (", ", (GStrv) allow->pdata);
      soup_message_headers_replace (soup_server_message_get_response_headers (msg),
                                    "Allow", methods);
      cf_http_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method Not Allowed");
      return;
    }
  if (route == NULL)
    {
      cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
      return;
    }

  request = request_new (point, msg, query, g_strdup (id));
  route->handler (request);
  if (!request->answered && !request->paused)
    {
      g_warning ("The handler of %s answered nothing", path);
      cf_api_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, "Internal Server Error");
    }
}

static void
mount_one (CfApi            *self,
           CfHttpServer     *http,
           const CfApiMount *mount)
{
  MountPoint *point = g_new0 (MountPoint, 1);

  point->api = self;
  point->mount = *mount;
  g_ptr_array_add (self->mounts, point);
  cf_http_server_add_route (http, mount->path, on_request, point);
}

/**
 * cf_api_mount:
 * @self: a #CfApi
 * @http: the server to serve the API on
 *
 * Registers the API's routes on @http, which keeps @self alive as long as
 * it lives itself.
 */
void
cf_api_mount (CfApi        *self,
              CfHttpServer *http)
{
  const CfApiKind *kinds[] = {
    &cf_api_tools, &cf_api_resources, &cf_api_prompts, &cf_api_servers, &cf_api_gateways,
  };

  g_return_if_fail (CF_IS_API (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (http));

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      CfApiMount mount = { kinds[i]->path, kinds[i], kinds[i]->routes };
      mount_one (self, http, &mount);
    }
  for (const CfApiMount *mount = cf_api_health_mounts; mount->path != NULL; mount++)
    mount_one (self, http, mount);
  for (const CfApiMount *mount = cf_api_discovery_mounts; mount->path != NULL; mount++)
    mount_one (self, http, mount);

  /* Routes carry bare pointers into @self: the server must not outlive it. */
  g_object_set_data_full (G_OBJECT (http), "cf-api", g_object_ref (self), g_object_unref);
}

/**
 * cf_api_set_teams:
 * @self: a #CfApi
 * @teams: (nullable): teams and roles; lists and lookups then show each
 *   caller what its teams let it see, and new entities get an owner and a
 *   team
 */
void
cf_api_set_teams (CfApi   *self,
                  CfTeams *teams)
{
  g_return_if_fail (CF_IS_API (self));
  g_set_object (&self->teams, teams);
}

/**
 * cf_api_set_discovery:
 * @self: a #CfApi
 * @discovery: (nullable): LAN discovery, for `/v1/discovery`
 */
void
cf_api_set_discovery (CfApi       *self,
                      CfDiscovery *discovery)
{
  g_return_if_fail (CF_IS_API (self));
  g_set_object (&self->discovery, discovery);
}

/**
 * cf_api_set_upstream_pool:
 * @self: a #CfApi
 * @pool: (nullable): the upstream connections, for the refresh route
 */
void
cf_api_set_upstream_pool (CfApi          *self,
                          CfUpstreamPool *pool)
{
  g_return_if_fail (CF_IS_API (self));
  g_set_object (&self->pool, pool);
}
