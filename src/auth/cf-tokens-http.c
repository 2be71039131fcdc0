/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tokens-http"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-tokens.h"

/*
 * ContextForge's /tokens routes (routers/tokens.py), under /tokens and
 * /v1/tokens, and the token scoping middleware step. Every route needs a
 * signed-in user; a user sees and changes only their own tokens, platform
 * admins all of them through /tokens/admin, team owners their team's
 * through /tokens/teams/{team_id}.
 *
 * ContextForge also requires tokens.create, tokens.read, tokens.update
 * and tokens.revoke: the `rbac` middleware step (cf-teams-http.c) checks
 * them before a route runs; require_permission() is the hook for any
 * finer check here.
 *
 * The `token-scope` step runs before `rbac`: ContextForge's layer 1
 * (token scoping) before layer 2 (permissions).
 */

#define DEFAULT_USAGE_DAYS 30
#define MAX_USAGE_DAYS 365

typedef enum {
  OP_CREATE,
  OP_LIST,
  OP_GET,
  OP_UPDATE,
  OP_REVOKE,
  OP_USAGE,
  OP_ADMIN_LIST,
  OP_ADMIN_REVOKE,
  OP_TEAM_CREATE,
  OP_TEAM_LIST,
} Op;

typedef struct {
  CfTokens          *tokens;
  SoupServerMessage *msg;
  CfIdentity        *identity;
  Op                 op;
  char              *id;
  char              *team_id;
  JsonObject        *body;
  guint              days;
  gulong             finished_id;
  gulong             disconnected_id;
  gboolean           gone;
} Request;

static void
on_message_gone (SoupServerMessage *msg,
                 Request           *request)
{
  request->gone = TRUE;
}

static Request *
request_new (CfTokens          *tokens,
             SoupServerMessage *msg,
             CfIdentity        *identity,
             Op                 op)
{
  Request *request = g_new0 (Request, 1);

  request->tokens = g_object_ref (tokens);
  request->msg = g_object_ref (msg);
  request->identity = g_object_ref (identity);
  request->op = op;
  request->finished_id = g_signal_connect (msg, "finished", G_CALLBACK (on_message_gone), request);
  request->disconnected_id = g_signal_connect (msg, "disconnected", G_CALLBACK (on_message_gone),
                                               request);
  soup_server_message_pause (msg);
  return request;
}

static void
request_free (Request *request)
{
  if (!request->gone)
    soup_server_message_unpause (request->msg);
  g_clear_signal_handler (&request->finished_id, request->msg);
  g_clear_signal_handler (&request->disconnected_id, request->msg);
  g_object_unref (request->msg);
  g_object_unref (request->identity);
  g_object_unref (request->tokens);
  g_clear_pointer (&request->body, json_object_unref);
  g_free (request->id);
  g_free (request->team_id);
  g_free (request);
}

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Request, request_free)

/* Answers */

/* FastAPI's 422: {"detail": [{"type", "loc": [where, ...], "msg"}]}, @field
 * dotted for a nested one. */
static void
respond_invalid_in (SoupServerMessage *msg,
                    const char        *where,
                    const char        *field,
                    const char        *text)
{
  JsonObject *body = json_object_new ();
  JsonArray *details = json_array_new ();
  JsonObject *detail = json_object_new ();
  JsonArray *loc = json_array_new ();
  g_auto(GStrv) parts = g_strsplit (field ? field : "", ".", -1);

  json_array_add_string_element (loc, where);
  for (guint i = 0; parts[i] != NULL; i++)
    if (*parts[i] != '\0')
      json_array_add_string_element (loc, parts[i]);
  json_object_set_string_member (detail, "type", "value_error");
  json_object_set_array_member (detail, "loc", loc);
  json_object_set_string_member (detail, "msg", text);
  json_array_add_object_element (details, detail);
  json_object_set_array_member (body, "detail", details);
  cf_http_respond_object (msg, SOUP_STATUS_UNPROCESSABLE_ENTITY, body);
}

static void
respond_invalid (SoupServerMessage *msg,
                 const char        *field,
                 const char        *text)
{
  respond_invalid_in (msg, "body", field, text);
}

static void
respond_store_error (Request      *request,
                     const GError *error,
                     const char   *what)
{
  if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    cf_http_respond_error (request->msg, SOUP_STATUS_NOT_FOUND, "Token not found");
  else if (g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT))
    respond_invalid (request->msg, "name", "A token with this name already exists for the user");
  else
    {
      g_warning ("%s: %s", what, error->message);
      cf_http_respond_error (request->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR, what);
    }
}

static void
query (Request             *request,
       CfStoreTokenOp       op,
       const char * const  *values,
       guint                n_values,
       GAsyncReadyCallback  callback)
{
  cf_store_token_query_async (cf_tokens_get_store (request->tokens), op, values, n_values, NULL,
                              callback, request);
}

static GPtrArray *
finish (GObject       *source,
        GAsyncResult  *result,
        Request       *request,
        GError       **error)
{
  return cf_store_token_query_finish (CF_STORE (source), result, error);
}

/* RBAC hook: the `rbac` step already checked tokens.create/read/update/
 * revoke for the route; a finer, per-token check would go here. */
static gboolean
require_permission (Request    *request,
                    const char *permission)
{
  return TRUE;
}

static gboolean
may_see (Request    *request,
         JsonObject *row)
{
  const char *owner = cf_json_object_get_string (row, "user_email");

  if (request->op == OP_ADMIN_REVOKE)
    return TRUE;
  return g_strcmp0 (owner, cf_identity_get_email (request->identity)) == 0;
}

static JsonObject *
list_response (GPtrArray *rows)
{
  JsonObject *out = json_object_new ();
  JsonArray *items = json_array_new ();

  for (guint i = 0; i < rows->len; i++)
    json_array_add_object_element (items, cf_tokens_response (g_ptr_array_index (rows, i)));
  json_object_set_array_member (out, "tokens", items);
  json_object_set_int_member (out, "total", rows->len);
  json_object_set_int_member (out, "limit", rows->len);
  json_object_set_int_member (out, "offset", 0);
  return out;
}

static void on_rows (GObject      *source,
                     GAsyncResult *result,
                     gpointer      user_data);

/* Creation: the user, the team, then the row. */

static void
on_inserted (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *token = g_object_steal_data (G_OBJECT (request->msg), "cf-new-token");
  JsonObject *out;
  JsonObject *row;

  rows = finish (source, result, request, &error);
  if (rows != NULL && rows->len > 0)
    cf_tokens_remember (request->tokens, g_ptr_array_index (rows, 0));
  if (request->gone || rows == NULL || rows->len == 0)
    {
      if (!request->gone)
        respond_store_error (request, error, "Failed to create the token");
      if (token != NULL)
        explicit_bzero (token, strlen (token));
      return;
    }
  row = g_ptr_array_index (rows, 0);
  g_message ("%s created API token %s (%s) for %s", cf_identity_get_email (request->identity),
             cf_json_object_get_string (row, "id"), cf_json_object_get_string (row, "name"),
             cf_json_object_get_string (row, "user_email"));
  out = json_object_new ();
  json_object_set_object_member (out, "token", cf_tokens_response (row));
  json_object_set_string_member (out, "access_token", token);
  explicit_bzero (token, strlen (token));
  cf_http_respond_object (request->msg, SOUP_STATUS_CREATED, out);
}

static void
create_row (Request    *request,
            JsonObject *user)
{
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *field = NULL;
  char *token = NULL;

  values = cf_tokens_prepare (request->tokens, user, request->body, request->team_id, &token,
                              &field, &error);
  if (values == NULL)
    {
      if (g_error_matches (error, CF_TOKENS_ERROR, CF_TOKENS_ERROR_INVALID))
        respond_invalid (request->msg, field, error->message);
      else
        {
          g_warning ("Cannot mint an API token: %s", error->message);
          cf_http_respond_error (request->msg, SOUP_STATUS_INTERNAL_SERVER_ERROR,
                                 "Failed to create the token");
        }
      request_free (request);
      return;
    }
  /* Kept on the message, never in a log. */
  g_object_set_data_full (G_OBJECT (request->msg), "cf-new-token", token, g_free);
  query (request, CF_STORE_TOKEN_INSERT, (const char * const *) values->pdata, values->len,
         on_inserted);
}

static void
on_team_role (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *user = g_object_get_data (G_OBJECT (request->msg), "cf-token-user");
  const char *role;

  rows = finish (source, result, request, &error);
  if (request->gone || rows == NULL)
    {
      if (!request->gone)
        respond_store_error (request, error, "Failed to check the team");
      request_free (request);
      return;
    }
  role = rows->len > 0 ? cf_json_object_get_string (g_ptr_array_index (rows, 0), "role") : NULL;
  if (role == NULL && !cf_identity_is_admin (request->identity))
    {
      cf_http_respond_error (request->msg, SOUP_STATUS_FORBIDDEN,
                             "You are not a member of this team");
      request_free (request);
      return;
    }
  if (request->op == OP_TEAM_LIST)
    {
      query (request, CF_STORE_TOKEN_LIST,
             (const char * const[]) { NULL, request->team_id }, 2, on_rows);
      return;
    }
  if (g_strcmp0 (role, "owner") != 0 && !cf_identity_is_admin (request->identity))
    {
      cf_http_respond_error (request->msg, SOUP_STATUS_FORBIDDEN,
                             "Only team owners can create team tokens");
      request_free (request);
      return;
    }
  create_row (request, user);
}

static void
on_user (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *user;
  gint64 active = 1;

  rows = finish (source, result, request, &error);
  if (request->gone || rows == NULL || rows->len == 0)
    {
      if (!request->gone && rows == NULL)
        respond_store_error (request, error, "Failed to read the user");
      else if (!request->gone)
        cf_http_respond_error (request->msg, SOUP_STATUS_FORBIDDEN,
                               "API tokens belong to users: this identity is not one");
      request_free (request);
      return;
    }
  user = g_ptr_array_index (rows, 0);
  cf_json_object_get_int (user, "is_active", &active);
  if (!active)
    {
      cf_http_respond_error (request->msg, SOUP_STATUS_FORBIDDEN, "The user is not active");
      request_free (request);
      return;
    }
  g_object_set_data_full (G_OBJECT (request->msg), "cf-token-user", json_object_ref (user),
                          (GDestroyNotify) json_object_unref);
  if (request->team_id != NULL)
    {
      query (request, CF_STORE_TOKEN_TEAM_ROLE,
             (const char * const[]) { request->team_id, cf_identity_get_email (request->identity) },
             2, on_team_role);
      return;
    }
  create_row (request, user);
}

/* Reads and checks the body's team_id; FALSE when it answered. */
static gboolean
body_team (Request *request)
{
  JsonNode *node = json_object_get_member (request->body, "team_id");

  if (request->team_id != NULL || node == NULL || JSON_NODE_HOLDS_NULL (node))
    return TRUE;
  if (!cf_json_node_is_string (node) || *json_node_get_string (node) == '\0')
    {
      respond_invalid (request->msg, "team_id", "Input should be a valid string");
      return FALSE;
    }
  request->team_id = g_strdup (json_node_get_string (node));
  return TRUE;
}

/* Reads, lists, changes */

static void
on_rows (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;

  rows = finish (source, result, request, &error);
  if (request->gone)
    return;
  if (rows == NULL)
    respond_store_error (request, error, "Failed to read the tokens");
  else
    cf_http_respond_object (request->msg, SOUP_STATUS_OK, list_response (rows));
}

static void
on_written (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *row;

  rows = finish (source, result, request, &error);
  if (rows != NULL && rows->len > 0)
    cf_tokens_remember (request->tokens, g_ptr_array_index (rows, 0));
  if (request->gone)
    return;
  if (rows == NULL || rows->len == 0)
    {
      respond_store_error (request, error, "Failed to change the token");
      return;
    }
  row = g_ptr_array_index (rows, 0);
  if (request->op == OP_REVOKE || request->op == OP_ADMIN_REVOKE)
    {
      g_message ("%s revoked API token %s", cf_identity_get_email (request->identity),
                 cf_json_object_get_string (row, "id"));
      soup_server_message_set_status (request->msg, SOUP_STATUS_NO_CONTENT, NULL);
      soup_message_headers_replace (soup_server_message_get_response_headers (request->msg),
                                    "Content-Length", "0");
      return;
    }
  cf_http_respond_object (request->msg, SOUP_STATUS_OK, cf_tokens_response (row));
}

static void
on_usage (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  g_autoptr(Request) request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  JsonObject *summary;
  JsonObject *out;
  JsonArray *top;
  gint64 total = 0, ok = 0, blocked = 0, average = 0;

  rows = finish (source, result, request, &error);
  if (request->gone)
    return;
  if (rows == NULL || rows->len == 0)
    {
      respond_store_error (request, error, "Failed to read the usage");
      return;
    }
  summary = g_ptr_array_index (rows, 0);
  cf_json_object_get_int (summary, "total_requests", &total);
  cf_json_object_get_int (summary, "successful_requests", &ok);
  cf_json_object_get_int (summary, "blocked_requests", &blocked);
  cf_json_object_get_int (summary, "average_response_time_ms", &average);
  out = json_object_new ();
  json_object_set_int_member (out, "period_days", request->days);
  json_object_set_int_member (out, "total_requests", total);
  json_object_set_int_member (out, "successful_requests", ok);
  json_object_set_int_member (out, "blocked_requests", blocked);
  json_object_set_double_member (out, "success_rate", total > 0 ? (double) ok / total : 0.0);
  json_object_set_int_member (out, "average_response_time_ms", average);
  top = json_array_new ();
  for (guint i = 1; i < rows->len; i++)
    {
      JsonObject *row = g_ptr_array_index (rows, i);
      JsonArray *pair = json_array_new ();
      gint64 count = 0;

      cf_json_object_get_int (row, "count", &count);
      json_array_add_string_element (pair, cf_json_object_get_string (row, "endpoint"));
      json_array_add_int_element (pair, count);
      json_array_add_array_element (top, pair);
    }
  json_object_set_array_member (out, "top_endpoints", top);
  cf_http_respond_object (request->msg, SOUP_STATUS_OK, out);
}

/* The token is read first: the caller must own it. */
static void
on_found (GObject      *source,
          GAsyncResult *result,
          gpointer      user_data)
{
  Request *request = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *field = NULL;
  g_autofree char *since = NULL;
  JsonObject *row;
  const char *reason;

  rows = finish (source, result, request, &error);
  if (request->gone || rows == NULL || !may_see (request, g_ptr_array_index (rows, 0)))
    {
      if (!request->gone && rows == NULL)
        respond_store_error (request, error, "Failed to read the token");
      else if (!request->gone)
        cf_http_respond_error (request->msg, SOUP_STATUS_NOT_FOUND, "Token not found");
      request_free (request);
      return;
    }
  row = g_ptr_array_index (rows, 0);
  switch (request->op)
    {
    case OP_GET:
      cf_http_respond_object (request->msg, SOUP_STATUS_OK, cf_tokens_response (row));
      request_free (request);
      return;
    case OP_UPDATE:
      values = cf_tokens_prepare_update (request->tokens, cf_json_object_get_string (row, "id"),
                                         request->body, &field, &error);
      if (values == NULL)
        {
          respond_invalid (request->msg, field, error->message);
          request_free (request);
          return;
        }
      query (request, CF_STORE_TOKEN_UPDATE, (const char * const *) values->pdata, values->len,
             on_written);
      return;
    case OP_REVOKE:
    case OP_ADMIN_REVOKE:
      reason = request->body ? cf_json_object_get_string (request->body, "reason") : NULL;
      query (request, CF_STORE_TOKEN_REVOKE,
             (const char * const[]) { cf_json_object_get_string (row, "id"),
                                      cf_identity_get_email (request->identity),
                                      reason ? reason : "Revoked by user" }, 3, on_written);
      return;
    case OP_USAGE:
      {
        g_autoptr(GDateTime) now = g_date_time_new_now_utc ();
        g_autoptr(GDateTime) start = g_date_time_add_days (now, -(int) request->days);

        since = g_date_time_format_iso8601 (start);
        query (request, CF_STORE_TOKEN_USAGE_STATS,
               (const char * const[]) { cf_json_object_get_string (row, "jti"), since }, 2,
               on_usage);
        return;
      }
    default:
      g_assert_not_reached ();
    }
}

/* Routing */

static gboolean
read_body (SoupServerMessage *msg,
           gboolean           optional,
           JsonObject       **out)
{
  g_autoptr(GBytes) bytes = soup_message_body_flatten (soup_server_message_get_request_body (msg));
  g_autoptr(JsonNode) node = NULL;

  *out = NULL;
  if (optional && g_bytes_get_size (bytes) == 0)
    return TRUE;
  node = cf_json_parse (g_bytes_get_data (bytes, NULL), g_bytes_get_size (bytes), NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      respond_invalid (msg, NULL, "Input should be a valid JSON object");
      return FALSE;
    }
  *out = json_object_ref (json_node_get_object (node));
  return TRUE;
}

static gboolean
method_is (SoupServerMessage *msg,
           const char        *allowed,
           ...)
{
  const char *method = soup_server_message_get_method (msg);
  g_autoptr(GString) allow = g_string_new (NULL);
  va_list args;
  gboolean found = FALSE;

  va_start (args, allowed);
  for (const char *m = allowed; m != NULL; m = va_arg (args, const char *))
    {
      found |= g_str_equal (method, m);
      g_string_append_printf (allow, "%s%s", allow->len ? ", " : "", m);
    }
  va_end (args);
  if (!found)
    {
      soup_message_headers_replace (soup_server_message_get_response_headers (msg), "Allow",
                                    allow->str);
      cf_http_respond_error (msg, SOUP_STATUS_METHOD_NOT_ALLOWED, "Method Not Allowed");
    }
  return found;
}

static GStrv
segments (const char *path)
{
  const char *rest = g_str_has_prefix (path, "/v1/tokens") ? path + strlen ("/v1/tokens")
                                                            : path + strlen ("/tokens");
  g_autoptr(GStrvBuilder) builder = g_strv_builder_new ();
  g_auto(GStrv) raw = NULL;

  if (*rest != '\0' && *rest != '/')
    return NULL;
  raw = g_strsplit (rest, "/", -1);
  for (guint i = 0; raw[i] != NULL; i++)
    {
      g_autofree char *segment = g_uri_unescape_string (raw[i], NULL);

      if (segment == NULL)
        return NULL;
      if (*segment != '\0')
        g_strv_builder_add (builder, segment);
    }
  return g_strv_builder_end (builder);
}

static guint
usage_days (SoupServerMessage *msg,
            GHashTable        *params)
{
  const char *value = params ? g_hash_table_lookup (params, "days") : NULL;
  guint64 days = DEFAULT_USAGE_DAYS;

  if (value != NULL && !g_ascii_string_to_unsigned (value, 10, 1, MAX_USAGE_DAYS, &days, NULL))
    {
      respond_invalid_in (msg, "query", "days", "days must be an integer from 1 to 365");
      return 0;
    }
  return (guint) days;
}

static void
on_tokens_route (CfHttpServer      *http,
                 SoupServerMessage *msg,
                 const char        *path,
                 GHashTable        *params,
                 gpointer           user_data)
{
  CfTokens *tokens = user_data;
  CfIdentity *identity = cf_identity_from_message (msg);
  g_auto(GStrv) parts = segments (path);
  g_autoptr(JsonObject) body = NULL;
  guint n = parts ? g_strv_length (parts) : 0;
  Request *request;
  Op op;

  if (parts == NULL || n > 2)
    {
      cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
      return;
    }
  if (identity == NULL || cf_identity_is_anonymous (identity))
    {
      cf_http_respond_error (msg, SOUP_STATUS_UNAUTHORIZED, "Not authenticated");
      return;
    }

  if (n == 0)
    {
      if (!method_is (msg, "GET", "POST", NULL))
        return;
      op = g_str_equal (soup_server_message_get_method (msg), "POST") ? OP_CREATE : OP_LIST;
    }
  else if (g_str_equal (parts[0], "admin") && n == 2)
    {
      if (g_str_equal (parts[1], "all") ? !method_is (msg, "GET", NULL)
                                        : !method_is (msg, "DELETE", NULL))
        return;
      if (!cf_identity_is_admin (identity))
        {
          cf_http_respond_error (msg, SOUP_STATUS_FORBIDDEN, "Admin privileges required");
          return;
        }
      op = g_str_equal (parts[1], "all") ? OP_ADMIN_LIST : OP_ADMIN_REVOKE;
    }
  else if (g_str_equal (parts[0], "teams") && n == 2)
    {
      if (!method_is (msg, "GET", "POST", NULL))
        return;
      op = g_str_equal (soup_server_message_get_method (msg), "POST") ? OP_TEAM_CREATE
                                                                     : OP_TEAM_LIST;
    }
  else if (n == 2)
    {
      if (!g_str_equal (parts[1], "usage"))
        {
          cf_http_respond_error (msg, SOUP_STATUS_NOT_FOUND, "Not Found");
          return;
        }
      if (!method_is (msg, "GET", NULL))
        return;
      op = OP_USAGE;
    }
  else
    {
      if (!method_is (msg, "GET", "PUT", "DELETE", NULL))
        return;
      op = g_str_equal (soup_server_message_get_method (msg), "GET") ? OP_GET
           : g_str_equal (soup_server_message_get_method (msg), "PUT") ? OP_UPDATE : OP_REVOKE;
    }

  if ((op == OP_CREATE || op == OP_TEAM_CREATE || op == OP_UPDATE) &&
      !read_body (msg, FALSE, &body))
    return;
  if ((op == OP_REVOKE || op == OP_ADMIN_REVOKE) && !read_body (msg, TRUE, &body))
    return;

  request = request_new (tokens, msg, identity, op);
  request->body = g_steal_pointer (&body);
  if (!require_permission (request, op == OP_CREATE || op == OP_TEAM_CREATE ? "tokens.create"
                                    : op == OP_UPDATE ? "tokens.update"
                                    : op == OP_REVOKE || op == OP_ADMIN_REVOKE ? "tokens.revoke"
                                    : "tokens.read"))
    {
      cf_http_respond_error (msg, SOUP_STATUS_FORBIDDEN, "Insufficient permissions");
      request_free (request);
      return;
    }

  switch (op)
    {
    case OP_CREATE:
    case OP_TEAM_CREATE:
      if (op == OP_TEAM_CREATE)
        request->team_id = g_strdup (parts[1]);
      if (!body_team (request))
        {
          request_free (request);
          return;
        }
      query (request, CF_STORE_TOKEN_USER,
             (const char * const[]) { cf_identity_get_email (identity) }, 1, on_user);
      break;
    case OP_LIST:
      query (request, CF_STORE_TOKEN_LIST,
             (const char * const[]) { cf_identity_get_email (identity), NULL }, 2, on_rows);
      break;
    case OP_ADMIN_LIST:
      query (request, CF_STORE_TOKEN_LIST, (const char * const[]) { NULL, NULL }, 2, on_rows);
      break;
    case OP_TEAM_LIST:
      request->team_id = g_strdup (parts[1]);
      query (request, CF_STORE_TOKEN_TEAM_ROLE,
             (const char * const[]) { request->team_id, cf_identity_get_email (identity) }, 2,
             on_team_role);
      break;
    case OP_USAGE:
      request->days = usage_days (msg, params);
      if (request->days == 0)
        {
          request_free (request);
          return;
        }
      G_GNUC_FALLTHROUGH;
    default:
      request->id = g_strdup (parts[n == 2 && op != OP_USAGE ? 1 : 0]);
      query (request, CF_STORE_TOKEN_GET, (const char * const[]) { request->id }, 1, on_found);
      break;
    }
}

static gboolean
middleware_tokens (CfHttpServer   *http,
                   CfHttpExchange *exchange,
                   gpointer        user_data)
{
  CfIdentity *identity = cf_identity_from_exchange (exchange);

  /* No identity: a preflight, or an open path the auth step let by. */
  if (identity == NULL)
    return TRUE;
  return cf_tokens_check_request (user_data, exchange, identity);
}

/**
 * cf_tokens_http_install:
 * @self: a #CfTokens
 * @http: the server, whose `auth` step is already installed
 *
 * Adds the `token-scope` middleware step after `auth` (and before
 * `rbac`, when that is installed), and mounts
 * `/tokens` and `/v1/tokens`. @self must outlive @http's use of it.
 */
void
cf_tokens_http_install (CfTokens     *self,
                        CfHttpServer *http)
{
  g_return_if_fail (CF_IS_TOKENS (self));
  g_return_if_fail (CF_IS_HTTP_SERVER (http));

  cf_http_server_add_middleware_before (http, "rbac", "token-scope", middleware_tokens, self);
  cf_http_server_add_route (http, "/tokens", on_tokens_route, self);
  cf_http_server_add_route (http, "/v1/tokens", on_tokens_route, self);
}
