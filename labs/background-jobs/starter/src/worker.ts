// The worker process (role "worker", `npm run worker`): it takes jobs from PostgreSQL (DATABASE_URL) and
// does them, calling DEPENDENCY_URL. See README.md for retries, leases and shutdown.
console.log('worker started: nothing to do yet');
setInterval(() => {}, 60_000);
