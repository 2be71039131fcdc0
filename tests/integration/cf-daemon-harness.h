/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>
#include <libsoup/soup.h>

G_BEGIN_DECLS

/* Drives a real contextforge-gateway process from a test: it is another
 * process, so the test may use libsoup's synchronous calls. */

/* In the extra environment of cf_daemon_harness_start(): a command that
 * runs the daemon, such as `ip netns exec a`, rather than a variable. */
#define CF_HARNESS_WRAPPER "CF_HARNESS_WRAPPER"

typedef struct {
  GSubprocess *process;
  char        *url;
  char        *db_path;
  SoupSession *http;
} CfDaemonHarness;

GSubprocess     *cf_harness_spawnv        (const char * const *argv,
                                           GSubprocessFlags  flags,
                                           GError          **error);
int              cf_harness_stop_process  (GSubprocess      *process);
void             cf_harness_wait_for_entities (CfDaemonHarness *self,
                                              const char      *collection,
                                              const char      *gateway_id,
                                              guint            expected);
void             cf_harness_wait_for_tools (CfDaemonHarness *self,
                                           const char       *gateway_id,
                                           guint             expected);
GSubprocess     *cf_harness_spawn         (const char * const *argv,
                                           char            **out_first_line);
CfDaemonHarness *cf_daemon_harness_start  (const char       *db_path,
                                           const char * const *extra_env);
CfDaemonHarness *cf_daemon_harness_start_auth (const char         *db_path,
                                               const char         *admin_password,
                                               const char         *secret,
                                               const char * const *extra_env);
int              cf_daemon_harness_stop   (CfDaemonHarness  *self);
void             cf_daemon_harness_free   (CfDaemonHarness  *self);

JsonNode        *cf_harness_request       (CfDaemonHarness  *self,
                                           const char       *method,
                                           const char       *path,
                                           const char       *body,
                                           const char * const *headers,
                                           guint            *out_status,
                                           SoupMessageHeaders **out_headers);
JsonNode        *cf_harness_call          (CfDaemonHarness  *self,
                                           const char       *method,
                                           const char       *path,
                                           const char       *body,
                                           const char       *token,
                                           guint            *out_status,
                                           SoupMessageHeaders **out_headers);
JsonObject      *cf_harness_rpc_result    (JsonNode         *response);
const char      *cf_harness_first_text    (JsonObject       *result);
JsonObject      *cf_harness_create        (CfDaemonHarness  *self,
                                           const char       *collection,
                                           const char       *body);

GArray          *cf_harness_children_of   (GPid              parent);
gboolean         cf_harness_process_exists (GPid             pid);

void             cf_harness_assert_not_in_database (const char *db,
                                                    const char *needle);

gboolean         cf_harness_set_flag      (gpointer          user_data);
gboolean         cf_harness_wait_for      (gboolean         *done,
                                           guint             seconds);

typedef struct {
  char    *url;
  char    *body;
  char    *session;
  char    *text;
  guint    status;
  GThread *thread;
} CfHarnessPost;

CfHarnessPost   *cf_harness_post_start    (const char       *url,
                                           const char       *body,
                                           const char       *session);
void             cf_harness_post_join     (CfHarnessPost    *post);
void             cf_harness_post_free     (CfHarnessPost    *post);

G_END_DECLS
