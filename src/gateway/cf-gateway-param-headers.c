/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-gateway"

#include "config.h"

#include "cf-catalog-snapshot.h"
#include "cf-gateway-private.h"
#include "cf-json.h"
#include "cf-mcp-server.h"

/*
 * The gateway republishes its tools' input schemas as the upstreams
 * wrote them, x-mcp-header annotations included, so 2026-07-28 clients
 * mirror those arguments into Mcp-Param-* headers when they call through
 * it; the era adapter checks them against the body. This finds a tool's
 * annotations, compiled once per tool and kept until the catalog changes.
 * An upstream's tool with invalid annotations never reaches the catalog
 * (the upstream client leaves it out), nor does a REST-defined one (the
 * catalog refuses it), so a compile error here means none to check.
 */

/* Cached for tools without annotations, so that they are looked at once. */
static const char none_marker;
#define NONE ((CfMcpParamHeaders *) &none_marker)

static void
on_catalog_changed (CfCatalog *catalog,
                    guint      kind,
                    CfGateway *self)
{
  g_hash_table_remove_all (self->param_headers);
}

static void
unref_cached (gpointer data)
{
  if (data != NONE)
    cf_mcp_param_headers_unref (data);
}

static CfMcpParamHeaders *
lookup (CfMcpServer *server,
        const char  *tool_name,
        const char  *scope,
        CfIdentity  *identity,
        gpointer     user_data)
{
  CfGateway *self = user_data;
  g_autoptr(CfCatalogSnapshot) snapshot = cf_catalog_get_snapshot (self->catalog);
  CfCatalogEntry *tool = cf_catalog_snapshot_find_entry_by_name (snapshot, CF_ENTITY_TOOL,
                                                                 tool_name);
  const char *id = tool != NULL ? cf_catalog_entry_get_id (tool) : NULL;
  CfMcpParamHeaders *headers;

  /* A tool the caller may not see, or not here, is left to fail as an
   * unknown one does. */
  if (id == NULL ||
      !_cf_gateway_identity_sees (self, snapshot, identity, scope, CF_ENTITY_TOOL, tool))
    return NULL;
  headers = g_hash_table_lookup (self->param_headers, id);
  if (headers == NULL)
    {
      /* The schema is read once; the tree is not kept. */
      g_autoptr(JsonObject) entity = cf_catalog_entry_dup_object (tool);

      headers = cf_mcp_param_headers_compile (cf_json_object_get_object (entity, "inputSchema"),
                                              NULL);
      g_hash_table_insert (self->param_headers, g_strdup (id), headers ? headers : NONE);
    }
  return headers != NONE ? headers : NULL;
}

/**
 * _cf_gateway_install_param_headers:
 * @self: the gateway
 *
 * Lets the MCP server check the Mcp-Param-* headers of tools/call
 * requests against the called tool's schema.
 */
void
_cf_gateway_install_param_headers (CfGateway *self)
{
  self->param_headers = g_hash_table_new_full (g_str_hash, g_str_equal, g_free, unref_cached);
  g_signal_connect_object (self->catalog, "changed", G_CALLBACK (on_catalog_changed), self, 0);
  cf_mcp_server_set_param_headers_func (self->server, lookup, self, NULL);
}
