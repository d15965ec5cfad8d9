"""gunicorn's settings for the registry, read from the working folder when gunicorn starts.

The access log leaves out query strings and referrers, which could carry a typed ID or
phone number (registry/web/accesslog.py).
"""

from registry.web.accesslog import GUNICORN_ACCESS_LOG_FORMAT

access_log_format = GUNICORN_ACCESS_LOG_FORMAT
