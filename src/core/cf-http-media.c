/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-http-media"

#include "config.h"

#include <string.h>

#include "cf-http-media.h"

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
