"""The Upvendo backoffice project: settings, Celery app, URLs and the MongoDB connection."""

from .celery import app as celery_app

__all__ = ["celery_app"]
