-- 0003: what the platform announces (expected parcels, pickup credentials, couriers, return
-- authorisations) and the bookkeeping of syncing it; parcels that leave the locker other than by pickup;
-- parked outbox events; how a pickup was authorised.
--
-- parcels and pickup_credentials are rebuilt, because SQLite cannot alter a CHECK and the credential key
-- changes. This runs inside one transaction with foreign_keys=ON, which cannot be switched off there: the
-- old pickup_credentials REFERENCES parcels ON DELETE CASCADE, so dropping the old parcels first would
-- silently delete every credential. Hence: build both new tables, copy, drop the child, drop the parent,
-- rename. The trigger on compartments names parcels in its body, which ALTER TABLE RENAME would refuse
-- while parcels is missing, so it is dropped first and made again below.

DROP TRIGGER compartments_keep_while_holding_parcel;

CREATE TABLE parcels_rebuilt (
    id TEXT PRIMARY KEY NOT NULL,
    size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    state TEXT NOT NULL
        CHECK (state IN ('expected', 'in_locker', 'picked_up', 'expired', 'collected', 'returned')),
    -- kept after the parcel left as history, so no foreign key: a compartment that leaves the layout
    -- must not take the history of its parcels with it
    compartment_id TEXT,
    -- for announced parcels the platform's recipient_display_name
    recipient TEXT NOT NULL,
    created_at REAL NOT NULL,  -- written here: deposited, or announced by the platform
    picked_up_at REAL,
    barcode TEXT CHECK (barcode IS NULL OR barcode <> ''),  -- the label's, for announced parcels
    accessible INTEGER NOT NULL DEFAULT 0 CHECK (accessible IN (0, 1)),
    pickup_window_hours INTEGER CHECK (pickup_window_hours IS NULL OR pickup_window_hours >= 1),
    pickup_not_after REAL,
    -- 'platform': announced by a sync (an expected parcel always is); 'local': first known at the screen
    origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'platform')),
    -- the full-sync generation that last mentioned it (NULL: none ever did)
    seen_in_sync INTEGER,
    deposited_at REAL,  -- into the locker: the pickup window counts from here
    expired_at REAL,  -- its pickup window ended: waits for a courier
    collected_at REAL,  -- taken back out by a courier
    CHECK (state NOT IN ('in_locker', 'expired', 'returned') OR compartment_id IS NOT NULL),
    CHECK (state <> 'expected' OR compartment_id IS NULL),
    CHECK (state <> 'expected' OR origin = 'platform'),
    CHECK (origin = 'platform' OR seen_in_sync IS NULL),
    CHECK ((state = 'picked_up') = (picked_up_at IS NOT NULL)),
    CHECK ((state = 'collected') = (collected_at IS NOT NULL)),
    CHECK (state <> 'expired' OR expired_at IS NOT NULL)
) STRICT;

INSERT INTO parcels_rebuilt (id, size, state, compartment_id, recipient, created_at, picked_up_at, origin,
                             deposited_at)
SELECT id, size, state, CASE WHEN state = 'expected' THEN NULL ELSE compartment_id END, recipient, created_at,
       picked_up_at, CASE WHEN state = 'expected' THEN 'platform' ELSE 'local' END,
       CASE WHEN state = 'expected' THEN NULL ELSE created_at END
FROM parcels;

-- One row per (credential, parcel): a platform credential may open several parcels, and a parcel may have
-- several credentials (a re-issued code). Codes are never stored: only keyed hashes, made by the caller.
-- No foreign key to parcels: a synced credential may name a parcel that a later page announces, and must
-- open it from then on (and once it is deposited); every lookup joins parcels, so a row for a parcel the
-- locker does not know opens nothing. Local rows (the code made at deposit) must name a known parcel:
-- the triggers below keep what the old foreign key guaranteed for them.
CREATE TABLE pickup_credentials_rebuilt (
    id INTEGER PRIMARY KEY,
    parcel_id TEXT NOT NULL CHECK (parcel_id <> ''),
    credential_id TEXT CHECK (credential_id IS NULL OR credential_id <> ''),  -- the platform's; NULL: local
    code_hash BLOB NOT NULL CHECK (length(code_hash) > 0),
    created_at REAL NOT NULL,
    expires_at REAL,
    spent_at REAL,
    origin TEXT NOT NULL DEFAULT 'local' CHECK (origin IN ('local', 'platform')),
    seen_in_sync INTEGER,
    CHECK ((origin = 'local') = (credential_id IS NULL)),
    CHECK ((origin = 'platform') = (seen_in_sync IS NOT NULL)),
    UNIQUE (credential_id, parcel_id)
) STRICT;

INSERT INTO pickup_credentials_rebuilt (parcel_id, code_hash, created_at, spent_at, origin)
SELECT parcel_id, code_hash, created_at, spent_at, 'local' FROM pickup_credentials ORDER BY parcel_id;

DROP TABLE pickup_credentials;
DROP TABLE parcels;
ALTER TABLE parcels_rebuilt RENAME TO parcels;
ALTER TABLE pickup_credentials_rebuilt RENAME TO pickup_credentials;

-- One compartment never holds two parcels; an expired or returned parcel is still physically inside.
CREATE UNIQUE INDEX parcels_one_per_compartment ON parcels (compartment_id)
WHERE state IN ('in_locker', 'expired', 'returned');

-- A scanned label finds one announced parcel.
CREATE UNIQUE INDEX parcels_expected_by_barcode ON parcels (barcode) WHERE state = 'expected';

CREATE INDEX parcels_by_sync_generation ON parcels (seen_in_sync) WHERE origin = 'platform';

CREATE TRIGGER parcels_insert_into_known_compartment BEFORE INSERT ON parcels
WHEN NEW.state IN ('in_locker', 'expired', 'returned')
     AND NOT EXISTS (SELECT 1 FROM compartments WHERE id = NEW.compartment_id)
BEGIN
    SELECT RAISE(ABORT, 'a parcel in the locker must be in a known compartment');
END;

CREATE TRIGGER parcels_update_into_known_compartment BEFORE UPDATE ON parcels
WHEN NEW.state IN ('in_locker', 'expired', 'returned')
     AND NOT EXISTS (SELECT 1 FROM compartments WHERE id = NEW.compartment_id)
BEGIN
    SELECT RAISE(ABORT, 'a parcel in the locker must be in a known compartment');
END;

CREATE TRIGGER compartments_keep_while_holding_parcel BEFORE DELETE ON compartments
WHEN EXISTS (SELECT 1 FROM parcels WHERE compartment_id = OLD.id
                                      AND state IN ('in_locker', 'expired', 'returned'))
BEGIN
    SELECT RAISE(ABORT, 'a compartment holding a parcel cannot be removed');
END;

CREATE INDEX pickup_credentials_live_by_hash ON pickup_credentials (code_hash) WHERE spent_at IS NULL;
CREATE INDEX pickup_credentials_by_parcel ON pickup_credentials (parcel_id);
CREATE UNIQUE INDEX pickup_credentials_one_local_per_parcel ON pickup_credentials (parcel_id)
WHERE origin = 'local';

CREATE TRIGGER pickup_credentials_local_names_a_known_parcel BEFORE INSERT ON pickup_credentials
WHEN NEW.origin = 'local' AND NOT EXISTS (SELECT 1 FROM parcels WHERE id = NEW.parcel_id)
BEGIN
    SELECT RAISE(ABORT, 'a local pickup credential must name a known parcel');
END;

CREATE TRIGGER pickup_credentials_local_keeps_its_parcel BEFORE UPDATE OF parcel_id, origin ON pickup_credentials
WHEN NEW.origin = 'local' AND NOT EXISTS (SELECT 1 FROM parcels WHERE id = NEW.parcel_id)
BEGIN
    SELECT RAISE(ABORT, 'a local pickup credential must name a known parcel');
END;

-- What the old ON DELETE CASCADE did for them.
CREATE TRIGGER parcels_delete_local_credentials AFTER DELETE ON parcels
BEGIN
    DELETE FROM pickup_credentials WHERE parcel_id = OLD.id AND origin = 'local';
END;

CREATE TABLE couriers (
    courier_id TEXT PRIMARY KEY NOT NULL CHECK (courier_id <> ''),
    display_name TEXT NOT NULL CHECK (display_name <> ''),
    password_hash TEXT NOT NULL CHECK (password_hash <> ''),  -- a PHC string
    badge_secret_hash BLOB CHECK (badge_secret_hash IS NULL OR length(badge_secret_hash) > 0),
    can_collect INTEGER NOT NULL CHECK (can_collect IN (0, 1)),
    valid_until REAL,
    seen_in_sync INTEGER NOT NULL,
    synced_at REAL NOT NULL
) STRICT;

CREATE TABLE return_authorisations (
    return_id TEXT PRIMARY KEY NOT NULL CHECK (return_id <> ''),
    parcel_id TEXT NOT NULL CHECK (parcel_id <> ''),  -- the id the returned parcel will carry
    code_hash BLOB NOT NULL CHECK (length(code_hash) > 0),
    size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    expires_at REAL,
    used_at REAL,
    seen_in_sync INTEGER NOT NULL,
    synced_at REAL NOT NULL
) STRICT;

CREATE INDEX return_authorisations_live_by_hash ON return_authorisations (code_hash) WHERE used_at IS NULL;

-- One row: where the platform's change feed stands. `generation` goes up by one with every full sync
-- (a reset page); records carry the generation that last mentioned them, and when a full sync ends
-- everything older is forgotten.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    cursor TEXT CHECK (cursor IS NULL OR cursor <> ''),
    generation INTEGER NOT NULL CHECK (generation >= 0),
    full_sync_in_progress INTEGER NOT NULL CHECK (full_sync_in_progress IN (0, 1)),
    last_page_at REAL,
    last_complete_at REAL
) STRICT;

INSERT INTO sync_state (id, cursor, generation, full_sync_in_progress) VALUES (1, NULL, 0, 0);

CREATE TRIGGER sync_state_is_one_row BEFORE DELETE ON sync_state
BEGIN
    SELECT RAISE(ABORT, 'the sync state row cannot be removed');
END;

-- Parked outbox events: the platform refused them for good. They stay (with why), out of every batch and
-- out of the depth. Parking changes only these two columns, so outbox_event_is_immutable still holds.
ALTER TABLE outbox ADD COLUMN parked_at REAL;
ALTER TABLE outbox ADD COLUMN park_reason TEXT
    CHECK ((parked_at IS NULL) = (park_reason IS NULL) AND (park_reason IS NULL OR park_reason <> ''));

CREATE INDEX outbox_parked_oldest_first ON outbox (id) WHERE parked_at IS NOT NULL;

-- The depth counts pending events only.
DROP TRIGGER outbox_depth_up;
DROP TRIGGER outbox_depth_down;

CREATE TRIGGER outbox_depth_up AFTER INSERT ON outbox WHEN NEW.parked_at IS NULL
BEGIN
    UPDATE outbox_state SET depth = depth + 1 WHERE id = 1;
END;

CREATE TRIGGER outbox_depth_down AFTER DELETE ON outbox WHEN OLD.parked_at IS NULL
BEGIN
    UPDATE outbox_state SET depth = depth - 1 WHERE id = 1;
END;

CREATE TRIGGER outbox_depth_parked AFTER UPDATE OF parked_at ON outbox
WHEN OLD.parked_at IS NULL AND NEW.parked_at IS NOT NULL
BEGIN
    UPDATE outbox_state SET depth = depth - 1 WHERE id = 1;
END;

CREATE TRIGGER outbox_depth_unparked AFTER UPDATE OF parked_at ON outbox
WHEN OLD.parked_at IS NOT NULL AND NEW.parked_at IS NULL
BEGIN
    UPDATE outbox_state SET depth = depth + 1 WHERE id = 1;
END;

-- How a pickup was authorised; the picked_up events carry it.
ALTER TABLE door_journal ADD COLUMN method TEXT
    CHECK (method IS NULL OR (purpose = 'pickup' AND method IN ('code', 'qr', 'face')));
