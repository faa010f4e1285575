"""Thin Celery tasks for the shared machinery. Tasks take ids (here: nothing) and call one function."""

from celery import shared_task

from taskforce import notifications


@shared_task(ignore_result=True)
def send_due_notifications() -> int:
    """Beat runs this every minute; queue_sweep() runs it early. Safe to run on many workers at once."""
    return notifications.sweep_all()


@shared_task(ignore_result=True)
def schedule_notifications() -> int:
    """Beat runs this hourly: each app's scheduler creates the rows that have become due."""
    return notifications.run_schedulers()
