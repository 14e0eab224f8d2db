// The consumer (role "consumer", `npm run consumer`): it takes orders from the queue `orders` and records
// each one in PostgreSQL (DATABASE_URL), exactly once in effect. See README.md.
console.log('consumer started: nothing to do yet');
setInterval(() => {}, 60_000);
