## Statements client programs and drivers send right after login (one statement per line; `##` lines are notes).
## mysql / mariadb command-line client
select @@version_comment limit 1
SELECT DATABASE()
show databases
show tables
SELECT USER()
## MySQL Connector/J 8.x
/* mysql-connector-java-8.0.33 (Revision: local) */SELECT  @@session.auto_increment_increment AS auto_increment_increment, @@character_set_client AS character_set_client, @@character_set_connection AS character_set_connection, @@character_set_results AS character_set_results, @@character_set_server AS character_set_server, @@collation_server AS collation_server, @@collation_connection AS collation_connection, @@init_connect AS init_connect, @@interactive_timeout AS interactive_timeout, @@license AS license, @@lower_case_table_names AS lower_case_table_names, @@max_allowed_packet AS max_allowed_packet, @@net_write_timeout AS net_write_timeout, @@performance_schema AS performance_schema, @@sql_mode AS sql_mode, @@system_time_zone AS system_time_zone, @@time_zone AS time_zone, @@transaction_isolation AS transaction_isolation, @@wait_timeout AS wait_timeout
SHOW VARIABLES LIKE 'lower_case_table_names'
SET NAMES utf8mb4
SET character_set_results = NULL
SET autocommit=1
SELECT @@session.transaction_read_only
SELECT @@session.tx_read_only
SHOW WARNINGS
SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED
SET SESSION TRANSACTION READ ONLY
## MariaDB Connector/J 3.x
set autocommit=1, sql_mode = concat(@@sql_mode,',STRICT_TRANS_TABLES'), session_track_schema=1, session_track_system_variables = CONCAT(@@global.session_track_system_variables,',auto_increment_increment')
SELECT @@max_allowed_packet, @@wait_timeout
## mysql2 (Node.js)
SELECT 1
## PyMySQL / mysqlclient
SET AUTOCOMMIT = 0
SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci
SELECT VERSION()
## Go go-sql-driver
SELECT @@max_allowed_packet
## SQLAlchemy dialect on first connect
SELECT @@sql_mode
SELECT @@lower_case_table_names
SHOW VARIABLES LIKE 'sql_mode'
SELECT @@transaction_isolation
SELECT @@tx_isolation
SELECT CAST('test plain returns' AS CHAR(60)) AS anon_1
show collation where `Charset` = 'utf8mb4' and `Collation` = 'utf8mb4_bin'
## Rails (mysql2 adapter)
SET  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483
## GUI tools (DBeaver, Workbench, HeidiSQL)
SHOW ENGINES
SHOW CHARSET
SHOW COLLATION
SHOW FULL TABLES FROM `app`
SHOW FULL COLUMNS FROM `users` FROM `app`
SHOW INDEX FROM `users`
SHOW CREATE TABLE `users`
SHOW TABLE STATUS FROM `app`
SHOW PLUGINS
SHOW GRANTS
SHOW SESSION STATUS LIKE 'Ssl_cipher'
## SHOW PROCESSLIST (GUI tools) is refused on read and write grants by safe-defaults other-sessions-activity: it shows other grants' statements
SELECT * FROM information_schema.SCHEMATA
USE `app`
SELECT CONNECTION_ID()
