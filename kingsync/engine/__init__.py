"""kingsync-engine: claims work from the database and runs it.

- service.py: the oslo.service Service (RPC server, the loops, the scheduler)
- loop.py: the one loop shape: claims leased work up to free capacity, runs
  it on a bounded pool, renews its leases (sync items, transfers, quota projects)
- worker.py: sync items as leased work: runs one item (its kind from
  kingsync.sync.kinds, errors classified, recorded or retried)
- retry.py: which errors are transient, and the backoff between attempts
- periodic.py: periodic tasks on an APScheduler background scheduler
- endpoint.py: the RPC endpoint (the doorbell)
"""
