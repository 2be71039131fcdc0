/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <json-glib/json-glib.h>

#include "cf-json.h"

G_BEGIN_DECLS

/**
 * CfJsonrpcCode:
 *
 * JSON-RPC 2.0 error codes, and the ones MCP defines on top of them. Errors
 * in the %CF_JSONRPC_ERROR domain carry one of these as their code.
 */
typedef enum {
  CF_JSONRPC_PARSE_ERROR                 = -32700,
  CF_JSONRPC_INVALID_REQUEST             = -32600,
  CF_JSONRPC_METHOD_NOT_FOUND            = -32601,
  CF_JSONRPC_INVALID_PARAMS              = -32602,
  CF_JSONRPC_INTERNAL_ERROR              = -32603,
  /* legacy eras only (2025-11-25 and earlier) */
  CF_JSONRPC_RESOURCE_NOT_FOUND_LEGACY   = -32002,
  /* the range 2026-07-28 reserves for the MCP specification */
  CF_JSONRPC_HEADER_MISMATCH             = -32020,
  CF_JSONRPC_MISSING_CLIENT_CAPABILITY   = -32021,
  CF_JSONRPC_UNSUPPORTED_VERSION         = -32022,
} CfJsonrpcCode;

#define CF_JSONRPC_ERROR (cf_jsonrpc_error_quark ())

typedef enum {
  CF_JSONRPC_KIND_REQUEST,
  CF_JSONRPC_KIND_NOTIFICATION,
  CF_JSONRPC_KIND_RESULT,
  CF_JSONRPC_KIND_ERROR,
} CfJsonrpcKind;

/**
 * CfJsonrpcMessage:
 * @kind: what the message is
 * @id: (nullable): the id of a request or response
 * @method: (nullable): the method of a request or notification
 * @result: (nullable): the result of a response
 * @error: (nullable): the error object of an error response
 * @node: (nullable): the whole message; %NULL for one read with
 *   cf_jsonrpc_message_new_from_bytes()
 *
 * A validated JSON-RPC 2.0 message. Fields borrow from @node, or from the
 * members the message keeps when it was read from text. A request's
 * params are read through cf_jsonrpc_message_get_params() and its
 * companions: read from text, they are parsed member by member, as they
 * are asked for.
 */
#define CF_JSONRPC_MAX_MEMBERS 8
#define CF_JSONRPC_MAX_PARAMS 16

typedef struct {
  CfJsonrpcKind       kind;
  JsonNode           *id;
  const char         *method;
  JsonNode           *result;
  JsonObject         *error;
  JsonNode           *node;

  /*< private >*/
  JsonObject         *params;
  GBytes             *text;
  CfJsonParsedMember  members[CF_JSONRPC_MAX_MEMBERS];
  guint               n_members;
  gboolean            meta_read;
  gpointer            lazy_params;
  gpointer            lazy_meta;
} CfJsonrpcMessage;

GQuark            cf_jsonrpc_error_quark        (void);

CfJsonrpcMessage *cf_jsonrpc_message_new        (JsonNode          *node,
                                                 GError           **error);
CfJsonrpcMessage *cf_jsonrpc_message_new_from_bytes (GBytes        *bytes);
CfJsonrpcMessage *cf_jsonrpc_message_ref        (CfJsonrpcMessage  *self);
void              cf_jsonrpc_message_unref      (CfJsonrpcMessage  *self);
JsonObject       *cf_jsonrpc_message_get_params (CfJsonrpcMessage  *self);
JsonNode         *cf_jsonrpc_message_get_param  (CfJsonrpcMessage  *self,
                                                 const char        *name);
const char       *cf_jsonrpc_message_get_param_string (CfJsonrpcMessage *self,
                                                       const char       *name);
JsonObject       *cf_jsonrpc_message_get_param_object (CfJsonrpcMessage *self,
                                                       const char       *name);
GBytes           *cf_jsonrpc_message_dup_param_text (CfJsonrpcMessage *self,
                                                     const char       *name);
JsonNode         *cf_jsonrpc_message_get_meta   (CfJsonrpcMessage  *self,
                                                 const char        *name);
const char       *cf_jsonrpc_message_get_meta_string (CfJsonrpcMessage *self,
                                                      const char       *name);
gboolean          cf_jsonrpc_message_meta_is_object  (CfJsonrpcMessage *self,
                                                      const char       *name);
JsonNode         *cf_jsonrpc_peek_id            (JsonNode          *node);

JsonNode         *cf_jsonrpc_build_result       (JsonNode          *id,
                                                 JsonObject        *result);
GBytes           *cf_jsonrpc_build_result_spliced (JsonNode        *id,
                                                  JsonObject      *result,
                                                  const char      *member,
                                                  GBytes          *value);
GBytes           *cf_jsonrpc_build_result_with_members (JsonNode    *id,
                                                        JsonObject  *result,
                                                        GBytes      *members);
GString          *cf_jsonrpc_begin_result       (JsonNode          *id,
                                                 gsize              size_hint);
GBytes           *cf_jsonrpc_end_result         (GString           *out);
JsonNode         *cf_jsonrpc_build_error        (JsonNode          *id,
                                                 int                code,
                                                 const char        *message,
                                                 JsonNode          *data);
JsonNode         *cf_jsonrpc_build_error_from_gerror (JsonNode     *id,
                                                 const GError      *error);
JsonNode         *cf_jsonrpc_build_notification (const char        *method,
                                                 JsonObject        *params);
JsonNode         *cf_jsonrpc_build_request      (JsonNode          *id,
                                                 const char        *method,
                                                 JsonObject        *params);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfJsonrpcMessage, cf_jsonrpc_message_unref)

G_END_DECLS
