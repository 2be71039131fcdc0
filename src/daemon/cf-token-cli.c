/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-token-cli"

#include "config.h"

#include <stdio.h>
#include <string.h>

#include "cf-auth.h"
#include "cf-config.h"
#include "cf-daemon-settings.h"
#include "cf-daemon-wait.h"
#include "cf-json.h"
#include "cf-token-cli.h"
#include "cf-tokens.h"

/* `contextforge-gateway token create|list|revoke`: API tokens for an
 * operator, on the gateway's own database and signing key, read from the
 * same settings as the daemon (the environment, the settings file,
 * --db), so that tokens can be minted and revoked without a running
 * gateway. A running gateway notices the change within a second (it
 * watches the database's data_version).
 *
 *   token create --user EMAIL --name NAME [--description TEXT]
 *                [--expires-in-days D] [--team ID] [--server ID]
 *                [--permission P]... [--ip CIDR]...
 *                [--requests-per-hour N] [--requests-per-day N]
 *     prints the token, once, alone on stdout; its id on stderr
 *   token list [--user EMAIL] [--team ID]
 *     prints a JSON array of the tokens (TokenResponse plus jti)
 *   token revoke ID|JTI [--reason TEXT] [--by WHO]
 *     prints the revoked token as JSON
 *
 * Exit status: 0 on success, 1 when the database or the key fails or the
 * token, user or team is not found, 2 for bad usage or bad values. */

#define EXIT_FAILED 1
#define EXIT_USAGE 2

static GPtrArray *
run_query (CfStore             *store,
           CfStoreTokenOp       op,
           const char * const  *values,
           guint                n_values,
           GError             **error)
{
  CfDaemonWait wait;
  GPtrArray *rows;

  cf_daemon_wait_init (&wait);
  cf_store_token_query_async (store, op, values, n_values, NULL, cf_daemon_wait_done, &wait);
  rows = cf_store_token_query_finish (store, cf_daemon_wait_run (&wait), error);
  cf_daemon_wait_clear (&wait);
  return rows;
}

static int
fail (int         status,
      const char *format,
      ...) G_GNUC_PRINTF (2, 3);

static int
fail (int         status,
      const char *format,
      ...)
{
  va_list args;
  g_autofree char *text = NULL;

  va_start (args, format);
  text = g_strdup_vprintf (format, args);
  va_end (args);
  g_printerr ("%s token: %s\n", PACKAGE_NAME, text);
  return status;
}

static void
print_json (JsonNode *node)
{
  g_autofree char *text = cf_json_to_string (node, NULL);

  g_print ("%s\n", text);
}

static JsonObject *
listed (JsonObject *row)
{
  JsonObject *out = cf_tokens_response (row);

  json_object_set_string_member (out, "jti", json_object_get_string_member (row, "jti"));
  return out;
}

static int
do_create (CfTokens   *tokens,
           const char *user_email,
           const char *name,
           const char *description,
           int         days,
           const char *team,
           const char *server,
           char      **permissions,
           char      **ips,
           int         per_hour,
           int         per_day)
{
  CfStore *store = cf_tokens_get_store (tokens);
  g_autoptr(JsonObject) request = json_object_new ();
  JsonObject *scope = json_object_new ();
  JsonObject *limits = json_object_new ();
  JsonArray *perms = json_array_new ();
  JsonArray *ip_list = json_array_new ();
  g_autoptr(GPtrArray) users = NULL;
  g_autoptr(GPtrArray) values = NULL;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autofree char *email = cf_auth_normalize_email (user_email);
  g_autofree char *token = NULL;
  g_autofree char *field = NULL;

  if (email == NULL)
    return fail (EXIT_USAGE, "--user %s: not an email address", user_email);
  json_object_set_string_member (request, "name", name);
  if (description != NULL)
    json_object_set_string_member (request, "description", description);
  if (days > 0)
    json_object_set_int_member (request, "expires_in_days", days);
  else if (days < 0)
    return fail (EXIT_USAGE, "--expires-in-days must be from 1 to %d", CF_TOKENS_MAX_DAYS);
  if (server != NULL)
    json_object_set_string_member (scope, "server_id", server);
  for (guint i = 0; permissions != NULL && permissions[i] != NULL; i++)
    json_array_add_string_element (perms, permissions[i]);
  for (guint i = 0; ips != NULL && ips[i] != NULL; i++)
    json_array_add_string_element (ip_list, ips[i]);
  json_object_set_array_member (scope, "permissions", perms);
  json_object_set_array_member (scope, "ip_restrictions", ip_list);
  if (per_hour != 0)
    json_object_set_int_member (limits, "requests_per_hour", per_hour);
  if (per_day != 0)
    json_object_set_int_member (limits, "requests_per_day", per_day);
  json_object_set_object_member (scope, "usage_limits", limits);
  json_object_set_object_member (request, "scope", scope);

  users = run_query (store, CF_STORE_TOKEN_USER, (const char * const[]) { email }, 1, &error);
  if (users == NULL)
    return fail (EXIT_FAILED, "%s", error->message);
  if (users->len == 0)
    return fail (EXIT_FAILED, "no user %s", email);
  if (team != NULL)
    {
      g_autoptr(GPtrArray) member = run_query (store, CF_STORE_TOKEN_TEAM_ROLE,
                                               (const char * const[]) { team, email }, 2, &error);

      if (member == NULL)
        return fail (EXIT_FAILED, "%s", error->message);
      if (member->len == 0)
        return fail (EXIT_FAILED, "%s is not a member of team %s", email, team);
    }

  values = cf_tokens_prepare (tokens, g_ptr_array_index (users, 0), request, team, &token, &field,
                              &error);
  if (values == NULL)
    return fail (g_error_matches (error, CF_TOKENS_ERROR, CF_TOKENS_ERROR_INVALID)
                 ? EXIT_USAGE : EXIT_FAILED, "%s", error->message);
  rows = run_query (store, CF_STORE_TOKEN_INSERT, (const char * const *) values->pdata,
                    values->len, &error);
  if (rows == NULL && g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_CONSTRAINT))
    return fail (EXIT_USAGE, "%s already has a token named %s", email, name);
  if (rows == NULL)
    return fail (EXIT_FAILED, "%s", error->message);
  g_printerr ("Created API token %s (%s) for %s; it is shown only this once:\n",
              (const char *) g_ptr_array_index (values, 0), name, email);
  g_print ("%s\n", token);
  explicit_bzero (token, strlen (token));
  return 0;
}

static int
do_list (CfStore    *store,
         const char *user_email,
         const char *team)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = json_node_new (JSON_NODE_ARRAY);
  g_autofree char *email = user_email ? cf_auth_normalize_email (user_email) : NULL;
  JsonArray *array = json_array_new ();

  json_node_take_array (node, array);
  if (user_email != NULL && email == NULL)
    return fail (EXIT_USAGE, "--user %s: not an email address", user_email);
  rows = run_query (store, CF_STORE_TOKEN_LIST, (const char * const[]) { email, team }, 2, &error);
  if (rows == NULL)
    return fail (EXIT_FAILED, "%s", error->message);
  for (guint i = 0; i < rows->len; i++)
    json_array_add_object_element (array, listed (g_ptr_array_index (rows, i)));
  print_json (node);
  return 0;
}

static int
do_revoke (CfStore    *store,
           const char *id,
           const char *reason,
           const char *by)
{
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = NULL;

  rows = run_query (store, CF_STORE_TOKEN_REVOKE,
                    (const char * const[]) { id, by, reason ? reason : "Revoked by the operator" },
                    3, &error);
  if (rows == NULL && g_error_matches (error, CF_STORE_ERROR, CF_STORE_ERROR_NOT_FOUND))
    return fail (EXIT_FAILED, "no token with id or jti %s", id);
  if (rows == NULL)
    return fail (EXIT_FAILED, "%s", error->message);
  node = cf_json_node_new_object (listed (g_ptr_array_index (rows, 0)));
  print_json (node);
  return 0;
}

static gboolean
open_gateway (const char  *db,
              CfStore    **out_store,
              CfTokens   **out_tokens,
              GError     **error)
{
  g_autoptr(CfConfig) config = cf_config_new ();
  g_autoptr(GVariantDict) options = g_variant_dict_new (NULL);
  g_autoptr(CfAuthConfig) auth_config = cf_auth_config_new ();
  g_autoptr(CfStore) store = NULL;
  g_autoptr(CfAuth) auth = NULL;

  if (db != NULL)
    g_variant_dict_insert_value (options, "db", g_variant_new_bytestring (db));
  if (!cf_daemon_settings_load (config, options, error) ||
      !cf_auth_config_load_env (auth_config, NULL, error))
    return FALSE;
  /* A random key would mint tokens no gateway accepts. */
  if (auth_config->jwt_algorithm == CF_JWT_HS256 && auth_config->jwt_secret == NULL)
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_FAILED,
                   "JWT_SECRET_KEY is not set: a token signed with another key would not work");
      return FALSE;
    }
  if (!g_file_test (config->db_path, G_FILE_TEST_EXISTS))
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                   "%s does not exist: start the gateway once, or give --db", config->db_path);
      return FALSE;
    }
  store = cf_store_new (config->db_path, error);
  if (store == NULL)
    return FALSE;
  auth = cf_auth_new (g_steal_pointer (&auth_config), store, error);
  if (auth == NULL)
    return FALSE;
  *out_tokens = cf_tokens_new (auth, store);
  *out_store = g_steal_pointer (&store);
  return TRUE;
}

static const char usage[] =
  "Usage:\n"
  "  " PACKAGE_NAME " token create --user EMAIL --name NAME [--description TEXT]\n"
  "      [--expires-in-days D] [--team ID] [--server ID] [--permission P]...\n"
  "      [--ip CIDR]... [--requests-per-hour N] [--requests-per-day N] [--db PATH]\n"
  "  " PACKAGE_NAME " token list [--user EMAIL] [--team ID] [--db PATH]\n"
  "  " PACKAGE_NAME " token revoke ID|JTI [--reason TEXT] [--by WHO] [--db PATH]\n";

/**
 * cf_token_cli_main:
 * @argc: the argument count, from "token" on
 * @argv: the arguments, argv[0] being "token"
 *
 * Returns: the exit status
 */
int
cf_token_cli_main (int    argc,
                   char **argv)
{
  g_autofree char *user = NULL, *name = NULL, *description = NULL, *team = NULL;
  g_autofree char *server = NULL, *reason = NULL, *by = NULL, *db = NULL;
  g_auto(GStrv) permissions = NULL;
  g_auto(GStrv) ips = NULL;
  int days = 0, per_hour = 0, per_day = 0;
  GOptionEntry entries[] = {
    { "user", 0, 0, G_OPTION_ARG_STRING, &user, "The owner's email", "EMAIL" },
    { "name", 0, 0, G_OPTION_ARG_STRING, &name, "The token's name, unique per user", "NAME" },
    { "description", 0, 0, G_OPTION_ARG_STRING, &description, "What it is for", "TEXT" },
    { "expires-in-days", 0, 0, G_OPTION_ARG_INT, &days, "Lifetime, 1 to 365 days", "D" },
    { "team", 0, 0, G_OPTION_ARG_STRING, &team, "A team the user belongs to", "ID" },
    { "server", 0, 0, G_OPTION_ARG_STRING, &server, "The only virtual server it may use", "ID" },
    { "permission", 0, 0, G_OPTION_ARG_STRING_ARRAY, &permissions, "A permission", "P" },
    { "ip", 0, 0, G_OPTION_ARG_STRING_ARRAY, &ips, "An allowed address or CIDR block", "CIDR" },
    { "requests-per-hour", 0, 0, G_OPTION_ARG_INT, &per_hour, "Usage limit", "N" },
    { "requests-per-day", 0, 0, G_OPTION_ARG_INT, &per_day, "Usage limit", "N" },
    { "reason", 0, 0, G_OPTION_ARG_STRING, &reason, "Why it is revoked", "TEXT" },
    { "by", 0, 0, G_OPTION_ARG_STRING, &by, "Who revokes it", "WHO" },
    { "db", 0, 0, G_OPTION_ARG_FILENAME, &db, "The database (default: DATABASE_URL)", "PATH" },
    { NULL }
  };
  g_autoptr(GOptionContext) context = g_option_context_new ("create|list|revoke");
  g_autoptr(GError) error = NULL;
  g_autoptr(CfStore) store = NULL;
  g_autoptr(CfTokens) tokens = NULL;
  const char *command;
  int status;

  g_option_context_add_main_entries (context, entries, NULL);
  g_option_context_set_help_enabled (context, TRUE);
  if (!g_option_context_parse (context, &argc, &argv, &error))
    return fail (EXIT_USAGE, "%s\n%s", error->message, usage);
  command = argc > 1 ? argv[1] : NULL;
  if (command == NULL || !g_strv_contains ((const char * const[]) { "create", "list", "revoke",
                                                                    NULL }, command))
    {
      g_printerr ("%s", usage);
      return EXIT_USAGE;
    }
  if (g_str_equal (command, "create") && (user == NULL || name == NULL || argc != 2))
    return fail (EXIT_USAGE, "create needs --user and --name\n%s", usage);
  if (g_str_equal (command, "revoke") && argc != 3)
    return fail (EXIT_USAGE, "revoke needs one token id or jti\n%s", usage);
  if (g_str_equal (command, "list") && argc != 2)
    return fail (EXIT_USAGE, "list takes no arguments\n%s", usage);
  if (per_hour < 0 || per_day < 0)
    return fail (EXIT_USAGE, "usage limits must be positive");

  if (!open_gateway (db, &store, &tokens, &error))
    return fail (EXIT_FAILED, "%s", error->message);

  if (g_str_equal (command, "create"))
    status = do_create (tokens, user, name, description, days, team, server, permissions, ips,
                        per_hour, per_day);
  else if (g_str_equal (command, "list"))
    status = do_list (store, user, team);
  else
    status = do_revoke (store, argv[2], reason, by ? by : "cli");
  g_clear_object (&tokens);
  cf_store_close (store);
  return status;
}
