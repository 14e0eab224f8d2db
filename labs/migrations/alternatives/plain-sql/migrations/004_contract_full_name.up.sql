DROP TRIGGER sync_user_names ON users;
DROP FUNCTION sync_user_names();
ALTER TABLE users ALTER COLUMN display_name SET NOT NULL;
ALTER TABLE users DROP COLUMN full_name;
