-- SPDX-License-Identifier: Apache-2.0
--
-- Tenancy, as ContextForge keeps it: teams and their members and
-- invitations, RBAC roles and their assignments, and API tokens with
-- their usage log. Emails key users (email_users, 0004); team ids key
-- the entities' team_id columns (0001). Timestamps are ISO 8601 UTC text.
-- Lists and objects (permissions, scopes, restrictions) are JSON text.

CREATE TABLE email_teams (
  id          TEXT PRIMARY KEY NOT NULL,
  name        TEXT NOT NULL,
  slug        TEXT NOT NULL UNIQUE,
  description TEXT,
  created_by  TEXT NOT NULL,
  is_personal INTEGER NOT NULL DEFAULT 0 CHECK (is_personal IN (0, 1)),
  visibility  TEXT NOT NULL DEFAULT 'private' CHECK (visibility IN ('private', 'public')),
  max_members INTEGER CHECK (max_members IS NULL OR max_members > 0),
  is_active   INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL
);

-- Every user has at most one personal team.
CREATE UNIQUE INDEX email_teams_personal ON email_teams (created_by) WHERE is_personal = 1;

CREATE TABLE email_team_members (
  team_id    TEXT NOT NULL REFERENCES email_teams (id) ON DELETE CASCADE,
  user_email TEXT NOT NULL REFERENCES email_users (email) ON DELETE CASCADE,
  role       TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
  joined_at  TEXT NOT NULL,
  invited_by TEXT,
  PRIMARY KEY (team_id, user_email)
);

CREATE INDEX email_team_members_user ON email_team_members (user_email);

-- The invitation token itself is shown once; only its SHA-256 is kept.
CREATE TABLE email_team_invitations (
  id         TEXT PRIMARY KEY NOT NULL,
  team_id    TEXT NOT NULL REFERENCES email_teams (id) ON DELETE CASCADE,
  email      TEXT NOT NULL,
  role       TEXT NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'member')),
  invited_by TEXT NOT NULL,
  token_hash TEXT NOT NULL UNIQUE,
  invited_at TEXT NOT NULL,
  expires_at TEXT NOT NULL,
  is_active  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1))
);

CREATE INDEX email_team_invitations_team ON email_team_invitations (team_id);

-- System roles (platform_admin, team_admin, developer, viewer,
-- platform_viewer) are seeded by the daemon at start, so that their
-- permission lists live in one place in the code.
CREATE TABLE roles (
  id             TEXT PRIMARY KEY NOT NULL,
  name           TEXT NOT NULL UNIQUE,
  description    TEXT,
  scope          TEXT NOT NULL CHECK (scope IN ('global', 'team', 'personal')),
  permissions    TEXT NOT NULL DEFAULT '[]',
  inherits_from  TEXT REFERENCES roles (id) ON DELETE SET NULL,
  is_system_role INTEGER NOT NULL DEFAULT 0 CHECK (is_system_role IN (0, 1)),
  is_active      INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  created_by     TEXT,
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL
);

CREATE TABLE user_roles (
  id         TEXT PRIMARY KEY NOT NULL,
  user_email TEXT NOT NULL REFERENCES email_users (email) ON DELETE CASCADE,
  role_id    TEXT NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
  scope      TEXT NOT NULL CHECK (scope IN ('global', 'team', 'personal')),
  -- The team of a team-scoped assignment; NULL for global ones.
  scope_id   TEXT REFERENCES email_teams (id) ON DELETE CASCADE,
  granted_by TEXT,
  granted_at TEXT NOT NULL,
  expires_at TEXT,
  is_active  INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  CHECK ((scope = 'team') = (scope_id IS NOT NULL))
);

CREATE UNIQUE INDEX user_roles_unique
  ON user_roles (user_email, role_id, scope, COALESCE (scope_id, ''));

-- An API token is a JWT (token_use "api"); only its SHA-256 (hex) and
-- its jti are kept. Revocation goes to token_revocations (0004) by jti.
CREATE TABLE email_api_tokens (
  id                TEXT PRIMARY KEY NOT NULL,
  user_email        TEXT NOT NULL REFERENCES email_users (email) ON DELETE CASCADE,
  team_id           TEXT REFERENCES email_teams (id) ON DELETE CASCADE,
  name              TEXT NOT NULL,
  description       TEXT,
  jti               TEXT NOT NULL UNIQUE,
  token_hash        TEXT NOT NULL UNIQUE,
  server_id         TEXT,
  resource_scopes   TEXT NOT NULL DEFAULT '[]',
  ip_restrictions   TEXT NOT NULL DEFAULT '[]',
  time_restrictions TEXT NOT NULL DEFAULT '{}',
  usage_limits      TEXT NOT NULL DEFAULT '{}',
  tags              TEXT NOT NULL DEFAULT '[]',
  created_at        TEXT NOT NULL,
  expires_at        TEXT,
  last_used         TEXT,
  is_active         INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  UNIQUE (user_email, name)
);

CREATE INDEX email_api_tokens_team ON email_api_tokens (team_id);

-- Written in batches off the request path.
CREATE TABLE token_usage_logs (
  id               INTEGER PRIMARY KEY,
  token_jti        TEXT NOT NULL,
  user_email       TEXT,
  timestamp        TEXT NOT NULL,
  endpoint         TEXT,
  method           TEXT,
  ip_address       TEXT,
  user_agent       TEXT,
  status_code      INTEGER,
  response_time_ms INTEGER,
  blocked          INTEGER NOT NULL DEFAULT 0 CHECK (blocked IN (0, 1)),
  block_reason     TEXT
);

CREATE INDEX token_usage_logs_jti_time ON token_usage_logs (token_jti, timestamp);
