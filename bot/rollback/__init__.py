"""Rollback: requests with Product + Support sign-off, and the runbook that undoes the launch."""
