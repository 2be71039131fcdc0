/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-nearby-page"

#include "config.h"

#include <glib/gi18n.h>
#include <json-glib/json-glib.h>
#include <string.h>

#include "cf-admin-util.h"
#include "cf-nearby-page.h"

/**
 * CfNearbyPage:
 *
 * The gateways on the local network that announce themselves over mDNS:
 * discovery's switch and state, the gateways it found, and registering
 * one of them as an upstream gateway, with a token when it asks for one.
 * Over D-Bus the page follows discovery as it goes; over REST it shows
 * what was there when it loaded.
 */
struct _CfNearbyPage
{
  AdwBin          parent_instance;

  CfAdminBackend *backend;
  GCancellable   *cancellable;
  gboolean        syncing;       /* the switch is being set from the gateway */
  gboolean        enabled;       /* the gateway's own idea, as last heard */
  gboolean        unavailable;   /* the gateway has no discovery methods */

  AdwActionRow   *discovery_row;
  GtkSwitch      *discovery_switch;
  GtkStack       *list_stack;
  GtkListBox     *list;
  AdwStatusPage  *empty_page;
};

G_DEFINE_FINAL_TYPE (CfNearbyPage, cf_nearby_page, ADW_TYPE_BIN)

/**
 * cf_nearby_settings_for:
 * @name: (nullable): the name to register the gateway under, or %NULL
 *   (or empty) for the one it announces
 * @auth: (nullable): how the nearby gateway says it authenticates:
 *   "none", "bearer" or "oauth"
 * @token: (nullable): the bearer token to reach it with
 *
 * Returns: (transfer full): RegisterNearbyGateway's settings, as JSON
 */
char *
cf_nearby_settings_for (const char *name,
                        const char *auth,
                        const char *token)
{
  g_autoptr(JsonBuilder) builder = json_builder_new ();
  g_autoptr(JsonNode) root = NULL;

  json_builder_begin_object (builder);
  if (name != NULL && *name != '\0')
    {
      json_builder_set_member_name (builder, "name");
      json_builder_add_string_value (builder, name);
    }
  /* Always a bearer token when the peer asks for one, even empty: the
   * gateway then says what is missing, in its own words. */
  if (g_strcmp0 (auth, "bearer") == 0)
    {
      json_builder_set_member_name (builder, "auth_type");
      json_builder_add_string_value (builder, "bearer");
      if (token != NULL && *token != '\0')
        {
          json_builder_set_member_name (builder, "auth_token");
          json_builder_add_string_value (builder, token);
        }
    }
  json_builder_end_object (builder);
  root = json_builder_get_root (builder);
  return json_to_string (root, FALSE);
}

static const char *
state_text (const char *state)
{
  if (g_strcmp0 (state, "starting") == 0)
    return _("Starting…");
  if (g_strcmp0 (state, "running") == 0)
    return _("Looking for gateways on this network");
  if (g_strcmp0 (state, "no-daemon") == 0)
    return _("Avahi is not running on this computer");
  if (g_strcmp0 (state, "failed") == 0)
    return _("Discovery failed");
  return _("Off");
}

/**
 * cf_nearby_describe_status:
 * @status: discovery's state, as GetDiscovery answers it
 *
 * Returns: (transfer full): the state in words, with the gateway's
 *   message and the name it announces itself under
 */
char *
cf_nearby_describe_status (GVariant *status)
{
  const char *state = cf_admin_lookup_string (status, "state");
  const char *message = cf_admin_lookup_string (status, "message");
  const char *published = cf_admin_lookup_string (status, "published-name");
  GString *text = g_string_new (state_text (state));

  if (*message != '\0')
    g_string_append_printf (text, ": %s", message);
  if (*published != '\0' && g_strcmp0 (state, "running") == 0)
    {
      g_string_append_c (text, '\n');
      /* Translators: %s is the name this gateway announces itself under */
      g_string_append_printf (text, _("Announced as “%s”"), published);
    }
  return g_string_free (text, FALSE);
}

/* An older gateway: over D-Bus it does not know the methods; over REST
 * /v1/discovery is not there (the D-Bus backend never answers
 * G_IO_ERROR_NOT_FOUND itself: its errors come as D-Bus errors). */
static gboolean
gateway_lacks_discovery (const GError *error)
{
  return cf_admin_error_is_unknown_method (error) ||
         g_error_matches (error, G_IO_ERROR, G_IO_ERROR_NOT_FOUND);
}

static void
show_empty_hint (CfNearbyPage *self)
{
  const char *hint;

  if (self->unavailable)
    hint = _("This gateway cannot discover others: it is a version without LAN discovery.");
  else if (!self->enabled)
    hint = _("Discovery is off. Turn it on above to find the gateways that announce themselves "
             "on this network, and to announce this one.");
  else
    hint = _("Gateways on this network that announce themselves over mDNS (the _mcp._tcp "
             "service) appear here as they are found. Registering one adds it to your "
             "gateways.");
  adw_status_page_set_description (self->empty_page, hint);
}

static void
show_status (CfNearbyPage *self,
             GVariant     *status)
{
  g_autofree char *text = cf_nearby_describe_status (status);

  self->unavailable = FALSE;
  self->enabled = cf_admin_lookup_bool (status, "enabled");
  self->syncing = TRUE;
  gtk_switch_set_active (self->discovery_switch, self->enabled);
  self->syncing = FALSE;
  gtk_widget_set_sensitive (GTK_WIDGET (self->discovery_switch), TRUE);
  adw_action_row_set_subtitle (self->discovery_row, text);
  show_empty_hint (self);
}

static void
on_status (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  g_autoptr(GVariant) status = NULL;
  CfNearbyPage *self = user_data;

  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    {
      self->unavailable = gateway_lacks_discovery (error);
      gtk_widget_set_sensitive (GTK_WIDGET (self->discovery_switch), FALSE);
      adw_action_row_set_subtitle (self->discovery_row, self->unavailable
                                   ? _("Not offered by this gateway") : error->message);
      show_empty_hint (self);
      return;
    }
  status = g_variant_get_child_value (reply, 0);
  show_status (self, status);
}

static void
load_status (CfNearbyPage *self)
{
  cf_admin_backend_call_async (self->backend, "GetDiscovery", NULL, self->cancellable, on_status,
                               self);
}

/* Registering */

typedef struct {
  CfNearbyPage *self;    /* the call is cancelled before the page goes */
  char         *name;
} Registering;

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  Registering *registering = user_data;
  CfNearbyPage *self = registering->self;
  g_autofree char *name = registering->name;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  g_autofree char *done = NULL;

  g_free (registering);
  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    cf_admin_toast_error (GTK_WIDGET (self), _("Could not register the gateway"), error);
  else
    {
      done = g_strdup_printf (_("Registered “%s”: connecting…"), name);
      cf_admin_toast (GTK_WIDGET (self), done);
    }
  cf_nearby_page_refresh (self);
}

static void
on_register_response (AdwMessageDialog *dialog,
                      const char       *response,
                      CfNearbyPage     *self)
{
  const char *id = g_object_get_data (G_OBJECT (dialog), "peer-id");
  const char *auth = g_object_get_data (G_OBJECT (dialog), "peer-auth");
  GtkEditable *name_row = g_object_get_data (G_OBJECT (dialog), "name-row");
  GtkEditable *token_row = g_object_get_data (G_OBJECT (dialog), "token-row");
  g_autofree char *name = NULL;
  g_autofree char *settings = NULL;
  Registering *registering;

  if (!g_str_equal (response, "register") || self->backend == NULL)
    return;
  name = g_strstrip (g_strdup (gtk_editable_get_text (name_row)));
  settings = cf_nearby_settings_for (name, auth,
                                     token_row ? gtk_editable_get_text (token_row) : NULL);
  registering = g_new0 (Registering, 1);
  registering->self = self;
  registering->name = g_strdup (*name != '\0' ? name
                                : g_object_get_data (G_OBJECT (dialog), "peer-name"));
  cf_admin_backend_call_async (self->backend, "RegisterNearbyGateway",
                               g_variant_new ("(ss)", id, settings), self->cancellable,
                               on_registered, registering);
}

/* Asks for the name to give it and, when it wants one, the token. */
static void
on_register_clicked (GtkButton    *button,
                     CfNearbyPage *self)
{
  const char *id = g_object_get_data (G_OBJECT (button), "peer-id");
  const char *name = g_object_get_data (G_OBJECT (button), "peer-name");
  const char *url = g_object_get_data (G_OBJECT (button), "peer-url");
  const char *auth = g_object_get_data (G_OBJECT (button), "peer-auth");
  GtkRoot *root = gtk_widget_get_root (GTK_WIDGET (self));
  g_autofree char *heading = g_strdup_printf (_("Register “%s”?"), name);
  g_autofree char *body = NULL;
  GtkWidget *dialog;
  GtkWidget *rows = gtk_list_box_new ();
  GtkWidget *name_row = adw_entry_row_new ();
  GtkWidget *token_row = NULL;

  if (g_strcmp0 (auth, "bearer") == 0)
    body = g_strdup_printf (_("Its tools, resources and prompts become available through this "
                              "gateway, which connects to %s. It asks for a bearer token: "
                              "ask its administrator for one."), url);
  else if (g_strcmp0 (auth, "oauth") == 0)
    body = g_strdup_printf (_("Its tools, resources and prompts become available through this "
                              "gateway, which connects to %s. It signs callers in with OAuth."),
                            url);
  else
    body = g_strdup_printf (_("Its tools, resources and prompts become available through this "
                              "gateway, which connects to %s."), url);
  dialog = adw_message_dialog_new (GTK_IS_WINDOW (root) ? GTK_WINDOW (root) : NULL, heading,
                                   body);
  gtk_widget_set_name (dialog, "registration-dialog");

  gtk_list_box_set_selection_mode (GTK_LIST_BOX (rows), GTK_SELECTION_NONE);
  gtk_widget_add_css_class (rows, "boxed-list");
  gtk_widget_set_name (name_row, "registration-name");
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (name_row), _("Name"));
  gtk_editable_set_text (GTK_EDITABLE (name_row), name);
  gtk_list_box_append (GTK_LIST_BOX (rows), name_row);
  if (g_strcmp0 (auth, "bearer") == 0)
    {
      token_row = adw_password_entry_row_new ();
      gtk_widget_set_name (token_row, "registration-token");
      adw_preferences_row_set_title (ADW_PREFERENCES_ROW (token_row), _("Token"));
      gtk_list_box_append (GTK_LIST_BOX (rows), token_row);
    }
  adw_message_dialog_set_extra_child (ADW_MESSAGE_DIALOG (dialog), rows);

  adw_message_dialog_add_responses (ADW_MESSAGE_DIALOG (dialog),
                                    "cancel", _("_Cancel"),
                                    "register", _("_Register"),
                                    NULL);
  adw_message_dialog_set_response_appearance (ADW_MESSAGE_DIALOG (dialog), "register",
                                              ADW_RESPONSE_SUGGESTED);
  adw_message_dialog_set_default_response (ADW_MESSAGE_DIALOG (dialog), "register");
  adw_message_dialog_set_close_response (ADW_MESSAGE_DIALOG (dialog), "cancel");
  g_object_set_data_full (G_OBJECT (dialog), "peer-id", g_strdup (id), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "peer-auth", g_strdup (auth), g_free);
  g_object_set_data_full (G_OBJECT (dialog), "peer-name", g_strdup (name), g_free);
  g_object_set_data (G_OBJECT (dialog), "name-row", name_row);
  g_object_set_data (G_OBJECT (dialog), "token-row", token_row);
  g_signal_connect_object (dialog, "response", G_CALLBACK (on_register_response), self, 0);
  gtk_window_present (GTK_WINDOW (dialog));
}

/* The list */

static const char *
describe_auth (const char *auth)
{
  if (g_strcmp0 (auth, "bearer") == 0)
    return _("bearer token");
  if (g_strcmp0 (auth, "oauth") == 0)
    return _("OAuth");
  return _("no authentication");
}

/* "MCP 2025-11-25 · bearer token · version 1.2.0": the protocol revision
 * and the software version the peer announces, and how it signs in. */
static char *
describe_how (const char *protocol,
              const char *auth,
              const char *version)
{
  GString *how = g_string_new (NULL);

  if (*protocol != '\0')
    /* Translators: %s is an MCP protocol revision, such as 2025-11-25 */
    g_string_append_printf (how, _("MCP %s · "), protocol);
  g_string_append (how, describe_auth (auth));
  if (*version != '\0')
    /* Translators: %s is the nearby gateway's software version */
    g_string_append_printf (how, _(" · version %s"), version);
  return g_string_free (how, FALSE);
}

static GtkWidget *
peer_row (GVariant *peer,
          gpointer  user_data)
{
  CfNearbyPage *self = user_data;
  const char *id = cf_admin_lookup_string (peer, "id");
  const char *name = cf_admin_lookup_string (peer, "name");
  const char *display_name = cf_admin_lookup_string (peer, "display-name");
  const char *title = *display_name != '\0' ? display_name : name;
  const char *host = cf_admin_lookup_string (peer, "host");
  const char *auth = cf_admin_lookup_string (peer, "auth");
  const char *version = cf_admin_lookup_string (peer, "version");
  guint port = cf_admin_lookup_uint (peer, "port");
  g_autofree char *where = NULL;
  g_autofree char *how = NULL;
  g_autofree char *subtitle = NULL;
  g_autofree char *row_name = g_strconcat ("peer-", title, NULL);
  GtkWidget *row = adw_action_row_new ();
  GtkWidget *icon = gtk_image_new_from_icon_name ("network-server-symbolic");

  if (strchr (host, ':') != NULL)
    where = g_strdup_printf ("[%s]:%u", host, port);
  else
    where = g_strdup_printf ("%s:%u", host, port);
  how = describe_how (cf_admin_lookup_string (peer, "protocol"), auth, version);
  /* What a peer announces is text, never markup. */
  subtitle = g_strdup_printf ("%s\n%s", where, how);

  gtk_widget_set_name (row, row_name);
  adw_preferences_row_set_use_markup (ADW_PREFERENCES_ROW (row), FALSE);
  adw_preferences_row_set_title (ADW_PREFERENCES_ROW (row), title);
  adw_action_row_set_subtitle (ADW_ACTION_ROW (row), subtitle);
  adw_action_row_set_subtitle_lines (ADW_ACTION_ROW (row), 3);
  gtk_widget_set_tooltip_text (row, cf_admin_lookup_string (peer, "url"));
  adw_action_row_add_prefix (ADW_ACTION_ROW (row), icon);

  if (cf_admin_lookup_bool (peer, "registered"))
    {
      g_autofree char *tag_name = g_strconcat ("registered-", title, NULL);
      GtkWidget *tag = gtk_label_new (_("Registered"));

      gtk_widget_set_name (tag, tag_name);
      gtk_widget_set_valign (tag, GTK_ALIGN_CENTER);
      gtk_widget_add_css_class (tag, "success");
      gtk_widget_add_css_class (tag, "heading");
      adw_action_row_add_suffix (ADW_ACTION_ROW (row), tag);
      gtk_image_set_from_icon_name (GTK_IMAGE (icon), "emblem-ok-symbolic");
      gtk_widget_add_css_class (icon, "success");
    }
  else
    {
      g_autofree char *button_name = g_strconcat ("register-", title, NULL);
      GtkWidget *button = gtk_button_new_with_mnemonic (_("_Register…"));

      gtk_widget_set_name (button, button_name);
      gtk_widget_set_valign (button, GTK_ALIGN_CENTER);
      g_object_set_data_full (G_OBJECT (button), "peer-name", g_strdup (title), g_free);
      g_object_set_data_full (G_OBJECT (button), "peer-url",
                              g_strdup (cf_admin_lookup_string (peer, "url")), g_free);
      g_object_set_data_full (G_OBJECT (button), "peer-auth", g_strdup (auth), g_free);
      cf_admin_row_add_button (ADW_ACTION_ROW (row), button, "peer-id", id,
                               G_CALLBACK (on_register_clicked), self);
    }
  return row;
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CfNearbyPage *self = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(GVariant) reply = cf_admin_backend_call_finish (CF_ADMIN_BACKEND (source), result,
                                                            &error);
  g_autoptr(GVariant) peers = NULL;

  if (cf_admin_error_is_cancelled (error))
    return;
  if (reply == NULL)
    {
      /* The status row says it already for a gateway without discovery. */
      if (!gateway_lacks_discovery (error))
        cf_admin_toast_error (GTK_WIDGET (self), _("Could not list the nearby gateways"), error);
      cf_admin_list_box_clear (self->list);
      gtk_stack_set_visible_child_name (self->list_stack, "empty");
      return;
    }
  peers = g_variant_get_child_value (reply, 0);
  cf_admin_list_show (self->list_stack, self->list, peers, peer_row, self);
}

static void
load_list (CfNearbyPage *self)
{
  cf_admin_backend_call_async (self->backend, "ListNearbyGateways", NULL, self->cancellable,
                               on_listed, self);
}

/**
 * cf_nearby_page_refresh:
 * @self: the page
 *
 * Loads discovery's state and the nearby gateways again.
 */
void
cf_nearby_page_refresh (CfNearbyPage *self)
{
  g_return_if_fail (CF_IS_NEARBY_PAGE (self));

  if (self->backend == NULL)
    return;
  load_status (self);
  load_list (self);
}

static void
on_switch_toggled (CfNearbyPage *self)
{
  gboolean active = gtk_switch_get_active (self->discovery_switch);

  if (self->syncing || self->backend == NULL || active == self->enabled)
    return;
  cf_admin_call (GTK_WIDGET (self), self->backend, "SetDiscoveryEnabled",
                 g_variant_new ("(b)", active), self->cancellable,
                 active ? _("Could not turn discovery on") : _("Could not turn discovery off"),
                 NULL, (CfAdminRefreshFunc) cf_nearby_page_refresh);
}

/* Live, over D-Bus */

static void
on_discovery_changed (CfAdminBackend *backend,
                      GVariant       *status,
                      CfNearbyPage   *self)
{
  show_status (self, status);
  load_list (self);
}

static void
on_nearby_changed (CfAdminBackend *backend,
                   const char     *id,
                   gboolean        appeared,
                   CfNearbyPage   *self)
{
  load_list (self);
}

static void
on_catalog_changed (CfAdminBackend *backend,
                    const char     *kind,
                    CfNearbyPage   *self)
{
  /* A gateway registered or removed elsewhere changes the tags. */
  if (g_strcmp0 (kind, "gateway") == 0)
    load_list (self);
}

static void
cf_nearby_page_dispose (GObject *object)
{
  CfNearbyPage *self = (CfNearbyPage *) object;

  cf_admin_release_backend (self, &self->backend, &self->cancellable);

  G_OBJECT_CLASS (cf_nearby_page_parent_class)->dispose (object);
}

static void
cf_nearby_page_class_init (CfNearbyPageClass *klass)
{
  GtkWidgetClass *widget_class = GTK_WIDGET_CLASS (klass);

  G_OBJECT_CLASS (klass)->dispose = cf_nearby_page_dispose;

  gtk_widget_class_set_template_from_resource (widget_class,
                                               "/org/contextforge/Gateway/ui/cf-nearby-page.ui");
  gtk_widget_class_bind_template_child (widget_class, CfNearbyPage, discovery_row);
  gtk_widget_class_bind_template_child (widget_class, CfNearbyPage, discovery_switch);
  gtk_widget_class_bind_template_child (widget_class, CfNearbyPage, list_stack);
  gtk_widget_class_bind_template_child (widget_class, CfNearbyPage, list);
  gtk_widget_class_bind_template_child (widget_class, CfNearbyPage, empty_page);
  gtk_widget_class_bind_template_callback (widget_class, on_switch_toggled);
  gtk_widget_class_bind_template_callback (widget_class, cf_nearby_page_refresh);
}

static void
cf_nearby_page_init (CfNearbyPage *self)
{
  gtk_widget_init_template (GTK_WIDGET (self));
  self->cancellable = g_cancellable_new ();
  show_empty_hint (self);
}

/**
 * cf_nearby_page_set_backend:
 * @self: the page
 * @backend: the gateway to show; the page follows its changes
 */
void
cf_nearby_page_set_backend (CfNearbyPage   *self,
                            CfAdminBackend *backend)
{
  g_return_if_fail (CF_IS_NEARBY_PAGE (self));
  g_return_if_fail (self->backend == NULL);

  self->backend = g_object_ref (backend);
  g_signal_connect (backend, "discovery-changed", G_CALLBACK (on_discovery_changed), self);
  g_signal_connect (backend, "nearby-changed", G_CALLBACK (on_nearby_changed), self);
  g_signal_connect (backend, "catalog-changed", G_CALLBACK (on_catalog_changed), self);
  cf_nearby_page_refresh (self);
}
