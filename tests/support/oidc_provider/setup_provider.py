"""Change the test provider's database from the tests, with the provider's settings.

``setup USERNAME PASSWORD GROUP CLIENT_ID CLIENT_SECRET REDIRECT_URI``: a person in a group, and the
envkeys client; ``leave USERNAME GROUP`` and ``join USERNAME GROUP``: take the person out of the
group and put them back.
"""

import sys

import django


def leave(username, group):
    from django.contrib.auth.models import Group, User

    User.objects.get(username=username).groups.remove(Group.objects.get(name=group))


def join(username, group):
    from django.contrib.auth.models import Group, User

    User.objects.get(username=username).groups.add(Group.objects.get(name=group))


def setup(username, password, group, client_id, client_secret, redirect_uri):
    from django.contrib.auth.models import Group, User
    from django.core.management import call_command
    from oauth2_provider.models import Application

    call_command("migrate", verbosity=0)
    user = User.objects.create_user(username, email=f"{username}@provider.test", password=password)
    user.groups.add(Group.objects.create(name=group))
    Application.objects.create(
        name="envkeys",
        client_id=client_id,
        client_secret=client_secret,
        client_type=Application.CLIENT_CONFIDENTIAL,
        authorization_grant_type=Application.GRANT_AUTHORIZATION_CODE,
        redirect_uris=redirect_uri,
        algorithm=Application.RS256_ALGORITHM,
        skip_authorization=False,
    )


if __name__ == "__main__":
    django.setup()
    {"setup": setup, "leave": leave, "join": join}[sys.argv[1]](*sys.argv[2:])
