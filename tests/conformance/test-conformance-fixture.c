/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include "cf-conformance.h"

/* The official conformance suite, every scenario, against the C fixture
 * server: the test for the MCP server core. Beyond the suite's own verdicts
 * it asserts that the fixture's content is what the checks saw, since many
 * checks pass on the shape of a reply alone. */

static const CfExpectation fixture_expectations[] = {
  { "tools-call-simple-text", "$.result.content[0].text",
    "This is a simple text response for testing." },
  { "tools-call-error", "$.result.content[0].text",
    "This tool intentionally returns an error for testing" },
  { "tools-call-error", "$.result.isError", "true" },
  { "tools-call-sampling", "$.result.content[0].text",
    "LLM response: This is a test response from the client" },
  { "tools-call-elicitation", "$.result.content[0].text", "User response: action=accept" },
  { "tools-call-elicitation", "$.result.content[0].text", "testuser" },
  { "tools-call-with-progress", "$.progressNotifications[*].progress", "[0,50,100]" },
  { "tools-call-with-logging", "$.logs[*].data",
    "[\"Tool execution started\",\"Tool processing data\",\"Tool execution completed\"]" },
  { "tools-list", "$.toolCount", "14" },
  { "tools-list", "$.tools", "test_elicitation_sep1330_enums" },
  { "tools-list", "$.tools", "json_schema_2020_12_tool" },
  { "resources-list", "$.resources", "test://watched-resource" },
  { "resources-templates-read", "$.content", "Data for ID: 123" },
  { "prompts-list", "$.promptCount", "4" },
  { "prompts-get-with-args", "$.messages[0].content.text",
    "arg1='testValue1', arg2='testValue2'" },
};

static void
test_fixture_http (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *argv[] = { fixture, "--port", "0", NULL };
  const char *suite[] = { "--suite", "all", NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GHashTable) checks = NULL;
  g_autofree char *url = NULL;
  guint passed, failed;

  url = cf_test_spawn_server (argv, &process);
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));

  checks = cf_conformance_run (url, suite, &passed, &failed);
  cf_test_stop_process (process);

  cf_conformance_assert_clean (checks);
  g_assert_cmpuint (failed, ==, 0);
  g_assert_cmpuint (passed, >=, 43);
  g_assert_cmpuint (g_hash_table_size (checks), ==, 32);
  cf_conformance_assert_expectations (checks, fixture_expectations,
                                      G_N_ELEMENTS (fixture_expectations));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/conformance/fixture/http", test_fixture_http);

  return g_test_run ();
}
