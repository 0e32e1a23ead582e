from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from federation.models import PartnershipState
from json import dumps, loads
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('federation', '0002_delivery')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Partnership',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('peer_actor', fields.CharField(unique=True, max_length=2048)),
                ('peer_host', fields.CharField(db_index=True, max_length=255)),
                ('peer_inbox', fields.CharField(max_length=2048)),
                ('initiated_by_us', fields.BooleanField()),
                ('message', fields.TextField(default='', unique=False)),
                ('state', fields.CharEnumField(description='PROPOSED: proposed\nREQUESTED: requested\nACTIVE: active\nREFUSED: refused\nENDED: ended', enum_type=PartnershipState, max_length=16)),
                ('follow_activity_id', fields.CharField(unique=True, max_length=2048)),
                ('follow_activity', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'partnership', 'app': 'federation', 'pk_attr': 'id', 'table_description': "A partnership with another node, carried by a Follow between the nodes' actors."},
            bases=['Model'],
        ),
    ]
