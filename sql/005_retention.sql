-- Retention. The event log is partitioned by month of event time, so that
-- old months can be dropped whole instead of deleted row by row. The raw
-- payload (event-data, or the form fields) moves out of the event row into
-- its own table, partitioned by month of arrival: it is large, needed only
-- for a while (debugging, re-normalising), and kept `payload_retention_days`.
-- `leadhook purge` drops and trims both; see README "Retention".

-- Creates the month partition of `parent` holding `at` (UTC months), unless
-- it exists: parent_YYYYMM. Called by leadhook before it writes into a month
-- it has not seen yet. Creating a partition locks the parent, so concurrent
-- callers queue on an advisory lock and none waits long on the table lock.
CREATE OR REPLACE FUNCTION leadhook_ensure_month_partition(parent regclass, at timestamptz)
RETURNS text
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
    month_start timestamptz := date_trunc('month', at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    child text := parent::text || '_' || to_char(at AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass(child) IS NOT NULL THEN
        RETURN child;
    END IF;
    PERFORM pg_advisory_xact_lock(hashtext('leadhook partitions'));
    -- The caller that held the lock before us may have made it; our catalog
    -- cache need not show that yet, but CREATE TABLE does.
    BEGIN
        EXECUTE format('CREATE TABLE %I PARTITION OF %s FOR VALUES FROM (%L) TO (%L)',
                       child, parent, month_start, month_start + interval '1 month');
    EXCEPTION WHEN duplicate_table THEN
        NULL;
    END;
    RETURN child;
END $$;

-- The partitions of `parent` whose whole range lies before `cutoff`, oldest
-- first, with the planner's row estimate (-1: never analysed): what
-- `leadhook purge` drops, or lists with --dry-run.
CREATE OR REPLACE FUNCTION leadhook_partitions_before(parent regclass, cutoff timestamptz)
RETURNS TABLE (child text, upper_bound timestamptz, estimated_rows bigint)
LANGUAGE sql STABLE
AS $$
    SELECT child, upper_bound, estimated_rows FROM (
        SELECT c.oid::regclass::text AS child, c.reltuples::bigint AS estimated_rows,
               (regexp_match(pg_get_expr(c.relpartbound, c.oid),
                             'TO \(''([^'']+)''\)'))[1]::timestamptz AS upper_bound
        FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = parent) bounds
    WHERE upper_bound <= cutoff
    ORDER BY upper_bound
$$;

-- Drops those partitions. A DROP waits at most lock_timeout for the table
-- lock, so a long transaction makes the purge fail (and the timer retry)
-- rather than queue every webhook behind it.
CREATE OR REPLACE FUNCTION leadhook_drop_partitions_before(parent regclass, cutoff timestamptz)
RETURNS TABLE (dropped text, estimated_rows bigint)
LANGUAGE plpgsql
SET lock_timeout = '5s'
AS $$
DECLARE
    p record;
BEGIN
    FOR p IN SELECT * FROM leadhook_partitions_before(parent, cutoff) LOOP
        EXECUTE format('DROP TABLE %s', p.child::regclass);
        dropped := p.child;
        estimated_rows := p.estimated_rows;
        RETURN NEXT;
    END LOOP;
END $$;

CREATE TABLE IF NOT EXISTS lead_email_event_payloads (
    event_id     bigint NOT NULL,       -- lead_email_events.id
    event_time   timestamptz NOT NULL,  -- with event_id, the event's key
    received_at  timestamptz NOT NULL,
    payload      jsonb NOT NULL,        -- event-data, or the form fields (attachments by name and size)
    PRIMARY KEY (event_id, received_at)
) PARTITION BY RANGE (received_at);

-- Rebuild lead_email_events as a partitioned table, unless it is one already.
DO $$
DECLARE
    month timestamptz;
BEGIN
    IF (SELECT relkind FROM pg_class WHERE oid = 'lead_email_events'::regclass) = 'p' THEN
        RETURN;
    END IF;
    ALTER TABLE lead_email_events RENAME TO lead_email_events_unpartitioned;
    ALTER SEQUENCE lead_email_events_id_seq OWNED BY NONE;

    CREATE TABLE lead_email_events (
        id               bigint NOT NULL DEFAULT nextval('lead_email_events_id_seq'),
        lead_id          bigint CONSTRAINT lead_email_events_lead_id_fkey
                             REFERENCES leads (id) ON DELETE SET NULL,
        event_type       text NOT NULL CONSTRAINT lead_email_events_event_type_check CHECK (event_type IN (
                             'delivered', 'opened', 'clicked', 'unsubscribed', 'complained',
                             'bounced', 'dropped', 'deferred', 'rejected', 'accepted', 'stored',
                             'unknown')),
        mailgun_event    text NOT NULL,
        severity         text,
        reason           text,
        recipient        text,
        message_id       text,
        mailgun_event_id text,
        event_time       timestamptz NOT NULL,
        received_at      timestamptz NOT NULL,
        domain           text,
        ip               text,
        country          text,
        region           text,
        city             text,
        device_type      text,
        client_type      text,
        client_name      text,
        client_os        text,
        user_agent       text,
        bot              text,
        url              text,
        code             text,
        error            text,
        description      text,
        tags             text[] NOT NULL DEFAULT '{}',
        user_variables   jsonb NOT NULL DEFAULT '{}',
        token            text NOT NULL,
        signature        text NOT NULL,
        body_format      text NOT NULL CONSTRAINT lead_email_events_body_format_check
                             CHECK (body_format IN ('json', 'form', 'multipart')),
        route            text NOT NULL,
        signing_key_label text
    ) PARTITION BY RANGE (event_time);

    FOR month IN SELECT DISTINCT date_trunc('month', event_time AT TIME ZONE 'UTC')
                     AT TIME ZONE 'UTC' FROM lead_email_events_unpartitioned LOOP
        PERFORM leadhook_ensure_month_partition('lead_email_events', month);
    END LOOP;
    FOR month IN SELECT DISTINCT date_trunc('month', received_at AT TIME ZONE 'UTC')
                     AT TIME ZONE 'UTC' FROM lead_email_events_unpartitioned LOOP
        PERFORM leadhook_ensure_month_partition('lead_email_event_payloads', month);
    END LOOP;

    INSERT INTO lead_email_events (id, lead_id, event_type, mailgun_event, severity, reason,
        recipient, message_id, mailgun_event_id, event_time, received_at, domain, ip, country,
        region, city, device_type, client_type, client_name, client_os, user_agent, bot, url,
        code, error, description, tags, user_variables, token, signature, body_format, route,
        signing_key_label)
    SELECT id, lead_id, event_type, mailgun_event, severity, reason, recipient, message_id,
        mailgun_event_id, event_time, received_at, domain, ip, country, region, city,
        device_type, client_type, client_name, client_os, user_agent, bot, url, code, error,
        description, tags, user_variables, token, signature, body_format, route,
        signing_key_label
    FROM lead_email_events_unpartitioned;
    INSERT INTO lead_email_event_payloads (event_id, event_time, received_at, payload)
    SELECT id, event_time, received_at, payload FROM lead_email_events_unpartitioned;

    DROP TABLE lead_email_events_unpartitioned;
    ALTER SEQUENCE lead_email_events_id_seq OWNED BY lead_email_events.id;
END $$;

-- The partition key is part of every unique key: (id, event_time) is the
-- event's identity, and Mailgun's (event id, timestamp) already includes it.
DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_constraint WHERE conname = 'lead_email_events_pkey') THEN
        ALTER TABLE lead_email_events ADD CONSTRAINT lead_email_events_pkey
            PRIMARY KEY (id, event_time);
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS lead_email_events_mailgun_event_key
    ON lead_email_events (mailgun_event_id, event_time) WHERE mailgun_event_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS lead_email_events_lead_idx
    ON lead_email_events (lead_id, event_time);
CREATE INDEX IF NOT EXISTS lead_email_events_message_idx
    ON lead_email_events (message_id);
CREATE INDEX IF NOT EXISTS lead_email_events_received_idx
    ON lead_email_events (received_at);

-- This month and the next exist from the start; leadhook creates others as
-- events for them arrive.
DO $$
BEGIN
    PERFORM leadhook_ensure_month_partition(parent, now() + ahead * interval '1 month')
    FROM unnest(ARRAY['lead_email_events', 'lead_email_event_payloads']::regclass[]) parent,
         generate_series(0, 1) ahead;
END $$;
