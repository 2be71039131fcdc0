/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-memory"

#include "config.h"

#include <malloc.h>

#include "cf-memory.h"

/* How long the heap may hold what a burst of catalog changes freed. */
#define RELEASE_DELAY_SECONDS 2

static guint release_id;

/**
 * cf_memory_setup:
 *
 * Sets the allocator up for a long-running server. Call it first thing
 * in main().
 */
void
cf_memory_setup (void)
{
  /* Each request allocates and frees a little; without these glibc
   * grows and trims the heap with brk() several times per request. */
  mallopt (M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  mallopt (M_TOP_PAD, 1024 * 1024);
}

static gboolean
release (gpointer user_data)
{
  release_id = 0;
  malloc_trim (0);
  return G_SOURCE_REMOVE;
}

/**
 * cf_memory_release_soon:
 *
 * Hands the heap's free pages back to the system once things settle: a
 * catalog sync frees as much as it keeps, and glibc returns memory in
 * the middle of its heap only when asked.
 */
void
cf_memory_release_soon (void)
{
  g_clear_handle_id (&release_id, g_source_remove);
  release_id = g_timeout_add_seconds_full (G_PRIORITY_LOW, RELEASE_DELAY_SECONDS,
                                           release, NULL, NULL);
}
