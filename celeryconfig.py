"""Celery settings that do not depend on the environment.

Broker and result backend URLs come from the Flask config (CELERY_BROKER_URL,
default REDIS_URL; results in REDIS_URL), applied in
``app.celery_app.celery_init_app`` with the per-broker transport options of
``app.broker``; the beat schedule is built there too, from the intervals in the
Flask config. docs/OPERATIONS.md explains the broker-loss story.
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
# Queues are durable and messages persistent: a broker restart keeps what it had
# written (RabbitMQ; Redis as far as its own persistence goes).
task_default_delivery_mode = "persistent"
# Only the dev settle task's result is ever read; the rest would just fill Redis.
task_ignore_result = True
result_expires = 3600
worker_hijack_root_logger = False

# -- surviving the loss of the broker -----------------------------------------
# Keep retrying, forever, at start-up and after a lost connection: a worker must
# not exit because the broker is restarting. A supervisor still restarts it if
# the library crashes anyway (docs/OPERATIONS.md).
broker_connection_retry_on_startup = True
broker_connection_retry = True
broker_connection_max_retries = None
broker_connection_timeout = 4
broker_channel_error_retry = True
# Celery's consumer, retrying a lost broker every 0.5-2 s instead of kombu's up-to-30 s.
worker_consumer = "app.broker:Consumer"
# AMQP heartbeats (RabbitMQ): a dead broker is noticed within about two beats.
broker_heartbeat = 10
# On a lost connection, tasks still running cannot be acknowledged any more (their
# delivery belonged to the old connection) and will be delivered again; cancel them
# rather than finish them twice side by side.
worker_cancel_long_running_tasks_on_connection_loss = True
# Cancelled tasks take their pool processes with them; on a loaded host a replacement
# can take longer than Celery's 4 s to report in, and is then killed and replaced again.
worker_proc_alive_timeout = 30
# Sending while the broker is down: a few quick retries, then the caller's error
# path (after-commit hooks log it; the poll sweep sends the check again later).
task_publish_retry = True
task_publish_retry_policy = {
    "max_retries": 2,
    "interval_start": 0,
    "interval_step": 0.5,
    "interval_max": 1,
}
# The result backend (Redis) used by the dev settle task only. No retries: on a lost
# connection Celery records each cancelled task's state there, and with Redis down
# retrying only delays the reconnect.
result_backend_always_retry = False
redis_backend_health_check_interval = 10
redis_socket_keepalive = True
redis_socket_timeout = 10
redis_socket_connect_timeout = 5

imports = (
    "app.billing.tasks",
    "app.clubs.tasks",
    "app.webhooks.tasks",
    "app.renewals.tasks",
)
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
