ALTER TABLE users ADD COLUMN full_name text;
UPDATE users SET full_name = display_name;
ALTER TABLE users ALTER COLUMN full_name SET NOT NULL;
ALTER TABLE users ALTER COLUMN display_name DROP NOT NULL;

CREATE FUNCTION sync_user_names() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    NEW.display_name := COALESCE(NEW.display_name, NEW.full_name);
    NEW.full_name := COALESCE(NEW.full_name, NEW.display_name);
  ELSIF NEW.display_name IS DISTINCT FROM OLD.display_name THEN
    NEW.full_name := NEW.display_name;
  ELSIF NEW.full_name IS DISTINCT FROM OLD.full_name THEN
    NEW.display_name := NEW.full_name;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER sync_user_names BEFORE INSERT OR UPDATE ON users
  FOR EACH ROW EXECUTE FUNCTION sync_user_names();
