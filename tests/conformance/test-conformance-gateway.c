/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include "../integration/cf-daemon-harness.h"
#include "cf-conformance.h"
#include "cf-json.h"

/* The conformance scenarios that the gateway's own registry can answer,
 * against the real daemon, with every piece of content created through the
 * REST API the way a user would. Tools that need a live MCP upstream
 * (sampling, elicitation, progress) are the federation suite's. */

static const char png[] =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==";

static void
populate (CfDaemonHarness *d)
{
  g_autofree char *binary = g_strdup_printf (
      "{\"resource\":{\"uri\":\"test://static-binary\",\"name\":\"static-binary\","
      "\"description\":\"A PNG\",\"mimeType\":\"image/png\",\"blob\":\"%s\"}}", png);
  const char *bodies[][2] = {
    { "tools", "{\"tool\":{\"name\":\"get_weather\",\"description\":\"Weather for a city\","
               "\"url\":\"http://127.0.0.1:9/weather\",\"request_type\":\"GET\","
               "\"input_schema\":{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}}}}}" },
    { "tools", "{\"tool\":{\"name\":\"Create Ticket\",\"description\":\"Opens a ticket\","
               "\"url\":\"http://127.0.0.1:9/tickets\"}}" },
    { "resources", "{\"resource\":{\"uri\":\"test://static-text\",\"name\":\"static-text\","
                   "\"description\":\"Static text\",\"mimeType\":\"text/plain\","
                   "\"content\":\"This is the content of the static text resource.\"}}" },
    { "resources", binary },
    { "resources", "{\"resource\":{\"uri\":\"test://template/{id}/data\",\"name\":\"template\","
                   "\"uri_template\":\"test://template/{id}/data\",\"mimeType\":\"application/json\","
                   "\"content\":\"{\\\"id\\\":\\\"{id}\\\",\\\"templateTest\\\":true,"
                   "\\\"data\\\":\\\"Data for ID: {id}\\\"}\"}}" },
    { "prompts", "{\"prompt\":{\"name\":\"test_simple_prompt\",\"description\":\"A simple prompt\","
                 "\"template\":\"This is a simple prompt for testing.\"}}" },
    { "prompts", "{\"prompt\":{\"name\":\"test_prompt_with_arguments\","
                 "\"description\":\"A prompt with arguments\","
                 "\"template\":\"Prompt with arguments: arg1='{{ arg1 }}', arg2='{{ arg2 }}'\","
                 "\"arguments\":[{\"name\":\"arg1\",\"required\":true},"
                 "{\"name\":\"arg2\",\"required\":true}]}}" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (bodies); i++)
    json_object_unref (cf_harness_create (d, bodies[i][0], bodies[i][1]));
}

static const char *scenarios[] = {
  "server-initialize", "ping", "logging-set-level", "completion-complete", "tools-list",
  "resources-list", "resources-read-text", "resources-read-binary", "resources-templates-read",
  "prompts-list", "prompts-get-simple", "prompts-get-with-args", "dns-rebinding-protection",
};

static const CfExpectation gateway_expectations[] = {
  { "tools-list", "$.tools", "get-weather" },
  { "tools-list", "$.tools", "create-ticket" },
  { "resources-list", "$.resources", "test://static-text" },
  { "resources-list", "$.resources", "test://static-binary" },
  { "resources-templates-read", "$.content", "Data for ID: 123" },
  { "prompts-list", "$.prompts", "test-prompt-with-arguments" },
  { "prompts-get-with-args", "$.messages[0].content.text",
    "arg1='testValue1', arg2='testValue2'" },
};

static void
test_gateway_registry (void)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-conformance-gw-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autofree char *url = g_strconcat (d->url, "/mcp", NULL);
  g_autoptr(GHashTable) all = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                                     (GDestroyNotify) json_array_unref);

  populate (d);

  for (guint i = 0; i < G_N_ELEMENTS (scenarios); i++)
    {
      const char *args[] = { "--scenario", scenarios[i], NULL };
      g_autoptr(GHashTable) checks = NULL;
      JsonArray *list;
      guint passed, failed, successes = 0;

      checks = cf_conformance_run (url, args, &passed, &failed);
      cf_conformance_assert_clean (checks);
      list = g_hash_table_lookup (checks, scenarios[i]);
      g_assert_nonnull (list);
      for (guint c = 0; c < json_array_get_length (list); c++)
        if (g_strcmp0 (cf_json_object_get_string (json_array_get_object_element (list, c),
                                                  "status"), "SUCCESS") == 0)
          successes++;
      g_assert_cmpuint (successes, >=, 1);
      g_hash_table_insert (all, g_strdup (scenarios[i]), json_array_ref (list));
    }

  cf_conformance_assert_expectations (all, gateway_expectations,
                                      G_N_ELEMENTS (gateway_expectations));
  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
}

/* How the gateway reaches the fixture, and where the suite connects. */
typedef struct {
  const char *path;
  gboolean    http;
  gboolean    modern_only;
  gboolean    virtual_server;
} FederationCase;

static const FederationCase federation_cases[] = {
  { "/conformance/gateway/federating/stdio", FALSE, FALSE, FALSE },
  { "/conformance/gateway/federating/http", TRUE, FALSE, FALSE },
  { "/conformance/gateway/federating/virtual-server", FALSE, FALSE, TRUE },
  { "/conformance/gateway/federating/modern-only-upstream", FALSE, TRUE, FALSE },
};

static char *
gateway_body (const FederationCase  *c,
              GSubprocess          **upstream)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *versions = c->modern_only ? ",\"--versions\",\"2026-07-28\"" : "";

  if (c->http)
    {
      const char *argv[] = { fixture, "--port", "0", NULL };
      g_autofree char *url = NULL;

      *upstream = cf_harness_spawn (argv, &url);
      return g_strdup_printf ("{\"name\":\"fixture\",\"url\":\"%s\","
                              "\"transport\":\"STREAMABLEHTTP\",\"prefix_mode\":\"never\"}", url);
    }
  return g_strdup_printf ("{\"name\":\"fixture\",\"transport\":\"STDIO\",\"command\":\"%s\","
                          "\"args\":[\"--stdio\"%s],\"prefix_mode\":\"never\"}",
                          fixture, versions);
}

static char *
ids_of (CfDaemonHarness *d,
        const char      *collection,
        const char      *gateway_id)
{
  g_autofree char *path = g_strdup_printf ("/v1/%s?gateway_id=%s", collection, gateway_id);
  g_autoptr(JsonNode) list = cf_harness_request (d, "GET", path, NULL, NULL, NULL, NULL);
  JsonArray *array = json_node_get_array (list);
  g_autoptr(GString) ids = g_string_new (NULL);

  for (guint i = 0; i < json_array_get_length (array); i++)
    g_string_append_printf (ids, "%s\"%s\"", i ? "," : "",
                            json_object_get_string_member (json_array_get_object_element (array, i),
                                                           "id"));
  return g_strdup (ids->str);
}

/* A virtual server exposing everything the fixture contributed. */
static char *
virtual_server_url (CfDaemonHarness *d,
                    const char      *gateway_id)
{
  g_autofree char *tools = ids_of (d, "tools", gateway_id);
  g_autofree char *resources = ids_of (d, "resources", gateway_id);
  g_autofree char *prompts = ids_of (d, "prompts", gateway_id);
  g_autofree char *body = g_strdup_printf (
      "{\"server\":{\"name\":\"all of the fixture\",\"associated_tools\":[%s],"
      "\"associated_resources\":[%s],\"associated_prompts\":[%s]}}", tools, resources, prompts);
  g_autoptr(JsonObject) server = cf_harness_create (d, "servers", body);

  return g_strdup_printf ("%s/servers/%s/mcp", d->url, json_object_get_string_member (server, "id"));
}

/* The whole suite through the gateway federating the fixture, names
 * unprefixed: everything the fixture passes must pass relayed, whichever
 * way the gateway reaches it and whatever era the fixture speaks. */
static void
test_gateway_federating (gconstpointer data)
{
  const FederationCase *c = data;
  g_autofree char *dir = g_dir_make_tmp ("cf-conformance-fed-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  g_autoptr(GSubprocess) upstream = NULL;
  g_autofree char *body = gateway_body (c, &upstream);
  CfDaemonHarness *d = cf_daemon_harness_start (db, NULL);
  g_autoptr(JsonObject) gateway = cf_harness_create (d, "gateways", body);
  const char *id = json_object_get_string_member (gateway, "id");
  const char *suite[] = { "--suite", "all", NULL };
  g_autoptr(GHashTable) checks = NULL;
  g_autofree char *url = NULL;
  guint passed, failed;

  cf_harness_wait_for_tools (d, id, 14);
  /* Prompts are committed last: then everything is in. */
  cf_harness_wait_for_entities (d, "prompts", id, 4);
  url = c->virtual_server ? virtual_server_url (d, id) : g_strconcat (d->url, "/mcp", NULL);

  checks = cf_conformance_run (url, suite, &passed, &failed);
  cf_conformance_assert_clean (checks);
  g_assert_cmpuint (failed, ==, 0);
  g_assert_cmpuint (passed, >=, 43);
  cf_conformance_assert_expectations (checks, cf_conformance_fixture_expectations,
                                      cf_conformance_n_fixture_expectations);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  if (upstream != NULL)
    g_subprocess_force_exit (upstream);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/conformance/gateway/registry", test_gateway_registry);
  for (guint i = 0; i < G_N_ELEMENTS (federation_cases); i++)
    g_test_add_data_func (federation_cases[i].path, &federation_cases[i], test_gateway_federating);

  return g_test_run ();
}
