/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-ssrf"

#include "config.h"

#include <arpa/inet.h>
#include <string.h>

#include "cf-env.h"
#include "cf-ssrf.h"

/**
 * CfSsrfPolicy:
 *
 * Where the gateway may connect on a client's behalf: ContextForge's
 * SSRF_* settings. Upstream URLs are checked when they are registered
 * (their host as written) and again when a connection is made (every
 * address the host resolves to), so that a name that later resolves to
 * loopback (DNS rebinding) is caught too. Loopback and private networks
 * need explicit allowing; cloud metadata services are always refused.
 * A policy is immutable once shared.
 */
struct _CfSsrfPolicy
{
  gatomicrefcount  ref_count;
  gboolean         enabled;
  gboolean         allow_localhost;
  gboolean         allow_private;
  GPtrArray       *allowed;       /* GInetAddressMask */
};

G_DEFINE_BOXED_TYPE (CfSsrfPolicy, cf_ssrf_policy, cf_ssrf_policy_ref, cf_ssrf_policy_unref)
G_DEFINE_QUARK (cf-ssrf-error-quark, cf_ssrf_error)

static const guint8 metadata_v4[][4] = {
  { 169, 254, 169, 254 },   /* AWS, GCP, Azure, OpenStack... */
  { 169, 254, 169, 123 },   /* AWS time sync */
  { 169, 254, 170, 2 },     /* AWS ECS task metadata */
  { 169, 254, 170, 23 },    /* AWS EKS pod identity */
  { 100, 100, 100, 200 },   /* Alibaba Cloud */
};

static const guint8 metadata_v6[][16] = {
  { 0xfd, 0x00, 0x0e, 0xc2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x02, 0x54 },  /* fd00:ec2::254 */
};

static const char * const metadata_names[] = {
  "metadata.google.internal", "metadata.goog", "metadata.internal", "instance-data",
  "instance-data.ec2.internal", NULL
};

static const char * const loopback_names[] = {
  "localhost", "localhost.localdomain", "ip6-localhost", "ip6-loopback", NULL
};

static CfAddressClass
classify_ipv4 (const guint8 *b)
{
  for (guint i = 0; i < G_N_ELEMENTS (metadata_v4); i++)
    if (memcmp (b, metadata_v4[i], 4) == 0)
      return CF_ADDRESS_METADATA;
  if (b[0] == 127 || b[0] == 0)
    return CF_ADDRESS_LOOPBACK;
  if (b[0] == 10 || (b[0] == 172 && (b[1] & 0xf0) == 16) || (b[0] == 192 && b[1] == 168) ||
      (b[0] == 192 && b[1] == 0 && b[2] == 0) || (b[0] == 198 && (b[1] & 0xfe) == 18))
    return CF_ADDRESS_PRIVATE;
  if (b[0] == 169 && b[1] == 254)
    return CF_ADDRESS_LINK_LOCAL;
  if (b[0] == 100 && (b[1] & 0xc0) == 64)
    return CF_ADDRESS_SHARED;
  if (b[0] >= 224 || (b[0] == 192 && b[1] == 0 && b[2] == 2) ||
      (b[0] == 198 && b[1] == 51 && b[2] == 100) || (b[0] == 203 && b[1] == 0 && b[2] == 113))
    return CF_ADDRESS_RESERVED;
  return CF_ADDRESS_PUBLIC;
}

static gboolean
all_zero (const guint8 *b,
          gsize         n)
{
  for (gsize i = 0; i < n; i++)
    if (b[i] != 0)
      return FALSE;
  return TRUE;
}

static CfAddressClass
classify_ipv6 (const guint8 *b)
{
  static const guint8 nat64[4] = { 0x00, 0x64, 0xff, 0x9b };

  for (guint i = 0; i < G_N_ELEMENTS (metadata_v6); i++)
    if (memcmp (b, metadata_v6[i], 16) == 0)
      return CF_ADDRESS_METADATA;
  /* ::, ::1 */
  if (all_zero (b, 15) && b[15] <= 1)
    return CF_ADDRESS_LOOPBACK;
  /* ::ffff:a.b.c.d, and 64:ff9b::a.b.c.d which NAT64 routes to a.b.c.d */
  if (all_zero (b, 10) && b[10] == 0xff && b[11] == 0xff)
    return classify_ipv4 (b + 12);
  if (memcmp (b, nat64, 4) == 0 && all_zero (b + 4, 8))
    return classify_ipv4 (b + 12);
  /* 6to4: 2002:aabb:ccdd::/48 tunnels to a.b.c.d */
  if (b[0] == 0x20 && b[1] == 0x02 && classify_ipv4 (b + 2) != CF_ADDRESS_PUBLIC)
    return classify_ipv4 (b + 2);
  /* The deprecated IPv4-compatible ::a.b.c.d */
  if (all_zero (b, 12))
    return CF_ADDRESS_RESERVED;
  if ((b[0] & 0xfe) == 0xfc || (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0))
    return CF_ADDRESS_PRIVATE;
  if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
    return CF_ADDRESS_LINK_LOCAL;
  if (b[0] == 0xff || (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8))
    return CF_ADDRESS_RESERVED;
  return CF_ADDRESS_PUBLIC;
}

/**
 * cf_ssrf_classify_address:
 * @address: an IPv4 or IPv6 address
 *
 * Returns: what @address is
 */
CfAddressClass
cf_ssrf_classify_address (GInetAddress *address)
{
  const guint8 *bytes;

  g_return_val_if_fail (G_IS_INET_ADDRESS (address), CF_ADDRESS_RESERVED);

  bytes = g_inet_address_to_bytes (address);
  if (g_inet_address_get_family (address) == G_SOCKET_FAMILY_IPV4)
    return classify_ipv4 (bytes);
  return classify_ipv6 (bytes);
}

/* Lower case, no brackets, no trailing dot, no IPv6 zone. */
static char *
normalize_host (const char *host)
{
  g_autofree char *lower = g_ascii_strdown (host, -1);
  char *start = lower;
  gsize n;
  char *zone;

  if (*start == '[')
    start++;
  n = strlen (start);
  if (n > 0 && start[n - 1] == ']')
    start[--n] = '\0';
  while (n > 0 && start[n - 1] == '.')
    start[--n] = '\0';
  if ((zone = strchr (start, '%')) != NULL && strchr (start, ':') != NULL)
    *zone = '\0';
  return g_strdup (start);
}

/**
 * cf_ssrf_classify_host:
 * @host: a URL's host: a name, or an address in any form the system's
 *   resolver accepts without asking DNS (`127.1`, `0x7f000001`, `[::1]`)
 * @out_address: (out) (optional) (nullable): the address, when @host is one
 *
 * Classifies @host without resolving it: an address literal by its
 * address, localhost and cloud metadata names by their name. Any other
 * name is %CF_ADDRESS_PUBLIC here; its addresses are checked when the
 * connection is made.
 *
 * Returns: what @host is, as far as can be told without DNS
 */
CfAddressClass
cf_ssrf_classify_host (const char    *host,
                       GInetAddress **out_address)
{
  g_autofree char *name = normalize_host (host);
  g_autoptr(GInetAddress) address = g_inet_address_new_from_string (name);
  struct in_addr v4;
  CfAddressClass klass;

  /* inet_aton() takes the short and numeric forms that getaddrinfo()
   * resolves locally: 127.1, 2130706433, 0x7f.0.0.1. */
  if (address == NULL && inet_aton (name, &v4) != 0)
    address = g_inet_address_new_from_bytes ((const guint8 *) &v4, G_SOCKET_FAMILY_IPV4);

  if (address != NULL)
    klass = cf_ssrf_classify_address (address);
  else if (g_strv_contains (loopback_names, name) || g_str_has_suffix (name, ".localhost"))
    klass = CF_ADDRESS_LOOPBACK;
  else if (g_strv_contains (metadata_names, name))
    klass = CF_ADDRESS_METADATA;
  else
    klass = CF_ADDRESS_PUBLIC;

  if (out_address != NULL)
    *out_address = g_steal_pointer (&address);
  return klass;
}

/**
 * cf_ssrf_policy_new:
 *
 * Returns: (transfer full): ContextForge's defaults: protection on,
 *   loopback and private networks blocked
 */
CfSsrfPolicy *
cf_ssrf_policy_new (void)
{
  CfSsrfPolicy *self = g_new0 (CfSsrfPolicy, 1);

  g_atomic_ref_count_init (&self->ref_count);
  self->enabled = TRUE;
  self->allowed = g_ptr_array_new_with_free_func (g_object_unref);
  return self;
}

CfSsrfPolicy *
cf_ssrf_policy_ref (CfSsrfPolicy *self)
{
  g_return_val_if_fail (self != NULL, NULL);
  g_atomic_ref_count_inc (&self->ref_count);
  return self;
}

void
cf_ssrf_policy_unref (CfSsrfPolicy *self)
{
  g_return_if_fail (self != NULL);
  if (!g_atomic_ref_count_dec (&self->ref_count))
    return;
  g_ptr_array_unref (self->allowed);
  g_free (self);
}

/**
 * cf_ssrf_policy_copy:
 * @self: a policy
 *
 * A shared policy is immutable: this is how to derive one that allows a
 * little more, such as the one address an operator chose to federate.
 *
 * Returns: (transfer full): a new policy with the same settings
 */
CfSsrfPolicy *
cf_ssrf_policy_copy (CfSsrfPolicy *self)
{
  CfSsrfPolicy *copy;

  g_return_val_if_fail (self != NULL, NULL);

  copy = cf_ssrf_policy_new ();
  copy->enabled = self->enabled;
  copy->allow_localhost = self->allow_localhost;
  copy->allow_private = self->allow_private;
  for (guint i = 0; i < self->allowed->len; i++)
    g_ptr_array_add (copy->allowed, g_object_ref (self->allowed->pdata[i]));
  return copy;
}

void
cf_ssrf_policy_set_enabled (CfSsrfPolicy *self,
                            gboolean      enabled)
{
  g_return_if_fail (self != NULL);
  self->enabled = enabled;
}

gboolean
cf_ssrf_policy_get_enabled (CfSsrfPolicy *self)
{
  g_return_val_if_fail (self != NULL, TRUE);
  return self->enabled;
}

void
cf_ssrf_policy_set_allow_localhost (CfSsrfPolicy *self,
                                    gboolean      allow)
{
  g_return_if_fail (self != NULL);
  self->allow_localhost = allow;
}

void
cf_ssrf_policy_set_allow_private (CfSsrfPolicy *self,
                                  gboolean      allow)
{
  g_return_if_fail (self != NULL);
  self->allow_private = allow;
}

/**
 * cf_ssrf_policy_allow_network:
 * @self: a policy
 * @cidr: a network such as `10.1.0.0/16`, or one address
 * @error: return location for a #GError
 *
 * Allows connections into @cidr whatever else the policy says, except to
 * cloud metadata services (SSRF_ALLOWED_NETWORKS).
 */
gboolean
cf_ssrf_policy_allow_network (CfSsrfPolicy  *self,
                              const char    *cidr,
                              GError       **error)
{
  g_autoptr(GError) local = NULL;
  GInetAddressMask *mask;

  g_return_val_if_fail (self != NULL, FALSE);

  mask = g_inet_address_mask_new_from_string (cidr, &local);
  if (mask == NULL)
    {
      g_set_error (error, CF_SSRF_ERROR, CF_SSRF_ERROR_INVALID,
                   "SSRF_ALLOWED_NETWORKS: %s is not a network: %s", cidr, local->message);
      return FALSE;
    }
  g_ptr_array_add (self->allowed, mask);
  return TRUE;
}

/**
 * cf_ssrf_policy_load_env:
 * @self: a policy
 * @environ: (nullable): the environment, or %NULL for the process's own
 * @error: return location for a #GError
 *
 * Reads SSRF_PROTECTION_ENABLED, SSRF_ALLOW_LOCALHOST,
 * SSRF_ALLOW_PRIVATE_NETWORKS and SSRF_ALLOWED_NETWORKS.
 */
gboolean
cf_ssrf_policy_load_env (CfSsrfPolicy        *self,
                         const char * const  *environ,
                         GError             **error)
{
  g_auto(GStrv) own = environ ? NULL : g_get_environ ();
  const char * const *env = environ ? environ : (const char * const *) own;
  g_auto(GStrv) networks = NULL;

  g_return_val_if_fail (self != NULL, FALSE);

  if (!cf_env_get_bool (env, "SSRF_PROTECTION_ENABLED", self->enabled, &self->enabled, error) ||
      !cf_env_get_bool (env, "SSRF_ALLOW_LOCALHOST", self->allow_localhost,
                        &self->allow_localhost, error) ||
      !cf_env_get_bool (env, "SSRF_ALLOW_PRIVATE_NETWORKS", self->allow_private,
                        &self->allow_private, error))
    return FALSE;

  networks = cf_env_get_list (env, "SSRF_ALLOWED_NETWORKS", NULL);
  for (guint i = 0; networks[i] != NULL; i++)
    if (!cf_ssrf_policy_allow_network (self, networks[i], error))
      return FALSE;
  return TRUE;
}

static gboolean
in_allowed_network (CfSsrfPolicy *self,
                    GInetAddress *address)
{
  for (guint i = 0; i < self->allowed->len; i++)
    {
      GInetAddressMask *mask = self->allowed->pdata[i];

      if (g_inet_address_get_family (address) == g_inet_address_mask_get_family (mask) &&
          g_inet_address_mask_matches (mask, address))
        return TRUE;
    }
  return FALSE;
}

/* What the class is called, and how to allow it (NULL: it cannot be). */
static const char *
describe (CfAddressClass  klass,
          const char    **out_remedy)
{
  switch (klass)
    {
    case CF_ADDRESS_LOOPBACK:
      *out_remedy = "set SSRF_ALLOW_LOCALHOST=true to allow it";
      return "a loopback address";
    case CF_ADDRESS_PRIVATE:
      *out_remedy = "set SSRF_ALLOW_PRIVATE_NETWORKS=true, or list its network in "
                    "SSRF_ALLOWED_NETWORKS, to allow it";
      return "a private network address";
    case CF_ADDRESS_LINK_LOCAL:
      *out_remedy = "set SSRF_ALLOW_PRIVATE_NETWORKS=true, or list its network in "
                    "SSRF_ALLOWED_NETWORKS, to allow it";
      return "a link-local address";
    case CF_ADDRESS_SHARED:
      *out_remedy = "list its network in SSRF_ALLOWED_NETWORKS to allow it";
      return "a shared (carrier-grade NAT) address";
    case CF_ADDRESS_METADATA:
      *out_remedy = NULL;
      return "a cloud metadata service";
    case CF_ADDRESS_RESERVED:
      *out_remedy = "list its network in SSRF_ALLOWED_NETWORKS to allow it";
      return "a reserved or multicast address";
    case CF_ADDRESS_PUBLIC:
    default:
      g_assert_not_reached ();
    }
}

static gboolean
is_allowed (CfSsrfPolicy   *self,
            CfAddressClass  klass,
            GInetAddress   *address)
{
  if (!self->enabled || klass == CF_ADDRESS_PUBLIC)
    return TRUE;
  if (klass == CF_ADDRESS_METADATA)
    return FALSE;
  if (address != NULL && in_allowed_network (self, address))
    return TRUE;
  if (klass == CF_ADDRESS_LOOPBACK)
    return self->allow_localhost;
  if (klass == CF_ADDRESS_PRIVATE || klass == CF_ADDRESS_LINK_LOCAL)
    return self->allow_private;
  return FALSE;
}

static gboolean
refuse (CfAddressClass   klass,
        const char      *host,
        GInetAddress    *address,
        GError         **error)
{
  g_autofree char *text = address ? g_inet_address_to_string (address) : NULL;
  const char *remedy = NULL;
  const char *what = describe (klass, &remedy);
  g_autofree char *subject = NULL;

  if (host != NULL && text != NULL && g_ascii_strcasecmp (host, text) != 0)
    subject = g_strdup_printf ("%s resolves to %s,", host, text);
  else
    subject = g_strdup_printf ("%s is", host ? host : text);
  g_set_error (error, CF_SSRF_ERROR, CF_SSRF_ERROR_BLOCKED,
               "%s %s, which SSRF protection %s%s%s", subject, what,
               remedy ? "blocks" : "always blocks", remedy ? "; " : "", remedy ? remedy : "");
  return FALSE;
}

/**
 * cf_ssrf_policy_check_address:
 * @self: a policy
 * @address: where a connection is about to go
 * @host: (nullable): the name it was resolved from, for the message
 * @error: return location for a #GError
 *
 * Returns: %TRUE if the policy lets the gateway connect to @address
 */
gboolean
cf_ssrf_policy_check_address (CfSsrfPolicy  *self,
                              GInetAddress  *address,
                              const char    *host,
                              GError       **error)
{
  CfAddressClass klass;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (G_IS_INET_ADDRESS (address), FALSE);

  klass = cf_ssrf_classify_address (address);
  if (is_allowed (self, klass, address))
    return TRUE;
  return refuse (klass, host, address, error);
}

/**
 * cf_ssrf_policy_check_host:
 * @self: a policy
 * @host: a URL's host
 * @error: return location for a #GError
 *
 * The check at registration: @host as written, without DNS (see
 * cf_ssrf_classify_host()).
 *
 * Returns: %TRUE if @host may be registered
 */
gboolean
cf_ssrf_policy_check_host (CfSsrfPolicy  *self,
                           const char    *host,
                           GError       **error)
{
  g_autoptr(GInetAddress) address = NULL;
  CfAddressClass klass;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (host != NULL, FALSE);

  klass = cf_ssrf_classify_host (host, &address);
  if (is_allowed (self, klass, address))
    return TRUE;
  return refuse (klass, host, address, error);
}

/**
 * cf_ssrf_policy_check_url:
 * @self: a policy
 * @url: an upstream URL
 * @error: return location for a #GError
 *
 * Returns: %TRUE if @url's host may be registered
 */
gboolean
cf_ssrf_policy_check_url (CfSsrfPolicy  *self,
                          const char    *url,
                          GError       **error)
{
  g_autoptr(GUri) uri = NULL;

  g_return_val_if_fail (self != NULL, FALSE);
  g_return_val_if_fail (url != NULL, FALSE);

  if (!self->enabled)
    return TRUE;
  uri = g_uri_parse (url, G_URI_FLAGS_NONE, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, CF_SSRF_ERROR, CF_SSRF_ERROR_INVALID, "%s has no host", url);
      return FALSE;
    }
  return cf_ssrf_policy_check_host (self, g_uri_get_host (uri), error);
}
