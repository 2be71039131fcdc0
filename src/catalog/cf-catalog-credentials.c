/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-catalog-credentials"

#include "config.h"

#include <string.h>

#include "cf-catalog.h"
#include "cf-catalog-private.h"
#include "cf-entity-schema.h"
#include "cf-json.h"
#include "cf-secret-store.h"

/*
 * Upstream credentials on their way into the catalog. A client gives them
 * as ContextForge's GatewayCreate fields (auth_type with auth_token,
 * auth_username/auth_password, auth_header_key/auth_header_value or
 * auth_headers) or a REST tool's `auth` object (auth_type with token,
 * username/password, auth_header_key/auth_header_value). They are turned
 * into the HTTP headers they stand for, as ContextForge's auth_value
 * holds them, and that JSON object of header names and values is sealed
 * by the catalog's #CfSecretStore. Only the sealed text is kept: in the
 * snapshot, in the store, and nowhere else. API responses show it masked.
 *
 * A value equal to the mask is what a client got from a GET and sent
 * back unchanged: it keeps what is stored.
 */

typedef struct {
  const char *type;
  const char *username;
  const char *password;
  const char *token;
  const char *header_key;
  const char *header_value;
  JsonArray  *headers;
} Credentials;

/* The gateway fields that hold credentials in clear, never stored. */
static const char * const gateway_secret_fields[] = {
  "authUsername", "authPassword", "authToken", "authHeaderKey", "authHeaderValue",
  "authHeaders", NULL
};

/* Headers the transport sets itself, which credentials must not replace. */
static const char * const reserved_headers[] = {
  "host", "content-length", "content-type", "transfer-encoding", "connection", "upgrade",
  "te", "trailer", "keep-alive", "accept", "mcp-session-id", "mcp-protocol-version",
  "mcp-method", "mcp-name", "last-event-id", "sec-websocket-key", "sec-websocket-version",
  "sec-websocket-protocol", "sec-websocket-extensions", NULL
};

static const char *
given (const char *value)
{
  return value != NULL && *value != '\0' && !g_str_equal (value, CF_SECRET_MASK) ? value : NULL;
}

static gboolean
is_token_char (char c)
{
  return g_ascii_isalnum (c) || strchr ("!#$%&'*+-.^_`|~", c) != NULL;
}

static gboolean
check_header (const char *name,
              const char *value,
              const char *field,
              JsonArray  *problems)
{
  g_autofree char *lower = g_ascii_strdown (name, -1);
  const char *bad = NULL;

  if (*name == '\0')
    bad = "A header name is empty";
  for (const char *p = name; bad == NULL && *p; p++)
    if (!is_token_char (*p))
      bad = "A header name may hold only letters, digits and !#$%&'*+-.^_`|~";
  if (bad == NULL && g_strv_contains (reserved_headers, lower))
    bad = "That header is set by the gateway's transport and cannot be a credential";
  for (const char *p = value; bad == NULL && *p; p++)
    if (*p == '\r' || *p == '\n')
      bad = "A header value may not hold line breaks";
  if (bad != NULL)
    cf_entity_schema_add_problem (problems, field, "value_error", bad);
  return bad == NULL;
}

static void
add_header (JsonObject *out,
            const char *name,
            const char *value,
            const char *field,
            JsonArray  *problems)
{
  if (check_header (name, value, field, problems))
    json_object_set_string_member (out, name, value);
}

static void
add_header_list (JsonObject *out,
                 JsonArray  *list,
                 const char *field,
                 JsonArray  *problems)
{
  for (guint i = 0; i < json_array_get_length (list); i++)
    {
      JsonNode *node = json_array_get_element (list, i);
      JsonObject *item = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *key = cf_json_object_get_string (item, "key");
      const char *value = given (cf_json_object_get_string (item, "value"));

      if (key == NULL || value == NULL)
        cf_entity_schema_add_problem (problems, field, "value_error",
                                      "Each header is an object with a string \"key\" and "
                                      "\"value\"");
      else
        add_header (out, key, value, field, problems);
    }
}

static const char * const supported_types[] = { "bearer", "basic", "authheaders", NULL };

/* OAuth needs a token endpoint client; query_param puts the secret in
 * the URL. Neither is sent yet, so neither is accepted silently. */
static void
unsupported (const char *type,
             const char *field,
             JsonArray  *problems)
{
  g_autofree char *msg = g_strdup_printf ("%s authentication of upstreams is not supported yet; "
                                          "use bearer, basic or authheaders", type);

  cf_entity_schema_add_problem (problems, field, "value_error", msg);
}

static gboolean
has_any (const Credentials *c)
{
  return given (c->username) || given (c->password) || given (c->token) ||
         c->header_key != NULL || given (c->header_value) ||
         (c->headers != NULL && json_array_get_length (c->headers) > 0);
}

/* The headers @c stands for, or NULL with problems added. */
static JsonObject *
build_headers (const Credentials *c,
               gboolean           gateway,
               JsonArray         *problems)
{
  g_autoptr(JsonObject) out = json_object_new ();
  guint before = json_array_get_length (problems);
  const char *token_field = gateway ? "authToken" : "auth";
  const char *user_field = gateway ? "authUsername" : "auth";
  const char *header_field = gateway ? "authHeaderKey" : "auth";

  if (g_str_equal (c->type, "bearer"))
    {
      if (given (c->token) == NULL)
        cf_entity_schema_add_problem (problems, token_field, "missing",
                                      "Bearer authentication needs a token");
      else
        {
          g_autofree char *value = g_strconcat ("Bearer ", c->token, NULL);
          add_header (out, "Authorization", value, token_field, problems);
        }
    }
  else if (g_str_equal (c->type, "basic"))
    {
      if (given (c->username) == NULL || given (c->password) == NULL)
        cf_entity_schema_add_problem (problems, user_field, "missing",
                                      "Basic authentication needs a username and a password");
      else if (strchr (c->username, ':') != NULL)
        cf_entity_schema_add_problem (problems, user_field, "value_error",
                                      "A Basic authentication username may not hold ':'");
      else
        {
          g_autofree char *pair = g_strconcat (c->username, ":", c->password, NULL);
          g_autofree char *encoded = g_base64_encode ((const guchar *) pair, strlen (pair));
          g_autofree char *value = g_strconcat ("Basic ", encoded, NULL);

          explicit_bzero (pair, strlen (pair));
          add_header (out, "Authorization", value, user_field, problems);
          explicit_bzero (value, strlen (value));
        }
    }
  else if (g_str_equal (c->type, "authheaders"))
    {
      if (c->header_key != NULL && given (c->header_value) != NULL)
        add_header (out, c->header_key, c->header_value, header_field, problems);
      else if (c->header_key != NULL || given (c->header_value) != NULL)
        cf_entity_schema_add_problem (problems, header_field, "missing",
                                      "A custom header needs both its key and its value");
      if (c->headers != NULL)
        add_header_list (out, c->headers, gateway ? "authHeaders" : "auth", problems);
      if (json_object_get_size (out) == 0 && json_array_get_length (problems) == before)
        cf_entity_schema_add_problem (problems, header_field, "missing",
                                      "authheaders authentication needs at least one header");
    }
  else
    unsupported (c->type, gateway ? "authType" : "auth", problems);
  return json_array_get_length (problems) > before ? NULL : g_steal_pointer (&out);
}

static char *
seal_headers (CfSecretStore *secrets,
              JsonObject    *headers,
              const char    *field,
              JsonArray     *problems)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(CfSecret) text = cf_json_object_to_string (headers);
  char *sealed;

  if (secrets == NULL)
    {
      cf_entity_schema_add_problem (problems, field, "value_error",
                                    "This gateway has no secret store to keep credentials in");
      return NULL;
    }
  sealed = cf_secret_store_seal (secrets, text, &error);
  if (sealed == NULL)
    {
      g_warning ("Cannot seal upstream credentials: %s", error->message);
      cf_entity_schema_add_problem (problems, field, "value_error",
                                    "The credentials could not be encrypted");
    }
  return sealed;
}

static void
gateway_credentials (CfSecretStore *secrets,
                     JsonObject    *gateway,
                     JsonObject    *input,
                     JsonObject    *existing,
                     JsonArray     *problems)
{
  Credentials c = {
    .type = cf_json_object_get_string (gateway, "authType"),
    .username = cf_json_object_get_string (gateway, "authUsername"),
    .password = cf_json_object_get_string (gateway, "authPassword"),
    .token = cf_json_object_get_string (gateway, "authToken"),
    .header_key = cf_json_object_get_string (gateway, "authHeaderKey"),
    .header_value = cf_json_object_get_string (gateway, "authHeaderValue"),
    .headers = cf_json_object_get_array (gateway, "authHeaders"),
  };
  g_autoptr(JsonObject) headers = NULL;
  g_autofree char *sealed = NULL;
  gboolean any = has_any (&c);
  const char *before = cf_json_object_get_string (existing, "authType");

  if (c.type == NULL || g_str_equal (c.type, "none"))
    {
      if (any)
        cf_entity_schema_add_problem (problems, "authType", "missing",
                                      "Credentials need an authType: bearer, basic or "
                                      "authheaders");
      json_object_remove_member (gateway, "authValue");
      return;
    }
  if (!any)
    {
      gboolean type_given = existing == NULL || json_object_has_member (input, "authType") ||
                            json_object_has_member (input, "auth_type");

      /* Unchanged: the sealed value stays, if it was sealed for this type. */
      if (type_given && !g_strv_contains (supported_types, c.type))
        unsupported (c.type, "authType", problems);
      else if (type_given && (g_strcmp0 (before, c.type) != 0 ||
                              cf_json_object_get_string (gateway, "authValue") == NULL))
        {
          g_autofree char *msg = g_strdup_printf ("authType %s needs its credentials", c.type);
          cf_entity_schema_add_problem (problems, "authType", "missing", msg);
        }
      return;
    }

  headers = build_headers (&c, TRUE, problems);
  if (headers != NULL && (sealed = seal_headers (secrets, headers, "authType", problems)) != NULL)
    json_object_set_string_member (gateway, "authValue", sealed);
}

static void
strip_gateway_secrets (JsonObject *gateway)
{
  for (guint i = 0; gateway_secret_fields[i] != NULL; i++)
    json_object_remove_member (gateway, gateway_secret_fields[i]);
}

static const char *
either (JsonObject *object,
        const char *camel,
        const char *snake)
{
  return cf_json_object_get_string (object, camel) ?: cf_json_object_get_string (object, snake);
}

static void
tool_credentials (CfSecretStore *secrets,
                  JsonObject    *tool,
                  JsonObject    *existing,
                  JsonArray     *problems)
{
  JsonObject *auth = cf_json_object_get_object (tool, "auth");
  JsonObject *before = cf_json_object_get_object (existing, "auth");
  Credentials c = { NULL };
  g_autoptr(JsonObject) headers = NULL;
  g_autofree char *sealed = NULL;
  JsonObject *stored;

  if (auth == NULL)
    return;
  c.type = either (auth, "authType", "auth_type");
  c.username = cf_json_object_get_string (auth, "username");
  c.password = cf_json_object_get_string (auth, "password");
  c.token = cf_json_object_get_string (auth, "token");
  c.header_key = either (auth, "authHeaderKey", "auth_header_key");
  c.header_value = either (auth, "authHeaderValue", "auth_header_value");
  c.headers = cf_json_object_get_array (auth, "authHeaders") ?:
              cf_json_object_get_array (auth, "auth_headers");

  if (c.type == NULL || g_str_equal (c.type, "none"))
    {
      if (has_any (&c))
        cf_entity_schema_add_problem (problems, "auth", "missing",
                                      "Credentials need an auth_type: bearer, basic or "
                                      "authheaders");
      json_object_remove_member (tool, "auth");
      return;
    }
  if (!has_any (&c) && before != NULL &&
      g_strcmp0 (cf_json_object_get_string (before, "authType"), c.type) == 0)
    {
      /* Sent back as a GET showed it: keep what is stored. */
      json_object_set_object_member (tool, "auth", cf_json_object_deep_copy (before));
      return;
    }

  headers = build_headers (&c, FALSE, problems);
  if (headers == NULL || (sealed = seal_headers (secrets, headers, "auth", problems)) == NULL)
    {
      json_object_remove_member (tool, "auth");
      return;
    }
  stored = json_object_new ();
  json_object_set_string_member (stored, "authType", c.type);
  json_object_set_string_member (stored, "authValue", sealed);
  json_object_set_object_member (tool, "auth", stored);
}

/**
 * _cf_catalog_seal_credentials:
 * @secrets: (nullable): where credentials are sealed
 * @kind: the kind of @entity
 * @entity: the entity to be stored, changed in place
 * @input: the fields the client gave
 * @existing: (nullable): the stored entity it replaces
 * @problems: where problems are appended
 *
 * Replaces credentials given in clear with their sealed headers, and
 * drops every clear field, valid or not.
 */
void
_cf_catalog_seal_credentials (CfSecretStore *secrets,
                              CfEntityKind   kind,
                              JsonObject    *entity,
                              JsonObject    *input,
                              JsonObject    *existing,
                              JsonArray     *problems)
{
  if (kind == CF_ENTITY_GATEWAY)
    {
      gateway_credentials (secrets, entity, input, existing, problems);
      strip_gateway_secrets (entity);
    }
  else if (kind == CF_ENTITY_TOOL)
    tool_credentials (secrets, entity, existing, problems);
}

/**
 * _cf_catalog_check_destination:
 * @ssrf: (nullable): the SSRF policy
 * @kind: the kind of @entity
 * @entity: the entity to be stored
 * @input: the fields the client gave
 * @problems: where problems are appended
 *
 * A URL the client gives must pass the SSRF policy as written; what its
 * host resolves to is checked again on every connection.
 */
void
_cf_catalog_check_destination (CfSsrfPolicy *ssrf,
                               CfEntityKind  kind,
                               JsonObject   *entity,
                               JsonObject   *input,
                               JsonArray    *problems)
{
  const char *url = cf_json_object_get_string (entity, "url");
  const char *consented;
  g_autoptr(GError) error = NULL;

  if (ssrf == NULL || url == NULL || !json_object_has_member (input, "url") ||
      (kind != CF_ENTITY_GATEWAY && kind != CF_ENTITY_TOOL) ||
      g_strcmp0 (cf_json_object_get_string (entity, "transport"), "STDIO") == 0)
    return;
  if (kind == CF_ENTITY_GATEWAY &&
      (consented = cf_catalog_gateway_consented_address (entity)) != NULL)
    {
      /* The operator chose this address from the discovered peers: only
       * what no setting may allow is still refused. */
      CfAddressClass klass = cf_ssrf_classify_host (consented, NULL);

      if (klass == CF_ADDRESS_METADATA || klass == CF_ADDRESS_RESERVED)
        cf_entity_schema_add_problem (problems, "url", "value_error",
                                      "Gateway URL blocked: a discovered gateway may not "
                                      "announce a metadata or reserved address");
      return;
    }
  if (!cf_ssrf_policy_check_url (ssrf, url, &error))
    {
      g_autofree char *msg = g_strdup_printf ("%s URL blocked: %s",
                                              _cf_catalog_kind_label (kind), error->message);
      cf_entity_schema_add_problem (problems, "url", "value_error", msg);
    }
}

/**
 * cf_catalog_gateway_consented_address:
 * @gateway: a stored gateway
 *
 * A gateway registered from the discovered peers carries the address the
 * operator chose (see cf_catalog_create_discovered_async()). That choice
 * counts as long as the URL still points at that very address.
 *
 * Returns: (nullable): the address the SSRF guard allows for @gateway
 *   alone, or %NULL
 */
const char *
cf_catalog_gateway_consented_address (JsonObject *gateway)
{
  const char *address = cf_json_object_get_string (gateway, "discoveredAddress");
  const char *url = cf_json_object_get_string (gateway, "url");
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GInetAddress) literal = NULL;
  g_autoptr(GInetAddress) host = NULL;

  if (address == NULL || url == NULL ||
      (uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL)) == NULL ||
      g_uri_get_host (uri) == NULL)
    return NULL;
  literal = g_inet_address_new_from_string (address);
  host = g_inet_address_new_from_string (g_uri_get_host (uri));
  if (literal == NULL || host == NULL || !g_inet_address_equal (literal, host))
    return NULL;
  return address;
}
