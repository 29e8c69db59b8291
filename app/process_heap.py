"""What a long-running process (a gunicorn worker, a Celery worker) does with the
objects its start-up made.

Modules, the SQLAlchemy metadata, pydantic schemas, Celery and Prometheus
registries: a great many objects that live as long as the process. Python's full
(generation 2) collection walks every tracked object, so with them in reach each
full collection is a long pause in whichever request triggered it (the figures:
docs/PERFORMANCE.md, "Figures behind the code's design choices"). Frozen after
start-up, they are out of the collector's reach; the collector goes on
collecting everything made later.
"""

from __future__ import annotations

import gc


def freeze_startup_objects() -> int:
    """Collect start-up garbage (frozen, it would never be freed), then freeze the
    rest. Answers how many objects are frozen.

    Called once the process's app is built: in each gunicorn worker (or in the
    master with ``--preload``, before it forks: the workers then also share those
    pages copy-on-write, as the ``gc.freeze`` documentation describes), and in
    the Celery worker's main process before it forks its pool.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
