"""kingsync: resource sync and global quotas for multi-region OpenStack."""
