/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-api.h"
#include "cf-upstream-pool.h"
#include "cf-catalog.h"
#include "cf-discovery.h"
#include "cf-entity-schema.h"
#include "cf-teams.h"

G_BEGIN_DECLS

/* Cursor pages are capped so that one request cannot build a huge body. */
#define CF_API_MAX_LIMIT 500

struct _CfApi
{
  GObject    parent_instance;

  CfCatalog      *catalog;
  CfUpstreamPool *pool;
  CfTeams        *teams;
  CfDiscovery    *discovery;
  char           *version;
  GPtrArray      *mounts;
};

typedef struct _CfApiRequest CfApiRequest;

typedef void (*CfApiHandler) (CfApiRequest *request);

/**
 * CfApiRoute:
 * @method: an HTTP method; GET routes also answer HEAD
 * @pattern: the path below the mount point, segments separated by '/';
 *   "" is the mount point itself and "{id}" matches any one segment
 * @handler: serves the route
 *
 * Tables of routes end with an entry whose @method is %NULL.
 */
typedef struct {
  const char   *method;
  const char   *pattern;
  CfApiHandler  handler;
} CfApiRoute;

/**
 * CfApiKind:
 * @kind: the entity kind
 * @path: the mount point, "/v1/tools"
 * @embed: the member of a create body that holds the entity, as in
 *   ContextForge's `{"tool": {...}, "team_id": ...}`; %NULL when the body
 *   is the entity itself
 * @label: the kind as error messages name it, "Tool"
 * @routes: (nullable): routes beyond the generic CRUD ones
 */
typedef struct {
  CfEntityKind      kind;
  const char       *path;
  const char       *embed;
  const char       *label;
  const CfApiRoute *routes;
} CfApiKind;

/**
 * CfApiMount:
 * @path: the mount point
 * @kind: (nullable): the entity kind served there, which adds the generic
 *   CRUD routes after @routes
 * @routes: the routes of the mount point
 */
typedef struct {
  const char       *path;
  const CfApiKind  *kind;
  const CfApiRoute *routes;
} CfApiMount;

/**
 * CfApiRequest:
 *
 * One request on its way through a handler. A handler that answers at
 * once just responds; one that waits on the catalog takes a reference
 * with cf_api_request_hold(), which pauses the message until it responds.
 */
struct _CfApiRequest
{
  CfApi             *api;
  const CfApiKind   *kind;
  SoupServerMessage *msg;
  GHashTable        *query;
  char              *id;
  /* Set when the entity came embedded, so that problems point into it. */
  const char        *embedded;
  gulong             finished_id;
  gulong             disconnected_id;
  /* What the caller may see, resolved on first use */
  CfAccess          *access;
  CfViewer           viewer;
  guint              viewer_ready : 1;
  guint              paused : 1;
  guint              gone : 1;
  guint              answered : 1;
};

extern const CfApiRoute cf_api_entity_routes[];
extern const CfApiKind cf_api_tools;
extern const CfApiKind cf_api_resources;
extern const CfApiKind cf_api_prompts;
extern const CfApiKind cf_api_servers;
extern const CfApiKind cf_api_gateways;
extern const CfApiMount cf_api_health_mounts[];
extern const CfApiMount cf_api_discovery_mounts[];

CfApiRequest      *cf_api_request_hold          (CfApiRequest      *request);
void               cf_api_request_unref         (CfApiRequest      *request);
const char        *cf_api_request_get_query     (CfApiRequest      *request,
                                                 const char        *name);
CfCatalog         *cf_api_request_get_catalog   (CfApiRequest      *request);
CfCatalogSnapshot *cf_api_request_get_snapshot  (CfApiRequest      *request);
gboolean           cf_api_request_sees          (CfApiRequest      *request,
                                                 JsonObject        *entity);

void               cf_api_respond               (CfApiRequest      *request,
                                                 guint              status,
                                                 JsonNode          *body);
void               cf_api_respond_object        (CfApiRequest      *request,
                                                 guint              status,
                                                 JsonObject        *body);
void               cf_api_respond_json_bytes    (CfApiRequest      *request,
                                                 guint              status,
                                                 GBytes            *body);
void               cf_api_respond_array         (CfApiRequest      *request,
                                                 guint              status,
                                                 JsonArray         *body);
void               cf_api_respond_error         (CfApiRequest      *request,
                                                 guint              status,
                                                 const char        *detail);
void               cf_api_respond_problems      (CfApiRequest      *request,
                                                 JsonArray         *problems);
void               cf_api_respond_problem       (CfApiRequest      *request,
                                                 const char        *where,
                                                 const char        *field,
                                                 const char        *type,
                                                 const char        *message);
void               cf_api_respond_not_found     (CfApiRequest      *request);
void               cf_api_respond_catalog_error (CfApiRequest      *request,
                                                 const GError      *error,
                                                 JsonArray         *problems);

JsonObject        *cf_api_read_body             (CfApiRequest      *request,
                                                 gboolean           required);
gboolean           cf_api_query_get_bool        (CfApiRequest      *request,
                                                 const char        *name,
                                                 gboolean           default_value,
                                                 gboolean          *out_value);
gboolean           cf_api_set_ownership         (CfApiRequest      *request,
                                                 JsonObject        *input);
JsonObject        *cf_api_lookup                (CfApiRequest      *request,
                                                 CfCatalogSnapshot *snapshot);
JsonArray         *cf_api_public_views          (CfCatalogSnapshot *snapshot,
                                                 CfEntityKind       kind,
                                                 GPtrArray         *entities,
                                                 gboolean           include_inactive);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfApiRequest, cf_api_request_unref)

G_END_DECLS
