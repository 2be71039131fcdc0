/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-mcp-client.h"

G_BEGIN_DECLS

/**
 * CfTestOp:
 * @done: the operation finished
 * @error: (nullable): how it failed
 * @response: (nullable): the JSON-RPC response of a request
 * @items: (nullable): what a list_all gathered
 * @messages: what arrived for the request before its response
 * @n_messages_at_callback: how many had arrived when it finished
 * @answer_sampling: answer a sampling/createMessage with
 *   cf_test_sampling_result()
 *
 * One operation on a #CfMcpClient, driven to its end from a test.
 */
typedef struct {
  gboolean   done;
  GError    *error;
  JsonNode  *response;
  JsonArray *items;
  GPtrArray *messages;
  guint      n_messages_at_callback;
  gboolean   answer_sampling;
} CfTestOp;

void        cf_test_op_init         (CfTestOp      *op);
void        cf_test_op_clear        (CfTestOp      *op);
void        cf_test_op_start        (CfTestOp      *op,
                                     CfMcpClient   *client,
                                     const char    *method,
                                     const char    *params,
                                     GCancellable  *cancellable);
void        cf_test_op_wait         (CfTestOp      *op);
void        cf_test_op_request      (CfTestOp      *op,
                                     CfMcpClient   *client,
                                     const char    *method,
                                     const char    *params);
void        cf_test_op_call_tool    (CfTestOp      *op,
                                     CfMcpClient   *client,
                                     const char    *name);
void        cf_test_op_list_all     (CfTestOp      *op,
                                     CfMcpClient   *client,
                                     const char    *method);
void        cf_test_op_connect      (CfTestOp      *op,
                                     CfMcpClient   *client,
                                     GCancellable  *cancellable);
gboolean    cf_test_connect_client  (CfMcpClient   *client,
                                     GError       **error);
JsonObject *cf_test_parse_object    (const char    *json);
JsonObject *cf_test_sampling_result (void);
const char *cf_test_message_method  (JsonNode      *message);

G_END_DECLS
