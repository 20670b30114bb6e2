-- The original app's leads table, as its SQLAlchemy model created it, bounds
-- the text columns leadhook writes: VARCHAR(20) followup_email_status,
-- VARCHAR(50) dropped_reason and dropped_code, VARCHAR(255) the rest. Mailgun
-- does not keep to those bounds (a bounce's MTA message is often longer than
-- 255 characters), and one value too long for its column fails its event
-- (22001) for as long as Mailgun retries. So every text column leadhook
-- writes becomes `text`. From varchar(n) that rewrites no table and keeps the
-- plain indexes on it (an index on an expression over such a column is
-- rebuilt); the original app reads and writes them as before.
--
-- A leads table that lacks a column leadhook reads or writes gets it, as
-- 001_leads.sql declares it. A column of a type leadhook cannot write is
-- refused, naming the statement that fixes it: better now than a 500 for
-- every event later. docs/migrating.md says what was decided for each column.
DO $$
DECLARE
    written CONSTANT text[] := ARRAY[
        'followup_email_status', 'followup_email_open_ip', 'followup_email_open_device',
        'followup_email_click_ip', 'followup_email_click_device', 'dropped_reason',
        'dropped_code', 'dropped_description', 'bounce_error', 'bounce_code'];
    missing text;
    bounded text[];
    views text;
    wrong text;
    fixes text;
BEGIN
    -- A busy table (the original app still running) fails the migration
    -- after a while rather than queueing every query on leads behind it.
    SET LOCAL lock_timeout = '10s';

    -- Only what is missing, so that a leads table with every column (one
    -- leadhook made) takes no lock here.
    SELECT string_agg(format('ADD COLUMN %I %s', name, definition), ', ') INTO missing
    FROM (VALUES
        ('followup_email_receipt_id', 'text'),
        ('followup_email_sent_date', 'timestamptz'),
        ('followup_email_status', 'text'),
        ('followup_email_delivered', 'boolean NOT NULL DEFAULT false'),
        ('followup_email_bounced', 'boolean NOT NULL DEFAULT false'),
        ('followup_email_opens', 'integer NOT NULL DEFAULT 0'),
        ('followup_email_clicks', 'integer NOT NULL DEFAULT 0'),
        ('followup_email_spam', 'boolean NOT NULL DEFAULT false'),
        ('followup_email_unsub', 'boolean NOT NULL DEFAULT false'),
        ('followup_email_dropped', 'boolean NOT NULL DEFAULT false'),
        ('followup_email_click_ip', 'text'),
        ('followup_email_click_device', 'text'),
        ('followup_email_open_ip', 'text'),
        ('followup_email_open_device', 'text'),
        ('webhook_last_updated', 'timestamptz'),
        ('dropped_reason', 'text'),
        ('dropped_code', 'text'),
        ('dropped_description', 'text'),
        ('bounce_error', 'text'),
        ('is_optout', 'boolean NOT NULL DEFAULT false')) AS wanted(name, definition)
    WHERE NOT EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = 'leads'::regclass
                      AND attname = wanted.name AND NOT attisdropped);
    IF missing IS NOT NULL THEN
        EXECUTE 'ALTER TABLE leads ' || missing;
    END IF;

    SELECT array_agg(attname::text ORDER BY attnum) INTO bounded FROM pg_attribute
    WHERE attrelid = 'leads'::regclass AND NOT attisdropped AND attname = ANY (written)
      AND atttypid = 'varchar'::regtype AND atttypmod <> -1;
    IF bounded IS NOT NULL THEN
        -- ALTER TYPE refuses a column a view uses; say which, and what to do.
        SELECT string_agg(format('%s (%s)', view, columns), ', ') INTO views
        FROM (SELECT v.oid::regclass::text AS view,
                     string_agg(DISTINCT a.attname::text, ', ') AS columns
              FROM pg_depend d
              JOIN pg_rewrite r ON r.oid = d.objid
              JOIN pg_class v ON v.oid = r.ev_class
              JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid
              WHERE d.classid = 'pg_rewrite'::regclass AND d.refobjid = 'leads'::regclass
                AND v.oid <> 'leads'::regclass AND a.attname = ANY (bounded)
              GROUP BY v.oid) uses;
        IF views IS NOT NULL THEN
            RAISE EXCEPTION 'views use leads columns that leadhook widens to text: %', views
                USING HINT = 'Keep their definitions (SELECT pg_get_viewdef(''VIEW'')), '
                             'drop them, run leadhook migrate again, then create them again.';
        END IF;
        EXECUTE (SELECT 'ALTER TABLE leads '
                        || string_agg(format('ALTER COLUMN %I TYPE text', c), ', ')
                 FROM unnest(bounded) c);
    END IF;

    -- Every column leadhook reads or writes, and the types it can use.
    SELECT string_agg(format('%s is %s (leadhook needs %s)', a.attname,
                             format_type(a.atttypid, a.atttypmod),
                             array_to_string(want.types, ' or ')), '; '),
           string_agg(format('ALTER COLUMN %I TYPE %s', a.attname, want.types[1])
                      || CASE WHEN want.types[1] = 'boolean'
                              THEN format(' USING %I <> 0', a.attname) ELSE '' END, ', ')
    INTO wrong, fixes
    FROM (VALUES
        ('id', ARRAY['bigint', 'integer']),
        ('email_addr', ARRAY['text', 'character varying']),
        ('followup_email_receipt_id', ARRAY['text', 'character varying']),
        ('followup_email_sent_date',
         ARRAY['timestamp with time zone', 'timestamp without time zone']),
        ('webhook_last_updated',
         ARRAY['timestamp with time zone', 'timestamp without time zone']),
        ('followup_email_opens', ARRAY['integer', 'bigint']),
        ('followup_email_clicks', ARRAY['integer', 'bigint']),
        ('followup_email_delivered', ARRAY['boolean']),
        ('followup_email_bounced', ARRAY['boolean']),
        ('followup_email_spam', ARRAY['boolean']),
        ('followup_email_unsub', ARRAY['boolean']),
        ('followup_email_dropped', ARRAY['boolean']),
        ('is_optout', ARRAY['boolean'])
        UNION ALL
        SELECT c, ARRAY['text', 'character varying'] FROM unnest(written) c
        ) AS want(name, types)
    JOIN pg_attribute a ON a.attrelid = 'leads'::regclass AND a.attname = want.name
    WHERE NOT a.attisdropped AND format_type(a.atttypid, NULL) <> ALL (want.types);
    IF wrong IS NOT NULL THEN
        RAISE EXCEPTION 'leads has columns leadhook cannot use: %', wrong
            USING HINT = format('Change them, e.g. ALTER TABLE leads %s; then run leadhook '
                                'migrate again (docs/migrating.md).', fixes);
    END IF;
EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'leads is in use: no lock on it within 10 s'
        USING HINT = 'Stop what holds it (the original app?) and run leadhook migrate again.';
END $$;
