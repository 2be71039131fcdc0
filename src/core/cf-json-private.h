/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-json.h"

G_BEGIN_DECLS

JsonNode    *cf_json_parser_parse         (const char  *data,
                                           gsize        length,
                                           CfJsonError *out_code,
                                           char       **out_message);
void         cf_json_writer_append        (GString     *out,
                                           JsonNode    *node);
void         cf_json_writer_append_string (GString     *out,
                                           const char  *str);

G_END_DECLS
