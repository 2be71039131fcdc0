/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>
#include <json-glib/json-glib.h>

#include "cf-admin-backend.h"

G_BEGIN_DECLS

#define CF_TYPE_TOOL_FORM (cf_tool_form_get_type ())
G_DECLARE_FINAL_TYPE (CfToolForm, cf_tool_form, CF, TOOL_FORM, AdwBin)

void  cf_tool_form_set_backend   (CfToolForm     *self,
                                  CfAdminBackend *backend);
void  cf_tool_form_show_tool     (CfToolForm     *self,
                                  const char     *tool_id);
char *cf_tool_form_result_text   (JsonObject     *result);

G_END_DECLS
