-- lead_email_events: append-only, one row per accepted webhook, written in
-- the same transaction as the lead's new state.
CREATE TABLE IF NOT EXISTS lead_email_events (
    id               bigserial PRIMARY KEY,
    lead_id          bigint REFERENCES leads (id) ON DELETE SET NULL,  -- NULL: no lead matched
    event_type       text NOT NULL CHECK (event_type IN (
                         'delivered', 'opened', 'clicked', 'unsubscribed', 'complained',
                         'bounced', 'dropped', 'deferred', 'rejected', 'accepted', 'stored',
                         'unknown')),
    mailgun_event    text NOT NULL,      -- Mailgun's own name, e.g. 'failed'
    severity         text,               -- failed: permanent / temporary
    reason           text,
    recipient        text,
    message_id       text,               -- without angle brackets
    mailgun_event_id text,               -- event-data.id (JSON webhooks only)
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
    bot              text,               -- Mailgun's bot label: apple, gmail, generic
    url              text,
    code             text,               -- SMTP or Mailgun code, e.g. 550, 5.1.1, 605
    error            text,               -- the MTA's message
    description      text,
    tags             text[] NOT NULL DEFAULT '{}',
    user_variables   jsonb NOT NULL DEFAULT '{}',
    token            text NOT NULL,
    signature        text NOT NULL,
    body_format      text NOT NULL CHECK (body_format IN ('json', 'form', 'multipart')),
    route            text NOT NULL,
    payload          jsonb NOT NULL      -- event-data, or the form fields (attachments by name and size)
);

CREATE INDEX IF NOT EXISTS lead_email_events_lead_idx
    ON lead_email_events (lead_id, event_time);
CREATE INDEX IF NOT EXISTS lead_email_events_message_idx
    ON lead_email_events (message_id);
CREATE INDEX IF NOT EXISTS lead_email_events_received_idx
    ON lead_email_events (received_at);
