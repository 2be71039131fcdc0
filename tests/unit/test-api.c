/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-api"

#include "config.h"

#include <glib/gstdio.h>
#include <string.h>

#include "cf-api.h"
#include "cf-catalog.h"
#include "cf-http-server.h"
#include "cf-json.h"
#include "cf-secret-cipher.h"
#include "cf-store.h"
#include "cf-upstream-credentials.h"

/* Generous, for valgrind; a passing run never gets near them. */
#define TIMEOUT_MS 20000
#define MAX_ITERATIONS 200000

#define UNKNOWN_ID "0123456789abcdef0123456789abcdef"

typedef struct {
  char         *dir;
  char         *db_path;
  CfStore      *store;
  CfCatalog    *catalog;
  CfApi        *api;
  CfHttpServer *http;
  SoupSession  *session;
  char         *base;
} Fixture;

typedef struct {
  guint               status;
  JsonNode           *json;
  SoupMessageHeaders *headers;
} Reply;

static void
reply_free (Reply *reply)
{
  g_clear_pointer (&reply->json, json_node_unref);
  g_clear_pointer (&reply->headers, soup_message_headers_unref);
  g_free (reply);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Reply, reply_free)

/* The gateway side: catalog, API and server */

/* Derived once: argon2id is slow on purpose. */
static CfSecretCipher *secrets;

static void
start_gateway (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->catalog = cf_catalog_new (f->store);
  cf_catalog_set_secret_store (f->catalog, CF_SECRET_STORE (secrets));
  cf_catalog_load (f->catalog, &error);
  g_assert_no_error (error);
  f->api = cf_api_new (f->catalog, "9.8.7");
  f->http = cf_http_server_new ();
  cf_api_mount (f->api, f->http);
  cf_http_server_listen (f->http, "127.0.0.1", 0, &error);
  g_assert_no_error (error);
  f->base = cf_http_server_get_url (f->http);
  g_assert_nonnull (f->base);
  f->session = soup_session_new_with_options ("timeout", 30, NULL);
}

/* Closed connections are only let go once their sources run. */
static void
drain (void)
{
  for (guint i = 0; i < 1000 && g_main_context_pending (NULL); i++)
    g_main_context_iteration (NULL, FALSE);
}

static void
stop_gateway (Fixture *f)
{
  soup_session_abort (f->session);
  g_clear_object (&f->session);
  drain ();
  g_clear_object (&f->http);
  drain ();
  g_clear_object (&f->api);
  g_clear_object (&f->catalog);
  g_clear_pointer (&f->base, g_free);
}

static void
open_store (Fixture *f)
{
  g_autoptr(GError) error = NULL;

  f->store = cf_store_new (f->db_path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (f->store);
}

static void
close_store (Fixture *f)
{
  cf_store_close (f->store);
  g_clear_object (&f->store);
}

static void
setup_memory (Fixture       *f,
              gconstpointer  data)
{
  start_gateway (f);
}

static void
setup_store (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  f->dir = g_dir_make_tmp ("test-api-XXXXXX", &error);
  g_assert_no_error (error);
  f->db_path = g_build_filename (f->dir, "registry.db", NULL);
  open_store (f);
  start_gateway (f);
}

static void
remove_dir (const char *path)
{
  g_autoptr(GDir) dir = g_dir_open (path, 0, NULL);
  const char *name;

  while (dir != NULL && (name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *child = g_build_filename (path, name, NULL);
      g_assert_cmpint (g_unlink (child), ==, 0);
    }
  g_assert_cmpint (g_rmdir (path), ==, 0);
}

static void
teardown (Fixture       *f,
          gconstpointer  data)
{
  stop_gateway (f);
  if (f->store != NULL)
    close_store (f);
  if (f->dir != NULL)
    remove_dir (f->dir);
  g_clear_pointer (&f->db_path, g_free);
  g_clear_pointer (&f->dir, g_free);
}

/* The client side, in the same main loop */

static gboolean
on_deadline (gpointer user_data)
{
  gboolean *expired = user_data;

  *expired = TRUE;
  return G_SOURCE_REMOVE;
}

static void
wait_for (const gboolean *flag)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add (TIMEOUT_MS, on_deadline, &expired);

  for (guint i = 0; i < MAX_ITERATIONS && !*flag && !expired; i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (*flag);
  if (!expired)
    g_source_remove (deadline);
}

typedef struct {
  GBytes  *body;
  GError  *error;
  gboolean done;
} Exchange;

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Exchange *exchange = user_data;

  exchange->body = soup_session_send_and_read_finish (SOUP_SESSION (source), result,
                                                      &exchange->error);
  exchange->done = TRUE;
}

/* @content_type: %NULL sends no Content-Type header */
static Reply *
call (Fixture    *f,
      const char *method,
      const char *path,
      const char *content_type,
      const char *body)
{
  g_autoptr(GUri) base = g_uri_parse (f->base, SOUP_HTTP_URI_FLAGS, NULL);
  g_auto(GStrv) parts = g_strsplit (path, "?", 2);
  g_autoptr(GUri) uri = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  Exchange exchange = { 0 };
  Reply *reply = g_new0 (Reply, 1);

  /* Built rather than parsed, so that malformed paths reach the server. */
  uri = g_uri_build (SOUP_HTTP_URI_FLAGS, "http", NULL, g_uri_get_host (base),
                     g_uri_get_port (base), parts[0], parts[1], NULL);
  msg = soup_message_new_from_uri (method, uri);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, content_type, bytes);
    }
  soup_session_send_and_read_async (f->session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, &exchange);
  wait_for (&exchange.done);
  g_assert_no_error (exchange.error);

  reply->status = soup_message_get_status (msg);
  reply->headers = soup_message_headers_ref (soup_message_get_response_headers (msg));
  if (g_bytes_get_size (exchange.body) > 0)
    reply->json = cf_json_parse (g_bytes_get_data (exchange.body, NULL),
                                 g_bytes_get_size (exchange.body), NULL);
  g_bytes_unref (exchange.body);
  return reply;
}

/* Bodies are written with single quotes, for legibility. */
static Reply *
send_json (Fixture    *f,
           const char *method,
           const char *path,
           const char *body)
{
  g_autofree char *json = g_strdup (body);

  g_strdelimit (json, "'", '"');
  return call (f, method, path, "application/json", json);
}

static Reply *
get (Fixture    *f,
     const char *path)
{
  return call (f, "GET", path, NULL, NULL);
}

static JsonObject *
reply_object (Reply *reply)
{
  g_assert_nonnull (reply->json);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (reply->json));
  return json_node_get_object (reply->json);
}

static JsonArray *
reply_array (Reply *reply)
{
  g_assert_nonnull (reply->json);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (reply->json));
  return json_node_get_array (reply->json);
}

static const char *
reply_string (Reply      *reply,
              const char *member)
{
  return cf_json_object_get_string (reply_object (reply), member);
}

static const char *
reply_detail (Reply *reply)
{
  const char *detail = reply_string (reply, "detail");

  g_assert_nonnull (detail);
  return detail;
}

/* Asserts a 422 with a problem at `[where, (embed,) field]`. */
static void
assert_problem (Reply      *reply,
                const char *where,
                const char *embed,
                const char *field)
{
  JsonArray *detail;
  gboolean found = FALSE;

  g_assert_cmpuint (reply->status, ==, 422);
  detail = cf_json_object_get_array (reply_object (reply), "detail");
  g_assert_nonnull (detail);
  for (guint i = 0; i < json_array_get_length (detail) && !found; i++)
    {
      JsonArray *loc = cf_json_object_get_array (json_array_get_object_element (detail, i), "loc");
      guint n = json_array_get_length (loc);
      guint expected = 1 + (embed != NULL) + (field != NULL);

      found = n == expected &&
              g_strcmp0 (json_array_get_string_element (loc, 0), where) == 0 &&
              (embed == NULL || g_strcmp0 (json_array_get_string_element (loc, 1), embed) == 0) &&
              (field == NULL || g_strcmp0 (json_array_get_string_element (loc, n - 1), field) == 0);
    }
  if (!found)
    {
      g_autofree char *text = cf_json_to_string (reply->json, NULL);
      g_test_message ("No problem at %s/%s/%s in %s", where, embed ?: "", field ?: "", text);
    }
  g_assert_true (found);
}

/* Creates an entity and returns its id. */
static char *
create (Fixture    *f,
        const char *path,
        const char *body)
{
  g_autoptr(Reply) reply = send_json (f, "POST", path, body);
  const char *id;

  if (reply->status != 201 && reply->json != NULL)
    {
      g_autofree char *text = cf_json_to_string (reply->json, NULL);
      g_test_message ("%s", text);
    }
  g_assert_cmpuint (reply->status, ==, 201);
  id = reply_string (reply, "id");
  g_assert_nonnull (id);
  g_assert_cmpuint (strlen (id), ==, 32);
  return g_strdup (id);
}

static char *
path_of (const char *collection,
         const char *id,
         const char *rest)
{
  return g_strconcat (collection, "/", id, rest, NULL);
}

static char *
create_tool (Fixture    *f,
             const char *name)
{
  g_autofree char *body = g_strdup_printf ("{'tool': {'name': '%s', 'url': "
                                           "'http://127.0.0.1:9/x'}}", name);
  return create (f, "/v1/tools", body);
}

static gboolean
array_has_id (JsonArray  *array,
              const char *id)
{
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *node = json_array_get_element (array, i);
      const char *found = JSON_NODE_HOLDS_OBJECT (node)
                          ? cf_json_object_get_string (json_node_get_object (node), "id")
                          : json_node_get_string (node);
      if (g_strcmp0 (found, id) == 0)
        return TRUE;
    }
  return FALSE;
}

/* Ops routes */

static void
test_health (Fixture       *f,
             gconstpointer  data)
{
  g_autoptr(Reply) health = get (f, "/health");
  g_autoptr(Reply) ready = get (f, "/ready");
  g_autoptr(Reply) version = get (f, "/version");
  JsonArray *items;
  JsonObject *app;
  JsonArray *protocols;

  g_assert_cmpuint (health->status, ==, 200);
  g_assert_cmpstr (reply_string (health, "status"), ==, "healthy");

  g_assert_cmpuint (ready->status, ==, 200);
  g_assert_cmpstr (reply_string (ready, "status"), ==, "ready");
  items = cf_json_object_get_array (reply_object (ready), "status_items");
  g_assert_cmpuint (json_array_get_length (items), ==, 1);
  g_assert_cmpstr (cf_json_object_get_string (json_array_get_object_element (items, 0), "name"),
                   ==, "Database");

  g_assert_cmpuint (version->status, ==, 200);
  app = cf_json_object_get_object (reply_object (version), "app");
  g_assert_cmpstr (cf_json_object_get_string (app, "name"), ==, "ContextForge Gateway");
  g_assert_cmpstr (cf_json_object_get_string (app, "version"), ==, "9.8.7");
  protocols = cf_json_object_get_array (cf_json_object_get_object (reply_object (version), "mcp"),
                                        "protocolVersions");
  g_assert_nonnull (protocols);
  g_assert_cmpuint (json_array_get_length (protocols), >, 0);
  g_assert_cmpstr (reply_string (version, "database"), ==, "sqlite");
}

/* CRUD per kind */

static void
assert_deleted (Fixture    *f,
                const char *collection,
                const char *id,
                const char *label)
{
  g_autofree char *path = path_of (collection, id, "");
  g_autofree char *detail = g_strdup_printf ("%s not found: %s", label, id);
  g_autoptr(Reply) deleted = call (f, "DELETE", path, NULL, NULL);
  g_autoptr(Reply) again = get (f, path);
  g_autoptr(Reply) list = get (f, collection);

  g_assert_cmpuint (deleted->status, ==, 200);
  g_assert_cmpstr (reply_string (deleted, "status"), ==, "success");
  g_assert_cmpuint (again->status, ==, 404);
  g_assert_cmpstr (reply_detail (again), ==, detail);
  g_assert_false (array_has_id (reply_array (list), id));
}

static void
test_tool_crud (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(Reply) created = send_json (f, "POST", "/v1/tools",
                                        "{'tool': {'name': 'Get Weather',"
                                        " 'url': 'https://example.com/w', 'description': 'Weather',"
                                        " 'input_schema': {'type': 'object'},"
                                        " 'request_type': 'get'},"
                                        " 'team_id': 'team-1'}");
  JsonObject *tool = reply_object (created);
  const char *id = cf_json_object_get_string (tool, "id");
  g_autofree char *path = path_of ("/v1/tools", id, "");
  g_autoptr(Reply) fetched = get (f, path);
  g_autoptr(Reply) list = get (f, "/v1/tools");
  g_autoptr(Reply) updated = send_json (f, "PUT", path, "{'description': 'Forecast'}");

  g_assert_cmpuint (created->status, ==, 201);
  g_assert_cmpstr (cf_json_object_get_string (tool, "name"), ==, "get-weather");
  g_assert_cmpstr (cf_json_object_get_string (tool, "originalName"), ==, "Get Weather");
  g_assert_cmpstr (cf_json_object_get_string (tool, "requestType"), ==, "GET");
  g_assert_cmpstr (cf_json_object_get_string (tool, "integrationType"), ==, "REST");
  g_assert_cmpstr (cf_json_object_get_string (tool, "teamId"), ==, "team-1");
  g_assert_nonnull (cf_json_object_get_object (tool, "inputSchema"));
  g_assert_nonnull (cf_json_object_get_string (tool, "createdAt"));
  g_assert_false (json_object_has_member (tool, "input_schema"));

  g_assert_cmpuint (fetched->status, ==, 200);
  g_assert_cmpstr (reply_string (fetched, "id"), ==, id);
  g_assert_cmpuint (list->status, ==, 200);
  g_assert_cmpuint (json_array_get_length (reply_array (list)), ==, 1);
  g_assert_true (array_has_id (reply_array (list), id));

  g_assert_cmpuint (updated->status, ==, 200);
  g_assert_cmpstr (reply_string (updated, "description"), ==, "Forecast");
  g_assert_cmpstr (reply_string (updated, "name"), ==, "get-weather");
  g_assert_cmpstr (reply_string (updated, "url"), ==,
                   "https://example.com/w");

  assert_deleted (f, "/v1/tools", id, "Tool");
}

/* Responses mask secrets, and masking must not reach the stored entity. */
static void
test_tool_secrets_masked (Fixture       *f,
                          gconstpointer  data)
{
  g_autoptr(Reply) created = send_json (f, "POST", "/v1/tools",
                                        "{'tool': {'name': 'secret', 'url': 'https://example.com/',"
                                        " 'auth': {'auth_type': 'bearer', 'token': 'hunter2'}}}");
  g_autofree char *path = path_of ("/v1/tools", reply_string (created, "id"), "");
  g_autoptr(Reply) fetched = get (f, path);
  g_autoptr(Reply) list = get (f, "/v1/tools");
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (f->catalog);
  JsonObject *stored = cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_TOOL,
                                                   reply_string (created, "id"));
  Reply *replies[] = { created, fetched, list };

  g_assert_cmpuint (created->status, ==, 201);
  for (guint i = 0; i < G_N_ELEMENTS (replies); i++)
    {
      g_autofree char *text = cf_json_to_string (replies[i]->json, NULL);
      g_assert_null (strstr (text, "hunter2"));
    }
  g_assert_nonnull (stored);
  /* Stored sealed, and only the upstream side opens it. */
  {
    JsonObject *auth = cf_json_object_get_object (stored, "auth");
    g_autofree char *text = cf_json_object_to_string (stored);
    g_autoptr(GHashTable) headers = NULL;
    g_autoptr(GError) error = NULL;

    g_assert_null (strstr (text, "hunter2"));
    g_assert_cmpstr (cf_json_object_get_string (auth, "authType"), ==, "bearer");
    headers = cf_upstream_credentials_open (CF_SECRET_STORE (secrets),
                                            cf_json_object_get_string (auth, "authValue"),
                                            &error);
    g_assert_no_error (error);
    g_assert_cmpstr (g_hash_table_lookup (headers, "Authorization"), ==, "Bearer hunter2");
    g_assert_cmpstr (cf_json_object_get_string (reply_object (fetched), "name"), ==, "secret");
    g_assert_cmpstr (cf_json_object_get_string (cf_json_object_get_object (reply_object (fetched),
                                                                           "auth"),
                                                "authValue"), ==, "*****");
  }
}

static void
test_resource_crud (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *id = create (f, "/v1/resources",
                                "{'resource': {'uri': 'file:///notes.txt', 'name': 'Notes',"
                                " 'mime_type': 'text/markdown', 'content': 'hello'}}");
  g_autofree char *path = path_of ("/v1/resources", id, "");
  g_autofree char *info_path = path_of ("/v1/resources", id, "/info");
  g_autofree char *content_path = path_of ("/v1/resources", id, "/content");
  g_autoptr(Reply) fetched = get (f, path);
  g_autoptr(Reply) info = get (f, info_path);
  g_autoptr(Reply) updated = send_json (f, "PUT", path, "{'content': 'hello again'}");
  g_autoptr(Reply) content = get (f, content_path);
  JsonObject *object;

  g_assert_cmpuint (fetched->status, ==, 200);
  g_assert_cmpstr (reply_string (fetched, "mimeType"), ==,
                   "text/markdown");
  g_assert_cmpuint (info->status, ==, 200);
  g_assert_cmpstr (reply_string (info, "uri"), ==, "file:///notes.txt");
  g_assert_cmpuint (updated->status, ==, 200);

  g_assert_cmpuint (content->status, ==, 200);
  object = reply_object (content);
  g_assert_cmpstr (cf_json_object_get_string (object, "uri"), ==, "file:///notes.txt");
  g_assert_cmpstr (cf_json_object_get_string (object, "mimeType"), ==, "text/markdown");
  g_assert_cmpstr (cf_json_object_get_string (object, "text"), ==, "hello again");
  g_assert_false (json_object_has_member (object, "blob"));

  assert_deleted (f, "/v1/resources", id, "Resource");
}

static void
test_resource_blob (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *id = create (f, "/v1/resources",
                                "{'resource': {'uri': 'file:///logo.png', 'name': 'Logo',"
                                " 'mimeType': 'image/png', 'blob': 'iVBORw0KGgo='}}");
  g_autofree char *content_path = path_of ("/v1/resources", id, "/content");
  g_autoptr(Reply) content = get (f, content_path);

  g_assert_cmpuint (content->status, ==, 200);
  g_assert_cmpstr (reply_string (content, "blob"), ==, "iVBORw0KGgo=");
  g_assert_cmpstr (reply_string (content, "mimeType"), ==, "image/png");
  g_assert_false (json_object_has_member (reply_object (content), "text"));
}

static void
test_prompt_crud (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *id = create (f, "/v1/prompts",
                                "{'prompt': {'name': 'Greeting', 'template': 'Hello {{ who }}',"
                                " 'description': 'Says hello'}}");
  g_autofree char *path = path_of ("/v1/prompts", id, "");
  g_autoptr(Reply) fetched = get (f, path);
  g_autoptr(Reply) updated = send_json (f, "PUT", path, "{'description': 'Greets'}");
  JsonArray *arguments;

  g_assert_cmpuint (fetched->status, ==, 200);
  g_assert_cmpstr (reply_string (fetched, "name"), ==, "greeting");
  arguments = cf_json_object_get_array (reply_object (fetched), "arguments");
  g_assert_cmpuint (json_array_get_length (arguments), ==, 1);
  g_assert_cmpuint (updated->status, ==, 200);
  g_assert_cmpstr (reply_string (updated, "description"), ==, "Greets");

  assert_deleted (f, "/v1/prompts", id, "Prompt");
}

static void
test_server_crud (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *tool = create_tool (f, "alpha");
  g_autofree char *resource = create (f, "/v1/resources",
                                      "{'resource': {'uri': 'file:///a', 'name': 'a',"
                                      " 'content': 'a'}}");
  g_autofree char *prompt = create (f, "/v1/prompts",
                                    "{'prompt': {'name': 'p', 'template': 'plain'}}");
  g_autofree char *body = g_strdup_printf ("{'server': {'name': 'Kit', 'associated_tools': ['%s'],"
                                           " 'associatedResources': ['%s'],"
                                           " 'associated_prompts': ['%s']}}",
                                           tool, resource, prompt);
  g_autofree char *id = create (f, "/v1/servers", body);
  g_autofree char *path = path_of ("/v1/servers", id, "");
  g_autofree char *tools_path = path_of ("/v1/servers", id, "/tools");
  g_autofree char *resources_path = path_of ("/v1/servers", id, "/resources");
  g_autofree char *prompts_path = path_of ("/v1/servers", id, "/prompts");
  g_autoptr(Reply) fetched = get (f, path);
  g_autoptr(Reply) tools = get (f, tools_path);
  g_autoptr(Reply) resources = get (f, resources_path);
  g_autoptr(Reply) prompts = get (f, prompts_path);
  g_autoptr(Reply) updated = send_json (f, "PUT", path, "{'associated_tools': []}");

  g_assert_cmpuint (fetched->status, ==, 200);
  g_assert_true (array_has_id (cf_json_object_get_array (reply_object (fetched), "associatedTools"),
                               tool));
  g_assert_cmpuint (json_array_get_length (reply_array (tools)), ==, 1);
  g_assert_true (array_has_id (reply_array (tools), tool));
  g_assert_true (array_has_id (reply_array (resources), resource));
  g_assert_true (array_has_id (reply_array (prompts), prompt));
  g_assert_cmpuint (updated->status, ==, 200);
  g_assert_cmpuint (json_array_get_length (cf_json_object_get_array (reply_object (updated),
                                                                     "associatedTools")), ==, 0);

  assert_deleted (f, "/v1/servers", id, "Server");
}

static void
test_gateway_crud (Fixture       *f,
                   gconstpointer  data)
{
  g_autofree char *id = create (f, "/v1/gateways",
                                "{'name': 'Upstream One', 'url': 'http://127.0.0.1:9/sse',"
                                " 'transport': 'streamablehttp', 'visibility': 'team'}");
  g_autofree char *path = path_of ("/v1/gateways", id, "");
  g_autofree char *refresh_path = path_of ("/v1/gateways", id, "/tools/refresh");
  g_autofree char *unknown_refresh = path_of ("/v1/gateways", UNKNOWN_ID, "/tools/refresh");
  g_autoptr(Reply) fetched = get (f, path);
  g_autoptr(Reply) updated = send_json (f, "PUT", path, "{'description': 'Primary'}");
  g_autoptr(Reply) refresh = call (f, "POST", refresh_path, NULL, NULL);
  g_autoptr(Reply) refresh_unknown = call (f, "POST", unknown_refresh, NULL, NULL);

  g_assert_cmpuint (fetched->status, ==, 200);
  g_assert_cmpstr (reply_string (fetched, "transport"), ==,
                   "STREAMABLEHTTP");
  g_assert_cmpstr (reply_string (fetched, "visibility"), ==, "team");
  g_assert_cmpstr (reply_string (fetched, "slug"), ==, "upstream-one");
  g_assert_cmpuint (updated->status, ==, 200);
  g_assert_cmpstr (reply_string (updated, "description"), ==, "Primary");
  /* This catalog has no upstream pool behind it. */
  g_assert_cmpuint (refresh->status, ==, 503);
  g_assert_cmpstr (reply_detail (refresh), ==, "Upstream connections are not running");
  g_assert_cmpuint (refresh_unknown->status, ==, 404);

  assert_deleted (f, "/v1/gateways", id, "Gateway");
}

/* Body shapes */

static void
test_body_shapes (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(Reply) top = send_json (f, "POST", "/v1/tools",
                                    "{'name': 'top', 'url': 'http://127.0.0.1:9/',"
                                    " 'integrationType': 'REST', 'inputSchema': {'type': 'object'},"
                                    " 'visibility': 'private'}");
  g_autoptr(Reply) snake = send_json (f, "POST", "/v1/tools",
                                      "{'tool': {'name': 'snake', 'url': 'http://127.0.0.1:9/',"
                                      " 'integration_type': 'rest',"
                                      " 'input_schema': {'type': 'object'},"
                                      " 'team_id': 'inner', 'visibility': 'public'},"
                                      " 'team_id': 'outer', 'visibility': 'team'}");
  g_autoptr(Reply) gateway_embedded = send_json (f, "POST", "/v1/prompts",
                                                 "{'name': 'top-prompt', 'template': 'x'}");

  g_assert_cmpuint (top->status, ==, 201);
  g_assert_cmpstr (reply_string (top, "visibility"), ==, "private");
  g_assert_cmpuint (snake->status, ==, 201);
  g_assert_cmpstr (reply_string (snake, "integrationType"), ==, "REST");
  /* The top-level ownership fields win over the embedded ones. */
  g_assert_cmpstr (reply_string (snake, "teamId"), ==, "outer");
  g_assert_cmpstr (reply_string (snake, "visibility"), ==, "team");
  g_assert_cmpuint (gateway_embedded->status, ==, 201);
}

/* Validation: every rule of the catalog, and the query's own */

typedef struct {
  const char *path;
  const char *body;
  const char *embed;
  const char *field;
} ProblemCase;

static const ProblemCase problem_cases[] = {
  { "/v1/tools", "{'tool': {'url': 'http://127.0.0.1:9/'}}", "tool", "name" },
  { "/v1/tools", "{'tool': {'name': 5, 'url': 'http://127.0.0.1:9/'}}", "tool", "name" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'http://127.0.0.1:9/', 'tags': 'a'}}",
    "tool", "tags" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'http://127.0.0.1:9/',"
    " 'integration_type': 'SOAP'}}", "tool", "integrationType" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'http://127.0.0.1:9/',"
    " 'integration_type': 'MCP'}}", "tool", "integrationType" },
  { "/v1/tools", "{'tool': {'name': 't'}}", "tool", "url" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'ftp://127.0.0.1/x'}}", "tool", "url" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'http://127.0.0.1:9/',"
    " 'inputSchema': {'type': 'array'}}}", "tool", "inputSchema" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'http://127.0.0.1:9/',"
    " 'inputSchema': {'type': 'object', 'properties': {'r': {'type': 'number',"
    " 'x-mcp-header': 'Ratio'}}}}}", "tool", "inputSchema" },
  { "/v1/tools", "{'tool': {'name': 't', 'url': 'http://127.0.0.1:9/',"
    " 'visibility': 'secret'}}", "tool", "visibility" },
  { "/v1/tools", "{'name': 't'}", NULL, "url" },
  { "/v1/tools", "{'tool': 5}", NULL, "tool" },
  { "/v1/resources", "{'resource': {'uri': 'file:///r', 'name': 'r'}}", "resource", "content" },
  { "/v1/resources", "{'resource': {'uri': 'file:///r', 'name': 'r', 'blob': '%%%not base64'}}",
    "resource", "blob" },
  { "/v1/resources", "{'resource': {'uri': 'file:///r/{id', 'name': 'r', 'content': 'x',"
    " 'uri_template': 'file:///r/{id'}}", "resource", "uriTemplate" },
  { "/v1/resources", "{'resource': {'name': 'r', 'content': 'x'}}", "resource", "uri" },
  { "/v1/prompts", "{'prompt': {'name': 'p', 'template': 'Hello {{ who '}}", "prompt", "template" },
  { "/v1/prompts", "{'prompt': {'name': 'p'}}", "prompt", "template" },
  { "/v1/servers", "{'server': {'name': 's', 'associated_tools': ['" UNKNOWN_ID "']}}",
    "server", "associatedTools" },
  { "/v1/gateways", "{'name': 'g'}", NULL, "url" },
  { "/v1/gateways", "{'name': 'g', 'url': 'http://127.0.0.1:9/', 'transport': 'HTTP'}",
    NULL, "transport" },
};

static void
test_validation (Fixture       *f,
                 gconstpointer  data)
{
  for (guint i = 0; i < G_N_ELEMENTS (problem_cases); i++)
    {
      const ProblemCase *c = &problem_cases[i];
      g_autoptr(Reply) reply = send_json (f, "POST", c->path, c->body);

      g_test_message ("case %u: %s %s", i, c->path, c->body);
      assert_problem (reply, "body", c->embed, c->field);
    }
}

static void
test_validation_update (Fixture       *f,
                        gconstpointer  data)
{
  g_autofree char *id = create_tool (f, "updatable");
  g_autofree char *path = path_of ("/v1/tools", id, "");
  g_autoptr(Reply) bad_scheme = send_json (f, "PUT", path, "{'url': 'gopher://127.0.0.1/'}");
  g_autoptr(Reply) bad_type = send_json (f, "PUT", path, "{'tool': {'timeout_ms': 'soon'}}");

  assert_problem (bad_scheme, "body", NULL, "url");
  assert_problem (bad_type, "body", "tool", "timeoutMs");
}

static void
test_query_validation (Fixture       *f,
                       gconstpointer  data)
{
  const char *limits[] = { "0", "501", "-1", "ten", "" };
  const char *cursors[] = { "!!!", "abc", "bm90IGpzb24", "eyJuYW1lIjo1fQ", "e30" };

  for (guint i = 0; i < G_N_ELEMENTS (limits); i++)
    {
      g_autofree char *path = g_strdup_printf ("/v1/tools?limit=%s", limits[i]);
      g_autoptr(Reply) reply = get (f, path);
      assert_problem (reply, "query", NULL, "limit");
    }
  for (guint i = 0; i < G_N_ELEMENTS (cursors); i++)
    {
      g_autofree char *path = g_strdup_printf ("/v1/prompts?cursor=%s", cursors[i]);
      g_autoptr(Reply) reply = get (f, path);
      assert_problem (reply, "query", NULL, "cursor");
    }
  {
    g_autoptr(Reply) reply = get (f, "/v1/tools?include_inactive=maybe");
    assert_problem (reply, "query", NULL, "include_inactive");
  }
}

/* Conflicts */

static void
assert_conflict (Fixture    *f,
                 const char *path,
                 const char *first,
                 const char *second)
{
  g_autofree char *id = create (f, path, first);
  g_autoptr(Reply) clash = send_json (f, "POST", path, second);

  g_assert_cmpuint (clash->status, ==, 409);
  g_assert_nonnull (reply_detail (clash));
}

static void
test_conflicts (Fixture       *f,
                gconstpointer  data)
{
  /* Both slug to get-weather. */
  assert_conflict (f, "/v1/tools",
                   "{'tool': {'name': 'Get Weather', 'url': 'http://127.0.0.1:9/'}}",
                   "{'tool': {'name': 'get_weather', 'url': 'http://127.0.0.1:9/'}}");
  assert_conflict (f, "/v1/resources",
                   "{'resource': {'uri': 'file:///same', 'name': 'one', 'content': 'x'}}",
                   "{'resource': {'uri': 'file:///same', 'name': 'two', 'content': 'y'}}");
  assert_conflict (f, "/v1/prompts",
                   "{'prompt': {'name': 'Summary', 'template': 'a'}}",
                   "{'prompt': {'name': 'summary', 'template': 'b'}}");
  assert_conflict (f, "/v1/servers",
                   "{'server': {'name': 'Shared'}}",
                   "{'server': {'name': 'Shared'}}");
  assert_conflict (f, "/v1/gateways",
                   "{'name': 'up', 'url': 'http://127.0.0.1:9/'}",
                   "{'name': 'up', 'url': 'http://127.0.0.1:8/'}");
}

static void
test_update_conflict (Fixture       *f,
                      gconstpointer  data)
{
  g_autofree char *first = create_tool (f, "first");
  g_autofree char *second = create_tool (f, "second");
  g_autofree char *path = path_of ("/v1/tools", second, "");
  g_autoptr(Reply) clash = send_json (f, "PUT", path, "{'name': 'First'}");

  g_assert_cmpuint (clash->status, ==, 409);
}

/* Unknown ids and paths, and protocol errors */

static void
test_not_found (Fixture       *f,
                gconstpointer  data)
{
  const char *collections[] = { "/v1/tools", "/v1/resources", "/v1/prompts", "/v1/servers",
                                "/v1/gateways" };
  const char *labels[] = { "Tool", "Resource", "Prompt", "Server", "Gateway" };

  for (guint i = 0; i < G_N_ELEMENTS (collections); i++)
    {
      g_autofree char *path = path_of (collections[i], UNKNOWN_ID, "");
      g_autofree char *state = path_of (collections[i], UNKNOWN_ID, "/state?activate=false");
      g_autofree char *detail = g_strdup_printf ("%s not found: %s", labels[i], UNKNOWN_ID);
      g_autoptr(Reply) fetched = get (f, path);
      g_autoptr(Reply) updated = send_json (f, "PUT", path, "{'description': 'x'}");
      g_autoptr(Reply) deleted = call (f, "DELETE", path, NULL, NULL);
      g_autoptr(Reply) stated = call (f, "POST", state, NULL, NULL);

      g_assert_cmpuint (fetched->status, ==, 404);
      g_assert_cmpstr (reply_detail (fetched), ==, detail);
      g_assert_cmpuint (updated->status, ==, 404);
      g_assert_cmpstr (reply_detail (updated), ==, detail);
      g_assert_cmpuint (deleted->status, ==, 404);
      g_assert_cmpuint (stated->status, ==, 404);
    }
}

static void
test_unknown_paths (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *id = create_tool (f, "known");
  g_autofree char *bogus = path_of ("/v1/tools", id, "/bogus");
  g_autofree char *deep = path_of ("/v1/tools", id, "/state/more");
  g_autofree char *content = path_of ("/v1/tools", id, "/content");
  const char *paths[] = { bogus, deep, content, "/v1/tools//x", "/v1/toolsx", "/health/extra",
                          "/v1/resources/templates/list/x", "/v1/tools/%2F", "/v1/tools/a%2Fb" };
  /* libsoup itself may refuse these before any route runs. */
  const char *odd[] = { "/v1/tools/%00", "/v1/tools/%zz", "/v1/tools/%" };

  for (guint i = 0; i < G_N_ELEMENTS (paths); i++)
    {
      g_autoptr(Reply) reply = get (f, paths[i]);
      g_test_message ("GET %s", paths[i]);
      g_assert_cmpuint (reply->status, ==, 404);
    }
  for (guint i = 0; i < G_N_ELEMENTS (odd); i++)
    {
      g_autoptr(Reply) reply = get (f, odd[i]);
      g_test_message ("GET %s", odd[i]);
      g_assert_cmpuint (reply->status, >=, 400);
      g_assert_cmpuint (reply->status, <, 500);
    }
}

static void
test_http_errors (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *id = create_tool (f, "errors");
  g_autofree char *path = path_of ("/v1/tools", id, "");
  g_autofree char *state = path_of ("/v1/tools", id, "/state");
  g_autoptr(Reply) text = call (f, "POST", "/v1/tools", "text/plain", "{\"name\": \"x\"}");
  g_autoptr(Reply) none = call (f, "PUT", path, NULL, "{\"name\": \"x\"}");
  g_autoptr(Reply) form = call (f, "POST", "/v1/tools", "application/x-www-form-urlencoded", "a=b");
  g_autoptr(Reply) broken = call (f, "POST", "/v1/tools", "application/json", "{\"tool\": ");
  g_autoptr(Reply) array = call (f, "POST", "/v1/tools", "application/json", "[1, 2]");
  g_autoptr(Reply) empty = call (f, "POST", "/v1/tools", "application/json", "");
  g_autoptr(Reply) patch = call (f, "PATCH", "/v1/tools", NULL, NULL);
  g_autoptr(Reply) get_state = get (f, state);
  g_autoptr(Reply) post_item = call (f, "POST", path, "application/json", "{}");
  g_autoptr(Reply) post_health = call (f, "POST", "/health", NULL, NULL);
  g_autoptr(Reply) charset = call (f, "PUT", path, "application/json; charset=utf-8", "{}");

  g_assert_cmpuint (text->status, ==, 415);
  g_assert_cmpuint (none->status, ==, 415);
  g_assert_cmpuint (form->status, ==, 415);
  g_assert_cmpuint (broken->status, ==, 400);
  g_assert_nonnull (reply_detail (broken));
  assert_problem (array, "body", NULL, NULL);
  assert_problem (empty, "body", NULL, NULL);

  g_assert_cmpuint (patch->status, ==, 405);
  g_assert_cmpstr (soup_message_headers_get_one (patch->headers, "Allow"), ==, "GET, HEAD, POST");
  g_assert_cmpuint (get_state->status, ==, 405);
  g_assert_cmpstr (soup_message_headers_get_one (get_state->headers, "Allow"), ==, "POST");
  g_assert_cmpuint (post_item->status, ==, 405);
  g_assert_cmpstr (soup_message_headers_get_one (post_item->headers, "Allow"), ==,
                   "GET, HEAD, PUT, DELETE");
  g_assert_cmpuint (post_health->status, ==, 405);
  g_assert_cmpuint (charset->status, ==, 200);
}

/* Never crash, whatever comes in. */
static void
test_hostile_input (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *deep = g_strnfill (5000, '[');
  g_autofree char *id = create_tool (f, "hostile");
  g_autofree char *path = path_of ("/v1/tools", id, "");
  const char *bodies[] = { deep, "\xff\xfe{}", "{\"tool\": {\"name\": \"\\u0000\"}}", "null",
                           "{\"tool\": null}", "{\"tool\": {\"name\": null, \"url\": null}}",
                           "{\"tool\": {\"name\": \"a\", \"inputSchema\": 5}}", "\"text\"" };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    {
      g_autoptr(Reply) created = call (f, "POST", "/v1/tools", "application/json", bodies[i]);
      g_autoptr(Reply) updated = call (f, "PUT", path, "application/json", bodies[i]);
      g_autoptr(Reply) state = call (f, "POST", "/v1/tools/x/state", "application/json", bodies[i]);

      g_assert_cmpuint (created->status, >=, 400);
      g_assert_cmpuint (created->status, <, 500);
      g_assert_cmpuint (updated->status, >=, 400);
      g_assert_cmpuint (updated->status, <, 500);
      g_assert_cmpuint (state->status, >=, 400);
    }
}

/* Lists */

static void
walk_pages (Fixture   *f,
            GPtrArray *names)
{
  g_autofree char *cursor = NULL;
  guint pages = 0;

  do
    {
      g_autofree char *path = g_strdup_printf ("/v1/tools?limit=50&include_pagination=true%s%s",
                                               cursor ? "&cursor=" : "", cursor ? cursor : "");
      g_autoptr(Reply) page = get (f, path);
      JsonArray *items;

      g_assert_cmpuint (page->status, ==, 200);
      items = cf_json_object_get_array (reply_object (page), "items");
      g_assert_nonnull (items);
      for (guint i = 0; i < json_array_get_length (items); i++)
        {
          JsonObject *item = json_array_get_object_element (items, i);
          g_ptr_array_add (names, g_strdup (cf_json_object_get_string (item, "name")));
        }
      g_clear_pointer (&cursor, g_free);
      cursor = g_strdup (reply_string (page, "nextCursor"));
      g_assert_true (cursor != NULL || json_object_has_member (reply_object (page), "nextCursor"));
      pages++;
    }
  while (cursor != NULL && pages < 10);
  g_assert_cmpuint (pages, ==, 3);
}

static void
test_pagination (Fixture       *f,
                 gconstpointer  data)
{
  g_autoptr(GPtrArray) names = g_ptr_array_new_with_free_func (g_free);
  g_autoptr(Reply) all = NULL;
  g_autoptr(Reply) first = NULL;
  g_autoptr(Reply) second = NULL;
  g_autofree char *second_path = NULL;
  const char *next;

  /* Created out of order: lists come back ordered by name. */
  for (guint i = 0; i < 120; i++)
    {
      g_autofree char *name = g_strdup_printf ("tool-%03u", (i * 7) % 120);
      g_autofree char *id = create_tool (f, name);
    }

  walk_pages (f, names);
  g_assert_cmpuint (names->len, ==, 120);
  for (guint i = 0; i < 120; i++)
    {
      g_autofree char *expected = g_strdup_printf ("tool-%03u", i);
      g_assert_cmpstr (names->pdata[i], ==, expected);
    }

  all = get (f, "/v1/tools");
  g_assert_cmpuint (json_array_get_length (reply_array (all)), ==, 120);
  g_assert_null (soup_message_headers_get_one (all->headers, "X-Next-Cursor"));

  /* Plain arrays carry the cursor in a header. */
  first = get (f, "/v1/tools?limit=100");
  g_assert_cmpuint (json_array_get_length (reply_array (first)), ==, 100);
  next = soup_message_headers_get_one (first->headers, "X-Next-Cursor");
  g_assert_nonnull (next);
  second_path = g_strdup_printf ("/v1/tools?limit=100&cursor=%s", next);
  second = get (f, second_path);
  g_assert_cmpuint (json_array_get_length (reply_array (second)), ==, 20);
  g_assert_null (soup_message_headers_get_one (second->headers, "X-Next-Cursor"));
}

static void
test_filters (Fixture       *f,
              gconstpointer  data)
{
  g_autofree char *gateway = create (f, "/v1/gateways",
                                     "{'name': 'gw', 'url': 'http://127.0.0.1:9/'}");
  g_autofree char *body = g_strdup_printf ("{'tool': {'name': 'remote',"
                                           " 'url': 'http://127.0.0.1:9/',"
                                           " 'gateway_id': '%s', 'tags': ['ops']}}", gateway);
  g_autofree char *remote = create (f, "/v1/tools", body);
  g_autofree char *local = create (f, "/v1/tools",
                                   "{'tool': {'name': 'local', 'url': 'http://127.0.0.1:9/',"
                                   " 'tags': ['dev', 'Search']}, 'visibility': 'private'}");
  g_autofree char *by_gateway = g_strdup_printf ("/v1/tools?gateway_id=%s", gateway);
  g_autoptr(Reply) gw = get (f, by_gateway);
  g_autoptr(Reply) local_only = get (f, "/v1/tools?gateway_id=null");
  g_autoptr(Reply) tags = get (f, "/v1/tools?tags=search,%20nothing");
  g_autoptr(Reply) any_tag = get (f, "/v1/tools?tags=ops,dev");
  g_autoptr(Reply) private = get (f, "/v1/tools?visibility=private");

  g_assert_cmpuint (json_array_get_length (reply_array (gw)), ==, 1);
  g_assert_true (array_has_id (reply_array (gw), remote));
  g_assert_cmpuint (json_array_get_length (reply_array (local_only)), ==, 1);
  g_assert_true (array_has_id (reply_array (local_only), local));
  g_assert_cmpuint (json_array_get_length (reply_array (tags)), ==, 1);
  g_assert_true (array_has_id (reply_array (tags), local));
  g_assert_cmpuint (json_array_get_length (reply_array (any_tag)), ==, 2);
  g_assert_cmpuint (json_array_get_length (reply_array (private)), ==, 1);
  g_assert_true (array_has_id (reply_array (private), local));
}

/* State */

static void
assert_listed (Fixture    *f,
               const char *path,
               const char *id,
               gboolean    listed)
{
  g_autoptr(Reply) list = get (f, path);

  g_assert_cmpuint (list->status, ==, 200);
  g_assert_cmpint (array_has_id (reply_array (list), id), ==, listed);
}

static void
test_state (Fixture       *f,
            gconstpointer  data)
{
  g_autofree char *id = create_tool (f, "switchable");
  g_autofree char *off = path_of ("/v1/tools", id, "/state?activate=false");
  g_autofree char *state = path_of ("/v1/tools", id, "/state");
  g_autofree char *toggle = path_of ("/v1/tools", id, "/toggle?activate=false");
  g_autofree char *bad = path_of ("/v1/tools", id, "/state?activate=perhaps");
  g_autoptr(Reply) deactivated = call (f, "POST", off, NULL, NULL);
  JsonObject *tool;

  g_assert_cmpuint (deactivated->status, ==, 200);
  g_assert_cmpstr (reply_string (deactivated, "status"), ==, "success");
  tool = cf_json_object_get_object (reply_object (deactivated), "tool");
  g_assert_nonnull (tool);
  g_assert_false (cf_json_object_get_bool (tool, "enabled", TRUE));
  assert_listed (f, "/v1/tools", id, FALSE);
  assert_listed (f, "/v1/tools?include_inactive=true", id, TRUE);

  {
    g_autoptr(Reply) activated = send_json (f, "POST", state, "{'activate': true}");
    g_assert_cmpuint (activated->status, ==, 200);
    assert_listed (f, "/v1/tools", id, TRUE);
  }
  {
    g_autoptr(Reply) toggled = call (f, "POST", toggle, NULL, NULL);
    g_assert_cmpuint (toggled->status, ==, 200);
    g_assert_cmpstr (soup_message_headers_get_one (toggled->headers, "Deprecation"), ==, "true");
    assert_listed (f, "/v1/tools", id, FALSE);
  }
  {
    g_autoptr(Reply) wrong = call (f, "POST", bad, NULL, NULL);
    g_autoptr(Reply) wrong_body = send_json (f, "POST", state, "{'activate': 'yes'}");
    assert_problem (wrong, "query", NULL, "activate");
    assert_problem (wrong_body, "body", NULL, "activate");
  }
}

static void
test_state_every_kind (Fixture       *f,
                       gconstpointer  data)
{
  g_autofree char *gateway = create (f, "/v1/gateways",
                                     "{'name': 'g', 'url': 'http://127.0.0.1:9/'}");
  g_autofree char *server = create (f, "/v1/servers", "{'server': {'name': 's'}}");
  g_autofree char *prompt = create (f, "/v1/prompts", "{'prompt': {'name': 'p', 'template': 't'}}");
  g_autofree char *resource = create (f, "/v1/resources",
                                      "{'resource': {'uri': 'file:///r', 'name': 'r',"
                                      " 'content': 'x'}}");
  struct { const char *collection; const char *id; const char *member; } kinds[] = {
    { "/v1/gateways", gateway, "gateway" }, { "/v1/servers", server, "server" },
    { "/v1/prompts", prompt, "prompt" }, { "/v1/resources", resource, "resource" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (kinds); i++)
    {
      g_autofree char *path = path_of (kinds[i].collection, kinds[i].id, "/state?activate=false");
      g_autoptr(Reply) reply = call (f, "POST", path, NULL, NULL);

      g_assert_cmpuint (reply->status, ==, 200);
      g_assert_nonnull (cf_json_object_get_object (reply_object (reply), kinds[i].member));
      assert_listed (f, kinds[i].collection, kinds[i].id, FALSE);
    }
}

/* Prompt rendering */

static char *
render (Fixture    *f,
        const char *id,
        const char *arguments,
        guint       expected_status)
{
  g_autofree char *path = path_of ("/v1/prompts", id, "");
  g_autoptr(Reply) reply = arguments ? send_json (f, "POST", path, arguments)
                                     : call (f, "POST", path, NULL, NULL);
  JsonArray *messages;
  JsonObject *content;

  g_assert_cmpuint (reply->status, ==, expected_status);
  if (expected_status != 200)
    return cf_json_to_string (reply->json, NULL);
  messages = cf_json_object_get_array (reply_object (reply), "messages");
  g_assert_cmpuint (json_array_get_length (messages), ==, 1);
  g_assert_cmpstr (cf_json_object_get_string (json_array_get_object_element (messages, 0), "role"),
                   ==, "user");
  content = cf_json_object_get_object (json_array_get_object_element (messages, 0), "content");
  g_assert_cmpstr (cf_json_object_get_string (content, "type"), ==, "text");
  return g_strdup (cf_json_object_get_string (content, "text"));
}

static void
test_prompt_render (Fixture       *f,
                    gconstpointer  data)
{
  g_autofree char *greeting = create (f, "/v1/prompts",
                                      "{'prompt': {'name': 'greet', 'template': 'Hello {{ who }}!',"
                                      " 'description': 'd'}}");
  g_autofree char *plain = create (f, "/v1/prompts",
                                   "{'prompt': {'name': 'plain', 'template': 'No arguments'}}");
  g_autofree char *loose = create (f, "/v1/prompts",
                                   "{'prompt': {'name': 'loose', 'template': '{{ undeclared }}',"
                                   " 'arguments': [{'name': 'other', 'required': false}]}}");
  g_autofree char *hello = render (f, greeting, "{'who': 'world'}", 200);
  g_autofree char *fixed = render (f, plain, NULL, 200);
  g_autofree char *fixed_empty = render (f, plain, "{}", 200);
  g_autofree char *missing = render (f, greeting, "{}", 422);
  g_autofree char *undefined = render (f, loose, "{}", 422);

  g_assert_cmpstr (hello, ==, "Hello world!");
  g_assert_cmpstr (fixed, ==, "No arguments");
  g_assert_cmpstr (fixed_empty, ==, "No arguments");
  g_assert_nonnull (strstr (missing, "who"));
  g_assert_nonnull (strstr (undefined, "detail"));

  {
    g_autofree char *off = path_of ("/v1/prompts", plain, "/state?activate=false");
    g_autoptr(Reply) reply = call (f, "POST", off, NULL, NULL);
    g_autofree char *inactive = render (f, plain, NULL, 404);
    g_autofree char *unknown = render (f, UNKNOWN_ID, NULL, 404);
  }
}

/* Associations */

static void
test_delete_tool_leaves_server (Fixture       *f,
                                gconstpointer  data)
{
  g_autofree char *kept = create_tool (f, "kept");
  g_autofree char *doomed = create_tool (f, "doomed");
  g_autofree char *body = g_strdup_printf ("{'server': {'name': 'srv', 'associated_tools':"
                                           " ['%s', '%s']}}", kept, doomed);
  g_autofree char *server = create (f, "/v1/servers", body);
  g_autofree char *doomed_path = path_of ("/v1/tools", doomed, "");
  g_autofree char *server_path = path_of ("/v1/servers", server, "");
  g_autofree char *tools_path = path_of ("/v1/servers", server, "/tools");
  g_autoptr(Reply) deleted = call (f, "DELETE", doomed_path, NULL, NULL);
  g_autoptr(Reply) fetched = get (f, server_path);
  g_autoptr(Reply) tools = get (f, tools_path);
  JsonArray *associated;

  g_assert_cmpuint (deleted->status, ==, 200);
  associated = cf_json_object_get_array (reply_object (fetched), "associatedTools");
  g_assert_cmpuint (json_array_get_length (associated), ==, 1);
  g_assert_true (array_has_id (associated, kept));
  g_assert_false (array_has_id (associated, doomed));
  g_assert_cmpuint (json_array_get_length (reply_array (tools)), ==, 1);
}

/* Persistence across a restart of the catalog */

static void
restart (Fixture *f)
{
  stop_gateway (f);
  close_store (f);
  open_store (f);
  start_gateway (f);
}

static void
test_persistence (Fixture       *f,
                  gconstpointer  data)
{
  g_autofree char *tool = create_tool (f, "Durable Tool");
  g_autofree char *gone = create_tool (f, "gone");
  g_autofree char *prompt = create (f, "/v1/prompts",
                                    "{'prompt': {'name': 'durable', 'template': 'Hi {{ n }}'}}");
  g_autofree char *body = g_strdup_printf ("{'server': {'name': 'srv',"
                                           " 'associated_tools': ['%s']}}", tool);
  g_autofree char *server = create (f, "/v1/servers", body);
  g_autofree char *off = path_of ("/v1/tools", tool, "/state?activate=false");
  g_autofree char *gone_path = path_of ("/v1/tools", gone, "");
  g_autofree char *server_path = path_of ("/v1/servers", server, "");
  g_autoptr(Reply) deactivated = call (f, "POST", off, NULL, NULL);
  g_autoptr(Reply) deleted = call (f, "DELETE", gone_path, NULL, NULL);

  g_assert_cmpuint (deactivated->status, ==, 200);
  g_assert_cmpuint (deleted->status, ==, 200);
  restart (f);

  assert_listed (f, "/v1/tools", tool, FALSE);
  assert_listed (f, "/v1/tools?include_inactive=true", tool, TRUE);
  assert_listed (f, "/v1/tools?include_inactive=true", gone, FALSE);
  {
    g_autoptr(Reply) fetched = get (f, server_path);
    g_autofree char *hi = render (f, prompt, "{'n': 'there'}", 200);
    JsonArray *associated;

    g_assert_cmpuint (fetched->status, ==, 200);
    associated = cf_json_object_get_array (reply_object (fetched), "associatedTools");
    g_assert_true (array_has_id (associated, tool));
    g_assert_cmpstr (hi, ==, "Hi there");
  }
}

/* A client that hangs up while its write is with the store: the write
 * still lands, and answering nobody must not trip libsoup. */
static gboolean
tool_exists (Fixture    *f,
             const char *name)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (f->catalog);

  return cf_catalog_snapshot_find_by_name (snapshot, CF_ENTITY_TOOL, name) != NULL;
}

static void
on_request_read (SoupServer        *soup,
                 SoupServerMessage *msg,
                 gpointer           user_data)
{
  gboolean *read = user_data;

  *read = TRUE;
}

static GSocketConnection *
send_raw_create (Fixture    *f,
                 const char *name)
{
  g_autoptr(GSocketClient) client = g_socket_client_new ();
  g_autoptr(GError) error = NULL;
  g_autofree char *body = g_strdup_printf ("{\"tool\": {\"name\": \"%s\", "
                                           "\"url\": \"http://127.0.0.1:9/\"}}", name);
  g_autofree char *request = g_strdup_printf ("POST /v1/tools HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                                              "Content-Type: application/json\r\n"
                                              "Content-Length: %zu\r\n\r\n%s",
                                              strlen (body), body);
  GSocketConnection *connection;

  connection = g_socket_client_connect_to_host (client, "127.0.0.1",
                                                cf_http_server_get_port (f->http), NULL, &error);
  g_assert_no_error (error);
  g_output_stream_write_all (g_io_stream_get_output_stream (G_IO_STREAM (connection)),
                             request, strlen (request), NULL, NULL, &error);
  g_assert_no_error (error);
  return connection;
}

static void
spin_until_tool (Fixture    *f,
                 const char *name)
{
  gboolean expired = FALSE;
  guint deadline = g_timeout_add (TIMEOUT_MS, on_deadline, &expired);

  for (guint i = 0; i < MAX_ITERATIONS && !expired && !tool_exists (f, name); i++)
    g_main_context_iteration (NULL, TRUE);
  g_assert_true (tool_exists (f, name));
  if (!expired)
    g_source_remove (deadline);
}

static void
test_client_gone (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = send_raw_create (f, "orphan");
  gboolean read = FALSE;

  /* The handler runs as soon as the request is read, and pauses it. */
  g_signal_connect (cf_http_server_get_soup_server (f->http), "request-read",
                    G_CALLBACK (on_request_read), &read);
  wait_for (&read);
  g_io_stream_close (G_IO_STREAM (connection), NULL, NULL);
  spin_until_tool (f, "orphan");
}

/* The server goes away under a paused request: its answer has nowhere to
 * go once the catalog is done. */
static void
test_server_gone (Fixture       *f,
                  gconstpointer  data)
{
  g_autoptr(GSocketConnection) connection = send_raw_create (f, "abandoned");
  gboolean read = FALSE;

  g_signal_connect (cf_http_server_get_soup_server (f->http), "request-read",
                    G_CALLBACK (on_request_read), &read);
  wait_for (&read);
  g_clear_object (&f->http);
  spin_until_tool (f, "abandoned");
}

static void
add (const char *path,
     void (*func) (Fixture *, gconstpointer))
{
  g_test_add (path, Fixture, NULL, setup_memory, func, teardown);
}

int
main (int    argc,
      char **argv)
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  secrets = cf_secret_cipher_new ("test-api: a passphrase long enough for any check", NULL);

  add ("/api/health", test_health);
  add ("/api/crud/tool", test_tool_crud);
  add ("/api/crud/tool-secrets", test_tool_secrets_masked);
  add ("/api/crud/resource", test_resource_crud);
  add ("/api/crud/resource-blob", test_resource_blob);
  add ("/api/crud/prompt", test_prompt_crud);
  add ("/api/crud/server", test_server_crud);
  add ("/api/crud/gateway", test_gateway_crud);
  add ("/api/body/shapes", test_body_shapes);
  add ("/api/validation/create", test_validation);
  add ("/api/validation/update", test_validation_update);
  add ("/api/validation/query", test_query_validation);
  add ("/api/conflict/create", test_conflicts);
  add ("/api/conflict/update", test_update_conflict);
  add ("/api/errors/not-found", test_not_found);
  add ("/api/errors/unknown-path", test_unknown_paths);
  add ("/api/errors/http", test_http_errors);
  add ("/api/errors/hostile", test_hostile_input);
  add ("/api/list/pagination", test_pagination);
  add ("/api/list/filters", test_filters);
  add ("/api/state/tool", test_state);
  add ("/api/state/every-kind", test_state_every_kind);
  add ("/api/prompt/render", test_prompt_render);
  add ("/api/server/delete-tool", test_delete_tool_leaves_server);
  g_test_add ("/api/store/persistence", Fixture, NULL, setup_store, test_persistence, teardown);
  g_test_add ("/api/store/client-gone", Fixture, NULL, setup_store, test_client_gone, teardown);
  g_test_add ("/api/store/server-gone", Fixture, NULL, setup_store, test_server_gone, teardown);

  status = g_test_run ();
  g_clear_object (&secrets);
  return status;
}
