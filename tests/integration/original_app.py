#!/usr/bin/python3
"""The original Flask + SQLAlchemy app's tables, as its model declares them,
for the tests that point leadhook at the original app's own database.

Run with Debian's python3, which has Debian's SQLAlchemy (python3-sqlalchemy):

    /usr/bin/python3 tests/integration/original_app.py ddl postgresql|mysql

prints the CREATE TABLE statements SQLAlchemy's create_all() issues for that
engine (companies, then leads). No database or driver is needed: the DDL is
compiled, not executed.

The model is the original app's `Lead` (column for column: types, lengths,
nullability, its client-side defaults) and the `Company` its foreign key
points at. The original declares `ForeignKey('company.id')` while the table
is `companies`, which create_all cannot resolve; a working deployment points
at `companies`, and so does this one. `../shared/peers/flask-seed/app.py`
carries the same `Lead` columns (its `email_addr` maps to a column named
`email`); leadhook keeps the original's column name, `email_addr`.

Python-side defaults (`default=...`) are not part of the DDL: SQLAlchemy
fills them in on INSERT. app_row() does the same for test rows, so a row
"written by the original app" has exactly the values the app would give it.
"""
import sys
from datetime import datetime

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Integer, String
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.orm import declarative_base
from sqlalchemy.schema import CreateTable

Base = declarative_base()


class Company(Base):
    __tablename__ = "companies"
    id = Column(Integer, primary_key=True)
    x_identifier = Column(String(255), unique=True, nullable=False)
    name = Column(String(255), unique=True, nullable=False)
    address1 = Column(String(255), nullable=False)
    address2 = Column(String(255))
    city = Column(String(255), nullable=False)
    state = Column(String(2), nullable=False)
    zip_code = Column(String(10), nullable=False)
    zip_4 = Column(String(10))
    status = Column(Boolean, default=True)
    contact_email_1 = Column(String(255), nullable=False)
    contact_email_2 = Column(String(255), nullable=False)
    alert_email = Column(String(255), nullable=False)
    reports_email = Column(String(255), nullable=False)
    phone_number = Column(String(20), nullable=False)


class Lead(Base):
    __tablename__ = "leads"
    id = Column(Integer, primary_key=True)
    company_id = Column(Integer, ForeignKey("companies.id"), nullable=False)
    create_date = Column(DateTime, onupdate=datetime.now)
    modified_date = Column(DateTime, onupdate=datetime.now)
    email_addr = Column(String(255), nullable=False)
    is_verified = Column(Boolean, default=False)
    is_optout = Column(Boolean, default=False)
    is_processed = Column(Boolean, default=False)
    followup_email_sent_date = Column(DateTime)
    followup_email_receipt_id = Column(String(255), nullable=True, default="NOSTATUSID")
    followup_email_status = Column(String(20), nullable=True, default="EMAILNOTSENT")
    followup_email_delivered = Column(Boolean, default=False, nullable=True)
    followup_email_bounced = Column(Boolean, default=False, nullable=True)
    followup_email_opens = Column(Integer, default=0, nullable=True)
    followup_email_clicks = Column(Integer, default=0, nullable=True)
    followup_email_spam = Column(Boolean, default=False, nullable=True)
    followup_email_unsub = Column(Boolean, default=False, nullable=True)
    followup_email_dropped = Column(Boolean, default=False, nullable=True)
    followup_email_click_ip = Column(String(255))
    followup_email_click_device = Column(String(255))
    followup_email_open_campaign = Column(String(255), nullable=True)
    followup_email_open_ip = Column(String(255), nullable=True)
    followup_email_open_device = Column(String(255), nullable=True)
    webhook_last_updated = Column(DateTime, onupdate=datetime.now, nullable=True)
    dropped_reason = Column(String(50))
    dropped_code = Column(String(50))
    dropped_description = Column(String(255))
    bounce_error = Column(String(255))


DIALECTS = {"postgresql": postgresql.dialect(), "mysql": mysql.dialect()}


def ddl(engine):
    """The statements create_all() issues on `engine`, in its order."""
    dialect = DIALECTS[engine]
    return "".join(str(CreateTable(t).compile(dialect=dialect)).strip() + ";\n\n"
                   for t in Base.metadata.sorted_tables)


def leads_columns():
    """The leads table's columns in model order, with their PostgreSQL type
    as format_type() names it: [("id", "integer"), ...]."""
    pg = DIALECTS["postgresql"]
    return [(c.name, c.type.compile(dialect=pg).lower().replace("varchar(", "character varying("))
            for c in Lead.__table__.columns]


def app_row(table, **values):
    """A row as the original app inserts it: `values`, and the model's
    Python-side scalar default for every column not given (None where the
    model has none)."""
    row = {}
    for column in Base.metadata.tables[table].columns:
        if column.name in values:
            row[column.name] = values.pop(column.name)
        elif column.default is not None and column.default.is_scalar:
            row[column.name] = column.default.arg
        elif not column.primary_key:
            row[column.name] = None
    if values:
        raise KeyError("not columns of %s: %s" % (table, ", ".join(values)))
    return row


COMPANY = dict(id=1, x_identifier="acme-1", name="Acme Motors", address1="1 Main St",
               city="Springfield", state="IL", zip_code="62701", contact_email_1="a@acme.example",
               contact_email_2="b@acme.example", alert_email="alerts@acme.example",
               reports_email="reports@acme.example", phone_number="555-0100")


def sample_leads():
    """Leads as the original app left them: rows it wrote after sending a
    follow-up (its defaults, Mailgun's "Queued. Thank you." as the status),
    one it never sent to, and rows with NULL wherever its model allows one
    (inserted by other tools, or before a column had a default). Times are
    the app's local wall-clock times, as its DateTime columns hold them."""
    sent = [
        app_row("leads", id=1, company_id=1, email_addr="ann@alpha.example",
                create_date="2026-11-02 09:15:00", is_processed=True,
                followup_email_sent_date="2026-11-02 09:16:30",
                followup_email_receipt_id="<20261102091630.1.A1@mg.leadhook.test>",
                followup_email_status="Queued. Thank you."),
        app_row("leads", id=2, company_id=1, email_addr="Bob.OBrien@Beta.example",
                create_date="2026-11-02 10:00:00", is_verified=True, is_processed=True,
                followup_email_sent_date="2026-11-02 10:01:00",
                followup_email_receipt_id="<20261102100100.2.B2@mg.leadhook.test>",
                followup_email_status="Queued. Thank you.",
                followup_email_open_campaign="Frühling: 'trade-in' offer"),
        app_row("leads", id=3, company_id=1, email_addr="cat@alpha.example",
                create_date="2026-11-03 08:00:00"),
    ]
    nulls = [dict(id=n, company_id=1, email_addr=email, create_date=None, modified_date=None,
                  is_verified=None, is_optout=None, is_processed=None,
                  followup_email_sent_date=sent_at, followup_email_receipt_id=None,
                  followup_email_status=None, followup_email_delivered=None,
                  followup_email_bounced=None, followup_email_opens=None,
                  followup_email_clicks=None, followup_email_spam=None,
                  followup_email_unsub=None, followup_email_dropped=None,
                  followup_email_click_ip=None, followup_email_click_device=None,
                  followup_email_open_campaign=None, followup_email_open_ip=None,
                  followup_email_open_device=None, webhook_last_updated=None,
                  dropped_reason=None, dropped_code=None, dropped_description=None,
                  bounce_error=None)
             for n, email, sent_at in ((4, "dan@gamma.example", "2026-11-04 12:30:00"),
                                       (5, "eve@gamma.example", None))]
    return sent + nulls


def sql_literal(value, engine):
    """`value` as an SQL literal for `engine` (None, bool, int or str)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int):
        return str(value)
    text = value.replace("'", "''")
    if engine == "mysql":  # MySQL reads backslash escapes in string literals
        text = text.replace("\\", "\\\\")
    return "'" + text + "'"


def insert_sql(table, rows, engine, returning=None):
    """One INSERT of `rows` (dicts with the same keys) into `table`."""
    columns = list(rows[0])
    values = ",\n".join("(" + ", ".join(sql_literal(row[c], engine) for c in columns) + ")"
                        for row in rows)
    tail = " RETURNING " + returning if returning else ""
    return "INSERT INTO %s (%s) VALUES\n%s%s;\n" % (table, ", ".join(columns), values, tail)


def seed_sql(engine):
    """The company and sample_leads(), as INSERTs for `engine`."""
    return (insert_sql("companies", [app_row("companies", **COMPANY)], engine) +
            insert_sql("leads", sample_leads(), engine))


if __name__ == "__main__":
    if len(sys.argv) != 3 or sys.argv[1] != "ddl" or sys.argv[2] not in DIALECTS:
        sys.exit("usage: original_app.py ddl postgresql|mysql")
    sys.stdout.write(ddl(sys.argv[2]))
