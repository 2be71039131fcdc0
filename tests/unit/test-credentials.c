/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-credentials"

#include "config.h"

#include <string.h>

#include "cf-catalog.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-secret-cipher.h"
#include "cf-upstream-credentials.h"

/* Upstream credentials through the catalog: what a client writes comes
 * out as sealed headers and nothing else, a GET shows them masked, a
 * masked value sent back keeps them, and URLs pass the SSRF policy. */

#define TIMEOUT_S 10

static CfSecretCipher *secrets;

typedef struct {
  CfCatalog    *catalog;
  CfSsrfPolicy *ssrf;
} Fixture;

static void
fixture_setup (Fixture       *f,
               gconstpointer  data)
{
  f->catalog = cf_catalog_new (NULL);
  f->ssrf = cf_ssrf_policy_new ();
  cf_catalog_set_secret_store (f->catalog, CF_SECRET_STORE (secrets));
  cf_catalog_set_ssrf_policy (f->catalog, f->ssrf);
}

static void
fixture_teardown (Fixture       *f,
                  gconstpointer  data)
{
  g_clear_object (&f->catalog);
  g_clear_pointer (&f->ssrf, cf_ssrf_policy_unref);
}

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
  gint64 deadline = g_get_monotonic_time () + TIMEOUT_S * G_USEC_PER_SEC;

  while (*slot == NULL && g_get_monotonic_time () < deadline)
    g_main_context_iteration (NULL, TRUE);
  g_assert_nonnull (*slot);
  return *slot;
}

/* Creates (@id NULL) or updates; returns the entity, or NULL with the
 * problems in @out_problems. */
static JsonObject *
write_entity (Fixture      *f,
              CfEntityKind  kind,
              const char   *id,
              const char   *json,
              JsonArray   **out_problems)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);
  g_autoptr(GAsyncResult) result = NULL;
  g_autoptr(GError) error = NULL;
  JsonArray *problems = NULL;
  JsonObject *entity;

  g_assert_nonnull (node);
  if (id == NULL)
    cf_catalog_create_async (f->catalog, kind, json_node_get_object (node), NULL, on_done,
                             &result);
  else
    cf_catalog_update_async (f->catalog, kind, id, json_node_get_object (node), NULL, on_done,
                             &result);
  entity = cf_catalog_write_finish (f->catalog, run (&result), &problems, &error);
  if (out_problems != NULL)
    *out_problems = problems;
  else if (problems != NULL)
    json_array_unref (problems);
  if (entity == NULL && out_problems == NULL)
    g_error ("write failed: %s", error->message);
  return entity;
}

static JsonObject *
create_gateway (Fixture    *f,
                const char *json)
{
  return write_entity (f, CF_ENTITY_GATEWAY, NULL, json, NULL);
}

/* The headers the sealed value opens to. */
static GHashTable *
open_headers (const char *sealed)
{
  g_autoptr(GError) error = NULL;
  GHashTable *headers;

  g_assert_nonnull (sealed);
  g_assert_true (g_str_has_prefix (sealed, CF_SECRET_CIPHER_PREFIX));
  headers = cf_upstream_credentials_open (CF_SECRET_STORE (secrets), sealed, &error);
  g_assert_no_error (error);
  return headers;
}

/* Nothing but sealed text: no field in clear, the secret nowhere. */
static void
assert_sealed_only (JsonObject *entity,
                    const char *secret)
{
  g_autofree char *text = cf_json_object_to_string (entity);
  const char *clear[] = { "authToken", "authPassword", "authUsername", "authHeaderKey",
                          "authHeaderValue", "authHeaders", NULL };

  g_assert_null (strstr (text, secret));
  for (guint i = 0; clear[i] != NULL; i++)
    g_assert_false (json_object_has_member (entity, clear[i]));
}

static void
assert_problem (JsonArray  *problems,
                const char *field,
                const char *text)
{
  g_autofree char *all = NULL;
  g_autoptr(JsonNode) node = NULL;

  g_assert_nonnull (problems);
  node = json_node_new (JSON_NODE_ARRAY);
  json_node_set_array (node, problems);
  all = cf_json_to_string (node, NULL);
  for (guint i = 0; i < json_array_get_length (problems); i++)
    {
      JsonObject *problem = json_array_get_object_element (problems, i);
      JsonArray *loc = json_object_get_array_member (problem, "loc");
      const char *where = json_array_get_length (loc) > 1 ?
                          json_array_get_string_element (loc, 1) : NULL;

      if (g_strcmp0 (where, field) == 0 &&
          strstr (json_object_get_string_member (problem, "msg"), text) != NULL)
        return;
    }
  g_error ("no problem on %s saying \"%s\" in %s", field, text, all);
}

static void
test_gateway_bearer (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = create_gateway (f,
      "{\"name\":\"b\",\"url\":\"https://mcp.example.com/mcp\",\"auth_type\":\"bearer\","
      "\"auth_token\":\"tok-123\"}");
  g_autoptr(GHashTable) headers = open_headers (json_object_get_string_member (gateway,
                                                                              "authValue"));
  g_autoptr(JsonObject) view = cf_entity_schema_public_view (CF_ENTITY_GATEWAY, gateway);

  assert_sealed_only (gateway, "tok-123");
  g_assert_cmpstr (json_object_get_string_member (gateway, "authType"), ==, "bearer");
  g_assert_cmpuint (g_hash_table_size (headers), ==, 1);
  g_assert_cmpstr (g_hash_table_lookup (headers, "Authorization"), ==, "Bearer tok-123");
  g_assert_cmpstr (json_object_get_string_member (view, "authValue"), ==, "*****");
}

static void
test_gateway_basic (Fixture       *f,
                    gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = create_gateway (f,
      "{\"name\":\"b\",\"url\":\"https://mcp.example.com/mcp\",\"authType\":\"basic\","
      "\"authUsername\":\"alice\",\"authPassword\":\"pa:ss wörd\"}");
  g_autoptr(GHashTable) headers = open_headers (json_object_get_string_member (gateway,
                                                                              "authValue"));
  g_autofree char *expected = NULL;
  g_autofree char *encoded = g_base64_encode ((const guchar *) "alice:pa:ss wörd",
                                              strlen ("alice:pa:ss wörd"));

  assert_sealed_only (gateway, "pa:ss");
  expected = g_strconcat ("Basic ", encoded, NULL);
  g_assert_cmpstr (g_hash_table_lookup (headers, "Authorization"), ==, expected);
}

static void
test_gateway_headers (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = create_gateway (f,
      "{\"name\":\"h\",\"url\":\"https://mcp.example.com/mcp\",\"auth_type\":\"authheaders\","
      "\"auth_header_key\":\"X-API-Key\",\"auth_header_value\":\"k-1\","
      "\"auth_headers\":[{\"key\":\"X-Tenant\",\"value\":\"t-2\"}]}");
  g_autoptr(GHashTable) headers = open_headers (json_object_get_string_member (gateway,
                                                                              "authValue"));

  assert_sealed_only (gateway, "k-1");
  assert_sealed_only (gateway, "t-2");
  g_assert_cmpuint (g_hash_table_size (headers), ==, 2);
  g_assert_cmpstr (g_hash_table_lookup (headers, "X-API-Key"), ==, "k-1");
  g_assert_cmpstr (g_hash_table_lookup (headers, "X-Tenant"), ==, "t-2");
}

static void
assert_refused (Fixture    *f,
                const char *json,
                const char *field,
                const char *text)
{
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(JsonObject) entity = write_entity (f, CF_ENTITY_GATEWAY, NULL, json, &problems);

  g_assert_null (entity);
  assert_problem (problems, field, text);
}

static void
test_gateway_bad_input (Fixture       *f,
                        gconstpointer  data)
{
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_type\":\"bearer\"}",
                  "authType", "needs its credentials");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_type\":\"bearer\","
                  "\"auth_password\":\"p\"}", "authToken", "needs a token");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_type\":\"basic\","
                  "\"auth_username\":\"u\"}", "authUsername", "username and a password");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_type\":\"basic\","
                  "\"auth_username\":\"u:v\",\"auth_password\":\"p\"}", "authUsername", "':'");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\","
                  "\"auth_type\":\"authheaders\",\"auth_header_key\":\"X-A\","
                  "\"auth_header_value\":\"a\\r\\nInjected: 1\"}", "authHeaderKey", "line breaks");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\","
                  "\"auth_type\":\"authheaders\",\"auth_header_key\":\"Bad Header\","
                  "\"auth_header_value\":\"a\"}", "authHeaderKey", "header name");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\","
                  "\"auth_type\":\"authheaders\",\"auth_header_key\":\"Host\","
                  "\"auth_header_value\":\"evil\"}", "authHeaderKey", "transport");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\","
                  "\"auth_type\":\"authheaders\",\"auth_headers\":[{\"key\":\"X-A\"}]}",
                  "authHeaders", "\"key\" and \"value\"");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\","
                  "\"auth_type\":\"authheaders\"}", "authType", "needs its credentials");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_type\":\"oauth\"}",
                  "authType", "not supported yet");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_token\":\"t\"}",
                  "authType", "need an authType");
  assert_refused (f, "{\"name\":\"x\",\"url\":\"https://a.example/\",\"auth_token\":7}",
                  "authToken", "valid string");
}

/* Without a store to seal into, credentials are refused, not kept. */
static void
test_no_secret_store (Fixture       *f,
                      gconstpointer  data)
{
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(JsonObject) gateway = NULL;

  cf_catalog_set_secret_store (f->catalog, NULL);
  gateway = write_entity (f, CF_ENTITY_GATEWAY, NULL,
                          "{\"name\":\"x\",\"url\":\"https://a.example/\","
                          "\"auth_type\":\"bearer\",\"auth_token\":\"t\"}", &problems);
  g_assert_null (gateway);
  assert_problem (problems, "authType", "no secret store");
}

static void
test_gateway_update (Fixture       *f,
                     gconstpointer  data)
{
  g_autoptr(JsonObject) gateway = create_gateway (f,
      "{\"name\":\"u\",\"url\":\"https://a.example/mcp\",\"auth_type\":\"bearer\","
      "\"auth_token\":\"first\"}");
  const char *id = json_object_get_string_member (gateway, "id");
  const char *sealed = json_object_get_string_member (gateway, "authValue");
  g_autoptr(JsonObject) view = cf_entity_schema_public_view (CF_ENTITY_GATEWAY, gateway);
  g_autofree char *round_trip = cf_json_object_to_string (view);
  g_autoptr(JsonObject) described = NULL;
  g_autoptr(JsonObject) echoed = NULL;
  g_autoptr(JsonObject) masked_token = NULL;
  g_autoptr(JsonObject) replaced = NULL;
  g_autoptr(JsonObject) cleared = NULL;
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(GHashTable) headers = NULL;

  /* An unrelated change keeps the sealed value as it was. */
  described = write_entity (f, CF_ENTITY_GATEWAY, id, "{\"description\":\"d\"}", NULL);
  g_assert_cmpstr (json_object_get_string_member (described, "authValue"), ==, sealed);
  /* So does sending back what a GET showed, masks and all. */
  echoed = write_entity (f, CF_ENTITY_GATEWAY, id, round_trip, NULL);
  g_assert_cmpstr (json_object_get_string_member (echoed, "authValue"), ==, sealed);
  masked_token = write_entity (f, CF_ENTITY_GATEWAY, id,
                               "{\"auth_type\":\"bearer\",\"auth_token\":\"*****\"}", NULL);
  g_assert_cmpstr (json_object_get_string_member (masked_token, "authValue"), ==, sealed);

  /* Another type needs its own credentials. */
  g_assert_null (write_entity (f, CF_ENTITY_GATEWAY, id, "{\"auth_type\":\"basic\"}", &problems));
  assert_problem (problems, "authType", "basic needs its credentials");

  replaced = write_entity (f, CF_ENTITY_GATEWAY, id,
                           "{\"auth_token\":\"second\"}", NULL);
  headers = open_headers (json_object_get_string_member (replaced, "authValue"));
  g_assert_cmpstr (g_hash_table_lookup (headers, "Authorization"), ==, "Bearer second");
  assert_sealed_only (replaced, "second");

  cleared = write_entity (f, CF_ENTITY_GATEWAY, id, "{\"auth_type\":\"none\"}", NULL);
  g_assert_false (json_object_has_member (cleared, "authValue"));
}

static void
test_tool_auth (Fixture       *f,
                gconstpointer  data)
{
  g_autoptr(JsonObject) tool = write_entity (f, CF_ENTITY_TOOL, NULL,
      "{\"name\":\"t\",\"url\":\"https://api.example.com/\",\"auth\":{\"auth_type\":\"authheaders\","
      "\"auth_header_key\":\"X-Key\",\"auth_header_value\":\"v-9\"}}", NULL);
  JsonObject *auth = json_object_get_object_member (tool, "auth");
  g_autoptr(GHashTable) headers = open_headers (json_object_get_string_member (auth, "authValue"));
  g_autoptr(JsonObject) view = cf_entity_schema_public_view (CF_ENTITY_TOOL, tool);
  g_autofree char *round_trip = cf_json_object_to_string (view);
  g_autofree char *text = cf_json_object_to_string (tool);
  g_autoptr(JsonObject) echoed = NULL;
  g_autoptr(JsonObject) dropped = NULL;
  g_autoptr(JsonArray) problems = NULL;

  g_assert_null (strstr (text, "v-9"));
  g_assert_cmpuint (json_object_get_size (auth), ==, 2);
  g_assert_cmpstr (json_object_get_string_member (auth, "authType"), ==, "authheaders");
  g_assert_cmpstr (g_hash_table_lookup (headers, "X-Key"), ==, "v-9");
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (view, "auth"),
                                                  "authValue"), ==, "*****");

  echoed = write_entity (f, CF_ENTITY_TOOL, json_object_get_string_member (tool, "id"),
                         round_trip, NULL);
  g_assert_cmpstr (json_object_get_string_member (json_object_get_object_member (echoed, "auth"),
                                                  "authValue"), ==,
                   json_object_get_string_member (auth, "authValue"));

  dropped = write_entity (f, CF_ENTITY_TOOL, json_object_get_string_member (tool, "id"),
                          "{\"auth\":{\"auth_type\":\"none\"}}", NULL);
  g_assert_false (json_object_has_member (dropped, "auth"));

  g_assert_null (write_entity (f, CF_ENTITY_TOOL, NULL,
                               "{\"name\":\"t2\",\"url\":\"https://api.example.com/\","
                               "\"auth\":{\"auth_type\":\"bearer\"}}", &problems));
  assert_problem (problems, "auth", "needs a token");
}

static void
test_ssrf_registration (Fixture       *f,
                        gconstpointer  data)
{
  g_autoptr(JsonArray) problems = NULL;
  g_autoptr(JsonArray) tool_problems = NULL;
  g_autoptr(JsonObject) stdio = NULL;
  g_autoptr(JsonObject) allowed = NULL;
  g_autoptr(JsonObject) described = NULL;

  g_assert_null (write_entity (f, CF_ENTITY_GATEWAY, NULL,
                               "{\"name\":\"l\",\"url\":\"http://127.0.0.1:9/mcp\","
                               "\"transport\":\"STREAMABLEHTTP\"}", &problems));
  assert_problem (problems, "url", "SSRF_ALLOW_LOCALHOST=true");
  g_assert_null (write_entity (f, CF_ENTITY_TOOL, NULL,
                               "{\"name\":\"r\",\"url\":\"http://10.0.0.7/api\"}", &tool_problems));
  assert_problem (tool_problems, "url", "SSRF_ALLOW_PRIVATE_NETWORKS=true");
  /* A child process has no URL to check. */
  stdio = write_entity (f, CF_ENTITY_GATEWAY, NULL,
                        "{\"name\":\"s\",\"transport\":\"STDIO\",\"command\":\"true\"}", NULL);
  g_assert_nonnull (stdio);

  cf_ssrf_policy_set_allow_localhost (f->ssrf, TRUE);
  allowed = write_entity (f, CF_ENTITY_GATEWAY, NULL,
                          "{\"name\":\"l\",\"url\":\"http://127.0.0.1:9/mcp\","
                          "\"transport\":\"STREAMABLEHTTP\"}", NULL);
  g_assert_nonnull (allowed);
  /* Once stored, a change that leaves the URL alone is not refused for it. */
  cf_ssrf_policy_set_allow_localhost (f->ssrf, FALSE);
  described = write_entity (f, CF_ENTITY_GATEWAY, json_object_get_string_member (allowed, "id"),
                            "{\"description\":\"d\"}", NULL);
  g_assert_nonnull (described);
}

int
main (int   argc,
      char *argv[])
{
  int status;

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);
  secrets = cf_secret_cipher_new ("test-credentials: a passphrase of some length", NULL);

#define ADD(path, func) \
  g_test_add (path, Fixture, NULL, fixture_setup, func, fixture_teardown)
  ADD ("/credentials/gateway/bearer", test_gateway_bearer);
  ADD ("/credentials/gateway/basic", test_gateway_basic);
  ADD ("/credentials/gateway/headers", test_gateway_headers);
  ADD ("/credentials/gateway/bad-input", test_gateway_bad_input);
  ADD ("/credentials/gateway/no-secret-store", test_no_secret_store);
  ADD ("/credentials/gateway/update", test_gateway_update);
  ADD ("/credentials/tool", test_tool_auth);
  ADD ("/credentials/ssrf-registration", test_ssrf_registration);
#undef ADD

  status = g_test_run ();
  g_clear_object (&secrets);
  return status;
}
