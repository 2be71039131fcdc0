/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

#define CF_SSE_ERROR (cf_sse_error_quark ())

/**
 * CfSseError:
 * @CF_SSE_ERROR_TOO_LARGE: an event's data exceeds the limit
 */
typedef enum {
  CF_SSE_ERROR_TOO_LARGE,
} CfSseError;

/**
 * CfSseEventFunc:
 * @data: the event's data, nul-terminated, its lines joined by LF
 * @length: its length in bytes
 * @user_data: closure data
 *
 * Receives the data of one `message` event. Returns %FALSE to stop
 * parsing.
 */
typedef gboolean (*CfSseEventFunc) (const char *data,
                                    gsize       length,
                                    gpointer    user_data);

/**
 * CfSseTypedEventFunc:
 * @type: the event's type, `message` unless the event named another
 * @data: the event's data, nul-terminated, its lines joined by LF
 * @length: its length in bytes
 * @user_data: closure data
 *
 * Receives one event of any type. Returns %FALSE to stop parsing.
 */
typedef gboolean (*CfSseTypedEventFunc) (const char *type,
                                         const char *data,
                                         gsize       length,
                                         gpointer    user_data);

typedef struct _CfSseParser CfSseParser;

GQuark       cf_sse_error_quark          (void);
CfSseParser *cf_sse_parser_new           (gsize            max_event,
                                          CfSseEventFunc   func,
                                          gpointer         user_data);
CfSseParser *cf_sse_parser_new_typed     (gsize               max_event,
                                          CfSseTypedEventFunc func,
                                          gpointer            user_data);
void         cf_sse_parser_free          (CfSseParser     *self);
gboolean     cf_sse_parser_feed          (CfSseParser     *self,
                                          const char      *data,
                                          gsize            length,
                                          GError         **error);
const char  *cf_sse_parser_get_last_event_id (CfSseParser *self);
gint64       cf_sse_parser_get_retry     (CfSseParser     *self);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfSseParser, cf_sse_parser_free)

G_END_DECLS
