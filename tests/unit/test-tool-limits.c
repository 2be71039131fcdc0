/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-tool-limits"

#include "config.h"

#include <string.h>

#include "cf-tool-limits.h"

#define T0 1000000000LL

static CfToolSlot *
take (CfToolLimits *limits,
      const char   *tool,
      gint64        now_us)
{
  CfToolLimit limit;
  guint retry_ms;
  CfToolSlot *slot = cf_tool_limits_acquire (limits, tool, now_us, &limit, &retry_ms);

  g_assert_nonnull (slot);
  g_assert_cmpint (limit, ==, CF_TOOL_LIMIT_NONE);
  g_assert_cmpuint (retry_ms, ==, 0);
  return slot;
}

static void
assert_refused (CfToolLimits *limits,
                const char   *tool,
                gint64        now_us,
                CfToolLimit   expected,
                guint         expected_retry_ms)
{
  CfToolLimit limit;
  guint retry_ms;
  CfToolSlot *slot = cf_tool_limits_acquire (limits, tool, now_us, &limit, &retry_ms);

  g_assert_null (slot);
  g_assert_cmpint (limit, ==, expected);
  g_assert_cmpuint (retry_ms, ==, expected_retry_ms);
}

/* A minute's worth at once, then one per 60/n seconds. */
static void
test_rate (void)
{
  g_autoptr(CfToolLimits) limits = cf_tool_limits_new (3, 0);

  for (guint i = 0; i < 3; i++)
    cf_tool_slot_release (take (limits, "a", T0));
  assert_refused (limits, "a", T0, CF_TOOL_LIMIT_RATE, 20000);
  /* Refused calls spend nothing: the wait only shrinks. */
  assert_refused (limits, "a", T0 + 5 * G_USEC_PER_SEC, CF_TOOL_LIMIT_RATE, 15000);
  /* Another tool has its own bucket. */
  cf_tool_slot_release (take (limits, "b", T0));
  cf_tool_slot_release (take (limits, "a", T0 + 20 * G_USEC_PER_SEC));
  assert_refused (limits, "a", T0 + 20 * G_USEC_PER_SEC, CF_TOOL_LIMIT_RATE, 20000);
  /* A long pause refills to the minute's worth, no more. */
  for (guint i = 0; i < 3; i++)
    cf_tool_slot_release (take (limits, "a", T0 + 3600LL * G_USEC_PER_SEC));
  assert_refused (limits, "a", T0 + 3600LL * G_USEC_PER_SEC, CF_TOOL_LIMIT_RATE, 20000);
}

static void
test_concurrency (void)
{
  g_autoptr(CfToolLimits) limits = cf_tool_limits_new (0, 2);
  CfToolSlot *first = take (limits, "a", T0);
  CfToolSlot *second = take (limits, "a", T0);
  g_autoptr(CfToolSlot) other = take (limits, "b", T0);
  g_autoptr(CfToolSlot) third = NULL;

  assert_refused (limits, "a", T0, CF_TOOL_LIMIT_CONCURRENCY, 1000);
  cf_tool_slot_release (first);
  third = take (limits, "a", T0);
  assert_refused (limits, "a", T0, CF_TOOL_LIMIT_CONCURRENCY, 1000);
  cf_tool_slot_release (second);
}

/* A call refused for concurrency does not spend the rate. */
static void
test_both (void)
{
  g_autoptr(CfToolLimits) limits = cf_tool_limits_new (2, 1);
  CfToolSlot *running = take (limits, "a", T0);

  for (guint i = 0; i < 5; i++)
    assert_refused (limits, "a", T0, CF_TOOL_LIMIT_CONCURRENCY, 1000);
  cf_tool_slot_release (running);
  cf_tool_slot_release (take (limits, "a", T0));
  assert_refused (limits, "a", T0, CF_TOOL_LIMIT_RATE, 30000);
}

static void
test_unlimited (void)
{
  g_autoptr(CfToolLimits) limits = cf_tool_limits_new (0, 0);
  g_autoptr(GPtrArray) slots = g_ptr_array_new_with_free_func ((GDestroyNotify) cf_tool_slot_release);

  for (guint i = 0; i < 10000; i++)
    g_ptr_array_add (slots, take (limits, "a", T0));
}

/* Forgetting idle tools never forgets a running call. */
static void
test_prune (void)
{
  g_autoptr(CfToolLimits) limits = cf_tool_limits_new (1, 1);
  CfToolSlot *held = take (limits, "held", T0);

  for (guint i = 0; i < 3000; i++)
    {
      g_autofree char *name = g_strdup_printf ("tool-%u", i);
      cf_tool_slot_release (take (limits, name, T0 + (gint64) i * 61 * G_USEC_PER_SEC));
    }
  assert_refused (limits, "held", T0 + 3000LL * 61 * G_USEC_PER_SEC,
                  CF_TOOL_LIMIT_CONCURRENCY, 1000);
  cf_tool_slot_release (held);
}

static void
test_env (void)
{
  const char *none[] = { NULL };
  const char *set[] = { "TOOL_RATE_LIMIT=5", "TOOL_CONCURRENT_LIMIT=0", NULL };
  const char *bad[] = { "TOOL_RATE_LIMIT=many", NULL };
  const char *negative[] = { "TOOL_CONCURRENT_LIMIT=-1", NULL };
  g_autoptr(GError) error = NULL;
  g_autoptr(CfToolLimits) defaults = cf_tool_limits_new_from_env (none, &error);
  g_autoptr(CfToolLimits) custom = cf_tool_limits_new_from_env (set, &error);
  g_autoptr(CfToolLimits) refused = NULL;

  g_assert_no_error (error);
  g_assert_cmpuint (cf_tool_limits_get_per_minute (defaults), ==, 100);
  g_assert_cmpuint (cf_tool_limits_get_concurrent (defaults), ==, 10);
  g_assert_cmpuint (cf_tool_limits_get_per_minute (custom), ==, 5);
  g_assert_cmpuint (cf_tool_limits_get_concurrent (custom), ==, 0);

  refused = cf_tool_limits_new_from_env (bad, &error);
  g_assert_null (refused);
  g_assert_nonnull (strstr (error->message, "TOOL_RATE_LIMIT=many"));
  g_clear_error (&error);
  refused = cf_tool_limits_new_from_env (negative, &error);
  g_assert_null (refused);
  g_assert_nonnull (strstr (error->message, "TOOL_CONCURRENT_LIMIT=-1"));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/tool-limits/rate", test_rate);
  g_test_add_func ("/tool-limits/concurrency", test_concurrency);
  g_test_add_func ("/tool-limits/both", test_both);
  g_test_add_func ("/tool-limits/unlimited", test_unlimited);
  g_test_add_func ("/tool-limits/prune", test_prune);
  g_test_add_func ("/tool-limits/env", test_env);

  return g_test_run ();
}
