"""The queue seam: the rest of Chorus enqueues, schedules and declares periodic jobs here.

    from chorus import jobs

    @jobs.task()
    def send_digest(workspace_id: int) -> None: ...

    send_digest(42)                                  # enqueue now
    jobs.schedule(send_digest, at=when, args=(42,))  # run at a time (aware datetime)

    @jobs.periodic(minute="*/5")
    def sweep() -> None: ...                         # once per period, whatever the number of schedulers

    @jobs.loop()
    def dispatcher(stop: threading.Event) -> None: ...  # a thread in every worker process

The database, not the queue, is the source of truth for anything that must happen once.
"""

from chorus.jobs.seam import enqueue, loop, periodic, schedule, task

__all__ = ["enqueue", "loop", "periodic", "schedule", "task"]
