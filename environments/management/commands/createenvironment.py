"""Create an environment from the command line."""

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from common.errors import DomainError
from environments import selectors, services


class Command(BaseCommand):
    help = "Create an environment, optionally with an owner, and print its API endpoint."

    def add_arguments(self, parser):
        parser.add_argument("name")
        parser.add_argument("--description", default="")
        parser.add_argument("--owner", help="Username of the user who becomes the environment's owner.")

    def handle(self, *args, name, description, owner, **options):
        user = None
        if owner:
            user = get_user_model().objects.filter(username=owner).first()
            if user is None:
                raise CommandError(f"There is no user named {owner!r}.")
        try:
            environment = services.create_environment(name=name, description=description, owner=user)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"Created environment {environment.name} (id {environment.pk})")
        self.stdout.write(f"Endpoint: {selectors.public_endpoint_url(environment.pk)}")
