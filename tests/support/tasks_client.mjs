// A client of another make for 2025-11-25 tasks: the TypeScript SDK's (npm
// @modelcontextprotocol/sdk) experimental tasks API, over Streamable HTTP.
// Usage: node tasks_client.mjs URL KEY STEP [ARG [ARGUMENTS]]; prints one JSON object a line.
//   run TOOL       call TOOL as a task with ARGUMENTS (JSON; default: topic "hub",
//                  ambiguous, which asks one elicitation); each form is answered
//                  with $TASKS_ANSWER (JSON; default {"interpretation": "technique"})
//   start TOOL     the same, left running once the task exists
//   get TASK_ID    tasks/get        list    tasks/list
//   result TASK_ID tasks/result     cancel TASK_ID  tasks/cancel
import { Client } from "@modelcontextprotocol/sdk/client/index.js";
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js";
import { ElicitRequestSchema, CallToolResultSchema } from "@modelcontextprotocol/sdk/types.js";

const [url, key, step, arg, toolArguments] = process.argv.slice(2);
const answer = JSON.parse(process.env.TASKS_ANSWER ?? '{"interpretation": "technique"}');
const print = (value) => process.stdout.write(`${JSON.stringify(value)}\n`);
const headers = key ? { Authorization: `Bearer ${key}` } : {};
const client = new Client(
  { name: "tasks-client", version: "1.0.0" },
  { capabilities: { elicitation: { form: {} } } },
);
client.setRequestHandler(ElicitRequestSchema, async (request) => {
  print({ elicited: request.params.message.slice(0, 60) });
  return { action: "accept", content: answer };
});
await client.connect(new StreamableHTTPClientTransport(new URL(url), { requestInit: { headers } }));
print({ tasks: client.getServerCapabilities()?.tasks ?? null });
const tasks = client.experimental.tasks;
try {
  if (step === "run" || step === "start") {
    const args = toolArguments ? JSON.parse(toolArguments) : { topic: "hub", ambiguous: true };
    const params = { name: arg, arguments: args };
    const options = { task: { ttl: 60000 } };
    for await (const message of tasks.callToolStream(params, CallToolResultSchema, options)) {
      print({
        type: message.type,
        taskId: message.task?.taskId,
        status: message.task?.status,
        text: message.result?.content?.[0]?.text?.slice(0, 120),
        error: message.error?.message,
      });
      if (step === "start" && message.type === "taskCreated") break;
    }
  } else if (step === "get") {
    print({ task: await tasks.getTask(arg) });
  } else if (step === "result") {
    const result = await tasks.getTaskResult(arg, CallToolResultSchema);
    print({ text: result.content?.[0]?.text?.slice(0, 120) });
  } else if (step === "list") {
    print({ ids: (await tasks.listTasks()).tasks.map((task) => task.taskId) });
  } else if (step === "cancel") {
    print({ task: await tasks.cancelTask(arg) });
  }
} catch (error) {
  print({ error: error.message, code: error.code });
}
await client.close();
