/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include <malloc.h>

#include "cf-memory.h"

/* On GLib before 2.76, linking cf-memory.c makes slices plain malloc
 * blocks (its preinit array asks GLib before GLib's constructor runs):
 * what a burst of slices took goes back to malloc when they are freed,
 * and malloc_trim() can hand it to the system. GLib's own slab allocator
 * kept it in its magazines and slabs.
 *
 * Measured with mallinfo2(): under AddressSanitizer, whose allocator it
 * does not see, the check cannot fail (and the test says so). */

#define N_SLICES 20000
#define SLICE_SIZE 48

static void
test_slices_go_back_to_malloc (void)
{
  g_autofree gpointer *slices = g_new (gpointer, N_SLICES);
  struct mallinfo2 before, during, after;

  cf_memory_setup ();

  before = mallinfo2 ();
  for (guint i = 0; i < N_SLICES; i++)
    slices[i] = g_slice_alloc (SLICE_SIZE);
  during = mallinfo2 ();
  for (guint i = 0; i < N_SLICES; i++)
    g_slice_free1 (SLICE_SIZE, slices[i]);
  after = mallinfo2 ();

  if (during.uordblks == before.uordblks)
    {
      g_test_skip ("malloc is not glibc's here (a sanitizer's?)");
      return;
    }
  /* Taken from malloc, and all given back (but for what malloc's
   * thread cache keeps, a few blocks of a size). */
  g_assert_cmpuint (during.uordblks - before.uordblks, >=, (gsize) N_SLICES * SLICE_SIZE);
  g_assert_cmpuint (after.uordblks, <=, before.uordblks + 16 * 1024);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/memory/slices-go-back-to-malloc", test_slices_go_back_to_malloc);

  return g_test_run ();
}
