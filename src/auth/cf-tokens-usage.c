/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-tokens"

#include "config.h"

#include <string.h>

#include "cf-tokens-private.h"

/* Usage: a row of token_usage_logs for each request made with an API
 * token, buffered so that enforcement never waits on the database, and
 * written in batches by cf-tokens.c's timer or when a batch is full. */

/* A batch is written at once past this many entries. */
#define FLUSH_AT 256
/* Past this many, entries are dropped (the database is stuck). */
#define USAGE_MAX 65536

#define USAGE_COLUMNS 11

/* A usage entry: USAGE_COLUMNS strings, any of them NULL. */
void
_cf_tokens_usage_entry_free (gpointer data)
{
  char **entry = data;

  for (guint i = 0; i < USAGE_COLUMNS; i++)
    g_free (entry[i]);
  g_free (entry);
}

static void
on_flushed (GObject      *source,
            GAsyncResult *result,
            gpointer      user_data)
{
  g_autoptr(CfTokens) self = user_data;
  g_autoptr(GPtrArray) rows = NULL;
  g_autoptr(GError) error = NULL;

  rows = cf_store_token_query_finish (CF_STORE (source), result, &error);
  self->flushing = FALSE;
  if (rows == NULL && !g_error_matches (error, G_IO_ERROR, G_IO_ERROR_CANCELLED))
    g_warning ("Cannot write the API token usage log: %s", error->message);
}

/**
 * cf_tokens_flush_usage:
 * @self: a #CfTokens
 *
 * Writes the buffered usage entries now, unless a batch is being written.
 */
void
cf_tokens_flush_usage (CfTokens *self)
{
  g_autoptr(GPtrArray) batch = NULL;

  g_return_if_fail (CF_IS_TOKENS (self));

  if (self->flushing || self->usage->len == 0)
    return;
  batch = g_steal_pointer (&self->usage);
  self->usage = g_ptr_array_new_with_free_func (_cf_tokens_usage_entry_free);
  self->flushing = TRUE;
  cf_store_token_usage_add_async (self->store, batch, NULL, on_flushed, g_object_ref (self));
}

/**
 * cf_tokens_get_pending_usage:
 *
 * Returns: how many usage entries wait for the next batch
 */
guint
cf_tokens_get_pending_usage (CfTokens *self)
{
  g_return_val_if_fail (CF_IS_TOKENS (self), 0);
  return self->usage->len;
}

void
_cf_tokens_usage_free (gpointer data,
                       GClosure *closure)
{
  Usage *usage = data;

  g_object_unref (usage->self);
  g_free (usage->jti);
  g_free (usage->email);
  g_free (usage->endpoint);
  g_free (usage->method);
  g_free (usage->ip);
  g_free (usage->agent);
  g_free (usage);
}

void
_cf_tokens_push_usage (CfTokens   *self,
                       Usage      *usage,
                       guint       status,
                       gint64      elapsed_ms,
                       const char *block_reason)
{
  char **entry;

  if (self->usage->len >= USAGE_MAX)
    return;
  entry = g_new0 (char *, USAGE_COLUMNS);
  entry[0] = g_strdup (usage->jti);
  entry[1] = g_strdup (usage->email);
  entry[2] = _cf_tokens_format_ms (usage->started);
  entry[3] = g_strdup (usage->endpoint);
  entry[4] = g_strdup (usage->method);
  entry[5] = g_strdup (usage->ip);
  entry[6] = g_strdup (usage->agent);
  entry[7] = g_strdup_printf ("%u", status);
  entry[8] = g_strdup_printf ("%" G_GINT64_FORMAT, elapsed_ms);
  entry[9] = g_strdup (block_reason ? "1" : "0");
  entry[10] = g_strdup (block_reason);
  g_ptr_array_add (self->usage, entry);
  if (self->usage->len >= FLUSH_AT)
    cf_tokens_flush_usage (self);
  _cf_tokens_arm_flush (self);
}

void
_cf_tokens_on_usage_finished (CfHttpExchange *exchange,
                              Usage          *usage)
{
  _cf_tokens_push_usage (usage->self, usage, cf_http_exchange_get_status (exchange),
                         (g_get_real_time () - usage->started) / 1000, NULL);
}

Usage *
_cf_tokens_usage_new (CfTokens       *self,
                      CfHttpExchange *exchange,
                      CfIdentity     *identity,
                      const char     *ip)
{
  Usage *usage = g_new0 (Usage, 1);
  const char *agent = cf_http_exchange_get_header (exchange, "User-Agent");

  usage->self = g_object_ref (self);
  usage->jti = g_strdup (cf_identity_get_jti (identity));
  usage->email = g_strdup (cf_identity_get_email (identity));
  usage->endpoint = g_strdup (cf_http_exchange_get_path (exchange));
  usage->method = g_strdup (cf_http_exchange_get_method (exchange));
  usage->ip = g_strdup (ip);
  usage->agent = agent ? g_utf8_make_valid (agent, MIN (strlen (agent), 255)) : NULL;
  usage->started = g_get_real_time ();
  return usage;
}
