-- leads: the original Flask app's table, with its column names kept, so an
-- existing database can be pointed at leadhook as it is. IF NOT EXISTS keeps
-- every file safe to apply again.
CREATE TABLE IF NOT EXISTS leads (
    id                          bigserial PRIMARY KEY,
    email_addr                  text NOT NULL,
    followup_email_receipt_id   text,        -- Mailgun message id of the follow-up email
    followup_email_sent_date    timestamptz,
    followup_email_status       text,        -- type of the newest event (by event time)
    followup_email_delivered    boolean NOT NULL DEFAULT false,
    followup_email_bounced      boolean NOT NULL DEFAULT false,
    followup_email_opens        integer NOT NULL DEFAULT 0,
    followup_email_clicks       integer NOT NULL DEFAULT 0,
    followup_email_spam         boolean NOT NULL DEFAULT false,
    followup_email_unsub        boolean NOT NULL DEFAULT false,
    followup_email_dropped      boolean NOT NULL DEFAULT false,
    followup_email_click_ip     text,
    followup_email_click_device text,
    followup_email_open_ip      text,
    followup_email_open_device  text,
    webhook_last_updated        timestamptz,
    dropped_reason              text,
    dropped_code                text,
    dropped_description         text,
    bounce_error                text,
    is_optout                   boolean NOT NULL DEFAULT false
);
