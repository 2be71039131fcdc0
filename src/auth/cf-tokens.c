/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tokens"

#include "config.h"

#include "cf-auth-private.h"
#include "cf-json.h"
#include "cf-tokens-private.h"

/**
 * CfTokens:
 *
 * ContextForge's API tokens (`services/token_catalog_service.py` and
 * `middleware/token_scoping.py`). A token is a JWT signed with the
 * gateway's key, `token_use: "api"`; the store keeps its SHA-256 and its
 * jti only, so the raw token is shown once, at creation.
 *
 * Enforcement runs on every request and reads no SQL: an in-memory
 * registry, by jti, holds each token's state (active, revoked), its
 * restrictions (IP/CIDR, time window, server) and its usage counters.
 * It is loaded at start, updated after the gateway's own writes, and
 * re-read when `PRAGMA data_version` says another connection (the token
 * CLI) wrote. Usage is buffered and written in batches by a timer.
 *
 * The per-identity rate limit (USER_RATE_LIMIT, requests per minute) is
 * kept here too: it applies to every authenticated request.
 */

/* Another process's writes (the token CLI's) are noticed through a file
 * monitor on the database's write-ahead log, where every commit lands:
 * an idle daemon wakes for nothing. A slow poll stays for file systems
 * whose changes a monitor does not see. Buffered usage is written a
 * second after it was first buffered. */
#define POLL_INTERVAL_S 30
#define MONITOR_RATE_MS 100
#define FLUSH_INTERVAL_MS 1000

G_DEFINE_FINAL_TYPE (CfTokens, cf_tokens, G_TYPE_OBJECT)

G_DEFINE_QUARK (cf-tokens-error-quark, cf_tokens_error)

enum {
  CHANGED,
  N_SIGNALS
};

static guint signals[N_SIGNALS];

static void
entry_free (gpointer data)
{
  Entry *entry = data;

  g_free (entry->id);
  g_free (entry->email);
  g_free (entry->server_id);
  g_strfreev (entry->permissions);
  g_strfreev (entry->ips);
  g_clear_pointer (&entry->time, json_object_unref);
  g_free (entry);
}

static void
cf_tokens_dispose (GObject *object)
{
  CfTokens *self = (CfTokens *) object;

  cf_tokens_stop (self);
  G_OBJECT_CLASS (cf_tokens_parent_class)->dispose (object);
}

static void
cf_tokens_finalize (GObject *object)
{
  CfTokens *self = (CfTokens *) object;

  g_clear_object (&self->auth);
  g_clear_object (&self->store);
  g_clear_object (&self->cancellable);
  g_clear_pointer (&self->registry, g_hash_table_unref);
  g_clear_pointer (&self->rates, g_hash_table_unref);
  g_clear_pointer (&self->usage, g_ptr_array_unref);

  G_OBJECT_CLASS (cf_tokens_parent_class)->finalize (object);
}

static void
cf_tokens_class_init (CfTokensClass *klass)
{
  G_OBJECT_CLASS (klass)->dispose = cf_tokens_dispose;
  G_OBJECT_CLASS (klass)->finalize = cf_tokens_finalize;

  /**
   * CfTokens::changed:
   *
   * An API token was created, changed or revoked: through this gateway,
   * or by another process on the same database.
   */
  signals[CHANGED] = g_signal_new ("changed",
                                   G_TYPE_FROM_CLASS (klass),
                                   G_SIGNAL_RUN_LAST,
                                   0, NULL, NULL, NULL,
                                   G_TYPE_NONE, 0);
}

static void
cf_tokens_init (CfTokens *self)
{
  self->registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  self->rates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->usage = g_ptr_array_new_with_free_func (_cf_tokens_usage_entry_free);
  self->cancellable = g_cancellable_new ();
  self->data_version = -1;
}

/**
 * cf_tokens_new:
 * @auth: the identity service, whose key signs the tokens
 * @store: where tokens and their usage live
 *
 * Returns: (transfer full): the token service, with an empty registry
 *   until cf_tokens_load()
 */
CfTokens *
cf_tokens_new (CfAuth  *auth,
               CfStore *store)
{
  CfTokens *self;

  g_return_val_if_fail (CF_IS_AUTH (auth), NULL);
  g_return_val_if_fail (CF_IS_STORE (store), NULL);

  self = g_object_new (CF_TYPE_TOKENS, NULL);
  self->auth = g_object_ref (auth);
  self->store = g_object_ref (store);
  return self;
}

/**
 * cf_tokens_set_server_lookup:
 * @lookup: (nullable): finds a virtual server by id
 * @user_data: data for @lookup
 *
 * With a lookup, a token scoped to a server that does not exist is refused
 * at creation.
 */
void
cf_tokens_set_server_lookup (CfTokens          *self,
                             CfScopeLookupFunc  lookup,
                             gpointer           user_data)
{
  g_return_if_fail (CF_IS_TOKENS (self));
  self->lookup = lookup;
  self->lookup_data = user_data;
}

/**
 * cf_tokens_get_auth:
 *
 * Returns: (transfer none): the identity service whose key signs tokens
 */
CfAuth *
cf_tokens_get_auth (CfTokens *self)
{
  g_return_val_if_fail (CF_IS_TOKENS (self), NULL);
  return self->auth;
}

/**
 * cf_tokens_get_store:
 *
 * Returns: (transfer none): the store that keeps the tokens
 */
CfStore *
cf_tokens_get_store (CfTokens *self)
{
  g_return_val_if_fail (CF_IS_TOKENS (self), NULL);
  return self->store;
}

/* Time */

gint64
_cf_tokens_now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* The store's timestamp format, with milliseconds, so that usage rows
 * compare as strings with strftime's. */
char *
_cf_tokens_format_ms (gint64 unix_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC);
  g_autofree char *base = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", base, (int) ((unix_us % G_USEC_PER_SEC) / 1000));
}

/* The registry */

JsonNode *
_cf_tokens_parse_column (JsonObject *row,
                         const char *column)
{
  const char *text = cf_json_object_get_string (row, column);

  return text ? cf_json_parse (text, -1, NULL) : NULL;
}

static guint
limit_of (JsonObject *limits,
          const char *member)
{
  gint64 value = 0;

  if (!cf_json_object_get_int (limits, member, &value) || value <= 0)
    return 0;
  return (guint) MIN (value, G_MAXUINT);
}

/* The strings of a JSON array, or %NULL when @node is not one. */
static GStrv
string_array (JsonNode *node)
{
  g_autoptr(GStrvBuilder) builder = NULL;
  JsonArray *array;

  if (node == NULL || !JSON_NODE_HOLDS_ARRAY (node))
    return NULL;
  builder = g_strv_builder_new ();
  array = json_node_get_array (node);
  for (guint i = 0; i < json_array_get_length (array); i++)
    if (cf_json_node_is_string (json_array_get_element (array, i)))
      g_strv_builder_add (builder, json_array_get_string_element (array, i));
  return g_strv_builder_end (builder);
}

static Entry *
entry_from_row (JsonObject *row)
{
  Entry *entry = g_new0 (Entry, 1);
  g_autoptr(JsonNode) ips = _cf_tokens_parse_column (row, "ip_restrictions");
  g_autoptr(JsonNode) time = _cf_tokens_parse_column (row, "time_restrictions");
  g_autoptr(JsonNode) limits = _cf_tokens_parse_column (row, "usage_limits");
  g_autoptr(JsonNode) permissions = _cf_tokens_parse_column (row, "resource_scopes");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonObject *limits_object = limits && JSON_NODE_HOLDS_OBJECT (limits)
                              ? json_node_get_object (limits) : NULL;
  gint64 used = 0;
  gint64 now = _cf_tokens_now_s ();

  entry->id = g_strdup (cf_json_object_get_string (row, "id"));
  entry->email = g_strdup (cf_json_object_get_string (row, "user_email"));
  entry->server_id = g_strdup (cf_json_object_get_string (row, "server_id"));
  entry->active = _cf_auth_row_flag (row, "is_active");
  entry->revoked = json_object_has_member (row, "revoked") ||
                   json_object_has_member (row, "revoked_at");
  if (ips != NULL && JSON_NODE_HOLDS_ARRAY (ips))
    {
      JsonArray *array = json_node_get_array (ips);

      for (guint i = 0; i < json_array_get_length (array); i++)
        if (cf_json_node_is_string (json_array_get_element (array, i)))
          g_strv_builder_add (builder, json_array_get_string_element (array, i));
    }
  entry->ips = g_strv_builder_end (builder);
  entry->permissions = string_array (permissions);
  if (time != NULL && JSON_NODE_HOLDS_OBJECT (time) &&
      json_object_get_size (json_node_get_object (time)) > 0)
    entry->time = json_object_ref (json_node_get_object (time));
  entry->per_hour = limit_of (limits_object, "requests_per_hour");
  entry->per_day = limit_of (limits_object, "requests_per_day");
  entry->hour.start = entry->day.start = now;
  if (cf_json_object_get_int (row, "used_hour", &used))
    entry->hour.count = (guint) CLAMP (used, 0, G_MAXUINT);
  if (cf_json_object_get_int (row, "used_day", &used))
    entry->day.count = (guint) CLAMP (used, 0, G_MAXUINT);
  return entry;
}

/* Replaces the entry of @row's jti; counters already running survive. */
static void
remember (CfTokens   *self,
          JsonObject *row)
{
  const char *jti = cf_json_object_get_string (row, "jti");
  Entry *entry;
  Entry *old;

  if (jti == NULL)
    return;
  entry = entry_from_row (row);
  old = g_hash_table_lookup (self->registry, jti);
  if (old != NULL)
    {
      entry->hour = old->hour;
      entry->day = old->day;
    }
  if (entry->revoked)
    _cf_auth_remember_revocation (self->auth, jti,
                                  _cf_auth_parse_iso (cf_json_object_get_string (row,
                                                                                 "expires_at")));
  g_hash_table_replace (self->registry, g_strdup (jti), entry);
}

/**
 * cf_tokens_remember:
 * @self: a #CfTokens
 * @row: an email_api_tokens row as the store returns it
 *
 * Brings the registry up to date after a write.
 */
void
cf_tokens_remember (CfTokens   *self,
                    JsonObject *row)
{
  g_return_if_fail (CF_IS_TOKENS (self));
  g_return_if_fail (row != NULL);
  remember (self, row);
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
load_rows (CfTokens  *self,
           GPtrArray *rows)
{
  g_autoptr(GHashTable) old = g_steal_pointer (&self->registry);

  self->registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  for (guint i = 0; i < rows->len; i++)
    {
      JsonObject *row = g_ptr_array_index (rows, i);
      const char *jti = cf_json_object_get_string (row, "jti");
      Entry *previous = jti ? g_hash_table_lookup (old, jti) : NULL;

      remember (self, row);
      if (previous != NULL && jti != NULL)
        {
          Entry *entry = g_hash_table_lookup (self->registry, jti);

          entry->hour = previous->hour;
          entry->day = previous->day;
        }
    }
}

static void
load_values (char **since_hour,
             char **since_day)
{
  gint64 now = g_get_real_time ();

  *since_hour = _cf_tokens_format_ms (now - (gint64) 3600 * G_USEC_PER_SEC);
  *since_day = _cf_tokens_format_ms (now - (gint64) 86400 * G_USEC_PER_SEC);
}

static void
store_result (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  *(GAsyncResult **) user_data = g_object_ref (result);
}

static GPtrArray *
query_sync (CfStore             *store,
            CfStoreTokenOp       op,
            const char * const  *values,
            guint                n_values,
            GError             **error)
{
  g_autoptr(GMainContext) context = g_main_context_new ();
  g_autoptr(GAsyncResult) result = NULL;
  GPtrArray *rows;

  g_main_context_push_thread_default (context);
  cf_store_token_query_async (store, op, values, n_values, NULL, store_result, &result);
  while (result == NULL)
    g_main_context_iteration (context, TRUE);
  rows = cf_store_token_query_finish (store, result, error);
  g_main_context_pop_thread_default (context);
  return rows;
}

/**
 * cf_tokens_load:
 * @self: a #CfTokens
 * @error: return location for a #GError
 *
 * Reads every token into the registry, blocking, as startup may; the
 * usage counters start from the log of the last hour and day.
 *
 * Returns: %TRUE on success
 */
gboolean
cf_tokens_load (CfTokens  *self,
                GError   **error)
{
  g_autofree char *since_hour = NULL;
  g_autofree char *since_day = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) version = NULL;

  g_return_val_if_fail (CF_IS_TOKENS (self), FALSE);

  load_values (&since_hour, &since_day);
  version = query_sync (self->store, CF_STORE_TOKEN_DATA_VERSION, NULL, 0, error);
  if (version == NULL)
    return FALSE;
  rows = query_sync (self->store, CF_STORE_TOKEN_LOAD,
                     (const char * const[]) { since_hour, since_day }, 2, error);
  if (rows == NULL)
    return FALSE;
  if (version->len > 0)
    cf_json_object_get_int (g_ptr_array_index (version, 0), "data_version", &self->data_version);
  load_rows (self, rows);
  g_debug ("Loaded %u API tokens", g_hash_table_size (self->registry));
  return TRUE;
}

static void check_done (CfTokens *self);

static void
on_reloaded (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(CfTokens) self = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;

  rows = cf_store_token_query_finish (CF_STORE (source), result, &error);
  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED))
        g_warning ("Cannot reload the API tokens: %s", error->message);
      /* Try again at the next change or poll. */
      self->data_version = -1;
      check_done (self);
      return;
    }
  check_done (self);
  load_rows (self, rows);
  g_message ("Reloaded %u API tokens after an outside change", g_hash_table_size (self->registry));
  g_signal_emit (self, signals[CHANGED], 0);
}

static void
on_data_version (GObject      *source,
                 GAsyncResult *result,
                 gpointer      user_data)
{
  g_autoptr(CfTokens) self = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *since_hour = NULL;
  g_autofree char *since_day = NULL;
  gint64 version = -1;

  rows = cf_store_token_query_finish (CF_STORE (source), result, &error);
  if (rows == NULL || rows->len == 0 ||
      !cf_json_object_get_int (g_ptr_array_index (rows, 0), "data_version", &version) ||
      version == self->data_version)
    {
      check_done (self);
      return;
    }
  self->data_version = version;
  load_values (&since_hour, &since_day);
  cf_store_token_query_async (self->store, CF_STORE_TOKEN_LOAD,
                              (const char * const[]) { since_hour, since_day }, 2,
                              self->cancellable, on_reloaded, g_object_ref (self));
}

/* Asks the database whether another process wrote; a change noticed
 * while a check is under way makes one more. */
static void
check_data_version (CfTokens *self)
{
  if (self->polling)
    {
      self->recheck = TRUE;
      return;
    }
  self->polling = TRUE;
  self->recheck = FALSE;
  cf_store_token_query_async (self->store, CF_STORE_TOKEN_DATA_VERSION, NULL, 0,
                              self->cancellable, on_data_version, g_object_ref (self));
}

static void
check_done (CfTokens *self)
{
  self->polling = FALSE;
  if (self->recheck && self->started)
    check_data_version (self);
}

static gboolean
poll_data_version (gpointer user_data)
{
  check_data_version (user_data);
  return G_SOURCE_CONTINUE;
}

static void
on_log_changed (GFileMonitor      *monitor,
                GFile             *file,
                GFile             *other,
                GFileMonitorEvent  event,
                gpointer           user_data)
{
  if (event == G_FILE_MONITOR_EVENT_CHANGED || event == G_FILE_MONITOR_EVENT_CREATED)
    check_data_version (user_data);
}

static gboolean
flush_usage (gpointer user_data)
{
  CfTokens *self = user_data;

  cf_tokens_flush_usage (self);
  /* A batch in flight leaves what came after it for the next round. */
  if (self->usage->len > 0 || self->flushing)
    return G_SOURCE_CONTINUE;
  self->flush_id = 0;
  return G_SOURCE_REMOVE;
}

/* Usage was buffered: it is written within FLUSH_INTERVAL_MS. */
void
_cf_tokens_arm_flush (CfTokens *self)
{
  if (self->started && self->flush_id == 0)
    self->flush_id = g_timeout_add (FLUSH_INTERVAL_MS, flush_usage, self);
}

static void
watch_log (CfTokens *self)
{
  const char *path = cf_store_get_path (self->store);
  g_autofree char *log_path = NULL;
  g_autoptr(GFile) log = NULL;
  g_autoptr(GError) error = NULL;

  if (path == NULL || *path == '\0' || g_str_equal (path, ":memory:"))
    return;
  log_path = g_strconcat (path, "-wal", NULL);
  log = g_file_new_for_path (log_path);
  self->monitor = g_file_monitor_file (log, G_FILE_MONITOR_NONE, NULL, &error);
  if (self->monitor == NULL)
    {
      g_message ("Cannot watch %s (%s): outside token changes are seen within %u s",
                 log_path, error->message, POLL_INTERVAL_S);
      return;
    }
  g_file_monitor_set_rate_limit (self->monitor, MONITOR_RATE_MS);
  g_signal_connect (self->monitor, "changed", G_CALLBACK (on_log_changed), self);
}

/**
 * cf_tokens_start:
 * @self: a #CfTokens
 *
 * Starts the timers that write usage and watch for outside writes.
 */
void
cf_tokens_start (CfTokens *self)
{
  g_return_if_fail (CF_IS_TOKENS (self));

  if (self->started)
    return;
  self->started = TRUE;
  watch_log (self);
  self->poll_id = g_timeout_add_seconds (POLL_INTERVAL_S, poll_data_version, self);
  if (self->usage->len > 0)
    _cf_tokens_arm_flush (self);
}

/**
 * cf_tokens_stop:
 * @self: a #CfTokens
 *
 * Writes what usage is buffered and stops the timers.
 */
void
cf_tokens_stop (CfTokens *self)
{
  g_return_if_fail (CF_IS_TOKENS (self));

  self->started = FALSE;
  if (self->monitor != NULL)
    {
      g_signal_handlers_disconnect_by_func (self->monitor, on_log_changed, self);
      g_file_monitor_cancel (self->monitor);
      g_clear_object (&self->monitor);
    }
  g_clear_handle_id (&self->poll_id, g_source_remove);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (self->store != NULL)
    cf_tokens_flush_usage (self);
}
