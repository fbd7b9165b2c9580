"""Deactivate an environment API key from the command line."""

from apikeys import services
from apikeys.management.commands._state import KeyStateCommand


class Command(KeyStateCommand):
    help = "Deactivate the API key with this access key: it is refused from the next request on."
    service = services.deactivate_api_key
    done = "Deactivated"
