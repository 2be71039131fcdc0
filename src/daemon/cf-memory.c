/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-memory"

#include "config.h"

#include <malloc.h>

#include "cf-memory.h"

/* GLib before 2.76 keeps slice-allocated memory (every json-glib node,
 * list link and hash table) in slabs and magazines of its own, which it
 * hardly ever hands back: a sync of ten thousand tools parses them into
 * trees that it frees a moment later, and the slabs kept some 50 MB of
 * them for good, whatever malloc_trim() did. GLib 2.76 dropped that
 * allocator for malloc.
 *
 * Older ones use malloc when asked before their first slice, which GLib's
 * own constructor allocates: too early for main() or for a constructor
 * of ours (G_SLICE=always-malloc in the environment would do, but libc
 * has not even set up the environment yet when it would have to be set).
 * The executable's preinit array runs before any library's constructor,
 * once every library is loaded and relocated; g_slice_set_config() only
 * stores the setting then, and the allocator starts from it. A G_SLICE
 * of the user's still adds its flags. */
#if !GLIB_CHECK_VERSION (2, 76, 0)
static void
use_malloc_for_slices (int    argc,
                       char **argv,
                       char **envp)
{
  G_GNUC_BEGIN_IGNORE_DEPRECATIONS
  g_slice_set_config (G_SLICE_CONFIG_ALWAYS_MALLOC, TRUE);
  G_GNUC_END_IGNORE_DEPRECATIONS
}

__attribute__ ((section (".preinit_array"), used))
static void (*const preinit_use_malloc_for_slices) (int, char **, char **) = use_malloc_for_slices;
#endif

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
