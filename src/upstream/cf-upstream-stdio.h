/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-upstream-transport.h"

G_BEGIN_DECLS

#define CF_TYPE_UPSTREAM_STDIO (cf_upstream_stdio_get_type ())
G_DECLARE_FINAL_TYPE (CfUpstreamStdio, cf_upstream_stdio, CF, UPSTREAM_STDIO, CfUpstreamTransport)

CfUpstreamTransport *cf_upstream_stdio_new (const char * const *argv,
                                            const char * const *env,
                                            const char         *cwd);

G_END_DECLS
