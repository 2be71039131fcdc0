/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-api-tools"

#include "config.h"

#include "cf-api-private.h"

/* `/v1/tools` is the generic CRUD alone; plugin bindings and OpenAPI
 * schema generation will add their routes here when they arrive. */
const CfApiKind cf_api_tools = {
  .kind = CF_ENTITY_TOOL,
  .path = "/v1/tools",
  .embed = "tool",
  .label = "Tool",
  .routes = NULL,
};
