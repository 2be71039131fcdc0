/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-credentials"

#include "config.h"

#include "cf-json.h"
#include "cf-upstream-credentials.h"

/**
 * cf_upstream_credentials_open:
 * @secrets: (nullable): the store the catalog sealed with
 * @sealed: an entity's sealed credentials: a gateway's authValue, or a
 *   REST tool's auth.authValue
 * @error: return location for a #GError
 *
 * The one place credentials come out in clear: right before they are
 * handed to the client that sends them upstream. The catalog sealed them
 * as a JSON object of header names and values.
 *
 * Returns: (transfer full) (nullable): header names and values, whose
 *   values are wiped when the table frees them; %NULL with @error set
 */
GHashTable *
cf_upstream_credentials_open (CfSecretStore  *secrets,
                              const char     *sealed,
                              GError        **error)
{
  g_autoptr(CfSecret) text = NULL;
  g_autoptr(JsonNode) node = NULL;
  g_autoptr(GList) names = NULL;
  g_autoptr(GHashTable) headers = NULL;
  JsonObject *object;

  g_return_val_if_fail (sealed != NULL, NULL);

  if (secrets == NULL)
    {
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_FAILED,
                           "The upstream has credentials but the gateway has no secret store "
                           "to open them");
      return NULL;
    }
  text = cf_secret_store_unseal (secrets, sealed, error);
  if (text == NULL)
    return NULL;
  node = cf_json_parse (text, -1, NULL);
  if (node == NULL || !JSON_NODE_HOLDS_OBJECT (node))
    {
      g_set_error_literal (error, CF_SECRET_ERROR, CF_SECRET_ERROR_MALFORMED,
                           "The upstream's sealed credentials are not a set of headers");
      return NULL;
    }

  object = json_node_get_object (node);
  names = json_object_get_members (object);
  headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, (GDestroyNotify) cf_secret_free);
  for (GList *l = names; l != NULL; l = l->next)
    {
      const char *value = cf_json_object_get_string (object, l->data);

      if (value != NULL)
        g_hash_table_insert (headers, g_strdup (l->data), g_strdup (value));
    }
  return g_steal_pointer (&headers);
}
