/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <libsoup/soup.h>

G_BEGIN_DECLS

/**
 * cf_http_name_equal:
 * @a: a header name, or any ASCII token
 * @b: another
 *
 * g_ascii_strcasecmp() == 0 for the hot path: inline, and done at the
 * first byte that differs in more than a letter's case.
 *
 * Returns: whether @a and @b are equal but for the case of letters
 */
static inline gboolean
cf_http_name_equal (const char *a,
                    const char *b)
{
  for (;; a++, b++)
    {
      guchar x = (guchar) *a, y = (guchar) *b;

      if (x == y)
        {
          if (x == '\0')
            return TRUE;
        }
      /* Equal but for bit 0x20, and that bit makes a lower-case letter */
      else if ((x | 0x20) != (y | 0x20) || (guchar) ((x | 0x20) - 'a') > 'z' - 'a')
        return FALSE;
    }
}

gboolean     cf_http_media_type_is (const char         *content_type,
                                    const char         *media_type);
const char  *cf_http_fields_get    (const char * const *fields,
                                    guint               n_fields,
                                    const char         *name);
SoupMessageHeaders *cf_http_fields_to_headers (const char * const     *fields,
                                               guint                   n_fields,
                                               SoupMessageHeadersType  type);

G_END_DECLS
