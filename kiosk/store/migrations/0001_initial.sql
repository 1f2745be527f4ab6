-- 0001: the locker's own truth: compartments, parcels, pickup credentials, the door journal,
-- the append-only audit log and small persistent state.
--
-- Enum-like columns whose values are fixed by the domain (sizes, states, phases) carry CHECKs;
-- door purposes do not, because new flows add purposes and SQLite cannot relax a CHECK in place.

CREATE TABLE compartments (
    id TEXT PRIMARY KEY NOT NULL,
    position INTEGER NOT NULL,             -- order in the configured layout
    size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    board INTEGER NOT NULL CHECK (board >= 0),
    lock INTEGER NOT NULL CHECK (lock >= 1),
    height_cm INTEGER NOT NULL CHECK (height_cm > 0),
    "column" INTEGER NOT NULL,
    state TEXT NOT NULL DEFAULT 'free' CHECK (state IN ('free', 'occupied', 'out_of_order')),
    out_of_order_reason TEXT,
    CHECK ((state = 'out_of_order') = (out_of_order_reason IS NOT NULL))
) STRICT;

CREATE TABLE parcels (
    id TEXT PRIMARY KEY NOT NULL,
    size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    state TEXT NOT NULL CHECK (state IN ('expected', 'in_locker', 'picked_up')),
    -- kept after pickup as history, so no foreign key: a compartment that leaves the layout
    -- must not take the history of its parcels with it
    compartment_id TEXT,
    recipient TEXT NOT NULL,
    created_at REAL NOT NULL,
    picked_up_at REAL,
    CHECK (state <> 'in_locker' OR compartment_id IS NOT NULL),
    CHECK ((state = 'picked_up') = (picked_up_at IS NOT NULL))
) STRICT;

-- One compartment never holds two parcels.
CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels (compartment_id) WHERE state = 'in_locker';

CREATE TRIGGER parcels_insert_into_known_compartment BEFORE INSERT ON parcels
WHEN NEW.state = 'in_locker' AND NOT EXISTS (SELECT 1 FROM compartments WHERE id = NEW.compartment_id)
BEGIN
    SELECT RAISE(ABORT, 'a parcel in the locker must be in a known compartment');
END;

CREATE TRIGGER parcels_update_into_known_compartment BEFORE UPDATE ON parcels
WHEN NEW.state = 'in_locker' AND NOT EXISTS (SELECT 1 FROM compartments WHERE id = NEW.compartment_id)
BEGIN
    SELECT RAISE(ABORT, 'a parcel in the locker must be in a known compartment');
END;

CREATE TRIGGER compartments_keep_while_holding_parcel BEFORE DELETE ON compartments
WHEN EXISTS (SELECT 1 FROM parcels WHERE compartment_id = OLD.id AND state = 'in_locker')
BEGIN
    SELECT RAISE(ABORT, 'a compartment holding a parcel cannot be removed');
END;

-- Codes are never stored: only keyed hashes, made by the caller.
CREATE TABLE pickup_credentials (
    parcel_id TEXT PRIMARY KEY NOT NULL REFERENCES parcels (id) ON DELETE CASCADE,
    code_hash BLOB NOT NULL CHECK (length(code_hash) > 0),
    created_at REAL NOT NULL,
    spent_at REAL
) STRICT;

CREATE INDEX pickup_credentials_live_by_hash ON pickup_credentials (code_hash) WHERE spent_at IS NULL;

CREATE TABLE door_journal (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    compartment_id TEXT NOT NULL,
    purpose TEXT NOT NULL CHECK (purpose <> ''),
    parcel_ids TEXT NOT NULL DEFAULT '[]' CHECK (json_valid(parcel_ids) AND json_type(parcel_ids) = 'array'),
    phase TEXT NOT NULL
        CHECK (phase IN ('intent', 'unlock_sent', 'opened', 'completed', 'fault', 'cancelled')),
    reason TEXT,
    unlock_attempts INTEGER NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    updated_at REAL NOT NULL
) STRICT;

-- One door transaction at a time per compartment.
CREATE UNIQUE INDEX door_journal_one_unfinished_per_compartment ON door_journal (compartment_id)
WHERE phase IN ('intent', 'unlock_sent', 'opened');

CREATE INDEX door_journal_unfinished_oldest_first ON door_journal (created_at, id)
WHERE phase IN ('intent', 'unlock_sent', 'opened');

-- A finished door transaction is history: it can never be applied twice.
CREATE TRIGGER door_journal_finished_is_final BEFORE UPDATE ON door_journal
WHEN OLD.phase IN ('completed', 'fault', 'cancelled')
BEGIN
    SELECT RAISE(ABORT, 'a finished door journal entry cannot change');
END;

-- No foreign keys: the audit log outlives compartments and parcels.
CREATE TABLE audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at REAL NOT NULL,
    kind TEXT NOT NULL CHECK (kind <> ''),
    compartment_id TEXT,
    parcel_id TEXT,
    details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object')
) STRICT;

CREATE TRIGGER audit_is_append_only_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TRIGGER audit_is_append_only_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;

CREATE TABLE kv_state (
    key TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT, WITHOUT ROWID;
