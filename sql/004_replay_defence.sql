-- Replay defence. Mailgun signs only timestamp + token, never the body, so a
-- captured signature could be attached to any body, and Mailgun itself
-- retries and duplicates. These constraints hold across every leadhook
-- process and host that shares the database.

-- Token ledger: every accepted token, bound to the SHA-256 of the raw body,
-- written in the same transaction as its event. Same token and body again is
-- a duplicate; same token with another body is a forgery.
CREATE TABLE IF NOT EXISTS webhook_tokens (
    token        text PRIMARY KEY,
    body_sha256  bytea NOT NULL CHECK (length(body_sha256) = 32),
    signed_at    timestamptz NOT NULL,  -- the signature's timestamp; rows are purged by it
    received_at  timestamptz NOT NULL,
    key_label    text NOT NULL,         -- which signing key verified it
    event_id     bigint,                -- lead_email_events.id (events have their own retention)
    lead_id      bigint
);
CREATE INDEX IF NOT EXISTS webhook_tokens_signed_idx ON webhook_tokens (signed_at);

ALTER TABLE lead_email_events ADD COLUMN IF NOT EXISTS signing_key_label text;

-- Mailgun's event id is unique only within a day, so a JSON event is the
-- pair (id, event timestamp). A second delivery under a new token is a
-- duplicate. Rows stored before this file could already repeat a pair:
-- refuse with the query that finds them rather than delete anything.
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM lead_email_events WHERE mailgun_event_id IS NOT NULL
               GROUP BY mailgun_event_id, event_time HAVING count(*) > 1) THEN
        RAISE EXCEPTION 'lead_email_events holds the same Mailgun event more than once'
            USING HINT = 'List them with: SELECT mailgun_event_id, event_time, array_agg(id) '
                         'FROM lead_email_events WHERE mailgun_event_id IS NOT NULL '
                         'GROUP BY 1, 2 HAVING count(*) > 1; keep one row of each, then rerun.';
    END IF;
END $$;
CREATE UNIQUE INDEX IF NOT EXISTS lead_email_events_mailgun_event_key
    ON lead_email_events (mailgun_event_id, event_time) WHERE mailgun_event_id IS NOT NULL;

-- Quarantine: requests that failed verification, were stale or from the
-- future, could not be processed, or reused a token with another body. Kept
-- raw (bytea: the body need not be UTF-8) for inspection and for
-- `leadhook reverify`. One row per distinct body and path; Mailgun's retries
-- of it count attempts.
CREATE TABLE IF NOT EXISTS webhook_quarantine (
    id            bigserial PRIMARY KEY,
    received_at   timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    attempts      integer NOT NULL DEFAULT 1,
    reason        text NOT NULL CHECK (reason IN (
                      'bad_signature', 'stale', 'future', 'unprocessable', 'forgery')),
    detail        text NOT NULL,        -- the error answered, never a secret
    path          text NOT NULL,
    content_type  text NOT NULL,
    remote_addr   text NOT NULL,
    request_id    text NOT NULL,
    body          bytea NOT NULL,
    body_bytes    integer NOT NULL,
    body_sha256   bytea NOT NULL CHECK (length(body_sha256) = 32),
    UNIQUE (body_sha256, path)
);
CREATE INDEX IF NOT EXISTS webhook_quarantine_seen_idx ON webhook_quarantine (last_seen_at);

-- What the quarantine admitted and turned away per hour, shared by every
-- process: the cap that keeps unauthenticated traffic from filling the disk.
-- `dropped` is a lower bound: a worker that finds the hour full stops asking
-- until the next hour; leadhook_quarantine_total{result="dropped"} counts all.
CREATE TABLE IF NOT EXISTS webhook_quarantine_usage (
    hour           timestamptz PRIMARY KEY,
    stored         integer NOT NULL DEFAULT 0,
    stored_bytes   bigint NOT NULL DEFAULT 0,
    dropped        integer NOT NULL DEFAULT 0,
    dropped_bytes  bigint NOT NULL DEFAULT 0
);
