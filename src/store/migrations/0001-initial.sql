-- SPDX-License-Identifier: Apache-2.0
--
-- The registry as ContextForge's REST API shows it (ToolRead, ResourceRead,
-- PromptRead, ServerRead, GatewayRead): one table per entity kind, one
-- column per field. Object- and array-valued fields hold JSON text, checked
-- with json_valid() so that a hand edit cannot leave a row the loader would
-- choke on (before SQLite 3.45, json_valid (NULL) is 0, hence the IS NULL);
-- booleans are 0 or 1. Ids are uuid4().hex strings.
--
-- Every table that points at a gateway cascades on its deletion: a
-- federated tool means nothing once its upstream is gone.

CREATE TABLE gateways (
  id                  TEXT PRIMARY KEY NOT NULL,
  name                TEXT NOT NULL UNIQUE,
  slug                TEXT,
  url                 TEXT,
  description         TEXT,
  transport           TEXT,
  capabilities        TEXT CHECK (capabilities IS NULL OR json_valid (capabilities)),
  enabled             INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  reachable           INTEGER NOT NULL DEFAULT 1 CHECK (reachable IN (0, 1)),
  auth_type           TEXT,
  -- Encrypted by the secrets layer before it reaches the store.
  auth_value          TEXT,
  passthrough_headers TEXT CHECK (passthrough_headers IS NULL OR json_valid (passthrough_headers)),
  tags                TEXT CHECK (tags IS NULL OR json_valid (tags)),
  team_id             TEXT,
  owner_email         TEXT,
  visibility          TEXT NOT NULL DEFAULT 'public',
  last_seen           TEXT,
  created_at          TEXT NOT NULL,
  updated_at          TEXT NOT NULL,
  version             INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE tools (
  id               TEXT PRIMARY KEY NOT NULL,
  name             TEXT NOT NULL UNIQUE,
  original_name    TEXT,
  custom_name      TEXT,
  display_name     TEXT,
  title            TEXT,
  description      TEXT,
  url              TEXT,
  integration_type TEXT NOT NULL DEFAULT 'REST',
  request_type     TEXT,
  headers          TEXT CHECK (headers IS NULL OR json_valid (headers)),
  input_schema     TEXT CHECK (input_schema IS NULL OR json_valid (input_schema)),
  output_schema    TEXT CHECK (output_schema IS NULL OR json_valid (output_schema)),
  annotations      TEXT CHECK (annotations IS NULL OR json_valid (annotations)),
  jsonpath_filter  TEXT,
  auth             TEXT CHECK (auth IS NULL OR json_valid (auth)),
  gateway_id       TEXT REFERENCES gateways (id) ON DELETE CASCADE,
  enabled          INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  reachable        INTEGER NOT NULL DEFAULT 1 CHECK (reachable IN (0, 1)),
  tags             TEXT CHECK (tags IS NULL OR json_valid (tags)),
  team_id          TEXT,
  owner_email      TEXT,
  visibility       TEXT NOT NULL DEFAULT 'public',
  timeout_ms       INTEGER,
  created_at       TEXT NOT NULL,
  updated_at       TEXT NOT NULL,
  version          INTEGER NOT NULL DEFAULT 1,
  -- NULLs are distinct in a UNIQUE constraint, so local tools (no gateway)
  -- are only bound by the name constraint above.
  UNIQUE (gateway_id, original_name)
);

CREATE TABLE resources (
  id             TEXT PRIMARY KEY NOT NULL,
  uri            TEXT NOT NULL UNIQUE,
  name           TEXT NOT NULL,
  description    TEXT,
  title          TEXT,
  mime_type      TEXT,
  uri_template   TEXT,
  text_content   TEXT,
  binary_content BLOB,
  size           INTEGER,
  enabled        INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  tags           TEXT CHECK (tags IS NULL OR json_valid (tags)),
  gateway_id     TEXT REFERENCES gateways (id) ON DELETE CASCADE,
  team_id        TEXT,
  owner_email    TEXT,
  visibility     TEXT NOT NULL DEFAULT 'public',
  created_at     TEXT NOT NULL,
  updated_at     TEXT NOT NULL,
  version        INTEGER NOT NULL DEFAULT 1,
  CHECK (text_content IS NULL OR binary_content IS NULL)
);

CREATE TABLE prompts (
  id            TEXT PRIMARY KEY NOT NULL,
  name          TEXT NOT NULL UNIQUE,
  original_name TEXT,
  custom_name   TEXT,
  display_name  TEXT,
  title         TEXT,
  description   TEXT,
  template      TEXT,
  arguments     TEXT CHECK (arguments IS NULL OR json_valid (arguments)),
  enabled       INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  tags          TEXT CHECK (tags IS NULL OR json_valid (tags)),
  gateway_id    TEXT REFERENCES gateways (id) ON DELETE CASCADE,
  team_id       TEXT,
  owner_email   TEXT,
  visibility    TEXT NOT NULL DEFAULT 'public',
  created_at    TEXT NOT NULL,
  updated_at    TEXT NOT NULL,
  version       INTEGER NOT NULL DEFAULT 1
);

CREATE TABLE servers (
  id          TEXT PRIMARY KEY NOT NULL,
  name        TEXT NOT NULL UNIQUE,
  description TEXT,
  icon        TEXT,
  enabled     INTEGER NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
  tags        TEXT CHECK (tags IS NULL OR json_valid (tags)),
  team_id     TEXT,
  owner_email TEXT,
  visibility  TEXT NOT NULL DEFAULT 'public',
  created_at  TEXT NOT NULL,
  updated_at  TEXT NOT NULL,
  version     INTEGER NOT NULL DEFAULT 1
);

-- Rowid tables on purpose: a load returns the ids in the order they were
-- put, which is the order the admin chose.
CREATE TABLE server_tool_association (
  server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  tool_id   TEXT NOT NULL REFERENCES tools (id) ON DELETE CASCADE,
  PRIMARY KEY (server_id, tool_id)
);

CREATE TABLE server_resource_association (
  server_id   TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  resource_id TEXT NOT NULL REFERENCES resources (id) ON DELETE CASCADE,
  PRIMARY KEY (server_id, resource_id)
);

CREATE TABLE server_prompt_association (
  server_id TEXT NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
  prompt_id TEXT NOT NULL REFERENCES prompts (id) ON DELETE CASCADE,
  PRIMARY KEY (server_id, prompt_id)
);

-- Foreign-key actions look children up by the referencing column; without
-- these indexes every gateway or tool deletion scans a whole table. Tools
-- need none: their UNIQUE (gateway_id, original_name) index serves.
CREATE INDEX resources_gateway_id ON resources (gateway_id);
CREATE INDEX prompts_gateway_id ON prompts (gateway_id);
CREATE INDEX server_tool_association_tool_id ON server_tool_association (tool_id);
CREATE INDEX server_resource_association_resource_id
  ON server_resource_association (resource_id);
CREATE INDEX server_prompt_association_prompt_id ON server_prompt_association (prompt_id);

-- A load sorts by creation time.
CREATE INDEX tools_created_at ON tools (created_at, id);
CREATE INDEX resources_created_at ON resources (created_at, id);
CREATE INDEX prompts_created_at ON prompts (created_at, id);
CREATE INDEX servers_created_at ON servers (created_at, id);
CREATE INDEX gateways_created_at ON gateways (created_at, id);
