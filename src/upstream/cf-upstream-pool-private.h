/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-upstream-pool.h"

G_BEGIN_DECLS

/* The pool's state, shared by cf-upstream-pool.c (state, status,
 * reconciling with the catalog), -sync.c, -connect.c, -lease.c and
 * -health.c. */

#define MAX_BACKOFF_S 300
#define RESYNC_DELAY_MS 300
/* A connection that dies sooner than this after connecting counts as a
 * crash loop: the next attempt backs off instead of starting at once. */
#define STABLE_CONNECTION_S 10
/* After an extra connection fails to start, a pool serves from the
 * connections it has for this long before trying another. */
#define SPAWN_BACKOFF_S 5
/* Keep-alive connections per upstream HTTP session, as CfMcpClient's own. */
#define CONNS_PER_UPSTREAM 16

struct _CfUpstreamPool
{
  GObject     parent_instance;

  CfCatalog  *catalog;
  char       *separator;
  GHashTable *upstreams;
  gulong      changed_id;
  guint       timeout_ms;
  guint       health_interval_s;
  guint       health_timeout_s;
  int         unhealthy_threshold;
  guint       idle_s;
  guint       health_id;
  guint       reap_id;
  gboolean    started;
  /* Federation (cf-upstream-pool-federation.c) */
  char       *instance_id;
  GStrv       reach;
};

typedef enum {
  SHARING_SHARED,
  SHARING_PER_SESSION,
  SHARING_POOL,
} Sharing;

typedef struct _Upstream Upstream;
typedef struct _Member Member;
typedef struct _Acquire Acquire;

/* One connection to an upstream: the primary, or an extra one. */
struct _Member
{
  guint         ref_count;
  Upstream     *up;           /* NULL once the upstream is gone */
  CfMcpClient  *client;
  CfMcpSession *owner;        /* per-session: the session it serves (weak) */
  gint64        connected_at;
  gint64        last_used;
  guint         in_flight;
  gboolean      connected;
  gboolean      connecting;
  gboolean      orphaned;     /* its session ended while calls were out */
};

struct _Upstream
{
  CfUpstreamPool *pool;
  char           *gateway_id;
  char           *name;
  char           *fingerprint;
  /* Mirrored tool arguments, shared by all its connections' clients */
  GHashTable     *param_headers;
  Member         *primary;
  GPtrArray      *extras;
  GQueue          waiters;
  GCancellable   *cancellable;
  GCancellable   *probe;
  GCancellable   *listen;
  Sharing         sharing;
  guint           pool_size;
  guint           max_concurrency;
  guint           in_flight;
  guint           retry_id;
  guint           resync_id;
  guint           probe_timeout_id;
  guint           attempts;
  guint           failures;
  gint64          spawn_blocked_until;
  char           *last_error;
  /* What the upstream announced of itself, if it is a gateway */
  char           *peer_id;
  GStrv           peer_reaches;
  gboolean        reachable;
  gboolean        syncing;
};

struct _CfUpstreamLease
{
  Member      *member;
  CfMcpClient *client;
};

struct _Acquire
{
  Upstream     *up;
  GTask        *task;
  CfMcpSession *session;
  GCancellable *cancellable;
  gulong        cancelled_id;
  guint         timeout_id;
  guint         cancel_idle_id;
};

/* Members (cf-upstream-pool.c) */
Member     *_cf_upstream_pool_member_new      (Upstream       *up,
                                               CfMcpSession   *owner);
Member     *_cf_upstream_pool_member_ref      (Member         *m);
void        _cf_upstream_pool_member_unref    (Member         *m);
void        _cf_upstream_pool_member_discard  (Member         *m);
void        _cf_upstream_pool_remove_extra    (Upstream       *up,
                                               Member         *m);

/* Status (cf-upstream-pool.c) */
JsonObject *_cf_upstream_pool_current_gateway (Upstream       *up);
char       *_cf_upstream_pool_now_iso8601     (void);
void        _cf_upstream_pool_write_status    (Upstream       *up,
                                               gboolean        reachable,
                                               const char     *message,
                                               gint64          tool_count);
gboolean    _cf_upstream_pool_is_unreachable  (Upstream       *up);
void        _cf_upstream_pool_record_failure  (Upstream       *up,
                                               const char     *why);
void        _cf_upstream_pool_record_success  (Upstream       *up);

/* cf-upstream-pool-sync.c */
void        _cf_upstream_pool_start_sync      (Upstream       *up);

/* cf-upstream-pool-connect.c */
void        _cf_upstream_pool_connect_upstream (Upstream      *up);
Member     *_cf_upstream_pool_spawn_extra     (Upstream       *up,
                                               CfMcpSession   *owner);

/* cf-upstream-pool-federation.c */
gboolean    _cf_upstream_pool_learn_federation (Upstream      *up,
                                               CfMcpClient    *client,
                                               char          **out_message);
void        _cf_upstream_pool_update_reach    (CfUpstreamPool *self);

/* cf-upstream-pool-lease.c */
void        _cf_upstream_pool_process_waiters (Upstream       *up);
void        _cf_upstream_pool_acquire_fail    (Acquire        *acquire,
                                               GError         *error);

/* cf-upstream-pool-health.c */
void        _cf_upstream_pool_restart_timers  (CfUpstreamPool *self);

G_END_DECLS
