-- SPDX-License-Identifier: Apache-2.0
--
-- Identities, as ContextForge keeps them: email_users (the email is the
-- key; passwords are argon2id PHC strings, never clear text) and the
-- token_revocations blocklist, by JWT id. Timestamps are ISO 8601 UTC
-- text like the registry's, so that they compare as strings.

CREATE TABLE email_users (
  email                    TEXT PRIMARY KEY NOT NULL,
  password_hash            TEXT NOT NULL,
  full_name                TEXT,
  is_admin                 INTEGER NOT NULL DEFAULT 0 CHECK (is_admin IN (0, 1)),
  is_active                INTEGER NOT NULL DEFAULT 1 CHECK (is_active IN (0, 1)),
  email_verified_at        TEXT,
  auth_provider            TEXT NOT NULL DEFAULT 'local',
  password_hash_type       TEXT NOT NULL DEFAULT 'argon2id',
  failed_login_attempts    INTEGER NOT NULL DEFAULT 0 CHECK (failed_login_attempts >= 0),
  locked_until             TEXT,
  password_change_required INTEGER NOT NULL DEFAULT 0
    CHECK (password_change_required IN (0, 1)),
  password_changed_at      TEXT,
  created_at               TEXT NOT NULL,
  updated_at               TEXT NOT NULL,
  last_login               TEXT
);

CREATE TABLE token_revocations (
  jti          TEXT PRIMARY KEY NOT NULL,
  revoked_at   TEXT NOT NULL,
  revoked_by   TEXT,
  reason       TEXT,
  -- When the token would have expired anyway: the row may go after that.
  token_expiry TEXT
);
