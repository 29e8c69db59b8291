"""gunicorn settings shared by every server started from the project root.

gunicorn reads ``./gunicorn.conf.py`` by default, so ``gunicorn wsgi:app`` (and the
Procfile, and the tests' servers) get these without a flag.
"""

from app.http_limits import install

# The longest request line and header gunicorn accepts (its maximum for the line;
# double its default for one header: long Bearer tokens and cookies fit). Anything
# longer is refused by gunicorn itself before the app runs...
limit_request_line = 8190
limit_request_field_size = 16380
limit_request_fields = 100

# ...and that refusal is answered in the JSON error envelope, like every other error.
install()


def child_exit(server: object, worker: object) -> None:
    # Multiprocess metrics (`make run` sets PROMETHEUS_MULTIPROC_DIR for the API and the
    # stream process): a worker that exits leaves the live gauges' sums.
    from app.observability.multiproc import mark_worker_dead

    mark_worker_dead(getattr(worker, "pid", 0))
