"""Create the first admin account, once, with a generated password printed once."""

import secrets

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = "If no superuser exists, create one with a random password and print it (once)."

    def add_arguments(self, parser):
        parser.add_argument("--username", default="admin")

    def handle(self, *args, username, **options):
        users = get_user_model().objects
        if users.filter(is_superuser=True).exists():
            self.stdout.write("An admin account exists already; nothing to do.")
            return
        password = secrets.token_urlsafe(18)
        users.create_superuser(username=username, email="", password=password)
        banner = "=" * 64
        self.stdout.write(banner)
        self.stdout.write("First admin account created. This password is shown only now:")
        self.stdout.write(f"  username: {username}")
        self.stdout.write(f"  password: {password}")
        self.stdout.write(banner)
