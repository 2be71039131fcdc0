/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-upstream-endpoint"

#include "config.h"

#include "cf-upstream-endpoint.h"

/* What the network transports (HTTP+SSE, WebSocket) keep alike: the URL,
 * checked once against the transport's schemes, the session, and the
 * headers every request carries. */

/**
 * cf_upstream_endpoint_init:
 * @self: the endpoint to fill
 * @url: the upstream's URL
 * @scheme: the scheme it must have, such as "http"
 * @secure_scheme: or this one, such as "https"
 * @session: the HTTP session to send with
 * @headers: (nullable): header names and values every request carries
 */
void
cf_upstream_endpoint_init (CfUpstreamEndpoint *self,
                           const char         *url,
                           const char         *scheme,
                           const char         *secure_scheme,
                           SoupSession        *session,
                           GHashTable         *headers)
{
  self->url = g_strdup (url);
  self->uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (self->uri != NULL && g_strcmp0 (g_uri_get_scheme (self->uri), scheme) != 0 &&
      g_strcmp0 (g_uri_get_scheme (self->uri), secure_scheme) != 0)
    g_clear_pointer (&self->uri, g_uri_unref);
  self->session = g_object_ref (session);
  self->headers = headers ? g_hash_table_ref (headers) : NULL;
}

void
cf_upstream_endpoint_clear (CfUpstreamEndpoint *self)
{
  g_clear_pointer (&self->uri, g_uri_unref);
  g_clear_pointer (&self->url, g_free);
  g_clear_object (&self->session);
  g_clear_pointer (&self->headers, g_hash_table_unref);
}

/**
 * cf_upstream_endpoint_new_message:
 * @self: the endpoint
 * @method: the HTTP method
 * @uri: where to send it
 *
 * Returns: (transfer full): a message carrying the endpoint's headers
 */
SoupMessage *
cf_upstream_endpoint_new_message (CfUpstreamEndpoint *self,
                                  const char         *method,
                                  GUri               *uri)
{
  SoupMessage *msg = soup_message_new_from_uri (method, uri);
  SoupMessageHeaders *headers = soup_message_get_request_headers (msg);
  GHashTableIter iter;
  gpointer name, value;

  if (self->headers == NULL)
    return msg;
  g_hash_table_iter_init (&iter, self->headers);
  while (g_hash_table_iter_next (&iter, &name, &value))
    soup_message_headers_replace (headers, name, value);
  return msg;
}
