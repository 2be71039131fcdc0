/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-stdio"

#include "config.h"

#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "cf-json.h"
#include "cf-line-splitter.h"
#include "cf-upstream-stdio.h"

/**
 * CfUpstreamStdio:
 *
 * An upstream MCP server run as a child process, one JSON-RPC message
 * per line on its stdin and stdout. Its stderr is logged line by line.
 * Writes are queued and asynchronous, so a child that stops reading
 * cannot block the gateway; reads are bounded per line, so a child that
 * never sends a newline cannot make it buffer without end. The child
 * never outlives the gateway: it gets SIGKILL when its parent dies.
 */

#define READ_CHUNK 65536
/* A child's stderr goes to the log, bounded: lines are cut at
 * MAX_STDERR_LINE bytes, and at most STDERR_BURST lines are logged per
 * STDERR_WINDOW_S seconds; the rest are counted and the count logged. */
#define MAX_STDERR_LINE (4 * 1024)
#define STDERR_BURST 100
#define STDERR_WINDOW_S 10
/* Shutdown: stdin is closed, SIGTERM follows after GRACE_MS, SIGKILL
 * KILL_MS after that. */
#define GRACE_MS 1000
#define KILL_MS 2000
/* After the child exits, what it wrote last is read for this long before
 * the calls still in flight fail. */
#define EXIT_DRAIN_MS 100

typedef struct {
  GBytes *bytes;
  GTask  *task;
} WriteOp;

struct _CfUpstreamStdio
{
  CfUpstreamTransport  parent_instance;

  GStrv                argv;
  GStrv                env;
  char                *cwd;
  char                *name;

  GSubprocess         *process;
  GPid                 pid;
  GOutputStream       *input;
  GCancellable        *cancellable;
  GCancellable        *write_cancellable;
  GError              *exit_error;
  CfLineSplitter      *out_lines;
  CfLineSplitter      *err_lines;
  gint64               err_window_start;
  guint                err_logged;
  guint                err_dropped;
  GQueue               writes;
  guint                term_id;
  guint                kill_id;
  guint                exit_id;
  guint                writing : 1;
  guint                closing : 1;
  guint                exited : 1;
};

G_DEFINE_FINAL_TYPE (CfUpstreamStdio, cf_upstream_stdio, CF_TYPE_UPSTREAM_TRANSPORT)

static void begin_shutdown (CfUpstreamStdio *self);

static void
write_op_free (WriteOp *op)
{
  g_bytes_unref (op->bytes);
  g_clear_object (&op->task);
  g_free (op);
}

/* Writing */

static void write_next (CfUpstreamStdio *self);

static void
fail_writes (CfUpstreamStdio *self,
             const GError    *error)
{
  WriteOp *op;

  while ((op = g_queue_pop_head (&self->writes)) != NULL)
    {
      if (op->task != NULL)
        g_task_return_error (op->task, g_error_copy (error));
      write_op_free (op);
    }
}

static void
close_input (CfUpstreamStdio *self)
{
  if (self->input != NULL && !g_output_stream_is_closed (self->input))
    g_output_stream_close (self->input, NULL, NULL);
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfUpstreamStdio) self = user_data;
  WriteOp *op = g_queue_pop_head (&self->writes);
  g_autoptr(GError) error = NULL;

  self->writing = FALSE;
  if (!g_output_stream_write_all_finish (G_OUTPUT_STREAM (source), result, NULL, &error))
    {
      g_autoptr(GError) closed = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                              "Cannot write to %s: %s", self->name,
                                              error->message);

      if (op->task != NULL)
        g_task_return_error (op->task, g_error_copy (closed));
      write_op_free (op);
      fail_writes (self, closed);
      if (self->closing)
        close_input (self);
      return;
    }

  if (op->task != NULL)
    g_task_return_boolean (op->task, TRUE);
  write_op_free (op);
  if (self->closing)
    {
      g_autoptr(GError) closed = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                              "The input of %s is closed", self->name);

      fail_writes (self, closed);
      close_input (self);
    }
  else
    write_next (self);
}

static void
write_next (CfUpstreamStdio *self)
{
  WriteOp *op = g_queue_peek_head (&self->writes);

  if (self->writing || op == NULL)
    return;
  self->writing = TRUE;
  g_output_stream_write_all_async (self->input, g_bytes_get_data (op->bytes, NULL),
                                   g_bytes_get_size (op->bytes), G_PRIORITY_DEFAULT,
                                   self->write_cancellable, on_written, g_object_ref (self));
}

static void
write_line (CfUpstreamStdio *self,
            const char      *json,
            gsize            length,
            GTask           *task)
{
  WriteOp *op;
  char *line;

  if (self->closing || self->input == NULL)
    {
      if (task != NULL)
        g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                 "The input of %s is closed", self->name);
      return;
    }

  /* Compact JSON holds no raw newline, so one message is one line. */
  line = g_malloc (length + 1);
  memcpy (line, json, length);
  line[length] = '\n';

  op = g_new0 (WriteOp, 1);
  op->bytes = g_bytes_new_take (line, length + 1);
  op->task = task ? g_object_ref (task) : NULL;
  g_queue_push_tail (&self->writes, op);
  write_next (self);
}

static void
cf_upstream_stdio_send_request (CfUpstreamTransport *transport,
                                CfUpstreamCall      *call)
{
  gsize length;
  const char *json = g_bytes_get_data (call->text, &length);

  write_line (CF_UPSTREAM_STDIO (transport), json, length, NULL);
}

static void
cf_upstream_stdio_send_message_async (CfUpstreamTransport *transport,
                                      JsonNode            *message,
                                      GCancellable        *cancellable,
                                      GAsyncReadyCallback  callback,
                                      gpointer             user_data)
{
  g_autoptr(GTask) task = g_task_new (transport, cancellable, callback, user_data);

  gsize length = 0;
  g_autofree char *json = cf_json_to_string (message, &length);

  g_task_set_source_tag (task, cf_upstream_stdio_send_message_async);
  write_line (CF_UPSTREAM_STDIO (transport), json, length, task);
}

static gboolean
cf_upstream_stdio_send_message_finish (CfUpstreamTransport  *transport,
                                       GAsyncResult         *result,
                                       GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

/* Reading stdout */

static gboolean
on_out_line (const char *line,
             gsize       length,
             gboolean    overflow,
             gpointer    user_data)
{
  CfUpstreamStdio *self = user_data;
  CfUpstreamTransport *transport = CF_UPSTREAM_TRANSPORT (self);
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  if (overflow)
    {
      cf_upstream_transport_fail_oversized (transport, line, length);
      return TRUE;
    }
  while (length > 0 && g_ascii_isspace (line[length - 1]))
    length--;
  if (length == 0)
    return TRUE;

  node = cf_json_parse (line, length, &error);
  if (node == NULL)
    cf_upstream_transport_warn (transport, "%s wrote a line that is not JSON: %s", self->name,
                                error->message);
  else
    cf_upstream_transport_route (transport, node, CF_UPSTREAM_ROUTE_SHARED);
  return !cf_upstream_transport_is_closed (transport);
}

static void
on_out_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(CfUpstreamStdio) self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              &error);

  if (bytes != NULL && g_bytes_get_size (bytes) > 0)
    {
      if (cf_line_splitter_feed (self->out_lines, g_bytes_get_data (bytes, NULL),
                                 g_bytes_get_size (bytes), on_out_line, self))
        g_input_stream_read_bytes_async (G_INPUT_STREAM (source), READ_CHUNK, G_PRIORITY_DEFAULT,
                                         self->cancellable, on_out_read, g_object_ref (self));
      return;
    }

  if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    {
      g_autoptr(GError) closed = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                              "%s closed its output", self->name);

      cf_upstream_transport_lost (CF_UPSTREAM_TRANSPORT (self), closed);
      begin_shutdown (self);
    }
}

/* Reading stderr */

static gboolean
on_err_line (const char *line,
             gsize       length,
             gboolean    overflow,
             gpointer    user_data)
{
  CfUpstreamStdio *self = user_data;
  gint64 now = g_get_monotonic_time ();
  g_autofree char *text = NULL;

  if (now - self->err_window_start >= STDERR_WINDOW_S * G_USEC_PER_SEC)
    {
      if (self->err_dropped > 0)
        g_message ("%s: %u more stderr lines not logged", self->name, self->err_dropped);
      self->err_window_start = now;
      self->err_logged = 0;
      self->err_dropped = 0;
    }
  if (self->err_logged >= STDERR_BURST)
    {
      self->err_dropped++;
      return TRUE;
    }
  self->err_logged++;
  text = g_utf8_make_valid (line, length);
  g_message ("%s: %s%s", self->name, text, overflow ? " [truncated]" : "");
  return TRUE;
}

static void
on_err_read (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(CfUpstreamStdio) self = user_data;
  g_autoptr(GBytes) bytes = g_input_stream_read_bytes_finish (G_INPUT_STREAM (source), result,
                                                              NULL);

  if (bytes == NULL || g_bytes_get_size (bytes) == 0)
    return;
  cf_line_splitter_feed (self->err_lines, g_bytes_get_data (bytes, NULL),
                         g_bytes_get_size (bytes), on_err_line, self);
  g_input_stream_read_bytes_async (G_INPUT_STREAM (source), READ_CHUNK, G_PRIORITY_DEFAULT,
                                   self->cancellable, on_err_read, g_object_ref (self));
}

/* The child's life */

/* Also stops the reads: a grandchild may hold the pipes open. */
static gboolean
on_exit_drained (gpointer user_data)
{
  CfUpstreamStdio *self = user_data;

  self->exit_id = 0;
  g_cancellable_cancel (self->cancellable);
  cf_upstream_transport_lost (CF_UPSTREAM_TRANSPORT (self), self->exit_error);
  begin_shutdown (self);
  return G_SOURCE_REMOVE;
}

static void
on_exited (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(CfUpstreamStdio) self = user_data;
  GSubprocess *process = G_SUBPROCESS (source);

  g_subprocess_wait_finish (process, result, NULL);
  self->exited = TRUE;
  g_clear_handle_id (&self->term_id, g_source_remove);
  g_clear_handle_id (&self->kill_id, g_source_remove);

  if (g_subprocess_get_if_signaled (process))
    self->exit_error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                    "%s was killed by signal %d", self->name,
                                    g_subprocess_get_term_sig (process));
  else
    self->exit_error = g_error_new (CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CLOSED,
                                    "%s exited with status %d", self->name,
                                    g_subprocess_get_exit_status (process));
  g_debug ("%s", self->exit_error->message);
  self->exit_id = g_timeout_add_full (G_PRIORITY_DEFAULT, EXIT_DRAIN_MS, on_exit_drained,
                                      g_object_ref (self), g_object_unref);
}

static gboolean
on_kill (gpointer user_data)
{
  CfUpstreamStdio *self = user_data;

  self->kill_id = 0;
  g_debug ("%s did not stop; killing it", self->name);
  g_subprocess_force_exit (self->process);
  return G_SOURCE_REMOVE;
}

static gboolean
on_term (gpointer user_data)
{
  CfUpstreamStdio *self = user_data;

  self->term_id = 0;
  g_subprocess_send_signal (self->process, SIGTERM);
  self->kill_id = g_timeout_add_full (G_PRIORITY_DEFAULT, KILL_MS, on_kill,
                                      g_object_ref (self), g_object_unref);
  return G_SOURCE_REMOVE;
}

/* Closing stdin is how a stdio server is asked to stop; signals follow
 * for one that does not. The timers hold the transport until the child
 * is gone. */
static void
begin_shutdown (CfUpstreamStdio *self)
{
  if (self->closing || self->process == NULL)
    return;
  self->closing = TRUE;

  if (self->writing)
    g_cancellable_cancel (self->write_cancellable);
  else
    close_input (self);

  if (!self->exited)
    self->term_id = g_timeout_add_full (G_PRIORITY_DEFAULT, GRACE_MS, on_term,
                                        g_object_ref (self), g_object_unref);
}

static void
cf_upstream_stdio_shutdown (CfUpstreamTransport *transport)
{
  begin_shutdown (CF_UPSTREAM_STDIO (transport));
}

static GPid
cf_upstream_stdio_get_pid (CfUpstreamTransport *transport)
{
  return CF_UPSTREAM_STDIO (transport)->pid;
}

/* Runs in the child between fork and exec: async-signal-safe calls only. */
static void
child_setup (gpointer user_data)
{
  pid_t parent = GPOINTER_TO_INT (user_data);

  prctl (PR_SET_PDEATHSIG, SIGKILL);
  /* The gateway may have died before the line above. */
  if (getppid () != parent)
    _exit (1);
  /* The gateway ignores SIGPIPE; the child should not inherit that. */
  signal (SIGPIPE, SIG_DFL);
}

static GSubprocess *
spawn (CfUpstreamStdio  *self,
       GError          **error)
{
  g_autoptr(GSubprocessLauncher) launcher = NULL;

  launcher = g_subprocess_launcher_new (G_SUBPROCESS_FLAGS_STDIN_PIPE |
                                        G_SUBPROCESS_FLAGS_STDOUT_PIPE |
                                        G_SUBPROCESS_FLAGS_STDERR_PIPE);
  for (guint i = 0; self->env != NULL && self->env[i] != NULL; i++)
    {
      const char *equals = strchr (self->env[i], '=');
      g_autofree char *name = NULL;

      if (equals == NULL || equals == self->env[i])
        continue;
      name = g_strndup (self->env[i], equals - self->env[i]);
      g_subprocess_launcher_setenv (launcher, name, equals + 1, TRUE);
    }
  if (self->cwd != NULL)
    g_subprocess_launcher_set_cwd (launcher, self->cwd);
  g_subprocess_launcher_set_child_setup (launcher, child_setup, GINT_TO_POINTER (getpid ()),
                                         NULL);
  return g_subprocess_launcher_spawnv (launcher, (const char * const *) self->argv, error);
}

static void
cf_upstream_stdio_start_async (CfUpstreamTransport *transport,
                               GCancellable        *cancellable,
                               GAsyncReadyCallback  callback,
                               gpointer             user_data)
{
  CfUpstreamStdio *self = CF_UPSTREAM_STDIO (transport);
  g_autoptr(GTask) task = g_task_new (self, cancellable, callback, user_data);
  g_autoptr(GError) error = NULL;
  GInputStream *output;

  g_task_set_source_tag (task, cf_upstream_stdio_start_async);
  /* A path that cannot run is said so without forking a child to find out. */
  if (strchr (self->argv[0], '/') != NULL &&
      !g_file_test (self->argv[0], G_FILE_TEST_IS_EXECUTABLE))
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Cannot start %s: not an executable file", self->argv[0]);
      return;
    }
  self->process = spawn (self, &error);
  if (self->process == NULL)
    {
      g_task_return_new_error (task, CF_MCP_CLIENT_ERROR, CF_MCP_CLIENT_ERROR_CONNECT,
                               "Cannot start %s: %s", self->name, error->message);
      return;
    }

  self->pid = (GPid) g_ascii_strtoll (g_subprocess_get_identifier (self->process), NULL, 10);
  self->input = g_object_ref (g_subprocess_get_stdin_pipe (self->process));
  self->out_lines = cf_line_splitter_new (cf_upstream_transport_get_max_message (transport),
                                          FALSE);
  self->err_lines = cf_line_splitter_new (MAX_STDERR_LINE, FALSE);

  output = g_subprocess_get_stdout_pipe (self->process);
  g_input_stream_read_bytes_async (output, READ_CHUNK, G_PRIORITY_DEFAULT, self->cancellable,
                                   on_out_read, g_object_ref (self));
  g_input_stream_read_bytes_async (g_subprocess_get_stderr_pipe (self->process), READ_CHUNK,
                                   G_PRIORITY_DEFAULT, self->cancellable, on_err_read,
                                   g_object_ref (self));
  g_subprocess_wait_async (self->process, NULL, on_exited, g_object_ref (self));
  g_task_return_boolean (task, TRUE);
}

static gboolean
cf_upstream_stdio_start_finish (CfUpstreamTransport  *transport,
                                GAsyncResult         *result,
                                GError              **error)
{
  return g_task_propagate_boolean (G_TASK (result), error);
}

static void
cf_upstream_stdio_dispose (GObject *object)
{
  CfUpstreamStdio *self = CF_UPSTREAM_STDIO (object);

  /* Only reached once the child is gone or was never started: the wait
   * and the shutdown timers hold a reference until then. */
  g_cancellable_cancel (self->cancellable);
  G_OBJECT_CLASS (cf_upstream_stdio_parent_class)->dispose (object);
}

static void
cf_upstream_stdio_finalize (GObject *object)
{
  CfUpstreamStdio *self = CF_UPSTREAM_STDIO (object);
  g_autoptr(GError) error = g_error_new_literal (CF_MCP_CLIENT_ERROR,
                                                 CF_MCP_CLIENT_ERROR_CLOSED, "Closed");

  fail_writes (self, error);
  g_clear_pointer (&self->argv, g_strfreev);
  g_clear_pointer (&self->env, g_strfreev);
  g_clear_pointer (&self->cwd, g_free);
  g_clear_pointer (&self->name, g_free);
  g_clear_object (&self->process);
  g_clear_object (&self->input);
  g_clear_object (&self->cancellable);
  g_clear_object (&self->write_cancellable);
  g_clear_error (&self->exit_error);
  g_clear_pointer (&self->out_lines, cf_line_splitter_free);
  g_clear_pointer (&self->err_lines, cf_line_splitter_free);

  G_OBJECT_CLASS (cf_upstream_stdio_parent_class)->finalize (object);
}

/* A write to a child that died raises SIGPIPE, whose default action
 * would take the whole gateway down with it; the write failing with
 * EPIPE is all we need. A handler someone installed is left alone. */
static void
ignore_sigpipe (void)
{
  struct sigaction current;

  if (sigaction (SIGPIPE, NULL, &current) == 0 && current.sa_handler == SIG_DFL)
    signal (SIGPIPE, SIG_IGN);
}

static void
cf_upstream_stdio_class_init (CfUpstreamStdioClass *klass)
{
  GObjectClass *object_class = G_OBJECT_CLASS (klass);
  CfUpstreamTransportClass *transport_class = CF_UPSTREAM_TRANSPORT_CLASS (klass);

  object_class->dispose = cf_upstream_stdio_dispose;
  object_class->finalize = cf_upstream_stdio_finalize;
  transport_class->start_async = cf_upstream_stdio_start_async;
  transport_class->start_finish = cf_upstream_stdio_start_finish;
  transport_class->send_request = cf_upstream_stdio_send_request;
  transport_class->send_message_async = cf_upstream_stdio_send_message_async;
  transport_class->send_message_finish = cf_upstream_stdio_send_message_finish;
  transport_class->shutdown = cf_upstream_stdio_shutdown;
  transport_class->get_pid = cf_upstream_stdio_get_pid;
  transport_class->stream_per_request = FALSE;

  ignore_sigpipe ();
}

static void
cf_upstream_stdio_init (CfUpstreamStdio *self)
{
  self->cancellable = g_cancellable_new ();
  self->write_cancellable = g_cancellable_new ();
  g_queue_init (&self->writes);
}

/**
 * cf_upstream_stdio_new:
 * @argv: the command line of the server
 * @env: (nullable): `NAME=VALUE` pairs added to its environment
 * @cwd: (nullable): its working directory
 *
 * Returns: (transfer full): a new transport; start it to spawn the child
 */
CfUpstreamTransport *
cf_upstream_stdio_new (const char * const *argv,
                       const char * const *env,
                       const char         *cwd)
{
  CfUpstreamStdio *self;

  g_return_val_if_fail (argv != NULL && argv[0] != NULL, NULL);

  self = g_object_new (CF_TYPE_UPSTREAM_STDIO, NULL);
  self->argv = g_strdupv ((GStrv) argv);
  self->env = env ? g_strdupv ((GStrv) env) : NULL;
  self->cwd = g_strdup (cwd);
  self->name = g_path_get_basename (argv[0]);
  return CF_UPSTREAM_TRANSPORT (self);
}
