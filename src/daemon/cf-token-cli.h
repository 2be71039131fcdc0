/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

int cf_token_cli_main (int    argc,
                       char **argv);

G_END_DECLS
