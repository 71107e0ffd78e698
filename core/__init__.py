"""Tessera Django project: settings, URLs, Celery app, errors, health, logging."""

from .celery import app as celery_app

__all__ = ("celery_app",)
