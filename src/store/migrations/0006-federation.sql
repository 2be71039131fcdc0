-- SPDX-License-Identifier: Apache-2.0
--
-- Federation on a LAN (mDNS discovery). Every database gets one stable
-- id for the gateway it serves: announced in the mDNS TXT record `id`
-- and in the gateway's MCP capabilities, so that peers can tell gateways
-- apart and refuse federation loops.

CREATE TABLE gateway_instance (
  singleton  INTEGER PRIMARY KEY NOT NULL CHECK (singleton = 1),
  id         TEXT NOT NULL,
  created_at TEXT NOT NULL
);

-- An upstream registered from the list of discovered gateways: the
-- peer's id, and the address the operator chose, which the SSRF guard
-- then allows for this upstream alone.
ALTER TABLE gateways ADD COLUMN discovered_peer_id TEXT;
ALTER TABLE gateways ADD COLUMN discovered_address TEXT;
