/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

G_BEGIN_DECLS

#define CF_SSRF_ERROR (cf_ssrf_error_quark ())

/**
 * CfSsrfError:
 * @CF_SSRF_ERROR_BLOCKED: the destination is one the policy blocks
 * @CF_SSRF_ERROR_INVALID: a URL without a host, or a bad network in the
 *   policy's settings
 */
typedef enum {
  CF_SSRF_ERROR_BLOCKED,
  CF_SSRF_ERROR_INVALID,
} CfSsrfError;

/**
 * CfAddressClass:
 * @CF_ADDRESS_PUBLIC: a global unicast address
 * @CF_ADDRESS_LOOPBACK: this host: 127.0.0.0/8, ::1, and the unspecified
 *   0.0.0.0/8 and :: (connecting to them reaches this host)
 * @CF_ADDRESS_PRIVATE: 10/8, 172.16/12, 192.168/16, 192.0.0/24,
 *   198.18/15, fc00::/7, fec0::/10
 * @CF_ADDRESS_LINK_LOCAL: 169.254/16, fe80::/10
 * @CF_ADDRESS_SHARED: carrier-grade NAT, 100.64/10
 * @CF_ADDRESS_METADATA: a cloud instance metadata service
 * @CF_ADDRESS_RESERVED: multicast, broadcast, documentation and reserved
 *   ranges
 *
 * What an address is, for the SSRF guard. An IPv4 address embedded in an
 * IPv6 one (mapped, NAT64, 6to4) is classed as that IPv4 address.
 */
typedef enum {
  CF_ADDRESS_PUBLIC,
  CF_ADDRESS_LOOPBACK,
  CF_ADDRESS_PRIVATE,
  CF_ADDRESS_LINK_LOCAL,
  CF_ADDRESS_SHARED,
  CF_ADDRESS_METADATA,
  CF_ADDRESS_RESERVED,
} CfAddressClass;

typedef struct _CfSsrfPolicy CfSsrfPolicy;

#define CF_TYPE_SSRF_POLICY (cf_ssrf_policy_get_type ())

GType           cf_ssrf_policy_get_type           (void) G_GNUC_CONST;
GQuark          cf_ssrf_error_quark               (void);

CfAddressClass  cf_ssrf_classify_address          (GInetAddress        *address);
CfAddressClass  cf_ssrf_classify_host             (const char          *host,
                                                   GInetAddress       **out_address);

CfSsrfPolicy   *cf_ssrf_policy_new                (void);
CfSsrfPolicy   *cf_ssrf_policy_ref                (CfSsrfPolicy        *self);
CfSsrfPolicy   *cf_ssrf_policy_copy               (CfSsrfPolicy        *self);
void            cf_ssrf_policy_unref              (CfSsrfPolicy        *self);
gboolean        cf_ssrf_policy_load_env           (CfSsrfPolicy        *self,
                                                   const char * const  *environ,
                                                   GError             **error);
void            cf_ssrf_policy_set_enabled        (CfSsrfPolicy        *self,
                                                   gboolean             enabled);
gboolean        cf_ssrf_policy_get_enabled        (CfSsrfPolicy        *self);
void            cf_ssrf_policy_set_allow_localhost (CfSsrfPolicy       *self,
                                                   gboolean             allow);
void            cf_ssrf_policy_set_allow_private  (CfSsrfPolicy        *self,
                                                   gboolean             allow);
gboolean        cf_ssrf_policy_allow_network      (CfSsrfPolicy        *self,
                                                   const char          *cidr,
                                                   GError             **error);

gboolean        cf_ssrf_policy_check_address      (CfSsrfPolicy        *self,
                                                   GInetAddress        *address,
                                                   const char          *host,
                                                   GError             **error);
gboolean        cf_ssrf_policy_check_host         (CfSsrfPolicy        *self,
                                                   const char          *host,
                                                   GError             **error);
gboolean        cf_ssrf_policy_check_url          (CfSsrfPolicy        *self,
                                                   const char          *url,
                                                   GError             **error);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfSsrfPolicy, cf_ssrf_policy_unref)

G_END_DECLS
