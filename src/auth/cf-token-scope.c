/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-token-scope"

#include "config.h"

#include <string.h>

#include "cf-auth-error.h"
#include "cf-json.h"
#include "cf-token-scope.h"

/*
 * The checks of ContextForge's middleware/token_scoping.py that need no
 * state: does a client address fall in a token's IP/CIDR restrictions,
 * and is now inside its time window. Both are pure so that the unit
 * tests can feed them any address and any instant.
 *
 * A time window is {start_time, end_time} as "HH:MM" (end exclusive; a
 * window whose end is before its start runs past midnight), an IANA
 * `timezone` (UTC by default) and `days`, weekday names ("mon" or
 * "monday", any case). ContextForge's older `business_hours_only` (9:00
 * to 17:00 UTC) and `weekdays_only` flags are honoured too.
 */

static const char * const day_names[] = {
  "monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday",
};

/* Parsed by hand: GInetAddressMask warns (fatally, in tests) on a prefix
 * longer than the address. */
static GInetAddressMask *
parse_mask (const char  *text,
            GError     **error)
{
  g_autofree char *address_text = NULL;
  g_autoptr(GInetAddress) address = NULL;
  const char *slash;
  guint64 length;
  guint bits;

  if (text == NULL || *text == '\0' || strlen (text) > 64)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS, "empty or overlong address");
      return NULL;
    }
  slash = strchr (text, '/');
  address_text = slash ? g_strndup (text, slash - text) : g_strdup (text);
  address = g_inet_address_new_from_string (address_text);
  if (address == NULL)
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS, "not an IP address");
      return NULL;
    }
  bits = g_inet_address_get_native_size (address) * 8;
  length = bits;
  if (slash != NULL &&
      (slash[1] == '\0' || !g_ascii_isdigit (slash[1]) ||
       !g_ascii_string_to_unsigned (slash + 1, 10, 0, bits, &length, NULL)))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                   "the prefix length must be 0 to %u", bits);
      return NULL;
    }
  return g_inet_address_mask_new (address, (guint) length, error);
}

/**
 * cf_token_scope_check_cidr:
 * @text: an address or CIDR block, IPv4 or IPv6
 * @error: return location for a #GError
 *
 * Returns: whether @text is a valid restriction: an address, or a network
 *   with no host bits set ("10.0.0.0/8", not "10.0.0.1/8")
 */
gboolean
cf_token_scope_check_cidr (const char  *text,
                           GError     **error)
{
  g_autoptr(GInetAddressMask) mask = parse_mask (text, error);

  return mask != NULL;
}

/* An IPv4 client reached over an IPv6 socket shows as ::ffff:a.b.c.d. */
static GInetAddress *
unmap (GInetAddress *address)
{
  const guint8 *bytes;
  static const guint8 prefix[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

  if (g_inet_address_get_family (address) != G_SOCKET_FAMILY_IPV6)
    return g_object_ref (address);
  bytes = g_inet_address_to_bytes (address);
  if (memcmp (bytes, prefix, sizeof prefix) != 0)
    return g_object_ref (address);
  return g_inet_address_new_from_bytes (bytes + 12, G_SOCKET_FAMILY_IPV4);
}

/**
 * cf_token_scope_ip_allowed:
 * @restrictions: (nullable): addresses and CIDR blocks; none means any
 * @address: (nullable): the client's address
 *
 * Returns: whether @address is inside one of @restrictions; an unknown
 *   address passes only when there are no restrictions
 */
gboolean
cf_token_scope_ip_allowed (const char * const *restrictions,
                           GInetAddress       *address)
{
  g_autoptr(GInetAddress) plain = NULL;

  if (restrictions == NULL || restrictions[0] == NULL)
    return TRUE;
  if (address == NULL)
    return FALSE;
  plain = unmap (address);
  for (guint i = 0; restrictions[i] != NULL; i++)
    {
      g_autoptr(GInetAddressMask) mask = parse_mask (restrictions[i], NULL);

      if (mask != NULL && g_inet_address_mask_get_family (mask) ==
          g_inet_address_get_family (plain) && g_inet_address_mask_matches (mask, plain))
        return TRUE;
    }
  return FALSE;
}

static gboolean
parse_hhmm (const char *text,
            int        *minutes)
{
  int h, m;

  if (text == NULL || strlen (text) != 5 || text[2] != ':' || !g_ascii_isdigit (text[0]) ||
      !g_ascii_isdigit (text[1]) || !g_ascii_isdigit (text[3]) || !g_ascii_isdigit (text[4]))
    return FALSE;
  h = (text[0] - '0') * 10 + (text[1] - '0');
  m = (text[3] - '0') * 10 + (text[4] - '0');
  if (h > 23 || m > 59)
    return FALSE;
  *minutes = h * 60 + m;
  return TRUE;
}

/* Returns: 1..7 (Monday..Sunday), or 0 */
static int
parse_day (const char *name)
{
  g_autofree char *lower = NULL;

  if (name == NULL || strlen (name) < 3)
    return 0;
  lower = g_ascii_strdown (name, -1);
  for (guint i = 0; i < G_N_ELEMENTS (day_names); i++)
    if (g_str_equal (lower, day_names[i]) || (strlen (lower) == 3 &&
                                              strncmp (lower, day_names[i], 3) == 0))
      return i + 1;
  return 0;
}

/* Zones by name: reading a tz file on every request would cost more than
 * the rest of the request. Bounded; cleared when full. */
#define ZONE_CACHE_MAX 256

static GHashTable *zone_cache;
G_LOCK_DEFINE_STATIC (zone_cache);

static GTimeZone *
parse_zone (const char *name)
{
  GTimeZone *zone;

  if (name == NULL || g_str_equal (name, "UTC"))
    return g_time_zone_new_utc ();
  /* A name, not a path or a POSIX TZ string. */
  if (*name == '/' || strstr (name, "..") != NULL || strlen (name) > 64)
    return NULL;

  G_LOCK (zone_cache);
  if (zone_cache == NULL)
    zone_cache = g_hash_table_new_full (g_str_hash, g_str_equal, g_free,
                                        (GDestroyNotify) g_time_zone_unref);
  zone = g_hash_table_lookup (zone_cache, name);
  if (zone != NULL)
    g_time_zone_ref (zone);
  G_UNLOCK (zone_cache);
  if (zone != NULL)
    return zone;

  /* NULL for a name the tz database does not know. */
  zone = g_time_zone_new_identifier (name);
  if (zone == NULL)
    return NULL;
  G_LOCK (zone_cache);
  if (g_hash_table_size (zone_cache) >= ZONE_CACHE_MAX)
    g_hash_table_remove_all (zone_cache);
  g_hash_table_replace (zone_cache, g_strdup (name), g_time_zone_ref (zone));
  G_UNLOCK (zone_cache);
  return zone;
}

/**
 * cf_token_scope_check_time:
 * @restrictions: (nullable): a token's time_restrictions
 * @error: return location for a #GError
 *
 * Returns: whether @restrictions are well-formed: start_time and end_time
 *   together, as "HH:MM"; a known timezone; weekday names in days; the
 *   flags as booleans. The message names the field at fault.
 */
gboolean
cf_token_scope_check_time (JsonObject  *restrictions,
                           GError     **error)
{
  const char *start, *end, *zone_name;
  JsonNode *node;
  int minutes;

  if (restrictions == NULL)
    return TRUE;
  start = cf_json_object_get_string (restrictions, "start_time");
  end = cf_json_object_get_string (restrictions, "end_time");
  node = json_object_get_member (restrictions, "start_time");
  if ((node != NULL && !JSON_NODE_HOLDS_NULL (node) && !parse_hhmm (start, &minutes)) ||
      ((node = json_object_get_member (restrictions, "end_time")) != NULL &&
       !JSON_NODE_HOLDS_NULL (node) && !parse_hhmm (end, &minutes)))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                   "start_time and end_time must be HH:MM (00:00 to 23:59)");
      return FALSE;
    }
  if ((start == NULL) != (end == NULL))
    {
      g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                   "start_time and end_time go together");
      return FALSE;
    }
  node = json_object_get_member (restrictions, "timezone");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      g_autoptr(GTimeZone) zone = NULL;
      zone_name = cf_json_node_is_string (node) ? json_node_get_string (node) : NULL;
      zone = zone_name ? parse_zone (zone_name) : NULL;
      if (zone == NULL)
        {
          g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                       "timezone must be an IANA time zone name such as Europe/Paris");
          return FALSE;
        }
    }
  node = json_object_get_member (restrictions, "days");
  if (node != NULL && !JSON_NODE_HOLDS_NULL (node))
    {
      JsonArray *days = JSON_NODE_HOLDS_ARRAY (node) ? json_node_get_array (node) : NULL;

      for (guint i = 0; days != NULL && i < json_array_get_length (days); i++)
        {
          JsonNode *day = json_array_get_element (days, i);

          if (!cf_json_node_is_string (day) || parse_day (json_node_get_string (day)) == 0)
            days = NULL;
        }
      if (days == NULL || json_array_get_length (days) == 0)
        {
          g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS,
                       "days must be a non-empty list of weekday names (mon..sun)");
          return FALSE;
        }
    }
  for (guint i = 0; i < 2; i++)
    {
      const char *flag = i == 0 ? "business_hours_only" : "weekdays_only";

      node = json_object_get_member (restrictions, flag);
      if (node != NULL && !JSON_NODE_HOLDS_NULL (node) &&
          (!JSON_NODE_HOLDS_VALUE (node) || json_node_get_value_type (node) != G_TYPE_BOOLEAN))
        {
          g_set_error (error, CF_AUTH_ERROR, CF_AUTH_ERROR_CLAIMS, "%s must be a boolean", flag);
          return FALSE;
        }
    }
  return TRUE;
}

/**
 * cf_token_scope_time_allowed:
 * @restrictions: (nullable): a token's time_restrictions
 * @now: the instant to check
 *
 * Returns: whether @now falls inside the window; restrictions that do not
 *   pass cf_token_scope_check_time() allow nothing
 */
gboolean
cf_token_scope_time_allowed (JsonObject *restrictions,
                             GDateTime  *now)
{
  g_autoptr(GTimeZone) zone = NULL;
  g_autoptr(GDateTime) local = NULL;
  g_autoptr(GDateTime) utc = NULL;
  JsonArray *days;
  int start, end, minute;

  if (restrictions == NULL || json_object_get_size (restrictions) == 0)
    return TRUE;
  if (!cf_token_scope_check_time (restrictions, NULL))
    return FALSE;

  utc = g_date_time_to_utc (now);
  if (cf_json_object_get_bool (restrictions, "business_hours_only", FALSE) &&
      (g_date_time_get_hour (utc) < 9 || g_date_time_get_hour (utc) >= 17))
    return FALSE;
  if (cf_json_object_get_bool (restrictions, "weekdays_only", FALSE) &&
      g_date_time_get_day_of_week (utc) >= 6)
    return FALSE;

  zone = parse_zone (cf_json_object_get_string (restrictions, "timezone"));
  if (zone == NULL)
    return FALSE;
  local = g_date_time_to_timezone (now, zone);
  minute = g_date_time_get_hour (local) * 60 + g_date_time_get_minute (local);

  days = cf_json_object_get_array (restrictions, "days");
  if (days != NULL)
    {
      int today = g_date_time_get_day_of_week (local);
      gboolean found = FALSE;

      /* After midnight in a window that began the day before, the day
       * that counts is the one the window began on. */
      if (parse_hhmm (cf_json_object_get_string (restrictions, "start_time"), &start) &&
          parse_hhmm (cf_json_object_get_string (restrictions, "end_time"), &end) &&
          end < start && minute < end)
        today = today == 1 ? 7 : today - 1;
      for (guint i = 0; i < json_array_get_length (days) && !found; i++)
        found = parse_day (json_array_get_string_element (days, i)) == today;
      if (!found)
        return FALSE;
    }

  if (!parse_hhmm (cf_json_object_get_string (restrictions, "start_time"), &start) ||
      !parse_hhmm (cf_json_object_get_string (restrictions, "end_time"), &end))
    return TRUE;
  if (start <= end)
    return minute >= start && minute < end;
  return minute >= start || minute < end;
}
