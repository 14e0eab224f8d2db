DROP TRIGGER sync_user_names ON users;
DROP FUNCTION sync_user_names();
ALTER TABLE users DROP COLUMN display_name;
