import threading

from chorus import jobs
from chorus.publishing import ledger


@jobs.task(name="chorus.publishing.publish_deliveries")
def publish_deliveries(delivery_ids: list[int]) -> None:
    """Publishes the deliveries due at one time (a no-op for those no longer due)."""
    ledger.run_deliveries(delivery_ids)


@jobs.periodic(minute="*")
def sweep_deliveries() -> None:
    """Every minute: expired leases, reconciliation, lost jobs, overdue approvals."""
    ledger.sweep()


@jobs.loop(name="publishing.dispatcher", prepare=ledger.prepare_to_dispatch)
def dispatch_due_deliveries(stop: threading.Event) -> None:
    """In every worker process: claims deliveries the moment they are due."""
    ledger.dispatch_forever(stop)
