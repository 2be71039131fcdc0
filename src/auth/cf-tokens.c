/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tokens"

#include "config.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>

#include "cf-auth-http.h"
#include "cf-auth-private.h"
#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-token-scope.h"
#include "cf-tokens.h"

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

/* How often the registry looks for writes by another process, and how
 * often buffered usage is written. */
#define POLL_INTERVAL_MS 500
#define FLUSH_INTERVAL_MS 1000
/* A batch is written at once past this many entries. */
#define FLUSH_AT 256
/* Past this many, entries are dropped (the database is stuck). */
#define USAGE_MAX 65536
#define RATE_WINDOW_S 60
#define RATE_TABLE_MAX 10000
#define MAX_NAME 255
#define MAX_DESCRIPTION 1000
#define MAX_LIST 100
#define MCP_UNAUTHORIZED_CODE (-32003)
#define LIMIT_ERROR_CODE 429

struct _CfTokens
{
  GObject            parent_instance;

  CfAuth            *auth;
  CfStore           *store;
  CfScopeLookupFunc  lookup;
  gpointer           lookup_data;
  /* jti -> Entry */
  GHashTable        *registry;
  /* "t:jti" or "u:email" -> Window */
  GHashTable        *rates;
  /* usage entries, see usage_entry_free() */
  GPtrArray         *usage;
  GCancellable      *cancellable;
  guint              poll_id;
  guint              flush_id;
  gint64             data_version;
  gboolean           polling;
  gboolean           flushing;
};

typedef struct {
  gint64 start;
  guint  count;
} Window;

typedef struct {
  char       *id;
  char       *email;
  char       *server_id;
  /* scope.permissions as stored now: a PUT may have changed them since
   * the token (and its claims) was made */
  GStrv       permissions;
  GStrv       ips;
  JsonObject *time;
  gboolean    active;
  gboolean    revoked;
  guint       per_hour;
  guint       per_day;
  Window      hour;
  Window      day;
} Entry;

#define USAGE_COLUMNS 11

G_DEFINE_FINAL_TYPE (CfTokens, cf_tokens, G_TYPE_OBJECT)

/* A usage entry: USAGE_COLUMNS strings, any of them NULL. */
static void
usage_entry_free (gpointer data)
{
  char **entry = data;

  for (guint i = 0; i < USAGE_COLUMNS; i++)
    g_free (entry[i]);
  g_free (entry);
}
G_DEFINE_QUARK (cf-tokens-error-quark, cf_tokens_error)

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
}

static void
cf_tokens_init (CfTokens *self)
{
  self->registry = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, entry_free);
  self->rates = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, g_free);
  self->usage = g_ptr_array_new_with_free_func (usage_entry_free);
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

static gint64
now_s (void)
{
  return g_get_real_time () / G_USEC_PER_SEC;
}

/* The store's timestamp format, with milliseconds, so that usage rows
 * compare as strings with strftime's. */
static char *
format_ms (gint64 unix_us)
{
  g_autoptr(GDateTime) time = g_date_time_new_from_unix_utc (unix_us / G_USEC_PER_SEC);
  g_autofree char *base = g_date_time_format (time, "%Y-%m-%dT%H:%M:%S");

  return g_strdup_printf ("%s.%03dZ", base, (int) ((unix_us % G_USEC_PER_SEC) / 1000));
}

/* The registry */

static JsonNode *
parse_column (JsonObject *row,
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
  g_autoptr(JsonNode) ips = parse_column (row, "ip_restrictions");
  g_autoptr(JsonNode) time = parse_column (row, "time_restrictions");
  g_autoptr(JsonNode) limits = parse_column (row, "usage_limits");
  g_autoptr(JsonNode) permissions = parse_column (row, "resource_scopes");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  JsonObject *limits_object = limits && JSON_NODE_HOLDS_OBJECT (limits)
                              ? json_node_get_object (limits) : NULL;
  gint64 used = 0;
  gint64 now = now_s ();

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

  *since_hour = format_ms (now - (gint64) 3600 * G_USEC_PER_SEC);
  *since_day = format_ms (now - (gint64) 86400 * G_USEC_PER_SEC);
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

static void
on_reloaded (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(CfTokens) self = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;

  rows = cf_store_token_query_finish (CF_STORE (source), result, &error);
  self->polling = FALSE;
  if (rows == NULL)
    {
      if (!g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED) &&
          !g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CLOSED))
        g_warning ("Cannot reload the API tokens: %s", error->message);
      /* Try again at the next poll. */
      self->data_version = -1;
      return;
    }
  load_rows (self, rows);
  g_message ("Reloaded %u API tokens after an outside change", g_hash_table_size (self->registry));
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
      self->polling = FALSE;
      return;
    }
  self->data_version = version;
  load_values (&since_hour, &since_day);
  cf_store_token_query_async (self->store, CF_STORE_TOKEN_LOAD,
                              (const char * const[]) { since_hour, since_day }, 2,
                              self->cancellable, on_reloaded, g_object_ref (self));
}

static gboolean
poll_data_version (gpointer user_data)
{
  CfTokens *self = user_data;

  if (self->polling)
    return G_SOURCE_CONTINUE;
  self->polling = TRUE;
  cf_store_token_query_async (self->store, CF_STORE_TOKEN_DATA_VERSION, NULL, 0,
                              self->cancellable, on_data_version, g_object_ref (self));
  return G_SOURCE_CONTINUE;
}

/* Usage */

static void
on_flushed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfTokens) self = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;

  rows = cf_store_token_query_finish (CF_STORE (source), result, &error);
  self->flushing = FALSE;
  if (rows == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Cannot write the API token usage log: %s", error->message);
}

/**
 * cf_tokens_flush_usage:
 * @self: a #CfTokens
 *
 * Writes the buffered usage entries now, unless a batch is being written.
 */
void
cf_tokens_flush_usage (CfTokens *self)
{
  g_autoptr(GPtrArray) batch = NULL;

  g_return_if_fail (CF_IS_TOKENS (self));

  if (self->flushing || self->usage->len == 0)
    return;
  batch = g_steal_pointer (&self->usage);
  self->usage = g_ptr_array_new_with_free_func (usage_entry_free);
  self->flushing = TRUE;
  cf_store_token_usage_add_async (self->store, batch, NULL, on_flushed, g_object_ref (self));
}

static gboolean
flush_usage (gpointer user_data)
{
  cf_tokens_flush_usage (user_data);
  return G_SOURCE_CONTINUE;
}

/**
 * cf_tokens_get_pending_usage:
 *
 * Returns: how many usage entries wait for the next batch
 */
guint
cf_tokens_get_pending_usage (CfTokens *self)
{
  g_return_val_if_fail (CF_IS_TOKENS (self), 0);
  return self->usage->len;
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

  if (self->poll_id == 0)
    self->poll_id = g_timeout_add (POLL_INTERVAL_MS, poll_data_version, self);
  if (self->flush_id == 0)
    self->flush_id = g_timeout_add (FLUSH_INTERVAL_MS, flush_usage, self);
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

  g_clear_handle_id (&self->poll_id, g_source_remove);
  g_clear_handle_id (&self->flush_id, g_source_remove);
  g_cancellable_cancel (self->cancellable);
  if (self->store != NULL)
    cf_tokens_flush_usage (self);
}

typedef struct {
  CfTokens *self;
  char     *jti;
  char     *email;
  char     *endpoint;
  char     *method;
  char     *ip;
  char     *agent;
  gint64    started;
} Usage;

static void
usage_free (gpointer data,
            GClosure *closure)
{
  Usage *usage = data;

  g_object_unref (usage->self);
  g_free (usage->jti);
  g_free (usage->email);
  g_free (usage->endpoint);
  g_free (usage->method);
  g_free (usage->ip);
  g_free (usage->agent);
  g_free (usage);
}

static void
push_usage (CfTokens   *self,
            Usage      *usage,
            guint       status,
            gint64      elapsed_ms,
            const char *block_reason)
{
  char **entry;

  if (self->usage->len >= USAGE_MAX)
    return;
  entry = g_new0 (char *, USAGE_COLUMNS);
  entry[0] = g_strdup (usage->jti);
  entry[1] = g_strdup (usage->email);
  entry[2] = format_ms (usage->started);
  entry[3] = g_strdup (usage->endpoint);
  entry[4] = g_strdup (usage->method);
  entry[5] = g_strdup (usage->ip);
  entry[6] = g_strdup (usage->agent);
  entry[7] = g_strdup_printf ("%u", status);
  entry[8] = g_strdup_printf ("%" G_GINT64_FORMAT, elapsed_ms);
  entry[9] = g_strdup (block_reason ? "1" : "0");
  entry[10] = g_strdup (block_reason);
  g_ptr_array_add (self->usage, entry);
  if (self->usage->len >= FLUSH_AT)
    cf_tokens_flush_usage (self);
}

static void
on_usage_finished (SoupServerMessage *msg,
                   Usage             *usage)
{
  push_usage (usage->self, usage, soup_server_message_get_status (msg),
              (g_get_real_time () - usage->started) / 1000, NULL);
}

static char *
client_ip (SoupServerMessage *msg,
           GInetAddress     **out_address)
{
  GSocketAddress *remote = soup_server_message_get_remote_address (msg);
  GInetAddress *address;

  *out_address = NULL;
  if (!G_IS_INET_SOCKET_ADDRESS (remote))
    return NULL;
  address = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (remote));
  *out_address = address;
  return g_inet_address_to_string (address);
}

static Usage *
usage_new (CfTokens          *self,
           SoupServerMessage *msg,
           CfIdentity        *identity,
           const char        *ip)
{
  Usage *usage = g_new0 (Usage, 1);
  const char *agent = soup_message_headers_get_one (soup_server_message_get_request_headers (msg),
                                                    "User-Agent");

  usage->self = g_object_ref (self);
  usage->jti = g_strdup (cf_identity_get_jti (identity));
  usage->email = g_strdup (cf_identity_get_email (identity));
  usage->endpoint = g_strdup (g_uri_get_path (soup_server_message_get_uri (msg)));
  usage->method = g_strdup (soup_server_message_get_method (msg));
  usage->ip = g_strdup (ip);
  usage->agent = agent ? g_utf8_make_valid (agent, MIN (strlen (agent), 255)) : NULL;
  usage->started = g_get_real_time ();
  return usage;
}

/* Enforcement */

static gboolean
is_mcp_path (const char *path)
{
  static const char * const endpoints[] = { "/mcp", "/mcp/", "/rpc", "/sse", "/message", "/ws",
                                            NULL };
  g_auto(GStrv) parts = NULL;

  if (g_strv_contains (endpoints, path))
    return TRUE;
  parts = g_strsplit (path, "/", 5);
  return g_strv_length (parts) == 4 && g_str_equal (parts[1], "servers") &&
         g_strv_contains (endpoints, path + strlen (parts[1]) + strlen (parts[2]) + 2);
}

/* ContextForge's _check_server_restriction: the health checks and the
 * token's own server, nothing else. */
static gboolean
server_allowed (const char *server_id,
                const char *path)
{
  const char *rest = NULL;
  gsize length = strlen (server_id);

  if (g_str_equal (path, "/health") || g_str_equal (path, "/ready"))
    return TRUE;
  if (g_str_has_prefix (path, "/servers/"))
    rest = path + strlen ("/servers/");
  else if (g_str_has_prefix (path, "/v1/servers/"))
    rest = path + strlen ("/v1/servers/");
  return rest != NULL && strncmp (rest, server_id, length) == 0 &&
         (rest[length] == '\0' || rest[length] == '/');
}

/* The id of a JSON-RPC request, when the body says; null otherwise. */
static JsonNode *
request_id (SoupServerMessage *msg)
{
  SoupMessageBody *body = soup_server_message_get_request_body (msg);
  g_autoptr(GBytes) bytes = NULL;
  g_autoptr(JsonNode) node = NULL;
  JsonNode *id;

  if (body == NULL || body->length == 0 || soup_server_message_get_method (msg) != SOUP_METHOD_POST)
    return json_node_new (JSON_NODE_NULL);
  bytes = soup_message_body_flatten (body);
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node) ||
      (id = json_object_get_member (json_node_get_object (node), "id")) == NULL)
    return json_node_new (JSON_NODE_NULL);
  return cf_json_node_deep_copy (id);
}

static void
refuse (SoupServerMessage *msg,
        const char        *path,
        guint              status,
        int                rpc_code,
        const char        *message,
        gint64             retry_after_s)
{
  SoupMessageHeaders *headers = soup_server_message_get_response_headers (msg);

  if (retry_after_s > 0)
    {
      g_autofree char *value = g_strdup_printf ("%" G_GINT64_FORMAT, retry_after_s);

      soup_message_headers_replace (headers, "Retry-After", value);
    }
  if (is_mcp_path (path) && soup_server_message_get_method (msg) == SOUP_METHOD_POST)
    {
      g_autoptr(JsonNode) id = request_id (msg);
      g_autoptr(JsonNode) body = NULL;
      JsonNode *data = NULL;

      if (retry_after_s > 0)
        {
          JsonObject *object = json_object_new ();

          json_object_set_int_member (object, "retryAfterMs", retry_after_s * 1000);
          json_object_set_int_member (object, "retryAfter", retry_after_s);
          data = cf_json_node_new_object (object);
        }
      /* @data is the error's now. */
      body = cf_jsonrpc_build_error (id, rpc_code, message, data);
      cf_http_respond_json (msg, status, body);
    }
  else
    cf_http_respond_error (msg, status, message);
  /* libsoup has no reason phrase for 429. */
  if (status == 429)
    soup_server_message_set_status (msg, status, "Too Many Requests");
}

/* Fixed windows: the count restarts when the window's time is up. */
static gboolean
window_take (Window *window,
             guint   limit,
             gint64  length_s,
             gint64  now,
             gint64 *retry_after_s)
{
  if (now - window->start >= length_s)
    {
      window->start = now;
      window->count = 0;
    }
  if (limit > 0 && window->count >= limit)
    {
      *retry_after_s = MAX (window->start + length_s - now, 1);
      return FALSE;
    }
  window->count++;
  return TRUE;
}

static void
prune_rates (CfTokens *self,
             gint64    now)
{
  GHashTableIter iter;
  Window *window;

  g_hash_table_iter_init (&iter, self->rates);
  while (g_hash_table_iter_next (&iter, NULL, (gpointer *) &window))
    if (now - window->start >= RATE_WINDOW_S)
      g_hash_table_iter_remove (&iter);
  if (g_hash_table_size (self->rates) >= RATE_TABLE_MAX)
    g_hash_table_remove_all (self->rates);
}

static gboolean
check_rate (CfTokens          *self,
            SoupServerMessage *msg,
            CfIdentity        *identity,
            const char        *path,
            gint64             now)
{
  guint limit = cf_auth_get_config (self->auth)->user_rate_limit;
  g_autofree char *key = NULL;
  Window *window;
  gint64 retry = 0;

  if (limit == 0)
    return TRUE;
  if (cf_identity_get_jti (identity) != NULL &&
      g_strcmp0 (cf_identity_get_token_use (identity), "api") == 0)
    key = g_strconcat ("t:", cf_identity_get_jti (identity), NULL);
  else
    key = g_strconcat ("u:", cf_identity_get_email (identity), NULL);
  window = g_hash_table_lookup (self->rates, key);
  if (window == NULL)
    {
      if (g_hash_table_size (self->rates) >= RATE_TABLE_MAX)
        prune_rates (self, now);
      window = g_new0 (Window, 1);
      window->start = now;
      g_hash_table_insert (self->rates, g_steal_pointer (&key), window);
    }
  if (window_take (window, limit, RATE_WINDOW_S, now, &retry))
    return TRUE;
  g_info ("Rate limit: %s made more than %u requests in a minute",
          cf_identity_get_email (identity), limit);
  refuse (msg, path, 429, LIMIT_ERROR_CODE, "Rate limit exceeded: too many requests per minute",
          retry);
  return FALSE;
}

static void
refuse_unauthorized (SoupServerMessage *msg,
                     const char        *detail)
{
  g_autofree char *metadata = cf_auth_http_resource_metadata_url (msg);
  g_autofree char *challenge = g_strdup_printf ("Bearer resource_metadata=\"%s\", "
                                                "error=\"invalid_token\", "
                                                "error_description=\"%s\"", metadata, detail);

  soup_message_headers_append (soup_server_message_get_response_headers (msg),
                               "WWW-Authenticate", challenge);
  cf_http_respond_error (msg, SOUP_STATUS_UNAUTHORIZED, detail);
}

/**
 * cf_tokens_check_request:
 * @self: a #CfTokens
 * @msg: a request whose identity is known
 * @identity: its identity
 *
 * The token scoping step: the per-identity rate limit for everyone; for
 * API tokens, the registry's verdict (unknown, inactive or revoked: 401),
 * then the IP, time window and server restrictions (403), then the usage
 * limits (429 with Retry-After). Refusals are answered here: with
 * ContextForge's `{"detail": ...}` on REST routes, with a JSON-RPC error
 * on MCP endpoints (-32003 for a server the token may not use, 429 with
 * retry data for a limit). Usage of API tokens is recorded.
 *
 * Returns: %TRUE when the request may go on
 */
gboolean
cf_tokens_check_request (CfTokens          *self,
                         SoupServerMessage *msg,
                         CfIdentity        *identity)
{
  const char *path = g_uri_get_path (soup_server_message_get_uri (msg));
  const char *jti = cf_identity_get_jti (identity);
  g_autoptr(GDateTime) now_time = NULL;
  g_autofree char *ip = NULL;
  GInetAddress *address = NULL;
  const char *reason = NULL;
  guint status = SOUP_STATUS_FORBIDDEN;
  int code = MCP_UNAUTHORIZED_CODE;
  gint64 retry = 0;
  gint64 now = now_s ();
  Usage *usage;
  Entry *entry;

  g_return_val_if_fail (CF_IS_TOKENS (self), FALSE);

  /* Health, discovery and login stay open to any credential. */
  if (cf_identity_is_anonymous (identity) || cf_auth_http_is_open_path (path))
    return TRUE;
  if (g_strcmp0 (cf_identity_get_token_use (identity), "api") != 0)
    return check_rate (self, msg, identity, path, now);

  entry = jti ? g_hash_table_lookup (self->registry, jti) : NULL;
  if (entry == NULL || !entry->active || entry->revoked)
    {
      const char *detail = entry == NULL ? "API token not found"
                           : entry->revoked ? "Token has been revoked"
                           : "API token is inactive";

      g_info ("Refused %s %s: %s", soup_server_message_get_method (msg), path, detail);
      refuse_unauthorized (msg, detail);
      return FALSE;
    }
  if (!check_rate (self, msg, identity, path, now))
    return FALSE;

  ip = client_ip (msg, &address);
  if (entry->time != NULL)
    now_time = g_date_time_new_now_utc ();
  if (!cf_token_scope_ip_allowed ((const char * const *) entry->ips, address))
    reason = "Request from an IP address this token does not allow";
  else if (entry->time != NULL && !cf_token_scope_time_allowed (entry->time, now_time))
    reason = "Token is not valid at this time";
  else if (entry->server_id != NULL && !server_allowed (entry->server_id, path))
    reason = "Token not authorized for this server";
  else if (!window_take (&entry->hour, entry->per_hour, 3600, now, &retry))
    reason = "Token usage limit exceeded: requests per hour";
  else if (!window_take (&entry->day, entry->per_day, 86400, now, &retry))
    {
      entry->hour.count--;
      reason = "Token usage limit exceeded: requests per day";
    }
  /* A token's scopes.permissions narrow what the user's roles allow (the
   * rbac step applies them): the stored ones, which a PUT may have
   * changed, not the ones signed into the token when it was made. */
  if (reason == NULL && entry->permissions != NULL)
    cf_identity_set_permissions (identity, (const char * const *) entry->permissions);

  usage = usage_new (self, msg, identity, ip);
  if (reason == NULL)
    {
      g_signal_connect_data (msg, "finished", G_CALLBACK (on_usage_finished), usage,
                             usage_free, 0);
      return TRUE;
    }
  if (retry > 0)
    {
      status = 429;
      code = LIMIT_ERROR_CODE;
    }
  g_info ("Refused %s %s for API token %s: %s", soup_server_message_get_method (msg), path,
          entry->id, reason);
  push_usage (self, usage, status, 0, reason);
  usage_free (usage, NULL);
  refuse (msg, path, status, code, reason, retry);
  return FALSE;
}

/* Creation and update */

static gboolean
invalid (char       **out_field,
         GError     **error,
         const char  *field,
         const char  *format,
         ...) G_GNUC_PRINTF (4, 5);

static gboolean
invalid (char       **out_field,
         GError     **error,
         const char  *field,
         const char  *format,
         ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  if (out_field != NULL)
    *out_field = g_strdup (field);
  g_set_error (error, CF_TOKENS_ERROR, CF_TOKENS_ERROR_INVALID, "%s: %s", field, text);
  return FALSE;
}

static gboolean
is_null (JsonNode *node)
{
  return node == NULL || JSON_NODE_HOLDS_NULL (node);
}

/* A list of at most MAX_LIST short printable strings, as JSON text. */
static gboolean
string_list (JsonNode    *node,
             const char  *field,
             gboolean     cidr,
             char       **out_json,
             char       **out_field,
             GError     **error)
{
  JsonArray *array;
  g_autoptr(JsonNode) copy = NULL;

  if (is_null (node))
    {
      *out_json = g_strdup ("[]");
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_ARRAY (node))
    return invalid (out_field, error, field, "must be a list of strings");
  array = json_node_get_array (node);
  if (json_array_get_length (array) > MAX_LIST)
    return invalid (out_field, error, field, "at most %d items", MAX_LIST);
  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      JsonNode *item = json_array_get_element (array, i);
      g_autoptr(GError) local = NULL;
      const char *text;

      if (!cf_json_node_is_string (item))
        return invalid (out_field, error, field, "must be a list of strings");
      text = json_node_get_string (item);
      if (*text == '\0' || strlen (text) > 255 || !g_utf8_validate (text, -1, NULL))
        return invalid (out_field, error, field, "items must be 1 to 255 characters");
      if (cidr && !cf_token_scope_check_cidr (text, &local))
        return invalid (out_field, error, field, "'%s' is not an IP address or CIDR block (%s)",
                        text, local->message);
    }
  copy = json_node_copy (node);
  *out_json = cf_json_to_string (copy, NULL);
  return TRUE;
}

static gboolean
check_limits (JsonNode    *node,
              char       **out_json,
              char       **out_field,
              GError     **error)
{
  static const char * const members[] = { "requests_per_hour", "requests_per_day" };
  g_autoptr(JsonObject) limits = json_object_new ();

  if (!is_null (node) && !JSON_NODE_HOLDS_OBJECT (node))
    return invalid (out_field, error, "scope.usage_limits", "must be an object");
  for (guint i = 0; !is_null (node) && i < G_N_ELEMENTS (members); i++)
    {
      JsonNode *value = json_object_get_member (json_node_get_object (node), members[i]);
      g_autofree char *field = g_strconcat ("scope.usage_limits.", members[i], NULL);

      if (is_null (value))
        continue;
      if (!cf_json_node_is_integer (value) || json_node_get_int (value) < 1 ||
          json_node_get_int (value) > G_MAXINT32)
        return invalid (out_field, error, field, "must be a positive integer");
      json_object_set_int_member (limits, members[i], json_node_get_int (value));
    }
  *out_json = cf_json_object_to_string (limits);
  return TRUE;
}

static gboolean
check_time (JsonNode    *node,
            char       **out_json,
            char       **out_field,
            GError     **error)
{
  g_autoptr(GError) local = NULL;
  g_autoptr(JsonNode) copy = NULL;

  if (is_null (node))
    {
      *out_json = g_strdup ("{}");
      return TRUE;
    }
  if (!JSON_NODE_HOLDS_OBJECT (node))
    return invalid (out_field, error, "scope.time_restrictions", "must be an object");
  if (!cf_token_scope_check_time (json_node_get_object (node), &local))
    return invalid (out_field, error, "scope.time_restrictions", "%s", local->message);
  copy = cf_json_node_deep_copy (node);
  *out_json = cf_json_to_string (copy, NULL);
  return TRUE;
}

static gboolean
is_mcp_permission (const char *permission)
{
  return g_str_has_prefix (permission, "tools.") || g_str_has_prefix (permission, "resources.") ||
         g_str_has_prefix (permission, "prompts.");
}

/* ContextForge adds servers.use when a token may call MCP methods: the
 * MCP endpoints need it. */
static char *
permissions_with_servers_use (const char *json)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);
  JsonArray *array = json_node_get_array (node);
  gboolean mcp = FALSE, star = FALSE, has_use = FALSE;

  for (guint i = 0; i < json_array_get_length (array); i++)
    {
      const char *permission = json_array_get_string_element (array, i);

      mcp |= is_mcp_permission (permission);
      star |= g_str_equal (permission, "*");
      has_use |= g_str_equal (permission, "servers.use");
    }
  if (mcp && !star && !has_use)
    json_array_add_string_element (array, "servers.use");
  return cf_json_to_string (node, NULL);
}

typedef struct {
  char *server_id;
  char *permissions;
  char *ips;
  char *time;
  char *limits;
} Scope;

static void
scope_clear (Scope *scope)
{
  g_free (scope->server_id);
  g_free (scope->permissions);
  g_free (scope->ips);
  g_free (scope->time);
  g_free (scope->limits);
}

G_DEFINE_AUTO_CLEANUP_CLEAR_FUNC (Scope, scope_clear)

static gboolean
check_scope (CfTokens    *self,
             JsonNode    *node,
             Scope       *scope,
             char       **out_field,
             GError     **error)
{
  JsonObject *object = NULL;
  JsonNode *server;
  g_autofree char *permissions = NULL;

  if (!is_null (node) && !JSON_NODE_HOLDS_OBJECT (node))
    return invalid (out_field, error, "scope", "must be an object");
  if (!is_null (node))
    object = json_node_get_object (node);

  server = object ? json_object_get_member (object, "server_id") : NULL;
  if (!is_null (server))
    {
      const char *id = cf_json_node_is_string (server) ? json_node_get_string (server) : NULL;

      if (id == NULL || *id == '\0' || strlen (id) > 255)
        return invalid (out_field, error, "scope.server_id", "must be a server id");
      if (self->lookup != NULL && self->lookup (id, self->lookup_data) == NULL)
        return invalid (out_field, error, "scope.server_id", "Server not found: %s", id);
      scope->server_id = g_strdup (id);
    }
  if (!string_list (object ? json_object_get_member (object, "permissions") : NULL,
                    "scope.permissions", FALSE, &permissions, out_field, error) ||
      !string_list (object ? json_object_get_member (object, "ip_restrictions") : NULL,
                    "scope.ip_restrictions", TRUE, &scope->ips, out_field, error) ||
      !check_time (object ? json_object_get_member (object, "time_restrictions") : NULL,
                   &scope->time, out_field, error) ||
      !check_limits (object ? json_object_get_member (object, "usage_limits") : NULL,
                     &scope->limits, out_field, error))
    return FALSE;
  scope->permissions = permissions_with_servers_use (permissions);
  return TRUE;
}

static gboolean
optional_text (JsonObject  *request,
               const char  *member,
               gsize        max,
               gboolean     required,
               char       **out,
               char       **out_field,
               GError     **error)
{
  JsonNode *node = json_object_get_member (request, member);
  g_autofree char *text = NULL;

  if (is_null (node))
    {
      if (required)
        return invalid (out_field, error, member, "Field required");
      return TRUE;
    }
  if (!cf_json_node_is_string (node))
    return invalid (out_field, error, member, "Input should be a valid string");
  text = g_strstrip (g_strdup (json_node_get_string (node)));
  if (required && *text == '\0')
    return invalid (out_field, error, member, "String should have at least 1 character");
  if (strlen (text) > max)
    return invalid (out_field, error, member, "at most %" G_GSIZE_FORMAT " characters", max);
  *out = g_steal_pointer (&text);
  return TRUE;
}

static gboolean
optional_bool (JsonObject  *request,
               const char  *member,
               int         *out,
               char       **out_field,
               GError     **error)
{
  JsonNode *node = json_object_get_member (request, member);

  if (is_null (node))
    return TRUE;
  if (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN)
    return invalid (out_field, error, member, "Input should be a valid boolean");
  *out = json_node_get_boolean (node);
  return TRUE;
}

static char *
token_hash (const char *token)
{
  guint8 digest[32];
  static const char hex[] = "0123456789abcdef";
  char *out = g_malloc (sizeof digest * 2 + 1);

  if (gnutls_hash_fast (GNUTLS_DIG_SHA256, token, strlen (token), digest) < 0)
    g_error ("GnuTLS cannot compute SHA-256");
  for (guint i = 0; i < sizeof digest; i++)
    {
      out[2 * i] = hex[digest[i] >> 4];
      out[2 * i + 1] = hex[digest[i] & 0x0f];
    }
  out[sizeof digest * 2] = '\0';
  return out;
}

static JsonNode *
parse_text (const char *json)
{
  return cf_json_parse (json, -1, NULL);
}

static char *
mint (CfTokens    *self,
      JsonObject  *user,
      const char  *jti,
      const char  *team_id,
      Scope       *scope,
      gint64       now,
      gint64       exp,
      GError     **error)
{
  CfAuthConfig *config = cf_auth_get_config (self->auth);
  g_autoptr(JsonObject) claims = json_object_new ();
  JsonObject *profile = json_object_new ();
  JsonObject *scopes = json_object_new ();
  const char *email = json_object_get_string_member (user, "email");
  g_autoptr(JsonNode) permissions = parse_text (scope->permissions);
  g_autoptr(JsonNode) ips = parse_text (scope->ips);
  g_autoptr(JsonNode) time = parse_text (scope->time);

  json_object_set_string_member (claims, "sub", email);
  json_object_set_string_member (claims, "iss", config->jwt_issuer);
  json_object_set_string_member (claims, "aud", config->jwt_audience);
  json_object_set_int_member (claims, "iat", now);
  if (exp != 0)
    json_object_set_int_member (claims, "exp", exp);
  json_object_set_string_member (claims, "jti", jti);
  json_object_set_string_member (claims, "token_use", "api");
  json_object_set_string_member (profile, "email", email);
  json_object_set_string_member (profile, "full_name",
                                 cf_json_object_get_string (user, "full_name") ?: "");
  json_object_set_boolean_member (profile, "is_admin", _cf_auth_row_flag (user, "is_admin"));
  json_object_set_string_member (profile, "auth_provider",
                                 cf_json_object_get_string (user, "auth_provider") ?: "local");
  json_object_set_object_member (claims, "user", profile);
  if (team_id != NULL)
    {
      JsonArray *teams = json_array_new ();

      json_array_add_string_element (teams, team_id);
      json_object_set_array_member (claims, "teams", teams);
    }
  else
    json_object_set_null_member (claims, "teams");
  if (scope->server_id != NULL)
    json_object_set_string_member (scopes, "server_id", scope->server_id);
  else
    json_object_set_null_member (scopes, "server_id");
  json_object_set_member (scopes, "permissions", g_steal_pointer (&permissions));
  json_object_set_member (scopes, "ip_restrictions", g_steal_pointer (&ips));
  json_object_set_member (scopes, "time_restrictions", g_steal_pointer (&time));
  json_object_set_object_member (claims, "scopes", scopes);
  return cf_jwt_sign (cf_auth_get_jwt (self->auth), claims, error);
}

/* A version 4 UUID from the key-grade generator. */
static char *
new_uuid (void)
{
  guint8 b[16];

  if (gnutls_rnd (GNUTLS_RND_NONCE, b, sizeof b) < 0)
    g_error ("The system has no randomness for a token id");
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  return g_strdup_printf ("%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-"
                          "%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3], b[4], b[5],
                          b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

/**
 * cf_tokens_prepare:
 * @self: a #CfTokens
 * @user: the owner's email_users row (email, full_name, is_admin,
 *   auth_provider)
 * @request: ContextForge's TokenCreateRequest
 * @team_id: (nullable): the team the token is for; membership is the
 *   caller's to check
 * @out_token: (out): the signed token, to show once
 * @out_field: (out) (optional): the field at fault on failure
 * @error: return location for a #GError
 *
 * Checks @request and mints the token. A bad field is
 * %CF_TOKENS_ERROR_INVALID.
 *
 * Returns: (transfer full) (element-type utf8) (nullable): the 16 values
 *   of %CF_STORE_TOKEN_INSERT, some %NULL
 */
GPtrArray *
cf_tokens_prepare (CfTokens    *self,
                   JsonObject  *user,
                   JsonObject  *request,
                   const char  *team_id,
                   char       **out_token,
                   char       **out_field,
                   GError     **error)
{
  CfAuthConfig *config;
  g_auto(Scope) scope = { 0 };
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  g_autofree char *tags = NULL;
  g_autofree char *token = NULL;
  g_autofree char *jti = NULL;
  GPtrArray *values;
  JsonNode *days = json_object_get_member (request, "expires_in_days");
  int active = TRUE;
  gint64 now = now_s ();
  gint64 exp = 0;

  g_return_val_if_fail (CF_IS_TOKENS (self), NULL);
  g_return_val_if_fail (user != NULL && request != NULL, NULL);

  config = cf_auth_get_config (self->auth);
  if (!optional_text (request, "name", MAX_NAME, TRUE, &name, out_field, error) ||
      !optional_text (request, "description", MAX_DESCRIPTION, FALSE, &description, out_field,
                      error) ||
      !check_scope (self, json_object_get_member (request, "scope"), &scope, out_field, error) ||
      !string_list (json_object_get_member (request, "tags"), "tags", FALSE, &tags, out_field,
                    error) ||
      !optional_bool (request, "is_active", &active, out_field, error))
    return NULL;
  if (!is_null (days))
    {
      if (!cf_json_node_is_integer (days) || json_node_get_int (days) < 1 ||
          json_node_get_int (days) > CF_TOKENS_MAX_DAYS)
        {
          invalid (out_field, error, "expires_in_days", "must be an integer from 1 to %d",
                   CF_TOKENS_MAX_DAYS);
          return NULL;
        }
      exp = now + json_node_get_int (days) * 86400;
    }
  else if (config->require_exp)
    {
      invalid (out_field, error, "expires_in_days",
               "Token expiration is required (REQUIRE_TOKEN_EXPIRATION)");
      return NULL;
    }

  jti = new_uuid ();
  token = mint (self, user, jti, team_id, &scope, now, exp, error);
  if (token == NULL)
    return NULL;

  values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (values, new_uuid ());
  g_ptr_array_add (values, g_strdup (json_object_get_string_member (user, "email")));
  g_ptr_array_add (values, g_strdup (team_id));
  g_ptr_array_add (values, g_steal_pointer (&name));
  g_ptr_array_add (values, g_steal_pointer (&description));
  g_ptr_array_add (values, g_steal_pointer (&jti));
  g_ptr_array_add (values, token_hash (token));
  g_ptr_array_add (values, g_steal_pointer (&scope.server_id));
  g_ptr_array_add (values, g_steal_pointer (&scope.permissions));
  g_ptr_array_add (values, g_steal_pointer (&scope.ips));
  g_ptr_array_add (values, g_steal_pointer (&scope.time));
  g_ptr_array_add (values, g_steal_pointer (&scope.limits));
  g_ptr_array_add (values, g_steal_pointer (&tags));
  g_ptr_array_add (values, _cf_auth_format_iso (now));
  g_ptr_array_add (values, exp != 0 ? _cf_auth_format_iso (exp) : NULL);
  g_ptr_array_add (values, g_strdup (active ? "1" : "0"));
  *out_token = g_steal_pointer (&token);
  return values;
}

/**
 * cf_tokens_prepare_update:
 * @self: a #CfTokens
 * @id: the token's id
 * @request: ContextForge's TokenUpdateRequest: name, description, scope,
 *   tags, is_active, each optional
 * @out_field: (out) (optional): the field at fault on failure
 * @error: return location for a #GError
 *
 * A scope, when given, replaces the whole stored scope. The token itself
 * does not change: enforcement reads the registry, not the claims.
 *
 * Returns: (transfer full) (nullable): the 10 values of
 *   %CF_STORE_TOKEN_UPDATE
 */
GPtrArray *
cf_tokens_prepare_update (CfTokens    *self,
                          const char  *id,
                          JsonObject  *request,
                          char       **out_field,
                          GError     **error)
{
  g_auto(Scope) scope = { 0 };
  g_autofree char *name = NULL;
  g_autofree char *description = NULL;
  g_autofree char *tags = NULL;
  JsonNode *scope_node = json_object_get_member (request, "scope");
  GPtrArray *values;
  int active = -1;

  g_return_val_if_fail (CF_IS_TOKENS (self), NULL);

  if (!optional_text (request, "name", MAX_NAME, FALSE, &name, out_field, error) ||
      !optional_text (request, "description", MAX_DESCRIPTION, FALSE, &description, out_field,
                      error) ||
      (scope_node != NULL && !check_scope (self, scope_node, &scope, out_field, error)) ||
      (json_object_has_member (request, "tags") &&
       !string_list (json_object_get_member (request, "tags"), "tags", FALSE, &tags, out_field,
                     error)) ||
      !optional_bool (request, "is_active", &active, out_field, error))
    return NULL;
  if (name != NULL && *name == '\0')
    {
      invalid (out_field, error, "name", "String should have at least 1 character");
      return NULL;
    }

  values = g_ptr_array_new_with_free_func (g_free);
  g_ptr_array_add (values, g_strdup (id));
  g_ptr_array_add (values, g_steal_pointer (&name));
  g_ptr_array_add (values, g_steal_pointer (&description));
  g_ptr_array_add (values, scope_node == NULL ? NULL : g_strdup (scope.server_id ?: ""));
  g_ptr_array_add (values, g_steal_pointer (&scope.permissions));
  g_ptr_array_add (values, g_steal_pointer (&scope.ips));
  g_ptr_array_add (values, g_steal_pointer (&scope.time));
  g_ptr_array_add (values, g_steal_pointer (&scope.limits));
  g_ptr_array_add (values, g_steal_pointer (&tags));
  g_ptr_array_add (values, active < 0 ? NULL : g_strdup (active ? "1" : "0"));
  return values;
}

static void
set_json_column (JsonObject *out,
                 JsonObject *row,
                 const char *column,
                 JsonNodeType type)
{
  g_autoptr(JsonNode) node = parse_column (row, column);

  if (node == NULL || JSON_NODE_TYPE (node) != type)
    {
      g_clear_pointer (&node, json_node_unref);
      node = json_node_new (type);
      if (type == JSON_NODE_ARRAY)
        json_node_take_array (node, json_array_new ());
      else
        json_node_take_object (node, json_object_new ());
    }
  json_object_set_member (out, column, g_steal_pointer (&node));
}

static void
set_text (JsonObject *out,
          JsonObject *row,
          const char *column,
          const char *as)
{
  const char *value = cf_json_object_get_string (row, column);

  if (value != NULL)
    json_object_set_string_member (out, as ? as : column, value);
  else
    json_object_set_null_member (out, as ? as : column);
}

/**
 * cf_tokens_response:
 * @row: a token row as the store returns it
 *
 * Returns: (transfer full): ContextForge's TokenResponse: never the token
 *   nor its hash
 */
JsonObject *
cf_tokens_response (JsonObject *row)
{
  JsonObject *out = json_object_new ();
  g_autoptr(JsonNode) limits = NULL;

  g_return_val_if_fail (row != NULL, NULL);

  set_text (out, row, "id", NULL);
  set_text (out, row, "name", NULL);
  set_text (out, row, "description", NULL);
  set_text (out, row, "user_email", NULL);
  set_text (out, row, "team_id", NULL);
  set_text (out, row, "server_id", NULL);
  set_json_column (out, row, "resource_scopes", JSON_NODE_ARRAY);
  set_json_column (out, row, "ip_restrictions", JSON_NODE_ARRAY);
  set_json_column (out, row, "time_restrictions", JSON_NODE_OBJECT);
  set_json_column (out, row, "usage_limits", JSON_NODE_OBJECT);
  set_text (out, row, "created_at", NULL);
  set_text (out, row, "expires_at", NULL);
  set_text (out, row, "last_used", NULL);
  json_object_set_boolean_member (out, "is_active", _cf_auth_row_flag (row, "is_active"));
  json_object_set_boolean_member (out, "is_revoked", json_object_has_member (row, "revoked_at"));
  set_text (out, row, "revoked_at", NULL);
  set_text (out, row, "revoked_by", NULL);
  set_text (out, row, "revocation_reason", NULL);
  set_json_column (out, row, "tags", JSON_NODE_ARRAY);
  return out;
}
