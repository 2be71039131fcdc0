/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <string.h>

#include "cf-catalog.h"
#include "cf-json.h"
#include "cf-store.h"

/* What upstream federation writes into the catalog: the sync operation
 * that makes a gateway's contribution exactly the given set. */

typedef struct {
  char      *dir;
  CfStore   *store;
  CfCatalog *catalog;
  char      *gateway_id;
  char      *local_id;
} Fixture;

static void
on_done (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GAsyncResult *
run (GAsyncResult **slot)
{
  gint64 deadline = g_get_monotonic_time () + 5 * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

static JsonObject *
create (Fixture      *f,
        CfEntityKind  kind,
        const char   *json)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *entity;

  cf_catalog_create_async (f->catalog, kind, json_node_get_object (node), NULL, on_done, &result);
  entity = cf_catalog_write_finish (f->catalog, run (&result), NULL, &error);
  g_assert_no_error (error);
  return entity;
}

static JsonObject *
upstream_tool (Fixture    *f,
               const char *id,
               const char *name)
{
  g_autofree char *json = g_strdup_printf (
      "{\"id\":\"%s\",\"name\":\"%s\",\"originalName\":\"%s\",\"integrationType\":\"MCP\","
      "\"gatewayId\":\"%s\",\"inputSchema\":{\"type\":\"object\"},\"createdAt\":\"t\","
      "\"updatedAt\":\"t\"}", id, name, name, f->gateway_id);
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);

  return json_object_ref (json_node_get_object (node));
}

static GStrv
sync_tools (Fixture     *f,
            const char **ids,
            const char **names)
{
  g_autoptr(GPtrArray) batch = g_ptr_array_new_with_free_func ((GDestroyNotify) json_object_unref);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  GStrv skipped;

  for (guint i = 0; ids[i] != NULL; i++)
    g_ptr_array_add (batch, upstream_tool (f, ids[i], names[i]));
  cf_catalog_sync_async (f->catalog, CF_ENTITY_TOOL, f->gateway_id, batch, NULL, on_done, &result);
  skipped = cf_catalog_sync_finish (f->catalog, run (&result), &error);
  g_assert_no_error (error);
  return skipped;
}

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *path = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonObject) local = NULL;

  f->dir = g_dir_make_tmp ("test-catalog-XXXXXX", &error);
  g_assert_no_error (error);
  path = g_build_filename (f->dir, "gateway.db", NULL);
  f->store = cf_store_new (path, &error);
  g_assert_no_error (error);
  f->catalog = cf_catalog_new (f->store);
  gateway = create (f, CF_ENTITY_GATEWAY,
                    "{\"name\":\"up\",\"transport\":\"STDIO\",\"command\":\"true\"}");
  f->gateway_id = g_strdup (json_object_get_string_member (gateway, "id"));
  local = create (f, CF_ENTITY_TOOL, "{\"name\":\"taken\",\"url\":\"http://127.0.0.1:9/\"}");
  f->local_id = g_strdup (json_object_get_string_member (local, "id"));
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->catalog);
  cf_store_close (f->store);
  g_clear_object (&f->store);
  g_free (f->gateway_id);
  g_free (f->local_id);
  g_free (f->dir);
}

static guint
count_from_gateway (Fixture *f)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (f->catalog);
  GPtrArray *tools = cf_catalog_snapshot_entries (snapshot, CF_ENTITY_TOOL);
  guint n = 0;

  for (guint i = 0; i < tools->len; i++)
    if (g_strcmp0 (cf_catalog_entry_get_gateway_id (tools->pdata[i]), f->gateway_id) == 0)
      n++;
  return n;
}

#define ID(n) "0000000000000000000000000000000" #n

static void
test_sync_replaces (Fixture       *f,
                    gconstpointer  data)
{
  const char *ids1[] = { ID (1), ID (2), ID (3), NULL };
  const char *names1[] = { "a", "b", "c", NULL };
  const char *ids2[] = { ID (1), ID (3), NULL };
  const char *names2[] = { "a", "c2", NULL };
  g_auto(GStrv) first = NULL;
  g_auto(GStrv) second = NULL;
  g_autoptr(JsonObject) server = NULL;
  g_autofree char *server_json = NULL;
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autoptr(GPtrArray) stored = NULL;
  g_autoptr(GError) error = NULL;

  first = sync_tools (f, ids1, names1);
  g_assert_cmpuint (g_strv_length (first), ==, 0);
  g_assert_cmpuint (count_from_gateway (f), ==, 3);

  server_json = g_strdup_printf ("{\"name\":\"s\",\"associatedTools\":[\"%s\",\"%s\"]}",
                                 ID (2), f->local_id);
  server = create (f, CF_ENTITY_SERVER, server_json);

  /* b goes, c is renamed: the server keeps only what still exists. */
  second = sync_tools (f, ids2, names2);
  g_assert_cmpuint (g_strv_length (second), ==, 0);
  g_assert_cmpuint (count_from_gateway (f), ==, 2);
  snapshot = cf_catalog_get_snapshot (f->catalog);
  g_assert_nonnull (cf_catalog_snapshot_find_by_name (snapshot, CF_ENTITY_TOOL, "c2"));
  g_assert_null (cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_TOOL, ID (2)));
  g_assert_cmpuint (json_array_get_length (json_object_get_array_member (
      cf_catalog_snapshot_lookup (snapshot, CF_ENTITY_SERVER,
                                  json_object_get_string_member (server, "id")),
      "associatedTools")), ==, 1);

  /* The store holds the same as the snapshot. */
  stored = cf_store_load_sync (f->store, CF_ENTITY_TOOL, &error);
  g_assert_no_error (error);
  g_assert_cmpuint (stored->len, ==, 3);
}

static void
test_sync_conflicts (Fixture       *f,
                     gconstpointer  data)
{
  const char *ids[] = { ID (1), ID (2), ID (3), NULL };
  const char *names[] = { "taken", "x", "x", NULL };
  g_auto(GStrv) skipped = sync_tools (f, ids, names);

  /* A local tool's name wins, and within the batch the first wins. */
  g_assert_cmpuint (g_strv_length (skipped), ==, 2);
  g_assert_cmpstr (skipped[0], ==, "taken");
  g_assert_cmpstr (skipped[1], ==, "x");
  g_assert_cmpuint (count_from_gateway (f), ==, 1);
}

static void
test_delete_gateway_cascades (Fixture       *f,
                              gconstpointer  data)
{
  const char *ids[] = { ID (1), NULL };
  const char *names[] = { "a", NULL };
  g_auto(GStrv) skipped = sync_tools (f, ids, names);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;

  cf_catalog_delete_async (f->catalog, CF_ENTITY_GATEWAY, f->gateway_id, NULL, on_done, &result);
  g_assert_true (cf_catalog_delete_finish (f->catalog, run (&result), &error));
  g_assert_no_error (error);
  g_assert_cmpuint (count_from_gateway (f), ==, 0);
}

/* Entries */

static char *
to_text (JsonObject *object)
{
  g_autoptr(JsonNode) node = cf_json_node_new_object (json_object_ref (object));

  return cf_json_to_string (node, NULL);
}

static void
test_entry_round_trip (void)
{
  const char *json =
      "{\"id\":\"e1\",\"name\":\"t\\u00e9st \\\"q\\\"\",\"originalName\":\"x\","
      "\"gatewayId\":null,\"visibility\":\"team\",\"teamId\":\"t1\",\"ownerEmail\":7,"
      "\"enabled\":false,\"n\":-9007199254740993,\"d\":0.1,\"e\":1e+300,\"u\":\"\\ud83d\\ude00\","
      "\"inputSchema\":{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"array\","
      "\"items\":[1,true,null,{},[]]}}},\"tags\":[]}";
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, &error);
  g_autoptr(CfCatalogEntry) entry = NULL;
  g_autoptr(JsonObject) back = NULL;
  g_autofree char *before = NULL;
  g_autofree char *after = NULL;
  gsize length = 0;

  g_assert_no_error (error);
  entry = cf_catalog_entry_new (CF_ENTITY_TOOL, json_node_get_object (node));

  /* The text is the entity's, and parses back to the same entity. */
  before = to_text (json_node_get_object (node));
  g_assert_cmpstr (cf_catalog_entry_get_json (entry, &length), ==, before);
  g_assert_cmpuint (length, ==, strlen (before));
  back = cf_catalog_entry_dup_object (entry);
  after = to_text (back);
  g_assert_cmpstr (after, ==, before);

  /* String members are read as they are; anything else is absent. */
  g_assert_cmpstr (cf_catalog_entry_get_id (entry), ==, "e1");
  g_assert_cmpstr (cf_catalog_entry_get_name (entry), ==, "t\u00e9st \"q\"");
  g_assert_cmpstr (cf_catalog_entry_get_visibility (entry), ==, "team");
  g_assert_cmpstr (cf_catalog_entry_get_team_id (entry), ==, "t1");
  g_assert_null (cf_catalog_entry_get_gateway_id (entry));
  g_assert_null (cf_catalog_entry_get_owner_email (entry));
  g_assert_null (cf_catalog_entry_get_uri (entry));
  g_assert_null (cf_catalog_entry_get_uri_template (entry));
  g_assert_false (cf_catalog_entry_get_enabled (entry));
}

/* What a tools/call reads of its tool comes from the entry. */
static void
test_entry_tool_facts (void)
{
  const char *json =
      "{\"id\":\"t\",\"name\":\"srv-echo\",\"originalName\":\"echo\","
      "\"integrationType\":\"MCP\",\"inputSchema\":{\"type\":\"object\","
      "\"required\":[\"text\",7,null,\"lang\"]},\"annotations\":{\"readOnlyHint\":true}}";
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);
  g_autoptr(CfCatalogEntry) tool = cf_catalog_entry_new (CF_ENTITY_TOOL,
                                                         json_node_get_object (node));
  g_autoptr(JsonObject) bare = json_object_new ();
  g_autoptr(CfCatalogEntry) plain = cf_catalog_entry_new (CF_ENTITY_TOOL, bare);
  const char * const *required = cf_catalog_entry_get_required_arguments (tool);

  g_assert_cmpstr (cf_catalog_entry_get_original_name (tool), ==, "echo");
  g_assert_cmpstr (cf_catalog_entry_get_integration_type (tool), ==, "MCP");
  /* Only the names: what is not a string names nothing. */
  g_assert_cmpuint (g_strv_length ((GStrv) required), ==, 2);
  g_assert_cmpstr (required[0], ==, "text");
  g_assert_cmpstr (required[1], ==, "lang");
  g_assert_cmpint (cf_catalog_entry_is_idempotent (tool), ==, TRUE);

  g_assert_null (cf_catalog_entry_get_required_arguments (plain)[0]);
  g_assert_false (cf_catalog_entry_is_idempotent (plain));
}

static void
test_entry_defaults (void)
{
  g_autoptr(JsonObject) empty = json_object_new ();
  g_autoptr(CfCatalogEntry) entry = cf_catalog_entry_new (CF_ENTITY_RESOURCE, empty);
  g_autoptr(JsonObject) back = cf_catalog_entry_dup_object (entry);

  /* Enabled unless it says otherwise, as every reader assumes; TRUE
   * itself, for who compares. */
  g_assert_cmpint (cf_catalog_entry_get_enabled (entry), ==, TRUE);
  g_assert_null (cf_catalog_entry_get_id (entry));
  g_assert_null (cf_catalog_entry_get_name (entry));
  g_assert_cmpuint (json_object_get_size (back), ==, 0);
}

static CfCatalogEntry *
entry_named (CfCatalogSnapshot *snapshot,
             const char        *name)
{
  GPtrArray *entries = cf_catalog_snapshot_entries (snapshot, CF_ENTITY_TOOL);

  for (guint i = 0; i < entries->len; i++)
    if (g_strcmp0 (cf_catalog_entry_get_name (entries->pdata[i]), name) == 0)
      return entries->pdata[i];
  return NULL;
}

/* A change builds the next snapshot from the entries of the last: what
 * the change did not touch is shared, not copied; trees are the
 * snapshot's own, made when asked for and the same on every ask. */
static void
test_snapshot_shares_entries (Fixture       *f,
                              gconstpointer  data)
{
  const char *ids1[] = { ID (1), ID (2), ID (3), NULL };
  const char *names1[] = { "a", "b", "c", NULL };
  const char *ids2[] = { ID (1), ID (3), NULL };
  const char *names2[] = { "a", "c", NULL };
  g_auto(GStrv) skipped1 = sync_tools (f, ids1, names1);
  g_autoptr(CfCatalogSnapshot) first = cf_catalog_get_snapshot (f->catalog);
  g_autoptr(CfCatalogSnapshot) second = NULL;
  g_autoptr(JsonObject) server = NULL;
  g_autoptr(CfCatalogSnapshot) third = NULL;
  g_autofree char *server_json = NULL;
  g_auto(GStrv) skipped2 = NULL;
  CfCatalogEntry *local;
  JsonObject *tree;

  local = entry_named (first, "taken");
  g_assert_nonnull (local);
  tree = cf_catalog_snapshot_lookup (first, CF_ENTITY_TOOL, f->local_id);
  g_assert_nonnull (tree);
  g_assert_true (cf_catalog_snapshot_get_entity (first, local) == tree);
  g_assert_true (cf_catalog_snapshot_find_by_name (first, CF_ENTITY_TOOL, "taken") == tree);
  g_assert_true (cf_catalog_snapshot_lookup_entry (first, CF_ENTITY_TOOL, f->local_id) == local);

  /* A server naming the local tool and b. */
  server_json = g_strdup_printf ("{\"name\":\"s\",\"associatedTools\":[\"%s\",\"%s\"]}",
                                 ID (2), f->local_id);
  server = create (f, CF_ENTITY_SERVER, server_json);
  second = cf_catalog_get_snapshot (f->catalog);
  g_assert_true (entry_named (second, "taken") == local);
  g_assert_true (entry_named (second, "b") == entry_named (first, "b"));
  g_assert_true (cf_catalog_snapshot_in_scope (second, json_object_get_string_member (server, "id"),
                                               CF_ENTITY_TOOL, ID (2)));

  /* The sync replaces a and c (a new version each) and drops b: the
   * local tool stays shared, and the server loses b. */
  skipped2 = sync_tools (f, ids2, names2);
  third = cf_catalog_get_snapshot (f->catalog);
  g_assert_true (entry_named (third, "taken") == local);
  g_assert_false (entry_named (third, "a") == entry_named (second, "a"));
  g_assert_null (entry_named (third, "b"));
  g_assert_false (cf_catalog_snapshot_in_scope (third, json_object_get_string_member (server, "id"),
                                                CF_ENTITY_TOOL, ID (2)));
  g_assert_true (cf_catalog_snapshot_in_scope (third, json_object_get_string_member (server, "id"),
                                               CF_ENTITY_TOOL, f->local_id));

  /* Each snapshot makes its own tree of a shared entry. */
  g_assert_false (cf_catalog_snapshot_get_entity (third, local) == tree);
  g_assert_cmpstr (json_object_get_string_member (cf_catalog_snapshot_get_entity (third, local),
                                                  "name"), ==, "taken");
  /* The old snapshot's trees live as long as it does. */
  g_assert_cmpstr (json_object_get_string_member (tree, "name"), ==, "taken");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add ("/catalog/sync/replaces", Fixture, NULL, fixture_setup, test_sync_replaces,
              fixture_teardown);
  g_test_add ("/catalog/sync/conflicts", Fixture, NULL, fixture_setup, test_sync_conflicts,
              fixture_teardown);
  g_test_add ("/catalog/sync/delete-gateway", Fixture, NULL, fixture_setup,
              test_delete_gateway_cascades, fixture_teardown);

  g_test_add_func ("/catalog/entry/round-trip", test_entry_round_trip);
  g_test_add_func ("/catalog/entry/defaults", test_entry_defaults);
  g_test_add_func ("/catalog/entry/tool-facts", test_entry_tool_facts);
  g_test_add ("/catalog/snapshot/shares-entries", Fixture, NULL, fixture_setup,
              test_snapshot_shares_entries, fixture_teardown);

  return g_test_run ();
}
