"""BLE beacon presence: iBeacon and Eddystone frames heard through BlueZ (bleak, scan only)."""

from __future__ import annotations
