"""The JSON log line: its fixed fields, the record's own fields, values json lacks."""

import json
import logging
import sys
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from app.observability.logs import JsonLineFormatter


def _record(**extra: object) -> logging.LogRecord:
    return logging.makeLogRecord(
        {
            "name": "billing.test",
            "levelno": logging.INFO,
            "levelname": "INFO",
            "msg": "paid %s",
            "args": ("tx",),
            **extra,
        }
    )


def test_a_line_has_the_fixed_fields_then_the_records_own():
    line = json.loads(JsonLineFormatter().format(_record(request_id="r-1", status=201)))
    assert list(line)[:4] == ["level", "logger", "message", "process"]
    assert (line["level"], line["logger"], line["message"]) == ("INFO", "billing.test", "paid tx")
    assert (line["request_id"], line["status"]) == ("r-1", 201)
    # Nothing of the LogRecord's own bookkeeping leaks into the line.
    assert not {"msg", "args", "levelno", "pathname", "lineno", "thread"} & set(line)
    assert datetime.fromisoformat(line["timestamp"]).tzinfo is not None


def test_values_json_lacks_are_written_as_iso_dates_or_text():
    tx = uuid.uuid4()
    at = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
    line = json.loads(
        JsonLineFormatter().format(_record(transaction_id=tx, at=at, amount=Decimal("1.50")))
    )
    assert line["transaction_id"] == str(tx)
    assert line["at"] == "2026-11-26T05:00:00+00:00"
    assert line["amount"] == "1.50"


def test_an_exception_is_written_with_its_traceback():
    try:
        raise ValueError("boom")
    except ValueError:
        record = _record(exc_info=sys.exc_info())
    line = json.loads(JsonLineFormatter().format(record))
    assert "ValueError: boom" in line["exc_info"] and "Traceback" in line["exc_info"]
