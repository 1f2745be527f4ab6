-- 0006: face pickup (opt-in): who a parcel is for, as the platform's pseudonymous key, and the enrolled faces
-- keyed to it.
--
-- Nothing is rebuilt: parcels only gains a nullable column, so every row and CHECK of 0003 stays as it is.

-- A stable pseudonymous key of the recipient (the platform's recipient_ref; standalone "resident:<id>"), never
-- a name, e-mail or phone number. NULL: unknown, and such a parcel is never opened by a face.
ALTER TABLE parcels ADD COLUMN recipient_ref TEXT
    CHECK (recipient_ref IS NULL OR (length(recipient_ref) BETWEEN 1 AND 128
                                     AND recipient_ref NOT GLOB '*[^!-~]*'));

-- The face gallery asks, for every enrolled recipient, whether a parcel of theirs is in the locker now.
CREATE INDEX parcels_by_recipient_ref ON parcels (recipient_ref) WHERE recipient_ref IS NOT NULL;

-- One enrolment per recipient: consenting again replaces it. Only the face encodings are kept, sealed
-- (Fernet, kiosk/face_vault.py) under the key in the secrets file, so a copy of this file alone gives away no
-- biometric data; never a picture. No foreign key to parcels: an enrolment outlives the parcel it was made
-- with (the next parcel for the same recipient opens by face), until consent is withdrawn or it goes unused.
CREATE TABLE face_profiles (
    recipient_ref TEXT PRIMARY KEY NOT NULL
        CHECK (length(recipient_ref) BETWEEN 1 AND 128 AND recipient_ref NOT GLOB '*[^!-~]*'),
    sealed_encodings BLOB NOT NULL CHECK (length(sealed_encodings) > 0),
    enrolled_at REAL NOT NULL,
    last_used_at REAL NOT NULL
) STRICT, WITHOUT ROWID;

-- forget_unused_faces looks for enrolments neither made nor used for a long time.
CREATE INDEX face_profiles_by_last_use ON face_profiles (max(enrolled_at, last_used_at));
