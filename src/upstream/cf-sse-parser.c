/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-sse-parser"

#include "config.h"

#include <string.h>

#include "cf-line-splitter.h"
#include "cf-sse-parser.h"

/**
 * CfSseParser:
 *
 * A push parser for a `text/event-stream` body, after the HTML event
 * stream interpretation rules: fed whatever bytes the network delivers,
 * it hands out the data of each complete `message` event. Comments,
 * events of other types and fields it does not know are skipped; `id`
 * and `retry` are kept for whoever resumes the stream. An `id` counts
 * only once its event is complete, so that a stream cut in the middle of
 * an event is resumed before that event, not after it. An event whose
 * data grows past the limit is an error rather than an unbounded buffer.
 */
struct _CfSseParser
{
  CfLineSplitter *lines;
  GString        *data;
  char           *event_type;
  char           *id_buffer;
  char           *last_event_id;
  gint64          retry;
  gsize           max_event;
  CfSseEventFunc  func;
  CfSseTypedEventFunc typed_func;
  gpointer        user_data;
  GError         *error;
  guint           started : 1;
  guint           has_data : 1;
};

G_DEFINE_QUARK (cf-sse-error-quark, cf_sse_error)

/* The "data: " prefix and a CR are allowed on top of the data itself. */
#define LINE_SLACK 16

CfSseParser *
cf_sse_parser_new (gsize          max_event,
                   CfSseEventFunc func,
                   gpointer       user_data)
{
  CfSseParser *self;

  g_return_val_if_fail (max_event > 0, NULL);
  g_return_val_if_fail (func != NULL, NULL);

  self = g_new0 (CfSseParser, 1);
  self->lines = cf_line_splitter_new (max_event + LINE_SLACK, TRUE);
  self->data = g_string_new (NULL);
  self->max_event = max_event;
  self->retry = -1;
  self->func = func;
  self->user_data = user_data;
  return self;
}

/**
 * cf_sse_parser_new_typed:
 * @max_event: the largest event data accepted, in bytes
 * @func: receives every event with data, whatever its type: a stream
 *   whose protocol has more than `message` events (the 2024-11-05
 *   HTTP+SSE transport opens with an `endpoint` event)
 * @user_data: closure data
 *
 * Returns: (transfer full): a new parser
 */
/* Stands in for the untyped function, which a typed parser never calls. */
static gboolean
no_untyped_event (const char *data,
                  gsize       length,
                  gpointer    user_data)
{
  return TRUE;
}

CfSseParser *
cf_sse_parser_new_typed (gsize               max_event,
                         CfSseTypedEventFunc func,
                         gpointer            user_data)
{
  CfSseParser *self;

  g_return_val_if_fail (func != NULL, NULL);

  self = cf_sse_parser_new (max_event, no_untyped_event, user_data);
  self->typed_func = func;
  return self;
}

void
cf_sse_parser_free (CfSseParser *self)
{
  if (self == NULL)
    return;
  cf_line_splitter_free (self->lines);
  g_string_free (self->data, TRUE);
  g_free (self->event_type);
  g_free (self->id_buffer);
  g_free (self->last_event_id);
  g_clear_error (&self->error);
  g_free (self);
}

/**
 * cf_sse_parser_get_last_event_id:
 * @self: the parser
 *
 * Returns: (nullable): the event id in force after the last complete
 *   event, what a reconnection sends as `Last-Event-ID`; %NULL if the
 *   stream set none, "" if it reset it
 */
const char *
cf_sse_parser_get_last_event_id (CfSseParser *self)
{
  return self->last_event_id;
}

/**
 * cf_sse_parser_get_retry:
 * @self: the parser
 *
 * Returns: the last valid `retry` field, the reconnection delay in
 *   milliseconds, or -1 if the stream gave none
 */
gint64
cf_sse_parser_get_retry (CfSseParser *self)
{
  return self->retry;
}

static gboolean
too_large (CfSseParser *self)
{
  g_set_error (&self->error, CF_SSE_ERROR, CF_SSE_ERROR_TOO_LARGE,
               "An event exceeds %" G_GSIZE_FORMAT " bytes", self->max_event);
  return FALSE;
}

static gboolean
dispatch (CfSseParser *self)
{
  gboolean is_message = self->event_type == NULL || g_str_equal (self->event_type, "message");
  gboolean go_on = TRUE;

  /* The id is committed whether or not the event has data: a priming
   * event is an id and an empty data line, or just an id. */
  if (self->id_buffer != NULL && g_strcmp0 (self->id_buffer, self->last_event_id) != 0)
    {
      g_free (self->last_event_id);
      self->last_event_id = g_strdup (self->id_buffer);
    }
  if (self->has_data && self->typed_func != NULL)
    go_on = self->typed_func (self->event_type ? self->event_type : "message",
                              self->data->str, self->data->len, self->user_data);
  else if (self->has_data && is_message)
    go_on = self->func (self->data->str, self->data->len, self->user_data);
  g_string_truncate (self->data, 0);
  g_clear_pointer (&self->event_type, g_free);
  self->has_data = FALSE;
  return go_on;
}

static gboolean
add_data (CfSseParser *self,
          const char  *value,
          gsize        length)
{
  if (self->data->len + length + 1 > self->max_event)
    return too_large (self);
  if (self->has_data)
    g_string_append_c (self->data, '\n');
  g_string_append_len (self->data, value, length);
  self->has_data = TRUE;
  return TRUE;
}

static void
set_retry (CfSseParser *self,
           const char  *value,
           gsize        length)
{
  guint64 retry = 0;
  g_autofree char *digits = g_strndup (value, length);

  if (length > 0 && length < 16 && strspn (digits, "0123456789") == length &&
      g_ascii_string_to_unsigned (digits, 10, 0, G_MAXINT64, &retry, NULL))
    self->retry = (gint64) retry;
}

static gboolean
handle_field (CfSseParser *self,
              const char  *name,
              gsize        name_len,
              const char  *value,
              gsize        value_len)
{
#define IS(field) (name_len == strlen (field) && memcmp (name, field, name_len) == 0)
  if (IS ("data"))
    return add_data (self, value, value_len);
  if (IS ("event"))
    {
      g_free (self->event_type);
      self->event_type = g_strndup (value, value_len);
    }
  else if (IS ("id") && memchr (value, '\0', value_len) == NULL)
    {
      g_free (self->id_buffer);
      self->id_buffer = g_strndup (value, value_len);
    }
  else if (IS ("retry"))
    set_retry (self, value, value_len);
#undef IS
  return TRUE;
}

static gboolean
on_line (const char *line,
         gsize       length,
         gboolean    overflow,
         gpointer    user_data)
{
  CfSseParser *self = user_data;
  const char *colon;
  const char *value;
  gsize value_len;

  if (overflow)
    return too_large (self);

  /* A byte order mark may open the stream, and only there. */
  if (!self->started && length >= 3 && memcmp (line, "\xEF\xBB\xBF", 3) == 0)
    {
      line += 3;
      length -= 3;
    }
  self->started = TRUE;

  if (length == 0)
    return dispatch (self);
  if (line[0] == ':')
    return TRUE;

  colon = memchr (line, ':', length);
  if (colon == NULL)
    return handle_field (self, line, length, "", 0);

  value = colon + 1;
  value_len = length - (value - line);
  if (value_len > 0 && *value == ' ')
    {
      value++;
      value_len--;
    }
  return handle_field (self, line, colon - line, value, value_len);
}

/**
 * cf_sse_parser_feed:
 * @self: the parser
 * @data: the next bytes of the body
 * @length: how many
 * @error: return location for a %CF_SSE_ERROR
 *
 * Parses @data, calling the event function for each event it completes.
 * An event still open when the body ends is dropped, as the standard
 * asks: it may have been cut short.
 *
 * Returns: %FALSE on error, or if the event function asked to stop (with
 *   no error set)
 */
gboolean
cf_sse_parser_feed (CfSseParser *self,
                    const char  *data,
                    gsize        length,
                    GError     **error)
{
  gboolean go_on;

  g_return_val_if_fail (self != NULL, FALSE);

  if (self->error != NULL)
    {
      g_propagate_error (error, g_error_copy (self->error));
      return FALSE;
    }
  go_on = cf_line_splitter_feed (self->lines, data, length, on_line, self);
  if (self->error != NULL)
    g_propagate_error (error, g_error_copy (self->error));
  return go_on;
}
