"""Nova's extra-spec validation, applied from microversion 2.86
(``nova/api/validation/extra_specs``, as nova 34 registers it).

Every known key has a validator (a name that is a regular expression, and a
rule for the value); a key no validator matches passes when it has no
namespace or a namespace nova does not know (``mycompany:x``), and is refused
when its namespace is one of nova's (``hw:bogus``). The table below copies
nova's modules in the order stevedore loads them, and the texts are those of
``base.ExtraSpecValidator`` and ``validators.validate``.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

from kingsync.sim.compute.traits import TRAITS

# Named parameters of nova's validator names, as regular expressions.
_GROUP = r"(?P<group>([a-zA-Z0-9_-]{1,64})?)"
_CPU_MASK = r"\^?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"
_TRUE = ("1", "t", "true", "on", "y", "yes")
_FALSE = ("0", "f", "false", "off", "n", "no")


@dataclasses.dataclass(frozen=True)
class _Validator:
    name: str  # matched against the whole key
    kind: str = "str"  # "str", "int" or "bool"
    pattern: str | None = None
    enum: tuple[str, ...] = ()
    low: int | None = None
    high: int | None = None

    def check(self, value: str) -> str | None:
        """nova's message for a bad value, or None."""
        if self.kind == "int":
            return _check_int(value, self.low, self.high)
        if self.kind == "bool":
            if value.strip().lower() in _TRUE + _FALSE:  # strutils.bool_from_string(strict=True)
                return None
            return "Validation failed; '%s' is not a valid boolean-like value." % value
        if self.pattern is not None:
            if re.fullmatch(self.pattern, value):
                return None
            return "Validation failed; '%s' is not of the format '%s'." % (value, self.pattern)
        if self.enum and value not in self.enum:
            return "Validation failed; '%s' is not one of: %s." % (value, ", ".join(self.enum))
        return None


def _check_int(value: str, low: int | None, high: int | None) -> str | None:
    try:
        number = int(value)
    except ValueError:
        return "Validation failed; '%s' is not a valid integer value." % value
    if high is not None and high < number:
        return "Validation failed; '%s' is greater than the max value of '%s'." % (number, high)
    if low is not None and low > number:
        return "Validation failed; '%s' is less than the min value of '%s'." % (number, low)
    return None


def _text(name: str, pattern: str | None = None) -> _Validator:
    return _Validator(name, pattern=pattern)


def _choice(name: str, *values: str) -> _Validator:
    return _Validator(name, enum=values)


def _int(name: str, low: int | None = None, high: int | None = None) -> _Validator:
    return _Validator(name, kind="int", low=low, high=high)


def _bool(name: str) -> _Validator:
    return _Validator(name, kind="bool")


# capabilities.py: plain capabilities, and those that take a ":sub:key" filter
_CAPABILITIES = (
    "id uuid service_id host vcpus memory_mb local_gb vcpus_used memory_mb_used local_gb_used hypervisor_type "
    "hypervisor_version hypervisor_hostname free_ram_mb free_disk_gb current_workload running_vms "
    "disk_available_least host_ip mapped cpu_allocation_ratio ram_allocation_ratio disk_allocation_ratio "
    "total_usable_ram_mb total_usable_disk_gb disk_mb_used free_disk_mb vcpus_total num_instances num_io_ops "
    "failed_builds aggregates cell_uuid updated"
).split()
_CAPABILITY_TREES = (
    "cpu_info metrics stats numa_topology supported_hv_specs pci_device_pools nodename pci_stats "
    "supported_instances limits instances"
).split()

# hw.py
_HW = [
    _bool("hw:cpu_realtime"),
    _text("hw:cpu_realtime_mask", r"(\^)?\d+((-\d+)?(,\^?\d+(-\d+)?)?)*"),
    _bool("hw:hide_hypervisor_id"),
    _choice("hw:cpu_policy", "dedicated", "shared", "mixed"),
    _choice("hw:cpu_thread_policy", "prefer", "isolate", "require"),
    _choice("hw:emulator_threads_policy", "isolate", "share"),
    _text("hw:cpu_dedicated_mask", _CPU_MASK),
    _text("hw:mem_page_size", r"(large|small|any|\d+([kKMGT]i?)?(b|bit|B)?)"),
    _bool("hw:locked_memory"),
    _int("hw:numa_nodes", low=1),
    _text(r"hw:numa_cpus.(?P<num>\d+)", _CPU_MASK),
    _int(r"hw:numa_mem.(?P<num>\d+)", low=1),
    _choice("hw:pci_numa_affinity_policy", "required", "preferred", "legacy", "socket"),
    *(_int("hw:cpu_%s" % what, low=1) for what in ("sockets", "cores", "threads")),
    *(_int("hw:cpu_max_%s" % what, low=1) for what in ("sockets", "cores", "threads")),
    _bool("hw:boot_menu"),
    _bool("hw:vif_multiqueue_enabled"),
    _bool("hw:mem_encryption"),
    _choice("hw:mem_encryption_model", "amd-sev", "amd-sev-es", "amd-sev-snp", "intel-tdx"),
    _text("hw:pmem", r"([a-zA-Z0-9_]+(,)?)+"),
    _bool("hw:pmu"),
    _int("hw:serial_port_count", low=0),
    _choice("hw:tpm_model", "tpm-tis", "tpm-crb"),
    _choice("hw:tpm_version", "1.2", "2.0"),
    _choice("hw:tpm_secret_security", "user", "host", "deployment"),
    _choice("hw:watchdog_action", "none", "pause", "poweroff", "reset", "disabled"),
    _choice("hw:viommu_model", "intel", "smmuv3", "virtio", "auto"),
    _bool("hw:virtio_packed_ring"),
    _choice("hw:sound_model", "sb16", "es1370", "pcspk", "ac97", "ich6", "ich9", "usb", "virtio"),
    _choice("hw:usb_model", "none", "nec-xhci", "qemu-xhci"),
    _int("hw:redirected_usb_ports", low=0, high=15),
    _bool("hw:ephemeral_encryption"),
    _choice("hw:ephemeral_encryption_format", "plain", "luks", "luksv2"),
]

# quota.py: the vmware-style allocations, libvirt's cpu tuning, disk and VIF limits
_QUOTA = [
    *(
        validator
        for key in ("cpu", "memory", "disk_io", "vif")
        for validator in (
            _int("quota:%s_limit" % key, low=0),
            _int("quota:%s_reservation" % key),
            _choice("quota:%s_shares_level" % key, "custom", "high", "normal", "low"),
            _int("quota:%s_shares_share" % key, low=0),
        )
    ),
    _int("quota:cpu_shares", low=0),
    _int("quota:cpu_period", low=0),
    _int("quota:cpu_quota"),
    *(_int("quota:disk_%s_%s_sec" % (s, m), low=0) for s in ("read", "write", "total") for m in ("bytes", "iops")),
    *(_int("quota:vif_%s_%s" % (s, m), low=0) for s in ("inbound", "outbound") for m in ("average", "peak", "burst")),
]

# resources.py: os-resource-classes 1.1.0's standard classes
_RESOURCE_CLASSES = (
    "VCPU MEMORY_MB DISK_GB PCI_DEVICE SRIOV_NET_VF NUMA_SOCKET NUMA_CORE NUMA_THREAD NUMA_MEMORY_MB IPV4_ADDRESS "
    "VGPU VGPU_DISPLAY_HEAD NET_BW_EGR_KILOBIT_PER_SEC NET_BW_IGR_KILOBIT_PER_SEC PCPU MEM_ENCRYPTION_CONTEXT FPGA "
    "PGPU NET_PACKET_RATE_KILOPACKET_PER_SEC NET_PACKET_RATE_EGR_KILOPACKET_PER_SEC "
    "NET_PACKET_RATE_IGR_KILOPACKET_PER_SEC"
).split()

_VALIDATORS: list[_Validator] = [
    _text("accel:device_profile"),
    _text("aggregate_instance_extra_specs:(?P<key>.+)"),
    *(_text("capabilities:" + name) for name in dict.fromkeys(_CAPABILITIES)),
    *(_text("capabilities:%s(?P<filter>(:\\w+)*)" % name) for name in _CAPABILITY_TREES),
    *_HW,
    _bool("hw_rng:allowed"),
    _int("hw_rng:rate_bytes", low=0),
    _int("hw_rng:rate_period", low=0),
    _int("hw_video:ram_max_mb", low=0),
    _bool("hide_hypervisor_id"),  # null.py: the keys without a namespace
    _choice("group_policy", "isolate", "none"),
    _choice("os:secure_boot", "disabled", "required"),
    _text("pci_passthrough:alias", r"[^:]+:\d+(?:\s*,\s*[^:]+:\d+)*"),
    *_QUOTA,
    *(_int("resources%s:%s" % (_GROUP, name)) for name in _RESOURCE_CLASSES),
    _int("resources%s:CUSTOM_(?P<resource>[A-Z0-9_]+)" % _GROUP),
    *(_choice("trait%s:%s" % (_GROUP, name), "required", "forbidden") for name in TRAITS),
    _choice("trait%s:CUSTOM_(?P<trait>[A-Z0-9_]+)" % _GROUP, "required", "forbidden"),
    _text("vmware:hw_version"),
    _text("vmware:storage_policy"),
]
# Keys without parameters are found directly, the others by a linear search.
_BY_NAME = {v.name: v for v in _VALIDATORS}
_NAMESPACES = {v.name.split(":", 1)[0] for v in _VALIDATORS if ":" in v.name}


def validate(specs: dict[str, Any]) -> str | None:
    """nova's 400 text for the first bad spec of a request (in request order), or None."""
    for name, value in specs.items():
        message = _validate_one(name, str(value))
        if message is not None:
            return message
    return None


def _validate_one(name: str, value: str) -> str | None:
    validator = _BY_NAME.get(name)
    if validator is None:
        validator = next((v for v in _VALIDATORS if re.fullmatch(v.name, name)), None)
    if validator is not None:
        return validator.check(value)
    if ":" not in name:
        return None
    namespace = name.split(":", 1)[0]
    if not any(re.fullmatch(known, namespace) for known in _NAMESPACES):
        return None
    return "Validation failed; extra spec '%s' does not appear to be a valid extra spec." % name
