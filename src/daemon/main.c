/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "contextforge-gateway"

#include "config.h"

#include <malloc.h>

#include <glib/gi18n.h>
#include <locale.h>

#include "cf-daemon.h"
#include "cf-probe.h"
#include "cf-token-cli.h"

int
main (int   argc,
      char *argv[])
{
  g_autoptr(CfDaemon) daemon = NULL;

  /* Each request allocates and frees a little; without these glibc
   * grows and trims the heap with brk() several times per request. */
  mallopt (M_TRIM_THRESHOLD, 8 * 1024 * 1024);
  mallopt (M_TOP_PAD, 1024 * 1024);

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
