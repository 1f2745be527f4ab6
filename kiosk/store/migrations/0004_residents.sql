-- 0004: standalone mode: the resident directory (imported from a building's spreadsheet), which parcel is
-- whose, and the e-mails to send (kiosk/store/residents.py describes the rules).

CREATE TABLE residents (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL CHECK (length(trim(name)) > 0),
    unit TEXT NOT NULL CHECK (length(trim(unit)) > 0),     -- flat or unit, as the building names it
    -- the resident's identity across imports; compared without regard to (ASCII) case
    email TEXT NOT NULL UNIQUE COLLATE NOCASE CHECK (instr(email, '@') > 1),
    language TEXT CHECK (language IS NULL OR language IN ('en', 'de')),  -- NULL: the locker's default
    phone TEXT,
    -- 0: no longer in the building's list, kept only while a parcel of theirs is in the locker
    active INTEGER NOT NULL DEFAULT 1 CHECK (active IN (0, 1)),
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
) STRICT;

-- Whose parcel is whose: written with the deposit, so an import never removes a resident whose parcel is
-- still in the locker. Removing a resident (their parcels gone) removes their links. No foreign key to
-- parcels: a later migration that rebuilds that table (DROP TABLE parcels) would cascade into this one;
-- a link to a parcel that is gone simply finds no parcel in the locker.
CREATE TABLE resident_parcels (
    parcel_id TEXT PRIMARY KEY NOT NULL,
    resident_id INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    at REAL NOT NULL
) STRICT;

CREATE INDEX resident_parcels_by_resident ON resident_parcels (resident_id);

-- The e-mails to send. A row lives until the SMTP server accepted the mail, or its parcel left the
-- locker; then it is deleted, and with it the pickup code it carries in clear (the mail's whole point).
CREATE TABLE mail_queue (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    resident_id INTEGER NOT NULL REFERENCES residents (id) ON DELETE CASCADE,
    -- no foreign key: whether the parcel is still in the locker is read at send time
    parcel_id TEXT NOT NULL,
    code TEXT NOT NULL CHECK (length(code) BETWEEN 6 AND 8 AND code NOT GLOB '*[^0-9]*'),
    compartment_id TEXT NOT NULL,
    size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    locker_name TEXT NOT NULL,
    queued_at REAL NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error TEXT,
    last_attempt_at REAL,
    -- 1: the SMTP server refused it for good; not retried until released
    held INTEGER NOT NULL DEFAULT 0 CHECK (held IN (0, 1)),
    next_attempt_at REAL,
    CHECK (held = 1 OR next_attempt_at IS NOT NULL)
) STRICT;

CREATE INDEX mail_queue_due ON mail_queue (next_attempt_at) WHERE held = 0;
CREATE INDEX mail_queue_by_resident ON mail_queue (resident_id);
