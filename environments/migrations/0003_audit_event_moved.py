"""The audit events model moved to the audit app (common.audit): a move in Django's state only."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("environments", "0002_audit_event"),
        ("audit", "0001_initial"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
    ]
