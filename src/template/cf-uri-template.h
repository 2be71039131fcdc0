/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

typedef struct _CfUriTemplate CfUriTemplate;

CfUriTemplate *cf_uri_template_new        (const char     *source,
                                           GError        **error);
CfUriTemplate *cf_uri_template_ref        (CfUriTemplate  *self);
void           cf_uri_template_unref      (CfUriTemplate  *self);
const char    *cf_uri_template_get_source (CfUriTemplate  *self);
GStrv          cf_uri_template_get_variables (CfUriTemplate *self);
char          *cf_uri_template_expand     (CfUriTemplate  *self,
                                           GHashTable     *variables);
GHashTable    *cf_uri_template_match      (CfUriTemplate  *self,
                                           const char     *uri);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfUriTemplate, cf_uri_template_unref)

G_END_DECLS
