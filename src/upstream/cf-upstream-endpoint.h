/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/**
 * CfUpstreamEndpoint:
 * @url: the upstream's URL, as given
 * @uri: (nullable): @url parsed, %NULL if it is not a URL of the
 *   transport's schemes
 * @session: the HTTP session to send with
 * @headers: (nullable): header names and values every request carries
 *
 * Where a network transport reaches its upstream, and how.
 */
typedef struct {
  char        *url;
  GUri        *uri;
  SoupSession *session;
  GHashTable  *headers;
} CfUpstreamEndpoint;

void         cf_upstream_endpoint_init        (CfUpstreamEndpoint *self,
                                               const char         *url,
                                               const char         *scheme,
                                               const char         *secure_scheme,
                                               SoupSession        *session,
                                               GHashTable         *headers);
void         cf_upstream_endpoint_clear       (CfUpstreamEndpoint *self);
SoupMessage *cf_upstream_endpoint_new_message (CfUpstreamEndpoint *self,
                                               const char         *method,
                                               GUri               *uri);

G_END_DECLS
