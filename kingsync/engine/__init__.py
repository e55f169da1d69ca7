"""kingsync-engine: claims job items from the database and runs them.

- service.py: the oslo.service Service (RPC server, dispatcher, scheduler)
- dispatcher.py: claims items up to free capacity, runs them, renews leases
- worker.py: runs one item (sync, classify errors, record or retry)
- retry.py: which errors are transient, and the backoff between attempts
- periodic.py: periodic tasks on an APScheduler background scheduler
- endpoint.py: the RPC endpoint (the doorbell)
- task.py: what a sync module is given (a task) and gives back (an outcome)
- sync/: one module per resource kind, a pure decision and a thin I/O shell
"""
