// A test HTTP server (node:http) that speaks OpenAI's chat-completions protocol: it records every request (path,
// headers, JSON body) and answers each with the completion `answer` writes for it, in the response shape of
// POST /v1/chat/completions. Anything else is a 404, a body that is not JSON a 400.
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
  body: {
    model?: unknown;
    messages?: { role: string; content: string }[];
    temperature?: unknown;
    max_tokens?: unknown;
    response_format?: unknown;
  };
}

export interface OpenAiTestServer {
  /** e.g. http://127.0.0.1:PORT/v1 */
  baseUrl: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

export async function startOpenAiTestServer(
  answer: (req: RecordedRequest) => string | { status: number; body: string },
): Promise<OpenAiTestServer> {
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req, res) => {
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (c: string) => (raw += c));
    req.on('end', () => {
      if (req.method !== 'POST' || req.url !== '/v1/chat/completions') {
        res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"not found"}}');
        return;
      }
      let body: RecordedRequest['body'];
      try {
        body = JSON.parse(raw) as RecordedRequest['body'];
      } catch {
        res.writeHead(400).end('{"error":{"message":"body is not JSON"}}');
        return;
      }
      const recorded = { method: req.method, path: req.url, headers: req.headers, body };
      requests.push(recorded);
      const a = answer(recorded);
      if (typeof a !== 'string') {
        res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(
        JSON.stringify({
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: 0,
          model: body.model,
          choices: [{ index: 0, message: { role: 'assistant', content: a }, finish_reason: 'stop' }],
          usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
        }),
      );
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** What a helpful endpoint answers to lm-saes's prompts: an explanation object, or every example judged true. */
export function cannedAnswer(req: RecordedRequest): string {
  const system = req.body.messages?.[0]?.content ?? '';
  const user = req.body.messages?.[1]?.content ?? '';
  if (system.includes('`final_explanation`'))
    return `Sure! Here is my answer:\n\`\`\`json\n${JSON.stringify({
      steps: ['Activating tokens: <<the>>.', 'Common words.', 'This feature activates on the'],
      final_explanation: 'This feature activates on common words',
      activation_consistency: 4,
      complexity: 2,
    })}\n\`\`\``;
  const n = user.split('\n').filter((l) => /^Example \d+: /.test(l)).length;
  return JSON.stringify({ steps: ['judged'], evaluation_results: Array.from({ length: n }, () => true) });
}
