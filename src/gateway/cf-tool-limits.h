/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <glib.h>

G_BEGIN_DECLS

/* TOOL_RATE_LIMIT and TOOL_CONCURRENT_LIMIT, as ContextForge defaults them. */
#define CF_TOOL_RATE_LIMIT_DEFAULT 100
#define CF_TOOL_CONCURRENT_LIMIT_DEFAULT 10

/**
 * CfToolLimit:
 * @CF_TOOL_LIMIT_NONE: the call may go ahead
 * @CF_TOOL_LIMIT_RATE: the tool had its calls for this minute
 * @CF_TOOL_LIMIT_CONCURRENCY: the tool has as many calls running as allowed
 */
typedef enum {
  CF_TOOL_LIMIT_NONE,
  CF_TOOL_LIMIT_RATE,
  CF_TOOL_LIMIT_CONCURRENCY,
} CfToolLimit;

typedef struct _CfToolLimits CfToolLimits;
typedef struct _CfToolSlot CfToolSlot;

CfToolLimits *cf_tool_limits_new          (guint                per_minute,
                                           guint                concurrent);
CfToolLimits *cf_tool_limits_new_from_env (const char * const  *environ,
                                           GError             **error);
CfToolLimits *cf_tool_limits_ref          (CfToolLimits        *self);
void          cf_tool_limits_unref        (CfToolLimits        *self);
guint         cf_tool_limits_get_per_minute (CfToolLimits      *self);
guint         cf_tool_limits_get_concurrent (CfToolLimits      *self);
CfToolSlot   *cf_tool_limits_acquire      (CfToolLimits        *self,
                                           const char          *tool_id,
                                           gint64               now_us,
                                           CfToolLimit         *out_limit,
                                           guint               *out_retry_after_ms);
void          cf_tool_slot_release        (CfToolSlot          *slot);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfToolLimits, cf_tool_limits_unref)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfToolSlot, cf_tool_slot_release)

G_END_DECLS
