export const up = (pgm) => {
  pgm.sql('ALTER TABLE users RENAME COLUMN full_name TO display_name');
};

export const down = (pgm) => {
  pgm.sql('ALTER TABLE users RENAME COLUMN display_name TO full_name');
};
