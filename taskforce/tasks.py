"""Thin Celery tasks for the shared machinery. Tasks take ids (here: nothing) and call one function."""

from celery import shared_task

from taskforce import health, notifications


@shared_task(ignore_result=True)
def send_due_notifications() -> int:
    """Beat runs this every minute; queue_sweep() runs it early. Safe to run on many workers at once."""
    return notifications.sweep_all()


@shared_task(ignore_result=True)
def schedule_notifications() -> int:
    """Beat runs this hourly: each app's scheduler creates the rows that have become due."""
    return notifications.run_schedulers()


@shared_task(ignore_result=True)
def warm_health_dashboards() -> int:
    """Beat runs this on the hour: the health dashboards' figures are computed before anyone waits for them."""
    return health.warm_dashboards()
