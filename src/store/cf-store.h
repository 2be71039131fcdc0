/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include <gio/gio.h>
#include <json-glib/json-glib.h>

G_BEGIN_DECLS

/**
 * CfEntityKind:
 * @CF_ENTITY_TOOL: a tool (REST or federated MCP)
 * @CF_ENTITY_RESOURCE: a resource, inline text or binary, or a URI template
 * @CF_ENTITY_PROMPT: a prompt template with its arguments
 * @CF_ENTITY_SERVER: a virtual server and its associations
 * @CF_ENTITY_GATEWAY: an upstream gateway row
 *
 * The kinds of registry entity the store persists.
 */
typedef enum {
  CF_ENTITY_TOOL,
  CF_ENTITY_RESOURCE,
  CF_ENTITY_PROMPT,
  CF_ENTITY_SERVER,
  CF_ENTITY_GATEWAY,
  CF_N_ENTITY_KINDS
} CfEntityKind;

#define CF_STORE_ERROR (cf_store_error_quark ())

/**
 * CfStoreError:
 * @CF_STORE_ERROR_OPEN: the database could not be opened or is not a database
 * @CF_STORE_ERROR_MIGRATION: a schema migration failed or the file is newer than us
 * @CF_STORE_ERROR_CONSTRAINT: a uniqueness or foreign-key constraint was violated
 * @CF_STORE_ERROR_NOT_FOUND: no row with that id
 * @CF_STORE_ERROR_INVALID: the entity lacks a field the schema requires
 * @CF_STORE_ERROR_IO: any other SQLite failure
 * @CF_STORE_ERROR_CLOSED: the store was closed
 */
typedef enum {
  CF_STORE_ERROR_OPEN,
  CF_STORE_ERROR_MIGRATION,
  CF_STORE_ERROR_CONSTRAINT,
  CF_STORE_ERROR_NOT_FOUND,
  CF_STORE_ERROR_INVALID,
  CF_STORE_ERROR_IO,
  CF_STORE_ERROR_CLOSED,
} CfStoreError;

#define CF_TYPE_STORE (cf_store_get_type ())
G_DECLARE_FINAL_TYPE (CfStore, cf_store, CF, STORE, GObject)

GQuark        cf_store_error_quark       (void);
const char   *cf_entity_kind_to_string   (CfEntityKind kind);

CfStore      *cf_store_new               (const char           *path,
                                          GError              **error);
const char   *cf_store_get_path          (CfStore              *self);
guint         cf_store_get_schema_version (CfStore             *self);

void          cf_store_load_async        (CfStore              *self,
                                          CfEntityKind          kind,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
GPtrArray    *cf_store_load_finish       (CfStore              *self,
                                          GAsyncResult         *result,
                                          GError              **error);
GPtrArray    *cf_store_load_sync         (CfStore              *self,
                                          CfEntityKind          kind,
                                          GError              **error);

/**
 * CfStoreMapFunc:
 * @kind: the kind being loaded
 * @entity: (transfer none): one entity, as cf_store_load_finish() gives it
 * @user_data: the closure
 *
 * Turns a loaded entity into what the load keeps instead. It runs on the
 * store's owner thread, once per entity, in load order.
 *
 * Returns: (transfer full): the value kept
 */
typedef gpointer (*CfStoreMapFunc) (CfEntityKind  kind,
                                    JsonObject   *entity,
                                    gpointer      user_data);

GPtrArray    *cf_store_load_mapped_sync  (CfStore              *self,
                                          CfEntityKind          kind,
                                          CfStoreMapFunc        map,
                                          gpointer              user_data,
                                          GDestroyNotify        value_free,
                                          GError              **error);

void          cf_store_put_async         (CfStore              *self,
                                          CfEntityKind          kind,
                                          JsonObject           *entity,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
gboolean      cf_store_put_finish        (CfStore              *self,
                                          GAsyncResult         *result,
                                          GError              **error);

void          cf_store_put_many_async    (CfStore              *self,
                                          CfEntityKind          kind,
                                          GPtrArray            *entities,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
gboolean      cf_store_put_many_finish   (CfStore              *self,
                                          GAsyncResult         *result,
                                          GError              **error);

void          cf_store_delete_async      (CfStore              *self,
                                          CfEntityKind          kind,
                                          const char           *id,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
gboolean      cf_store_delete_finish     (CfStore              *self,
                                          GAsyncResult         *result,
                                          GError              **error);

void          cf_store_close             (CfStore              *self);

/* The gateway's own federation id, in cf-store-federation.c. */
char         *cf_store_get_instance_id   (CfStore              *self,
                                          GError              **error);

/* Users and revoked tokens (ContextForge's email_users and
 * token_revocations), in cf-store-users.c. */
void          cf_store_user_lookup_async (CfStore              *self,
                                          const char           *email,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
JsonObject   *cf_store_user_lookup_finish (CfStore             *self,
                                          GAsyncResult         *result,
                                          GError              **error);
void          cf_store_user_insert_async (CfStore              *self,
                                          const char           *email,
                                          const char           *password_hash,
                                          const char           *full_name,
                                          gboolean              is_admin,
                                          gboolean              password_change_required,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
JsonObject   *cf_store_user_insert_finish (CfStore             *self,
                                          GAsyncResult         *result,
                                          GError              **error);
void          cf_store_user_set_password_async (CfStore        *self,
                                          const char           *email,
                                          const char           *password_hash,
                                          gboolean              change_required,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
JsonObject   *cf_store_user_set_password_finish (CfStore       *self,
                                          GAsyncResult         *result,
                                          GError              **error);
void          cf_store_user_record_login_async (CfStore        *self,
                                          const char           *email,
                                          gboolean              success,
                                          guint                 max_failures,
                                          const char           *lock_until,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
JsonObject   *cf_store_user_record_login_finish (CfStore       *self,
                                          GAsyncResult         *result,
                                          GError              **error);
void          cf_store_revocation_add_async (CfStore           *self,
                                          const char           *jti,
                                          const char           *revoked_by,
                                          const char           *reason,
                                          const char           *token_expiry,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
gboolean      cf_store_revocation_add_finish (CfStore          *self,
                                          GAsyncResult         *result,
                                          GError              **error);
void          cf_store_revocation_load_async (CfStore          *self,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
GPtrArray    *cf_store_revocation_load_finish (CfStore         *self,
                                          GAsyncResult         *result,
                                          GError              **error);

/**
 * CfStoreTokenOp:
 * @CF_STORE_TOKEN_INSERT: 16 values: id, user_email, team_id, name,
 *   description, jti, token_hash, server_id, resource_scopes,
 *   ip_restrictions, time_restrictions, usage_limits, tags, created_at,
 *   expires_at, is_active ("0"/"1"); returns the row
 * @CF_STORE_TOKEN_LIST: user_email, team_id (either %NULL for any)
 * @CF_STORE_TOKEN_GET: an id or a jti
 * @CF_STORE_TOKEN_UPDATE: 10 values: id, name, description, server_id (""
 *   clears it), resource_scopes, ip_restrictions, time_restrictions,
 *   usage_limits, tags, is_active; %NULL keeps a column; returns the row
 * @CF_STORE_TOKEN_REVOKE: id or jti, revoked_by, reason: deactivates the
 *   token and adds its jti to token_revocations; returns the row
 * @CF_STORE_TOKEN_LOAD: since_hour, since_day (ISO 8601): every token's
 *   id, jti, user_email, is_active, expires_at, usage_limits, server_id,
 *   ip_restrictions, time_restrictions, revoked (the jti when revoked) and its unblocked requests since then
 *   (used_hour, used_day)
 * @CF_STORE_TOKEN_USAGE_ADD: internal, see cf_store_token_usage_add_async()
 * @CF_STORE_TOKEN_USAGE_STATS: jti, since: a summary row, then up to five
 *   {endpoint, count} rows
 * @CF_STORE_TOKEN_DATA_VERSION: no values: `PRAGMA data_version`, which
 *   changes when another connection (the token CLI) wrote
 * @CF_STORE_TOKEN_TEAM_ROLE: team_id, email: the membership row, if any
 * @CF_STORE_TOKEN_USER: email: the user's public columns
 *
 * The API token operations of cf_store_token_query_async(), in
 * cf-store-tokens.c.
 */
typedef enum {
  CF_STORE_TOKEN_INSERT,
  CF_STORE_TOKEN_LIST,
  CF_STORE_TOKEN_GET,
  CF_STORE_TOKEN_UPDATE,
  CF_STORE_TOKEN_REVOKE,
  CF_STORE_TOKEN_LOAD,
  CF_STORE_TOKEN_USAGE_ADD,
  CF_STORE_TOKEN_USAGE_STATS,
  CF_STORE_TOKEN_DATA_VERSION,
  CF_STORE_TOKEN_TEAM_ROLE,
  CF_STORE_TOKEN_USER,
} CfStoreTokenOp;

void          cf_store_token_query_async (CfStore              *self,
                                          CfStoreTokenOp        op,
                                          const char * const   *values,
                                          guint                 n_values,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);
GPtrArray    *cf_store_token_query_finish (CfStore             *self,
                                          GAsyncResult         *result,
                                          GError              **error);
void          cf_store_token_usage_add_async (CfStore          *self,
                                          GPtrArray            *entries,
                                          GCancellable         *cancellable,
                                          GAsyncReadyCallback   callback,
                                          gpointer              user_data);

G_END_DECLS
