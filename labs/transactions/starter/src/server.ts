import { createServer } from 'node:http';
import pg from 'pg';

// The grader gives you a port in PORT and an empty PostgreSQL database in DATABASE_URL.
const port = Number(process.env.PORT ?? 3000);
const pool = new pg.Pool({ connectionString: process.env.DATABASE_URL, max: 10 });

// TODO: create the tables `accounts`, `transfers` and `ledger_entries` at startup if they do not exist
// (README.md gives their exact columns: the grader reads and writes them directly).

const server = createServer((req, res) => {
  // TODO: the contract in README.md:
  //   GET  /accounts/{id}   200 {"id": "...", "balance": 1234}; 404 when there is no such account
  //   POST /transfers       {"from": "...", "to": "...", "amount": 250} -> 201 with the transfer, moved in
  //                         ONE transaction (debit, credit, a `transfers` row and two ledger entries);
  //                         400 bad body, 404 unknown account, 422 insufficient funds
  console.log(`${req.method} ${req.url}`);
  res.writeHead(501, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
  void pool; // remove once you use the pool
});
