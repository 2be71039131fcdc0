-- SPDX-License-Identifier: Apache-2.0
--
-- Requests to join a public team (ContextForge's join requests): a user
-- asks, the team's owner approves or rejects, the user may withdraw.
-- Only one request per user and team is pending at a time.

CREATE TABLE email_team_join_requests (
  id           TEXT PRIMARY KEY NOT NULL,
  team_id      TEXT NOT NULL REFERENCES email_teams (id) ON DELETE CASCADE,
  user_email   TEXT NOT NULL REFERENCES email_users (email) ON DELETE CASCADE,
  message      TEXT,
  status       TEXT NOT NULL DEFAULT 'pending'
    CHECK (status IN ('pending', 'approved', 'rejected', 'withdrawn')),
  requested_at TEXT NOT NULL,
  reviewed_at  TEXT,
  reviewed_by  TEXT
);

CREATE UNIQUE INDEX email_team_join_requests_pending
  ON email_team_join_requests (team_id, user_email) WHERE status = 'pending';
