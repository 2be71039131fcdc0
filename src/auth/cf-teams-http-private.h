/* SPDX-License-Identifier: Apache-2.0 */
#pragma once

#include "cf-teams-http.h"

G_BEGIN_DECLS

/* CfTeamsHttp's state and requests, shared by cf-teams-http.c (the guard,
 * the object and the routing), -request.c (requests, answers, bodies and
 * writes), -teams.c (teams, members, invitations) and -rbac.c (roles and
 * permissions). */

#define MAX_NAME 255
#define MAX_DESCRIPTION 1000

struct _CfTeamsHttp
{
  GObject  parent_instance;

  CfTeams *teams;
};

typedef struct _Req Req;
typedef void (*Handler) (Req *req);
typedef void (*Then) (Req *req);

struct _Req
{
  CfTeamsHttp       *self;
  SoupServerMessage *msg;
  CfIdentity        *identity;
  CfAccess          *access;
  GHashTable        *query;
  GStrv              args;
  JsonObject        *body;
  /* What a write's callback needs */
  char              *id;
  char              *token;
  Then               then;
  gulong             finished_id;
  gulong             disconnected_id;
  guint              ref_count;
  gboolean           paused;
  gboolean           gone;
};

typedef struct {
  const char *method;
  const char *pattern;
  Handler     handler;
} Route;

void        _cf_teams_http_on_gone               (SoupServerMessage   *msg,
                                                  Req                 *req);
void        _cf_teams_http_req_unref             (Req                 *req);
void        _cf_teams_http_respond_object        (Req                 *req,
                                                  guint                status,
                                                  JsonObject          *body);
void        _cf_teams_http_respond_array         (Req                 *req,
                                                  guint                status,
                                                  JsonArray           *body);
void        _cf_teams_http_respond_detail        (Req                 *req,
                                                  guint                status,
                                                  const char          *detail);
void        _cf_teams_http_respond_problem       (Req                 *req,
                                                  const char          *field,
                                                  const char          *type,
                                                  const char          *message);
const char *_cf_teams_http_caller                (Req                 *req);
gboolean    _cf_teams_http_caller_is_admin       (Req                 *req);
const char *_cf_teams_http_require_user          (Req                 *req);
gboolean    _cf_teams_http_read_body             (Req                 *req,
                                                  gboolean             required);
gboolean    _cf_teams_http_body_string           (Req                 *req,
                                                  const char          *member,
                                                  gboolean             required,
                                                  gboolean             nullable,
                                                  gsize                min,
                                                  gsize                max,
                                                  const char         **out);
gboolean    _cf_teams_http_body_choice           (Req                 *req,
                                                  const char          *member,
                                                  const char * const  *choices,
                                                  const char          *fallback,
                                                  const char         **out);
void        _cf_teams_http_respond_removed       (Req                 *req);
void        _cf_teams_http_submit                (Req                 *req,
                                                  GPtrArray           *writes,
                                                  Then                 then);
GPtrArray  *_cf_teams_http_new_writes            (void);
void        _cf_teams_http_add_write             (GPtrArray           *writes,
                                                  CfStoreTenancyWrite *write);
const char *_cf_teams_http_role_for_member       (const char          *member_role);
void        _cf_teams_http_add_membership_writes (GPtrArray           *writes,
                                                  const char          *team_id,
                                                  const char          *email,
                                                  const char          *role,
                                                  const char          *invited_by);
void        _cf_teams_http_copy_string           (JsonObject          *to,
                                                  JsonObject          *from,
                                                  const char          *member);
gboolean    _cf_teams_http_flag                  (JsonObject          *row,
                                                  const char          *column);

/* cf-teams-http-teams.c */
JsonObject *_cf_teams_http_visible_team          (Req                 *req,
                                                  const char          *team_id);
JsonObject *_cf_teams_http_owned_team            (Req                 *req,
                                                  const char          *team_id);
gboolean    _cf_teams_http_check_can_join        (Req                 *req,
                                                  JsonObject          *team,
                                                  const char          *email);
JsonObject *_cf_teams_http_member_response       (JsonObject          *member);

/* cf-teams-http-join.c */
void        _cf_teams_http_handle_join           (Req                 *req);
void        _cf_teams_http_handle_join_list      (Req                 *req);
void        _cf_teams_http_handle_join_approve   (Req                 *req);
void        _cf_teams_http_handle_join_close     (Req                 *req);

extern const Route _cf_teams_http_team_routes[];
extern const Route _cf_teams_http_rbac_routes[];

G_DEFINE_AUTOPTR_CLEANUP_FUNC (Req, _cf_teams_http_req_unref)

G_END_DECLS
