/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "contextforge-gateway"

#include "config.h"

#include <glib/gi18n.h>
#include <locale.h>

#include "cf-daemon.h"
#include "cf-memory.h"
#include "cf-probe.h"
#include "cf-token-cli.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CfDaemon) daemon = NULL;

  cf_memory_setup ();

  setlocale (LC_ALL, "");
  bindtextdomain (GETTEXT_PACKAGE, LOCALEDIR);
  bind_textdomain_codeset (GETTEXT_PACKAGE, "UTF-8");
  textdomain (GETTEXT_PACKAGE);
  g_set_prgname (PACKAGE_NAME);

  /* Subcommands run without the daemon's application machinery. */
  if (argc > 1 && g_str_equal (argv[1], "probe"))
    return cf_probe_main (argc - 1, argv + 1);
  if (argc > 1 && g_str_equal (argv[1], "token"))
    return cf_token_cli_main (argc - 1, argv + 1);

  daemon = cf_daemon_new ();
  return g_application_run (G_APPLICATION (daemon), argc, argv);
}
