// The rename already happened in 003: nothing left to contract.
export const up = (pgm) => {
  pgm.sql('SELECT 1');
};

export const down = (pgm) => {
  pgm.sql('SELECT 1');
};
