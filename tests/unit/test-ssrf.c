/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "test-ssrf"

#include "config.h"

#include <string.h>

#include "cf-guarded-address.h"
#include "cf-ssrf.h"

#define TIMEOUT_S 20

static const struct {
  const char     *address;
  CfAddressClass  klass;
} addresses[] = {
  { "8.8.8.8", CF_ADDRESS_PUBLIC },
  { "1.1.1.1", CF_ADDRESS_PUBLIC },
  { "2606:4700:4700::1111", CF_ADDRESS_PUBLIC },
  { "127.0.0.1", CF_ADDRESS_LOOPBACK },
  { "127.255.255.254", CF_ADDRESS_LOOPBACK },
  { "0.0.0.0", CF_ADDRESS_LOOPBACK },
  { "::1", CF_ADDRESS_LOOPBACK },
  { "::", CF_ADDRESS_LOOPBACK },
  { "::ffff:127.0.0.1", CF_ADDRESS_LOOPBACK },
  { "10.0.0.1", CF_ADDRESS_PRIVATE },
  { "10.255.255.255", CF_ADDRESS_PRIVATE },
  { "172.16.0.1", CF_ADDRESS_PRIVATE },
  { "172.31.255.255", CF_ADDRESS_PRIVATE },
  { "172.15.255.255", CF_ADDRESS_PUBLIC },
  { "172.32.0.0", CF_ADDRESS_PUBLIC },
  { "192.168.1.1", CF_ADDRESS_PRIVATE },
  { "192.169.0.1", CF_ADDRESS_PUBLIC },
  { "::ffff:10.1.2.3", CF_ADDRESS_PRIVATE },
  { "64:ff9b::192.168.0.1", CF_ADDRESS_PRIVATE },
  { "2002:c0a8:0101::1", CF_ADDRESS_PRIVATE },
  { "fc00::1", CF_ADDRESS_PRIVATE },
  { "fd12:3456::1", CF_ADDRESS_PRIVATE },
  { "169.254.1.1", CF_ADDRESS_LINK_LOCAL },
  { "fe80::1", CF_ADDRESS_LINK_LOCAL },
  { "100.64.0.1", CF_ADDRESS_SHARED },
  { "100.127.255.255", CF_ADDRESS_SHARED },
  { "100.128.0.1", CF_ADDRESS_PUBLIC },
  { "169.254.169.254", CF_ADDRESS_METADATA },
  { "::ffff:169.254.169.254", CF_ADDRESS_METADATA },
  { "fd00:ec2::254", CF_ADDRESS_METADATA },
  { "100.100.100.200", CF_ADDRESS_METADATA },
  { "224.0.0.1", CF_ADDRESS_RESERVED },
  { "255.255.255.255", CF_ADDRESS_RESERVED },
  { "ff02::1", CF_ADDRESS_RESERVED },
  { "192.0.2.10", CF_ADDRESS_RESERVED },
};

static void
test_classify_address (void)
{
  for (guint i = 0; i < G_N_ELEMENTS (addresses); i++)
    {
      g_autoptr(GInetAddress) address = g_inet_address_new_from_string (addresses[i].address);

      g_assert_nonnull (address);
      if (cf_ssrf_classify_address (address) != addresses[i].klass)
        g_error ("%s: class %d, expected %d", addresses[i].address,
                 cf_ssrf_classify_address (address), addresses[i].klass);
    }
}

/* Hosts as URLs write them: literals in every form the resolver takes
 * without DNS, and the names that always mean this host. */
static void
test_classify_host (void)
{
  static const struct {
    const char     *host;
    CfAddressClass  klass;
  } hosts[] = {
    { "localhost", CF_ADDRESS_LOOPBACK },
    { "LOCALHOST.", CF_ADDRESS_LOOPBACK },
    { "api.localhost", CF_ADDRESS_LOOPBACK },
    { "localhost.localdomain", CF_ADDRESS_LOOPBACK },
    { "ip6-localhost", CF_ADDRESS_LOOPBACK },
    { "[::1]", CF_ADDRESS_LOOPBACK },
    { "127.1", CF_ADDRESS_LOOPBACK },
    { "2130706433", CF_ADDRESS_LOOPBACK },
    { "0x7f000001", CF_ADDRESS_LOOPBACK },
    { "0177.0.0.1", CF_ADDRESS_LOOPBACK },
    { "[fe80::1%eth0]", CF_ADDRESS_LINK_LOCAL },
    { "10.1", CF_ADDRESS_PRIVATE },
    { "metadata.google.internal", CF_ADDRESS_METADATA },
    { "example.com", CF_ADDRESS_PUBLIC },
    { "localhost.example.com", CF_ADDRESS_PUBLIC },
  };

  for (guint i = 0; i < G_N_ELEMENTS (hosts); i++)
    if (cf_ssrf_classify_host (hosts[i].host, NULL) != hosts[i].klass)
      g_error ("%s: class %d, expected %d", hosts[i].host,
               cf_ssrf_classify_host (hosts[i].host, NULL), hosts[i].klass);
}

static void
assert_blocked (CfSsrfPolicy *policy,
                const char   *url,
                const char   *expected)
{
  g_autoptr(GError) error = NULL;

  if (cf_ssrf_policy_check_url (policy, url, &error))
    g_error ("%s was not blocked", url);
  g_assert_error (error, CF_SSRF_ERROR, CF_SSRF_ERROR_BLOCKED);
  if (strstr (error->message, expected) == NULL)
    g_error ("%s: \"%s\" does not say \"%s\"", url, error->message, expected);
}

static void
assert_allowed (CfSsrfPolicy *policy,
                const char   *url)
{
  g_autoptr(GError) error = NULL;

  if (!cf_ssrf_policy_check_url (policy, url, &error))
    g_error ("%s was blocked: %s", url, error->message);
}

static void
test_defaults (void)
{
  g_autoptr(CfSsrfPolicy) policy = cf_ssrf_policy_new ();

  assert_allowed (policy, "https://example.com/mcp");
  assert_allowed (policy, "http://8.8.8.8:8000/mcp");
  assert_blocked (policy, "http://127.0.0.1:8000/mcp", "SSRF_ALLOW_LOCALHOST=true");
  assert_blocked (policy, "http://localhost/mcp", "loopback");
  assert_blocked (policy, "http://[::1]:9/", "loopback");
  assert_blocked (policy, "http://0.0.0.0:9/", "loopback");
  assert_blocked (policy, "http://2130706433/", "2130706433 resolves to 127.0.0.1");
  assert_blocked (policy, "http://10.0.0.5/", "SSRF_ALLOW_PRIVATE_NETWORKS=true");
  assert_blocked (policy, "http://172.16.3.4/", "private network");
  assert_blocked (policy, "http://192.168.0.10/", "private network");
  assert_blocked (policy, "http://169.254.10.10/", "link-local");
  assert_blocked (policy, "http://[fd00::1]/", "private network");
  assert_blocked (policy, "ws://[fc00::5]:80/ws", "private network");
  assert_blocked (policy, "http://100.64.1.1/", "SSRF_ALLOWED_NETWORKS");
  assert_blocked (policy, "http://169.254.169.254/latest/meta-data/", "always blocks");
  assert_blocked (policy, "http://metadata.google.internal/", "cloud metadata");
}

static void
test_allowing (void)
{
  g_autoptr(CfSsrfPolicy) localhost = cf_ssrf_policy_new ();
  g_autoptr(CfSsrfPolicy) private = cf_ssrf_policy_new ();
  g_autoptr(CfSsrfPolicy) network = cf_ssrf_policy_new ();
  g_autoptr(CfSsrfPolicy) off = cf_ssrf_policy_new ();
  g_autoptr(GError) error = NULL;

  cf_ssrf_policy_set_allow_localhost (localhost, TRUE);
  assert_allowed (localhost, "http://127.0.0.1:8000/mcp");
  assert_allowed (localhost, "http://localhost/mcp");
  assert_allowed (localhost, "http://[::1]/mcp");
  assert_blocked (localhost, "http://10.0.0.5/", "private");
  assert_blocked (localhost, "http://169.254.169.254/", "metadata");

  cf_ssrf_policy_set_allow_private (private, TRUE);
  assert_allowed (private, "http://10.0.0.5/");
  assert_allowed (private, "http://[fd00::1]/");
  assert_allowed (private, "http://169.254.10.10/");
  assert_blocked (private, "http://127.0.0.1/", "loopback");
  assert_blocked (private, "http://169.254.169.254/", "metadata");

  g_assert_true (cf_ssrf_policy_allow_network (network, "10.1.0.0/16", &error));
  g_assert_true (cf_ssrf_policy_allow_network (network, "100.64.0.0/10", &error));
  g_assert_no_error (error);
  assert_allowed (network, "http://10.1.2.3/");
  assert_allowed (network, "http://100.100.1.1/");
  assert_blocked (network, "http://10.2.0.1/", "private");
  g_assert_false (cf_ssrf_policy_allow_network (network, "10.1.0.0/99", &error));
  g_assert_error (error, CF_SSRF_ERROR, CF_SSRF_ERROR_INVALID);
  g_clear_error (&error);
  /* Even an allowed network never reaches a metadata service. */
  g_assert_true (cf_ssrf_policy_allow_network (network, "169.254.0.0/16", &error));
  assert_blocked (network, "http://169.254.169.254/", "always blocks");

  cf_ssrf_policy_set_enabled (off, FALSE);
  assert_allowed (off, "http://127.0.0.1/");
  assert_allowed (off, "http://169.254.169.254/");
}

static void
test_env (void)
{
  const char *env[] = {
    "SSRF_ALLOW_LOCALHOST=TRUE", "SSRF_ALLOW_PRIVATE_NETWORKS=no",
    "SSRF_ALLOWED_NETWORKS=[\"192.168.5.0/24\", \"10.9.0.0/16\"]", NULL
  };
  const char *off[] = { "SSRF_PROTECTION_ENABLED=false", NULL };
  const char *bad_bool[] = { "SSRF_ALLOW_LOCALHOST=maybe", NULL };
  const char *bad_net[] = { "SSRF_ALLOWED_NETWORKS=10.0.0.0/8,nonsense", NULL };
  g_autoptr(CfSsrfPolicy) policy = cf_ssrf_policy_new ();
  g_autoptr(CfSsrfPolicy) disabled = cf_ssrf_policy_new ();
  g_autoptr(CfSsrfPolicy) bad = cf_ssrf_policy_new ();
  g_autoptr(GError) error = NULL;

  g_assert_true (cf_ssrf_policy_load_env (policy, env, &error));
  g_assert_no_error (error);
  assert_allowed (policy, "http://127.0.0.1/");
  assert_allowed (policy, "http://192.168.5.7/");
  assert_allowed (policy, "http://10.9.1.1/");
  assert_blocked (policy, "http://192.168.6.7/", "private");

  g_assert_true (cf_ssrf_policy_load_env (disabled, off, &error));
  g_assert_false (cf_ssrf_policy_get_enabled (disabled));
  assert_allowed (disabled, "http://10.0.0.1/");

  g_assert_false (cf_ssrf_policy_load_env (bad, bad_bool, &error));
  g_assert_nonnull (strstr (error->message, "SSRF_ALLOW_LOCALHOST=maybe"));
  g_clear_error (&error);
  g_assert_false (cf_ssrf_policy_load_env (bad, bad_net, &error));
  g_assert_nonnull (strstr (error->message, "nonsense"));
}

static void
test_resolved_address (void)
{
  g_autoptr(CfSsrfPolicy) policy = cf_ssrf_policy_new ();
  g_autoptr(GInetAddress) loopback = g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4);
  g_autoptr(GInetAddress) public = g_inet_address_new_from_string ("93.184.216.34");
  g_autoptr(GError) error = NULL;

  g_assert_true (cf_ssrf_policy_check_address (policy, public, "example.com", &error));
  g_assert_false (cf_ssrf_policy_check_address (policy, loopback, "rebind.example", &error));
  g_assert_error (error, CF_SSRF_ERROR, CF_SSRF_ERROR_BLOCKED);
  g_assert_cmpstr (error->message, ==,
                   "rebind.example resolves to 127.0.0.1, a loopback address, which SSRF "
                   "protection blocks; set SSRF_ALLOW_LOCALHOST=true to allow it");
}


/* Connect time: a resolver that answers "rebind.test" with 127.0.0.1, as
 * a rebinding attacker's DNS would, and knows no other name (so that no
 * query leaves the machine). */

#define REBIND_NAME "rebind.test"

typedef GResolver TestResolver;
typedef GResolverClass TestResolverClass;

static GType test_resolver_get_type (void);
G_DEFINE_TYPE (TestResolver, test_resolver, G_TYPE_RESOLVER)

static GList *
lookup (const char               *hostname,
        GResolverNameLookupFlags  flags,
        GError                  **error)
{
  if (g_ascii_strcasecmp (hostname, REBIND_NAME) != 0 ||
      flags & G_RESOLVER_NAME_LOOKUP_FLAGS_IPV6_ONLY)
    {
      g_set_error (error, G_RESOLVER_ERROR, G_RESOLVER_ERROR_NOT_FOUND, "No such name: %s",
                   hostname);
      return NULL;
    }
  return g_list_prepend (NULL, g_inet_address_new_loopback (G_SOCKET_FAMILY_IPV4));
}

static GList *
test_resolver_lookup_by_name_with_flags (GResolver                 *resolver,
                                         const char                *hostname,
                                         GResolverNameLookupFlags   flags,
                                         GCancellable              *cancellable,
                                         GError                   **error)
{
  return lookup (hostname, flags, error);
}

static GList *
test_resolver_lookup_by_name (GResolver     *resolver,
                              const char    *hostname,
                              GCancellable  *cancellable,
                              GError       **error)
{
  return lookup (hostname, G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT, error);
}

static void
test_resolver_lookup_by_name_with_flags_async (GResolver                *resolver,
                                               const char               *hostname,
                                               GResolverNameLookupFlags  flags,
                                               GCancellable             *cancellable,
                                               GAsyncReadyCallback       callback,
                                               gpointer                  user_data)
{
  g_autoptr(GTask) task = g_task_new (resolver, cancellable, callback, user_data);
  GError *error = NULL;
  GList *found = lookup (hostname, flags, &error);

  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, found, (GDestroyNotify) g_resolver_free_addresses);
}

static void
test_resolver_lookup_by_name_async (GResolver           *resolver,
                                    const char          *hostname,
                                    GCancellable        *cancellable,
                                    GAsyncReadyCallback  callback,
                                    gpointer             user_data)
{
  test_resolver_lookup_by_name_with_flags_async (resolver, hostname,
                                                 G_RESOLVER_NAME_LOOKUP_FLAGS_DEFAULT,
                                                 cancellable, callback, user_data);
}

static GList *
test_resolver_lookup_by_name_finish (GResolver     *resolver,
                                     GAsyncResult  *result,
                                     GError       **error)
{
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
test_resolver_class_init (TestResolverClass *klass)
{
  klass->lookup_by_name = test_resolver_lookup_by_name;
  klass->lookup_by_name_async = test_resolver_lookup_by_name_async;
  klass->lookup_by_name_finish = test_resolver_lookup_by_name_finish;
  klass->lookup_by_name_with_flags = test_resolver_lookup_by_name_with_flags;
  klass->lookup_by_name_with_flags_async = test_resolver_lookup_by_name_with_flags_async;
  klass->lookup_by_name_with_flags_finish = test_resolver_lookup_by_name_finish;
}

static void
test_resolver_init (TestResolver *self)
{
}

typedef struct {
  SoupServer *server;
  guint       port;
  guint       requests;
} Target;

static void
on_target_request (SoupServer        *server,
                   SoupServerMessage *msg,
                   const char        *path,
                   GHashTable        *query,
                   gpointer           user_data)
{
  Target *target = user_data;

  target->requests++;
  soup_server_message_set_status (msg, SOUP_STATUS_OK, NULL);
  soup_server_message_set_response (msg, "text/plain", SOUP_MEMORY_STATIC, "reached", 7);
}

static void
target_start (Target *target)
{
  g_autoptr(GError) error = NULL;
  GSList *uris;

  target->server = soup_server_new (NULL, NULL);
  soup_server_add_handler (target->server, NULL, on_target_request, target, NULL);
  soup_server_listen_local (target->server, 0, SOUP_SERVER_LISTEN_IPV4_ONLY, &error);
  g_assert_no_error (error);
  uris = soup_server_get_uris (target->server);
  target->port = g_uri_get_port (uris->data);
  g_slist_free_full (uris, (GDestroyNotify) g_uri_unref);
}

static void
on_sent (GObject      *source,
         GAsyncResult *result,
         gpointer      user_data)
{
  GError **error = ((gpointer *) user_data)[0];
  GBytes **body = ((gpointer *) user_data)[1];

  *body = soup_session_send_and_read_finish (SOUP_SESSION (source), result, error);
  if (*body == NULL && *error == NULL)
    *error = g_error_new_literal (G_IO_ERROR, G_IO_ERROR_FAILED, "no body");
}

static gboolean
on_deadline (gpointer user_data)
{
  *(gboolean *) user_data = TRUE;
  return G_SOURCE_REMOVE;
}

/* GETs @url through a session guarded by @policy; returns the body. */
static GBytes *
fetch (CfSsrfPolicy  *policy,
       const char    *url,
       GError       **error)
{
  g_autoptr(SoupSession) session = cf_guarded_session_new (url, policy, 1, error);
  g_autoptr(SoupMessage) msg = NULL;
  GBytes *body = NULL;
  gpointer out[2] = { error, &body };
  gboolean expired = FALSE;
  guint deadline;

  g_assert_nonnull (session);
  msg = soup_message_new ("GET", url);
  soup_session_send_and_read_async (session, msg, G_PRIORITY_DEFAULT, NULL, on_sent, out);
  deadline = g_timeout_add_seconds (TIMEOUT_S, on_deadline, &expired);
  while (body == NULL && *error == NULL && !expired)
    g_main_context_iteration (NULL, TRUE);
  g_assert_false (expired);
  g_source_remove (deadline);
  return body;
}

static void
test_connect_rebinding (void)
{
  g_autoptr(GResolver) resolver = g_object_new (test_resolver_get_type (), NULL);
  g_autoptr(GResolver) previous = g_resolver_get_default ();
  g_autoptr(CfSsrfPolicy) policy = cf_ssrf_policy_new ();
  g_autoptr(CfSsrfPolicy) allowing = cf_ssrf_policy_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(GBytes) blocked = NULL;
  g_autoptr(GBytes) reached = NULL;
  g_autofree char *url = NULL;
  Target target = { 0 };

  target_start (&target);
  g_resolver_set_default (resolver);
  url = g_strdup_printf ("http://" REBIND_NAME ":%u/mcp", target.port);

  /* The name passes the registration check: it is not an address... */
  g_assert_true (cf_ssrf_policy_check_url (policy, url, &error));
  g_assert_no_error (error);
  /* ...but what it resolves to is refused before any byte is sent. */
  blocked = fetch (policy, url, &error);
  g_assert_null (blocked);
  g_assert_nonnull (error);
  g_assert_nonnull (strstr (error->message, REBIND_NAME " resolves to 127.0.0.1"));
  g_assert_nonnull (strstr (error->message, "SSRF_ALLOW_LOCALHOST=true"));
  g_assert_cmpuint (target.requests, ==, 0);
  g_clear_error (&error);

  cf_ssrf_policy_set_allow_localhost (allowing, TRUE);
  reached = fetch (allowing, url, &error);
  g_assert_no_error (error);
  g_assert_cmpmem (g_bytes_get_data (reached, NULL), g_bytes_get_size (reached), "reached", 7);
  g_assert_cmpuint (target.requests, ==, 1);

  g_resolver_set_default (previous);
  g_clear_object (&target.server);
}

/* A literal registered before the policy changed is caught when
 * connecting too, in every spelling. */
static void
test_connect_literals (void)
{
  g_autoptr(CfSsrfPolicy) policy = cf_ssrf_policy_new ();
  const char *hosts[] = { "127.0.0.1", "[::ffff:127.0.0.1]", "[::1]", "localhost", NULL };
  Target target = { 0 };

  target_start (&target);
  for (guint i = 0; hosts[i] != NULL; i++)
    {
      g_autofree char *url = g_strdup_printf ("http://%s:%u/", hosts[i], target.port);
      g_autoptr(GError) error = NULL;
      g_autoptr(GBytes) body = fetch (policy, url, &error);

      g_assert_null (body);
      g_assert_nonnull (error);
      if (strstr (error->message, "loopback") == NULL)
        g_error ("%s: %s", url, error->message);
    }
  g_assert_cmpuint (target.requests, ==, 0);
  g_clear_object (&target.server);
}

static void
test_disabled_needs_no_guard (void)
{
  g_autoptr(CfSsrfPolicy) policy = cf_ssrf_policy_new ();
  g_autoptr(GError) error = NULL;
  g_autoptr(SoupSession) none = cf_guarded_session_new ("http://127.0.0.1/", NULL, 1, &error);
  g_autoptr(SoupSession) off = NULL;

  g_assert_null (none);
  g_assert_no_error (error);
  cf_ssrf_policy_set_enabled (policy, FALSE);
  off = cf_guarded_session_new ("http://127.0.0.1/", policy, 1, &error);
  g_assert_null (off);
  g_assert_no_error (error);
}

int
main (int   argc,
      char *argv[])
{
  g_test_init (&argc, &argv, G_TEST_OPTION_ISOLATE_DIRS, NULL);

  g_test_add_func ("/ssrf/classify-address", test_classify_address);
  g_test_add_func ("/ssrf/classify-host", test_classify_host);
  g_test_add_func ("/ssrf/defaults", test_defaults);
  g_test_add_func ("/ssrf/allowing", test_allowing);
  g_test_add_func ("/ssrf/env", test_env);
  g_test_add_func ("/ssrf/resolved-address", test_resolved_address);
  g_test_add_func ("/ssrf/connect/rebinding", test_connect_rebinding);
  g_test_add_func ("/ssrf/connect/literals", test_connect_literals);
  g_test_add_func ("/ssrf/connect/disabled", test_disabled_needs_no_guard);

  return g_test_run ();
}
