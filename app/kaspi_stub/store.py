"""The stub's state in SQLite: payments, refunds and the fault settings.

One file on disk so state survives restarts and is shared by every gunicorn
worker process. WAL lets readers run beside a writer; busy_timeout makes a
writer wait for the lock instead of failing. Connections are in autocommit
mode: each single statement is atomic, and read-check-write sequences take the
write lock up front with ``BEGIN IMMEDIATE``.

Times are stored as fixed-format UTC text (``2025-01-31T12:00:00.000000+00:00``)
so SQL can compare them as strings.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    payment_id      INTEGER PRIMARY KEY,
    external_id     TEXT    NOT NULL UNIQUE,
    amount          TEXT    NOT NULL,
    paid_amount     TEXT,
    status          TEXT    NOT NULL DEFAULT 'Wait',
    transaction_id  TEXT,
    created_at      TEXT    NOT NULL,
    expire_at       TEXT    NOT NULL,
    refunded_amount TEXT    NOT NULL DEFAULT '0.00',
    phone           TEXT
);
CREATE TABLE IF NOT EXISTS returns (
    return_id   INTEGER PRIMARY KEY AUTOINCREMENT,
    payment_id  INTEGER NOT NULL REFERENCES payments (payment_id),
    amount      TEXT    NOT NULL,
    created_at  TEXT    NOT NULL
);
CREATE TABLE IF NOT EXISTS faults (
    id          INTEGER PRIMARY KEY CHECK (id = 1),
    latency_ms  INTEGER NOT NULL DEFAULT 0,
    error_rate  REAL    NOT NULL DEFAULT 0.0,
    timeout_ms  INTEGER NOT NULL DEFAULT 0,
    fail_next   INTEGER NOT NULL DEFAULT 0
);
INSERT OR IGNORE INTO faults (id) VALUES (1);
CREATE TABLE IF NOT EXISTS create_calls (
    external_id TEXT    PRIMARY KEY,
    calls       INTEGER NOT NULL
);
"""

FAULT_FIELDS = ("latency_ms", "error_rate", "timeout_ms", "fail_next")
# Statuses after which a buyer can no longer pay or decline (without ``force``).
# ``Canceled``: the merchant closed the payment before it was paid (``void``).
# ``RemotePaymentCanceled``, ``RemotePaymentRejected``: an invoice to a phone closed.
FINAL_STATUSES = (
    "Processed",
    "Error",
    "Canceled",
    "RemotePaymentCanceled",
    "RemotePaymentRejected",
)
# A remote payment (an invoice to a phone, ``remote/create``) starts in this status;
# the buyer accepts (Processed) or rejects it (RemotePaymentRejected) in the app.
REMOTE_CREATED = "RemotePaymentCreated"
# Random 12-digit ids: a deleted state file can never hand out an id again that a
# billing database still remembers for another payment.
PAYMENT_ID_LOW = 10**11
PAYMENT_ID_SPAN = 9 * 10**11


def new_payment_id() -> int:
    return secrets.randbelow(PAYMENT_ID_SPAN) + PAYMENT_ID_LOW


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_text(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def from_text(text: str) -> datetime:
    return datetime.fromisoformat(text)


class Refused(Exception):
    """The store refuses an operation; ``reason`` says why (mapped to a StatusCode)."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


@dataclass(frozen=True)
class Payment:
    payment_id: int
    external_id: str
    amount: Decimal
    status: str
    transaction_id: str | None
    created_at: datetime
    expire_at: datetime
    refunded_amount: Decimal
    # What the buyer actually paid, when it differs from what was asked (a fault).
    paid_amount: Decimal | None = None
    # The phone a remote payment (an invoice) was sent to; None for a QR link.
    phone: str | None = None

    @property
    def reported_amount(self) -> Decimal:
        """The Amount status answers carry: what was paid once paid, else what is asked."""
        return self.paid_amount if self.paid_amount is not None else self.amount

    def expired(self, now: datetime | None = None) -> bool:
        return (now or utcnow()) >= self.expire_at

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Payment:
        return cls(
            payment_id=row["payment_id"],
            external_id=row["external_id"],
            amount=Decimal(row["amount"]),
            status=row["status"],
            transaction_id=row["transaction_id"],
            created_at=from_text(row["created_at"]),
            expire_at=from_text(row["expire_at"]),
            refunded_amount=Decimal(row["refunded_amount"]),
            paid_amount=None if row["paid_amount"] is None else Decimal(row["paid_amount"]),
            phone=row["phone"] if "phone" in row.keys() else None,  # noqa: SIM118 (a Row)
        )


@dataclass(frozen=True)
class Faults:
    latency_ms: int = 0
    error_rate: float = 0.0
    timeout_ms: int = 0
    fail_next: int = 0


def connect(path: str | Path) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=10.0, isolation_level=None)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 10000")
    conn.execute("PRAGMA foreign_keys = ON")
    return conn


def init_db(path: str | Path) -> None:
    """Create the file, its parent directory and the tables if missing (idempotent).

    Every gunicorn worker runs this at start-up; busy_timeout lets them queue.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    conn = connect(path)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(SCHEMA)
        _upgrade_payments(conn)
    finally:
        conn.close()


def _upgrade_payments(conn: sqlite3.Connection) -> None:
    """Bring a state file written by an older stub to the current payments table.

    Older files limited ``status`` to three values by a CHECK and had no
    ``paid_amount``; SQLite cannot drop a CHECK, so the table is rebuilt once.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        row = conn.execute(
            "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'payments'"
        ).fetchone()
        if row is not None and "paid_amount" not in row["sql"]:
            conn.execute("ALTER TABLE payments RENAME TO payments_old")
            conn.execute(SCHEMA.split(";")[0])
            conn.execute(
                "INSERT INTO payments (payment_id, external_id, amount, status, transaction_id,"
                " created_at, expire_at, refunded_amount)"
                " SELECT payment_id, external_id, amount, status, transaction_id,"
                " created_at, expire_at, refunded_amount FROM payments_old"
            )
            conn.execute("DROP TABLE payments_old")
        columns = {r["name"] for r in conn.execute("PRAGMA table_info(payments)")}
        if "phone" not in columns:  # files written before remote payments
            conn.execute("ALTER TABLE payments ADD COLUMN phone TEXT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


class Store:
    """Operations on one connection; the app opens one per request."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    @contextmanager
    def _write_transaction(self) -> Iterator[None]:
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        self.conn.execute("COMMIT")

    # -- payments ----------------------------------------------------------

    def get_payment(self, payment_id: int) -> Payment:
        row = self.conn.execute(
            "SELECT * FROM payments WHERE payment_id = ?", (payment_id,)
        ).fetchone()
        if row is None:
            raise Refused("not_found", "Purchase not found")
        return Payment.from_row(row)

    def create_remote(self, external_id: str, amount: Decimal, phone: str, ttl_s: int) -> Payment:
        """A remote payment: an invoice sent to ``phone``, the same ExternalId rules."""
        payment = self.create_payment(external_id, amount, ttl_s)
        self.conn.execute(
            "UPDATE payments SET phone = ?, status = ? WHERE payment_id = ? AND phone IS NULL"
            " AND status = 'Wait'",
            (phone, REMOTE_CREATED, payment.payment_id),
        )
        return self.get_payment(payment.payment_id)

    def create_payment(self, external_id: str, amount: Decimal, ttl_s: int) -> Payment:
        """The payment for ``external_id``, created on first sight.

        Safe under concurrent calls from many processes: the UNIQUE constraint
        decides which INSERT wins; everyone then reads the same row.
        """
        self.conn.execute(
            "INSERT INTO create_calls (external_id, calls) VALUES (?, 1)"
            " ON CONFLICT (external_id) DO UPDATE SET calls = calls + 1",
            (external_id,),
        )
        now = utcnow()
        # Whole seconds, so the ExpireDate clients see is exactly when paying stops.
        expire_at = (now + timedelta(seconds=ttl_s)).replace(microsecond=0)
        while True:
            try:
                self.conn.execute(
                    "INSERT INTO payments (payment_id, external_id, amount, created_at, expire_at)"
                    " VALUES (?, ?, ?, ?, ?) ON CONFLICT (external_id) DO NOTHING",
                    (new_payment_id(), external_id, str(amount), to_text(now), to_text(expire_at)),
                )
                break
            except sqlite3.IntegrityError:
                continue  # the random id is taken (about one in 10^11): draw another
        row = self.conn.execute(
            "SELECT * FROM payments WHERE external_id = ?", (external_id,)
        ).fetchone()
        payment = Payment.from_row(row)
        if payment.amount != amount:
            raise Refused(
                "amount_mismatch",
                f"ExternalId already used with Amount {payment.amount}",
            )
        return payment

    def create_calls(self, external_id: str) -> int:
        """How many create-link calls for ``external_id`` reached the store (so a test
        can tell whether a client repeated one)."""
        row = self.conn.execute(
            "SELECT calls FROM create_calls WHERE external_id = ?", (external_id,)
        ).fetchone()
        return 0 if row is None else int(row["calls"])

    def _settle(
        self,
        payment_id: int,
        status: str,
        transaction_id: str | None,
        *,
        paid_amount: Decimal | None = None,
        force: bool = False,
    ) -> Payment:
        """One conditional UPDATE, so two concurrent confirms cannot both succeed.

        Without ``force`` only a payment still open (no final status) and before its
        expiry may change; ``force`` (a late payment, for tests) skips the expiry and
        re-opens a declined one, but a Processed payment is never paid twice.
        """
        params: tuple[str, ...]
        if force:
            condition, params = "status <> 'Processed'", ()
        else:
            condition, params = (
                "status NOT IN ('Processed', 'Error', 'Canceled', 'RemotePaymentCanceled',"
                " 'RemotePaymentRejected') AND expire_at > ?",
                (to_text(utcnow()),),
            )
        # ``condition`` is one of the two constants above, never input.
        sql = f"UPDATE payments SET status = ?, transaction_id = ?, paid_amount = ? WHERE payment_id = ? AND {condition}"  # noqa: E501, S608
        cursor = self.conn.execute(
            sql,
            (
                status,
                transaction_id,
                None if paid_amount is None else str(paid_amount),
                payment_id,
                *params,
            ),
        )
        payment = self.get_payment(payment_id)
        if cursor.rowcount == 1:
            return payment
        if payment.status in FINAL_STATUSES:
            raise Refused("not_waiting", f"Payment is already {payment.status}")
        raise Refused("expired", "Payment has expired")

    def confirm(
        self, payment_id: int, *, amount: Decimal | None = None, force: bool = False
    ) -> Payment:
        """The buyer pays: ``amount`` if given (another sum than asked), else the price."""
        return self._settle(
            payment_id, "Processed", str(new_payment_id()), paid_amount=amount, force=force
        )

    def decline(self, payment_id: int) -> Payment:
        """The buyer declines: Error for a QR payment, RemotePaymentRejected for an invoice."""
        remote = self.get_payment(payment_id).phone is not None
        return self._settle(payment_id, "RemotePaymentRejected" if remote else "Error", None)

    def void(self, payment_id: int) -> Payment:
        """The merchant closes a payment nobody paid: one conditional UPDATE, so a
        buyer's Pay racing it either lands first (the void is refused) or not at all.
        Voiding a voided or declined payment answers it as it is."""
        self.get_payment(payment_id)
        self.conn.execute(
            "UPDATE payments SET status = 'Canceled'"
            " WHERE payment_id = ? AND status NOT IN ('Processed', 'Error', 'Canceled',"
            " 'RemotePaymentCanceled', 'RemotePaymentRejected')",
            (payment_id,),
        )
        payment = self.get_payment(payment_id)
        if payment.status == "Processed":
            raise Refused("not_waiting", "Payment is already Processed")
        return payment

    def set_status(self, payment_id: int, status: str) -> Payment:
        """Any status string, as Kaspi may add new ones; Processed gets a TransactionId."""
        self.get_payment(payment_id)
        self.conn.execute(
            "UPDATE payments SET status = ?,"
            " transaction_id = CASE WHEN ? = 'Processed' THEN COALESCE(transaction_id, ?)"
            " ELSE transaction_id END"
            " WHERE payment_id = ?",
            (status, status, str(new_payment_id()), payment_id),
        )
        return self.get_payment(payment_id)

    def expire_now(self, payment_id: int) -> Payment:
        self.get_payment(payment_id)
        now = utcnow().replace(microsecond=0)
        self.conn.execute(
            "UPDATE payments SET expire_at = ? WHERE payment_id = ?", (to_text(now), payment_id)
        )
        return self.get_payment(payment_id)

    def refund(self, payment_id: int, amount: Decimal) -> int:
        """Record a return and answer its id; the checks and the write hold one lock."""
        with self._write_transaction():
            payment = self.get_payment(payment_id)
            if payment.status != "Processed":
                raise Refused("not_processed", f"Payment is {payment.status}, not Processed")
            left = payment.reported_amount - payment.refunded_amount
            if amount > left:
                raise Refused("over_refund", f"Amount exceeds the refundable {left}")
            self.conn.execute(
                "UPDATE payments SET refunded_amount = ? WHERE payment_id = ?",
                (str(payment.refunded_amount + amount), payment_id),
            )
            cursor = self.conn.execute(
                "INSERT INTO returns (payment_id, amount, created_at) VALUES (?, ?, ?)",
                (payment_id, str(amount), to_text(utcnow())),
            )
            if cursor.lastrowid is None:  # sqlite sets it after every INSERT
                raise RuntimeError("sqlite reported no row id for the new return")
            return cursor.lastrowid

    # -- faults ------------------------------------------------------------

    def get_faults(self) -> Faults:
        # The column names are the FAULT_FIELDS constant; no input reaches the SQL text.
        row = self.conn.execute(
            f"SELECT {', '.join(FAULT_FIELDS)} FROM faults WHERE id = 1"  # noqa: S608
        ).fetchone()
        return Faults(**dict(row))

    def set_faults(self, **changes: int | float) -> Faults:
        unknown = set(changes) - set(FAULT_FIELDS)
        if unknown:
            raise ValueError(f"unknown fault fields: {sorted(unknown)}")
        if changes:
            assignments = ", ".join(f"{name} = ?" for name in changes)
            # Names were checked against FAULT_FIELDS above; values are bound parameters.
            self.conn.execute(
                f"UPDATE faults SET {assignments} WHERE id = 1",  # noqa: S608
                tuple(changes.values()),
            )
        return self.get_faults()

    def reset_faults(self) -> Faults:
        return self.set_faults(**dict.fromkeys(FAULT_FIELDS, 0))

    def take_fail_next(self) -> bool:
        """Consume one of the ``fail_next`` forced failures; True if one was left.

        A single conditional UPDATE, so concurrent workers never take the same one.
        """
        cursor = self.conn.execute(
            "UPDATE faults SET fail_next = fail_next - 1 WHERE id = 1 AND fail_next > 0"
        )
        return cursor.rowcount == 1
