/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http-header"

#include "config.h"

#include <string.h>

#include "cf-http-header.h"

/**
 * cf_http_media_type_is:
 * @content_type: (nullable): a Content-Type header value
 * @media_type: a media type in lower case, such as `application/json`
 *
 * Whether @content_type names @media_type: compared without case, with
 * the whitespace around it and its parameters (`; charset=utf-8`) left
 * aside, as RFC 9110 (8.3.1) reads it. Both of the gateway's HTTP/1.1
 * implementations, server and client, ask this of every message, without
 * making a #SoupMessageHeaders for it.
 */
gboolean
cf_http_media_type_is (const char *content_type,
                       const char *media_type)
{
  gsize length;

  g_return_val_if_fail (media_type != NULL, FALSE);

  if (content_type == NULL)
    return FALSE;
  length = strlen (media_type);
  while (*content_type == ' ' || *content_type == '\t')
    content_type++;
  if (g_ascii_strncasecmp (content_type, media_type, length) != 0)
    return FALSE;
  content_type += length;
  while (*content_type == ' ' || *content_type == '\t')
    content_type++;
  return *content_type == '\0' || *content_type == ';';
}

/**
 * cf_http_fields_get:
 * @fields: (array length=n_fields): header names and values in turn, as
 *   an HTTP/1.1 head was parsed
 * @n_fields: how many headers
 * @name: a header name
 *
 * Finds a header among fields parsed in place, for the gateway's two
 * HTTP/1.1 implementations (the native server's requests, the lean
 * client's responses): no #SoupMessageHeaders made for a lookup.
 *
 * Returns: (nullable): the value of the header @name (compared without
 *   case), the last one when it is repeated, as libsoup answers
 */
const char *
cf_http_fields_get (const char * const *fields,
                    guint               n_fields,
                    const char         *name)
{
  g_return_val_if_fail (name != NULL && *name != '\0', NULL);

  for (guint i = n_fields; i > 0; i--)
    if (cf_http_name_equal (fields[2 * (i - 1)], name))
      return fields[2 * (i - 1) + 1];
  return NULL;
}

/**
 * cf_http_fields_to_headers:
 * @fields: (array length=n_fields): header names and values in turn
 * @n_fields: how many headers
 * @type: request or response headers
 *
 * Returns: (transfer full): the fields as #SoupMessageHeaders, for a
 *   caller that wants all of them
 */
SoupMessageHeaders *
cf_http_fields_to_headers (const char * const     *fields,
                           guint                   n_fields,
                           SoupMessageHeadersType  type)
{
  SoupMessageHeaders *headers = soup_message_headers_new (type);

  for (guint i = 0; i < n_fields; i++)
    soup_message_headers_append (headers, fields[2 * i], fields[2 * i + 1]);
  return headers;
}
