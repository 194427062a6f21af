// A client of another make that speaks only 2025-11-25: the TypeScript SDK 1.x
// (npm @modelcontextprotocol/sdk). It answers elicitation, sampling and roots, then
// calls each tool named on the command line; prints one JSON object per line.
// Usage: node legacy_client.mjs URL TOOL[=ARGUMENTS_JSON]...
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
} from "@modelcontextprotocol/sdk/types.js";

const [url, ...tools] = process.argv.slice(2);
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const client = new Client(
  { name: "legacy-client", version: "1.0.0" },
  { capabilities: { elicitation: { form: {} }, sampling: {}, roots: {} } },
);
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  print({ asked: "elicitation", message: request.params.message });
  return { action: "accept", content: { response: "oui", name: "Ada" } };
});
client.setRequestHandler(CreateMessageRequestSchema, async () => {
  print({ asked: "sampling" });
  return { role: "assistant", content: { type: "text", text: "réponse du modèle" }, model: "test" };
});
client.setRequestHandler(ListRootsRequestSchema, async () => {
  print({ asked: "roots" });
  return { roots: [{ uri: "file:///projet", name: "projet" }] };
});
const transport = new StreamableHTTPClientTransport(new URL(url));
await client.connect(transport);
print({ protocolVersion: transport.protocolVersion ?? null });
for (const tool of tools) {
  const [name, json] = tool.split(/=(.*)/s);
  try {
    const result = await client.callTool({ name, arguments: JSON.parse(json || "{}") });
    print({ tool: name, text: result.content?.[0]?.text ?? null, isError: result.isError ?? false });
  } catch (error) {
    print({ tool: name, error: error.message });
  }
}
await client.close();
