// SPDX-License-Identifier: Apache-2.0
//
// Usage: CF_TEST_NPM_DIR=tests/npm node jose-peer.mjs DIR
//
// An independent JWT implementation (npm `jose`, pinned in tests/npm) on
// the other side of the gateway's CfJwt. For each of HS256, RS256 and
// ES256, DIR holds:
//
//   ALG.verify  the HS256 secret, or the public key (SPKI PEM)
//   ALG.sign    the HS256 secret, or the private key (PKCS#8 PEM)
//   ALG.token   a token the gateway minted
//
// The script verifies each gateway token (algorithm pinned, issuer
// "mcpgateway", audience "mcpgateway-api") and mints one of its own with
// the claims in DIR/claims.json. It prints one JSON object:
//
//   {"HS256": {"verified": {...claims} | null, "error": "...", "token": "..."}, ...}

import { readFileSync } from "node:fs";
import { join } from "node:path";
import { pathToFileURL } from "node:url";

const npmDir = process.env.CF_TEST_NPM_DIR;
const dir = process.argv[2];
if (!npmDir || !dir) {
  console.error("usage: CF_TEST_NPM_DIR=tests/npm node jose-peer.mjs DIR");
  process.exit(2);
}

const jose = await import(pathToFileURL(join(npmDir, "node_modules/jose/dist/webapi/index.js")).href);

const read = (name) => readFileSync(join(dir, name), "utf8");
const claims = JSON.parse(read("claims.json"));

async function keys(alg) {
  if (alg === "HS256") {
    const secret = new TextEncoder().encode(read("HS256.sign"));
    return { verify: secret, sign: secret };
  }
  return {
    verify: await jose.importSPKI(read(`${alg}.verify`), alg),
    sign: await jose.importPKCS8(read(`${alg}.sign`), alg),
  };
}

const out = {};
for (const alg of ["HS256", "RS256", "ES256"]) {
  const key = await keys(alg);
  const entry = { verified: null };
  try {
    const { payload } = await jose.jwtVerify(read(`${alg}.token`).trim(), key.verify, {
      algorithms: [alg],
      issuer: "mcpgateway",
      audience: "mcpgateway-api",
    });
    entry.verified = payload;
  } catch (error) {
    entry.error = String(error);
  }
  entry.token = await new jose.SignJWT(claims)
    .setProtectedHeader({ alg, typ: "JWT" })
    .sign(key.sign);
  out[alg] = entry;
}
console.log(JSON.stringify(out));
