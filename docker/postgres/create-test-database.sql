-- Run by the db service on its first start: the database the test suite uses, so that tests
-- run in the containers never touch the development data.
CREATE DATABASE test;
