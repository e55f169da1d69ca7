"""Fixtures shared by every test layer: the simulated cloud."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

from kingsync.sim.cloud import SimCloud

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# PostgreSQL, MariaDB and RabbitMQ: skipped when absent, required under CI=true.
pytest_plugins = ["tests.services.fixtures"]


@pytest.fixture(scope="session")
def sim_cloud() -> Iterator[SimCloud]:
    """One simulated 3-region cloud for the whole run, on free ports.

    Tests that change faults must put them back (use ``fresh_sim`` when a
    test needs a cloud of its own).
    """
    cloud = SimCloud(regions=3, port=0, seed=1234).start_in_thread()
    yield cloud
    cloud.stop_thread()


@pytest.fixture
def fresh_sim() -> Iterator[SimCloud]:
    """A simulated 3-region cloud for one test only."""
    cloud = SimCloud(regions=3, port=0, seed=99).start_in_thread()
    yield cloud
    cloud.stop_thread()
