-- Backfill from Mailgun's API (`leadhook backfill`, docs/backfill.md) and a
-- suppression list that outlives the event log.

-- Where each event row came from: 'webhook' (a signed POST) or 'api' (read
-- back from Mailgun's Logs or Events API). A constant default adds the
-- column without rewriting the table; leadhook is the only writer, so no
-- CHECK (validating one would read every partition).
ALTER TABLE lead_email_events ADD COLUMN IF NOT EXISTS source text NOT NULL DEFAULT 'webhook';

-- Addresses that must not be mailed again: one row per address and reason,
-- written in the same transaction as the event that says so (matched to a
-- lead or not), or imported from Mailgun's own suppression lists. Never
-- purged with the event log: `report suppress` reads it with the leads'
-- flags. The reasons are the event types `report suppress` has always
-- listed; 'bounced' is a permanent bounce (a temporary failure is
-- 'deferred').
CREATE TABLE IF NOT EXISTS suppressions (
    address   text NOT NULL,             -- lower-cased, trimmed
    reason    text NOT NULL CHECK (reason IN (
                  'bounced', 'complained', 'unsubscribed', 'dropped', 'rejected')),
    detail    text NOT NULL DEFAULT '',  -- code and message of the earliest failure
    first_at  timestamptz NOT NULL,      -- the earliest event (or list entry) saying so
    last_at   timestamptz NOT NULL,
    source    text NOT NULL CHECK (source IN ('webhook', 'api', 'mailgun_list')),
    PRIMARY KEY (address, reason)
);
CREATE INDEX IF NOT EXISTS suppressions_first_idx ON suppressions (first_at);

-- What the event log already says, once (the log is read whole here).
INSERT INTO suppressions (address, reason, detail, first_at, last_at, source)
SELECT lower(btrim(recipient)), event_type,
       (array_agg(CASE WHEN event_type = 'bounced'
                        THEN concat_ws(' ', code, coalesce(error, description))
                       WHEN event_type IN ('dropped', 'rejected')
                        THEN concat_ws(' ', reason, code, coalesce(description, error))
                       ELSE '' END ORDER BY event_time))[1],
       min(event_time), max(event_time), 'webhook'
FROM lead_email_events
WHERE event_type IN ('bounced', 'complained', 'unsubscribed', 'dropped', 'rejected')
  AND btrim(coalesce(recipient, '')) <> ''
GROUP BY 1, 2
ON CONFLICT (address, reason) DO NOTHING;

-- The keys of the events stored from Mailgun's API, for the webhooks of
-- the same events still to come (storage/pg_rows: a webhook batch checks
-- this small table, not the partitioned event log). Rows are the events
-- a backfill stored, i.e. those the webhooks missed.
CREATE TABLE IF NOT EXISTS backfilled_events (
    mailgun_event_id text NOT NULL,
    event_type       text NOT NULL,
    event_time       timestamptz NOT NULL,
    message_id       text,
    recipient        text,
    PRIMARY KEY (mailgun_event_id, event_type, event_time)
);
CREATE INDEX IF NOT EXISTS backfilled_events_message_idx ON backfilled_events (message_id);

-- Where a backfill got to, per domain, API and time range: `backfill
-- --resume` continues from `cursor` (the next page's URL or token) after an
-- interrupt. A page's events commit before its checkpoint; a crash between
-- the two repeats that page, which stores nothing twice.
CREATE TABLE IF NOT EXISTS backfill_checkpoints (
    domain       text NOT NULL,
    api          text NOT NULL CHECK (api IN ('logs', 'events')),
    begin_at     timestamptz NOT NULL,
    end_at       timestamptz NOT NULL,
    cursor       text,                   -- NULL: start from the first page
    pages        bigint NOT NULL DEFAULT 0,
    fetched      bigint NOT NULL DEFAULT 0,
    stored       bigint NOT NULL DEFAULT 0,
    duplicate    bigint NOT NULL DEFAULT 0,
    skipped      bigint NOT NULL DEFAULT 0,
    started_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    finished_at  timestamptz,            -- NULL: interrupted, or still running
    PRIMARY KEY (domain, api, begin_at, end_at)
);
