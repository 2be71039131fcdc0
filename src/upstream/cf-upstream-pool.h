/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-catalog.h"
#include "cf-config.h"
#include "cf-mcp-client.h"
#include "cf-mcp-session.h"

G_BEGIN_DECLS

#define CF_TYPE_UPSTREAM_POOL (cf_upstream_pool_get_type ())
G_DECLARE_FINAL_TYPE (CfUpstreamPool, cf_upstream_pool, CF, UPSTREAM_POOL, GObject)

#define CF_UPSTREAM_POOL_ERROR (cf_upstream_pool_error_quark ())

/**
 * CfUpstreamPoolError:
 * @CF_UPSTREAM_POOL_ERROR_UNKNOWN: no such upstream is connected
 * @CF_UPSTREAM_POOL_ERROR_UNREACHABLE: the upstream failed its health checks
 * @CF_UPSTREAM_POOL_ERROR_TIMED_OUT: no connection became free in time
 * @CF_UPSTREAM_POOL_ERROR_REMOVED: the upstream was removed or reconfigured
 */
typedef enum {
  CF_UPSTREAM_POOL_ERROR_UNKNOWN,
  CF_UPSTREAM_POOL_ERROR_UNREACHABLE,
  CF_UPSTREAM_POOL_ERROR_TIMED_OUT,
  CF_UPSTREAM_POOL_ERROR_REMOVED,
} CfUpstreamPoolError;

/**
 * CfUpstreamLease:
 *
 * A connection lent to one call by cf_upstream_pool_acquire_async().
 */
typedef struct _CfUpstreamLease CfUpstreamLease;

/* The experimental capability under which gateways announce themselves
 * to the gateways that federate them. */
#define CF_UPSTREAM_FEDERATION_CAPABILITY "org.contextforge.federation"

GQuark           cf_upstream_pool_error_quark       (void);
CfUpstreamPool  *cf_upstream_pool_new               (CfCatalog           *catalog,
                                                     const char          *separator);
void             cf_upstream_pool_configure         (CfUpstreamPool      *self,
                                                     const CfConfig      *config);
void             cf_upstream_pool_set_timeout       (CfUpstreamPool      *self,
                                                     guint                msec);
void             cf_upstream_pool_start             (CfUpstreamPool      *self);
void             cf_upstream_pool_stop              (CfUpstreamPool      *self);
void             cf_upstream_pool_acquire_async     (CfUpstreamPool      *self,
                                                     const char          *gateway_id,
                                                     CfMcpSession        *session,
                                                     GCancellable        *cancellable,
                                                     GAsyncReadyCallback  callback,
                                                     gpointer             user_data);
CfUpstreamLease *cf_upstream_pool_try_acquire       (CfUpstreamPool      *self,
                                                     const char          *gateway_id,
                                                     CfMcpSession        *session);
CfUpstreamLease *cf_upstream_pool_acquire_finish    (CfUpstreamPool      *self,
                                                     GAsyncResult        *result,
                                                     GError             **error);
guint            cf_upstream_pool_get_n_connections (CfUpstreamPool      *self,
                                                     const char          *gateway_id);
gboolean         cf_upstream_pool_refresh           (CfUpstreamPool      *self,
                                                     const char          *gateway_id);

void             cf_upstream_pool_set_instance_id   (CfUpstreamPool      *self,
                                                     const char          *id);
JsonObject      *cf_upstream_pool_build_federation_capability (CfUpstreamPool *self);

CfMcpClient     *cf_upstream_lease_get_client       (CfUpstreamLease     *lease);
void             cf_upstream_lease_release          (CfUpstreamLease     *lease);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfUpstreamLease, cf_upstream_lease_release)

G_END_DECLS
