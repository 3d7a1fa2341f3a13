"""Loaded (through PYTHONPATH) only by .ci/clock's runs under Debian's libfaketime 0.9.10.

With FAKETIME_DONT_FAKE_MONOTONIC=1, its clock_nanosleep() answers EINVAL to the absolute
monotonic deadline Python's time.sleep() asks for; with the monotonic clock faked instead,
every timed lock and condition wait oversleeps. So the monotonic clock stays real and
sleep() waits in select(), whose timeout is relative: the same wait, by another call."""

import select
import time


def _sleep(seconds: float) -> None:
    if seconds < 0:
        raise ValueError("sleep length must be non-negative")
    select.select([], [], [], seconds)


time.sleep = _sleep
