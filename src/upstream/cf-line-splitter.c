/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-line-splitter"

#include "config.h"

#include <string.h>

#include "cf-line-splitter.h"

/**
 * CfLineSplitter:
 *
 * Cuts a byte stream into lines as it arrives, holding at most one line
 * of a bounded size: a peer that never sends a newline cannot make us
 * buffer without end. Lines end at LF; with @cr_is_newline also at CR
 * and CRLF (as Server-Sent Events have it), otherwise one CR before the
 * LF is dropped.
 */
struct _CfLineSplitter
{
  GByteArray *buffer;
  gsize       max_line;
  guint       cr_is_newline : 1;
  guint       after_cr : 1;
  guint       discarding : 1;
};

CfLineSplitter *
cf_line_splitter_new (gsize    max_line,
                      gboolean cr_is_newline)
{
  CfLineSplitter *self;

  g_return_val_if_fail (max_line > 0, NULL);

  self = g_new0 (CfLineSplitter, 1);
  self->buffer = g_byte_array_new ();
  self->max_line = max_line;
  self->cr_is_newline = !!cr_is_newline;
  return self;
}

void
cf_line_splitter_free (CfLineSplitter *self)
{
  if (self == NULL)
    return;
  g_byte_array_unref (self->buffer);
  g_free (self);
}

/* The bytes held for a line not yet terminated. */
gsize
cf_line_splitter_get_pending (CfLineSplitter *self)
{
  return self->buffer->len;
}

static const char *
find_newline (CfLineSplitter *self,
              const char     *data,
              const char     *end)
{
  const char *lf = memchr (data, '\n', end - data);
  const char *cr;

  if (!self->cr_is_newline)
    return lf;
  cr = memchr (data, '\r', (lf ? lf : end) - data);
  return cr ? cr : lf;
}

static gboolean
emit_line (CfLineSplitter *self,
           CfLineFunc      func,
           gpointer        user_data)
{
  gsize length = self->buffer->len;
  gboolean go_on;

  if (!self->cr_is_newline && length > 0 && self->buffer->data[length - 1] == '\r')
    length--;
  go_on = func ((const char *) self->buffer->data, length, FALSE, user_data);
  g_byte_array_set_size (self->buffer, 0);
  return go_on;
}

/* Appends a piece of the current line, reporting an overflow once. */
static gboolean
append (CfLineSplitter *self,
        const char     *data,
        gsize           length,
        CfLineFunc      func,
        gpointer        user_data)
{
  gsize room;
  gboolean go_on;

  if (self->discarding)
    return TRUE;

  room = self->max_line - self->buffer->len;
  if (length <= room)
    {
      g_byte_array_append (self->buffer, (const guint8 *) data, length);
      return TRUE;
    }

  g_byte_array_append (self->buffer, (const guint8 *) data, room);
  self->discarding = TRUE;
  go_on = func ((const char *) self->buffer->data, self->buffer->len, TRUE, user_data);
  g_byte_array_set_size (self->buffer, 0);
  return go_on;
}

/**
 * cf_line_splitter_feed:
 * @self: the splitter
 * @data: the next bytes of the stream
 * @length: how many
 * @func: called for each complete line, and once for each line too long
 * @user_data: closure data for @func
 *
 * Returns: %FALSE if @func asked to stop
 */
gboolean
cf_line_splitter_feed (CfLineSplitter *self,
                       const char     *data,
                       gsize           length,
                       CfLineFunc      func,
                       gpointer        user_data)
{
  const char *end = data + length;

  while (data < end)
    {
      const char *newline;
      gboolean was_discarding;

      /* The LF of a CRLF split across two reads ends nothing. */
      if (self->after_cr && *data == '\n')
        data++;
      self->after_cr = FALSE;
      if (data == end)
        break;

      newline = find_newline (self, data, end);
      if (newline == NULL)
        return append (self, data, end - data, func, user_data);

      if (!append (self, data, newline - data, func, user_data))
        return FALSE;
      self->after_cr = self->cr_is_newline && *newline == '\r';
      data = newline + 1;

      was_discarding = self->discarding;
      self->discarding = FALSE;
      if (!was_discarding && !emit_line (self, func, user_data))
        return FALSE;
    }
  return TRUE;
}
