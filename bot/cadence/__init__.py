"""The launch's cadence as a domain: what is posted when (plan, planner), the shift
checklists, the T+4h checkpoint and the control council. Slack-free: posts go through the
`CadenceNotifier` Protocol; the timing (APScheduler, claims) lives in `schedules/`."""
