CREATE TABLE users (
  id bigserial PRIMARY KEY,
  email varchar(320) NOT NULL UNIQUE,
  full_name text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT CURRENT_TIMESTAMP
);
