/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-store"

#include "config.h"

#include <glib/gstdio.h>
#include <sqlite3.h>

#include "cf-store.h"
#include "cf-test-util.h"

/* Generous, for valgrind; a passing run never gets near it. */
#define TIMEOUT_SECONDS 30

#define GATEWAY_ID "0000000000000000000000000000aaaa"
#define TOOL_ID "0123456789abcdef0123456789abcdef"

typedef struct
{
  char    *dir;
  char    *path;
  CfStore *store;
} Fixture;

static void
fixture_setup (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  fixture->dir = g_dir_make_tmp ("test-store-XXXXXX", &error);
  g_assert_no_error (error);
  /* A missing parent directory: the store must create it. */
  fixture->path = g_build_filename (fixture->dir, "data", "registry.db", NULL);
  fixture->store = cf_store_new (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->store);
}

static void
fixture_teardown (Fixture       *fixture,
                  gconstpointer  data)
{
  g_clear_object (&fixture->store);
  cf_test_remove_tree (fixture->dir);
  g_free (fixture->path);
  g_free (fixture->dir);
}

static void
reopen (Fixture *fixture)
{
  g_autoptr(GError) error = NULL;

  cf_store_close (fixture->store);
  g_clear_object (&fixture->store);
  fixture->store = cf_store_new (fixture->path, &error);
  g_assert_no_error (error);
  g_assert_nonnull (fixture->store);
}

/* A second, raw connection, to look at the file behind the store's back. */
static char *
query_text (const char *path,
            const char *sql)
{
  sqlite3 *db = NULL;
  sqlite3_stmt *stmt = NULL;
  char *text;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_step (stmt), ==, SQLITE_ROW);
  text = g_strdup ((const char *) sqlite3_column_text (stmt, 0));
  sqlite3_finalize (stmt);
  sqlite3_close (db);
  return text;
}

static void
exec_raw (const char *path,
          const char *sql)
{
  sqlite3 *db = NULL;

  g_assert_cmpint (sqlite3_open (path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);
}

/* Helpers: main loop */

static gboolean
timeout_cb (gpointer user_data)
{
  gboolean *timed_out = user_data;

  *timed_out = TRUE;
  return G_SOURCE_REMOVE;
}

typedef gboolean (*Condition) (gconstpointer data);

/* Iterates the thread-default context until done() holds; fails the test
 * rather than hanging when it never does. */
static void
iterate_until (Condition     done,
               gconstpointer data)
{
  GMainContext *context = g_main_context_get_thread_default ();
  g_autoptr(GSource) timeout = g_timeout_source_new_seconds (TIMEOUT_SECONDS);
  gboolean timed_out = FALSE;

  g_source_set_callback (timeout, timeout_cb, &timed_out, NULL);
  g_source_attach (timeout, context);
  while (!done (data) && !timed_out)
    g_main_context_iteration (context, TRUE);
  g_source_destroy (timeout);

  g_assert_false (timed_out);
}

static gboolean
result_ready (gconstpointer data)
{
  return *(GAsyncResult * const *) data != NULL;
}

static gboolean
none_pending (gconstpointer data)
{
  return *(const guint *) data == 0;
}

static void
store_result_cb (GObject      *object,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  GAsyncResult **out = user_data;

  g_assert_null (*out);
  *out = g_object_ref (result);
}

static GAsyncResult *
wait_for_result (GAsyncResult **result)
{
  iterate_until (result_ready, result);
  return *result;
}

/* Helpers: store calls, each waited for */

static gboolean
put (CfStore       *store,
     CfEntityKind   kind,
     JsonObject    *entity,
     GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cf_store_put_async (store, kind, entity, NULL, store_result_cb, &result);
  return cf_store_put_finish (store, wait_for_result (&result), error);
}

static void
put_ok (CfStore      *store,
        CfEntityKind  kind,
        JsonObject   *entity)
{
  g_autoptr(GError) error = NULL;
  gboolean saved = put (store, kind, entity, &error);

  g_assert_no_error (error);
  g_assert_true (saved);
}

static gboolean
put_many (CfStore       *store,
          CfEntityKind   kind,
          GPtrArray     *entities,
          GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cf_store_put_many_async (store, kind, entities, NULL, store_result_cb, &result);
  return cf_store_put_many_finish (store, wait_for_result (&result), error);
}

static gboolean
delete_entity (CfStore       *store,
        CfEntityKind   kind,
        const char    *id,
        GError       **error)
{
  g_autoptr(GAsyncResult) result = NULL;

  cf_store_delete_async (store, kind, id, NULL, store_result_cb, &result);
  return cf_store_delete_finish (store, wait_for_result (&result), error);
}

static GPtrArray *
load (CfStore      *store,
      CfEntityKind  kind)
{
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GPtrArray *entities;

  cf_store_load_async (store, kind, NULL, store_result_cb, &result);
  entities = cf_store_load_finish (store, wait_for_result (&result), &error);
  g_assert_no_error (error);
  g_assert_nonnull (entities);
  return entities;
}

static void
assert_count (CfStore      *store,
              CfEntityKind  kind,
              guint         expected)
{
  g_autoptr(GPtrArray) entities = load (store, kind);

  g_assert_cmpuint (entities->len, ==, expected);
}

/* Helpers: entities */

static JsonObject *
parse_object (const char *json)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_from_string (json, &error);

  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

static char *
make_id (guint n)
{
  return g_strdup_printf ("%032x", n);
}

/* Only the required fields. */
static JsonObject *
new_entity (CfEntityKind  kind,
            guint         n,
            const char   *name)
{
  JsonObject *entity = json_object_new ();
  g_autofree char *id = make_id (n);
  g_autofree char *uri = g_strdup_printf ("file:///%s", name);

  json_object_set_string_member (entity, "id", id);
  json_object_set_string_member (entity, "name", name);
  json_object_set_string_member (entity, "createdAt", "2026-01-02T03:04:05Z");
  json_object_set_string_member (entity, "updatedAt", "2026-01-02T03:04:05Z");
  if (kind == CF_ENTITY_RESOURCE)
    json_object_set_string_member (entity, "uri", uri);
  return entity;
}

static void
put_new (CfStore      *store,
         CfEntityKind  kind,
         guint         n,
         const char   *name)
{
  g_autoptr(JsonObject) entity = new_entity (kind, n, name);

  put_ok (store, kind, entity);
}

static void
assert_same_entity (JsonObject *expected,
                    JsonObject *actual)
{
  g_autoptr(JsonNode) a = json_node_init_object (json_node_alloc (), expected);
  g_autoptr(JsonNode) b = json_node_init_object (json_node_alloc (), actual);

  /* Member order differs, so only compare text to show the mismatch. */
  if (!json_node_equal (a, b))
    {
      g_autofree char *text_a = json_to_string (a, TRUE);
      g_autofree char *text_b = json_to_string (b, TRUE);

      g_assert_cmpstr (text_a, ==, text_b);
    }
}

static void
assert_round_trip (Fixture      *fixture,
                   CfEntityKind  kind,
                   JsonObject   *entity)
{
  g_autoptr(GPtrArray) loaded = NULL;

  put_ok (fixture->store, kind, entity);
  loaded = load (fixture->store, kind);
  g_assert_cmpuint (loaded->len, ==, 1);
  assert_same_entity (entity, g_ptr_array_index (loaded, 0));
}

static void
assert_ids (JsonObject  *entity,
            const char  *member,
            const char  *expected)
{
  JsonArray *array = json_object_get_array_member (entity, member);
  g_autoptr(GString) ids = g_string_new (NULL);

  g_assert_nonnull (array);
  for (guint i = 0; i < json_array_get_length (array); i++)
    g_string_append_printf (ids, "%s\"%s\"", i ? "," : "",
                            json_array_get_string_element (array, i));
  g_assert_cmpstr (ids->str, ==, expected);
}

/* Tests: round trips */

static void
test_tool_round_trip (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(JsonObject) tool = parse_object (
    "{\"id\": \"" TOOL_ID "\", \"name\": \"weather-get-forecast\","
    " \"originalName\": \"get_forecast\", \"customName\": \"get-forecast\","
    " \"displayName\": \"Get forecast\", \"title\": \"Forecast\","
    " \"description\": \"Tomorrow's weather\", \"url\": \"https://weather.example/mcp\","
    " \"integrationType\": \"MCP\", \"requestType\": \"STREAMABLEHTTP\","
    " \"headers\": {\"X-Api-Version\": \"2\"},"
    " \"inputSchema\": {\"type\": \"object\", \"properties\": {\"city\": {\"type\": \"string\"}},"
    "                   \"required\": [\"city\"]},"
    " \"outputSchema\": {\"type\": \"object\"},"
    " \"annotations\": {\"readOnlyHint\": true, \"title\": \"Forecast\"},"
    " \"jsonpathFilter\": \"$.forecast[0]\","
    " \"auth\": {\"authType\": \"bearer\", \"authValue\": \"c2VjcmV0\"},"
    " \"gatewayId\": \"" GATEWAY_ID "\", \"enabled\": false, \"reachable\": false,"
    " \"tags\": [\"weather\", \"forecast\"], \"teamId\": \"team-1\","
    " \"ownerEmail\": \"alice@example.com\", \"visibility\": \"team\", \"timeoutMs\": 30000,"
    " \"createdAt\": \"2026-01-02T03:04:05.123456+00:00\","
    " \"updatedAt\": \"2026-01-03T00:00:00+00:00\", \"version\": 7}");
  g_autoptr(JsonObject) gateway = new_entity (CF_ENTITY_GATEWAY, 0xaaaa, "weather");

  put_ok (fixture->store, CF_ENTITY_GATEWAY, gateway);
  assert_round_trip (fixture, CF_ENTITY_TOOL, tool);
}

static void
test_resource_text_round_trip (Fixture       *fixture,
                               gconstpointer  data)
{
  g_autoptr(JsonObject) resource = parse_object (
    "{\"id\": \"00000000000000000000000000000001\", \"uri\": \"file:///notes/readme.md\","
    " \"name\": \"readme\", \"description\": \"The notes\", \"title\": \"Read me\","
    " \"mimeType\": \"text/markdown\", \"text\": \"# Notes\\n\\nÜnïcödé ✓\","
    " \"size\": 21, \"enabled\": false, \"tags\": [\"docs\"],"
    " \"gatewayId\": \"" GATEWAY_ID "\", \"teamId\": \"team-1\","
    " \"ownerEmail\": \"alice@example.com\", \"visibility\": \"private\","
    " \"createdAt\": \"2026-01-02T03:04:05Z\", \"updatedAt\": \"2026-01-02T03:04:06Z\","
    " \"version\": 2}");
  g_autoptr(JsonObject) gateway = new_entity (CF_ENTITY_GATEWAY, 0xaaaa, "notes");

  put_ok (fixture->store, CF_ENTITY_GATEWAY, gateway);
  assert_round_trip (fixture, CF_ENTITY_RESOURCE, resource);
}

static void
test_resource_binary_round_trip (Fixture       *fixture,
                                 gconstpointer  data)
{
  static const guchar bytes[] = { 0x00, 0x01, 'P', 'N', 'G', 0x00, 0xff, 0xfe, 0x00, 0x7f };
  g_autofree char *encoded = g_base64_encode (bytes, sizeof bytes);
  g_autoptr(JsonObject) resource = new_entity (CF_ENTITY_RESOURCE, 1, "logo");
  g_autoptr(JsonObject) template = new_entity (CF_ENTITY_RESOURCE, 2, "empty");
  g_autofree char *stored = NULL;
  g_autofree char *empty = NULL;

  json_object_set_string_member (resource, "blob", encoded);
  json_object_set_string_member (resource, "mimeType", "image/png");
  json_object_set_int_member (resource, "size", sizeof bytes);
  json_object_set_string_member (resource, "uriTemplate", "file:///logo/{size}");
  /* The defaults, spelled out so the loaded entity compares equal. */
  json_object_set_boolean_member (resource, "enabled", TRUE);
  json_object_set_string_member (resource, "visibility", "public");
  json_object_set_int_member (resource, "version", 1);
  assert_round_trip (fixture, CF_ENTITY_RESOURCE, resource);

  /* Stored decoded, NULs and all, not as base64 text. */
  stored = query_text (fixture->path,
                       "SELECT typeof (binary_content) || ':' || hex (binary_content)"
                       " FROM resources");
  g_assert_cmpstr (stored, ==, "blob:0001504E4700FFFE007F");

  /* An empty blob stays an empty blob rather than becoming NULL. */
  json_object_set_string_member (template, "blob", "");
  put_ok (fixture->store, CF_ENTITY_RESOURCE, template);
  empty = query_text (fixture->path,
                      "SELECT typeof (binary_content) FROM resources WHERE name = 'empty'");
  g_assert_cmpstr (empty, ==, "blob");
}

static void
test_prompt_round_trip (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(JsonObject) prompt = parse_object (
    "{\"id\": \"00000000000000000000000000000003\", \"name\": \"weather-summary\","
    " \"originalName\": \"summary\", \"customName\": \"summary\","
    " \"displayName\": \"Summary\", \"title\": \"Weather summary\","
    " \"description\": \"Summarises\", \"template\": \"Summarise {{ city }}\","
    " \"arguments\": [{\"name\": \"city\", \"description\": \"Which city\", \"required\": true},"
    "                 {\"name\": \"units\", \"description\": \"C or F\", \"required\": false}],"
    " \"enabled\": true, \"tags\": [], \"gatewayId\": \"" GATEWAY_ID "\","
    " \"teamId\": \"team-2\", \"ownerEmail\": \"bob@example.com\", \"visibility\": \"public\","
    " \"createdAt\": \"2026-01-02T03:04:05Z\", \"updatedAt\": \"2026-01-02T03:04:05Z\","
    " \"version\": 1}");
  g_autoptr(JsonObject) gateway = new_entity (CF_ENTITY_GATEWAY, 0xaaaa, "weather");

  put_ok (fixture->store, CF_ENTITY_GATEWAY, gateway);
  assert_round_trip (fixture, CF_ENTITY_PROMPT, prompt);
}

static void
test_server_round_trip (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(JsonObject) server = parse_object (
    "{\"id\": \"00000000000000000000000000000009\", \"name\": \"everything\","
    " \"description\": \"All of it\", \"icon\": \"https://example.com/icon.png\","
    " \"enabled\": false, \"tags\": [\"prod\"], \"teamId\": \"team-1\","
    " \"ownerEmail\": \"alice@example.com\", \"visibility\": \"team\","
    " \"createdAt\": \"2026-01-02T03:04:05Z\", \"updatedAt\": \"2026-01-02T03:04:05Z\","
    " \"version\": 4,"
    " \"associatedTools\": [\"00000000000000000000000000000002\","
    "                       \"00000000000000000000000000000001\"],"
    " \"associatedResources\": [\"00000000000000000000000000000003\"],"
    " \"associatedPrompts\": []}");

  put_new (fixture->store, CF_ENTITY_TOOL, 1, "one");
  put_new (fixture->store, CF_ENTITY_TOOL, 2, "two");
  put_new (fixture->store, CF_ENTITY_RESOURCE, 3, "three");
  /* The order the admin chose is kept, not the ids' order. */
  assert_round_trip (fixture, CF_ENTITY_SERVER, server);
}

static void
test_gateway_round_trip (Fixture       *fixture,
                         gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = parse_object (
    "{\"id\": \"" GATEWAY_ID "\", \"name\": \"weather\", \"slug\": \"weather\","
    " \"url\": \"https://weather.example/mcp\", \"description\": \"Weather upstream\","
    " \"transport\": \"STREAMABLEHTTP\","
    " \"capabilities\": {\"tools\": {\"listChanged\": true}, \"prompts\": {}},"
    " \"enabled\": true, \"reachable\": false, \"authType\": \"bearer\","
    " \"authValue\": \"opaque-ciphertext\", \"passthroughHeaders\": [\"X-Tenant\"],"
    " \"tags\": [\"external\"], \"teamId\": \"team-1\", \"ownerEmail\": \"alice@example.com\","
    " \"visibility\": \"public\", \"lastSeen\": \"2026-01-04T00:00:00Z\","
    " \"command\": \"weather-mcp\", \"args\": [\"--units\", \"metric\"],"
    " \"env\": {\"API_KEY\": \"k\"}, \"cwd\": \"/srv/weather\", \"prefixMode\": \"never\","
    " \"statusMessage\": \"connected\", \"toolCount\": 3,"
    " \"stdioSharing\": \"pool\", \"stdioPoolSize\": 2, \"maxConcurrency\": 8,"
    " \"createdAt\": \"2026-01-02T03:04:05Z\", \"updatedAt\": \"2026-01-02T03:04:05Z\","
    " \"version\": 2}");

  assert_round_trip (fixture, CF_ENTITY_GATEWAY, gateway);
}

static void
test_defaults (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, 1, "plain");
  g_autoptr(GPtrArray) loaded = NULL;
  JsonObject *entity;

  json_object_set_int_member (tool, "notAField", 42);
  json_object_set_null_member (tool, "description");
  put_ok (fixture->store, CF_ENTITY_TOOL, tool);

  loaded = load (fixture->store, CF_ENTITY_TOOL);
  g_assert_cmpuint (loaded->len, ==, 1);
  entity = g_ptr_array_index (loaded, 0);
  g_assert_cmpstr (json_object_get_string_member (entity, "integrationType"), ==, "REST");
  g_assert_cmpstr (json_object_get_string_member (entity, "visibility"), ==, "public");
  g_assert_true (json_object_get_boolean_member (entity, "enabled"));
  g_assert_true (json_object_get_boolean_member (entity, "reachable"));
  g_assert_cmpint (json_object_get_int_member (entity, "version"), ==, 1);
  /* NULL columns and unknown members are not loaded. */
  g_assert_false (json_object_has_member (entity, "description"));
  g_assert_false (json_object_has_member (entity, "tags"));
  g_assert_false (json_object_has_member (entity, "notAField"));
  g_assert_cmpuint (json_object_get_size (entity), ==, 9);
}

/* Tests: updates and deletes */

static void
test_update_by_id (Fixture       *fixture,
                   gconstpointer  data)
{
  g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, 1, "before");
  g_autoptr(GPtrArray) loaded = NULL;
  JsonObject *entity;

  json_object_set_string_member (tool, "description", "old");
  put_ok (fixture->store, CF_ENTITY_TOOL, tool);

  json_object_set_string_member (tool, "name", "after");
  json_object_remove_member (tool, "description");
  json_object_set_int_member (tool, "version", 2);
  put_ok (fixture->store, CF_ENTITY_TOOL, tool);

  /* A put replaces the whole entity: the dropped field is gone. */
  loaded = load (fixture->store, CF_ENTITY_TOOL);
  g_assert_cmpuint (loaded->len, ==, 1);
  entity = g_ptr_array_index (loaded, 0);
  g_assert_cmpstr (json_object_get_string_member (entity, "name"), ==, "after");
  g_assert_cmpint (json_object_get_int_member (entity, "version"), ==, 2);
  g_assert_false (json_object_has_member (entity, "description"));
}

static void
test_update_gateway_keeps_tools (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = new_entity (CF_ENTITY_GATEWAY, 0xaaaa, "weather");
  g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, 1, "forecast");

  put_ok (fixture->store, CF_ENTITY_GATEWAY, gateway);
  json_object_set_string_member (tool, "gatewayId", GATEWAY_ID);
  put_ok (fixture->store, CF_ENTITY_TOOL, tool);

  /* An upsert done as delete-then-insert would cascade to the tool. */
  json_object_set_boolean_member (gateway, "reachable", FALSE);
  put_ok (fixture->store, CF_ENTITY_GATEWAY, gateway);
  assert_count (fixture->store, CF_ENTITY_TOOL, 1);
}

static void
test_delete (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *id = make_id (1);

  for (CfEntityKind kind = 0; kind < CF_N_ENTITY_KINDS; kind++)
    {
      put_new (fixture->store, kind, 1, "doomed");
      put_new (fixture->store, kind, 2, "kept");

      g_assert_true (delete_entity (fixture->store, kind, id, &error));
      g_assert_no_error (error);
      assert_count (fixture->store, kind, 1);

      g_assert_false (delete_entity (fixture->store, kind, id, &error));
      g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND);
      g_clear_error (&error);
    }
}

/* Tests: constraints */

static void
assert_put_fails (CfStore      *store,
                  CfEntityKind  kind,
                  JsonObject   *entity,
                  int           code)
{
  g_autoptr(GError) error = NULL;

  g_assert_false (put (store, kind, entity, &error));
  g_assert_error (error, CF_STORE_ERROR, code);
}

static void
test_unique_names (Fixture       *fixture,
                   gconstpointer  data)
{
  for (CfEntityKind kind = 0; kind < CF_N_ENTITY_KINDS; kind++)
    {
      g_autoptr(JsonObject) twin = new_entity (kind, 2, "same");

      put_new (fixture->store, kind, 1, "same");
      /* Resources are unique by URI, not by name. */
      if (kind == CF_ENTITY_RESOURCE)
        json_object_set_string_member (twin, "name", "other");
      assert_put_fails (fixture->store, kind, twin, CF_STORE_ERROR_CONSTRAINT);
      assert_count (fixture->store, kind, 1);
    }
}

static void
test_unique_resource_name_allowed (Fixture       *fixture,
                                   gconstpointer  data)
{
  g_autoptr(JsonObject) twin = new_entity (CF_ENTITY_RESOURCE, 2, "same");

  put_new (fixture->store, CF_ENTITY_RESOURCE, 1, "same");
  json_object_set_string_member (twin, "uri", "file:///elsewhere");
  put_ok (fixture->store, CF_ENTITY_RESOURCE, twin);
}

static JsonObject *
new_federated_tool (guint       n,
                    const char *name,
                    const char *gateway_id,
                    const char *original_name)
{
  JsonObject *tool = new_entity (CF_ENTITY_TOOL, n, name);

  if (gateway_id != NULL)
    json_object_set_string_member (tool, "gatewayId", gateway_id);
  json_object_set_string_member (tool, "originalName", original_name);
  return tool;
}

static void
test_unique_tool_original_name (Fixture       *fixture,
                                gconstpointer  data)
{
  g_autofree char *other_gateway = make_id (0xbbbb);
  g_autoptr(JsonObject) first = new_federated_tool (1, "a-search", GATEWAY_ID, "search");
  g_autoptr(JsonObject) twin = new_federated_tool (2, "a-search-2", GATEWAY_ID, "search");
  g_autoptr(JsonObject) elsewhere = new_federated_tool (3, "b-search", other_gateway, "search");
  g_autoptr(JsonObject) local1 = new_federated_tool (4, "search", NULL, "search");
  g_autoptr(JsonObject) local2 = new_federated_tool (5, "search-2", NULL, "search");

  put_new (fixture->store, CF_ENTITY_GATEWAY, 0xaaaa, "a");
  put_new (fixture->store, CF_ENTITY_GATEWAY, 0xbbbb, "b");
  put_ok (fixture->store, CF_ENTITY_TOOL, first);
  assert_put_fails (fixture->store, CF_ENTITY_TOOL, twin, CF_STORE_ERROR_CONSTRAINT);

  /* The pair is unique, not the original name; tools of no gateway are
   * bound by their name alone. */
  put_ok (fixture->store, CF_ENTITY_TOOL, elsewhere);
  put_ok (fixture->store, CF_ENTITY_TOOL, local1);
  put_ok (fixture->store, CF_ENTITY_TOOL, local2);
  assert_count (fixture->store, CF_ENTITY_TOOL, 4);
}

static void
test_unknown_gateway (Fixture       *fixture,
                      gconstpointer  data)
{
  g_autoptr(JsonObject) tool = new_federated_tool (1, "orphan", GATEWAY_ID, "orphan");

  assert_put_fails (fixture->store, CF_ENTITY_TOOL, tool, CF_STORE_ERROR_CONSTRAINT);
}

/* Tests: servers and gateways */

static JsonObject *
new_server (const char *tools,
            const char *resources,
            const char *prompts)
{
  g_autofree char *json = g_strdup_printf (
    "{\"id\": \"00000000000000000000000000000099\", \"name\": \"virtual\","
    " \"createdAt\": \"2026-01-02T03:04:05Z\", \"updatedAt\": \"2026-01-02T03:04:05Z\","
    " \"associatedTools\": [%s], \"associatedResources\": [%s],"
    " \"associatedPrompts\": [%s]}", tools, resources, prompts);

  return parse_object (json);
}

static JsonObject *
load_only_server (CfStore *store)
{
  g_autoptr(GPtrArray) servers = load (store, CF_ENTITY_SERVER);

  g_assert_cmpuint (servers->len, ==, 1);
  return json_object_ref (g_ptr_array_index (servers, 0));
}

#define ID1 "\"00000000000000000000000000000001\""
#define ID2 "\"00000000000000000000000000000002\""
#define ID3 "\"00000000000000000000000000000003\""

static void
test_server_associations (Fixture       *fixture,
                          gconstpointer  data)
{
  g_autoptr(JsonObject) first = new_server (ID1 ", " ID2, ID1, ID1);
  g_autoptr(JsonObject) second = new_server (ID3 ", " ID1 ", " ID3, "", ID1);
  g_autoptr(JsonObject) after_put = NULL;
  g_autoptr(JsonObject) after_delete = NULL;
  g_autofree char *id1 = make_id (1);

  for (guint n = 1; n <= 3; n++)
    {
      g_autofree char *name = g_strdup_printf ("entity-%u", n);

      put_new (fixture->store, CF_ENTITY_TOOL, n, name);
      put_new (fixture->store, CF_ENTITY_RESOURCE, n, name);
      put_new (fixture->store, CF_ENTITY_PROMPT, n, name);
    }
  put_ok (fixture->store, CF_ENTITY_SERVER, first);

  /* A put replaces the set; a repeated id counts once. */
  put_ok (fixture->store, CF_ENTITY_SERVER, second);
  after_put = load_only_server (fixture->store);
  assert_ids (after_put, "associatedTools", ID3 "," ID1);
  assert_ids (after_put, "associatedResources", "");
  assert_ids (after_put, "associatedPrompts", ID1);

  /* Deleting a tool or prompt takes it out of the server, not the server. */
  g_assert_true (delete_entity (fixture->store, CF_ENTITY_TOOL, id1, NULL));
  g_assert_true (delete_entity (fixture->store, CF_ENTITY_PROMPT, id1, NULL));
  after_delete = load_only_server (fixture->store);
  assert_ids (after_delete, "associatedTools", ID3);
  assert_ids (after_delete, "associatedPrompts", "");
}

static void
test_server_missing_association (Fixture       *fixture,
                                 gconstpointer  data)
{
  g_autoptr(JsonObject) server = new_server (ID1 ", " ID2, "", "");

  put_new (fixture->store, CF_ENTITY_TOOL, 1, "present");
  assert_put_fails (fixture->store, CF_ENTITY_SERVER, server, CF_STORE_ERROR_CONSTRAINT);
  /* The server row went with the failed association. */
  assert_count (fixture->store, CF_ENTITY_SERVER, 0);
}

static void
test_server_delete_cascades (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autoptr(JsonObject) server = new_server (ID1, "", "");
  g_autofree char *links = NULL;

  put_new (fixture->store, CF_ENTITY_TOOL, 1, "tool");
  put_ok (fixture->store, CF_ENTITY_SERVER, server);
  g_assert_true (delete_entity (fixture->store, CF_ENTITY_SERVER,
                         json_object_get_string_member (server, "id"), NULL));

  links = query_text (fixture->path, "SELECT count (*) FROM server_tool_association");
  g_assert_cmpstr (links, ==, "0");
  assert_count (fixture->store, CF_ENTITY_TOOL, 1);
}

static void
test_gateway_delete_cascades (Fixture       *fixture,
                              gconstpointer  data)
{
  g_autoptr(JsonObject) server = new_server (ID1 ", " ID2, "", "");
  g_autoptr(JsonObject) after = NULL;

  put_new (fixture->store, CF_ENTITY_GATEWAY, 0xaaaa, "upstream");
  for (CfEntityKind kind = CF_ENTITY_TOOL; kind <= CF_ENTITY_PROMPT; kind++)
    {
      g_autoptr(JsonObject) federated = new_entity (kind, 1, "federated");

      json_object_set_string_member (federated, "gatewayId", GATEWAY_ID);
      put_ok (fixture->store, kind, federated);
    }
  put_new (fixture->store, CF_ENTITY_TOOL, 2, "local");
  put_ok (fixture->store, CF_ENTITY_SERVER, server);

  g_assert_true (delete_entity (fixture->store, CF_ENTITY_GATEWAY, GATEWAY_ID, NULL));

  assert_count (fixture->store, CF_ENTITY_TOOL, 1);
  assert_count (fixture->store, CF_ENTITY_RESOURCE, 0);
  assert_count (fixture->store, CF_ENTITY_PROMPT, 0);
  after = load_only_server (fixture->store);
  assert_ids (after, "associatedTools", ID2);
}

/* Tests: batches and ordering */

static GPtrArray *
new_tool_batch (guint n)
{
  GPtrArray *batch = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);

  for (guint i = 1; i <= n; i++)
    {
      g_autofree char *name = g_strdup_printf ("batch-%u", i);

      g_ptr_array_add (batch, new_entity (CF_ENTITY_TOOL, i, name));
    }
  return batch;
}

static void
test_put_many (Fixture       *fixture,
               gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = new_tool_batch (3);
  g_autoptr(GPtrArray) empty = g_ptr_array_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (put_many (fixture->store, CF_ENTITY_TOOL, batch, &error));
  g_assert_no_error (error);
  assert_count (fixture->store, CF_ENTITY_TOOL, 3);

  g_assert_true (put_many (fixture->store, CF_ENTITY_TOOL, empty, &error));
  g_assert_no_error (error);
}

static void
test_put_many_invalid (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = new_tool_batch (3);
  g_autoptr(GError) error = NULL;

  json_object_remove_member (g_ptr_array_index (batch, 2), "name");
  g_assert_false (put_many (fixture->store, CF_ENTITY_TOOL, batch, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_INVALID);
  assert_count (fixture->store, CF_ENTITY_TOOL, 0);
}

static void
test_put_many_conflict (Fixture       *fixture,
                        gconstpointer  data)
{
  g_autoptr(GPtrArray) batch = new_tool_batch (3);
  g_autoptr(GError) error = NULL;

  /* Valid on its own, so this one fails inside the transaction, after
   * the first two rows were written. */
  json_object_set_string_member (g_ptr_array_index (batch, 2), "name", "batch-1");
  g_assert_false (put_many (fixture->store, CF_ENTITY_TOOL, batch, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT);
  assert_count (fixture->store, CF_ENTITY_TOOL, 0);
}

static void
test_load_order (Fixture       *fixture,
                 gconstpointer  data)
{
  static const struct { guint n; const char *created_at; } rows[] = {
    { 4, "2026-03-01T00:00:00Z" },
    { 3, "2026-01-01T00:00:00Z" },
    { 1, "2026-02-01T00:00:00Z" },
    { 2, "2026-01-01T00:00:00Z" },
  };
  static const guint expected[] = { 2, 3, 1, 4 };
  g_autoptr(GPtrArray) loaded = NULL;

  for (guint i = 0; i < G_N_ELEMENTS (rows); i++)
    {
      g_autofree char *name = g_strdup_printf ("tool-%u", rows[i].n);
      g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, rows[i].n, name);

      json_object_set_string_member (tool, "createdAt", rows[i].created_at);
      put_ok (fixture->store, CF_ENTITY_TOOL, tool);
    }

  loaded = load (fixture->store, CF_ENTITY_TOOL);
  g_assert_cmpuint (loaded->len, ==, G_N_ELEMENTS (expected));
  for (guint i = 0; i < G_N_ELEMENTS (expected); i++)
    {
      g_autofree char *id = make_id (expected[i]);
      JsonObject *entity = g_ptr_array_index (loaded, i);

      g_assert_cmpstr (json_object_get_string_member (entity, "id"), ==, id);
    }
}

static void
test_submission_order (Fixture       *fixture,
                       gconstpointer  data)
{
  g_autoptr(JsonObject) first = new_entity (CF_ENTITY_TOOL, 1, "first");
  g_autoptr(JsonObject) second = new_entity (CF_ENTITY_TOOL, 1, "second");
  g_autoptr(GAsyncResult) put1 = NULL;
  g_autoptr(GAsyncResult) del = NULL;
  g_autoptr(GAsyncResult) put2 = NULL;
  g_autoptr(GAsyncResult) loaded = NULL;
  g_autoptr(GPtrArray) tools = NULL;
  const char *id = json_object_get_string_member (first, "id");

  /* Queued without waiting: each job sees the ones before it. */
  cf_store_put_async (fixture->store, CF_ENTITY_TOOL, first, NULL, store_result_cb, &put1);
  cf_store_delete_async (fixture->store, CF_ENTITY_TOOL, id, NULL, store_result_cb, &del);
  cf_store_put_async (fixture->store, CF_ENTITY_TOOL, second, NULL, store_result_cb, &put2);
  cf_store_load_async (fixture->store, CF_ENTITY_TOOL, NULL, store_result_cb, &loaded);

  g_assert_true (cf_store_put_finish (fixture->store, wait_for_result (&put1), NULL));
  g_assert_true (cf_store_delete_finish (fixture->store, wait_for_result (&del), NULL));
  g_assert_true (cf_store_put_finish (fixture->store, wait_for_result (&put2), NULL));
  tools = cf_store_load_finish (fixture->store, wait_for_result (&loaded), NULL);
  g_assert_cmpuint (tools->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (tools, 0), "name"), ==,
                   "second");
}

/* Tests: threads and contexts */

typedef struct
{
  GMainContext *expected;
  GAsyncResult *result;
} ContextCheck;

static void
check_context_cb (GObject      *object,
                  GAsyncResult *result,
                  gpointer      user_data)
{
  ContextCheck *check = user_data;

  g_assert_true (g_main_context_get_thread_default () == check->expected);
  check->result = g_object_ref (result);
}

static void
test_caller_context (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  ContextCheck check = { context, NULL };
  g_autoptr(GPtrArray) tools = NULL;

  /* The callback comes back to the context that was thread-default at
   * the call, not to the global default one. */
  g_main_context_push_thread_default (context);
  cf_store_load_async (fixture->store, CF_ENTITY_TOOL, NULL, check_context_cb, &check);
  tools = cf_store_load_finish (fixture->store, wait_for_result (&check.result), NULL);
  g_main_context_pop_thread_default (context);

  g_assert_nonnull (tools);
  g_object_unref (check.result);
}

static void
test_load_sync (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GError) error = NULL;

  put_new (fixture->store, CF_ENTITY_TOOL, 1, "one");
  tools = cf_store_load_sync (fixture->store, CF_ENTITY_TOOL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (tools->len, ==, 1);
}

typedef struct
{
  GThread *caller;
  guint    calls;
  gboolean off_caller;
} MapCheck;

/* Keeps an entity's name, and notes where it ran. */
static gpointer
keep_name (CfEntityKind  kind,
           JsonObject   *entity,
           gpointer      user_data)
{
  MapCheck *check = user_data;

  check->calls++;
  check->off_caller = g_thread_self () != check->caller;
  g_assert_cmpint (kind, ==, CF_ENTITY_TOOL);
  return g_strdup (json_object_get_string_member (entity, "name"));
}

/* A mapped load gives what the map made of each entity, in the order a
 * plain load gives the entities, and maps on the owner thread. */
static void
test_load_mapped (Fixture       *fixture,
                  gconstpointer  data)
{
  MapCheck check = { g_thread_self (), 0, FALSE };
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GPtrArray) names = NULL;
  g_autoptr(GError) error = NULL;

  put_new (fixture->store, CF_ENTITY_TOOL, 1, "one");
  put_new (fixture->store, CF_ENTITY_TOOL, 2, "two");
  put_new (fixture->store, CF_ENTITY_TOOL, 3, "three");
  tools = cf_store_load_sync (fixture->store, CF_ENTITY_TOOL, &error);
  g_assert_no_error (error);
  names = cf_store_load_mapped_sync (fixture->store, CF_ENTITY_TOOL, keep_name, &check, g_free,
                                     &error);
  g_assert_no_error (error);

  g_assert_cmpuint (names->len, ==, 3);
  g_assert_cmpuint (check.calls, ==, 3);
  g_assert_true (check.off_caller);
  for (guint i = 0; i < names->len; i++)
    g_assert_cmpstr (names->pdata[i], ==,
                     json_object_get_string_member (tools->pdata[i], "name"));

  /* Nothing stored: nothing mapped. */
  check.calls = 0;
  g_clear_pointer (&names, g_ptr_array_unref);
  names = cf_store_load_mapped_sync (fixture->store, CF_ENTITY_PROMPT, keep_name, &check,
                                     g_free, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (names->len, ==, 0);
  g_assert_cmpuint (check.calls, ==, 0);
}

static void
test_cancelled (Fixture       *fixture,
                gconstpointer  data)
{
  g_autoptr(GCancellable) cancellable = g_cancellable_new ();
  g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, 1, "skipped");
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  g_cancellable_cancel (cancellable);
  cf_store_put_async (fixture->store, CF_ENTITY_TOOL, tool, cancellable, store_result_cb, &result);
  g_assert_false (cf_store_put_finish (fixture->store, wait_for_result (&result), &error));
  g_assert_error (error, G_IO_ERROR, G_IO_ERROR_CANCELLED);
  assert_count (fixture->store, CF_ENTITY_TOOL, 0);
}

/* Tests: the file */

static void
test_persistence (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = new_entity (CF_ENTITY_GATEWAY, 0xaaaa, "kept");
  g_autoptr(GPtrArray) loaded = NULL;

  put_ok (fixture->store, CF_ENTITY_GATEWAY, gateway);
  reopen (fixture);

  loaded = load (fixture->store, CF_ENTITY_GATEWAY);
  g_assert_cmpuint (loaded->len, ==, 1);
  g_assert_cmpstr (json_object_get_string_member (g_ptr_array_index (loaded, 0), "name"), ==,
                   "kept");
}

/* The gateway's federation id is made once and kept for the database's
 * life: peers tell gateways apart by it. */
static void
test_instance_id (Fixture       *fixture,
                  gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *first = cf_store_get_instance_id (fixture->store, &error);
  g_autofree char *again = NULL;
  g_autofree char *reopened = NULL;

  g_assert_no_error (error);
  g_assert_nonnull (first);
  g_assert_cmpuint (strlen (first), ==, 32);
  for (const char *p = first; *p; p++)
    g_assert_true (g_ascii_isxdigit (*p));
  again = cf_store_get_instance_id (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (again, ==, first);
  reopen (fixture);
  reopened = cf_store_get_instance_id (fixture->store, &error);
  g_assert_no_error (error);
  g_assert_cmpstr (reopened, ==, first);
}

/* A database written by the first schema upgrades in place: its rows stay
 * and gain the new columns' defaults. */
static void
test_upgrade_from_version_1 (Fixture       *fixture,
                             gconstpointer  data)
{
  g_autofree char *sql_path = g_test_build_filename (G_TEST_DIST, "..", "src", "store",
                                                     "migrations", "0001-initial.sql", NULL);
  g_autofree char *sql = NULL;
  g_autofree char *old_path = g_build_filename (fixture->dir, "v1.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfStore) store = NULL;
  g_autoptr(GPtrArray) gateways = NULL;
  JsonObject *gateway;
  sqlite3 *db = NULL;

  g_assert_true (g_file_get_contents (sql_path, &sql, NULL, &error));
  g_assert_no_error (error);
  g_assert_cmpint (sqlite3_open (old_path, &db), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db, sql, NULL, NULL, NULL), ==, SQLITE_OK);
  g_assert_cmpint (sqlite3_exec (db,
      "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, applied_at TEXT);"
      "INSERT INTO schema_version VALUES (1, '2026-01-01T00:00:00Z');"
      "INSERT INTO gateways (id, name, url, created_at, updated_at) VALUES ("
      "'" GATEWAY_ID "', 'old', 'https://old.example/mcp', 'x', 'x');",
      NULL, NULL, NULL), ==, SQLITE_OK);
  sqlite3_close (db);

  store = cf_store_new (old_path, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (cf_store_get_schema_version (store), ==, 7);
  gateways = cf_store_load_sync (store, CF_ENTITY_GATEWAY, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (gateways->len, ==, 1);
  gateway = g_ptr_array_index (gateways, 0);
  g_assert_cmpstr (json_object_get_string_member (gateway, "name"), ==, "old");
  g_assert_cmpstr (json_object_get_string_member (gateway, "prefixMode"), ==, "always");
  g_assert_cmpstr (json_object_get_string_member (gateway, "stdioSharing"), ==, "shared");
  g_assert_cmpint (json_object_get_int_member (gateway, "stdioPoolSize"), ==, 4);
  g_assert_cmpint (json_object_get_int_member (gateway, "maxConcurrency"), ==, 0);
  cf_store_close (store);
}

static void
test_schema (Fixture       *fixture,
             gconstpointer  data)
{
  g_autofree char *mode = query_text (fixture->path, "PRAGMA journal_mode");
  g_autofree char *migrations = NULL;

  g_assert_cmpstr (mode, ==, "wal");
  g_assert_cmpuint (cf_store_get_schema_version (fixture->store), ==, 7);
  g_assert_cmpstr (cf_store_get_path (fixture->store), ==, fixture->path);

  /* Reopening applies nothing twice. */
  reopen (fixture);
  migrations = query_text (fixture->path,
                           "SELECT group_concat (version) FROM schema_version");
  g_assert_cmpstr (migrations, ==, "1,2,3,4,5,6,7");
}

static void
count_put_cb (GObject      *object,
              GAsyncResult *result,
              gpointer      user_data)
{
  guint *pending = user_data;
  g_autoptr(GError) error = NULL;

  g_assert_true (cf_store_put_finish (CF_STORE (object), result, &error));
  g_assert_no_error (error);
  (*pending)--;
}

static void
test_no_lost_writes (Fixture       *fixture,
                     gconstpointer  data)
{
  const guint n = 1000;
  guint pending = n;

  for (guint i = 0; i < n; i++)
    {
      g_autofree char *name = g_strdup_printf ("tool-%04u", i);
      g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, i + 1, name);

      cf_store_put_async (fixture->store, CF_ENTITY_TOOL, tool, NULL, count_put_cb, &pending);
    }

  /* Without iterating once: close must drain the queue by itself. */
  cf_store_close (fixture->store);
  iterate_until (none_pending, &pending);

  reopen (fixture);
  assert_count (fixture->store, CF_ENTITY_TOOL, n);
}

static void
assert_not_a_database (Fixture    *fixture,
                       const char *contents,
                       gssize      len)
{
  g_autofree char *path = g_build_filename (fixture->dir, "garbage.db", NULL);
  g_autoptr(GError) error = NULL;
  g_autoptr(CfStore) store = NULL;

  g_assert_true (g_file_set_contents (path, contents, len, NULL));
  store = cf_store_new (path, &error);
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_OPEN);
  g_assert_null (store);
  g_assert_cmpint (g_unlink (path), ==, 0);
}

static void
test_not_a_database (Fixture       *fixture,
                     gconstpointer  data)
{
  g_autofree char *garbage = g_malloc (8192);

  /* Seeded by GTest, so a failure repeats with the same bytes. */
  for (gsize i = 0; i < 8192; i++)
    garbage[i] = (char) g_test_rand_int_range (0, 256);

  assert_not_a_database (fixture, "not a database, only some text\n", -1);
  assert_not_a_database (fixture, garbage, 8192);
}

static void
test_future_schema (Fixture       *fixture,
                    gconstpointer  data)
{
  g_autoptr(GError) error = NULL;

  cf_store_close (fixture->store);
  g_clear_object (&fixture->store);
  exec_raw (fixture->path, "INSERT INTO schema_version (version, applied_at)"
                           " VALUES (1000, '2030-01-01T00:00:00Z')");

  fixture->store = cf_store_new (fixture->path, &error);
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_MIGRATION);
  g_assert_null (fixture->store);
}

static void
test_closed (Fixture       *fixture,
             gconstpointer  data)
{
  g_autoptr(JsonObject) tool = new_entity (CF_ENTITY_TOOL, 1, "late");
  g_autoptr(GPtrArray) batch = new_tool_batch (2);
  g_autoptr(GPtrArray) tools = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *id = make_id (1);

  cf_store_close (fixture->store);
  cf_store_close (fixture->store);

  assert_put_fails (fixture->store, CF_ENTITY_TOOL, tool, CF_STORE_ERROR_CLOSED);

  g_assert_false (put_many (fixture->store, CF_ENTITY_TOOL, batch, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED);
  g_clear_error (&error);

  g_assert_false (delete_entity (fixture->store, CF_ENTITY_TOOL, id, &error));
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED);
  g_clear_error (&error);

  tools = cf_store_load_sync (fixture->store, CF_ENTITY_TOOL, &error);
  g_assert_error (error, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED);
  g_assert_null (tools);
}

/* Tests: validation */

static void
assert_invalid (Fixture      *fixture,
                CfEntityKind  kind,
                const char   *member,
                const char   *json_value)
{
  g_autoptr(JsonObject) entity = new_entity (kind, 1, "invalid");

  if (json_value == NULL)
    {
      json_object_remove_member (entity, member);
    }
  else
    {
      g_autoptr(JsonObject) wrapper = NULL;
      g_autofree char *json = g_strdup_printf ("{\"v\": %s}", json_value);

      wrapper = parse_object (json);
      json_object_set_member (entity, member, json_object_dup_member (wrapper, "v"));
    }
  assert_put_fails (fixture->store, kind, entity, CF_STORE_ERROR_INVALID);
}

static void
test_invalid (Fixture       *fixture,
              gconstpointer  data)
{
  for (CfEntityKind kind = 0; kind < CF_N_ENTITY_KINDS; kind++)
    {
      assert_invalid (fixture, kind, "id", NULL);
      assert_invalid (fixture, kind, "name", NULL);
      assert_invalid (fixture, kind, "createdAt", NULL);
      assert_invalid (fixture, kind, "updatedAt", "null");
      assert_invalid (fixture, kind, "id", "\"0123\"");
      assert_invalid (fixture, kind, "id", "\"0123456789abcdef0123456789abcdeg\"");
      assert_invalid (fixture, kind, "id", "42");
      assert_invalid (fixture, kind, "enabled", "\"yes\"");
      assert_invalid (fixture, kind, "tags", "\"a,b\"");
      assert_invalid (fixture, kind, "version", "1.5");
    }
  assert_invalid (fixture, CF_ENTITY_RESOURCE, "uri", NULL);
  assert_invalid (fixture, CF_ENTITY_RESOURCE, "blob", "\"not base64!\"");
  assert_invalid (fixture, CF_ENTITY_TOOL, "inputSchema", "[]");
  assert_invalid (fixture, CF_ENTITY_TOOL, "timeoutMs", "\"30\"");
  assert_invalid (fixture, CF_ENTITY_PROMPT, "arguments", "{}");
  assert_invalid (fixture, CF_ENTITY_SERVER, "associatedTools", "[1]");
  assert_invalid (fixture, CF_ENTITY_GATEWAY, "capabilities", "true");

  for (CfEntityKind kind = 0; kind < CF_N_ENTITY_KINDS; kind++)
    assert_count (fixture->store, kind, 0);
}

static void
test_invalid_text_and_blob (Fixture       *fixture,
                            gconstpointer  data)
{
  g_autoptr(JsonObject) resource = new_entity (CF_ENTITY_RESOURCE, 1, "both");

  json_object_set_string_member (resource, "text", "hello");
  json_object_set_string_member (resource, "blob", "aGVsbG8=");
  assert_put_fails (fixture->store, CF_ENTITY_RESOURCE, resource, CF_STORE_ERROR_INVALID);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)

  ADD ("/store/round-trip/tool", test_tool_round_trip);
  ADD ("/store/upgrade/from-version-1", test_upgrade_from_version_1);
  ADD ("/store/instance-id", test_instance_id);
  ADD ("/store/round-trip/resource-text", test_resource_text_round_trip);
  ADD ("/store/round-trip/resource-binary", test_resource_binary_round_trip);
  ADD ("/store/round-trip/prompt", test_prompt_round_trip);
  ADD ("/store/round-trip/server", test_server_round_trip);
  ADD ("/store/round-trip/gateway", test_gateway_round_trip);
  ADD ("/store/round-trip/defaults", test_defaults);
  ADD ("/store/update/by-id", test_update_by_id);
  ADD ("/store/update/gateway-keeps-tools", test_update_gateway_keeps_tools);
  ADD ("/store/delete", test_delete);
  ADD ("/store/constraint/unique-names", test_unique_names);
  ADD ("/store/constraint/resource-name-not-unique", test_unique_resource_name_allowed);
  ADD ("/store/constraint/tool-original-name", test_unique_tool_original_name);
  ADD ("/store/constraint/unknown-gateway", test_unknown_gateway);
  ADD ("/store/server/associations", test_server_associations);
  ADD ("/store/server/missing-association", test_server_missing_association);
  ADD ("/store/server/delete-cascades", test_server_delete_cascades);
  ADD ("/store/gateway/delete-cascades", test_gateway_delete_cascades);
  ADD ("/store/put-many/ok", test_put_many);
  ADD ("/store/put-many/invalid", test_put_many_invalid);
  ADD ("/store/put-many/conflict", test_put_many_conflict);
  ADD ("/store/order/load", test_load_order);
  ADD ("/store/order/submission", test_submission_order);
  ADD ("/store/async/caller-context", test_caller_context);
  ADD ("/store/async/load-sync", test_load_sync);
  ADD ("/store/async/load-mapped", test_load_mapped);
  ADD ("/store/async/cancelled", test_cancelled);
  ADD ("/store/file/persistence", test_persistence);
  ADD ("/store/file/schema", test_schema);
  ADD ("/store/file/no-lost-writes", test_no_lost_writes);
  ADD ("/store/file/not-a-database", test_not_a_database);
  ADD ("/store/file/future-schema", test_future_schema);
  ADD ("/store/closed", test_closed);
  ADD ("/store/invalid/fields", test_invalid);
  ADD ("/store/invalid/text-and-blob", test_invalid_text_and_blob);

#undef ADD

  return g_test_run ();
}
