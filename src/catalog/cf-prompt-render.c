/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-prompt-render"

#include "config.h"

#include "cf-catalog.h"
#include "cf-json.h"
#include "cf-prompt-render.h"

/* Getting a prompt, as MCP's prompts/get and REST's POST /v1/prompts/{id}
 * both do: check the declared required arguments, render the template,
 * wrap the text as one user message. */

static const char *
find_missing (JsonObject *prompt,
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
      given = arguments ? json_object_get_member (arguments, name) : NULL;
      if (given == NULL || JSON_NODE_HOLDS_NULL (given))
        return name;
    }
  return NULL;
}

static JsonObject *
result_for (JsonObject *prompt,
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
  if (description != NULL)
    json_object_set_string_member (result, "description", description);
  json_object_set_array_member (result, "messages", messages);
  return result;
}

/**
 * cf_prompt_render:
 * @snapshot: the snapshot holding the compiled template
 * @prompt: the prompt entity
 * @arguments: (nullable): the arguments
 * @out_missing: (out) (optional) (transfer full): the required argument
 *   that is missing, when that is the error
 * @error: a %CF_CATALOG_ERROR_INVALID for a missing argument, or the
 *   %CF_TEMPLATE_ERROR of the rendering
 *
 * Returns: (transfer full): a GetPromptResult
 */
JsonObject *
cf_prompt_render (CfCatalogSnapshot  *snapshot,
                  JsonObject         *prompt,
                  JsonObject         *arguments,
                  char              **out_missing,
                  GError            **error)
{
  CfPromptTemplate *template;
  const char *missing = find_missing (prompt, arguments);
  g_autoptr(JsonObject) empty = NULL;
  g_autofree char *text = NULL;

  if (missing != NULL)
    {
      if (out_missing != NULL)
        *out_missing = g_strdup (missing);
      g_set_error (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_INVALID,
                   "Missing required argument: %s", missing);
      return NULL;
    }

  /* The catalog refuses templates that do not compile, so only a row
   * edited behind its back lacks one. */
  template = cf_catalog_snapshot_get_prompt_template (snapshot,
                                                      cf_json_object_get_string (prompt, "id"));
  if (template == NULL)
    {
      g_set_error_literal (error, CF_CATALOG_ERROR, CF_CATALOG_ERROR_STORE,
                           "The prompt's template does not compile");
      return NULL;
    }

  if (arguments == NULL)
    arguments = empty = json_object_new ();
  text = cf_prompt_template_render (template, arguments, error);
  return text != NULL ? result_for (prompt, text) : NULL;
}
