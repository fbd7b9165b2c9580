"""Create an environment API key from the command line."""

import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from apikeys import services
from apikeys.models import Permission
from common.actor import SYSTEM, Actor
from common.errors import DomainError
from environments import selectors


class Command(BaseCommand):
    help = "Create an environment API key and print the access key, the secret key (once) and the endpoint."

    def add_arguments(self, parser):
        parser.add_argument("--environment", required=True, help="Environment name or id.")
        parser.add_argument("--name", default="")
        parser.add_argument("--description", default="")
        parser.add_argument("--read-only", action="store_true", help="The key may read but not change anything.")
        parser.add_argument("--json", action="store_true", help="Print one JSON object.")
        parser.add_argument(
            "--created-by",
            default="",
            metavar="USERNAME",
            help="The user recorded as the key's creator (and in the audit log); by default, the system.",
        )

    def handle(self, *args, **options):
        environment = selectors.environment_by_name_or_id(options["environment"])
        if environment is None:
            raise CommandError(f"There is no environment {options['environment']!r}.")
        actor = SYSTEM
        if options["created_by"]:
            user = get_user_model().objects.filter(username=options["created_by"]).first()
            if user is None:
                raise CommandError(f"There is no user named {options['created_by']!r}.")
            actor = Actor(principal=user)
        try:
            key, secret = services.create_api_key(
                environment=environment,
                name=options["name"],
                description=options["description"],
                permission=Permission.READ_ONLY if options["read_only"] else Permission.READ_WRITE,
                actor=actor,
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        endpoint = selectors.public_endpoint_url(environment.pk)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "id": key.pk,
                        "access_key": key.access_key,
                        "secret_key": secret,
                        "environment_id": environment.pk,
                        "environment": environment.name,
                        "permission": key.permission,
                        "endpoint": endpoint,
                    }
                )
            )
            return
        self.stdout.write(f"Access key (username): {key.access_key}")
        self.stdout.write(f"Secret key (password): {secret}")
        self.stdout.write(f"Endpoint:              {endpoint}")
        self.stderr.write("Save the secret key now: it cannot be shown again.")
