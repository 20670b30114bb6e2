-- Two demo leads for the dev stack (./scripts/run applies this after sql/*.sql;
-- the tests never do). Safe to apply again: each row is inserted only when no
-- lead with that address exists.
--   ./scripts/send-test-webhook                      -> matches lead@example.com by message id
--   ./scripts/send-test-webhook --recipient other@example.com --message-id x
--                                                    -> matches the second lead by address
INSERT INTO leads (email_addr, followup_email_receipt_id, followup_email_sent_date)
SELECT 'lead@example.com', '20261129.demo.1@leadhook.test', now()
WHERE NOT EXISTS (SELECT 1 FROM leads WHERE email_addr = 'lead@example.com');

INSERT INTO leads (email_addr, followup_email_receipt_id, followup_email_sent_date)
SELECT 'other@example.com', '20261129.demo.2@leadhook.test', now() - interval '1 day'
WHERE NOT EXISTS (SELECT 1 FROM leads WHERE email_addr = 'other@example.com');
