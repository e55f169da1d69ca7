"""Resource sync: the kinds kingsync copies between regions, used by the API
(the check before a job is made) and by the engine (running each item).

- kinds.py: the one registry of kinds
- task.py: what a kind's sync is given (a task) and gives back (an outcome)
- record.py: the id record as one item sees it (which source became which target)
- errors.py: what a source check raises, and RetryLater
- exclusive.py: a lock one item holds across every engine
- keypair.py, flavor.py, security_group.py: one module per kind, each a thin
  I/O shell around a pure decision (flavor_plan.py; sg_plan.py and
  sg_rules.py, rules as neutron compares them); nova_flavors.py is nova's
  flavor API as the flavor kind calls it
"""
