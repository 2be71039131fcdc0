/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-discovery"

#include "config.h"

#include "cf-discovery-private.h"
#include "cf-entity-schema.h"
#include "cf-json.h"

/* Registering a discovered gateway as an upstream: the operator's
 * explicit act, or the allowlist's. */

/* Registration */

typedef struct {
  char *peer_id;
} RegisterData;

static void
register_data_free (RegisterData *data)
{
  g_free (data->peer_id);
  g_free (data);
}

static gboolean
has_credentials (JsonObject *settings)
{
  static const char * const keys[] = {
    "auth_token", "authToken", "auth_password", "authPassword", "auth_header_value",
    "authHeaderValue", "auth_headers", "authHeaders",
  };

  for (guint i = 0; i < G_N_ELEMENTS (keys); i++)
    if (json_object_has_member (settings, keys[i]) &&
        !JSON_NODE_HOLDS_NULL (json_object_get_member (settings, keys[i])))
      return TRUE;
  return FALSE;
}

static void
on_registered (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  JsonArray *problems = NULL;
  GError *error = NULL;
  JsonObject *entity = cf_catalog_write_finish (CF_CATALOG (source), result, &problems, &error);

  if (entity == NULL)
    {
      if (problems != NULL)
        g_object_set_data_full (G_OBJECT (task), "problems", problems,
                                (GDestroyNotify) json_array_unref);
      g_task_return_error (task, error);
      return;
    }
  g_clear_pointer (&problems, json_array_unref);
  g_task_return_pointer (task, entity, (GDestroyNotify) json_object_unref);
}

static void
fail_with_problem (GTask      *task,
                   const char *field,
                   const char *message)
{
  JsonArray *problems = json_array_new ();

  cf_entity_schema_add_problem (problems, field, "value_error", message);
  g_object_set_data_full (G_OBJECT (task), "problems", problems,
                          (GDestroyNotify) json_array_unref);
  g_task_return_new_error (task, CF_CATALOG_ERROR, CF_CATALOG_ERROR_INVALID,
                           "Gateway failed validation");
}

/**
 * cf_discovery_register_async:
 * @self: a #CfDiscovery
 * @peer_id: a discovered gateway's id
 * @settings: (nullable): GatewayCreate fields to add: `name`, credentials
 *   (`auth_type`, `auth_token`, ...), ownership; not `url`, `transport`
 *   or `command`, which discovery sets
 * @cancellable: (nullable): a #GCancellable
 * @callback: called with the result
 * @user_data: closure data
 *
 * Registers a discovered gateway as an upstream, through the catalog's
 * normal validation, with the operator's consent to reach its address.
 * A peer whose TXT record says it needs credentials is refused without
 * them (a problem on `auth_token`).
 */
void
cf_discovery_register_async (CfDiscovery         *self,
                             const char          *peer_id,
                             JsonObject          *settings,
                             GCancellable        *cancellable,
                             GAsyncReadyCallback  callback,
                             gpointer             user_data)
{
  g_autoptr(GTask) task = NULL;
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  g_autoptr(JsonObject) input = NULL;
  g_autofree char *url = NULL;
  static const char * const fixed[] = { "url", "transport", "command", "args", "cwd", "env" };
  RegisterData *data;
  JsonObject *existing;
  const char *auth;
  const char *address;
  Peer *peer;

  g_return_if_fail (CF_IS_DISCOVERY (self));

  task = g_task_new (self, cancellable, callback, user_data);
  g_task_set_source_tag (task, cf_discovery_register_async);
  data = g_new0 (RegisterData, 1);
  data->peer_id = g_strdup (peer_id);
  g_task_set_task_data (task, data, (GDestroyNotify) register_data_free);

  peer = _cf_discovery_find_peer (self, peer_id);
  if (peer == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_NOT_FOUND,
                               "No gateway %s has been discovered nearby", peer_id);
      return;
    }
  snapshot = cf_catalog_get_snapshot (self->catalog);
  existing = _cf_discovery_find_registration (self, snapshot, peer);
  if (existing != NULL)
    {
      g_task_return_new_error (task, CF_CATALOG_ERROR, CF_CATALOG_ERROR_CONFLICT,
                               "Gateway %s is registered already, as %s", peer_id,
                               cf_json_object_get_string (existing, "id"));
      return;
    }
  for (guint i = 0; settings != NULL && i < G_N_ELEMENTS (fixed); i++)
    if (json_object_has_member (settings, fixed[i]))
      {
        g_autofree char *message = g_strdup_printf ("%s is set by discovery", fixed[i]);

        fail_with_problem (task, fixed[i], message);
        return;
      }
  auth = _cf_discovery_peer_txt_value (peer, "auth");
  if (auth != NULL && g_strcmp0 (auth, "none") != 0 &&
      (settings == NULL || !has_credentials (settings)))
    {
      g_autofree char *message =
        g_strdup_printf ("Gateway %s requires credentials (it announces auth=%s): give "
                         "auth_type and auth_token", peer_id, auth);

      fail_with_problem (task, "auth_token", message);
      return;
    }
  address = _cf_discovery_peer_best_address (peer);
  url = _cf_discovery_peer_url (peer);
  if (address == NULL || url == NULL)
    {
      g_task_return_new_error (task, G_IO_ERROR, G_IO_ERROR_HOST_UNREACHABLE,
                               "Gateway %s has no usable address", peer_id);
      return;
    }

  input = settings ? cf_json_object_deep_copy (settings) : json_object_new ();
  if (!json_object_has_member (input, "name"))
    json_object_set_string_member (input, "name", _cf_discovery_peer_txt_value (peer, "name") ?: peer->name);
  if (!json_object_has_member (input, "description"))
    {
      g_autofree char *description = g_strdup_printf ("Discovered on the local network as "
                                                      "\"%s\"", peer->name);

      json_object_set_string_member (input, "description", description);
    }
  json_object_set_string_member (input, "url", url);
  json_object_set_string_member (input, "transport", "STREAMABLEHTTP");
  cf_catalog_create_discovered_async (self->catalog, input, peer->id, address, cancellable,
                                      on_registered, g_steal_pointer (&task));
}

/**
 * cf_discovery_register_finish:
 * @self: a #CfDiscovery
 * @result: the result
 * @out_problems: (out) (optional) (nullable) (transfer full): validation
 *   problems, in the shape of a 422's `detail`
 * @error: return location for a #GError
 *
 * Returns: (transfer full) (nullable): the registered gateway
 */
JsonObject *
cf_discovery_register_finish (CfDiscovery   *self,
                              GAsyncResult  *result,
                              JsonArray    **out_problems,
                              GError       **error)
{
  JsonArray *problems;

  g_return_val_if_fail (g_task_is_valid (result, self), NULL);

  problems = g_object_get_data (G_OBJECT (result), "problems");
  if (out_problems != NULL)
    *out_problems = problems ? json_array_ref (problems) : NULL;
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
on_auto_registered (GObject      *source,
                    GAsyncResult *result,
                    gpointer      user_data)
{
  CfDiscovery *self = CF_DISCOVERY (source);
  g_autofree char *peer_id = user_data;
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonObject) gateway = cf_discovery_register_finish (self, result, NULL, &error);

  g_hash_table_remove (self->registering, peer_id);
  if (gateway == NULL)
    g_warning ("LAN discovery: cannot register allowlisted gateway %s: %s", peer_id,
               error->message);
  else
    g_message ("LAN discovery: registered allowlisted gateway %s as %s", peer_id,
               cf_json_object_get_string (gateway, "id"));
}

/* Only the ids the operator listed are registered without asking, and
 * only when they need no credentials. */
void
_cf_discovery_auto_register (CfDiscovery *self,
                             Peer        *peer)
{
  g_autoptr(CfCatalogSnapshot) snapshot = NULL;
  JsonObject *settings;
  const char *auth = _cf_discovery_peer_txt_value (peer, "auth");

  if (self->allowlist == NULL ||
      !g_strv_contains ((const char * const *) self->allowlist, peer->id) ||
      g_hash_table_contains (self->registering, peer->id))
    return;
  snapshot = cf_catalog_get_snapshot (self->catalog);
  if (_cf_discovery_find_registration (self, snapshot, peer) != NULL)
    return;
  if (auth != NULL && g_strcmp0 (auth, "none") != 0)
    {
      g_warning ("LAN discovery: allowlisted gateway %s needs credentials (auth=%s); "
                 "register it by hand", peer->id, auth);
      return;
    }
  g_hash_table_add (self->registering, g_strdup (peer->id));
  settings = json_object_new ();
  json_object_set_string_member (settings, "visibility", "public");
  cf_discovery_register_async (self, peer->id, settings, NULL, on_auto_registered,
                               g_strdup (peer->id));
  json_object_unref (settings);
}

