/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tool-form"

#include "config.h"

#include <glib/gi18n.h>

#include "cf-admin-util.h"
#include "cf-tool-form.h"

/**
 * CfToolForm:
 *
 * "Try it": a form built from a tool's input schema, one row per
 * property, that calls the tool through the gateway and shows what it
 * answered.
 */
struct _CfToolForm
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;   /* the tool shown; replaced with it */
  char           *tool_name;

  GtkStack       *stack;
  GtkLabel       *title_label;
  GtkLabel       *description_label;
  GtkListBox     *args_list;
  GtkLabel       *no_args_label;
  GtkButton      *run_button;
  GtkSpinner     *spinner;
  GtkBox         *result_box;
  GtkLabel       *result_heading;
  GtkLabel       *result_label;
};

G_DEFINE_FINAL_TYPE (CfToolForm, cf_tool_form, ADW_TYPE_BIN)

#define ARG_NAME "cf-arg-name"
#define ARG_TYPE "cf-arg-type"

/* Tolerant readers: a tool's schema and results come from any server. */

static const char *
node_string (JsonNode *node)
{
  if (node == NULL || !JSON_NODE_HOLDS_VALUE (node) ||
      json_node_get_value_type (node) != G_TYPE_STRING)
    return NULL;
  return json_node_get_string (node);
}

static const char *
string_member (JsonObject *object,
               const char *member)
{
  return object ? node_string (json_object_get_member (object, member)) : NULL;
}

static gboolean
bool_member (JsonObject *object,
             const char *member)
{
  JsonNode *node = object ? json_object_get_member (object, member) : NULL;

  return node != NULL && JSON_NODE_HOLDS_VALUE (node) &&
         json_node_get_value_type (node) == G_TYPE_BOOLEAN && json_node_get_boolean (node);
}

/* The rows */

static const char *
schema_type (JsonObject *schema)
{
  JsonNode *type = schema ? json_object_get_member (schema, "type") : NULL;

  if (type != NULL && JSON_NODE_HOLDS_VALUE (type) &&
      json_node_get_value_type (type) == G_TYPE_STRING)
    return json_node_get_string (type);
  /* ["string", "null"] and the like: the first that is not null. */
  if (type != NULL && JSON_NODE_HOLDS_ARRAY (type))
    {
      JsonArray *types = json_node_get_array (type);

      for (guint i = 0; i < json_array_get_length (types); i++)
        {
          const char *one = node_string (json_array_get_element (types, i));

          if (one != NULL && !g_str_equal (one, "null"))
            return one;
        }
    }
  return "json";
}

static GtkWidget *
argument_row (const char *name,
              JsonObject *schema,
              gboolean    required)
{
  const char *type = schema_type (schema);
  const char *description = string_member (schema, "description");
  g_autofree char *widget_name = g_strconcat ("arg-", name, NULL);
  g_autofree char *escaped = g_markup_escape_text (name, -1);
  g_autofree char *title = NULL;
  GtkWidget *row;

  if (required)
    /* Translators: an argument's name, marked as one that must be given */
    title = g_strdup_printf (_("%s (required)"), escaped);
  else if (g_str_equal (type, "json") || g_str_equal (type, "object") ||
           g_str_equal (type, "array"))
    /* Translators: an argument's name, marked as one that takes JSON */
    title = g_strdup_printf (_("%s (JSON)"), escaped);
  else
    title = g_strdup (escaped);

  if (g_str_equal (type, "boolean"))
    {
      GtkWidget *toggle = gtk_switch_new ();

      row = adw_action_row_new ();
      gtk_widget_set_valign (toggle, GTK_ALIGN_CENTER);
      gtk_widget_set_name (toggle, widget_name);
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), toggle);
      adw_action_row_set_activatable_widget (ADW_ACTION_ROW (row), toggle);
      if (description != NULL)
        adw_action_row_set_subtitle (ADW_ACTION_ROW (row), description);
      g_object_set_data (G_OBJECT (row), "cf-switch", toggle);
    }
  else
    {
      row = adw_entry_row_new ();
      gtk_widget_set_name (row, widget_name);
      if (g_str_equal (type, "integer") || g_str_equal (type, "number"))
        adw_entry_row_set_input_purpose (ADW_ENTRY_ROW (row), GTK_INPUT_PURPOSE_NUMBER);
      if (description != NULL)
        gtk_widget_set_tooltip_text (row, description);
    }
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  g_object_set_data_full (G_OBJECT (row), ARG_NAME, g_strdup (name), g_free);
  g_object_set_data_full (G_OBJECT (row), ARG_TYPE, g_strdup (type), g_free);
  g_object_set_data (G_OBJECT (row), "cf-required", GINT_TO_POINTER (required));
  return row;
}

static gboolean
is_required (JsonObject *schema,
             const char *name)
{
  JsonArray *required = NULL;

  if (schema != NULL && json_object_has_member (schema, "required") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (schema, "required")))
    required = json_object_get_array_member (schema, "required");
  for (guint i = 0; required != NULL && i < json_array_get_length (required); i++)
    if (g_strcmp0 (node_string (json_array_get_element (required, i)), name) == 0)
      return TRUE;
  return FALSE;
}

static void
build_rows (CfToolForm *self,
            JsonObject *input_schema)
{
  JsonObject *properties = NULL;
  g_autoptr(GList) names = NULL;

  cf_admin_list_box_clear (self->args_list);
  if (input_schema != NULL && json_object_has_member (input_schema, "properties") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (input_schema, "properties")))
    properties = json_object_get_object_member (input_schema, "properties");
  if (properties != NULL)
    names = json_object_get_members (properties);
  for (GList *l = names; l != NULL; l = l->next)
    {
      JsonNode *node = json_object_get_member (properties, l->data);
      JsonObject *schema = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;

      gtk_list_box_append (self->args_list,
                           argument_row (l->data, schema, is_required (input_schema, l->data)));
    }
  gtk_widget_set_visible (GTK_WIDGET (self->args_list), names != NULL);
  gtk_widget_set_visible (GTK_WIDGET (self->no_args_label), names == NULL);
}

/* Reading the form */

static JsonNode *
parse_value (const char  *text,
             const char  *type,
             GError     **error)
{
  JsonNode *node;

  if (g_str_equal (type, "string"))
    return json_node_init_string (json_node_alloc (), text);
  if (g_str_equal (type, "integer"))
    {
      gint64 n = 0;

      if (!g_ascii_string_to_signed (text, 10, G_MININT64, G_MAXINT64, &n, error))
        return NULL;
      return json_node_init_int (json_node_alloc (), n);
    }
  if (g_str_equal (type, "number"))
    {
      char *end = NULL;
      double n = g_ascii_strtod (text, &end);

      if (end == text || *end != '\0')
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("“%s” is not a number"),
                       text);
          return NULL;
        }
      return json_node_init_double (json_node_alloc (), n);
    }
  node = json_from_string (text, error);
  if (node == NULL && error != NULL && *error == NULL)
    g_set_error_literal (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA, _("It is empty"));
  return node;
}

/* Returns: (transfer full) (nullable): the arguments as JSON */
static char *
read_arguments (CfToolForm  *self,
                GError     **error)
{
  g_autoptr(JsonObject) arguments = json_object_new ();
  g_autoptr(JsonNode) root = NULL;

  for (GtkWidget *row = gtk_widget_get_first_child (GTK_WIDGET (self->args_list));
       row != NULL; row = gtk_widget_get_next_sibling (row))
    {
      const char *name = g_object_get_data (G_OBJECT (row), ARG_NAME);
      const char *type = g_object_get_data (G_OBJECT (row), ARG_TYPE);
      GtkWidget *toggle = g_object_get_data (G_OBJECT (row), "cf-switch");
      const char *text;
      g_autoptr(GError) local_error = NULL;
      JsonNode *value;

      if (toggle != NULL)
        {
          json_object_set_boolean_member (arguments, name,
                                          gtk_switch_get_active (GTK_SWITCH (toggle)));
          continue;
        }
      text = gtk_editable_get_text (GTK_EDITABLE (row));
      if (*text == '\0' && !g_object_get_data (G_OBJECT (row), "cf-required"))
        continue;
      value = parse_value (text, type, &local_error);
      if (value == NULL)
        {
          g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_DATA,
                       /* Translators: an argument's name, then what is wrong */
                       _("%s: %s"), name, local_error->message);
          return NULL;
        }
      json_object_set_member (arguments, name, value);
    }
  root = json_node_init_object (json_node_alloc (), arguments);
  return json_to_string (root, FALSE);
}

/* The result */

/**
 * cf_tool_form_result_text:
 * @result: an MCP CallToolResult
 *
 * Returns: (transfer full): the result for people: its text blocks, and
 *   a line for each block of another kind
 */
char *
cf_tool_form_result_text (JsonObject *result)
{
  g_autoptr(GString) text = g_string_new (NULL);
  JsonArray *content = NULL;

  if (json_object_has_member (result, "content") &&
      JSON_NODE_HOLDS_ARRAY (json_object_get_member (result, "content")))
    content = json_object_get_array_member (result, "content");
  for (guint i = 0; content != NULL && i < json_array_get_length (content); i++)
    {
      JsonNode *node = json_array_get_element (content, i);
      JsonObject *block = JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
      const char *type = string_member (block, "type");

      if (text->len > 0)
        g_string_append_c (text, '\n');
      if (g_strcmp0 (type, "text") == 0 && string_member (block, "text") != NULL)
        g_string_append (text, string_member (block, "text"));
      else
        /* Translators: a result block the app cannot show, such as an image */
        g_string_append_printf (text, _("[%s content]"), type ? type : "?");
    }
  if (text->len == 0 && json_object_has_member (result, "structuredContent"))
    {
      g_autoptr(JsonGenerator) generator = json_generator_new ();
      g_autofree char *json = NULL;

      json_generator_set_pretty (generator, TRUE);
      json_generator_set_root (generator, json_object_get_member (result, "structuredContent"));
      json = json_generator_to_data (generator, NULL);
      g_string_append (text, json);
    }
  if (text->len == 0)
    g_string_append (text, _("The tool answered with no content."));
  return g_string_free (g_steal_pointer (&text), FALSE);
}

static void
show_result (CfToolForm *self,
             const char *json)
{
  g_autoptr(JsonNode) node = json_from_string (json, NULL);
  JsonObject *result = node && JSON_NODE_HOLDS_OBJECT (node) ? json_node_get_object (node) : NULL;
  g_autofree char *text = NULL;
  gboolean is_error = FALSE;

  if (result == NULL)
    {
      gtk_label_set_text (self->result_label, json);
      return;
    }
  is_error = bool_member (result, "isError");
  text = cf_tool_form_result_text (result);
  gtk_label_set_text (self->result_heading, is_error ? _("The Tool Reported an Error")
                                                     : _("Result"));
  if (is_error)
    gtk_widget_add_css_class (GTK_WIDGET (self->result_label), "error");
  else
    gtk_widget_remove_css_class (GTK_WIDGET (self->result_label), "error");
  gtk_label_set_text (self->result_label, text);
  gtk_widget_set_visible (GTK_WIDGET (self->result_box), TRUE);
}

static void
set_busy (CfToolForm *self,
          gboolean    busy)
{
  gtk_spinner_set_spinning (self->spinner, busy);
  gtk_widget_set_sensitive (GTK_WIDGET (self->run_button), !busy);
}

static void
on_called (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CfToolForm *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  const char *json = NULL;

  if (cf_admin_error_is_cancelled (error))
    return;
  set_busy (self, FALSE);
  if (reply == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("Could not call the tool"), error);
      return;
    }
  g_variant_get (reply, "(&s)", &json);
  show_result (self, json);
}

static void
on_run (CfToolForm *self)
{
  g_autoptr(GError) error = NULL;
  g_autofree char *arguments = NULL;

  if (self->tool_name == NULL)
    return;
  arguments = read_arguments (self, &error);
  if (arguments == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("Check the arguments"), error);
      return;
    }
  set_busy (self, TRUE);
  gtk_widget_set_visible (GTK_WIDGET (self->result_box), FALSE);
  cf_admin_backend_call_async (self->backend, "CallTool",
                               g_variant_new ("(ss)", self->tool_name, arguments),
                               self->cancellable, on_called, self);
}

/* Loading a tool */

static void
on_tool (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  CfToolForm *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  g_autoptr(JsonNode) node = NULL;
  JsonObject *tool;
  JsonObject *schema = NULL;
  const char *json = NULL;

  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    {
      cf_admin_toast_error (GTK_WIDGET (self), _("Could not load the tool"), error);
      return;
    }
  g_variant_get (reply, "(&s)", &json);
  node = json_from_string (json, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    return;
  tool = json_node_get_object (node);
  g_free (self->tool_name);
  self->tool_name = g_strdup (string_member (tool, "name") ?: "");
  if (json_object_has_member (tool, "inputSchema") &&
      JSON_NODE_HOLDS_OBJECT (json_object_get_member (tool, "inputSchema")))
    schema = json_object_get_object_member (tool, "inputSchema");

  gtk_label_set_text (self->title_label, self->tool_name);
  gtk_label_set_text (self->description_label,
                      string_member (tool, "description") ?: "");
  build_rows (self, schema);
  gtk_widget_set_visible (GTK_WIDGET (self->result_box), FALSE);
  set_busy (self, FALSE);
  gtk_stack_set_visible_child_name (self->stack, "form");
}

/**
 * cf_tool_form_show_tool:
 * @self: the form
 * @tool_id: the tool to try
 */
void
cf_tool_form_show_tool (CfToolForm *self,
                        const char *tool_id)
{
  g_return_if_fail (CF_IS_TOOL_FORM (self));
  g_return_if_fail (self->backend != NULL);

  /* What was under way for the previous tool no longer belongs here. */
  g_cancellable_cancel (self->cancellable);
  g_clear_object (&self->cancellable);
  self->cancellable = g_cancellable_new ();
  cf_admin_backend_call_async (self->backend, "GetTool", g_variant_new ("(s)", tool_id),
                               self->cancellable, on_tool, self);
}

static void
cf_tool_form_dispose (GObject *object)
{
  CfToolForm *self = (CfToolForm *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);
  g_clear_pointer (&self->tool_name, g_free);

  G_OBJECT_CLASS (cf_tool_form_parent_class)->dispose (object);
}

static void
cf_tool_form_class_init (CfToolFormClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_tool_form_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-tool-form.ui");
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, stack);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, title_label);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, description_label);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, args_list);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, no_args_label);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, run_button);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, spinner);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, result_box);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, result_heading);
  gtk_widget_class_bind_template_child (widget_class, CfToolForm, result_label);
  gtk_widget_class_bind_template_callback (widget_class, on_run);
}

static void
cf_tool_form_init (CfToolForm *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
}

void
cf_tool_form_set_backend (CfToolForm     *self,
                          CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_TOOL_FORM (self));

  g_set_object (&self->backend, backend);
}
