"""Block Kit builders (slack_sdk.models), apart from the listeners that send them."""
