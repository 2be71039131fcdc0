/* SPDX-License-Identifier: Apache-2.0 */

#include "config.h"

#include "cf-json.h"
#include "cf-token-scope.h"

/* The pure checks of API token scoping: which client addresses a token's
 * IP/CIDR list lets in, and which instants its time window allows, in
 * any time zone, with windows past midnight and weekday lists. */

static gboolean
ip_allowed (const char * const *restrictions,
            const char         *address)
{
  g_autoptr(GInetAddress) inet = g_inet_address_new_from_string (address);

  g_assert_nonnull (inet);
  return cf_token_scope_ip_allowed (restrictions, inet);
}

static void
test_cidr_valid (void)
{
  const char *good[] = { "127.0.0.1", "127.0.0.1/32", "10.0.0.0/8", "0.0.0.0/0", "::1",
                         "::1/128", "fd00::/8", "2001:db8::/32" };
  const char *bad[] = { "", "10.0.0.1/8", "300.1.1.1", "10.0.0.0/33", "::1/129", "fd00::1/8",
                        "localhost", "10.0.0.0/", "10.0.0.0/8/8", "1.2.3", "127.0.0.1 " };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_true (cf_token_scope_check_cidr (good[i], &error));
      g_assert_no_error (error);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(GError) error = NULL;

      g_assert_false (cf_token_scope_check_cidr (bad[i], &error));
      g_assert_nonnull (error);
    }
  g_assert_false (cf_token_scope_check_cidr (NULL, NULL));
}

static void
test_ip_match (void)
{
  const char *loopback[] = { "127.0.0.1/32", NULL };
  const char *private_net[] = { "10.0.0.0/8", "192.168.1.0/24", NULL };
  const char *v6[] = { "::1", "fd00::/8", NULL };
  const char *mixed[] = { "10.0.0.0/8", "::1/128", NULL };
  const char *none[] = { NULL };
  const char *garbage[] = { "not-an-address", NULL };

  g_assert_true (ip_allowed (loopback, "127.0.0.1"));
  g_assert_false (ip_allowed (loopback, "127.0.0.2"));
  g_assert_false (ip_allowed (loopback, "::1"));
  /* An IPv4 client on an IPv6 socket. */
  g_assert_true (ip_allowed (loopback, "::ffff:127.0.0.1"));
  g_assert_false (ip_allowed (loopback, "::ffff:127.0.0.2"));

  g_assert_true (ip_allowed (private_net, "10.255.1.2"));
  g_assert_true (ip_allowed (private_net, "192.168.1.77"));
  g_assert_false (ip_allowed (private_net, "192.168.2.1"));
  g_assert_false (ip_allowed (private_net, "127.0.0.1"));
  g_assert_false (ip_allowed (private_net, "11.0.0.1"));

  g_assert_true (ip_allowed (v6, "::1"));
  g_assert_true (ip_allowed (v6, "fd12:3456::1"));
  g_assert_false (ip_allowed (v6, "fe80::1"));
  g_assert_false (ip_allowed (v6, "127.0.0.1"));

  g_assert_true (ip_allowed (mixed, "::1"));
  g_assert_true (ip_allowed (mixed, "10.1.1.1"));
  g_assert_false (ip_allowed (mixed, "::2"));

  /* No restrictions: anyone, even an unknown address. */
  g_assert_true (ip_allowed (none, "8.8.8.8"));
  g_assert_true (cf_token_scope_ip_allowed (NULL, NULL));
  g_assert_true (cf_token_scope_ip_allowed (none, NULL));
  /* Restrictions and no address, or only unusable entries: nobody. */
  g_assert_false (cf_token_scope_ip_allowed (loopback, NULL));
  g_assert_false (ip_allowed (garbage, "127.0.0.1"));
}

static JsonObject *
window (const char *json)
{
  g_autoptr(JsonNode) node = cf_json_parse (json, -1, NULL);

  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

static GDateTime *
utc (int year, int month, int day, int hour, int minute)
{
  return g_date_time_new_utc (year, month, day, hour, minute, 0);
}

static gboolean
allowed_at (const char *json,
            GDateTime  *when)
{
  g_autoptr(JsonObject) restrictions = window (json);

  return cf_token_scope_time_allowed (restrictions, when);
}

static void
test_time_valid (void)
{
  const char *good[] = {
    "{}",
    "{\"start_time\":\"09:00\",\"end_time\":\"17:00\"}",
    "{\"start_time\":\"22:00\",\"end_time\":\"02:00\",\"timezone\":\"Europe/Paris\"}",
    "{\"days\":[\"mon\",\"Tuesday\",\"SUN\"]}",
    "{\"timezone\":\"America/New_York\"}",
    "{\"business_hours_only\":true,\"weekdays_only\":false}",
    "{\"start_time\":null,\"end_time\":null,\"timezone\":null,\"days\":null}",
  };
  const char *bad[] = {
    "{\"start_time\":\"9:00\",\"end_time\":\"17:00\"}",
    "{\"start_time\":\"24:00\",\"end_time\":\"17:00\"}",
    "{\"start_time\":\"09:60\",\"end_time\":\"17:00\"}",
    "{\"start_time\":\"09:00\"}",
    "{\"end_time\":\"09:00\"}",
    "{\"start_time\":9,\"end_time\":17}",
    "{\"timezone\":\"Mars/Olympus_Mons\"}",
    "{\"timezone\":\"/etc/passwd\"}",
    "{\"timezone\":\"../../etc/localtime\"}",
    "{\"timezone\":5}",
    "{\"days\":[]}",
    "{\"days\":[\"funday\"]}",
    "{\"days\":\"mon\"}",
    "{\"days\":[1]}",
    "{\"weekdays_only\":\"yes\"}",
  };

  for (guint i = 0; i < G_N_ELEMENTS (good); i++)
    {
      g_autoptr(JsonObject) restrictions = window (good[i]);
      g_autoptr(GError) error = NULL;

      if (!cf_token_scope_check_time (restrictions, &error))
        g_error ("%s: %s", good[i], error->message);
    }
  for (guint i = 0; i < G_N_ELEMENTS (bad); i++)
    {
      g_autoptr(JsonObject) restrictions = window (bad[i]);
      g_autoptr(GError) error = NULL;

      if (cf_token_scope_check_time (restrictions, &error))
        g_error ("%s was accepted", bad[i]);
      g_assert_nonnull (error);
    }
}

static void
test_time_window (void)
{
  /* 2026-11-18 is a Wednesday. */
  g_autoptr(GDateTime) wed_0859 = utc (2026, 11, 18, 8, 59);
  g_autoptr(GDateTime) wed_0900 = utc (2026, 11, 18, 9, 0);
  g_autoptr(GDateTime) wed_1659 = utc (2026, 11, 18, 16, 59);
  g_autoptr(GDateTime) wed_1700 = utc (2026, 11, 18, 17, 0);
  g_autoptr(GDateTime) sat_1200 = utc (2026, 11, 21, 12, 0);
  const char *nine_to_five = "{\"start_time\":\"09:00\",\"end_time\":\"17:00\"}";

  g_assert_true (allowed_at ("{}", wed_0859));
  g_assert_false (allowed_at (nine_to_five, wed_0859));
  g_assert_true (allowed_at (nine_to_five, wed_0900));
  g_assert_true (allowed_at (nine_to_five, wed_1659));
  g_assert_false (allowed_at (nine_to_five, wed_1700));
  g_assert_true (allowed_at (nine_to_five, sat_1200));

  g_assert_true (allowed_at ("{\"weekdays_only\":true}", wed_0859));
  g_assert_false (allowed_at ("{\"weekdays_only\":true}", sat_1200));
  g_assert_true (allowed_at ("{\"business_hours_only\":true}", wed_0900));
  g_assert_false (allowed_at ("{\"business_hours_only\":true}", wed_1700));

  g_assert_true (allowed_at ("{\"days\":[\"wed\"]}", wed_0900));
  g_assert_false (allowed_at ("{\"days\":[\"mon\",\"tue\",\"thu\",\"fri\"]}", wed_0900));
  g_assert_true (allowed_at ("{\"days\":[\"Saturday\"]}", sat_1200));

  /* Invalid restrictions allow nothing. */
  g_assert_false (allowed_at ("{\"start_time\":\"9\",\"end_time\":\"17:00\"}", wed_0900));
}

static void
test_time_zone (void)
{
  /* 2026-07-15 12:30 UTC is 14:30 in Paris (CEST), 08:30 in New York
   * (EDT), 21:30 in Tokyo. */
  g_autoptr(GDateTime) noon = utc (2026, 7, 15, 12, 30);
  /* 2026-01-15 12:30 UTC is 13:30 in Paris (CET). */
  g_autoptr(GDateTime) winter = utc (2026, 1, 15, 12, 30);

  g_assert_true (allowed_at ("{\"start_time\":\"14:00\",\"end_time\":\"15:00\","
                             "\"timezone\":\"Europe/Paris\"}", noon));
  g_assert_false (allowed_at ("{\"start_time\":\"14:00\",\"end_time\":\"15:00\","
                              "\"timezone\":\"Europe/Paris\"}", winter));
  g_assert_true (allowed_at ("{\"start_time\":\"13:00\",\"end_time\":\"14:00\","
                             "\"timezone\":\"Europe/Paris\"}", winter));
  g_assert_false (allowed_at ("{\"start_time\":\"09:00\",\"end_time\":\"17:00\","
                              "\"timezone\":\"America/New_York\"}", noon));
  g_assert_true (allowed_at ("{\"start_time\":\"08:00\",\"end_time\":\"09:00\","
                             "\"timezone\":\"America/New_York\"}", noon));
  g_assert_false (allowed_at ("{\"start_time\":\"09:00\",\"end_time\":\"17:00\","
                              "\"timezone\":\"Asia/Tokyo\"}", noon));
  g_assert_false (allowed_at ("{\"timezone\":\"Mars/Olympus_Mons\"}", noon));
}

static void
test_time_midnight (void)
{
  const char *night = "{\"start_time\":\"22:00\",\"end_time\":\"02:00\"}";
  const char *fri_night = "{\"start_time\":\"22:00\",\"end_time\":\"02:00\",\"days\":[\"fri\"]}";
  /* 2026-11-20 is a Friday. */
  g_autoptr(GDateTime) fri_2330 = utc (2026, 11, 20, 23, 30);
  g_autoptr(GDateTime) sat_0130 = utc (2026, 11, 21, 1, 30);
  g_autoptr(GDateTime) sat_0200 = utc (2026, 11, 21, 2, 0);
  g_autoptr(GDateTime) sat_2330 = utc (2026, 11, 21, 23, 30);
  g_autoptr(GDateTime) fri_1200 = utc (2026, 11, 20, 12, 0);

  g_assert_true (allowed_at (night, fri_2330));
  g_assert_true (allowed_at (night, sat_0130));
  g_assert_false (allowed_at (night, sat_0200));
  g_assert_false (allowed_at (night, fri_1200));
  /* A Friday-night window runs into Saturday morning, not Saturday night. */
  g_assert_true (allowed_at (fri_night, fri_2330));
  g_assert_true (allowed_at (fri_night, sat_0130));
  g_assert_false (allowed_at (fri_night, sat_2330));
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, NULL);

  g_test_add_func ("/token-scope/cidr/valid", test_cidr_valid);
  g_test_add_func ("/token-scope/cidr/match", test_ip_match);
  g_test_add_func ("/token-scope/time/valid", test_time_valid);
  g_test_add_func ("/token-scope/time/window", test_time_window);
  g_test_add_func ("/token-scope/time/zone", test_time_zone);
  g_test_add_func ("/token-scope/time/midnight", test_time_midnight);

  return g_test_run ();
}
