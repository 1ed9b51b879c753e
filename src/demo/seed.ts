// The demo's sample data: customers (with e-mail and phone, which pii-masking masks) and their orders.

export const SEED_SQL = `
BEGIN;
CREATE TABLE customers (
  id         serial PRIMARY KEY,
  name       text NOT NULL,
  email      text NOT NULL UNIQUE,
  phone      text,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE orders (
  id          serial PRIMARY KEY,
  customer_id integer NOT NULL REFERENCES customers(id),
  item        text NOT NULL,
  quantity    integer NOT NULL CHECK (quantity > 0),
  amount      numeric(10,2) NOT NULL,
  status      text NOT NULL DEFAULT 'placed',
  created_at  timestamptz NOT NULL DEFAULT now()
);
INSERT INTO customers (name, email, phone) VALUES
  ('Ada Lovelace',    'ada@example.com',    '+44 20 7946 0001'),
  ('Grace Hopper',    'grace@example.com',  '+1 202 555 0102'),
  ('Alan Turing',     'alan@example.com',   '+44 20 7946 0003'),
  ('Katherine Johnson','katherine@example.com','+1 757 555 0104'),
  ('Edsger Dijkstra', 'edsger@example.com', '+31 20 555 0105');
INSERT INTO orders (customer_id, item, quantity, amount, status) VALUES
  (1, 'Analytical Engine manual', 1,  49.00, 'shipped'),
  (1, 'Punched cards (box)',      3,  12.50, 'placed'),
  (2, 'COBOL handbook',           1,  35.90, 'delivered'),
  (3, 'Enigma rotor set',         2, 120.00, 'placed'),
  (4, 'Orbital tables',           1,  18.75, 'shipped'),
  (5, 'Semaphore kit',            4,   9.99, 'placed');
COMMIT;
`;
