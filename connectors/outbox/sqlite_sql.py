"""The SQL behind `SQLiteOutbox`: its tables, triggers and the claim."""

from __future__ import annotations

from connectors.outbox import SUSPECT_CLAIMS

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox_messages (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL,
    grp TEXT NOT NULL,
    status TEXT NOT NULL,
    due_at REAL NOT NULL,
    claimed_by TEXT,
    lease_until REAL,
    updated_at REAL NOT NULL,
    payload BLOB NOT NULL,
    claims INTEGER NOT NULL DEFAULT 0,
    started_at REAL
);
CREATE INDEX IF NOT EXISTS outbox_claim ON outbox_messages (status, due_at);
CREATE INDEX IF NOT EXISTS outbox_pending_by_group ON outbox_messages (grp, customer_id)
    WHERE status = 'pending';
CREATE INDEX IF NOT EXISTS outbox_by_customer ON outbox_messages (customer_id);
CREATE TABLE IF NOT EXISTS outbox_counts (
    grp TEXT NOT NULL,
    status TEXT NOT NULL,
    n INTEGER NOT NULL,
    PRIMARY KEY (grp, status)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS outbox_provider_ids (
    channel TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    PRIMARY KEY (channel, provider_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS outbox_provider_ids_by_message ON outbox_provider_ids (message_id);
CREATE TRIGGER IF NOT EXISTS outbox_count_move AFTER UPDATE OF status ON outbox_messages
WHEN old.status <> new.status BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE grp = old.grp AND status = old.status;
    INSERT INTO outbox_counts (grp, status, n) VALUES (new.grp, new.status, 1)
        ON CONFLICT (grp, status) DO UPDATE SET n = n + 1;
END;
CREATE TRIGGER IF NOT EXISTS outbox_count_delete AFTER DELETE ON outbox_messages BEGIN
    UPDATE outbox_counts SET n = n - 1 WHERE grp = old.grp AND status = old.status;
END;
"""

# Expired claims first (there are few: at most what the workers hold), then due pending
# messages in due order; each part is a range of the (status, due_at) index, limited
# before anything is sorted, so a claim costs the same with a million waiting. A claim
# that expired twice in a row is a suspect (it may be what kills its workers): one per
# batch, so that a poison message takes no innocent batch-mates down with it again.
CLAIM = f"""
UPDATE outbox_messages SET status = 'sending', claimed_by = ?, lease_until = ?, updated_at = ?,
    claims = claims + 1
WHERE id IN (
    SELECT id FROM (
        SELECT id FROM outbox_messages WHERE status = 'sending' AND lease_until <= ?
            AND claims < {SUSPECT_CLAIMS} ORDER BY lease_until LIMIT ?)
    UNION ALL
    SELECT id FROM (
        SELECT id FROM outbox_messages WHERE status = 'sending' AND lease_until <= ?
            AND claims >= {SUSPECT_CLAIMS} ORDER BY lease_until LIMIT 1)
    UNION ALL
    SELECT id FROM (
        SELECT id FROM outbox_messages
        WHERE status = 'pending' AND due_at <= ? ORDER BY due_at LIMIT ?)
    LIMIT ?)
RETURNING payload, claims, started_at IS NOT NULL
"""
# Claims that expired `max_claims` times in a row: to the dead letters, not to a worker.
POISON = """
SELECT id, payload, claims FROM outbox_messages
WHERE status = 'sending' AND lease_until <= ? AND claims >= ? LIMIT ?
"""
# Whatever answered a claim (sent, retried, buried, a provider's word) clears these.
ANSWERED = "claims = 0, started_at = NULL, claimed_by = NULL, lease_until = NULL"
COLUMNS = "payload, status, updated_at, claims, started_at IS NOT NULL"
FINISHED = ("sent", "delivered", "read", "failed", "suppressed", "cancelled", "dead")
