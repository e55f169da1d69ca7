"""Simulated OpenStack regions for kingsync's demo, tests and benchmarks.

One asyncio process serves a shared Keystone and N regions of Nova, Glance,
Neutron and Cinder over real HTTP, with the shapes, status codes and
validation rules of the real services (``tests/conformance`` holds the two
to the same behaviour). Each region listens on its own port, so a region can
be taken down for real (connections refused) while the others keep serving.
"""
