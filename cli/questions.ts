// The 50 interview questions backend-labs is built around (copied from shared/interview-questions.md so
// installed copies have them). Each lab lists the numbers it covers; `labs questions` shows the map.

export const QUESTIONS: readonly string[] = [
  'Explain the concept of CAP theorem in distributed systems.',
  'What is eventual consistency, and where is it used?',
  'How does OAuth 2.0 work and what are its key components?',
  'What are microservices, and how do they differ from monolithic architecture?',
  'What is the difference between horizontal and vertical scaling?',
  'Explain ACID properties in databases.',
  'How does database indexing work and what are its drawbacks?',
  'How would you implement caching in a web application?',
  'Explain message queuing and how tools like RabbitMQ or Kafka work.',
  'What is containerization and how does Docker help in backend development?',
  'What are RESTful APIs and how are they different from GraphQL?',
  'What is middleware in backend frameworks?',
  'How do web sockets work, and when would you use them?',
  'What is the difference between PUT and PATCH HTTP methods?',
  'How do you secure APIs from unauthorized access?',
  'What is rate limiting and how can it be implemented?',
  'How does session management work in web applications?',
  'What are WebHooks and how are they different from APIs?',
  'How do you handle file uploads securely in a backend system?',
  'What is CSRF and how can it be prevented?',
  'Explain the role of reverse proxies like Nginx in backend architecture.',
  'What is a load balancer and how does it work?',
  'Describe JWT and its use in authentication.',
  'What are environment variables and why are they important?',
  'What is ORM and give examples of popular ORMs?',
  'How do background jobs work and when should you use them?',
  'Explain the concept of API versioning.',
  'How do you handle database migrations?',
  'What is the difference between SQL and NoSQL databases?',
  'What is a 500 Internal Server Error and common causes?',
  'What is a backend in web development?',
  'What is a server?',
  'What is a database?',
  'What is an API?',
  'What are HTTP methods? Name a few.',
  'What is the difference between GET and POST?',
  'What is a status code in HTTP? Give examples.',
  'What is JSON?',
  'What is a framework? Name some backend frameworks.',
  'What is SQL?',
  'What is an endpoint in API development?',
  'How do you connect a backend to a database?',
  'What is a route in backend development?',
  'What is authentication vs authorization?',
  'What is a cookie?',
  'What is a POST request used for?',
  'What is the difference between frontend and backend?',
  'What does CRUD stand for?',
  'What is logging and why is it important?',
  'What is an error handler in backend?',
];

/** The text of question `n` (1-based). */
export function question(n: number): string {
  const text = QUESTIONS[n - 1];
  if (text === undefined) throw new RangeError(`There is no interview question ${n}: they are numbered 1 to ${QUESTIONS.length}.`);
  return text;
}
