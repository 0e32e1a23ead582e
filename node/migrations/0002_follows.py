from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.follows.models import FollowState
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0001_initial')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Follow',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('follower', fields.CharField(max_length=2048)),
                ('followee', fields.CharField(db_index=True, max_length=2048)),
                ('activity_id', fields.CharField(unique=True, max_length=2048)),
                ('activity', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('follower_inbox', fields.CharField(null=True, max_length=2048)),
                ('state', fields.CharEnumField(default=FollowState.PENDING, description='PENDING: pending\nACCEPTED: accepted', enum_type=FollowState, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'follow', 'app': 'node', 'unique_together': (('follower', 'followee'),), 'pk_attr': 'id', 'table_description': '``follower`` follows (or asked to follow) ``followee``.'},
            bases=['Model'],
        ),
    ]
