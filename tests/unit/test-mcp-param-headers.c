/* SPDX-License-Identifier: Apache-2.0 */
#include "config.h"

#include "cf-json.h"
#include "cf-jsonrpc.h"
#include "cf-mcp-param-headers.h"

/* x-mcp-header (2026-07-28): which tool definitions are valid, which
 * headers a client sends, and which a server accepts. */

static JsonObject *
parse (const char *json)
{
  g_autoptr(JsonParser) parser = json_parser_new ();
  g_autoptr(GError) error = NULL;

  json_parser_load_from_data (parser, json, -1, &error);
  g_assert_no_error (error);
  return json_object_ref (json_node_get_object (json_parser_get_root (parser)));
}

static CfMcpParamHeaders *
compile (const char  *schema_json,
         GError     **error)
{
  g_autoptr(JsonObject) schema = parse (schema_json);

  return cf_mcp_param_headers_compile (schema, error);
}

static void
test_encoding (void)
{
  static const struct { const char *value; const char *header; } cases[] = {
    { "us-west1", "us-west1" },
    { "get_weather", "get_weather" },
    { "file:///projects/myapp/config.json", "file:///projects/myapp/config.json" },
    { "Hello, 世界", "=?base64?SGVsbG8sIOS4lueVjA==?=" },
    { " padded ", "=?base64?IHBhZGRlZCA=?=" },
    { "line1\nline2", "=?base64?bGluZTEKbGluZTI=?=" },
    { "tab\there", "=?base64?dGFiCWhlcmU=?=" },
    { "=?base64?literal?=", "=?base64?PT9iYXNlNjQ/bGl0ZXJhbD89?=" },
    { "", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autofree char *header = cf_mcp_encode_header_value (cases[i].value);

      g_assert_cmpstr (header, ==, cases[i].header);
    }
}

static void
test_compile_valid (void)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfMcpParamHeaders) headers = NULL;

  /* No annotations: nothing to compile, and no error. */
  g_assert_null (compile ("{\"type\":\"object\",\"properties\":{\"a\":{\"type\":\"string\"}}}",
                          &error));
  g_assert_no_error (error);
  g_assert_null (cf_mcp_param_headers_compile (NULL, &error));
  g_assert_no_error (error);

  headers = compile ("{\"type\":\"object\",\"properties\":{"
                     "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
                     "\"target\":{\"type\":\"object\",\"properties\":{"
                     "  \"shard\":{\"type\":[\"integer\",\"null\"],\"x-mcp-header\":\"Shard\"}}},"
                     "\"dry\":{\"type\":\"boolean\",\"x-mcp-header\":\"Dry-Run\"},"
                     /* a property that happens to be called x-mcp-header */
                     "\"x-mcp-header\":{\"type\":\"string\"},"
                     /* an x-mcp-header inside instance data is a value */
                     "\"mode\":{\"type\":\"string\",\"default\":{\"x-mcp-header\":\"No\"}}}}",
                     &error);
  g_assert_no_error (error);
  g_assert_nonnull (headers);
  g_assert_cmpuint (cf_mcp_param_headers_get_size (headers), ==, 3);
}

static void
test_compile_invalid (void)
{
  static const struct { const char *schema; const char *why; } cases[] = {
    { "{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"\"}}}", "non-empty" },
    { "{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Has Space\"}}}", "token" },
    { "{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Bad\\r\\nX: y\"}}}", "token" },
    { "{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Ünï\"}}}", "token" },
    { "{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":7}}}", "token" },
    { "{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"Dup\"},"
      "\"b\":{\"type\":\"string\",\"x-mcp-header\":\"dUP\"}}}", "twice" },
    { "{\"properties\":{\"a\":{\"type\":\"number\",\"x-mcp-header\":\"N\"}}}", "type" },
    { "{\"properties\":{\"a\":{\"type\":\"object\",\"x-mcp-header\":\"O\"}}}", "type" },
    { "{\"properties\":{\"a\":{\"x-mcp-header\":\"Untyped\"}}}", "type" },
    { "{\"properties\":{\"a\":{\"type\":[\"string\",\"integer\"],\"x-mcp-header\":\"Two\"}}}",
      "type" },
    { "{\"properties\":{\"a\":{\"type\":\"array\",\"items\":"
      "{\"type\":\"string\",\"x-mcp-header\":\"Item\"}}}}", "reached" },
    { "{\"properties\":{\"a\":{\"oneOf\":[{\"type\":\"string\",\"x-mcp-header\":\"One\"}]}}}",
      "reached" },
    { "{\"properties\":{\"a\":{\"$ref\":\"#/$defs/r\"}},"
      "\"$defs\":{\"r\":{\"type\":\"string\",\"x-mcp-header\":\"Ref\"}}}", "reached" },
    { "{\"if\":{\"properties\":{\"a\":{\"type\":\"string\",\"x-mcp-header\":\"If\"}}}}",
      "reached" },
    { "{\"type\":\"string\",\"x-mcp-header\":\"Root\"}", "reached" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(GError) error = NULL;
      CfMcpParamHeaders *headers = compile (cases[i].schema, &error);

      g_test_message ("%s", cases[i].schema);
      g_assert_null (headers);
      g_assert_nonnull (error);
      g_assert_nonnull (strstr (error->message, cases[i].why));
    }
}

static void
collect (const char *header,
         const char *value,
         gpointer    user_data)
{
  g_string_append_printf (user_data, "%s: %s\n", header, value);
}

static const char *schema_json =
  "{\"type\":\"object\",\"properties\":{"
  "\"region\":{\"type\":\"string\",\"x-mcp-header\":\"Region\"},"
  "\"target\":{\"type\":\"object\",\"properties\":{"
  "  \"shard\":{\"type\":\"integer\",\"x-mcp-header\":\"Shard\"}}},"
  "\"dry\":{\"type\":\"boolean\",\"x-mcp-header\":\"Dry\"},"
  "\"query\":{\"type\":\"string\"}}}";

static void
test_client_headers (void)
{
  g_autoptr(CfMcpParamHeaders) headers = compile (schema_json, NULL);
  static const struct { const char *arguments; const char *sent; } cases[] = {
    { "{\"region\":\"us-west1\",\"target\":{\"shard\":42},\"dry\":false,\"query\":\"q\"}",
      "Mcp-Param-Region: us-west1\nMcp-Param-Shard: 42\nMcp-Param-Dry: false\n" },
    /* absent and null send nothing */
    { "{\"query\":\"q\",\"region\":null}", "" },
    { "{\"target\":{}}", "" },
    /* encoded */
    { "{\"region\":\"Hello, 世界\"}", "Mcp-Param-Region: =?base64?SGVsbG8sIOS4lueVjA==?=\n" },
    /* a number written with a fraction of zero is the integer */
    { "{\"target\":{\"shard\":7.0}}", "Mcp-Param-Shard: 7\n" },
    /* what cannot be mirrored is left for the server to refuse */
    { "{\"target\":{\"shard\":1.5},\"region\":[\"x\"]}", "" },
    { "{\"target\":{\"shard\":9007199254740993}}", "" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) arguments = parse (cases[i].arguments);
      g_autoptr(GString) sent = g_string_new (NULL);

      cf_mcp_param_headers_foreach (headers, arguments, collect, sent);
      g_assert_cmpstr (sent->str, ==, cases[i].sent);
    }
}

static const char *
lookup (const char *name,
        gpointer    user_data)
{
  GHashTable *received = user_data;

  /* Header names compare without regard to case. */
  g_autofree char *folded = g_ascii_strdown (name, -1);

  return g_hash_table_lookup (received, folded);
}

static void
test_server_validation (void)
{
  g_autoptr(CfMcpParamHeaders) headers = compile (schema_json, NULL);
  static const struct {
    const char *arguments;
    const char *headers; /* name=value;name=value */
    const char *error;   /* NULL: accepted */
  } cases[] = {
    { "{\"region\":\"us-west1\",\"target\":{\"shard\":42}}",
      "mcp-param-region=us-west1;mcp-param-shard=42", NULL },
    { "{\"target\":{\"shard\":42}}", "mcp-param-shard=42.0", NULL },
    { "{\"target\":{\"shard\":42}}", "mcp-param-shard=4.2e1", NULL },
    { "{\"region\":\"Hello, 世界\"}", "mcp-param-region==?base64?SGVsbG8sIOS4lueVjA==?=", NULL },
    { "{\"dry\":true}", "mcp-param-dry=true", NULL },
    { "{\"query\":\"q\"}", "", NULL },
    { "{\"region\":null}", "", NULL },
    { "{\"region\":\"us-west1\"}", "", "required header Mcp-Param-Region is missing" },
    { "{\"region\":\"us-west1\"}", "mcp-param-region=eu-west1", "does not match" },
    { "{\"region\":\"eu\"}", "mcp-param-region=EU", "does not match" },
    { "{\"dry\":true}", "mcp-param-dry=True", "does not match" },
    { "{\"target\":{\"shard\":42}}", "mcp-param-shard=42abc", "does not match" },
    { "{\"target\":{\"shard\":42}}", "mcp-param-shard= 42", "does not match" },
    { "{\"query\":\"q\"}", "mcp-param-region=us", "body has no value" },
    { "{\"region\":\"a\"}", "mcp-param-region==?base64?***?=", "invalid base64" },
    { "{\"region\":\"a\"}", "mcp-param-region=a\x01", "invalid characters" },
    { "{\"region\":{\"nested\":1}}", "mcp-param-region=x", "not a string" },
  };

  for (guint i = 0; i < G_N_ELEMENTS (cases); i++)
    {
      g_autoptr(JsonObject) arguments = parse (cases[i].arguments);
      g_autoptr(GHashTable) received = g_hash_table_new_full (g_str_hash, g_str_equal,
                                                               g_free, g_free);
      g_auto(GStrv) pairs = g_strsplit (cases[i].headers, ";", -1);
      g_autoptr(GError) error = NULL;
      gboolean ok;

      for (guint j = 0; pairs[j] != NULL; j++)
        {
          const char *eq = strchr (pairs[j], '=');

          if (eq != NULL)
            g_hash_table_insert (received, g_strndup (pairs[j], eq - pairs[j]),
                                 g_strdup (eq + 1));
        }
      g_test_message ("%s with %s", cases[i].arguments, cases[i].headers);
      ok = cf_mcp_param_headers_validate (headers, arguments, lookup, received, &error);
      if (cases[i].error == NULL)
        {
          g_assert_no_error (error);
          g_assert_true (ok);
        }
      else
        {
          g_assert_false (ok);
          g_assert_error (error, CF_JSONRPC_ERROR, CF_JSONRPC_HEADER_MISMATCH);
          g_assert_nonnull (strstr (error->message, cases[i].error));
          g_assert_true (g_str_has_prefix (error->message, "Header mismatch: "));
        }
    }
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/mcp-param-headers/encoding", test_encoding);
  g_test_add_func ("/mcp-param-headers/compile/valid", test_compile_valid);
  g_test_add_func ("/mcp-param-headers/compile/invalid", test_compile_invalid);
  g_test_add_func ("/mcp-param-headers/client", test_client_headers);
  g_test_add_func ("/mcp-param-headers/server", test_server_validation);

  return g_test_run ();
}
