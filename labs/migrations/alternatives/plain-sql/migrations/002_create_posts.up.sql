CREATE TABLE posts (
  id bigserial PRIMARY KEY,
  user_id bigint NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  title text NOT NULL CHECK (length(title) >= 1 AND length(title) <= 200),
  body text NOT NULL DEFAULT ''
);
CREATE INDEX posts_user_id_idx ON posts (user_id);
