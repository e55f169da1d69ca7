"""Global quotas: one limit per project and resource, split across regions.

resources   the resource names kingsync knows, their service and kind
model       the plain data the planner, the applier and the engine share
planner     pure: per-region targets from one snapshot (headroom policies)
apply       the demarcation order: decreases, read back, then increases
regional    one region's quota APIs (nova, neutron, cinder) over HTTP
copies      pure: kingsync's copies of a security group counted once (G + dup)
clients     the quota client as a round uses it: bounded per region, lease-guarded writes
usage       usage across regions (detail view) and how near a project is to its limits
reconcile   one project, end to end: read, plan, apply, record
"""
