from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.circles.models import CircleKind, CircleRole, JoinPolicy, MembershipState
from tortoise.fields.base import OnDelete
from tortoise import fields

class Migration(migrations.Migration):
    dependencies = [('node', '0016_problems')]

    initial = False

    operations = [
        ops.CreateModel(
            name='Circle',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('group', fields.OneToOneField('node.LocalGroup', source_field='group_id', db_constraint=True, to_field='id', related_name='circle', on_delete=OnDelete.CASCADE)),
                ('slug', fields.CharField(unique=True, max_length=30)),
                ('name', fields.CharField(max_length=100)),
                ('summary', fields.TextField(default='', unique=False)),
                ('kind', fields.CharEnumField(description='BUILDING: building\nSTREET: street\nRESIDENCE: residence\nASSOCIATION: association\nINTEREST: interest', enum_type=CircleKind, max_length=16)),
                ('join_policy', fields.CharEnumField(default=JoinPolicy.OPEN, description='OPEN: open\nREQUEST: request\nMANAGED: managed', enum_type=JoinPolicy, max_length=16)),
                ('partners_may_join', fields.BooleanField(default=False)),
                ('public', fields.BooleanField(default=True)),
                ('created_by', fields.CharField(max_length=2048)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A circle of this node, speaking through its ``Group`` actor (the linked group).'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CircleMember',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('circle', fields.ForeignKeyField('node.Circle', source_field='circle_id', db_constraint=True, to_field='id', related_name='members', on_delete=OnDelete.CASCADE)),
                ('actor', fields.CharField(max_length=2048)),
                ('role', fields.CharEnumField(default=CircleRole.MEMBER, description='MODERATOR: moderator\nMEMBER: member\nFOLLOWER: follower', enum_type=CircleRole, max_length=16)),
                ('state', fields.CharEnumField(default=MembershipState.ACCEPTED, description='PENDING: pending\nINVITED: invited\nACCEPTED: accepted', enum_type=MembershipState, max_length=16)),
                ('inbox', fields.CharField(null=True, max_length=2048)),
                ('follow_id', fields.CharField(null=True, max_length=2048)),
                ('follow', fields.JSONField(null=True, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_member', 'app': 'node', 'unique_together': (('circle', 'actor'),), 'pk_attr': 'id', 'table_description': "An actor (ours or another server's) who belongs to, asked to join or follows a circle."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='CirclePost',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('circle', fields.CharField(db_index=True, max_length=2048)),
                ('author', fields.CharField(max_length=2048)),
                ('content_html', fields.TextField(unique=False)),
                ('text', fields.TextField(unique=False)),
                ('public', fields.BooleanField(default=False)),
                ('local', fields.BooleanField(default=False)),
                ('activity', fields.JSONField(encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('deleted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'circle_post', 'app': 'node', 'pk_attr': 'id', 'table_description': "A post addressed to a circle: ours, or a copy announced by another node's circle."},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Listing',
            name='circle',
            field=fields.CharField(null=True, max_length=2048),
        ),
    ]
