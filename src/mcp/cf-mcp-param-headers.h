/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * CfMcpParamHeaders:
 *
 * The `x-mcp-header` annotations of one tool's `inputSchema`
 * (2026-07-28): which argument, found by a chain of `properties` keys,
 * is mirrored into which `Mcp-Param-{Name}` header, and with which type.
 * Compiled once per tool definition; immutable and reference counted.
 */
typedef struct _CfMcpParamHeaders CfMcpParamHeaders;

/**
 * CfMcpParamHeaderFunc:
 * @header: the header's full name, `Mcp-Param-{Name}`
 * @value: its value, already encoded for the wire
 * @user_data: the data given to cf_mcp_param_headers_foreach()
 */
typedef void (*CfMcpParamHeaderFunc) (const char *header,
                                      const char *value,
                                      gpointer    user_data);

/**
 * CfMcpHeaderLookupFunc:
 * @name: a header name (compared without regard to case)
 * @user_data: the lookup's data
 *
 * Returns: (nullable): the header's value as received, or %NULL
 */
typedef const char *(*CfMcpHeaderLookupFunc) (const char *name,
                                              gpointer    user_data);

CfMcpParamHeaders *cf_mcp_param_headers_compile  (JsonObject            *input_schema,
                                                  GError               **error);
CfMcpParamHeaders *cf_mcp_param_headers_ref      (CfMcpParamHeaders     *self);
void               cf_mcp_param_headers_unref    (CfMcpParamHeaders     *self);
guint              cf_mcp_param_headers_get_size (CfMcpParamHeaders     *self);
void               cf_mcp_param_headers_foreach  (CfMcpParamHeaders     *self,
                                                  JsonObject            *arguments,
                                                  CfMcpParamHeaderFunc   func,
                                                  gpointer               user_data);
gboolean           cf_mcp_param_headers_validate (CfMcpParamHeaders     *self,
                                                  JsonObject            *arguments,
                                                  CfMcpHeaderLookupFunc  lookup,
                                                  gpointer               lookup_data,
                                                  GError               **error);

GHashTable        *cf_mcp_param_headers_table_new (void);

char              *cf_mcp_encode_header_value    (const char            *value);
gboolean           cf_mcp_header_value_is_valid  (const char            *value);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfMcpParamHeaders, cf_mcp_param_headers_unref)

G_END_DECLS
