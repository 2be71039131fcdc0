/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/**
 * CfLineFunc:
 * @line: the line, without its terminator; not nul-terminated
 * @length: its length in bytes
 * @overflow: %TRUE if the line exceeded the limit: @line then holds its
 *   first bytes, up to the limit, and the rest of the line is dropped
 * @user_data: closure data
 *
 * Receives one line. Returns %FALSE to stop splitting: the bytes not
 * yet split are dropped.
 */
typedef gboolean (*CfLineFunc) (const char *line,
                                gsize       length,
                                gboolean    overflow,
                                gpointer    user_data);

typedef struct _CfLineSplitter CfLineSplitter;

CfLineSplitter *cf_line_splitter_new   (gsize            max_line,
                                        gboolean         cr_is_newline);
void            cf_line_splitter_free  (CfLineSplitter  *self);
gboolean        cf_line_splitter_feed  (CfLineSplitter  *self,
                                        const char      *data,
                                        gsize            length,
                                        CfLineFunc       func,
                                        gpointer         user_data);
gsize           cf_line_splitter_get_pending (CfLineSplitter *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfLineSplitter, cf_line_splitter_free)

G_END_DECLS
