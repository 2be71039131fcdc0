/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Generous, because the suite also runs under valgrind. */
#define CF_TEST_TIMEOUT_MS 10000

typedef gboolean (*CfTestPredicate) (gpointer user_data);

gboolean    cf_test_wait_until          (CfTestPredicate  predicate,
                                         gpointer         user_data,
                                         guint            timeout_ms);
gboolean    cf_test_wait_flag           (const gboolean  *flag,
                                         guint            timeout_ms);
void        cf_test_spin                (guint            msec);
char       *cf_test_fixture_server_path (void);
guint       cf_test_server_get_port     (SoupServer      *server);
void        cf_test_remove_tree         (const char      *path);
gboolean    cf_test_http_is_idle        (gpointer         http);

JsonNode   *cf_test_parse               (const char      *json);
JsonObject *cf_test_assert_result       (JsonNode        *message);
JsonObject *cf_test_assert_error        (JsonNode        *message,
                                         int              code);
const char *cf_test_first_text          (JsonObject      *result);

/**
 * CfTestReply:
 * @status: the HTTP status, 0 if the exchange failed
 * @content_type: (nullable): the response media type, parameters removed
 * @session_id: (nullable): the Mcp-Session-Id response header
 * @body: the raw body
 * @json: (nullable): the JSON body, or the last SSE message
 * @events: the messages of an SSE body, in order
 */
typedef struct {
  guint       status;
  char       *content_type;
  char       *session_id;
  GBytes     *body;
  JsonNode   *json;
  GPtrArray  *events;
} CfTestReply;

/**
 * CfTestCall:
 * @method: the HTTP method, "POST" if %NULL
 * @path: the path, "/mcp" if %NULL
 * @body: (nullable): the request body
 * @length: its length, 0 for strlen (@body)
 * @content_type: "application/json" if %NULL, no header if ""
 * @accept: both MCP media types if %NULL, no header if ""
 * @session_id: (nullable): sent as Mcp-Session-Id
 * @headers: (nullable): more headers, name and value pairs, %NULL-terminated
 * @expect_continue: send `Expect: 100-continue`
 */
typedef struct {
  const char         *method;
  const char         *path;
  const char         *body;
  gsize               length;
  const char         *content_type;
  const char         *accept;
  const char         *session_id;
  const char * const *headers;
  gboolean            expect_continue;
} CfTestCall;

typedef struct _CfTestClient  CfTestClient;
typedef struct _CfTestPending CfTestPending;
typedef struct _CfTestSse     CfTestSse;

void           cf_test_reply_free      (CfTestReply        *reply);

CfTestClient  *cf_test_client_new      (guint               port);
void           cf_test_client_free     (CfTestClient       *client);
CfTestReply   *cf_test_client_call     (CfTestClient       *client,
                                        const CfTestCall   *call);
CfTestPending *cf_test_client_start    (CfTestClient       *client,
                                        const CfTestCall   *call);
CfTestReply   *cf_test_pending_finish  (CfTestPending      *pending);
CfTestSse     *cf_test_client_open_sse (CfTestClient       *client,
                                        const CfTestCall   *call);

guint          cf_test_sse_get_status  (CfTestSse          *sse);
const char    *cf_test_sse_get_content_type (CfTestSse     *sse);
gboolean       cf_test_sse_wait        (CfTestSse          *sse,
                                        guint               n_events,
                                        guint               timeout_ms);
guint          cf_test_sse_get_n_events (CfTestSse         *sse);
JsonNode      *cf_test_sse_get_event   (CfTestSse          *sse,
                                        guint               index);
gboolean       cf_test_sse_is_closed   (CfTestSse          *sse);
void           cf_test_sse_free        (CfTestSse          *sse);

GSocketConnection *cf_test_connect     (guint               port);
void           cf_test_send_raw        (GSocketConnection  *connection,
                                        const char         *data,
                                        gsize               length);
GString       *cf_test_read_raw        (GSocketConnection  *connection,
                                        guint               timeout_ms,
                                        gboolean           *out_closed);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfTestReply, cf_test_reply_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfTestClient, cf_test_client_free)
G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfTestSse, cf_test_sse_free)

G_END_DECLS
