/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

void cf_memory_setup        (void);
void cf_memory_release      (void);

G_END_DECLS
