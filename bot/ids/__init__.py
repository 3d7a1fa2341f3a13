"""Every action_id, callback_id and block_id, one module per surface."""
