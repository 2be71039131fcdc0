/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * CfExpectation:
 * @scenario: a conformance scenario
 * @path: a JSONPath into that scenario's first check's `details`
 * @contains: text the value found there must contain
 */
typedef struct {
  const char *scenario;
  const char *path;
  const char *contains;
} CfExpectation;

/**
 * CfConformanceClientRun:
 * @checks: the scenario's checks.json
 * @output: what the suite printed
 * @client_stdout: what the client command printed
 * @client_stderr: what it printed on stderr
 * @exit_status: the suite's exit status (non-zero on a FAILURE, a
 *   WARNING, a timeout or a failing client)
 *
 * One scenario of the suite's client mode.
 */
typedef struct {
  JsonArray *checks;
  char      *output;
  char      *client_stdout;
  char      *client_stderr;
  int        exit_status;
} CfConformanceClientRun;

GHashTable *cf_conformance_run         (const char          *url,
                                        const char * const  *extra_args,
                                        guint               *out_passed,
                                        guint               *out_failed);
void        cf_conformance_assert_clean (GHashTable         *checks);
void        cf_conformance_assert_expectations (GHashTable  *checks,
                                        const CfExpectation *expectations,
                                        gsize                n_expectations);

CfConformanceClientRun *cf_conformance_run_client (const char *command,
                                                   const char *scenario);
void        cf_conformance_client_run_free (CfConformanceClientRun *run);
JsonObject *cf_conformance_find_check  (JsonArray           *checks,
                                        const char          *id,
                                        const char          *description);
JsonObject *cf_conformance_assert_check (JsonArray          *checks,
                                        const char          *id,
                                        const char          *status);
void        cf_conformance_assert_passed (JsonArray         *checks,
                                        const char          *except);

G_DEFINE_AUTOPTR_CLEANUP_FUNC (CfConformanceClientRun, cf_conformance_client_run_free)

extern const CfExpectation cf_conformance_fixture_expectations[];
extern const gsize cf_conformance_n_fixture_expectations;

G_END_DECLS
