"""Take over the audit events table from the environments app: a move in Django's state only.

The table keeps its name (``environments_auditevent``) and its rows; content types follow the model,
so admin permissions and log entries keep pointing at it.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def _relabel_content_type(apps, *, source: str, target: str) -> None:
    """Move the auditevent content type, with the permissions granted on it, from app ``source`` to ``target``.

    A content type that Django made for ``target`` meanwhile (post_migrate does, between two
    ``migrate`` commands) carries only its own fresh permissions: it gives way to the moved one.
    """
    ContentType = apps.get_model("contenttypes", "ContentType")
    moved = ContentType.objects.filter(app_label=source, model="auditevent").first()
    if moved is None:
        return
    ContentType.objects.filter(app_label=target, model="auditevent").delete()
    moved.app_label = target
    moved.save(update_fields=["app_label"])


def adopt_content_type(apps, schema_editor):
    """Point the content type of environments.auditevent at this app."""
    _relabel_content_type(apps, source="environments", target="audit")


def return_content_type(apps, schema_editor):
    """Give the content type back to the environments app."""
    _relabel_content_type(apps, source="audit", target="environments")


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ("environments", "0002_audit_event"),
        ("contenttypes", "0002_remove_content_type_name"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name='AuditEvent',
                    fields=[
                        ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                        ('environment_name', models.CharField(blank=True, max_length=100)),
                        ('action', models.CharField(choices=[('environment.created', 'Environment created'), ('environment.edited', 'Environment edited'), ('environment.deleted', 'Environment deleted'), ('member.added', 'Member added'), ('member.changed', "Member's role changed"), ('member.removed', 'Member removed'), ('apikey.created', 'API key created'), ('apikey.edited', 'API key edited'), ('apikey.activated', 'API key activated'), ('apikey.deactivated', 'API key deactivated'), ('apikey.deleted', 'API key deleted'), ('auth.refused', 'Authentication refused')], max_length=32)),
                        ('actor_type', models.CharField(choices=[('user', 'User'), ('apikey', 'API key'), ('anonymous', 'Anonymous'), ('system', 'System')], max_length=16)),
                        ('actor_name', models.CharField(blank=True, max_length=150)),
                        ('address', models.CharField(blank=True, max_length=64)),
                        ('created_at', models.DateTimeField(editable=False)),
                        ('target', models.CharField(blank=True, max_length=150)),
                        ('changes', models.JSONField(blank=True, default=dict)),
                        ('reason', models.CharField(blank=True, max_length=32)),
                        ('count', models.PositiveIntegerField(default=1)),
                        ('bucket', models.CharField(blank=True, editable=False, max_length=64, null=True, unique=True)),
                        ('actor_user', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to=settings.AUTH_USER_MODEL)),
                        ('environment', models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='audit_events', to='environments.environment')),
                    ],
                    options={
                        'db_table': 'environments_auditevent',
                        'ordering': ['-created_at', '-id'],
                        'indexes': [models.Index(fields=['environment', '-created_at'], name='audit_env_created'), models.Index(fields=['action'], name='audit_action')],
                    },
                ),
            ],
            database_operations=[],
        ),
        migrations.RunPython(adopt_content_type, return_content_type),
    ]
