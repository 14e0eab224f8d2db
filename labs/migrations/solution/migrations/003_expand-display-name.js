// Expand: the new column next to the old one, filled from it, and kept in step with it by a trigger, so the
// previous version of the app (which writes full_name) and the next one (which writes display_name) both work.
export const up = (pgm) => {
  pgm.sql('ALTER TABLE users ADD COLUMN display_name text');
  pgm.sql('UPDATE users SET display_name = full_name');
  pgm.sql(`
    CREATE FUNCTION users_sync_display_name() RETURNS trigger LANGUAGE plpgsql AS $$
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
    END $$`);
  pgm.sql(`CREATE TRIGGER users_sync_display_name BEFORE INSERT OR UPDATE ON users
           FOR EACH ROW EXECUTE FUNCTION users_sync_display_name()`);
};

export const down = (pgm) => {
  pgm.sql('DROP TRIGGER users_sync_display_name ON users');
  pgm.sql('DROP FUNCTION users_sync_display_name()');
  pgm.sql('ALTER TABLE users DROP COLUMN display_name');
};
