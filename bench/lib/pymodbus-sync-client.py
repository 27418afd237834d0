#!/usr/bin/python3
"""The peer of bench/fieldbus-rtu.ts: pymodbus's own synchronous RTU client (Debian
python3-pymodbus 3.0) on a serial line, doing the reads the gateway does — one FC3 read of COUNT
holding registers from each unit in turn, one at a time — for SECONDS seconds.

Usage: /usr/bin/python3 pymodbus-sync-client.py PORT BAUD UNITS COUNT SECONDS   (UNITS: 1,2,3)
Prints one JSON line: {"transactions": N, "errors": E, "seconds": S, "cpuSeconds": C} (C: its own CPU time while measuring).
"""
import json
import sys
import time

from pymodbus.client import ModbusSerialClient


def main():
    port, baud, units, count, seconds = sys.argv[1], int(sys.argv[2]), [int(u) for u in sys.argv[3].split(",")], int(sys.argv[4]), float(sys.argv[5])
    client = ModbusSerialClient(port=port, baudrate=baud, timeout=1, retries=0)
    if not client.connect():
        print(json.dumps({"error": f"cannot open {port}"}), flush=True)
        sys.exit(1)
    done = errors = 0
    # Warm-up: one round, not counted.
    for u in units:
        client.read_holding_registers(0, count, slave=u)
    start = time.monotonic()
    cpu0 = time.process_time()
    while time.monotonic() - start < seconds:
        for u in units:
            r = client.read_holding_registers(0, count, slave=u)
            if r.isError():
                errors += 1
            else:
                done += 1
    elapsed = time.monotonic() - start
    cpu = time.process_time() - cpu0
    client.close()
    print(json.dumps({"transactions": done, "errors": errors, "seconds": elapsed, "cpuSeconds": cpu}), flush=True)


main()
