"""Work that runs after a chat request has been acknowledged: commands, charts, deliveries.

A platform adapter acknowledges a request at once and hands the rest to
``jobs.queue.Jobs`` as a *job*: a kind (``"slack"``, ``"discord"``) and a
JSON payload.  Where it runs depends on the deployment:

* ``REDIS_URL`` set (``TILT_JOBS=queue``, the default then): the job goes onto an
  RQ queue in that Redis and a ``python bot.py worker`` process runs it, so web
  processes only verify, acknowledge and enqueue, and any number of web and
  worker processes can run;
* the embedded Redis (or ``TILT_JOBS=inprocess``): a thread pool in the same
  process runs it, so a single-process install needs nothing else.

Either way the same handler runs the job (``jobs.queue.perform``).  A job whose
worker dies mid-way is run again by RQ; ``jobs.steps.once`` makes the side
effects it had already had (a message posted) happen only once.
"""
