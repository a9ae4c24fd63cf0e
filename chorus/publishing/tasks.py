from chorus import jobs
from chorus.publishing import ledger


@jobs.task(name="chorus.publishing.publish_delivery")
def publish_delivery(delivery_id: int) -> None:
    """Publishes one delivery at its time (a no-op when it is no longer due)."""
    ledger.run_delivery(delivery_id)


@jobs.periodic(minute="*")
def sweep_deliveries() -> None:
    """Every minute: expired leases, reconciliation, lost jobs, overdue approvals."""
    ledger.sweep()
