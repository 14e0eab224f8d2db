// Contract: once no running version reads or writes full_name, drop it (and the trigger that fed it).
export const up = (pgm) => {
  pgm.sql('DROP TRIGGER users_sync_display_name ON users');
  pgm.sql('DROP FUNCTION users_sync_display_name()');
  pgm.sql('ALTER TABLE users ALTER COLUMN display_name SET NOT NULL');
  pgm.sql('ALTER TABLE users DROP COLUMN full_name');
};

// Back to the expand step, data included: full_name again, filled from display_name, and the trigger.
export const down = (pgm) => {
  pgm.sql('ALTER TABLE users ADD COLUMN full_name text');
  pgm.sql('UPDATE users SET full_name = display_name');
  pgm.sql('ALTER TABLE users ALTER COLUMN full_name SET NOT NULL');
  pgm.sql('ALTER TABLE users ALTER COLUMN display_name DROP NOT NULL');
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
