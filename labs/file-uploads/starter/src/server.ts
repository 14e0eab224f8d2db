import { createServer } from 'node:http';

// The grader gives you a port in PORT, the folder to store uploads in UPLOAD_DIR, and the size limit in
// MAX_UPLOAD_BYTES. Defaults let you run it by hand.
const port = Number(process.env.PORT ?? 3000);
const uploadDir = process.env.UPLOAD_DIR ?? 'uploads';
const maxBytes = Number(process.env.MAX_UPLOAD_BYTES ?? 1024 * 1024);

const server = createServer((req, res) => {
  // TODO: see README.md for the contract:
  //   POST /files   multipart/form-data (field `file`), X-User header -> 201 {id, name, size, type, sha256}
  //   GET /files/:id  the uploader gets the bytes back as an attachment; everyone else 404/403
  // Refuse files over maxBytes (413), types other than PNG/JPEG/GIF/PDF (415), bytes that are not what
  // they claim (415/422), and never let the client's filename choose a path on disk.
  console.log(`${req.method} ${req.url} (uploads go to ${uploadDir}, limit ${maxBytes} bytes)`);
  res.writeHead(404, { 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'not implemented yet' }));
});

server.listen(port, '0.0.0.0', () => {
  console.log(`listening on http://localhost:${port}`);
});
