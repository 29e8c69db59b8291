"""Push of transaction status to watching clients (Server-Sent Events).

- every status change is announced (the transaction id on a Redis pub/sub channel,
  after its COMMIT) by the status path, ``app.billing.core.notify``;
- ``hub``: one subscriber per process fans the notices out to the streams open there;
- ``snapshot``: the state a stream sends, always re-read from PostgreSQL;
- ``hurry``: a watched pending transaction comes due for a Kaspi check sooner;
- ``stream``: the ``text/event-stream`` response itself.

Streams are served by a gevent gunicorn process of their own (Procfile ``stream``):
opened in a greenlet, then parked once their first event is out (``handover``,
``parked``): ten thousand waiting streams cost about 4 KB each, not a greenlet each.
"""
