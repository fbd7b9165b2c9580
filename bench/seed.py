"""Seed a benchmark database: environments, API keys with real digests, and a file of usable pairs.

Run by ``bench/run.py`` with DATABASE_URL pointing at a throw-away SQLite file. Small sets go
through the ``create_api_key`` service; large sets use ``bulk_create`` with digests computed by
``apikeys.crypto`` from a seeded generator, so 100,000 keys take seconds, not minutes.
"""

import argparse
import json
import os
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--environments", type=int, required=True)
    parser.add_argument("--keys-per-environment", type=int, required=True)
    parser.add_argument(
        "--export-per-environment", type=int, default=10, help="Pairs written to --out, per environment."
    )
    parser.add_argument("--out", required=True, help="JSON file for the exported key pairs.")
    parser.add_argument("--seed", type=int, default=4)
    options = parser.parse_args()

    import django

    django.setup()
    from django.db import connection, transaction

    from apikeys import crypto, services
    from apikeys.models import ApiKey
    from environments.models import Environment

    # The module-level generator is replaceable by design; a seeded one makes the data
    # reproducible and generation fast. These keys never leave the throw-away database.
    crypto._random = random.Random(options.seed)

    exported = []
    with transaction.atomic():
        environments = Environment.objects.bulk_create(
            Environment(name=f"bench-{number:05d}", description="Benchmark environment")
            for number in range(options.environments)
        )
        if options.environments * options.keys_per_environment <= 100:
            for environment in environments:
                for number in range(options.keys_per_environment):
                    key, secret = services.create_api_key(environment=environment, name=f"key {number}")
                    if number < options.export_per_environment:
                        exported.append(
                            {"access_key": key.access_key, "secret_key": secret, "environment_id": environment.pk}
                        )
        else:
            batch = []
            for environment in environments:
                for number in range(options.keys_per_environment):
                    secret = crypto.generate_secret_key()
                    access_key = crypto.generate_access_key()
                    batch.append(
                        ApiKey(
                            environment=environment,
                            name=f"key {number}",
                            access_key=access_key,
                            secret_hash=crypto.hash_secret(secret),
                        )
                    )
                    if number < options.export_per_environment:
                        exported.append(
                            {"access_key": access_key, "secret_key": secret, "environment_id": environment.pk}
                        )
                if len(batch) >= 5000:
                    ApiKey.objects.bulk_create(batch)
                    batch = []
            ApiKey.objects.bulk_create(batch)

    # A pair that is in no database, and a second secret: well-formed, so they reach the lookup.
    unused = {
        "access_key": crypto.generate_access_key(),
        "secret_key": crypto.generate_secret_key(),
        "other_secret_key": crypto.generate_secret_key(),
    }
    Path(options.out).write_text(json.dumps({"keys": exported, "unused": unused}))
    # Start the benchmark from a plain database file, not from a write-ahead log of the seeding.
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    print(f"seeded {ApiKey.objects.count()} keys in {Environment.objects.count()} environments", flush=True)


if __name__ == "__main__":
    main()
