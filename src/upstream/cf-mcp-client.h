/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

#include "cf-types.h"

G_BEGIN_DECLS

#define CF_TYPE_MCP_CLIENT (cf_mcp_client_get_type ())
G_DECLARE_FINAL_TYPE (CfMcpClient, cf_mcp_client, CF, MCP_CLIENT, GObject)

#define CF_MCP_CLIENT_ERROR (cf_mcp_client_error_quark ())

/**
 * CfMcpClientError:
 * @CF_MCP_CLIENT_ERROR_CONNECT: the upstream cannot be reached, or the
 *   child cannot be started
 * @CF_MCP_CLIENT_ERROR_PROTOCOL: the upstream broke the protocol: invalid
 *   or oversized messages, an unexpected HTTP status, a failed handshake
 * @CF_MCP_CLIENT_ERROR_CLOSED: the client is not connected, was closed,
 *   or the child exited
 * @CF_MCP_CLIENT_ERROR_TIMED_OUT: no response within the timeout
 * @CF_MCP_CLIENT_ERROR_SESSION_LOST: the upstream forgot the HTTP session
 *   (404); connect again
 */
typedef enum {
  CF_MCP_CLIENT_ERROR_CONNECT,
  CF_MCP_CLIENT_ERROR_PROTOCOL,
  CF_MCP_CLIENT_ERROR_CLOSED,
  CF_MCP_CLIENT_ERROR_TIMED_OUT,
  CF_MCP_CLIENT_ERROR_SESSION_LOST,
} CfMcpClientError;

/* A request's timeout unless set otherwise. */
#define CF_MCP_CLIENT_DEFAULT_TIMEOUT_MS 60000
/* The largest message accepted from an upstream unless set otherwise. */
#define CF_MCP_CLIENT_DEFAULT_MAX_MESSAGE (16 * 1024 * 1024)

/**
 * CfMcpClientMessageFunc:
 * @client: the client
 * @message: a message the upstream sent for the request, before its
 *   response: a notification, or (legacy era) a server-to-client request
 *   to answer with cf_mcp_client_respond()
 * @user_data: closure data
 */
typedef void (*CfMcpClientMessageFunc) (CfMcpClient *client,
                                        JsonNode    *message,
                                        gpointer     user_data);

GQuark       cf_mcp_client_error_quark             (void);

CfMcpClient *cf_mcp_client_new_http                (const char          *url,
                                                    SoupSession         *session,
                                                    GHashTable          *headers);
CfMcpClient *cf_mcp_client_new_sse                 (const char          *url,
                                                    SoupSession         *session,
                                                    GHashTable          *headers);
CfMcpClient *cf_mcp_client_new_websocket           (const char          *url,
                                                    SoupSession         *session,
                                                    GHashTable          *headers);
CfMcpClient *cf_mcp_client_new_stdio               (const char * const  *argv,
                                                    const char * const  *env,
                                                    const char          *cwd);
void         cf_mcp_client_set_timeout             (CfMcpClient         *self,
                                                    guint                msec);
guint        cf_mcp_client_get_timeout             (CfMcpClient         *self);
void         cf_mcp_client_set_max_message_size    (CfMcpClient         *self,
                                                    gsize                max_size);

void         cf_mcp_client_connect_async           (CfMcpClient         *self,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
gboolean     cf_mcp_client_connect_finish          (CfMcpClient         *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
gboolean     cf_mcp_client_is_connected            (CfMcpClient         *self);
CfMcpEra     cf_mcp_client_get_era                 (CfMcpClient         *self);
const char  *cf_mcp_client_get_protocol_version    (CfMcpClient         *self);
JsonObject  *cf_mcp_client_get_server_capabilities (CfMcpClient         *self);
JsonObject  *cf_mcp_client_get_server_info         (CfMcpClient         *self);
const char  *cf_mcp_client_get_instructions        (CfMcpClient         *self);
const char  *cf_mcp_client_get_session_id          (CfMcpClient         *self);
GPid         cf_mcp_client_get_pid                 (CfMcpClient         *self);

void         cf_mcp_client_request_async           (CfMcpClient            *self,
                                                    const char             *method,
                                                    JsonObject             *params,
                                                    CfMcpClientMessageFunc  on_message,
                                                    gpointer                on_message_data,
                                                    GCancellable           *cancellable,
                                                    GAsyncReadyCallback     callback,
                                                    gpointer                user_data);
void         cf_mcp_client_call_tool_async         (CfMcpClient            *self,
                                                    JsonObject             *params,
                                                    JsonObject             *meta,
                                                    GBytes                 *arguments,
                                                    CfMcpClientMessageFunc  on_message,
                                                    gpointer                on_message_data,
                                                    GCancellable           *cancellable,
                                                    GAsyncReadyCallback     callback,
                                                    gpointer                user_data);
JsonNode    *cf_mcp_client_request_finish          (CfMcpClient         *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);
JsonNode    *cf_mcp_client_request_finish_passthrough (CfMcpClient      *self,
                                                       GAsyncResult     *result,
                                                       GBytes          **members,
                                                       GError          **error);
void         cf_mcp_client_cancel                  (CfMcpClient         *self,
                                                    gpointer             user_data);

void         cf_mcp_client_respond                 (CfMcpClient         *self,
                                                    JsonNode            *id,
                                                    JsonObject          *result,
                                                    JsonObject          *error);
void         cf_mcp_client_notify                  (CfMcpClient         *self,
                                                    const char          *method,
                                                    JsonObject          *params);

void         cf_mcp_client_list_all_async          (CfMcpClient         *self,
                                                    const char          *method,
                                                    GCancellable        *cancellable,
                                                    GAsyncReadyCallback  callback,
                                                    gpointer             user_data);
JsonArray   *cf_mcp_client_list_all_finish         (CfMcpClient         *self,
                                                    GAsyncResult        *result,
                                                    GError             **error);

void         cf_mcp_client_share_param_headers     (CfMcpClient         *self,
                                                    GHashTable          *table);
GHashTable  *cf_mcp_client_get_param_headers       (CfMcpClient         *self);
void         cf_mcp_client_close                   (CfMcpClient         *self);

G_END_DECLS
