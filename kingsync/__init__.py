"""kingsync: resource sync and global quotas for multi-region OpenStack."""

# oslo.service's threading backend, before any module imports oslo_service.service
# (which would pick its eventlet default): whatever kingsync module is imported
# first, by an entry point, a test or a script.
from kingsync import backend  # noqa: F401
