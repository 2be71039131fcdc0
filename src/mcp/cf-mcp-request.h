/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

#include "cf-types.h"

G_BEGIN_DECLS

#define CF_TYPE_MCP_REQUEST (cf_mcp_request_get_type ())
G_DECLARE_FINAL_TYPE (CfMcpRequest, cf_mcp_request, CF, MCP_REQUEST, GObject)

#define CF_MCP_REQUEST_ERROR (cf_mcp_request_error_quark ())

/**
 * CfMcpRequestError:
 * @CF_MCP_REQUEST_ERROR_INPUT_REQUIRED: a 2026-07-28 client must supply the
 *   input first; the request already answered with an InputRequiredResult,
 *   and the handler should stop
 * @CF_MCP_REQUEST_ERROR_UNDELIVERABLE: the client has no channel for a
 *   server-to-client request, or lacks the capability
 * @CF_MCP_REQUEST_ERROR_TIMED_OUT: the client did not answer in time
 */
typedef enum {
  CF_MCP_REQUEST_ERROR_INPUT_REQUIRED,
  CF_MCP_REQUEST_ERROR_UNDELIVERABLE,
  CF_MCP_REQUEST_ERROR_TIMED_OUT,
} CfMcpRequestError;

GQuark         cf_mcp_request_error_quark            (void);

const char    *cf_mcp_request_get_method             (CfMcpRequest   *self);
JsonObject    *cf_mcp_request_get_params             (CfMcpRequest   *self);
JsonNode      *cf_mcp_request_get_param              (CfMcpRequest   *self,
                                                      const char     *name);
JsonObject    *cf_mcp_request_get_param_object       (CfMcpRequest   *self,
                                                      const char     *name);
const char    *cf_mcp_request_get_param_string       (CfMcpRequest   *self,
                                                      const char     *name);
GBytes        *cf_mcp_request_dup_param_text         (CfMcpRequest   *self,
                                                      const char     *name);
JsonNode      *cf_mcp_request_get_meta               (CfMcpRequest   *self,
                                                      const char     *name);
JsonNode      *cf_mcp_request_get_id                 (CfMcpRequest   *self);
CfMcpServer   *cf_mcp_request_get_server             (CfMcpRequest   *self);
CfMcpSession  *cf_mcp_request_get_session            (CfMcpRequest   *self);
const char    *cf_mcp_request_get_protocol_version   (CfMcpRequest   *self);
CfMcpEra       cf_mcp_request_get_era                (CfMcpRequest   *self);
JsonObject    *cf_mcp_request_get_client_capabilities (CfMcpRequest  *self);
gboolean       cf_mcp_request_client_has_capability  (CfMcpRequest   *self,
                                                      const char     *capability);
const char    *cf_mcp_request_get_scope              (CfMcpRequest   *self);
CfIdentity    *cf_mcp_request_get_identity           (CfMcpRequest   *self);
CfMcpLogLevel  cf_mcp_request_get_log_level          (CfMcpRequest   *self);
GCancellable  *cf_mcp_request_get_cancellable        (CfMcpRequest   *self);

/**
 * CfMcpRequestCancelFunc:
 * @request: the cancelled request
 * @user_data: the data given with the function
 */
typedef void (*CfMcpRequestCancelFunc) (CfMcpRequest *request,
                                        gpointer      user_data);

void           cf_mcp_request_set_cancel_func        (CfMcpRequest           *self,
                                                      CfMcpRequestCancelFunc  func,
                                                      gpointer                user_data);
gboolean       cf_mcp_request_is_done                (CfMcpRequest   *self);

void           cf_mcp_request_set_cache_hint         (CfMcpRequest   *self,
                                                      gint64          ttl_ms,
                                                      gboolean        private_scope);
void           cf_mcp_request_return                 (CfMcpRequest   *self,
                                                      JsonObject     *result);
void           cf_mcp_request_return_spliced         (CfMcpRequest   *self,
                                                      JsonObject     *result,
                                                      const char     *member,
                                                      GBytes         *value);
void           cf_mcp_request_return_with_members    (CfMcpRequest   *self,
                                                      JsonObject     *result,
                                                      GBytes         *members);
void           cf_mcp_request_return_error           (CfMcpRequest   *self,
                                                      int             code,
                                                      const char     *message,
                                                      JsonNode       *data);
void           cf_mcp_request_return_gerror          (CfMcpRequest   *self,
                                                      const GError   *error);
void           cf_mcp_request_return_json            (CfMcpRequest   *self,
                                                      JsonNode       *response);

gboolean       cf_mcp_request_notify                 (CfMcpRequest   *self,
                                                      const char     *method,
                                                      JsonObject     *params);
gboolean       cf_mcp_request_progress               (CfMcpRequest   *self,
                                                      double          progress,
                                                      double          total,
                                                      const char     *message);
gboolean       cf_mcp_request_log                    (CfMcpRequest   *self,
                                                      CfMcpLogLevel   level,
                                                      const char     *logger,
                                                      JsonNode       *data);

void           cf_mcp_request_call_client_async      (CfMcpRequest        *self,
                                                      const char          *method,
                                                      JsonObject          *params,
                                                      GCancellable        *cancellable,
                                                      GAsyncReadyCallback  callback,
                                                      gpointer             user_data);
JsonNode      *cf_mcp_request_call_client_finish     (CfMcpRequest        *self,
                                                      GAsyncResult        *result,
                                                      GError             **error);

G_END_DECLS
