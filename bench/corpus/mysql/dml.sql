## Everyday DML as people and applications write it.
SELECT * FROM users WHERE id = 1
SELECT id, name FROM users WHERE email LIKE '%@example.com' ORDER BY name LIMIT 10
SELECT u.id, o.total FROM users u JOIN orders o ON o.user_id = u.id WHERE o.total > 100
SELECT u.name, COUNT(*) AS n FROM users u LEFT JOIN orders o ON o.user_id = u.id GROUP BY u.name HAVING n > 1
SELECT * FROM users WHERE id IN (SELECT user_id FROM orders WHERE total > 10)
SELECT * FROM users WHERE EXISTS (SELECT 1 FROM orders WHERE orders.user_id = users.id)
WITH recent AS (SELECT * FROM orders WHERE created_at > NOW() - INTERVAL 7 DAY) SELECT user_id, SUM(total) FROM recent GROUP BY user_id
WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < 10) SELECT n FROM seq
SELECT id, ROW_NUMBER() OVER (PARTITION BY user_id ORDER BY created_at DESC) AS rn FROM orders
SELECT IF(total > 100, 'big', 'small') AS size, IFNULL(note, '') FROM orders
SELECT CASE WHEN total > 100 THEN 'big' ELSE 'small' END FROM orders
SELECT GROUP_CONCAT(name ORDER BY name SEPARATOR ', ') FROM users
SELECT data->>'$.name', JSON_EXTRACT(data, '$.age') FROM profiles
SELECT * FROM users WHERE name REGEXP '^a'
SELECT DATE_FORMAT(created_at, '%Y-%m') AS m, COUNT(*) FROM orders GROUP BY m WITH ROLLUP
SELECT SQL_CALC_FOUND_ROWS * FROM users LIMIT 10
SELECT FOUND_ROWS()
SELECT STRAIGHT_JOIN u.id FROM users u JOIN orders o ON o.user_id = u.id
SELECT * FROM users USE INDEX (email) WHERE email = 'a@example.com'
SELECT * FROM users LIMIT 10, 20
SELECT * FROM users LIMIT 20 OFFSET 10
SELECT * FROM users WHERE id = 1 FOR UPDATE
SELECT * FROM users WHERE id = 1 LOCK IN SHARE MODE
SELECT * FROM users WHERE id = 1 FOR SHARE
SELECT name INTO @n FROM users WHERE id = 1
SELECT * FROM users INTO OUTFILE '/tmp/users.csv' FIELDS TERMINATED BY ','
SELECT name FROM users WHERE id = 1 INTO DUMPFILE '/tmp/name.bin'
SELECT LOAD_FILE('/etc/passwd')
SELECT `u`.`name` FROM `app`.`users` AS `u` WHERE `u`.`id` = 7
SELECT "double quoted string", 'single' FROM dual
SELECT 1 + 1
SELECT NOW(), CURDATE(), UUID()
SELECT * FROM users WHERE created_at BETWEEN '2024-01-01' AND '2024-02-01'
SELECT * FROM users WHERE id = 1 UNION SELECT * FROM users WHERE id = 2
SELECT a.* FROM (SELECT id FROM users) AS a
INSERT INTO users (name, email) VALUES ('carol', 'carol@example.com')
INSERT INTO users SET name = 'dave', email = 'dave@example.com'
INSERT IGNORE INTO users (id, name) VALUES (1, 'x')
INSERT INTO users (id, name) VALUES (1, 'x') ON DUPLICATE KEY UPDATE name = VALUES(name)
INSERT INTO archive_users SELECT * FROM users WHERE created_at < '2020-01-01'
REPLACE INTO users (id, name) VALUES (1, 'y')
UPDATE users SET name = 'z' WHERE id = 1
UPDATE users SET last_seen = NOW() WHERE id = 1 LIMIT 1
UPDATE users u JOIN orders o ON o.user_id = u.id SET u.vip = 1 WHERE o.total > 1000
UPDATE users SET name = 'all'
UPDATE users SET name = 'all' WHERE 1=1
DELETE FROM users WHERE id = 1
DELETE FROM sessions WHERE expires_at < NOW() ORDER BY expires_at LIMIT 1000
DELETE u FROM users u JOIN banned b ON b.user_id = u.id
DELETE FROM users
DELETE FROM users WHERE 1
DELETE FROM users WHERE id = 3 RETURNING id
INSERT INTO users (name) VALUES ('e') RETURNING id
SELECT SLEEP(1)
DO SLEEP(0)
SELECT BENCHMARK(1000, MD5('x'))
VALUES (1, 2), (3, 4)
TABLE users
SELECT * FROM users WHERE name = 'O\'Brien'
SELECT 'it''s', "say ""hi"""
SELECT * FROM users WHERE id = ? AND name = ?
