"""The daily report (18:00) and the T+24h executive report: figures collected from the
records and Prometheus, rendered as Markdown and Block Kit, stored, and posted."""
