-- SPDX-License-Identifier: Apache-2.0
--
-- How an upstream's connections are shared: stdio children one for all
-- ('shared'), one per downstream session ('per-session') or a pool of up
-- to stdio_pool_size ('pool'); and how many calls may be in flight on an
-- upstream at once (0: no limit).

ALTER TABLE gateways ADD COLUMN stdio_sharing TEXT NOT NULL DEFAULT 'shared'
  CHECK (stdio_sharing IN ('shared', 'per-session', 'pool'));
ALTER TABLE gateways ADD COLUMN stdio_pool_size INTEGER NOT NULL DEFAULT 4
  CHECK (stdio_pool_size BETWEEN 1 AND 64);
ALTER TABLE gateways ADD COLUMN max_concurrency INTEGER NOT NULL DEFAULT 0
  CHECK (max_concurrency BETWEEN 0 AND 100000);
