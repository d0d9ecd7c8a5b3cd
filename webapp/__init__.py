"""The Flask web app and Celery workers over ``ml`` (issue 6): not built yet."""
