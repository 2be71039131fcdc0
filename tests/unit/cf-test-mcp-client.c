/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-test-mcp-client"

#include "config.h"

#include <string.h>

#include "cf-json.h"
#include "cf-test-mcp-client.h"
#include "cf-test-util.h"

/* Drives a CfMcpClient's asynchronous calls to their end, bounded in
 * time, and keeps what they produced. */

void
cf_test_op_init (CfTestOp *op)
{
  memset (op, 0, sizeof *op);
  op->messages = g_ptr_array_new_with_free_func ((GDestroyNotify) json_node_unref);
}

void
cf_test_op_clear (CfTestOp *op)
{
  g_clear_error (&op->error);
  g_clear_pointer (&op->response, json_node_unref);
  g_clear_pointer (&op->items, json_array_unref);
  g_clear_pointer (&op->messages, g_ptr_array_unref);
}

void
cf_test_op_wait (CfTestOp *op)
{
  g_assert_true (cf_test_wait_flag (&op->done, CF_TEST_TIMEOUT_MS));
}

static void
on_connected (GObject      *source,
              GAsyncResult *result,
              gpointer      user_data)
{
  CfTestOp *op = user_data;

  cf_mcp_client_connect_finish (CF_MCP_CLIENT (source), result, &op->error);
  op->done = TRUE;
}

/**
 * cf_test_op_connect:
 * @op: an initialized operation
 * @client: the client
 * @cancellable: (nullable): cancels the handshake
 *
 * Starts the handshake; cf_test_op_wait() waits for its end.
 */
void
cf_test_op_connect (CfTestOp     *op,
                    CfMcpClient  *client,
                    GCancellable *cancellable)
{
  cf_mcp_client_connect_async (client, cancellable, on_connected, op);
}

/**
 * cf_test_connect_client:
 * @client: the client
 * @error: return location for why the handshake failed
 *
 * Returns: whether the handshake succeeded
 */
gboolean
cf_test_connect_client (CfMcpClient  *client,
                        GError      **error)
{
  CfTestOp op;

  cf_test_op_init (&op);
  cf_test_op_connect (&op, client, NULL);
  cf_test_op_wait (&op);
  if (op.error != NULL)
    g_propagate_error (error, g_steal_pointer (&op.error));
  cf_test_op_clear (&op);
  return error == NULL || *error == NULL;
}

/* What the test answers a sampling request with. */
JsonObject *
cf_test_sampling_result (void)
{
  JsonObject *result = json_object_new ();
  JsonObject *content = json_object_new ();

  json_object_set_string_member (content, "type", "text");
  json_object_set_string_member (content, "text", "a sampled answer");
  json_object_set_string_member (result, "role", "assistant");
  json_object_set_object_member (result, "content", content);
  json_object_set_string_member (result, "model", "test-model");
  json_object_set_string_member (result, "stopReason", "endTurn");
  return result;
}

const char *
cf_test_message_method (JsonNode *message)
{
  return cf_json_object_get_string (json_node_get_object (message), "method");
}

static void
on_message (CfMcpClient *client,
            JsonNode    *message,
            gpointer     user_data)
{
  CfTestOp *op = user_data;
  JsonObject *object = json_node_get_object (message);

  g_ptr_array_add (op->messages, json_node_ref (message));
  if (op->answer_sampling &&
      g_strcmp0 (cf_test_message_method (message), "sampling/createMessage") == 0)
    cf_mcp_client_respond (client, json_object_get_member (object, "id"),
                           cf_test_sampling_result (), NULL);
}

static void
on_response (GObject      *source,
             GAsyncResult *result,
             gpointer      user_data)
{
  CfTestOp *op = user_data;

  op->response = cf_mcp_client_request_finish (CF_MCP_CLIENT (source), result, &op->error);
  g_assert_true ((op->response == NULL) != (op->error == NULL));
  op->n_messages_at_callback = op->messages->len;
  op->done = TRUE;
}

/**
 * cf_test_parse_object:
 * @json: (nullable): a JSON object's text
 *
 * Returns: (transfer full) (nullable): the object, sealed as params parsed
 *   from a downstream request would be
 */
JsonObject *
cf_test_parse_object (const char *json)
{
  g_autoptr(JsonNode) node = NULL;

  if (json == NULL)
    return NULL;
  node = cf_json_parse (json, -1, NULL);
  g_assert_nonnull (node);
  return json_object_ref (json_node_get_object (node));
}

/**
 * cf_test_op_start:
 * @op: an initialized operation
 * @client: a connected client
 * @method: the request's method
 * @params: (nullable): its params, as JSON text
 * @cancellable: (nullable): cancels it
 *
 * Sends a request; cf_test_op_wait() waits for its response.
 */
void
cf_test_op_start (CfTestOp     *op,
                  CfMcpClient  *client,
                  const char   *method,
                  const char   *params,
                  GCancellable *cancellable)
{
  cf_mcp_client_request_async (client, method, cf_test_parse_object (params), on_message, op,
                               cancellable, on_response, op);
}

void
cf_test_op_request (CfTestOp    *op,
                    CfMcpClient *client,
                    const char  *method,
                    const char  *params)
{
  cf_test_op_start (op, client, method, params, NULL);
  cf_test_op_wait (op);
}

/**
 * cf_test_op_call_tool:
 * @op: an operation, initialized here
 * @client: a connected client
 * @name: the tool to call, without arguments
 *
 * Calls a tool and waits for the response.
 */
void
cf_test_op_call_tool (CfTestOp    *op,
                      CfMcpClient *client,
                      const char  *name)
{
  g_autofree char *params = g_strdup_printf ("{\"name\":\"%s\",\"arguments\":{}}", name);

  cf_test_op_init (op);
  cf_test_op_request (op, client, "tools/call", params);
}

static void
on_listed (GObject      *source,
           GAsyncResult *result,
           gpointer      user_data)
{
  CfTestOp *op = user_data;

  op->items = cf_mcp_client_list_all_finish (CF_MCP_CLIENT (source), result, &op->error);
  g_assert_true ((op->items == NULL) != (op->error == NULL));
  op->done = TRUE;
}

void
cf_test_op_list_all (CfTestOp    *op,
                     CfMcpClient *client,
                     const char  *method)
{
  cf_mcp_client_list_all_async (client, method, NULL, on_listed, op);
  cf_test_op_wait (op);
}
