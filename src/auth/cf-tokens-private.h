/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-tokens.h"

G_BEGIN_DECLS

/* CfTokens' state, shared by cf-tokens.c (the object, the registry and
 * its reloads), -usage.c (the usage log's batches), -check.c (enforcement
 * on every request) and -prepare.c (creation and update). */

struct _CfTokens
{
  GObject            parent_instance;

  CfAuth            *auth;
  CfStore           *store;
  CfScopeLookupFunc  lookup;
  gpointer           lookup_data;
  /* jti -> Entry */
  GHashTable        *registry;
  /* "t:jti" or "u:email" -> Window */
  GHashTable        *rates;
  /* usage entries, see _cf_tokens_usage_entry_free() */
  GPtrArray         *usage;
  GCancellable      *cancellable;
  /* The database's write-ahead log: another process's commit lands there */
  GFileMonitor      *monitor;
  guint              poll_id;
  guint              flush_id;
  gint64             data_version;
  gboolean           polling;
  gboolean           recheck;
  gboolean           flushing;
  gboolean           started;
};

void _cf_tokens_arm_flush (CfTokens *self);

typedef struct {
  gint64 start;
  guint  count;
} Window;

typedef struct {
  char       *id;
  char       *email;
  char       *server_id;
  /* scope.permissions as stored now: a PUT may have changed them since
   * the token (and its claims) was made */
  GStrv       permissions;
  GStrv       ips;
  JsonObject *time;
  gboolean    active;
  gboolean    revoked;
  guint       per_hour;
  guint       per_day;
  Window      hour;
  Window      day;
} Entry;

typedef struct {
  CfTokens *self;
  char     *jti;
  char     *email;
  char     *endpoint;
  char     *method;
  char     *ip;
  char     *agent;
  gint64    started;
} Usage;

/* cf-tokens.c */
gint64      _cf_tokens_now_s             (void);
char       *_cf_tokens_format_ms         (gint64              unix_us);
JsonNode   *_cf_tokens_parse_column      (JsonObject         *row,
                                          const char         *column);

/* cf-tokens-usage.c */
void        _cf_tokens_usage_entry_free  (gpointer            data);
Usage      *_cf_tokens_usage_new         (CfTokens           *self,
                                          CfHttpExchange     *exchange,
                                          CfIdentity         *identity,
                                          const char         *ip);
void        _cf_tokens_usage_free        (gpointer            data,
                                          GClosure           *closure);
void        _cf_tokens_push_usage        (CfTokens           *self,
                                          Usage              *usage,
                                          guint               status,
                                          gint64              elapsed_ms,
                                          const char         *block_reason);
void        _cf_tokens_on_usage_finished (CfHttpExchange     *exchange,
                                          Usage              *usage);

G_END_DECLS
