/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-memory"

#include "config.h"

#include <malloc.h>

#include "cf-memory.h"

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

/**
 * cf_memory_release:
 *
 * Hands the heap's free pages back to the system: glibc returns memory
 * in the middle of its heap only when asked. Call it once things settle
 * after freeing much (a catalog sync frees about as much as it keeps).
 */
void
cf_memory_release (void)
{
  malloc_trim (0);
}
