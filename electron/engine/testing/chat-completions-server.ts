/**
 * A chat-completions server on 127.0.0.1 for tests: a real model (a GGUF through node-llama-cpp) behind the
 * OpenAI wire format, with response_format honoured by a JSON-schema grammar, and scripted faults served
 * before real answers (429 with Retry-After, 500, a request left hanging, a malformed body, a 400 for an
 * unsupported response_format). GET /v1/models lists the model; `requests` logs the chat requests only.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { getLlama, LlamaChat, LlamaLogLevel, resolveChatWrapper, type Llama, type LlamaGrammar } from 'node-llama-cpp';

export type Fault =
  | { kind: 'status'; status: number; retryAfter?: string }
  | { kind: 'hang' }
  | { kind: 'malformed' }
  | { kind: 'reject-json-schema' };

export interface ServedRequest {
  at: number;
  status: number;
  responseFormat: string;
}

export interface TestChatServer {
  /** Base URL to give a client, ending in /v1. */
  url: string;
  requests: ServedRequest[];
  close(): Promise<void>;
}

interface ChatBody {
  model?: string;
  messages?: { role: string; content: string }[];
  max_tokens?: number;
  response_format?: { type: string; json_schema?: { schema?: object } };
}

export async function startChatServer(options: { modelPath: string; faults?: Fault[]; apiKey?: string; threads?: number }): Promise<TestChatServer> {
  const llama: Llama = await getLlama({ gpu: false, logLevel: LlamaLogLevel.error, logger: () => undefined });
  const model = await llama.loadModel({ modelPath: options.modelPath, gpuLayers: 0 });
  const context = await model.createContext({ threads: options.threads ?? 1, contextSize: 1024 });
  const chat = new LlamaChat({ contextSequence: context.getSequence(), chatWrapper: resolveChatWrapper(model) });
  const faults = [...(options.faults ?? [])];
  const requests: ServedRequest[] = [];
  const hanging = new Set<http.ServerResponse>();
  let queue = Promise.resolve();

  const answer = async (body: ChatBody): Promise<{ content: string; promptTokens: number; completionTokens: number }> => {
    const prompt = (body.messages ?? []).map((m) => m.content).join('\n');
    let grammar: LlamaGrammar | undefined;
    if (body.response_format?.type === 'json_schema' && body.response_format.json_schema?.schema) {
      grammar = await llama.createGrammarForJsonSchema(body.response_format.json_schema.schema as Parameters<Llama['createGrammarForJsonSchema']>[0]);
    } else if (body.response_format?.type === 'json_object') {
      grammar = await llama.getGrammarFor('json');
    }
    // One sequence: requests take turns, as on a single-slot server.
    const run = queue.then(() => chat.generateResponse([{ type: 'user', text: prompt }, { type: 'model', response: [] }], { grammar, maxTokens: body.max_tokens ?? 256, temperature: 0 }));
    queue = run.then(() => undefined, () => undefined);
    const { response } = await run;
    return { content: response, promptTokens: model.tokenize(prompt).length, completionTokens: model.tokenize(response).length };
  };

  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (d: Buffer) => (raw += d.toString()));
    req.on('end', () => {
      void (async () => {
        const send = (status: number, payload: string, headers: Record<string, string> = {}): void => {
          res.writeHead(status, { 'content-type': 'application/json', ...headers }).end(payload);
        };
        let body: ChatBody = {};
        try {
          body = JSON.parse(raw) as ChatBody;
        } catch {
          // answered below as a bad request
        }
        const log = (status: number): number => requests.push({ at: Date.now(), status, responseFormat: body.response_format?.type ?? 'none' });
        // The model list (clients check the server is there with it); not a chat request, so not logged.
        if (req.method === 'GET' && req.url === '/v1/models') return send(200, JSON.stringify({ object: 'list', data: [{ id: 'stories260K', object: 'model' }] }));
        if (req.method !== 'POST' || req.url !== '/v1/chat/completions') return log(404), send(404, '{"error":{"message":"not found"}}');
        if (options.apiKey && req.headers.authorization !== `Bearer ${options.apiKey}`) return log(401), send(401, '{"error":{"message":"invalid api key"}}');
        if (!body.messages) return log(400), send(400, '{"error":{"message":"messages is required"}}');
        const fault = faults.shift();
        if (fault?.kind === 'status') return log(fault.status), send(fault.status, `{"error":{"message":"fault ${fault.status}"}}`, fault.retryAfter ? { 'retry-after': fault.retryAfter } : {});
        if (fault?.kind === 'hang') return log(0), hanging.add(res);
        if (fault?.kind === 'malformed') return log(200), send(200, '{"choices": [{"message": {"content": "trunc');
        if (fault?.kind === 'reject-json-schema' && body.response_format?.type === 'json_schema') {
          return log(400), send(400, '{"error":{"message":"response_format of type json_schema is not supported by this model"}}');
        }
        try {
          const a = await answer(body);
          log(200);
          send(200, JSON.stringify({
            id: `chatcmpl-${requests.length}`, object: 'chat.completion', created: Math.floor(Date.now() / 1000), model: body.model ?? 'test',
            choices: [{ index: 0, message: { role: 'assistant', content: a.content }, finish_reason: 'stop' }],
            usage: { prompt_tokens: a.promptTokens, completion_tokens: a.completionTokens, total_tokens: a.promptTokens + a.completionTokens },
          }));
        } catch (err) {
          log(500);
          send(500, JSON.stringify({ error: { message: (err as Error).message } }));
        }
      })();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: async () => {
      for (const res of hanging) res.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await context.dispose();
      await model.dispose();
      await llama.dispose();
    },
  };
}
