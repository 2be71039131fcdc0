/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <adwaita.h>

#include "cf-admin-application.h"

G_BEGIN_DECLS

/* What the tests that drive the admin app in-process under Xvfb share
 * (tests/gui/test-admin.c, tests/gui/test-admin-nearby.c): bounded waits
 * on the main loop, finding widgets by their names, acting on them as a
 * person would, answering dialogs, and taking screenshots. */

/**
 * CfGuiTest:
 * @app: the admin app under test, which the test's set-up makes
 * @window: (nullable): its main window, once it is shown; %NULL again
 *   when the drive is over
 *
 * The app and its window, which each test's fixture embeds.
 */
typedef struct {
  CfAdminApplication *app;
  GtkWindow          *window;
} CfGuiTest;

/**
 * CfGuiTestCondition:
 * @test: the test
 * @data: what the waiter passed
 *
 * Returns: whether the wait is over
 */
typedef gboolean (*CfGuiTestCondition) (CfGuiTest *test,
                                        gpointer   data);

/**
 * CfGuiTestMatch:
 * @widget: a widget of the tree searched
 * @text: (nullable): what the finder passed
 *
 * Returns: whether @widget is the one wanted
 */
typedef gboolean (*CfGuiTestMatch) (GtkWidget  *widget,
                                    const char *text);

/**
 * CfGuiTestFunc:
 * @test: the test, its window shown
 * @data: what cf_gui_test_run() passed
 */
typedef void (*CfGuiTestFunc) (CfGuiTest *test,
                               gpointer   data);

void       cf_gui_test_run                 (CfGuiTest          *test,
                                            CfGuiTestFunc       drive,
                                            gpointer            data);

void       cf_gui_test_wait_until          (CfGuiTest          *test,
                                            CfGuiTestCondition  condition,
                                            gpointer            data,
                                            const char         *what);
void       cf_gui_test_settle              (CfGuiTest          *test,
                                            guint               msec);

GtkWidget *cf_gui_test_find                (GtkWidget          *root,
                                            CfGuiTestMatch      match,
                                            const char         *text);
gboolean   cf_gui_test_name_is             (GtkWidget          *widget,
                                            const char         *name);
gboolean   cf_gui_test_name_matches        (GtkWidget          *widget,
                                            const char         *pattern);
gboolean   cf_gui_test_label_contains      (GtkWidget          *widget,
                                            const char         *text);
GtkWidget *cf_gui_test_lookup              (CfGuiTest          *test,
                                            const char         *name);
GtkWidget *cf_gui_test_get                 (CfGuiTest          *test,
                                            const char         *name);
GtkWidget *cf_gui_test_get_matching        (CfGuiTest          *test,
                                            const char         *pattern);
GtkWidget *cf_gui_test_wait_for            (CfGuiTest          *test,
                                            CfGuiTestMatch      match,
                                            const char         *text);

void       cf_gui_test_show_page           (CfGuiTest          *test,
                                            const char         *page);
void       cf_gui_test_click               (GtkWidget          *button);

GtkWidget *cf_gui_test_find_message_dialog (void);
gboolean   cf_gui_test_has_message_dialog  (CfGuiTest          *test,
                                            gpointer            data);
void       cf_gui_test_respond             (CfGuiTest          *test,
                                            const char         *response);

void       cf_gui_test_screenshot          (CfGuiTest          *test,
                                            const char         *name);

char      *cf_gui_test_isolate_home        (void);
void       cf_gui_test_remove_tree         (GFile              *file);

G_END_DECLS
