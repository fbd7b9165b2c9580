"""Shared shape of the commands that change a key's state."""

from django.core.management.base import BaseCommand, CommandError

from apikeys.models import ApiKey
from common.errors import DomainError


class KeyStateCommand(BaseCommand):
    """Apply one lifecycle service to the key with the given access key."""

    service = None
    done = ""

    def add_arguments(self, parser):
        parser.add_argument("access_key")

    def handle(self, *args, access_key, **options):
        key = ApiKey.objects.filter(access_key=access_key).first()
        if key is None:
            raise CommandError(f"There is no API key {access_key!r}.")
        try:
            type(self).service(key=key)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"{self.done} {access_key}")
