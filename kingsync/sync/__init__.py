"""Resource sync: the kinds kingsync copies between regions, used by the API
(the check before a job is made) and by the engine (running each item).

- kinds.py: the one registry of kinds
- task.py: what a kind's sync is given (a task) and gives back (an outcome)
- record.py: the id record as one item sees it (which source became which target)
- errors.py: what a source check raises, and RetryLater
- keypair.py, flavor.py, security_group.py: one module per kind, each a pure
  decision and a thin I/O shell (security groups also sg_rules.py: rules as
  neutron compares them)
"""
