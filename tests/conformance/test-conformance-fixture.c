/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include "../integration/cf-daemon-harness.h"
#include "cf-conformance.h"

/* The official conformance suite, every scenario, against the C fixture
 * server: the test for the MCP server core. Beyond the suite's own verdicts
 * it asserts that the fixture's content is what the checks saw, since many
 * checks pass on the shape of a reply alone. */


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

  process = cf_harness_spawn (argv, &url);
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));

  checks = cf_conformance_run (url, suite, &passed, &failed);
  cf_harness_stop_process (process);

  cf_conformance_assert_clean (checks);
  g_assert_cmpuint (failed, ==, 0);
  g_assert_cmpuint (passed, >=, 43);
  g_assert_cmpuint (g_hash_table_size (checks), ==, 32);
  cf_conformance_assert_expectations (checks, cf_conformance_fixture_expectations,
                                      cf_conformance_n_fixture_expectations);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/conformance/fixture/http", test_fixture_http);

  return g_test_run ();
}
