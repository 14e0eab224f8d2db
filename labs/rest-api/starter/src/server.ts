import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';

// The grader gives you a port in the PORT environment variable: always listen on it.
const port = Number(process.env.PORT ?? 3000);

interface Todo {
  id: string;
  title: string;
  completed: boolean;
}

// Keep the todos in memory. A Map remembers insertion order (handy for GET /todos).
const todos = new Map<string, Todo>();

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) {
  res.writeHead(status, { 'Content-Type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Errors are RFC 9457 problem details (see README.md). */
function sendProblem(res: ServerResponse, status: number, title: string, detail: string) {
  res.writeHead(status, { 'Content-Type': 'application/problem+json' });
  res.end(JSON.stringify({ type: 'about:blank', title, status, detail }));
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

async function handle(req: IncomingMessage, res: ServerResponse) {
  const { pathname } = new URL(req.url ?? '/', 'http://localhost');
  console.log(`${req.method} ${pathname} (${todos.size} todos)`);

  // TODO: implement the contract in README.md:
  //   POST /todos          -> 201 + Location + the new todo (the server picks a random id)
  //   GET /todos           -> 200 + every todo, oldest first
  //   GET /todos/{id}      -> 200 + the todo, or 404
  //   PUT /todos/{id}      -> replace title and completed (both required)
  //   PATCH /todos/{id}    -> change only the members sent
  //   DELETE /todos/{id}   -> 204, then the todo is gone (404)
  //   bad JSON -> 400, invalid fields -> 422, all errors as application/problem+json
  void readBody;
  void sendJson;
  sendProblem(res, 404, 'Not Found', `No route for ${req.method} ${pathname} yet.`);
}

const server = createServer((req, res) => {
  handle(req, res).catch((err) => {
    console.error(err);
    if (!res.headersSent) sendProblem(res, 500, 'Internal Server Error', 'Something went wrong on our side.');
    else res.end();
  });
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
