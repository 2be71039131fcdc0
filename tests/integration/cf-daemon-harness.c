/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>

#include "cf-daemon-harness.h"
#include "cf-json.h"

#define START_TIMEOUT_S 10

/* A failed assertion must not leave a daemon behind. */
static void
die_with_parent (gpointer user_data)
{
  prctl (PR_SET_PDEATHSIG, SIGTERM);
}

/* A source function that sets the gboolean it is given: a deadline. */
gboolean
cf_harness_set_flag (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

static void
on_line (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  char **line = user_data;

  *line = g_data_input_stream_read_line_finish_utf8 (G_DATA_INPUT_STREAM (source), result,
                                                     NULL, NULL);
  if (*line == NULL)
    *line = g_strdup ("");
}

/**
 * cf_harness_spawnv:
 *
 * Spawns a helper process that is killed when the test process dies, so
 * that a failed assertion never leaves a server running (and holding the
 * test runner's output pipes open).
 */
GSubprocess *
cf_harness_spawnv (const char * const  *argv,
                   GSubprocessFlags     flags,
                   GError             **error)
{
  g_autoptr(GSubprocessLauncher) launcher = g_subprocess_launcher_new (flags);

  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  return g_subprocess_launcher_spawnv (launcher, argv, error);
}

/* Returns the exit status after SIGTERM. */
int
cf_harness_stop_process (GSubprocess *process)
{
  g_autoptr(GError) error = NULL;

  g_subprocess_send_signal (process, SIGTERM);
  g_subprocess_wait (process, NULL, &error);
  g_assert_no_error (error);
  g_assert_true (g_subprocess_get_if_exited (process));
  return g_subprocess_get_exit_status (process);
}

/* Registration connects in the background: waits, bounded, until the
 * gateway lists @expected entities of @collection
 * ("tools", "prompts", ...) from @gateway_id. An upstream's sync commits
 * its tools, resources and prompts one after the other: a test that
 * reads more than tools waits for the last it reads. */
void
cf_harness_wait_for_entities (CfDaemonHarness *self,
                              const char      *collection,
                              const char      *gateway_id,
                              guint            expected)
{
  g_autofree char *path = g_strdup_printf ("/v1/%s?gateway_id=%s", collection, gateway_id);
  gint64 deadline = g_get_monotonic_time () + 15 * G_USEC_PER_SEC;
  guint n = 0;

  while (g_get_monotonic_time () < deadline)
    {
      g_autoptr(JsonNode) list = cf_harness_request (self, "GET", path, NULL, NULL, NULL, NULL);

      if ((n = json_array_get_length (json_node_get_array (list))) == expected)
        break;
      g_usleep (100 * 1000);
    }
  g_assert_cmpuint (n, ==, expected);
}

void
cf_harness_wait_for_tools (CfDaemonHarness *self,
                           const char      *gateway_id,
                           guint            expected)
{
  cf_harness_wait_for_entities (self, "tools", gateway_id, expected);
}

/**
 * cf_harness_spawn:
 * @argv: a server's command line; it prints one line (its URL) first
 * @out_first_line: (out): that line
 *
 * Returns: (transfer full): the process, which dies with the test
 */
GSubprocess *
cf_harness_spawn (const char * const  *argv,
                  char               **out_first_line)
{
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  GSubprocess *process;
  gboolean expired = FALSE;
  char *line = NULL;
  guint deadline;

  process = cf_harness_spawnv (argv, G_SUBPROCESS_FLAGS_STDOUT_PIPE, &error);
  g_assert_no_error (error);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (process));
  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, &line);
  deadline = g_timeout_add_seconds (START_TIMEOUT_S, cf_harness_set_flag, &expired);
  while (line == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);
  g_assert_nonnull (line);
  *out_first_line = line;
  return process;
}

CfDaemonHarness *
cf_daemon_harness_start (const char         *db_path,
                         const char * const *extra_env)
{
  const char *binary = g_getenv ("CF_TEST_GATEWAY");
  g_autoptr(GSubprocessLauncher) launcher = NULL;
  g_autoptr(GDataInputStream) lines = NULL;
  g_autoptr(GError) error = NULL;
  CfDaemonHarness *self = g_new0 (CfDaemonHarness, 1);
  g_autoptr(GPtrArray) argv = g_ptr_array_new ();
  const char *args[] = { NULL, "--daemon", "--no-dbus", "--port", "0", "--db", NULL, NULL };
  gboolean expired = FALSE;
  char *line = NULL;
  guint deadline;

  g_assert_nonnull (binary);
  args[0] = binary;
  args[6] = db_path;
  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDOUT_PIPE);
  g_subprocess_launcher_unsetenv (launcher, "DBUS_SESSION_BUS_ADDRESS");
  g_subprocess_launcher_set_child_setup (launcher, die_with_parent, NULL, NULL);
  /* Test upstreams listen on 127.0.0.1, which the SSRF guard refuses by
   * default; a test of the guard turns it back on through @extra_env. */
  g_subprocess_launcher_setenv (launcher, "SSRF_ALLOW_LOCALHOST", "true", TRUE);
  /* Tests call the same tool in loops far faster than TOOL_RATE_LIMIT's
   * 100 a minute; a test of the limits sets them through @extra_env. */
  g_subprocess_launcher_setenv (launcher, "TOOL_RATE_LIMIT", "0", TRUE);
  g_subprocess_launcher_setenv (launcher, "TOOL_CONCURRENT_LIMIT", "0", TRUE);
  /* Tests of everything but authentication run without it; a test of it
   * turns it back on through @extra_env. */
  g_subprocess_launcher_setenv (launcher, "AUTH_REQUIRED", "false", TRUE);
  for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i += 2)
    {
      /* Not a variable: a command that runs the daemon elsewhere (on
       * another test host, tests/discovery/two-hosts.sh). */
      if (g_str_equal (extra_env[i], CF_HARNESS_WRAPPER))
        g_ptr_array_add (argv, (char *) extra_env[i + 1]);
      else
        g_subprocess_launcher_setenv (launcher, extra_env[i], extra_env[i + 1], TRUE);
    }

  self->db_path = g_strdup (db_path);
  for (guint i = 0; i < G_N_ELEMENTS (args); i++)
    g_ptr_array_add (argv, (char *) args[i]);
  self->process = g_subprocess_launcher_spawnv (launcher, (const char * const *) argv->pdata,
                                                &error);
  g_assert_no_error (error);

  lines = g_data_input_stream_new (g_subprocess_get_stdout_pipe (self->process));
  g_data_input_stream_read_line_async (lines, G_PRIORITY_DEFAULT, NULL, on_line, &line);
  deadline = g_timeout_add_seconds (START_TIMEOUT_S, cf_harness_set_flag, &expired);
  while (line == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (deadline);

  /* A daemon that never came up must not outlive the test, holding its
   * output open: it may not even reach the main loop that handles
   * SIGTERM. */
  if (line == NULL)
    g_subprocess_force_exit (self->process);
  g_assert_nonnull (line);
  g_assert_true (g_str_has_prefix (line, "http://"));
  self->url = line;
  self->http = soup_session_new_with_options ("timeout", 30, NULL);
  return self;
}

/* A daemon with authentication on, the bootstrap admin's password
 * @admin_password (no change asked for on first login) and the signing
 * secret @secret; @extra_env: further name, value pairs. */
CfDaemonHarness *
cf_daemon_harness_start_auth (const char         *db_path,
                              const char         *admin_password,
                              const char         *secret,
                              const char * const *extra_env)
{
  g_autoptr(GPtrArray) env = g_ptr_array_new ();
  const char *base[] = {
    "AUTH_REQUIRED", "true",
    "PLATFORM_ADMIN_PASSWORD", admin_password,
    "ADMIN_REQUIRE_PASSWORD_CHANGE_ON_BOOTSTRAP", "false",
    "JWT_SECRET_KEY", secret,
  };

  for (guint i = 0; i < G_N_ELEMENTS (base); i++)
    g_ptr_array_add (env, (char *) base[i]);
  for (guint i = 0; extra_env != NULL && extra_env[i] != NULL; i++)
    g_ptr_array_add (env, (char *) extra_env[i]);
  g_ptr_array_add (env, NULL);
  return cf_daemon_harness_start (db_path, (const char * const *) env->pdata);
}

/* Returns the exit status. */
int
cf_daemon_harness_stop (CfDaemonHarness *self)
{
  return cf_harness_stop_process (self->process);
}

void
cf_daemon_harness_free (CfDaemonHarness *self)
{
  if (g_subprocess_get_identifier (self->process) != NULL)
    {
      g_subprocess_force_exit (self->process);
      g_subprocess_wait (self->process, NULL, NULL);
    }
  g_clear_object (&self->process);
  g_clear_object (&self->http);
  g_free (self->url);
  g_free (self->db_path);
  g_free (self);
}

/**
 * cf_harness_request:
 * @headers: (nullable): name, value pairs, %NULL-terminated
 *
 * Returns: (transfer full) (nullable): the parsed JSON body (the last
 *   `data:` event of an SSE body), or %NULL for an empty body
 */
JsonNode *
cf_harness_request (CfDaemonHarness     *self,
                    const char          *method,
                    const char          *path,
                    const char          *body,
                    const char * const  *headers,
                    guint               *out_status,
                    SoupMessageHeaders **out_headers)
{
  g_autofree char *uri = g_strconcat (self->url, path, NULL);
  g_autoptr(SoupMessage) msg = soup_message_new (method, uri);
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autofree char *text = NULL;
  const char *content_type;
  gsize size;

  g_assert_nonnull (msg);
  if (body != NULL)
    {
      g_autoptr(GBytes) bytes = g_bytes_new (body, strlen (body));
      soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
    }
  soup_message_headers_replace (soup_message_get_request_headers (msg), "Accept",
                                "application/json, text/event-stream");
  for (guint i = 0; headers != NULL && headers[i] != NULL; i += 2)
    soup_message_headers_replace (soup_message_get_request_headers (msg), headers[i],
                                  headers[i + 1]);

  response = soup_session_send_and_read (self->http, msg, NULL, &error);
  g_assert_no_error (error);
  if (out_status != NULL)
    *out_status = soup_message_get_status (msg);
  if (out_headers != NULL)
    *out_headers = soup_message_headers_ref (soup_message_get_response_headers (msg));

  text = g_strndup (g_bytes_get_data (response, &size), g_bytes_get_size (response));
  if (size == 0)
    return NULL;
  content_type = soup_message_headers_get_content_type (soup_message_get_response_headers (msg),
                                                        NULL);
  if (g_strcmp0 (content_type, "text/event-stream") == 0)
    {
      const char *last = g_strrstr (text, "data: ");

      g_assert_nonnull (last);
      return cf_json_parse (last + 6, strcspn (last + 6, "\n"), NULL);
    }
  return cf_json_parse (text, -1, NULL);
}

/* POSTs to /v1/<collection> and asserts 201. */
JsonObject *
cf_harness_create (CfDaemonHarness *self,
                   const char      *collection,
                   const char      *body)
{
  g_autofree char *path = g_strconcat ("/v1/", collection, NULL);
  g_autoptr(JsonNode) node = NULL;
  guint status = 0;

  node = cf_harness_request (self, "POST", path, body, NULL, &status, NULL);
  if (status != 201)
    g_error ("POST %s answered %u: %s", path, status,
             node ? cf_json_to_string (node, NULL) : "");
  g_assert_true (JSON_NODE_HOLDS_OBJECT (node));
  return json_object_ref (json_node_get_object (node));
}

/**
 * cf_harness_call:
 * @token: (nullable): sent as `Authorization: Bearer @token`
 *
 * cf_harness_request() as the holder of @token, or with no credentials.
 *
 * Returns: (transfer full) (nullable): as cf_harness_request()
 */
JsonNode *
cf_harness_call (CfDaemonHarness     *self,
                 const char          *method,
                 const char          *path,
                 const char          *body,
                 const char          *token,
                 guint               *out_status,
                 SoupMessageHeaders **out_headers)
{
  g_autofree char *bearer = token ? g_strconcat ("Bearer ", token, NULL) : NULL;
  const char *auth[] = { "Authorization", bearer, NULL };

  return cf_harness_request (self, method, path, body, token ? auth : NULL, out_status,
                             out_headers);
}

/* The "result" of a JSON-RPC response, failing the test on an error. */
JsonObject *
cf_harness_rpc_result (JsonNode *response)
{
  JsonObject *object;

  g_assert_nonnull (response);
  object = json_node_get_object (response);
  if (!json_object_has_member (object, "result"))
    g_error ("expected a result: %s", cf_json_to_string (response, NULL));
  return json_object_get_object_member (object, "result");
}

/* The text of a tool result's first content block. */
const char *
cf_harness_first_text (JsonObject *result)
{
  JsonArray *content = json_object_get_array_member (result, "content");

  return json_object_get_string_member (json_array_get_object_element (content, 0), "text");
}

/* The children of a process, found by their parent in /proc. */
GArray *
cf_harness_children_of (GPid parent)
{
  g_autoptr(GDir) proc = g_dir_open ("/proc", 0, NULL);
  GArray *children = g_array_new (FALSE, FALSE, sizeof (GPid));
  const char *name;

  while ((name = g_dir_read_name (proc)) != NULL)
    {
      g_autofree char *path = g_build_filename ("/proc", name, "stat", NULL);
      g_autofree char *stat = NULL;
      const char *close;
      int ppid = 0;

      if (!g_ascii_isdigit (name[0]) || !g_file_get_contents (path, &stat, NULL, NULL))
        continue;
      /* pid (comm) state ppid ...: comm may hold spaces, so skip past ')'. */
      close = strrchr (stat, ')');
      if (close != NULL && sscanf (close + 2, "%*c %d", &ppid) == 1 && ppid == parent)
        {
          GPid pid = atoi (name);
          g_array_append_val (children, pid);
        }
    }
  return children;
}

gboolean
cf_harness_process_exists (GPid pid)
{
  g_autofree char *path = g_strdup_printf ("/proc/%d/stat", pid);
  g_autofree char *stat = NULL;
  const char *close;

  if (!g_file_get_contents (path, &stat, NULL, NULL))
    return FALSE;
  close = strrchr (stat, ')');
  /* A zombie is gone for our purpose: it runs nothing. */
  return close == NULL || close[2] != 'Z';
}

/* Iterates the default context until *done or the deadline passes;
 * returns *done. */
gboolean
cf_harness_wait_for (gboolean *done,
                     guint     seconds)
{
  gboolean expired = FALSE;
  guint id = g_timeout_add_seconds (seconds, cf_harness_set_flag, &expired);

  while (!*done && !expired)
    g_main_context_iteration (NULL, TRUE);
  if (!expired)
    g_source_remove (id);
  return *done;
}

/* POSTs @body to @url from a thread of its own, on its own HTTP session
 * and main context, so that a test can act while the request is in
 * flight; @session, if any, is sent as a 2025-11-25 Mcp-Session-Id. */
static gpointer
post_run (gpointer data)
{
  CfHarnessPost *post = data;
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(SoupSession) session = NULL;
  g_autoptr(SoupMessage) msg = NULL;
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(GBytes) response = NULL;
  g_autoptr(GError) error = NULL;
  SoupMessageHeaders *headers;

  g_main_context_push_thread_default (context);
  session = soup_session_new ();
  msg = soup_message_new ("POST", post->url);
  headers = soup_message_get_request_headers (msg);
  bytes = g_bytes_new (post->body, strlen (post->body));
  soup_message_set_request_body_from_bytes (msg, "application/json", bytes);
  soup_message_headers_replace (headers, "Accept", "application/json, text/event-stream");
  if (post->session != NULL)
    {
      soup_message_headers_replace (headers, "Mcp-Session-Id", post->session);
      soup_message_headers_replace (headers, "MCP-Protocol-Version", "2025-11-25");
    }
  response = soup_session_send_and_read (session, msg, NULL, &error);
  post->status = soup_message_get_status (msg);
  if (response != NULL && g_bytes_get_size (response) > 0)
    post->text = g_strndup (g_bytes_get_data (response, NULL), g_bytes_get_size (response));
  else
    post->text = g_strdup (response != NULL ? "" : error->message);
  g_clear_object (&msg);
  g_clear_object (&session);
  g_main_context_pop_thread_default (context);
  return NULL;
}

CfHarnessPost *
cf_harness_post_start (const char *url,
                       const char *body,
                       const char *session)
{
  CfHarnessPost *post = g_new0 (CfHarnessPost, 1);

  post->url = g_strdup (url);
  post->body = g_strdup (body);
  post->session = g_strdup (session);
  post->thread = g_thread_new ("harness-post", post_run, post);
  return post;
}

/* Waits for the answer: then status and text are set. */
void
cf_harness_post_join (CfHarnessPost *post)
{
  if (post->thread != NULL)
    g_thread_join (g_steal_pointer (&post->thread));
}

void
cf_harness_post_free (CfHarnessPost *post)
{
  cf_harness_post_join (post);
  g_free (post->url);
  g_free (post->body);
  g_free (post->session);
  g_free (post->text);
  g_free (post);
}

static gboolean
contains (const char *data,
          gsize       length,
          const char *needle)
{
  gsize n = strlen (needle);

  for (gsize i = 0; i + n <= length; i++)
    if (memcmp (data + i, needle, n) == 0)
      return TRUE;
  return FALSE;
}

/**
 * cf_harness_assert_not_in_database:
 * @db: the database file
 * @needle: what no file of it may hold
 *
 * Scans every file of the database's directory (the main file, the WAL,
 * the shared memory), at least one of them not empty, for @needle.
 */
void
cf_harness_assert_not_in_database (const char *db,
                                   const char *needle)
{
  g_autofree char *dir = g_path_get_dirname (db);
  g_autoptr(GDir) listing = g_dir_open (dir, 0, NULL);
  const char *name;
  guint scanned = 0;

  g_assert_nonnull (listing);
  while ((name = g_dir_read_name (listing)) != NULL)
    {
      g_autofree char *path = g_build_filename (dir, name, NULL);
      g_autofree char *contents = NULL;
      gsize length = 0;

      g_assert_true (g_file_get_contents (path, &contents, &length, NULL));
      g_assert_false (contains (contents, length, needle));
      scanned += length > 0;
    }
  g_assert_cmpuint (scanned, >, 0);
}
