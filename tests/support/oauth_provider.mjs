// A real OpenID provider for the tests: oauth2-mock-server (npm) on loopback. Its access
// tokens are JWTs whose "aud" is the RFC 8707 "resource" the client asked for and whose
// "scope" is the one asked at /authorize. It also registers clients (RFC 7591), and two
// test routes mint tokens with chosen claims and rotate the signing key.
// Usage: node oauth_provider.mjs; prints the issuer URL on its first line.
import { randomUUID } from "node:crypto";
import { OAuth2Server } from "oauth2-mock-server";

const server = new OAuth2Server();
await server.issuer.keys.generate("RS256");
const grants = new Map(); // authorization code -> what /authorize was asked

function json(res, body, status = 200) {
  res.statusCode = status;
  res.setHeader("Content-Type", "application/json");
  res.end(JSON.stringify(body));
}

server.service.on("beforeWellKnownOpenIdConfiguration", (response) => {
  response.body.registration_endpoint = `${server.issuer.url}/register`;
  response.body.scopes_supported = ["mcp", "mcp:admin", "mcp:search"];
});
server.service.on("beforeAuthorizeRedirect", (redirect, req) => {
  const code = redirect.url.searchParams.get("code");
  if (code) grants.set(code, { scope: req.query.scope, resource: req.query.resource });
});
server.service.on("beforeTokenSigning", (token, req) => {
  const body = req.body ?? {};
  const grant = body.code ? grants.get(body.code) : undefined;
  const resource = body.resource ?? grant?.resource;
  if (resource) token.payload.aud = resource;
  const scope = grant?.scope ?? body.scope;
  if (scope) token.payload.scope = scope;
  const basic = (req.headers.authorization ?? "").match(/^Basic (.+)$/i);
  const fromBasic = basic ? decodeURIComponent(atob(basic[1]).split(":")[0]) : undefined;
  token.payload.client_id = body.client_id ?? fromBasic ?? "client-inconnu";
});
server.service.on("beforeResponse", (response, req) => {
  const grant = req.body?.code ? grants.get(req.body.code) : undefined;
  if (grant?.scope) response.body.scope = grant.scope;
});
server.service.addRoute("POST", "/register", (req, res) => {
  json(res, { ...req.body, client_id: randomUUID(), token_endpoint_auth_method: "none" }, 201);
});
server.service.addRoute("POST", "/test/token", async (req, res) => {
  const { kid, claims = {}, expiresIn = 3600 } = req.body;
  const token = await server.issuer.buildToken({
    kid,
    expiresIn,
    scopesOrTransform: (_header, payload) => {
      Object.assign(payload, claims);
      for (const [name, value] of Object.entries(claims)) if (value === null) delete payload[name];
    },
  });
  json(res, { token });
});
server.service.addRoute("POST", "/test/rotate", async (_req, res) => {
  const jwk = await server.issuer.keys.generate("RS256");
  json(res, { kid: jwk.kid });
});

await server.start(0, "127.0.0.1");
process.stdout.write(`${server.issuer.url}\n`);
process.on("SIGTERM", async () => {
  await server.stop();
  process.exit(0);
});
