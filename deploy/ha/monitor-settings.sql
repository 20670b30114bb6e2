-- pg_auto_failover's monitor: how fast a dead primary is noticed and its
-- standby promoted. Run once on the monitor (psql -d pg_auto_failover -f),
-- then SELECT pg_reload_conf(). docs/ha.md gives the trade-off; scripts/ha-test
-- measures the failover with exactly these.
--
-- Defaults: a check every 20 s (timeout 5 s, 2 retries 2 s apart), a node
-- unhealthy after 20 s without contact, and 30 s for a primary to demote
-- itself before its standby is promoted: about 51 s without a writable
-- primary when the whole primary host dies. With these, 13-14 s. Each data
-- node's keeper must give up a primary it cannot reach the monitor or its
-- standby from sooner than primary_demote_timeout (8 s here), so that an
-- old primary cut off from both stops taking writes before the other node
-- is promoted:
--   pg_autoctl config set --pgdata PGDATA timeout.network_partition_timeout 5
ALTER SYSTEM SET pgautofailover.health_check_period = 1000;
ALTER SYSTEM SET pgautofailover.health_check_timeout = 1000;
ALTER SYSTEM SET pgautofailover.health_check_max_retries = 1;
ALTER SYSTEM SET pgautofailover.health_check_retry_delay = 500;
ALTER SYSTEM SET pgautofailover.node_considered_unhealthy_timeout = 5000;
ALTER SYSTEM SET pgautofailover.primary_demote_timeout = 8000;
