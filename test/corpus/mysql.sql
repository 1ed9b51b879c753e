## Statements MySQL drivers and frameworks send (one per line). Prefix "R " = read grant too; else write grant.
## Rails mysql2 adapter: connect
W SET NAMES utf8mb4 COLLATE utf8mb4_unicode_ci,  @@SESSION.sql_mode = CONCAT(CONCAT(@@sql_mode, ',STRICT_ALL_TABLES'), ',NO_AUTO_VALUE_ON_ZERO'),  @@SESSION.sql_auto_is_null = 0, @@SESSION.wait_timeout = 2147483
R SELECT @@FOREIGN_KEY_CHECKS
R SELECT version()
R SHOW FULL FIELDS FROM `corpus_users`
R SELECT `corpus_users`.* FROM `corpus_users` WHERE `corpus_users`.`id` = 1 LIMIT 1
W INSERT INTO `corpus_users` (`name`, `email`, `created_at`, `updated_at`) VALUES ('ann', 'ann@example.com', '2024-01-01 00:00:00', '2024-01-01 00:00:00')
W UPDATE `corpus_users` SET `corpus_users`.`name` = 'bob', `corpus_users`.`updated_at` = '2024-01-02 00:00:00' WHERE `corpus_users`.`id` = 1
W DELETE FROM `corpus_users` WHERE `corpus_users`.`id` = 1
W CREATE TABLE `corpus_posts` (`id` bigint NOT NULL AUTO_INCREMENT PRIMARY KEY, `title` varchar(255), `user_id` bigint, `created_at` datetime(6) NOT NULL, `updated_at` datetime(6) NOT NULL)
R SELECT `schema_migrations`.`version` FROM `schema_migrations` ORDER BY `schema_migrations`.`version` ASC
## Django
W SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED
R SELECT @@SQL_AUTO_IS_NULL
R SELECT `corpus_users`.`id`, `corpus_users`.`name` FROM `corpus_users` WHERE `corpus_users`.`email` LIKE 'ann%' ORDER BY `corpus_users`.`id` ASC LIMIT 21
W UPDATE `corpus_users` SET `name` = 'x' WHERE `corpus_users`.`id` IN (1, 2, 3)
R SELECT engine FROM information_schema.tables WHERE table_name = 'corpus_users'
R SELECT table_name, table_type FROM information_schema.tables WHERE table_schema = DATABASE()
## SQLAlchemy
R SELECT CAST('test plain returns' AS CHAR(60) CHARACTER SET utf8mb4) COLLATE utf8mb4_bin AS anon_1
R SELECT CAST('test collated returns' AS CHAR CHARACTER SET utf8mb4) COLLATE utf8mb4_bin AS anon_1
R SHOW VARIABLES LIKE 'sql_mode'
R SHOW VARIABLES LIKE 'lower_case_table_names'
R SELECT DATABASE()
R SHOW COLLATION
## Sequelize / TypeORM / Prisma / mysql2
R SELECT 1+1 AS result
R SELECT `id`, `name` FROM `corpus_users` AS `User` WHERE `User`.`id` = 1
W INSERT INTO `corpus_users` (`id`,`name`,`email`) VALUES (DEFAULT,'c','c@example.com')
W UPDATE `corpus_users` SET `name`='d' WHERE `id` = 2
R SELECT `User`.`id` AS `User_id`, `User`.`name` AS `User_name` FROM `corpus_users` `User` WHERE ((`User`.`id` = 1)) LIMIT 1
R SELECT `t0`.`id`, `t0`.`name` FROM `corpus_users` AS `t0` WHERE `t0`.`id` = 1 LIMIT 1 OFFSET 0
W INSERT INTO `corpus_users` (`name`,`email`) VALUES ('e','e@example.com') ON DUPLICATE KEY UPDATE `name` = VALUES(`name`)
R SELECT @@global.tx_isolation AS a, @@session.tx_isolation AS b
## Hibernate / JDBC (Connector/J, MariaDB Connector/J)
R SELECT @@max_allowed_packet,@@system_time_zone,@@time_zone,@@auto_increment_increment
W SET autocommit=0
R SELECT @@session.tx_read_only
R select u1_0.id,u1_0.email,u1_0.name from corpus_users u1_0 where u1_0.id=1
W update corpus_users set email='f@example.com',name='f' where id=1
W delete from corpus_users where id=3
## Go go-sql-driver/mysql
R SELECT @@max_allowed_packet
W SET NAMES utf8mb4
## mysql / mariadb CLI
R select @@version_comment limit 1
R SELECT DATABASE(), USER() LIMIT 1
R SHOW DATABASES
R SHOW TABLES
## mysqldump
R SELECT LOGFILE_GROUP_NAME, FILE_NAME, TOTAL_EXTENTS, INITIAL_SIZE, ENGINE, EXTRA FROM INFORMATION_SCHEMA.FILES WHERE ENGINE = 'ndbcluster' AND FILE_TYPE = 'UNDO LOG' AND FILE_NAME IS NOT NULL AND LOGFILE_GROUP_NAME IS NOT NULL GROUP BY LOGFILE_GROUP_NAME, FILE_NAME, ENGINE, TOTAL_EXTENTS, INITIAL_SIZE ORDER BY LOGFILE_GROUP_NAME
R SHOW CREATE TABLE `corpus_users`
R SHOW TRIGGERS LIKE 'corpus\_users'
R SELECT /*!40001 SQL_NO_CACHE */ * FROM `corpus_users`
R /*!40100 SET @@SQL_MODE='' */
R /*!40103 SET TIME_ZONE='+00:00' */
## Metabase / Grafana style
R SELECT date(`created_at`) AS `d`, count(*) AS `count` FROM `corpus_users` GROUP BY date(`created_at`) ORDER BY `d` ASC
R SELECT `name` AS metric, COUNT(*) AS value FROM `corpus_users` WHERE `created_at` BETWEEN FROM_UNIXTIME(1700000000) AND FROM_UNIXTIME(1800000000) GROUP BY 1 ORDER BY 1
R SELECT UNIX_TIMESTAMP(`created_at`) DIV 60 * 60 AS "time", COUNT(*) FROM `corpus_users` GROUP BY 1 ORDER BY 1
## more CRUD (PyMySQL after interpolation, mysql2 placeholders filled)
W UPDATE corpus_users SET name = 'y' WHERE id = 7 LIMIT 1
W DELETE FROM corpus_users WHERE id IN (7, 8) LIMIT 2
R SELECT id FROM corpus_users WHERE name IN ('a','b') ORDER BY id LIMIT 10
