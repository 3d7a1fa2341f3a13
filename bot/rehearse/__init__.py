"""`warroom rehearse`: the whole launch played on a virtual clock against the real app."""
