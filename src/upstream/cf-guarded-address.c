/* SPDX-License-Identifier: Apache-2.0 */
#define G_LOG_DOMAIN "cf-guarded-address"

#include "config.h"

#include "cf-guarded-address.h"

/**
 * CfGuardedAddress:
 *
 * A #GNetworkAddress whose every resolved address is checked against a
 * #CfSsrfPolicy before a connection is made to it. As a session's
 * `remote-connectable`, it is what libsoup connects to, so the addresses
 * checked are exactly the ones connected to: a name that resolves to a
 * public address when registered and to 127.0.0.1 later (DNS
 * rebinding) fails with a message that names both. Being a
 * #GNetworkAddress, it still gives TLS its host name.
 *
 * Through a proxy, the proxy resolves the name and is the one checked
 * against its own policy; the gateway checks only what it connects to.
 */
struct _CfGuardedAddress
{
  GNetworkAddress  parent_instance;

  CfSsrfPolicy    *policy;
};

#define CF_TYPE_GUARDED_ENUMERATOR (cf_guarded_enumerator_get_type ())
G_DECLARE_FINAL_TYPE (CfGuardedEnumerator, cf_guarded_enumerator, CF, GUARDED_ENUMERATOR,
                      GSocketAddressEnumerator)

/* Yields the inner enumerator's addresses, or an error at the first one
 * the policy refuses. */
struct _CfGuardedEnumerator
{
  GSocketAddressEnumerator  parent_instance;

  GSocketAddressEnumerator *inner;
  CfSsrfPolicy             *policy;
  char                     *hostname;
};

G_DEFINE_FINAL_TYPE (CfGuardedEnumerator, cf_guarded_enumerator, G_TYPE_SOCKET_ADDRESS_ENUMERATOR)

static GSocketConnectableIface *parent_connectable_iface;

static void cf_guarded_address_connectable_init (GSocketConnectableIface *iface);

G_DEFINE_FINAL_TYPE_WITH_CODE (CfGuardedAddress, cf_guarded_address, G_TYPE_NETWORK_ADDRESS,
                               G_IMPLEMENT_INTERFACE (G_TYPE_SOCKET_CONNECTABLE,
                                                      cf_guarded_address_connectable_init))

/* Enumerator */

static GSocketAddress *
check (CfGuardedEnumerator  *self,
       GSocketAddress       *address,
       GError              **error)
{
  GInetAddress *inet;

  if (address == NULL || !G_IS_INET_SOCKET_ADDRESS (address))
    return address;
  inet = g_inet_socket_address_get_address (G_INET_SOCKET_ADDRESS (address));
  if (cf_ssrf_policy_check_address (self->policy, inet, self->hostname, error))
    return address;
  g_message ("Refused to connect: %s", (*error)->message);
  g_object_unref (address);
  return NULL;
}

static GSocketAddress *
cf_guarded_enumerator_next (GSocketAddressEnumerator  *enumerator,
                            GCancellable              *cancellable,
                            GError                   **error)
{
  CfGuardedEnumerator *self = CF_GUARDED_ENUMERATOR (enumerator);
  GError *local = NULL;
  GSocketAddress *address = g_socket_address_enumerator_next (self->inner, cancellable, &local);

  if (local != NULL)
    {
      g_propagate_error (error, local);
      return NULL;
    }
  return check (self, address, error);
}

static void
on_inner_next (GObject      *source,
               GAsyncResult *result,
               gpointer      user_data)
{
  g_autoptr(GTask) task = user_data;
  CfGuardedEnumerator *self = g_task_get_source_object (task);
  GError *error = NULL;
  GSocketAddress *address = g_socket_address_enumerator_next_finish (self->inner, result, &error);

  if (error == NULL)
    address = check (self, address, &error);
  if (error != NULL)
    g_task_return_error (task, error);
  else
    g_task_return_pointer (task, address, address ? g_object_unref : NULL);
}

static void
cf_guarded_enumerator_next_async (GSocketAddressEnumerator *enumerator,
                                  GCancellable             *cancellable,
                                  GAsyncReadyCallback       callback,
                                  gpointer                  user_data)
{
  CfGuardedEnumerator *self = CF_GUARDED_ENUMERATOR (enumerator);
  GTask *task = g_task_new (self, cancellable, callback, user_data);

  g_task_set_source_tag (task, cf_guarded_enumerator_next_async);
  g_socket_address_enumerator_next_async (self->inner, cancellable, on_inner_next, task);
}

static GSocketAddress *
cf_guarded_enumerator_next_finish (GSocketAddressEnumerator  *enumerator,
                                   GAsyncResult              *result,
                                   GError                   **error)
{
  g_return_val_if_fail (g_task_is_valid (result, enumerator), NULL);
  return g_task_propagate_pointer (G_TASK (result), error);
}

static void
cf_guarded_enumerator_finalize (GObject *object)
{
  CfGuardedEnumerator *self = (CfGuardedEnumerator *) object;

  g_clear_object (&self->inner);
  g_clear_pointer (&self->policy, cf_ssrf_policy_unref);
  g_clear_pointer (&self->hostname, g_free);

  G_OBJECT_CLASS (cf_guarded_enumerator_parent_class)->finalize (object);
}

static void
cf_guarded_enumerator_class_init (CfGuardedEnumeratorClass *klass)
{
  GSocketAddressEnumeratorClass *enumerator_class = G_SOCKET_ADDRESS_ENUMERATOR_CLASS (klass);

  G_OBJECT_CLASS (klass)->finalize = cf_guarded_enumerator_finalize;
  enumerator_class->next = cf_guarded_enumerator_next;
  enumerator_class->next_async = cf_guarded_enumerator_next_async;
  enumerator_class->next_finish = cf_guarded_enumerator_next_finish;
}

static void
cf_guarded_enumerator_init (CfGuardedEnumerator *self)
{
}

/* Address */

static GSocketAddressEnumerator *
cf_guarded_address_enumerate (GSocketConnectable *connectable)
{
  CfGuardedAddress *self = CF_GUARDED_ADDRESS (connectable);
  CfGuardedEnumerator *enumerator = g_object_new (CF_TYPE_GUARDED_ENUMERATOR, NULL);

  enumerator->inner = parent_connectable_iface->enumerate (connectable);
  enumerator->policy = cf_ssrf_policy_ref (self->policy);
  enumerator->hostname = g_strdup (g_network_address_get_hostname (G_NETWORK_ADDRESS (self)));
  return G_SOCKET_ADDRESS_ENUMERATOR (enumerator);
}

/* proxy_enumerate stays GNetworkAddress's: for a direct connection it
 * enumerates through the enumerate above. */
static void
cf_guarded_address_connectable_init (GSocketConnectableIface *iface)
{
  parent_connectable_iface = g_type_interface_peek_parent (iface);
  iface->enumerate = cf_guarded_address_enumerate;
}

static void
cf_guarded_address_finalize (GObject *object)
{
  CfGuardedAddress *self = (CfGuardedAddress *) object;

  g_clear_pointer (&self->policy, cf_ssrf_policy_unref);

  G_OBJECT_CLASS (cf_guarded_address_parent_class)->finalize (object);
}

static void
cf_guarded_address_class_init (CfGuardedAddressClass *klass)
{
  G_OBJECT_CLASS (klass)->finalize = cf_guarded_address_finalize;
}

static void
cf_guarded_address_init (CfGuardedAddress *self)
{
}

/**
 * cf_guarded_address_new:
 * @hostname: a host name or address
 * @port: the port
 * @scheme: (nullable): the URL scheme, for proxy lookups
 * @policy: the policy each resolved address must pass
 *
 * Returns: (transfer full): the connectable
 */
GSocketConnectable *
cf_guarded_address_new (const char   *hostname,
                        guint16       port,
                        const char   *scheme,
                        CfSsrfPolicy *policy)
{
  CfGuardedAddress *self;

  g_return_val_if_fail (hostname != NULL, NULL);
  g_return_val_if_fail (policy != NULL, NULL);

  self = g_object_new (CF_TYPE_GUARDED_ADDRESS, "hostname", hostname, "port", port,
                       "scheme", scheme, NULL);
  self->policy = cf_ssrf_policy_ref (policy);
  return G_SOCKET_CONNECTABLE (self);
}

static gboolean
proxy_in_environment (void)
{
  static const char * const names[] = {
    "http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY",
  };

  for (guint i = 0; i < G_N_ELEMENTS (names); i++)
    if (g_getenv (names[i]) != NULL)
      return TRUE;
  return FALSE;
}

/**
 * cf_guarded_session_new:
 * @url: the one upstream the session is for
 * @policy: (nullable): where the gateway may connect
 * @max_conns_per_host: how many connections to keep to it
 * @error: return location for a #GError
 *
 * A session that connects only to @url's host and port, and only to the
 * addresses @policy allows (a redirect to another host still connects
 * there). It is set up as #CfMcpClient sets up its own sessions.
 *
 * Returns: (transfer full) (nullable): the session, or %NULL when
 *   @policy is %NULL or disabled and any session will do; %NULL with
 *   @error set when @url has no host
 */
SoupSession *
cf_guarded_session_new (const char    *url,
                        CfSsrfPolicy  *policy,
                        guint          max_conns_per_host,
                        GError       **error)
{
  g_autoptr(GUri) uri = NULL;
  g_autoptr(GSocketConnectable) address = NULL;
  const char *scheme;
  SoupSession *session;
  int port;

  g_return_val_if_fail (url != NULL, NULL);

  if (policy == NULL || !cf_ssrf_policy_get_enabled (policy))
    return NULL;
  uri = g_uri_parse (url, SOUP_HTTP_URI_FLAGS, NULL);
  if (uri == NULL || g_uri_get_host (uri) == NULL || *g_uri_get_host (uri) == '\0')
    {
      g_set_error (error, G_IO_ERROR, G_IO_ERROR_INVALID_ARGUMENT, "Not a URL with a host: %s",
                   url);
      return NULL;
    }
  scheme = g_uri_get_scheme (uri);
  port = g_uri_get_port (uri);
  if (port < 0)
    port = g_str_equal (scheme, "https") || g_str_equal (scheme, "wss") ? 443 : 80;

  address = cf_guarded_address_new (g_uri_get_host (uri), port, scheme, policy);
  /* Timeouts are per request, the caller's: a socket timeout would also
   * cut a quiet SSE stream. */
  /* One host per session: its whole connection budget is for that host. */
  session = g_object_new (SOUP_TYPE_SESSION, "timeout", 0,
                          "max-conns", MAX (max_conns_per_host, 1u),
                          "max-conns-per-host", MAX (max_conns_per_host, 1u),
                          "user-agent", "ContextForge-Gateway/" PACKAGE_VERSION,
                          "remote-connectable", address, NULL);
  if (!proxy_in_environment ())
    soup_session_set_proxy_resolver (session, NULL);
  return session;
}
