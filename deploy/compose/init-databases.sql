-- Run once by the postgres image on first start (an empty data volume), as the superuser.
-- One database per service: no service reaches another's tables.
CREATE DATABASE sharaka_plans;
CREATE DATABASE sharaka_consultation;
CREATE DATABASE sharaka_irm;
CREATE DATABASE sharaka_notifications;
