/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "contextforge-gateway-admin"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "cf-admin-application.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CfAdminApplication) app = NULL;

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);

  app = cf_admin_application_new ();
  return g_application_run (G_APPLICATION (app), argc, argv);
}
