from tortoise import migrations
from tortoise.migrations import operations as ops
import functools
from json import dumps, loads
from node.circles.models import CircleKind, CircleRole, JoinPolicy, MembershipState
from node.notices.models import NoticeAudience
from node.notifications.models import NotificationType
from node.problems.models import ProblemStatus
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    dependencies = [('node', '0014_member_blocks_and_mutes')]

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
        ops.CreateModel(
            name='DeletedNotice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('deleted_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'deleted_notice', 'app': 'node', 'pk_attr': 'id', 'table_description': 'A received notice its author deleted: a Create of it arriving late (a delivery retried'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Notice',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('local', fields.BooleanField()),
                ('author', fields.CharField(max_length=2048)),
                ('origin_host', fields.CharField(max_length=255)),
                ('kind', fields.CharField(max_length=16)),
                ('title', fields.CharField(max_length=200)),
                ('text', fields.TextField(default='', unique=False)),
                ('text_html', fields.TextField(default='', unique=False)),
                ('place_name', fields.CharField(default='', max_length=200)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('starts_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('ends_at', fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False)),
                ('audience', fields.CharEnumField(default=NoticeAudience.NODE, description='NODE: node\nDISTRICTS: districts\nCIRCLE: circle', enum_type=NoticeAudience, max_length=16)),
                ('circle', fields.CharField(null=True, db_index=True, max_length=2048)),
                ('public', fields.BooleanField(default=False)),
                ('remote_photos', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('published_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notice', 'app': 'node', 'indexes': [Index(fields=['local', 'published_at'])], 'pk_attr': 'id', 'table_description': 'One notice. Local ones are published by a manager or an admin, received ones come from'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Open311Key',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=100)),
                ('key_hash', fields.CharField(unique=True, max_length=64)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('revoked_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('last_used_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'open311_key', 'app': 'node', 'pk_attr': 'id', 'table_description': "An Open311 client's API key: only its SHA-256 is kept (the key is a random 32-byte"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Problem',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('ap_id', fields.CharField(unique=True, max_length=2048)),
                ('reporter', fields.ForeignKeyField('node.Member', source_field='reporter_id', null=True, db_constraint=True, to_field='id', related_name='problems', on_delete=OnDelete.SET_NULL)),
                ('reporter_actor', fields.CharField(default='', max_length=2048)),
                ('origin_host', fields.CharField(null=True, max_length=255)),
                ('open311_key', fields.IntField(null=True)),
                ('handler_host', fields.CharField(null=True, max_length=255)),
                ('handled_here', fields.BooleanField(default=True)),
                ('category', fields.CharField(db_index=True, max_length=32)),
                ('text', fields.TextField(unique=False)),
                ('latitude', fields.FloatField(null=True)),
                ('longitude', fields.FloatField(null=True)),
                ('address', fields.CharField(default='', max_length=500)),
                ('public', fields.BooleanField(default=True)),
                ('photo_urls', fields.JSONField(default=list, encoder=functools.partial(dumps, separators=(',', ':')), decoder=loads)),
                ('status', fields.CharEnumField(default=ProblemStatus.SUBMITTED, description='SUBMITTED: submitted\nRECEIVED: received\nIN_PROGRESS: in_progress\nRESOLVED: resolved\nREJECTED: rejected', enum_type=ProblemStatus, max_length=16)),
                ('status_reason', fields.TextField(default='', unique=False)),
                ('remote_me_too', fields.IntField(default=0)),
                ('handler_updated_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('updated_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'problem', 'app': 'node', 'indexes': [Index(fields=['handled_here', 'status']), Index(fields=['public', 'category', 'status'])], 'pk_attr': 'id', 'table_description': "One problem report. Three kinds of rows share this table: a member's report handled"},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProblemComment',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('problem', fields.ForeignKeyField('node.Problem', source_field='problem_id', db_constraint=True, to_field='id', related_name='comments', on_delete=OnDelete.CASCADE)),
                ('author_name', fields.CharField(default='', max_length=200)),
                ('text', fields.TextField(unique=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'problem_comment', 'app': 'node', 'pk_attr': 'id', 'table_description': "A handler's comment on a problem (kept on both nodes)."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='ProblemMeToo',
            fields=[
                ('id', fields.IntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('problem', fields.ForeignKeyField('node.Problem', source_field='problem_id', db_constraint=True, to_field='id', related_name='me_toos', on_delete=OnDelete.CASCADE)),
                ('member', fields.ForeignKeyField('node.Member', source_field='member_id', db_constraint=True, to_field='id', related_name='problem_me_toos', on_delete=OnDelete.CASCADE)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'problem_me_too', 'app': 'node', 'unique_together': (('problem', 'member'),), 'pk_attr': 'id', 'table_description': 'A member of this node has the same problem.'},
            bases=['Model'],
        ),
        ops.AddField(
            model_name='Listing',
            name='circle',
            field=fields.CharField(null=True, max_length=2048),
        ),
        ops.AddField(
            model_name='Media',
            name='notice',
            field=fields.ForeignKeyField('node.Notice', source_field='notice_id', null=True, db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Media',
            name='problem',
            field=fields.ForeignKeyField('node.Problem', source_field='problem_id', null=True, db_constraint=True, to_field='id', related_name='photos', on_delete=OnDelete.CASCADE),
        ),
        ops.AlterField(
            model_name='Notification',
            name='type',
            field=fields.CharEnumField(description='RESPONSE: listing.response\nAGREEMENT: listing.agreement\nEXPIRING: listing.expiring\nMATCH: saved_search.match\nVERIFIED: verification.verified\nVOUCHED: verification.vouched\nDOCUMENT_REJECTED: verification.rejected\nVERIFICATION_LOST: verification.lost\nVERIFICATION_REVIEW: verification.review\nREPORT: moderation.report\nWARNING: moderation.warning\nDECISION: moderation.decision\nENDED: moderation.ended\nNOTICE: notice.published\nURGENT_NOTICE: notice.urgent\nPROBLEM_STATUS: problem.status\nPROBLEM_COMMENT: problem.comment\nPROBLEM_NEW: problem.new', enum_type=NotificationType, max_length=32),
        ),
        ops.AddField(
            model_name='Notification',
            name='notice',
            field=fields.ForeignKeyField('node.Notice', source_field='notice_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE),
        ),
        ops.AddField(
            model_name='Notification',
            name='problem',
            field=fields.ForeignKeyField('node.Problem', source_field='problem_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE),
        ),
    ]
