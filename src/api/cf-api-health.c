/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-health"

#include "config.h"

#include "cf-api-private.h"
#include "cf-mcp-version.h"

/* Liveness: answering at all is the proof. */
static void
handle_health (CfApiRequest *request)
{
  JsonObject *body = json_object_new ();

  json_object_set_string_member (body, "status", "healthy");
  cf_api_respond_object (request, SOUP_STATUS_OK, body);
}

/* The catalog serves from memory whether or not it persists, and it was
 * loaded before the server listened: once this answers, it is ready. */
static void
handle_ready (CfApiRequest *request)
{
  JsonObject *body = json_object_new ();
  JsonArray *items = json_array_new ();
  JsonObject *database = json_object_new ();

  json_object_set_string_member (database, "name", "Database");
  json_object_set_int_member (database, "status_code", SOUP_STATUS_OK);
  json_object_set_string_member (database, "message", "ok");
  json_array_add_object_element (items, database);
  json_object_set_string_member (body, "status", "ready");
  json_object_set_array_member (body, "status_items", items);
  cf_api_respond_object (request, SOUP_STATUS_OK, body);
}

static void
handle_version (CfApiRequest *request)
{
  JsonObject *body = json_object_new ();
  JsonObject *app = json_object_new ();
  JsonObject *mcp = json_object_new ();
  JsonArray *versions = json_array_new ();
  const char * const *known = cf_mcp_known_versions ();

  for (guint i = 0; known[i] != NULL; i++)
    json_array_add_string_element (versions, known[i]);
  json_object_set_string_member (app, "name", "ContextForge Gateway");
  json_object_set_string_member (app, "version", request->api->version);
  json_object_set_array_member (mcp, "protocolVersions", versions);
  json_object_set_object_member (body, "app", app);
  json_object_set_object_member (body, "mcp", mcp);
  json_object_set_string_member (body, "database", "sqlite");
  cf_api_respond_object (request, SOUP_STATUS_OK, body);
}

static const CfApiRoute health_routes[] = {
  { "GET", "", handle_health },
  { NULL, NULL, NULL },
};

static const CfApiRoute ready_routes[] = {
  { "GET", "", handle_ready },
  { NULL, NULL, NULL },
};

static const CfApiRoute version_routes[] = {
  { "GET", "", handle_version },
  { NULL, NULL, NULL },
};

/* Unversioned, as in ContextForge. */
const CfApiMount cf_api_health_mounts[] = {
  { "/health", NULL, health_routes },
  { "/ready", NULL, ready_routes },
  { "/version", NULL, version_routes },
  { NULL, NULL, NULL },
};
