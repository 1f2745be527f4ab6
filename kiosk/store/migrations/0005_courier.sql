-- 0005: courier mode and returns: the courier at a deposit's or a collection's door, the deposit waiting for
-- its door to close (pending_deposits), photos of unannounced parcels, couriers found by id in any case.
--
-- Nothing is rebuilt: door_journal only gains a column, so every row and the method CHECK of 0003 stay as
-- they are.

-- The courier at the door, for a deposit or a collection only.
ALTER TABLE door_journal ADD COLUMN courier_id TEXT
    CHECK (courier_id IS NULL OR (purpose IN ('deposit', 'collect') AND courier_id <> ''));

-- A parcel about to go in (kiosk.core.model.Deposit), written with its journal intent and committed into
-- parcels when the door closes on it. A row lives only while its entry is unfinished: the trigger below
-- deletes it the moment the entry completes, faults or is cancelled (abandoned), so the pickup code in
-- clear never outlives its door. One pending door per parcel and per return authorisation.
CREATE TABLE pending_deposits (
    journal_id INTEGER PRIMARY KEY NOT NULL REFERENCES door_journal (id),
    parcel_id TEXT NOT NULL CHECK (parcel_id <> ''),
    size TEXT NOT NULL CHECK (size IN ('S', 'M', 'L', 'XL')),
    recipient TEXT NOT NULL,  -- '' for a return
    code_hash BLOB CHECK (code_hash IS NULL OR length(code_hash) = 32),
    -- the new pickup code in clear, told to the platform once by the deposited event
    pickup_code TEXT CHECK (pickup_code IS NULL OR (length(pickup_code) BETWEEN 6 AND 8
                                                    AND pickup_code NOT GLOB '*[^0-9]*')),
    courier_id TEXT CHECK (courier_id IS NULL OR courier_id <> ''),
    return_id TEXT CHECK (return_id IS NULL OR return_id <> ''),
    receipt_code TEXT CHECK (receipt_code IS NULL OR receipt_code <> ''),
    barcode TEXT CHECK (barcode IS NULL OR barcode <> ''),
    unannounced INTEGER NOT NULL DEFAULT 0 CHECK (unannounced IN (0, 1)),
    photo BLOB CHECK (photo IS NULL OR length(photo) BETWEEN 1 AND 2097152),
    CHECK (pickup_code IS NULL OR code_hash IS NOT NULL),  -- a code in clear only beside its hash
    CHECK (return_id IS NULL OR (code_hash IS NULL AND receipt_code IS NOT NULL)),  -- a return: no code
    CHECK (photo IS NULL OR unannounced = 1)
) STRICT;

CREATE UNIQUE INDEX pending_deposits_one_door_per_parcel ON pending_deposits (parcel_id);
CREATE UNIQUE INDEX pending_deposits_one_door_per_return ON pending_deposits (return_id)
WHERE return_id IS NOT NULL;

CREATE TRIGGER pending_deposits_end_with_their_entry AFTER UPDATE OF phase ON door_journal
WHEN NEW.phase IN ('completed', 'fault', 'cancelled')
BEGIN
    DELETE FROM pending_deposits WHERE journal_id = NEW.id;
END;

-- The photo a courier's camera took of a parcel the platform never announced, for the record. No foreign
-- key to parcels: a later migration that rebuilds parcels (DROP TABLE) would cascade into it.
CREATE TABLE parcel_photos (
    parcel_id TEXT PRIMARY KEY NOT NULL CHECK (parcel_id <> ''),
    jpeg BLOB NOT NULL CHECK (length(jpeg) BETWEEN 1 AND 2097152),
    taken_at REAL NOT NULL
) STRICT;

-- Courier ids arrive upper-cased from badges and typed in any case at the keypad.
CREATE INDEX couriers_by_id_in_any_case ON couriers (courier_id COLLATE NOCASE);

-- A courier's scanned label finds the parcel delivered with it before (parcel_by_barcode), however long the
-- history of the locker grows.
CREATE INDEX parcels_by_barcode ON parcels (barcode) WHERE barcode IS NOT NULL AND state <> 'expected';
