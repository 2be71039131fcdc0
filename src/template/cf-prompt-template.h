/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

#define CF_TEMPLATE_ERROR (cf_template_error_quark ())

/**
 * CfTemplateError:
 * @CF_TEMPLATE_ERROR_SYNTAX: the template text does not parse
 * @CF_TEMPLATE_ERROR_UNDEFINED: a variable used without a default is missing
 * @CF_TEMPLATE_ERROR_FILTER: an unknown filter, or a filter applied to a wrong type
 * @CF_TEMPLATE_ERROR_LIMIT: rendering exceeded the output or loop limits
 */
typedef enum {
  CF_TEMPLATE_ERROR_SYNTAX,
  CF_TEMPLATE_ERROR_UNDEFINED,
  CF_TEMPLATE_ERROR_FILTER,
  CF_TEMPLATE_ERROR_LIMIT,
} CfTemplateError;

typedef struct _CfPromptTemplate CfPromptTemplate;

GQuark             cf_template_error_quark      (void);

CfPromptTemplate  *cf_prompt_template_new       (const char        *source,
                                                 GError           **error);
CfPromptTemplate  *cf_prompt_template_ref       (CfPromptTemplate  *self);
void               cf_prompt_template_unref     (CfPromptTemplate  *self);
char              *cf_prompt_template_render    (CfPromptTemplate  *self,
                                                 JsonObject        *arguments,
                                                 GError           **error);
GStrv              cf_prompt_template_get_variables (CfPromptTemplate *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfPromptTemplate, cf_prompt_template_unref)

G_END_DECLS
