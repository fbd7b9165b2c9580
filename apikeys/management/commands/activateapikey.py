"""Activate an environment API key again from the command line."""

from apikeys import services
from apikeys.management.commands._state import KeyStateCommand


class Command(KeyStateCommand):
    help = "Activate the (inactive) API key with this access key."
    service = services.activate_api_key
    done = "Activated"
