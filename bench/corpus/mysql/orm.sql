## Statements as ORMs and query builders generate them.
## Sequelize
SELECT `id`, `name`, `email`, `createdAt`, `updatedAt` FROM `Users` AS `User` WHERE `User`.`id` = 1
INSERT INTO `Users` (`id`,`name`,`email`,`createdAt`,`updatedAt`) VALUES (DEFAULT,'x','x@example.com','2024-01-01 00:00:00','2024-01-01 00:00:00')
SELECT TABLE_NAME FROM INFORMATION_SCHEMA.TABLES WHERE TABLE_TYPE = 'BASE TABLE' AND TABLE_SCHEMA = 'app'
## Hibernate 6 (prepared: placeholders)
select u1_0.id,u1_0.email,u1_0.name from users u1_0 where u1_0.id=?
insert into users (email,name) values (?,?)
update users set email=?,name=? where id=?
delete from users where id=?
select next_val as id_val from hibernate_sequence for update
## Django
SELECT `auth_user`.`id`, `auth_user`.`password`, `auth_user`.`last_login` FROM `auth_user` WHERE `auth_user`.`username` = 'admin' LIMIT 21
SELECT (1) AS `a` FROM `django_session` WHERE `django_session`.`session_key` = 'abc' LIMIT 1
## Rails ActiveRecord
SELECT `users`.* FROM `users` WHERE `users`.`id` = 1 LIMIT 1
SELECT 1 AS one FROM `users` WHERE `users`.`email` = BINARY 'a@example.com' LIMIT 1
## Prisma
SELECT `app`.`User`.`id`, `app`.`User`.`email` FROM `app`.`User` WHERE 1=1 ORDER BY `app`.`User`.`id` ASC LIMIT ? OFFSET ?
## TypeORM
SELECT VERSION() AS `version`
START TRANSACTION
SELECT `User`.`id` AS `User_id` FROM `user` `User` WHERE `User`.`id` IN (1, 2, 3)
## Laravel
select * from `users` where `email` = ? limit 1
insert into `users` (`name`, `email`, `updated_at`, `created_at`) values (?, ?, ?, ?)
update `users` set `remember_token` = ? where `id` = ?
## SQLAlchemy
SELECT users.id AS users_id, users.name AS users_name FROM users WHERE users.id = 7
ROLLBACK
SAVEPOINT sa_savepoint_1
RELEASE SAVEPOINT sa_savepoint_1
ROLLBACK TO SAVEPOINT sa_savepoint_1
XA START 'x1'
