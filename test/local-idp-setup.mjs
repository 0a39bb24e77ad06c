// Vitest globalSetup of the workerd tests (vitest.config.ts): one local OpenID Provider
// (scripts/idp.mjs) for the whole run, on a free loopback port, stopped at the end. The
// tests read it with `inject("localIdp")` (typed in test/env.d.ts): its issuer, a client
// registered for the tests' PUBLIC_ORIGIN and the demo's IdP accounts (scripts/demo-data.mjs),
// whose login page test/local-idp-login.ts drives.
//
// The IdP cannot reach the tests' Gatehouse (https://gatehouse.test is served in-process), so
// the client's back-channel logout URI is a loopback recorder started here instead: the logout
// tokens the IdP sends are listed at `logoutTokensUrl`, for a test to read (and hand to
// Gatehouse's back-channel logout endpoint itself).
import { randomBytes } from "node:crypto";
import { createServer } from "node:http";
import { DEMO_SSO } from "../scripts/demo-data.mjs";
import { gatehouseClient, startLocalIdp } from "../scripts/idp.mjs";
import { TEST_PUBLIC_ORIGIN } from "../scripts/workerd-test-bindings.mjs";

/** Records the `logout_token` of every POST; GET answers them all, oldest first (JSON). */
async function startLogoutRecorder() {
  const tokens = [];
  const server = createServer(async (req, res) => {
    let body = "";
    for await (const chunk of req) body += chunk;
    if (req.method === "POST") tokens.push(new URLSearchParams(body).get("logout_token"));
    res.writeHead(200, { "content-type": "application/json" }).end(req.method === "POST" ? "" : JSON.stringify(tokens));
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  return { url: `http://127.0.0.1:${server.address().port}/backchannel-logout`, close: () => new Promise((resolve) => server.close(resolve)) };
}

export default async function setup(project) {
  const recorder = await startLogoutRecorder();
  const client = {
    ...gatehouseClient({ publicOrigin: TEST_PUBLIC_ORIGIN, clientId: "gatehouse-test", clientSecret: randomBytes(24).toString("base64url") }),
    backchannel_logout_uri: recorder.url,
  };
  const idp = await startLocalIdp({ clients: [client], accounts: DEMO_SSO.accounts });
  project.provide("localIdp", {
    issuer: idp.issuer,
    clientId: client.client_id,
    clientSecret: client.client_secret,
    redirectUri: client.redirect_uris[0],
    logoutTokensUrl: recorder.url,
    accounts: DEMO_SSO.accounts.map(({ email, password, givenName, familyName }) => ({ email, password, name: `${givenName} ${familyName}` })),
  });
  return async () => {
    await idp.close();
    await recorder.close();
  };
}
