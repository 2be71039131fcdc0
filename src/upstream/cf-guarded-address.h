/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <libsoup/soup.h>

#include "cf-ssrf.h"

G_BEGIN_DECLS

#define CF_TYPE_GUARDED_ADDRESS (cf_guarded_address_get_type ())
G_DECLARE_FINAL_TYPE (CfGuardedAddress, cf_guarded_address, CF, GUARDED_ADDRESS, GNetworkAddress)

GSocketConnectable *cf_guarded_address_new (const char    *hostname,
                                            guint16        port,
                                            const char    *scheme,
                                            CfSsrfPolicy  *policy);

SoupSession        *cf_guarded_session_new (const char    *url,
                                            CfSsrfPolicy  *policy,
                                            guint          max_conns_per_host,
                                            GError       **error);

G_END_DECLS
