/* SPDX-License-Identifier: Apache-2.0 */
/* libFuzzer harness for cf_json_parse and cf_json_to_string; not built by
 * meson (see build-json-fuzz.sh). For every input: no crash, no leak; an
 * accepted text is also accepted by json-glib, serializes to text that
 * parses back and serializes to the same bytes, and a refused one has a
 * CfJsonError. */
#include "config.h"

#include <string.h>

#include "cf-json.h"

int LLVMFuzzerTestOneInput (const guint8 *data,
                            size_t        size);

int
LLVMFuzzerTestOneInput (const guint8 *data,
                        size_t        size)
{
  g_autoptr(GError) error = NULL;
  g_autoptr(JsonNode) node = cf_json_parse ((const char *) data, size, &error);
  g_autoptr(JsonParser) parser = json_parser_new_immutable ();
  g_autofree char *text = NULL;
  g_autofree char *again_text = NULL;
  g_autoptr(JsonNode) again = NULL;
  g_autoptr(GError) again_error = NULL;
  gsize length = 0;

  if (node == NULL)
    {
      g_assert_nonnull (error);
      g_assert_true (error->domain == CF_JSON_ERROR);
      return 0;
    }

  g_assert_true (json_node_is_immutable (node));
  g_assert_true (json_parser_load_from_data (parser, (const char *) data, size, NULL));

  text = cf_json_to_string (node, &length);
  again = cf_json_parse (text, length, &again_error);
  g_assert_no_error (again_error);
  again_text = cf_json_to_string (again, NULL);
  g_assert_cmpstr (text, ==, again_text);
  return 0;
}
