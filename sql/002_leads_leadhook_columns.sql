-- Columns leadhook adds to the original leads table. Events arrive late and
-- out of order, so the status and the latest open/click details remember the
-- event time they came from, and an older event cannot overwrite them.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS followup_email_status_at timestamptz;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS followup_email_open_at   timestamptz;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS followup_email_click_at  timestamptz;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS bounce_code              text;
-- Bounce and drop details describe the newest bounce / drop by event time.
ALTER TABLE leads ADD COLUMN IF NOT EXISTS followup_email_bounced_at timestamptz;
ALTER TABLE leads ADD COLUMN IF NOT EXISTS followup_email_dropped_at timestamptz;

-- Lead lookup: by message id (angle brackets ignored), else by address.
CREATE INDEX IF NOT EXISTS leads_receipt_id_idx
    ON leads (btrim(followup_email_receipt_id, '<> '));
CREATE INDEX IF NOT EXISTS leads_email_idx
    ON leads (lower(email_addr), followup_email_sent_date DESC);
