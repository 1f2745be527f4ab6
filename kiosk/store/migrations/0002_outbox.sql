-- 0002: the outbox: facts for the platform, each written in the same transaction as the state change
-- that caused it, kept until the platform acknowledges its idempotency key, then deleted.
--
-- Only pending events live here: the platform keeps the delivered ones (deduplicated by key) and the
-- audit log keeps the locker's own history, so a delivered event is deleted, not archived.
-- Pending order is write order: the INTEGER PRIMARY KEY is the index that batches are read by, and
-- AUTOINCREMENT keeps ids growing even after every row has been deleted.
-- Nothing is backfilled for parcels placed before this migration: their history is in the audit log.

CREATE TABLE outbox (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    -- a uuid4 in its canonical text form (8-4-4-4-12 lower-case hex), as the API contract carries it
    idempotency_key TEXT NOT NULL UNIQUE CHECK (
        length(idempotency_key) = 36
        AND substr(idempotency_key, 9, 1) = '-' AND substr(idempotency_key, 14, 1) = '-'
        AND substr(idempotency_key, 19, 1) = '-' AND substr(idempotency_key, 24, 1) = '-'
        AND length(replace(idempotency_key, '-', '')) = 32
        AND replace(idempotency_key, '-', '') NOT GLOB '*[^0-9a-f]*'),
    kind TEXT NOT NULL CHECK (kind IN (
        'deposited', 'picked_up', 'returned', 'collected', 'door_fault', 'problem_report', 'alarm')),
    occurred_at REAL NOT NULL,
    -- no foreign keys: an event outlives the compartment or parcel it is about
    compartment_id TEXT,
    parcel_id TEXT,
    details TEXT NOT NULL DEFAULT '{}' CHECK (json_valid(details) AND json_type(details) = 'object'),
    attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error TEXT,
    last_attempt_at REAL
) STRICT;

-- What an event says is fixed when it is written; only the delivery bookkeeping changes.
CREATE TRIGGER outbox_event_is_immutable
BEFORE UPDATE OF id, idempotency_key, kind, occurred_at, compartment_id, parcel_id, details ON outbox
BEGIN
    SELECT RAISE(ABORT, 'an outbox event cannot change');
END;

-- One row: the depth, kept by triggers so that reading it is not a count over the whole queue, and
-- whether the backlog alarm is raised, so it is raised and cleared exactly once (it commits with the
-- event that crossed the threshold).
CREATE TABLE outbox_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    depth INTEGER NOT NULL CHECK (depth >= 0),
    backlog_alarm INTEGER NOT NULL CHECK (backlog_alarm IN (0, 1))
) STRICT;

INSERT INTO outbox_state (id, depth, backlog_alarm) VALUES (1, 0, 0);

CREATE TRIGGER outbox_state_is_one_row BEFORE DELETE ON outbox_state
BEGIN
    SELECT RAISE(ABORT, 'the outbox state row cannot be removed');
END;

CREATE TRIGGER outbox_depth_up AFTER INSERT ON outbox
BEGIN
    UPDATE outbox_state SET depth = depth + 1 WHERE id = 1;
END;

CREATE TRIGGER outbox_depth_down AFTER DELETE ON outbox
BEGIN
    UPDATE outbox_state SET depth = depth - 1 WHERE id = 1;
END;
