/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-prompts"

#include "config.h"

#include "cf-api-private.h"
#include "cf-json.h"
#include "cf-prompt-render.h"

static void
render (CfApiRequest      *request,
        CfCatalogSnapshot *snapshot,
        JsonObject        *prompt,
        JsonObject        *arguments)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *missing = NULL;
  JsonObject *result = cf_prompt_render (snapshot, prompt, arguments, &missing, &error);

  if (result != NULL)
    cf_api_respond_object (request, SOUP_STATUS_OK, result);
  else if (missing != NULL)
    cf_api_respond_problem (request, "body", missing, "missing", error->message);
  else if (g_error_matches (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_STORE))
    cf_api_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR, error->message);
  else
    cf_api_respond_error (request, SOUP_STATUS_UNPROCESSABLE_ENTITY, error->message);
}

/* `POST /v1/prompts/{id}` with the arguments as the body: ContextForge's
 * way of getting a prompt outside MCP. */
static void
handle_render (CfApiRequest *request)
{
  g_autoptr(CfCatalogSnapshot) snapshot = cf_api_request_get_snapshot (request);
  JsonObject *prompt = cf_api_lookup (request, snapshot);
  g_autoptr(JsonObject) arguments = NULL;

  if (prompt == NULL)
    return;
  if (!cf_json_object_get_bool (prompt, "enabled", TRUE))
    {
      g_autofree char *detail = g_strdup_printf ("Prompt %s exists but is inactive", request->id);
      cf_api_respond_error (request, SOUP_STATUS_NOT_FOUND, detail);
      return;
    }
  arguments = cf_api_read_body (request, FALSE);
  if (arguments != NULL)
    render (request, snapshot, prompt, arguments);
}

static const CfApiRoute prompt_routes[] = {
  { "POST", "{id}", handle_render },
  { NULL, NULL, NULL },
};

const CfApiKind cf_api_prompts = {
  .kind = CF_ENTITY_PROMPT,
  .path = "/v1/prompts",
  .embed = "prompt",
  .label = "Prompt",
  .routes = prompt_routes,
};
