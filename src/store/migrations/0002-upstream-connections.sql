-- SPDX-License-Identifier: Apache-2.0
--
-- Upstream connections: stdio servers the gateway spawns, and how the
-- names of an upstream's tools are prefixed.

ALTER TABLE gateways ADD COLUMN command TEXT;
ALTER TABLE gateways ADD COLUMN args TEXT CHECK (args IS NULL OR json_valid (args));
ALTER TABLE gateways ADD COLUMN env TEXT CHECK (env IS NULL OR json_valid (env));
ALTER TABLE gateways ADD COLUMN cwd TEXT;
ALTER TABLE gateways ADD COLUMN prefix_mode TEXT NOT NULL DEFAULT 'always'
  CHECK (prefix_mode IN ('always', 'conditional', 'never'));
ALTER TABLE gateways ADD COLUMN status_message TEXT;
ALTER TABLE gateways ADD COLUMN tool_count INTEGER NOT NULL DEFAULT 0;
