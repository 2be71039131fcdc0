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

GHashTable *cf_conformance_run         (const char          *url,
                                        const char * const  *extra_args,
                                        guint               *out_passed,
                                        guint               *out_failed);
void        cf_conformance_assert_clean (GHashTable         *checks);
void        cf_conformance_assert_expectations (GHashTable  *checks,
                                        const CfExpectation *expectations,
                                        gsize                n_expectations);

extern const CfExpectation cf_conformance_fixture_expectations[];
extern const gsize cf_conformance_n_fixture_expectations;

G_END_DECLS
