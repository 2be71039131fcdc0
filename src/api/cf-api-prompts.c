/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-prompts"

#include "config.h"

#include "cf-api-private.h"
#include "cf-json.h"

/* Returns: (nullable): the first argument the prompt declares required
 * that @arguments lacks */
static const char *
find_missing_argument (JsonObject *prompt,
                       JsonObject *arguments)
{
  JsonArray *declared = cf_json_object_get_array (prompt, "arguments");

  for (guint i = 0; declared != NULL && i < json_array_get_length (declared); i++)
    {
      JsonNode *node = json_array_get_element (declared, i);
      JsonObject *argument = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *name = cf_json_object_get_string (argument, "name");
      JsonNode *given;

      if (name == NULL || !cf_json_object_get_bool (argument, "required", FALSE))
        continue;
      given = json_object_get_member (arguments, name);
      if (given == NULL || JSON_NODE_HOLDS_NULL (given))
        return name;
    }
  return NULL;
}

static JsonObject *
prompt_result (JsonObject *prompt,
               const char *text)
{
  JsonObject *result = json_object_new ();
  JsonArray *messages = json_array_new ();
  JsonObject *message = json_object_new ();
  JsonObject *content = json_object_new ();
  const char *description = cf_json_object_get_string (prompt, "description");

  json_object_set_string_member (content, "type", "text");
  json_object_set_string_member (content, "text", text);
  json_object_set_string_member (message, "role", "user");
  json_object_set_object_member (message, "content", content);
  json_array_add_object_element (messages, message);
  json_object_set_array_member (result, "messages", messages);
  if (description != NULL)
    json_object_set_string_member (result, "description", description);
  else
    json_object_set_null_member (result, "description");
  return result;
}

static void
render (CfApiRequest      *request,
        CfCatalogSnapshot *snapshot,
        JsonObject        *prompt,
        JsonObject        *arguments)
{
  CfPromptTemplate *template = cf_catalog_snapshot_get_prompt_template (snapshot, request->id);
  const char *missing = find_missing_argument (prompt, arguments);
  g_autoptr(GError) error = NULL;
  g_autofree char *text = NULL;

  if (missing != NULL)
    {
      g_autofree char *message = g_strdup_printf ("Missing required argument: %s", missing);
      cf_api_respond_problem (request, "body", missing, "missing", message);
      return;
    }
  /* The catalog refuses templates that do not compile, so only a row
   * edited behind its back can get here. */
  if (template == NULL)
    {
      cf_api_respond_error (request, SOUP_STATUS_INTERNAL_SERVER_ERROR,
                            "The prompt's template does not compile");
      return;
    }
  text = cf_prompt_template_render (template, arguments, &error);
  if (text == NULL)
    {
      cf_api_respond_error (request, SOUP_STATUS_UNPROCESSABLE_ENTITY, error->message);
      return;
    }
  cf_api_respond_object (request, SOUP_STATUS_OK, prompt_result (prompt, text));
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
