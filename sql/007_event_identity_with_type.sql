-- A Mailgun event is its id, its timestamp and its type. Real events never
-- share an id across types, but the dashboard's "test webhook" button posts
-- fixed samples that do: opened, clicked and unsubscribed with one id and
-- one timestamp. With (id, timestamp) alone the second and third were
-- answered "duplicate" and the lead never changed. A retry of one event
-- (same id, timestamp and type) is still a duplicate.
--
-- The new unique index is built before the old one goes, so that no moment
-- is without one. On a large event log this takes a while, and holds off
-- writes to it meanwhile: run `leadhook migrate` before the new leadhook
-- starts serving (README, "Upgrading").
CREATE UNIQUE INDEX IF NOT EXISTS lead_email_events_mailgun_event_type_key
    ON lead_email_events (mailgun_event_id, event_time, event_type)
    WHERE mailgun_event_id IS NOT NULL;
DROP INDEX IF EXISTS lead_email_events_mailgun_event_key;
