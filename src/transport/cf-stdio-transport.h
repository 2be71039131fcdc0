/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "cf-mcp-server.h"

G_BEGIN_DECLS

#define CF_TYPE_STDIO_TRANSPORT (cf_stdio_transport_get_type ())
G_DECLARE_FINAL_TYPE (CfStdioTransport, cf_stdio_transport, CF, STDIO_TRANSPORT, GObject)

CfStdioTransport *cf_stdio_transport_new   (CfMcpServer      *server,
                                            GInputStream     *input,
                                            GOutputStream    *output);
void              cf_stdio_transport_start (CfStdioTransport *self);

G_END_DECLS
