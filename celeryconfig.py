"""Celery settings that do not depend on the environment.

Broker and result backend URLs come from the Flask config (REDIS_URL), applied
in ``app.celery_app.celery_init_app``; the beat schedule is built there too, from
the intervals in the Flask config.
"""

task_serializer = "json"
result_serializer = "json"
accept_content = ["json"]
timezone = "UTC"
enable_utc = True

# A task is acknowledged only after it finishes, so a worker killed mid-task
# leaves the message to be redelivered; every task is idempotent for that reason.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 1
# Redis redelivers unacknowledged messages after this many seconds.
broker_transport_options = {"visibility_timeout": 60}
# Only the dev settle task's result is ever read; the rest would just fill Redis.
task_ignore_result = True
result_expires = 3600
broker_connection_retry_on_startup = True
worker_hijack_root_logger = False

imports = ("app.billing.tasks", "app.clubs.tasks")
# Sending a task whose result is kept (the dev settle) subscribes to its result
# first; with Redis down Celery would retry that 20 times (about 20 s) before
# failing. A short bound lets a caller answer "unavailable" promptly instead.
result_backend_transport_options = {
    "retry_policy": {
        "max_retries": 2,
        "interval_start": 0,
        "interval_step": 0.2,
        "interval_max": 0.5,
    }
}
