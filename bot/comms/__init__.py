"""The go-to-market duties of the war room: the launch communications calendar
(`calendar.py`) and the support staffing check (`staffing.py`); how they reach people is
the Protocols of `notifier.py`."""
