from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.models import InboundState
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='InboundMessage',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('activity_id', fields.CharField(unique=True, max_length=2048)),
                ('actor', fields.CharField(max_length=2048)),
                ('activity_type', fields.CharField(max_length=64)),
                ('recipient', fields.CharField(null=True, max_length=2048)),
                ('body', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('received_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('state', fields.CharEnumField(default=InboundState.PENDING, description='PENDING: pending\nDONE: done\nIGNORED: ignored\nFAILED: failed', enum_type=InboundState, max_length=16)),
                ('attempts', fields.IntField(default=0)),
                ('next_attempt_at', fields.DatetimeField(db_index=True, auto_now=False, auto_now_add=False)),
                ('last_error', fields.TextField(default='', unique=False)),
            ],
            options={'table': 'inbound_message', 'app': 'federation', 'pk_attr': 'id', 'table_description': 'An accepted, verified activity: stored before we answer 202, processed by the worker.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='RemoteActor',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('uri', fields.CharField(unique=True, max_length=2048)),
                ('host', fields.CharField(db_index=True, max_length=255)),
                ('actor_type', fields.CharField(max_length=32)),
                ('inbox', fields.CharField(max_length=2048)),
                ('shared_inbox', fields.CharField(null=True, max_length=2048)),
                ('preferred_username', fields.CharField(null=True, max_length=255)),
                ('keys', fields.JSONField(default=dict, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('fetched_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'remote_actor', 'app': 'federation', 'pk_attr': 'id', 'table_description': 'A cached remote actor document and the keys it vouches for.'},
            bases=['Model'],
        ),
    ]
