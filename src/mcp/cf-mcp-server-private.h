/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>

#include "cf-mcp-server.h"

G_BEGIN_DECLS

/* The server's state, shared by cf-mcp-server.c (dispatch, sessions),
 * cf-mcp-server-builtins.c and cf-mcp-server-notify.c. */
struct _CfMcpServer
{
  GObject      parent_instance;

  JsonObject  *info;
  char        *info_text;
  char        *instructions;
  GStrv        versions;
  JsonObject  *capabilities;
  GHashTable  *methods;
  GHashTable  *sessions;
  GHashTable  *client_calls;
  GPtrArray   *listeners;
  GPtrArray   *connections;
  guint        client_timeout_ms;
  guint        max_sessions;

  CfMcpParamHeadersFunc param_headers_func;
  gpointer              param_headers_data;
  GDestroyNotify        param_headers_destroy;
};

typedef struct {
  CfMcpMethodFunc func;
  gpointer        user_data;
  GDestroyNotify  destroy;
} MethodEntry;

/* An open subscriptions/listen stream and what it asked for. */
typedef struct {
  CfMcpRequest *request;
  JsonObject   *filter;
} Listener;

/* A server-to-client request awaiting its answer. Only the session that
 * was asked may answer: the session is compared, never dereferenced. */
typedef struct {
  GTask    *task;
  gpointer  session;
} PendingCall;

void        _cf_mcp_listener_free            (Listener     *listener);
JsonObject *_cf_mcp_subscription_meta        (CfMcpRequest *request);
gboolean    _cf_mcp_server_dispatch_builtin  (CfMcpServer  *self,
                                              CfMcpRequest *request);

char *_cf_mcp_server_register_client_call   (CfMcpServer  *self,
                                             GTask        *task,
                                             CfMcpSession *session);
void  _cf_mcp_server_unregister_client_call (CfMcpServer  *self,
                                             const char   *key);
void  _cf_mcp_server_request_done           (CfMcpServer  *self,
                                             CfMcpRequest *request);
const char *_cf_mcp_server_get_info_text    (CfMcpServer  *self);

G_END_DECLS
