/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-memory"

#include "config.h"

#include <errno.h>
#include <malloc.h>
#include <string.h>
#include <unistd.h>

#include "cf-memory.h"

/* How long the heap may hold what a burst of catalog changes freed. */
#define RELEASE_DELAY_SECONDS 2

static guint release_id;

static gboolean
serves (char **argv)
{
  for (guint i = 1; argv[i] != NULL; i++)
    if (g_str_equal (argv[i], "--daemon") || g_str_equal (argv[i], "--gapplication-service"))
      return TRUE;
  return FALSE;
}

/**
 * cf_memory_setup:
 * @argv: the process's arguments
 *
 * Sets the allocators up for a long-running server. Call it first thing
 * in main(): it may start the process again.
 */
void
cf_memory_setup (char **argv)
{
  /* Each request allocates and frees a little; without these glibc
   * grows and trims the heap with brk() several times per request. */
  mallopt (M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  mallopt (M_TOP_PAD, 1024 * 1024);

  /* GLib before 2.76 serves its small blocks (every JsonNode, list link
   * and hash table) from a slice allocator that keeps freed blocks for
   * itself: the peak of syncing 10,000 tools stayed resident for good.
   * GLib 2.76 gave it up for malloc. It can only be turned off from the
   * environment, before GLib's constructors run, so a serving process
   * that has it starts itself again without it (about 5 ms). Under
   * valgrind, set G_SLICE=always-malloc as GLib advises: the restarted
   * process would run outside it. */
  if (glib_check_version (2, 76, 0) == NULL || g_getenv ("G_SLICE") != NULL || !serves (argv))
    return;
  if (!g_setenv ("G_SLICE", "always-malloc", TRUE))
    return;
  execv ("/proc/self/exe", argv);
  g_warning ("Cannot restart with G_SLICE=always-malloc: %s", g_strerror (errno));
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
