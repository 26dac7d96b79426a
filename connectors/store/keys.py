"""Every Redis key Forecall writes, with its type and lifetime.

Per-customer data shares the hash tag `{c:<id>}` so that one customer's keys sit in
one Redis Cluster slot and can change together; identity and key look-ups are
single-key entries in slots of their own.
"""

from __future__ import annotations

import zlib

PREFIX = "fc:"


def customer_tag(customer_id: str) -> str:
    """The hash tag every key of one customer carries: one Cluster slot per customer."""
    return f"{PREFIX}{{c:{customer_id}}}"


def record(customer_id: str) -> str:
    """STRING, no TTL: the customer record, packed (connectors.store.records)."""
    return f"{customer_tag(customer_id)}:r"


def profile(customer_id: str) -> str:
    """STRING, no TTL: 4-byte write version (compare-and-set) + the profile blob."""
    return f"{customer_tag(customer_id)}:p"


# Sized so that every bucket stays a listpack (under 128 entries) up to about 1.5M
# customers at 2.5 identities each; beyond that, raise it with a migration that re-buckets
# (`find_customer` looks only in the bucket this count names).
IDENTITY_BUCKETS = 32768


def identity_bucket(kind: str, value: str) -> tuple[str, str]:
    """HASH, no TTL: `kind:value` -> customer id, for the identities hashed to a bucket.

    Thousands of small hashes instead of one key per identity: Redis stores a small
    hash as one compact listpack, a third of the memory of separate keys.
    """
    field = f"{kind}:{value}"
    return f"{PREFIX}ids:{zlib.crc32(field.encode()) % IDENTITY_BUCKETS}", field


def api_key(key_hash: str) -> str:
    """STRING, no TTL: the API key record as JSON, by the SHA-256 of its secret."""
    return f"{PREFIX}key:{key_hash}"


def api_key_ids() -> str:
    """HASH, no TTL: key id -> key hash, to list and revoke keys by id."""
    return f"{PREFIX}keys"


def index_meta() -> str:
    """HASH, no TTL: audience term -> `level:split:count` of its linear-hashed buckets
    (connectors.store.redis_index)."""
    return f"{PREFIX}{{idx}}:meta"


def index_bucket_prefix(term: str) -> str:
    """HASH per bucket, no TTL: `<prefix><n>` holds customer ids (empty values) indexed
    under an audience term (`r:RU-MOW`, `s:internet`, `n:MOW-N012`). One hash tag for all
    of them, so that a query runs in one Cluster slot."""
    return f"{PREFIX}{{idx}}:{term}:"


def stops(customer_id: str) -> str:
    """HASH, no TTL: channel -> when the customer stopped it (the stop-list)."""
    return f"{customer_tag(customer_id)}:stop"


def incident(incident_id: str) -> str:
    """STRING, no TTL: the incident as JSON."""
    return f"{PREFIX}inc:{incident_id}"


def incidents() -> str:
    """SET, no TTL: every incident id, open or resolved (erasure walks their ledgers)."""
    return f"{PREFIX}incs"


def open_incidents() -> str:
    """SET, no TTL: ids of open incidents; the IVR path reads it on every call."""
    return f"{PREFIX}incs:open"


def incident_audience(incident_id: str) -> str:
    """SET, no TTL (kept for the incident's report): customers told of the incident."""
    return f"{PREFIX}inc:{incident_id}:aud"


def incident_counters(incident_id: str) -> str:
    """HASH, no TTL: counters of an incident (calls before and after the notice)."""
    return f"{PREFIX}inc:{incident_id}:n"


def call(call_id: str) -> str:
    """STRING, TTL CALL_TTL: an inbound contact's decision, for the card and its outcome."""
    return f"{PREFIX}call:{call_id}"


def customer_calls(customer_id: str) -> str:
    """SET, TTL CALL_TTL: the customer's recent call ids (so erasure finds them)."""
    return f"{customer_tag(customer_id)}:calls"


def examples(customer_id: str) -> str:
    """HASH, no TTL: call id -> labelled example (features, utterance, actual reason)."""
    return f"{customer_tag(customer_id)}:ex"


def marks(customer_id: str) -> str:
    """HASH, no TTL: the customer's named counters and values (policy caps, exposures)."""
    return f"{customer_tag(customer_id)}:mk"


def docs(collection: str) -> str:
    """HASH, no TTL: document id -> record, for one collection (approvals, audit)."""
    return f"{PREFIX}doc:{collection}"


def customer_docs(customer_id: str) -> str:
    """SET, no TTL: `collection/id` of the customer's documents, so erasure finds them."""
    return f"{customer_tag(customer_id)}:docs"


CALL_TTL = 7 * 86400


# The outbox. Every outbox key shares the hash tag `{ob}`, the customer's index of its
# messages too: the scripts that move a message run in one Cluster slot, and enqueue
# indexes the customer inside its script instead of with one more command per message.

OUTBOX_TAG = f"{PREFIX}{{ob}}"
OUTBOX_CONSUMER_GROUP = "dispatch"  # the consumer group every dispatcher worker joins
DEAD_LETTERS_MAXLEN = 100_000  # approximate cap (MAXLEN ~) of the dead-letter stream


def outbox_message(message_id: str) -> str:
    """HASH, no TTL: one message: `j` its JSON, `s` status and `u` updated_at (these two
    win over the JSON's), `g` group, `sid` its ready-stream entry while queued, `w` the
    claiming worker, `c` its claims in a row without an answer, `f` set while a provider
    request is under way, `did` its dead-letter entry, `pc`/`pid` the channel and
    provider id once sent. Deleted by erasure and by the retention purge."""
    return f"{OUTBOX_TAG}:m:{message_id}"


def outbox_ready() -> str:
    """STREAM, no TTL: ids of messages due now, read by the `dispatch` consumer group.
    Entries are XACKed and XDELed when their message leaves the queue."""
    return f"{OUTBOX_TAG}:ready"


def outbox_due() -> str:
    """ZSET, no TTL: ids of scheduled or retried messages by due time; moved to the ready
    stream by the claim script once due."""
    return f"{OUTBOX_TAG}:due"


def outbox_leases() -> str:
    """ZSET, no TTL: ids of claimed (`sending`) messages by lease end, in the callers'
    clock; an entry past its end is a crashed worker's, and the next claim takes it."""
    return f"{OUTBOX_TAG}:leases"


def outbox_dead() -> str:
    """STREAM, capped at DEAD_LETTERS_MAXLEN: ids of buried messages, oldest first;
    an entry is XDELed when its message is revived or erased."""
    return f"{OUTBOX_TAG}:dead"


def outbox_done() -> str:
    """ZSET, no TTL: ids of finished messages (final statuses, dead letters) by the time
    they finished; the retention purge deletes those older than the retention period."""
    return f"{OUTBOX_TAG}:done"


def outbox_group_pending(group: str) -> str:
    """SET, no TTL: ids of a group's pending messages, so a group is cancelled without a
    scan. Empties (and so disappears) as the group's messages are claimed."""
    return f"{OUTBOX_TAG}:gp:{group}"


def outbox_counts(group: str) -> str:
    """HASH, no TTL: status -> number of the group's messages, moved on every transition."""
    return f"{OUTBOX_TAG}:n:{group}"


def outbox_totals() -> str:
    """HASH, no TTL: status -> number of messages of every group (the backlog)."""
    return f"{OUTBOX_TAG}:n"


def outbox_provider_ids(channel: str) -> str:
    """HASH, no TTL: a provider's message id on the channel -> our message id."""
    return f"{OUTBOX_TAG}:pid:{channel}"


def outbox_customer(customer_id: str) -> str:
    """SET, no TTL: ids of the customer's outbox messages, so erasure finds them."""
    return f"{OUTBOX_TAG}:c:{customer_id}"


# Limits shared by every dispatcher worker (connectors.store.redis_limits). Each has a
# hash tag of its own, so that on a cluster the channels' limits spread over masters.


def rate_limit(name: str) -> str:
    """STRING, TTL until idle: the channel's token bucket as its theoretical arrival time
    (GCRA): when the bucket would next be full, in Redis's clock."""
    return f"{PREFIX}{{rl:{name}}}"


def breaker(name: str) -> str:
    """HASH, no TTL: the channel's circuit breaker: `f` failures in a row, `o` when it
    opened (the dispatchers' clock); absent while closed and clean."""
    return f"{PREFIX}{{br:{name}}}"
