#!/bin/sh
# deploy/mysql-init.sh — first-start script of the compose mysql service: the upstream users dbwarden maps
# grants to (read → app_ro, write → app_rw) on database `shop`, and a small table to try the rules on.
# Run by the mysql image's entrypoint (sourced or executed) once, while its temporary server listens on the
# socket only. Passwords are placed inside SQL quotes: use letters and digits (the .env recipe does).
set -e
MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql --protocol=socket -uroot <<SQL
CREATE DATABASE IF NOT EXISTS shop;
CREATE USER 'app_ro'@'%' IDENTIFIED BY '${APP_RO_PASSWORD}';
CREATE USER 'app_rw'@'%' IDENTIFIED BY '${APP_RW_PASSWORD}';
GRANT SELECT ON shop.* TO 'app_ro'@'%';
GRANT SELECT, INSERT, UPDATE, DELETE, CREATE, ALTER, INDEX, DROP, CREATE VIEW, SHOW VIEW ON shop.* TO 'app_rw'@'%';
CREATE TABLE shop.customers (id INT PRIMARY KEY, name VARCHAR(100) NOT NULL, email VARCHAR(200), phone VARCHAR(40));
INSERT INTO shop.customers VALUES
  (1, 'Ada Lovelace', 'ada@example.com', '+44 20 7946 0001'),
  (2, 'Alan Turing', 'alan@example.com', '+44 20 7946 0002');
SQL
