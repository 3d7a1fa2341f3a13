"""The composition root's parts: what every service is built from (`base`) and one builder
per part of the bot (`core`). `bot.services` calls them in order."""
